//! Scenario files: a Canary, unchanged, plus the world it is released into.
//!
//! ```yaml
//! description: A healthy release promotes in about 12 minutes.
//! canary: canaries/podinfo.yaml            # a path, the manifest inline, or left to --canary
//! groundTruth: healthy                      # is the new revision healthy or bad?
//! release: {from: v1, to: v2, at: 2m}       # v1 runs; v2 is deployed at 2m
//! revisions:
//!   v1: {errors: {rate: 0.001}, latency: {median: 20ms, p99: 90ms}}
//!   v2: {errors: {rate: 0.001}, latency: {median: 20ms, p99: 90ms}}
//! traffic: {rate: {model: constant, rps: 1000}}
//! expect: {outcome: Succeeded, within: 20m}
//! ```
//!
//! Loading goes through the same spanned YAML reader as `weir validate`, so
//! every problem (an unknown key, a bad value, a Canary the schema rejects,
//! a revision that is not declared) is reported with file, line, column, the
//! field and a fix, all at once, before anything runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use weir_api::{Canary, CanaryPhase, MetricTemplate, Provider};
use weir_engine::EngineConfig;
use weir_validate::Severity;
use weir_validate::convert::SpanIndex;
use weir_validate::yaml::{self, Node};

use crate::input::{Checker, Format, InputError};
use crate::model::{ErrorModel, LatencyModel, ModelError, Process, RateModel};
use crate::time::Span;

/// A scenario, checked and ready to run.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// The file it was read from, if any.
    pub path: Option<PathBuf>,
    pub canary: Canary,
    pub templates: Vec<MetricTemplate>,
    pub config: EngineConfig,
    pub ground_truth: GroundTruth,
    pub seed: u64,
    pub runs: u32,
    /// Virtual time after which a run stops, decided or not.
    pub duration: Duration,
    /// Whether the file set `duration` (otherwise it follows the Canary's
    /// interval, see [`Scenario::default_duration`]).
    pub duration_explicit: bool,
    pub cluster: Cluster,
    pub traffic: Traffic,
    pub revisions: BTreeMap<String, Revision>,
    pub release: Release,
    pub faults: Vec<Fault>,
    pub webhooks: BTreeMap<String, WebhookBehaviour>,
    pub events: Vec<ScheduledEvent>,
    pub expect: Expectations,
}

impl Scenario {
    /// How long a scenario without `duration` runs: long enough for any
    /// sane rollout, an hour past the release or 100 analysis intervals,
    /// whichever is longer.
    pub fn default_duration(release_at: Duration, interval: Duration) -> Duration {
        release_at + Duration::from_secs(3600).max(interval * 100)
    }
}

/// Whether the revision under test is good, as the scenario's author knows
/// and the engine must find out. Threshold tuning scores configs on it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum GroundTruth {
    Healthy,
    Bad,
}

impl GroundTruth {
    /// As scenario files spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            GroundTruth::Healthy => "healthy",
            GroundTruth::Bad => "bad",
        }
    }
}

/// The file format; see the module docs.
#[derive(Deserialize, Debug)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScenarioFile {
    name: Option<String>,
    description: String,
    /// A path (relative to the scenario file) or the Canary inline. A
    /// suite for `weir tune` leaves it out: the Canary under test comes
    /// from the command line.
    canary: Option<Json>,
    #[serde(default)]
    metric_templates: Vec<Json>,
    /// The controller's `-mesh-provider` (default istio, as Flagger).
    mesh_provider: Option<Provider>,
    ground_truth: GroundTruth,
    #[serde(default = "one")]
    seed: u64,
    #[serde(default = "one_run")]
    runs: u32,
    duration: Option<Span>,
    #[serde(default)]
    cluster: Cluster,
    traffic: Traffic,
    revisions: BTreeMap<String, Revision>,
    release: Release,
    #[serde(default)]
    faults: Vec<Fault>,
    #[serde(default)]
    webhooks: BTreeMap<String, WebhookBehaviour>,
    #[serde(default)]
    events: Vec<ScheduledEvent>,
    #[serde(default)]
    expect: Expectations,
}

