//! The cluster under test: the current kubeconfig context, which must be a
//! kind cluster that `e2e/install.sh` has prepared.
//!
//! Connecting fails fast, and says what to run, when there is no kubeconfig,
//! when the current context is not kind's (`kind-<cluster>`: the tests
//! create and delete namespaces, so they refuse anything else), or when the
//! API server does not answer within a few seconds.

use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};

use crate::failure::Failure;

/// How long connecting to the API server may take. kind's API server is on
/// localhost, so anything slower means it is not there.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long one API request may take before the test gives up on it, so
/// that a wedged cluster fails a test instead of hanging it.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long the first request (the API server's version) may take in all.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The ConfigMap `e2e/install.sh` writes last, once everything it installs
/// is ready: which provider the cluster was installed for and where the
/// controller runs.
pub const INSTALL_MARKER_NAMESPACE: &str = "default";
/// See [`INSTALL_MARKER_NAMESPACE`].
pub const INSTALL_MARKER_NAME: &str = "weir-e2e";

/// The providers `e2e/install.sh` can install weir for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestedProvider {
    /// `-mesh-provider=kubernetes`: blue/green with Services only.
    Kubernetes,
    /// Gateway API HTTPRoutes on Istio's Gateway implementation.
    GatewayApi,
}

impl TestedProvider {
    /// The name `e2e/install.sh` takes (the kustomize overlay's directory).
    pub fn as_str(self) -> &'static str {
        match self {
            TestedProvider::Kubernetes => "kubernetes",
            TestedProvider::GatewayApi => "gatewayapi",
        }
    }

    /// The provider named `name`, as install.sh spells it.
    pub fn from_name(name: &str) -> Option<TestedProvider> {
        match name {
            "kubernetes" => Some(TestedProvider::Kubernetes),
            "gatewayapi" => Some(TestedProvider::GatewayApi),
            _ => None,
        }
    }
}

/// What `e2e/install.sh` installed, read from its marker ConfigMap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Install {
    /// The provider the controller was installed for.
    pub provider: TestedProvider,
    /// The controller Deployment's namespace.
    pub controller_namespace: String,
    /// The controller Deployment's name.
    pub controller_deployment: String,
}

impl Install {
    /// Reads the marker's data.
    pub fn from_marker(marker: &ConfigMap) -> Result<Install, Failure> {
        let data = marker.data.clone().unwrap_or_default();
        let field = |key: &str| {
            data.get(key)
                .filter(|value| !value.is_empty())
                .cloned()
                .ok_or_else(|| Failure::NotInstalled {
                    reason: format!(
                        "ConfigMap {INSTALL_MARKER_NAMESPACE}/{INSTALL_MARKER_NAME} has no {key:?}"
                    ),
                })
        };
        let provider_name = field("provider")?;
        let provider =
            TestedProvider::from_name(&provider_name).ok_or_else(|| Failure::NotInstalled {
                reason: format!(
                    "ConfigMap {INSTALL_MARKER_NAMESPACE}/{INSTALL_MARKER_NAME} names provider \
                     {provider_name:?}; expected kubernetes or gatewayapi"
                ),
            })?;
        Ok(Install {
            provider,
            controller_namespace: field("controllerNamespace")?,
            controller_deployment: field("controllerDeployment")?,
        })
    }
}

/// A connection to the kind cluster under test.
#[derive(Clone)]
pub struct Cluster {
    /// The client, with per-request timeouts.
    pub client: Client,
    /// The kubeconfig context in use (`kind-<cluster>`).
    pub context: String,
    /// What install.sh installed.
    pub install: Install,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Cluster")
            .field("context", &self.context)
            .field("install", &self.install)
            .finish_non_exhaustive()
    }
}

impl Cluster {
    /// Connects through the current kubeconfig context (`KUBECONFIG` or
    /// `~/.kube/config`) and reads what install.sh installed.
    pub async fn connect() -> Result<Cluster, Failure> {
        let kubeconfig = Kubeconfig::read().map_err(|error| Failure::NoCluster {
            reason: format!("cannot read a kubeconfig from KUBECONFIG or ~/.kube/config: {error}"),
        })?;
        Cluster::connect_with(kubeconfig).await
    }

