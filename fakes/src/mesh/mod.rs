//! A simulated mesh: the routing port backed by the objects the real routers
//! generate, and a request router that reads those objects.
//!
//! ```text
//!   engine ──Routing──▶ MeshRouter ──weir_routers──▶ VirtualService / HTTPRoute /
//!                           │                        TrafficSplit / Ingress / ... (stored)
//!                           │   compiled once per revision ◀────┘
//!                           ▼
//!   route(&Request) ──▶ RouteDecision { primary, canary, mirror, Set-Cookie headers }
//!   routes()        ──▶ the router's own `routes` over the stored object
//! ```
//!
//! Nothing here decides where a request goes on its own: the decision is
//! read from the stored objects, the way the provider's proxy reads them
//! (Envoy for Istio and Gateway API), so a wrong weight, a lost match or a cookie rule in the wrong place shows
//! up in simulated traffic. The stored objects are recompiled (regular
//! expressions included) only when they change; [`MeshRouter::revision`]
//! counts those changes so callers can cache decisions too.
//!
//! Per provider:
//!
//! * **istio**: DestinationRules and a VirtualService from
//!   `weir_routers::istio`. The first HTTP rule with an empty `match` or one
//!   matching entry wins. Before the VirtualService exists, in-mesh traffic
//!   reaches the apex Service, which selects the primary pods (once
//!   `reconcile_apex` has run).
//! * **gatewayapi:v1 / v1beta1**: an HTTPRoute from `weir_routers::gateway_api`.
//!   Of all matching entries the most specific wins, by Gateway API's
//!   precedence: exact path, then the longest path prefix, then a method
//!   condition, then the most header conditions, then the most query
//!   conditions; ties go to the earlier rule. Regular-expression paths rank
//!   below prefixes (the specification leaves them to implementations). A
//!   missing path is `PathPrefix /`, as the API server defaults it. No route
//!   means no listener rule: nothing is routed.
//! * **kubernetes**: Flagger's no-op router. `routes()` reports all traffic on
//!   the primary until the first iteration, then on the canary, and users
//!   always reach the primary: the apex Service selects the primary pods.
//! * **every other provider** (SMI for linkerd/osm/`smi:*`, nginx, contour,
//!   traefik, gloo, skipper, apisix, kuma, appmesh v1beta1/v1beta2,
//!   knative): the objects their `weir_routers` module generates, written
//!   exactly as the live controller's routing port writes them, with the
//!   user objects it copies (an Ingress, an ApisixRoute, a Knative Service)
//!   made up from the Canary; see `providers.rs`. Requests are routed the way
//!   each data plane reads those objects, A/B matches included (NGINX's
//!   canary annotations, Contour's header conditions, Gloo's matchers,
//!   APISIX's `exprs`, App Mesh's header matches); see `dataplane.rs`. None
//!   of them mirrors or sets cookies. `routes()` reads the split back with
//!   the router's own `routes` function.
//!
//! `edit_virtual_service` and `edit_http_route` change a stored object the
//! way `kubectl edit` or a Gateway controller would, so scenarios can test
//! what the next reconcile keeps; `edit_object` does the same for any stored
//! object through its JSON form.
//!
//! Simplifications, all documented where they apply: Istio's `scheme`,
//! `gateways` and `sourceNamespace` conditions and the VirtualService's own
//! `hosts`/`gateways` are not evaluated (every request is taken to reach the
//! rules); a regular expression the `regex` crate rejects never matches
//! (Istio would reject the object); mirror percentages of Gateway API's
//! RequestMirror are not modelled (a mirror copies every request).

mod dataplane;
#[cfg(test)]
mod provider_tests;
mod providers;

use std::collections::BTreeMap;
use std::fmt::Display;

use regex::Regex;
use weir_api::{Canary, Provider, ServiceNames};
use weir_engine::ports::{PortError, Routes, Routing};
use weir_routers::ObjectMetadata;
use weir_routers::gateway_api::{
    self, FilterType, HttpBackendRef, HttpHeaderFilter, HttpRoute, HttpRouteFilter, HttpRouteMatch,
    HttpRouteRule, PathMatchType, ValueMatchType, Version,
};
use weir_routers::istio::{
    self, DestinationRule, HttpMatchRequest, HttpRouteDestination, StringMatch, VirtualService,
};

use dataplane::OrderedRule;
use providers::ProviderObjects;

/// The response header whose values the decision reports.
const SET_COOKIE: &str = "set-cookie";

/// A user request to the apex Service.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Request {
    /// Path, optionally with a query string (`/api?beta=true`).
    pub path: String,
    pub method: String,
    /// Header names in lower case; cookies travel in a `cookie` header
    /// (`"a=1; b=2"`).
    pub headers: Vec<(String, String)>,
    /// Labels of the calling workload (Istio `sourceLabels`).
    pub source_labels: BTreeMap<String, String>,
    /// The Service port addressed; a port condition needs it.
    pub port: Option<u16>,
}

impl Request {
    /// `GET path`, without headers.
    pub fn get(path: &str) -> Request {
        Request {
            path: path.to_owned(),
            method: "GET".to_owned(),
            ..Request::default()
        }
    }

    /// The request with one more header (the name is lower-cased).
    pub fn header(mut self, name: &str, value: &str) -> Request {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// The request with one more cookie (`"name=value"`) in its `cookie` header.
    pub fn cookie(mut self, cookie: &str) -> Request {
        match self.headers.iter_mut().find(|(name, _)| name == "cookie") {
            Some((_, value)) => {
                value.push_str("; ");
                value.push_str(cookie);
            }
            None => self.headers.push(("cookie".to_owned(), cookie.to_owned())),
        }
        self
    }

    /// The value of a header, names compared without case; repeated headers
    /// are joined the way proxies join them (`; ` for cookies, `,` otherwise).
    fn header_value(&self, wanted: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.as_str())
            .collect();
        if values.is_empty() {
            return None;
        }
        let separator = if wanted.eq_ignore_ascii_case("cookie") {
            "; "
        } else {
            ","
        };
        Some(values.join(separator))
    }

    /// The path without its query string.
    fn path_only(&self) -> &str {
        self.path
            .split_once('?')
            .map_or(&self.path, |(path, _)| path)
    }

    /// The value of the cookie `wanted` in the `cookie` header.
    fn cookie_value(&self, wanted: &str) -> Option<String> {
        let cookies = self.header_value("cookie")?;
        cookies.split(';').find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == wanted).then(|| value.to_owned())
        })
    }

    /// The first value of a query parameter (an empty string for `?flag`).
    fn query_value(&self, wanted: &str) -> Option<&str> {
        let (_, query) = self.path.split_once('?')?;
        query.split('&').find_map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (name == wanted).then_some(value)
        })
    }
}

/// Where the mesh sends requests like one [`Request`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RouteDecision {
    /// Fraction of such requests served by the primary.
    pub primary: f64,
    /// Fraction served by the canary. Both 0 means no rule routes the request
    /// (a 404), or the matching rule's weights are all 0.
    pub canary: f64,
    /// Fraction of these requests also copied to the canary.
    pub mirror: f64,
    /// `Set-Cookie` added to responses from the primary.
    pub primary_set_cookie: Option<String>,
    /// `Set-Cookie` added to responses from the canary.
    pub canary_set_cookie: Option<String>,
    /// `Set-Cookie` added by the matched rule to every response (cookie cleanup).
    pub rule_set_cookie: Option<String>,
}

impl RouteDecision {
    /// Every request to the primary.
    pub fn all_primary() -> RouteDecision {
        RouteDecision {
            primary: 1.0,
            ..RouteDecision::default()
        }
    }

