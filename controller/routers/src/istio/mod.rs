//! Istio: a VirtualService `<apex>` and DestinationRules `<apex>-primary`,
//! `<apex>-canary` (semantics §9.1).
//!
//! ```text
//!   http[] (first matching rule wins)
//!   ┌───────────────────────────────────────────────────────────────────────┐
//!   │ canary / progressive   [ weighted: service.match → primary p, canary c ]│
//!   │ A/B testing            [ analysis.match × service.match → p, c ,        │
//!   │                          service.match → primary p ]                    │
//!   │ session affinity, c>0  [ sticky-route: canary cookie → canary 100,      │
//!   │                          sticky-primary-route: primary cookie → primary,│
//!   │                          weighted (+ Set-Cookie on destinations) ]      │
//!   │ session affinity, c=0  [ sticky-route: previous cookie → expire it,     │
//!   │                          weighted ]                                     │
//!   └───────────────────────────────────────────────────────────────────────┘
//!   mirror (+ mirrorPercentage when mirrorWeight > 0) goes on every rule
//!   (one rule unless session affinity is on).
//!   appProtocol tcp: tcp[] = [ service.match ports → primary p, canary c ].
//! ```
//!
//! Every rule carries the common settings of `spec.service`: rewrite,
//! timeout, retries, corsPolicy and headers. Destinations get an explicit
//! port when `portDiscovery` is on and the VirtualService is bound to an
//! ingress gateway (`gateways[0] != mesh`) or is a delegate, because a Service
//! with several ports is otherwise ambiguous there.
//!
//! Where weir differs from Flagger, on purpose:
//!
//! * **A/B merge keeps `queryParams`.** Flagger merges `analysis.match` into
//!   each `service.match` entry by overriding `headers` and `sourceLabels`
//!   only, so an A/B condition on query parameters disappears when
//!   `service.match` is set, and every request reaches the canary rule. weir
//!   overrides `queryParams` as well, as Flagger's Gateway API router does.
//! * **Reconcile keeps the traffic split.** Flagger ignores weights when it
//!   compares, but when anything else changed it writes a spec with 100/0,
//!   moving all traffic back to the primary in the middle of an analysis, and
//!   a labels-only change rewrites the spec too. weir regenerates the spec
//!   with the split, mirror and cookie rules the VirtualService already had,
//!   and leaves the spec alone when only metadata changed.
//! * **The original spec is recorded once.** Flagger stores the previous spec
//!   in `flagger.kubernetes.io/original-configuration` on every spec update,
//!   so after the first update the "original" is Flagger's own. weir records
//!   the spec it took over and keeps it.
//! * **Mirroring covers the session-affinity rules too.** Flagger sets
//!   `mirror` on `http[0]`, which with session affinity is the cookie rule,
//!   while `GetRoutes` reads the weighted rule: the engine never sees the
//!   mirror it asked for and repeats the mirror step at weight 0 forever.
//! * **Expired cookies name their Domain and Path** (see `session.rs`), and the
//!   expiring `Set-Cookie` stays on the sticky rule: in Flagger the two rules
//!   share `spec.service.headers`, so with headers configured every response
//!   carries it.
//! * **Cookies are read, never made.** The engine writes them into status
//!   before `set_routes`; with no canary cookie in status there is nothing to
//!   stick to and only the weighted rule is written. The primary sticky rule
//!   is named `sticky-primary-route`; the primary cookie lives one analysis
//!   interval as the engine schedules it (at least 10 s).

mod types;

pub use types::{
    API_VERSION, Destination, DestinationRule, DestinationRuleSpec, HttpMatchRequest, HttpRewrite,
    HttpRoute, HttpRouteDestination, L4MatchAttributes, Percent, PortSelector, StringMatch,
    TcpRoute, VirtualService, VirtualServiceSpec,
};

use std::collections::BTreeMap;

use weir_api::Canary;
use weir_api::service::{HeaderOperations, Headers};
use weir_engine::ports::Routes;

use crate::error::RouterError;
use crate::metadata::{KUBECTL_LAST_APPLIED, ORIGINAL_CONFIGURATION, ObjectMetadata};
use crate::session::{self, Affinity, COOKIE_HEADER, SET_COOKIE_HEADER};

