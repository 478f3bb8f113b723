//! Golden files: the objects weir derives from Flagger's own test workloads
//! (`test/workloads` and `kustomize/podinfo` in Flagger's repository).
//!
//! Every file under `tests/golden` was checked by hand, field by field,
//! against `flagger-semantics.md` §3 and §12 and Flagger's
//! `pkg/canary` and `pkg/router/kubernetes_default.go`; where weir differs
//! on purpose the file's comment says so. After an intended change,
//! regenerate them and review the diff:
//!
//! ```sh
//! WEIR_UPDATE_GOLDEN=1 cargo test -p weir-workloads --test golden
//! ```

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::core::v1::{ConfigMap, ConfigMapEnvSource, EnvFromSource, PodSpec, Secret};
use serde_json::{Value, json};
use weir_workloads::autoscalers::{primary_hpa, primary_scaled_object};
use weir_workloads::daemon_set::{
    SCALE_TO_ZERO_KEY, SCALE_TO_ZERO_VALUE, primary_daemon_set, promote_daemon_set,
    scale_from_zero_patch, scale_to_zero_patch,
};
use weir_workloads::deployment::{primary_deployment, promote_deployment};
use weir_workloads::revision::{daemon_set_revision, deployment_revision};
use weir_workloads::services::{ServiceRole, service};
use weir_workloads::{ConfigObject, FoundConfigs, Options, TrackedConfigs, config_references};

mod common;

use common::{canary, check, flagger_object, object, render, yaml};

/// The `flagger-id` the caller would generate (a UUID v4).
const FLAGGER_ID: &str = "5f0e1c2a-9b8d-4c7e-a6f5-3d2c1b0a9e8f";
/// The id of the next write.
const NEXT_FLAGGER_ID: &str = "0d9c8b7a-6f5e-4d3c-b2a1-908f7e6d5c4b";

/// The kubernetes-provider Canary of Flagger's e2e tests, for `podinfo`.
const DEPLOYMENT_CANARY: &str = "  provider: kubernetes
  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: podinfo
  progressDeadlineSeconds: 60
  service:
    port: 80
    targetPort: 9898
    portDiscovery: true
  analysis:
    interval: 10s
    threshold: 5
    iterations: 5
";

/// The e2e flags: default selector labels, `app.kubernetes.io` copied.
fn options() -> Options {
    Options::from_flags("app,name,app.kubernetes.io/name", "app.kubernetes.io", true)
        .expect("valid flags")
}

/// Flagger's podinfo test Deployment, as stored in namespace `test`.
fn podinfo() -> Deployment {
    let mut deployment: Deployment = flagger_object("test/workloads/deployment.yaml");
    deployment.metadata.namespace = Some("test".into());
    deployment
}

/// Flagger's podinfo Secret as the API server stores it: `stringData`
/// folded into `data`, type Opaque.
fn podinfo_secret() -> Secret {
    let mut secret: Secret = flagger_object("test/workloads/secret.yaml");
    secret.metadata.namespace = Some("test".into());
    let data: BTreeMap<String, ByteString> = secret
        .string_data
        .take()
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| (key, ByteString(value.into_bytes())))
        .collect();
    secret.data = Some(data);
    secret.type_ = Some("Opaque".into());
    secret
}

fn pairs(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries
        .iter()
        .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
        .collect()
}

fn pod_spec(deployment: &Deployment) -> PodSpec {
    deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.template.spec.clone())
        .expect("a pod spec")
}

fn track(spec: &PodSpec, found: &FoundConfigs) -> TrackedConfigs {
    TrackedConfigs::track(&config_references(spec), found, "test").expect("configs exist")
}

/// The status fields the revision fills.
fn status(spec_hash: &str, tracked_configs: Option<&BTreeMap<String, String>>) -> Value {
    json!({ "status": { "lastAppliedSpec": spec_hash, "trackedConfigs": tracked_configs } })
}

fn objects(copies: &[ConfigObject]) -> Vec<&dyn common::Yaml> {
    copies
        .iter()
        .map(|copy| match copy {
            ConfigObject::ConfigMap(config_map) => yaml(config_map),
            ConfigObject::Secret(secret) => yaml(secret),
        })
        .collect()
}

