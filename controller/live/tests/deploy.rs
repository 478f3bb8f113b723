//! `deploy/` checked against the controller it deploys: these tests fail
//! when the manifests drift from the code.
//!
//! ```text
//!   deploy/kustomize/{base,<provider>}  ─ files exist, YAML parses, -flags are Flags', port/probes/image agree
//!   deploy/kustomize/base/rbac.yaml     ─ == the table below (what the code does), nothing more
//!   deploy/chart/weir                   ─ -flags of the template are Flags', .Values.* exist,
//!                                         CRDs and RBAC are the base's (links), rendered by Helm when
//!                                         helm-python-sdk is installed
//!   a real kube-apiserver (testkit)     ─ the base's objects pass a server-side dry run, and
//!                                         SubjectAccessReviews agree with the table
//! ```
//!
//! Tests that need a tool say why they skip when it is missing:
//! `kubectl kustomize` (the overlays as kustomize builds them), Helm's Go
//! engine through PyPI's `helm-python-sdk` (`pip install helm-python-sdk`;
//! `WEIR_HELM_REQUIRED=1` turns its skip into a failure), and the real API
//! server of `weir-testkit` (`WEIR_KUBE_REQUIRED=1`, as for testkit's own
//! tests).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use clap::CommandFactory;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SubjectAccessReview, SubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::ApiResource;
use kube::core::gvk::GroupVersion;
use serde_json::{Value, json};
use weir_controller::Flags;
use weir_routers::{
    apisix, appmesh, contour, gateway_api, gloo, istio, knative, kuma, smi, traefik,
};
use weir_testkit::{ApiServer, Mode, block_on, skip};

// ---------------------------------------------------------------- files

fn repository() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn deploy() -> PathBuf {
    repository().join("deploy")
}

fn kustomize_dir() -> PathBuf {
    deploy().join("kustomize")
}

fn chart() -> PathBuf {
    deploy().join("chart/weir")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The YAML documents of `text` (empty documents dropped).
fn parse_documents(text: &str, origin: &str) -> Vec<Value> {
    serde_saphyr::from_multiple::<Value>(text)
        .unwrap_or_else(|error| panic!("{origin} is not YAML: {error}"))
        .into_iter()
        .filter(|document| !document.is_null())
        .collect()
}

fn documents(path: &Path) -> Vec<Value> {
    parse_documents(&read(path), &path.display().to_string())
}

fn files_under(directory: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![directory.to_owned()];
    while let Some(directory) = pending.pop() {
        let entries = std::fs::read_dir(&directory)
            .unwrap_or_else(|error| panic!("{}: {error}", directory.display()));
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The object of `kind` named `name` among `documents`.
fn object<'a>(documents: &'a [Value], kind: &str, name: &str) -> &'a Value {
    documents
        .iter()
        .find(|document| document["kind"] == kind && document["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} among {} documents", documents.len()))
}

fn text<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no text at {pointer} in {value}"))
}

// ---------------------------------------------------------------- flags

/// The long names of weir-controller's flags, as clap declares them.
fn flag_names() -> BTreeSet<String> {
    Flags::command()
        .get_arguments()
        .filter_map(clap::Arg::get_long)
        .map(str::to_owned)
        .collect()
}

/// Checks `args` as a Deployment passes them: every one `-name=value`
/// (Go's single dash, as Flagger's manifests spell flags), every name a
/// flag of weir-controller, none twice, and all of them parse.
fn checked_flags(args: &[String], origin: &str) -> Flags {
    let known = flag_names();
    let mut seen = BTreeSet::new();
    for argument in args {
        let (name, _) = argument
            .strip_prefix('-')
            .filter(|flag| !flag.starts_with('-'))
            .and_then(|flag| flag.split_once('='))
            .unwrap_or_else(|| panic!("{origin}: `{argument}` is not spelled -flag=value"));
        assert!(
            known.contains(name),
            "{origin}: -{name} is not a flag of weir-controller (known: {known:?})"
        );
        assert!(
            seen.insert(name.to_owned()),
            "{origin}: -{name} is given twice"
        );
    }
    Flags::parse_go(std::iter::once("weir-controller".to_owned()).chain(args.iter().cloned()))
        .unwrap_or_else(|error| panic!("{origin}: weir-controller refuses {args:?}: {error}"))
}

fn default_flags() -> Flags {
    Flags::parse_go(["weir-controller"]).expect("the defaults parse")
}

/// The weir container of a Deployment.
fn container(deployment: &Value) -> &Value {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .and_then(|containers| {
            containers
                .iter()
                .find(|container| container["name"] == "weir")
        })
        .unwrap_or_else(|| panic!("no container `weir` in {deployment}"))
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|item| {
                    item.as_str()
                        .unwrap_or_else(|| panic!("{item} is not a string"))
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}

// ----------------------------------------------------------- kustomize

fn kustomizations() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = files_under(&kustomize_dir())
        .into_iter()
        .filter(|path| {
            path.file_name()
                .is_some_and(|name| name == "kustomization.yaml")
        })
        .filter_map(|path| path.parent().map(Path::to_owned))
        .collect();
    found.sort();
    found
}