    /// Whether any request is served at all.
    pub fn is_routed(&self) -> bool {
        self.primary + self.canary > 0.0
    }
}

/// How a provider is simulated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mesh {
    Istio,
    GatewayApi(Version),
    Kubernetes,
    /// Every other provider: `Objects::provider`.
    Routers,
}

/// What the simulated cluster stores for routing.
#[derive(Clone, Debug, PartialEq)]
struct Objects {
    destination_rules: Vec<DestinationRule>,
    virtual_service: Option<VirtualService>,
    http_route: Option<HttpRoute>,
    /// The objects of every other provider.
    provider: ProviderObjects,
    /// Whether the apex Service points at the primary pods yet.
    apex_reconciled: bool,
}

/// The inputs of a reconcile: see [`MeshRouter::reconciled`].
#[derive(Clone, Debug, PartialEq)]
struct ReconcileInputs {
    revision: u64,
    spec: weir_api::CanarySpec,
    labels: Option<BTreeMap<String, String>>,
    annotations: Option<BTreeMap<String, String>>,
}

impl ReconcileInputs {
    fn matches(&self, revision: u64, canary: &Canary) -> bool {
        self.revision == revision
            && self.spec == canary.spec
            && self.labels == canary.metadata.labels
            && self.annotations == canary.metadata.annotations
    }
}

/// The routing port of the simulator. See the module documentation.
#[derive(Clone, Debug)]
pub struct MeshRouter {
    provider: Provider,
    objects: Objects,
    /// Service names of the Canary last seen, to tell primary from canary.
    names: Option<ServiceNames>,
    revision: u64,
    /// What the routing objects were last reconciled from: the store's
    /// revision and the Canary's spec and metadata. Reconciling again from
    /// the same inputs changes nothing, so the simulator skips it (the
    /// engine reconciles every tick, as Flagger does).
    reconciled: Option<Box<ReconcileInputs>>,
    table: Table,
    /// Port calls, in order (`reconcile_mesh`, `set_routes`, ...).
    pub calls: Vec<&'static str>,
    /// Port methods that fail with the given message (`"set_routes"` → "boom").
    pub failures: BTreeMap<&'static str, String>,
}

