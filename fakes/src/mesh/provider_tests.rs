//! The providers beyond Istio and Gateway API: what the fake mesh stores,
//! what `routes()` reads back and where requests go.

use serde_json::{Value, json};
use weir_api::{Canary, CanaryPhase};
use weir_engine::ports::{Routes, Routing};
use weir_engine::{EngineConfig, Ports, advance};

use super::{MeshRouter, Request, RouteDecision};
use crate::{
    FakeAlerts, FakeApi, FakeClock, FakeCluster, FakeEntropy, FakeEvents, FakeMetrics, FakeScalers,
    FakeTelemetry, FakeWebhooks,
};

/// A Canary `podinfo` in `test`: `spec` below `spec:` (after `targetRef`),
/// `status` below `status:`.
fn canary(spec: &str, status: &str) -> Canary {
    let yaml = format!(
        "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata:\n  name: podinfo\n  namespace: test\nspec:\n  targetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: podinfo\n{spec}status:\n{status}"
    );
    serde_saphyr::from_str(&yaml)
        .unwrap_or_else(|error| panic!("invalid test canary: {error}\n{yaml}"))
}

fn mesh_for(canary: &Canary) -> MeshRouter {
    MeshRouter::new(
        canary
            .spec
            .provider
            .expect("the test canary names its provider"),
    )
}

/// A mesh after the engine's initialization, then `set_routes(routes)`.
fn routed(canary: &Canary, routes: Routes) -> MeshRouter {
    let mut mesh = mesh_for(canary);
    mesh.reconcile_services(canary).expect("services");
    mesh.reconcile_apex(canary).expect("apex");
    mesh.reconcile_mesh(canary).expect("mesh");
    mesh.set_routes(canary, routes).expect("set routes");
    mesh
}

fn split(primary: i32, canary: i32) -> Routes {
    Routes {
        primary,
        canary,
        mirrored: false,
    }
}

/// The stored object `kind`/`name`, as `objects()` lists it.
fn stored(mesh: &MeshRouter, kind: &str, name: &str) -> Value {
    mesh.objects()
        .into_iter()
        .find(|(listed_kind, listed_name, _)| listed_kind == kind && listed_name == name)
        .map(|(_, _, object)| object)
        .unwrap_or_else(|| panic!("no {kind} {name} in {:#?}", mesh.objects()))
}

fn shares(decision: &RouteDecision) -> (f64, f64) {
    (
        (decision.primary * 1e6).round() / 1e6,
        (decision.canary * 1e6).round() / 1e6,
    )
}

const SERVICE: &str = "  service:\n    port: 9898\n";
const INGRESS_REF: &str =
    "  ingressRef:\n    apiVersion: networking.k8s.io/v1\n    kind: Ingress\n    name: podinfo\n";
const ROUTE_REF: &str =
    "  routeRef:\n    apiVersion: apisix.apache.org/v2\n    kind: ApisixRoute\n    name: podinfo\n";
const APP_MESH_SERVICE: &str = "  service:\n    port: 9898\n    meshName: global\n";

/// The spec lines (after `targetRef`) of a progressive Canary for `provider`.
fn progressive(provider: &str) -> String {
    let references = match provider {
        "nginx" | "skipper" => INGRESS_REF,
        "apisix" => ROUTE_REF,
        _ => "",
    };
    let service = if provider.starts_with("appmesh") {
        APP_MESH_SERVICE
    } else {
        SERVICE
    };
    format!(
        "  provider: {provider}\n{references}{service}  analysis:\n    interval: 1m\n    threshold: 2\n    maxWeight: 40\n    stepWeight: 20\n"
    )
}

/// The spec lines of an A/B Canary for `provider` with `matches` under `match:`.
fn ab_testing(provider: &str, matches: &str) -> String {
    let references = match provider {
        "nginx" => INGRESS_REF,
        "apisix" => ROUTE_REF,
        _ => "",
    };
    let service = if provider.starts_with("appmesh") {
        APP_MESH_SERVICE
    } else {
        SERVICE
    };
    format!(
        "  provider: {provider}\n{references}{service}  analysis:\n    interval: 1m\n    threshold: 2\n    iterations: 3\n    match:\n{matches}"
    )
}

const INSIDER_HEADER: &str = "    - headers:\n        x-canary:\n          exact: insider\n";

