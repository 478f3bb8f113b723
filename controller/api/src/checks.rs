//! Semantic checks: problems the API server cannot see in a manifest.
//!
//! The CRD schema catches wrong types, unknown enum values and missing fields.
//! Everything else that makes a Canary misbehave (durations Go cannot parse,
//! weights that never reach promotion, a metric without a query, ...) is found
//! here. Flagger silently tolerates most of these; `weir validate` reports them
//! with the field, the problem and the fix, and the engine refuses to run a
//! Canary with a [`Finding::blocks_engine`] finding, as Flagger's
//! `verifyCanary` does for its own (smaller) list.
//!
//! Every finding has a stable `code`, so that tools and tests can match on it.

use std::collections::BTreeSet;
use std::fmt;

use crate::analysis::{AlertSeverity, CanaryMetric, MetricSource, WebhookType};
use crate::canary::{MIN_INTERVAL, Strategy, TargetKind};
use crate::duration::{DurationError, parse_go_duration, parse_go_duration_nanos};
use crate::metric_template::MetricProviderType;
use crate::{AlertProvider, Canary, MetricTemplate, Provider};

/// How serious a finding is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Valid, but probably not what the author meant.
    Warning,
    /// The manifest is wrong: rejected, ignored or misread at run time.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// One step of a path into a manifest.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathSegment {
    Field(String),
    Index(usize),
}

/// A path into a manifest, such as `spec.analysis.metrics[0].interval`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath(pub Vec<PathSegment>);

impl FieldPath {
    /// Parses `spec.analysis.metrics[0].interval`.
    pub fn parse(text: &str) -> FieldPath {
        let mut segments = Vec::new();
        for part in text.split('.').filter(|part| !part.is_empty()) {
            let mut rest = part;
            if let Some(open) = rest.find('[') {
                if open > 0 {
                    segments.push(PathSegment::Field(rest[..open].to_owned()));
                }
                rest = &rest[open..];
                while let Some(close) = rest.find(']') {
                    if let Ok(index) = rest[1..close].parse() {
                        segments.push(PathSegment::Index(index));
                    }
                    rest = &rest[close + 1..];
                }
            } else {
                segments.push(PathSegment::Field(rest.to_owned()));
            }
        }
        FieldPath(segments)
    }

    pub fn field(&self, name: &str) -> FieldPath {
        let mut segments = self.0.clone();
        segments.push(PathSegment::Field(name.to_owned()));
        FieldPath(segments)
    }

    pub fn index(&self, index: usize) -> FieldPath {
        let mut segments = self.0.clone();
        segments.push(PathSegment::Index(index));
        FieldPath(segments)
    }

    /// The path without its last segment.
    pub fn parent(&self) -> Option<FieldPath> {
        let mut segments = self.0.clone();
        segments.pop().map(|_| FieldPath(segments))
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                PathSegment::Field(name) if position == 0 => f.write_str(name)?,
                PathSegment::Field(name) => write!(f, ".{name}")?,
                PathSegment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A problem in a manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    pub severity: Severity,
    /// Stable identifier, e.g. `analysis.interval-floor`.
    pub code: &'static str,
    /// The field the problem is about.
    pub path: FieldPath,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

/// Codes the engine refuses to run with: the Canary would fail or hang in a
/// way no user wants (Flagger's `verifyCanary` refuses a subset of these).
const ENGINE_BLOCKING: &[&str] = &[
    "analysis.strategy",
    "analysis.step-weight",
    "analysis.step-weights",
    "analysis.iterations",
    "session-affinity.cookie-names",
    "session-affinity.cookie-name",
    "target.knative",
    "service.port",
    "service.gateway-refs",
    "service.delegation",
    "metric.source",
    "metric.threshold-range",
];

impl Finding {
    fn new(severity: Severity, code: &'static str, path: FieldPath, message: String) -> Finding {
        Finding {
            severity,
            code,
            path,
            message,
            help: None,
        }
    }

    fn with_help(&mut self, help: impl Into<String>) {
        self.help = Some(help.into());
    }

    /// Whether the engine refuses to run a Canary with this finding.
    pub fn blocks_engine(&self) -> bool {
        self.severity == Severity::Error && ENGINE_BLOCKING.contains(&self.code)
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)?;
        if let Some(help) = &self.help {
            write!(f, " ({help})")?;
        }
        Ok(())
    }
}

/// What the checks need to know beyond the manifest.
#[derive(Clone, Copy, Debug)]
pub struct CheckContext {
    /// The controller's `-mesh-provider`, used when `spec.provider` is unset.
    pub mesh_provider: Provider,
}

impl Default for CheckContext {
    fn default() -> Self {
        // Flagger's default `-mesh-provider`.
        CheckContext {
            mesh_provider: Provider::Istio,
        }
    }
}

struct Findings(Vec<Finding>);

impl Findings {
    fn error(
        &mut self,
        code: &'static str,
        path: FieldPath,
        message: impl Into<String>,
    ) -> &mut Finding {
        self.push(Finding::new(Severity::Error, code, path, message.into()))
    }

    fn warning(
        &mut self,
        code: &'static str,
        path: FieldPath,
        message: impl Into<String>,
    ) -> &mut Finding {
        self.push(Finding::new(Severity::Warning, code, path, message.into()))
    }