impl MeshRouter {
    /// A mesh for `provider`: the Canary's `spec.provider`, or the
    /// controller's mesh provider.
    pub fn new(provider: Provider) -> MeshRouter {
        let mut router = MeshRouter {
            provider,
            objects: Objects {
                destination_rules: Vec::new(),
                virtual_service: None,
                http_route: None,
                provider: ProviderObjects::new(provider),
                apex_reconciled: false,
            },
            names: None,
            revision: 0,
            reconciled: None,
            table: Table::Fixed(RouteDecision::default()),
            calls: Vec::new(),
            failures: BTreeMap::new(),
        };
        router.table = router.compile();
        router
    }

    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Increases whenever a stored routing object (or anything else that
    /// changes routing decisions) changes.
    pub fn revision(&self) -> u64 {
        self.revision
    }

    /// The stored VirtualService (Istio).
    pub fn virtual_service(&self) -> Option<&VirtualService> {
        self.objects.virtual_service.as_ref()
    }

    /// The stored DestinationRules (Istio).
    pub fn destination_rules(&self) -> &[DestinationRule] {
        &self.objects.destination_rules
    }

    /// The stored HTTPRoute (Gateway API).
    pub fn http_route(&self) -> Option<&HttpRoute> {
        self.objects.http_route.as_ref()
    }

    /// Edits the stored VirtualService, as `kubectl edit` would; the next
    /// `reconcile_mesh` decides what to keep. Returns false if there is none.
    pub fn edit_virtual_service(&mut self, edit: impl FnOnce(&mut VirtualService)) -> bool {
        let Some(virtual_service) = self.objects.virtual_service.as_mut() else {
            return false;
        };
        edit(virtual_service);
        self.revision += 1;
        self.table = self.compile();
        true
    }

    /// Edits the stored HTTPRoute, as `kubectl edit` (or a Gateway controller
    /// writing status) would. Returns false if there is none.
    pub fn edit_http_route(&mut self, edit: impl FnOnce(&mut HttpRoute)) -> bool {
        let Some(route) = self.objects.http_route.as_mut() else {
            return false;
        };
        edit(route);
        self.revision += 1;
        self.table = self.compile();
        true
    }

    /// Edits a stored object of any provider through its JSON form, as
    /// `kubectl edit` would: `kind` and `name` as [`MeshRouter::objects`]
    /// lists them. Returns `Ok(false)` if there is no such object, and an
    /// error (leaving the object as it was) if the edited JSON is no longer
    /// such an object, as the API server would refuse it.
    pub fn edit_object(
        &mut self,
        kind: &str,
        name: &str,
        edit: impl FnOnce(&mut serde_json::Value),
    ) -> Result<bool, serde_json::Error> {
        let mut edit = Some(edit);
        let edited = match kind {
            "DestinationRule" => {
                let rule = self
                    .objects
                    .destination_rules
                    .iter_mut()
                    .find(|rule| rule.metadata.name == name);
                match rule {
                    Some(rule) => edit_json(rule, &mut edit)?,
                    None => false,
                }
            }
            "VirtualService" if self.mesh() == Mesh::Istio => {
                match self
                    .objects
                    .virtual_service
                    .as_mut()
                    .filter(|service| service.metadata.name == name)
                {
                    Some(service) => edit_json(service, &mut edit)?,
                    None => false,
                }
            }
            "HTTPRoute" => match self
                .objects
                .http_route
                .as_mut()
                .filter(|route| route.metadata.name == name)
            {
                Some(route) => edit_json(route, &mut edit)?,
                None => false,
            },
            _ => match edit.take() {
                Some(edit) => self.objects.provider.edit(kind, name, edit)?,
                None => false,
            },
        };
        if edited {
            self.revision += 1;
            self.table = self.compile();
        }
        Ok(edited)
    }

    /// Every stored object as `(kind, name, object)`, by kind, then name
    /// (DestinationRules, then the VirtualService, for Istio). Each object
    /// carries its `apiVersion` and `kind`, as the API server returns it.
    pub fn objects(&self) -> Vec<(String, String, serde_json::Value)> {
        let mut listed = Vec::new();
        let mut rules: Vec<&DestinationRule> = self.objects.destination_rules.iter().collect();
        rules.sort_by(|left, right| left.metadata.name.cmp(&right.metadata.name));
        for rule in rules {
            listed.push(entry(
                "DestinationRule",
                &rule.metadata,
                serde_json::to_value(rule),
            ));
        }
        if let Some(virtual_service) = &self.objects.virtual_service {
            listed.push(entry(
                "VirtualService",
                &virtual_service.metadata,
                serde_json::to_value(virtual_service),
            ));
        }
        if let Some(route) = &self.objects.http_route {
            listed.push(entry(
                "HTTPRoute",
                &route.metadata,
                serde_json::to_value(route),
            ));
        }
        listed.extend(
            self.objects
                .provider
                .list()
                .into_iter()
                .map(|(kind, name, object)| (kind.to_owned(), name, object)),
        );
        // Stable: Istio's and Gateway API's objects are in this order already.
        listed.sort_by(|left, right| (&left.0, &left.1).cmp(&(&right.0, &right.1)));
        listed
    }

    /// Where the mesh sends `request`, read from the stored objects.
    pub fn route(&self, request: &Request) -> RouteDecision {
        match &self.table {
            Table::Fixed(decision) => decision.clone(),
            Table::FirstMatch(rules) => rules
                .iter()
                .find(|rule| {
                    rule.entries.is_empty()
                        || rule.entries.iter().any(|entry| entry.matches(request))
                })
                .map(|rule| rule.decision.clone())
                .unwrap_or_default(),
            Table::MostSpecific(rules) => {
                let mut best: Option<(Specificity, &CompiledRule)> = None;
                for rule in rules {
                    for entry in rule.entries.iter().filter(|entry| entry.matches(request)) {
                        // Strictly more specific only: ties go to the earlier rule.
                        if best.is_none_or(|(specificity, _)| entry.specificity > specificity) {
                            best = Some((entry.specificity, rule));
                        }
                    }
                }
                best.map(|(_, rule)| rule.decision.clone())
                    .unwrap_or_default()
            }
            Table::Ordered(rules) => dataplane::first_match(rules, request),
        }
    }

    fn mesh(&self) -> Mesh {
        match self.provider {
            Provider::Istio => Mesh::Istio,
            Provider::GatewayApiV1 => Mesh::GatewayApi(Version::V1),
            Provider::GatewayApiV1beta1 => Mesh::GatewayApi(Version::V1beta1),
            Provider::Kubernetes => Mesh::Kubernetes,
            _ => Mesh::Routers,
        }
    }

    fn call(&mut self, name: &'static str) -> Result<(), PortError> {
        self.calls.push(name);
        match self.failures.get(name) {
            Some(message) => Err(PortError::new(message.clone())),
            None => Ok(()),
        }
    }

    /// Applies `change` to a copy of the stored objects; keeps it, bumps the
    /// revision and recompiles the routing table only if something changed.
    fn update(
        &mut self,
        canary: &Canary,
        change: impl FnOnce(&mut Objects) -> Result<(), PortError>,
    ) -> Result<(), PortError> {
        let mut objects = self.objects.clone();
        change(&mut objects)?;
        if objects != self.objects || !self.names_match(canary) {
            self.objects = objects;
            self.stored(canary);
        }
        Ok(())
    }

    /// After a change to the stored objects: a new revision and routing table.
    fn stored(&mut self, canary: &Canary) {
        self.names = Some(canary.spec.service_names());
        self.revision += 1;
        self.table = self.compile();
    }

    /// Whether the stored service names are the Canary's (no allocation:
    /// the primary and canary names derive from the apex name).
    fn names_match(&self, canary: &Canary) -> bool {
        let apex = canary
            .spec
            .service
            .name
            .as_deref()
            .filter(|name| !name.is_empty())
            .unwrap_or(&canary.spec.target_ref.name);
        self.names.as_ref().is_some_and(|names| names.apex == apex)
    }

    /// Writes `routes` into the provider's objects (Flagger's `SetRoutes`).
    fn store_routes(&mut self, canary: &Canary, routes: Routes) -> Result<(), PortError> {
        match self.mesh() {
            // Only the one routing object changes: build it from the stored
            // one and keep it if it differs (no copy of the whole store).
            Mesh::Istio => {
                let Some(existing) = self.objects.virtual_service.as_ref() else {
                    return Err(self.not_found("VirtualService", canary));
                };
                let updated = istio::set_routes(existing, canary, routes);
                if *existing != updated || !self.names_match(canary) {
                    self.objects.virtual_service = Some(updated);
                    self.stored(canary);
                }
                Ok(())
            }
            Mesh::GatewayApi(version) => {
                let Some(existing) = self.objects.http_route.as_ref() else {
                    return Err(self.not_found("HTTPRoute", canary));
                };
                let updated = gateway_api::set_routes(existing, canary, routes, version)
                    .map_err(router_error)?;
                if *existing != updated || !self.names_match(canary) {
                    self.objects.http_route = Some(updated);
                    self.stored(canary);
                }
                Ok(())
            }
            Mesh::Kubernetes => Ok(()),
            Mesh::Routers => self.update(canary, |objects| {
                // A new revision of a Knative target shows in the Service first.
                objects.provider.observe_target(canary);
                objects.provider.set_routes(canary, routes)
            }),
        }
    }

    /// Flagger's `Reconcile` for the provider's objects.
    fn reconcile_objects(&mut self, canary: &Canary) -> Result<(), PortError> {
        match self.mesh() {
            Mesh::Istio => self.update(canary, |objects| {
                let virtual_service = istio::reconcile(objects.virtual_service.as_ref(), canary)
                    .map_err(router_error)?;
                objects.destination_rules = istio::destination_rules(canary).into();
                objects.virtual_service = Some(virtual_service);
                Ok(())
            }),
            Mesh::GatewayApi(version) => self.update(canary, |objects| {
                let route = gateway_api::reconcile(objects.http_route.as_ref(), canary, version)
                    .map_err(router_error)?;
                objects.http_route = Some(route);
                Ok(())
            }),
            Mesh::Kubernetes => self.update(canary, |_| Ok(())),
            Mesh::Routers => self.update(canary, |objects| objects.provider.reconcile(canary)),
        }
    }

    fn not_found(&self, kind: &str, canary: &Canary) -> PortError {
        PortError::new(format!(
            "{kind} {}.{} get query error: not found",
            canary.spec.service_names().apex,
            canary.namespace()
        ))
    }

    /// The routing table for the stored objects.
    fn compile(&self) -> Table {
        let Some(names) = &self.names else {
            return Table::Fixed(RouteDecision::default());
        };
        match self.mesh() {
            // The apex Service selects the primary pods; the canary Service
            // is only reached by name, never by users.
            Mesh::Kubernetes => Table::Fixed(RouteDecision::all_primary()),
            Mesh::Routers => {
                dataplane::compile(&self.objects.provider, names, self.objects.apex_reconciled)
            }
            Mesh::Istio => match &self.objects.virtual_service {
                None if self.objects.apex_reconciled => Table::Fixed(RouteDecision::all_primary()),
                None => Table::Fixed(RouteDecision::default()),
                Some(virtual_service) => Table::FirstMatch(compile_istio(virtual_service, names)),
            },
            Mesh::GatewayApi(_) => match &self.objects.http_route {
                None => Table::Fixed(RouteDecision::default()),
                Some(route) => Table::MostSpecific(compile_gateway(route, names)),
            },
        }
    }
}

fn entry(
    kind: &str,
    metadata: &ObjectMetadata,
    object: Result<serde_json::Value, serde_json::Error>,
) -> (String, String, serde_json::Value) {
    // The routers' types always serialize; `null` would only hide a bug there.
    (
        kind.to_owned(),
        metadata.name.clone(),
        object.unwrap_or_default(),
    )
}

/// Every router's error, as the live controller reports it.
fn router_error(error: impl Display) -> PortError {
    PortError::new(error.to_string())
}

/// Applies the pending `edit` to `object` through its JSON form.
fn edit_json<T: serde::Serialize + serde::de::DeserializeOwned>(
    object: &mut T,
    edit: &mut Option<impl FnOnce(&mut serde_json::Value)>,
) -> Result<bool, serde_json::Error> {
    let Some(edit) = edit.take() else {
        return Ok(false);
    };
    let mut value = serde_json::to_value(&*object)?;
    edit(&mut value);
    *object = serde_json::from_value(value)?;
    Ok(true)
}

impl Routing for MeshRouter {
    fn reconcile_services(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.call("reconcile_services")?;
        if self.names_match(canary) {
            return Ok(());
        }
        self.update(canary, |_| Ok(()))
    }

    fn reconcile_apex(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.call("reconcile_apex")?;
        if self.objects.apex_reconciled && self.names_match(canary) {
            return Ok(());
        }
        self.update(canary, |objects| {
            objects.apex_reconciled = true;
            Ok(())
        })
    }

