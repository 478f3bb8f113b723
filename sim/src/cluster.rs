//! The simulated cluster: the target and primary Deployments, their pods,
//! and an HPA, behind the engine's `Workloads` port.
//!
//! ```text
//!   template change / scale up ──▶ new pods, each ready after a startup delay
//!   all new pods ready          ──▶ old pods terminate (a surge rollout)
//!   pods of a `neverReady` revision never become ready (progress deadline)
//!   pods of a `crashAfter` revision crash, back off 10s·2ⁿ (≤ 5m), restart
//! ```
//!
//! The Deployment status the engine reads (replicas, updated, available,
//! the `ProgressDeadlineExceeded` condition, `Available=False` since) is
//! derived from the pods at the current virtual time, as the Deployment
//! controller would report it. ConfigMap and Secret changes alter the
//! tracked checksums without restarting pods, as in Kubernetes.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::Rng;
use rand_distr::{Distribution, LogNormal};
use weir_api::Canary;
use weir_engine::ports::{DeploymentState, PortError, Revision, Role, WorkloadState, Workloads};

use crate::scenario::{Hpa, Pods, Startup};
use crate::time::SimTime;

/// z of the 99th percentile of a standard normal: fits a lognormal through
/// a median and a p99.
const Z_99: f64 = 2.326_347_874;

/// Kubernetes' crash-loop back-off: 10 s, doubling, capped at 5 min.
const BACKOFF_START: Duration = Duration::from_secs(10);
const BACKOFF_CAP: Duration = Duration::from_secs(300);

/// Age of the pods that run when the simulation starts: far past warm-ups
/// and scheduled behaviour changes, which belong to new revisions.
const PREEXISTING_AGE: Duration = Duration::from_secs(86_400);

/// How long the HPA waits before acting on a lower recommendation
/// (Kubernetes' default scale-down stabilization window).
const SCALE_DOWN_STABILIZATION: Duration = Duration::from_secs(300);

/// How many crash cycles are drawn per pod up front; after the last one the
/// pod stays down, which no rollout analysis outlives.
const CRASH_CYCLES: usize = 16;

/// A draw from the lognormal through `startup.median` and `startup.p99`.
pub fn startup_delay(rng: &mut impl Rng, startup: Startup) -> Duration {
    let median = startup.median.as_secs_f64().max(1e-3);
    let p99 = startup.p99.as_secs_f64().max(median);
    let sigma = (p99 / median).ln() / Z_99;
    match LogNormal::new(median.ln(), sigma) {
        Ok(distribution) => Duration::from_secs_f64(distribution.sample(rng)),
        Err(_) => Duration::from_secs_f64(median),
    }
}

/// One pod: when it is ready, in intervals of virtual time.
#[derive(Clone, Debug, PartialEq)]
struct Pod {
    /// The revision (behaviour) it runs.
    revision: String,
    /// The template it was created from.
    template: String,
    /// `[from, until)` intervals in which the pod is ready.
    ready: Vec<(SimTime, SimTime)>,
    /// The pod ran before the simulation started (the target's pods when
    /// the Canary is applied): it is long past any warm-up.
    preexisting: bool,
}

impl Pod {
    fn is_ready(&self, now: SimTime) -> bool {
        self.ready
            .iter()
            .any(|&(from, until)| from <= now && now < until)
    }

    /// The first time after `now` at which readiness changes.
    fn next_change(&self, now: SimTime) -> Option<SimTime> {
        self.ready
            .iter()
            .flat_map(|&(from, until)| [from, until])
            .filter(|&time| time > now)
            .min()
    }

    fn first_ready(&self) -> Option<SimTime> {
        self.ready.first().map(|&(from, _)| from)
    }
}

/// What a revision's pods do, as the cluster needs it.
#[derive(Clone, Debug, PartialEq)]
pub struct PodBehaviour {
    pub startup: Startup,
    pub never_ready: bool,
    pub crash_after: Option<Duration>,
}

impl PodBehaviour {
    pub fn new(pods: &Pods, default_startup: Startup) -> PodBehaviour {
        PodBehaviour {
            startup: pods.startup.unwrap_or(default_startup),
            never_ready: pods.never_ready,
            crash_after: pods.crash_after.map(|span| span.0),
        }
    }
}