fn overlay_name(directory: &Path) -> String {
    directory
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The paths a kustomization names: its resources, components,
/// transformers, generators and patches.
fn listed_paths(kustomization: &Value) -> Vec<String> {
    let mut listed = Vec::new();
    for key in [
        "resources",
        "components",
        "transformers",
        "generators",
        "crds",
        "patchesStrategicMerge",
        "configurations",
    ] {
        listed.extend(strings(&kustomization[key]));
    }
    for patch in kustomization["patches"].as_array().into_iter().flatten() {
        if let Some(path) = patch["path"].as_str() {
            listed.push(path.to_owned());
        }
    }
    listed
}

/// The Deployment patch of an overlay, if it has one.
fn overlay_args(directory: &Path) -> Option<Vec<String>> {
    let kustomization = documents(&directory.join("kustomization.yaml")).remove(0);
    listed_paths(&kustomization)
        .into_iter()
        .map(|path| directory.join(path))
        .filter(|path| path.is_file())
        .flat_map(|path| documents(&path))
        .find(|document| document["kind"] == "Deployment" && document["metadata"]["name"] == "weir")
        .map(|patch| strings(&container(&patch)["args"]))
}

/// The documents a kustomization's resources hold, following resources
/// that are kustomizations themselves (the base lists `../../crds`).
fn kustomization_documents(directory: &Path) -> Vec<Value> {
    let kustomization = documents(&directory.join("kustomization.yaml")).remove(0);
    strings(&kustomization["resources"])
        .into_iter()
        .flat_map(|resource| {
            let path = directory.join(resource);
            if path.is_dir() {
                kustomization_documents(&path)
            } else {
                documents(&path)
            }
        })
        .collect()
}

fn base_documents() -> Vec<Value> {
    kustomization_documents(&kustomize_dir().join("base"))
}

fn base_deployment() -> Value {
    object(&base_documents(), "Deployment", "weir").clone()
}

/// What each overlay must select, as Flagger's overlay for it does.
const OVERLAYS: &[(&str, &str, &str)] = &[
    // (overlay, -mesh-provider, namespace)
    ("istio", "istio", "istio-system"),
    ("linkerd", "gatewayapi:v1beta1", "flagger-system"),
    ("gatewayapi", "gatewayapi:v1", "flagger-system"),
    ("nginx", "nginx", "ingress-nginx"),
    ("contour", "contour", "projectcontour"),
    ("kubernetes", "kubernetes", "flagger-system"),
    ("kuma", "kuma", "kuma-system"),
    ("knative", "knative", "flagger-system"),
];

#[test]
fn every_yaml_document_under_deploy_parses() {
    let mut parsed = 0;
    for path in files_under(&deploy()) {
        let is_yaml = path
            .extension()
            .is_some_and(|extension| extension == "yaml" || extension == "yml");
        // Helm templates are Go templates, checked below.
        if !is_yaml || path.starts_with(chart().join("templates")) {
            continue;
        }
        parsed += documents(&path).len();
    }
    assert!(parsed > 30, "only {parsed} YAML documents under deploy/");
}

#[test]
fn every_kustomization_lists_files_that_exist_inside_it() {
    let directories = kustomizations();
    assert!(directories.len() >= 7, "kustomizations: {directories:?}");
    for directory in directories {
        let kustomization = documents(&directory.join("kustomization.yaml")).remove(0);
        let listed = listed_paths(&kustomization);
        assert!(!listed.is_empty(), "{} lists nothing", directory.display());
        for entry in listed {
            let path = directory.join(&entry);
            let resolved = path
                .canonicalize()
                .unwrap_or_else(|error| panic!("{}: {entry}: {error}", directory.display()));
            if resolved.is_dir() {
                assert!(
                    resolved.join("kustomization.yaml").is_file(),
                    "{}: {entry} is a directory without a kustomization.yaml",
                    directory.display()
                );
            } else {
                // kustomize refuses files outside a kustomization's root,
                // through a symbolic link too.
                let root = directory
                    .canonicalize()
                    .expect("the kustomization's directory");
                assert!(
                    resolved.starts_with(&root),
                    "{}: {entry} resolves to {}, outside the kustomization (kustomize refuses it)",
                    directory.display(),
                    resolved.display()
                );
            }
        }
    }
}

#[test]
fn the_crds_the_base_installs_are_the_generated_ones() {
    let base = documents(&kustomize_dir().join("base/kustomization.yaml")).remove(0);
    assert!(
        listed_paths(&base)
            .iter()
            .any(|entry| entry == "../../crds"),
        "the base installs deploy/crds: {base}"
    );
    let crds = documents(&deploy().join("crds/kustomization.yaml")).remove(0);
    assert_eq!(listed_paths(&crds), ["crd.yaml"]);
    let names: Vec<&str> = documents(&deploy().join("crds/crd.yaml"))
        .iter()
        .map(|crd| text(crd, "/metadata/name"))
        .map(|name| match name {
            "canaries.flagger.app" => "Canary",
            "metrictemplates.flagger.app" => "MetricTemplate",
            "alertproviders.flagger.app" => "AlertProvider",
            other => panic!("unexpected CRD {other}"),
        })
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

#[test]
fn the_base_and_every_overlay_pass_only_flags_weir_controller_knows() {
    let base_args = strings(&container(&base_deployment())["args"]);
    checked_flags(&base_args, "deploy/kustomize/base");
    for directory in kustomizations() {
        let name = overlay_name(&directory);
        if name == "base" {
            continue;
        }
        // A strategic merge patch replaces a list of strings whole.
        let args = overlay_args(&directory).unwrap_or_else(|| base_args.clone());
        let flags = checked_flags(&args, &format!("deploy/kustomize/{name}"));
        let Some((_, provider, _)) = OVERLAYS.iter().find(|(overlay, _, _)| *overlay == name)
        else {
            panic!("deploy/kustomize/{name} is not in this test's table of overlays");
        };
        assert_eq!(
            flags.mesh_provider.as_str(),
            *provider,
            "deploy/kustomize/{name}"
        );
        for required in ["-mesh-provider=", "-metrics-server="] {
            assert!(
                args.iter().any(|argument| argument.starts_with(required)),
                "deploy/kustomize/{name} does not set {required}, as Flagger's overlays do"
            );
        }
    }
    for (overlay, _, _) in OVERLAYS {
        assert!(
            kustomize_dir()
                .join(overlay)
                .join("kustomization.yaml")
                .is_file(),
            "deploy/kustomize/{overlay} is missing"
        );
    }
}

#[test]
fn the_deployment_serves_probes_and_metrics_on_the_port_flags_default() {
    let port = i64::from(default_flags().port);
    let deployment = base_deployment();
    let pod = &deployment["spec"]["template"];
    let container = container(&deployment);
    let ports = container["ports"].as_array().expect("ports");
    assert_eq!(ports.len(), 1, "{ports:?}");
    assert_eq!(ports[0]["containerPort"], port);
    let port_name = text(&ports[0], "/name");
    for probe in ["livenessProbe", "readinessProbe"] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], "/healthz", "{probe}");
        assert!(
            get["port"] == port_name || get["port"] == port,
            "{probe} asks port {} instead of {port}",
            get["port"]
        );
    }
    assert_eq!(
        text(pod, "/metadata/annotations/prometheus.io~1port"),
        port.to_string()
    );
    assert_eq!(
        text(pod, "/metadata/annotations/prometheus.io~1scrape"),
        "true"
    );
}

