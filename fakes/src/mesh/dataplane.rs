//! How the data planes of the other providers route a request, read from
//! the stored objects (see `providers.rs`) the way each proxy or mesh reads
//! them.
//!
//! Every object compiles to an ordered list of rules: the first rule whose
//! conditions all hold decides, so each provider's precedence is applied
//! once, when the table is built.
//!
//! | provider | what decides | weights |
//! |---|---|---|
//! | linkerd, osm, smi | the TrafficSplit's backends | relative; a missing weight is 0 |
//! | nginx | ingress-nginx's canary rules: `canary-by-header` (with `-value`, else `-pattern`, else `always`/`never`), then `canary-by-cookie` (`always`/`never`), then `canary-weight` of `canary-weight-total` (at least 100) | the rest reaches the user's Ingress backend |
//! | skipper | the enabled Ingress with the highest `Weight(n)` predicate (`False()` disables one) | `zalando.org/backend-weights`; without it, even |
//! | contour | routes by longest path prefix, then most header conditions (`exact`, `contains`) | relative; all unweighted is even; two prefixes in one route invalidate the HTTPProxy |
//! | traefik | the weighted round robin | a missing weight is 1, 0 is skipped |
//! | gloo | the RouteTable's routes in order; a route's matchers are alternatives (headers, query parameters, methods; `invertMatch`) | destinations resolved through their Upstream's `kube.serviceName` |
//! | apisix | every ApisixRoute's HTTP routes: exact paths, then longer `/*` prefixes, then higher `priority`; `exprs` on headers, query arguments, cookies, the path | a missing weight is 100 |
//! | kuma | the TrafficRoute's split | relative |
//! | appmesh | the apex virtual router's routes by `priority` (unset last); prefix, method and header matches (`invert`) | targets resolved through their VirtualNode's DNS name |
//! | knative | `status.traffic` | the pinned `flagger.app/primary-revision` is the primary, the latest revision the canary (the primary again once it is the latest) |
//!
//! Before the provider's object exists, meshes and ingresses that route to
//! the apex Service (SMI, Kuma, App Mesh, NGINX, Skipper, APISIX, Knative)
//! reach the primary once `reconcile_apex` has run; Contour, Gloo and
//! Traefik route nothing (the user's root object points at the missing one).
//! No provider here mirrors or sets cookies.
//!
//! Simplifications: hosts (Ingress rules, virtual hosts, App Mesh gateways)
//! are not evaluated, and every request is taken to reach the routes (the
//! user's Ingress rules, Gloo's delegating VirtualService, the TrafficSplit's
//! service); PCRE (NGINX, APISIX) is read as Rust's `regex`, and a pattern it
//! rejects never matches; APISIX's negated operators need the value present;
//! App Mesh `range` header matches never match.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::Ingress;
use regex::Regex;
use weir_api::ServiceNames;
use weir_routers::appmesh::{v1beta1, v1beta2};
use weir_routers::{apisix, contour, gloo, knative, kuma, skipper, smi, traefik};

use super::providers::{INGRESS_ANNOTATIONS_PREFIX, ProviderObjects};
use super::{Request, Role, RouteDecision, Table, role};

/// ingress-nginx reads a `canary-weight` out of 100 unless the total is larger.
const NGINX_MINIMUM_WEIGHT_TOTAL: f64 = 100.0;
/// ingress-nginx's header and cookie values that force a decision.
const NGINX_ALWAYS: &str = "always";
const NGINX_NEVER: &str = "never";
/// Skipper's predicate that disables a route.
const SKIPPER_DISABLED: &str = "False()";
/// The ApisixRoute backend weight the ingress controller uses when none is set.
const APISIX_DEFAULT_WEIGHT: i32 = 100;
/// App Mesh tries routes without a priority after every prioritised one.
const APP_MESH_UNSET_PRIORITY: i64 = i64::MAX;

/// One rule of an ordered table: all conditions must hold.
#[derive(Clone, Debug)]
pub(super) struct OrderedRule {
    conditions: Vec<Condition>,
    decision: RouteDecision,
}

impl OrderedRule {
    fn new(conditions: Vec<Condition>, decision: RouteDecision) -> OrderedRule {
        OrderedRule {
            conditions,
            decision,
        }
    }

    fn catch_all(decision: RouteDecision) -> OrderedRule {
        OrderedRule::new(Vec::new(), decision)
    }
}