    /// [`Cluster::connect`] with the kubeconfig at `path`.
    pub async fn connect_to(path: &Path) -> Result<Cluster, Failure> {
        let kubeconfig = Kubeconfig::read_from(path).map_err(|error| Failure::NoCluster {
            reason: format!("cannot read the kubeconfig {}: {error}", path.display()),
        })?;
        Cluster::connect_with(kubeconfig).await
    }

    /// The cluster, if it was installed for `provider`; `None`, after saying
    /// so on stderr, if it was installed for another one (CI runs each
    /// provider's tests on a cluster of its own, and the same command runs
    /// them all).
    pub async fn for_provider(provider: TestedProvider) -> Result<Option<Cluster>, Failure> {
        let cluster = Cluster::connect().await?;
        if cluster.install.provider == provider {
            Ok(Some(cluster))
        } else {
            eprintln!(
                "skipped: this test needs a cluster installed for {}, and {} is installed for {} \
                 (e2e/install.sh {} sets one up)",
                provider.as_str(),
                cluster.context,
                cluster.install.provider.as_str(),
                provider.as_str(),
            );
            Ok(None)
        }
    }

    /// [`Cluster::connect`] with `kubeconfig`'s current context.
    pub async fn connect_with(kubeconfig: Kubeconfig) -> Result<Cluster, Failure> {
        let context = kind_context(&kubeconfig)?;
        let mut config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .map_err(|error| Failure::NoCluster {
                reason: format!("the kubeconfig context {context:?} is unusable: {error}"),
            })?;
        // kind's API server listens on this machine; an HTTPS_PROXY meant
        // for the internet (which kube-rs would otherwise pick up) must not
        // stand in between.
        config.proxy_url = None;
        config.connect_timeout = Some(CONNECT_TIMEOUT);
        config.read_timeout = Some(REQUEST_TIMEOUT);
        // Pooled connections idle between polls; without this their idle
        // time would count against the next response's read timeout.
        config.reset_reader_on_write = true;
        let client = Client::try_from(config).map_err(|error| Failure::NoCluster {
            reason: format!("cannot build a client for context {context:?}: {error}"),
        })?;
        match tokio::time::timeout(PROBE_TIMEOUT, client.apiserver_version()).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                return Err(Failure::NoCluster {
                    reason: format!(
                        "the API server of context {context:?} does not answer: {error}"
                    ),
                });
            }
            Err(_) => {
                return Err(Failure::NoCluster {
                    reason: format!(
                        "the API server of context {context:?} did not answer within {}s",
                        PROBE_TIMEOUT.as_secs()
                    ),
                });
            }
        }
        let markers: Api<ConfigMap> = Api::namespaced(client.clone(), INSTALL_MARKER_NAMESPACE);
        let marker = markers
            .get_opt(INSTALL_MARKER_NAME)
            .await
            .map_err(Failure::kube("reading the install marker"))?
            .ok_or_else(|| Failure::NotInstalled {
                reason: format!(
                    "ConfigMap {INSTALL_MARKER_NAMESPACE}/{INSTALL_MARKER_NAME} is missing"
                ),
            })?;
        Ok(Cluster {
            client,
            context,
            install: Install::from_marker(&marker)?,
        })
    }
}