    fn push(&mut self, finding: Finding) -> &mut Finding {
        self.0.push(finding);
        let last = self.0.len() - 1;
        &mut self.0[last]
    }
}

fn path(text: &str) -> FieldPath {
    FieldPath::parse(text)
}

fn duration_help(error: &DurationError) -> &'static str {
    match error {
        DurationError::MissingUnit { .. } | DurationError::UnknownUnit { .. } => {
            "Go durations use the units ns, us, ms, s, m and h, e.g. `30s`, `1m` or `1m30s`"
        }
        _ => "write a Go duration such as `30s`, `1m` or `1m30s`",
    }
}

/// Checks a Canary. Findings are sorted by path.
pub fn check_canary(canary: &Canary, context: &CheckContext) -> Vec<Finding> {
    let mut findings = Findings(Vec::new());
    let spec = &canary.spec;
    let provider = spec.provider.unwrap_or(context.mesh_provider);

    if spec
        .progress_deadline_seconds
        .is_some_and(|seconds| seconds <= 0)
    {
        findings
            .error(
                "spec.progress-deadline",
                path("spec.progressDeadlineSeconds"),
                "must be a positive number of seconds",
            )
            .with_help("remove it to use Flagger's default of 600 seconds");
    }

    check_target(canary, provider, &mut findings);
    check_service(canary, provider, &mut findings);
    if let Some(analysis) = &spec.analysis {
        check_analysis(canary, analysis, provider, &mut findings);
    }
    if let Some(replicas) = spec
        .autoscaler_ref
        .as_ref()
        .and_then(|autoscaler| autoscaler.primary_scaler_replicas.as_ref())
        && let (Some(min), Some(max)) = (replicas.min_replicas, replicas.max_replicas)
        && min > max
    {
        findings
            .error(
                "autoscaler.replicas",
                path("spec.autoscalerRef.primaryScalerReplicas"),
                format!("minReplicas ({min}) is greater than maxReplicas ({max})"),
            )
            .with_help("swap the values or raise maxReplicas");
    }

    let mut findings = findings.0;
    findings.sort_by(|a, b| a.path.cmp(&b.path).then(b.severity.cmp(&a.severity)));
    findings
}

fn check_target(canary: &Canary, provider: Provider, findings: &mut Findings) {
    let spec = &canary.spec;
    let is_knative_service = spec.target_ref.kind == TargetKind::Service
        && spec.target_ref.api_version == "serving.knative.dev/v1";
    if provider == Provider::Knative && !is_knative_service {
        findings
            .error(
                "target.knative",
                path("spec.targetRef"),
                "the knative provider needs a Knative Service target",
            )
            .with_help("set targetRef to `apiVersion: serving.knative.dev/v1`, `kind: Service`");
    }
    if provider != Provider::Knative && is_knative_service {
        findings
            .error(
                "target.knative",
                path("spec.provider"),
                "a Knative Service target needs `provider: knative`",
            )
            .with_help("set `spec.provider: knative`");
    }
    if provider == Provider::Knative && spec.autoscaler_ref.is_some() {
        findings
            .error(
                "target.knative",
                path("spec.autoscalerRef"),
                "Knative Services scale themselves; autoscalerRef is not supported with the knative provider",
            )
            .with_help("remove autoscalerRef");
    }
}

fn check_service(canary: &Canary, provider: Provider, findings: &mut Findings) {
    let service = &canary.spec.service;
    if !(1..=65535).contains(&service.port) {
        let message = if service.port == 0 {
            "is required: the port the apex, primary and canary Services expose".to_owned()
        } else {
            format!("{} is not a valid port", service.port)
        };
        findings
            .error("service.port", path("spec.service.port"), message)
            .with_help("set a port between 1 and 65535, e.g. `port: 80`");
    }
    if matches!(
        provider,
        Provider::GatewayApiV1 | Provider::GatewayApiV1beta1
    ) && service.gateway_refs.is_empty()
    {
        findings
            .error(
                "service.gateway-refs",
                path("spec.service.gatewayRefs"),
                format!("the {provider} provider routes through an HTTPRoute, which needs at least one parent Gateway"),
            )
            .with_help("add `gatewayRefs: [{name: <gateway>, namespace: <namespace>}]`");
    }
    if service.delegation && (!service.hosts.is_empty() || !service.gateways.is_empty()) {
        findings
            .error(
                "service.delegation",
                path("spec.service.delegation"),
                "a delegate VirtualService cannot have hosts or gateways",
            )
            .with_help("remove `hosts` and `gateways`, or set `delegation: false`");
    }
    if provider == Provider::Istio
        && !service.gateways.is_empty()
        && !service.gateways.iter().any(|gateway| gateway == "mesh")
    {
        findings
            .warning(
                "service.gateways-without-mesh",
                path("spec.service.gateways"),
                "the gateways do not include `mesh`, so traffic from inside the mesh bypasses the VirtualService and the canary",
            )
            .with_help("add `mesh` to the list if in-mesh clients should take part in the analysis");
    }
    if let Some(timeout) = &service.timeout
        && let Err(error) = parse_go_duration(timeout)
    {
        findings
            .error(
                "service.timeout",
                path("spec.service.timeout"),
                error.to_string(),
            )
            .with_help(duration_help(&error));
    }
}

