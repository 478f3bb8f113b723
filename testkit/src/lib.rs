//! Real Kubernetes API servers for weir's tests.
//!
//! kind cannot run on our machines, and a fake API server only proves that
//! the controller agrees with our own idea of Kubernetes. The tool in
//! `../shared/tools/kube-apiserver` builds real servers from package
//! registries and runs them on loopback:
//!
//! ```text
//!   ApiServer::start(Mode::Crd, "crd-fidelity")
//!     └─ <tool>/start crd <state dir>        (builds on first use, ~2–8 min; cached after)
//!          ├─ etcd + apiextensions-apiserver v1.36 (crd) | kube-apiserver v1.20 (full)
//!          └─ <state>/kubeconfig ──▶ ApiServer::client() ──▶ kube::Client
//!   test process exits ─▶ the tool's watchdog stops the servers
//! ```
//!
//! When the tool is missing or cannot build or start a server, tests skip
//! with the reason printed ([`Unavailable`]), so a machine without the tool
//! still runs the rest of the suite. `WEIR_KUBE_TOOL` points at another copy
//! of the tool (a path that does not exist exercises the skip path),
//! `WEIR_KUBE_NO_BUILD=1` skips instead of building, and
//! `WEIR_KUBE_REQUIRED=1` turns a skip into a failure.

pub mod golden;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

/// Which servers to run (see the tool's README for what each serves).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// kube-apiserver v1.20 with etcd: core APIs, CRDs without CEL.
    Full,
    /// apiextensions-apiserver v1.36: CRDs only, with current semantics (CEL, SSA).
    Crd,
    /// `full` in front, CRDs served by the v1.36 server through aggregation.
    Combined,
}

impl Mode {
    fn as_str(self) -> &'static str {
        match self {
            Mode::Full => "full",
            Mode::Crd => "crd",
            Mode::Combined => "combined",
        }
    }
}

/// Why no real API server is available; tests print it and skip.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("real API server unavailable: {0}")]
pub struct Unavailable(pub String);

/// A running API server, stopped when dropped (or, for servers kept in
/// statics, by the tool's watchdog when the test process exits).
#[derive(Debug)]
pub struct ApiServer {
    tool: PathBuf,
    state: PathBuf,
    mode: Mode,
    kubeconfig: PathBuf,
    env: BTreeMap<String, String>,
}

/// Where the tool lives: `WEIR_KUBE_TOOL`, else `../shared/tools/kube-apiserver`
/// beside the repository.
pub fn tool_dir() -> PathBuf {
    match std::env::var_os("WEIR_KUBE_TOOL") {
        Some(path) => PathBuf::from(path),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/tools/kube-apiserver"),
    }
}

impl ApiServer {
    /// Starts a server of `mode` for the test binary `name` with the default tool.
    pub fn start(mode: Mode, name: &str) -> Result<ApiServer, Unavailable> {
        ApiServer::start_with(&tool_dir(), mode, name)
    }

