//! The controller's HTTP server: `/metrics` (Flagger's `flagger_*` series)
//! and `/healthz`, on `-port` (8080), as Flagger serves them.

use std::sync::Arc;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;

use crate::telemetry::ControllerMetrics;

/// The OpenMetrics text content type Prometheus negotiates.
const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The routes: `/metrics` and `/healthz` (200 `OK`, as Flagger answers).
pub fn router(metrics: Arc<ControllerMetrics>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(move || {
                let metrics = Arc::clone(&metrics);
                async move { ([(CONTENT_TYPE, METRICS_CONTENT_TYPE)], metrics.encode()) }
            }),
        )
        .route("/healthz", get(|| async { "OK" }))
}

/// Serves `router` on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn metrics_and_health_are_served() {
        let metrics = ControllerMetrics::new("0.1.0", "istio");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let address = listener.local_addr().expect("bound");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve(listener, router(metrics), async {
            let _ = stopped.await;
        }));
        let client = weir_http::client(&weir_http::ClientOptions::default()).expect("client");
        let health = client
            .get(format!("http://{address}/healthz"))
            .send()
            .await
            .expect("answers");
        assert_eq!(health.status(), 200);
        assert_eq!(health.text().await.expect("body"), "OK");
        let exposition = client
            .get(format!("http://{address}/metrics"))
            .send()
            .await
            .expect("answers")
            .text()
            .await
            .expect("body");
        assert!(
            exposition.contains(r#"flagger_info{version="0.1.0",mesh_provider="istio"} 1"#),
            "{exposition}"
        );
        let _ = stop.send(());
        server.await.expect("joins").expect("serves");
    }
}
