//! The Canaries the e2e scenarios apply, checked without kind, so that a
//! typo surfaces in `cargo test --workspace` rather than an hour later on
//! GitHub's runners:
//!
//! * `weir validate` (CRD schema and weir's semantic checks) finds nothing
//!   to say about any of them, for the `-mesh-provider` of the overlay the
//!   scenario installs;
//! * a real API server with weir's CRDs (weir-testkit's
//!   apiextensions-apiserver) accepts each through the same discovery and
//!   server-side apply the scenarios use ([`weir_e2e::manifests::apply`]),
//!   and stores the fields the scenarios rely on. It skips, saying why, when
//!   the server tool is unavailable.

use kube::Api;
use weir_api::checks::CheckContext;
use weir_api::{Canary, Provider};
use weir_e2e::canaries::{self, CanaryManifest};
use weir_e2e::{INITIAL_VERSION, PROMOTED_VERSION, manifests};
use weir_testkit::{ApiServer, Mode, block_on, install_crds, skip};
use weir_validate::{Options, RenderOptions, Report};

/// The `-mesh-provider` of the overlay each manifest's scenarios install
/// (deploy/kustomize/<provider>/patch.yaml).
fn mesh_provider(manifest: &CanaryManifest) -> Provider {
    if manifest.file.starts_with("gatewayapi") {
        Provider::GatewayApiV1
    } else {
        Provider::Kubernetes
    }
}

fn rendered(manifest: &CanaryManifest, namespace: &str) -> String {
    manifest
        .render(namespace, PROMOTED_VERSION)
        .unwrap_or_else(|failure| panic!("{}: {failure}", manifest.file))
}

#[test]
fn weir_validate_has_nothing_to_say_about_any_canary_manifest() {
    for manifest in canaries::ALL {
        let options = Options {
            check_context: CheckContext {
                mesh_provider: mesh_provider(&manifest),
            },
        };
        let file = weir_validate::validate_str(
            manifest.file,
            &rendered(&manifest, "validation"),
            &options,
        );
        let report = Report { files: vec![file] };
        assert_eq!(
            report.diagnostics().count(),
            0,
            "{}",
            weir_validate::render_human(&report, &RenderOptions::default())
        );
    }
}

#[test]
fn every_canary_manifest_fills_in_the_versions_it_checks_for() {
    for manifest in canaries::ALL {
        let yaml = rendered(&manifest, "versions");
        assert!(
            !yaml.contains("${"),
            "{} keeps a placeholder",
            manifest.file
        );
    }
    let ab = rendered(&canaries::GATEWAY_API_AB, "gatewayapi-ab");
    assert!(ab.contains(&format!("grep '{PROMOTED_VERSION}'")));
    assert!(ab.contains(&format!("grep '{INITIAL_VERSION}'")));
    assert!(ab.contains("-H 'Host: gatewayapi-ab.example.com'"));
}

#[test]
fn a_real_api_server_stores_every_canary_manifest_as_the_scenarios_apply_it() {
    let server = match ApiServer::start(Mode::Crd, "e2e-manifests") {
        Ok(server) => server,
        Err(reason) => {
            skip(&reason);
            return;
        }
    };
    block_on(async {
        let client = server.client().await;
        install_crds(&client, &weir_api::crd::all())
            .await
            .unwrap_or_else(|error| panic!("weir's CRDs do not install: {error}"));
        for (index, manifest) in canaries::ALL.iter().enumerate() {
            let namespace = format!("scenario-{index}");
            manifests::apply(&client, &namespace, &rendered(manifest, &namespace))
                .await
                .unwrap_or_else(|failure| panic!("{}: {failure}", manifest.file));
            let canaries: Api<Canary> = Api::namespaced(client.clone(), &namespace);
            let stored = canaries
                .get("podinfo")
                .await
                .unwrap_or_else(|error| panic!("{}: not stored: {error}", manifest.file));
            let analysis = stored
                .spec
                .analysis
                .clone()
                .unwrap_or_else(|| panic!("{}: the analysis was pruned", manifest.file));
            assert!(
                !analysis.webhooks.is_empty(),
                "{}: the webhooks were pruned: {analysis:?}",
                manifest.file
            );
            assert_eq!(stored.spec.target_ref.name, "podinfo", "{}", manifest.file);
        }
        let ab_index = canaries::ALL
            .iter()
            .position(|manifest| *manifest == canaries::GATEWAY_API_AB)
            .expect("the A/B manifest is among them all");
        let ab: Api<Canary> = Api::namespaced(client.clone(), &format!("scenario-{ab_index}"));
        let stored = ab.get("podinfo").await.expect("the A/B Canary is stored");
        let matches = stored
            .spec
            .analysis
            .map(|analysis| analysis.r#match)
            .unwrap_or_default();
        assert_eq!(
            serde_json::to_value(&matches).expect("matches serialize"),
            serde_json::json!([{"headers": {"x-canary": {"exact": "insider"}}}]),
        );
    });
}