#[test]
fn primary_deployment_of_flaggers_test_workload() {
    let canary = canary(DEPLOYMENT_CANARY);
    let options = options();
    let target = podinfo();
    let mut found = FoundConfigs::default();
    found.add_secret(podinfo_secret());
    let tracked = track(&pod_spec(&target), &found);
    let copies = tracked
        .primary_copies(&canary, &options, &FoundConfigs::default())
        .expect("copies");
    let primary =
        primary_deployment(&canary, &target, &tracked, &options, FLAGGER_ID).expect("primary");
    let revision = deployment_revision(&target, Some(&tracked)).expect("revision");
    let status = status(&revision.spec_hash, revision.tracked_configs.as_ref());
    let mut rendered = vec![yaml(&status)];
    rendered.extend(objects(&copies));
    rendered.push(yaml(&primary));
    check(
        "primary-deployment",
        &render(
            "Initialization of Flagger's test/workloads podinfo Deployment and Secret with\n\
             -include-label-prefix=app.kubernetes.io: the revision recorded in status (weir's\n\
             w1- hash; the Secret checksum is Flagger's), the Secret's primary copy, and the\n\
             primary Deployment. Differs from Flagger: the target annotation is copied by\n\
             include prefix (Flagger copies every annotation on create).",
            &rendered,
        ),
    );
}

#[test]
fn promotion_of_a_new_podinfo_revision() {
    let canary = canary(DEPLOYMENT_CANARY);
    let options = options();
    let initial = podinfo();
    let mut found = FoundConfigs::default();
    found.add_secret(podinfo_secret());
    let mut primary = primary_deployment(
        &canary,
        &initial,
        &track(&pod_spec(&initial), &found),
        &options,
        FLAGGER_ID,
    )
    .expect("primary");
    // As stored by the API server.
    primary.metadata.uid = Some("0a1b2c3d-0000-4000-8000-00000000beef".into());
    primary.metadata.resource_version = Some("4711".into());
    primary.metadata.generation = Some(1);

    // The new revision: image 6.0.1, a ConfigMap, new metadata, 3 replicas.
    let mut target = initial.clone();
    target.metadata.labels = Some(pairs(&[
        ("app.kubernetes.io/name", "podinfo"),
        ("app.kubernetes.io/version", "6.0.1"),
        ("team", "web"),
    ]));
    target.metadata.annotations = Some(pairs(&[
        ("app.kubernetes.io/instance", "test-annotation-prefix"),
        ("kubectl.kubernetes.io/last-applied-configuration", "{}"),
    ]));
    let spec = target.spec.as_mut().expect("a spec");
    spec.replicas = Some(3);
    spec.template
        .metadata
        .get_or_insert_with(Default::default)
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(
            "kustomize.toolkit.fluxcd.io/checksum".into(),
            "abc123".into(),
        );
    let container = spec
        .template
        .spec
        .as_mut()
        .and_then(|pod| pod.containers.first_mut())
        .expect("a container");
    container.image = Some("ghcr.io/stefanprodan/podinfo:6.0.1".into());
    container.env_from = Some(vec![EnvFromSource {
        config_map_ref: Some(ConfigMapEnvSource {
            name: "podinfo-config".into(),
            optional: None,
        }),
        ..EnvFromSource::default()
    }]);
    let config_map: ConfigMap = object(
        "
metadata:
  name: podinfo-config
  namespace: test
  labels:
    app.kubernetes.io/part-of: podinfo
    team: web
data:
  PODINFO_UI_COLOR: '#34577c'
",
    );
    found.add_config_map(config_map);
    let tracked = track(&pod_spec(&target), &found);
    let mut existing_copies = FoundConfigs::default();
    for copy in tracked
        .primary_copies(&canary, &options, &FoundConfigs::default())
        .expect("copies")
    {
        if let ConfigObject::Secret(mut secret) = copy {
            secret.metadata.resource_version = Some("4712".into());
            existing_copies.add_secret(secret);
        }
    }
    let copies = tracked
        .primary_copies(&canary, &options, &existing_copies)
        .expect("copies");
    let promoted = promote_deployment(
        &canary,
        &target,
        &primary,
        &tracked,
        &options,
        NEXT_FLAGGER_ID,
    )
    .expect("promoted");
    let revision = deployment_revision(&target, Some(&tracked)).expect("revision");
    let status = status(&revision.spec_hash, revision.tracked_configs.as_ref());
    let mut rendered = vec![yaml(&status)];
    rendered.extend(objects(&copies));
    rendered.push(yaml(&promoted));
    check(
        "promotion",
        &render(
            "Promotion of podinfo 6.0.1 (3 replicas, a new ConfigMap, new labels) into the\n\
             primary of primary-deployment.yaml as the API server stored it: the new revision,\n\
             the primary copies (the existing Secret copy's resourceVersion carried over), and\n\
             the primary with the target's rollout settings, replicas (no autoscalerRef), pod\n\
             template (Flux's template annotation dropped, new flagger-id) and include-prefix\n\
             metadata; its selector, uid and resourceVersion stay.",
            &rendered,
        ),
    );
}

