//! The resource types the fake serves: what a CRD or a built-in API group
//! declares (group, version, kind, plural, scope, status subresource), and
//! the ones weir uses, registered from the start.

use std::cmp::Ordering;

/// One served resource type: a group/version/kind with its plural path
/// segment, its scope, and whether `status` is a separate subresource.
///
/// Versions of one kind (HTTPRoute `v1` and `v1beta1`) are separate
/// resource types with separate objects: the fake converts nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// API group, `""` for the core group (`/api/v1`).
    pub group: String,
    /// API version within the group, such as `v1beta1`.
    pub version: String,
    /// The kind, such as `Deployment`.
    pub kind: String,
    /// The lowercase plural used in paths, such as `deployments`.
    pub plural: String,
    /// Namespaced (`/namespaces/{ns}/…`) or cluster-scoped.
    pub namespaced: bool,
    /// Whether `status` is a subresource: writes to the object keep the
    /// stored status, and `/status` writes change only the status.
    pub status_subresource: bool,
    /// Fields besides `metadata.name` and `metadata.namespace` that field
    /// selectors may use, as the API server allows them per kind.
    pub selectable_fields: Vec<String>,
}

impl ResourceType {
    /// A namespaced resource type without a status subresource.
    pub fn namespaced(group: &str, version: &str, kind: &str, plural: &str) -> ResourceType {
        ResourceType {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
            plural: plural.to_string(),
            namespaced: true,
            status_subresource: false,
            selectable_fields: Vec::new(),
        }
    }

    /// A cluster-scoped resource type without a status subresource.
    pub fn cluster_scoped(group: &str, version: &str, kind: &str, plural: &str) -> ResourceType {
        ResourceType {
            namespaced: false,
            ..ResourceType::namespaced(group, version, kind, plural)
        }
    }

    /// The same type with a `status` subresource.
    #[must_use]
    pub fn with_status(mut self) -> ResourceType {
        self.status_subresource = true;
        self
    }

    /// The same type with more fields allowed in field selectors.
    #[must_use]
    pub fn with_selectable_fields(mut self, fields: &[&str]) -> ResourceType {
        self.selectable_fields
            .extend(fields.iter().map(|field| field.to_string()));
        self
    }

    /// `group/version`, or just `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// The resource as the API server names it in messages:
    /// `deployments.apps`, or `configmaps` in the core group.
    pub(crate) fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// The kind as the API server names it in validation messages:
    /// `Deployment.apps`, or `ConfigMap` in the core group.
    pub(crate) fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.clone()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// The singular name discovery reports: the lowercase kind.
    pub(crate) fn singular(&self) -> String {
        self.kind.to_lowercase()
    }

    /// Whether a field selector may name `field` for this type.
    pub(crate) fn allows_field(&self, field: &str) -> bool {
        field == "metadata.name"
            || field == "metadata.namespace"
            || self
                .selectable_fields
                .iter()
                .any(|allowed| allowed == field)
    }
}

