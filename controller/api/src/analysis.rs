//! `spec.analysis`: how traffic moves and how each interval is judged.

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::canary::{DEFAULT_INTERVAL, MIN_INTERVAL, TOTAL_WEIGHT, is_false};
use crate::duration::{parse_go_duration, parse_go_duration_nanos};
use crate::number::{number_list_schema, number_schema, optional_whole, whole, whole_list};
use crate::service::{HeaderMatch, StringMatch};

/// Canary analysis for this canary
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("oneOf" = [
    {"required": ["interval", "threshold", "iterations"]},
    {"required": ["interval", "threshold", "stepWeight"]},
    {"required": ["interval", "threshold", "stepWeights"]}
]))]
pub struct CanaryAnalysis {
    /// Schedule interval for this canary
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^[0-9]+(m|s)"))]
    pub interval: Option<String>,
    /// Number of checks to run for A/B Testing and Blue/Green
    #[serde(default, deserialize_with = "whole", skip_serializing_if = "is_zero")]
    #[schemars(schema_with = "number_schema")]
    pub iterations: i32,
    /// Max number of failed checks before rollback
    #[serde(default, deserialize_with = "whole", skip_serializing_if = "is_zero")]
    #[schemars(schema_with = "number_schema")]
    pub threshold: i32,
    /// Max traffic weight routed to canary
    #[serde(default, deserialize_with = "whole", skip_serializing_if = "is_zero")]
    #[schemars(schema_with = "number_schema")]
    pub max_weight: i32,
    /// Incremental traffic step weight for the analysis phase
    #[serde(default, deserialize_with = "whole", skip_serializing_if = "is_zero")]
    #[schemars(schema_with = "number_schema")]
    pub step_weight: i32,
    /// Incremental traffic step weights for the analysis phase
    #[serde(
        default,
        deserialize_with = "whole_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    #[schemars(schema_with = "number_list_schema")]
    pub step_weights: Vec<i32>,
    /// Incremental traffic step weight for the promotion phase
    #[serde(default, deserialize_with = "whole", skip_serializing_if = "is_zero")]
    #[schemars(schema_with = "number_schema")]
    pub step_weight_promotion: i32,
    /// Mirror traffic to canary
    #[serde(default, skip_serializing_if = "is_false")]
    pub mirror: bool,
    /// Weight of traffic to be mirrored
    #[serde(default, deserialize_with = "whole", skip_serializing_if = "is_zero")]
    #[schemars(schema_with = "number_schema")]
    pub mirror_weight: i32,
    /// Percentage of pods that need to be available to consider primary as ready
    #[serde(
        default,
        deserialize_with = "optional_whole",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "number_schema")]
    pub primary_ready_threshold: Option<i32>,
    /// Percentage of pods that need to be available to consider canary as ready
    #[serde(
        default,
        deserialize_with = "optional_whole",
        skip_serializing_if = "Option::is_none"
    )]
    #[schemars(schema_with = "number_schema")]
    pub canary_ready_threshold: Option<i32>,
    /// A/B testing match conditions
    #[serde(default, rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub r#match: Vec<AnalysisMatch>,
    /// Metric check list for this canary
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<CanaryMetric>,
    /// Alert list for this canary analysis
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<CanaryAlert>,
    /// Webhook list for this canary
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<CanaryWebhook>,
    /// SessionAffinity represents the session affinity settings for a canary run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_affinity: Option<SessionAffinity>,
}

fn is_zero(value: &i32) -> bool {
    *value == 0
}

/// An A/B condition: requests matching any item go to the canary.
///
/// Flagger's Go type is Istio's full `HTTPMatchRequest`, but its CRD keeps only
/// these three fields and prunes the rest.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnalysisMatch {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, HeaderMatch>,
    /// Query parameters for matching.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query_params: BTreeMap<String, StringMatch>,
    /// Applicable only when the 'mesh' gateway is included in the service.gateways list
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub source_labels: BTreeMap<String, String>,
}

/// The metric names Flagger evaluates without a template.
pub const BUILTIN_METRICS: [&str; 2] = ["request-success-rate", "request-duration"];