/// Name of the rule that keeps canary users on the canary (Flagger's).
pub const STICKY_ROUTE: &str = "sticky-route";
/// Name of the rule that keeps primary users on the primary.
pub const STICKY_PRIMARY_ROUTE: &str = "sticky-primary-route";
/// The gateway name Istio gives to all sidecars.
const MESH_GATEWAY: &str = "mesh";

/// The two DestinationRules, canary first as Flagger reconciles them.
pub fn destination_rules(canary: &Canary) -> [DestinationRule; 2] {
    let names = canary.spec.service_names();
    [names.canary, names.primary].map(|host| DestinationRule {
        api_version: API_VERSION.to_owned(),
        kind: "DestinationRule".to_owned(),
        metadata: ObjectMetadata::named(&host, canary),
        spec: DestinationRuleSpec {
            host,
            traffic_policy: canary.spec.service.traffic_policy.clone(),
        },
    })
}

/// The VirtualService `set_routes` writes for `routes`, built from scratch.
pub fn virtual_service(canary: &Canary, routes: Routes) -> VirtualService {
    let mut virtual_service = skeleton(canary);
    if is_tcp(canary) {
        virtual_service.spec.tcp = tcp_rules(canary, routes);
    } else {
        virtual_service.spec.http = http_rules(canary, routes, true);
    }
    virtual_service
}

/// Flagger's `SetRoutes`: the existing VirtualService with its HTTP and TCP
/// rules replaced; hosts, gateways and metadata stay as they are.
pub fn set_routes(existing: &VirtualService, canary: &Canary, routes: Routes) -> VirtualService {
    let generated = virtual_service(canary, routes);
    let mut updated = existing.clone();
    updated.spec.http = generated.spec.http;
    updated.spec.tcp = generated.spec.tcp;
    updated
}

/// Flagger's `Reconcile` for the VirtualService: creates it with all traffic
/// on the primary, or updates what differs from the Canary while keeping the
/// existing split, mirror and session-affinity rules. Returns `existing`
/// unchanged when nothing differs.
pub fn reconcile(
    existing: Option<&VirtualService>,
    canary: &Canary,
) -> Result<VirtualService, RouterError> {
    let service = &canary.spec.service;
    let names = canary.spec.service_names();
    if service.delegation && (!service.hosts.is_empty() || !service.gateways.is_empty()) {
        return Err(RouterError::DelegationWithHostsOrGateways {
            name: names.apex,
            namespace: canary.namespace().to_owned(),
        });
    }
    let mut initial = skeleton(canary);
    if is_tcp(canary) {
        initial.spec.tcp = tcp_rules(canary, Routes::ALL_PRIMARY);
    } else {
        initial.spec.http = http_rules(canary, Routes::ALL_PRIMARY, false);
    }
    let Some(existing) = existing else {
        return Ok(initial);
    };

    let mut annotations = initial.metadata.annotations;
    for key in [KUBECTL_LAST_APPLIED, ORIGINAL_CONFIGURATION] {
        if let Some(value) = existing.metadata.annotations.get(key) {
            annotations.insert(key.to_owned(), value.clone());
        }
    }
    let session_affinity = canary.spec.analysis().session_affinity.is_some();
    let spec_differs =
        comparable(&existing.spec, session_affinity) != comparable(&initial.spec, session_affinity);
    if !spec_differs
        && existing.metadata.labels == initial.metadata.labels
        && existing.metadata.annotations == annotations
    {
        return Ok(existing.clone());
    }

    let mut updated = existing.clone();
    updated.metadata.labels = initial.metadata.labels;
    if spec_differs {
        // Keep what the user wrote, so that `finalize` can give it back.
        if !annotations.contains_key(KUBECTL_LAST_APPLIED)
            && !annotations.contains_key(ORIGINAL_CONFIGURATION)
            && let Ok(original) = serde_json::to_string(&existing.spec)
        {
            annotations.insert(ORIGINAL_CONFIGURATION.to_owned(), original);
        }
        updated.spec = match routes(existing, canary) {
            Ok(current) => virtual_service(canary, current).spec,
            // Not a VirtualService weir wrote: start from the primary.
            Err(_) => initial.spec,
        };
    }
    updated.metadata.annotations = annotations;
    Ok(updated)
}