#[test]
fn the_deployment_runs_the_image_of_this_version_unprivileged() {
    let version = env!("CARGO_PKG_VERSION");
    let deployment = base_deployment();
    let container = container(&deployment);
    let image = text(container, "/image");
    assert_eq!(image, format!("ghcr.io/weir-dev/weir-controller:{version}"));
    let kustomization = documents(&kustomize_dir().join("base/kustomization.yaml")).remove(0);
    let images = kustomization["images"].as_array().expect("images");
    assert_eq!(images[0]["name"], "ghcr.io/weir-dev/weir-controller");
    assert_eq!(images[0]["newTag"], version);
    let chart_yaml = documents(&chart().join("Chart.yaml")).remove(0);
    assert_eq!(chart_yaml["appVersion"], version);
    assert_eq!(chart_yaml["version"], version);

    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "weir");
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let user = pod["securityContext"]["runAsUser"]
        .as_i64()
        .expect("runAsUser");
    assert!(user > 0, "runAsUser {user}");
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"], json!(["ALL"]));
    for kind in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                container["resources"][kind][resource].is_string(),
                "resources.{kind}.{resource} is not set"
            );
        }
    }

    // The image runs the same user, and exposes the same port.
    let dockerfile = read(&deploy().join("Dockerfile"));
    let instruction = |name: &str| -> Vec<String> {
        dockerfile
            .lines()
            .filter_map(|line| line.strip_prefix(name))
            .map(|rest| rest.trim().to_owned())
            .collect()
    };
    assert_eq!(instruction("USER "), [format!("{user}:{user}")]);
    assert_eq!(instruction("EXPOSE "), [default_flags().port.to_string()]);
    assert!(
        dockerfile.contains("cargo build --release --locked -p weir-controller"),
        "the Dockerfile does not build weir-controller"
    );
    let binary = Path::new(env!("CARGO_BIN_EXE_weir-controller"))
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .expect("the binary's name");
    assert_eq!(
        instruction("ENTRYPOINT "),
        [format!("[\"/usr/local/bin/{binary}\"]")]
    );
}

#[test]
fn kustomize_builds_every_overlay_into_one_namespace() {
    let mut built = 0;
    for (overlay, provider, namespace) in OVERLAYS {
        let directory = kustomize_dir().join(overlay);
        let output = match Command::new("kubectl")
            .arg("kustomize")
            .arg(&directory)
            .stdin(Stdio::null())
            .output()
        {
            Ok(output) => output,
            Err(error) => {
                // `.ci/run` sets WEIR_KUBECTL_REQUIRED=1 when kubectl is there.
                assert!(
                    std::env::var("WEIR_KUBECTL_REQUIRED").as_deref() != Ok("1"),
                    "kubectl kustomize unavailable: {error} (WEIR_KUBECTL_REQUIRED=1: this test must run)"
                );
                eprintln!("skipping: kubectl kustomize unavailable: {error}");
                return;
            }
        };
        assert!(
            output.status.success(),
            "kubectl kustomize {overlay}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let objects = parse_documents(&String::from_utf8_lossy(&output.stdout), overlay);
        let deployment = object(&objects, "Deployment", "weir");
        assert_eq!(
            text(deployment, "/metadata/namespace"),
            *namespace,
            "{overlay}"
        );
        let args = strings(&container(deployment)["args"]);
        let flags = checked_flags(&args, &format!("kubectl kustomize {overlay}"));
        assert_eq!(flags.mesh_provider.as_str(), *provider, "{overlay}");
        let account = object(&objects, "ServiceAccount", "weir");
        assert_eq!(
            text(account, "/metadata/namespace"),
            *namespace,
            "{overlay}"
        );
        let binding = object(&objects, "ClusterRoleBinding", "weir");
        assert_eq!(
            binding["subjects"],
            json!([{"kind": "ServiceAccount", "name": "weir", "namespace": namespace}]),
            "{overlay}: the binding does not name the controller's service account"
        );
        assert_eq!(
            objects
                .iter()
                .filter(|object| object["kind"] == "CustomResourceDefinition")
                .count(),
            3,
            "{overlay}"
        );
        let copies = object(&objects, "ClusterRoleBinding", "weir-secret-copies");
        assert_eq!(
            copies["subjects"],
            json!([{"kind": "ServiceAccount", "name": "weir", "namespace": namespace}]),
            "{overlay}: the Secret copies binding does not name the controller's service account"
        );
        built += 1;
    }
    assert_eq!(built, OVERLAYS.len());
}

// ------------------------------------------------------------------ RBAC

/// One rule of what the controller needs.
#[derive(Clone, Debug)]
struct Need {
    group: String,
    resources: Vec<String>,
    verbs: &'static [&'static str],
    /// The only object the rule is about, when the code names it.
    name: Option<&'static str>,
    /// Whether the resources are cluster-scoped (Kuma's TrafficRoutes).
    cluster_scoped: bool,
}

fn need(group: &str, resources: &[&str], verbs: &'static [&'static str]) -> Need {
    Need {
        group: group.to_owned(),
        resources: resources
            .iter()
            .map(|resource| (*resource).to_owned())
            .collect(),
        verbs,
        name: None,
        cluster_scoped: false,
    }
}

/// A routing object's rule, its resource named as cluster/routing.rs names
/// it: kube's plural of the kind in the router's apiVersion.
fn router_objects(api_version: &str, kinds: &[&str], verbs: &'static [&'static str]) -> Need {
    let version: GroupVersion = api_version.parse().expect("a router's apiVersion");
    let resources: Vec<String> = kinds
        .iter()
        .map(|kind| ApiResource::from_gvk(&version.clone().with_kind(kind)).plural)
        .collect();
    Need {
        group: version.group,
        resources,
        verbs,
        name: None,
        cluster_scoped: false,
    }
}