/// Metric check
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CanaryMetric {
    /// Name of the metric
    pub name: String,
    /// Interval of the query
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^[0-9]+(m|s)"))]
    pub interval: Option<String>,
    /// Max value accepted for this metric
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "number_schema")]
    pub threshold: Option<f64>,
    /// Range accepted for this metric
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold_range: Option<ThresholdRange>,
    /// Prometheus query
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// Metric template reference
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_ref: Option<CrossNamespaceRef>,
    /// Additional variables to be used in the metrics query (key-value pairs)
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub template_variables: BTreeMap<String, String>,
}

/// Range accepted for this metric
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct ThresholdRange {
    /// Min value accepted for this metric
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "number_schema")]
    pub min: Option<f64>,
    /// Max value accepted for this metric
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "number_schema")]
    pub max: Option<f64>,
}

/// A reference to an object that may live in another namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
pub struct CrossNamespaceRef {
    /// Name of the referenced object
    pub name: String,
    /// Namespace of the referenced object (defaults to the Canary's)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// How a metric's value is obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricSource<'a> {
    /// A `MetricTemplate` (`templateRef`).
    Template(&'a CrossNamespaceRef),
    /// An inline PromQL `query` (deprecated in Flagger, still supported).
    InlineQuery(&'a str),
    /// `request-success-rate` or `request-duration`, computed from the mesh's metrics.
    Builtin(BuiltinMetric),
}

/// Flagger's two builtin metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BuiltinMetric {
    /// Percentage of non-5xx responses.
    RequestSuccessRate,
    /// P99 latency in milliseconds.
    RequestDuration,
}

impl BuiltinMetric {
    pub fn name(self) -> &'static str {
        match self {
            BuiltinMetric::RequestSuccessRate => "request-success-rate",
            BuiltinMetric::RequestDuration => "request-duration",
        }
    }
}

impl CanaryMetric {
    /// Where the metric's value comes from, or `None` when it has no usable
    /// source (Flagger: "no usable metrics template and query were configured").
    ///
    /// A template wins over an inline query, which wins over a builtin name, so
    /// that a metric named `request-success-rate` with its own query or template
    /// evaluates that query or template rather than the builtin.
    pub fn source(&self) -> Option<MetricSource<'_>> {
        if let Some(template) = &self.template_ref {
            return Some(MetricSource::Template(template));
        }
        if let Some(query) = self
            .query
            .as_deref()
            .filter(|query| !query.trim().is_empty())
        {
            return Some(MetricSource::InlineQuery(query));
        }
        match self.name.as_str() {
            "request-success-rate" => {
                Some(MetricSource::Builtin(BuiltinMetric::RequestSuccessRate))
            }
            "request-duration" => Some(MetricSource::Builtin(BuiltinMetric::RequestDuration)),
            _ => None,
        }
    }

    /// The range a value must stay in, after Flagger's rules: `thresholdRange`
    /// when set; otherwise the legacy `threshold` is a floor for the success
    /// rate and a ceiling for everything else, and an unset threshold is 0
    /// (so a duration or template metric without one fails on any positive
    /// value, as in Flagger).
    pub fn bounds(&self) -> ThresholdRange {
        if let Some(range) = &self.threshold_range {
            return range.clone();
        }
        let threshold = Some(self.threshold.unwrap_or(0.0));
        match self.source() {
            Some(MetricSource::Builtin(BuiltinMetric::RequestSuccessRate)) => ThresholdRange {
                min: threshold,
                max: None,
            },
            _ => ThresholdRange {
                min: None,
                max: threshold,
            },
        }
    }

    /// The metric's query interval. Flagger defaults it to `1m` only for builtin
    /// and inline metrics and leaves templates with an empty `{{ interval }}`
    /// (semantics §18 #8); we default every metric to `1m`.
    pub fn interval_or_default(&self) -> &str {
        self.interval
            .as_deref()
            .filter(|interval| !interval.is_empty())
            .unwrap_or(crate::canary::DEFAULT_METRIC_INTERVAL)
    }
}

/// Alert severities, in Flagger's spelling.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum AlertSeverity {
    /// Allowed by the CRD; Flagger never sends such alerts (semantics §18 #1)
    /// although its docs say the default is info. We treat it as info.
    #[default]
    #[serde(rename = "")]
    Unset,
    #[serde(rename = "info")]
    Info,
    #[serde(rename = "warn")]
    Warn,
    #[serde(rename = "error")]
    Error,
}

