//! One simulated run: the discrete-event loop in virtual time.
//!
//! ```text
//!   t ──▶ next event = min(engine tick, scheduled event, window end, pod change, end)
//!         │
//!         ├─ traffic over [t, next): expected requests per class, routed by the
//!         │   fake mesh reading the router's objects, per workload (means only)
//!         ├─ window end: one Poisson / Binomial / Multinomial draw per workload
//!         │   and stream → the series Prometheus would have; HPA decisions
//!         ├─ scheduled event: new revision, config change, gate, controller restart
//!         └─ tick: weir_engine::advance(canary, config, ports) → status, routes
//! ```
//!
//! Between two events nothing changes but time, so the loop jumps from one to
//! the next: a two-hour rollout is a few hundred iterations, whatever the
//! request rate. Randomness comes from ChaCha8 streams derived from the seed,
//! one per concern (pods, traffic, metrics, webhooks, cookies), so a seed
//! reproduces a run byte for byte and changing one concern's draws does not
//! shift the others'.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use weir_api::{Canary, CanaryPhase};
use weir_engine::ports::{Ports, Role, Routes};
use weir_engine::{Decision, advance_in_place};
use weir_fakes::{MeshRouter, Request, RouteDecision};

use crate::cluster::{PodBehaviour, SimCluster};
use crate::model::behaviour::RevisionState;
use crate::model::{
    Behaviour, Buckets, LatencyDistribution, MAX_BUCKETS, WindowCounts, binomial,
    bucket_probabilities, multinomial_into, poisson,
};
use crate::ports::{
    MetricKind, Recorder, SimClock, SimEntropy, SimMetrics, SimStatus, SimWebhooks, WindowSeries,
    buckets_for, is_analysing,
};
use crate::record::{
    LogEntry, LogSource, MetricInfo, Outcome, RunRecord, TickSample, TrafficSample, Verdict,
};
use crate::scenario::{Action, RequestClass, Scenario};
use crate::time::SimTime;
use crate::wired::{Wired, WiredError, WiredOptions, WiredTraffic};

/// What a run keeps besides its outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// Keep the log, the primary's metric readings and the traffic samples
    /// (for reports). Off for sweeps, where only outcomes count.
    pub detail: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions { detail: true }
    }
}

/// Independent random streams of one run.
#[derive(Clone, Copy)]
enum Stream {
    Pods = 1,
    Traffic = 2,
    Metrics = 3,
    Webhooks = 4,
    Cookies = 5,
    Spikes = 6,
    Processes = 7,
}

fn stream(seed: u64, which: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(which as u64);
    rng
}

/// The window length: the greatest common divisor of the analysis interval
/// and the metrics' intervals, so every query covers whole windows.
pub fn resolution(scenario: &Scenario) -> Duration {
    if let Some(resolution) = scenario.cluster.resolution {
        return resolution.0;
    }
    let analysis = scenario.canary.spec.analysis();
    let seconds = |duration: Duration| duration.as_secs().max(1);
    let mut gcd = seconds(analysis.interval_or_default());
    for metric in &analysis.metrics {
        let interval =
            weir_api::duration::parse_go_duration(metric.interval_or_default()).map_or(1, seconds);
        gcd = greatest_common_divisor(gcd, interval);
    }
    Duration::from_secs(gcd)
}

