//! Serving an axum router on an ephemeral loopback port until dropped.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Why a fake could not start.
#[derive(Debug, thiserror::Error)]
pub enum FakeError {
    /// The loopback listener could not be opened.
    #[error("cannot listen on 127.0.0.1 for the fake {fake}: {source}")]
    Bind {
        /// Which fake.
        fake: &'static str,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

/// How long [`Server::shutdown`] lets requests in flight finish (a fault
/// may be sleeping) before dropping their connections.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A router served on `127.0.0.1:<ephemeral port>` by a task of the current
/// Tokio runtime. Dropping it asks the task to stop (connections in flight
/// finish first); [`Server::shutdown`] also waits for it.
#[derive(Debug)]
pub(crate) struct Server {
    address: SocketAddr,
    url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    /// Binds and starts serving; must run inside a Tokio runtime, which
    /// then runs the server (a multi-threaded one keeps serving while the
    /// caller blocks).
    pub(crate) async fn start(fake: &'static str, router: Router) -> Result<Server, FakeError> {
        let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|source| FakeError::Bind { fake, source })?;
        let address = listener
            .local_addr()
            .map_err(|source| FakeError::Bind { fake, source })?;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let signal = async {
                // A dropped sender stops the server as well as a sent ().
                let _ = stopped.await;
            };
            // An accept error ends the fake; tests then see connection errors.
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(signal)
                .await;
        });
        Ok(Server {
            address,
            url: format!("http://{address}"),
            stop: Some(stop),
            task: Some(task),
        })
    }

    pub(crate) fn address(&self) -> SocketAddr {
        self.address
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Stops accepting, lets requests in flight finish for a moment, and
    /// waits until the listener is closed.
    pub(crate) async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
                .await
                .is_err()
        {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