fn one() -> u64 {
    1
}

fn one_run() -> u32 {
    1
}

/// The simulated cluster.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Cluster {
    /// `spec.replicas` of the target Deployment.
    #[serde(default = "two_replicas")]
    pub replicas: u32,
    /// An HPA scaling both workloads on request rate (`autoscalerRef`).
    pub hpa: Option<Hpa>,
    /// How long a new pod takes to become ready (a lognormal).
    #[serde(default)]
    pub pod_startup: Startup,
    /// The Deployment's `progressDeadlineSeconds` (Kubernetes' default: 600).
    #[serde(default = "ten_minutes")]
    pub progress_deadline: Span,
    /// Length of the windows traffic is sampled in. Default: the greatest
    /// common divisor of the analysis interval and the metrics' intervals,
    /// so every query covers whole windows.
    pub resolution: Option<Span>,
}

fn two_replicas() -> u32 {
    2
}

fn ten_minutes() -> Span {
    Span(Duration::from_secs(600))
}

impl Default for Cluster {
    fn default() -> Self {
        Cluster {
            replicas: two_replicas(),
            hpa: None,
            pod_startup: Startup::default(),
            progress_deadline: ten_minutes(),
            resolution: None,
        }
    }
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Hpa {
    pub min_replicas: u32,
    pub max_replicas: u32,
    /// Requests per second per pod the HPA aims for.
    pub target_rps_per_pod: f64,
}

/// A pod readiness delay distribution (lognormal through median and p99).
#[derive(Deserialize, Clone, Copy, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Startup {
    pub median: Span,
    pub p99: Span,
}

impl Default for Startup {
    fn default() -> Self {
        // A typical web service: ready in ~10 s, rarely over half a minute.
        Startup {
            median: Span(Duration::from_secs(10)),
            p99: Span(Duration::from_secs(30)),
        }
    }
}

/// User traffic and synthetic load.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Traffic {
    pub rate: RateModel,
    /// Kinds of users; one class `users` with every request when empty.
    #[serde(default)]
    pub classes: Vec<RequestClass>,
    /// Load sent straight to `<apex>-canary` while the canary is scaled up
    /// (what flagger-loadtester's `hey` does); counted in the canary's
    /// metrics, never in the blast radius.
    pub load_test: Option<LoadTest>,
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestClass {
    pub name: String,
    /// Share of the user traffic, in (0, 1]; shares add up to 1.
    pub share: f64,
    /// Request headers (names are case-insensitive).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Cookies the users send (besides session-affinity cookies).
    #[serde(default)]
    pub cookies: BTreeMap<String, String>,
    #[serde(default = "root_path")]
    pub path: String,
    #[serde(default = "get")]
    pub method: String,
    /// Whether these users keep the cookies the mesh sets (browsers do,
    /// most API clients don't), and how often a user comes back.
    pub sessions: Option<Sessions>,
}

fn root_path() -> String {
    "/".to_owned()
}

fn get() -> String {
    "GET".to_owned()
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sessions {
    /// Mean time between two requests of the same user.
    pub revisit: Span,
}

#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoadTest {
    pub rps: f64,
}

/// A revision of the target: how its pods start and how they answer.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Revision {
    #[serde(default)]
    pub errors: ErrorModel,
    #[serde(default)]
    pub latency: LatencyModel,
    /// Values of MetricTemplate metrics, by metric name.
    #[serde(default)]
    pub custom: BTreeMap<String, Process>,
    #[serde(default)]
    pub pods: Pods,
}

/// Pod lifecycle of a revision.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Pods {
    /// Overrides the cluster's pod startup distribution.
    pub startup: Option<Startup>,
    /// Pods never become ready (a bad image, a failing readiness probe).
    #[serde(default)]
    pub never_ready: bool,
    /// Pods crash this long after becoming ready, and restart (CrashLoopBackOff).
    pub crash_after: Option<Span>,
}