/// Flagger's `GetRoutes`: the split of the last HTTP (or TCP) rule with a
/// canary destination, and whether that rule mirrors. With session affinity
/// the weights come from the destinations that set cookies, i.e. the weighted
/// rule. Both weights 0 means the VirtualService routes nothing weir knows.
pub fn routes(virtual_service: &VirtualService, canary: &Canary) -> Result<Routes, RouterError> {
    let names = canary.spec.service_names();
    let has_canary = |route: &[HttpRouteDestination]| {
        route
            .iter()
            .any(|destination| destination.destination.host == names.canary)
    };
    let mut primary = 0;
    let mut canary_weight = 0;
    let mut assign = |destination: &HttpRouteDestination| {
        if destination.destination.host == names.primary {
            primary = destination.weight;
        }
        if destination.destination.host == names.canary {
            canary_weight = destination.weight;
        }
    };
    let spec = &virtual_service.spec;
    let mut mirrored = false;
    if let Some(rule) = spec.http.iter().rev().find(|rule| has_canary(&rule.route)) {
        rule.route.iter().for_each(&mut assign);
        mirrored = rule
            .mirror
            .as_ref()
            .is_some_and(|mirror| !mirror.host.is_empty());
    } else if let Some(rule) = spec.tcp.iter().rev().find(|rule| has_canary(&rule.route)) {
        rule.route.iter().for_each(&mut assign);
    }
    if canary.spec.analysis().session_affinity.is_some() {
        spec.http
            .iter()
            .flat_map(|rule| &rule.route)
            .filter(|destination| destination.headers.is_some())
            .for_each(&mut assign);
    }
    if primary == 0 && canary_weight == 0 {
        return Err(RouterError::NoRoutes {
            name: names.apex,
            namespace: canary.namespace().to_owned(),
            primary: names.primary,
            canary: names.canary,
        });
    }
    Ok(Routes {
        primary,
        canary: canary_weight,
        mirrored,
    })
}

/// Flagger's `Finalize` (`revertOnDeletion`): the spec to restore, from
/// kubectl's last-applied configuration or the recorded original, or `None`
/// when there is neither (Flagger then only warns).
pub fn finalize(
    virtual_service: &VirtualService,
) -> Result<Option<VirtualServiceSpec>, RouterError> {
    let annotations = &virtual_service.metadata.annotations;
    let failed = |annotation: &str, error: serde_json::Error| RouterError::OriginalConfiguration {
        name: virtual_service.metadata.name.clone(),
        namespace: virtual_service.metadata.namespace.clone(),
        annotation: annotation.to_owned(),
        reason: error.to_string(),
    };
    if let Some(applied) = annotations.get(KUBECTL_LAST_APPLIED) {
        let object: VirtualService =
            serde_json::from_str(applied).map_err(|error| failed(KUBECTL_LAST_APPLIED, error))?;
        return Ok(Some(object.spec));
    }
    if let Some(original) = annotations.get(ORIGINAL_CONFIGURATION) {
        let spec: VirtualServiceSpec = serde_json::from_str(original)
            .map_err(|error| failed(ORIGINAL_CONFIGURATION, error))?;
        return Ok(Some(spec));
    }
    Ok(None)
}

/// Metadata, hosts and gateways, without rules.
fn skeleton(canary: &Canary) -> VirtualService {
    let service = &canary.spec.service;
    let apex = canary.spec.service_names().apex;
    let (hosts, gateways) = if service.delegation {
        // A delegate is bound through its parent VirtualService only.
        (Vec::new(), Vec::new())
    } else {
        let mut hosts = service.hosts.clone();
        if !hosts.iter().any(|host| *host == apex || host == "*") {
            hosts.push(apex);
        }
        let gateways = if service.gateways.is_empty() {
            vec![MESH_GATEWAY.to_owned()]
        } else {
            service.gateways.clone()
        };
        (hosts, gateways)
    };
    VirtualService {
        api_version: API_VERSION.to_owned(),
        kind: "VirtualService".to_owned(),
        metadata: ObjectMetadata::apex(canary),
        spec: VirtualServiceSpec {
            hosts,
            gateways,
            http: Vec::new(),
            tcp: Vec::new(),
        },
    }
}

/// `appProtocol: tcp` (any case) makes the VirtualService route TCP.
fn is_tcp(canary: &Canary) -> bool {
    canary
        .spec
        .service
        .app_protocol
        .as_deref()
        .is_some_and(|protocol| protocol.eq_ignore_ascii_case("tcp"))
}

