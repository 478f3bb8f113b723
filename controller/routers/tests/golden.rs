//! Golden files: the objects each router writes, rendered as YAML.
//!
//! Every file under `tests/golden` was checked by hand, field by field,
//! against `flagger-semantics.md` §9.1 (Istio) and §9.2 (Gateway API); they
//! are the specification the generators are held to. After an intended
//! change, regenerate them and review the diff:
//!
//! ```sh
//! WEIR_UPDATE_GOLDEN=1 cargo test -p weir-routers --test golden
//! ```

use weir_routers::Routes;
use weir_routers::gateway_api::{self, Version};
use weir_routers::istio;

mod common;

use common::{canary, check, render, routes, yaml};

// ------------------------------------------------------------------ Istio

/// The service block of Flagger's `artifacts/examples/istio-canary.yaml`.
const ISTIO_SERVICE: &str = "  service:
    name: podinfo
    port: 80
    targetPort: 9898
    portName: http
    portDiscovery: true
    gateways:
    - istio-system/public-gateway
    - mesh
    hosts:
    - app.example.com
    trafficPolicy:
      tls:
        mode: DISABLE
    match:
    - uri:
        prefix: /
    rewrite:
      uri: /
    timeout: 30s
";

const PROGRESSIVE_ANALYSIS: &str = "  analysis:
    interval: 15s
    threshold: 10
    maxWeight: 50
    stepWeight: 5
";

#[test]
fn istio_initial() {
    let canary = canary(
        &format!("  provider: istio\n{ISTIO_SERVICE}{PROGRESSIVE_ANALYSIS}"),
        "  phase: Initializing\n",
    );
    let [canary_rule, primary_rule] = istio::destination_rules(&canary);
    let virtual_service = istio::reconcile(None, &canary).expect("reconcile");
    check(
        "istio-initial",
        &render(
            "Istio, first reconcile of Flagger's istio-canary.yaml: DestinationRules for\n\
             canary and primary, VirtualService with all traffic on the primary.",
            &[
                yaml(&canary_rule),
                yaml(&primary_rule),
                yaml(&virtual_service),
            ],
        ),
    );
}

#[test]
fn istio_progressive() {
    let canary = canary(
        &format!("  provider: istio\n{ISTIO_SERVICE}{PROGRESSIVE_ANALYSIS}"),
        "  phase: Progressing\n  canaryWeight: 30\n",
    );
    let virtual_service = istio::virtual_service(&canary, routes(70, 30, false));
    check(
        "istio-progressive",
        &render(
            "Istio, progressive canary at 70/30.",
            &[yaml(&virtual_service)],
        ),
    );
}

#[test]
fn istio_ab_testing() {
    let canary = canary(
        "  provider: istio
  service:
    port: 9898
    match:
    - uri:
        prefix: /api
    - uri:
        prefix: /web
      method:
        exact: GET
    headers:
      request:
        add:
          x-envoy-upstream-rq-timeout-ms: \"15000\"
    retries:
      attempts: 3
      perTryTimeout: 1s
      retryOn: gateway-error,connect-failure,refused-stream
  analysis:
    interval: 1m
    threshold: 5
    iterations: 10
    match:
    - headers:
        cookie:
          regex: \"^(.*?;)?(type=insider)(;.*)?$\"
    - headers:
        user-agent:
          suffix: Firefox
      sourceLabels:
        app: frontend
    - queryParams:
        beta:
          exact: \"true\"
",
        "  phase: Progressing\n  iterations: 1\n",
    );
    let virtual_service = istio::virtual_service(&canary, Routes::ALL_CANARY);
    check(
        "istio-ab-testing",
        &render(
            "Istio, A/B testing during the analysis (0/100): analysis.match (3 entries) x\n\
             service.match (2 entries) = 6 conditions routed to the canary; headers, source\n\
             labels and (weir) query parameters override the service condition's. The second\n\
             rule sends everything else to the primary.",
            &[yaml(&virtual_service)],
        ),
    );
}

#[test]
fn istio_mirroring() {
    let canary = canary(
        "  provider: istio
  service:
    port: 9898
  analysis:
    interval: 1m
    threshold: 5
    maxWeight: 50
    stepWeight: 10
    mirror: true
    mirrorWeight: 25
",
        "  phase: Progressing\n",
    );
    let virtual_service = istio::virtual_service(&canary, routes(100, 0, true));
    check(
        "istio-mirroring",
        &render(
            "Istio, the mirror step of a progressive canary with mirrorWeight 25: all traffic\n\
             on the primary, 25% of it copied to the canary.",
            &[yaml(&virtual_service)],
        ),
    );
}