/// The release under test.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Release {
    /// The revision running when the Canary is applied (it becomes the primary).
    pub from: String,
    /// The revision deployed at `at`: the canary under test.
    pub to: String,
    /// When the target is updated (`kubectl set image`).
    #[serde(default = "two_minutes")]
    pub at: Span,
}

fn two_minutes() -> Span {
    Span(Duration::from_secs(120))
}

/// A metrics-provider fault.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fault {
    /// The metric's name in the Canary, or `*` for all of them.
    pub metric: String,
    pub kind: FaultKind,
    #[serde(default)]
    pub from: Span,
    pub until: Option<Span>,
    /// Chance that a query in the fault's time range is affected.
    #[serde(default = "certain")]
    pub probability: f64,
    /// `slow`: how long the provider takes to answer.
    pub latency: Option<Span>,
    /// `stale`: how old the data the provider answers with is.
    pub stale_by: Option<Span>,
}

fn certain() -> f64 {
    1.0
}

#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum FaultKind {
    /// The query returns no series (Flagger: "no values found").
    NoData,
    /// The provider answers with an error (HTTP 5xx).
    Error,
    /// The provider answers after `latency`; past Flagger's 5 s client
    /// timeout that is an error.
    Slow,
    /// The provider answers with data `staleBy` old.
    Stale,
}

/// How a webhook (by name in the Canary) answers.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookBehaviour {
    /// A gate that stays closed until an `open` event.
    #[serde(default)]
    pub closed: bool,
    /// Chance that a call fails (a flaky test, a timeout).
    #[serde(default)]
    pub failure_probability: f64,
}

/// Something that happens at a fixed time. Exactly one action per entry.
#[derive(Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScheduledEvent {
    pub at: Span,
    /// Deploys this revision to the target.
    pub deploy: Option<String>,
    /// Changes a tracked ConfigMap or Secret (`configmap/<name>` or
    /// `secret/<name>`); the target then runs `revision` (default: the
    /// behaviour of the revision it runs now).
    pub config_change: Option<String>,
    pub revision: Option<String>,
    /// Opens a gate webhook (a release engineer approves).
    pub open: Option<String>,
    /// Closes a gate webhook.
    pub close: Option<String>,
    /// Restarts the controller: it is down this long, then resumes from
    /// the Canary's status.
    pub restart_controller: Option<Span>,
}

/// What a scheduled event does, once checked.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Deploy(String),
    ConfigChange {
        config: String,
        revision: Option<String>,
    },
    Open(String),
    Close(String),
    RestartController {
        downtime: Duration,
    },
}

impl ScheduledEvent {
    /// The one action of this event.
    pub fn action(&self) -> Option<Action> {
        let mut actions = Vec::new();
        if let Some(revision) = &self.deploy {
            actions.push(Action::Deploy(revision.clone()));
        }
        if let Some(config) = &self.config_change {
            actions.push(Action::ConfigChange {
                config: config.clone(),
                revision: self.revision.clone(),
            });
        }
        if let Some(gate) = &self.open {
            actions.push(Action::Open(gate.clone()));
        }
        if let Some(gate) = &self.close {
            actions.push(Action::Close(gate.clone()));
        }
        if let Some(downtime) = self.restart_controller {
            actions.push(Action::RestartController {
                downtime: downtime.0,
            });
        }
        (actions.len() == 1).then(|| actions.remove(0))
    }
}

/// What the scenario's author expects. Each bound is checked over all runs.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expectations {
    /// The final phase of every run: `Succeeded` or `Failed`.
    pub outcome: Option<CanaryPhase>,
    /// Every run decides within this time of the release.
    pub within: Option<Span>,
    /// No run's canary fails more user requests than this.
    pub max_blast_radius: Option<u64>,
    /// Share of runs rolled back.
    pub rollback_rate: Option<RateBounds>,
    /// Share of runs promoted.
    pub promote_rate: Option<RateBounds>,
}

