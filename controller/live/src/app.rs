//! Startup: the clients, the caches, leader election, the HTTP server and
//! the controller loop, until shutdown.
//!
//! ```text
//!   flags ─▶ kube clients (kubeconfig / -master / in-cluster; -kubeconfig-service-mesh)
//!         ─▶ CRDs installed? ─▶ watches synced ─▶ /metrics, /healthz served
//!         ─▶ leader? (Lease) ─▶ scheduler + controller loop ─▶ shutdown or leadership lost
//! ```

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use kube::config::{KubeConfigOptions, Kubeconfig};

use crate::controller;
use crate::flags::Flags;
use crate::leader::{LeaderElector, Timings, candidate_identity};
use crate::scheduler::Scheduler;
use crate::server;
use crate::telemetry::ControllerMetrics;
use crate::ticker::{Context, EngineTicker};

/// How long shutdown waits for ticks in flight before giving up on them
/// (Flagger's HTTP server gives itself 3 s; a tick's port calls time out
/// sooner than this).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A client from `kubeconfig` (a path) and `master`, or the in-cluster
/// service account when both are empty, as client-go's
/// `BuildConfigFromFlags`.
pub async fn kube_client(kubeconfig: &str, master: &str) -> anyhow::Result<kube::Client> {
    let mut config = if kubeconfig.is_empty() {
        kube::Config::infer()
            .await
            .context("no -kubeconfig given, and no in-cluster or default kubeconfig found")?
    } else {
        let file = Kubeconfig::read_from(kubeconfig)
            .with_context(|| format!("reading kubeconfig {kubeconfig}"))?;
        kube::Config::from_custom_kubeconfig(file, &KubeConfigOptions::default())
            .await
            .with_context(|| format!("loading kubeconfig {kubeconfig}"))?
    };
    if !master.is_empty() {
        config.cluster_url = master
            .parse()
            .with_context(|| format!("-master {master} is not a URL"))?;
    }
    kube::Client::try_from(config).context("building the Kubernetes client")
}

/// Runs the controller until `shutdown` completes (or leadership is lost,
/// which is an error: the process exits and the Deployment restarts it).
pub async fn run(
    flags: Flags,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let client = kube_client(&flags.kubeconfig, &flags.master).await?;
    let mesh_client = if flags.kubeconfig_service_mesh.is_empty() {
        client.clone()
    } else {
        kube_client(&flags.kubeconfig_service_mesh, &flags.master).await?
    };
    let namespace = flags.watched_namespace().map(str::to_owned);
    if let Some(namespace) = &namespace {
        tracing::info!("watching namespace {namespace}");
    }
    controller::verify_crds(&client, namespace.as_deref()).await?;

    let metrics = ControllerMetrics::new(env!("CARGO_PKG_VERSION"), flags.mesh_provider.as_str());
    let (stop_server, server_stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(
        listener,
        server::router(Arc::clone(&metrics)),
        async {
            let _ = server_stopped.await;
        },
    ));

    let (watches, changed) = controller::watch(&client, namespace.as_deref()).await?;
    let context = Arc::new(Context::from_flags(
        &flags,
        client.clone(),
        mesh_client,
        watches.caches.clone(),
        Arc::clone(&metrics),
    )?);

    let mut shutdown = std::pin::pin!(shutdown);
    let elector = flags.enable_leader_election.then(|| {
        LeaderElector::new(
            client.clone(),
            flags.lease_namespace(),
            candidate_identity(),
            Timings::default(),
        )
    });
    if let Some(elector) = &elector {
        tracing::info!(
            "starting leader election id: {} lease: {}/{}",
            elector.identity(),
            flags.lease_namespace(),
            crate::leader::LEASE_NAME
        );
        tokio::select! {
            () = elector.acquire() => {}
            () = &mut shutdown => {
                let _ = stop_server.send(());
                return Ok(());
            }
        }
    }

    let mut scheduler = Scheduler::new(Arc::new(EngineTicker::new(context)), flags.threadiness);
    let lost = async {
        match &elector {
            Some(elector) => elector.hold().await,
            None => std::future::pending().await,
        }
    };
    let mut lost = std::pin::pin!(lost);
    let (stop_loop, loop_stopped) = tokio::sync::oneshot::channel::<()>();
    let outcome = {
        let run_loop = controller::run(
            client,
            watches,
            changed,
            &mut scheduler,
            Arc::clone(&metrics),
            flags.control_loop_interval,
            async {
                let _ = loop_stopped.await;
            },
        );
        let mut run_loop = std::pin::pin!(run_loop);
        tokio::select! {
            () = &mut run_loop => Ok(()),
            () = &mut shutdown => {
                let _ = stop_loop.send(());
                let _ = tokio::time::timeout(SHUTDOWN_GRACE, run_loop).await;
                Ok(())
            }
            error = &mut lost => Err(anyhow::Error::new(error)),
        }
    };
    scheduler.stop();
    if let Some(elector) = &elector
        && outcome.is_ok()
    {
        elector.release().await;
    }
    let _ = stop_server.send(());
    let _ = server.await;
    outcome
}
