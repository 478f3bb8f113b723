//! Metric queries as Flagger writes them.
//!
//! ```text
//!   MetricTemplate.spec.query ──▶ template::render(query, QueryModel) ──▶ PromQL / NRQL / ...
//!        "{{ namespace }}"            name, namespace, target, service,
//!        "{{ variables.x }}"          ingress, route, interval, variables
//! ```
//!
//! `template` renders the Go `text/template` subset Flagger users write in
//! MetricTemplate queries. The providers that send the rendered queries
//! (Prometheus, Datadog, ...) and the builtin queries per mesh come next
//! (issue 5).

pub mod template;

pub use template::{QueryModel, TemplateError, render};
