//! Manifests as the tests write them: YAML, exactly as a Flagger user would
//! apply it, with `${NAME}` placeholders for what differs per scenario.
//!
//! Objects are applied with server-side apply (field manager `weir-e2e`),
//! each kind found through discovery, so a test can apply any kind the
//! cluster serves (Canaries, Deployments, HTTPRoutes) without a typed
//! client for it.

use kube::api::{DynamicObject, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::discovery::{self, Scope};
use kube::{Api, Client, ResourceExt as _};
use serde_json::Value;

use crate::failure::Failure;

/// The field manager of everything the tests apply.
pub const FIELD_MANAGER: &str = "weir-e2e";

/// The podinfo Secret and Deployment every scenario releases.
pub const PODINFO: &str = include_str!("../manifests/podinfo.yaml");

/// `template` with every `${KEY}` replaced by its value.
///
/// A placeholder left without a value is an error, so that a typo in a test
/// fails at once instead of reaching the cluster as `${NAMSPACE}`.
pub fn render(template: &str, values: &[(&str, &str)]) -> Result<String, Failure> {
    let mut text = template.to_owned();
    for (key, value) in values {
        text = text.replace(&format!("${{{key}}}"), value);
    }
    match text.find("${") {
        None => Ok(text),
        Some(start) => {
            let placeholder: String = text[start..].chars().take_while(|c| *c != '}').collect();
            Err(Failure::Manifest {
                manifest: first_line(template),
                reason: format!("no value for the placeholder {placeholder}}}"),
            })
        }
    }
}

/// The documents of a multi-document YAML text, as JSON objects.
pub fn documents(yaml: &str) -> Result<Vec<DynamicObject>, Failure> {
    let values: Vec<Value> =
        serde_saphyr::from_multiple(yaml).map_err(|error| Failure::Manifest {
            manifest: first_line(yaml),
            reason: format!("not YAML: {error}"),
        })?;
    values
        .into_iter()
        .filter(|value| !value.is_null())
        .map(|value| {
            serde_json::from_value::<DynamicObject>(value).map_err(|error| Failure::Manifest {
                manifest: first_line(yaml),
                reason: format!("not a Kubernetes object: {error}"),
            })
        })
        .collect()
}

/// Applies every object of `yaml` to `namespace` (objects of namespaced
/// kinds are moved there; cluster-scoped ones are applied as they are).
pub async fn apply(client: &Client, namespace: &str, yaml: &str) -> Result<(), Failure> {
    for mut object in documents(yaml)? {
        let types = object.types.clone().ok_or_else(|| Failure::Manifest {
            manifest: first_line(yaml),
            reason: format!("object {:?} has no apiVersion or kind", object.name_any()),
        })?;
        let kind = GroupVersionKind::try_from(&types).map_err(|error| Failure::Manifest {
            manifest: first_line(yaml),
            reason: format!("object {:?}: {error}", object.name_any()),
        })?;
        let name = object.name_any();
        let (resource, capabilities) =
            discovery::pinned_kind(client, &kind)
                .await
                .map_err(Failure::kube(format!(
                    "finding {}/{} in the cluster's API (is its CRD installed?)",
                    types.api_version, types.kind
                )))?;
        let api: Api<DynamicObject> = match capabilities.scope {
            Scope::Namespaced => {
                object.metadata.namespace = Some(namespace.to_owned());
                Api::namespaced_with(client.clone(), namespace, &resource)
            }
            Scope::Cluster => Api::all_with(client.clone(), &resource),
        };
        api.patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&object),
        )
        .await
        .map_err(Failure::kube(format!(
            "applying {} {namespace}/{name}",
            types.kind
        )))?;
    }
    Ok(())
}

/// A short name for a manifest in error messages: its first line that is
/// neither blank nor a comment.
fn first_line(yaml: &str) -> String {
    yaml.lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#') && *line != "---")
        .unwrap_or("(empty)")
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_replaced_everywhere_they_appear() {
        let text = render(
            "url: http://podinfo-canary.${NAMESPACE}/\nhost: ${NAMESPACE}.example.com\n",
            &[("NAMESPACE", "gatewayapi-ab")],
        )
        .expect("every placeholder has a value");
        assert_eq!(
            text,
            "url: http://podinfo-canary.gatewayapi-ab/\nhost: gatewayapi-ab.example.com\n"
        );
    }

    #[test]
    fn a_placeholder_without_a_value_is_named_in_the_error() {
        let failure = render(
            "kind: Canary\nnamespace: ${NAMSPACE}\n",
            &[("NAMESPACE", "x")],
        )
        .expect_err("NAMSPACE has no value");
        assert_eq!(
            failure.to_string(),
            "manifest kind: Canary: no value for the placeholder ${NAMSPACE}"
        );
    }

    #[test]
    fn the_podinfo_manifest_holds_a_secret_and_a_deployment() {
        let objects = documents(PODINFO).expect("podinfo.yaml parses");
        let kinds: Vec<(String, String)> = objects
            .iter()
            .map(|object| {
                let types = object.types.clone().expect("apiVersion and kind");
                (types.kind, object.name_any())
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("Secret".to_owned(), "podinfo-secret".to_owned()),
                ("Deployment".to_owned(), "podinfo".to_owned()),
            ]
        );
    }

    #[test]
    fn the_podinfo_manifest_starts_at_the_tests_initial_version() {
        let objects = documents(PODINFO).expect("podinfo.yaml parses");
        let deployment = objects
            .iter()
            .find(|object| object.name_any() == "podinfo")
            .expect("a podinfo Deployment");
        let image = deployment.data["spec"]["template"]["spec"]["containers"][0]["image"].as_str();
        assert_eq!(
            image,
            Some(crate::podinfo_image(crate::INITIAL_VERSION).as_str())
        );
    }

    #[test]
    fn yaml_that_is_not_an_object_is_a_clear_error() {
        let failure = documents("- just\n- a list\n").expect_err("a list is not an object");
        assert!(
            failure.to_string().contains("not a Kubernetes object"),
            "{failure}"
        );
    }
}