fn check_analysis(
    canary: &Canary,
    analysis: &crate::CanaryAnalysis,
    provider: Provider,
    findings: &mut Findings,
) {
    let spec = &canary.spec;
    let base = path("spec.analysis");

    // Interval: Go's parser, and Flagger's 10 s floor.
    match analysis.interval.as_deref() {
        None => {}
        Some(interval) => match parse_go_duration_nanos(interval) {
            Err(error) => {
                findings
                    .error(
                        "analysis.interval",
                        base.field("interval"),
                        format!("{error}; Flagger silently falls back to 60s"),
                    )
                    .with_help(duration_help(&error));
            }
            Ok(nanos) if nanos < 0 => {
                findings
                    .error(
                        "analysis.interval",
                        base.field("interval"),
                        format!("`{interval}` is negative"),
                    )
                    .with_help("use a positive duration such as `1m`");
            }
            Ok(nanos) if nanos < i128::from(MIN_INTERVAL.as_secs()) * 1_000_000_000 => {
                findings
                    .error(
                        "analysis.interval-floor",
                        base.field("interval"),
                        format!("`{interval}` is below the 10s minimum; the analysis would run every 10s, not every {interval}"),
                    )
                    .with_help("set `interval: 10s` or more");
            }
            Ok(_) => {}
        },
    }

    // Exactly one way of moving traffic.
    let mut ways = Vec::new();
    if analysis.iterations > 0 {
        ways.push("iterations");
    }
    if analysis.step_weight > 0 {
        ways.push("stepWeight");
    }
    if !analysis.step_weights.is_empty() {
        ways.push("stepWeights");
    }
    match ways.as_slice() {
        [] => {
            findings
                .error(
                    "analysis.strategy",
                    base.clone(),
                    "sets none of `iterations`, `stepWeight` or `stepWeights`, so traffic never moves and the canary is never promoted",
                )
                .with_help("add `stepWeight` (and `maxWeight`) for a progressive canary, `stepWeights: [5, 10, 25, 50]` for a ladder, or `iterations` for blue/green and A/B testing");
        }
        [_] => {}
        several => {
            findings
                .error(
                    "analysis.strategy",
                    base.field(several[1]),
                    format!("`{}` cannot be combined with `{}`; the CRD accepts exactly one of `iterations`, `stepWeight` and `stepWeights`", several[1], several[0]),
                )
                .with_help(format!("keep only `{}` or `{}`", several[0], several[1]));
        }
    }

    if analysis.threshold < 1 {
        findings
            .warning(
                "analysis.threshold",
                base.field("threshold"),
                format!(
                    "{} means 1: the first failed check rolls back",
                    analysis.threshold
                ),
            )
            .with_help("set `threshold` to the number of failed checks you tolerate, e.g. 5");
    }
    if analysis.iterations < 0 {
        findings
            .error(
                "analysis.iterations",
                base.field("iterations"),
                "cannot be negative",
            )
            .with_help("set the number of analysis intervals, e.g. `iterations: 10`");
    }
    if !(0..=100).contains(&analysis.step_weight) {
        findings
            .error(
                "analysis.step-weight",
                base.field("stepWeight"),
                format!("{} is not a percentage of traffic", analysis.step_weight),
            )
            .with_help("use a step between 1 and 100, e.g. `stepWeight: 10`");
    }
    if !(0..=100).contains(&analysis.max_weight) {
        findings
            .error(
                "analysis.max-weight",
                base.field("maxWeight"),
                format!("{} is not a percentage of traffic", analysis.max_weight),
            )
            .with_help("use a weight between 1 and 100, e.g. `maxWeight: 50`");
    }
    if analysis.max_weight > 0 && !analysis.step_weights.is_empty() {
        findings
            .warning(
                "analysis.max-weight-ignored",
                base.field("maxWeight"),
                "is ignored with `stepWeights`: the last step is the maximum weight",
            )
            .with_help("remove `maxWeight`");
    }
    if analysis.max_weight > 0 && analysis.iterations > 0 {
        findings
            .warning(
                "analysis.max-weight-ignored",
                base.field("maxWeight"),
                "is ignored with `iterations`: blue/green and A/B testing do not shift weights",
            )
            .with_help("remove `maxWeight`");
    }
    let max_weight = analysis.max_weight_or_default();
    if analysis.step_weight > 0
        && analysis.step_weights.is_empty()
        && (1..=100).contains(&max_weight)
        && max_weight % analysis.step_weight != 0
    {
        let last_full = max_weight / analysis.step_weight * analysis.step_weight;
        findings
            .warning(
                "analysis.step-overshoot",
                base.field("stepWeight"),
                format!(
                    "{} does not divide maxWeight {max_weight}: the last step goes from {last_full}% to {max_weight}% (Flagger would overshoot to {}%)",
                    analysis.step_weight,
                    last_full + analysis.step_weight
                ),
            )
            .with_help("choose a stepWeight that divides maxWeight, or use `stepWeights`");
    }

    let mut previous = 0;
    for (index, &step) in analysis.step_weights.iter().enumerate() {
        let at = base.field("stepWeights").index(index);
        if step <= 0 || step > 100 {
            findings
                .error("analysis.step-weights", at, format!("{step} is not a percentage of traffic between 1 and 100"))
                .with_help("every step is the canary's weight in percent, e.g. `stepWeights: [5, 10, 25, 50]`");
        } else if step <= previous {
            findings
                .error(
                    "analysis.step-weights",
                    at,
                    format!("{step} does not increase on the previous step {previous}"),
                )
                .with_help("list the weights in strictly increasing order");
        }
        previous = previous.max(step);
    }

    if !(0..=100).contains(&analysis.step_weight_promotion) {
        findings
            .error(
                "analysis.step-weight-promotion",
                base.field("stepWeightPromotion"),
                format!(
                    "{} is not a percentage of traffic",
                    analysis.step_weight_promotion
                ),
            )
            .with_help("use a step between 1 and 100, or remove it to switch all traffic at once");
    }
    if !(0..=100).contains(&analysis.mirror_weight) {
        findings
            .error(
                "analysis.mirror-weight",
                base.field("mirrorWeight"),
                format!("{} is not a percentage of traffic", analysis.mirror_weight),
            )
            .with_help("use a percentage between 1 and 100");
    } else if analysis.mirror_weight > 0 && !analysis.mirror {
        findings
            .warning(
                "analysis.mirror-weight",
                base.field("mirrorWeight"),
                "has no effect without `mirror: true`",
            )
            .with_help("set `mirror: true` or remove `mirrorWeight`");
    }
    for (field, value) in [
        ("primaryReadyThreshold", analysis.primary_ready_threshold),
        ("canaryReadyThreshold", analysis.canary_ready_threshold),
    ] {
        if let Some(value) = value.filter(|value| !(0..=100).contains(value)) {
            findings
                .error(
                    "analysis.ready-threshold",
                    base.field(field),
                    format!("{value} is not a percentage of replicas"),
                )
                .with_help("use a percentage between 0 and 100 (default 100)");
        }
    }

    let strategy = spec.strategy();
    if analysis.mirror {
        if strategy == Strategy::AbTesting {
            findings
                .warning(
                    "analysis.mirror",
                    base.field("mirror"),
                    "is ignored by A/B testing",
                )
                .with_help("remove `mirror`, or remove `match` for blue/green with mirroring");
        } else if strategy == Strategy::Canary
            && provider.supports_mirroring()
            && !provider.mirrors_progressive_canaries()
        {
            findings
                .warning(
                    "analysis.mirror",
                    base.field("mirror"),
                    format!("the {provider} provider mirrors traffic only in blue/green (with `iterations`); weir skips the mirror step of this progressive canary (Flagger would stay at weight 0 forever)"),
                )
                .with_help("use `iterations` for blue/green with mirroring, or the istio provider");
        } else if !provider.supports_mirroring() {
            findings
                .warning(
                    "analysis.mirror",
                    base.field("mirror"),
                    format!("the {provider} provider cannot mirror traffic; weir skips the mirror step (Flagger would stay at weight 0 forever)"),
                )
                .with_help("remove `mirror`, or use the istio or gatewayapi provider");
        }
    }
    if provider == Provider::Kubernetes {
        if !analysis.r#match.is_empty() {
            findings
                .warning(
                    "provider.kubernetes-ab",
                    base.field("match"),
                    "the kubernetes provider cannot route by request; A/B testing runs as blue/green",
                )
                .with_help("remove `match`, or use a mesh or ingress provider");
        }
        if analysis.iterations < 1
            && (analysis.step_weight > 0 || !analysis.step_weights.is_empty())
        {
            findings
                .warning(
                    "provider.kubernetes-progressive",
                    base.clone(),
                    "the kubernetes provider cannot shift weights; the canary runs blue/green with 10 iterations",
                )
                .with_help("replace stepWeight/stepWeights with `iterations`");
        }
    } else if !analysis.r#match.is_empty() && !provider.supports_ab_testing() {
        findings
            .warning(
                "analysis.match",
                base.field("match"),
                format!(
                    "the {provider} provider cannot route by headers or cookies; `match` is ignored"
                ),
            )
            .with_help(
                "use istio, gatewayapi, nginx, contour, gloo, apisix or appmesh for A/B testing",
            );
    }

    if let Some(affinity) = &analysis.session_affinity {
        let at = base.field("sessionAffinity");
        if affinity.cookie_name.is_empty() {
            findings
                .error(
                    "session-affinity.cookie-name",
                    at.field("cookieName"),
                    "must not be empty",
                )
                .with_help("name the cookie that pins a user to the canary, e.g. `canary-session`");
        }
        if affinity.primary_cookie_name.as_deref() == Some(affinity.cookie_name.as_str()) {
            findings
                .error(
                    "session-affinity.cookie-names",
                    at.field("primaryCookieName"),
                    format!(
                        "is the same as cookieName (`{}`), so users could not be told apart",
                        affinity.cookie_name
                    ),
                )
                .with_help("give the primary cookie a different name, e.g. `primary-session`");
        }
        if !provider.supports_session_affinity() {
            findings
                .warning(
                    "session-affinity.provider",
                    at.clone(),
                    format!(
                        "the {provider} provider does not implement session affinity; it is ignored"
                    ),
                )
                .with_help("use the istio or gatewayapi provider");
        }
    }

    check_metrics(analysis, &base, findings);
    check_webhooks(analysis, &base, findings);

    for (index, alert) in analysis.alerts.iter().enumerate() {
        if alert.severity == AlertSeverity::Unset {
            findings
                .warning(
                    "alert.severity",
                    base.field("alerts").index(index).field("severity"),
                    format!("alert `{}` has no severity: weir sends it as info, as Flagger documents, but Flagger never sends it", alert.name),
                )
                .with_help("set `severity: info` (or warn, error) so both behave the same");
        }
    }
}