/// The decision of the first rule that holds for `request`; none routes nothing.
pub(super) fn first_match(rules: &[OrderedRule], request: &Request) -> RouteDecision {
    rules
        .iter()
        .find(|rule| {
            rule.conditions
                .iter()
                .all(|condition| condition.holds(request))
        })
        .map(|rule| rule.decision.clone())
        .unwrap_or_default()
}

/// What part of the request a condition looks at.
#[derive(Clone, Debug)]
enum Subject {
    /// Without the query string.
    Path,
    Method,
    /// A lower-case header name.
    Header(String),
    Query(String),
    Cookie(String),
}

/// A test of one value.
#[derive(Clone, Debug)]
enum Test {
    Exact(String),
    Prefix(String),
    /// Path prefix by whole segments: `/api` matches `/api` and `/api/v1`, not `/apiv1`.
    SegmentPrefix(String),
    Suffix(String),
    Contains(String),
    /// The whole value must match (Envoy, RE2).
    FullRegex(Regex),
    /// A match anywhere in the value (PCRE's `ngx.re.match`, lua-resty-expr's `~~`).
    SearchRegex(Regex),
    OneOf(Vec<String>),
    GreaterThan(f64),
    LessThan(f64),
    /// The value is there, whatever it is.
    Present,
    /// The value is not there.
    Absent,
    /// A condition the data plane would reject.
    Never,
}

impl Test {
    fn full_regex(pattern: &str) -> Test {
        Regex::new(&format!("^(?:{pattern})$")).map_or(Test::Never, Test::FullRegex)
    }

    fn search_regex(pattern: &str) -> Test {
        Regex::new(pattern).map_or(Test::Never, Test::SearchRegex)
    }

    fn matches(&self, value: &str) -> bool {
        match self {
            Test::Exact(expected) => value == expected,
            Test::Prefix(prefix) => value.starts_with(prefix.as_str()),
            Test::SegmentPrefix(prefix) => {
                let prefix = prefix.trim_end_matches('/');
                prefix.is_empty()
                    || value == prefix
                    || value
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('/'))
            }
            Test::Suffix(suffix) => value.ends_with(suffix.as_str()),
            Test::Contains(part) => value.contains(part.as_str()),
            Test::FullRegex(regex) | Test::SearchRegex(regex) => regex.is_match(value),
            Test::OneOf(values) => values.iter().any(|candidate| candidate == value),
            Test::GreaterThan(bound) => value.trim().parse::<f64>().is_ok_and(|n| n > *bound),
            Test::LessThan(bound) => value.trim().parse::<f64>().is_ok_and(|n| n < *bound),
            Test::Present => true,
            Test::Absent | Test::Never => false,
        }
    }
}

/// A condition on a request.
#[derive(Clone, Debug)]
struct Condition {
    subject: Subject,
    test: Test,
    /// The value must be present and fail the test (Envoy's `invert_match`).
    negated: bool,
}

impl Condition {
    fn new(subject: Subject, test: Test, negated: bool) -> Condition {
        // An inverted presence test is an absence test, in Envoy as in App Mesh.
        let (test, negated) = match (test, negated) {
            (Test::Present, true) => (Test::Absent, false),
            (test, negated) => (test, negated),
        };
        Condition {
            subject,
            test,
            negated,
        }
    }

    fn path(test: Test) -> Condition {
        Condition::new(Subject::Path, test, false)
    }

    fn header(name: &str, test: Test, negated: bool) -> Condition {
        Condition::new(Subject::Header(name.to_ascii_lowercase()), test, negated)
    }

    fn never() -> Condition {
        Condition::path(Test::Never)
    }

    fn holds(&self, request: &Request) -> bool {
        let value = match &self.subject {
            Subject::Path => Some(request.path_only().to_owned()),
            Subject::Method => Some(request.method.clone()),
            Subject::Header(name) => request.header_value(name),
            Subject::Query(name) => request.query_value(name).map(str::to_owned),
            Subject::Cookie(name) => request.cookie_value(name),
        };
        match (value, &self.test) {
            (None, test) => matches!(test, Test::Absent),
            (Some(_), Test::Absent) => false,
            (Some(value), test) => test.matches(&value) != self.negated,
        }
    }
}

