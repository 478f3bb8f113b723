//! One job per Canary, ticking at its analysis interval (Flagger's
//! `scheduleCanaries` and `CanaryJob`).
//!
//! ```text
//!   sync(canaries)  (every -control-loop-interval, and when a Canary changes)
//!     ├─ new Canary ─────────────▶ spawn job: tick now, then every interval
//!     ├─ interval changed ───────▶ restart its job (tick now)
//!     ├─ Canary gone ────────────▶ stop its job
//!     └─ two Canaries, one target ▶ neither runs; both get a warning event
//!
//!   job: loop { canary = GET (gone? stop) ─▶ tick (at most -threadiness at once) ─▶ sleep requeue_after }
//! ```
//!
//! A job re-reads its Canary before every tick, as Flagger does: the status
//! written by the previous tick, and any edit since, is what the engine
//! sees. Jobs hold no state of their own, so a restarted controller picks
//! up where the last one stopped.
//!
//! Where weir differs from Flagger: two Canaries on the same target make
//! Flagger log "Bad things will happen!" and run both (§18 #26); weir runs
//! neither and records a warning event on each, naming the other.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use weir_api::Canary;
use weir_engine::TickOutcome;

/// Flagger never ticks a Canary more often than this.
const MIN_TICK_INTERVAL: Duration = weir_api::canary::MIN_INTERVAL;

/// How long a job waits after a failed tick (the API server unreachable).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

/// What the scheduler drives: reading Canaries and ticking them.
pub trait Ticker: Send + Sync + 'static {
    /// The Canary as stored now; `None` once it is gone.
    fn fetch(
        &self,
        namespace: &str,
        name: &str,
    ) -> impl std::future::Future<Output = Result<Option<Canary>, String>> + Send;

    /// One engine tick of `canary`. `guard` must live until the tick is
    /// over, also when the tick outlives its job (a job restarted while its
    /// tick runs on a blocking thread): it keeps two ticks of one Canary
    /// from overlapping.
    fn tick(
        &self,
        canary: Canary,
        guard: TickGuard,
    ) -> impl std::future::Future<Output = Result<TickOutcome, String>> + Send;

    /// Tells the user why `canary` is not run (an event).
    fn reject(
        &self,
        canary: &Canary,
        message: String,
    ) -> impl std::future::Future<Output = ()> + Send;
}

/// Held while a Canary ticks.
pub type TickGuard = tokio::sync::OwnedMutexGuard<()>;

/// A Canary's key: namespace and name.
pub type CanaryKey = (String, String);

fn key_of(canary: &Canary) -> CanaryKey {
    (canary.namespace().to_owned(), canary.name().to_owned())
}

#[derive(Debug)]
struct Job {
    interval: Duration,
    handle: JoinHandle<()>,
}

/// The running jobs.
pub struct Scheduler<T: Ticker> {
    ticker: Arc<T>,
    permits: Arc<Semaphore>,
    jobs: BTreeMap<CanaryKey, Job>,
    /// One lock per Canary, kept across job restarts.
    locks: BTreeMap<CanaryKey, Arc<tokio::sync::Mutex<()>>>,
}

