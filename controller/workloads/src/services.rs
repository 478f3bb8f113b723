//! The apex, primary and canary Services (semantics §3, Flagger's
//! `KubernetesDefaultRouter`).
//!
//! ```text
//!   <apex>          selector {app: podinfo-primary}   what clients call; routers split it
//!   <apex>-primary  selector {app: podinfo-primary}   the primary's pods
//!   <apex>-canary   selector {app: podinfo}           the target's pods
//!
//!   ports: [{name: portName|http, TCP, port, targetPort: targetPort|port, appProtocol?},
//!           + with portDiscovery, every named container port (sidecars and the main port excluded)]
//!   labels: spec.service.<role>.labels + {<selector label>: <service name>}
//!   annotations: spec.service.<role>.annotations + Flux's reconcile/driftDetection: disabled
//! ```
//!
//! An existing Service is updated, not replaced: ports (keeping NodePorts by
//! port name) and selector when they differ, and its labels and annotations
//! only when the Canary created it (its controller owner is this Canary);
//! keys listed in `spec.service.unmanagedMetadata` keep their live values.
//! An apex Service the user created is thereby taken over: its selector
//! moves to the primary's pods and its metadata stays the user's. With
//! `revertOnDeletion`, [`revert_apex_service`] gives it back.
//!
//! Where weir differs from Flagger, on purpose:
//!
//! * **Discovered ports never clash with the main port.** Flagger adds a
//!   container port that has the main port's name or number a second time
//!   and the API server rejects the Service; weir leaves it out.
//! * **Ports are ordered**: the main port first, then discovered ports by
//!   number and name (Flagger's come in Go map order, so Services written by
//!   two Flagger runs differ).
//! * **`trafficDistribution` follows the Canary** on existing Services (on
//!   Services the Canary owns, also when it is removed); Flagger sets it
//!   only when it creates a Service.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PodSpec, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use weir_api::Canary;
use weir_api::service::{CustomMetadata, TrafficDistribution};

use crate::error::WorkloadError;
use crate::metadata::{
    FLUX_DISABLED, HELM_DRIFT_DETECTION, KUBECTL_LAST_APPLIED, KUSTOMIZE_RECONCILE,
    canary_controller, canary_owner_reference, name_of,
};
use crate::options::SelectorLabel;

/// The main port's name when `spec.service.portName` is unset.
pub const DEFAULT_PORT_NAME: &str = "http";
/// Mesh sidecars whose ports are never discovered.
pub const SIDECAR_CONTAINERS: [&str; 2] = ["istio-proxy", "envoy"];
/// Every generated Service is a ClusterIP Service.
pub const CLUSTER_IP: &str = "ClusterIP";
/// `clusterIP` of a headless Service.
pub const HEADLESS_CLUSTER_IP: &str = "None";
/// Generated ports are TCP.
const TCP: &str = "TCP";

/// Which of the three Services.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ServiceRole {
    /// `<apex>`, selecting the primary's pods.
    Apex,
    /// `<apex>-primary`.
    Primary,
    /// `<apex>-canary`, selecting the target's pods.
    Canary,
}

impl ServiceRole {
    /// The Service's name for `canary`.
    pub fn name(self, canary: &Canary) -> String {
        let names = canary.spec.service_names();
        match self {
            ServiceRole::Apex => names.apex,
            ServiceRole::Primary => names.primary,
            ServiceRole::Canary => names.canary,
        }
    }

    fn metadata(self, canary: &Canary) -> Option<&CustomMetadata> {
        let service = &canary.spec.service;
        match self {
            ServiceRole::Apex => service.apex.as_ref(),
            ServiceRole::Primary => service.primary.as_ref(),
            ServiceRole::Canary => service.canary.as_ref(),
        }
    }

    /// The selector label value of the pods this Service selects.
    fn selector_value(self, selector: &SelectorLabel) -> String {
        match self {
            ServiceRole::Canary => selector.value.clone(),
            ServiceRole::Apex | ServiceRole::Primary => selector.primary_value(),
        }
    }
}

