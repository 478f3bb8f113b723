//! The harness itself against a real Kubernetes API server (weir-testkit's
//! kube-apiserver v1.20, which has no controllers, so nothing ever rolls
//! out): connecting refuses a cluster install.sh has not finished, reads
//! its marker once it has, and a failure report describes the namespace
//! even when the controller cannot be found. Skips, saying why, when the
//! server tool is unavailable.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{ObjectMeta, PostParams};
use kube::config::Kubeconfig;
use kube::{Api, Client};
use weir_e2e::cluster::{INSTALL_MARKER_NAME, INSTALL_MARKER_NAMESPACE, Install};
use weir_e2e::{
    Cluster, Failure, PROMOTED_VERSION, TestedProvider, canaries, diagnostics, manifests,
};
use weir_testkit::{ApiServer, Mode, block_on, install_crds, skip};

/// The server's kubeconfig with its context renamed as kind names its
/// own, which the harness insists on.
fn as_kind_context(server: &ApiServer) -> Kubeconfig {
    let mut kubeconfig =
        Kubeconfig::read_from(server.kubeconfig()).expect("the tool writes a readable kubeconfig");
    let current = kubeconfig
        .current_context
        .clone()
        .expect("the tool's kubeconfig has a current context");
    for context in &mut kubeconfig.contexts {
        if context.name == current {
            context.name = "kind-testkit".to_owned();
        }
    }
    kubeconfig.current_context = Some("kind-testkit".to_owned());
    kubeconfig
}

async fn create_namespace(client: &Client, name: &str) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    if namespaces
        .get_opt(name)
        .await
        .expect("namespaces can be read")
        .is_none()
    {
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .expect("a namespace can be created");
    }
}

#[test]
fn the_harness_waits_for_install_sh_then_reports_failures_with_the_namespaces_state() {
    let server = match ApiServer::start(Mode::Full, "e2e-harness") {
        Ok(server) => server,
        Err(reason) => {
            skip(&reason);
            return;
        }
    };
    block_on(async {
        let client = server.client().await;

        let before_install = Cluster::connect_with(as_kind_context(&server)).await;
        match before_install {
            Err(Failure::NotInstalled { reason }) => assert!(
                reason.contains(INSTALL_MARKER_NAME),
                "the refusal should name the marker: {reason}"
            ),
            other => panic!("expected NotInstalled before install.sh ran, got {other:?}"),
        }

        create_namespace(&client, INSTALL_MARKER_NAMESPACE).await;
        let marker = ConfigMap {
            metadata: ObjectMeta {
                name: Some(INSTALL_MARKER_NAME.to_owned()),
                ..ObjectMeta::default()
            },
            data: Some(BTreeMap::from([
                ("provider".to_owned(), "gatewayapi".to_owned()),
                (
                    "controllerNamespace".to_owned(),
                    "flagger-system".to_owned(),
                ),
                ("controllerDeployment".to_owned(), "weir".to_owned()),
            ])),
            ..ConfigMap::default()
        };
        Api::<ConfigMap>::namespaced(client.clone(), INSTALL_MARKER_NAMESPACE)
            .create(&PostParams::default(), &marker)
            .await
            .expect("the marker can be created");
        let cluster = Cluster::connect_with(as_kind_context(&server))
            .await
            .expect("a cluster with a marker is ready for the tests");
        assert_eq!(
            cluster.install,
            Install {
                provider: TestedProvider::GatewayApi,
                controller_namespace: "flagger-system".to_owned(),
                controller_deployment: "weir".to_owned(),
            }
        );

        install_crds(&client, &weir_api::crd::all())
            .await
            .unwrap_or_else(|error| panic!("weir's CRDs do not install: {error}"));
        create_namespace(&client, "diagnosed").await;
        let canary = canaries::GATEWAY_API_AB
            .render("diagnosed", PROMOTED_VERSION)
            .expect("the A/B manifest renders");
        manifests::apply(&client, "diagnosed", &canary)
            .await
            .expect("the A/B Canary applies");
        manifests::apply(&client, "diagnosed", manifests::PODINFO)
            .await
            .expect("podinfo applies");

        let report = diagnostics::collect(&cluster, "diagnosed", "podinfo")
            .await
            .0;
        for expected in [
            "== Canary diagnosed/podinfo ==\n(no status yet: the controller has not reconciled it)",
            "== Events in diagnosed (last 30) ==\n(none)",
            "== Deployments in diagnosed ==\npodinfo: replicas 1 wanted, 0 updated, 0 ready, 0 available; images ghcr.io/stefanprodan/podinfo:6.0.0",
            "== HTTPRoutes in diagnosed ==\n(cannot list them:",
            "== Controller flagger-system/weir log (last 40 lines) ==\n(cannot read the controller Deployment:",
        ] {
            assert!(
                report.contains(expected),
                "{expected:?} missing from:\n{report}"
            );
        }
    });
}
