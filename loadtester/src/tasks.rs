//! Tasks: what a POST to `/` runs.
//!
//! `cmd` tasks run in the background (the request is answered 202 at once)
//! and are deduplicated: while a `cmd` task with the same canary and command
//! is running, an identical submission is skipped. Flagger re-sends its
//! `rollout` hooks every analysis interval, so a one-minute `hey` run is not
//! started again while it is still going. `bash`, `helm`, `helmv3` and
//! `kubectl` tasks block the request until they finish.

use std::collections::HashMap;
use std::sync::Arc;

use tracing::{error, info};

use crate::process::{self, ProcessRun};
use crate::{Inner, LoadTester};

/// The task types weir-loadtester runs (`metadata.type`).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
pub enum TaskKind {
    /// `cmd` (the default): `sh -c <cmd>` in the background.
    Cmd,
    /// `bash`: `bash -c <cmd>`, answered when it finishes.
    Bash,
    /// `helm`: `helm <cmd split on whitespace>`, answered when it finishes.
    Helm,
    /// `helmv3`: the same as `helm` (Helm v2 is gone; see the crate docs).
    Helmv3,
    /// `kubectl`: `kubectl <cmd split on whitespace>`, answered when it
    /// finishes.
    Kubectl,
}

/// The `metadata.type` values weir-loadtester runs, for error messages.
const SUPPORTED_TYPES: &str = "cmd, bash, helm, helmv3, kubectl";

/// Why a `metadata.type` is not run.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TaskTypeError {
    /// A type flagger-loadtester does not know either.
    #[error("unknown task type {0:?}; supported types are {SUPPORTED_TYPES}")]
    Unknown(String),
    /// A type flagger-loadtester has and weir-loadtester does not.
    #[error(
        "task type {0:?} is not supported by weir-loadtester; supported types are {SUPPORTED_TYPES}"
    )]
    Unsupported(String),
}

impl TaskKind {
    /// Parses `metadata.type`.
    pub fn parse(task_type: &str) -> Result<Self, TaskTypeError> {
        match task_type {
            "cmd" => Ok(TaskKind::Cmd),
            "bash" => Ok(TaskKind::Bash),
            "helm" => Ok(TaskKind::Helm),
            "helmv3" => Ok(TaskKind::Helmv3),
            "kubectl" => Ok(TaskKind::Kubectl),
            // Concord and nGrinder talk to external services with their own
            // APIs; nobody asked for them yet.
            "concord" | "ngrinder" => Err(TaskTypeError::Unsupported(task_type.to_owned())),
            other => Err(TaskTypeError::Unknown(other.to_owned())),
        }
    }

    /// The `metadata.type` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::Cmd => "cmd",
            TaskKind::Bash => "bash",
            TaskKind::Helm => "helm",
            TaskKind::Helmv3 => "helmv3",
            TaskKind::Kubectl => "kubectl",
        }
    }
}

/// How a task ended, for `weir_loadtester_tasks_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TaskOutcome {
    Succeeded,
    Failed,
    TimedOut,
    /// Killed because the service is shutting down or the client left.
    Cancelled,
    /// A `cmd` task skipped because the same one is still running.
    Deduplicated,
}

impl TaskOutcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TaskOutcome::Succeeded => "succeeded",
            TaskOutcome::Failed => "failed",
            TaskOutcome::TimedOut => "timed_out",
            TaskOutcome::Cancelled => "cancelled",
            TaskOutcome::Deduplicated => "deduplicated",
        }
    }
}

/// A task that is running now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunningTask {
    /// Its type.
    pub kind: TaskKind,
    /// Its canary, `<name>.<namespace>`.
    pub canary: String,
    /// `metadata.cmd`.
    pub command: String,
}

/// A task's entry in the running list; dropping it removes the entry, so a
/// task leaves the list however it ends (finished, killed, cancelled).
struct Registration {
    inner: Arc<Inner>,
    id: u64,
    kind: TaskKind,
    /// Ended by being dropped before [`Registration::finish`]: the future
    /// running the task was cancelled (the client hung up).
    finished: bool,
}

impl Registration {
    fn finish(mut self, outcome: TaskOutcome) {
        self.finished = true;
        self.inner.metrics.count_task(self.kind, outcome);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if !self.finished {
            self.inner
                .metrics
                .count_task(self.kind, TaskOutcome::Cancelled);
        }
        self.inner.metrics.task_ended(self.kind);
        self.inner.running_tasks().remove(&self.id);
    }
}

/// Adds a task to the running list.
fn register(inner: &Arc<Inner>, task: RunningTask) -> Registration {
    let mut running = inner.running_tasks();
    insert(inner, &mut running, task)
}

/// Adds a task to the running list unless the same task (type, canary and
/// command) is already there; checked and inserted under one lock, so two
/// simultaneous submissions cannot both start.
fn register_unless_running(inner: &Arc<Inner>, task: RunningTask) -> Option<Registration> {
    let mut running = inner.running_tasks();
    if running.values().any(|other| *other == task) {
        return None;
    }
    Some(insert(inner, &mut running, task))
}

fn insert(
    inner: &Arc<Inner>,
    running: &mut HashMap<u64, RunningTask>,
    task: RunningTask,
) -> Registration {
    let kind = task.kind;
    let id = inner.next_task_id();
    running.insert(id, task);
    inner.metrics.task_started(kind);
    Registration {
        inner: Arc::clone(inner),
        id,
        kind,
        finished: false,
    }
}

