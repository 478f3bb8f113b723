//! weir's CRDs judged by a real API server (apiextensions-apiserver v1.36).
//!
//! Two servers run side by side: one with weir's CRDs, one with Flagger's
//! own. Every Flagger manifest of the compatibility corpus goes to both, and
//! what the servers store must be the same. The tests skip, saying why, when
//! the server tool is unavailable.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use weir_api::{Canary, CanaryStatus};
use weir_testkit::{ApiServer, Mode, Unavailable, block_on, install_crds, skip};

struct Servers {
    weir: ApiServer,
    flagger: ApiServer,
}

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared")
}

fn flagger_crds() -> Vec<CustomResourceDefinition> {
    let path = shared().join("compat/flagger/artifacts/flagger/crd.yaml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_saphyr::from_multiple::<Value>(&text)
        .expect("Flagger's CRD is YAML")
        .into_iter()
        .map(|crd| serde_json::from_value(crd).expect("a CustomResourceDefinition"))
        .collect()
}

/// Both servers, started and given their CRDs once per test binary.
fn servers() -> Result<&'static Servers, &'static Unavailable> {
    static SERVERS: OnceLock<Result<Servers, Unavailable>> = OnceLock::new();
    SERVERS
        .get_or_init(|| {
            let weir = ApiServer::start(Mode::Crd, "crd-fidelity-weir")?;
            let flagger = ApiServer::start(Mode::Crd, "crd-fidelity-flagger")?;
            block_on(async {
                install_crds(&weir.client().await, &weir_api::crd::all())
                    .await
                    .map_err(|error| {
                        Unavailable(format!("weir's CRDs did not install: {error}"))
                    })?;
                install_crds(&flagger.client().await, &flagger_crds())
                    .await
                    .map_err(|error| {
                        Unavailable(format!("Flagger's CRDs did not install: {error}"))
                    })
            })?;
            Ok(Servers { weir, flagger })
        })
        .as_ref()
}

macro_rules! servers_or_skip {
    () => {
        match servers() {
            Ok(servers) => servers,
            Err(reason) => {
                skip(reason);
                return;
            }
        }
    };
}

fn api(client: &kube::Client, kind: &str, namespace: &str) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk("flagger.app", "v1beta1", kind));
    Api::namespaced_with(client.clone(), namespace, &resource)
}

/// The flagger.app documents of every YAML file in the compatibility corpus.
fn corpus() -> Vec<(String, Value)> {
    let mut files = Vec::new();
    collect_yaml(&shared().join("compat/flagger"), &mut files);
    files.sort();
    let mut documents = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable corpus");
        let Ok(parsed) = serde_saphyr::from_multiple::<Value>(&text) else {
            continue;
        };
        for document in parsed {
            if document["apiVersion"] == "flagger.app/v1beta1" {
                documents.push((file.display().to_string(), document));
            }
        }
    }
    documents
}

fn collect_yaml(directory: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(directory)
        .expect("corpus directory")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            collect_yaml(&path, files);
        } else if path
            .extension()
            .is_some_and(|extension| extension == "yaml")
        {
            files.push(path);
        }
    }
}

/// What the server stored, without the fields it generates per object.
fn stored(object: &DynamicObject) -> Value {
    let mut value = serde_json::to_value(object).expect("json");
    if let Some(metadata) = value.get_mut("metadata").and_then(Value::as_object_mut) {
        for generated in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "generation",
            "managedFields",
        ] {
            metadata.remove(generated);
        }
    }
    value
}

async fn create(
    client: &kube::Client,
    namespace: &str,
    manifest: &Value,
) -> Result<DynamicObject, kube::Error> {
    let kind = manifest["kind"].as_str().unwrap_or_default();
    let mut manifest = manifest.clone();
    if let Some(metadata) = manifest.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("namespace".to_owned(), json!(namespace));
    }
    let object: DynamicObject = serde_json::from_value(manifest).expect("a Kubernetes object");
    api(client, kind, namespace)
        .create(&PostParams::default(), &object)
        .await
}

#[test]
fn weirs_crds_are_established_as_structural_schemas() {
    let servers = servers_or_skip!();
    block_on(async {
        let client = servers.weir.client().await;
        let crds: Api<CustomResourceDefinition> = Api::all(client);
        for expected in weir_api::crd::all() {
            let name = expected.metadata.name.clone().expect("named");
            let crd = crds.get(&name).await.expect("installed");
            let conditions = crd
                .status
                .and_then(|status| status.conditions)
                .unwrap_or_default();
            let status_of = |kind: &str| {
                conditions
                    .iter()
                    .find(|condition| condition.type_ == kind)
                    .map(|condition| condition.status.clone())
            };
            assert_eq!(
                status_of("Established").as_deref(),
                Some("True"),
                "{name}: {conditions:?}"
            );
            assert_eq!(
                status_of("NamesAccepted").as_deref(),
                Some("True"),
                "{name}"
            );
            assert_eq!(
                status_of("NonStructuralSchema"),
                None,
                "{name} has a structural schema"
            );
            assert_eq!(
                crd.spec.versions[0].additional_printer_columns,
                expected.spec.versions[0].additional_printer_columns,
                "{name} printer columns"
            );
        }
    });
}