    fn reconcile_mesh(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.call("reconcile_mesh")?;
        if self.provider == Provider::Knative {
            // A new revision of the target changes the Knative Service.
            self.update(canary, |objects| {
                objects.provider.observe_target(canary);
                Ok(())
            })?;
        }
        if self
            .reconciled
            .as_ref()
            .is_some_and(|inputs| inputs.matches(self.revision, canary))
        {
            return Ok(());
        }
        self.reconcile_objects(canary)?;
        self.reconciled = Some(Box::new(ReconcileInputs {
            revision: self.revision,
            spec: canary.spec.clone(),
            labels: canary.metadata.labels.clone(),
            annotations: canary.metadata.annotations.clone(),
        }));
        Ok(())
    }

    fn routes(&mut self, canary: &Canary) -> Result<Routes, PortError> {
        self.call("routes")?;
        match self.mesh() {
            Mesh::Istio => {
                let virtual_service = self
                    .objects
                    .virtual_service
                    .as_ref()
                    .ok_or_else(|| self.not_found("VirtualService", canary))?;
                istio::routes(virtual_service, canary).map_err(router_error)
            }
            Mesh::GatewayApi(version) => {
                let route = self
                    .objects
                    .http_route
                    .as_ref()
                    .ok_or_else(|| self.not_found("HTTPRoute", canary))?;
                gateway_api::routes(route, canary, version).map_err(router_error)
            }
            Mesh::Kubernetes => Ok(weir_routers::kubernetes::routes(canary)),
            Mesh::Routers => self.objects.provider.routes(canary),
        }
    }

    fn set_routes(&mut self, canary: &Canary, routes: Routes) -> Result<(), PortError> {
        self.call("set_routes")?;
        // Setting routes changes only what reconciling preserves (weights,
        // mirror, cookie rules): objects reconciled before are still.
        let reconciled = self
            .reconciled
            .as_ref()
            .is_some_and(|inputs| inputs.matches(self.revision, canary));
        let result = self.store_routes(canary, routes);
        if reconciled && let Some(inputs) = self.reconciled.as_mut() {
            inputs.revision = self.revision;
        }
        result
    }

    /// Istio gives back the spec it took over, if it recorded one (or
    /// kubectl did); Skipper's canary Ingress is deleted and Knative's
    /// primary revision annotation removed; every other provider keeps its
    /// objects, as in Flagger.
    fn finalize(&mut self, canary: &Canary) -> Result<(), PortError> {
        self.call("finalize")?;
        match self.mesh() {
            Mesh::Istio => {}
            Mesh::Routers => {
                return self.update(canary, |objects| objects.provider.finalize(canary));
            }
            Mesh::GatewayApi(_) | Mesh::Kubernetes => return Ok(()),
        }
        self.update(canary, |objects| {
            if let Some(virtual_service) = objects.virtual_service.as_mut()
                && let Some(original) = istio::finalize(virtual_service).map_err(router_error)?
            {
                virtual_service.spec = original;
            }
            Ok(())
        })
    }
}

// ------------------------------------------------------------ routing table

/// Routing decisions compiled from the stored objects.
#[derive(Clone, Debug)]
enum Table {
    /// The same decision for every request.
    Fixed(RouteDecision),
    /// Istio: the first matching rule wins.
    FirstMatch(Vec<CompiledRule>),
    /// Gateway API: the most specific matching entry wins.
    MostSpecific(Vec<CompiledRule>),
    /// Every other provider: the first rule that holds, in the order the
    /// data plane's precedence gives.
    Ordered(Vec<OrderedRule>),
}

#[derive(Clone, Debug)]
struct CompiledRule {
    /// Any one must match; none at all matches every request.
    entries: Vec<Entry>,
    decision: RouteDecision,
}

/// One match entry: every condition set must hold.
#[derive(Clone, Debug, Default)]
struct Entry {
    path: Option<Text>,
    /// Istio's `ignoreUriCase`: exact and prefix values are stored lower-case.
    ignore_path_case: bool,
    method: Option<Text>,
    authority: Option<Text>,
    /// Lower-case header names.
    headers: Vec<(String, Text)>,
    without_headers: Vec<(String, Text)>,
    query: Vec<(String, Text)>,
    source_labels: BTreeMap<String, String>,
    port: Option<i32>,
    specificity: Specificity,
}

/// Gateway API precedence, compared field by field (greater wins).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
struct Specificity {
    /// Exact 3, prefix 2, regular expression 1.
    path_kind: u8,
    path_length: usize,
    method: bool,
    headers: usize,
    query: usize,
}

/// A compiled string condition.
#[derive(Clone, Debug)]
enum Text {
    Exact(String),
    Prefix(String),
    Suffix(String),
    /// Anchored: the whole value must match, as in RE2's full match.
    Regex(Regex),
    /// Gateway API's element-wise path prefix.
    PathPrefix(String),
    /// Istio's empty string match: the header must be present.
    Present,
    /// A pattern that does not compile never matches.
    Never,
}

impl Text {
    fn regex(pattern: &str) -> Text {
        Regex::new(&format!("^(?:{pattern})$")).map_or(Text::Never, Text::Regex)
    }

    fn istio(condition: &StringMatch, lower_case: bool) -> Text {
        let fold = |value: &String| {
            if lower_case {
                value.to_lowercase()
            } else {
                value.clone()
            }
        };
        if let Some(exact) = &condition.exact {
            Text::Exact(fold(exact))
        } else if let Some(prefix) = &condition.prefix {
            Text::Prefix(fold(prefix))
        } else if let Some(suffix) = &condition.suffix {
            Text::Suffix(suffix.clone())
        } else if let Some(regex) = &condition.regex {
            Text::regex(regex)
        } else {
            Text::Present
        }
    }

    fn matches(&self, value: &str) -> bool {
        match self {
            Text::Exact(expected) => value == expected,
            Text::Prefix(prefix) => value.starts_with(prefix.as_str()),
            Text::Suffix(suffix) => value.ends_with(suffix.as_str()),
            Text::Regex(regex) => regex.is_match(value),
            Text::PathPrefix(prefix) => {
                let prefix = prefix.trim_end_matches('/');
                prefix.is_empty()
                    || value == prefix
                    || value
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.starts_with('/'))
            }
            Text::Present => true,
            Text::Never => false,
        }
    }
}