fn tcp_rules(canary: &Canary, routes: Routes) -> Vec<TcpRoute> {
    let names = canary.spec.service_names();
    vec![TcpRoute {
        r#match: canary
            .spec
            .service
            .r#match
            .iter()
            .map(|condition| L4MatchAttributes {
                port: condition.port,
            })
            .collect(),
        route: vec![
            destination(canary, &names.primary, routes.primary),
            destination(canary, &names.canary, routes.canary),
        ],
    }]
}

/// The HTTP rules for `routes`; `with_affinity` adds session-affinity rules,
/// which only `SetRoutes` writes.
fn http_rules(canary: &Canary, routes: Routes, with_affinity: bool) -> Vec<HttpRoute> {
    let names = canary.spec.service_names();
    let analysis = canary.spec.analysis();
    let service_matches: Vec<HttpMatchRequest> = canary
        .spec
        .service
        .r#match
        .iter()
        .map(HttpMatchRequest::from)
        .collect();

    if !analysis.r#match.is_empty() {
        // A/B testing replaces everything else, mirror and cookies included.
        let analysis_matches: Vec<HttpMatchRequest> = analysis
            .r#match
            .iter()
            .map(HttpMatchRequest::from)
            .collect();
        return vec![
            common_rule(
                canary,
                merge_matches(&analysis_matches, &service_matches),
                vec![
                    destination(canary, &names.primary, routes.primary),
                    destination(canary, &names.canary, routes.canary),
                ],
            ),
            common_rule(
                canary,
                service_matches,
                vec![destination(canary, &names.primary, routes.primary)],
            ),
        ];
    }

    let weighted = common_rule(
        canary,
        service_matches.clone(),
        vec![
            destination(canary, &names.primary, routes.primary),
            destination(canary, &names.canary, routes.canary),
        ],
    );
    let affinity = if with_affinity {
        Affinity::of(canary, routes.canary, true)
    } else {
        Affinity::None
    };
    let mut http = match affinity {
        Affinity::None => vec![weighted],
        Affinity::Sticky {
            affinity,
            canary_cookie,
            primary_cookie,
        } => {
            let sticky =
                |name: &str, cookie: &str, primary_weight: i32, canary_weight: i32| HttpRoute {
                    name: Some(name.to_owned()),
                    r#match: merge_matches(&[cookie_match(cookie)], &service_matches),
                    route: vec![
                        destination(canary, &names.primary, primary_weight),
                        destination(canary, &names.canary, canary_weight),
                    ],
                    ..weighted.clone()
                };
            let mut rules = vec![sticky(STICKY_ROUTE, canary_cookie, 0, 100)];
            let mut weighted = weighted.clone();
            set_destination_cookie(
                &mut weighted,
                &names.canary,
                session::canary_set_cookie(canary_cookie, affinity),
            );
            if let Some(primary_cookie) = primary_cookie {
                rules.push(sticky(STICKY_PRIMARY_ROUTE, primary_cookie, 100, 0));
                set_destination_cookie(
                    &mut weighted,
                    &names.primary,
                    session::primary_set_cookie(primary_cookie, affinity, canary),
                );
            }
            rules.push(weighted);
            rules
        }
        Affinity::Cleanup {
            affinity,
            previous_cookie,
        } => {
            let mut sticky = weighted.clone();
            sticky.name = Some(STICKY_ROUTE.to_owned());
            if let Some(previous) = previous_cookie {
                sticky.r#match = merge_matches(&[cookie_match(previous)], &service_matches);
                let headers = sticky.headers.get_or_insert_with(Headers::default);
                headers
                    .response
                    .get_or_insert_with(HeaderOperations::default)
                    .add
                    .insert(
                        SET_COOKIE_HEADER.to_owned(),
                        session::expired_set_cookie(previous, affinity),
                    );
            }
            vec![sticky, weighted]
        }
    };

    if routes.mirrored {
        // Flagger mirrors on http[0] only, which with session affinity is a
        // cookie rule: GetRoutes then reads "not mirrored" from the weighted
        // rule and the mirror step repeats forever. Every rule mirrors here.
        for rule in &mut http {
            rule.mirror = Some(Destination {
                host: names.canary.clone(),
                port: None,
            });
            rule.mirror_percentage = (analysis.mirror_weight > 0).then(|| Percent {
                value: f64::from(analysis.mirror_weight),
            });
        }
    }
    http
}