#[test]
fn the_cel_rule_on_mirror_backends_is_enforced_after_defaulting() {
    let servers = servers_or_skip!();
    block_on(async {
        let client = servers.weir.client().await;
        let canary = |port: Value| {
            json!({
                "apiVersion": "flagger.app/v1beta1", "kind": "Canary",
                "metadata": {"name": format!("mirror-{}", port.is_null())},
                "spec": {
                    "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
                    "service": {"port": 9898, "mirror": [{"backendRef": {"name": "shadow", "port": port}}]},
                    "analysis": {"interval": "1m", "threshold": 5, "stepWeight": 10}
                }
            })
        };
        let rejected = create(&client, "cel", &canary(Value::Null))
            .await
            .expect_err("no port");
        assert!(
            rejected
                .to_string()
                .contains("Must have port for Service reference"),
            "{rejected}"
        );
        create(&client, "cel", &canary(json!(8080)))
            .await
            .expect("with a port");
    });
}

#[test]
fn every_flagger_manifest_is_accepted_and_stored_exactly_as_flaggers_crds_store_it() {
    let servers = servers_or_skip!();
    let documents = corpus();
    assert!(
        documents.len() >= 5,
        "the corpus has Flagger's example Canaries: {documents:?}"
    );
    block_on(async {
        let weir = servers.weir.client().await;
        let flagger = servers.flagger.client().await;
        for (index, (file, manifest)) in documents.iter().enumerate() {
            let namespace = format!("corpus-{index}");
            let by_flagger = create(&flagger, &namespace, manifest).await;
            let by_weir = create(&weir, &namespace, manifest).await;
            match (by_flagger, by_weir) {
                (Ok(theirs), Ok(ours)) => assert_eq!(
                    stored(&ours),
                    stored(&theirs),
                    "{file}: the servers stored different objects"
                ),
                (Ok(_), Err(error)) => {
                    panic!("{file}: Flagger's CRD accepts it, weir's rejects it: {error}")
                }
                (Err(error), _) => {
                    panic!("{file}: Flagger's own CRD rejects its own example: {error}")
                }
            }
        }
    });
}

#[test]
fn the_server_applies_exactly_the_defaults_weir_assumes() {
    let servers = servers_or_skip!();
    let manifest = json!({
        "apiVersion": "flagger.app/v1beta1", "kind": "Canary",
        "metadata": {"name": "defaults", "namespace": "defaults"},
        "spec": {
            "provider": "gatewayapi:v1",
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "service": {
                "port": 9898,
                "gatewayRefs": [{"name": "public", "namespace": "gateways"}],
                "mirror": [{"backendRef": {"name": "shadow", "port": 9898}}]
            },
            "analysis": {
                "interval": "1m", "threshold": 5, "stepWeight": 10,
                "sessionAffinity": {"cookieName": "canary"}
            }
        }
    });
    block_on(async {
        for (server, client) in [
            ("weir", servers.weir.client().await),
            ("flagger", servers.flagger.client().await),
        ] {
            let object = create(&client, "defaults", &manifest)
                .await
                .expect("accepted");
            let spec = &stored(&object)["spec"];
            // The five defaults Flagger's CRD declares, applied by the server...
            assert_eq!(
                spec["analysis"]["sessionAffinity"]["maxAge"], 86400,
                "{server}"
            );
            assert_eq!(
                spec["service"]["gatewayRefs"][0]["group"], "gateway.networking.k8s.io",
                "{server}"
            );
            assert_eq!(
                spec["service"]["gatewayRefs"][0]["kind"], "Gateway",
                "{server}"
            );
            assert_eq!(
                spec["service"]["mirror"][0]["backendRef"]["group"], "",
                "{server}"
            );
            assert_eq!(
                spec["service"]["mirror"][0]["backendRef"]["kind"], "Service",
                "{server}"
            );
            // ...and nothing else: without them, the stored spec is the manifest's.
            let mut without_defaults = spec.clone();
            without_defaults["analysis"]["sessionAffinity"]
                .as_object_mut()
                .expect("object")
                .remove("maxAge");
            for field in ["group", "kind"] {
                without_defaults["service"]["gatewayRefs"][0]
                    .as_object_mut()
                    .expect("object")
                    .remove(field);
                without_defaults["service"]["mirror"][0]["backendRef"]
                    .as_object_mut()
                    .expect("object")
                    .remove(field);
            }
            assert_eq!(
                without_defaults, manifest["spec"],
                "{server} applied other defaults"
            );
        }
        // weir reads a manifest without them as the server stores it.
        let stored_object = api(&servers.weir.client().await, "Canary", "defaults")
            .get("defaults")
            .await
            .expect("stored");
        let from_server: Canary =
            serde_json::from_value(serde_json::to_value(stored_object).expect("json"))
                .expect("decodes");
        let from_manifest: Canary = serde_json::from_value(manifest.clone()).expect("decodes");
        assert_eq!(
            from_server.spec, from_manifest.spec,
            "weir's serde defaults equal the server's"
        );
    });
}

