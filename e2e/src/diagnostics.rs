//! What a failed test prints: enough of the cluster to tell a weir bug from
//! a slow image pull without rerunning anything.
//!
//! ```text
//!  == Canary <ns>/podinfo ==            phase, counters, conditions, lastAnalysis
//!  == Events in <ns> (last 30) ==       the Canary's and the workloads'
//!  == Deployments in <ns> ==            replicas and images
//!  == HTTPRoutes in <ns> ==             spec.rules and status.parents
//!  == Controller log (last 40 lines) == the lines about <ns>, else the tail
//! ```
//!
//! Every section is best effort: an API error becomes that section's text,
//! never a second failure hiding the first.

use std::fmt::Write as _;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::events::v1::Event;
use kube::api::{ApiResource, DynamicObject, ListParams, LogParams};
use kube::{Api, ResourceExt as _};
use weir_api::Canary;

use crate::cluster::{Cluster, TestedProvider};
use crate::failure::Diagnostics;

/// How many of the namespace's most recent events to show.
const EVENTS_SHOWN: usize = 30;
/// How many controller log lines to show.
const LOG_LINES_SHOWN: usize = 40;
/// How many log lines to search for the namespace's name: a few minutes of
/// a debug-level controller running one scenario at a time.
const LOG_LINES_SEARCHED: i64 = 2000;

/// The cluster as seen from the scenario in `namespace` with Canary `canary`.
pub async fn collect(cluster: &Cluster, namespace: &str, canary: &str) -> Diagnostics {
    let mut report = String::new();
    let sections = [
        (
            format!("Canary {namespace}/{canary}"),
            canary_section(cluster, namespace, canary).await,
        ),
        (
            format!("Events in {namespace} (last {EVENTS_SHOWN})"),
            events_section(cluster, namespace).await,
        ),
        (
            format!("Deployments in {namespace}"),
            deployments_section(cluster, namespace).await,
        ),
    ];
    for (title, body) in sections {
        let _ = writeln!(report, "== {title} ==\n{body}");
    }
    if cluster.install.provider == TestedProvider::GatewayApi {
        let body = routes_section(cluster, namespace).await;
        let _ = writeln!(report, "== HTTPRoutes in {namespace} ==\n{body}");
    }
    let log = controller_log_section(cluster, namespace).await;
    let _ = write!(
        report,
        "== Controller {}/{} log (last {LOG_LINES_SHOWN} lines) ==\n{log}",
        cluster.install.controller_namespace, cluster.install.controller_deployment
    );
    Diagnostics(report)
}

async fn canary_section(cluster: &Cluster, namespace: &str, name: &str) -> String {
    let canaries: Api<Canary> = Api::namespaced(cluster.client.clone(), namespace);
    match canaries.get_opt(name).await {
        Ok(Some(canary)) => match &canary.status {
            Some(status) => serde_json::to_string_pretty(status)
                .unwrap_or_else(|error| format!("(status not printable: {error})")),
            None => "(no status yet: the controller has not reconciled it)".to_owned(),
        },
        Ok(None) => "(not found)".to_owned(),
        Err(error) => format!("(cannot read it: {error})"),
    }
}

async fn events_section(cluster: &Cluster, namespace: &str) -> String {
    let events: Api<Event> = Api::namespaced(cluster.client.clone(), namespace);
    let mut list = match events.list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(error) => return format!("(cannot list them: {error})"),
    };
    list.sort_by_key(|event| {
        event
            .series
            .as_ref()
            .map(|series| series.last_observed_time.0)
            .or(event.event_time.as_ref().map(|time| time.0))
            .or(event.deprecated_last_timestamp.as_ref().map(|time| time.0))
    });
    let shown = list.len().saturating_sub(EVENTS_SHOWN);
    let lines: Vec<String> = list[shown..]
        .iter()
        .map(|event| {
            let regarding = event
                .regarding
                .as_ref()
                .map(|object| {
                    format!(
                        "{}/{}",
                        object.kind.as_deref().unwrap_or("?"),
                        object.name.as_deref().unwrap_or("?")
                    )
                })
                .unwrap_or_default();
            format!(
                "{} {} {}: {}",
                event.type_.as_deref().unwrap_or("?"),
                event.reason.as_deref().unwrap_or("?"),
                regarding,
                event.note.as_deref().unwrap_or("").trim_end()
            )
        })
        .collect();
    if lines.is_empty() {
        "(none)".to_owned()
    } else {
        lines.join("\n")
    }
}

