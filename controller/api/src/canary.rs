//! `Canary` (`flagger.app/v1beta1`): what to release and how to judge it.
//!
//! Field names, types and defaults follow Flagger v1.44's CRD
//! (`artifacts/flagger/crd.yaml`) so that existing manifests work unchanged.
//! The accessors at the bottom apply Flagger's defaults (`GetAnalysisInterval`
//! and friends); code that makes decisions uses them rather than raw fields.

use std::collections::BTreeMap;
use std::time::Duration;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::analysis::CanaryAnalysis;
use crate::number::{number_schema, optional_whole};
use crate::provider::Provider;
use crate::service::CanaryService;
use crate::status::CanaryStatus;

/// Canary is the Schema for the Canary API.
// Clippy mistakes the repeated `printcolumn(type_ = ...)` arguments for duplicated attributes.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "flagger.app",
    version = "v1beta1",
    kind = "Canary",
    namespaced,
    status = "CanaryStatus",
    category = "all",
    annotation("helm.sh/resource-policy", "keep"),
    doc = "Canary is the Schema for the Canary API.",
    printcolumn(name = "Status", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Weight", type_ = "string", json_path = ".status.canaryWeight"),
    printcolumn(
        name = "Suspended",
        type_ = "boolean",
        json_path = ".spec.suspend",
        priority = 1
    ),
    printcolumn(
        name = "FailedChecks",
        type_ = "string",
        json_path = ".status.failedChecks",
        priority = 1
    ),
    printcolumn(
        name = "Interval",
        type_ = "string",
        json_path = ".spec.analysis.interval",
        priority = 1
    ),
    printcolumn(
        name = "Mirror",
        type_ = "boolean",
        json_path = ".spec.analysis.mirror",
        priority = 1
    ),
    printcolumn(
        name = "StepWeight",
        type_ = "string",
        json_path = ".spec.analysis.stepWeight",
        priority = 1
    ),
    printcolumn(
        name = "StepWeights",
        type_ = "string",
        json_path = ".spec.analysis.stepWeights",
        priority = 1
    ),
    printcolumn(
        name = "MaxWeight",
        type_ = "string",
        json_path = ".spec.analysis.maxWeight",
        priority = 1
    ),
    printcolumn(
        name = "LastTransitionTime",
        type_ = "string",
        json_path = ".status.lastTransitionTime"
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(description = "CanarySpec defines the desired state of a Canary.")]
pub struct CanarySpec {
    /// Traffic managent provider
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<Provider>,

    /// Prometheus URL
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics_server: Option<String>,

    /// Deployment progress deadline
    #[serde(
        default,
        deserialize_with = "optional_whole",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "number_schema")]
    pub progress_deadline_seconds: Option<i32>,

    /// Target selector
    pub target_ref: TargetRef,

    /// Scaler selector
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaler_ref: Option<AutoscalerRef>,

    /// Ingress selector
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_ref: Option<IngressRef>,

    /// APISIX route selector
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_ref: Option<RouteRef>,

    /// Gloo Upstream selector
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream_ref: Option<UpstreamRef>,

    /// Kubernetes Service spec
    #[serde(default)]
    pub service: CanaryService,

    /// Skip analysis and promote canary
    #[serde(default, skip_serializing_if = "is_false")]
    pub skip_analysis: bool,

    /// Revert mutated resources to original spec on deletion
    #[serde(default, skip_serializing_if = "is_false")]
    pub revert_on_deletion: bool,

    /// Suspend Canary disabling/pausing all canary runs
    #[serde(default, skip_serializing_if = "is_false")]
    pub suspend: bool,

    /// Canary analysis for this canary
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<CanaryAnalysis>,
}

pub(crate) fn is_false(value: &bool) -> bool {
    !*value
}

/// Kinds of workload a Canary can target.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum TargetKind {
    DaemonSet,
    #[default]
    Deployment,
    Service,
}

impl TargetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::DaemonSet => "DaemonSet",
            TargetKind::Deployment => "Deployment",
            TargetKind::Service => "Service",
        }
    }
}

/// Kinds of autoscaler Flagger can mirror for the primary.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum AutoscalerKind {
    #[default]
    HorizontalPodAutoscaler,
    ScaledObject,
}

/// The only kind `ingressRef` accepts.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum IngressKind {
    #[default]
    Ingress,
}

/// The only kind `routeRef` accepts.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum RouteKind {
    #[default]
    ApisixRoute,
}

/// The only kind `upstreamRef` accepts.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum UpstreamKind {
    #[default]
    Upstream,
}

/// A reference to an object in the Canary's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef<K> {
    pub api_version: String,
    pub kind: K,
    pub name: String,
}

pub type TargetRef = ObjectRef<TargetKind>;
pub type IngressRef = ObjectRef<IngressKind>;
pub type RouteRef = ObjectRef<RouteKind>;

/// Scaler selector.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoscalerRef {
    pub api_version: String,
    pub kind: AutoscalerKind,
    pub name: String,
    /// KEDA trigger queries for the primary ScaledObject, by trigger name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub primary_scaler_queries: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_scaler_replicas: Option<ScalerReplicas>,
}