/// The resource types registered in every new store: everything weir reads
/// or writes, Flagger's own CRDs and the routers' mesh and ingress kinds.
pub fn builtin_resource_types() -> Vec<ResourceType> {
    // The fields the API server accepts in field selectors for these kinds
    // (pkg/registry/core/*/strategy.go, `ToSelectableFields`).
    const POD_FIELDS: &[&str] = &[
        "spec.nodeName",
        "spec.restartPolicy",
        "spec.schedulerName",
        "spec.serviceAccountName",
        "spec.hostNetwork",
        "status.phase",
        "status.podIP",
        "status.nominatedNodeName",
    ];
    const EVENT_FIELDS: &[&str] = &[
        "involvedObject.kind",
        "involvedObject.namespace",
        "involvedObject.name",
        "involvedObject.uid",
        "involvedObject.apiVersion",
        "involvedObject.resourceVersion",
        "involvedObject.fieldPath",
        "reason",
        "reportingComponent",
        "source",
        "type",
    ];
    vec![
        ResourceType::namespaced("", "v1", "ConfigMap", "configmaps"),
        ResourceType::namespaced("", "v1", "Secret", "secrets").with_selectable_fields(&["type"]),
        ResourceType::namespaced("", "v1", "Service", "services").with_status(),
        ResourceType::namespaced("", "v1", "Pod", "pods")
            .with_status()
            .with_selectable_fields(POD_FIELDS),
        ResourceType::cluster_scoped("", "v1", "Namespace", "namespaces")
            .with_status()
            .with_selectable_fields(&["status.phase"]),
        ResourceType::namespaced("", "v1", "Event", "events").with_selectable_fields(EVENT_FIELDS),
        ResourceType::namespaced("apps", "v1", "Deployment", "deployments").with_status(),
        ResourceType::namespaced("apps", "v1", "DaemonSet", "daemonsets").with_status(),
        ResourceType::namespaced(
            "autoscaling",
            "v2",
            "HorizontalPodAutoscaler",
            "horizontalpodautoscalers",
        )
        .with_status(),
        ResourceType::namespaced("coordination.k8s.io", "v1", "Lease", "leases"),
        ResourceType::namespaced("events.k8s.io", "v1", "Event", "events"),
        ResourceType::namespaced("networking.k8s.io", "v1", "Ingress", "ingresses").with_status(),
        ResourceType::namespaced("flagger.app", "v1beta1", "Canary", "canaries").with_status(),
        ResourceType::namespaced(
            "flagger.app",
            "v1beta1",
            "MetricTemplate",
            "metrictemplates",
        )
        .with_status(),
        ResourceType::namespaced("flagger.app", "v1beta1", "AlertProvider", "alertproviders")
            .with_status(),
        ResourceType::namespaced(
            "networking.istio.io",
            "v1beta1",
            "VirtualService",
            "virtualservices",
        )
        .with_status(),
        ResourceType::namespaced(
            "networking.istio.io",
            "v1beta1",
            "DestinationRule",
            "destinationrules",
        )
        .with_status(),
        ResourceType::namespaced("gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes")
            .with_status(),
        ResourceType::namespaced(
            "gateway.networking.k8s.io",
            "v1beta1",
            "HTTPRoute",
            "httproutes",
        )
        .with_status(),
        ResourceType::namespaced(
            "split.smi-spec.io",
            "v1alpha1",
            "TrafficSplit",
            "trafficsplits",
        ),
        ResourceType::namespaced(
            "split.smi-spec.io",
            "v1alpha2",
            "TrafficSplit",
            "trafficsplits",
        ),
        ResourceType::namespaced(
            "split.smi-spec.io",
            "v1alpha3",
            "TrafficSplit",
            "trafficsplits",
        ),
        ResourceType::namespaced("projectcontour.io", "v1", "HTTPProxy", "httpproxies")
            .with_status(),
        ResourceType::namespaced(
            "traefik.io",
            "v1alpha1",
            "TraefikService",
            "traefikservices",
        ),
        ResourceType::namespaced("keda.sh", "v1alpha1", "ScaledObject", "scaledobjects")
            .with_status(),
    ]
}

/// Why a resource type cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The group, version, kind or plural is not a valid path segment.
    #[error("cannot register {api_version} {kind} ({plural}): {problem}")]
    Malformed {
        /// The type's `apiVersion`.
        api_version: String,
        /// Its kind.
        kind: String,
        /// Its plural.
        plural: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// Another kind already uses this group, version and plural.
    #[error(
        "cannot register {api_version} {kind}: the plural {plural:?} already serves the kind {existing_kind}"
    )]
    PluralTaken {
        /// The type's `apiVersion`.
        api_version: String,
        /// The kind being registered.
        kind: String,
        /// The plural both claim.
        plural: String,
        /// The kind registered first.
        existing_kind: String,
    },
}

/// The registered types, in registration order.
#[derive(Debug, Clone, Default)]
pub(crate) struct Registry {
    types: Vec<ResourceType>,
}

impl Registry {
    pub(crate) fn with_builtin_types() -> Registry {
        Registry {
            types: builtin_resource_types(),
        }
    }

    /// Adds a type, or replaces the registration of the same
    /// group/version/plural when the kind is the same (so registering twice
    /// is harmless and can change the scope or the status subresource).
    pub(crate) fn register(&mut self, resource: ResourceType) -> Result<(), RegistryError> {
        let malformed = |problem| RegistryError::Malformed {
            api_version: resource.api_version(),
            kind: resource.kind.clone(),
            plural: resource.plural.clone(),
            problem,
        };
        if resource.version.is_empty() || resource.kind.is_empty() || resource.plural.is_empty() {
            return Err(malformed("version, kind and plural must not be empty"));
        }
        let segment_ok = |segment: &str| {
            segment
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        };
        if !segment_ok(&resource.group)
            || !segment_ok(&resource.version)
            || !segment_ok(&resource.plural)
        {
            return Err(malformed(
                "group, version and plural must be lowercase letters, digits, '-' and '.'",
            ));
        }
        if !resource.kind.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(malformed("the kind must be ASCII letters and digits"));
        }
        match self.types.iter_mut().find(|existing| {
            existing.group == resource.group
                && existing.version == resource.version
                && existing.plural == resource.plural
        }) {
            Some(existing) if existing.kind == resource.kind => {
                *existing = resource;
                Ok(())
            }
            Some(existing) => Err(RegistryError::PluralTaken {
                api_version: resource.api_version(),
                kind: resource.kind.clone(),
                plural: resource.plural.clone(),
                existing_kind: existing.kind.clone(),
            }),
            None => {
                self.types.push(resource);
                Ok(())
            }
        }
    }

    pub(crate) fn types(&self) -> &[ResourceType] {
        &self.types
    }

    pub(crate) fn by_plural(
        &self,
        group: &str,
        version: &str,
        plural: &str,
    ) -> Option<&ResourceType> {
        self.types.iter().find(|resource| {
            resource.group == group && resource.version == version && resource.plural == plural
        })
    }

    pub(crate) fn by_kind(&self, api_version: &str, kind: &str) -> Option<&ResourceType> {
        let (group, version) = split_api_version(api_version);
        self.types.iter().find(|resource| {
            resource.group == group && resource.version == version && resource.kind == kind
        })
    }

    /// Whether any type is served at this group/version.
    pub(crate) fn serves(&self, group: &str, version: &str) -> bool {
        self.types
            .iter()
            .any(|resource| resource.group == group && resource.version == version)
    }

    /// The groups other than core, each with its versions, preferred first.
    pub(crate) fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut groups: Vec<(String, Vec<String>)> = Vec::new();
        for resource in self
            .types
            .iter()
            .filter(|resource| !resource.group.is_empty())
        {
            match groups
                .iter_mut()
                .find(|(group, _)| *group == resource.group)
            {
                Some((_, versions)) => {
                    if !versions.contains(&resource.version) {
                        versions.push(resource.version.clone());
                    }
                }
                None => groups.push((resource.group.clone(), vec![resource.version.clone()])),
            }
        }
        for (_, versions) in &mut groups {
            versions.sort_by(|a, b| compare_versions(a, b));
        }
        groups
    }
}

