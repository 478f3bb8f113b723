//! Running one task's process: combined output, a timeout, and no
//! survivors.
//!
//! Every task runs in a process group of its own. When its timeout expires,
//! or the future running it is dropped (the client hung up, the server is
//! shutting down), the whole group is killed with SIGKILL, so a `sh -c` that
//! started `hey` in the background does not leave `hey` running. The child
//! is always waited for (tokio reaps it even when the future is dropped), so
//! no zombie is left behind.

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::AsyncReadExt;
use tokio::net::unix::pipe;
use tokio::process::{Child, Command};

use crate::flags::format_go_duration;

/// The most output kept per task. Output beyond it is read (so the task
/// never blocks on a full pipe) and dropped: a chatty load generator must not
/// make the service buffer gigabytes or answer Flagger with them.
pub(crate) const MAX_CAPTURED_OUTPUT: usize = 4 * 1024 * 1024;

/// How a finished process ran: its combined stdout and stderr, and whether
/// it succeeded.
#[derive(Debug)]
pub(crate) struct ProcessRun {
    /// stdout and stderr interleaved as written (Go's `CombinedOutput`),
    /// at most [`MAX_CAPTURED_OUTPUT`] bytes.
    pub(crate) output: Vec<u8>,
    /// `Ok` when the process exited with status 0.
    pub(crate) result: Result<(), ProcessFailure>,
}

/// Why a process did not succeed. Displayed as Go's `os/exec` errors are, so
/// response bodies read like flagger-loadtester's.
#[derive(Debug)]
pub(crate) enum ProcessFailure {
    /// The program could not be started.
    Spawn { program: String, error: io::Error },
    /// The process exited with a non-zero status or was killed by a signal.
    Exit(ExitStatus),
    /// The timeout expired and the process group was killed.
    TimedOut(Duration),
    /// Waiting for the process or reading its output failed.
    Io(io::Error),
}

impl fmt::Display for ProcessFailure {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessFailure::Spawn { program, error } if error.kind() == io::ErrorKind::NotFound => {
                write!(
                    formatter,
                    "exec: {program:?}: executable file not found in $PATH"
                )
            }
            ProcessFailure::Spawn { program, error } => {
                write!(formatter, "fork/exec {program}: {error}")
            }
            ProcessFailure::Exit(status) => write!(formatter, "{}", describe_exit(*status)),
            ProcessFailure::TimedOut(timeout) => write!(
                formatter,
                "signal: killed (timed out after {})",
                format_go_duration(*timeout)
            ),
            ProcessFailure::Io(error) => write!(formatter, "{error}"),
        }
    }
}

/// An exit status as Go's `ProcessState.String` writes it.
fn describe_exit(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    let Some(signal) = status.signal() else {
        return status.to_string();
    };
    let name = match signal {
        1 => "hangup".to_owned(),
        2 => "interrupt".to_owned(),
        3 => "quit".to_owned(),
        6 => "aborted".to_owned(),
        9 => "killed".to_owned(),
        11 => "segmentation fault".to_owned(),
        13 => "broken pipe".to_owned(),
        14 => "alarm clock".to_owned(),
        15 => "terminated".to_owned(),
        other => format!("signal {other}"),
    };
    if status.core_dumped() {
        format!("signal: {name} (core dumped)")
    } else {
        format!("signal: {name}")
    }
}

/// Kills a process group when dropped while armed. Armed from spawn until
/// the group's leader has been waited for: until then the leader (alive or a
/// zombie) holds the group id, so the id cannot have been reused by an
/// unrelated group.
struct ProcessGroupGuard {
    group: Option<Pid>,
}

impl ProcessGroupGuard {
    fn kill(&self) {
        if let Some(group) = self.group {
            // ESRCH (the group is already gone) is the outcome we want.
            let _ = killpg(group, Signal::SIGKILL);
        }
    }

    fn disarm(&mut self) {
        self.group = None;
    }
}