fn check_metrics(analysis: &crate::CanaryAnalysis, base: &FieldPath, findings: &mut Findings) {
    let mut names = BTreeSet::new();
    for (index, metric) in analysis.metrics.iter().enumerate() {
        let at = base.field("metrics").index(index);
        if !names.insert(metric.name.as_str()) {
            findings
                .warning(
                    "metric.duplicate",
                    at.field("name"),
                    format!("metric `{}` is listed twice", metric.name),
                )
                .with_help("give each metric a distinct name");
        }
        let source = metric.source();
        if source.is_none() {
            findings
                .error(
                    "metric.source",
                    at.clone(),
                    format!("metric `{}` has no query: it is not a builtin metric and has neither `query` nor `templateRef`", metric.name),
                )
                .with_help("name it `request-success-rate` or `request-duration`, or add `templateRef: {name: <MetricTemplate>}`");
        }
        if metric.template_ref.is_some() && metric.query.is_some() {
            findings
                .warning(
                    "metric.query-and-template",
                    at.field("query"),
                    "is ignored because `templateRef` is set",
                )
                .with_help("remove `query` or `templateRef`");
        }
        if metric.template_ref.is_none() && !metric.template_variables.is_empty() {
            findings
                .warning(
                    "metric.template-variables",
                    at.field("templateVariables"),
                    "are only used by metric templates",
                )
                .with_help("add `templateRef` or remove `templateVariables`");
        }
        if let Some(interval) = &metric.interval
            && let Err(error) = parse_go_duration(interval)
        {
            findings
                .error("metric.interval", at.field("interval"), error.to_string())
                .with_help(duration_help(&error));
        }
        check_threshold(metric, source, &at, findings);
    }
}

