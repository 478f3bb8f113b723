//! [`HttpAlerts`]: the engine's `Alerts` port, over HTTP.

use std::fmt;

use weir_api::analysis::CrossNamespaceRef;
use weir_api::objects::Objects;
use weir_engine::ports::{Alerts, Notification, PortError};
use weir_http::Bridge;

use crate::error::AlertError;
use crate::notifier::{ClientCache, Notifier};

/// The engine's [`Alerts`] port: looks the AlertProvider and its Secret up
/// in `objects`, renders the notification and POSTs it, blocking the
/// calling thread (the engine's tick runs on a blocking thread) while the
/// request runs on the bridge's runtime.
///
/// Clones share the client cache, so a controller can hand one clone to
/// each canary worker.
#[derive(Clone)]
pub struct HttpAlerts<O> {
    objects: O,
    bridge: Bridge,
    clients: ClientCache,
    global: Option<Notifier>,
}

impl<O: Objects> HttpAlerts<O> {
    /// Alerts through the providers in `objects` and, for Canaries without
    /// `analysis.alerts`, through `global` (from
    /// [`GlobalNotifierConfig::build`](crate::GlobalNotifierConfig::build);
    /// `None` drops those alerts). Requests time out after Flagger's 5 s.
    pub fn new(objects: O, bridge: Bridge, global: Option<Notifier>) -> HttpAlerts<O> {
        HttpAlerts {
            objects,
            bridge,
            clients: ClientCache::default(),
            global,
        }
    }

    /// Uses `clients` (another timeout, or a cache shared with other ports).
    pub fn with_clients(mut self, clients: ClientCache) -> HttpAlerts<O> {
        self.clients = clients;
        self
    }

    /// The global notifier, if there is one.
    pub fn global(&self) -> Option<&Notifier> {
        self.global.as_ref()
    }

    /// The HTTP clients requests go through.
    pub fn clients(&self) -> &ClientCache {
        &self.clients
    }

    /// [`Alerts::send`] with the typed error.
    pub fn send_to_provider(
        &self,
        provider: &CrossNamespaceRef,
        notification: &Notification,
    ) -> Result<(), AlertError> {
        let notifier = Notifier::lookup(provider, &self.objects)?;
        self.bridge.run(notifier.send(&self.clients, notification))
    }

    /// [`Alerts::send_global`] with the typed error.
    pub fn send_to_global(&self, notification: &Notification) -> Result<(), AlertError> {
        match &self.global {
            Some(notifier) => self.bridge.run(notifier.send(&self.clients, notification)),
            None => Ok(()),
        }
    }
}

impl<O: Objects> Alerts for HttpAlerts<O> {
    fn send(
        &mut self,
        provider: &CrossNamespaceRef,
        notification: &Notification,
    ) -> Result<(), PortError> {
        self.send_to_provider(provider, notification)
            .map_err(|error| PortError::new(error.to_string()))
    }

    fn send_global(&mut self, notification: &Notification) -> Result<(), PortError> {
        self.send_to_global(notification)
            .map_err(|error| PortError::new(error.to_string()))
    }
}

/// `objects` need not be Debug (the live controller's caches are not).
impl<O> fmt::Debug for HttpAlerts<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpAlerts")
            .field("clients", &self.clients)
            .field("global", &self.global)
            .finish_non_exhaustive()
    }
}
