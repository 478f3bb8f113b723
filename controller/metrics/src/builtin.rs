//! The builtin metrics `request-success-rate` and `request-duration`: which
//! queries measure them for each mesh and ingress (Flagger's observers,
//! semantics §8.3 and §8.4).
//!
//! ```text
//!   Canary.provider / -mesh-provider ──builtin_metrics_provider──▶ "istio", "nginx", "linkerd:service", ...
//!        ──Observer::for_provider──▶ Observer ──query(metric)──▶ PromQL template
//!        ──template::render(model)──▶ PromQL ──Prometheus──▶ value ──to_milliseconds──▶ check
//! ```
//!
//! Success rates are percentages of non-5xx responses; durations are p99
//! latencies (or averages, where the mesh exports no histogram) in
//! milliseconds. Each observer reads the series its mesh exports, so a
//! Canary on the wrong provider finds no data rather than wrong data.
//!
//! The queries are Flagger v1.44's, so dashboards, recording rules and
//! alerts written against Flagger's queries keep matching.

use weir_api::BuiltinMetric;

use crate::template::QueryModel;

/// The metric families builtin metrics are read from, one per mesh or
/// ingress that exports its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Observer {
    Istio,
    Linkerd,
    AppMesh,
    Contour,
    Gloo,
    Nginx,
    /// The application's own `http_request_duration_seconds` (the
    /// `kubernetes` provider and Gateway API implementations, which export
    /// nothing per backend that Flagger could rely on).
    Http,
    Skipper,
    Traefik,
    Osm,
    Kuma,
    Apisix,
    Knative,
}

impl Observer {
    /// Flagger's observer factory: exact names, a few prefixes, and Istio
    /// for everything else. That fallback is why `linkerd:service` or
    /// `smi:v1alpha3` read Istio's metrics (semantics §18 #11): kept, since
    /// changing it would change which series existing Canaries are judged by.
    pub fn for_provider(provider: &str) -> Observer {
        match provider {
            _ if provider.starts_with("appmesh") => Observer::AppMesh,
            "linkerd" => Observer::Linkerd,
            "istio" => Observer::Istio,
            "contour" => Observer::Contour,
            _ if provider.starts_with("gloo") => Observer::Gloo,
            "nginx" => Observer::Nginx,
            "kubernetes" => Observer::Http,
            _ if provider.starts_with("gatewayapi") => Observer::Http,
            "skipper" => Observer::Skipper,
            "traefik" => Observer::Traefik,
            "osm" => Observer::Osm,
            "kuma" => Observer::Kuma,
            "apisix" => Observer::Apisix,
            "knative" => Observer::Knative,
            _ => Observer::Istio,
        }
    }