/// A rule with the settings every rule shares.
fn common_rule(
    canary: &Canary,
    matches: Vec<HttpMatchRequest>,
    route: Vec<HttpRouteDestination>,
) -> HttpRoute {
    let service = &canary.spec.service;
    HttpRoute {
        name: None,
        r#match: matches,
        route,
        rewrite: service.rewrite.as_ref().map(|rewrite| HttpRewrite {
            uri: rewrite.uri.clone().filter(|uri| !uri.is_empty()),
            authority: rewrite
                .authority
                .clone()
                .filter(|authority| !authority.is_empty()),
        }),
        timeout: service
            .timeout
            .clone()
            .filter(|timeout| !timeout.is_empty()),
        retries: service.retries.clone(),
        mirror: None,
        mirror_percentage: None,
        cors_policy: service.cors_policy.clone(),
        headers: service.headers.clone(),
    }
}

/// A destination; with port discovery behind an ingress gateway or as a
/// delegate, the Service port is explicit.
fn destination(canary: &Canary, host: &str, weight: i32) -> HttpRouteDestination {
    let service = &canary.spec.service;
    let behind_gateway = service
        .gateways
        .first()
        .is_some_and(|gateway| gateway != MESH_GATEWAY);
    let port =
        (service.port_discovery && (behind_gateway || service.delegation)).then(|| PortSelector {
            number: u32::try_from(service.port).unwrap_or_default(),
        });
    HttpRouteDestination {
        destination: Destination {
            host: host.to_owned(),
            port,
        },
        weight,
        headers: None,
    }
}

/// A condition on the `Cookie` header carrying `cookie`.
fn cookie_match(cookie: &str) -> HttpMatchRequest {
    HttpMatchRequest {
        headers: BTreeMap::from([(
            COOKIE_HEADER.to_owned(),
            StringMatch {
                regex: Some(session::cookie_regex(cookie)),
                ..StringMatch::default()
            },
        )]),
        ..HttpMatchRequest::default()
    }
}

/// Flagger's `mergeMatchConditions`: every canary condition combined with
/// every service condition (a cartesian product); the canary condition's
/// headers, source labels and (weir) query parameters replace the service
/// condition's. Without service conditions, the canary conditions as they are.
fn merge_matches(
    canary_matches: &[HttpMatchRequest],
    service_matches: &[HttpMatchRequest],
) -> Vec<HttpMatchRequest> {
    if service_matches.is_empty() {
        return canary_matches.to_vec();
    }
    canary_matches
        .iter()
        .flat_map(|canary_match| {
            service_matches.iter().map(move |service_match| {
                let mut merged = service_match.clone();
                if !canary_match.headers.is_empty() {
                    merged.headers.clone_from(&canary_match.headers);
                }
                if !canary_match.source_labels.is_empty() {
                    merged.source_labels.clone_from(&canary_match.source_labels);
                }
                if !canary_match.query_params.is_empty() {
                    merged.query_params.clone_from(&canary_match.query_params);
                }
                merged
            })
        })
        .collect()
}

/// Adds `Set-Cookie: value` to responses from `host` in `rule`.
fn set_destination_cookie(rule: &mut HttpRoute, host: &str, value: String) {
    for destination in &mut rule.route {
        if destination.destination.host == host {
            destination.headers = Some(Headers {
                request: None,
                response: Some(HeaderOperations {
                    add: BTreeMap::from([(SET_COOKIE_HEADER.to_owned(), value.clone())]),
                    ..HeaderOperations::default()
                }),
            });
        }
    }
}