impl AlertSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertSeverity::Unset => "",
            AlertSeverity::Info => "info",
            AlertSeverity::Warn => "warn",
            AlertSeverity::Error => "error",
        }
    }

    /// The level an alert subscription receives from: `""` means info.
    pub fn effective(self) -> AlertSeverity {
        match self {
            AlertSeverity::Unset => AlertSeverity::Info,
            other => other,
        }
    }

    fn rank(self) -> u8 {
        match self.effective() {
            AlertSeverity::Unset | AlertSeverity::Info => 0,
            AlertSeverity::Warn => 1,
            AlertSeverity::Error => 2,
        }
    }

    /// Whether an alert subscribed at `self` receives a message of `message` severity:
    /// info receives everything, warn receives warn and error, error only error.
    pub fn receives(self, message: AlertSeverity) -> bool {
        message.rank() >= self.rank()
    }
}

/// Alert
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CanaryAlert {
    /// Name of the this alert
    pub name: String,
    /// Severity level can be info, warn, error (default info)
    #[serde(default)]
    pub severity: AlertSeverity,
    /// Alert provider reference
    pub provider_ref: CrossNamespaceRef,
}

/// The eight webhook types and when they run.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, Hash, JsonSchema)]
pub enum WebhookType {
    /// Empty type: same as `rollout`.
    #[default]
    #[serde(rename = "")]
    Unset,
    #[serde(rename = "confirm-rollout")]
    ConfirmRollout,
    #[serde(rename = "pre-rollout")]
    PreRollout,
    #[serde(rename = "rollout")]
    Rollout,
    #[serde(rename = "confirm-promotion")]
    ConfirmPromotion,
    #[serde(rename = "post-rollout")]
    PostRollout,
    #[serde(rename = "event")]
    Event,
    #[serde(rename = "rollback")]
    Rollback,
    #[serde(rename = "confirm-traffic-increase")]
    ConfirmTrafficIncrease,
}

impl WebhookType {
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookType::Unset => "",
            WebhookType::ConfirmRollout => "confirm-rollout",
            WebhookType::PreRollout => "pre-rollout",
            WebhookType::Rollout => "rollout",
            WebhookType::ConfirmPromotion => "confirm-promotion",
            WebhookType::PostRollout => "post-rollout",
            WebhookType::Event => "event",
            WebhookType::Rollback => "rollback",
            WebhookType::ConfirmTrafficIncrease => "confirm-traffic-increase",
        }
    }

    /// The type after Flagger's defaulting (`""` runs as `rollout`).
    pub fn effective(self) -> WebhookType {
        match self {
            WebhookType::Unset => WebhookType::Rollout,
            other => other,
        }
    }
}

/// Flagger's default webhook timeout.
pub const DEFAULT_WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// Webhook
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CanaryWebhook {
    /// Name of the webhook
    pub name: String,
    /// Type of the webhook pre, post or during rollout
    #[serde(default, rename = "type")]
    pub r#type: WebhookType,
    /// Mute all alerts for the webhook
    #[serde(default, skip_serializing_if = "is_false")]
    pub mute_alert: bool,
    /// URL address of this webhook
    pub url: String,
    /// Request timeout for this webhook
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = "^[0-9]+(m|s)"))]
    pub timeout: Option<String>,
    /// Number of retries for this webhook
    #[serde(default, deserialize_with = "whole", skip_serializing_if = "is_zero")]
    #[schemars(schema_with = "number_schema")]
    pub retries: i32,
    /// Disable TLS verification for this webhook
    #[serde(default, rename = "disableTLS", skip_serializing_if = "is_false")]
    pub disable_tls: bool,
    /// Metadata (key-value pairs) for this webhook
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

impl CanaryWebhook {
    /// Per-attempt timeout. Flagger uses 10s when the string is shorter than two
    /// characters; an unparsable timeout is an error in Flagger (the call fails)
    /// and is reported by `weir validate`.
    pub fn timeout_or_default(&self) -> Result<Duration, crate::duration::DurationError> {
        match self.timeout.as_deref() {
            None => Ok(DEFAULT_WEBHOOK_TIMEOUT),
            Some(timeout) if timeout.len() < 2 => Ok(DEFAULT_WEBHOOK_TIMEOUT),
            Some(timeout) => parse_go_duration(timeout),
        }
    }
}

