//! Why an end-to-end test failed, written for the person reading the CI log.

use std::fmt;
use std::time::Duration;

/// What the cluster looked like when a check failed: the Canary's status,
/// recent events, the workloads, routes and the controller's log (see
/// [`crate::diagnostics`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub String);

impl fmt::Display for Diagnostics {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// A failed end-to-end test.
///
/// Tests return `Result<(), Failure>`; the test harness prints an `Err` with
/// `Debug`, so `Debug` prints the same multi-line report as `Display`
/// instead of a struct dump nobody can read.
#[derive(thiserror::Error)]
pub enum Failure {
    /// No kubeconfig, a context that is not kind's, or an API server that
    /// does not answer.
    #[error("no kind cluster: run e2e/kind.sh first ({reason})")]
    NoCluster {
        /// What was missing.
        reason: String,
    },
    /// The cluster is up, but `e2e/install.sh` has not finished on it.
    #[error(
        "weir is not installed on this cluster: run e2e/install.sh <provider> first ({reason})"
    )]
    NotInstalled {
        /// What was missing.
        reason: String,
    },
    /// A Kubernetes API call failed.
    #[error("{action}: {source}")]
    Kube {
        /// What the test was doing.
        action: String,
        /// The client's error.
        #[source]
        source: kube::Error,
    },
    /// A manifest the tests apply is malformed (a bug in the tests).
    #[error("manifest {manifest}: {reason}")]
    Manifest {
        /// Which manifest.
        manifest: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Something the test waited for did not happen in time.
    #[error(
        "timed out after {}s waiting for {what}\nlast seen: {last_seen}\n\n{diagnostics}",
        waited.as_secs()
    )]
    Timeout {
        /// What the test waited for.
        what: String,
        /// How long it waited.
        waited: Duration,
        /// The last observation, e.g. the Canary's phase.
        last_seen: String,
        /// The cluster at the time of the failure.
        diagnostics: Diagnostics,
    },
    /// The cluster reached a state the test did not expect.
    #[error("{what}\n\n{diagnostics}")]
    Check {
        /// What was wrong.
        what: String,
        /// The cluster at the time of the failure.
        diagnostics: Diagnostics,
    },
}

impl Failure {
    /// A failed Kubernetes API call during `action`.
    pub fn kube(action: impl Into<String>) -> impl FnOnce(kube::Error) -> Failure {
        let action = action.into();
        move |source| Failure::Kube { action, source }
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, formatter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_cluster_names_the_script_to_run() {
        let failure = Failure::NoCluster {
            reason: "no kubeconfig".to_owned(),
        };
        assert_eq!(
            format!("{failure:?}"),
            "no kind cluster: run e2e/kind.sh first (no kubeconfig)"
        );
    }

    #[test]
    fn a_timeout_reports_what_was_awaited_the_last_observation_and_the_cluster() {
        let failure = Failure::Timeout {
            what: "Canary e2e/podinfo to reach Succeeded".to_owned(),
            waited: Duration::from_secs(300),
            last_seen: "phase Progressing".to_owned(),
            diagnostics: Diagnostics("== events ==\nAdvance podinfo.e2e".to_owned()),
        };
        let report = format!("{failure:?}");
        assert!(report.starts_with(
            "timed out after 300s waiting for Canary e2e/podinfo to reach Succeeded\n\
             last seen: phase Progressing\n"
        ));
        assert!(report.ends_with("== events ==\nAdvance podinfo.e2e"));
    }
}