#[derive(Deserialize, Clone, Copy, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateBounds {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// A scenario that cannot run, with every problem found.
pub type ScenarioError = InputError;

/// Reads and checks a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with(path, None)
}

/// Reads and checks a scenario file, releasing the Canary in `canary` (a
/// manifest file) instead of the scenario's own, when given. Everything
/// the scenario says about the Canary (faults on its metrics, its
/// webhooks, the release after its initialization) is checked against
/// the one used.
pub fn load_with(path: &Path, canary: Option<&Path>) -> Result<Scenario, ScenarioError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|error| {
        ScenarioError::whole_file(
            &file,
            "scenario.file",
            format!("cannot read the scenario: {error}"),
            "check the path",
        )
    })?;
    let stem = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_else(|| "scenario".to_owned());
    let mut scenario = parse_with(&file, &text, path.parent(), &stem, canary)?;
    scenario.path = Some(path.to_owned());
    Ok(scenario)
}

/// Parses scenario text; relative paths resolve against `base`.
pub fn parse(
    file: &str,
    text: &str,
    base: Option<&Path>,
    default_name: &str,
) -> Result<Scenario, ScenarioError> {
    parse_with(file, text, base, default_name, None)
}

/// [`parse`], with the Canary of the file `canary` instead of the
/// scenario's own when given.
pub fn parse_with(
    file: &str,
    text: &str,
    base: Option<&Path>,
    default_name: &str,
    canary: Option<&Path>,
) -> Result<Scenario, ScenarioError> {
    let mut checker = Checker::new(file, FORMAT);
    let document = checker.read(text)?;
    let scenario_file: ScenarioFile = checker.deserialize(&document)?;
    let scenario = checker.compile(
        scenario_file,
        &document.root,
        &document.index,
        base,
        default_name,
        canary,
    );
    match scenario {
        Some(scenario) if !checker.has_errors() => Ok(scenario),
        _ => Err(checker.into_error(text)),
    }
}

/// Scenario files, for their diagnostics.
const FORMAT: Format = Format {
    kind: "Scenario",
    code: "scenario",
    reference: "scenarios/README.md",
};