/// The main port: `spec.service.port` named `portName` (default `http`)
/// forwarding to `targetPort` (default: the port).
pub fn main_port(canary: &Canary) -> ServicePort {
    let service = &canary.spec.service;
    ServicePort {
        name: Some(
            service
                .port_name
                .clone()
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| DEFAULT_PORT_NAME.to_owned()),
        ),
        protocol: Some(TCP.to_owned()),
        port: service.port,
        target_port: Some(
            explicit_target_port(canary)
                .cloned()
                .unwrap_or(IntOrString::Int(service.port)),
        ),
        app_protocol: service
            .app_protocol
            .clone()
            .filter(|protocol| !protocol.is_empty()),
        node_port: None,
    }
}

/// `targetPort` unless unset (Go's zero value, `0`, counts as unset).
fn explicit_target_port(canary: &Canary) -> Option<&IntOrString> {
    canary
        .spec
        .service
        .target_port
        .as_ref()
        .filter(|port| !matches!(port, IntOrString::Int(0)))
}

/// With `portDiscovery`, the target's container ports as extra Service
/// ports (Flagger's `getPorts`): every container but the mesh sidecars,
/// unnamed ports as `tcp-<container>-<index>`, without the port the main
/// port forwards to. Empty without `portDiscovery`.
pub fn discovered_ports(canary: &Canary, target_pod_spec: &PodSpec) -> Vec<ServicePort> {
    let service = &canary.spec.service;
    if !service.port_discovery {
        return Vec::new();
    }
    let main = main_port(canary);
    let forwarded = |name: Option<&str>, number: i32| match explicit_target_port(canary) {
        None => number == service.port,
        Some(IntOrString::Int(target)) => number == *target,
        Some(IntOrString::String(target)) => name == Some(target.as_str()),
    };
    let mut ports: BTreeMap<String, i32> = BTreeMap::new();
    let containers = target_pod_spec
        .containers
        .iter()
        .filter(|container| !SIDECAR_CONTAINERS.contains(&container.name.as_str()));
    for container in containers {
        for (index, port) in container.ports.iter().flatten().enumerate() {
            let name = port.name.as_deref().filter(|name| !name.is_empty());
            if forwarded(name, port.container_port) {
                continue;
            }
            let name =
                name.map_or_else(|| format!("tcp-{}-{index}", container.name), str::to_owned);
            ports.insert(name, port.container_port);
        }
    }
    let mut discovered: Vec<ServicePort> = ports
        .into_iter()
        .filter(|(name, number)| {
            main.name.as_deref() != Some(name.as_str()) && *number != main.port
        })
        .map(|(name, number)| ServicePort {
            name: Some(name),
            protocol: Some(TCP.to_owned()),
            port: number,
            target_port: Some(IntOrString::Int(number)),
            ..ServicePort::default()
        })
        .collect();
    discovered.sort_by(|left, right| (left.port, &left.name).cmp(&(right.port, &right.name)));
    discovered
}

/// The Service `role` of `canary`, as created. `selector` is the target's
/// selector label, `target_pod_spec` its pod spec (for port discovery).
pub fn service(
    canary: &Canary,
    role: ServiceRole,
    selector: &SelectorLabel,
    target_pod_spec: &PodSpec,
) -> Result<Service, WorkloadError> {
    let name = role.name(canary);
    let custom = role.metadata(canary);
    let mut labels = custom
        .map(|custom| custom.labels.clone())
        .unwrap_or_default();
    labels.insert(selector.key.clone(), name.clone());
    let mut annotations = custom
        .map(|custom| custom.annotations.clone())
        .unwrap_or_default();
    annotations.insert(KUSTOMIZE_RECONCILE.to_owned(), FLUX_DISABLED.to_owned());
    annotations.insert(HELM_DRIFT_DETECTION.to_owned(), FLUX_DISABLED.to_owned());
    Ok(Service {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(canary.namespace().to_owned()),
            labels: Some(labels),
            annotations: Some(annotations),
            owner_references: Some(vec![canary_owner_reference(canary)?]),
            ..ObjectMeta::default()
        },
        spec: Some(service_spec(
            canary,
            selector,
            &role.selector_value(selector),
            target_pod_spec,
        )),
        status: None,
    })
}

fn service_spec(
    canary: &Canary,
    selector: &SelectorLabel,
    selector_value: &str,
    target_pod_spec: &PodSpec,
) -> ServiceSpec {
    let service = &canary.spec.service;
    let mut ports = vec![main_port(canary)];
    ports.extend(discovered_ports(canary, target_pod_spec));
    ServiceSpec {
        type_: Some(CLUSTER_IP.to_owned()),
        cluster_ip: service.headless.then(|| HEADLESS_CLUSTER_IP.to_owned()),
        selector: Some(BTreeMap::from([(
            selector.key.clone(),
            selector_value.to_owned(),
        )])),
        ports: Some(ports),
        traffic_distribution: service.traffic_distribution.map(traffic_distribution),
        ..ServiceSpec::default()
    }
}

