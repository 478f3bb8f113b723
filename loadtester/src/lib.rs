//! weir-loadtester: a drop-in replacement for the HTTP API of
//! `ghcr.io/fluxcd/flagger-loadtester` 0.38, the service Flagger's webhooks
//! call to generate load, run conformance tests and hold manual gates.
//!
//! # Model
//!
//! Flagger POSTs its webhook payload,
//! `{"name","namespace","phase","checksum","metadata":{...}}`, to a URL of
//! this service. The path picks what happens:
//!
//! ```text
//!  request                     what happens                               answer
//!  ──────────────────────────  ─────────────────────────────────────────  ─────────────────
//!  GET  /healthz                                                          200 "OK"
//!  GET  /metrics                                                          200 Prometheus text
//!  POST /gate/approve                                                     200 "OK"
//!  POST /gate/halt                                                        403 "Forbidden"
//!  POST /gate/open   ──┐       gates, in memory:
//!  POST /gate/close  ──┼─────▶   "<name>.<namespace>" → open | closed     202
//!  POST /gate/check  ──┘                                                  200 "Approved"
//!                                                                         | 403 "Forbidden"
//!  POST /rollback/{open,close,check}: the same on "rollback.<name>.<namespace>"
//!
//!  POST /  (or any other path): a task, by metadata.type
//!        ├─ cmd (default) ──▶ sh -c <cmd> in the background; skipped    202 at once
//!        │                    while the same canary and cmd still runs
//!        ├─ bash ───────────▶ bash -c <cmd>                              200 | 500 when done
//!        ├─ helm, helmv3 ───▶ helm <cmd split on white space>            200 | 500 when done
//!        ├─ kubectl ────────▶ kubectl <cmd split on white space>         200 | 500 when done
//!        └─ anything else ──▶ nothing                                    400
//! ```
//!
//! Before anything else, every payload route decodes the body (a bad one is
//! 400) and applies `-namespace-regexp`: a payload whose namespace does not
//! match gets 403 "Forbidden". `/gate/approve` and `/gate/halt` read no body.
//!
//! A task submission needs a non-empty `metadata` (else 400 "metadata not
//! found in payload"). `cmd` tasks need `metadata.cmd` (else 400 "cmd not
//! found in metadata"); `logCmdOutput: "true"` logs their output. A blocking
//! task answers 200, with its combined output as the body when
//! `returnCmdOutput` is `"true"`, or 500 with
//! `command <cmd> failed: <output>: <error>`, where `<error>` reads as Go's
//! (`exit status 1`, `exec: "kubectl": executable file not found in $PATH`).
//!
//! Every task runs under `-timeout` (default `1h`) in a process group of its
//! own; when the timeout expires the whole group is killed and the task
//! fails with `signal: killed (timed out after <timeout>)`. Children are
//! always reaped.
//!
//! # Differences from flagger-loadtester
//!
//! * **Unknown task type** → 400 `unknown task type "<type>"; supported
//!   types are cmd, bash, helm, helmv3, kubectl`. flagger-loadtester panics
//!   in the handler (a type assertion on a nil factory), which Go's HTTP
//!   server turns into a dropped connection.
//! * **`concord` and `ngrinder`** → 400 saying weir-loadtester does not
//!   support them. flagger-loadtester drives those services' APIs.
//! * **`helm` and `helmv3`** both run `helm`. flagger-loadtester 0.38 runs a
//!   `helmv3` binary for both, which its own image does not ship (the image
//!   installs Helm 3 as `helm`).
//! * **Bad JSON** → 400 with the decoder's message (`decoding the request
//!   body failed: ...`); flagger-loadtester answers 400 with an empty body.
//!   Field names are matched exactly, where Go also accepts other cases
//!   (`"Name"`).
//! * **Body limit**: a body over 1 MiB is refused with 413;
//!   flagger-loadtester reads any size.
//! * **Methods**: `/healthz` and `/metrics` answer GET (and HEAD),
//!   `/gate/approve` and `/gate/halt` GET and POST, everything else POST;
//!   other methods get 405. flagger-loadtester answers any method on any
//!   route.
//! * **Timeouts kill the process group**, not only the shell, and a task's
//!   captured output is capped at 4 MiB (the rest is read and dropped).
//! * **A blocking task whose client hangs up is killed** (Flagger's webhook
//!   timeout expired and nobody will read the answer); flagger-loadtester
//!   lets it run to its end.
//! * **Deduplication of `cmd` tasks is immediate.** flagger-loadtester
//!   queues submissions and starts them on a 100 ms tick, skipping one whose
//!   canary and command is still running; weir checks the running list when
//!   the request arrives. The observable behaviour is the same: 202, and
//!   nothing new runs while the same task does.
//! * **Shutdown** (SIGTERM, Ctrl-C): the server stops accepting
//!   connections, every running task's process group is killed (blocking
//!   requests are answered 503), and the process exits once they are
//!   reaped. flagger-loadtester waits up to a minute for in-flight requests
//!   and leaves its children behind.
//! * **`/metrics`** has weir's metrics instead of the Go runtime's:
//!   `weir_loadtester_requests_total{path,code}` (every task submission
//!   counts as path `/`), `weir_loadtester_tasks_total{type,outcome}`
//!   (`succeeded`, `failed`, `timed_out`, `cancelled`, `deduplicated`) and
//!   `weir_loadtester_tasks_running{type}`, in OpenMetrics text.
//! * **Flags**: `-timeout` must be positive (Go accepts `0` and negative
//!   durations, which fail every task at once); `-zap-replace-globals` is
//!   accepted and ignored; `-zap-encoding console` selects text logs.
//! * **Gates** are in memory, as in flagger-loadtester (a restart closes
//!   every gate). A check of an unknown key does not store it.
//! * **PID 1** (the same as flagger-loadtester): a background process that
//!   outlives a task which ended on its own (`hey ... > /dev/null &`), or
//!   that left the task's process group (`setsid`), is re-parented to PID 1.
//!   Where weir-loadtester is PID 1, as in a container whose entrypoint it
//!   is, such a process is not reaped when it exits; run weir-loadtester
//!   under an init (`tini`) if tasks do that. A task's own processes are
//!   always reaped.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use regex::Regex;
use tokio::net::TcpListener;
use tokio::sync::watch;

