//! Golden files for the Gloo, Skipper, APISIX, Kuma, App Mesh and Knative
//! routers: the objects each writes, rendered as YAML.
//!
//! Every file under `tests/golden` named after one of these providers was
//! checked by hand against `flagger-semantics.md` §9.3 and Flagger's
//! `pkg/router` sources; where weir differs on purpose, the file's comment
//! says so. The inputs are Flagger's own e2e manifests (`test/<provider>`)
//! and examples where one exists. After an intended change, regenerate them
//! and review the diff:
//!
//! ```sh
//! WEIR_UPDATE_GOLDEN=1 cargo test -p weir-routers --test golden_more
//! ```

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::Ingress;
use weir_api::Canary;
use weir_routers::Routes;
use weir_routers::appmesh::{RouterRole, VirtualNodeRole, v1beta1, v1beta2};
use weir_routers::{apisix, gloo, knative, kuma, skipper};

mod common;

use common::{canary, check, render, routes, yaml};

/// Parses a Kubernetes object from YAML; test inputs are well formed.
fn object<T: serde::de::DeserializeOwned>(text: &str) -> T {
    serde_saphyr::from_str(text).unwrap_or_else(|error| panic!("invalid object: {error}\n{text}"))
}

fn annotate(mut canary: Canary, key: &str, value: &str) -> Canary {
    canary
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(key.to_owned(), value.to_owned());
    canary
}

// ------------------------------------------------------------------- Gloo

/// The first Canary of Flagger's `test/gloo/test-canary.sh`.
const GLOO_CANARY: &str = "  upstreamRef:
    apiVersion: gloo.solo.io/v1
    kind: Upstream
    name: config-upstream
    namespace: gloo-system
  provider: gloo
  progressDeadlineSeconds: 60
  service:
    port: 80
    targetPort: 9898
  analysis:
    interval: 15s
    threshold: 15
    maxWeight: 50
    stepWeight: 10
";

/// The configuration Upstream of `test/gloo/test-canary.sh`.
const GLOO_CONFIG_UPSTREAM: &str = "apiVersion: gloo.solo.io/v1
kind: Upstream
metadata:
  name: config-upstream
  namespace: gloo-system
spec:
  static:
    hosts:
    - addr: example.com
      port: 80
  connectionConfig:
    connectionTimeout: 2s
    maxRequestsPerConnection: 51
  loadBalancerConfig:
    roundRobin:
      slowStartConfig:
        slowStartWindow: 2m
        minWeightPercent: 5
";

#[test]
fn gloo_initial() {
    let canary = canary(GLOO_CANARY, "  phase: Initializing\n");
    let config: gloo::Upstream = object(GLOO_CONFIG_UPSTREAM);
    let selector = |value: &str| BTreeMap::from([("app".to_owned(), value.to_owned())]);
    let (primary_selector, canary_selector) = (selector("podinfo-primary"), selector("podinfo"));
    let upstream = |backend, service_selector| {
        gloo::reconcile_upstream(
            None,
            &canary,
            backend,
            &gloo::UpstreamInputs {
                service_selector,
                config: Some(&config),
                include_label_prefixes: &[],
            },
        )
    };
    let primary = upstream(gloo::Backend::Primary, &primary_selector);
    let canary_upstream = upstream(gloo::Backend::Canary, &canary_selector);
    let table = gloo::reconcile(None, &canary).expect("reconcile");
    check(
        "gloo-initial",
        &render(
            "Gloo, first reconcile of Flagger's e2e Canary (test/gloo): kube Upstreams for the\n\
             primary and canary Services with the connection and load balancer settings of\n\
             the upstreamRef (passed through as written, the static hosts not copied), and\n\
             a RouteTable with all traffic on the primary; the canary's weight 0 is omitted.",
            &[yaml(&primary), yaml(&canary_upstream), yaml(&table)],
        ),
    );
}

#[test]
fn gloo_progressive() {
    let canary = canary(GLOO_CANARY, "  phase: Progressing\n  canaryWeight: 30\n");
    let table = gloo::route_table(&canary, routes(70, 30, false)).expect("route table");
    check(
        "gloo-progressive",
        &render("Gloo, progressive canary at 70/30.", &[yaml(&table)]),
    );
}