/// A simulated Deployment.
#[derive(Clone, Debug)]
pub struct Deployment {
    pub name: String,
    /// The pod template: the revision name plus a counter of restarts.
    pub template: String,
    /// The revision (behaviour) new pods run.
    pub revision: String,
    pub generation: i64,
    /// `spec.replicas`.
    pub desired: u32,
    pods: Vec<Pod>,
    /// When the current rollout last made progress (Kubernetes' progress
    /// deadline counts from there).
    last_progress: SimTime,
    /// When availability fell below what the rollout strategy allows.
    unavailable_since: Option<SimTime>,
    /// Since when the HPA has recommended fewer replicas.
    lower_since: Option<SimTime>,
}

impl Deployment {
    fn new(name: &str, revision: &str, desired: u32) -> Deployment {
        Deployment {
            name: name.to_owned(),
            template: revision.to_owned(),
            revision: revision.to_owned(),
            generation: 1,
            desired,
            pods: Vec::new(),
            last_progress: SimTime::ZERO,
            unavailable_since: None,
            lower_since: None,
        }
    }

    /// Ready pods per revision at `now`.
    pub fn ready_pods(&self, now: SimTime) -> BTreeMap<&str, u32> {
        let mut ready = BTreeMap::new();
        for pod in self.pods.iter().filter(|pod| pod.is_ready(now)) {
            *ready.entry(pod.revision.as_str()).or_default() += 1;
        }
        ready
    }

    /// When the first pod of `revision` became ready in this Deployment.
    pub fn revision_started(&self, revision: &str) -> Option<SimTime> {
        self.pods
            .iter()
            .filter(|pod| pod.revision == revision)
            .filter_map(Pod::first_ready)
            .min()
    }

    /// How long `revision` has been serving in this Deployment at `at`, in
    /// seconds: what its behaviour's changes and warm-up count from. Pods
    /// that ran before the simulation started are a day old at the start.
    pub fn revision_age(&self, revision: &str, at: SimTime) -> f64 {
        let pods = self.pods.iter().filter(|pod| pod.revision == revision);
        if pods.clone().any(|pod| pod.preexisting) {
            return PREEXISTING_AGE.as_secs_f64() + at.as_secs_f64();
        }
        let started = pods.filter_map(Pod::first_ready).min().unwrap_or(at);
        at.since(started).as_secs_f64()
    }

    fn updated(&self) -> u32 {
        self.pods
            .iter()
            .filter(|pod| pod.template == self.template)
            .count() as u32
    }

    fn available(&self, now: SimTime) -> u32 {
        self.pods.iter().filter(|pod| pod.is_ready(now)).count() as u32
    }

    fn state(&self, now: SimTime, deadline: Duration) -> DeploymentState {
        let updated = self.updated();
        let available = self.available(now);
        let complete = updated >= self.desired
            && self.pods.len() as u32 == updated
            && self
                .pods
                .iter()
                .filter(|pod| pod.template == self.template)
                .all(|pod| pod.is_ready(now));
        DeploymentState {
            name: self.name.clone(),
            generation: self.generation,
            observed_generation: self.generation,
            desired_replicas: Some(self.desired as i32),
            replicas: self.pods.len() as i32,
            updated_replicas: updated as i32,
            available_replicas: available as i32,
            progress_deadline_exceeded: !complete && now.since(self.last_progress) > deadline,
            has_progressing_condition: true,
            unavailable_since: self.unavailable_since.map(|since| since.timestamp()),
        }
    }

    /// Pod readiness changes after `now`.
    fn next_change(&self, now: SimTime) -> Option<SimTime> {
        self.pods
            .iter()
            .filter_map(|pod| pod.next_change(now))
            .min()
    }
}

