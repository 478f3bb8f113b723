//! One tick of a Canary: Flagger's `advanceCanary`.
//!
//! ```text
//!  suspended? ──yes──▶ event, stop
//!  invalid?   ──yes──▶ event, stop
//!  reconcile services ▸ primary exists ▸ (initializing: primary ready?) ▸ scalers
//!  ▸ apex ▸ (initializing: scale target to 0) ▸ mesh routes ▸ Initialized
//!  idle phase and no new revision? ──▶ stop
//!  primary ready? ▸ read routes
//!  idle/Waiting: rollback gate? confirm-rollout? ──▶ Waiting | scale up, Progressing
//!  new revision during analysis? ──▶ restart
//!  canary ready? (stuck ──▶ rollback)   skipAnalysis? ──▶ promote now
//!  rollback webhook? ──▶ rollback     Promoting ▸ shift to primary   Finalising ▸ Succeeded
//!  failedChecks ≥ threshold? ──▶ rollback
//!  analysis (pre-rollout on the first interval) fails? ──▶ failedChecks+1 (rollback at threshold)
//!  strategy: canary ▸ A/B ▸ blue/green
//! ```
//!
//! Status changes accumulate on a working copy of the Canary and are written
//! once, at the end of the tick, when anything changed. Router and workload
//! changes happen before that write, as in Flagger, and are idempotent, so a
//! crash between them is repaired by the next tick.
//!
//! The simulator runs this thousands of times per second, so a tick avoids
//! work whose result nobody sees: the Canary is copied only once its status
//! changes, and not at all by [`advance_in_place`]; spec and metadata are
//! borrowed rather than cloned; and validity is checked without building
//! findings unless the Canary may be invalid.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use weir_api::checks::{CheckContext, blocking_problems};
use weir_api::{
    AlertSeverity, Canary, CanaryAnalysis, CanaryPhase, CanarySpec, CanaryStatus, CanaryWebhook,
    Provider, Strategy,
};

use crate::ports::{
    Event, EventType, Level, Notification, PortError, Ports, Revision, Role, Routes, RunOutcome,
    WebhookPayload,
};
use crate::readiness::{Readiness, apply_progress_deadline, judge};
use crate::status::{self, Counters};

/// Runs a port call; on failure records the error as a warning event and
/// ends the tick (Flagger's `if err != nil { recordEventWarningf; return }`).
macro_rules! attempt {
    ($tick:expr, $call:expr) => {{
        let result = $call;
        match $tick.ok(result) {
            Some(value) => value,
            None => return Decision::Interrupted,
        }
    }};
}
pub(crate) use attempt;

/// Settings that come from the controller's flags, not from the Canary.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// `-mesh-provider`: the provider of Canaries without `spec.provider`.
    pub mesh_provider: Provider,
    /// `-event-webhook`: receives every event of Canaries without event hooks.
    pub event_webhook: Option<String>,
    /// `-cluster-name`: added to alerts.
    pub cluster_name: Option<String>,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            mesh_provider: Provider::Istio,
            event_webhook: None,
            cluster_name: None,
        }
    }
}

/// Why a canary was rolled back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RollbackReason {
    /// `failedChecks` reached `threshold`.
    FailedChecks,
    /// A `rollback` webhook asked for it.
    Webhook,
    /// The canary workload made no progress before the deadline.
    CanaryStuck,
    /// The primary workload made no progress before the deadline.
    PrimaryStuck,
}

/// What a tick did, for logs, tests and the simulator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Decision {
    Suspended,
    /// The Canary has problems that stop the engine (reported as an event).
    Invalid,
    /// A port call failed (reported as an event); the next tick retries.
    Interrupted,
    WaitingForWorkload(Role),
    Initialized,
    /// No new revision to analyse.
    Idle,
    /// A `confirm-rollout` gate is closed.
    WaitingForApproval,
    /// A new revision was detected and the canary scaled up.
    Started,
    /// A new revision arrived during the analysis, which starts over.
    Restarted,
    /// The interval's checks failed.
    CheckFailed,
    /// The canary's weight went up.
    Advanced,
    /// A blue/green or A/B iteration passed.
    Iterated,
    /// A `confirm-traffic-increase` gate is closed.
    WaitingForTrafficIncrease,
    /// A `confirm-promotion` gate is closed.
    WaitingForPromotion,
    /// The primary is being updated to the canary's spec.
    Promoting,
    /// Traffic is moving back to the (promoted) primary.
    ShiftingToPrimary,
    Finalising,
    Succeeded,
    RolledBack(RollbackReason),
    /// The primary failed to roll out the promoted spec.
    PromotionFailed,
    /// `revertOnDeletion` is restoring the target.
    Terminating,
    Terminated,
}

/// The result of a tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TickOutcome {
    pub decision: Decision,
    /// When to tick again: the analysis interval.
    pub requeue_after: Duration,
}

/// Runs one tick for `canary` (the object as last read, spec and status).
pub fn advance(canary: &Canary, config: &EngineConfig, ports: &mut Ports<'_>) -> TickOutcome {
    run_tick(Working::copy_of(canary), config, ports).0
}