const DAEMON_SET_CANARY: &str = "  provider: kubernetes
  targetRef:
    apiVersion: apps/v1
    kind: DaemonSet
    name: podinfo-ds
  service:
    port: 9898
  analysis:
    interval: 15s
    threshold: 10
    iterations: 5
";

#[test]
fn daemon_set_scaling_primary_and_promotion() {
    let canary = canary(DAEMON_SET_CANARY);
    let options = options();
    let mut target: DaemonSet = flagger_object("test/workloads/daemonset.yaml");
    target.metadata.namespace = Some("test".into());
    let unscaled_revision =
        daemon_set_revision(&target, Some(&TrackedConfigs::none())).expect("revision");

    let scale_down = scale_to_zero_patch(&target).expect("not scaled yet");
    if let Some(pod) = target
        .spec
        .as_mut()
        .and_then(|spec| spec.template.spec.as_mut())
    {
        pod.node_selector = Some(BTreeMap::from([(
            SCALE_TO_ZERO_KEY.to_owned(),
            SCALE_TO_ZERO_VALUE.to_owned(),
        )]));
    }
    let scaled_revision =
        daemon_set_revision(&target, Some(&TrackedConfigs::none())).expect("revision");
    assert_eq!(
        scaled_revision, unscaled_revision,
        "scaling to zero is not a new revision"
    );

    let tracked = track(
        target
            .spec
            .as_ref()
            .and_then(|spec| spec.template.spec.as_ref())
            .expect("pod spec"),
        &FoundConfigs::default(),
    );
    let primary =
        primary_daemon_set(&canary, &target, &tracked, &options, FLAGGER_ID).expect("primary");
    if let Some(container) = target
        .spec
        .as_mut()
        .and_then(|spec| spec.template.spec.as_mut())
        .and_then(|pod| pod.containers.first_mut())
    {
        container.image = Some("ghcr.io/stefanprodan/podinfo:6.0.1".into());
    }
    let promoted = promote_daemon_set(&target, &primary, &tracked, &options, NEXT_FLAGGER_ID)
        .expect("promoted");
    let scale_up = scale_from_zero_patch(&target).expect("scaled to zero");
    check(
        "daemonset",
        &render(
            "Flagger's test/workloads podinfo-ds DaemonSet: the revision (the same before and\n\
             after scaling to zero), the merge patch that scales it to zero, the primary created\n\
             while the target is scaled to zero (the scale-to-zero node selector never reaches\n\
             it; Flagger strips it only on promotion), the primary after promoting image 6.0.1,\n\
             and the merge patch that scales the target back up (the key was the only node\n\
             selector, so the whole selector goes).",
            &[
                yaml(&status(
                    &unscaled_revision.spec_hash,
                    unscaled_revision.tracked_configs.as_ref(),
                )),
                yaml(&scale_down),
                yaml(&primary),
                yaml(&promoted),
                yaml(&scale_up),
            ],
        ),
    );
}

