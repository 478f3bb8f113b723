//! Golden files for the SMI (Linkerd, OSM), NGINX, Contour and Traefik routers.
//!
//! Every file under `tests/golden` named `smi-*`, `nginx-*`, `contour-*` or
//! `traefik-*` was checked by hand, field by field, against
//! `flagger-semantics.md` §9.3 and Flagger's `pkg/router/{smi,smi_v1alpha2,
//! smi_v1alpha3,ingress,contour,traefik}.go`; the differences from Flagger
//! are the ones the provider modules document. After an intended change,
//! regenerate them and review the diff:
//!
//! ```sh
//! WEIR_UPDATE_GOLDEN=1 cargo test -p weir-routers --test golden_ingress_and_smi
//! ```

use k8s_openapi::api::networking::v1::Ingress;
use weir_routers::Routes;
use weir_routers::contour;
use weir_routers::nginx::{self, DEFAULT_ANNOTATIONS_PREFIX};
use weir_routers::smi::{self, Flavor, TargetMesh, Version};
use weir_routers::traefik;

mod common;

use common::{canary, check, render, routes, yaml};

// -------------------------------------------------------------------- SMI

/// The service and analysis of Flagger's `artifacts/examples/linkerd-canary.yaml`
/// (metrics and webhooks left out: routers do not read them).
const LINKERD_CANARY: &str = "  provider: linkerd
  service:
    name: podinfo
    port: 80
    targetPort: 9898
    portName: http
    portDiscovery: true
  analysis:
    interval: 15s
    threshold: 10
    maxWeight: 50
    stepWeight: 5
";

fn linkerd() -> Flavor {
    Flavor::of(weir_api::Provider::Linkerd).expect("linkerd is an SMI provider")
}

#[test]
fn smi_linkerd_initial() {
    let canary = canary(LINKERD_CANARY, "  phase: Initializing\n");
    let split = smi::reconcile(None, &canary, linkerd());
    check(
        "smi-linkerd-initial",
        &render(
            "Linkerd (SMI v1alpha1), first reconcile of Flagger's linkerd-canary.yaml: the\n\
             TrafficSplit for the apex service, canary backend first, weights as quantities,\n\
             all traffic on the primary.",
            &[yaml(&split)],
        ),
    );
}

#[test]
fn smi_linkerd_progressive() {
    let canary = canary(LINKERD_CANARY, "  phase: Progressing\n  canaryWeight: 15\n");
    let created = smi::reconcile(None, &canary, linkerd());
    let split = smi::set_routes(&created, &canary, routes(85, 15, false), linkerd());
    check(
        "smi-linkerd-progressive",
        &render(
            "Linkerd (SMI v1alpha1), third step of linkerd-canary.yaml (stepWeight 5): 85/15.",
            &[yaml(&split)],
        ),
    );
}

#[test]
fn smi_osm_v1alpha2() {
    let canary = canary(
        "  provider: osm
  service:
    port: 8080
  analysis:
    interval: 30s
    threshold: 5
    maxWeight: 50
    stepWeight: 10
",
        "  phase: Progressing\n  canaryWeight: 40\n",
    );
    let flavor = Flavor::of(weir_api::Provider::Osm).expect("osm is an SMI provider");
    let created = smi::reconcile(None, &canary, flavor);
    let shifted = smi::set_routes(&created, &canary, routes(60, 40, false), flavor);
    let promoted = smi::set_routes(&created, &canary, Routes::ALL_CANARY, flavor);
    check(
        "smi-osm-v1alpha2",
        &render(
            "OSM (SMI v1alpha2): created with all traffic on the primary (the canary's zero\n\
             weight is left out, as Go's omitempty does), at 60/40, and all on the canary.",
            &[yaml(&created), yaml(&shifted), yaml(&promoted)],
        ),
    );
}

#[test]
fn smi_v1alpha3() {
    let canary = canary(
        "  provider: smi:v1alpha3
  service:
    port: 9898
  analysis:
    interval: 1m
    threshold: 5
    stepWeights: [1, 10, 50]
",
        "  phase: Progressing\n  canaryWeight: 10\n",
    );
    let flavor = Flavor::of(weir_api::Provider::SmiV1alpha3).expect("an SMI provider");
    let created = smi::reconcile(None, &canary, flavor);
    let shifted = smi::set_routes(&created, &canary, routes(90, 10, false), flavor);
    check(
        "smi-v1alpha3",
        &render(
            "SMI v1alpha3: created (integer weights, zero included), then at 90/10.",
            &[yaml(&created), yaml(&shifted)],
        ),
    );
}