/// Every provider whose objects this module stores, but Knative (whose
/// canary is a revision, see its own tests), with where the stored object
/// keeps the split and what it holds for 30/70.
fn split_locations() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Value,
)> {
    vec![
        (
            "linkerd",
            "TrafficSplit",
            "podinfo",
            "/spec/backends",
            json!([{"service": "podinfo-canary", "weight": "70"}, {"service": "podinfo-primary", "weight": "30"}]),
        ),
        (
            "osm",
            "TrafficSplit",
            "podinfo",
            "/spec/backends",
            json!([{"service": "podinfo-canary", "weight": 70}, {"service": "podinfo-primary", "weight": 30}]),
        ),
        (
            "smi:v1alpha3",
            "TrafficSplit",
            "podinfo",
            "/spec/backends",
            json!([{"service": "podinfo-canary", "weight": 70}, {"service": "podinfo-primary", "weight": 30}]),
        ),
        (
            "nginx",
            "Ingress",
            "podinfo-canary",
            "/metadata/annotations/nginx.ingress.kubernetes.io~1canary-weight",
            json!("70"),
        ),
        (
            "skipper",
            "Ingress",
            "podinfo-canary",
            "/metadata/annotations/zalando.org~1backend-weights",
            json!(r#"{"podinfo-canary":70,"podinfo-primary":30}"#),
        ),
        (
            "contour",
            "HTTPProxy",
            "podinfo",
            "/spec/routes/0/services",
            json!([
                {"name": "podinfo-primary", "port": 9898, "weight": 30, "requestHeadersPolicy": {"set": [{"name": "l5d-dst-override", "value": "podinfo-primary.test.svc.cluster.local:9898"}]}},
                {"name": "podinfo-canary", "port": 9898, "weight": 70, "requestHeadersPolicy": {"set": [{"name": "l5d-dst-override", "value": "podinfo-canary.test.svc.cluster.local:9898"}]}}
            ]),
        ),
        (
            "traefik",
            "TraefikService",
            "podinfo",
            "/spec/weighted/services",
            json!([
                {"name": "podinfo-primary", "namespace": "test", "port": 9898, "weight": 30},
                {"name": "podinfo-canary", "namespace": "test", "port": 9898, "weight": 70}
            ]),
        ),
        (
            "gloo",
            "RouteTable",
            "podinfo",
            "/spec/routes/0/routeAction/multi/destinations",
            json!([
                {"destination": {"upstream": {"name": "test-podinfo-primaryupstream-9898", "namespace": "test"}}, "weight": 30},
                {"destination": {"upstream": {"name": "test-podinfo-canaryupstream-9898", "namespace": "test"}}, "weight": 70}
            ]),
        ),
        (
            "apisix",
            "ApisixRoute",
            "podinfo-podinfo-canary",
            "/spec/http/0/backends",
            json!([
                {"serviceName": "podinfo-primary", "servicePort": 9898, "weight": 30},
                {"serviceName": "podinfo-canary", "servicePort": 9898, "weight": 70}
            ]),
        ),
        (
            "kuma",
            "TrafficRoute",
            "podinfo",
            "/spec/conf/split",
            json!([
                {"weight": 30, "destination": {"kuma.io/service": "podinfo-primary_test_svc_9898"}},
                {"weight": 70, "destination": {"kuma.io/service": "podinfo-canary_test_svc_9898"}}
            ]),
        ),
        (
            "appmesh",
            "VirtualService",
            "podinfo.test",
            "/spec/routes/0/http/action/weightedTargets",
            json!([
                {"virtualNodeName": "podinfo-canary", "weight": 70},
                {"virtualNodeName": "podinfo-primary", "weight": 30}
            ]),
        ),
        (
            "appmesh:v1beta2",
            "VirtualRouter",
            "podinfo",
            "/spec/routes/0/httpRoute/action/weightedTargets",
            json!([
                {"virtualNodeRef": {"name": "podinfo-canary"}, "weight": 70},
                {"virtualNodeRef": {"name": "podinfo-primary"}, "weight": 30}
            ]),
        ),
    ]
}

#[test]
fn every_provider_stores_the_split_reads_it_back_and_routes_users_by_it() {
    for (provider, kind, name, pointer, expected) in split_locations() {
        let canary = canary(&progressive(provider), "  phase: Progressing\n");
        let mut mesh = routed(&canary, split(30, 70));
        let object = stored(&mesh, kind, name);
        assert_eq!(
            object.pointer(pointer),
            Some(&expected),
            "{provider}: {object:#}"
        );
        assert_eq!(mesh.routes(&canary), Ok(split(30, 70)), "{provider}");
        let decision = mesh.route(&Request::get("/"));
        assert_eq!(shares(&decision), (0.3, 0.7), "{provider}");
        assert_eq!(decision.mirror, 0.0, "{provider}");
    }
}

#[test]
fn every_provider_starts_with_all_traffic_on_the_primary() {
    for (provider, ..) in split_locations() {
        let canary = canary(&progressive(provider), "  phase: Initializing\n");
        let mut mesh = mesh_for(&canary);
        assert!(
            mesh.routes(&canary).is_err(),
            "{provider}: nothing stored yet"
        );
        mesh.reconcile_services(&canary).expect("services");
        mesh.reconcile_apex(&canary).expect("apex");
        mesh.reconcile_mesh(&canary).expect("mesh");
        assert_eq!(mesh.routes(&canary), Ok(Routes::ALL_PRIMARY), "{provider}");
        assert_eq!(
            mesh.route(&Request::get("/")),
            RouteDecision::all_primary(),
            "{provider}"
        );
    }
}

#[test]
fn set_routes_before_reconcile_fails_like_the_live_controller() {
    let cases = [
        (
            "linkerd",
            "TrafficSplit podinfo.test get query error: not found",
        ),
        (
            "nginx",
            "Ingress podinfo-canary.test get query error: not found",
        ),
        ("kuma", "TrafficRoute podinfo. get query error: not found"),
        (
            "appmesh",
            "VirtualService podinfo.test.test get query error: not found",
        ),
    ];
    for (provider, message) in cases {
        let canary = canary(&progressive(provider), "  phase: Initializing\n");
        let mut mesh = mesh_for(&canary);
        let error = mesh
            .set_routes(&canary, split(90, 10))
            .expect_err("nothing to update");
        assert_eq!(error.0, message);
    }
}

#[test]
fn objects_carry_their_api_version_kind_and_name() {
    for (provider, ..) in split_locations() {
        let canary = canary(&progressive(provider), "  phase: Progressing\n");
        let mesh = routed(&canary, split(90, 10));
        let listed = mesh.objects();
        assert!(!listed.is_empty(), "{provider}");
        for (kind, name, object) in &listed {
            assert_eq!(object["kind"], json!(kind), "{provider}: {object:#}");
            assert_eq!(object["metadata"]["name"], json!(name), "{provider}");
            assert!(
                object["apiVersion"]
                    .as_str()
                    .is_some_and(|version| !version.is_empty()),
                "{provider}: {object:#}"
            );
        }
        let keys: Vec<(&String, &String)> =
            listed.iter().map(|(kind, name, _)| (kind, name)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{provider}: listed by kind, then name");
    }
}

#[test]
fn each_provider_stores_the_objects_the_live_controller_writes() {
    let cases: [(&str, &[(&str, &str)]); 6] = [
        (
            "nginx",
            &[("Ingress", "podinfo"), ("Ingress", "podinfo-canary")],
        ),
        (
            "gloo",
            &[
                ("RouteTable", "podinfo"),
                ("Upstream", "test-podinfo-canaryupstream-9898"),
                ("Upstream", "test-podinfo-primaryupstream-9898"),
            ],
        ),
        (
            "apisix",
            &[
                ("ApisixRoute", "podinfo"),
                ("ApisixRoute", "podinfo-podinfo-canary"),
            ],
        ),
        (
            "appmesh",
            &[
                ("VirtualNode", "podinfo"),
                ("VirtualNode", "podinfo-canary"),
                ("VirtualNode", "podinfo-primary"),
                ("VirtualService", "podinfo-canary.test"),
                ("VirtualService", "podinfo.test"),
            ],
        ),
        (
            "appmesh:v1beta2",
            &[
                ("VirtualNode", "podinfo-canary"),
                ("VirtualNode", "podinfo-primary"),
                ("VirtualRouter", "podinfo"),
                ("VirtualRouter", "podinfo-canary"),
                ("VirtualService", "podinfo"),
                ("VirtualService", "podinfo-canary"),
            ],
        ),
        ("kuma", &[("TrafficRoute", "podinfo")]),
    ];
    for (provider, expected) in cases {
        let canary = canary(&progressive(provider), "  phase: Progressing\n");
        let mesh = routed(&canary, split(90, 10));
        let listed: Vec<(String, String)> = mesh
            .objects()
            .into_iter()
            .map(|(kind, name, _)| (kind, name))
            .collect();
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(kind, name)| ((*kind).to_owned(), (*name).to_owned()))
            .collect();
        assert_eq!(listed, expected, "{provider}");
    }
}

#[test]
fn the_user_objects_are_made_up_from_the_canary() {
    let nginx = canary(&progressive("nginx"), "  phase: Progressing\n");
    let mesh = routed(&nginx, split(90, 10));
    let ingress = stored(&mesh, "Ingress", "podinfo");
    assert_eq!(
        ingress["spec"]["rules"][0]["http"]["paths"][0],
        json!({"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "podinfo", "port": {"number": 9898}}}})
    );
    let copy = stored(&mesh, "Ingress", "podinfo-canary");
    assert_eq!(
        copy["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"],
        "podinfo-canary"
    );

    let apisix = canary(&progressive("apisix"), "  phase: Progressing\n");
    let mesh = routed(&apisix, split(90, 10));
    let route = stored(&mesh, "ApisixRoute", "podinfo");
    assert_eq!(route["spec"]["http"][0]["match"]["paths"], json!(["/*"]));
    assert_eq!(
        route["spec"]["http"][0]["backends"],
        json!([{"serviceName": "podinfo", "servicePort": 9898, "weight": null}])
    );
    let copy = stored(&mesh, "ApisixRoute", "podinfo-podinfo-canary");
    assert_eq!(copy["spec"]["http"][0]["priority"], 10000);
}

#[test]
fn the_ingress_providers_need_an_ingress_ref_and_apisix_a_route_ref() {
    for (provider, message) in [
        (
            "nginx",
            "canary podinfo.test: the nginx provider needs spec.ingressRef",
        ),
        (
            "skipper",
            "canary podinfo.test: the skipper provider needs spec.ingressRef",
        ),
        (
            "apisix",
            "canary podinfo.test: the apisix provider needs spec.routeRef",
        ),
    ] {
        let canary = canary(
            &format!("  provider: {provider}\n{SERVICE}"),
            "  phase: Initializing\n",
        );
        let mut mesh = mesh_for(&canary);
        let error = mesh.reconcile_mesh(&canary).expect_err("no reference");
        assert_eq!(error.0, message);
        assert!(mesh.objects().is_empty(), "{provider}");
    }
}

#[test]
fn mirroring_is_ignored_by_every_provider_but_istio_and_gateway_api() {
    let mirrored = Routes {
        mirrored: true,
        ..Routes::ALL_PRIMARY
    };
    for (provider, ..) in split_locations() {
        let canary = canary(&progressive(provider), "  phase: Progressing\n");
        let mut mesh = routed(&canary, mirrored);
        assert_eq!(mesh.routes(&canary), Ok(Routes::ALL_PRIMARY), "{provider}");
        assert_eq!(mesh.route(&Request::get("/")).mirror, 0.0, "{provider}");
    }
}

// ------------------------------------------------------------ A/B testing

#[test]
fn ab_providers_send_matching_requests_to_the_canary_and_the_rest_to_the_primary() {
    for provider in [
        "nginx",
        "contour",
        "gloo",
        "apisix",
        "appmesh",
        "appmesh:v1beta2",
    ] {
        let canary = canary(
            &ab_testing(provider, INSIDER_HEADER),
            "  phase: Progressing\n  iterations: 1\n",
        );
        let mut mesh = routed(&canary, Routes::ALL_CANARY);
        assert_eq!(mesh.routes(&canary), Ok(Routes::ALL_CANARY), "{provider}");
        let insider = mesh.route(&Request::get("/").header("X-Canary", "insider"));
        assert_eq!(shares(&insider), (0.0, 1.0), "{provider}");
        for other in [
            Request::get("/"),
            Request::get("/").header("x-canary", "outsider"),
            Request::get("/").header("x-other", "insider"),
        ] {
            assert_eq!(
                shares(&mesh.route(&other)),
                (1.0, 0.0),
                "{provider}: {other:?}"
            );
        }
        // Promotion: everyone on the primary, insiders too.
        mesh.set_routes(&canary, Routes::ALL_PRIMARY)
            .expect("promote");
        let insider = mesh.route(&Request::get("/").header("x-canary", "insider"));
        assert_eq!(shares(&insider), (1.0, 0.0), "{provider}");
    }
}

#[test]
fn ab_alternatives_each_reach_the_canary_where_the_provider_has_them() {
    let matches = "    - headers:\n        x-canary:\n          exact: insider\n    - headers:\n        x-beta:\n          exact: \"yes\"\n";
    for provider in ["contour", "gloo", "apisix"] {
        let canary = canary(
            &ab_testing(provider, matches),
            "  phase: Progressing\n  iterations: 1\n",
        );
        let mesh = routed(&canary, Routes::ALL_CANARY);
        for insider in [
            Request::get("/").header("x-canary", "insider"),
            Request::get("/").header("x-beta", "yes"),
        ] {
            assert_eq!(
                shares(&mesh.route(&insider)),
                (0.0, 1.0),
                "{provider}: {insider:?}"
            );
        }
        assert_eq!(shares(&mesh.route(&Request::get("/"))), (1.0, 0.0));
    }
}

#[test]
fn app_mesh_requires_every_header_of_every_match_entry() {
    let matches = "    - headers:\n        x-canary:\n          exact: insider\n    - headers:\n        x-beta:\n          prefix: \"y\"\n";
    for provider in ["appmesh", "appmesh:v1beta2"] {
        let canary = canary(
            &ab_testing(provider, matches),
            "  phase: Progressing\n  iterations: 1\n",
        );
        let mesh = routed(&canary, Routes::ALL_CANARY);
        let both = Request::get("/")
            .header("x-canary", "insider")
            .header("x-beta", "yes");
        assert_eq!(shares(&mesh.route(&both)), (0.0, 1.0), "{provider}");
        let one = Request::get("/").header("x-canary", "insider");
        assert_eq!(shares(&mesh.route(&one)), (1.0, 0.0), "{provider}");
    }
}

#[test]
fn gloo_and_apisix_match_query_parameters_and_regular_expressions() {
    let matches = "    - queryParams:\n        beta:\n          regex: \"true|yes\"\n";
    for provider in ["gloo", "apisix"] {
        let canary = canary(
            &ab_testing(provider, matches),
            "  phase: Progressing\n  iterations: 1\n",
        );
        let mesh = routed(&canary, Routes::ALL_CANARY);
        assert_eq!(
            shares(&mesh.route(&Request::get("/api?beta=yes"))),
            (0.0, 1.0),
            "{provider}"
        );
        assert_eq!(
            shares(&mesh.route(&Request::get("/api?beta=no"))),
            (1.0, 0.0),
            "{provider}"
        );
    }
    // Envoy (Gloo) matches the whole value; APISIX's `~~` finds the pattern anywhere.
    let gloo = canary(
        &ab_testing("gloo", matches),
        "  phase: Progressing\n  iterations: 1\n",
    );
    let apisix = canary(
        &ab_testing("apisix", matches),
        "  phase: Progressing\n  iterations: 1\n",
    );
    let yesterday = Request::get("/api?beta=yesterday");
    assert_eq!(
        shares(&routed(&gloo, Routes::ALL_CANARY).route(&yesterday)),
        (1.0, 0.0)
    );
    assert_eq!(
        shares(&routed(&apisix, Routes::ALL_CANARY).route(&yesterday)),
        (0.0, 1.0)
    );
}

#[test]
fn contour_matches_prefix_and_suffix_headers_as_contains() {
    let matches = "    - headers:\n        x-user:\n          prefix: beta\n";
    let canary = canary(
        &ab_testing("contour", matches),
        "  phase: Progressing\n  iterations: 1\n",
    );
    let mesh = routed(&canary, Routes::ALL_CANARY);
    for value in ["beta-tester", "not-beta"] {
        assert_eq!(
            shares(&mesh.route(&Request::get("/").header("x-user", value))),
            (0.0, 1.0),
            "{value}"
        );
    }
    assert_eq!(
        shares(&mesh.route(&Request::get("/").header("x-user", "alpha"))),
        (1.0, 0.0)
    );
}

// ---------------------------------------------------------------- NGINX

const COOKIE_MATCH: &str = "    - headers:\n        cookie:\n          exact: canary\n";

#[test]
fn nginx_sends_a_cookie_set_to_always_to_the_canary_and_never_keeps_it_off() {
    let canary = canary(
        &ab_testing("nginx", COOKIE_MATCH),
        "  phase: Progressing\n  iterations: 1\n",
    );
    let mesh = routed(&canary, Routes::ALL_CANARY);
    let ingress = stored(&mesh, "Ingress", "podinfo-canary");
    assert_eq!(
        ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-by-cookie"],
        "canary"
    );
    let with = |cookie: &str| shares(&mesh.route(&Request::get("/").cookie(cookie)));
    assert_eq!(with("canary=always"), (0.0, 1.0));
    assert_eq!(with("session=1; canary=always"), (0.0, 1.0));
    assert_eq!(with("canary=never"), (1.0, 0.0));
    assert_eq!(with("canary=sometimes"), (1.0, 0.0));
    assert_eq!(with("other=always"), (1.0, 0.0));
}

/// A mesh whose canary Ingress carries exactly `annotations` (without the
/// prefix) besides `canary: "true"`.
fn nginx_with_annotations(annotations: &[(&str, &str)]) -> MeshRouter {
    let canary = canary(&progressive("nginx"), "  phase: Progressing\n");
    let mut mesh = routed(&canary, split(100, 0));
    let edited = mesh
        .edit_object("Ingress", "podinfo-canary", |ingress| {
            let map = ingress["metadata"]["annotations"]
                .as_object_mut()
                .expect("annotations");
            map.retain(|key, _| !key.starts_with("nginx.ingress.kubernetes.io/"));
            map.insert(
                "nginx.ingress.kubernetes.io/canary".to_owned(),
                json!("true"),
            );
            for (key, value) in annotations {
                map.insert(format!("nginx.ingress.kubernetes.io/{key}"), json!(value));
            }
        })
        .expect("still an Ingress");
    assert!(edited);
    mesh
}

#[test]
fn nginx_reads_a_header_without_a_value_as_always_or_never_before_the_cookie() {
    let mesh = nginx_with_annotations(&[
        ("canary-by-header", "x-canary"),
        ("canary-by-cookie", "canary"),
        ("canary-weight", "0"),
    ]);
    let request = |header: Option<&str>, cookie: Option<&str>| {
        let mut request = Request::get("/");
        if let Some(value) = header {
            request = request.header("x-canary", value);
        }
        if let Some(cookie) = cookie {
            request = request.cookie(cookie);
        }
        shares(&mesh.route(&request))
    };
    assert_eq!(request(Some("always"), None), (0.0, 1.0));
    assert_eq!(request(Some("never"), Some("canary=always")), (1.0, 0.0));
    // Any other value is ignored: the cookie decides, then the weight.
    assert_eq!(request(Some("insider"), Some("canary=always")), (0.0, 1.0));
    assert_eq!(request(Some("insider"), None), (1.0, 0.0));
    assert_eq!(request(None, Some("canary=always")), (0.0, 1.0));
}

#[test]
fn nginx_header_value_wins_over_pattern_and_a_pattern_matches_anywhere() {
    let exact = nginx_with_annotations(&[
        ("canary-by-header", "x-canary"),
        ("canary-by-header-value", "insider"),
        ("canary-by-header-pattern", ".*"),
    ]);
    let with = |mesh: &MeshRouter, value: &str| {
        shares(&mesh.route(&Request::get("/").header("x-canary", value)))
    };
    assert_eq!(with(&exact, "insider"), (0.0, 1.0));
    assert_eq!(with(&exact, "outsider"), (1.0, 0.0));
    // With a value set, `always` is an ordinary value.
    assert_eq!(with(&exact, "always"), (1.0, 0.0));

    let pattern = nginx_with_annotations(&[
        ("canary-by-header", "x-canary"),
        ("canary-by-header-pattern", "insid"),
    ]);
    assert_eq!(with(&pattern, "an insider"), (0.0, 1.0));
    assert_eq!(with(&pattern, "outsider"), (1.0, 0.0));
}

#[test]
fn nginx_splits_by_the_weight_out_of_the_weight_total() {
    let mesh = nginx_with_annotations(&[("canary-weight", "50"), ("canary-weight-total", "200")]);
    assert_eq!(shares(&mesh.route(&Request::get("/"))), (0.75, 0.25));
    // A total below 100 is ignored by ingress-nginx.
    let mesh = nginx_with_annotations(&[("canary-weight", "25"), ("canary-weight-total", "50")]);
    assert_eq!(shares(&mesh.route(&Request::get("/"))), (0.75, 0.25));
}

#[test]
fn an_nginx_ingress_that_is_not_a_canary_takes_no_traffic_from_the_users_ingress() {
    let canary = canary(&progressive("nginx"), "  phase: Progressing\n");
    let mut mesh = routed(&canary, split(50, 50));
    assert!(
        mesh.edit_object("Ingress", "podinfo-canary", |ingress| {
            ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary"] =
                json!("false");
        })
        .expect("still an Ingress")
    );
    assert_eq!(shares(&mesh.route(&Request::get("/"))), (1.0, 0.0));
}

// -------------------------------------------------------------- Skipper

#[test]
fn skipper_falls_back_to_the_users_ingress_at_weight_zero_and_finalize_deletes_the_copy() {
    let canary = canary(&progressive("skipper"), "  phase: Progressing\n");
    let mut mesh = routed(&canary, split(100, 0));
    let copy = stored(&mesh, "Ingress", "podinfo-canary");
    assert_eq!(
        copy["metadata"]["annotations"]["zalando.org/skipper-predicate"],
        "False()"
    );
    assert_eq!(shares(&mesh.route(&Request::get("/"))), (1.0, 0.0));

    mesh.set_routes(&canary, split(60, 40)).expect("shift");
    assert_eq!(shares(&mesh.route(&Request::get("/"))), (0.6, 0.4));

    mesh.finalize(&canary).expect("finalize");
    let names: Vec<String> = mesh
        .objects()
        .into_iter()
        .map(|(_, name, _)| name)
        .collect();
    assert_eq!(names, ["podinfo"], "only the user's Ingress is left");
    assert_eq!(shares(&mesh.route(&Request::get("/"))), (1.0, 0.0));
}

// -------------------------------------------------------------- Contour

#[test]
fn contour_splits_evenly_when_no_service_has_a_weight() {
    let canary = canary(&progressive("contour"), "  phase: Progressing\n");
    let mut mesh = routed(&canary, split(30, 70));
    assert!(
        mesh.edit_object("HTTPProxy", "podinfo", |proxy| {
            for service in proxy["spec"]["routes"][0]["services"]
                .as_array_mut()
                .expect("services")
            {
                service.as_object_mut().expect("service").remove("weight");
            }
        })
        .expect("still an HTTPProxy")
    );
    assert_eq!(shares(&mesh.route(&Request::get("/"))), (0.5, 0.5));
}

#[test]
fn contour_rejects_a_route_with_two_prefixes_so_nothing_is_routed() {
    let canary = canary(&progressive("contour"), "  phase: Progressing\n");
    let mut mesh = routed(&canary, split(30, 70));
    assert!(
        mesh.edit_object("HTTPProxy", "podinfo", |proxy| {
            proxy["spec"]["routes"][0]["conditions"]
                .as_array_mut()
                .expect("conditions")
                .push(json!({"prefix": "/api"}));
        })
        .expect("still an HTTPProxy")
    );
    assert!(!mesh.route(&Request::get("/")).is_routed());
}

// -------------------------------------------------------------- Knative

const KNATIVE: &str =
    "  provider: knative\n  analysis:\n    interval: 1m\n    threshold: 2\n    stepWeight: 20\n";

#[test]
fn knative_pins_the_first_revision_and_sends_the_canary_share_to_a_new_one() {
    let first = canary(KNATIVE, "  phase: Initializing\n  lastAppliedSpec: v1\n");
    let mut mesh = routed(&first, Routes::ALL_PRIMARY);
    let service = stored(&mesh, "Service", "podinfo");
    assert_eq!(
        service["metadata"]["annotations"]["flagger.app/primary-revision"],
        "podinfo-00001"
    );
    assert_eq!(
        service["status"]["traffic"],
        json!([
            {"revisionName": "podinfo-00001", "latestRevision": true, "percent": 0},
            {"revisionName": "podinfo-00001", "percent": 100}
        ])
    );
    assert_eq!(mesh.routes(&first), Ok(Routes::ALL_PRIMARY));

    // A new revision of the target, as the engine records it.
    let second = canary(KNATIVE, "  phase: Progressing\n  lastAppliedSpec: v2\n");
    mesh.set_routes(&second, split(30, 70)).expect("shift");
    let service = stored(&mesh, "Service", "podinfo");
    assert_eq!(
        service["status"]["latestCreatedRevisionName"],
        "podinfo-00002"
    );
    assert_eq!(
        service["spec"]["traffic"],
        json!([
            {"latestRevision": true, "percent": 70},
            {"revisionName": "podinfo-00001", "percent": 30}
        ])
    );
    assert_eq!(
        service["status"]["traffic"][0]["revisionName"],
        "podinfo-00002"
    );
    assert_eq!(mesh.routes(&second), Ok(split(30, 70)));
    assert_eq!(shares(&mesh.route(&Request::get("/"))), (0.3, 0.7));
}

#[test]
fn knative_finalize_removes_the_primary_revision_annotation() {
    let canary = canary(KNATIVE, "  phase: Terminating\n  lastAppliedSpec: v1\n");
    let mut mesh = routed(&canary, Routes::ALL_PRIMARY);
    mesh.finalize(&canary).expect("finalize");
    let service = stored(&mesh, "Service", "podinfo");
    assert_eq!(service["metadata"].get("annotations"), None, "{service:#}");
    let error = mesh.routes(&canary).expect_err("no primary revision");
    assert_eq!(
        error.0,
        "Knative Service podinfo.test annotation flagger.app/primary-revision not found"
    );
}

// ------------------------------------------------------- broken objects

/// A change to a stored object's JSON.
type Edit = Box<dyn Fn(&mut Value)>;

#[test]
fn a_broken_stored_object_surfaces_as_the_routers_error() {
    let cases: Vec<(&str, &str, &str, Edit, &str)> = vec![
        (
            "linkerd",
            "TrafficSplit",
            "podinfo",
            Box::new(|split| split["spec"]["backends"][1]["weight"] = json!("500m")),
            "TrafficSplit podinfo.test backend podinfo-primary has weight \"500m\", which is not a whole percentage",
        ),
        (
            "nginx",
            "Ingress",
            "podinfo-canary",
            Box::new(|ingress| {
                ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"] =
                    json!("lots");
            }),
            "Ingress podinfo-canary.test annotation nginx.ingress.kubernetes.io/canary-weight: \"lots\" is not a percentage",
        ),
        (
            "skipper",
            "Ingress",
            "podinfo-canary",
            Box::new(|ingress| {
                ingress["metadata"]["annotations"]["zalando.org/backend-weights"] =
                    json!(r#"{"podinfo-canary":70}"#);
            }),
            "ingress podinfo-canary.test could not get weights[podinfo-primary]",
        ),
        (
            "contour",
            "HTTPProxy",
            "podinfo",
            Box::new(|proxy| proxy["spec"]["routes"][0]["services"][0]["weight"] = json!(150)),
            "HTTPProxy podinfo.test primary weight 150 is not a percentage",
        ),
        (
            "traefik",
            "TraefikService",
            "podinfo",
            Box::new(|service| {
                service["spec"]["weighted"]["services"]
                    .as_array_mut()
                    .expect("services")
                    .remove(0);
            }),
            "TraefikService podinfo.test services not found: no podinfo-primary in weighted.services",
        ),
        (
            "gloo",
            "RouteTable",
            "podinfo",
            Box::new(|table| {
                table["spec"]["routes"][0]["routeAction"]["multi"]["destinations"]
                    .as_array_mut()
                    .expect("destinations")
                    .remove(0);
            }),
            "RouteTable podinfo.test destinations not found",
        ),
        (
            "apisix",
            "ApisixRoute",
            "podinfo-podinfo-canary",
            Box::new(|route| {
                route["spec"]["http"][0]["backends"][0]["serviceName"] = json!("elsewhere");
            }),
            "Can not find podinfo-primary backend on apisix route podinfo-podinfo-canary.test",
        ),
        (
            "kuma",
            "TrafficRoute",
            "podinfo",
            Box::new(|route| route["spec"]["conf"]["split"] = json!([])),
            "TrafficRoute podinfo does not contain routes for podinfo-primary and podinfo-canary",
        ),
        (
            "appmesh",
            "VirtualService",
            "podinfo.test",
            Box::new(|service| {
                for target in service["spec"]["routes"][0]["http"]["action"]["weightedTargets"]
                    .as_array_mut()
                    .expect("targets")
                {
                    target["weight"] = json!(0);
                }
            }),
            "VirtualService podinfo.test does not contain routes for podinfo-primary and podinfo-canary",
        ),
        (
            "appmesh:v1beta2",
            "VirtualRouter",
            "podinfo",
            Box::new(|router| {
                router["spec"]["routes"][0]["httpRoute"]["action"]["weightedTargets"]
                    .as_array_mut()
                    .expect("targets")
                    .pop();
            }),
            "VirtualRouter routes podinfo not found",
        ),
    ];
    for (provider, kind, name, edit, message) in cases {
        let canary = canary(&progressive(provider), "  phase: Progressing\n");
        let mut mesh = routed(&canary, split(30, 70));
        let revision = mesh.revision();
        let edited = mesh
            .edit_object(kind, name, |object| edit(object))
            .unwrap_or_else(|error| panic!("{provider}: not a {kind} any more: {error}"));
        assert!(edited, "{provider}: {kind} {name} is stored");
        assert!(
            mesh.revision() > revision,
            "{provider}: an edit is a change"
        );
        let error = mesh.routes(&canary).expect_err("broken object");
        assert_eq!(error.0, message, "{provider}");
    }
}

#[test]
fn an_edit_that_no_longer_fits_the_object_is_refused_and_changes_nothing() {
    let canary = canary(&progressive("kuma"), "  phase: Progressing\n");
    let mut mesh = routed(&canary, split(30, 70));
    let revision = mesh.revision();
    let result = mesh.edit_object("TrafficRoute", "podinfo", |route| {
        route["spec"]["conf"]["split"][0]["weight"] = json!("heavy");
    });
    assert!(result.is_err());
    assert_eq!(mesh.revision(), revision);
    assert_eq!(mesh.routes(&canary), Ok(split(30, 70)));
    assert_eq!(
        mesh.edit_object("TrafficRoute", "elsewhere", |_| {}).ok(),
        Some(false)
    );
}

#[test]
fn the_next_reconcile_repairs_a_broken_object_keeping_what_it_can() {
    let canary = canary(&progressive("traefik"), "  phase: Progressing\n");
    let mut mesh = routed(&canary, split(30, 70));
    assert!(
        mesh.edit_object("TraefikService", "podinfo", |service| {
            service["spec"]["weighted"]["services"] = json!([]);
        })
        .expect("still a TraefikService")
    );
    assert!(!mesh.route(&Request::get("/")).is_routed());
    mesh.reconcile_mesh(&canary).expect("reconcile");
    assert_eq!(mesh.routes(&canary), Ok(Routes::ALL_PRIMARY));
    assert_eq!(mesh.route(&Request::get("/")), RouteDecision::all_primary());
}

// ------------------------------------------------------- with the engine

/// One Progressing tick of an engine run: `status.canaryWeight`,
/// `status.iterations` and the canary's share of each probe request.
#[derive(Debug)]
struct Seen {
    weight: i32,
    iterations: i32,
    canary_shares: Vec<f64>,
}

/// Runs the engine on `canary` with the mesh as the router: initializes,
/// deploys `v2` and ticks until the phase is final (at most 40 ticks),
/// recording every Progressing tick.
fn engine_run(canary: Canary, probes: &[Request]) -> (CanaryPhase, Vec<Seen>, MeshRouter) {
    let config = EngineConfig::default();
    let mut cluster = FakeCluster::new(&canary.spec.target_ref.name);
    let mut scalers = FakeScalers::default();
    let mut mesh = mesh_for(&canary);
    let mut metrics = FakeMetrics::default();
    let mut webhooks = FakeWebhooks::default();
    let mut alerts = FakeAlerts::default();
    let mut events = FakeEvents::default();
    let clock = FakeClock::default();
    let mut api = FakeApi::new(canary);
    let mut entropy = FakeEntropy::default();
    let mut telemetry = FakeTelemetry::default();
    let mut seen = Vec::new();
    let mut deployed = false;
    for _ in 0..40 {
        let canary = api.canary.clone();
        let mut ports = Ports {
            workloads: &mut cluster,
            scalers: &mut scalers,
            routing: &mut mesh,
            metrics: &mut metrics,
            webhooks: &mut webhooks,
            alerts: &mut alerts,
            events: &mut events,
            clock: &clock,
            status: &mut api,
            entropy: &mut entropy,
            telemetry: &mut telemetry,
        };
        let outcome = advance(&canary, &config, &mut ports);
        clock.advance(outcome.requeue_after);
        cluster.next_tick();
        let status = api.canary.status_or_default();
        match status.phase {
            CanaryPhase::Initialized if !deployed => {
                cluster.deploy("v2");
                deployed = true;
            }
            CanaryPhase::Progressing => seen.push(Seen {
                weight: status.canary_weight,
                iterations: status.iterations,
                canary_shares: probes
                    .iter()
                    .map(|probe| mesh.route(probe).canary)
                    .collect(),
            }),
            CanaryPhase::Succeeded | CanaryPhase::Failed => return (status.phase, seen, mesh),
            _ => {}
        }
    }
    panic!("no final phase: {:#?}", events.recorded);
}

#[test]
fn an_engine_run_moves_users_by_weight_on_every_provider() {
    for (provider, ..) in split_locations() {
        let (phase, seen, mesh) = engine_run(
            canary(&progressive(provider), "  phase: \"\"\n"),
            &[Request::get("/")],
        );
        assert_eq!(phase, CanaryPhase::Succeeded, "{provider}");
        let weights: Vec<i32> = seen
            .iter()
            .map(|tick| tick.weight)
            .filter(|weight| *weight > 0)
            .collect();
        assert_eq!(weights, [20, 40], "{provider}");
        for tick in &seen {
            assert!(
                (tick.canary_shares[0] - f64::from(tick.weight) / 100.0).abs() < 1e-9,
                "{provider}: {tick:?}"
            );
        }
        assert_eq!(
            mesh.route(&Request::get("/")),
            RouteDecision::all_primary(),
            "{provider}: after promotion"
        );
    }
}

#[test]
fn an_engine_run_sends_insiders_to_the_canary_during_ab_testing() {
    for provider in [
        "nginx",
        "contour",
        "gloo",
        "apisix",
        "appmesh",
        "appmesh:v1beta2",
    ] {
        let insider = Request::get("/").header("x-canary", "insider");
        let (phase, seen, mesh) = engine_run(
            canary(&ab_testing(provider, INSIDER_HEADER), "  phase: \"\"\n"),
            &[insider.clone(), Request::get("/")],
        );
        assert_eq!(phase, CanaryPhase::Succeeded, "{provider}");
        let analysed: Vec<&Seen> = seen.iter().filter(|tick| tick.iterations > 0).collect();
        assert!(!analysed.is_empty(), "{provider}: {seen:?}");
        for tick in analysed {
            assert_eq!(tick.canary_shares, [1.0, 0.0], "{provider}: {tick:?}");
        }
        assert_eq!(
            mesh.route(&insider),
            RouteDecision::all_primary(),
            "{provider}: after promotion"
        );
    }
}