/// Which workload a Service name sends to. The apex Service selects the
/// primary pods, so a route to it reaches the primary.
fn service_role(service: &str, names: &ServiceNames) -> Option<Role> {
    role(service, names).or_else(|| {
        let is_apex = service == names.apex
            || service
                .strip_prefix(names.apex.as_str())
                .is_some_and(|rest| rest.starts_with('.'));
        is_apex.then_some(Role::Primary)
    })
}

/// Shares in proportion to the weights; shares of unknown backends are
/// lost (those requests reach neither workload). No weight at all routes
/// nothing.
fn split(shares: impl IntoIterator<Item = (Option<Role>, f64)>) -> RouteDecision {
    let shares: Vec<(Option<Role>, f64)> = shares
        .into_iter()
        .map(|(role, weight)| (role, weight.max(0.0)))
        .collect();
    let total: f64 = shares.iter().map(|(_, weight)| weight).sum();
    let mut decision = RouteDecision::default();
    if total <= 0.0 {
        return decision;
    }
    for (role, weight) in shares {
        match role {
            Some(Role::Primary) => decision.primary += weight / total,
            Some(Role::Canary) => decision.canary += weight / total,
            None => {}
        }
    }
    decision
}

/// Every request to `role`; nothing for an unknown backend.
fn all_to(role: Option<Role>) -> RouteDecision {
    split([(role, 1.0)])
}

/// `first` for `1 - fraction` of the requests, `second` for `fraction`.
fn blend(first: &RouteDecision, second: &RouteDecision, fraction: f64) -> RouteDecision {
    let fraction = fraction.clamp(0.0, 1.0);
    RouteDecision {
        primary: first.primary * (1.0 - fraction) + second.primary * fraction,
        canary: first.canary * (1.0 - fraction) + second.canary * fraction,
        ..RouteDecision::default()
    }
}

/// The routing table for the stored objects of one provider.
pub(super) fn compile(
    objects: &ProviderObjects,
    names: &ServiceNames,
    apex_reconciled: bool,
) -> Table {
    // Before the provider's object exists, requests reach the apex Service.
    let to_apex = if apex_reconciled {
        RouteDecision::all_primary()
    } else {
        RouteDecision::default()
    };
    match objects {
        ProviderObjects::Elsewhere => Table::Fixed(RouteDecision::default()),
        ProviderObjects::Smi { split, .. } => Table::Fixed(
            split
                .as_deref()
                .map_or(to_apex, |split| smi_decision(split, names)),
        ),
        ProviderObjects::Nginx { ingresses } if ingresses.is_empty() => Table::Fixed(to_apex),
        ProviderObjects::Nginx { ingresses } => Table::Ordered(nginx_rules(ingresses, names)),
        ProviderObjects::Skipper { ingresses } if ingresses.is_empty() => Table::Fixed(to_apex),
        ProviderObjects::Skipper { ingresses } => Table::Fixed(skipper_decision(ingresses, names)),
        ProviderObjects::Contour { proxy } => match proxy {
            Some(proxy) => Table::Ordered(contour_rules(proxy, names)),
            None => Table::Fixed(RouteDecision::default()),
        },
        ProviderObjects::Traefik { service } => Table::Fixed(
            service
                .as_deref()
                .map(|service| traefik_decision(service, names))
                .unwrap_or_default(),
        ),
        ProviderObjects::Gloo { upstreams, table } => match table {
            Some(table) => Table::Ordered(gloo_rules(table, upstreams, names)),
            None => Table::Fixed(RouteDecision::default()),
        },
        ProviderObjects::Apisix { routes } if routes.is_empty() => Table::Fixed(to_apex),
        ProviderObjects::Apisix { routes } => Table::Ordered(apisix_rules(routes, names)),
        ProviderObjects::Kuma { route } => Table::Fixed(
            route
                .as_deref()
                .map_or(to_apex, |route| kuma_decision(route, names)),
        ),
        ProviderObjects::AppMeshV1beta1 { nodes, services } => {
            let apex_service = services.values().find(|service| {
                service
                    .spec
                    .virtual_router
                    .as_ref()
                    .is_some_and(|router| router.name == names.apex)
            });
            match apex_service {
                Some(service) => Table::Ordered(app_mesh_v1beta1_rules(service, nodes, names)),
                None => Table::Fixed(to_apex),
            }
        }
        ProviderObjects::AppMeshV1beta2 {
            nodes,
            routers,
            services,
        } => match services.get(&names.apex) {
            Some(service) => {
                let router = service
                    .spec
                    .provider
                    .as_ref()
                    .and_then(|provider| provider.virtual_router.as_ref())
                    .and_then(|provider| provider.virtual_router_ref.as_ref())
                    .and_then(|reference| routers.get(&reference.name));
                match router {
                    Some(router) => Table::Ordered(app_mesh_v1beta2_rules(router, nodes, names)),
                    // A virtual service without its router routes nothing.
                    None => Table::Fixed(RouteDecision::default()),
                }
            }
            None => Table::Fixed(to_apex),
        },
        ProviderObjects::Knative { service, .. } => {
            Table::Fixed(service.as_deref().map_or(to_apex, knative_decision))
        }
    }
}

