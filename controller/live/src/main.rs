//! `weir-controller`: Flagger's flags in, the controller out. Everything
//! but wiring lives in the library.

use std::io::IsTerminal as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::Context as _;
use tracing_subscriber::EnvFilter;
use weir_controller::Flags;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = match Flags::parse_go(std::env::args_os()) {
        Ok(flags) => flags.with_environment(|name| std::env::var(name).ok()),
        Err(error) => error.exit(),
    };
    init_logging(&flags);
    tracing::info!(
        "Starting weir-controller version {} mesh provider {}",
        env!("CARGO_PKG_VERSION"),
        flags.mesh_provider
    );
    let listener = bind(flags.port).await?;
    weir_controller::run(flags, listener, shutdown_signal()).await
}

/// JSON logs (zap's encoding) on stderr at `-log-level` for weir and `warn`
/// for dependencies; `RUST_LOG`, when set, replaces both.
fn init_logging(flags: &Flags) {
    let level = match flags.log_level.as_str() {
        "warning" => "warn",
        "fatal" | "panic" => "error",
        other => other,
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!("warn,weir_controller={level},weir_engine={level}"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if flags.zap_encoding == "console" {
        builder.init();
    } else {
        builder.json().flatten_event(true).init();
    }
}

/// Listens on every interface, as Go's `":" + port`.
async fn bind(port: u16) -> anyhow::Result<tokio::net::TcpListener> {
    match tokio::net::TcpListener::bind(SocketAddr::from((Ipv6Addr::UNSPECIFIED, port))).await {
        Ok(listener) => Ok(listener),
        Err(_) => tokio::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))
            .await
            .with_context(|| format!("listening on port {port}")),
    }
}

/// Completes on SIGTERM (Kubernetes stopping the pod) or Ctrl-C.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