const READ_WRITE: &[&str] = &["get", "create", "update"];

/// What weir-controller does to the cluster, read from its code (not from
/// Flagger's ClusterRole): controller.rs, ticker.rs, status.rs, objects.rs,
/// events.rs, leader.rs, cluster/workloads.rs, cluster/routing.rs and the
/// external metrics and Keptn providers of weir-metrics. A new API call in the code
/// needs a row here and a rule in deploy/kustomize/base/rbac.yaml.
fn controller_needs() -> Vec<Need> {
    let (keda_group, _) = weir_workloads::autoscalers::KEDA_API_VERSION
        .split_once('/')
        .expect("group/version");
    let mut needs = vec![
        // Watches (list, watch), the CRD check at startup (list), the GET
        // of every tick, the finalizer (update).
        need(
            "flagger.app",
            &["canaries"],
            &["get", "list", "watch", "update"],
        ),
        need("flagger.app", &["canaries/status"], &["get", "update"]),
        // Owner references with blockOwnerDeletion on what weir creates.
        need("flagger.app", &["canaries/finalizers"], &["update"]),
        need(
            "flagger.app",
            &["metrictemplates", "alertproviders"],
            &["list", "watch"],
        ),
        // Targets read, primaries created and replaced, scaled by patches.
        need(
            "apps",
            &["deployments", "daemonsets"],
            &["get", "create", "update", "patch"],
        ),
        // Config tracking's -primary copies.
        need("", &["configmaps"], READ_WRITE),
        // Template and provider Secrets, and tracked Secrets: read only.
        need("", &["secrets"], &["get"]),
        need("autoscaling", &["horizontalpodautoscalers"], READ_WRITE),
        need(
            keda_group,
            &["scaledobjects"],
            &["get", "create", "update", "patch"],
        ),
        need("", &["services"], READ_WRITE),
        // core/v1 Events, as Flagger's client-go recorder writes them:
        // created, then patched when a message repeats.
        need("", &["events"], &["create", "patch"]),
        need("coordination.k8s.io", &["leases"], &["create"]),
        Need {
            name: Some(weir_controller::leader::LEASE_NAME),
            ..need("coordination.k8s.io", &["leases"], &["get", "update"])
        },
        // The externalmetrics provider, with the service account's token.
        need("external.metrics.k8s.io", &["*"], &["list"]),
        // The keptn provider: KeptnMetric values; Analyses created, polled
        // and deleted (weir-metrics, provider/keptn.rs).
        need("metrics.keptn.sh", &["keptnmetrics"], &["get"]),
        need(
            "metrics.keptn.sh",
            &["analyses"],
            &["create", "get", "delete"],
        ),
        router_objects(
            istio::API_VERSION,
            &["VirtualService", "DestinationRule"],
            READ_WRITE,
        ),
        router_objects(
            gateway_api::Version::V1.api_version(),
            &["HTTPRoute"],
            READ_WRITE,
        ),
        router_objects(
            gateway_api::Version::V1beta1.api_version(),
            &["HTTPRoute"],
            READ_WRITE,
        ),
        router_objects(
            smi::Version::V1alpha3.api_version(),
            &["TrafficSplit"],
            READ_WRITE,
        ),
        // NGINX and Skipper; Skipper's canary Ingress is deleted on finalize.
        router_objects(
            "networking.k8s.io/v1",
            &["Ingress"],
            &["get", "create", "update", "delete"],
        ),
        router_objects(contour::API_VERSION, &["HTTPProxy"], READ_WRITE),
        router_objects(traefik::API_VERSION, &["TraefikService"], READ_WRITE),
        router_objects(gloo::UPSTREAM_API_VERSION, &["Upstream"], READ_WRITE),
        router_objects(gloo::ROUTE_TABLE_API_VERSION, &["RouteTable"], READ_WRITE),
        router_objects(apisix::API_VERSION, &["ApisixRoute"], READ_WRITE),
        Need {
            cluster_scoped: true,
            ..router_objects(kuma::API_VERSION, &["TrafficRoute"], READ_WRITE)
        },
        router_objects(
            appmesh::v1beta1::API_VERSION,
            &["VirtualNode", "VirtualService"],
            READ_WRITE,
        ),
        router_objects(
            appmesh::v1beta2::API_VERSION,
            &["VirtualNode", "VirtualRouter", "VirtualService"],
            READ_WRITE,
        ),
        // The user's Knative Service (never created), and its Revisions,
        // read for readiness.
        router_objects(knative::API_VERSION, &["Service"], &["get", "update"]),
        router_objects(knative::API_VERSION, &["Revision"], &["get"]),
    ];
    for other in [smi::Version::V1alpha1, smi::Version::V1alpha2] {
        needs.push(router_objects(
            other.api_version(),
            &["TrafficSplit"],
            READ_WRITE,
        ));
    }
    needs
}

/// Writing the `-primary` copies of tracked Secrets: a ClusterRole bound
/// per namespace, never cluster-wide by the manifests.
fn secret_copy_needs() -> Vec<Need> {
    vec![need("", &["secrets"], &["create", "update"])]
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Permission {
    group: String,
    resource: String,
    verb: String,
    name: Option<String>,
}

fn permissions_of_needs(needs: &[Need]) -> BTreeSet<Permission> {
    let mut permissions = BTreeSet::new();
    for need in needs {
        for resource in &need.resources {
            for verb in need.verbs {
                permissions.insert(Permission {
                    group: need.group.clone(),
                    resource: resource.clone(),
                    verb: (*verb).to_owned(),
                    name: need.name.map(str::to_owned),
                });
            }
        }
    }
    permissions
}

/// Everything a ClusterRole's rules grant, one permission each.
fn permissions_of_rules(rules: &Value) -> BTreeSet<Permission> {
    let mut permissions = BTreeSet::new();
    for rule in rules.as_array().expect("rules") {
        assert!(
            rule.get("nonResourceURLs").is_none(),
            "weir asks no non-resource URL: {rule}"
        );
        let verbs = strings(&rule["verbs"]);
        assert!(!verbs.iter().any(|verb| verb == "*"), "a `*` verb: {rule}");
        let names: Vec<Option<String>> = match rule.get("resourceNames") {
            Some(names) => strings(names).into_iter().map(Some).collect(),
            None => vec![None],
        };
        for group in strings(&rule["apiGroups"]) {
            assert_ne!(group, "*", "a `*` API group: {rule}");
            for resource in strings(&rule["resources"]) {
                for verb in &verbs {
                    for name in &names {
                        permissions.insert(Permission {
                            group: group.clone(),
                            resource: resource.clone(),
                            verb: verb.clone(),
                            name: name.clone(),
                        });
                    }
                }
            }
        }
    }
    permissions
}

fn assert_grants_exactly(
    role: &str,
    granted: &BTreeSet<Permission>,
    needed: &BTreeSet<Permission>,
) {
    let missing: Vec<&Permission> = needed.difference(granted).collect();
    let extra: Vec<&Permission> = granted.difference(needed).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "ClusterRole {role} drifted from what the controller does.\nmissing: {missing:#?}\nbeyond the table (least privilege): {extra:#?}"
    );
}