/// Flagger's default session cookie lifetime: one day.
pub const DEFAULT_COOKIE_MAX_AGE: i32 = 86_400;

fn default_max_age() -> i32 {
    DEFAULT_COOKIE_MAX_AGE
}

/// `SameSite` cookie attribute values.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum SameSite {
    Strict,
    Lax,
    None,
}

/// SessionAffinity represents the session affinity settings for a canary run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionAffinity {
    /// CookieName is the key that will be used for the session affinity cookie.
    pub cookie_name: String,
    /// CookieName is the key that will be used for the session affinity cookie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_cookie_name: Option<String>,
    /// Domain defines the host to which the cookie will be sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// HttpOnly forbids JavaScript from accessing the cookie, for example, through the Document.cookie property.
    #[serde(default, skip_serializing_if = "is_false")]
    pub http_only: bool,
    /// MaxAge indicates the number of seconds until the session affinity cookie will expire.
    #[serde(default = "default_max_age", deserialize_with = "whole")]
    #[schemars(schema_with = "number_schema", extend("default" = 86400))]
    pub max_age: i32,
    /// Partitioned indicates that the cookie should be stored using partitioned storage.
    #[serde(default, skip_serializing_if = "is_false")]
    pub partitioned: bool,
    /// Path indicates the path that must exist in the requested URL for the browser to send the Cookie header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// SameSite controls whether or not a cookie is sent with cross-site requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub same_site: Option<SameSite>,
    /// Secure indicates that the cookie is sent to the server only when a request is made with the https: scheme (except on localhost)
    #[serde(default, skip_serializing_if = "is_false")]
    pub secure: bool,
}

impl Default for SessionAffinity {
    fn default() -> Self {
        SessionAffinity {
            cookie_name: String::new(),
            primary_cookie_name: None,
            domain: None,
            http_only: false,
            max_age: DEFAULT_COOKIE_MAX_AGE,
            partitioned: false,
            path: None,
            same_site: None,
            secure: false,
        }
    }
}

impl CanaryAnalysis {
    /// The tick period, with Flagger's rules: unparsable → 60s, below 10s → 10s.
    pub fn interval_or_default(&self) -> Duration {
        let Some(interval) = self.interval.as_deref() else {
            return DEFAULT_INTERVAL;
        };
        match parse_go_duration_nanos(interval) {
            Ok(nanos) => {
                let nanos = u64::try_from(nanos.max(0)).unwrap_or(u64::MAX);
                Duration::from_nanos(nanos).max(MIN_INTERVAL)
            }
            Err(_) => DEFAULT_INTERVAL,
        }
    }

    /// Failed checks before rollback; Flagger treats anything below 1 as 1.
    pub fn threshold_or_default(&self) -> i32 {
        self.threshold.max(1)
    }

    /// The weight at which the canary is promoted (`maxWeight(cd)`): the last
    /// step of a ladder (capped at 100), else `maxWeight`, else 100.
    pub fn max_weight_or_default(&self) -> i32 {
        if let Some(last) = self.step_weights.last() {
            return (*last).min(TOTAL_WEIGHT);
        }
        if self.max_weight > 0 {
            self.max_weight
        } else {
            TOTAL_WEIGHT
        }
    }

    /// Flagger's `nextStepWeight(canaryWeight)`: the increment from the current
    /// canary weight to the next step of the linear ramp or the ladder.
    pub fn next_step_weight(&self, canary_weight: i32) -> i32 {
        if self.step_weight > 0 || self.step_weights.is_empty() {
            return self.step_weight;
        }
        let max_step = TOTAL_WEIGHT - canary_weight;
        // At 100% the only way forward is promotion; any positive step gets there.
        if max_step == 0 {
            return 1;
        }
        if canary_weight == 0 {
            return max_step.min(self.step_weights[0]);
        }
        for pair in self.step_weights.windows(2) {
            if pair[0] == canary_weight {
                return max_step.min(pair[1] - canary_weight);
            }
        }
        max_step
    }

    /// `primaryReadyThreshold`, defaulting to 100%.
    pub fn primary_ready_threshold_or_default(&self) -> i32 {
        self.primary_ready_threshold.unwrap_or(100)
    }