#[test]
fn status_writes_and_server_side_apply_of_status_work_with_weirs_status_type() {
    let servers = servers_or_skip!();
    let manifest = json!({
        "apiVersion": "flagger.app/v1beta1", "kind": "Canary",
        "metadata": {"name": "status", "namespace": "status"},
        "spec": {
            "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "podinfo"},
            "service": {"port": 9898},
            "analysis": {"interval": "1m", "threshold": 5, "stepWeight": 10}
        }
    });
    // A status with every field weir writes, in whole seconds as the API stores times.
    let status: CanaryStatus = serde_json::from_value(json!({
        "phase": "Progressing", "failedChecks": 1, "canaryWeight": 20, "iterations": 0,
        "trackedConfigs": {"configmap/podinfo-config": "1f2e3d4c"},
        "lastAppliedSpec": "5d8f9c", "lastPromotedSpec": "7b6a5c",
        "lastTransitionTime": "2026-11-26T10:00:00Z",
        "sessionAffinityCookie": "canary=abcdefghij",
        "conditions": [{"type": "Promoted", "status": "Unknown", "reason": "Progressing",
            "message": "New revision detected, progressing canary analysis.",
            "lastUpdateTime": "2026-11-26T10:00:00Z", "lastTransitionTime": "2026-11-26T09:58:00Z"}],
        "lastAnalysis": {"time": "2026-11-26T10:00:00Z", "canaryWeight": 20, "mirrored": false,
            "iteration": 0, "passed": false, "failedChecks": 1, "checks": [
                {"name": "request-success-rate", "kind": "Metric", "result": "Fail",
                 "value": 98.5, "min": 99.0, "message": "Halt podinfo.status advancement success rate 98.50% < 99%"}]},
        "workloadWait": {"workload": "podinfo", "since": "2026-11-26T09:59:00Z",
            "updatedReplicas": 1, "availableReplicas": 0}
    }))
    .expect("a status");
    block_on(async {
        let client = servers.weir.client().await;
        let canaries = api(&client, "Canary", "status");
        let created = create(&client, "status", &manifest).await.expect("created");

        // A status write, with a spec change and an unknown field smuggled in.
        let mut update = serde_json::to_value(&created).expect("json");
        update["status"] = serde_json::to_value(&status).expect("json");
        update["status"]["unknownField"] = json!(true);
        update["spec"]["suspend"] = json!(true);
        let object: DynamicObject = serde_json::from_value(update).expect("object");
        canaries
            .replace_status("status", &PostParams::default(), &object)
            .await
            .expect("status written");
        let read: Canary = serde_json::from_value(
            serde_json::to_value(canaries.get("status").await.expect("read")).expect("json"),
        )
        .expect("decodes as weir's Canary");
        assert_eq!(
            read.status.as_ref(),
            Some(&status),
            "the status round-trips"
        );
        assert!(
            !read.spec.suspend,
            "the status subresource does not change the spec"
        );
        let raw = serde_json::to_value(canaries.get("status").await.expect("read")).expect("json");
        assert!(
            raw["status"].get("unknownField").is_none(),
            "unknown status fields are pruned"
        );

        // Server-side apply of the status, as a second field manager.
        let apply = json!({
            "apiVersion": "flagger.app/v1beta1", "kind": "Canary",
            "metadata": {"name": "status", "namespace": "status"},
            "status": {"phase": "Succeeded", "canaryWeight": 0, "failedChecks": 1, "iterations": 0}
        });
        canaries
            .patch_status(
                "status",
                &PatchParams::apply("weir-test").force(),
                &Patch::Apply(&apply),
            )
            .await
            .expect("status applied");
        let read: Canary = serde_json::from_value(
            serde_json::to_value(canaries.get("status").await.expect("read")).expect("json"),
        )
        .expect("decodes");
        let read_status = read.status.expect("status");
        assert_eq!(read_status.phase, weir_api::CanaryPhase::Succeeded);
        assert_eq!(read_status.canary_weight, 0);
        assert_eq!(
            read_status.last_analysis, status.last_analysis,
            "fields of the other manager stay"
        );
    });
}