/// Replica bounds for the primary scaler.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScalerReplicas {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub min_replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_replicas: Option<i32>,
}

/// Gloo Upstream selector (may live in another namespace).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpstreamRef {
    pub api_version: String,
    pub kind: UpstreamKind,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// How a Canary releases: derived from the analysis like Flagger's `DeploymentStrategy()`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// Progressive traffic shifting (`stepWeight` or `stepWeights`).
    Canary,
    /// `iterations` with `match`: matching requests go to the canary.
    AbTesting,
    /// `iterations` without `match`: all traffic switches after the analysis.
    BlueGreen,
}

impl Strategy {
    /// The label value Flagger uses in `flagger_canary_*_total{deployment_strategy}`.
    pub fn as_str(self) -> &'static str {
        match self {
            Strategy::Canary => "canary",
            Strategy::AbTesting => "ab-testing",
            Strategy::BlueGreen => "blue-green",
        }
    }
}

/// Flagger's default analysis interval (`GetAnalysisInterval`).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// Flagger never ticks a canary more often than this.
pub const MIN_INTERVAL: Duration = Duration::from_secs(10);
/// Flagger's default `progressDeadlineSeconds`.
pub const DEFAULT_PROGRESS_DEADLINE_SECONDS: i32 = 600;
/// Default `interval` of builtin and inline-query metrics.
pub const DEFAULT_METRIC_INTERVAL: &str = "1m";
/// Traffic is split in percent.
pub const TOTAL_WEIGHT: i32 = 100;

/// Names of the three services (and router objects) Flagger derives from a Canary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceNames {
    /// `spec.service.name`, or the target name.
    pub apex: String,
    pub primary: String,
    pub canary: String,
}

impl Canary {
    /// `metadata.name`, empty if unset.
    pub fn name(&self) -> &str {
        self.metadata.name.as_deref().unwrap_or_default()
    }

    /// `metadata.namespace`, empty if unset.
    pub fn namespace(&self) -> &str {
        self.metadata.namespace.as_deref().unwrap_or_default()
    }

    /// The status, or the empty status of a Canary that has never been reconciled.
    pub fn status_or_default(&self) -> CanaryStatus {
        self.status.clone().unwrap_or_default()
    }
}

impl CanarySpec {
    /// The analysis block; absent analysis means "promote without analysis".
    pub fn analysis(&self) -> &CanaryAnalysis {
        static EMPTY: std::sync::OnceLock<CanaryAnalysis> = std::sync::OnceLock::new();
        self.analysis
            .as_ref()
            .unwrap_or_else(|| EMPTY.get_or_init(CanaryAnalysis::default))
    }

    /// Flagger's `SkipAnalysis()`: explicit, or implied by a missing analysis.
    pub fn skips_analysis(&self) -> bool {
        self.skip_analysis || self.analysis.is_none()
    }

    /// Service, primary and canary names (`GetServiceNames`).
    pub fn service_names(&self) -> ServiceNames {
        let apex = self
            .service
            .name
            .clone()
            .filter(|name| !name.is_empty())
            .unwrap_or_else(|| self.target_ref.name.clone());
        ServiceNames {
            primary: format!("{apex}-primary"),
            canary: format!("{apex}-canary"),
            apex,
        }
    }

    /// The primary workload is named after the target, not the service.
    pub fn primary_workload_name(&self) -> String {
        format!("{}-primary", self.target_ref.name)
    }

    /// `progressDeadlineSeconds`, defaulting to 600.
    pub fn progress_deadline(&self) -> Duration {
        let seconds = self
            .progress_deadline_seconds
            .unwrap_or(DEFAULT_PROGRESS_DEADLINE_SECONDS);
        Duration::from_secs(u64::try_from(seconds.max(0)).unwrap_or_default())
    }

    /// The provider name whose queries measure the builtin metrics (Flagger's
    /// observer selection, semantics §8.3): the Canary's provider, or the
    /// global `mesh_provider`; a global linkerd mesh measures every canary
    /// with linkerd's metrics; Service targets append `:service`. The name
    /// also appears in "no values found" events.
    pub fn builtin_metrics_provider(&self, mesh_provider: crate::Provider) -> String {
        let mut provider = match self.provider {
            Some(_) if mesh_provider == crate::Provider::Linkerd => "linkerd".to_owned(),
            Some(provider) => provider.as_str().to_owned(),
            None => mesh_provider.as_str().to_owned(),
        };
        if self.target_ref.kind == TargetKind::Service {
            provider.push_str(":service");
        }
        provider
    }

    /// The strategy Flagger derives from the analysis (`DeploymentStrategy()`).
    pub fn strategy(&self) -> Strategy {
        let analysis = self.analysis();
        if analysis.iterations > 0 && !analysis.r#match.is_empty() {
            Strategy::AbTesting
        } else if analysis.iterations > 0 {
            Strategy::BlueGreen
        } else {
            Strategy::Canary
        }
    }
}