/// [`advance`] for a driver that keeps the Canary itself, like the simulator:
/// the tick changes `canary`'s status in place instead of a copy of the whole
/// Canary, and the ports see it changing just as they see the copy.
///
/// When it returns, `canary.status` is the status the tick last wrote through
/// [`StatusStore::write_status`](crate::ports::StatusStore::write_status), or
/// the status as read if the tick wrote none (nothing changed, or the write
/// failed). A driver whose store accepts every write can therefore keep using
/// `canary` for the next tick without copying the written status back.
pub fn advance_in_place(
    canary: &mut Canary,
    config: &EngineConfig,
    ports: &mut Ports<'_>,
) -> TickOutcome {
    let (outcome, mut working, stored) = run_tick(Working::in_place(canary), config, ports);
    working.settle(stored);
    outcome
}

/// One tick on `working`; returns what the status store holds unless it is
/// the final working status (see [`Stored`]).
fn run_tick<'t>(
    working: Working<'t>,
    config: &'t EngineConfig,
    ports: &'t mut Ports<'_>,
) -> (TickOutcome, Working<'t>, Stored) {
    let mut tick = Tick::new(working, config, ports);
    let decision = tick.run();
    let stored = if tick.persist() {
        Stored::Final
    } else {
        tick.stored.take()
    };
    let requeue_after = tick.cd.analysis().interval_or_default();
    (
        TickOutcome {
            decision,
            requeue_after,
        },
        tick.cd,
        stored,
    )
}

/// What the status store holds at the end of a tick.
#[derive(Debug, Default)]
enum Stored {
    /// The status as read.
    #[default]
    AsRead,
    /// A status written earlier in the tick (before removing the finalizer).
    Written(Box<Option<CanaryStatus>>),
    /// The tick's final status.
    Final,
}

impl Stored {
    fn take(&mut self) -> Stored {
        std::mem::take(self)
    }
}

/// The status of a Canary that has none; shared so that reading it allocates nothing.
static EMPTY_STATUS: LazyLock<CanaryStatus> = LazyLock::new(CanaryStatus::default);

/// The Canary the ports see, with the tick's status changes. Spec and
/// metadata never change during a tick; only the status is ever written.
// One per tick, on the stack: boxing the status kept aside in place would
// cost an allocation per tick, which this type exists to avoid.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Working<'t> {
    /// [`advance`]: the Canary as read until the tick first changes its
    /// status, then a copy with the changes, so a tick that changes nothing
    /// copies nothing.
    Copy {
        read: &'t Canary,
        changed: Option<Box<Canary>>,
    },
    /// [`advance_in_place`]: the driver's Canary, changed in place; its
    /// status as read is kept aside (`Some`) once the tick changes it.
    InPlace {
        canary: &'t mut Canary,
        read_status: Option<Option<CanaryStatus>>,
    },
}

impl<'t> Working<'t> {
    fn copy_of(read: &'t Canary) -> Self {
        // Ports have always been given a status, even for a Canary never
        // reconciled (an empty status, which is no change by itself).
        let changed = read.status.is_none().then(|| {
            let mut canary = Box::new(read.clone());
            canary.status = Some(CanaryStatus::default());
            canary
        });
        Working::Copy { read, changed }
    }

    fn in_place(canary: &'t mut Canary) -> Self {
        let read_status = canary.status.is_none().then(|| {
            canary.status = Some(CanaryStatus::default());
            None
        });
        Working::InPlace {
            canary,
            read_status,
        }
    }

    /// The Canary with the tick's status changes so far.
    pub(crate) fn get(&self) -> &Canary {
        match self {
            Working::Copy { read, changed } => changed.as_deref().unwrap_or(read),
            Working::InPlace { canary, .. } => canary,
        }
    }

    pub(crate) fn spec(&self) -> &CanarySpec {
        &self.get().spec
    }

    pub(crate) fn analysis(&self) -> &CanaryAnalysis {
        self.spec().analysis()
    }

    pub(crate) fn namespace(&self) -> &str {
        self.get().namespace()
    }

    /// `<name>.<namespace>`.
    pub(crate) fn name(&self) -> Dotted<'_> {
        Dotted(self.get().name(), self.namespace())
    }

    /// `<target name>.<namespace>`.
    pub(crate) fn target(&self) -> Dotted<'_> {
        Dotted(&self.spec().target_ref.name, self.namespace())
    }

    pub(crate) fn status(&self) -> &CanaryStatus {
        self.get().status.as_ref().unwrap_or(&EMPTY_STATUS)
    }

    /// The status, for changing it: the first change copies the Canary, or
    /// (in place) keeps the status as read.
    pub(crate) fn status_mut(&mut self) -> &mut CanaryStatus {
        let canary = match self {
            Working::Copy { read, changed } => {
                &mut **changed.get_or_insert_with(|| Box::new((*read).clone()))
            }
            Working::InPlace {
                canary,
                read_status,
            } => {
                read_status.get_or_insert_with(|| canary.status.clone());
                &mut **canary
            }
        };
        canary.status.get_or_insert_with(CanaryStatus::default)
    }

    /// The status as read, or `None` when the tick has not changed it.
    fn read_status_if_changed(&self) -> Option<Option<&CanaryStatus>> {
        match self {
            Working::Copy { read, changed } => changed.as_ref().map(|_| read.status.as_ref()),
            Working::InPlace { read_status, .. } => read_status.as_ref().map(Option::as_ref),
        }
    }

    /// In place: leaves the Canary with the status its store holds.
    fn settle(&mut self, stored: Stored) {
        let Working::InPlace {
            canary,
            read_status,
        } = self
        else {
            return;
        };
        match stored {
            Stored::Final => {}
            Stored::Written(status) => canary.status = *status,
            Stored::AsRead => {
                if let Some(status) = read_status.take() {
                    canary.status = status;
                }
            }
        }
    }
}