/// The server's complaint about a rejected object: `(field, message)` pairs.
fn causes(error: &kube::Error) -> Vec<(String, String)> {
    let kube::Error::Api(status) = error else {
        return vec![(String::new(), error.to_string())];
    };
    let causes: Vec<(String, String)> = status
        .details
        .as_ref()
        .map(|details| {
            details
                .causes
                .iter()
                .map(|cause| {
                    (
                        field_of(&cause.field, &cause.message),
                        cause.message.clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if causes.is_empty() {
        vec![(String::new(), status.message.clone())]
    } else {
        causes
    }
}

/// The field a cause is about. One-of failures come with field `<nil>` and
/// name the field in the message: `"spec.analysis" must validate one and only one schema`.
fn field_of(field: &str, message: &str) -> String {
    if !field.is_empty() && field != "<nil>" {
        return field.to_owned();
    }
    message
        .split(" must validate")
        .next()
        .and_then(|head| head.rsplit('"').nth(1))
        .unwrap_or_default()
        .to_owned()
}

/// Whether two field paths name the same field, or one contains the other
/// (the server reports a one-of at the object, weir at the clashing field).
fn same_field(server: &str, ours: &str) -> bool {
    let server = server.trim_start_matches('.');
    server.is_empty()
        || ours == server
        || ours.starts_with(&format!("{server}."))
        || ours.starts_with(&format!("{server}["))
        || server.starts_with(&format!("{ours}."))
        || server.starts_with(&format!("{ours}["))
}

#[test]
fn weir_validate_rejects_everything_the_server_rejects_naming_the_same_field() {
    let servers = servers_or_skip!();
    let fixtures =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../controller/validate/tests/fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&fixtures)
        .expect("validate fixtures")
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "yaml")
        })
        .collect();
    files.sort();
    let mut rejected_by_server = 0;
    block_on(async {
        let client = servers.weir.client().await;
        for (index, file) in files.iter().enumerate() {
            let text = std::fs::read_to_string(file).expect("fixture");
            // What kubectl would send: weir reads YAML the way kubectl does.
            let stream = weir_validate::yaml::parse(&text);
            if stream.error.is_some() {
                continue; // not YAML: kubectl never sends it
            }
            let report = weir_validate::validate_str(
                &file.display().to_string(),
                &text,
                &Default::default(),
            );
            let our_errors: Vec<&str> = report
                .diagnostics
                .iter()
                .filter(|diagnostic| diagnostic.severity == weir_validate::Severity::Error)
                .map(|diagnostic| diagnostic.path.as_str())
                .collect();
            for document in stream
                .documents
                .iter()
                .filter_map(|document| document.root.as_ref())
            {
                let manifest = weir_validate::convert::to_json(document).json;
                if manifest["apiVersion"] != "flagger.app/v1beta1" {
                    continue;
                }
                let Err(error) = create(&client, &format!("broken-{index}"), &manifest).await
                else {
                    continue;
                };
                if !matches!(&error, kube::Error::Api(status) if status.code == 422 || status.code == 400)
                {
                    // Not a validation verdict (e.g. an unknown kind): nothing to compare.
                    continue;
                }
                rejected_by_server += 1;
                let causes = causes(&error);
                // A failed one-of lists what each alternative misses; those
                // are alternatives, so naming one of them is enough.
                let one_ofs: Vec<&str> = causes
                    .iter()
                    .filter(|(_, message)| {
                        message.contains("must validate one and only one schema")
                    })
                    .map(|(field, _)| field.as_str())
                    .collect();
                let alternative_of = |field: &str, message: &str| {
                    one_ofs
                        .iter()
                        .find(|parent| {
                            message == "Required value" && field.starts_with(&format!("{parent}."))
                        })
                        .copied()
                };
                let named = |field: &str| our_errors.iter().any(|ours| same_field(field, ours));
                for (field, message) in &causes {
                    let satisfied = match alternative_of(field, message) {
                        Some(parent) => causes
                            .iter()
                            .filter(|(other, text)| alternative_of(other, text) == Some(parent))
                            .any(|(other, _)| named(other)),
                        None => named(field),
                    };
                    assert!(
                        satisfied,
                        "{}: the server rejects `{field}` ({message}); weir validate reports errors at {our_errors:?}",
                        file.display()
                    );
                }
            }
        }
    });
    eprintln!(
        "the server rejected {rejected_by_server} fixture documents; weir validate named the same fields for each"
    );
    assert!(
        rejected_by_server >= 10,
        "the fixtures exercise many rejections ({rejected_by_server})"
    );
}