impl Checker {
    /// Checks values and cross-references, and resolves the Canary.
    fn compile(
        &mut self,
        file: ScenarioFile,
        root: &Node,
        index: &SpanIndex,
        base: Option<&Path>,
        default_name: &str,
        canary_override: Option<&Path>,
    ) -> Option<Scenario> {
        let canary = match (canary_override, &file.canary) {
            (Some(path), _) => self.manifest_file(path, index, "canary", "Canary"),
            (None, Some(source)) => self.canary(source, root, index, base),
            (None, None) => {
                self.error(
                    index,
                    "",
                    "the scenario names no Canary".to_owned(),
                    "add `canary: <path>` (or the Canary inline), or pass the Canary to test with `--canary FILE`",
                );
                Vec::new()
            }
        }
        .into_iter()
        .next();
        let templates = self.templates(&file.metric_templates, root, index, base);
        let config = EngineConfig {
            mesh_provider: file.mesh_provider.unwrap_or(Provider::Istio),
            ..EngineConfig::default()
        };

        for (name, revision) in &file.revisions {
            let at = format!("revisions.{name}");
            if let Err(error) = revision.errors.validate() {
                self.model_error(index, &format!("{at}.errors"), error);
            }
            if let Err(error) = revision.latency.validate() {
                self.model_error(index, &format!("{at}.latency"), error);
            }
            for (metric, process) in &revision.custom {
                if let Err(error) = process.validate() {
                    self.model_error(index, &format!("{at}.custom.{metric}"), error);
                }
            }
            if let Some(startup) = revision.pods.startup {
                self.startup(index, &format!("{at}.pods.startup"), startup);
            }
        }
        self.startup(index, "cluster.podStartup", file.cluster.pod_startup);
        if let Some(hpa) = &file.cluster.hpa
            && (hpa.min_replicas == 0
                || hpa.max_replicas < hpa.min_replicas
                || hpa.target_rps_per_pod <= 0.0)
        {
            self.error(
                index,
                "cluster.hpa",
                "the HPA needs 1 <= minReplicas <= maxReplicas and a positive targetRpsPerPod"
                    .to_owned(),
                "",
            );
        }
        if let Some(resolution) = file.cluster.resolution
            && resolution.0 < Duration::from_secs(1)
        {
            self.error(
                index,
                "cluster.resolution",
                format!("a resolution of {resolution} is too fine"),
                "use 1s or more",
            );
        }
        if let Err(error) = file.traffic.rate.validate() {
            self.model_error(index, "traffic.rate", error);
        }
        self.classes(index, &file.traffic.classes);
        if let Some(load_test) = &file.traffic.load_test
            && !(load_test.rps >= 0.0 && load_test.rps.is_finite())
        {
            self.error(
                index,
                "traffic.loadTest.rps",
                format!("{} is not a request rate", load_test.rps),
                "use a number of requests per second, 0 or more",
            );
        }

        let declared: BTreeSet<&str> = file.revisions.keys().map(String::as_str).collect();
        let revision_ref = |checker: &mut Checker, path: &str, name: &str| {
            if !declared.contains(name) {
                let known = declared.iter().copied().collect::<Vec<_>>().join(", ");
                checker.error(
                    index,
                    path,
                    format!("revision `{name}` is not declared under `revisions`"),
                    &format!("declare it, or use one of: {known}"),
                );
            }
        };
        revision_ref(self, "release.from", &file.release.from);
        revision_ref(self, "release.to", &file.release.to);
        let metric_names: Vec<String> = canary
            .as_ref()
            .map(|canary| {
                canary
                    .spec
                    .analysis()
                    .metrics
                    .iter()
                    .map(|metric| metric.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        let webhook_names: Vec<String> = canary
            .as_ref()
            .map(|canary| {
                canary
                    .spec
                    .analysis()
                    .webhooks
                    .iter()
                    .map(|hook| hook.name.clone())
                    .collect()
            })
            .unwrap_or_default();
        for (position, event) in file.events.iter().enumerate() {
            let at = format!("events[{position}]");
            match event.action() {
                None => self.error(
                    index,
                    &at,
                    "an event needs exactly one action".to_owned(),
                    "use one of deploy, configChange, open, close, restartController",
                ),
                Some(Action::Deploy(revision)) => {
                    revision_ref(self, &format!("{at}.deploy"), &revision);
                }
                Some(Action::ConfigChange { config, revision }) => {
                    if !(config.starts_with("configmap/") || config.starts_with("secret/")) {
                        self.error(
                            index,
                            &format!("{at}.configChange"),
                            format!("`{config}` names no ConfigMap or Secret"),
                            "write configmap/<name> or secret/<name>",
                        );
                    }
                    if let Some(revision) = revision {
                        revision_ref(self, &format!("{at}.revision"), &revision);
                    }
                }
                Some(Action::Open(gate) | Action::Close(gate)) => {
                    self.webhook_ref(index, &at, &gate, &webhook_names);
                }
                Some(Action::RestartController { .. }) => {}
            }
            if event.revision.is_some() && event.config_change.is_none() {
                self.error(
                    index,
                    &format!("{at}.revision"),
                    "`revision` only goes with `configChange`".to_owned(),
                    "use `deploy: <revision>` to deploy a revision",
                );
            }
        }
        for name in file.webhooks.keys() {
            self.webhook_ref(index, &format!("webhooks.{name}"), name, &webhook_names);
        }
        for (name, behaviour) in &file.webhooks {
            if !(0.0..=1.0).contains(&behaviour.failure_probability) {
                self.error(
                    index,
                    &format!("webhooks.{name}.failureProbability"),
                    format!("{} is not a probability", behaviour.failure_probability),
                    "use a number between 0 and 1",
                );
            }
        }
        for (position, fault) in file.faults.iter().enumerate() {
            let at = format!("faults[{position}]");
            if fault.metric != "*" && !metric_names.contains(&fault.metric) {
                self.error(
                    index,
                    &format!("{at}.metric"),
                    format!("the Canary has no metric `{}`", fault.metric),
                    &format!("use `*` or one of: {}", metric_names.join(", ")),
                );
            }
            if !(0.0..=1.0).contains(&fault.probability) {
                self.error(
                    index,
                    &format!("{at}.probability"),
                    format!("{} is not a probability", fault.probability),
                    "use a number between 0 and 1",
                );
            }
            if fault.kind == FaultKind::Slow && fault.latency.is_none() {
                self.error(
                    index,
                    &at,
                    "a `slow` fault needs `latency`".to_owned(),
                    "add e.g. `latency: 8s`",
                );
            }
            if fault.kind == FaultKind::Stale && fault.stale_by.is_none() {
                self.error(
                    index,
                    &at,
                    "a `stale` fault needs `staleBy`".to_owned(),
                    "add e.g. `staleBy: 5m`",
                );
            }
            if let Some(until) = fault.until
                && until <= fault.from
            {
                self.error(
                    index,
                    &format!("{at}.until"),
                    format!("the fault ends ({until}) before it starts ({})", fault.from),
                    "",
                );
            }
        }
        // Custom metrics must have a process in the revisions that serve them.
        if let Some(canary) = &canary {
            for metric in &canary.spec.analysis().metrics {
                if metric.template_ref.is_none() {
                    continue;
                }
                for name in [&file.release.from, &file.release.to] {
                    if let Some(revision) = file.revisions.get(name)
                        && !revision.custom.contains_key(&metric.name)
                    {
                        self.error(
                            index,
                            &format!("revisions.{name}.custom"),
                            format!(
                                "metric `{}` comes from a MetricTemplate, but revision `{name}` does not say what it reads",
                                metric.name
                            ),
                            &format!(
                                "add e.g. `custom: {{{}: {{process: noise, mean: 1, sd: 0.1}}}}`",
                                metric.name
                            ),
                        );
                    }
                }
            }
        }
        for (field, bounds) in [
            ("expect.rollbackRate", file.expect.rollback_rate),
            ("expect.promoteRate", file.expect.promote_rate),
        ] {
            if let Some(bounds) = bounds {
                let valid = |value: Option<f64>| value.is_none_or(|v| (0.0..=1.0).contains(&v));
                if !valid(bounds.min) || !valid(bounds.max) {
                    self.error(
                        index,
                        field,
                        "rates are between 0 and 1".to_owned(),
                        "write e.g. `{max: 0.05}` for at most 5%",
                    );
                }
            }
        }
        if let Some(outcome) = file.expect.outcome
            && !matches!(outcome, CanaryPhase::Succeeded | CanaryPhase::Failed)
        {
            self.error(
                index,
                "expect.outcome",
                format!("{outcome} is not a final phase"),
                "use Succeeded or Failed",
            );
        }
        if file.runs == 0 {
            self.error(index, "runs", "runs must be at least 1".to_owned(), "");
        }

        let canary = canary?;
        // Flagger records the target's revision when it initializes the
        // Canary (two ticks): a release before that is not analysed.
        let interval = canary.spec.analysis().interval_or_default();
        if file.release.at.0 < interval * 2 {
            self.error(
                index,
                "release.at",
                format!(
                    "the release at {} comes before the Canary is initialized (two {} intervals); the engine would take {} for the starting revision",
                    file.release.at, Span(interval), file.release.to
                ),
                &format!("release at {} or later", Span(interval * 2)),
            );
            return None;
        }
        let name = file.name.unwrap_or_else(|| default_name.to_owned());
        let duration = file.duration.map_or(
            Scenario::default_duration(file.release.at.0, interval),
            |span| span.0,
        );
        Some(Scenario {
            name,
            description: file.description,
            path: None,
            canary,
            templates: templates.unwrap_or_default(),
            config,
            ground_truth: file.ground_truth,
            seed: file.seed,
            runs: file.runs,
            duration,
            duration_explicit: file.duration.is_some(),
            cluster: file.cluster,
            traffic: file.traffic,
            revisions: file.revisions,
            release: file.release,
            faults: file.faults,
            webhooks: file.webhooks,
            events: file.events,
            expect: file.expect,
        })
    }

    /// A model's complaint, located at the field it names.
    fn model_error(&mut self, index: &SpanIndex, at: &str, error: ModelError) {
        let error = error.within(at);
        self.error(index, &error.field, error.problem, &error.fix);
    }

    fn webhook_ref(&mut self, index: &SpanIndex, path: &str, name: &str, known: &[String]) {
        if !known.iter().any(|hook| hook == name) {
            self.error(
                index,
                path,
                format!("the Canary has no webhook `{name}`"),
                &format!("use one of: {}", known.join(", ")),
            );
        }
    }

    fn startup(&mut self, index: &SpanIndex, path: &str, startup: Startup) {
        if startup.p99 < startup.median || startup.median.0.is_zero() {
            self.error(
                index,
                path,
                format!(
                    "pod startup needs 0 < median <= p99 (median {}, p99 {})",
                    startup.median, startup.p99
                ),
                "",
            );
        }
    }

    fn classes(&mut self, index: &SpanIndex, classes: &[RequestClass]) {
        let mut names = BTreeSet::new();
        for (position, class) in classes.iter().enumerate() {
            if !names.insert(class.name.as_str()) {
                self.error(
                    index,
                    &format!("traffic.classes[{position}].name"),
                    format!("class `{}` is declared twice", class.name),
                    "give every class its own name",
                );
            }
            if !(class.share > 0.0 && class.share <= 1.0) {
                self.error(
                    index,
                    &format!("traffic.classes[{position}].share"),
                    format!("{} is not a share of traffic", class.share),
                    "use a number in (0, 1]",
                );
            }
        }
        let total: f64 = classes.iter().map(|class| class.share).sum();
        if !classes.is_empty() && (total - 1.0).abs() > 1e-6 {
            self.error(
                index,
                "traffic.classes",
                format!("the classes' shares add up to {total}, not 1"),
                "make the shares add up to 1",
            );
        }
    }

    /// The Canary, inline or from a file, checked as `weir validate` would.
    fn canary(
        &mut self,
        source: &Json,
        root: &Node,
        index: &SpanIndex,
        base: Option<&Path>,
    ) -> Vec<Canary> {
        self.manifest(source, root.get("canary"), index, base, "canary", "Canary")
    }

    fn templates(
        &mut self,
        sources: &[Json],
        root: &Node,
        index: &SpanIndex,
        base: Option<&Path>,
    ) -> Option<Vec<MetricTemplate>> {
        let nodes = match root.get("metricTemplates").map(|node| &node.value) {
            Some(yaml::Value::Seq(items, _)) => items.iter().collect::<Vec<_>>(),
            _ => Vec::new(),
        };
        let mut templates = Vec::new();
        for (position, source) in sources.iter().enumerate() {
            templates.extend(self.manifest(
                source,
                nodes.get(position).copied(),
                index,
                base,
                &format!("metricTemplates[{position}]"),
                "MetricTemplate",
            ));
        }
        Some(templates)
    }

    /// Decodes the manifests of `kind` in the file at `resolved`, after
    /// validating it; its problems are reported against that file.
    fn manifest_file<T: serde::de::DeserializeOwned>(
        &mut self,
        resolved: &Path,
        index: &SpanIndex,
        path: &str,
        kind: &str,
    ) -> Vec<T> {
        let report = weir_validate::validate_path(resolved, &weir_validate::Options::default());
        let failed = report.error_count() > 0;
        let text = report.source.clone().unwrap_or_default();
        self.extra_files.push(report);
        if failed {
            return Vec::new();
        }
        let found: Vec<T> = weir_validate::decode_all(&text, kind);
        if found.is_empty() {
            self.error(
                index,
                path,
                format!("{} holds no {kind}", resolved.display()),
                &format!("point `{path}` at a file with a {kind}"),
            );
        }
        found
    }

    /// Decodes the manifests of `kind` that `source` (a path or an inline
    /// object) holds, after validating them.
    fn manifest<T: serde::de::DeserializeOwned>(
        &mut self,
        source: &Json,
        node: Option<&Node>,
        index: &SpanIndex,
        base: Option<&Path>,
        path: &str,
        kind: &str,
    ) -> Vec<T> {
        let options = weir_validate::Options::default();
        match (source, node) {
            (Json::String(relative), _) => {
                let resolved = base.unwrap_or(Path::new(".")).join(relative);
                self.manifest_file(&resolved, index, path, kind)
            }
            (Json::Object(object), Some(node)) => {
                let diagnostics = weir_validate::validate_embedded(&self.file, node, &options);
                let failed = diagnostics
                    .iter()
                    .any(|diagnostic| diagnostic.severity == Severity::Error);
                self.diagnostics.extend(diagnostics);
                if failed {
                    return Vec::new();
                }
                let kind_matches = object.get("kind").and_then(Json::as_str) == Some(kind);
                if !kind_matches {
                    self.error(
                        index,
                        &format!("{path}.kind"),
                        format!("expected a {kind} here"),
                        &format!("set `kind: {kind}`"),
                    );
                    return Vec::new();
                }
                match serde_json::from_value(source.clone()) {
                    Ok(manifest) => vec![manifest],
                    Err(error) => {
                        self.error(index, path, error.to_string(), "");
                        Vec::new()
                    }
                }
            }
            _ => {
                self.error(
                    index,
                    path,
                    format!("`{path}` is neither a file path nor an inline {kind}"),
                    &format!("write a path like `canaries/podinfo.yaml`, or the {kind} itself"),
                );
                Vec::new()
            }
        }
    }
}

/// Reads every scenario (`*.yaml`, in name order) of the directory `suite`,
/// all of them before running any: a typo should not cost a suite's worth
/// of waiting. With `canary`, that Canary is released in each.
pub fn load_suite(suite: &Path, canary: Option<&Path>) -> Result<Vec<Scenario>, ScenarioError> {
    let name = suite.display().to_string();
    let entries = std::fs::read_dir(suite).map_err(|error| {
        ScenarioError::whole_file(
            &name,
            "suite.unreadable",
            format!("cannot read the suite directory: {error}"),
            "pass a directory of scenario files",
        )
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "yaml")
        })
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(ScenarioError::whole_file(
            &name,
            "suite.empty",
            "the suite holds no scenario (*.yaml)".to_owned(),
            "put scenario files in it; see scenarios/README.md",
        ));
    }
    let mut scenarios = Vec::new();
    let mut problems = Vec::new();
    for path in &paths {
        match load_with(path, canary) {
            Ok(scenario) => scenarios.push(scenario),
            Err(error) => problems.push(error),
        }
    }
    if problems.is_empty() {
        Ok(scenarios)
    } else {
        Err(InputError::combine(problems))
    }
}

/// Reads a Canary manifest file, checked as `weir validate` checks it.
pub fn load_canary(path: &Path) -> Result<Canary, ScenarioError> {
    let report = weir_validate::validate_path(path, &weir_validate::Options::default());
    let name = path.display().to_string();
    if report.error_count() > 0 {
        return Err(InputError {
            report: weir_validate::Report {
                files: vec![report],
            },
        });
    }
    let text = report.source.clone().unwrap_or_default();
    let mut canaries: Vec<Canary> = weir_validate::decode_all(&text, "Canary");
    match canaries.len() {
        1 => Ok(canaries.remove(0)),
        found => Err(ScenarioError::whole_file(
            &name,
            "canary.count",
            format!("the file holds {found} Canaries, not one"),
            "pass a file with exactly the one Canary to test",
        )),
    }
}