// ------------------------------------------------------------------ SMI

fn smi_decision(traffic_split: &smi::TrafficSplit, names: &ServiceNames) -> RouteDecision {
    split(traffic_split.spec.backends.iter().map(|backend| {
        let weight = backend
            .weight
            .as_ref()
            .and_then(smi::Weight::whole)
            .unwrap_or_default();
        // Weights are percentages in practice; precision is irrelevant here.
        let weight = weight as f64;
        (service_role(&backend.service, names), weight)
    }))
}

// ---------------------------------------------------------------- NGINX

fn nginx_annotation<'a>(ingress: &'a Ingress, name: &str) -> Option<&'a str> {
    ingress
        .metadata
        .annotations
        .as_ref()
        .and_then(|annotations| annotations.get(&format!("{INGRESS_ANNOTATIONS_PREFIX}/{name}")))
        .map(String::as_str)
        .filter(|value| !value.is_empty())
}

/// The workload of the first Service backend of an Ingress.
fn ingress_backend_role(ingress: &Ingress, names: &ServiceNames) -> Option<Role> {
    let spec = ingress.spec.as_ref()?;
    spec.rules
        .iter()
        .flatten()
        .filter_map(|rule| rule.http.as_ref())
        .flat_map(|http| &http.paths)
        .filter_map(|path| path.backend.service.as_ref())
        .chain(
            spec.default_backend
                .as_ref()
                .and_then(|backend| backend.service.as_ref()),
        )
        .map(|service| service_role(&service.name, names))
        .next()
        .flatten()
}

/// ingress-nginx's `route_to_alternative_balancer`: the user's Ingress
/// serves unless the canary Ingress's rules send the request to it.
fn nginx_rules(ingresses: &BTreeMap<String, Ingress>, names: &ServiceNames) -> Vec<OrderedRule> {
    let is_canary = |ingress: &&Ingress| nginx_annotation(ingress, "canary") == Some("true");
    // A canary Ingress alone serves nothing: it only borrows requests.
    let Some(main) = ingresses.values().find(|ingress| !is_canary(ingress)) else {
        return Vec::new();
    };
    let main = all_to(ingress_backend_role(main, names));
    let Some(canary_ingress) = ingresses.values().find(is_canary) else {
        return vec![OrderedRule::catch_all(main)];
    };
    let alternative = all_to(ingress_backend_role(canary_ingress, names));
    let annotation = |name: &str| nginx_annotation(canary_ingress, name);

    let mut rules = Vec::new();
    if let Some(header) = annotation("canary-by-header") {
        let on = |test: Test| Condition::header(header, test, false);
        if let Some(value) = annotation("canary-by-header-value") {
            rules.push(OrderedRule::new(
                vec![on(Test::Exact(value.to_owned()))],
                alternative.clone(),
            ));
        } else if let Some(pattern) = annotation("canary-by-header-pattern") {
            match Regex::new(pattern) {
                Ok(regex) => rules.push(OrderedRule::new(
                    vec![on(Test::SearchRegex(regex))],
                    alternative.clone(),
                )),
                // ingress-nginx logs the error and keeps the request off the canary.
                Err(_) => rules.push(OrderedRule::new(vec![on(Test::Present)], main.clone())),
            }
        } else {
            rules.push(OrderedRule::new(
                vec![on(Test::Exact(NGINX_ALWAYS.to_owned()))],
                alternative.clone(),
            ));
            rules.push(OrderedRule::new(
                vec![on(Test::Exact(NGINX_NEVER.to_owned()))],
                main.clone(),
            ));
        }
    }
    if let Some(cookie) = annotation("canary-by-cookie") {
        let on = |value: &str| {
            Condition::new(
                Subject::Cookie(cookie.to_owned()),
                Test::Exact(value.to_owned()),
                false,
            )
        };
        rules.push(OrderedRule::new(
            vec![on(NGINX_ALWAYS)],
            alternative.clone(),
        ));
        rules.push(OrderedRule::new(vec![on(NGINX_NEVER)], main.clone()));
    }
    // An unreadable weight is ignored by ingress-nginx: 0.
    let weight = annotation("canary-weight")
        .and_then(|weight| weight.trim().parse::<f64>().ok())
        .unwrap_or_default();
    let total = annotation("canary-weight-total")
        .and_then(|total| total.trim().parse::<f64>().ok())
        .map_or(NGINX_MINIMUM_WEIGHT_TOTAL, |total| {
            total.max(NGINX_MINIMUM_WEIGHT_TOTAL)
        });
    rules.push(OrderedRule::catch_all(blend(
        &main,
        &alternative,
        weight / total,
    )));
    rules
}