#[test]
fn smi_istio_gateways() {
    let canary = canary(
        "  service:
    port: 9898
    hosts:
    - app.example.com
    - app.internal
    gateways:
    - istio-system/public-gateway
    - mesh
    apex:
      labels:
        team: payments
      annotations:
        owner: payments@example.com
",
        "  phase: Initializing\n",
    );
    let flavor = Flavor {
        version: Version::V1alpha1,
        target_mesh: TargetMesh::Istio,
    };
    let split = smi::reconcile(None, &canary, flavor);
    check(
        "smi-istio-gateways",
        &render(
            "SMI v1alpha1 read by Istio (Flagger's smi:v1alpha1:istio): the gateways go into\n\
             Istio's annotation as a JSON list, the service is hosts[0], and the apex labels\n\
             and annotations are carried with the Flux ones.",
            &[yaml(&split)],
        ),
    );
}

#[test]
fn smi_reconcile_keeps_weights() {
    let before = canary(LINKERD_CANARY, "  phase: Progressing\n  canaryWeight: 30\n");
    let created = smi::reconcile(None, &before, linkerd());
    let shifted = smi::set_routes(&created, &before, routes(70, 30, false), linkerd());
    let after = canary(
        &LINKERD_CANARY.replace(
            "    portDiscovery: true\n",
            "    portDiscovery: true\n    hosts:\n    - podinfo.test.svc.cluster.local\n",
        ),
        "  phase: Progressing\n  canaryWeight: 30\n",
    );
    let updated = smi::reconcile(Some(&shifted), &after, linkerd());
    check(
        "smi-reconcile-keeps-weights",
        &render(
            "Linkerd, reconcile during the analysis after spec.service.hosts changed: the\n\
             service follows hosts[0], the weights stay at 70/30 (Flagger writes 100/0).",
            &[yaml(&shifted), yaml(&updated)],
        ),
    );
}

// ------------------------------------------------------------------ NGINX

/// The Ingress of Flagger's e2e test (`test/nginx/test-canary.sh`), as the
/// API server returns it after `kubectl apply`.
const NGINX_INGRESS: &str = "apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: podinfo
  namespace: test
  labels:
    app: podinfo
  annotations:
    kubernetes.io/ingress.class: nginx
    kubectl.kubernetes.io/last-applied-configuration: '{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\"}'
spec:
  rules:
  - host: app.example.com
    http:
      paths:
      - pathType: Prefix
        path: /
        backend:
          service:
            name: podinfo
            port:
              number: 80
";

/// The Canary of the same e2e test (metrics and webhooks left out).
const NGINX_CANARY: &str = "  provider: nginx
  ingressRef:
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    name: podinfo
  progressDeadlineSeconds: 60
  service:
    port: 80
    targetPort: http
  analysis:
    interval: 15s
    threshold: 5
    maxWeight: 40
    stepWeight: 20
";

/// An A/B Canary modelled on Flagger's NGINX tutorial: a header and a cookie.
const NGINX_AB_CANARY: &str = "  provider: nginx
  ingressRef:
    apiVersion: networking.k8s.io/v1
    kind: Ingress
    name: podinfo
  service:
    port: 80
    targetPort: http
  analysis:
    interval: 1m
    threshold: 10
    iterations: 10
    match:
    - headers:
        x-canary:
          exact: insider
    - headers:
        cookie:
          exact: canary
";

fn nginx_ingress() -> Ingress {
    serde_saphyr::from_str(NGINX_INGRESS).expect("the e2e Ingress parses")
}

#[test]
fn nginx_initial() {
    let canary = canary(NGINX_CANARY, "  phase: Initializing\n");
    let ingress = nginx_ingress();
    let canary_ingress =
        nginx::reconcile(None, &canary, &ingress, DEFAULT_ANNOTATIONS_PREFIX).expect("reconcile");
    check(
        "nginx-initial",
        &render(
            "NGINX, first reconcile of Flagger's e2e canary: the user's Ingress, then its copy\n\
             podinfo-canary with the podinfo backend pointed at podinfo-canary, the labels\n\
             and annotations copied (kubectl's last-applied left out), the Flux annotations,\n\
             and no traffic (canary: true, canary-weight: 0).",
            &[yaml(&ingress), yaml(&canary_ingress)],
        ),
    );
}

