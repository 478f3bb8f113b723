//! Discovery documents built from the registered resource types: the
//! legacy per-group-version endpoints and aggregated discovery (v2).

use serde_json::{Value, json};

use crate::registry::ResourceType;

/// The verbs every registered resource serves.
const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// The verbs of a `status` subresource.
const STATUS_VERBS: &[&str] = &["get", "patch", "update"];

/// The media type of aggregated discovery responses.
pub(crate) const AGGREGATED_DISCOVERY: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether the `Accept` header asks for aggregated discovery (v2 or v2beta1).
pub(crate) fn wants_aggregated(accept: &str) -> bool {
    accept.contains("as=APIGroupDiscoveryList") && accept.contains("g=apidiscovery.k8s.io")
}

/// `GET /api`.
pub(crate) fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_version_entry(group: &str, version: &str) -> Value {
    json!({"groupVersion": format!("{group}/{version}"), "version": version})
}

/// One `APIGroup`; `versions` are preferred first.
pub(crate) fn group(name: &str, versions: &[String]) -> Value {
    let entries: Vec<Value> = versions
        .iter()
        .map(|version| group_version_entry(name, version))
        .collect();
    let preferred = entries.first().cloned().unwrap_or_else(|| json!({}));
    json!({
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": name,
        "versions": entries,
        "preferredVersion": preferred,
    })
}

/// `GET /apis`.
pub(crate) fn group_list(groups: &[(String, Vec<String>)]) -> Value {
    let groups: Vec<Value> = groups
        .iter()
        .map(|(name, versions)| {
            let mut entry = group(name, versions);
            if let Some(entry) = entry.as_object_mut() {
                entry.remove("kind");
                entry.remove("apiVersion");
            }
            entry
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /api/v1` or `GET /apis/{group}/{version}`.
pub(crate) fn resource_list(group_version: &str, resources: &[ResourceType]) -> Value {
    let mut entries = Vec::new();
    for resource in resources {
        entries.push(json!({
            "name": resource.plural,
            "singularName": resource.singular(),
            "namespaced": resource.namespaced,
            "kind": resource.kind,
            "verbs": VERBS,
        }));
        if resource.status_subresource {
            entries.push(json!({
                "name": format!("{}/status", resource.plural),
                "singularName": "",
                "namespaced": resource.namespaced,
                "kind": resource.kind,
                "verbs": STATUS_VERBS,
            }));
        }
    }
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries,
    })
}

fn aggregated_resource(resource: &ResourceType) -> Value {
    let response_kind = json!({
        "group": resource.group,
        "version": resource.version,
        "kind": resource.kind,
    });
    let subresources: Vec<Value> = if resource.status_subresource {
        vec![json!({
            "subresource": "status",
            "responseKind": response_kind,
            "verbs": STATUS_VERBS,
        })]
    } else {
        Vec::new()
    };
    json!({
        "resource": resource.plural,
        "responseKind": response_kind,
        "scope": if resource.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": resource.singular(),
        "verbs": VERBS,
        "subresources": subresources,
    })
}

/// Aggregated discovery of the given groups (`""` is the core group),
/// versions preferred first.
pub(crate) fn aggregated(groups: &[(String, Vec<String>)], resources: &[ResourceType]) -> Value {
    let items: Vec<Value> = groups
        .iter()
        .map(|(group, versions)| {
            let versions: Vec<Value> = versions
                .iter()
                .map(|version| {
                    let served: Vec<Value> = resources
                        .iter()
                        .filter(|resource| resource.group == *group && resource.version == *version)
                        .map(aggregated_resource)
                        .collect();
                    json!({"version": version, "resources": served, "freshness": "Current"})
                })
                .collect();
            let metadata = if group.is_empty() {
                json!({})
            } else {
                json!({"name": group})
            };
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
}

/// `GET /version`: the Kubernetes version the fake claims to be, the one
/// weir's k8s-openapi types are generated for.
pub(crate) fn version() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0-weir-fake",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-04-23T00:00:00Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}