impl<T: Ticker> std::fmt::Debug for Scheduler<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("jobs", &self.jobs.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl<T: Ticker> Scheduler<T> {
    /// A scheduler running at most `threadiness` ticks at once.
    pub fn new(ticker: Arc<T>, threadiness: usize) -> Scheduler<T> {
        Scheduler {
            ticker,
            permits: Arc::new(Semaphore::new(threadiness.max(1))),
            jobs: BTreeMap::new(),
            locks: BTreeMap::new(),
        }
    }

    /// The Canaries with a running job.
    pub fn running(&self) -> Vec<CanaryKey> {
        self.jobs
            .iter()
            .filter(|(_, job)| !job.handle.is_finished())
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// Makes the jobs match `canaries`.
    pub async fn sync(&mut self, canaries: &[Canary]) {
        let duplicates = duplicate_targets(canaries);
        let mut wanted: BTreeMap<CanaryKey, Duration> = BTreeMap::new();
        for canary in canaries {
            if let Some(others) = duplicates.get(&key_of(canary)) {
                self.ticker
                    .reject(
                        canary,
                        format!(
                            "{}.{} is not run: {} also targets {} {}; keep one Canary per target",
                            canary.name(),
                            canary.namespace(),
                            others.join(", "),
                            canary.spec.target_ref.kind.as_str(),
                            canary.spec.target_ref.name
                        ),
                    )
                    .await;
                continue;
            }
            let interval = canary
                .spec
                .analysis()
                .interval_or_default()
                .max(MIN_TICK_INTERVAL);
            wanted.insert(key_of(canary), interval);
        }
        self.jobs.retain(|key, job| {
            let keep = wanted.get(key) == Some(&job.interval) && !job.handle.is_finished();
            if !keep {
                job.handle.abort();
            }
            keep
        });
        self.locks.retain(|key, _| wanted.contains_key(key));
        for (key, interval) in wanted {
            if self.jobs.contains_key(&key) {
                continue;
            }
            let lock = Arc::clone(self.locks.entry(key.clone()).or_default());
            let handle = tokio::spawn(run_job(
                Arc::clone(&self.ticker),
                Arc::clone(&self.permits),
                lock,
                key.clone(),
            ));
            self.jobs.insert(key, Job { interval, handle });
        }
    }

    /// Stops every job; ticks in flight are abandoned between port calls
    /// (the next controller resumes from the Canary's status).
    pub fn stop(&mut self) {
        for job in self.jobs.values() {
            job.handle.abort();
        }
        self.jobs.clear();
    }
}

impl<T: Ticker> Drop for Scheduler<T> {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The Canaries that share a target with another, with the others' names.
fn duplicate_targets(canaries: &[Canary]) -> BTreeMap<CanaryKey, Vec<String>> {
    let mut by_target: BTreeMap<(String, &str, &str), Vec<&Canary>> = BTreeMap::new();
    for canary in canaries {
        let target = &canary.spec.target_ref;
        by_target
            .entry((
                canary.namespace().to_owned(),
                target.kind.as_str(),
                &target.name,
            ))
            .or_default()
            .push(canary);
    }
    let mut duplicates = BTreeMap::new();
    for group in by_target.values().filter(|group| group.len() > 1) {
        for canary in group {
            let others = group
                .iter()
                .filter(|other| other.name() != canary.name())
                .map(|other| format!("{}.{}", other.name(), other.namespace()))
                .collect();
            duplicates.insert(key_of(canary), others);
        }
    }
    duplicates
}

async fn run_job<T: Ticker>(
    ticker: Arc<T>,
    permits: Arc<Semaphore>,
    lock: Arc<tokio::sync::Mutex<()>>,
    (namespace, name): CanaryKey,
) {
    loop {
        // A tick of this Canary still running from a replaced job finishes
        // first; the Canary is read after it.
        let guard = Arc::clone(&lock).lock_owned().await;
        let wait = match ticker.fetch(&namespace, &name).await {
            Ok(None) => return,
            Ok(Some(canary)) => {
                // Closed only when the scheduler is dropped.
                let Ok(_permit) = permits.acquire().await else {
                    return;
                };
                match ticker.tick(canary, guard).await {
                    Ok(outcome) => outcome.requeue_after.max(MIN_TICK_INTERVAL),
                    Err(error) => {
                        tracing::error!(canary = %format!("{name}.{namespace}"), "tick failed: {error}");
                        RETRY_AFTER_FAILURE
                    }
                }
            }
            Err(error) => {
                tracing::warn!(canary = %format!("{name}.{namespace}"), "cannot read the Canary: {error}");
                RETRY_AFTER_FAILURE
            }
        };
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use weir_engine::Decision;

    use super::*;

    /// Canaries by key, and what happened to them.
    #[derive(Default)]
    struct FakeTicker {
        stored: Mutex<BTreeMap<CanaryKey, Canary>>,
        ticks: Mutex<Vec<(String, tokio::time::Instant)>>,
        rejected: Mutex<Vec<String>>,
    }

    impl Ticker for FakeTicker {
        async fn fetch(&self, namespace: &str, name: &str) -> Result<Option<Canary>, String> {
            Ok(self
                .stored
                .lock()
                .expect("lock")
                .get(&(namespace.to_owned(), name.to_owned()))
                .cloned())
        }

        async fn tick(&self, canary: Canary, _guard: TickGuard) -> Result<TickOutcome, String> {
            self.ticks
                .lock()
                .expect("lock")
                .push((canary.name().to_owned(), tokio::time::Instant::now()));
            Ok(TickOutcome {
                decision: Decision::Idle,
                requeue_after: canary.spec.analysis().interval_or_default(),
            })
        }

        async fn reject(&self, _canary: &Canary, message: String) {
            self.rejected.lock().expect("lock").push(message);
        }
    }

    fn canary(name: &str, target: &str, interval: &str) -> Canary {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "flagger.app/v1beta1",
            "kind": "Canary",
            "metadata": {"name": name, "namespace": "test"},
            "spec": {
                "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                "service": {"port": 9898},
                "analysis": {"interval": interval, "threshold": 5, "stepWeight": 10}
            }
        }))
        .expect("a valid canary")
    }

    fn store(ticker: &FakeTicker, canaries: &[Canary]) {
        let mut stored = ticker.stored.lock().expect("lock");
        stored.clear();
        for canary in canaries {
            stored.insert(key_of(canary), canary.clone());
        }
    }

    fn ticks_of(ticker: &FakeTicker, name: &str) -> Vec<tokio::time::Instant> {
        ticker
            .ticks
            .lock()
            .expect("lock")
            .iter()
            .filter(|(tick, _)| tick == name)
            .map(|(_, at)| *at)
            .collect()
    }

    /// Lets spawned jobs run until they sleep.
    async fn settle() {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_canary_ticks_at_once_and_then_every_interval() {
        let ticker = Arc::new(FakeTicker::default());
        let canaries = [canary("podinfo", "podinfo", "30s")];
        store(&ticker, &canaries);
        let mut scheduler = Scheduler::new(Arc::clone(&ticker), 2);
        let start = tokio::time::Instant::now();
        scheduler.sync(&canaries).await;
        settle().await;
        tokio::time::sleep(Duration::from_secs(95)).await;
        let ticks: Vec<u64> = ticks_of(&ticker, "podinfo")
            .iter()
            .map(|at| at.duration_since(start).as_secs())
            .collect();
        assert_eq!(ticks, [0, 30, 60, 90]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_changed_interval_restarts_the_job_and_a_removed_canary_stops_it() {
        let ticker = Arc::new(FakeTicker::default());
        let mut scheduler = Scheduler::new(Arc::clone(&ticker), 2);
        let slow = [canary("podinfo", "podinfo", "1m")];
        store(&ticker, &slow);
        scheduler.sync(&slow).await;
        settle().await;
        tokio::time::sleep(Duration::from_secs(10)).await;
        let fast = [canary("podinfo", "podinfo", "20s")];
        store(&ticker, &fast);
        scheduler.sync(&fast).await;
        settle().await;
        tokio::time::sleep(Duration::from_secs(45)).await;
        assert_eq!(
            ticks_of(&ticker, "podinfo").len(),
            4,
            "0s, then 10s, 30s and 50s"
        );

        store(&ticker, &[]);
        scheduler.sync(&[]).await;
        settle().await;
        tokio::time::sleep(Duration::from_secs(120)).await;
        assert_eq!(ticks_of(&ticker, "podinfo").len(), 4);
        assert!(scheduler.running().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_canary_deleted_between_syncs_ends_its_own_job() {
        let ticker = Arc::new(FakeTicker::default());
        let canaries = [canary("podinfo", "podinfo", "10s")];
        store(&ticker, &canaries);
        let mut scheduler = Scheduler::new(Arc::clone(&ticker), 1);
        scheduler.sync(&canaries).await;
        settle().await;
        store(&ticker, &[]);
        tokio::time::sleep(Duration::from_secs(15)).await;
        settle().await;
        assert_eq!(ticks_of(&ticker, "podinfo").len(), 1);
        assert!(scheduler.running().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn two_canaries_on_one_target_are_both_refused_with_a_reason() {
        let ticker = Arc::new(FakeTicker::default());
        let canaries = [
            canary("first", "podinfo", "10s"),
            canary("second", "podinfo", "10s"),
            canary("other", "backend", "10s"),
        ];
        store(&ticker, &canaries);
        let mut scheduler = Scheduler::new(Arc::clone(&ticker), 2);
        scheduler.sync(&canaries).await;
        settle().await;
        assert_eq!(
            scheduler.running(),
            [("test".to_owned(), "other".to_owned())]
        );
        let rejected = ticker.rejected.lock().expect("lock").clone();
        assert_eq!(rejected.len(), 2);
        assert!(
            rejected[0].contains("second.test also targets Deployment podinfo"),
            "{rejected:?}"
        );
    }
}