// -------------------------------------------------------------- Skipper

/// The route Skipper picks among the Ingresses' identical routes: the
/// enabled one with the highest `Weight(n)`, split by its backend weights.
fn skipper_decision(ingresses: &BTreeMap<String, Ingress>, names: &ServiceNames) -> RouteDecision {
    let annotation = |ingress: &Ingress, key: &str| {
        ingress
            .metadata
            .annotations
            .as_ref()
            .and_then(|annotations| annotations.get(key))
            .cloned()
    };
    let mut chosen: Option<(f64, &Ingress)> = None;
    for ingress in ingresses.values() {
        let predicates = annotation(ingress, skipper::PREDICATE_ANNOTATION).unwrap_or_default();
        let predicates: Vec<&str> = predicates.split("&&").map(str::trim).collect();
        if predicates.contains(&SKIPPER_DISABLED) {
            continue;
        }
        let weight = predicates
            .iter()
            .find_map(|predicate| {
                predicate
                    .strip_prefix("Weight(")
                    .and_then(|rest| rest.strip_suffix(')'))
                    .and_then(|number| number.trim().parse::<f64>().ok())
            })
            .unwrap_or_default();
        if chosen.is_none_or(|(best, _)| weight > best) {
            chosen = Some((weight, ingress));
        }
    }
    let Some((_, ingress)) = chosen else {
        return RouteDecision::default();
    };
    let mut services: Vec<&str> = Vec::new();
    let paths = ingress
        .spec
        .iter()
        .flat_map(|spec| spec.rules.iter().flatten())
        .filter_map(|rule| rule.http.as_ref())
        .flat_map(|http| &http.paths);
    for path in paths {
        if let Some(service) = &path.backend.service
            && !services.contains(&service.name.as_str())
        {
            services.push(&service.name);
        }
    }
    // Without readable weights Skipper balances the backends evenly.
    let weights: Option<BTreeMap<String, f64>> =
        annotation(ingress, skipper::BACKEND_WEIGHTS_ANNOTATION)
            .and_then(|text| serde_json::from_str(&text).ok());
    split(services.into_iter().map(|service| {
        let weight = weights
            .as_ref()
            .map_or(1.0, |weights| weights.get(service).copied().unwrap_or(0.0));
        (service_role(service, names), weight)
    }))
}

// -------------------------------------------------------------- Contour