#[test]
fn the_cluster_role_grants_what_the_controller_does_and_nothing_more() {
    let documents = base_documents();
    let role = object(&documents, "ClusterRole", "weir");
    assert_grants_exactly(
        "weir",
        &permissions_of_rules(&role["rules"]),
        &permissions_of_needs(&controller_needs()),
    );
    let copies = object(&documents, "ClusterRole", "weir-secret-copies");
    assert_grants_exactly(
        "weir-secret-copies",
        &permissions_of_rules(&copies["rules"]),
        &permissions_of_needs(&secret_copy_needs()),
    );
    let bindings: Vec<&Value> = documents
        .iter()
        .filter(|document| document["kind"] == "ClusterRoleBinding")
        .collect();
    let bound: BTreeSet<&str> = bindings
        .iter()
        .map(|binding| text(binding, "/roleRef/name"))
        .collect();
    assert_eq!(
        bound,
        BTreeSet::from(["weir", "weir-secret-copies"]),
        "both roles are bound cluster-wide, as Flagger's Canaries need"
    );
    for binding in bindings {
        assert_eq!(
            binding["subjects"],
            json!([{"kind": "ServiceAccount", "name": "weir", "namespace": "default"}])
        );
    }
    // The only wildcard resource: external metrics, named by queries.
    let wildcards: Vec<Permission> = permissions_of_rules(&role["rules"])
        .into_iter()
        .filter(|permission| permission.resource == "*")
        .collect();
    assert!(
        wildcards
            .iter()
            .all(|permission| permission.group == "external.metrics.k8s.io"
                && permission.verb == "list"),
        "{wildcards:?}"
    );
}

// ----------------------------------------------------------------- chart

fn template(name: &str) -> String {
    read(&chart().join("templates").join(name))
}

fn values() -> Value {
    documents(&chart().join("values.yaml")).remove(0)
}

fn has_value(values: &Value, path: &str) -> bool {
    path.split('.')
        .try_fold(values, |node, key| node.as_object()?.get(key))
        .is_some()
}

#[test]
fn the_charts_deployment_passes_only_flags_weir_controller_knows() {
    let known = flag_names();
    let pattern = regex::Regex::new(r"(?m)^\s*-\s+-([a-z][a-z0-9-]*)=").expect("a pattern");
    let deployment = template("deployment.yaml");
    let passed: Vec<&str> = pattern
        .captures_iter(&deployment)
        .filter_map(|captures| captures.get(1))
        .map(|name| name.as_str())
        .collect();
    assert!(passed.len() > 20, "only {passed:?} in the template");
    let mut seen = BTreeSet::new();
    for name in passed {
        assert!(
            known.contains(name),
            "the chart passes -{name}, which weir-controller does not know"
        );
        assert!(seen.insert(name), "the chart may pass -{name} twice");
    }
    for required in [
        "mesh-provider",
        "metrics-server",
        "namespace",
        "enable-leader-election",
    ] {
        assert!(seen.contains(required), "the chart cannot set -{required}");
    }
    assert!(
        deployment.contains("containerPort: 8080") && default_flags().port == 8080,
        "the chart's containerPort is not -port's default"
    );
}

#[test]
fn every_value_the_chart_templates_read_is_in_values_yaml() {
    let values = values();
    let pattern = regex::Regex::new(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)").expect("a pattern");
    let mut read_values = BTreeSet::new();
    for path in files_under(&chart().join("templates")) {
        let text = read(&path);
        for captures in pattern.captures_iter(&text) {
            let key = captures
                .get(1)
                .map_or("", |key| key.as_str())
                .trim_start_matches('.');
            assert!(
                has_value(&values, key),
                "{} reads .Values.{key}, which values.yaml does not define",
                path.display()
            );
            read_values.insert(key.to_owned());
        }
    }
    assert!(read_values.len() > 40, "{read_values:?}");
}

#[test]
fn the_chart_keeps_flaggers_value_names() {
    let values = values();
    // Flagger's charts/flagger/values.yaml names for the settings weir has.
    for key in [
        "image.repository",
        "image.tag",
        "image.pullPolicy",
        "image.pullSecret",
        "logLevel",
        "meshProvider",
        "metricsServer",
        "namespace",
        "selectorLabels",
        "includeLabelPrefix",
        "configTracking.enabled",
        "ingressAnnotationsPrefix",
        "ingressClass",
        "eventWebhook",
        "clusterName",
        "threadiness",
        "kubeconfigQPS",
        "kubeconfigBurst",
        "noCrossNamespaceRefs",
        "slack.user",
        "slack.channel",
        "slack.url",
        "slack.proxy",
        "msteams.url",
        "msteams.proxy",
        "env",
        "leaderElection.enabled",
        "leaderElection.replicaCount",
        "controlplane.kubeconfig.secretName",
        "controlplane.kubeconfig.key",
        "serviceAccount.create",
        "serviceAccount.name",
        "serviceAccount.annotations",
        "rbac.create",
        "linkerdAuthPolicy.create",
        "linkerdAuthPolicy.namespace",
        "prometheus.install",
        "serviceMonitor.enabled",
        "serviceMonitor.honorLabels",
        "podMonitor.enabled",
        "podMonitor.namespace",
        "podMonitor.interval",
        "podMonitor.additionalLabels",
        "podDisruptionBudget.enabled",
        "podDisruptionBudget.minAvailable",
        "podAnnotations",
        "podLabels",
        "podPriorityClassName",
        "securityContext.enabled",
        "securityContext.context",
        "resources",
        "nodeSelector",
        "tolerations",
        "affinity",
        "nameOverride",
        "fullnameOverride",
    ] {
        assert!(has_value(&values, key), "values.yaml has no {key}");
    }
}