#[test]
fn gloo_ab_testing() {
    // The A/B Canary of test/gloo, with the cookie condition of Flagger's docs.
    let canary = canary(
        "  provider: gloo
  service:
    port: 80
    targetPort: 9898
  analysis:
    interval: 10s
    threshold: 5
    iterations: 5
    match:
    - headers:
        x-canary:
          exact: insider
    - headers:
        cookie:
          regex: \"^(.*?;)?(canary=always)(;.*)?$\"
",
        "  phase: Progressing\n  iterations: 1\n",
    );
    let table = gloo::route_table(&canary, Routes::ALL_CANARY).expect("route table");
    check(
        "gloo-ab-testing",
        &render(
            "Gloo, A/B testing during the analysis (0/100): one matcher per analysis.match\n\
             entry (weir; Flagger ANDs all headers in one matcher), and a second route that\n\
             sends everyone else to the primary (weir; Flagger has none, so Gloo answers\n\
             404).",
            &[yaml(&table)],
        ),
    );
}

#[test]
fn gloo_reconcile_keeps_weights() {
    let canary = canary(GLOO_CANARY, "  phase: Progressing\n  canaryWeight: 40\n");
    let created = gloo::reconcile(None, &canary).expect("reconcile");
    let shifted = gloo::set_routes(&created, &canary, routes(60, 40, false)).expect("set routes");
    let mut labelled = canary.clone();
    labelled.spec.service.apex = Some(weir_api::service::CustomMetadata {
        labels: BTreeMap::from([("team".to_owned(), "payments".to_owned())]),
        annotations: BTreeMap::new(),
    });
    let updated = gloo::reconcile(Some(&shifted), &labelled).expect("reconcile");
    check(
        "gloo-reconcile-keeps-weights",
        &render(
            "Gloo, reconcile of a RouteTable at 60/40 after the Canary gained apex labels:\n\
             the labels are applied and the split stays (Flagger rewrites 100/0).",
            &[yaml(&updated)],
        ),
    );
}

// ---------------------------------------------------------------- Skipper

/// The Canary of Flagger's `test/skipper/test-canary.sh`.
const SKIPPER_CANARY: &str = "  provider: skipper
  ingressRef:
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    name: podinfo-ingress
  service:
    name: podinfo-service
    port: 80
    targetPort: http
  analysis:
    interval: 15s
    threshold: 5
    maxWeight: 100
    stepWeight: 10
";

/// The Ingress of `test/skipper/test-canary.sh`.
const SKIPPER_INGRESS: &str = "apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: podinfo-ingress
  namespace: test
  labels:
    app: podinfo
  annotations:
    kubernetes.io/ingress.class: skipper
spec:
  rules:
  - host: app.example.com
    http:
      paths:
      - pathType: Prefix
        path: /
        backend:
          service:
            name: podinfo-service
            port:
              number: 80
";

#[test]
fn skipper_initial() {
    let canary = canary(SKIPPER_CANARY, "  phase: Initializing\n");
    let ingress: Ingress = object(SKIPPER_INGRESS);
    let copy = skipper::reconcile(None, &ingress, &canary).expect("reconcile");
    check(
        "skipper-initial",
        &render(
            "Skipper, first reconcile of Flagger's e2e Canary (test/skipper): the canary\n\
             Ingress copies the user's, points the apex path at the primary and repeats it for\n\
             the canary; backend weights 100/0 and Weight(100) so Skipper takes its routes.",
            &[yaml(&copy)],
        ),
    );
}

#[test]
fn skipper_progressive() {
    let canary = canary(SKIPPER_CANARY, "  phase: Progressing\n  canaryWeight: 10\n");
    let ingress: Ingress = object(SKIPPER_INGRESS);
    let created = skipper::reconcile(None, &ingress, &canary).expect("reconcile");
    let shifted = skipper::set_routes(&created, &canary, routes(90, 10, false));
    check(
        "skipper-progressive",
        &render("Skipper, progressive canary at 90/10.", &[yaml(&shifted)]),
    );
}