/// Contour's routes, most specific first; an HTTPProxy Contour would mark
/// invalid routes nothing.
fn contour_rules(proxy: &contour::HttpProxy, names: &ServiceNames) -> Vec<OrderedRule> {
    let mut ranked: Vec<((usize, usize), OrderedRule)> = Vec::new();
    for route in &proxy.spec.routes {
        let prefixes: Vec<&str> = route
            .conditions
            .iter()
            .map(|condition| condition.prefix.as_str())
            .filter(|prefix| !prefix.is_empty())
            .collect();
        if prefixes.len() > 1 {
            // "more than one prefix is not allowed in a condition block"
            return Vec::new();
        }
        let prefix = prefixes.first().copied().unwrap_or("/");
        let mut conditions = vec![Condition::path(Test::SegmentPrefix(prefix.to_owned()))];
        for header in route
            .conditions
            .iter()
            .filter_map(|condition| condition.header.as_ref())
        {
            let test = if !header.exact.is_empty() {
                Test::Exact(header.exact.clone())
            } else if !header.contains.is_empty() {
                Test::Contains(header.contains.clone())
            } else {
                // A header condition without a match type is invalid.
                return Vec::new();
            };
            conditions.push(Condition::header(&header.name, test, false));
        }
        // Contour splits evenly when no service of the route has a weight.
        let unweighted = route.services.iter().all(|service| service.weight == 0);
        let decision = split(route.services.iter().map(|service| {
            let weight = if unweighted {
                1.0
            } else {
                f64::from(service.weight)
            };
            (service_role(&service.name, names), weight)
        }));
        let rank = (prefix.trim_end_matches('/').len(), conditions.len());
        ranked.push((rank, OrderedRule::new(conditions, decision)));
    }
    // Stable: equally specific routes keep their order.
    ranked.sort_by_key(|(rank, _)| Reverse(*rank));
    ranked.into_iter().map(|(_, rule)| rule).collect()
}

// -------------------------------------------------------------- Traefik

fn traefik_decision(service: &traefik::TraefikService, names: &ServiceNames) -> RouteDecision {
    split(
        service
            .spec
            .weighted
            .iter()
            .flat_map(|weighted| &weighted.services)
            .map(|service| {
                // Traefik reads a missing weight as 1.
                let weight = service.weight.unwrap_or(1);
                (service_role(&service.name, names), f64::from(weight))
            }),
    )
}

// ----------------------------------------------------------------- Gloo

fn gloo_rules(
    table: &gloo::RouteTable,
    upstreams: &BTreeMap<String, gloo::Upstream>,
    names: &ServiceNames,
) -> Vec<OrderedRule> {
    let upstream_role = |name: &str| {
        upstreams
            .get(name)
            .and_then(|upstream| upstream.spec.kube.as_ref())
            .and_then(|kube| service_role(&kube.service_name, names))
    };
    let mut rules = Vec::new();
    for route in &table.spec.routes {
        let decision = split(
            route
                .route_action
                .multi
                .destinations
                .iter()
                .map(|destination| {
                    (
                        upstream_role(&destination.destination.upstream.name),
                        f64::from(destination.weight),
                    )
                }),
        );
        if route.matchers.is_empty() {
            rules.push(OrderedRule::catch_all(decision));
            continue;
        }
        for matcher in &route.matchers {
            rules.push(OrderedRule::new(gloo_conditions(matcher), decision.clone()));
        }
    }
    rules
}

fn gloo_conditions(matcher: &gloo::Matcher) -> Vec<Condition> {
    let test = |value: &str, regex: bool| {
        if value.is_empty() {
            Test::Present
        } else if regex {
            Test::full_regex(value)
        } else {
            Test::Exact(value.to_owned())
        }
    };
    let mut conditions: Vec<Condition> = matcher
        .headers
        .iter()
        .map(|header| {
            Condition::header(
                &header.name,
                test(&header.value, header.regex),
                header.invert_match,
            )
        })
        .collect();
    conditions.extend(matcher.query_parameters.iter().map(|parameter| {
        Condition::new(
            Subject::Query(parameter.name.clone()),
            test(&parameter.value, parameter.regex),
            false,
        )
    }));
    if !matcher.methods.is_empty() {
        conditions.push(Condition::new(
            Subject::Method,
            Test::OneOf(matcher.methods.clone()),
            false,
        ));
    }
    conditions
}

// --------------------------------------------------------------- APISIX