fn check_threshold(
    metric: &CanaryMetric,
    source: Option<MetricSource<'_>>,
    at: &FieldPath,
    findings: &mut Findings,
) {
    if let Some(range) = &metric.threshold_range {
        match (range.min, range.max) {
            (Some(min), Some(max)) if min > max => {
                findings
                    .error(
                        "metric.threshold-range",
                        at.field("thresholdRange"),
                        format!("min ({min}) is greater than max ({max}), so every value fails"),
                    )
                    .with_help("swap min and max");
            }
            (None, None) => {
                findings
                    .warning(
                        "metric.threshold-range",
                        at.field("thresholdRange"),
                        "sets neither min nor max, so every value passes",
                    )
                    .with_help("set `min`, `max` or both");
            }
            _ => {}
        }
        if metric.threshold.is_some() {
            findings
                .warning(
                    "metric.threshold-ignored",
                    at.field("threshold"),
                    "is ignored because `thresholdRange` is set",
                )
                .with_help("remove `threshold`");
        }
        return;
    }
    match (metric.threshold, source) {
        (Some(_), _) => {
            findings
                .warning("metric.threshold-deprecated", at.field("threshold"), "is deprecated in favour of `thresholdRange`")
                .with_help(match source {
                    Some(MetricSource::Builtin(crate::BuiltinMetric::RequestSuccessRate)) => {
                        "write `thresholdRange: {min: <value>}`: the success rate must stay above it"
                    }
                    _ => "write `thresholdRange: {max: <value>}`: the value must stay below it",
                });
        }
        (None, Some(MetricSource::Builtin(crate::BuiltinMetric::RequestSuccessRate))) => {
            findings
                .warning(
                    "metric.no-threshold",
                    at.clone(),
                    format!(
                        "metric `{}` has no threshold, so it always passes",
                        metric.name
                    ),
                )
                .with_help("add `thresholdRange: {min: 99}`");
        }
        (None, Some(_)) => {
            findings
                .warning(
                    "metric.no-threshold",
                    at.clone(),
                    format!("metric `{}` has no threshold: Flagger compares it against 0, so any positive value fails", metric.name),
                )
                .with_help("add `thresholdRange: {max: <value>}` or `{min: <value>}`");
        }
        (None, None) => {}
    }
}

fn check_webhooks(analysis: &crate::CanaryAnalysis, base: &FieldPath, findings: &mut Findings) {
    let mut names = BTreeSet::new();
    for (index, hook) in analysis.webhooks.iter().enumerate() {
        let at = base.field("webhooks").index(index);
        if !names.insert((hook.r#type.effective().as_str(), hook.name.as_str())) {
            findings
                .warning(
                    "webhook.duplicate",
                    at.field("name"),
                    format!("webhook `{}` is listed twice for the same type", hook.name),
                )
                .with_help("give each webhook a distinct name");
        }
        if let Err(message) = check_http_url(&hook.url) {
            findings
                .error("webhook.url", at.field("url"), message)
                .with_help("use an absolute URL such as `http://flagger-loadtester.test/`");
        }
        if let Some(timeout) = &hook.timeout {
            if let Err(error) = hook.timeout_or_default() {
                findings
                    .error(
                        "webhook.timeout",
                        at.field("timeout"),
                        format!("{error}; Flagger fails every call to this webhook"),
                    )
                    .with_help(duration_help(&error));
            } else if timeout.len() < 2 {
                findings
                    .warning(
                        "webhook.timeout",
                        at.field("timeout"),
                        format!("`{timeout}` is too short to be read; the 10s default applies"),
                    )
                    .with_help("write a duration such as `30s`");
            }
        }
        if hook.retries < 0 {
            findings
                .error("webhook.retries", at.field("retries"), "cannot be negative")
                .with_help("set the number of retries after the first attempt, or remove it");
        }
        if hook.mute_alert
            && !matches!(
                hook.r#type,
                WebhookType::ConfirmRollout
                    | WebhookType::ConfirmPromotion
                    | WebhookType::ConfirmTrafficIncrease
            )
        {
            findings
                .warning(
                    "webhook.mute-alert",
                    at.field("muteAlert"),
                    "only mutes alerts of confirm-* gates",
                )
                .with_help("remove `muteAlert`");
        }
    }
}

fn check_http_url(text: &str) -> Result<(), String> {
    match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(()),
        Ok(url) if !matches!(url.scheme(), "http" | "https") => Err(format!(
            "`{text}` is not an http or https URL (scheme `{}`)",
            url.scheme()
        )),
        Ok(_) => Err(format!("`{text}` has no host")),
        Err(error) => Err(format!("`{text}` is not a URL: {error}")),
    }
}