#[test]
fn skipper_reconcile_keeps_weights() {
    let canary = canary(SKIPPER_CANARY, "  phase: Progressing\n  canaryWeight: 30\n");
    let ingress: Ingress = object(SKIPPER_INGRESS);
    let created = skipper::reconcile(None, &ingress, &canary).expect("reconcile");
    let shifted = skipper::set_routes(&created, &canary, routes(70, 30, false));
    let mut changed = ingress.clone();
    changed
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(
            "zalando.org/skipper-predicate".to_owned(),
            "Method(\"GET\")".to_owned(),
        );
    let updated = skipper::reconcile(Some(&shifted), &changed, &canary).expect("reconcile");
    check(
        "skipper-reconcile-keeps-weights",
        &render(
            "Skipper, reconcile of a canary Ingress at 70/30 after the user's Ingress gained a\n\
             predicate: Weight(100) stays first, the user's predicate follows, the weights\n\
             stay (Flagger rewrites 100/0).",
            &[yaml(&updated)],
        ),
    );
}

#[test]
fn skipper_finalize() {
    let canary = canary(SKIPPER_CANARY, "  phase: Succeeded\n");
    let ingress: Ingress = object(SKIPPER_INGRESS);
    let created = skipper::reconcile(None, &ingress, &canary).expect("reconcile");
    let idle = skipper::set_routes(&created, &canary, Routes::ALL_PRIMARY);
    let deletion = skipper::finalize(&canary).expect("finalize");
    check(
        "skipper-finalize",
        &render(
            "Skipper, after promotion (100/0): False() replaces Weight(100) and disables the\n\
             copy, so requests take the user's Ingress again; finalize then deletes the copy\n\
             with a two-second grace period.",
            &[yaml(&idle), yaml(&deletion)],
        ),
    );
}

// ----------------------------------------------------------------- APISIX

/// The Canary of Flagger's `test/apisix/test-canary.sh`.
const APISIX_CANARY: &str = "  provider: apisix
  routeRef:
    apiVersion: apisix.apache.org/v2
    kind: ApisixRoute
    name: podinfo
  progressDeadlineSeconds: 60
  service:
    port: 80
    targetPort: 9898
  analysis:
    interval: 10s
    threshold: 10
    maxWeight: 50
    stepWeight: 10
";

/// The ApisixRoute of `test/apisix/test-canary.sh`.
const APISIX_ROUTE: &str = "apiVersion: apisix.apache.org/v2
kind: ApisixRoute
metadata:
  name: podinfo
  namespace: test
