//! The engine's [`Webhooks`] port over a [`WebhookClient`].

use weir_api::CanaryWebhook;
use weir_engine::ports::{PortError, WebhookPayload, Webhooks};
use weir_http::Bridge;

use crate::client::WebhookClient;

/// [`Webhooks`] for the live controller and the wired simulator: each call
/// runs on the bridge's runtime and blocks the calling thread (a blocking
/// thread or one outside the runtime, see [`Bridge::run`]) until it is done,
/// retries and backoff included.
#[derive(Clone, Debug)]
pub struct HttpWebhooks {
    client: WebhookClient,
    bridge: Bridge,
}

impl HttpWebhooks {
    /// Calls through `client` on `bridge`'s runtime.
    pub fn new(client: WebhookClient, bridge: Bridge) -> HttpWebhooks {
        HttpWebhooks { client, bridge }
    }

    /// The client the port calls through.
    pub fn client(&self) -> &WebhookClient {
        &self.client
    }
}

impl Webhooks for HttpWebhooks {
    fn call(&mut self, hook: &CanaryWebhook, payload: &WebhookPayload) -> Result<(), PortError> {
        self.bridge
            .run(self.client.call(hook, payload))
            .map_err(|error| PortError::new(error.to_string()))
    }

    /// Event hooks are called like any hook, with their own `timeout`,
    /// `retries` and `disableTLS`, as Flagger 1.44 does; the engine passes
    /// the global `-event-webhook` as a hook with none of them.
    fn call_event(
        &mut self,
        hook: &CanaryWebhook,
        payload: &WebhookPayload,
    ) -> Result<(), PortError> {
        self.bridge
            .run(self.client.call(hook, payload))
            .map_err(|error| PortError::new(error.to_string()))
    }
}