fn traffic_distribution(value: TrafficDistribution) -> String {
    match value {
        TrafficDistribution::PreferClose => "PreferClose",
        TrafficDistribution::PreferSameZone => "PreferSameZone",
        TrafficDistribution::PreferSameNode => "PreferSameNode",
    }
    .to_owned()
}

/// What to write for `desired` given the live Service (Flagger's
/// `reconcileService`): `desired` itself when there is none, the live
/// Service with what differs replaced, or `None` when nothing differs.
pub fn reconcile_service(
    existing: Option<&Service>,
    desired: &Service,
    canary: &Canary,
) -> Option<Service> {
    let Some(existing) = existing else {
        return Some(desired.clone());
    };
    let desired_spec = desired.spec.clone().unwrap_or_default();
    let mut updated = existing.clone();
    let spec = updated.spec.get_or_insert_with(ServiceSpec::default);
    let mut changed = false;

    let mut ports = desired_spec.ports.unwrap_or_default();
    for port in &mut ports {
        let live_node_port = existing
            .spec
            .iter()
            .flat_map(|spec| spec.ports.iter().flatten())
            .find(|live| live.name == port.name)
            .and_then(|live| live.node_port)
            .filter(|node_port| *node_port > 0);
        if live_node_port.is_some() {
            port.node_port = live_node_port;
        }
    }
    let live_ports = spec.ports.clone().unwrap_or_default();
    if sorted_ports(&ports) != sorted_ports(&live_ports) || spec.selector != desired_spec.selector {
        spec.ports = Some(ports);
        spec.selector = desired_spec.selector;
        changed = true;
    }

    let (_, owned) = canary_controller(&existing.metadata, canary);
    let distribution = desired_spec.traffic_distribution;
    if (owned || distribution.is_some()) && spec.traffic_distribution != distribution {
        spec.traffic_distribution = distribution;
        changed = true;
    }

    if owned {
        let unmanaged = canary
            .spec
            .service
            .unmanaged_metadata
            .clone()
            .unwrap_or_default();
        let labels = keep_unmanaged(
            desired.metadata.labels.as_ref(),
            existing.metadata.labels.as_ref(),
            &unmanaged.labels,
        );
        if existing.metadata.labels.clone().unwrap_or_default() != labels {
            updated.metadata.labels = Some(labels);
            changed = true;
        }
        let annotations = keep_unmanaged(
            desired.metadata.annotations.as_ref(),
            existing.metadata.annotations.as_ref(),
            &unmanaged.annotations,
        );
        if existing.metadata.annotations.clone().unwrap_or_default() != annotations {
            updated.metadata.annotations = Some(annotations);
            changed = true;
        }
    }
    changed.then_some(updated)
}

/// `desired`, plus the live values of the `unmanaged` keys.
fn keep_unmanaged(
    desired: Option<&BTreeMap<String, String>>,
    live: Option<&BTreeMap<String, String>>,
    unmanaged: &[String],
) -> BTreeMap<String, String> {
    let mut kept = desired.cloned().unwrap_or_default();
    for key in unmanaged {
        if let Some(value) = live.and_then(|live| live.get(key)) {
            kept.insert(key.clone(), value.clone());
        }
    }
    kept
}

/// Ports in a canonical order, for comparison: the API server keeps the
/// order it was given, and an order change alone is no reason to write.
fn sorted_ports(ports: &[ServicePort]) -> Vec<ServicePort> {
    let mut sorted = ports.to_vec();
    sorted.sort_by(|left, right| (left.port, &left.name).cmp(&(right.port, &right.name)));
    sorted
}