async fn deployments_section(cluster: &Cluster, namespace: &str) -> String {
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), namespace);
    let list = match deployments.list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(error) => return format!("(cannot list them: {error})"),
    };
    let lines: Vec<String> = list
        .iter()
        .map(|deployment| {
            let wanted = deployment.spec.as_ref().and_then(|spec| spec.replicas);
            let status = deployment.status.clone().unwrap_or_default();
            let images: Vec<String> = deployment
                .spec
                .iter()
                .flat_map(|spec| spec.template.spec.iter())
                .flat_map(|pod| pod.containers.iter())
                .filter_map(|container| container.image.clone())
                .collect();
            format!(
                "{}: replicas {} wanted, {} updated, {} ready, {} available; images {}",
                deployment.name_any(),
                wanted.map_or_else(|| "(unset)".to_owned(), |count| count.to_string()),
                status.updated_replicas.unwrap_or(0),
                status.ready_replicas.unwrap_or(0),
                status.available_replicas.unwrap_or(0),
                images.join(", ")
            )
        })
        .collect();
    if lines.is_empty() {
        "(none)".to_owned()
    } else {
        lines.join("\n")
    }
}

async fn routes_section(cluster: &Cluster, namespace: &str) -> String {
    let routes: Api<DynamicObject> =
        Api::namespaced_with(cluster.client.clone(), namespace, &http_route_resource());
    let list = match routes.list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(error) => return format!("(cannot list them: {error})"),
    };
    let lines: Vec<String> = list
        .iter()
        .map(|route| {
            let shown = serde_json::json!({
                "name": route.name_any(),
                "spec": route.data.get("spec"),
                "status": route.data.get("status"),
            });
            serde_json::to_string_pretty(&shown)
                .unwrap_or_else(|error| format!("(not printable: {error})"))
        })
        .collect();
    if lines.is_empty() {
        "(none)".to_owned()
    } else {
        lines.join("\n")
    }
}

async fn controller_log_section(cluster: &Cluster, namespace: &str) -> String {
    let install = &cluster.install;
    let deployments: Api<Deployment> =
        Api::namespaced(cluster.client.clone(), &install.controller_namespace);
    let deployment = match deployments.get(&install.controller_deployment).await {
        Ok(deployment) => deployment,
        Err(error) => return format!("(cannot read the controller Deployment: {error})"),
    };
    let selector = deployment
        .spec
        .and_then(|spec| spec.selector.match_labels)
        .unwrap_or_default()
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",");
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &install.controller_namespace);
    let pod = match pods.list(&ListParams::default().labels(&selector)).await {
        Ok(list) => match list.items.into_iter().next() {
            Some(pod) => pod,
            None => return format!("(no controller pod matches {selector})"),
        },
        Err(error) => return format!("(cannot list the controller's pods: {error})"),
    };
    let parameters = LogParams {
        tail_lines: Some(LOG_LINES_SEARCHED),
        ..LogParams::default()
    };
    match pods.logs(&pod.name_any(), &parameters).await {
        Ok(log) => relevant_lines(&log, namespace, LOG_LINES_SHOWN),
        Err(error) => format!("(cannot read {}'s log: {error})", pod.name_any()),
    }
}

/// The last `count` lines of `log` that mention `namespace`, or the last
/// `count` lines if none does (the controller may be failing before it
/// gets to any Canary).
fn relevant_lines(log: &str, namespace: &str, count: usize) -> String {
    let lines: Vec<&str> = log.lines().collect();
    let mentioning: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|line| line.contains(namespace))
        .collect();
    let chosen = if mentioning.is_empty() {
        lines
    } else {
        mentioning
    };
    let start = chosen.len().saturating_sub(count);
    chosen[start..].join("\n")
}

/// `gateway.networking.k8s.io/v1` `HTTPRoute`.
pub fn http_route_resource() -> ApiResource {
    ApiResource {
        group: "gateway.networking.k8s.io".to_owned(),
        version: "v1".to_owned(),
        api_version: "gateway.networking.k8s.io/v1".to_owned(),
        kind: "HTTPRoute".to_owned(),
        plural: "httproutes".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_about_the_scenario_are_preferred() {
        let log = "starting\n{\"canary\":\"podinfo.kubernetes-promotion\"}\nleader elected\n\
                   {\"canary\":\"podinfo.kubernetes-promotion\",\"msg\":\"Advance\"}\n";
        assert_eq!(
            relevant_lines(log, "kubernetes-promotion", 1),
            "{\"canary\":\"podinfo.kubernetes-promotion\",\"msg\":\"Advance\"}"
        );
    }

    #[test]
    fn without_lines_about_the_scenario_the_tail_is_shown() {
        assert_eq!(
            relevant_lines("one\ntwo\nthree\n", "kubernetes-rollback", 2),
            "two\nthree"
        );
    }
}