    /// The query template for `metric`, with Flagger's `{{ ... }}` actions.
    pub fn query(self, metric: BuiltinMetric) -> &'static str {
        let success = metric == BuiltinMetric::RequestSuccessRate;
        match self {
            Observer::Istio if success => ISTIO_SUCCESS_RATE,
            Observer::Istio => ISTIO_DURATION,
            Observer::Linkerd if success => LINKERD_SUCCESS_RATE,
            Observer::Linkerd => LINKERD_DURATION,
            Observer::AppMesh if success => APP_MESH_SUCCESS_RATE,
            Observer::AppMesh => APP_MESH_DURATION,
            Observer::Contour if success => CONTOUR_SUCCESS_RATE,
            Observer::Contour => CONTOUR_DURATION,
            Observer::Gloo if success => GLOO_SUCCESS_RATE,
            Observer::Gloo => GLOO_DURATION,
            Observer::Nginx if success => NGINX_SUCCESS_RATE,
            Observer::Nginx => NGINX_DURATION,
            Observer::Http if success => HTTP_SUCCESS_RATE,
            Observer::Http => HTTP_DURATION,
            Observer::Skipper if success => SKIPPER_SUCCESS_RATE,
            Observer::Skipper => SKIPPER_DURATION,
            Observer::Traefik if success => TRAEFIK_SUCCESS_RATE,
            Observer::Traefik => TRAEFIK_DURATION,
            Observer::Osm if success => OSM_SUCCESS_RATE,
            Observer::Osm => OSM_DURATION,
            Observer::Kuma if success => KUMA_SUCCESS_RATE,
            Observer::Kuma => KUMA_DURATION,
            Observer::Apisix if success => APISIX_SUCCESS_RATE,
            Observer::Apisix => APISIX_DURATION,
            Observer::Knative if success => KNATIVE_SUCCESS_RATE,
            Observer::Knative => KNATIVE_DURATION,
        }
    }

    /// The model the observer renders its queries with. Skipper names its
    /// routes with every non-word character replaced by `_`, so its model
    /// is encoded the same way.
    pub fn model(self, model: &QueryModel) -> QueryModel {
        if self != Observer::Skipper {
            return model.clone();
        }
        let encode = |text: &str| -> String {
            text.chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        QueryModel {
            name: encode(&model.name),
            namespace: encode(&model.namespace),
            target: encode(&model.target),
            service: encode(&model.service),
            ingress: encode(&model.ingress),
            ..model.clone()
        }
    }

    /// The rendered query for `metric`.
    pub fn render(
        self,
        metric: BuiltinMetric,
        model: &QueryModel,
    ) -> Result<String, crate::template::TemplateError> {
        crate::template::render(self.query(metric), &self.model(model))
    }

    /// A duration query's value in milliseconds. The HTTP observer's
    /// histogram is in seconds; every other query already yields
    /// milliseconds.
    pub fn duration_in_milliseconds(self, value: f64) -> f64 {
        match self {
            Observer::Http => value * 1000.0,
            _ => value,
        }
    }
}

// Each query is `sum(rate(ok)) / sum(rate(all)) * 100` for the success rate
// and a p99 over the mesh's latency histogram for the duration. The
// Prometheus provider collapses whitespace before sending, so the layout
// here is for reading.

const ISTIO_SUCCESS_RATE: &str = r#"
sum(rate(istio_requests_total{
  reporter="destination",
  destination_workload_namespace="{{ namespace }}",
  destination_workload=~"{{ target }}",
  response_code!~"5.*"
}[{{ interval }}]))
/
sum(rate(istio_requests_total{
  reporter="destination",
  destination_workload_namespace="{{ namespace }}",
  destination_workload=~"{{ target }}"
}[{{ interval }}]))
* 100"#;

const ISTIO_DURATION: &str = r#"
histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{
  reporter="destination",
  destination_workload_namespace="{{ namespace }}",
  destination_workload=~"{{ target }}"
}[{{ interval }}])) by (le))"#;

const LINKERD_SUCCESS_RATE: &str = r#"
sum(rate(response_total{
  namespace="{{ namespace }}",
  deployment=~"{{ target }}",
  classification!="failure",
  direction="inbound"
}[{{ interval }}]))
/
sum(rate(response_total{
  namespace="{{ namespace }}",
  deployment=~"{{ target }}",
  direction="inbound"
}[{{ interval }}]))
* 100"#;

const LINKERD_DURATION: &str = r#"
histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{
  namespace="{{ namespace }}",
  deployment=~"{{ target }}",
  direction="inbound"
}[{{ interval }}])) by (le))"#;

/// App Mesh's Envoy stats carry the pod name: `<target>-<hash>-<suffix>`.
const APP_MESH_SUCCESS_RATE: &str = r#"
sum(rate(envoy_cluster_upstream_rq{
  kubernetes_namespace="{{ namespace }}",
  kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",
  envoy_response_code!~"5.*"
}[{{ interval }}]))
/
sum(rate(envoy_cluster_upstream_rq{
  kubernetes_namespace="{{ namespace }}",
  kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"
}[{{ interval }}]))
* 100"#;

const APP_MESH_DURATION: &str = r#"
histogram_quantile(0.99, sum(rate(envoy_cluster_upstream_rq_time_bucket{
  kubernetes_namespace="{{ namespace }}",
  kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"
}[{{ interval }}])) by (le))"#;