/// `revertOnDeletion` for the apex Service (Flagger's
/// `KubernetesRouter.Finalize`): a Service whose controller is not a Canary
/// was the user's, so its selector goes back to the one in kubectl's
/// last-applied configuration, or else to the target's pods (with the
/// Canary's ports). `None` when there is nothing to revert.
pub fn revert_apex_service(
    existing: &Service,
    canary: &Canary,
    selector: &SelectorLabel,
    target_pod_spec: &PodSpec,
) -> Result<Option<Service>, WorkloadError> {
    let (canary_controlled, _) = canary_controller(&existing.metadata, canary);
    if canary_controlled {
        return Ok(None);
    }
    if let Some(applied) = existing
        .metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(KUBECTL_LAST_APPLIED))
    {
        let stored: Service = serde_json::from_str(applied).map_err(|error| {
            let (name, namespace) = name_of(&existing.metadata);
            WorkloadError::InvalidLastAppliedConfiguration {
                name,
                namespace,
                annotation: KUBECTL_LAST_APPLIED,
                reason: error.to_string(),
            }
        })?;
        let selector = stored.spec.and_then(|spec| spec.selector);
        let live = existing
            .spec
            .as_ref()
            .and_then(|spec| spec.selector.as_ref());
        if live == selector.as_ref() {
            return Ok(None);
        }
        let mut reverted = existing.clone();
        reverted
            .spec
            .get_or_insert_with(ServiceSpec::default)
            .selector = selector;
        return Ok(Some(reverted));
    }
    let mut desired = existing.clone();
    desired.spec = Some(service_spec(
        canary,
        selector,
        &selector.value,
        target_pod_spec,
    ));
    Ok(reconcile_service(Some(existing), &desired, canary))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::canary_owner_reference;
    use crate::test_support::canary;

    fn selector() -> SelectorLabel {
        SelectorLabel {
            key: "app".into(),
            value: "podinfo".into(),
        }
    }

    fn pod_spec(yaml: &str) -> PodSpec {
        serde_saphyr::from_str(yaml).expect("valid pod spec")
    }

    const PODINFO_PORTS: &str = "
containers:
- name: podinfod
  ports:
  - {name: http, containerPort: 9898}
  - {name: http-metrics, containerPort: 9797}
  - {containerPort: 9999}
- name: istio-proxy
  ports:
  - {name: http-envoy-prom, containerPort: 15090}