#[test]
fn the_chart_links_the_generated_crds_and_the_base_rbac() {
    // Links, so neither can go stale; Helm follows them when it loads or
    // packages the chart.
    for (link, target) in [
        ("crds/crd.yaml", deploy().join("crds/crd.yaml")),
        ("files/rbac.yaml", kustomize_dir().join("base/rbac.yaml")),
    ] {
        let path = chart().join(link);
        let resolved = path
            .canonicalize()
            .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert_eq!(
            resolved,
            target.canonicalize().expect("the link's target"),
            "deploy/chart/weir/{link}"
        );
    }
    let rbac = template("rbac.yaml");
    for role in ["\"weir\"", "\"weir-secret-copies\""] {
        assert!(
            rbac.contains(&format!(
                "\"weir.baseRules\" (dict \"context\" . \"name\" {role})"
            )),
            "the chart's rbac.yaml does not take the rules of {role} from the base"
        );
    }
}

// ------------------------------------------------------- Helm rendering

/// What Helm made of the chart and some values.
#[derive(Debug)]
enum Rendering {
    /// The objects of every rendered manifest.
    Objects(Vec<Value>),
    /// The chart refused the values (a `fail`), with Helm's message.
    Refused(String),
}

/// Renders the chart as the release `weir` in `namespace` with Helm's
/// engine (PyPI's helm-python-sdk binds Helm's Go SDK); `Err` says why Helm
/// is unavailable.
fn helm_render(values: &Value, namespace: &str) -> Result<Rendering, String> {
    const SCRIPT: &str = r#"
import json, sys
from helm_python.chart import Chart
request = json.load(sys.stdin)
with Chart.load(request["chart"]) as chart:
    rendered = chart.render(values=request["values"], name="weir", namespace=request["namespace"], is_install=True)
print(json.dumps(rendered))
"#;
    let probe = Command::new("python3")
        .args(["-c", "import helm_python.chart"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|status| status.success()) {
        return Err("python3 cannot import helm_python (pip install helm-python-sdk)".to_owned());
    }
    let mut child = Command::new("python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("python3: {error}"))?;
    let request = json!({"chart": chart(), "values": values, "namespace": namespace});
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().expect("a pipe");
        stdin
            .write_all(request.to_string().as_bytes())
            .expect("the request is written");
    }
    let output = child.wait_with_output().expect("python3 finishes");
    if !output.status.success() {
        return Ok(Rendering::Refused(
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ));
    }
    let rendered: BTreeMap<String, String> =
        serde_json::from_slice(&output.stdout).expect("the script prints JSON");
    Ok(Rendering::Objects(
        rendered
            .iter()
            .filter(|(template, _)| template.ends_with(".yaml"))
            .flat_map(|(template, text)| parse_documents(text, template))
            .collect(),
    ))
}

fn skip_helm(reason: &str) {
    if std::env::var("WEIR_HELM_REQUIRED").is_ok_and(|value| value == "1") {
        panic!("Helm unavailable: {reason} (WEIR_HELM_REQUIRED=1: this test must run)");
    }
    eprintln!("skipping: Helm unavailable: {reason}");
}

#[test]
fn the_chart_renders_with_helm_into_what_the_controller_accepts() {
    let everything = json!({
        "meshProvider": "linkerd", "namespace": "apps", "selectorLabels": "app",
        "includeLabelPrefix": "app.kubernetes.io", "configTracking": {"enabled": false},
        "ingressAnnotationsPrefix": "custom.ingress.kubernetes.io", "ingressClass": "contour",
        "eventWebhook": "https://events.example", "clusterName": "prod", "threadiness": 4,
        "kubeconfigQPS": 50, "kubeconfigBurst": 100, "noCrossNamespaceRefs": true,
        "slack": {"url": "https://slack.example", "channel": "alerts", "proxy": "http://proxy:3128", "user": "weir"},
        "msteams": {"url": "https://teams.example", "proxy": "http://proxy:3128"},
        "leaderElection": {"enabled": true, "replicaCount": 2},
        "controlplane": {"kubeconfig": {"secretName": "mesh", "key": "kubeconfig"}},
        "rbac": {"secretCopies": {"clusterWide": false, "namespaces": ["team-a", "apps"]}},
        "linkerdAuthPolicy": {"create": true}, "serviceMonitor": {"enabled": true},
        "podMonitor": {"enabled": true}, "podDisruptionBudget": {"enabled": true},
        "env": [{"name": "SLACK_URL", "value": "https://slack.example"}],
        "image": {"tag": "dev", "pullSecret": "registry"},
    });
    let base_rules = object(&base_documents(), "ClusterRole", "weir")["rules"].clone();
    let base_copy_rules =
        object(&base_documents(), "ClusterRole", "weir-secret-copies")["rules"].clone();
    for (values, namespace) in [(json!({}), "flagger-system"), (everything, "weir")] {
        let objects = match helm_render(&values, namespace) {
            Ok(Rendering::Objects(objects)) => objects,
            Ok(Rendering::Refused(error)) => {
                panic!("the chart does not render with {values}: {error}")
            }
            Err(reason) => return skip_helm(&reason),
        };
        let deployment = object(&objects, "Deployment", "weir");
        let args = strings(&container(deployment)["args"]);
        let flags = checked_flags(&args, &format!("the chart with {values}"));
        let pod = &deployment["spec"]["template"]["spec"];
        assert_eq!(pod["serviceAccountName"], "weir");
        assert_eq!(
            container(deployment)["ports"][0]["containerPort"],
            i64::from(default_flags().port)
        );
        assert_eq!(
            object(&objects, "ServiceAccount", "weir")["metadata"]["namespace"],
            namespace
        );
        assert_eq!(object(&objects, "ClusterRole", "weir")["rules"], base_rules);
        assert_eq!(
            object(&objects, "ClusterRole", "weir-secret-copies")["rules"],
            base_copy_rules
        );
        assert_eq!(
            object(&objects, "ClusterRoleBinding", "weir")["subjects"],
            json!([{"kind": "ServiceAccount", "name": "weir", "namespace": namespace}])
        );
        let secret_namespaces: BTreeSet<&str> = objects
            .iter()
            .filter(|object| object["kind"] == "RoleBinding")
            .map(|binding| text(binding, "/metadata/namespace"))
            .collect();
        if values["namespace"] == "apps" {
            assert_eq!(flags.watched_namespace(), Some("apps"));
            assert!(flags.enable_leader_election && !flags.enable_config_tracking);
            assert_eq!(
                flags.kubeconfig_service_mesh,
                "/var/run/weir/controlplane/kubeconfig"
            );
            assert_eq!(secret_namespaces, BTreeSet::from(["apps", "team-a"]));
            assert_eq!(
                text(container(deployment), "/image"),
                "ghcr.io/weir-dev/weir-controller:dev"
            );
            for kind in [
                "Service",
                "ServiceMonitor",
                "PodMonitor",
                "PodDisruptionBudget",
                "AuthorizationPolicy",
            ] {
                assert!(
                    objects.iter().any(|object| object["kind"] == kind),
                    "no {kind}"
                );
            }
            assert!(
                !objects
                    .iter()
                    .any(|object| object["kind"] == "ClusterRoleBinding"
                        && object["roleRef"]["name"] == "weir-secret-copies"),
                "clusterWide: false binds the Secret copies per namespace only"
            );
        } else {
            assert!(secret_namespaces.is_empty(), "{secret_namespaces:?}");
            assert_eq!(
                object(&objects, "ClusterRoleBinding", "weir-secret-copies")["subjects"],
                json!([{"kind": "ServiceAccount", "name": "weir", "namespace": namespace}]),
                "Secret copies are bound cluster-wide by default, as Flagger's Canaries need"
            );
            assert_eq!(flags.mesh_provider, default_flags().mesh_provider);
            assert_eq!(
                text(container(deployment), "/image"),
                format!(
                    "ghcr.io/weir-dev/weir-controller:{}",
                    env!("CARGO_PKG_VERSION")
                )
            );
        }
    }
    match helm_render(&json!({"prometheus": {"install": true}}), "weir") {
        Ok(Rendering::Refused(error)) => {
            assert!(error.contains("does not install a Prometheus"), "{error}")
        }
        Ok(Rendering::Objects(_)) => panic!("prometheus.install=true rendered without a word"),
        Err(reason) => skip_helm(&reason),
    }
}

// ------------------------------------------- a real API server's verdict

/// Where the base is applied in the real API server.
const CONTROLLER_NAMESPACE: &str = "weir-system";
/// An application namespace where the Secret copies are allowed.
const COPIES_NAMESPACE: &str = "apps";
/// An application namespace without that RoleBinding.
const OTHER_NAMESPACE: &str = "team-a";

fn resource_of(value: &Value) -> Result<(ApiResource, bool), String> {
    let version: GroupVersion = text(value, "/apiVersion")
        .parse()
        .map_err(|error| format!("{error}"))?;
    let kind = text(value, "/kind");
    let cluster_scoped = matches!(kind, "ClusterRole" | "ClusterRoleBinding" | "Namespace");
    Ok((
        ApiResource::from_gvk(&version.with_kind(kind)),
        cluster_scoped,
    ))
}

async fn create(client: &kube::Client, value: &Value, dry_run: bool) -> Result<(), String> {
    let (resource, cluster_scoped) = resource_of(value)?;
    let api: Api<DynamicObject> = if cluster_scoped {
        Api::all_with(client.clone(), &resource)
    } else {
        Api::namespaced_with(client.clone(), CONTROLLER_NAMESPACE, &resource)
    };
    let object: DynamicObject =
        serde_json::from_value(value.clone()).map_err(|error| error.to_string())?;
    let parameters = PostParams {
        dry_run,
        ..PostParams::default()
    };
    api.create(&parameters, &object)
        .await
        .map(drop)
        .map_err(|error| {
            format!(
                "{} {}: {error}",
                text(value, "/kind"),
                text(value, "/metadata/name")
            )
        })
}

/// One question for the authorizer.
#[derive(Clone, Debug)]
struct Question {
    group: String,
    resource: String,
    verb: String,
    namespace: Option<String>,
    name: Option<String>,
}

impl Question {
    fn new(group: &str, resource: &str, verb: &str, namespace: Option<&str>) -> Question {
        Question {
            group: group.to_owned(),
            resource: resource.to_owned(),
            verb: verb.to_owned(),
            namespace: namespace.map(str::to_owned),
            name: None,
        }
    }

    fn named(self, name: &str) -> Question {
        Question {
            name: Some(name.to_owned()),
            ..self
        }
    }
}

async fn allowed(client: &kube::Client, question: &Question) -> bool {
    let (resource, subresource) = match question.resource.split_once('/') {
        Some((resource, subresource)) => (resource.to_owned(), Some(subresource.to_owned())),
        None => (question.resource.clone(), None),
    };
    let review = SubjectAccessReview {
        spec: SubjectAccessReviewSpec {
            user: Some(format!("system:serviceaccount:{CONTROLLER_NAMESPACE}:weir")),
            groups: Some(vec![
                "system:serviceaccounts".to_owned(),
                format!("system:serviceaccounts:{CONTROLLER_NAMESPACE}"),
                "system:authenticated".to_owned(),
            ]),
            resource_attributes: Some(ResourceAttributes {
                group: Some(question.group.clone()),
                resource: Some(resource),
                subresource,
                verb: Some(question.verb.clone()),
                namespace: question.namespace.clone(),
                name: question.name.clone(),
                ..ResourceAttributes::default()
            }),
            ..SubjectAccessReviewSpec::default()
        },
        ..SubjectAccessReview::default()
    };
    let api: Api<SubjectAccessReview> = Api::all(client.clone());
    api.create(&PostParams::default(), &review)
        .await
        .unwrap_or_else(|error| panic!("SubjectAccessReview {question:?}: {error}"))
        .status
        .is_some_and(|status| status.allowed)
}

/// The base's objects, placed as an overlay would place them.
fn base_objects_in_controller_namespace() -> Vec<Value> {
    base_documents()
        .into_iter()
        .filter(|object| object["kind"] != "CustomResourceDefinition")
        .map(|mut object| {
            if object["kind"] == "ClusterRoleBinding" {
                object["subjects"][0]["namespace"] = json!(CONTROLLER_NAMESPACE);
            } else if !resource_of(&object).is_ok_and(|(_, cluster_scoped)| cluster_scoped) {
                object["metadata"]["namespace"] = json!(CONTROLLER_NAMESPACE);
            }
            object
        })
        .collect()
}

#[test]
fn a_real_api_server_accepts_the_base_and_lets_weir_do_what_the_table_says_and_no_more() {
    let server = match ApiServer::start(Mode::Full, "deploy-rbac") {
        Ok(server) => server,
        Err(reason) => return skip(&reason),
    };
    let outcome: Result<(), String> = block_on(async {
        let client = server.client().await;
        let namespaces: Api<Namespace> = Api::all(client.clone());
        for name in [CONTROLLER_NAMESPACE, COPIES_NAMESPACE, OTHER_NAMESPACE] {
            let namespace: Namespace = serde_json::from_value(json!({"metadata": {"name": name}}))
                .map_err(|error| error.to_string())?;
            namespaces
                .create(&PostParams::default(), &namespace)
                .await
                .map_err(|error| format!("namespace {name}: {error}"))?;
        }
        let objects = base_objects_in_controller_namespace();
        // The whole base, Deployment included, through the server's
        // validation without storing anything...
        for object in &objects {
            create(&client, object, true).await?;
        }
        // ...then the service account and its RBAC for real, in the
        // narrowed install deploy/README.md describes: the Secret copies
        // bound in one namespace instead of cluster-wide.
        let cluster_wide_copies = |object: &Value| {
            object["kind"] == "ClusterRoleBinding"
                && object["metadata"]["name"] == "weir-secret-copies"
        };
        for object in objects
            .iter()
            .filter(|object| object["kind"] != "Deployment" && !cluster_wide_copies(object))
        {
            create(&client, object, false).await?;
        }
        let copies_binding = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "weir-secret-copies", "namespace": COPIES_NAMESPACE},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "weir-secret-copies"},
            "subjects": [{"kind": "ServiceAccount", "name": "weir", "namespace": CONTROLLER_NAMESPACE}],
        });
        let (resource, _) = resource_of(&copies_binding)?;
        Api::<DynamicObject>::namespaced_with(client.clone(), COPIES_NAMESPACE, &resource)
            .create(
                &PostParams::default(),
                &serde_json::from_value(copies_binding).map_err(|error| error.to_string())?,
            )
            .await
            .map_err(|error| format!("RoleBinding: {error}"))?;

        // The authorizer learns of new bindings through its informers.
        let first = Question::new("flagger.app", "canaries", "list", None);
        for _ in 0..100 {
            if allowed(&client, &first).await {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        let mut wrong = Vec::new();
        for need in controller_needs() {
            let namespace = (!need.cluster_scoped).then_some(OTHER_NAMESPACE);
            for resource in &need.resources {
                // A wildcard rule answers for any metric name.
                let resource = if resource == "*" {
                    "http_requests"
                } else {
                    resource
                };
                for verb in need.verbs {
                    let mut question = Question::new(&need.group, resource, verb, namespace);
                    if let Some(name) = need.name {
                        question = question.named(name);
                    }
                    if !allowed(&client, &question).await {
                        wrong.push(format!("denied, but the controller needs it: {question:?}"));
                    }
                }
            }
        }
        let mut must_be_denied = vec![
            Question::new("", "secrets", "list", None),
            Question::new("", "secrets", "watch", Some(OTHER_NAMESPACE)),
            Question::new("", "pods", "get", Some(OTHER_NAMESPACE)),
            Question::new("apps", "deployments", "delete", Some(OTHER_NAMESPACE)),
            Question::new("flagger.app", "canaries", "delete", Some(OTHER_NAMESPACE)),
            Question::new(
                "flagger.app",
                "metrictemplates",
                "update",
                Some(OTHER_NAMESPACE),
            ),
            Question::new(
                "coordination.k8s.io",
                "leases",
                "update",
                Some("kube-system"),
            )
            .named("kube-controller-manager"),
            Question::new("coordination.k8s.io", "leases", "get", Some("kube-system"))
                .named("kube-scheduler"),
            Question::new("rbac.authorization.k8s.io", "clusterroles", "update", None),
        ];
        for verb in ["create", "update", "patch", "delete"] {
            must_be_denied.push(Question::new("", "secrets", verb, None));
            must_be_denied.push(Question::new("", "secrets", verb, Some(OTHER_NAMESPACE)));
        }
        for question in must_be_denied {
            if allowed(&client, &question).await {
                wrong.push(format!(
                    "allowed, beyond what the controller needs: {question:?}"
                ));
            }
        }
        for verb in ["create", "update"] {
            let question = Question::new("", "secrets", verb, Some(COPIES_NAMESPACE));
            if !allowed(&client, &question).await {
                wrong.push(format!(
                    "denied where weir-secret-copies is bound: {question:?}"
                ));
            }
        }
        let copy_patch = Question::new("", "secrets", "patch", Some(COPIES_NAMESPACE));
        if allowed(&client, &copy_patch).await {
            wrong.push(format!("allowed, beyond the Secret copies: {copy_patch:?}"));
        }
        if wrong.is_empty() {
            Ok(())
        } else {
            Err(wrong.join("\n"))
        }
    });
    if let Err(error) = outcome {
        panic!(
            "{} {}: {error}",
            server.version(),
            server.kubeconfig().display()
        );
    }
}