/// The target (canary) and primary Deployments of one Canary.
#[derive(Debug)]
pub struct SimCluster {
    pub target: Deployment,
    pub primary: Option<Deployment>,
    /// Tracked ConfigMaps/Secrets of the target: `configmap/<name>` → checksum.
    pub configs: BTreeMap<String, String>,
    /// How often each config has changed.
    config_versions: BTreeMap<String, u64>,
    pub hpa: Option<Hpa>,
    pub now: SimTime,
    progress_deadline: Duration,
    behaviours: BTreeMap<String, PodBehaviour>,
    /// Pod startup draws and crash cycles.
    rng: rand_chacha::ChaCha8Rng,
    /// What changed, for the run's log.
    pub log: Vec<(SimTime, String)>,
}

impl SimCluster {
    /// A cluster whose target runs `revision` with `replicas` ready pods.
    pub fn new(
        target: &str,
        revision: &str,
        replicas: u32,
        behaviours: BTreeMap<String, PodBehaviour>,
        hpa: Option<Hpa>,
        progress_deadline: Duration,
        rng: rand_chacha::ChaCha8Rng,
    ) -> SimCluster {
        let mut cluster = SimCluster {
            target: Deployment::new(target, revision, replicas),
            primary: None,
            configs: BTreeMap::new(),
            config_versions: BTreeMap::new(),
            hpa,
            now: SimTime::ZERO,
            progress_deadline,
            behaviours,
            rng,
            log: Vec::new(),
        };
        // The target has been running for a while when the Canary is applied.
        let pods = (0..replicas)
            .map(|_| Pod {
                revision: revision.to_owned(),
                template: revision.to_owned(),
                ready: vec![(SimTime::ZERO, SimTime(Duration::MAX))],
                preexisting: true,
            })
            .collect();
        cluster.target.pods = pods;
        cluster
    }

    pub fn deployment(&self, role: Role) -> Option<&Deployment> {
        match role {
            Role::Canary => Some(&self.target),
            Role::Primary => self.primary.as_ref(),
        }
    }

    /// Deploys `revision` to the target (`kubectl set image`).
    pub fn deploy(&mut self, revision: &str) {
        self.target.template = format!("{revision}#{}", self.target.generation + 1);
        self.target.revision = revision.to_owned();
        self.target.generation += 1;
        let now = self.now;
        roll_out(&mut self.target, now, &self.behaviours, &mut self.rng);
    }

    /// Declares a tracked ConfigMap or Secret the target references.
    pub fn track_config(&mut self, config: &str) {
        self.configs
            .entry(config.to_owned())
            .or_insert_with(|| format!("{:016x}", 0));
    }

    /// Changes a tracked ConfigMap or Secret; the target then behaves as
    /// `revision` (pods are not restarted, as in Kubernetes).
    pub fn change_config(&mut self, config: &str, revision: Option<&str>) {
        // Checksums only need to differ between versions of a config.
        let version = self.config_versions.entry(config.to_owned()).or_default();
        *version += 1;
        self.configs
            .insert(config.to_owned(), format!("{:016x}", *version));
        if let Some(revision) = revision {
            self.target.revision = revision.to_owned();
            for pod in &mut self.target.pods {
                pod.revision = revision.to_owned();
            }
        }
    }