impl Entry {
    fn matches(&self, request: &Request) -> bool {
        if let Some(path) = &self.path {
            let requested = request.path_only();
            let folded;
            // Istio ignores case for exact and prefix matches only.
            let folds = matches!(path, Text::Exact(_) | Text::Prefix(_));
            let requested = if self.ignore_path_case && folds {
                folded = requested.to_lowercase();
                folded.as_str()
            } else {
                requested
            };
            if !path.matches(requested) {
                return false;
            }
        }
        if let Some(method) = &self.method
            && !method.matches(&request.method)
        {
            return false;
        }
        if let Some(authority) = &self.authority {
            let host = request
                .header_value("host")
                .or_else(|| request.header_value(":authority"));
            if !host.is_some_and(|host| authority.matches(&host)) {
                return false;
            }
        }
        let header_holds = |(name, condition): &(String, Text)| {
            request
                .header_value(name)
                .is_some_and(|value| condition.matches(&value))
        };
        if !self.headers.iter().all(header_holds) || self.without_headers.iter().any(header_holds) {
            return false;
        }
        let query_holds = |(name, condition): &(String, Text)| {
            request
                .query_value(name)
                .is_some_and(|value| condition.matches(value))
        };
        if !self.query.iter().all(query_holds) {
            return false;
        }
        let labels_hold = self
            .source_labels
            .iter()
            .all(|(key, value)| request.source_labels.get(key) == Some(value));
        let port_holds = self.port.is_none_or(|port| {
            request
                .port
                .is_some_and(|requested| i32::from(requested) == port)
        });
        labels_hold && port_holds
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Primary,
    Canary,
}

/// Whether `host` (a Service name, or its DNS name) is the primary or canary.
fn role(host: &str, names: &ServiceNames) -> Option<Role> {
    let is = |service: &str| {
        host == service
            || host
                .strip_prefix(service)
                .is_some_and(|rest| rest.starts_with('.'))
    };
    if is(&names.primary) {
        Some(Role::Primary)
    } else if is(&names.canary) {
        Some(Role::Canary)
    } else {
        None
    }
}

fn compile_istio(virtual_service: &VirtualService, names: &ServiceNames) -> Vec<CompiledRule> {
    if virtual_service.spec.http.is_empty() {
        // Opaque TCP: only the port can be matched.
        return virtual_service
            .spec
            .tcp
            .iter()
            .map(|rule| CompiledRule {
                entries: rule
                    .r#match
                    .iter()
                    .map(|condition| Entry {
                        port: condition.port,
                        ..Entry::default()
                    })
                    .collect(),
                decision: istio_decision(&rule.route, names),
            })
            .collect();
    }
    virtual_service
        .spec
        .http
        .iter()
        .map(|rule| {
            let mut decision = istio_decision(&rule.route, names);
            if let Some(mirror) = &rule.mirror
                && role(&mirror.host, names) == Some(Role::Canary)
            {
                decision.mirror = rule
                    .mirror_percentage
                    .map_or(1.0, |percent| (percent.value / 100.0).clamp(0.0, 1.0));
            }
            decision.rule_set_cookie = rule
                .headers
                .as_ref()
                .and_then(|headers| headers.response.as_ref())
                .and_then(istio_set_cookie);
            CompiledRule {
                entries: rule.r#match.iter().map(istio_entry).collect(),
                decision,
            }
        })
        .collect()
}

fn istio_entry(condition: &HttpMatchRequest) -> Entry {
    let headers = |conditions: &BTreeMap<String, StringMatch>| {
        conditions
            .iter()
            .map(|(name, condition)| (name.to_ascii_lowercase(), Text::istio(condition, false)))
            .collect()
    };
    Entry {
        path: condition
            .uri
            .as_ref()
            .map(|uri| Text::istio(uri, condition.ignore_uri_case)),
        ignore_path_case: condition.ignore_uri_case,
        method: condition
            .method
            .as_ref()
            .map(|method| Text::istio(method, false)),
        authority: condition
            .authority
            .as_ref()
            .map(|authority| Text::istio(authority, false)),
        headers: headers(&condition.headers),
        without_headers: headers(&condition.without_headers),
        query: condition
            .query_params
            .iter()
            .map(|(name, condition)| (name.clone(), Text::istio(condition, false)))
            .collect(),
        source_labels: condition.source_labels.clone(),
        port: condition.port,
        // Istio rules are ordered, not ranked.
        specificity: Specificity::default(),
    }
}

/// Istio weights: a single destination gets everything; otherwise shares in
/// proportion to the weights.
fn istio_decision(route: &[HttpRouteDestination], names: &ServiceNames) -> RouteDecision {
    let total: i32 = route
        .iter()
        .map(|destination| destination.weight.max(0))
        .sum();
    let mut decision = RouteDecision::default();
    for destination in route {
        let share = if route.len() == 1 {
            1.0
        } else if total > 0 {
            f64::from(destination.weight.max(0)) / f64::from(total)
        } else {
            0.0
        };
        let cookie = destination
            .headers
            .as_ref()
            .and_then(|headers| headers.response.as_ref())
            .and_then(istio_set_cookie);
        match role(&destination.destination.host, names) {
            Some(Role::Primary) => {
                decision.primary += share;
                decision.primary_set_cookie = cookie;
            }
            Some(Role::Canary) => {
                decision.canary += share;
                decision.canary_set_cookie = cookie;
            }
            None => {}
        }
    }
    decision
}

fn istio_set_cookie(operations: &weir_api::service::HeaderOperations) -> Option<String> {
    operations
        .set
        .iter()
        .chain(&operations.add)
        .find(|(name, _)| name.eq_ignore_ascii_case(SET_COOKIE))
        .map(|(_, value)| value.clone())
}

fn compile_gateway(route: &HttpRoute, names: &ServiceNames) -> Vec<CompiledRule> {
    route
        .spec
        .rules
        .iter()
        .map(|rule| {
            let mut entries: Vec<Entry> = rule.matches.iter().map(gateway_entry).collect();
            if entries.is_empty() {
                // A rule without matches matches `PathPrefix /`.
                entries.push(gateway_entry(&HttpRouteMatch::default()));
            }
            CompiledRule {
                entries,
                decision: gateway_decision(rule, names),
            }
        })
        .collect()
}

fn gateway_entry(condition: &HttpRouteMatch) -> Entry {
    let (path, path_kind, path_length) = match &condition.path {
        None => (Text::PathPrefix("/".to_owned()), 2, 1),
        Some(path) => match path.r#type {
            PathMatchType::Exact => (Text::Exact(path.value.clone()), 3, path.value.len()),
            PathMatchType::PathPrefix => {
                (Text::PathPrefix(path.value.clone()), 2, path.value.len())
            }
            PathMatchType::RegularExpression => (Text::regex(&path.value), 1, 0),
        },
    };
    let value = |r#type: ValueMatchType, value: &str| match r#type {
        ValueMatchType::Exact => Text::Exact(value.to_owned()),
        ValueMatchType::RegularExpression => Text::regex(value),
    };
    Entry {
        path: Some(path),
        ignore_path_case: false,
        method: condition
            .method
            .as_ref()
            .map(|method| Text::Exact(method.clone())),
        authority: None,
        headers: condition
            .headers
            .iter()
            .map(|header| {
                (
                    header.name.to_ascii_lowercase(),
                    value(header.r#type, &header.value),
                )
            })
            .collect(),
        without_headers: Vec::new(),
        // Query parameter names are case-sensitive in Gateway API.
        query: condition
            .query_params
            .iter()
            .map(|parameter| {
                (
                    parameter.name.clone(),
                    value(parameter.r#type, &parameter.value),
                )
            })
            .collect(),
        source_labels: BTreeMap::new(),
        port: None,
        specificity: Specificity {
            path_kind,
            path_length,
            method: condition.method.is_some(),
            headers: condition.headers.len(),
            query: condition.query_params.len(),
        },
    }
}

/// Gateway API weights: shares in proportion (an unset weight is 1); a
/// backend with weight 0 gets nothing, even alone.
fn gateway_decision(rule: &HttpRouteRule, names: &ServiceNames) -> RouteDecision {
    let weight = |backend: &HttpBackendRef| backend.weight.unwrap_or(1).max(0);
    let total: i32 = rule.backend_refs.iter().map(weight).sum();
    let mut decision = RouteDecision::default();
    for backend in &rule.backend_refs {
        let share = if total > 0 {
            f64::from(weight(backend)) / f64::from(total)
        } else {
            0.0
        };
        let cookie = filters_set_cookie(&backend.filters);
        match role(&backend.name, names) {
            Some(Role::Primary) => {
                decision.primary += share;
                decision.primary_set_cookie = cookie;
            }
            Some(Role::Canary) => {
                decision.canary += share;
                decision.canary_set_cookie = cookie;
            }
            None => {}
        }
    }
    let mirrors_to_canary = rule.filters.iter().any(|filter| {
        filter.r#type == FilterType::RequestMirror
            && filter
                .request_mirror
                .as_ref()
                .is_some_and(|mirror| role(&mirror.backend_ref.name, names) == Some(Role::Canary))
    });
    if mirrors_to_canary {
        decision.mirror = 1.0;
    }
    decision.rule_set_cookie = filters_set_cookie(&rule.filters);
    decision
}

fn filters_set_cookie(filters: &[HttpRouteFilter]) -> Option<String> {
    filters
        .iter()
        .filter(|filter| filter.r#type == FilterType::ResponseHeaderModifier)
        .filter_map(|filter| filter.response_header_modifier.as_ref())
        .find_map(|modifier: &HttpHeaderFilter| {
            modifier
                .set
                .iter()
                .chain(&modifier.add)
                .find(|header| header.name.eq_ignore_ascii_case(SET_COOKIE))
                .map(|header| header.value.clone())
        })
}

#[cfg(test)]
mod tests {
    use weir_api::CanaryPhase;
    use weir_engine::{EngineConfig, Ports, advance};

    use super::*;
    use crate::{
        FakeAlerts, FakeApi, FakeClock, FakeCluster, FakeEntropy, FakeEvents, FakeMetrics,
        FakeScalers, FakeTelemetry, FakeWebhooks,
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
        MeshRouter::new(canary.spec.provider.unwrap_or(Provider::Istio))
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

    /// The `name=value` part of a `Set-Cookie` header.
    fn cookie_of(set_cookie: &str) -> &str {
        set_cookie.split(';').next().unwrap_or_default()
    }

    fn assert_close(actual: f64, expected: f64, what: &str) {
        assert!(
            (actual - expected).abs() < 1e-9,
            "{what}: expected {expected}, got {actual}"
        );
    }

    const ISTIO_AB: &str = "  provider: istio
  service:
    port: 9898
  analysis:
    interval: 1m
    threshold: 5
    iterations: 5
    match:
    - headers:
        x-canary:
          exact: insider
    - headers:
        cookie:
          regex: \"^(.*?;)?(type=insider)(;.*)?$\"
";

    #[test]
    fn ab_testing_sends_matching_requests_to_the_canary_and_the_rest_to_the_primary() {
        let canary = canary(ISTIO_AB, "  phase: Progressing\n  iterations: 1\n");
        let mesh = routed(&canary, Routes::ALL_CANARY);

        let by_header = mesh.route(&Request::get("/").header("X-Canary", "insider"));
        assert_eq!((by_header.primary, by_header.canary), (0.0, 1.0));
        let by_cookie = mesh.route(&Request::get("/").cookie("type=insider").cookie("session=1"));
        assert_eq!((by_cookie.primary, by_cookie.canary), (0.0, 1.0));
        // Flagger's example regex only matches when the cookie comes first:
        // browsers write `; ` between cookies and Envoy matches the whole value.
        let second_cookie =
            mesh.route(&Request::get("/").cookie("session=1").cookie("type=insider"));
        assert_eq!((second_cookie.primary, second_cookie.canary), (1.0, 0.0));
        let mut shouting = Request::get("/");
        shouting
            .headers
            .push(("X-CANARY".to_owned(), "insider".to_owned()));
        assert_eq!(
            mesh.route(&shouting).canary,
            1.0,
            "header names ignore case"
        );

        for other in [
            Request::get("/"),
            Request::get("/").header("x-canary", "outsider"),
            Request::get("/").cookie("type=insiders"),
        ] {
            let decision = mesh.route(&other);
            assert_eq!((decision.primary, decision.canary), (1.0, 0.0), "{other:?}");
        }
    }

    #[test]
    fn gateway_api_ab_testing_matches_headers_and_query_parameters() {
        let canary = canary(
            "  provider: gatewayapi:v1
  service:
    port: 9898
    gatewayRefs:
    - name: gateway
  analysis:
    interval: 1m
    threshold: 5
    iterations: 5
    match:
    - headers:
        x-canary:
          exact: insider
    - queryParams:
        beta:
          regex: \"true|yes\"
",
            "  phase: Progressing\n  iterations: 1\n",
        );
        let mesh = routed(&canary, Routes::ALL_CANARY);
        assert_eq!(
            mesh.route(&Request::get("/api").header("x-canary", "insider"))
                .canary,
            1.0
        );
        assert_eq!(mesh.route(&Request::get("/api?beta=yes")).canary, 1.0);
        assert_eq!(
            mesh.route(&Request::get("/api?beta=yesterday")).primary,
            1.0
        );
        assert_eq!(mesh.route(&Request::get("/api")).primary, 1.0);
    }

    #[test]
    fn mirrored_blue_green_copies_every_request_to_the_canary() {
        let gateway = canary(
            "  provider: gatewayapi:v1
  service:
    port: 9898
    gatewayRefs:
    - name: gateway
  analysis:
    interval: 1m
    threshold: 5
    iterations: 5
    mirror: true
",
            "  phase: Progressing\n  iterations: 1\n",
        );
        let mirrored = Routes {
            mirrored: true,
            ..Routes::ALL_PRIMARY
        };
        let decision = routed(&gateway, mirrored).route(&Request::get("/"));
        assert_eq!(
            (decision.primary, decision.canary, decision.mirror),
            (1.0, 0.0, 1.0)
        );

        let istio = canary(
            "  provider: istio
  service:
    port: 9898
  analysis:
    interval: 1m
    threshold: 5
    iterations: 5
    mirror: true
    mirrorWeight: 25
",
            "  phase: Progressing\n  iterations: 1\n",
        );
        let decision = routed(&istio, mirrored).route(&Request::get("/"));
        assert_eq!((decision.primary, decision.mirror), (1.0, 0.25));
        let unmirrored = routed(&istio, Routes::ALL_PRIMARY).route(&Request::get("/"));
        assert_eq!(unmirrored.mirror, 0.0);
    }

    fn session_affinity(provider: &str) -> Canary {
        canary(
            &format!(
                "  provider: {provider}
  service:
    port: 9898
    gatewayRefs:
    - name: gateway
  analysis:
    interval: 1m
    threshold: 5
    stepWeight: 20
    sessionAffinity:
      cookieName: canary
      primaryCookieName: primary
      path: /
"
            ),
            "  phase: Progressing
  canaryWeight: 20
  sessionAffinityCookie: canary=abcdefghij
  primarySessionAffinityCookie: primary=klmnopqrst
",
        )
    }

    #[test]
    fn a_canary_cookie_keeps_a_user_on_the_canary_and_others_are_split_by_weight() {
        for provider in ["istio", "gatewayapi:v1"] {
            let canary = session_affinity(provider);
            let mesh = routed(&canary, split(80, 20));

            let newcomer = mesh.route(&Request::get("/"));
            assert_close(newcomer.primary, 0.8, provider);
            assert_close(newcomer.canary, 0.2, provider);
            let canary_cookie = newcomer
                .canary_set_cookie
                .clone()
                .expect("canary sets a cookie");
            assert_eq!(
                canary_cookie, "canary=abcdefghij; Max-Age=86400; Path=/",
                "{provider}"
            );
            let primary_cookie = newcomer
                .primary_set_cookie
                .clone()
                .expect("primary sets a cookie");
            assert_eq!(
                primary_cookie, "primary=klmnopqrst; Max-Age=60; Path=/",
                "{provider}"
            );
            assert_eq!(newcomer.rule_set_cookie, None);

            let returning = mesh.route(&Request::get("/").cookie(cookie_of(&canary_cookie)));
            assert_eq!(
                (returning.primary, returning.canary),
                (0.0, 1.0),
                "{provider}"
            );
            let primary_user = mesh.route(&Request::get("/").cookie(cookie_of(&primary_cookie)));
            assert_eq!(
                (primary_user.primary, primary_user.canary),
                (1.0, 0.0),
                "{provider}"
            );
        }
    }

    #[test]
    fn after_weight_zero_the_cleanup_rule_expires_the_cookie() {
        for provider in ["istio", "gatewayapi:v1"] {
            let mut canary = session_affinity(provider);
            let status = canary.status.as_mut().expect("status");
            status.phase = CanaryPhase::Succeeded;
            status.previous_session_affinity_cookie =
                std::mem::take(&mut status.session_affinity_cookie);
            let mesh = routed(&canary, Routes::ALL_PRIMARY);

            let returning = mesh.route(&Request::get("/").cookie("canary=abcdefghij"));
            assert_eq!(
                (returning.primary, returning.canary),
                (1.0, 0.0),
                "{provider}"
            );
            assert_eq!(
                returning.rule_set_cookie.as_deref(),
                Some("canary=abcdefghij; Max-Age=-1; Path=/"),
                "{provider}"
            );
            let newcomer = mesh.route(&Request::get("/"));
            assert_eq!(
                (newcomer.primary, newcomer.rule_set_cookie),
                (1.0, None),
                "{provider}"
            );
        }
    }

    #[test]
    fn a_virtual_service_without_a_canary_route_makes_routes_fail_until_reconciled() {
        let canary = canary(
            "  provider: istio\n  service:\n    port: 9898\n",
            "  phase: Progressing\n",
        );
        let mut mesh = routed(&canary, split(90, 10));
        assert!(mesh.edit_virtual_service(|virtual_service| {
            virtual_service.spec.http[0]
                .route
                .retain(|destination| destination.destination.host != "podinfo-canary");
            virtual_service.spec.http[0].route[0].weight = 0;
        }));
        let error = mesh.routes(&canary).expect_err("no canary route");
        assert_eq!(
            error.0,
            "VirtualService podinfo.test does not contain routes for podinfo-primary and podinfo-canary"
        );
        // A single destination takes all traffic, whatever its weight.
        assert_eq!(mesh.route(&Request::get("/")).primary, 1.0);

        mesh.reconcile_mesh(&canary)
            .expect("reconcile reverts the edit");
        assert_eq!(mesh.routes(&canary), Ok(Routes::ALL_PRIMARY));
    }

    #[test]
    fn routes_fail_before_the_routing_object_exists() {
        let canary = canary(
            "  provider: istio\n  service:\n    port: 9898\n",
            "  phase: Initializing\n",
        );
        let mut mesh = mesh_for(&canary);
        let error = mesh
            .set_routes(&canary, split(90, 10))
            .expect_err("no VirtualService");
        assert_eq!(
            error.0,
            "VirtualService podinfo.test get query error: not found"
        );
        assert!(mesh.routes(&canary).is_err());
    }

    #[test]
    fn istio_without_a_virtual_service_routes_to_the_primary_once_the_apex_exists() {
        let canary = canary(
            "  provider: istio\n  service:\n    port: 9898\n",
            "  phase: Initializing\n",
        );
        let mut mesh = mesh_for(&canary);
        mesh.reconcile_services(&canary).expect("services");
        assert!(!mesh.route(&Request::get("/")).is_routed());
        mesh.reconcile_apex(&canary).expect("apex");
        assert_eq!(mesh.route(&Request::get("/")), RouteDecision::all_primary());
    }

    #[test]
    fn the_kubernetes_provider_keeps_users_on_the_primary() {
        let mut canary = canary(
            "  provider: kubernetes
  service:
    port: 9898
  analysis:
    interval: 1m
    threshold: 5
    iterations: 3
",
            "  phase: Progressing\n",
        );
        let mut mesh = routed(&canary, Routes::ALL_CANARY);
        assert_eq!(mesh.routes(&canary), Ok(Routes::ALL_PRIMARY));
        canary.status.as_mut().expect("status").iterations = 2;
        assert_eq!(mesh.routes(&canary), Ok(Routes::ALL_CANARY));
        assert_eq!(mesh.route(&Request::get("/")), RouteDecision::all_primary());
        assert!(mesh.objects().is_empty());
    }

    #[test]
    fn other_providers_route_by_the_last_split_without_mirroring() {
        let canary = canary(
            "  provider: linkerd\n  service:\n    port: 9898\n",
            "  phase: Progressing\n",
        );
        let mut mesh = routed(&canary, split(75, 25));
        let decision = mesh.route(&Request::get("/"));
        assert_eq!((decision.primary, decision.canary), (0.75, 0.25));
        mesh.set_routes(
            &canary,
            Routes {
                mirrored: true,
                ..Routes::ALL_PRIMARY
            },
        )
        .expect("set routes");
        assert_eq!(mesh.routes(&canary), Ok(Routes::ALL_PRIMARY));
        assert_eq!(mesh.route(&Request::get("/")).mirror, 0.0);
    }

    #[test]
    fn the_most_specific_gateway_api_match_wins() {
        let canary = canary(
            "  provider: gatewayapi:v1\n  service:\n    port: 9898\n    gatewayRefs:\n    - name: gateway\n",
            "  phase: Progressing\n",
        );
        let mut mesh = routed(&canary, Routes::ALL_PRIMARY);
        assert!(mesh.edit_http_route(|route| {
            let mut login = route.spec.rules[0].clone();
            login.matches = vec![HttpRouteMatch {
                path: Some(gateway_api::HttpPathMatch {
                    r#type: PathMatchType::Exact,
                    value: "/login".to_owned(),
                }),
                ..HttpRouteMatch::default()
            }];
            for backend in &mut login.backend_refs {
                backend.weight = Some(if backend.name == "podinfo-canary" {
                    1
                } else {
                    0
                });
            }
            // Listed after the catch-all rule: precedence, not order, decides.
            route.spec.rules.push(login);
        }));
        assert_eq!(mesh.route(&Request::get("/login")).canary, 1.0);
        assert_eq!(mesh.route(&Request::get("/login/more")).primary, 1.0);
        assert_eq!(mesh.route(&Request::get("/other")).primary, 1.0);
    }

    #[test]
    fn the_revision_changes_only_when_a_routing_object_changes() {
        let canary = canary(
            "  provider: istio\n  service:\n    port: 9898\n",
            "  phase: Progressing\n",
        );
        let mut mesh = routed(&canary, split(90, 10));
        let revision = mesh.revision();
        mesh.reconcile_mesh(&canary).expect("reconcile");
        mesh.set_routes(&canary, split(90, 10)).expect("same split");
        mesh.routes(&canary).expect("routes");
        assert_eq!(mesh.revision(), revision);
        mesh.set_routes(&canary, split(80, 20)).expect("new split");
        assert_eq!(mesh.revision(), revision + 1);
    }

    #[test]
    fn injected_failures_fail_the_named_method_and_are_logged() {
        let canary = canary(
            "  provider: istio\n  service:\n    port: 9898\n",
            "  phase: Progressing\n",
        );
        let mut mesh = routed(&canary, split(90, 10));
        mesh.failures.insert("set_routes", "conflict".to_owned());
        assert_eq!(
            mesh.set_routes(&canary, split(50, 50)),
            Err(PortError::new("conflict"))
        );
        assert_eq!(mesh.routes(&canary), Ok(split(90, 10)));
        assert_eq!(
            mesh.calls,
            [
                "reconcile_services",
                "reconcile_apex",
                "reconcile_mesh",
                "set_routes",
                "set_routes",
                "routes"
            ]
        );
    }

    #[test]
    fn objects_are_listed_by_kind_then_name() {
        let canary = canary(
            "  provider: istio\n  service:\n    port: 9898\n",
            "  phase: Progressing\n",
        );
        let mesh = routed(&canary, split(90, 10));
        let listed: Vec<(String, String)> = mesh
            .objects()
            .into_iter()
            .map(|(kind, name, _)| (kind, name))
            .collect();
        assert_eq!(
            listed,
            [
                ("DestinationRule".to_owned(), "podinfo-canary".to_owned()),
                ("DestinationRule".to_owned(), "podinfo-primary".to_owned()),
                ("VirtualService".to_owned(), "podinfo".to_owned()),
            ]
        );
        let (_, _, virtual_service) = &mesh.objects()[2];
        assert_eq!(virtual_service["spec"]["http"][0]["route"][1]["weight"], 10);
    }

    #[test]
    fn finalize_gives_back_the_virtual_service_it_took_over() {
        let canary = canary(
            "  provider: istio\n  service:\n    port: 9898\n",
            "  phase: Terminating\n",
        );
        let mut mesh = routed(&canary, split(90, 10));
        mesh.finalize(&canary).expect("nothing to restore");
        assert_eq!(mesh.routes(&canary), Ok(split(90, 10)));

        mesh.edit_virtual_service(|virtual_service| {
            virtual_service.spec.http[0].route = vec![HttpRouteDestination {
                destination: istio::Destination {
                    host: "legacy".to_owned(),
                    port: None,
                },
                weight: 100,
                headers: None,
            }];
        });
        mesh.reconcile_mesh(&canary).expect("take over");
        mesh.finalize(&canary).expect("restore");
        let restored = mesh.virtual_service().expect("virtual service");
        assert_eq!(restored.spec.http[0].route[0].destination.host, "legacy");
    }

    // ------------------------------------------------------- with the engine

    /// Every port, with the mesh as the router.
    struct Simulation {
        cluster: FakeCluster,
        scalers: FakeScalers,
        mesh: MeshRouter,
        metrics: FakeMetrics,
        webhooks: FakeWebhooks,
        alerts: FakeAlerts,
        events: FakeEvents,
        clock: FakeClock,
        api: FakeApi,
        entropy: FakeEntropy,
        telemetry: FakeTelemetry,
        config: EngineConfig,
    }

    impl Simulation {
        fn new(canary: Canary) -> Simulation {
            let config = EngineConfig::default();
            Simulation {
                cluster: FakeCluster::new(&canary.spec.target_ref.name),
                scalers: FakeScalers::default(),
                mesh: MeshRouter::new(canary.spec.provider.unwrap_or(config.mesh_provider)),
                metrics: FakeMetrics::default(),
                webhooks: FakeWebhooks::default(),
                alerts: FakeAlerts::default(),
                events: FakeEvents::default(),
                clock: FakeClock::default(),
                api: FakeApi::new(canary),
                entropy: FakeEntropy::default(),
                telemetry: FakeTelemetry::default(),
                config,
            }
        }

        fn tick(&mut self) -> CanaryPhase {
            let canary = self.api.canary.clone();
            let mut ports = Ports {
                workloads: &mut self.cluster,
                scalers: &mut self.scalers,
                routing: &mut self.mesh,
                metrics: &mut self.metrics,
                webhooks: &mut self.webhooks,
                alerts: &mut self.alerts,
                events: &mut self.events,
                clock: &self.clock,
                status: &mut self.api,
                entropy: &mut self.entropy,
                telemetry: &mut self.telemetry,
            };
            let outcome = advance(&canary, &self.config, &mut ports);
            self.clock.advance(outcome.requeue_after);
            self.cluster.next_tick();
            self.api.canary.status_or_default().phase
        }

        /// Initializes, deploys `v2` and ticks until `done` (at most 30 ticks),
        /// checking `each` after every tick.
        fn run(&mut self, done: CanaryPhase, mut each: impl FnMut(&Simulation)) {
            for _ in 0..10 {
                if self.tick() == CanaryPhase::Initialized {
                    break;
                }
            }
            assert_eq!(
                self.api.canary.status_or_default().phase,
                CanaryPhase::Initialized
            );
            self.cluster.deploy("v2");
            for _ in 0..30 {
                let phase = self.tick();
                each(self);
                if phase == done {
                    return;
                }
            }
            panic!("did not reach {done:?}: {:#?}", self.events.recorded);
        }
    }

    #[test]
    fn an_engine_run_on_istio_moves_users_by_weight_and_keeps_cookies_sticky() {
        let canary = canary(
            "  provider: istio
  service:
    port: 9898
  analysis:
    interval: 1m
    threshold: 2
    maxWeight: 40
    stepWeight: 20
    sessionAffinity:
      cookieName: canary
",
            "  phase: \"\"\n",
        );
        let mut simulation = Simulation::new(canary);
        let mut weights_seen = Vec::new();
        simulation.run(CanaryPhase::Succeeded, |simulation| {
            let status = simulation.api.canary.status_or_default();
            let newcomer = simulation.mesh.route(&Request::get("/"));
            if status.phase == CanaryPhase::Progressing && status.canary_weight > 0 {
                weights_seen.push(status.canary_weight);
                assert_close(
                    newcomer.canary,
                    f64::from(status.canary_weight) / 100.0,
                    "split",
                );
                let set_cookie = newcomer.canary_set_cookie.expect("canary sets the cookie");
                assert_eq!(cookie_of(&set_cookie), status.session_affinity_cookie);
                let returning = simulation
                    .mesh
                    .route(&Request::get("/").cookie(&status.session_affinity_cookie));
                assert_eq!(returning.canary, 1.0, "a canary user stays on the canary");
            }
        });
        assert_eq!(weights_seen, [20, 40]);

        let status = simulation.api.canary.status_or_default();
        assert!(!status.previous_session_affinity_cookie.is_empty());
        let returning = simulation
            .mesh
            .route(&Request::get("/").cookie(&status.previous_session_affinity_cookie));
        assert_eq!(returning.primary, 1.0);
        assert!(
            returning
                .rule_set_cookie
                .is_some_and(|cookie| cookie.contains("Max-Age=-1")),
            "the last run's cookie is expired"
        );
    }

    #[test]
    fn an_engine_run_on_gateway_api_sends_insiders_to_the_canary_during_ab_testing() {
        let canary = canary(
            "  provider: gatewayapi:v1
  service:
    port: 9898
    gatewayRefs:
    - name: gateway
  analysis:
    interval: 1m
    threshold: 2
    iterations: 3
    match:
    - headers:
        x-canary:
          exact: insider
",
            "  phase: \"\"\n",
        );
        let mut simulation = Simulation::new(canary);
        let mut iterations_seen = 0;
        simulation.run(CanaryPhase::Succeeded, |simulation| {
            let status = simulation.api.canary.status_or_default();
            let insider = simulation
                .mesh
                .route(&Request::get("/").header("x-canary", "insider"));
            let outsider = simulation.mesh.route(&Request::get("/"));
            if status.phase == CanaryPhase::Progressing && status.iterations > 0 {
                iterations_seen += 1;
                assert_eq!(insider.canary, 1.0);
            }
            assert_eq!(outsider.primary, 1.0, "{:?}", status.phase);
        });
        assert!(iterations_seen > 0);
        let final_insider = simulation
            .mesh
            .route(&Request::get("/").header("x-canary", "insider"));
        assert_eq!(
            final_insider.primary, 1.0,
            "after promotion everyone is on the primary"
        );
    }
}