/// `<name>.<namespace>`, formatted where it is used rather than allocated first.
pub(crate) struct Dotted<'a>(&'a str, &'a str);

impl fmt::Display for Dotted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// The mutable state of one tick.
pub(crate) struct Tick<'t, 'p> {
    /// The status last written: `None` while it is the status as read.
    persisted: Option<Option<CanaryStatus>>,
    /// What the status store holds, unless the final write succeeds.
    stored: Stored,
    /// The Canary as read, with this tick's status changes.
    pub(crate) cd: Working<'t>,
    pub(crate) config: &'t EngineConfig,
    pub(crate) ports: &'t mut Ports<'p>,
    pub(crate) provider: Provider,
    pub(crate) now: Timestamp,
    revision: Option<Revision>,
}

impl<'t, 'p> Tick<'t, 'p> {
    fn new(cd: Working<'t>, config: &'t EngineConfig, ports: &'t mut Ports<'p>) -> Self {
        Tick {
            persisted: None,
            stored: Stored::AsRead,
            provider: cd.spec().provider.unwrap_or(config.mesh_provider),
            now: ports.clock.now(),
            cd,
            config,
            ports,
            revision: None,
        }
    }

    pub(crate) fn name(&self) -> Dotted<'_> {
        self.cd.name()
    }

    pub(crate) fn target(&self) -> Dotted<'_> {
        self.cd.target()
    }

    pub(crate) fn status(&self) -> &CanaryStatus {
        self.cd.status()
    }

    pub(crate) fn status_mut(&mut self) -> &mut CanaryStatus {
        self.cd.status_mut()
    }

    pub(crate) fn phase(&self) -> CanaryPhase {
        self.status().phase
    }

    /// Writes the status if the tick changed it; whether it was written.
    fn persist(&mut self) -> bool {
        // Untouched since it was read: nothing to write.
        let Some(read) = self.cd.read_status_if_changed() else {
            return false;
        };
        let original = match &self.persisted {
            Some(persisted) => persisted.as_ref(),
            None => read,
        };
        // A Canary that was never reconciled has no status; an empty one is no change.
        let empty = &*EMPTY_STATUS;
        if self.cd.status() == original.unwrap_or(empty) {
            return false;
        }
        let kind = self.cd.spec().target_ref.kind;
        let now = self.now;
        let status = self.status_mut();
        status.last_transition_time = Some(Time(now));
        status::update_condition(status, kind, now);
        if let Err(error) = self.ports.status.write_status(self.cd.get()) {
            self.warn(format!(
                "failed to update status of {}: {error}",
                self.name()
            ));
            return false;
        }
        true
    }

    // ---------------------------------------------------------------- events

    /// Records an event with the Canary's current phase.
    pub(crate) fn info(&mut self, message: impl Into<String>) {
        let phase = self.phase();
        self.event(EventType::Normal, message.into(), phase);
    }

    /// Records a warning event with the Canary's current phase.
    pub(crate) fn warn(&mut self, message: impl Into<String>) {
        let phase = self.phase();
        self.event(EventType::Warning, message.into(), phase);
    }

    /// Records an event and forwards it to the event webhooks (Flagger's
    /// `recordEvent*` + `sendEventToWebhook`).
    pub(crate) fn event(&mut self, event_type: EventType, message: String, phase: CanaryPhase) {
        let level = match event_type {
            EventType::Normal => Level::Info,
            EventType::Warning => Level::Warn,
        };
        self.ports.telemetry.log(self.cd.get(), level, &message);
        let event = Event {
            event_type,
            message,
            phase,
        };
        self.ports.events.record(self.cd.get(), &event);

        // Canary event hooks replace the global event webhook, which Flagger
        // calls as a hook named `events` with the default timeout and no
        // retries.
        let mut targets: Vec<std::borrow::Cow<'_, CanaryWebhook>> = self
            .cd
            .analysis()
            .webhooks_of(weir_api::WebhookType::Event)
            .map(std::borrow::Cow::Borrowed)
            .collect();
        if targets.is_empty() {
            targets.extend(self.config.event_webhook.iter().map(|url| {
                std::borrow::Cow::Owned(CanaryWebhook {
                    name: "events".to_owned(),
                    r#type: weir_api::WebhookType::Event,
                    url: url.clone(),
                    ..CanaryWebhook::default()
                })
            }));
        }
        if targets.is_empty() {
            return;
        }
        let metadata = BTreeMap::from([
            ("eventMessage".to_owned(), event.message),
            ("eventType".to_owned(), event_type.as_str().to_owned()),
            (
                "timestamp".to_owned(),
                self.now.as_millisecond().to_string(),
            ),
        ]);
        for hook in &targets {
            let mut metadata = metadata.clone();
            for (key, value) in hook.metadata.iter().flatten() {
                metadata.entry(key.clone()).or_insert_with(|| value.clone());
            }
            let payload = self.payload(phase, Some(metadata));
            if let Err(error) = self.ports.webhooks.call_event(hook, &payload) {
                self.ports.telemetry.log(
                    self.cd.get(),
                    Level::Error,
                    &format!("error sending event to webhook: {error}"),
                );
            }
        }
    }

    /// A webhook payload for `phase`.
    pub(crate) fn payload(
        &self,
        phase: CanaryPhase,
        metadata: Option<BTreeMap<String, String>>,
    ) -> WebhookPayload {
        WebhookPayload {
            name: self.cd.get().name().to_owned(),
            namespace: self.cd.namespace().to_owned(),
            phase,
            checksum: status::checksum(self.status()),
            metadata,
        }
    }

    /// Sends an alert to the Canary's alert providers (or the global
    /// notifier) whose severity subscription covers `severity`.
    pub(crate) fn alert(
        &mut self,
        message: impl Into<String>,
        with_metadata: bool,
        severity: AlertSeverity,
    ) {
        let mut fields = Vec::new();
        if let Some(cluster) = &self.config.cluster_name {
            fields.push(("Cluster".to_owned(), cluster.clone()));
        }
        if with_metadata {
            fields.extend(self.alert_metadata());
        }
        let notification = Notification {
            canary_name: self.cd.get().name().to_owned(),
            namespace: self.cd.namespace().to_owned(),
            message: message.into(),
            fields,
            severity,
        };
        let alerts = &self.cd.analysis().alerts;
        if alerts.is_empty() {
            if let Err(error) = self.ports.alerts.send_global(&notification) {
                self.ports.telemetry.log(
                    self.cd.get(),
                    Level::Error,
                    &format!("alert can't be sent: {error}"),
                );
            }
            return;
        }
        for alert in alerts {
            // Unlike Flagger, an alert without severity is sent as info (§18 #1).
            if !alert.severity.receives(severity) {
                continue;
            }
            let mut provider = alert.provider_ref.clone();
            if provider.namespace.as_deref().unwrap_or_default().is_empty() {
                provider.namespace = Some(self.cd.namespace().to_owned());
            }
            if let Err(error) = self.ports.alerts.send(&provider, &notification) {
                let message = format!(
                    "alert provider {}.{} send error: {error}",
                    provider.name,
                    provider.namespace.as_deref().unwrap_or_default()
                );
                self.ports
                    .telemetry
                    .log(self.cd.get(), Level::Error, &message);
            }
        }
    }

    fn alert_metadata(&self) -> Vec<(String, String)> {
        let spec = self.cd.spec();
        let analysis = spec.analysis();
        let mut fields = vec![
            (
                "Target".to_owned(),
                format!("{}/{}", spec.target_ref.kind.as_str(), self.target()),
            ),
            (
                "Failed checks threshold".to_owned(),
                analysis.threshold_or_default().to_string(),
            ),
            (
                "Progress deadline".to_owned(),
                format!("{}s", spec.progress_deadline().as_secs()),
            ),
        ];
        let routing = if analysis.step_weight > 0 {
            Some(format!(
                "Weight step: {} max: {}",
                analysis.step_weight,
                analysis.max_weight_or_default()
            ))
        } else if !analysis.step_weights.is_empty() {
            let steps: Vec<String> = analysis
                .step_weights
                .iter()
                .map(ToString::to_string)
                .collect();
            Some(format!(
                "Weight steps: {} max: {}",
                steps.join(","),
                analysis.max_weight_or_default()
            ))
        } else if !analysis.r#match.is_empty() {
            Some("A/B Testing".to_owned())
        } else if analysis.iterations > 0 {
            Some("Blue/Green".to_owned())
        } else {
            None
        };
        if let Some(routing) = routing {
            fields.push(("Traffic routing".to_owned(), routing));
        }
        fields
    }

    /// Turns a port error into a warning event (Flagger's `recordEventWarningf("%v", err)`).
    pub(crate) fn ok<T>(&mut self, result: Result<T, PortError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.warn(error.0);
                None
            }
        }
    }

    // ------------------------------------------------------------- revisions

    /// Reads the target's revision into `self.revision`, once per tick.
    fn load_revision(&mut self) -> Result<(), PortError> {
        if self.revision.is_none() {
            self.revision = Some(self.ports.workloads.revision(self.cd.get())?);
        }
        Ok(())
    }

    /// Whether the target's revision differs from the one in status.
    fn revision_changed(&mut self) -> Result<bool, PortError> {
        self.load_revision()?;
        Ok(self
            .revision
            .as_ref()
            .is_some_and(|revision| status::has_revision_changed(self.cd.status(), revision)))
    }

    /// Flagger's `SyncStatus`.
    pub(crate) fn sync_status(&mut self, phase: CanaryPhase, counters: Counters) -> Option<()> {
        let loaded = self.load_revision();
        self.ok(loaded)?;
        if let Some(revision) = &self.revision {
            status::sync(self.cd.status_mut(), phase, counters, revision);
        }
        Some(())
    }

    pub(crate) fn set_phase(&mut self, phase: CanaryPhase) {
        status::set_phase(self.status_mut(), phase);
    }

    // ---------------------------------------------------------------- routes

    /// Sets routes, first updating the session-affinity cookies in status so
    /// the router can read them (Flagger has the router change the in-memory
    /// object, §18 #19).
    pub(crate) fn set_routes(&mut self, routes: Routes) -> Option<()> {
        if let Some(affinity) = &self.cd.analysis().session_affinity
            && self.provider.supports_session_affinity()
        {
            if routes.canary != 0 {
                // New cookies are worked out while the spec is borrowed, then
                // stored; the canary's cookie draws its letters first.
                let status = self.cd.status();
                let canary_cookie = status.session_affinity_cookie.is_empty().then(|| {
                    let value = self.ports.entropy.letters(10);
                    format!("{}={value}", affinity.cookie_name)
                });
                let primary_cookie = affinity
                    .primary_cookie_name
                    .as_ref()
                    .filter(|name| !name.is_empty())
                    .filter(|_| status.primary_session_affinity_cookie.is_empty())
                    .map(|primary_cookie| {
                        let value = self.ports.entropy.letters(10);
                        format!("{primary_cookie}={value}")
                    });
                if let Some(cookie) = canary_cookie {
                    self.status_mut().session_affinity_cookie = cookie;
                }
                if let Some(cookie) = primary_cookie {
                    self.status_mut().primary_session_affinity_cookie = cookie;
                }
            } else if !self.status().session_affinity_cookie.is_empty() {
                let status = self.status_mut();
                status.previous_session_affinity_cookie =
                    std::mem::take(&mut status.session_affinity_cookie);
            }
        }
        let result = self.ports.routing.set_routes(self.cd.get(), routes);
        self.ok(result)?;
        self.ports.telemetry.set_weight(self.cd.get(), routes);
        Some(())
    }

    // ------------------------------------------------------------- readiness

    /// Judges the primary or canary workload, keeping the progress-deadline
    /// anchor in status.
    pub(crate) fn readiness(&mut self, role: Role) -> Readiness {
        let state = match self.ports.workloads.state(self.cd.get(), role) {
            Ok(state) => state,
            // Flagger treats read errors as retriable.
            Err(error) => return Readiness::Waiting(error.0),
        };
        let analysis = self.cd.analysis();
        let threshold = match role {
            Role::Primary => analysis.primary_ready_threshold_or_default(),
            Role::Canary => analysis.canary_ready_threshold_or_default(),
        };
        let deadline = self.cd.spec().progress_deadline();
        let verdict = judge(
            &state,
            role,
            self.cd.namespace(),
            threshold,
            deadline,
            self.now,
        );
        let (verdict, anchor) = apply_progress_deadline(
            verdict,
            &state,
            self.status().workload_wait.as_ref(),
            deadline,
            self.now,
        );
        // Only a different anchor is a change (and worth copying the Canary for).
        if self.status().workload_wait != anchor {
            self.status_mut().workload_wait = anchor;
        }
        verdict
    }

    /// Writes the status now (before an action that must follow the write).
    pub(crate) fn persist_now(&mut self) {
        let written = self.persist();
        let status = self.cd.get().status.clone();
        if written {
            self.stored = Stored::Written(Box::new(status.clone()));
        }
        self.persisted = Some(status);
    }

    pub(crate) fn has_scaler(&self) -> bool {
        self.cd.spec().autoscaler_ref.is_some()
    }

    // ------------------------------------------------------------------ tick

    fn run(&mut self) -> Decision {
        if self.cd.get().metadata.deletion_timestamp.is_some() {
            return self.finalize();
        }
        if self.cd.spec().suspend {
            // Flagger records this every tick (§18 #18); Kubernetes folds the
            // repeats into one event with a count, and users rely on seeing it.
            self.info("skipping canary run as object is suspended");
            return Decision::Suspended;
        }
        let context = CheckContext {
            mesh_provider: self.config.mesh_provider,
        };
        if let Some(problems) = blocking_problems(self.cd.get(), &context) {
            self.warn(format!(
                "Canary {} is invalid and will not progress: {problems}",
                self.name()
            ));
            return Decision::Invalid;
        }
        if self.phase() == CanaryPhase::Unset {
            self.status_mut().phase = CanaryPhase::Initializing;
        }
        let skip_analysis = self.cd.spec().skips_analysis();
        let initializing = self.phase().is_initializing();

        // Services, primary, scalers and routes are reconciled on every tick,
        // in every phase, so manual edits to generated objects are reverted
        // (§18 #32, kept).
        attempt!(self, self.ports.routing.reconcile_services(self.cd.get()));
        if !skip_analysis && initializing {
            match self.ports.metrics.check_providers(self.cd.get()) {
                Ok(()) => self.info("all the metrics providers are available!"),
                // Never blocks initialization (§18 #27): the provider may come up later.
                Err(error) => self.warn(format!("Error checking metric providers: {error}")),
            }
        }
        // App Mesh must know the virtual nodes before the primary's pods start,
        // or they are not injected with the Envoy sidecar.
        if self.provider.is_app_mesh() {
            attempt!(self, self.ports.routing.reconcile_mesh(self.cd.get()));
        }
        attempt!(self, self.ports.workloads.ensure_primary(self.cd.get()));
        if initializing && !skip_analysis {
            match self.readiness(Role::Primary) {
                Readiness::Ready => {}
                Readiness::Waiting(message) => {
                    self.warn(message);
                    return Decision::WaitingForWorkload(Role::Primary);
                }
                Readiness::Stuck(message) => {
                    self.warn(message);
                    return self.rollback(RollbackReason::PrimaryStuck);
                }
            }
        }
        if self.has_scaler() {
            attempt!(
                self,
                self.ports.scalers.reconcile_primary(self.cd.get(), true)
            );
            if initializing {
                attempt!(self, self.ports.scalers.pause_target(self.cd.get()));
            }
        }
        attempt!(self, self.ports.routing.reconcile_apex(self.cd.get()));
        if initializing && let Err(error) = self.ports.workloads.scale_to_zero(self.cd.get()) {
            let kind = self.cd.spec().target_ref.kind.as_str();
            self.warn(format!(
                "scaling down canary {kind} {} failed: {error}",
                self.target()
            ));
            return Decision::Interrupted;
        }
        // Taking over an existing VirtualService or Ingress happens after the
        // primary is ready, so that traffic never points at missing pods.
        if !self.provider.is_app_mesh() {
            attempt!(self, self.ports.routing.reconcile_mesh(self.cd.get()));
        }
        if initializing {
            if self
                .sync_status(CanaryPhase::Initialized, Counters::default())
                .is_none()
            {
                return Decision::Interrupted;
            }
            self.ports
                .telemetry
                .set_status(self.cd.get(), CanaryPhase::Initialized);
            self.info(format!("Initialization done! {}", self.name()));
            let kind = self.cd.spec().target_ref.kind.as_str();
            self.alert(
                format!("New {kind} detected, initialization completed."),
                true,
                AlertSeverity::Info,
            );
            // Flagger carries on with the tick, but the revision was just
            // recorded, so there is nothing more to do until it changes.
            return Decision::Initialized;
        }

        let phase = self.phase();
        if !phase.is_running() {
            // Only compared here; recorded when the analysis starts, so a tick
            // that stops early cannot lose the new revision (§18 #31).
            if !attempt!(self, self.revision_changed()) {
                self.ports.telemetry.set_status(self.cd.get(), phase);
                return Decision::Idle;
            }
        }
        if !skip_analysis {
            match self.readiness(Role::Primary) {
                Readiness::Ready => {}
                Readiness::Waiting(message) => {
                    self.warn(message);
                    return Decision::WaitingForWorkload(Role::Primary);
                }
                Readiness::Stuck(message)
                    if matches!(phase, CanaryPhase::Promoting | CanaryPhase::Finalising) =>
                {
                    return self.fail_promotion(&message);
                }
                Readiness::Stuck(message) => {
                    self.warn(message);
                    return self.rollback(RollbackReason::PrimaryStuck);
                }
            }
        }
        let routes = attempt!(self, self.ports.routing.routes(self.cd.get()));
        self.ports.telemetry.set_weight(self.cd.get(), routes);
        self.ports.telemetry.set_status(self.cd.get(), phase);

        if matches!(
            phase,
            CanaryPhase::Initialized
                | CanaryPhase::Succeeded
                | CanaryPhase::Failed
                | CanaryPhase::Waiting
        ) {
            return self.start_or_wait(phase);
        }
        if matches!(
            phase,
            CanaryPhase::Progressing | CanaryPhase::WaitingPromotion
        ) && attempt!(self, self.revision_changed())
        {
            if self.set_routes(Routes::ALL_PRIMARY).is_none()
                || self
                    .sync_status(CanaryPhase::Progressing, Counters::default())
                    .is_none()
            {
                return Decision::Interrupted;
            }
            self.info(format!(
                "New revision detected! Restarting analysis for {}",
                self.target()
            ));
            return Decision::Restarted;
        }
        match self.readiness(Role::Canary) {
            Readiness::Ready => {}
            Readiness::Waiting(message) => {
                // Waiting for the canary is never a failed check.
                self.warn(message);
                return Decision::WaitingForWorkload(Role::Canary);
            }
            Readiness::Stuck(message) => {
                // Flagger means to say this but never gets here (§18 #4).
                self.warn(format!(
                    "Rolling back {} progress deadline exceeded {message}",
                    self.name()
                ));
                self.alert(
                    format!("Progress deadline exceeded {message}"),
                    false,
                    AlertSeverity::Error,
                );
                return self.rollback(RollbackReason::CanaryStuck);
            }
        }
        if skip_analysis {
            return self.promote_without_analysis();
        }
        if matches!(
            phase,
            CanaryPhase::Progressing | CanaryPhase::WaitingPromotion
        ) && self.rollback_requested(phase)
        {
            return self.manual_rollback();
        }
        if phase == CanaryPhase::Promoting {
            if self.has_scaler() {
                attempt!(
                    self,
                    self.ports.scalers.reconcile_primary(self.cd.get(), false)
                );
            }
            return self.shift_to_primary(routes);
        }
        if phase == CanaryPhase::Finalising {
            return self.finish();
        }
        let threshold = self.cd.analysis().threshold_or_default();
        if self.status().failed_checks >= threshold {
            return self.rollback(RollbackReason::FailedChecks);
        }

        let mirror = self.cd.analysis().mirror;
        let first_interval =
            routes.canary == 0 && self.status().iterations == 0 && !(mirror && routes.mirrored);
        let passed = if first_interval {
            self.info(format!("Starting canary analysis for {}", self.target()));
            self.pre_rollout(routes)
        } else {
            self.analyse(routes)
        };
        if !passed {
            // Flagger compares with the threshold only at the start of the
            // next tick; its docs and users expect the rollback as soon as the
            // threshold is reached (§18 #5), which also spares the users one
            // more interval of a bad canary.
            if self.status().failed_checks >= threshold {
                return self.rollback(RollbackReason::FailedChecks);
            }
            return Decision::CheckFailed;
        }
        self.run_strategy(routes, first_interval)
    }

    /// Flagger's `checkCanaryStatus` for a Canary that is not running an
    /// analysis: start one, or wait for approval.
    fn start_or_wait(&mut self, phase: CanaryPhase) -> Decision {
        // Flagger documents rollback webhooks for Waiting but never calls them
        // there (§18 #3); a rejected revision ends Failed and is not retried.
        if phase == CanaryPhase::Waiting && self.rollback_requested(phase) {
            return self.manual_rollback();
        }
        if !self.confirm_rollout(phase) {
            return Decision::WaitingForApproval;
        }
        self.event(
            EventType::Normal,
            format!("New revision detected! Scaling up {}", self.target()),
            CanaryPhase::Progressing,
        );
        self.alert(
            "New revision detected, progressing canary analysis.",
            true,
            AlertSeverity::Info,
        );
        if self.has_scaler() {
            attempt!(self, self.ports.scalers.resume_target(self.cd.get()));
        }
        attempt!(self, self.ports.workloads.scale_from_zero(self.cd.get()));
        if self
            .sync_status(CanaryPhase::Progressing, Counters::default())
            .is_none()
        {
            return Decision::Interrupted;
        }
        self.ports
            .telemetry
            .set_status(self.cd.get(), CanaryPhase::Progressing);
        Decision::Started
    }

    /// A `rollback` webhook asked for it.
    fn manual_rollback(&mut self) -> Decision {
        self.warn(format!(
            "Rolling back {} manual webhook invoked",
            self.name()
        ));
        self.alert(
            "Rolling back manual webhook invoked",
            false,
            AlertSeverity::Warn,
        );
        self.rollback(RollbackReason::Webhook)
    }

    /// Routes everything to the primary, scales the canary down and marks
    /// the run Failed.
    pub(crate) fn rollback(&mut self, reason: RollbackReason) -> Decision {
        let failed_checks = self.status().failed_checks;
        if failed_checks >= self.cd.analysis().threshold_or_default() {
            self.warn(format!(
                "Rolling back {} failed checks threshold reached {failed_checks}",
                self.name()
            ));
            self.alert(
                format!("Failed checks threshold reached {failed_checks}"),
                false,
                AlertSeverity::Error,
            );
        }
        if self.set_routes(Routes::ALL_PRIMARY).is_none() {
            return Decision::Interrupted;
        }
        self.event(
            EventType::Warning,
            format!("Canary failed! Scaling down {}", self.name()),
            CanaryPhase::Failed,
        );
        if self.has_scaler() {
            attempt!(self, self.ports.scalers.pause_target(self.cd.get()));
        }
        attempt!(self, self.ports.workloads.scale_to_zero(self.cd.get()));
        let counters = Counters {
            canary_weight: 0,
            failed_checks,
            iterations: 0,
        };
        if self.fail(counters).is_none() {
            return Decision::Interrupted;
        }
        Decision::RolledBack(reason)
    }

    /// The primary did not roll out the promoted spec: keep serving from the
    /// canary (Flagger v1.44's `handleFailedPromotion`).
    fn fail_promotion(&mut self, message: &str) -> Decision {
        self.warn(format!(
            "Promotion of {} failed, primary not ready: {message}",
            self.target()
        ));
        self.alert(
            format!("Promotion failed, primary not ready: {message}"),
            false,
            AlertSeverity::Error,
        );
        if self.set_routes(Routes::ALL_CANARY).is_none() {
            return Decision::Interrupted;
        }
        let counters = Counters {
            canary_weight: 100,
            failed_checks: self.status().failed_checks,
            iterations: 0,
        };
        if self.fail(counters).is_none() {
            return Decision::Interrupted;
        }
        Decision::PromotionFailed
    }

    /// Flagger's `shouldSkipAnalysis`: promote as soon as the canary is ready.
    fn promote_without_analysis(&mut self) -> Decision {
        if self.set_routes(Routes::ALL_PRIMARY).is_none() {
            return Decision::Interrupted;
        }
        self.announce_promotion();
        attempt!(self, self.ports.workloads.promote(self.cd.get()));
        if self.has_scaler() {
            attempt!(
                self,
                self.ports.scalers.reconcile_primary(self.cd.get(), false)
            );
            attempt!(self, self.ports.scalers.pause_target(self.cd.get()));
        }
        attempt!(self, self.ports.workloads.scale_to_zero(self.cd.get()));
        self.succeed(true);
        self.info(format!(
            "Promotion completed! Canary analysis was skipped for {}",
            self.target()
        ));
        self.alert(
            "Canary analysis was skipped, promotion finished.",
            false,
            AlertSeverity::Info,
        );
        Decision::Succeeded
    }

    /// Finalising: the primary serves all traffic; scale the canary down.
    fn finish(&mut self) -> Decision {
        if self.has_scaler() {
            attempt!(self, self.ports.scalers.pause_target(self.cd.get()));
        }
        attempt!(self, self.ports.workloads.scale_to_zero(self.cd.get()));
        self.succeed(false);
        self.info(format!(
            "Promotion completed! Scaling down {}",
            self.target()
        ));
        self.alert(
            "Canary analysis completed successfully, promotion finished.",
            false,
            AlertSeverity::Info,
        );
        Decision::Succeeded
    }

    /// The event Flagger records before copying the canary's spec to the primary.
    pub(crate) fn announce_promotion(&mut self) {
        self.info(format!(
            "Copying {} template spec to {}.{}",
            self.target(),
            self.cd.spec().primary_workload_name(),
            self.cd.namespace()
        ));
    }

    /// Ends the run as Succeeded: status, metrics, post-rollout hooks.
    fn succeed(&mut self, analysis_skipped: bool) {
        self.set_phase(CanaryPhase::Succeeded);
        self.finished(RunOutcome::Succeeded { analysis_skipped });
        self.post_rollout(CanaryPhase::Succeeded);
    }

    /// Ends the run as Failed: status, metrics, post-rollout hooks.
    fn fail(&mut self, counters: Counters) -> Option<()> {
        self.sync_status(CanaryPhase::Failed, counters)?;
        self.finished(RunOutcome::Failed);
        self.post_rollout(CanaryPhase::Failed);
        Some(())
    }

    fn finished(&mut self, outcome: RunOutcome) {
        let phase = self.phase();
        self.ports.telemetry.set_status(self.cd.get(), phase);
        let strategy = self.strategy();
        self.ports
            .telemetry
            .run_finished(self.cd.get(), strategy, outcome);
    }

    /// The strategy actually run: the kubernetes provider can only do blue/green.
    pub(crate) fn strategy(&self) -> Strategy {
        if self.provider == Provider::Kubernetes {
            Strategy::BlueGreen
        } else {
            self.cd.spec().strategy()
        }
    }

    /// `revertOnDeletion`: give the target its traffic back, then let the
    /// Canary go.
    fn finalize(&mut self) -> Decision {
        if !self.cd.spec().revert_on_deletion {
            return Decision::Idle;
        }
        if !matches!(
            self.phase(),
            CanaryPhase::Terminating | CanaryPhase::Terminated
        ) {
            self.set_phase(CanaryPhase::Terminating);
            self.info(format!("Terminating canary {}", self.name()));
        }
        if self.has_scaler() {
            attempt!(self, self.ports.scalers.resume_target(self.cd.get()));
        }
        attempt!(self, self.ports.workloads.revert(self.cd.get()));
        // Pointing the apex Service at pods that are not ready would drop
        // traffic, so wait for the target however long it takes.
        match self.readiness(Role::Canary) {
            Readiness::Ready => {}
            Readiness::Waiting(message) | Readiness::Stuck(message) => {
                self.warn(message);
                return Decision::Terminating;
            }
        }
        attempt!(self, self.ports.routing.finalize(self.cd.get()));
        self.set_phase(CanaryPhase::Terminated);
        self.persist_now();
        attempt!(self, self.ports.status.remove_finalizer(self.cd.get()));
        self.info(format!("Terminated canary {}", self.name()));
        Decision::Terminated
    }
}

#[cfg(test)]
mod in_place_tests;