/// Contour names Envoy clusters `<namespace>_<service>-canary_<port>`.
const CONTOUR_SUCCESS_RATE: &str = r#"
sum(rate(envoy_cluster_upstream_rq{
  envoy_cluster_name=~"{{ namespace }}_{{ service }}-canary_[0-9a-zA-Z-]+",
  envoy_response_code!~"5.*"
}[{{ interval }}]))
/
sum(rate(envoy_cluster_upstream_rq{
  envoy_cluster_name=~"{{ namespace }}_{{ service }}-canary_[0-9a-zA-Z-]+"
}[{{ interval }}]))
* 100"#;

const CONTOUR_DURATION: &str = r#"
histogram_quantile(0.99, sum(rate(envoy_cluster_upstream_rq_time_bucket{
  envoy_cluster_name=~"{{ namespace }}_{{ service }}-canary_[0-9a-zA-Z-]+"
}[{{ interval }}])) by (le))"#;

/// Gloo names the canary's upstream `<namespace>-<target>-canaryupstream-<port>`.
const GLOO_SUCCESS_RATE: &str = r#"
sum(rate(envoy_cluster_upstream_rq{
  envoy_cluster_name=~"{{ namespace }}-{{ target }}-canaryupstream-[0-9a-zA-Z-]+_[0-9a-zA-Z-]+",
  envoy_response_code!~"5.*"
}[{{ interval }}]))
/
sum(rate(envoy_cluster_upstream_rq{
  envoy_cluster_name=~"{{ namespace }}-{{ target }}-canaryupstream-[0-9a-zA-Z-]+_[0-9a-zA-Z-]+"
}[{{ interval }}]))
* 100"#;

const GLOO_DURATION: &str = r#"
histogram_quantile(0.99, sum(rate(envoy_cluster_upstream_rq_time_bucket{
  envoy_cluster_name=~"{{ namespace }}-{{ target }}-canaryupstream-[0-9a-zA-Z-]+_[0-9a-zA-Z-]+"
}[{{ interval }}])) by (le))"#;

/// ingress-nginx labels requests served by the canary Ingress with `canary`.
const NGINX_SUCCESS_RATE: &str = r#"
sum(rate(nginx_ingress_controller_requests{
  namespace="{{ namespace }}",
  ingress="{{ ingress }}",
  canary!="",
  status!~"5.*"
}[{{ interval }}]))
/
sum(rate(nginx_ingress_controller_requests{
  namespace="{{ namespace }}",
  ingress="{{ ingress }}",
  canary!=""
}[{{ interval }}]))
* 100"#;

/// An average, not a p99: ingress-nginx's per-canary series has no usable
/// histogram. Seconds, times 1000.
const NGINX_DURATION: &str = r#"
sum(rate(nginx_ingress_controller_response_duration_seconds_sum{
  namespace="{{ namespace }}",
  ingress="{{ ingress }}",
  canary!=""
}[{{ interval }}]))
/
sum(rate(nginx_ingress_controller_response_duration_seconds_count{
  namespace="{{ namespace }}",
  ingress="{{ ingress }}",
  canary!=""
}[{{ interval }}]))
* 1000"#;

/// The Prometheus client library's request histogram, as podinfo exports it,
/// scraped with the pod name: `<target>-<hash>-<suffix>`.
const HTTP_SUCCESS_RATE: &str = r#"
sum(rate(http_request_duration_seconds_count{
  kubernetes_namespace="{{ namespace }}",
  kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",
  status!~"5.*"
}[{{ interval }}]))
/
sum(rate(http_request_duration_seconds_count{
  kubernetes_namespace="{{ namespace }}",
  kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"
}[{{ interval }}]))
* 100"#;

/// Seconds: [`Observer::duration_in_milliseconds`] converts.
const HTTP_DURATION: &str = r#"
histogram_quantile(0.99, sum(rate(http_request_duration_seconds_bucket{
  kubernetes_namespace="{{ namespace }}",
  kubernetes_pod_name=~"{{ target }}-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"
}[{{ interval }}])) by (le))"#;