#[test]
fn nginx_progressive() {
    let canary = canary(NGINX_CANARY, "  phase: Progressing\n  canaryWeight: 40\n");
    let created = nginx::reconcile(None, &canary, &nginx_ingress(), DEFAULT_ANNOTATIONS_PREFIX)
        .expect("reconcile");
    let canary_ingress = nginx::set_routes(
        &created,
        &canary,
        routes(60, 40, false),
        DEFAULT_ANNOTATIONS_PREFIX,
    )
    .expect("set routes");
    check(
        "nginx-progressive",
        &render(
            "NGINX, second step of the e2e canary (stepWeight 20): canary-weight 40.",
            &[yaml(&canary_ingress)],
        ),
    );
}

#[test]
fn nginx_ab_testing() {
    let canary = canary(NGINX_AB_CANARY, "  phase: Progressing\n  iterations: 2\n");
    let created = nginx::reconcile(None, &canary, &nginx_ingress(), DEFAULT_ANNOTATIONS_PREFIX)
        .expect("reconcile");
    let testing = nginx::set_routes(
        &created,
        &canary,
        Routes::ALL_CANARY,
        DEFAULT_ANNOTATIONS_PREFIX,
    )
    .expect("set routes");
    let finished = nginx::set_routes(
        &testing,
        &canary,
        Routes::ALL_PRIMARY,
        DEFAULT_ANNOTATIONS_PREFIX,
    )
    .expect("set routes");
    check(
        "nginx-ab-testing",
        &render(
            "NGINX, A/B testing on a header and a cookie: during the analysis (0/100)\n\
             requests with x-canary: insider or the cookie canary=always reach the canary,\n\
             nobody else (canary-weight 0); after it (100/0) only canary: true and\n\
             canary-weight: 0 remain.",
            &[yaml(&testing), yaml(&finished)],
        ),
    );
}

#[test]
fn nginx_reconcile_keeps_weights() {
    let canary = canary(NGINX_CANARY, "  phase: Progressing\n  canaryWeight: 20\n");
    let created = nginx::reconcile(None, &canary, &nginx_ingress(), DEFAULT_ANNOTATIONS_PREFIX)
        .expect("reconcile");
    let shifted = nginx::set_routes(
        &created,
        &canary,
        routes(80, 20, false),
        DEFAULT_ANNOTATIONS_PREFIX,
    )
    .expect("set routes");
    let changed: Ingress = serde_saphyr::from_str(
        &NGINX_INGRESS
            .replace("app.example.com", "www.example.com")
            .replace(
                "    kubernetes.io/ingress.class: nginx\n",
                "    kubernetes.io/ingress.class: nginx\n    nginx.ingress.kubernetes.io/proxy-body-size: 8m\n",
            ),
    )
    .expect("the changed Ingress parses");
    let updated = nginx::reconcile(
        Some(&shifted),
        &canary,
        &changed,
        DEFAULT_ANNOTATIONS_PREFIX,
    )
    .expect("reconcile");
    check(
        "nginx-reconcile-keeps-weights",
        &render(
            "NGINX, reconcile at 80/20 after the user's Ingress moved to www.example.com and\n\
             gained an annotation: the copy follows both and keeps canary-weight 20.",
            &[yaml(&updated)],
        ),
    );
}

// ---------------------------------------------------------------- Contour

/// A Canary modelled on Flagger's Contour tutorial, with retry conditions
/// added; metrics and webhooks left out.
const CONTOUR_CANARY: &str = "  provider: contour
  progressDeadlineSeconds: 60
  service:
    port: 80
    targetPort: 9898
    timeout: 15s
    retries:
      attempts: 3
      perTryTimeout: 5s
      retryOn: gateway-error,connect-failure,refused-stream
  analysis:
    interval: 30s
    threshold: 5
    maxWeight: 50
    stepWeight: 5
";

/// The `-ingress-class` the Contour e2e test runs Flagger with.
const INGRESS_CLASS: &str = "contour";

#[test]
fn contour_initial() {
    let canary = canary(CONTOUR_CANARY, "  phase: Initializing\n");
    let proxy = contour::reconcile(None, &canary, INGRESS_CLASS).expect("reconcile");
    check(
        "contour-initial",
        &render(
            "Contour, first reconcile with -ingress-class contour: one route on prefix /,\n\
             response timeout 15s with idle 5m, 3 retries on the listed conditions, both\n\
             services with Linkerd's l5d-dst-override header, all traffic on the primary\n\
             (the canary's zero weight is left out).",
            &[yaml(&proxy)],
        ),
    );
}

#[test]
fn contour_progressive() {
    let canary = canary(CONTOUR_CANARY, "  phase: Progressing\n  canaryWeight: 10\n");
    let created = contour::reconcile(None, &canary, INGRESS_CLASS).expect("reconcile");
    let proxy = contour::set_routes(&created, &canary, routes(90, 10, false), INGRESS_CLASS)
        .expect("set routes");
    check(
        "contour-progressive",
        &render("Contour, the canary at 90/10.", &[yaml(&proxy)]),
    );
}