spec:
  http:
  - backends:
    - serviceName: podinfo
      servicePort: 80
    match:
      hosts:
      - foobar.com
      methods:
      - GET
      paths:
      - /*
    name: method
    plugins:
    - name: prometheus
      enable: true
      config:
        disable: false
        prefer_name: true
";

#[test]
fn apisix_initial() {
    let canary = canary(APISIX_CANARY, "  phase: Initializing\n");
    let route: apisix::ApisixRoute = object(APISIX_ROUTE);
    let copy = apisix::reconcile(None, &route, &canary).expect("reconcile");
    check(
        "apisix-initial",
        &render(
            "APISIX, first reconcile of Flagger's e2e Canary (test/apisix): the route to the\n\
             apex Service copied at priority 10000 with primary 100 and canary 0 backends\n\
             (same port), plugins kept.",
            &[yaml(&copy)],
        ),
    );
}

#[test]
fn apisix_progressive() {
    let canary = canary(APISIX_CANARY, "  phase: Progressing\n  canaryWeight: 30\n");
    let route: apisix::ApisixRoute = object(APISIX_ROUTE);
    let created = apisix::reconcile(None, &route, &canary).expect("reconcile");
    let shifted = apisix::set_routes(&created, &canary, routes(70, 30, false)).expect("set routes");
    check(
        "apisix-progressive",
        &render("APISIX, progressive canary at 70/30.", &[yaml(&shifted)]),
    );
}

#[test]
fn apisix_ab_testing() {
    let canary = canary(
        "  provider: apisix
  routeRef:
    apiVersion: apisix.apache.org/v2
    kind: ApisixRoute
    name: podinfo
  service:
    port: 80
    targetPort: 9898
  analysis:
    interval: 1m
    threshold: 5
    iterations: 10
    match:
    - headers:
        x-canary:
          exact: insider
    - headers:
        cookie:
          regex: \"^(.*?;)?(canary=always)(;.*)?$\"
      queryParams:
        beta:
          prefix: v2.
",
        "  phase: Progressing\n  iterations: 1\n",
    );
    let route: apisix::ApisixRoute = object(APISIX_ROUTE);
    let copy = apisix::canary_route(&route, &canary, Routes::ALL_CANARY).expect("canary route");
    check(
        "apisix-ab-testing",
        &render(
            "APISIX, A/B testing during the analysis (0/100), weir only (Flagger ignores\n\
             analysis.match and sends everyone to the canary): one copy of the route per\n\
             analysis.match entry, with the entry's conditions as exprs; requests matching\n\
             none fall through to the user's route and the primary.",
            &[yaml(&copy)],
        ),
    );
}

#[test]
fn apisix_reconcile_keeps_weights() {
    let canary = canary(APISIX_CANARY, "  phase: Progressing\n  canaryWeight: 40\n");
    let route: apisix::ApisixRoute = object(APISIX_ROUTE);
    let created = apisix::reconcile(None, &route, &canary).expect("reconcile");
    let shifted = apisix::set_routes(&created, &canary, routes(60, 40, false)).expect("set routes");
    let mut changed = route.clone();
    changed.spec.http[0].r#match.paths = vec!["/api/*".to_owned()];
    let updated = apisix::reconcile(Some(&shifted), &changed, &canary).expect("reconcile");
    check(
        "apisix-reconcile-keeps-weights",
        &render(
            "APISIX, reconcile of a canary route at 60/40 after the user's route changed its\n\
             paths: the paths follow, the split stays (Flagger rewrites 100/0).",
            &[yaml(&updated)],
        ),
    );
}

// ------------------------------------------------------------------- Kuma

/// Flagger's `artifacts/examples/kuma-canary.yaml` (the mesh annotation is
/// set on the Canary by the tests).
const KUMA_CANARY: &str = "  progressDeadlineSeconds: 60
  service:
    port: 9898
    targetPort: 9898
    apex:
      annotations:
        9898.service.kuma.io/protocol: \"http\"
    canary:
      annotations:
        9898.service.kuma.io/protocol: \"http\"
    primary:
      annotations:
        9898.service.kuma.io/protocol: \"http\"
  analysis:
    interval: 15s
    threshold: 15
    maxWeight: 50
    stepWeight: 10
";

#[test]
fn kuma_initial() {
    let canary = annotate(
        canary(KUMA_CANARY, "  phase: Initializing\n"),
        "kuma.io/mesh",
        "default",
    );
    let route = kuma::reconcile(None, &canary).expect("reconcile");
    check(
        "kuma-initial",
        &render(
            "Kuma, first reconcile of Flagger's kuma-canary.yaml: a cluster-scoped\n\
             TrafficRoute in the mesh of the kuma.io/mesh annotation, all traffic on the\n\
             primary; the apex annotations replace Flagger's default port annotation.",
            &[yaml(&route)],
        ),
    );
}

#[test]
fn kuma_progressive() {
    let canary = canary(KUMA_CANARY, "  phase: Progressing\n  canaryWeight: 20\n");
    let route = kuma::traffic_route(&canary, routes(80, 20, false)).expect("traffic route");
    check(
        "kuma-progressive",
        &render(
            "Kuma, progressive canary at 80/20, without a mesh annotation (mesh default).",
            &[yaml(&route)],
        ),
    );
}

#[test]
fn kuma_reconcile_keeps_weights() {
    let canary = canary(KUMA_CANARY, "  phase: Progressing\n  canaryWeight: 50\n");
    let created = kuma::reconcile(None, &canary).expect("reconcile");
    let shifted = kuma::set_routes(&created, &canary, routes(50, 50, false)).expect("set routes");
    let moved = annotate(canary.clone(), "kuma.io/mesh", "payments");
    let updated =
        kuma::reconcile(Some(&shifted), &canary_with_port(&moved, 8080)).expect("reconcile");
    check(
        "kuma-reconcile-keeps-weights",
        &render(
            "Kuma, reconcile of a TrafficRoute at 50/50 after the Canary moved to port 8080\n\
             and the payments mesh: destinations and mesh follow, the split stays (Flagger\n\
             rewrites 100/0 and never changes the mesh).",
            &[yaml(&updated)],
        ),
    );
}

/// `canary` with another service port (the reconciled Canary).
fn canary_with_port(canary: &Canary, port: i32) -> Canary {
    let mut changed = canary.clone();
    changed.spec.service.port = port;
    changed
}

// --------------------------------------------------------- App Mesh v1beta1

/// The Canary of Flagger's App Mesh A/B pull request (#340) and v1beta1
/// guide, with gateway hosts, a timeout and retries.
const APPMESH_CANARY: &str = "  provider: appmesh
  service:
    port: 9898
    meshName: global
    hosts:
    - app.example.com
    timeout: 25s
    retries:
      attempts: 3
      perTryTimeout: 5s
      retryOn: gateway-error,client-error
    backends:
    - backend1.test
  analysis:
    interval: 10s
    threshold: 5
    maxWeight: 50
    stepWeight: 5
";

#[test]
fn appmesh_initial() {
    let canary = annotate(
        canary(APPMESH_CANARY, "  phase: Initializing\n"),
        "appmesh.flagger.app/accesslog",
        "enabled",
    );
    let node = |role| v1beta1::reconcile_virtual_node(None, &canary, role).expect("node");
    let service = |role| v1beta1::reconcile_virtual_service(None, &canary, role).expect("service");
    let objects = (
        node(VirtualNodeRole::Apex),
        node(VirtualNodeRole::Primary),
        node(VirtualNodeRole::Canary),
        service(RouterRole::Apex),
        service(RouterRole::Canary),
    );
    check(
        "appmesh-initial",
        &render(
            "App Mesh v1beta1, first reconcile: VirtualNodes podinfo (resolving to the primary),\n\
             podinfo-primary and podinfo-canary with access logs (Canary annotation), the apex\n\
             VirtualService with the gateway annotations and all traffic on the primary, and\n\
             the canary VirtualService sending everything to the canary.",
            &[
                yaml(&objects.0),
                yaml(&objects.1),
                yaml(&objects.2),
                yaml(&objects.3),
                yaml(&objects.4),
            ],
        ),
    );
}

#[test]
fn appmesh_progressive() {
    let canary = canary(APPMESH_CANARY, "  phase: Progressing\n  canaryWeight: 20\n");
    let service = v1beta1::virtual_service(&canary, routes(80, 20, false)).expect("service");
    check(
        "appmesh-progressive",
        &render(
            "App Mesh v1beta1, progressive canary at 80/20.",
            &[yaml(&service)],
        ),
    );
}

#[test]
fn appmesh_ab_testing() {
    let canary = canary(
        "  provider: appmesh
  service:
    port: 9898
    meshName: global
  analysis:
    interval: 10s
    threshold: 5
    iterations: 10
    match:
    - headers:
        cookie:
          regex: \"^(.*?;)?(type=insider)(;.*)?$\"
",
        "  phase: Progressing\n  iterations: 1\n",
    );
    let service = v1beta1::virtual_service(&canary, Routes::ALL_CANARY).expect("service");
    check(
        "appmesh-ab-testing",
        &render(
            "App Mesh v1beta1, A/B testing during the analysis (0/100) with the cookie\n\
             condition of Flagger's pull request #340: podinfo-a (priority 10) routes\n\
             matching requests by weight, podinfo-b (priority 20) everyone else to the\n\
             primary.",
            &[yaml(&service)],
        ),
    );
}

#[test]
fn appmesh_reconcile_keeps_weights() {
    let canary = canary(APPMESH_CANARY, "  phase: Progressing\n  canaryWeight: 30\n");
    let created =
        v1beta1::reconcile_virtual_service(None, &canary, RouterRole::Apex).expect("service");
    let shifted = v1beta1::set_routes(&created, &canary, routes(70, 30, false)).expect("set");
    let mut changed = canary.clone();
    changed.spec.service.hosts = vec!["www.example.com".to_owned()];
    changed.spec.service.timeout = None;
    let updated = v1beta1::reconcile_virtual_service(Some(&shifted), &changed, RouterRole::Apex)
        .expect("service");
    check(
        "appmesh-reconcile-keeps-weights",
        &render(
            "App Mesh v1beta1, reconcile of the apex VirtualService at 70/30 after the hosts\n\
             changed and the timeout was removed: gateway annotations follow (the timeout one\n\
             is dropped), the split stays.",
            &[yaml(&updated)],
        ),
    );
}

// --------------------------------------------------------- App Mesh v1beta2

/// The Canary of Flagger's App Mesh (v1beta2) guide.
const APPMESH_V1BETA2_CANARY: &str = "  provider: appmesh:v1beta2
  progressDeadlineSeconds: 60
  service:
    port: 9898
    timeout: 15s
    retries:
      attempts: 3
      perTryTimeout: 5s
      retryOn: \"gateway-error,client-error,stream-error\"
    match:
    - uri:
        prefix: /
    rewrite:
      uri: /
  analysis:
    interval: 1m
    threshold: 5
    maxWeight: 50
    stepWeight: 5
";

#[test]
fn appmesh_v1beta2_initial() {
    let canary = annotate(
        canary(APPMESH_V1BETA2_CANARY, "  phase: Initializing\n"),
        "appmesh.flagger.app/accesslog",
        "enabled",
    );
    let node =
        |workload| v1beta2::reconcile_virtual_node(None, &canary, workload, "app").expect("node");
    let router = |role| v1beta2::reconcile_virtual_router(None, &canary, role).expect("router");
    let service = |role| v1beta2::reconcile_virtual_service(None, &canary, role);
    let objects = (
        node(v1beta2::Workload::Primary),
        node(v1beta2::Workload::Canary),
        router(RouterRole::Apex),
        router(RouterRole::Canary),
        service(RouterRole::Apex),
        service(RouterRole::Canary),
    );
    check(
        "appmesh-v1beta2-initial",
        &render(
            "App Mesh v1beta2, first reconcile of the Canary of Flagger's App Mesh guide (with\n\
             access logs): VirtualNodes selecting the primary and canary pods by the app\n\
             label, with the 15s timeout on their listeners; VirtualRouters podinfo (all\n\
             traffic on the primary) and podinfo-canary (all on the canary) with timeout and\n\
             retry policy; a VirtualService for each router (no hosts, no gateway\n\
             annotations).",
            &[
                yaml(&objects.0),
                yaml(&objects.1),
                yaml(&objects.2),
                yaml(&objects.3),
                yaml(&objects.4),
                yaml(&objects.5),
            ],
        ),
    );
}

#[test]
fn appmesh_v1beta2_progressive() {
    let canary = canary(
        APPMESH_V1BETA2_CANARY,
        "  phase: Progressing\n  canaryWeight: 35\n",
    );
    let router = v1beta2::virtual_router(&canary, routes(65, 35, false)).expect("router");
    check(
        "appmesh-v1beta2-progressive",
        &render(
            "App Mesh v1beta2, progressive canary at 65/35.",
            &[yaml(&router)],
        ),
    );
}

#[test]
fn appmesh_v1beta2_ab_testing() {
    let canary = canary(
        "  provider: appmesh:v1beta2
  service:
    port: 9898
    targetPort: 9898
  analysis:
    interval: 1m
    threshold: 5
    iterations: 10
    match:
    - headers:
        x-canary:
          exact: \"insider\"
",
        "  phase: Progressing\n  iterations: 1\n",
    );
    let router = v1beta2::virtual_router(&canary, Routes::ALL_CANARY).expect("router");
    check(
        "appmesh-v1beta2-ab-testing",
        &render(
            "App Mesh v1beta2, A/B testing during the analysis (0/100) with the header of\n\
             Flagger's App Mesh guide: podinfo-a (priority 10) for X-Canary: insider,\n\
             podinfo-b (priority 20) for everyone else on the primary.",
            &[yaml(&router)],
        ),
    );
}

#[test]
fn appmesh_v1beta2_reconcile_keeps_weights() {
    let canary = canary(
        APPMESH_V1BETA2_CANARY,
        "  phase: Progressing\n  canaryWeight: 10\n",
    );
    let mut created =
        v1beta2::reconcile_virtual_router(None, &canary, RouterRole::Apex).expect("router");
    created.spec.aws_name = Some("podinfo_test".to_owned());
    let shifted = v1beta2::set_routes(&created, &canary, routes(90, 10, false)).expect("set");
    let mut changed = canary.clone();
    changed.spec.service.timeout = Some("30s".to_owned());
    let updated = v1beta2::reconcile_virtual_router(Some(&shifted), &changed, RouterRole::Apex)
        .expect("router");
    check(
        "appmesh-v1beta2-reconcile-keeps-weights",
        &render(
            "App Mesh v1beta2, reconcile of the apex VirtualRouter at 90/10 after the timeout\n\
             changed to 30s: the route timeout follows, the split and the awsName the App Mesh\n\
             controller filled in stay.",
            &[yaml(&updated)],
        ),
    );
}

// ---------------------------------------------------------------- Knative

/// The Canary of Flagger's `test/knative/test-canary.sh`.
fn knative_canary(phase: &str) -> Canary {
    object(&format!(
        "apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
  namespace: test
spec:
  provider: knative
  targetRef:
    apiVersion: serving.knative.dev/v1
    kind: Service
    name: podinfo
  progressDeadlineSeconds: 60
  analysis:
    interval: 15s
    threshold: 15
    maxWeight: 50
    stepWeight: 10
status:
  phase: {phase}
"
    ))
}

/// The Service of `test/knative/init.sh`, as Knative reports it after
/// creating `latest` (and, with `traffic`, splitting as in spec).
fn knative_service(latest: &str) -> knative::KnativeService {
    object(&format!(
        "apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: podinfo
  namespace: test
spec:
  template:
    spec:
      containers:
      - image: ghcr.io/stefanprodan/podinfo:6.0.0
        ports:
        - containerPort: 9898
          protocol: TCP
status:
  observedGeneration: 1
  url: http://podinfo.test.example.com
  latestCreatedRevisionName: {latest}
  latestReadyRevisionName: {latest}
"
    ))
}

#[test]
fn knative_initial() {
    let canary = knative_canary("Initializing");
    let reconciled =
        knative::reconcile(&knative_service("podinfo-00001"), &canary).expect("reconcile");
    let routed = knative::set_routes(&reconciled, &canary, Routes::ALL_PRIMARY).expect("routes");
    check(
        "knative-initial",
        &render(
            "Knative, initialization of Flagger's e2e Canary (test/knative): reconcile records\n\
             podinfo-00001 as the primary revision, then all traffic goes to it (the latest\n\
             revision, the same one, gets 0).",
            &[yaml(&routed)],
        ),
    );
}

#[test]
fn knative_progressive() {
    let canary = knative_canary("Progressing");
    let initialized =
        knative::reconcile(&knative_service("podinfo-00001"), &canary).expect("reconcile");
    let mut updated = initialized.clone();
    if let Some(status) = updated.status.as_mut() {
        status.latest_created_revision_name = Some("podinfo-00002".to_owned());
    }
    // A new revision does not move the primary.
    let reconciled = knative::reconcile(&updated, &canary).expect("reconcile");
    let routed = knative::set_routes(&reconciled, &canary, routes(70, 30, false)).expect("routes");
    check(
        "knative-progressive",
        &render(
            "Knative, progressive canary at 70/30 after podinfo-00002 was created: the latest\n\
             revision gets 30, the primary revision podinfo-00001 keeps 70.",
            &[yaml(&routed)],
        ),
    );
}

#[test]
fn knative_finalize() {
    let canary = knative_canary("Succeeded");
    let reconciled =
        knative::reconcile(&knative_service("podinfo-00002"), &canary).expect("reconcile");
    let routed = knative::set_routes(&reconciled, &canary, Routes::ALL_PRIMARY).expect("routes");
    let finalized = knative::finalize(&routed).expect("annotation present");
    check(
        "knative-finalize",
        &render(
            "Knative, finalize: the primary revision annotation is removed, the traffic split\n\
             stays as it is.",
            &[yaml(&finalized)],
        ),
    );
}