mod flags;
mod metrics;
mod payload;
mod process;
mod routes;
mod tasks;

pub use flags::{
    FlagError, Flags, LogEncoding, LogLevel, format_go_duration, normalize_go_flags, parse_go_bool,
    parse_go_duration,
};
pub use payload::WebhookPayload;
pub use routes::MAX_BODY_BYTES;
pub use tasks::{RunningTask, TaskKind, TaskTypeError};

/// flagger-loadtester's default `-timeout`.
pub const DEFAULT_TASK_TIMEOUT: Duration = Duration::from_secs(60 * 60);

/// The programs tasks run, looked up in `PATH` unless given as paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Programs {
    /// Runs `cmd` tasks as `<shell> -c <cmd>` (`sh`).
    pub shell: String,
    /// Runs `bash` tasks as `<bash> -c <cmd>` (`bash`).
    pub bash: String,
    /// Runs `helm` and `helmv3` tasks (`helm`).
    pub helm: String,
    /// Runs `kubectl` tasks (`kubectl`).
    pub kubectl: String,
}

impl Default for Programs {
    fn default() -> Self {
        Programs {
            shell: "sh".to_owned(),
            bash: "bash".to_owned(),
            helm: "helm".to_owned(),
            kubectl: "kubectl".to_owned(),
        }
    }
}

/// How the service behaves.
#[derive(Clone, Debug)]
pub struct Config {
    /// How long any one task may run before its process group is killed.
    pub task_timeout: Duration,
    /// Payloads whose namespace does not match get 403; `None` serves all.
    pub namespace_regexp: Option<Regex>,
    /// The programs tasks run.
    pub programs: Programs,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            task_timeout: DEFAULT_TASK_TIMEOUT,
            namespace_regexp: None,
            programs: Programs::default(),
        }
    }
}