    /// `canaryReadyThreshold`, defaulting to 100%.
    pub fn canary_ready_threshold_or_default(&self) -> i32 {
        self.canary_ready_threshold.unwrap_or(100)
    }

    /// Webhooks of one type, in spec order (`""` counts as `rollout`).
    pub fn webhooks_of(&self, kind: WebhookType) -> impl Iterator<Item = &CanaryWebhook> {
        self.webhooks
            .iter()
            .filter(move |hook| hook.r#type.effective() == kind.effective())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ladder(steps: &[i32]) -> CanaryAnalysis {
        CanaryAnalysis {
            step_weights: steps.to_vec(),
            ..CanaryAnalysis::default()
        }
    }

    #[test]
    fn interval_follows_flaggers_defaults() {
        let with = |interval: &str| CanaryAnalysis {
            interval: Some(interval.to_owned()),
            ..CanaryAnalysis::default()
        };
        assert_eq!(
            CanaryAnalysis::default().interval_or_default(),
            Duration::from_secs(60)
        );
        assert_eq!(with("2m").interval_or_default(), Duration::from_secs(120));
        assert_eq!(with("5s").interval_or_default(), Duration::from_secs(10));
        assert_eq!(with("-1s").interval_or_default(), Duration::from_secs(10));
        assert_eq!(with("5sec").interval_or_default(), Duration::from_secs(60));
    }

    #[test]
    fn threshold_below_one_counts_as_one() {
        assert_eq!(CanaryAnalysis::default().threshold_or_default(), 1);
        let analysis = CanaryAnalysis {
            threshold: 5,
            ..CanaryAnalysis::default()
        };
        assert_eq!(analysis.threshold_or_default(), 5);
    }

    #[test]
    fn ladder_steps_move_from_rung_to_rung() {
        let analysis = ladder(&[5, 10, 25, 50]);
        assert_eq!(analysis.max_weight_or_default(), 50);
        assert_eq!(analysis.next_step_weight(0), 5);
        assert_eq!(analysis.next_step_weight(5), 5);
        assert_eq!(analysis.next_step_weight(10), 15);
        assert_eq!(analysis.next_step_weight(25), 25);
        // Off the ladder (a weight set by hand): jump to 100.
        assert_eq!(analysis.next_step_weight(30), 70);
    }

    #[test]
    fn ladder_above_100_is_capped() {
        let analysis = ladder(&[50, 120]);
        assert_eq!(analysis.max_weight_or_default(), 100);
        assert_eq!(analysis.next_step_weight(50), 50);
        assert_eq!(analysis.next_step_weight(100), 1);
    }

    #[test]
    fn linear_step_is_constant() {
        let analysis = CanaryAnalysis {
            step_weight: 20,
            max_weight: 50,
            ..CanaryAnalysis::default()
        };
        assert_eq!(analysis.max_weight_or_default(), 50);
        assert_eq!(analysis.next_step_weight(40), 20);
    }

    #[test]
    fn alert_subscriptions_receive_their_level_and_above() {
        use AlertSeverity::*;
        assert!(
            Unset.receives(Info),
            "an alert without severity behaves as info"
        );
        assert!(Info.receives(Error));
        assert!(Warn.receives(Error) && Warn.receives(Warn) && !Warn.receives(Info));
        assert!(Error.receives(Error) && !Error.receives(Warn));
    }

    #[test]
    fn metric_source_prefers_template_then_query_then_builtin() {
        let mut metric = CanaryMetric {
            name: "request-success-rate".into(),
            ..CanaryMetric::default()
        };
        assert_eq!(
            metric.source(),
            Some(MetricSource::Builtin(BuiltinMetric::RequestSuccessRate))
        );
        metric.query = Some("sum(up)".into());
        assert_eq!(metric.source(), Some(MetricSource::InlineQuery("sum(up)")));
        metric.template_ref = Some(CrossNamespaceRef {
            name: "errors".into(),
            namespace: None,
        });
        assert!(matches!(metric.source(), Some(MetricSource::Template(_))));
        let unusable = CanaryMetric {
            name: "latency".into(),
            ..CanaryMetric::default()
        };
        assert_eq!(unusable.source(), None);
    }
}