/// Checks a MetricTemplate.
pub fn check_metric_template(template: &MetricTemplate) -> Vec<Finding> {
    let mut findings = Findings(Vec::new());
    let spec = &template.spec;
    let provider = spec.provider.r#type;
    if spec.query.trim().is_empty() {
        findings
            .error("template.query", path("spec.query"), "is empty")
            .with_help("write the provider's query, e.g. PromQL for prometheus");
    }
    if let Some(address) = &spec.provider.address {
        if let Err(message) = check_http_url(address) {
            findings
                .error("template.address", path("spec.provider.address"), message)
                .with_help("use the provider's API URL, e.g. `http://prometheus.monitoring:9090`");
        }
    } else if matches!(
        provider,
        MetricProviderType::Prometheus
            | MetricProviderType::Graphite
            | MetricProviderType::Dynatrace
    ) {
        findings
            .error(
                "template.address",
                path("spec.provider.address"),
                format!("the {} provider needs an address", provider.as_str()),
            )
            .with_help("set `address` to the provider's API URL");
    }
    let required = provider.required_secret_keys();
    if !required.is_empty() && spec.provider.secret_ref.is_none() {
        findings
            .error(
                "template.secret",
                path("spec.provider.secretRef"),
                format!("the {} provider needs credentials ({})", provider.as_str(), required.join(", ")),
            )
            .with_help("create a Secret with those keys in the template's namespace and reference it with `secretRef: {name: <secret>}`");
    }
    if provider == MetricProviderType::Cloudwatch
        && spec
            .provider
            .region
            .as_deref()
            .unwrap_or_default()
            .is_empty()
    {
        findings
            .error(
                "template.region",
                path("spec.provider.region"),
                "the cloudwatch provider needs a region",
            )
            .with_help("set `region`, e.g. `us-east-1`");
    }
    if !spec.provider.headers.is_empty() && provider != MetricProviderType::Prometheus {
        findings
            .warning(
                "template.headers",
                path("spec.provider.headers"),
                format!(
                    "are only sent by the prometheus provider, not {}",
                    provider.as_str()
                ),
            )
            .with_help("remove `headers`");
    }
    findings.0
}

/// Checks an AlertProvider.
pub fn check_alert_provider(provider: &AlertProvider) -> Vec<Finding> {
    let mut findings = Findings(Vec::new());
    let spec = &provider.spec;
    if let Some(address) = &spec.address
        && let Err(message) = check_http_url(address)
    {
        findings
            .error("alert-provider.address", path("spec.address"), message)
            .with_help("use the chat system's incoming webhook URL");
    }
    if let Some(proxy) = &spec.proxy
        && let Err(message) = check_http_url(proxy)
    {
        findings
            .error("alert-provider.proxy", path("spec.proxy"), message)
            .with_help("use an http(s) proxy URL such as `http://proxy.internal:3128`");
    }
    findings.0
}

/// The problems that stop the engine from running a Canary, as one message.
///
/// The engine asks on every tick, and nearly every Canary it runs is valid, so
/// `may_block_engine` answers that case without building findings (paths,
/// messages, URL and duration parsing: most of a tick's cost otherwise). Only
/// a Canary that may be blocked is checked in full, so the message is the
/// same as before.
pub fn blocking_problems(canary: &Canary, context: &CheckContext) -> Option<String> {
    if !may_block_engine(canary, context) {
        debug_assert!(
            full_blocking_problems(canary, context).is_none(),
            "may_block_engine missed a blocking finding"
        );
        return None;
    }
    full_blocking_problems(canary, context)
}

fn full_blocking_problems(canary: &Canary, context: &CheckContext) -> Option<String> {
    let blocking: Vec<String> = check_canary(canary, context)
        .into_iter()
        .filter(Finding::blocks_engine)
        .map(|finding| finding.to_string())
        .collect();
    (!blocking.is_empty()).then(|| blocking.join("; "))
}

/// Whether [`check_canary`] may report a finding that [`Finding::blocks_engine`],
/// without allocating. It must hold whenever such a finding exists (a test
/// and a debug assertion in [`blocking_problems`] check this); it may hold in
/// a few more cases, which then cost a full check and nothing else. Keep it
/// next to the conditions of the codes in `ENGINE_BLOCKING`.
fn may_block_engine(canary: &Canary, context: &CheckContext) -> bool {
    let spec = &canary.spec;
    let provider = spec.provider.unwrap_or(context.mesh_provider);

    // target.knative: any Knative provider or target is checked in full.
    let knative_service = spec.target_ref.kind == TargetKind::Service
        && spec.target_ref.api_version == "serving.knative.dev/v1";
    if provider == Provider::Knative || knative_service {
        return true;
    }

    // service.port, service.gateway-refs, service.delegation
    let service = &spec.service;
    if !(1..=65535).contains(&service.port)
        || (matches!(
            provider,
            Provider::GatewayApiV1 | Provider::GatewayApiV1beta1
        ) && service.gateway_refs.is_empty())
        || (service.delegation && (!service.hosts.is_empty() || !service.gateways.is_empty()))
    {
        return true;
    }

    let Some(analysis) = &spec.analysis else {
        return false;
    };
    // analysis.strategy, analysis.iterations, analysis.step-weight
    let ways = usize::from(analysis.iterations > 0)
        + usize::from(analysis.step_weight > 0)
        + usize::from(!analysis.step_weights.is_empty());
    if ways != 1 || analysis.iterations < 0 || !(0..=100).contains(&analysis.step_weight) {
        return true;
    }
    // analysis.step-weights: within 1..=100 and strictly increasing.
    let mut previous = 0;
    for &step in &analysis.step_weights {
        if step <= 0 || step > 100 || step <= previous {
            return true;
        }
        previous = step;
    }
    // session-affinity.cookie-name, session-affinity.cookie-names
    if let Some(affinity) = &analysis.session_affinity
        && (affinity.cookie_name.is_empty()
            || affinity.primary_cookie_name.as_deref() == Some(affinity.cookie_name.as_str()))
    {
        return true;
    }
    // metric.source, metric.threshold-range (the error: min above max)
    analysis.metrics.iter().any(|metric| {
        metric.source().is_none()
            || metric.threshold_range.as_ref().is_some_and(
                |range| matches!((range.min, range.max), (Some(min), Some(max)) if min > max),
            )
    })
}