/// Skipper's route IDs for the canary backend of an Ingress:
/// `kube(ew)_<namespace>__<ingress>_canary__<host>__<service>_canary(_<n>)`.
/// Only the `+Inf` bucket counts every request once.
const SKIPPER_SUCCESS_RATE: &str = r#"
sum(rate(skipper_response_duration_seconds_bucket{
  route=~"kube(ew)?_{{ namespace }}__{{ ingress }}_canary__.*__{{ service }}_canary(_[0-9]+)?",
  code!~"5..",
  le="+Inf"
}[{{ interval }}]))
/
sum(rate(skipper_response_duration_seconds_bucket{
  route=~"kube(ew)?_{{ namespace }}__{{ ingress }}_canary__.*__{{ service }}_canary(_[0-9]+)?",
  le="+Inf"
}[{{ interval }}]))
* 100"#;

const SKIPPER_DURATION: &str = r#"
sum(rate(skipper_serve_route_duration_seconds_sum{
  route=~"kube(ew)?_{{ namespace }}__{{ ingress }}_canary__.*__{{ service }}_canary(_[0-9]+)?"
}[{{ interval }}]))
/
sum(rate(skipper_serve_route_duration_seconds_count{
  route=~"kube(ew)?_{{ namespace }}__{{ ingress }}_canary__.*__{{ service }}_canary(_[0-9]+)?"
}[{{ interval }}]))
* 1000"#;

/// Traefik names the canary's TraefikService backend
/// `<namespace>-<target>-canary-<port>@kubernetescrd`.
const TRAEFIK_SUCCESS_RATE: &str = r#"
sum(rate(traefik_service_request_duration_seconds_bucket{
  service=~"{{ namespace }}-{{ target }}-canary-[0-9a-zA-Z-]+@kubernetescrd",
  code!~"5..",
  le="+Inf"
}[{{ interval }}]))
/
sum(rate(traefik_service_request_duration_seconds_bucket{
  service=~"{{ namespace }}-{{ target }}-canary-[0-9a-zA-Z-]+@kubernetescrd",
  le="+Inf"
}[{{ interval }}]))
* 100"#;

/// Seconds, times 1000.
const TRAEFIK_DURATION: &str = r#"
histogram_quantile(0.99, sum(rate(traefik_service_request_duration_seconds_bucket{
  service=~"{{ namespace }}-{{ target }}-canary-[0-9a-zA-Z-]+@kubernetescrd"
}[{{ interval }}])) by (le))
* 1000"#;

const OSM_SUCCESS_RATE: &str = r#"
sum(rate(osm_request_total{
  destination_namespace="{{ namespace }}",
  destination_kind="Deployment",
  destination_name="{{ target }}",
  response_code!~"5.*"
}[{{ interval }}]))
/
sum(rate(osm_request_total{
  destination_namespace="{{ namespace }}",
  destination_kind="Deployment",
  destination_name="{{ target }}"
}[{{ interval }}]))
* 100"#;

const OSM_DURATION: &str = r#"
histogram_quantile(0.99, sum(rate(osm_request_duration_ms_bucket{
  destination_namespace="{{ namespace }}",
  destination_kind="Deployment",
  destination_name="{{ target }}"
}[{{ interval }}])) by (le))"#;

/// Kuma tags the canary's Envoy cluster with `<target>-canary_<namespace>_svc_<port>`.
const KUMA_SUCCESS_RATE: &str = r#"
sum(rate(envoy_cluster_upstream_rq{
  service=~"{{ target }}-canary_{{ namespace }}_svc_[0-9a-zA-Z-]+",
  envoy_response_code!~"5.*"
}[{{ interval }}]))
/
sum(rate(envoy_cluster_upstream_rq{
  service=~"{{ target }}-canary_{{ namespace }}_svc_[0-9a-zA-Z-]+"
}[{{ interval }}]))
* 100"#;

const KUMA_DURATION: &str = r#"
histogram_quantile(0.99, sum(rate(envoy_cluster_upstream_rq_time_bucket{
  service=~"{{ target }}-canary_{{ namespace }}_svc_[0-9a-zA-Z-]+"
}[{{ interval }}])) by (le))"#;

/// APISIX names routes `<namespace>_<route>-<target>-canary_<rule>`.
const APISIX_SUCCESS_RATE: &str = r#"
sum(rate(apisix_http_status{
  route=~"{{ namespace }}_{{ route }}-{{ target }}-canary_.+",
  code!~"5.."
}[{{ interval }}]))
/
sum(rate(apisix_http_status{
  route=~"{{ namespace }}_{{ route }}-{{ target }}-canary_.+"
}[{{ interval }}]))
* 100"#;