/// Every ApisixRoute's HTTP routes, one rule per path, most specific first.
fn apisix_rules(
    routes: &BTreeMap<String, apisix::ApisixRoute>,
    names: &ServiceNames,
) -> Vec<OrderedRule> {
    let mut ranked: Vec<((bool, usize, i64), OrderedRule)> = Vec::new();
    for route in routes.values() {
        for http in &route.spec.http {
            let decision = split(http.backends.iter().map(|backend| {
                let weight = backend.weight.unwrap_or(APISIX_DEFAULT_WEIGHT);
                (
                    service_role(&backend.service_name, names),
                    f64::from(weight),
                )
            }));
            let mut conditions: Vec<Condition> =
                http.r#match.exprs.iter().map(apisix_condition).collect();
            if !http.r#match.methods.is_empty() {
                conditions.push(Condition::new(
                    Subject::Method,
                    Test::OneOf(http.r#match.methods.clone()),
                    false,
                ));
            }
            for path in &http.r#match.paths {
                let (test, exact, length) = match path.strip_suffix('*') {
                    Some(prefix) => (Test::Prefix(prefix.to_owned()), false, prefix.len()),
                    None => (Test::Exact(path.clone()), true, path.len()),
                };
                let mut with_path = vec![Condition::path(test)];
                with_path.extend(conditions.iter().cloned());
                ranked.push((
                    (exact, length, http.priority),
                    OrderedRule::new(with_path, decision.clone()),
                ));
            }
        }
    }
    ranked.sort_by_key(|(rank, _)| Reverse(*rank));
    ranked.into_iter().map(|(_, rule)| rule).collect()
}

fn apisix_condition(expr: &apisix::ApisixRouteHttpMatchExpr) -> Condition {
    let subject = match expr.subject.scope.as_str() {
        "Header" => Subject::Header(expr.subject.name.to_ascii_lowercase()),
        "Query" => Subject::Query(expr.subject.name.clone()),
        "Cookie" => Subject::Cookie(expr.subject.name.clone()),
        "Path" => Subject::Path,
        _ => return Condition::never(),
    };
    let value = expr.value.clone().unwrap_or_default();
    let number = |value: &str| value.trim().parse::<f64>().ok();
    let (test, negated) = match expr.op.as_str() {
        "Equal" => (Test::Exact(value), false),
        "NotEqual" => (Test::Exact(value), true),
        "GreaterThan" => (number(&value).map_or(Test::Never, Test::GreaterThan), false),
        "LessThan" => (number(&value).map_or(Test::Never, Test::LessThan), false),
        "In" => (Test::OneOf(expr.set.clone()), false),
        "NotIn" => (Test::OneOf(expr.set.clone()), true),
        "RegexMatch" => (Test::search_regex(&value), false),
        "RegexNotMatch" => (Test::search_regex(&value), true),
        "RegexMatchCaseInsensitive" => (Test::search_regex(&format!("(?i){value}")), false),
        "RegexNotMatchCaseInsensitive" => (Test::search_regex(&format!("(?i){value}")), true),
        _ => (Test::Never, false),
    };
    Condition::new(subject, test, negated)
}

// ----------------------------------------------------------------- Kuma

fn kuma_decision(route: &kuma::TrafficRoute, names: &ServiceNames) -> RouteDecision {
    split(
        route
            .spec
            .conf
            .iter()
            .flat_map(|conf| &conf.split)
            .map(|entry| {
                // `<service>_<namespace>_svc_<port>`
                let role = entry
                    .destination
                    .get("kuma.io/service")
                    .and_then(|service| service.split('_').next())
                    .and_then(|service| service_role(service, names));
                (role, f64::from(entry.weight))
            }),
    )
}

// ------------------------------------------------------------- App Mesh

/// An App Mesh header match; none means the header must be present.
fn app_mesh_header(
    name: &str,
    exact: Option<&String>,
    prefix: Option<&String>,
    suffix: Option<&String>,
    regex: Option<&String>,
    range: bool,
    invert: bool,
) -> Condition {
    let test = if let Some(exact) = exact {
        Test::Exact(exact.clone())
    } else if let Some(prefix) = prefix {
        Test::Prefix(prefix.clone())
    } else if let Some(suffix) = suffix {
        Test::Suffix(suffix.clone())
    } else if let Some(regex) = regex {
        Test::full_regex(regex)
    } else if range {
        Test::Never
    } else {
        Test::Present
    };
    Condition::header(name, test, invert)
}

/// Routes by priority (stable), one rule each.
fn by_priority(mut ranked: Vec<(i64, OrderedRule)>) -> Vec<OrderedRule> {
    ranked.sort_by_key(|(priority, _)| *priority);
    ranked.into_iter().map(|(_, rule)| rule).collect()
}