const SESSION_AFFINITY_ANALYSIS: &str = "  analysis:
    interval: 1m
    threshold: 5
    maxWeight: 50
    stepWeight: 10
    sessionAffinity:
      cookieName: flagger-cookie
      primaryCookieName: flagger-primary-cookie
      maxAge: 7200
      domain: app.example.com
      path: /
      httpOnly: true
      sameSite: Lax
      secure: true
";

#[test]
fn istio_session_affinity() {
    let canary = canary(
        &format!(
            "  provider: istio
  service:
    port: 9898
    match:
    - uri:
        prefix: /
{SESSION_AFFINITY_ANALYSIS}"
        ),
        "  phase: Progressing
  canaryWeight: 20
  sessionAffinityCookie: flagger-cookie=LpsIaLdoNZ
  primarySessionAffinityCookie: flagger-primary-cookie=GhqfSyQvEc
",
    );
    let virtual_service = istio::virtual_service(&canary, routes(80, 20, false));
    check(
        "istio-session-affinity",
        &render(
            "Istio, session affinity at weight 20 with canary and primary cookies: sticky rules\n\
             for each cookie, then the weighted rule whose destinations set the cookies\n\
             (canary: maxAge 7200; primary: one interval, 60 s).",
            &[yaml(&virtual_service)],
        ),
    );
}

#[test]
fn istio_session_affinity_cleanup() {
    let canary = canary(
        &format!(
            "  provider: istio
  service:
    port: 9898
    match:
    - uri:
        prefix: /
{SESSION_AFFINITY_ANALYSIS}"
        ),
        "  phase: Succeeded
  previousSessionAffinityCookie: flagger-cookie=LpsIaLdoNZ
  primarySessionAffinityCookie: flagger-primary-cookie=GhqfSyQvEc
",
    );
    let virtual_service = istio::virtual_service(&canary, Routes::ALL_PRIMARY);
    check(
        "istio-session-affinity-cleanup",
        &render(
            "Istio, session affinity back at weight 0: the previous run's canary cookie is\n\
             matched and expired (Max-Age=-1, with its Domain and Path), all traffic on the\n\
             primary.",
            &[yaml(&virtual_service)],
        ),
    );
}

#[test]
fn istio_delegation() {
    let canary = canary(
        "  provider: istio
  service:
    port: 9898
    portDiscovery: true
    delegation: true
  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 10
",
        "  phase: Progressing\n",
    );
    let virtual_service = istio::reconcile(None, &canary).expect("reconcile");
    check(
        "istio-delegation",
        &render(
            "Istio, a delegate VirtualService: no hosts (written as []), no gateways, and with\n\
             port discovery an explicit destination port.",
            &[yaml(&virtual_service)],
        ),
    );
}

#[test]
fn istio_port_discovery_behind_a_gateway() {
    let canary = canary(
        "  provider: istio
  service:
    port: 9898
    portDiscovery: true
    gateways:
    - istio-system/public-gateway
    hosts:
    - app.example.com
    - podinfo
  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 10
",
        "  phase: Progressing\n  canaryWeight: 10\n",
    );
    let virtual_service = istio::virtual_service(&canary, routes(90, 10, false));
    check(
        "istio-port-discovery",
        &render(
            "Istio, port discovery behind an ingress gateway without mesh: destinations name\n\
             the port, the gateway list is the user's, the apex host is not added twice.",
            &[yaml(&virtual_service)],
        ),
    );
}

#[test]
fn istio_tcp() {
    let canary = canary(
        "  provider: istio
  service:
    port: 6379
    appProtocol: TCP
    match:
    - port: 6379
  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 10
",
        "  phase: Progressing\n",
    );
    let virtual_service = istio::virtual_service(&canary, routes(60, 40, false));
    check(
        "istio-tcp",
        &render(
            "Istio, appProtocol TCP at 60/40: a tcp rule matching the service.match ports.",
            &[yaml(&virtual_service)],
        ),
    );
}

// ------------------------------------------------------------ Gateway API

const GATEWAY_SERVICE: &str = "  service:
    port: 9898
    hosts:
    - www.example.com
    gatewayRefs:
    - name: gateway
      namespace: istio-ingress
    timeout: 30s
    backendTimeout: 10s
    match:
    - uri:
        prefix: /api
      headers:
        x-tenant:
          exact: acme
    headers:
      request:
        set:
          x-b: two
          x-a: one
        remove:
        - x-debug
      response:
        add:
          x-served-by: weir
    rewrite:
      uri: /v2
      type: ReplacePrefixMatch
      authority: backend.example.com
    mirror:
    - backendRef:
        name: podinfo-shadow
        port: 9898
    corsPolicy:
      allowOrigin:
      - https://example.com
      allowMethods:
      - GET
      - POST
      allowCredentials: true
      maxAge: 24h
";