const APISIX_DURATION: &str = r#"
histogram_quantile(0.99, sum(rate(apisix_http_latency_bucket{
  type=~"request",
  route=~"{{ namespace }}_{{ route }}-{{ target }}-canary_.+"
}[{{ interval }}])) by (le))"#;

/// Knative's Envoy cluster per revision: `<namespace>/<revision>`, with the
/// revision passed as `route`.
const KNATIVE_SUCCESS_RATE: &str = r#"
sum(rate(envoy_cluster_upstream_rq{
  envoy_cluster_name=~"{{ namespace }}/{{ route }}",
  envoy_response_code!~"5.*"
}[{{ interval }}]))
/
sum(rate(envoy_cluster_upstream_rq{
  envoy_cluster_name=~"{{ namespace }}/{{ route }}"
}[{{ interval }}]))
* 100"#;

const KNATIVE_DURATION: &str = r#"
histogram_quantile(0.99, sum(rate(envoy_cluster_upstream_rq_time_bucket{
  envoy_cluster_name=~"{{ namespace }}/{{ route }}"
}[{{ interval }}])) by (le))"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::collapse_whitespace;
    use weir_api::Provider;

    fn model() -> QueryModel {
        QueryModel {
            name: "podinfo".to_owned(),
            namespace: "test".to_owned(),
            target: "podinfo".to_owned(),
            service: "podinfo-svc".to_owned(),
            ingress: "podinfo-ingress".to_owned(),
            route: "podinfo-route".to_owned(),
            interval: "1m".to_owned(),
            variables: Default::default(),
        }
    }

    fn rendered(observer: Observer, metric: BuiltinMetric) -> String {
        collapse_whitespace(
            &observer
                .render(metric, &model())
                .expect("builtin queries render"),
        )
    }

    #[test]
    fn every_provider_selects_the_observer_flagger_selects() {
        let expected = [
            (Provider::Apisix, Observer::Apisix),
            (Provider::AppMesh, Observer::AppMesh),
            (Provider::AppMeshV1beta2, Observer::AppMesh),
            (Provider::Contour, Observer::Contour),
            (Provider::GatewayApiV1, Observer::Http),
            (Provider::GatewayApiV1beta1, Observer::Http),
            (Provider::Gloo, Observer::Gloo),
            (Provider::Istio, Observer::Istio),
            (Provider::Knative, Observer::Knative),
            (Provider::Kubernetes, Observer::Http),
            (Provider::Kuma, Observer::Kuma),
            (Provider::Linkerd, Observer::Linkerd),
            (Provider::Nginx, Observer::Nginx),
            (Provider::Osm, Observer::Osm),
            (Provider::Skipper, Observer::Skipper),
            (Provider::SmiV1alpha1, Observer::Istio),
            (Provider::SmiV1alpha2, Observer::Istio),
            (Provider::SmiV1alpha3, Observer::Istio),
            (Provider::Traefik, Observer::Traefik),
        ];
        assert_eq!(
            expected.len(),
            Provider::ALL.len(),
            "every provider is listed"
        );
        for (provider, observer) in expected {
            assert_eq!(
                Observer::for_provider(provider.as_str()),
                observer,
                "{provider}"
            );
        }
    }

    #[test]
    fn service_targets_fall_back_to_istio_except_for_prefix_matched_observers() {
        // Flagger appends `:service` for Service targets; only observers
        // chosen by prefix survive it (semantics §18 #11).
        assert_eq!(Observer::for_provider("linkerd:service"), Observer::Istio);
        assert_eq!(
            Observer::for_provider("kubernetes:service"),
            Observer::Istio
        );
        assert_eq!(Observer::for_provider("appmesh:service"), Observer::AppMesh);
        assert_eq!(Observer::for_provider("gloo:service"), Observer::Gloo);
        assert_eq!(
            Observer::for_provider("gatewayapi:v1:service"),
            Observer::Http
        );
    }

    #[test]
    fn istio_queries_read_the_destination_reporters_series_of_the_target() {
        assert_eq!(
            rendered(Observer::Istio, BuiltinMetric::RequestSuccessRate),
            r#" sum(rate(istio_requests_total{ reporter="destination", destination_workload_namespace="test", destination_workload=~"podinfo", response_code!~"5.*" }[1m])) / sum(rate(istio_requests_total{ reporter="destination", destination_workload_namespace="test", destination_workload=~"podinfo" }[1m])) * 100"#
        );
        assert_eq!(
            rendered(Observer::Istio, BuiltinMetric::RequestDuration),
            r#" histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{ reporter="destination", destination_workload_namespace="test", destination_workload=~"podinfo" }[1m])) by (le))"#
        );
    }

    #[test]
    fn nginx_queries_read_the_canary_ingress_and_average_the_duration() {
        let success = rendered(Observer::Nginx, BuiltinMetric::RequestSuccessRate);
        assert!(
            success.contains(r#"ingress="podinfo-ingress", canary!="", status!~"5.*""#),
            "{success}"
        );
        let duration = rendered(Observer::Nginx, BuiltinMetric::RequestDuration);
        assert!(
            duration.contains("response_duration_seconds_sum") && duration.ends_with("* 1000"),
            "{duration}"
        );
    }

    #[test]
    fn contour_selects_the_canary_service_cluster_and_gloo_the_canary_upstream() {
        let contour = rendered(Observer::Contour, BuiltinMetric::RequestSuccessRate);
        assert!(
            contour.contains(r#"envoy_cluster_name=~"test_podinfo-svc-canary_[0-9a-zA-Z-]+""#),
            "{contour}"
        );
        let gloo = rendered(Observer::Gloo, BuiltinMetric::RequestDuration);
        assert!(
            gloo.contains(r#""test-podinfo-canaryupstream-[0-9a-zA-Z-]+_[0-9a-zA-Z-]+""#),
            "{gloo}"
        );
    }

    #[test]
    fn skipper_encodes_non_word_characters_in_its_route_pattern() {
        let model = QueryModel {
            namespace: "team-a".to_owned(),
            ingress: "web.ingress".to_owned(),
            service: "web-svc".to_owned(),
            ..model()
        };
        let query = collapse_whitespace(
            &Observer::Skipper
                .render(BuiltinMetric::RequestSuccessRate, &model)
                .expect("renders"),
        );
        assert!(
            query.contains(
                r#"route=~"kube(ew)?_team_a__web_ingress_canary__.*__web_svc_canary(_[0-9]+)?""#
            ),
            "{query}"
        );
    }

    #[test]
    fn apisix_and_knative_use_the_route_name() {
        assert!(
            rendered(Observer::Apisix, BuiltinMetric::RequestSuccessRate)
                .contains(r#"route=~"test_podinfo-route-podinfo-canary_.+""#)
        );
        assert!(
            rendered(Observer::Knative, BuiltinMetric::RequestDuration)
                .contains(r#"envoy_cluster_name=~"test/podinfo-route""#)
        );
    }

    #[test]
    fn only_the_http_observer_converts_seconds_to_milliseconds() {
        assert_eq!(Observer::Http.duration_in_milliseconds(0.25), 250.0);
        assert_eq!(Observer::Istio.duration_in_milliseconds(250.0), 250.0);
        // Traefik and nginx multiply in the query itself.
        assert!(rendered(Observer::Traefik, BuiltinMetric::RequestDuration).ends_with("* 1000"));
    }

    #[test]
    fn every_query_renders_and_reads_the_interval() {
        let observers = [
            Observer::Istio,
            Observer::Linkerd,
            Observer::AppMesh,
            Observer::Contour,
            Observer::Gloo,
            Observer::Nginx,
            Observer::Http,
            Observer::Skipper,
            Observer::Traefik,
            Observer::Osm,
            Observer::Kuma,
            Observer::Apisix,
            Observer::Knative,
        ];
        for observer in observers {
            for metric in [
                BuiltinMetric::RequestSuccessRate,
                BuiltinMetric::RequestDuration,
            ] {
                let query = rendered(observer, metric);
                assert!(query.contains("[1m]"), "{observer:?} {metric:?}: {query}");
                assert!(!query.contains("{{"), "{observer:?} {metric:?}: {query}");
            }
        }
    }
}