/// The service: its configuration, gates, running tasks and metrics.
/// Cloning is cheap and every clone shares the same state.
#[derive(Clone, Debug)]
pub struct LoadTester {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    /// Gate key → open. Keys are `<name>.<namespace>` and
    /// `rollback.<name>.<namespace>`.
    gates: Mutex<HashMap<String, bool>>,
    running: Mutex<HashMap<u64, RunningTask>>,
    next_task_id: AtomicU64,
    metrics: metrics::Metrics,
    /// Becomes `true` once, when the service shuts down; running tasks
    /// watch it and kill their processes.
    shutdown: watch::Sender<bool>,
}

impl Inner {
    fn running_tasks(&self) -> MutexGuard<'_, HashMap<u64, RunningTask>> {
        // A panic while holding the lock cannot leave the map half-updated
        // (every critical section is a single insert, remove or scan).
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn gates(&self) -> MutexGuard<'_, HashMap<String, bool>> {
        self.gates.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn next_task_id(&self) -> u64 {
        self.next_task_id.fetch_add(1, Ordering::Relaxed)
    }
}

/// How often [`LoadTester::wait_for_tasks`] looks at the running list. Tasks
/// end within milliseconds of being killed; polling keeps the bookkeeping to
/// a map.
const TASK_POLL_INTERVAL: Duration = Duration::from_millis(20);

impl LoadTester {
    /// A service with `config`, every gate closed and nothing running.
    pub fn new(config: Config) -> Self {
        let (shutdown, _) = watch::channel(false);
        LoadTester {
            inner: Arc::new(Inner {
                config,
                gates: Mutex::new(HashMap::new()),
                running: Mutex::new(HashMap::new()),
                next_task_id: AtomicU64::new(0),
                metrics: metrics::Metrics::new(),
                shutdown,
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The HTTP API, ready to serve.
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    /// Whether `-namespace-regexp` lets payloads from `namespace` through.
    pub fn authorizes(&self, namespace: &str) -> bool {
        self.inner
            .config
            .namespace_regexp
            .as_ref()
            .is_none_or(|pattern| pattern.is_match(namespace))
    }

    /// Whether the gate `key` is open (`<name>.<namespace>` or
    /// `rollback.<name>.<namespace>`). Unknown gates are closed.
    pub fn is_gate_open(&self, key: &str) -> bool {
        self.inner.gates().get(key).copied().unwrap_or(false)
    }

    /// Opens or closes the gate `key`.
    pub fn set_gate(&self, key: &str, open: bool) {
        self.inner.gates().insert(key.to_owned(), open);
    }

    /// The tasks running now, in no particular order.
    pub fn running_tasks(&self) -> Vec<RunningTask> {
        self.inner.running_tasks().values().cloned().collect()
    }

    /// The metrics as `/metrics` serves them.
    pub fn metrics_text(&self) -> String {
        self.inner.metrics.encode()
    }

    /// Kills every running task's process group; tasks submitted from now
    /// on are killed as they start. Idempotent.
    pub fn shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }

    /// Waits until no task is running, or `deadline` has passed. Returns
    /// whether every task ended.
    pub async fn wait_for_tasks(&self, deadline: Duration) -> bool {
        let started = Instant::now();
        loop {
            if self.inner.running_tasks().is_empty() {
                return true;
            }
            if started.elapsed() >= deadline {
                return false;
            }
            tokio::time::sleep(TASK_POLL_INTERVAL).await;
        }
    }
}

/// How long [`serve`] waits, after shutting down, for killed tasks to be
/// reaped. A killed process group ends within milliseconds; the bound only
/// guards against a process stuck in uninterruptible sleep.
const SHUTDOWN_TASK_GRACE: Duration = Duration::from_secs(5);

/// Serves `tester`'s API on `listener` until `shutdown` completes, then stops
/// accepting connections, kills every running task, and returns once
/// in-flight requests are answered and the tasks are reaped.
pub async fn serve<F>(listener: TcpListener, tester: LoadTester, shutdown: F) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let stopping = tester.clone();
    axum::serve(listener, tester.router())
        .with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down: killing running tasks");
            // Kill tasks now, not after in-flight requests are answered:
            // a blocking task could otherwise hold the shutdown for an hour.
            stopping.shutdown();
        })
        .await?;
    tester.shutdown();
    if !tester.wait_for_tasks(SHUTDOWN_TASK_GRACE).await {
        tracing::warn!("tasks still running after shutdown");
    }
    tracing::info!("HTTP server stopped");
    Ok(())
}