    /// The earliest pod readiness change after `now`.
    pub fn next_change(&self) -> Option<SimTime> {
        [
            self.target.next_change(self.now),
            self.primary
                .as_ref()
                .and_then(|primary| primary.next_change(self.now)),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Moves the clock; records rollouts finishing and availability changes.
    pub fn advance_to(&mut self, now: SimTime) {
        self.now = now;
        for deployment in [Some(&mut self.target), self.primary.as_mut()]
            .into_iter()
            .flatten()
        {
            settle(deployment, now, &mut self.log);
        }
    }

    /// The HPA's decision: replicas for `rps` of load, within its bounds.
    /// An HPA does not scale a Deployment that has 0 replicas (Flagger's
    /// scaled-to-zero canary stays at 0).
    pub fn autoscale(&mut self, role: Role, rps: f64) {
        let Some(hpa) = self.hpa.clone() else {
            return;
        };
        let now = self.now;
        let deployment = match role {
            Role::Canary => &mut self.target,
            Role::Primary => match self.primary.as_mut() {
                Some(primary) => primary,
                None => return,
            },
        };
        if deployment.desired == 0 {
            return;
        }
        let wanted = ((rps / hpa.target_rps_per_pod).ceil() as u32)
            .clamp(hpa.min_replicas, hpa.max_replicas);
        // Scale up at once; scale down only after lower recommendations
        // for the whole stabilization window, as the HPA does.
        let wanted = if wanted < deployment.desired {
            let since = *deployment.lower_since.get_or_insert(now);
            if now.since(since) < SCALE_DOWN_STABILIZATION {
                deployment.desired
            } else {
                wanted
            }
        } else {
            deployment.lower_since = None;
            wanted
        };
        if wanted != deployment.desired {
            deployment.lower_since = None;
            deployment.desired = wanted;
            roll_out(deployment, now, &self.behaviours, &mut self.rng);
        }
    }
}

/// Brings the Deployment's pods in line with its spec: new pods for a new
/// template or more replicas, fewer pods for fewer replicas.
fn roll_out(
    deployment: &mut Deployment,
    now: SimTime,
    behaviours: &BTreeMap<String, PodBehaviour>,
    rng: &mut impl Rng,
) {
    let updated = deployment.updated();
    let desired = deployment.desired;
    if updated > desired {
        // Scale down: the newest pods of the current template go first.
        let mut excess = updated - desired;
        deployment.pods.retain(|pod| {
            let remove = excess > 0 && pod.template == deployment.template;
            if remove {
                excess -= 1;
            }
            !remove
        });
    }
    let behaviour = behaviours.get(&deployment.revision).cloned();
    for _ in updated..desired {
        let ready = match &behaviour {
            Some(behaviour) => ready_intervals(now, behaviour, rng),
            None => vec![(now, SimTime(Duration::MAX))],
        };
        deployment.pods.push(Pod {
            revision: deployment.revision.clone(),
            template: deployment.template.clone(),
            ready,
            preexisting: false,
        });
    }
    if desired == 0 {
        deployment.pods.clear();
    }
    deployment.last_progress = now;
    // The Deployment controller reports lost availability as soon as the
    // new replica set is created, not at the next observation.
    track_availability(deployment, now);
}

/// `Available=False` (MinimumReplicasUnavailable) since when, if at all.
/// Kubernetes' default maxUnavailable is 25%.
fn track_availability(deployment: &mut Deployment, now: SimTime) {
    let minimum = deployment.desired - deployment.desired / 4;
    if deployment.available(now) < minimum {
        deployment.unavailable_since.get_or_insert(now);
    } else {
        deployment.unavailable_since = None;
    }
}

/// When a new pod is ready: after its startup delay, until it crashes; then
/// after a back-off and another startup, and so on.
fn ready_intervals(
    created: SimTime,
    behaviour: &PodBehaviour,
    rng: &mut impl Rng,
) -> Vec<(SimTime, SimTime)> {
    if behaviour.never_ready {
        return Vec::new();
    }
    let mut start = created + startup_delay(rng, behaviour.startup);
    let Some(crash_after) = behaviour.crash_after else {
        return vec![(start, SimTime(Duration::MAX))];
    };
    let mut intervals = Vec::with_capacity(CRASH_CYCLES);
    let mut backoff = BACKOFF_START;
    for _ in 0..CRASH_CYCLES {
        let crash = start + crash_after;
        intervals.push((start, crash));
        start = crash + backoff + startup_delay(rng, behaviour.startup);
        backoff = (backoff * 2).min(BACKOFF_CAP);
    }
    intervals
}

/// Terminates old pods once the new ones are ready, and tracks progress and
/// availability the way the Deployment controller reports them.
fn settle(deployment: &mut Deployment, now: SimTime, log: &mut Vec<(SimTime, String)>) {
    let template = deployment.template.clone();
    let new_ready = deployment
        .pods
        .iter()
        .filter(|pod| pod.template == template && pod.is_ready(now))
        .count() as u32;
    let has_old = deployment.pods.iter().any(|pod| pod.template != template);
    if has_old && new_ready >= deployment.desired {
        deployment.pods.retain(|pod| pod.template == template);
        log.push((
            now,
            format!(
                "deployment {} rolled out {} ({} pods ready)",
                deployment.name, deployment.revision, new_ready
            ),
        ));
    }
    // Progress: a pod of the current template became ready since last time.
    let latest_ready = deployment
        .pods
        .iter()
        .filter(|pod| pod.template == template)
        .flat_map(|pod| pod.ready.iter().map(|&(from, _)| from))
        .filter(|&from| from <= now)
        .max();
    if let Some(latest) = latest_ready
        && latest > deployment.last_progress
    {
        deployment.last_progress = latest;
    }
    track_availability(deployment, now);
}

/// The Flagger Deployment controller's replica rules (§12.1).
impl Workloads for SimCluster {
    fn ensure_primary(&mut self, canary: &Canary) -> Result<(), PortError> {
        if self.primary.is_some() {
            return Ok(());
        }
        let replicas = if self.target.desired > 0 {
            self.target.desired
        } else {
            1
        };
        let mut primary = Deployment::new(
            &format!("{}-primary", canary.spec.target_ref.name),
            &self.target.revision,
            replicas,
        );
        primary.template = self.target.template.clone();
        primary.last_progress = self.now;
        roll_out(&mut primary, self.now, &self.behaviours, &mut self.rng);
        self.primary = Some(primary);
        Ok(())
    }

    fn state(&mut self, _canary: &Canary, role: Role) -> Result<WorkloadState, PortError> {
        let deployment = self.deployment(role).ok_or_else(|| {
            PortError::new(format!("deployment {}-primary not found", self.target.name))
        })?;
        Ok(WorkloadState::Deployment(
            deployment.state(self.now, self.progress_deadline),
        ))
    }

    fn revision(&mut self, _canary: &Canary) -> Result<Revision, PortError> {
        Ok(Revision {
            spec_hash: self.target.template.clone(),
            tracked_configs: Some(self.configs.clone()),
        })
    }

    fn promote(&mut self, canary: &Canary) -> Result<(), PortError> {
        let now = self.now;
        let autoscaled = canary.spec.autoscaler_ref.is_some();
        let Some(primary) = self.primary.as_mut() else {
            return Err(PortError::new(format!(
                "deployment {}-primary not found",
                self.target.name
            )));
        };
        let template_changed =
            primary.template != self.target.template || primary.revision != self.target.revision;
        primary.template = self.target.template.clone();
        primary.revision = self.target.revision.clone();
        if !autoscaled && self.target.desired > 0 {
            primary.desired = self.target.desired;
        }
        if template_changed {
            primary.generation += 1;
            roll_out(primary, now, &self.behaviours, &mut self.rng);
        }
        Ok(())
    }

    fn scale_to_zero(&mut self, _canary: &Canary) -> Result<(), PortError> {
        if self.target.desired != 0 {
            self.target.desired = 0;
            self.target.generation += 1;
            roll_out(&mut self.target, self.now, &self.behaviours, &mut self.rng);
        }
        Ok(())
    }

    fn scale_from_zero(&mut self, canary: &Canary) -> Result<(), PortError> {
        let primary_replicas = self.primary.as_ref().map_or(0, |primary| primary.desired);
        let replicas = if self.target.desired > 0 {
            self.target.desired
        } else if canary.spec.autoscaler_ref.is_none() && primary_replicas > 0 {
            primary_replicas
        } else {
            match &self.hpa {
                Some(hpa) if hpa.min_replicas > 1 => hpa.min_replicas,
                _ => 1,
            }
        };
        if self.target.desired != replicas {
            self.target.desired = replicas;
            self.target.generation += 1;
            roll_out(&mut self.target, self.now, &self.behaviours, &mut self.rng);
        }
        Ok(())
    }

    fn revert(&mut self, canary: &Canary) -> Result<(), PortError> {
        match self.primary.as_ref().map(|primary| primary.desired) {
            Some(replicas) if replicas != self.target.desired => {
                self.target.desired = replicas.max(1);
                roll_out(&mut self.target, self.now, &self.behaviours, &mut self.rng);
                Ok(())
            }
            Some(_) => Ok(()),
            None => self.scale_from_zero(canary),
        }
    }
}