fn greatest_common_divisor(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// One class of users and the cookie jars they hold.
#[derive(Debug)]
struct UserClass {
    class: RequestClass,
    /// Share of the class's users per cookie jar (`name=value` pairs, sorted).
    jars: Vec<(Vec<String>, f64)>,
}

/// Expected requests (means) routed to one workload during the current window.
#[derive(Clone, Copy, Debug, Default)]
struct Flow {
    user: f64,
    user_errors: f64,
    mirrored: f64,
    mirrored_errors: f64,
    test: f64,
    test_errors: f64,
    /// User requests sent while no pod was ready: answered 503 by the mesh.
    unavailable: f64,
    /// Request-seconds, for the mean rate the HPA sees.
    load_seconds: f64,
    /// The target served production before the Canary was initialized:
    /// its users count as the primary's, not in the blast radius.
    production: bool,
}

/// Per-workload state of the traffic model.
#[derive(Debug)]
struct WorkloadTraffic {
    role: Role,
    flow: Flow,
    /// The latency of the revision serving most of the window's requests.
    latency: Option<LatencyDistribution>,
    /// Bucket probabilities of the last latency distribution, reused while
    /// it does not change.
    cached: Option<(LatencyDistribution, [f64; MAX_BUCKETS])>,
}

/// Everything the engine's ports borrow, and the loop's own state.
struct World<'s> {
    scenario: &'s Scenario,
    canary: Canary,
    cluster: SimCluster,
    scalers: NoScalers,
    mesh: MeshRouter,
    metrics: SimMetrics,
    webhooks: SimWebhooks,
    events: Recorder,
    alerts: Recorder,
    telemetry: Recorder,
    status: SimStatus,
    entropy: SimEntropy,
    behaviours: BTreeMap<String, Behaviour>,
    /// Each revision's spikes and custom metric processes, per workload.
    revision_states: BTreeMap<(bool, String), RevisionState>,
    spike_rng: ChaCha8Rng,
    classes: Vec<UserClass>,
    workloads: [WorkloadTraffic; 2],
    traffic_rng: ChaCha8Rng,
    process_rng: ChaCha8Rng,
    buckets: Buckets,
    needs_histogram: bool,
    resolution: Duration,
    now: SimTime,
    window_start: SimTime,
    window: TrafficSample,
    /// Expected user requests no route matched, in the current window.
    unrouted: f64,
    traffic: Vec<TrafficSample>,
    totals: TrafficSample,
    log: Rc<RefCell<Vec<LogEntry>>>,
    detail: bool,
    route_cache: BTreeMap<(u64, usize, Vec<String>), RouteDecision>,
    routes_cache: Option<((u64, i32), Routes)>,
    /// Set for wired runs: the engine's metrics, webhooks and alerts go
    /// over HTTP to fakes (see `wired.rs`).
    wired: Option<Wired>,
    seed: u64,
}

/// The HPAs live in the cluster (`SimCluster::autoscale`); the engine's
/// scaler calls change nothing there: creating the primary's HPA copies the
/// target's, and pausing an HPA is a no-op in Flagger too.
#[derive(Debug, Default)]
struct NoScalers;

impl weir_engine::ports::Scalers for NoScalers {
    fn reconcile_primary(
        &mut self,
        _canary: &Canary,
        _initializing: bool,
    ) -> Result<(), weir_engine::ports::PortError> {
        Ok(())
    }
    fn pause_target(&mut self, _canary: &Canary) -> Result<(), weir_engine::ports::PortError> {
        Ok(())
    }
    fn resume_target(&mut self, _canary: &Canary) -> Result<(), weir_engine::ports::PortError> {
        Ok(())
    }
}

/// Runs `scenario` once with `seed`.
pub fn run(scenario: &Scenario, seed: u64, options: RunOptions) -> RunRecord {
    run_world(World::new(scenario, seed, options.detail)).0
}

/// Runs `scenario` once with `seed`, the engine talking HTTP to fakes on
/// loopback (see `wired.rs`); also says what crossed the wire.
pub fn run_wired(
    scenario: &Scenario,
    seed: u64,
    options: RunOptions,
    wired: WiredOptions,
) -> Result<(RunRecord, WiredTraffic), WiredError> {
    let mut world = World::new(scenario, seed, options.detail);
    world.wired = Some(Wired::start(scenario, &mut world.canary, wired)?);
    let (record, traffic) = run_world(world);
    Ok((record, traffic.unwrap_or_default()))
}

