//! The `weir-loadtester` binary: flagger-loadtester's flags, JSON logs, and
//! the API from the library until SIGTERM or Ctrl-C.

use std::io::IsTerminal as _;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use anyhow::Context as _;
use clap::Parser as _;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use weir_loadtester::{Flags, LoadTester, LogEncoding, normalize_go_flags};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let flags = Flags::parse_from(normalize_go_flags(std::env::args_os()));
    init_logging(&flags);

    let listener = bind(flags.port).await?;
    let tester = LoadTester::new(flags.config());
    tracing::info!(
        "Starting load tester v{} API on port {}",
        env!("CARGO_PKG_VERSION"),
        flags.port
    );
    weir_loadtester::serve(listener, tester, shutdown_signal())
        .await
        .context("HTTP server crashed")
}

/// JSON (or console) logs on stderr at `-log-level` for this crate and
/// `warn` for its dependencies; `RUST_LOG`, when set, replaces both.
fn init_logging(flags: &Flags) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "warn,weir_loadtester={}",
            flags.log_level.directive()
        ))
    });
    // zap, flagger-loadtester's logger, writes to stderr.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match flags.zap_encoding {
        LogEncoding::Json => builder.json().flatten_event(true).init(),
        LogEncoding::Console => builder.init(),
    }
}

/// Listens on every interface, as Go's `":" + port`: IPv6 and IPv4 where the
/// kernel has IPv6, IPv4 alone where it does not.
async fn bind(port: u16) -> anyhow::Result<TcpListener> {
    let dual_stack = SocketAddr::from((Ipv6Addr::UNSPECIFIED, port));
    match TcpListener::bind(dual_stack).await {
        Ok(listener) => Ok(listener),
        Err(_) => {
            let ipv4 = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
            TcpListener::bind(ipv4)
                .await
                .with_context(|| format!("listening on port {port}"))
        }
    }
}

/// Completes on SIGTERM (Kubernetes stopping the pod) or Ctrl-C.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for Ctrl-C: {error}");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut terminate) => {
                terminate.recv().await;
            }
            Err(error) => {
                tracing::error!("cannot listen for SIGTERM: {error}");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
}
