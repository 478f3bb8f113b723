//! `AlertProvider` (`flagger.app/v1beta1`): where Canary alerts are sent.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::metric_template::SecretRef;
use crate::status::CanaryCondition;

/// AlertProvider is the Schema for the AlertProvider API.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "flagger.app",
    version = "v1beta1",
    kind = "AlertProvider",
    namespaced,
    status = "AlertProviderStatus",
    category = "all",
    annotation("helm.sh/resource-policy", "keep"),
    doc = "AlertProvider is the Schema for the AlertProvider API.",
    printcolumn(name = "Type", type_ = "string", json_path = ".spec.type")
)]
#[schemars(
    description = "AlertProviderSpec defines the desired state of a AlertProvider.",
    extend("oneOf" = [
        {"required": ["type", "address"]},
        {"required": ["type", "secretRef"]}
    ])
)]
#[serde(rename_all = "camelCase")]
pub struct AlertProviderSpec {
    /// Type of this provider
    #[serde(rename = "type")]
    pub r#type: AlertProviderType,
    /// Alert channel for this provider
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Bot username for this provider
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Hook URL address of this provider
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Http/s proxy of this provider
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// Kubernetes secret reference containing the provider address
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretRef>,
}

/// Chat systems Flagger can post alerts to.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AlertProviderType {
    #[default]
    Slack,
    Msteams,
    Discord,
    Rocket,
    Gchat,
}

impl AlertProviderType {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertProviderType::Slack => "slack",
            AlertProviderType::Msteams => "msteams",
            AlertProviderType::Discord => "discord",
            AlertProviderType::Rocket => "rocket",
            AlertProviderType::Gchat => "gchat",
        }
    }
}

/// Flagger's default alert channel.
pub const DEFAULT_ALERT_CHANNEL: &str = "general";
/// Flagger's default alert username.
pub const DEFAULT_ALERT_USERNAME: &str = "flagger";

/// Status of an AlertProvider (unused by the controller, kept for Flagger parity).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct AlertProviderStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<CanaryCondition>,
}