/// All findings with `severity`.
pub fn with_severity(findings: &[Finding], severity: Severity) -> impl Iterator<Item = &Finding> {
    findings
        .iter()
        .filter(move |finding| finding.severity == severity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CanaryAnalysis, CanaryMetric, CanarySpec, SessionAffinity, ThresholdRange};

    fn canary(analysis: CanaryAnalysis) -> Canary {
        let mut spec = CanarySpec {
            analysis: Some(analysis),
            ..CanarySpec::default()
        };
        spec.target_ref.name = "podinfo".into();
        spec.target_ref.api_version = "apps/v1".into();
        spec.service.port = 9898;
        Canary::new("podinfo", spec)
    }

    fn progressive() -> CanaryAnalysis {
        CanaryAnalysis {
            interval: Some("1m".into()),
            threshold: 5,
            max_weight: 50,
            step_weight: 10,
            ..CanaryAnalysis::default()
        }
    }

    fn codes(canary: &Canary) -> Vec<(&'static str, Severity, String)> {
        check_canary(canary, &CheckContext::default())
            .into_iter()
            .map(|finding| (finding.code, finding.severity, finding.path.to_string()))
            .collect()
    }

    #[test]
    fn a_well_formed_progressive_canary_has_no_findings() {
        assert_eq!(codes(&canary(progressive())), vec![]);
    }

    #[test]
    fn strategy_needs_exactly_one_of_iterations_step_weight_and_step_weights() {
        let none = CanaryAnalysis {
            step_weight: 0,
            ..progressive()
        };
        assert_eq!(
            codes(&canary(none)),
            vec![("analysis.strategy", Severity::Error, "spec.analysis".into())]
        );
        let both = CanaryAnalysis {
            iterations: 10,
            ..progressive()
        };
        let found = codes(&canary(both));
        assert!(
            found.contains(&(
                "analysis.strategy",
                Severity::Error,
                "spec.analysis.stepWeight".into()
            )),
            "{found:?}"
        );
    }

    #[test]
    fn interval_below_ten_seconds_and_unparsable_intervals_are_errors() {
        let fast = CanaryAnalysis {
            interval: Some("5s".into()),
            ..progressive()
        };
        assert_eq!(
            codes(&canary(fast)),
            vec![(
                "analysis.interval-floor",
                Severity::Error,
                "spec.analysis.interval".into()
            )]
        );
        let odd = CanaryAnalysis {
            interval: Some("1min".into()),
            ..progressive()
        };
        let finding = check_canary(&canary(odd), &CheckContext::default()).remove(0);
        assert_eq!(finding.code, "analysis.interval");
        assert!(
            finding.message.contains("unknown unit `min`"),
            "{}",
            finding.message
        );
    }

    #[test]
    fn step_weights_must_increase_and_stay_within_100() {
        let ladder = CanaryAnalysis {
            step_weight: 0,
            max_weight: 0,
            step_weights: vec![10, 5, 150],
            ..progressive()
        };
        assert_eq!(
            codes(&canary(ladder)),
            vec![
                (
                    "analysis.step-weights",
                    Severity::Error,
                    "spec.analysis.stepWeights[1]".into()
                ),
                (
                    "analysis.step-weights",
                    Severity::Error,
                    "spec.analysis.stepWeights[2]".into()
                ),
            ]
        );
    }

    #[test]
    fn threshold_range_min_above_max_is_an_error() {
        let analysis = CanaryAnalysis {
            metrics: vec![CanaryMetric {
                name: "request-success-rate".into(),
                threshold_range: Some(ThresholdRange {
                    min: Some(99.0),
                    max: Some(90.0),
                }),
                ..CanaryMetric::default()
            }],
            ..progressive()
        };
        let findings = check_canary(&canary(analysis), &CheckContext::default());
        assert_eq!(findings[0].code, "metric.threshold-range");
        assert!(findings[0].blocks_engine());
        assert_eq!(
            findings[0].path.to_string(),
            "spec.analysis.metrics[0].thresholdRange"
        );
    }

    #[test]
    fn a_metric_without_a_source_is_an_error_that_stops_the_engine() {
        let analysis = CanaryAnalysis {
            metrics: vec![CanaryMetric {
                name: "error-rate".into(),
                threshold_range: Some(ThresholdRange {
                    min: None,
                    max: Some(1.0),
                }),
                ..CanaryMetric::default()
            }],
            ..progressive()
        };
        let canary = canary(analysis);
        assert_eq!(
            codes(&canary),
            vec![(
                "metric.source",
                Severity::Error,
                "spec.analysis.metrics[0]".into()
            )]
        );
        let problems = blocking_problems(&canary, &CheckContext::default()).expect("blocked");
        assert!(problems.contains("error-rate"), "{problems}");
    }

    #[test]
    fn identical_session_cookie_names_are_rejected_like_flaggers_verify_canary() {
        let analysis = CanaryAnalysis {
            session_affinity: Some(SessionAffinity {
                cookie_name: "session".into(),
                primary_cookie_name: Some("session".into()),
                ..SessionAffinity::default()
            }),
            ..progressive()
        };
        assert_eq!(
            codes(&canary(analysis)),
            vec![(
                "session-affinity.cookie-names",
                Severity::Error,
                "spec.analysis.sessionAffinity.primaryCookieName".into()
            )]
        );
    }

    #[test]
    fn mirroring_on_a_provider_that_cannot_mirror_is_a_warning() {
        let mut canary = canary(CanaryAnalysis {
            mirror: true,
            ..progressive()
        });
        assert_eq!(codes(&canary), vec![], "istio mirrors");
        canary.spec.provider = Some(Provider::Linkerd);
        assert_eq!(
            codes(&canary),
            vec![(
                "analysis.mirror",
                Severity::Warning,
                "spec.analysis.mirror".into()
            )]
        );
    }

    #[test]
    fn step_weight_that_overshoots_max_weight_is_explained() {
        let analysis = CanaryAnalysis {
            step_weight: 20,
            ..progressive()
        };
        let findings = check_canary(&canary(analysis), &CheckContext::default());
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0].message.contains("from 40% to 50%"),
            "{}",
            findings[0].message
        );
        assert!(
            findings[0].message.contains("60%"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn paths_parse_and_print_symmetrically() {
        let text = "spec.analysis.metrics[0].thresholdRange.min";
        assert_eq!(FieldPath::parse(text).to_string(), text);
        assert_eq!(FieldPath::parse("items[2][3]").to_string(), "items[2][3]");
    }

    /// `may_block_engine` is a shortcut: it must never say "cannot block"
    /// for a Canary that `check_canary` blocks. Sweeps every input the
    /// blocking codes read, with a fixed pseudo-random sequence.
    #[test]
    fn the_blocking_shortcut_never_misses_a_blocking_finding() {
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut pick = |count: usize| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            usize::try_from(state >> 33).expect("fits") % count
        };
        let gateway: crate::service::ParentReference =
            serde_json::from_str(r#"{"name": "gateway"}"#).expect("valid");
        let (mut blocked, mut shortcut) = (0, 0);
        for _ in 0..20_000 {
            let mut analysis = CanaryAnalysis {
                iterations: [-1, 0, 0, 3][pick(4)],
                step_weight: [-5, 0, 10, 10, 150][pick(5)],
                step_weights: [
                    vec![],
                    vec![],
                    vec![5, 10, 50],
                    vec![10, 5],
                    vec![0, 10],
                    vec![5, 150],
                    vec![5, 5],
                ][pick(7)]
                .clone(),
                ..progressive()
            };
            analysis.session_affinity = match pick(4) {
                0 => None,
                choice => Some(SessionAffinity {
                    cookie_name: ["", "session", "session"][choice - 1].into(),
                    primary_cookie_name: [None, Some("session".into()), Some("primary".into())]
                        [pick(3)]
                    .clone(),
                    ..SessionAffinity::default()
                }),
            };
            for _ in 0..pick(3) {
                let (min, max) =
                    [(None, None), (Some(1.0), Some(2.0)), (Some(2.0), Some(1.0))][pick(3)];
                analysis.metrics.push(CanaryMetric {
                    name: ["request-success-rate", "request-duration", "error-rate"][pick(3)]
                        .into(),
                    query: [None, Some("sum(up)".into()), Some("  ".into())][pick(3)].clone(),
                    threshold_range: (pick(2) == 0).then_some(ThresholdRange { min, max }),
                    ..CanaryMetric::default()
                });
            }
            let mut canary = canary(analysis);
            if pick(8) == 0 {
                canary.spec.analysis = None;
            }
            let spec = &mut canary.spec;
            spec.provider = [None, None, None]
                .into_iter()
                .chain(Provider::ALL.map(Some))
                .nth(pick(3 + Provider::ALL.len()))
                .expect("in range");
            if pick(4) == 0 {
                spec.target_ref.kind = TargetKind::Service;
                spec.target_ref.api_version = ["v1", "serving.knative.dev/v1"][pick(2)].into();
            }
            if pick(6) == 0 {
                spec.autoscaler_ref = Some(crate::canary::AutoscalerRef::default());
            }
            spec.service.port = [0, 9898, 9898, 9898, 70_000][pick(5)];
            if pick(2) == 0 {
                spec.service.gateway_refs = vec![gateway.clone()];
            }
            spec.service.delegation = pick(4) == 0;
            if pick(3) == 0 {
                spec.service.hosts = vec!["podinfo.example.com".into()];
            }
            if pick(3) == 0 {
                spec.service.gateways = vec!["mesh".into()];
            }
            let context = CheckContext {
                mesh_provider: [Provider::Istio, Provider::Knative, Provider::GatewayApiV1]
                    [pick(3)],
            };
            let blocks = full_blocking_problems(&canary, &context).is_some();
            let may_block = may_block_engine(&canary, &context);
            assert!(may_block || !blocks, "shortcut missed: {:#?}", canary.spec);
            blocked += usize::from(blocks);
            shortcut += usize::from(!may_block);
        }
        // The sweep must reach both outcomes to mean anything.
        assert!(
            blocked > 1_000 && shortcut > 1_000,
            "{blocked} blocked, {shortcut} shortcut"
        );
    }
}