/// The spec as Flagger's reconcile compares it: without weights and mirror,
/// and with session affinity also without cookie rules and destination
/// headers, which only `set_routes` manages.
fn comparable(spec: &VirtualServiceSpec, session_affinity: bool) -> VirtualServiceSpec {
    let mut spec = spec.clone();
    if session_affinity {
        spec.http.retain(|rule| {
            !matches!(
                rule.name.as_deref(),
                Some(STICKY_ROUTE | STICKY_PRIMARY_ROUTE)
            )
        });
    }
    for rule in &mut spec.http {
        rule.mirror = None;
        rule.mirror_percentage = None;
        for destination in &mut rule.route {
            destination.weight = 0;
            if session_affinity {
                destination.headers = None;
            }
        }
    }
    for rule in &mut spec.tcp {
        for destination in &mut rule.route {
            destination.weight = 0;
        }
    }
    spec
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::canary;

    const PROGRESSIVE: &str = "  service:
    port: 9898
    timeout: 10s
  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 10
";

    fn split(primary: i32, canary: i32) -> Routes {
        Routes {
            primary,
            canary,
            mirrored: false,
        }
    }

    fn weights(virtual_service: &VirtualService) -> Vec<Vec<(String, i32)>> {
        virtual_service
            .spec
            .http
            .iter()
            .map(|rule| {
                rule.route
                    .iter()
                    .map(|destination| (destination.destination.host.clone(), destination.weight))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn reconcile_creates_the_virtual_service_with_all_traffic_on_the_primary() {
        let canary = canary(PROGRESSIVE, "  phase: Initializing\n");
        let created = reconcile(None, &canary).expect("reconcile");
        assert_eq!(
            weights(&created),
            [[
                ("podinfo-primary".to_owned(), 100),
                ("podinfo-canary".to_owned(), 0)
            ]]
        );
        assert_eq!(created.spec.hosts, ["podinfo"]);
        assert_eq!(created.spec.gateways, ["mesh"]);
        assert_eq!(routes(&created, &canary), Ok(Routes::ALL_PRIMARY));
    }

    #[test]
    fn reconcile_keeps_the_weights_of_an_existing_virtual_service() {
        let mut canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let created = reconcile(None, &canary).expect("reconcile");
        let shifted = set_routes(&created, &canary, split(70, 30));
        canary.spec.service.timeout = Some("20s".to_owned());

        let updated = reconcile(Some(&shifted), &canary).expect("reconcile");
        assert_eq!(updated.spec.http[0].timeout.as_deref(), Some("20s"));
        assert_eq!(routes(&updated, &canary), Ok(split(70, 30)));
    }

    #[test]
    fn reconcile_leaves_a_virtual_service_that_only_differs_in_its_split_alone() {
        let mut canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        canary
            .spec
            .analysis
            .as_mut()
            .expect("analysis")
            .mirror_weight = 50;
        let created = reconcile(None, &canary).expect("reconcile");
        let mirrored = set_routes(
            &created,
            &canary,
            Routes {
                mirrored: true,
                ..Routes::ALL_PRIMARY
            },
        );
        assert_eq!(reconcile(Some(&mirrored), &canary), Ok(mirrored));
    }

    #[test]
    fn reconcile_ignores_the_session_affinity_rules_set_routes_wrote() {
        let canary = canary(
            "  service:
    port: 9898
  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 10
    sessionAffinity:
      cookieName: user
",
            "  phase: Progressing\n  sessionAffinityCookie: user=abcdefghij\n",
        );
        let created = reconcile(None, &canary).expect("reconcile");
        let sticky = set_routes(&created, &canary, split(90, 10));
        assert_eq!(sticky.spec.http.len(), 2);
        assert_eq!(reconcile(Some(&sticky), &canary), Ok(sticky));
    }

    #[test]
    fn reconcile_records_the_spec_it_takes_over_once() {
        let canary = canary(PROGRESSIVE, "  phase: Initializing\n");
        let mut foreign = reconcile(None, &canary).expect("reconcile");
        foreign.spec.http[0].route = vec![HttpRouteDestination {
            destination: Destination {
                host: "legacy".to_owned(),
                port: None,
            },
            weight: 100,
            headers: None,
        }];
        let taken = reconcile(Some(&foreign), &canary).expect("reconcile");
        assert_eq!(routes(&taken, &canary), Ok(Routes::ALL_PRIMARY));
        let original = taken
            .metadata
            .annotations
            .get(ORIGINAL_CONFIGURATION)
            .expect("original recorded");
        assert!(original.contains("legacy"), "{original}");

        let mut changed = canary.clone();
        changed.spec.service.timeout = Some("1s".to_owned());
        let updated = reconcile(Some(&taken), &changed).expect("reconcile");
        assert_eq!(
            updated.metadata.annotations.get(ORIGINAL_CONFIGURATION),
            Some(original)
        );
        assert_eq!(
            finalize(&updated).expect("finalize"),
            Some(foreign.spec.clone())
        );
    }

    #[test]
    fn finalize_without_an_original_restores_nothing() {
        let canary = canary(PROGRESSIVE, "  phase: Initializing\n");
        let created = reconcile(None, &canary).expect("reconcile");
        assert_eq!(finalize(&created), Ok(None));
    }

    #[test]
    fn reconcile_rejects_a_delegate_with_hosts() {
        let canary = canary(
            "  service:
    port: 9898
    delegation: true
    hosts:
    - app.example.com
",
            "  phase: Initializing\n",
        );
        let error = reconcile(None, &canary).expect_err("delegate with hosts");
        assert_eq!(
            error.to_string(),
            "VirtualService podinfo.test cannot have hosts and gateways when delegation enabled"
        );
    }

    #[test]
    fn hosts_get_the_apex_unless_it_or_a_wildcard_is_listed() {
        let with_wildcard = canary(
            "  service:\n    port: 9898\n    hosts:\n    - \"*\"\n",
            "  phase: Initializing\n",
        );
        assert_eq!(
            virtual_service(&with_wildcard, Routes::ALL_PRIMARY)
                .spec
                .hosts,
            ["*"]
        );
        let with_other = canary(
            "  service:\n    port: 9898\n    hosts:\n    - app.example.com\n",
            "  phase: Initializing\n",
        );
        assert_eq!(
            virtual_service(&with_other, Routes::ALL_PRIMARY).spec.hosts,
            ["app.example.com", "podinfo"]
        );
    }

    #[test]
    fn routes_come_from_the_last_http_rule_with_a_canary_destination() {
        let canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let mut written = virtual_service(&canary, split(60, 40));
        let mut first = written.spec.http[0].clone();
        first.route[0].weight = 10;
        first.route[1].weight = 90;
        first.mirror = Some(Destination {
            host: "podinfo-canary".to_owned(),
            port: None,
        });
        written.spec.http.insert(0, first);
        assert_eq!(routes(&written, &canary), Ok(split(60, 40)));
    }

    #[test]
    fn routes_fail_when_nothing_routes_to_the_primary_or_the_canary() {
        let canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let mut written = virtual_service(&canary, Routes::ALL_PRIMARY);
        written.spec.http.clear();
        let error = routes(&written, &canary).expect_err("no routes");
        assert_eq!(
            error.to_string(),
            "VirtualService podinfo.test does not contain routes for podinfo-primary and podinfo-canary"
        );
    }

    #[test]
    fn routes_read_back_what_set_routes_wrote_for_every_strategy() {
        let strategies = [
            PROGRESSIVE.to_owned(),
            format!("{PROGRESSIVE}    mirror: true\n    mirrorWeight: 20\n"),
            "  service:
    port: 9898
  analysis:
    interval: 1m
    threshold: 5
    iterations: 5
    match:
    - headers:
        x-canary:
          exact: \"1\"
"
            .to_owned(),
            format!(
                "{PROGRESSIVE}    sessionAffinity:\n      cookieName: canary\n      primaryCookieName: primary\n"
            ),
            "  service:\n    port: 5432\n    appProtocol: tcp\n".to_owned(),
        ];
        let splits = [
            Routes::ALL_PRIMARY,
            Routes {
                mirrored: true,
                ..Routes::ALL_PRIMARY
            },
            split(90, 10),
            split(50, 50),
            Routes::ALL_CANARY,
        ];
        for spec in &strategies {
            let canary = canary(
                spec,
                "  phase: Progressing
  sessionAffinityCookie: canary=abcdefghij
  primarySessionAffinityCookie: primary=klmnopqrst
",
            );
            let created = reconcile(None, &canary).expect("reconcile");
            for split in splits {
                let written = set_routes(&created, &canary, split);
                // TCP rules cannot mirror; A/B testing never mirrors.
                let tcp = canary.spec.service.app_protocol.is_some();
                let ab_testing = !canary.spec.analysis().r#match.is_empty();
                let expected = Routes {
                    mirrored: split.mirrored && !tcp && !ab_testing,
                    ..split
                };
                assert_eq!(routes(&written, &canary), Ok(expected), "{spec}");
            }
        }
    }

    #[test]
    fn mirror_percentage_is_written_only_for_a_positive_mirror_weight() {
        let mirrored = Routes {
            mirrored: true,
            ..Routes::ALL_PRIMARY
        };
        let without_weight = canary(PROGRESSIVE, "  phase: Progressing\n");
        let rule = &virtual_service(&without_weight, mirrored).spec.http[0];
        assert_eq!(
            rule.mirror.as_ref().map(|mirror| mirror.host.as_str()),
            Some("podinfo-canary")
        );
        assert_eq!(rule.mirror_percentage, None);

        let with_weight = canary(
            &format!("{PROGRESSIVE}    mirrorWeight: 30\n"),
            "  phase: Progressing\n",
        );
        let rule = &virtual_service(&with_weight, mirrored).spec.http[0];
        assert_eq!(rule.mirror_percentage, Some(Percent { value: 30.0 }));
    }

    #[test]
    fn the_ab_merge_is_a_cartesian_product_that_overrides_the_service_conditions() {
        let canary = canary(
            "  service:
    port: 9898
    match:
    - uri:
        prefix: /a
      headers:
        x-service:
          exact: kept-only-without-analysis-headers
    - uri:
        prefix: /b
  analysis:
    interval: 1m
    threshold: 5
    iterations: 5
    match:
    - headers:
        x-canary:
          exact: \"1\"
    - sourceLabels:
        app: frontend
",
            "  phase: Progressing\n",
        );
        let rules = virtual_service(&canary, Routes::ALL_CANARY).spec.http;
        let merged = &rules[0].r#match;
        assert_eq!(merged.len(), 4);
        let summary: Vec<(Option<String>, Vec<String>, Vec<String>)> = merged
            .iter()
            .map(|condition| {
                (
                    condition.uri.as_ref().and_then(|uri| uri.prefix.clone()),
                    condition.headers.keys().cloned().collect(),
                    condition.source_labels.keys().cloned().collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (Some("/a".to_owned()), vec!["x-canary".to_owned()], vec![]),
                (Some("/b".to_owned()), vec!["x-canary".to_owned()], vec![]),
                (
                    Some("/a".to_owned()),
                    vec!["x-service".to_owned()],
                    vec!["app".to_owned()]
                ),
                (Some("/b".to_owned()), vec![], vec!["app".to_owned()]),
            ]
        );
        assert_eq!(rules[1].r#match.len(), 2);
        assert_eq!(rules[1].route.len(), 1);
    }

    #[test]
    fn session_affinity_without_a_cookie_in_status_writes_only_the_weighted_rule() {
        let canary = canary(
            &format!("{PROGRESSIVE}    sessionAffinity:\n      cookieName: canary\n"),
            "  phase: Progressing\n",
        );
        let rules = virtual_service(&canary, split(90, 10)).spec.http;
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].name, None);
    }

    #[test]
    fn a_zero_max_age_means_flaggers_one_day() {
        let canary = canary(
            &format!(
                "{PROGRESSIVE}    sessionAffinity:\n      cookieName: canary\n      maxAge: 0\n"
            ),
            "  phase: Progressing\n  sessionAffinityCookie: canary=abcdefghij\n",
        );
        let rules = virtual_service(&canary, split(90, 10)).spec.http;
        let cookie = rules[1].route[1]
            .headers
            .as_ref()
            .and_then(|headers| headers.response.as_ref())
            .and_then(|response| response.add.get(SET_COOKIE_HEADER))
            .expect("canary destination sets the cookie");
        assert_eq!(cookie, "canary=abcdefghij; Max-Age=86400");
    }

    #[test]
    fn set_routes_keeps_hosts_gateways_and_metadata() {
        let canary = canary(PROGRESSIVE, "  phase: Progressing\n");
        let mut existing = reconcile(None, &canary).expect("reconcile");
        existing.spec.hosts.push("extra.example.com".to_owned());
        existing
            .metadata
            .annotations
            .insert("team".to_owned(), "payments".to_owned());
        let written = set_routes(&existing, &canary, split(80, 20));
        assert_eq!(written.spec.hosts, existing.spec.hosts);
        assert_eq!(written.metadata, existing.metadata);
        assert_eq!(routes(&written, &canary), Ok(split(80, 20)));
    }

    #[test]
    fn destination_rules_carry_the_traffic_policy_for_both_services() {
        let canary = canary(
            "  service:
    port: 9898
    trafficPolicy:
      loadBalancer:
        simple: LEAST_REQUEST
",
            "  phase: Initializing\n",
        );
        let rules = destination_rules(&canary);
        assert_eq!(
            rules.each_ref().map(|rule| rule.spec.host.as_str()),
            ["podinfo-canary", "podinfo-primary"]
        );
        assert!(rules.iter().all(|rule| rule.spec.traffic_policy.is_some()));
    }
}