/// The current context, if it is a kind cluster's.
fn kind_context(kubeconfig: &Kubeconfig) -> Result<String, Failure> {
    let context = kubeconfig
        .current_context
        .clone()
        .filter(|context| !context.is_empty())
        .ok_or_else(|| Failure::NoCluster {
            reason: "the kubeconfig has no current context".to_owned(),
        })?;
    if context.starts_with("kind-") {
        Ok(context)
    } else {
        Err(Failure::NoCluster {
            reason: format!(
                "the current kubeconfig context {context:?} is not a kind cluster's (kind-<name>); \
                 the e2e tests create and delete namespaces, so they run only against kind"
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Instant;

    use super::*;

    fn kubeconfig(context: &str, server: &str) -> String {
        format!(
            "apiVersion: v1\n\
             kind: Config\n\
             current-context: {context}\n\
             contexts:\n\
             - name: {context}\n  context:\n    cluster: {context}\n    user: {context}\n\
             clusters:\n\
             - name: {context}\n  cluster:\n    server: {server}\n\
             users:\n\
             - name: {context}\n  user:\n    token: not-a-secret\n"
        )
    }

    fn write(directory: &tempfile::TempDir, text: &str) -> std::path::PathBuf {
        let path = directory.path().join("kubeconfig");
        std::fs::write(&path, text).expect("the temporary directory is writable");
        path
    }

    fn expect_failure(result: Result<Cluster, Failure>) -> Failure {
        match result {
            Ok(cluster) => panic!("connected to {cluster:?} where no cluster exists"),
            Err(failure) => failure,
        }
    }

    #[tokio::test]
    async fn a_missing_kubeconfig_fails_with_the_script_to_run() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        let failure = expect_failure(Cluster::connect_to(&directory.path().join("absent")).await);
        let report = failure.to_string();
        assert!(
            report.starts_with("no kind cluster: run e2e/kind.sh first"),
            "{report}"
        );
    }

    #[tokio::test]
    async fn a_context_that_is_not_kinds_is_refused_before_any_request() {
        let directory = tempfile::tempdir().expect("a temporary directory");
        // A routable address that would hang if anything connected to it.
        let path = write(
            &directory,
            &kubeconfig("production", "https://10.255.255.1:6443"),
        );
        let started = Instant::now();
        let failure = expect_failure(Cluster::connect_to(&path).await);
        assert!(matches!(failure, Failure::NoCluster { .. }), "{failure}");
        assert!(
            failure
                .to_string()
                .contains("\"production\" is not a kind cluster's")
        );
        assert!(started.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn a_kind_context_whose_api_server_is_gone_fails_fast() {
        // kind's kubeconfig entry outlives a deleted cluster: port 1 on
        // localhost refuses connections, as a stopped kind node does.
        let directory = tempfile::tempdir().expect("a temporary directory");
        let path = write(
            &directory,
            &kubeconfig("kind-weir-e2e", "https://127.0.0.1:1"),
        );
        let started = Instant::now();
        let failure = expect_failure(Cluster::connect_to(&path).await);
        let report = failure.to_string();
        assert!(
            report.starts_with("no kind cluster: run e2e/kind.sh first"),
            "{report}"
        );
        assert!(report.contains("does not answer"), "{report}");
        assert!(started.elapsed() < PROBE_TIMEOUT + Duration::from_secs(2));
    }

    #[test]
    fn the_install_marker_names_the_provider_and_the_controller() {
        let marker = ConfigMap {
            data: Some(BTreeMap::from([
                ("provider".to_owned(), "gatewayapi".to_owned()),
                (
                    "controllerNamespace".to_owned(),
                    "flagger-system".to_owned(),
                ),
                ("controllerDeployment".to_owned(), "flagger".to_owned()),
            ])),
            ..ConfigMap::default()
        };
        assert_eq!(
            Install::from_marker(&marker).expect("a complete marker"),
            Install {
                provider: TestedProvider::GatewayApi,
                controller_namespace: "flagger-system".to_owned(),
                controller_deployment: "flagger".to_owned(),
            }
        );
    }

    #[test]
    fn an_install_marker_for_an_unknown_provider_says_which_it_names() {
        let marker = ConfigMap {
            data: Some(BTreeMap::from([
                ("provider".to_owned(), "istio".to_owned()),
                ("controllerNamespace".to_owned(), "istio-system".to_owned()),
                ("controllerDeployment".to_owned(), "flagger".to_owned()),
            ])),
            ..ConfigMap::default()
        };
        let failure = Install::from_marker(&marker).expect_err("istio is not installable");
        assert!(failure.to_string().contains("\"istio\""), "{failure}");
    }

    #[test]
    fn provider_names_are_install_shs() {
        for provider in [TestedProvider::Kubernetes, TestedProvider::GatewayApi] {
            assert_eq!(TestedProvider::from_name(provider.as_str()), Some(provider));
        }
        assert_eq!(TestedProvider::from_name("gatewayapi:v1"), None);
    }
}