    /// Starts a server of `mode` with the tool in `tool`.
    pub fn start_with(tool: &Path, mode: Mode, name: &str) -> Result<ApiServer, Unavailable> {
        let start = tool.join("start");
        if !start.is_file() {
            return Err(Unavailable(format!(
                "{} not found (the tool ../shared/tools/kube-apiserver sits beside the repository; WEIR_KUBE_TOOL overrides it)",
                start.display()
            )));
        }
        let state = std::env::temp_dir().join(format!(
            "weir-kube-{name}-{}-{}",
            mode.as_str(),
            std::process::id()
        ));
        let output = Command::new(&start)
            .arg(mode.as_str())
            .arg(&state)
            // The tool's watchdog stops the servers when this process exits.
            .env("WEIR_KUBE_OWNER_PID", std::process::id().to_string())
            .stdin(Stdio::null())
            .output()
            .map_err(|error| Unavailable(format!("cannot run {}: {error}", start.display())))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let reason = stderr
                .lines()
                .last()
                .unwrap_or("start failed without a message");
            return Err(Unavailable(format!(
                "{} {}: {reason}",
                start.display(),
                mode.as_str()
            )));
        }
        let stdout = String::from_utf8_lossy(&output.stdout);
        let kubeconfig = stdout
            .lines()
            .last()
            .map(PathBuf::from)
            .ok_or_else(|| Unavailable("start printed no kubeconfig path".to_owned()))?;
        let env = std::fs::read_to_string(state.join("env"))
            .unwrap_or_default()
            .lines()
            .filter_map(|line| line.split_once('='))
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .collect();
        Ok(ApiServer {
            tool: tool.to_owned(),
            state,
            mode,
            kubeconfig,
            env,
        })
    }

    pub fn mode(&self) -> Mode {
        self.mode
    }

    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// The server's version, e.g. `v1.36.4`.
    pub fn version(&self) -> &str {
        self.env.get("WEIR_KUBE_VERSION").map_or("", String::as_str)
    }

    /// A client for this server. Call it inside the test's own runtime.
    pub async fn client(&self) -> kube::Client {
        let kubeconfig =
            Kubeconfig::read_from(&self.kubeconfig).expect("the tool writes a readable kubeconfig");
        let config =
            kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
                .await
                .expect("the tool's kubeconfig is complete");
        kube::Client::try_from(config).expect("a client for the tool's kubeconfig")
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = Command::new(self.tool.join("stop"))
            .arg(&self.state)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Skips a test that needs a real API server, printing why.
///
/// With `WEIR_KUBE_REQUIRED=1` (set by `.ci/run` once the servers are built)
/// it fails instead, so CI cannot pass by skipping what it could have run.
pub fn skip(reason: &Unavailable) {
    if std::env::var("WEIR_KUBE_REQUIRED").is_ok_and(|value| value == "1") {
        panic!("{reason} (WEIR_KUBE_REQUIRED=1: the servers were built, so this test must run)");
    }
    eprintln!("skipping: {reason}");
}

/// Creates `crds` and waits until each is established (or fails with the
/// server's conditions).
pub async fn install_crds(
    client: &kube::Client,
    crds: &[CustomResourceDefinition],
) -> Result<(), String> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crds {
        api.create(&PostParams::default(), crd)
            .await
            .map_err(|error| {
                format!(
                    "creating {}: {error}",
                    crd.metadata.name.as_deref().unwrap_or("a CRD")
                )
            })?;
    }
    for crd in crds {
        let name = crd.metadata.name.clone().unwrap_or_default();
        let mut conditions = String::new();
        // The server establishes a CRD within a second or two.
        for _ in 0..100 {
            let current = api
                .get(&name)
                .await
                .map_err(|error| format!("reading {name}: {error}"))?;
            let established = current
                .status
                .as_ref()
                .and_then(|status| status.conditions.as_ref())
                .is_some_and(|conditions| {
                    conditions.iter().any(|condition| {
                        condition.type_ == "Established" && condition.status == "True"
                    })
                });
            if established {
                conditions.clear();
                break;
            }
            conditions = format!("{:?}", current.status.and_then(|status| status.conditions));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if !conditions.is_empty() {
            return Err(format!("{name} was not established: {conditions}"));
        }
    }
    Ok(())
}

/// Runs a future on a fresh single-threaded runtime: each test gets its own.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absent_tool_is_a_reason_to_skip_not_a_failure() {
        let error = ApiServer::start_with(
            Path::new("/nonexistent/kube-apiserver"),
            Mode::Crd,
            "absent",
        )
        .expect_err("no tool");
        let message = error.to_string();
        assert!(
            message.starts_with(
                "real API server unavailable: /nonexistent/kube-apiserver/start not found"
            ),
            "{message}"
        );
    }

    #[test]
    fn a_tool_that_fails_to_start_reports_its_last_words() {
        let tool = std::env::temp_dir().join(format!("weir-fake-tool-{}", std::process::id()));
        std::fs::create_dir_all(&tool).expect("temp dir");
        let start = tool.join("start");
        std::fs::write(&start, "#!/bin/sh\necho 'building...' >&2\necho 'weir-kube start: sid moved, build failed' >&2\nexit 1\n")
            .expect("script");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&start, std::fs::Permissions::from_mode(0o755))
                .expect("chmod");
        }
        let error = ApiServer::start_with(&tool, Mode::Crd, "failing").expect_err("fails");
        assert!(
            error
                .to_string()
                .ends_with("crd: weir-kube start: sid moved, build failed"),
            "{error}"
        );
        let _ = std::fs::remove_dir_all(tool);
    }
}