/// The program and arguments a task runs.
fn command_line(tester: &LoadTester, kind: TaskKind, command: &str) -> (String, Vec<String>) {
    let programs = &tester.config().programs;
    match kind {
        TaskKind::Cmd => (
            programs.shell.clone(),
            vec!["-c".to_owned(), command.to_owned()],
        ),
        TaskKind::Bash => (
            programs.bash.clone(),
            vec!["-c".to_owned(), command.to_owned()],
        ),
        TaskKind::Helm | TaskKind::Helmv3 => (programs.helm.clone(), fields(command)),
        TaskKind::Kubectl => (programs.kubectl.clone(), fields(command)),
    }
}

/// Go's `strings.Fields`: split on runs of Unicode white space. No quoting,
/// as in flagger-loadtester: `kubectl` tasks cannot pass an argument with a
/// space in it.
fn fields(command: &str) -> Vec<String> {
    command.split_whitespace().map(str::to_owned).collect()
}

/// Runs a registered task's process, unless the service shuts down first.
async fn execute(
    tester: &LoadTester,
    kind: TaskKind,
    canary: &str,
    command: &str,
) -> Option<ProcessRun> {
    let (program, arguments) = command_line(tester, kind, command);
    info!(
        canary,
        task_type = kind.as_str(),
        "command starting {command}"
    );
    let timeout = tester.config().task_timeout;
    let mut stopping = tester.inner.shutdown.subscribe();
    tokio::select! {
        run = process::run(&program, &arguments, timeout) => Some(run),
        _ = async {
            if stopping.wait_for(|stopping| *stopping).await.is_err() {
                // The sender lives as long as `tester`: unreachable, but a
                // dropped sender must not read as a shutdown.
                std::future::pending::<()>().await;
            }
        } => None,
    }
}

/// The outcome and message of a finished run.
fn judge(kind: TaskKind, canary: &str, command: &str, run: &ProcessRun) -> (TaskOutcome, String) {
    let output = String::from_utf8_lossy(&run.output);
    match &run.result {
        Ok(()) => {
            info!(
                canary,
                task_type = kind.as_str(),
                "command finished {command}"
            );
            (TaskOutcome::Succeeded, String::new())
        }
        Err(failure) => {
            error!(
                canary,
                task_type = kind.as_str(),
                "command failed {command} {failure} {output}"
            );
            let outcome = match failure {
                process::ProcessFailure::TimedOut(_) => TaskOutcome::TimedOut,
                _ => TaskOutcome::Failed,
            };
            (
                outcome,
                format!("command {command} failed: {output}: {failure}"),
            )
        }
    }
}

/// Starts a `cmd` task in the background. Returns `false` when the same
/// canary and command is already running and nothing was started.
pub(crate) fn start_cmd(
    tester: &LoadTester,
    canary: String,
    command: String,
    log_output: bool,
) -> bool {
    let task = RunningTask {
        kind: TaskKind::Cmd,
        canary: canary.clone(),
        command: command.clone(),
    };
    let Some(registration) = register_unless_running(&tester.inner, task) else {
        info!(canary, "command skipped {command} is already running");
        tester
            .inner
            .metrics
            .count_task(TaskKind::Cmd, TaskOutcome::Deduplicated);
        return false;
    };
    let tester = tester.clone();
    tokio::spawn(async move {
        let Some(run) = execute(&tester, TaskKind::Cmd, &canary, &command).await else {
            info!(canary, "command killed by shutdown {command}");
            registration.finish(TaskOutcome::Cancelled);
            return;
        };
        let (outcome, _) = judge(TaskKind::Cmd, &canary, &command, &run);
        if outcome == TaskOutcome::Succeeded && log_output {
            info!(canary, "{}", String::from_utf8_lossy(&run.output));
        }
        registration.finish(outcome);
    });
    true
}

/// How a blocking task ended.
#[derive(Debug)]
pub(crate) enum BlockingResult {
    /// Exit status 0, with the combined output.
    Succeeded(Vec<u8>),
    /// Failed or timed out, with flagger-loadtester's message.
    Failed(String),
    /// Killed because the service is shutting down.
    Cancelled,
}

/// Runs a `bash`, `helm`, `helmv3` or `kubectl` task to its end. Dropping
/// the future (the client hung up) kills the task.
pub(crate) async fn run_blocking(
    tester: &LoadTester,
    kind: TaskKind,
    canary: String,
    command: String,
) -> BlockingResult {
    let task = RunningTask {
        kind,
        canary: canary.clone(),
        command: command.clone(),
    };
    // Blocking tasks are not deduplicated: each request waits for its own
    // answer, as in flagger-loadtester.
    let registration = register(&tester.inner, task);
    let Some(run) = execute(tester, kind, &canary, &command).await else {
        info!(canary, "command killed by shutdown {command}");
        registration.finish(TaskOutcome::Cancelled);
        return BlockingResult::Cancelled;
    };
    let (outcome, message) = judge(kind, &canary, &command, &run);
    registration.finish(outcome);
    if outcome == TaskOutcome::Succeeded {
        // flagger-loadtester always logs a blocking task's output.
        info!(canary, "{}", String::from_utf8_lossy(&run.output));
        BlockingResult::Succeeded(run.output)
    } else {
        BlockingResult::Failed(message)
    }
}