";

    fn port_names(ports: &[ServicePort]) -> Vec<(String, i32)> {
        ports
            .iter()
            .map(|port| (port.name.clone().unwrap_or_default(), port.port))
            .collect()
    }

    fn selector_of(service: &Service) -> BTreeMap<String, String> {
        service
            .spec
            .as_ref()
            .and_then(|spec| spec.selector.clone())
            .unwrap_or_default()
    }

    #[test]
    fn the_main_port_defaults_to_http_forwarding_to_the_same_port() {
        let canary = canary("  service:\n    port: 9898\n");
        let port = main_port(&canary);
        assert_eq!(port.name.as_deref(), Some("http"));
        assert_eq!(port.protocol.as_deref(), Some("TCP"));
        assert_eq!(port.target_port, Some(IntOrString::Int(9898)));
        assert_eq!(port.app_protocol, None);
        let named = canary_with_service(
            "port: 80\n    portName: grpc\n    targetPort: grpc\n    appProtocol: grpc",
        );
        let port = main_port(&named);
        assert_eq!(port.name.as_deref(), Some("grpc"));
        assert_eq!(port.target_port, Some(IntOrString::String("grpc".into())));
        assert_eq!(port.app_protocol.as_deref(), Some("grpc"));
    }

    fn canary_with_service(service: &str) -> Canary {
        canary(&format!("  service:\n    {service}\n"))
    }

    #[test]
    fn services_select_the_target_or_the_primary_pods_by_role() {
        let canary = canary_with_service("port: 9898");
        let spec = pod_spec(PODINFO_PORTS);
        let selector_value = |role| {
            selector_of(&service(&canary, role, &selector(), &spec).expect("valid"))["app"].clone()
        };
        assert_eq!(selector_value(ServiceRole::Apex), "podinfo-primary");
        assert_eq!(selector_value(ServiceRole::Primary), "podinfo-primary");
        assert_eq!(selector_value(ServiceRole::Canary), "podinfo");
        let canary_service =
            service(&canary, ServiceRole::Canary, &selector(), &spec).expect("valid");
        assert_eq!(
            canary_service.metadata.name.as_deref(),
            Some("podinfo-canary")
        );
        assert_eq!(
            canary_service.metadata.labels,
            Some(BTreeMap::from([("app".into(), "podinfo-canary".into())]))
        );
        let generated = canary_service.spec.expect("spec");
        assert_eq!(generated.type_.as_deref(), Some("ClusterIP"));
        assert_eq!(generated.cluster_ip, None);
        assert_eq!(
            port_names(&generated.ports.expect("ports")),
            [("http".into(), 9898)]
        );
    }

    #[test]
    fn port_discovery_adds_named_container_ports_but_not_sidecars_or_the_main_port() {
        let spec = pod_spec(PODINFO_PORTS);
        let unset = canary_with_service("port: 9898\n    portDiscovery: true");
        assert_eq!(
            port_names(&discovered_ports(&unset, &spec)),
            [
                ("http-metrics".into(), 9797),
                ("tcp-podinfod-2".into(), 9999)
            ]
        );
        let by_number =
            canary_with_service("port: 80\n    targetPort: 9898\n    portDiscovery: true");
        assert_eq!(
            port_names(&discovered_ports(&by_number, &spec)),
            [
                ("http-metrics".into(), 9797),
                ("tcp-podinfod-2".into(), 9999)
            ]
        );
        let by_name = canary_with_service(
            "port: 80\n    targetPort: http-metrics\n    portName: metrics\n    portDiscovery: true",
        );
        assert_eq!(
            port_names(&discovered_ports(&by_name, &spec)),
            [("http".into(), 9898), ("tcp-podinfod-2".into(), 9999)]
        );
        let off = canary_with_service("port: 80\n    targetPort: 9898");
        assert!(discovered_ports(&off, &spec).is_empty());
    }

    #[test]
    fn discovered_ports_that_clash_with_the_main_port_are_left_out() {
        let spec = pod_spec(PODINFO_PORTS);
        // The main port is named http and listens on 9797: both clash.
        let canary =
            canary_with_service("port: 9797\n    targetPort: 9999\n    portDiscovery: true");
        assert!(discovered_ports(&canary, &spec).is_empty());
    }

    #[test]
    fn headless_and_traffic_distribution_reach_the_spec() {
        let canary = canary_with_service(
            "port: 9898\n    headless: true\n    trafficDistribution: PreferClose",
        );
        let spec = service(
            &canary,
            ServiceRole::Primary,
            &selector(),
            &PodSpec::default(),
        )
        .expect("valid")
        .spec
        .expect("spec");
        assert_eq!(spec.cluster_ip.as_deref(), Some("None"));
        assert_eq!(spec.traffic_distribution.as_deref(), Some("PreferClose"));
    }

    /// A Service the user applied, which weir takes over.
    fn users_apex() -> Service {
        serde_saphyr::from_str(
            "
apiVersion: v1
kind: Service
metadata:
  name: podinfo
  namespace: test
  labels: {team: web}
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"podinfo\"},\"spec\":{\"selector\":{\"app\":\"podinfo\",\"tier\":\"web\"}}}'
spec:
  type: NodePort
  selector: {app: podinfo, tier: web}
  ports:
  - {name: http, port: 9898, targetPort: 9898, protocol: TCP, nodePort: 30080}
",
        )
        .expect("valid service")
    }

    #[test]
    fn a_missing_service_is_created_and_an_identical_one_left_alone() {
        let canary = canary_with_service("port: 9898");
        let desired =
            service(&canary, ServiceRole::Apex, &selector(), &PodSpec::default()).expect("valid");
        assert_eq!(
            reconcile_service(None, &desired, &canary),
            Some(desired.clone())
        );
        assert_eq!(reconcile_service(Some(&desired), &desired, &canary), None);
    }

    #[test]
    fn taking_over_an_apex_service_moves_its_selector_and_keeps_node_ports_and_metadata() {
        let canary = canary_with_service("port: 9898");
        let desired =
            service(&canary, ServiceRole::Apex, &selector(), &PodSpec::default()).expect("valid");
        let existing = users_apex();
        let taken =
            reconcile_service(Some(&existing), &desired, &canary).expect("selector differs");
        assert_eq!(
            selector_of(&taken),
            BTreeMap::from([("app".into(), "podinfo-primary".into())])
        );
        let spec = taken.spec.as_ref().expect("spec");
        assert_eq!(
            spec.type_.as_deref(),
            Some("NodePort"),
            "the type is the user's"
        );
        let ports = spec.ports.as_ref().expect("ports");
        assert_eq!(
            ports[0].node_port,
            Some(30080),
            "NodePorts are kept by port name"
        );
        assert_eq!(
            taken.metadata, existing.metadata,
            "metadata of a Service weir does not own stays"
        );
        assert_eq!(reconcile_service(Some(&taken), &desired, &canary), None);
    }

    #[test]
    fn owned_services_get_their_metadata_rewritten_except_unmanaged_keys() {
        let canary = canary_with_service(
            "port: 9898\n    primary:\n      labels: {tier: web}\n    unmanagedMetadata:\n      labels: [owner]\n      annotations: [note]",
        );
        let desired = service(
            &canary,
            ServiceRole::Primary,
            &selector(),
            &PodSpec::default(),
        )
        .expect("valid");
        let mut existing = desired.clone();
        existing.metadata.labels = Some(BTreeMap::from([
            ("app".into(), "podinfo-primary".into()),
            ("stale".into(), "x".into()),
            ("owner".into(), "payments".into()),
        ]));
        existing
            .metadata
            .annotations
            .get_or_insert_with(BTreeMap::new)
            .insert("note".into(), "kept".into());
        let updated = reconcile_service(Some(&existing), &desired, &canary).expect("labels differ");
        assert_eq!(
            updated.metadata.labels,
            Some(BTreeMap::from([
                ("app".into(), "podinfo-primary".into()),
                ("owner".into(), "payments".into()),
                ("tier".into(), "web".into()),
            ]))
        );
        let annotations = updated.metadata.annotations.expect("annotations");
        assert_eq!(annotations["note"], "kept");
        assert_eq!(annotations[KUSTOMIZE_RECONCILE], "disabled");

        // Owned by another Canary: only the spec would be reconciled.
        let mut foreign = existing.clone();
        let mut owner = canary_owner_reference(&canary).expect("uid");
        owner.name = "other".into();
        foreign.metadata.owner_references = Some(vec![owner]);
        assert_eq!(reconcile_service(Some(&foreign), &desired, &canary), None);
    }

    #[test]
    fn reverting_a_taken_over_apex_restores_the_last_applied_selector() {
        let canary = canary_with_service("port: 9898");
        let desired =
            service(&canary, ServiceRole::Apex, &selector(), &PodSpec::default()).expect("valid");
        let taken = reconcile_service(Some(&users_apex()), &desired, &canary).expect("taken over");
        let reverted = revert_apex_service(&taken, &canary, &selector(), &PodSpec::default())
            .expect("valid annotation")
            .expect("selector differs");
        assert_eq!(
            selector_of(&reverted),
            BTreeMap::from([
                ("app".into(), "podinfo".into()),
                ("tier".into(), "web".into())
            ])
        );
        assert_eq!(
            revert_apex_service(&reverted, &canary, &selector(), &PodSpec::default()),
            Ok(None)
        );
    }

    #[test]
    fn reverting_without_last_applied_points_the_apex_at_the_target_pods() {
        let canary = canary_with_service("port: 9898");
        let desired =
            service(&canary, ServiceRole::Apex, &selector(), &PodSpec::default()).expect("valid");
        let mut existing = users_apex();
        existing.metadata.annotations = None;
        let taken = reconcile_service(Some(&existing), &desired, &canary).expect("taken over");
        let reverted = revert_apex_service(&taken, &canary, &selector(), &PodSpec::default())
            .expect("nothing to parse")
            .expect("selector differs");
        assert_eq!(
            selector_of(&reverted),
            BTreeMap::from([("app".into(), "podinfo".into())])
        );
    }

    #[test]
    fn services_created_by_a_canary_are_not_reverted() {
        let canary = canary_with_service("port: 9898");
        let owned =
            service(&canary, ServiceRole::Apex, &selector(), &PodSpec::default()).expect("valid");
        assert_eq!(
            revert_apex_service(&owned, &canary, &selector(), &PodSpec::default()),
            Ok(None),
            "garbage collection deletes it with the Canary"
        );
    }

    #[test]
    fn an_unreadable_last_applied_configuration_is_an_error() {
        let canary = canary_with_service("port: 9898");
        let mut existing = users_apex();
        existing.metadata.annotations = Some(BTreeMap::from([(
            KUBECTL_LAST_APPLIED.to_owned(),
            "{not json".to_owned(),
        )]));
        let error = revert_apex_service(&existing, &canary, &selector(), &PodSpec::default())
            .expect_err("not JSON");
        assert!(
            error.to_string().starts_with(
                "router podinfo.test failed to unMarshal annotation kubectl.kubernetes.io/last-applied-configuration"
            ),
            "{error}"
        );
    }
}