fn run_world(mut world: World<'_>) -> (RunRecord, Option<WiredTraffic>) {
    let scenario = world.scenario;
    let seed = world.seed;
    let interval = scenario.canary.spec.analysis().interval_or_default();
    let end = SimTime(scenario.duration);

    let mut schedule: Vec<(SimTime, Action)> = vec![(
        SimTime(scenario.release.at.0),
        Action::Deploy(scenario.release.to.clone()),
    )];
    schedule.extend(
        scenario
            .events
            .iter()
            .filter_map(|event| Some((SimTime(event.at.0), event.action()?))),
    );
    // Stable: events at the same time keep the file's order.
    schedule.sort_by_key(|(at, _)| *at);
    let mut schedule = schedule.into_iter().peekable();

    let mut ticks = Vec::new();
    let mut next_tick = Some(SimTime::ZERO);
    let mut phase = CanaryPhase::Unset;
    let mut released_at = None;
    let mut decided_at = None;
    let mut final_decision = None;

    loop {
        let window_end = world.window_start + world.resolution;
        let candidates = [
            next_tick,
            schedule.peek().map(|(at, _)| *at),
            Some(window_end),
            world.cluster.next_change(),
            Some(end),
        ];
        let Some(next) = candidates.into_iter().flatten().min() else {
            break;
        };
        if let Some(wired) = &world.wired {
            wired.pace(next);
        }
        world.flow_until(next, phase);
        world.now = next;
        world.cluster.advance_to(next);
        if next == window_end {
            world.close_window();
        }
        while let Some((_, action)) = schedule.next_if(|(at, _)| *at <= next) {
            if matches!(action, Action::Deploy(_) | Action::ConfigChange { .. }) {
                released_at = Some(next);
                decided_at = None;
                final_decision = None;
            }
            if let Action::RestartController { downtime } = action {
                next_tick = Some(next + downtime);
            }
            world.apply(&action);
        }
        if next_tick == Some(next) {
            let outcome = world.tick();
            phase = world
                .canary
                .status
                .as_ref()
                .map(|status| status.phase)
                .unwrap_or_default();
            let routes = world.routes();
            ticks.push(TickSample {
                at: next,
                decision: outcome.decision,
                phase,
                primary_weight: routes.primary,
                canary_weight: routes.canary,
                mirrored: routes.mirrored,
                failed_checks: world.status_field(|status| status.failed_checks),
                iterations: world.status_field(|status| status.iterations),
            });
            if released_at.is_some()
                && decided_at.is_none()
                && matches!(phase, CanaryPhase::Succeeded | CanaryPhase::Failed)
            {
                decided_at = Some(next);
                final_decision = Some(outcome.decision);
            }
            next_tick = Some(next + outcome.requeue_after.max(Duration::from_secs(1)));
        }
        let more_releases = schedule
            .clone()
            .any(|(_, action)| matches!(action, Action::Deploy(_) | Action::ConfigChange { .. }));
        if next >= end || (decided_at.is_some() && !more_releases) {
            // Close the partial window so its traffic is counted.
            if world.now > world.window_start {
                world.close_window();
            }
            break;
        }
    }

    let traffic = world.wired.as_ref().map(Wired::traffic);
    let record = world.finish(
        ticks,
        interval,
        phase,
        released_at,
        decided_at,
        final_decision,
        seed,
    );
    (record, traffic)
}