impl Drop for ProcessGroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `program` with `args` in a new process group, collecting its
/// combined output, and kills the group if it runs longer than `timeout`.
///
/// Like Go's `CombinedOutput`, this waits until the output pipe is closed,
/// so a background child that inherited it keeps the task running (up to
/// the timeout).
pub(crate) async fn run(program: &str, args: &[String], timeout: Duration) -> ProcessRun {
    let (reader, writer) = match io::pipe() {
        Ok(pipe) => pipe,
        Err(error) => return failed(ProcessFailure::Io(error)),
    };
    let stderr_writer = match writer.try_clone() {
        Ok(writer) => writer,
        Err(error) => return failed(ProcessFailure::Io(error)),
    };
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(stderr_writer)
        .process_group(0)
        .kill_on_drop(true);
    let spawned = command.spawn();
    // The command holds the parent's copies of the pipe's write end; they
    // must be closed or the output never reaches end-of-file.
    drop(command);
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            return failed(ProcessFailure::Spawn {
                program: program.to_owned(),
                error,
            });
        }
    };
    // Declared after `child`, so it is dropped (and kills the group) before
    // `child` is dropped (and reaped) when this future is cancelled.
    let mut group = ProcessGroupGuard {
        group: child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .map(Pid::from_raw),
    };
    let mut receiver = match pipe::Receiver::from_owned_fd(OwnedFd::from(reader)) {
        Ok(receiver) => receiver,
        Err(error) => {
            group.kill();
            let _ = child.wait().await;
            group.disarm();
            return failed(ProcessFailure::Io(error));
        }
    };

    let mut output = Vec::new();
    let completion = collect_and_wait(&mut receiver, &mut child, &mut output);
    let waited = tokio::time::timeout(timeout, completion).await;
    let result = match waited {
        Ok(Ok(status)) if status.success() => Ok(()),
        Ok(Ok(status)) => Err(ProcessFailure::Exit(status)),
        Ok(Err(error)) => {
            group.kill();
            let _ = child.wait().await;
            Err(ProcessFailure::Io(error))
        }
        Err(_elapsed) => {
            group.kill();
            let _ = child.wait().await;
            Err(ProcessFailure::TimedOut(timeout))
        }
    };
    group.disarm();
    ProcessRun { output, result }
}

/// Reads the combined output to end-of-file, then waits for the child.
async fn collect_and_wait(
    receiver: &mut pipe::Receiver,
    child: &mut Child,
    output: &mut Vec<u8>,
) -> io::Result<ExitStatus> {
    let mut chunk = vec![0_u8; 16 * 1024];
    loop {
        match receiver.read(&mut chunk).await {
            Ok(0) => break,
            Ok(read) => {
                let room = MAX_CAPTURED_OUTPUT.saturating_sub(output.len());
                output.extend_from_slice(&chunk[..read.min(room)]);
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        }
    }
    child.wait().await
}

fn failed(failure: ProcessFailure) -> ProcessRun {
    ProcessRun {
        output: Vec::new(),
        result: Err(failure),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(script: &str) -> Vec<String> {
        vec!["-c".to_owned(), script.to_owned()]
    }

    #[tokio::test]
    async fn stdout_and_stderr_are_combined_in_order() {
        let run = run(
            "sh",
            &shell("echo one; echo two >&2; echo three"),
            Duration::from_secs(10),
        )
        .await;
        assert!(run.result.is_ok());
        assert_eq!(run.output, b"one\ntwo\nthree\n");
    }

    #[tokio::test]
    async fn a_failing_exit_status_reads_as_go_writes_it() {
        let run = run("sh", &shell("exit 3"), Duration::from_secs(10)).await;
        let failure = run.result.expect_err("exit 3 fails");
        assert_eq!(failure.to_string(), "exit status 3");
    }

    #[tokio::test]
    async fn a_missing_program_reads_as_go_writes_it() {
        let run = run("weir-no-such-program", &[], Duration::from_secs(10)).await;
        let failure = run.result.expect_err("a missing program fails");
        assert_eq!(
            failure.to_string(),
            "exec: \"weir-no-such-program\": executable file not found in $PATH"
        );
    }

    #[tokio::test]
    async fn output_beyond_the_cap_is_drained_and_dropped() {
        let run = run(
            "sh",
            &shell("head -c 5000000 /dev/zero"),
            Duration::from_secs(10),
        )
        .await;
        assert!(run.result.is_ok(), "{:?}", run.result);
        assert_eq!(run.output.len(), MAX_CAPTURED_OUTPUT);
    }

    #[tokio::test]
    async fn a_timeout_kills_the_whole_process_group() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let marker = directory.path().join("survivor");
        let script = format!("(sleep 0.6; touch '{}') & sleep 10", marker.display());
        let started = std::time::Instant::now();
        let run = run("sh", &shell(&script), Duration::from_millis(200)).await;
        assert!(started.elapsed() < Duration::from_secs(3));
        let failure = run.result.expect_err("the timeout expires");
        assert_eq!(
            failure.to_string(),
            "signal: killed (timed out after 200ms)"
        );
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert!(
            !marker.exists(),
            "the background child survived the timeout"
        );
    }

    #[tokio::test]
    async fn a_dropped_run_kills_the_whole_process_group() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let marker = directory.path().join("survivor");
        let script = format!("(sleep 0.6; touch '{}') & sleep 10", marker.display());
        let arguments = shell(&script);
        let cancelled = tokio::time::timeout(
            Duration::from_millis(200),
            run("sh", &arguments, Duration::from_secs(60)),
        )
        .await;
        assert!(cancelled.is_err(), "the run should still be going");
        tokio::time::sleep(Duration::from_millis(900)).await;
        assert!(!marker.exists(), "the background child survived the drop");
    }
}