fn app_mesh_v1beta1_rules(
    service: &v1beta1::VirtualService,
    nodes: &BTreeMap<String, v1beta1::VirtualNode>,
    names: &ServiceNames,
) -> Vec<OrderedRule> {
    let node_role = |name: &str| {
        nodes
            .get(name)
            .and_then(|node| node.spec.service_discovery.as_ref())
            .and_then(|discovery| discovery.dns.as_ref())
            .and_then(|dns| role(&dns.host_name, names))
    };
    let mut ranked = Vec::new();
    for route in &service.spec.routes {
        let Some(http) = &route.http else {
            continue;
        };
        let mut conditions = vec![Condition::path(Test::Prefix(http.r#match.prefix.clone()))];
        if let Some(method) = &http.r#match.method {
            conditions.push(Condition::new(
                Subject::Method,
                Test::Exact(method.clone()),
                false,
            ));
        }
        for header in &http.r#match.headers {
            let method = header.r#match.as_ref();
            conditions.push(app_mesh_header(
                &header.name,
                method.and_then(|method| method.exact.as_ref()),
                method.and_then(|method| method.prefix.as_ref()),
                method.and_then(|method| method.suffix.as_ref()),
                method.and_then(|method| method.regex.as_ref()),
                method.is_some_and(|method| method.range.is_some()),
                header.invert == Some(true),
            ));
        }
        let decision = split(http.action.weighted_targets.iter().map(|target| {
            let weight = target.weight as f64;
            (node_role(&target.virtual_node_name), weight)
        }));
        ranked.push((
            route.priority.unwrap_or(APP_MESH_UNSET_PRIORITY),
            OrderedRule::new(conditions, decision),
        ));
    }
    by_priority(ranked)
}

fn app_mesh_v1beta2_rules(
    router: &v1beta2::VirtualRouter,
    nodes: &BTreeMap<String, v1beta2::VirtualNode>,
    names: &ServiceNames,
) -> Vec<OrderedRule> {
    let node_role = |name: &str| {
        nodes
            .get(name)
            .and_then(|node| node.spec.service_discovery.as_ref())
            .and_then(|discovery| discovery.dns.as_ref())
            .and_then(|dns| role(&dns.hostname, names))
    };
    let mut ranked = Vec::new();
    for route in &router.spec.routes {
        let Some(http) = &route.http_route else {
            continue;
        };
        let mut conditions = vec![Condition::path(Test::Prefix(http.r#match.prefix.clone()))];
        if let Some(method) = &http.r#match.method {
            conditions.push(Condition::new(
                Subject::Method,
                Test::Exact(method.clone()),
                false,
            ));
        }
        for header in &http.r#match.headers {
            let method = header.r#match.as_ref();
            conditions.push(app_mesh_header(
                &header.name,
                method.and_then(|method| method.exact.as_ref()),
                method.and_then(|method| method.prefix.as_ref()),
                method.and_then(|method| method.suffix.as_ref()),
                method.and_then(|method| method.regex.as_ref()),
                method.is_some_and(|method| method.range.is_some()),
                header.invert == Some(true),
            ));
        }
        let decision = split(http.action.weighted_targets.iter().map(|target| {
            let role = target
                .virtual_node_ref
                .as_ref()
                .and_then(|reference| node_role(&reference.name));
            let weight = target.weight as f64;
            (role, weight)
        }));
        ranked.push((
            route.priority.unwrap_or(APP_MESH_UNSET_PRIORITY),
            OrderedRule::new(conditions, decision),
        ));
    }
    by_priority(ranked)
}

// -------------------------------------------------------------- Knative

/// `status.traffic`: the pinned primary revision is the primary, the latest
/// revision the canary, unless it is the primary (after a promotion). Before
/// weir pins a primary, the latest revision is what runs in production.
fn knative_decision(service: &knative::KnativeService) -> RouteDecision {
    let primary = knative::primary_revision(service);
    let Some(status) = &service.status else {
        return RouteDecision::default();
    };
    let latest = status.latest_created_revision_name.as_deref();
    split(status.traffic.iter().map(|target| {
        let is_latest = target.latest_revision == Some(true);
        let revision = if is_latest {
            latest
        } else {
            target.revision_name.as_deref()
        };
        let role = match primary {
            None => Some(Role::Primary),
            Some(primary) if revision == Some(primary) => Some(Role::Primary),
            Some(_) if is_latest || (revision.is_some() && revision == latest) => {
                Some(Role::Canary)
            }
            Some(_) => None,
        };
        let percent = target.percent.unwrap_or_default() as f64;
        (role, percent)
    }))
}