impl<'s> World<'s> {
    fn new(scenario: &'s Scenario, seed: u64, detail: bool) -> World<'s> {
        let canary = scenario.canary.clone();
        let provider = canary
            .spec
            .provider
            .unwrap_or(scenario.config.mesh_provider);
        let resolution = resolution(scenario);
        let pod_behaviours = scenario
            .revisions
            .iter()
            .map(|(name, revision)| {
                (
                    name.clone(),
                    PodBehaviour::new(&revision.pods, scenario.cluster.pod_startup),
                )
            })
            .collect();
        let mut cluster = SimCluster::new(
            &canary.spec.target_ref.name,
            &scenario.release.from,
            scenario.cluster.replicas,
            pod_behaviours,
            scenario.cluster.hpa.clone(),
            scenario.cluster.progress_deadline.0,
            stream(seed, Stream::Pods),
        );
        for event in &scenario.events {
            if let Some(config) = &event.config_change {
                cluster.track_config(config);
            }
        }
        let behaviours = scenario
            .revisions
            .iter()
            .map(|(name, revision)| {
                (
                    name.clone(),
                    Behaviour {
                        errors: revision.errors.clone(),
                        latency: revision.latency.clone(),
                        custom: revision.custom.clone(),
                    },
                )
            })
            .collect();
        let classes = if scenario.traffic.classes.is_empty() {
            vec![RequestClass {
                name: "users".to_owned(),
                share: 1.0,
                headers: BTreeMap::new(),
                cookies: BTreeMap::new(),
                path: "/".to_owned(),
                method: "GET".to_owned(),
                sessions: None,
            }]
        } else {
            scenario.traffic.classes.clone()
        };
        let log = Rc::new(RefCell::new(Vec::new()));
        let recorder = || Recorder::new(Rc::clone(&log), detail);
        let analysis = canary.spec.analysis();
        let needs_histogram = detail
            || analysis
                .metrics
                .iter()
                .any(|metric| MetricKind::of(metric) == MetricKind::Duration);
        let workload = |role| WorkloadTraffic {
            role,
            flow: Flow::default(),
            latency: None,
            cached: None,
        };
        let workloads = [workload(Role::Primary), workload(Role::Canary)];
        World {
            scenario,
            canary,
            cluster,
            scalers: NoScalers,
            mesh: MeshRouter::new(provider),
            metrics: SimMetrics {
                now: SimTime::ZERO,
                resolution,
                buckets: buckets_for(provider),
                canary: WindowSeries::default(),
                primary: WindowSeries::default(),
                custom: BTreeMap::new(),
                faults: scenario.faults.clone(),
                rng: stream(seed, Stream::Metrics),
                detail,
                checks: Vec::new(),
            },
            webhooks: SimWebhooks {
                behaviours: scenario.webhooks.clone(),
                rng: stream(seed, Stream::Webhooks),
                calls: Vec::new(),
            },
            events: recorder(),
            alerts: recorder(),
            telemetry: recorder(),
            status: SimStatus,
            entropy: SimEntropy(stream(seed, Stream::Cookies)),
            behaviours,
            revision_states: BTreeMap::new(),
            spike_rng: stream(seed, Stream::Spikes),
            classes: classes
                .into_iter()
                .map(|class| UserClass {
                    class,
                    jars: vec![(Vec::new(), 1.0)],
                })
                .collect(),
            workloads,
            traffic_rng: stream(seed, Stream::Traffic),
            process_rng: stream(seed, Stream::Processes),
            buckets: buckets_for(provider),
            needs_histogram,
            resolution,
            now: SimTime::ZERO,
            window_start: SimTime::ZERO,
            window: TrafficSample::default(),
            unrouted: 0.0,
            traffic: Vec::new(),
            totals: TrafficSample::default(),
            log,
            detail,
            route_cache: BTreeMap::new(),
            routes_cache: None,
            wired: None,
            seed,
        }
    }

    fn status_field(&self, field: impl Fn(&weir_api::CanaryStatus) -> i32) -> i32 {
        self.canary.status.as_ref().map_or(0, field)
    }

    /// The split in the routing objects, as the engine would read it.
    /// (Parsed again only when the objects or the Canary's iterations,
    /// which the kubernetes router reports from, changed.)
    fn routes(&mut self) -> Routes {
        use weir_engine::ports::Routing;
        let key = (
            self.mesh.revision(),
            self.status_field(|status| status.iterations),
        );
        if let Some((cached, routes)) = self.routes_cache
            && cached == key
        {
            return routes;
        }
        let routes = self
            .mesh
            .routes(&self.canary)
            .unwrap_or(Routes::ALL_PRIMARY);
        self.routes_cache = Some((key, routes));
        routes
    }

    fn log(&self, source: LogSource, message: String) {
        if self.detail {
            self.log.borrow_mut().push(LogEntry {
                at: self.now,
                source,
                level: String::new(),
                message,
            });
        }
    }

    /// One engine tick against the simulated world.
    fn tick(&mut self) -> weir_engine::TickOutcome {
        let now = self.now;
        self.metrics.now = now;
        for recorder in [&mut self.events, &mut self.alerts, &mut self.telemetry] {
            recorder.now = now;
        }
        let clock = SimClock(now);
        if let Some(wired) = &mut self.wired {
            wired.prepare(now, &self.metrics);
            // Borrowed apart: each adapter lends one of the world's fields.
            let (mut metrics, mut webhooks, mut alerts) =
                wired.ports(&mut self.metrics, &mut self.webhooks, &mut self.alerts);
            let mut ports = Ports {
                workloads: &mut self.cluster,
                scalers: &mut self.scalers,
                routing: &mut self.mesh,
                metrics: &mut metrics,
                webhooks: &mut webhooks,
                alerts: &mut alerts,
                events: &mut self.events,
                clock: &clock,
                status: &mut self.status,
                entropy: &mut self.entropy,
                telemetry: &mut self.telemetry,
            };
            return advance_in_place(&mut self.canary, &self.scenario.config, &mut ports);
        }
        let mut ports = Ports {
            workloads: &mut self.cluster,
            scalers: &mut self.scalers,
            routing: &mut self.mesh,
            metrics: &mut self.metrics,
            webhooks: &mut self.webhooks,
            alerts: &mut self.alerts,
            events: &mut self.events,
            clock: &clock,
            status: &mut self.status,
            entropy: &mut self.entropy,
            telemetry: &mut self.telemetry,
        };
        // The simulated API server accepts every write, so the Canary the
        // engine changed in place is the stored one.
        advance_in_place(&mut self.canary, &self.scenario.config, &mut ports)
    }

    fn apply(&mut self, action: &Action) {
        match action {
            Action::Deploy(revision) => {
                self.log(
                    LogSource::Scenario,
                    format!("new revision {revision} deployed to the target"),
                );
                self.cluster.deploy(revision);
            }
            Action::ConfigChange { config, revision } => {
                self.log(
                    LogSource::Scenario,
                    match revision {
                        Some(revision) => {
                            format!("{config} changed; the target now behaves as {revision}")
                        }
                        None => format!("{config} changed"),
                    },
                );
                self.cluster.change_config(config, revision.as_deref());
            }
            Action::Open(gate) => {
                self.log(LogSource::Scenario, format!("gate {gate} opened"));
                self.webhooks
                    .behaviours
                    .entry(gate.clone())
                    .or_default()
                    .closed = false;
            }
            Action::Close(gate) => {
                self.log(LogSource::Scenario, format!("gate {gate} closed"));
                self.webhooks
                    .behaviours
                    .entry(gate.clone())
                    .or_default()
                    .closed = true;
            }
            Action::RestartController { downtime } => {
                self.log(
                    LogSource::Scenario,
                    format!(
                        "controller restarted; back in {}s, resuming from the Canary's status",
                        downtime.as_secs()
                    ),
                );
            }
        }
    }

    /// Accumulates the expected traffic of `[now, until)`. Classes that keep
    /// cookies change routing as users come back, so their traffic is
    /// integrated in steps of a quarter of their revisit time.
    fn flow_until(&mut self, until: SimTime, phase: CanaryPhase) {
        let step = self
            .classes
            .iter()
            .filter_map(|class| class.class.sessions.as_ref())
            .map(|sessions| (sessions.revisit.0 / 4).max(Duration::from_secs(1)))
            .min();
        let mut from = self.now;
        while from < until {
            let next = step.map_or(until, |step| (from + step).min(until));
            self.flow_segment(from, next, phase);
            from = next;
        }
    }

    /// Accumulates the expected traffic of `[from, until)`.
    fn flow_segment(&mut self, from: SimTime, until: SimTime, phase: CanaryPhase) {
        if until <= from {
            return;
        }
        let seconds = until.since(from).as_secs_f64();
        let users = self
            .scenario
            .traffic
            .rate
            .expected_requests(from.as_secs_f64(), until.as_secs_f64());
        // Until the Canary is initialized, the apex Service still selects
        // the target's pods: users are served by what is production today.
        let initialized = !matches!(phase, CanaryPhase::Unset | CanaryPhase::Initializing);
        // Per workload: user requests, mirrored copies.
        let mut to_workload = [(0.0_f64, 0.0_f64); 2];
        let mut unrouted = 0.0;
        let revision = self.mesh.revision();
        for class_index in 0..self.classes.len() {
            let share = self.classes[class_index].class.share;
            let revisit = self.classes[class_index]
                .class
                .sessions
                .as_ref()
                .map(|sessions| sessions.revisit.as_secs_f64().max(1e-3));
            let jars = std::mem::take(&mut self.classes[class_index].jars);
            let mut next_jars: Vec<(Vec<String>, f64)> = Vec::new();
            for (jar, fraction) in jars {
                let decision = if initialized {
                    self.decide(revision, class_index, &jar)
                } else {
                    RouteDecision::all_primary()
                };
                let requests = users * share * fraction;
                to_workload[0].0 += requests * decision.primary;
                to_workload[1].0 += requests * decision.canary;
                to_workload[1].1 += requests * decision.mirror;
                unrouted += requests * (1.0 - decision.primary - decision.canary).max(0.0);
                match revisit {
                    // Users who come back during the segment get the cookies
                    // the mesh set on their answers.
                    Some(revisit) => {
                        let visiting = fraction * (1.0 - (-seconds / revisit).exp());
                        let staying = fraction - visiting;
                        merge_jar(&mut next_jars, jar.clone(), staying);
                        for (weight, set_cookie) in [
                            (decision.primary, &decision.primary_set_cookie),
                            (decision.canary, &decision.canary_set_cookie),
                        ] {
                            if weight <= 0.0 {
                                continue;
                            }
                            let mut new_jar = jar.clone();
                            if let Some(set_cookie) = &decision.rule_set_cookie {
                                apply_set_cookie(&mut new_jar, set_cookie);
                            }
                            if let Some(set_cookie) = set_cookie {
                                apply_set_cookie(&mut new_jar, set_cookie);
                            }
                            merge_jar(
                                &mut next_jars,
                                new_jar,
                                visiting * weight / (decision.primary + decision.canary),
                            );
                        }
                        if decision.primary + decision.canary <= 0.0 {
                            merge_jar(&mut next_jars, jar, visiting);
                        }
                    }
                    None => merge_jar(&mut next_jars, jar, fraction),
                }
            }
            next_jars.retain(|(_, fraction)| *fraction > 1e-12);
            self.classes[class_index].jars = next_jars;
        }
        let test = if is_analysing(phase) && self.cluster.target.desired > 0 {
            self.scenario
                .traffic
                .load_test
                .as_ref()
                .map_or(0.0, |load_test| load_test.rps * seconds)
        } else {
            0.0
        };
        self.unrouted += unrouted;
        if !initialized {
            // Production traffic on the target, counted as the primary's.
            to_workload = [(0.0, 0.0), (to_workload[0].0, 0.0)];
        }
        for (index, (user, mirrored)) in to_workload.into_iter().enumerate() {
            let role = self.workloads[index].role;
            let test = if role == Role::Canary { test } else { 0.0 };
            let Some(deployment) = self.cluster.deployment(role) else {
                continue;
            };
            let ready = deployment.ready_pods(from);
            let ready_total: u32 = ready.values().sum();
            let flow = &mut self.workloads[index].flow;
            if ready_total == 0 {
                flow.unavailable += user;
                continue;
            }
            // Requests spread over ready pods; each pod's revision decides
            // how likely its answers fail and how slow they are.
            let per_pod_rps = (user + mirrored + test) / seconds / f64::from(ready_total);
            let mut probability = 0.0;
            let mut busiest = 0;
            for (revision, pods) in &ready {
                let Some(behaviour) = self.behaviours.get(*revision) else {
                    continue;
                };
                let state = self
                    .revision_states
                    .entry((role == Role::Canary, (*revision).to_owned()))
                    .or_insert_with(|| RevisionState::new(behaviour, &mut self.spike_rng));
                let window = state.window(
                    behaviour,
                    &mut self.spike_rng,
                    deployment.revision_age(revision, from),
                    deployment.revision_age(revision, until),
                    per_pod_rps,
                );
                probability += window.error_probability * f64::from(*pods) / f64::from(ready_total);
                if *pods > busiest {
                    busiest = *pods;
                    self.workloads[index].latency = Some(window.latency);
                }
            }
            let flow = &mut self.workloads[index].flow;
            flow.production |= !initialized;
            flow.user += user;
            flow.user_errors += user * probability;
            flow.mirrored += mirrored;
            flow.mirrored_errors += mirrored * probability;
            flow.test += test;
            flow.test_errors += test * probability;
            flow.load_seconds += user + mirrored + test;
        }
    }

    /// The mesh's decision for a request of `class` carrying `jar`.
    fn decide(&mut self, revision: u64, class_index: usize, jar: &[String]) -> RouteDecision {
        let key = (revision, class_index, jar.to_vec());
        if let Some(decision) = self.route_cache.get(&key) {
            return decision.clone();
        }
        if self.route_cache.len() > 64 {
            self.route_cache.clear();
        }
        let class = &self.classes[class_index].class;
        let mut cookies: Vec<String> = class
            .cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        cookies.extend(jar.iter().cloned());
        let mut headers: Vec<(String, String)> = class
            .headers
            .iter()
            .map(|(name, value)| (name.to_lowercase(), value.clone()))
            .collect();
        if !cookies.is_empty() {
            headers.push(("cookie".to_owned(), cookies.join("; ")));
        }
        let request = Request {
            path: class.path.clone(),
            method: class.method.clone(),
            headers,
            source_labels: BTreeMap::new(),
            port: None,
        };
        let decision = self.mesh.route(&request);
        self.route_cache.insert(key, decision.clone());
        decision
    }

    /// Draws the window's counts from the accumulated means.
    fn close_window(&mut self) {
        let start = self.window_start;
        let end = self.now;
        let seconds = end.since(start).as_secs_f64().max(1e-9);
        let mut sample = std::mem::take(&mut self.window);
        sample.start = start;
        sample.end = end;
        sample.unrouted_requests =
            poisson(&mut self.traffic_rng, std::mem::take(&mut self.unrouted));
        for index in 0..2 {
            let role = self.workloads[index].role;
            let flow = std::mem::take(&mut self.workloads[index].flow);
            let rng = &mut self.traffic_rng;
            let draw = |rng: &mut ChaCha8Rng, mean: f64, errors: f64| {
                let requests = poisson(rng, mean);
                let probability = if mean > 0.0 { errors / mean } else { 0.0 };
                (requests, binomial(rng, requests, probability))
            };
            let (user, user_failures) = draw(rng, flow.user, flow.user_errors);
            let (mirrored, mirrored_failures) = draw(rng, flow.mirrored, flow.mirrored_errors);
            let (test, test_failures) = draw(rng, flow.test, flow.test_errors);
            let unavailable = poisson(rng, flow.unavailable);
            let requests = user + mirrored + test;
            let errors = user_failures + mirrored_failures + test_failures;

            let wants_histogram = self.needs_histogram && (self.detail || role == Role::Canary);
            let mut histogram = [0_u64; MAX_BUCKETS];
            let bucket_count = self.buckets.len();
            if wants_histogram
                && requests > 0
                && let Some(probabilities) = self.bucket_probabilities(index)
            {
                multinomial_into(
                    &mut self.traffic_rng,
                    requests,
                    &probabilities[..bucket_count],
                    &mut histogram[..bucket_count],
                );
            }
            let counts = WindowCounts::new(
                requests,
                errors,
                if wants_histogram {
                    &histogram[..bucket_count]
                } else {
                    &[]
                },
            )
            .unwrap_or_default();
            let series = match role {
                Role::Primary => &mut self.metrics.primary,
                Role::Canary => &mut self.metrics.canary,
            };
            let slot = (start.0.as_nanos() / self.resolution.as_nanos().max(1)) as usize;
            if series.windows.len() <= slot {
                series.windows.resize(slot + 1, WindowCounts::default());
            }
            series.windows[slot].add(&counts);
            match if flow.production { Role::Primary } else { role } {
                Role::Primary => {
                    sample.primary_requests += user + unavailable;
                    sample.primary_failures += user_failures + unavailable;
                }
                Role::Canary => {
                    sample.canary_requests += user + unavailable;
                    sample.canary_failures += user_failures + unavailable;
                    sample.mirrored_requests += mirrored;
                    sample.test_requests += test;
                }
            }
            self.cluster.autoscale(role, flow.load_seconds / seconds);
        }
        self.scrape_processes(end);
        accumulate(&mut self.totals, &sample);
        if self.detail {
            self.traffic.push(sample);
        }
        self.window_start = end;
    }

    /// The bucket probabilities of workload `index`'s answers in the window.
    fn bucket_probabilities(&mut self, index: usize) -> Option<[f64; MAX_BUCKETS]> {
        let workload = &mut self.workloads[index];
        let distribution = workload.latency?;
        if let Some((cached, probabilities)) = &workload.cached
            && *cached == distribution
        {
            return Some(*probabilities);
        }
        let mut probabilities = [0.0; MAX_BUCKETS];
        bucket_probabilities(
            &distribution,
            &self.buckets,
            &mut probabilities[..self.buckets.len()],
        );
        workload.cached = Some((distribution, probabilities));
        Some(probabilities)
    }

    /// Custom metrics: each workload's revision processes advance by one
    /// window and are scraped.
    fn scrape_processes(&mut self, at: SimTime) {
        let metrics: Vec<String> = self
            .canary
            .spec
            .analysis()
            .metrics
            .iter()
            .filter(|metric| MetricKind::of(metric) == MetricKind::Custom)
            .map(|metric| metric.name.clone())
            .collect();
        if metrics.is_empty() {
            return;
        }
        let window = self.resolution.as_secs_f64();
        for role in [Role::Primary, Role::Canary] {
            if role == Role::Primary && !self.detail {
                continue;
            }
            let Some(deployment) = self.cluster.deployment(role) else {
                continue;
            };
            let revision = deployment.revision.clone();
            let started = deployment.revision_started(&revision);
            let Some(behaviour) = self.behaviours.get(&revision) else {
                continue;
            };
            let state = self
                .revision_states
                .entry((role == Role::Canary, revision.clone()))
                .or_insert_with(|| RevisionState::new(behaviour, &mut self.spike_rng));
            // A process only runs while its revision's pods do.
            if started.is_some_and(|started| started <= at) {
                state.advance_custom(&mut self.process_rng, window);
            }
            for metric in &metrics {
                let Some(value) = state.custom_value(metric) else {
                    continue;
                };
                let entry = self.metrics.custom.entry(metric.clone()).or_default();
                let samples = if role == Role::Canary {
                    &mut entry.canary
                } else {
                    &mut entry.primary
                };
                samples.push((at, value));
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        self,
        ticks: Vec<TickSample>,
        interval: Duration,
        phase: CanaryPhase,
        released_at: Option<SimTime>,
        decided_at: Option<SimTime>,
        final_decision: Option<Decision>,
        seed: u64,
    ) -> RunRecord {
        let verdict = match (decided_at, phase) {
            (Some(_), CanaryPhase::Succeeded) => Verdict::Promoted,
            (Some(_), CanaryPhase::Failed) => Verdict::RolledBack,
            _ => Verdict::Undecided,
        };
        let rollback_reason = match final_decision {
            Some(decision @ Decision::RolledBack(_)) => {
                Some(crate::record::decision_label(decision))
            }
            _ => None,
        };
        let metrics = self
            .canary
            .spec
            .analysis()
            .metrics
            .iter()
            .map(|metric| {
                let bounds = metric.bounds();
                MetricInfo {
                    name: metric.name.clone(),
                    unit: match MetricKind::of(metric) {
                        MetricKind::SuccessRate => "%".to_owned(),
                        MetricKind::Duration => "ms".to_owned(),
                        MetricKind::Custom => String::new(),
                    },
                    min: bounds.min,
                    max: bounds.max,
                }
            })
            .collect();
        let mut log = self.log.borrow().clone();
        for (at, message) in &self.cluster.log {
            if self.detail {
                log.push(LogEntry {
                    at: *at,
                    source: LogSource::Cluster,
                    level: String::new(),
                    message: message.clone(),
                });
            }
        }
        // The engine logs every event it records (as Flagger does); keep
        // only the logs that are not events.
        let events: std::collections::BTreeSet<(SimTime, String)> = log
            .iter()
            .filter(|entry| entry.source == LogSource::Event)
            .map(|entry| (entry.at, entry.message.clone()))
            .collect();
        log.retain(|entry| {
            entry.source != LogSource::Log || !events.contains(&(entry.at, entry.message.clone()))
        });
        // Stable: entries at the same time keep the order they happened in.
        log.sort_by_key(|entry| entry.at);
        let totals = &self.totals;
        // Without detail, one sample covers the whole run, so summaries
        // still add up the traffic.
        let traffic = if self.detail {
            self.traffic
        } else {
            vec![TrafficSample {
                start: SimTime::ZERO,
                end: self.now,
                ..totals.clone()
            }]
        };
        RunRecord {
            scenario: self.scenario.name.clone(),
            seed,
            canary: format!("{}.{}", self.canary.name(), self.canary.namespace()),
            interval,
            end: self.now,
            ticks,
            checks: self.metrics.checks,
            metrics,
            traffic,
            log,
            outcome: Outcome {
                verdict,
                final_phase: phase,
                rollback_reason,
                released_at,
                decided_at,
                time_to_decision: decided_at
                    .zip(released_at)
                    .map(|(decided, released)| decided.since(released)),
                canary_requests: totals.canary_requests,
                blast_radius: totals.canary_failures,
                primary_failures: totals.primary_failures,
                mirrored_requests: totals.mirrored_requests,
                failed_checks: self.telemetry.failed_checks,
            },
        }
    }
}

fn accumulate(total: &mut TrafficSample, sample: &TrafficSample) {
    total.primary_requests += sample.primary_requests;
    total.primary_failures += sample.primary_failures;
    total.canary_requests += sample.canary_requests;
    total.canary_failures += sample.canary_failures;
    total.mirrored_requests += sample.mirrored_requests;
    total.test_requests += sample.test_requests;
    total.unrouted_requests += sample.unrouted_requests;
}

fn merge_jar(jars: &mut Vec<(Vec<String>, f64)>, jar: Vec<String>, fraction: f64) {
    if fraction <= 0.0 {
        return;
    }
    match jars.iter_mut().find(|(existing, _)| *existing == jar) {
        Some((_, total)) => *total += fraction,
        None => jars.push((jar, fraction)),
    }
}

/// Applies a `Set-Cookie` header to a jar: `Max-Age` ≤ 0 deletes the cookie.
fn apply_set_cookie(jar: &mut Vec<String>, header: &str) {
    let mut parts = header.split(';').map(str::trim);
    let Some(pair) = parts.next() else {
        return;
    };
    let Some((name, _)) = pair.split_once('=') else {
        return;
    };
    let expired = parts.any(|attribute| {
        attribute
            .strip_prefix("Max-Age=")
            .and_then(|age| age.parse::<i64>().ok())
            .is_some_and(|age| age <= 0)
    });
    jar.retain(|cookie| {
        cookie
            .split_once('=')
            .is_none_or(|(existing, _)| existing != name)
    });
    if !expired {
        jar.push(pair.to_owned());
        jar.sort();
    }
}