#[test]
fn apex_primary_and_canary_services() {
    let canary = canary(
        "  provider: kubernetes
  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: podinfo
  service:
    port: 80
    targetPort: 9898
    portDiscovery: true
    trafficDistribution: PreferClose
    apex:
      labels:
        test: label
      annotations:
        test: annotation
    primary:
      labels:
        test: label-primary
      annotations:
        test: annotation-primary
    canary:
      labels:
        test: label-canary
      annotations:
        test: annotation-canary
  analysis:
    interval: 10s
    threshold: 5
    iterations: 5
",
    );
    let target = podinfo();
    let selector = weir_workloads::deployment::selector_label(&target, &options())
        .expect("app is a selector label");
    let pod = pod_spec(&target);
    let [apex, primary, canary_service] =
        [ServiceRole::Apex, ServiceRole::Primary, ServiceRole::Canary]
            .map(|role| service(&canary, role, &selector, &pod).expect("service"));
    check(
        "services",
        &render(
            "The apex, primary and canary Services of podinfo (port 80 → 9898, port discovery,\n\
             custom metadata per Service): the main port first, then the discovered\n\
             http-metrics and grpc ports; Flux's annotations on all three.",
            &[yaml(&apex), yaml(&primary), yaml(&canary_service)],
        ),
    );
}

#[test]
fn primary_hpa_of_the_podinfo_kustomization() {
    let canary = canary(
        "  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: podinfo
  autoscalerRef:
    apiVersion: autoscaling/v2
    kind: HorizontalPodAutoscaler
    name: podinfo
    primaryScalerReplicas:
      maxReplicas: 6
  service:
    port: 9898
",
    );
    let mut target: HorizontalPodAutoscaler = flagger_object("kustomize/podinfo/hpa.yaml");
    target.metadata.namespace = Some("test".into());
    target.metadata.labels = Some(BTreeMap::from([
        ("app".into(), "podinfo".into()),
        ("kustomize.toolkit.fluxcd.io/name".into(), "apps".into()),
    ]));
    let primary = primary_hpa(&canary, &target, &options()).expect("primary HPA");
    check(
        "primary-hpa",
        &render(
            "The primary HPA for Flagger's kustomize/podinfo HPA (min 2, max 4) with\n\
             primaryScalerReplicas.maxReplicas 6: it scales podinfo-primary, keeps the\n\
             metrics and minReplicas, and drops Flux's label.",
            &[yaml(&primary)],
        ),
    );
}

#[test]
fn primary_keda_scaled_object() {
    let canary = canary(
        "  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: podinfo
  autoscalerRef:
    apiVersion: keda.sh/v1alpha1
    kind: ScaledObject
    name: podinfo-so
    primaryScalerQueries:
      cpu-load: sum(rate(container_cpu_usage_seconds_total{pod=~\"podinfo-primary-.*\"}[1m]))
  service:
    port: 9898
",
    );
    let target: Value = object(
        "
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: podinfo-so
  namespace: test
  annotations:
    autoscaling.keda.sh/paused-replicas: \"0\"
spec:
  scaleTargetRef:
    name: podinfo
  pollingInterval: 10
  cooldownPeriod: 20
  minReplicaCount: 1
  maxReplicaCount: 3
  triggers:
  - type: prometheus
    name: requests
    metadata:
      serverAddress: http://flagger-prometheus.flagger-system:9090
      metricName: http_requests_total
      query: sum(rate(http_requests_total{ app=\"podinfo-canary\" }[30s]))
      threshold: '5'
  - type: prometheus
    name: cpu-load
    metadata:
      serverAddress: http://flagger-prometheus.flagger-system:9090
      query: sum(rate(container_cpu_usage_seconds_total{pod=~\"podinfo-.*\"}[1m]))
      threshold: '1'
",
    );
    let primary = primary_scaled_object(&canary, &target, &options()).expect("primary");
    check(
        "primary-scaled-object",
        &render(
            "The primary ScaledObject for a KEDA ScaledObject paused by the canary run: it\n\
             scales podinfo-primary, the `requests` query has podinfo-canary rewritten to\n\
             podinfo-primary, the `cpu-load` query comes from primaryScalerQueries, and the\n\
             pause annotation is not copied.",
            &[yaml(&primary)],
        ),
    );
}