#[test]
fn contour_ab_testing() {
    let canary = canary(
        "  provider: contour
  service:
    port: 9898
    match:
    - uri:
        prefix: /api
  analysis:
    interval: 1m
    threshold: 5
    iterations: 10
    match:
    - headers:
        x-canary:
          exact: insider
    - headers:
        user-agent:
          suffix: Firefox
        x-region:
          prefix: eu-
",
        "  phase: Progressing\n  iterations: 1\n",
    );
    let proxy = contour::http_proxy(&canary, Routes::ALL_CANARY, "").expect("proxy");
    check(
        "contour-ab-testing",
        &render(
            "Contour, A/B testing during the analysis (0/100) on prefix /api: one route per\n\
             analysis.match entry (x-canary exact; user-agent and x-region both, as contains),\n\
             the prefix written once per route, then the default route with all traffic on\n\
             the primary. No -ingress-class: no ingressClassName.",
            &[yaml(&proxy)],
        ),
    );
}

#[test]
fn contour_reconcile_keeps_weights() {
    let before = canary(CONTOUR_CANARY, "  phase: Progressing\n  canaryWeight: 30\n");
    let created = contour::reconcile(None, &before, INGRESS_CLASS).expect("reconcile");
    let shifted = contour::set_routes(&created, &before, routes(70, 30, false), INGRESS_CLASS)
        .expect("set routes");
    let after = canary(
        &CONTOUR_CANARY.replace("    timeout: 15s\n", "    timeout: 30s\n"),
        "  phase: Progressing\n  canaryWeight: 30\n",
    );
    let updated = contour::reconcile(Some(&shifted), &after, INGRESS_CLASS).expect("reconcile");
    check(
        "contour-reconcile-keeps-weights",
        &render(
            "Contour, reconcile at 70/30 after the timeout changed to 30s: the new timeout,\n\
             the same weights (Flagger writes 100/0).",
            &[yaml(&updated)],
        ),
    );
}

// ---------------------------------------------------------------- Traefik

/// A Canary modelled on Flagger's Traefik tutorial; metrics and webhooks left out.
const TRAEFIK_CANARY: &str = "  provider: traefik
  progressDeadlineSeconds: 60
  service:
    port: 80
    targetPort: 9898
  analysis:
    interval: 10s
    threshold: 10
    maxWeight: 50
    stepWeight: 5
";

#[test]
fn traefik_initial() {
    let canary = canary(TRAEFIK_CANARY, "  phase: Initializing\n");
    let service = traefik::reconcile(None, &canary);
    check(
        "traefik-initial",
        &render(
            "Traefik, first reconcile: a TraefikService balancing to the primary alone.",
            &[yaml(&service)],
        ),
    );
}

#[test]
fn traefik_progressive() {
    let canary = canary(TRAEFIK_CANARY, "  phase: Progressing\n  canaryWeight: 20\n");
    let created = traefik::reconcile(None, &canary);
    let shifted =
        traefik::set_routes(&created, &canary, routes(80, 20, false)).expect("set routes");
    let promoted = traefik::set_routes(&created, &canary, Routes::ALL_CANARY).expect("set routes");
    check(
        "traefik-progressive",
        &render(
            "Traefik, the canary at 80/20, then with all traffic on the canary: the primary\n\
             keeps an explicit weight 0 (weir; Flagger leaves it out, which Traefik reads\n\
             as 1).",
            &[yaml(&shifted), yaml(&promoted)],
        ),
    );
}

#[test]
fn traefik_reconcile_keeps_weights() {
    let before = canary(TRAEFIK_CANARY, "  phase: Progressing\n  canaryWeight: 25\n");
    let created = traefik::reconcile(None, &before);
    let shifted =
        traefik::set_routes(&created, &before, routes(75, 25, false)).expect("set routes");
    let after = canary(
        &TRAEFIK_CANARY.replace(
            "    targetPort: 9898\n",
            "    targetPort: 9898\n    apex:\n      labels:\n        team: payments\n",
        ),
        "  phase: Progressing\n  canaryWeight: 25\n",
    );
    let updated = traefik::reconcile(Some(&shifted), &after);
    check(
        "traefik-reconcile-keeps-weights",
        &render(
            "Traefik, reconcile at 75/25 after apex labels were added: the labels, the same\n\
             weights.",
            &[yaml(&updated)],
        ),
    );
}