/// Splits `apps/v1` into `("apps", "v1")` and `v1` into `("", "v1")`.
pub(crate) fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

/// Kubernetes version priority, highest first: GA before beta before
/// alpha, higher numbers first, and anything not shaped `v<N>[alpha|beta<M>]`
/// last in lexical order (apimachinery `version.CompareKubeAwareVersionStrings`).
pub(crate) fn compare_versions(a: &str, b: &str) -> Ordering {
    fn rank(version: &str) -> Option<(u8, u64, u64)> {
        let rest = version.strip_prefix('v')?;
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let major: u64 = rest[..digits_end].parse().ok()?;
        let suffix = &rest[digits_end..];
        if suffix.is_empty() {
            return Some((3, major, 0));
        }
        let (stability, number) = if let Some(number) = suffix.strip_prefix("beta") {
            (2, number)
        } else if let Some(number) = suffix.strip_prefix("alpha") {
            (1, number)
        } else {
            return None;
        };
        Some((stability, major, number.parse().ok()?))
    }
    match (rank(a), rank(b)) {
        (Some(a), Some(b)) => b.cmp(&a),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_sort_ga_first_then_beta_then_alpha() {
        let mut versions = vec![
            "v1alpha1", "v1beta1", "v2", "v1", "v1alpha3", "v1beta2", "foo",
        ];
        versions.sort_by(|a, b| compare_versions(a, b));
        assert_eq!(
            versions,
            vec![
                "v2", "v1", "v1beta2", "v1beta1", "v1alpha3", "v1alpha1", "foo"
            ]
        );
    }

    #[test]
    fn registering_the_same_kind_twice_replaces_it() {
        let mut registry = Registry::default();
        registry
            .register(ResourceType::namespaced(
                "example.com",
                "v1",
                "Widget",
                "widgets",
            ))
            .expect("first registration");
        registry
            .register(
                ResourceType::namespaced("example.com", "v1", "Widget", "widgets").with_status(),
            )
            .expect("second registration");
        assert_eq!(registry.types().len(), 1);
        assert!(registry.types()[0].status_subresource);
    }

    #[test]
    fn a_plural_cannot_serve_two_kinds() {
        let mut registry = Registry::default();
        registry
            .register(ResourceType::namespaced(
                "example.com",
                "v1",
                "Widget",
                "widgets",
            ))
            .expect("first registration");
        let error = registry
            .register(ResourceType::namespaced(
                "example.com",
                "v1",
                "Gadget",
                "widgets",
            ))
            .expect_err("the plural is taken");
        assert!(matches!(error, RegistryError::PluralTaken { .. }));
    }

    #[test]
    fn malformed_types_are_refused() {
        let mut registry = Registry::default();
        for resource in [
            ResourceType::namespaced("example.com", "v1", "Widget", ""),
            ResourceType::namespaced("Example.com", "v1", "Widget", "widgets"),
            ResourceType::namespaced("example.com", "v1", "Wid/get", "widgets"),
            ResourceType::namespaced("example.com", "v1", "Widget", "wid gets"),
        ] {
            assert!(registry.register(resource).is_err());
        }
    }

    #[test]
    fn every_builtin_type_registers_cleanly() {
        let mut registry = Registry::default();
        for resource in builtin_resource_types() {
            registry
                .register(resource)
                .expect("built-in type is well formed");
        }
        assert_eq!(registry.types().len(), builtin_resource_types().len());
    }
}