#[test]
fn gateway_api_v1() {
    let canary = canary(
        &format!("  provider: gatewayapi:v1\n{GATEWAY_SERVICE}{PROGRESSIVE_ANALYSIS}"),
        "  phase: Progressing\n  canaryWeight: 10\n",
    );
    let http_route =
        gateway_api::http_route(&canary, routes(90, 10, false), Version::V1).expect("route");
    check(
        "gatewayapi-v1",
        &render(
            "Gateway API v1 at 90/10: parentRefs from gatewayRefs (defaults filled in),\n\
             hostnames, mapped service match, filters (request/response headers sorted by\n\
             name, URL rewrite, static mirror, CORS) and timeouts.",
            &[yaml(&http_route)],
        ),
    );
}

#[test]
fn gateway_api_v1beta1() {
    let canary = canary(
        &format!("  provider: gatewayapi:v1beta1\n{GATEWAY_SERVICE}{SESSION_AFFINITY_ANALYSIS}"),
        "  phase: Progressing
  canaryWeight: 10
  sessionAffinityCookie: flagger-cookie=LpsIaLdoNZ
  primarySessionAffinityCookie: flagger-primary-cookie=GhqfSyQvEc
",
    );
    let http_route =
        gateway_api::http_route(&canary, routes(90, 10, false), Version::V1beta1).expect("route");
    check(
        "gatewayapi-v1beta1",
        &render(
            "Gateway API v1beta1, the same Canary with session affinity at 90/10: no timeouts,\n\
             no CORS filter and no primary cookie.",
            &[yaml(&http_route)],
        ),
    );
}

#[test]
fn gateway_api_ab_testing() {
    let canary = canary(
        "  provider: gatewayapi:v1
  service:
    port: 9898
    gatewayRefs:
    - name: gateway
      namespace: istio-ingress
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
    - queryParams:
        beta:
          exact: \"true\"
",
        "  phase: Progressing\n  iterations: 1\n",
    );
    let http_route =
        gateway_api::http_route(&canary, Routes::ALL_CANARY, Version::V1).expect("route");
    check(
        "gatewayapi-ab-testing",
        &render(
            "Gateway API A/B testing during the analysis (0/100): each analysis condition\n\
             merged into the default PathPrefix / match; a second rule sends the rest to the\n\
             primary (weight 100).",
            &[yaml(&http_route)],
        ),
    );
}

#[test]
fn gateway_api_blue_green_mirror() {
    let canary = canary(
        "  provider: gatewayapi:v1
  service:
    port: 9898
    gatewayRefs:
    - name: gateway
      namespace: istio-ingress
  analysis:
    interval: 1m
    threshold: 5
    iterations: 10
    mirror: true
",
        "  phase: Progressing\n  iterations: 2\n",
    );
    let http_route =
        gateway_api::http_route(&canary, routes(100, 0, true), Version::V1).expect("route");
    check(
        "gatewayapi-blue-green-mirror",
        &render(
            "Gateway API blue/green with mirroring: all traffic on the primary, every request\n\
             copied to the canary by a RequestMirror filter.",
            &[yaml(&http_route)],
        ),
    );
}

#[test]
fn gateway_api_session_affinity() {
    let canary = canary(
        &format!(
            "  provider: gatewayapi:v1
  service:
    port: 9898
    gatewayRefs:
    - name: gateway
      namespace: istio-ingress
{SESSION_AFFINITY_ANALYSIS}"
        ),
        "  phase: Progressing
  canaryWeight: 20
  sessionAffinityCookie: flagger-cookie=LpsIaLdoNZ
  primarySessionAffinityCookie: flagger-primary-cookie=GhqfSyQvEc
",
    );
    let http_route =
        gateway_api::http_route(&canary, routes(80, 20, false), Version::V1).expect("route");
    check(
        "gatewayapi-session-affinity",
        &render(
            "Gateway API v1 session affinity at weight 20: cookie rules for canary and primary,\n\
             then the weighted rule whose backends set the cookies.",
            &[yaml(&http_route)],
        ),
    );
}

#[test]
fn gateway_api_session_affinity_cleanup() {
    let canary = canary(
        &format!(
            "  provider: gatewayapi:v1
  service:
    port: 9898
    gatewayRefs:
    - name: gateway
      namespace: istio-ingress
{SESSION_AFFINITY_ANALYSIS}"
        ),
        "  phase: Succeeded
  previousSessionAffinityCookie: flagger-cookie=LpsIaLdoNZ
",
    );
    let http_route =
        gateway_api::http_route(&canary, Routes::ALL_PRIMARY, Version::V1).expect("route");
    check(
        "gatewayapi-session-affinity-cleanup",
        &render(
            "Gateway API v1 session affinity back at weight 0: a rule matching the previous\n\
             cookie expires it; all traffic on the primary.",
            &[yaml(&http_route)],
        ),
    );
}
