//! `MetricTemplate` (`flagger.app/v1beta1`): a reusable query against a metrics provider.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::canary::is_false;
use crate::status::CanaryCondition;

/// MetricTemplate is the Schema for the MetricTemplates API.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "flagger.app",
    version = "v1beta1",
    kind = "MetricTemplate",
    namespaced,
    status = "MetricTemplateStatus",
    category = "all",
    annotation("helm.sh/resource-policy", "keep"),
    doc = "MetricTemplate is the Schema for the MetricTemplates API.",
    printcolumn(name = "Provider", type_ = "string", json_path = ".spec.provider.type")
)]
#[schemars(description = "MetricTemplateSpec defines the desired state of a MetricTemplate.")]
pub struct MetricTemplateSpec {
    /// Provider of this metric template
    pub provider: MetricProvider,
    /// Query of this metric template
    pub query: String,
}

/// The metrics backends Flagger can query.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MetricProviderType {
    #[default]
    Prometheus,
    Influxdb,
    Datadog,
    Externalmetrics,
    Stackdriver,
    Cloudwatch,
    Newrelic,
    Graphite,
    Dynatrace,
    Keptn,
    Splunk,
}

impl MetricProviderType {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricProviderType::Prometheus => "prometheus",
            MetricProviderType::Influxdb => "influxdb",
            MetricProviderType::Datadog => "datadog",
            MetricProviderType::Externalmetrics => "externalmetrics",
            MetricProviderType::Stackdriver => "stackdriver",
            MetricProviderType::Cloudwatch => "cloudwatch",
            MetricProviderType::Newrelic => "newrelic",
            MetricProviderType::Graphite => "graphite",
            MetricProviderType::Dynatrace => "dynatrace",
            MetricProviderType::Keptn => "keptn",
            MetricProviderType::Splunk => "splunk",
        }
    }

    /// Secret keys the provider cannot work without, if it needs a secret at all.
    pub fn required_secret_keys(self) -> &'static [&'static str] {
        match self {
            MetricProviderType::Datadog => &["datadog_api_key", "datadog_application_key"],
            MetricProviderType::Newrelic => &["newrelic_account_id", "newrelic_query_key"],
            MetricProviderType::Dynatrace => &["dynatrace_token"],
            MetricProviderType::Splunk => &["sf_token_key"],
            _ => &[],
        }
    }
}

/// Provider of this metric template
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricProvider {
    /// Type of this provider
    #[serde(rename = "type")]
    pub r#type: MetricProviderType,
    /// API address of this provider
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Headers to add to HTTP(S) requests
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Vec<String>>,
    /// Kubernetes secret reference containing the provider credentials
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretRef>,
    /// Region of the provider
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Disable SSL certificate validation for the provider address
    #[serde(default, skip_serializing_if = "is_false")]
    pub insecure_skip_verify: bool,
}

/// A Secret in the referencing object's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct SecretRef {
    /// Name of the Kubernetes secret
    pub name: String,
}

/// Status of a MetricTemplate (unused by the controller, kept for Flagger parity).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct MetricTemplateStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<CanaryCondition>,
}
