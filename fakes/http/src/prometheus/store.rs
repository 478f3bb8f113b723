//! The in-memory time series database behind [`FakePrometheus`]:
//! series keyed by their labels, samples appended in time order, and the
//! evaluation clock.
//!
//! [`FakePrometheus`]: super::FakePrometheus

use std::collections::BTreeMap;
use std::fmt;
use std::ops::{Add, Sub};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::format::{format_go_float_g, write_timestamp};

/// The label that holds a series' metric name.
pub const METRIC_NAME_LABEL: &str = "__name__";

/// The label that holds a histogram bucket's upper bound.
pub const BUCKET_LABEL: &str = "le";

/// A point in time at Prometheus's resolution: whole milliseconds since the
/// Unix epoch (Prometheus stores every timestamp as `int64` ms).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    /// `milliseconds` after the Unix epoch (negative: before it).
    pub const fn from_millis(milliseconds: i64) -> Timestamp {
        Timestamp(milliseconds)
    }

    /// Unix seconds, rounded to the millisecond as Prometheus rounds the
    /// `time` parameter. `None` for NaN, infinities and times beyond what
    /// milliseconds in an `i64` can hold.
    pub fn from_seconds(seconds: f64) -> Option<Timestamp> {
        // i64::MAX ms is about 292 million years: anything beyond is garbage.
        const LIMIT_SECONDS: f64 = 9.0e15;
        if !seconds.is_finite() || seconds.abs() > LIMIT_SECONDS {
            return None;
        }
        // Prometheus: `s, ns := math.Modf(t); ns = math.Round(ns*1000) / 1000`.
        let whole = seconds.trunc();
        let milliseconds = ((seconds - whole) * 1000.0).round();
        Some(Timestamp(whole as i64 * 1000 + milliseconds as i64))
    }

    /// `elapsed` after the Unix epoch, truncated to the millisecond
    /// (saturating far in the future).
    pub fn from_duration_since_epoch(elapsed: Duration) -> Timestamp {
        Timestamp(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
    }

    /// The wall clock.
    pub fn now() -> Timestamp {
        Timestamp::from(SystemTime::now())
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Seconds since the Unix epoch.
    pub fn as_seconds(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// `self − duration`, saturating.
    pub fn saturating_sub(self, duration: Duration) -> Timestamp {
        Timestamp(self.0.saturating_sub(duration_millis(duration)))
    }

    /// `self + duration`, saturating.
    pub fn saturating_add(self, duration: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(duration_millis(duration)))
    }
}

fn duration_millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Timestamp {
        match time.duration_since(UNIX_EPOCH) {
            Ok(after) => Timestamp::from_duration_since_epoch(after),
            Err(before) => Timestamp(-duration_millis(before.duration())),
        }
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;

    fn add(self, duration: Duration) -> Timestamp {
        self.saturating_add(duration)
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;

    fn sub(self, duration: Duration) -> Timestamp {
        self.saturating_sub(duration)
    }
}

/// Seconds as Prometheus writes them in JSON: `1700000000.5` reads
/// `1700000000.500`.
impl fmt::Display for Timestamp {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = String::new();
        write_timestamp(&mut text, *self);
        formatter.write_str(&text)
    }
}

/// A set of labels, sorted by name, as Prometheus identifies a series
/// (the metric name is the label `__name__`). A label with an empty value
/// is the same as no label, as in Prometheus: setting one removes it.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Labels(BTreeMap<String, String>);

impl Labels {
    /// No labels.
    pub fn new() -> Labels {
        Labels::default()
    }

    /// A series of the metric `name`, without other labels yet.
    pub fn metric(name: &str) -> Labels {
        Labels::new().with(METRIC_NAME_LABEL, name)
    }

    /// These labels and `name="value"` (replacing any value `name` had;
    /// an empty `value` removes the label).
    pub fn with(mut self, name: &str, value: &str) -> Labels {
        self.insert(name, value);
        self
    }

    /// Sets `name="value"`; an empty `value` removes the label.
    pub fn insert(&mut self, name: &str, value: &str) {
        if value.is_empty() {
            self.0.remove(name);
        } else {
            self.0.insert(name.to_owned(), value.to_owned());
        }
    }

    /// Removes the label `name`, returning its value.
    pub fn remove(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }

    /// The value of `name`, if the label is set.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The metric name (`__name__`).
    pub fn metric_name(&self) -> Option<&str> {
        self.get(METRIC_NAME_LABEL)
    }

    /// The labels by name, in ascending order (`__name__` sorts after
    /// capitalised names, before lower-case ones, as in Prometheus).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// How many labels are set.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether no label is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// These labels without `__name__`.
    pub fn without_metric_name(mut self) -> Labels {
        self.0.remove(METRIC_NAME_LABEL);
        self
    }

    /// Keeps only the labels named in `names`.
    pub(crate) fn keep_only<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> Labels {
        let mut kept = Labels::new();
        for name in names {
            if let Some(value) = self.get(name) {
                kept.insert(name, value);
            }
        }
        kept
    }
}

impl<const N: usize> From<[(&str, &str); N]> for Labels {
    fn from(pairs: [(&str, &str); N]) -> Labels {
        pairs.into_iter().collect()
    }
}

impl<'a> FromIterator<(&'a str, &'a str)> for Labels {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a str)>>(pairs: I) -> Labels {
        let mut labels = Labels::new();
        for (name, value) in pairs {
            labels.insert(name, value);
        }
        labels
    }
}

/// `name{label="value", …}`, as Prometheus prints a series.
impl fmt::Display for Labels {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(name) = self.metric_name() {
            formatter.write_str(name)?;
        }
        formatter.write_str("{")?;
        let mut first = true;
        for (name, value) in self.iter().filter(|(name, _)| *name != METRIC_NAME_LABEL) {
            if !first {
                formatter.write_str(", ")?;
            }
            first = false;
            write!(formatter, "{name}={value:?}")?;
        }
        formatter.write_str("}")
    }
}

/// One value of a series at one time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// When the value was scraped.
    pub time: Timestamp,
    /// The value (counters and gauges alike; NaN is allowed, as in Prometheus).
    pub value: f64,
}

/// Why the store refused a sample.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// Every series needs a metric name.
    #[error("series {series} has no metric name: set the `__name__` label (Labels::metric)")]
    MissingMetricName {
        /// The labels given.
        series: Labels,
    },
    /// Samples must be appended in time order, as Prometheus ingests them.
    #[error(
        "sample at {time} for {series} is older than its latest sample at {latest}: append samples in time order"
    )]
    OutOfOrder {
        /// The series.
        series: Labels,
        /// The time of the series' latest sample.
        latest: Timestamp,
        /// The time of the refused sample.
        time: Timestamp,
    },
    /// A histogram needs one count per bucket, `+Inf` last.
    #[error(
        "histogram {metric} has {bounds} finite bounds, so {expected} bucket counts (+Inf last), not {counts}"
    )]
    BucketCountMismatch {
        /// The histogram's base name.
        metric: String,
        /// How many finite upper bounds were given.
        bounds: usize,
        /// How many counts that needs.
        expected: usize,
        /// How many counts were given.
        counts: usize,
    },
}

/// The samples of every series, keyed by metric name then by labels (the
/// name index keeps selectors with a name from scanning everything).
#[derive(Debug, Default)]
pub(crate) struct StoreData {
    pub(crate) series: BTreeMap<String, BTreeMap<Labels, Vec<Sample>>>,
    /// The evaluation clock; `None` follows the wall clock.
    pub(crate) now: Option<Timestamp>,
}

impl StoreData {
    pub(crate) fn now(&self) -> Timestamp {
        self.now.unwrap_or_else(Timestamp::now)
    }
}

/// Thread-safe, shared series storage. Clones share the same data: fill it
/// from a test or the simulator while a [`FakePrometheus`] serves it.
///
/// Counters and gauges are stored alike, as plain samples; `rate()` and
/// friends treat whatever they are given as a counter.
///
/// The evaluation clock ("now", used when a query has no `time`) follows
/// the wall clock until [`SeriesStore::set_now`] pins it, which is what
/// virtual time needs; [`SeriesStore::follow_wall_clock`] unpins it.
///
/// [`FakePrometheus`]: super::FakePrometheus
#[derive(Clone, Debug, Default)]
pub struct SeriesStore {
    data: Arc<RwLock<StoreData>>,
}

impl SeriesStore {
    /// An empty store following the wall clock.
    pub fn new() -> SeriesStore {
        SeriesStore::default()
    }

    pub(crate) fn read(&self) -> RwLockReadGuard<'_, StoreData> {
        // A panic while holding the lock cannot leave the map half-updated
        // in a way that matters to a fake: keep serving.
        self.data.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, StoreData> {
        self.data.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends `value` at `time` to `series`. A sample at the same time as
    /// the series' latest replaces it; an older one is refused, as
    /// Prometheus refuses out-of-order samples.
    pub fn append(&self, series: &Labels, time: Timestamp, value: f64) -> Result<(), StoreError> {
        let mut data = self.write();
        append_to(&mut data, series, time, |_| value)
    }

    /// Adds `by` to the counter `series` at `time` and returns its new value
    /// (a counter seen for the first time starts from 0: its first sample
    /// is `by`). Increments at the time of the latest sample add to it, so
    /// several batches can land in one window. To let `rate()` see the
    /// first increment, write a 0 sample first (see the crate docs).
    pub fn increment(&self, series: &Labels, time: Timestamp, by: f64) -> Result<f64, StoreError> {
        let mut data = self.write();
        let mut written = by;
        append_to(&mut data, series, time, |latest| {
            written = latest.unwrap_or(0.0) + by;
            written
        })?;
        Ok(written)
    }

    /// Records observations into a classic histogram at `time`, the way a
    /// client library exposes it: the counters `<metric>_bucket{le="…"}`
    /// (cumulative, `le` formatted as Go's `%g` does, so
    /// `3600000` reads `3.6e+06` as Envoy exposes it), `<metric>_count`
    /// and, given `sum`, `<metric>_sum` all grow by this batch.
    ///
    /// `counts[i]` is the number of new observations in the bucket ending
    /// at `upper_bounds[i]`; the last count is the `+Inf` bucket, so
    /// `counts.len() == upper_bounds.len() + 1`.
    pub fn observe_histogram(
        &self,
        metric: &str,
        labels: &Labels,
        upper_bounds: &[f64],
        counts: &[u64],
        sum: Option<f64>,
        time: Timestamp,
    ) -> Result<(), StoreError> {
        if counts.len() != upper_bounds.len() + 1 {
            return Err(StoreError::BucketCountMismatch {
                metric: metric.to_owned(),
                bounds: upper_bounds.len(),
                expected: upper_bounds.len() + 1,
                counts: counts.len(),
            });
        }
        let base = labels
            .clone()
            .with(METRIC_NAME_LABEL, &format!("{metric}_bucket"));
        let mut data = self.write();
        let mut cumulative = 0.0;
        let bounds = upper_bounds
            .iter()
            .map(|bound| format_go_float_g(*bound))
            .chain(std::iter::once("+Inf".to_owned()));
        for (bound, count) in bounds.zip(counts) {
            cumulative += *count as f64;
            let series = base.clone().with(BUCKET_LABEL, &bound);
            append_to(&mut data, &series, time, |latest| {
                latest.unwrap_or(0.0) + cumulative
            })?;
        }
        let count_series = labels
            .clone()
            .with(METRIC_NAME_LABEL, &format!("{metric}_count"));
        append_to(&mut data, &count_series, time, |latest| {
            latest.unwrap_or(0.0) + cumulative
        })?;
        if let Some(sum) = sum {
            let sum_series = labels
                .clone()
                .with(METRIC_NAME_LABEL, &format!("{metric}_sum"));
            append_to(&mut data, &sum_series, time, |latest| {
                latest.unwrap_or(0.0) + sum
            })?;
        }
        Ok(())
    }

    /// Pins the evaluation clock at `now`: queries without `time` are
    /// evaluated there.
    pub fn set_now(&self, now: Timestamp) {
        self.write().now = Some(now);
    }

    /// Moves a pinned evaluation clock forward by `by` (pinning it at the
    /// wall clock's time plus `by` if it was not pinned).
    pub fn advance_now(&self, by: Duration) {
        let mut data = self.write();
        let now = data.now();
        data.now = Some(now + by);
    }

    /// Unpins the evaluation clock: queries without `time` are evaluated at
    /// the wall clock's time again.
    pub fn follow_wall_clock(&self) {
        self.write().now = None;
    }

    /// Where queries without `time` are evaluated now.
    pub fn now(&self) -> Timestamp {
        self.read().now()
    }

    /// Every series, sorted by metric name then labels.
    pub fn series(&self) -> Vec<Labels> {
        self.read()
            .series
            .values()
            .flat_map(|by_labels| by_labels.keys().cloned())
            .collect()
    }

    /// The samples of `series`, oldest first (empty if there is no such series).
    pub fn samples(&self, series: &Labels) -> Vec<Sample> {
        let data = self.read();
        series
            .metric_name()
            .and_then(|name| data.series.get(name))
            .and_then(|by_labels| by_labels.get(series))
            .cloned()
            .unwrap_or_default()
    }

    /// Removes every series (the clock stays as it is).
    pub fn clear(&self) {
        self.write().series.clear();
    }
}

/// Appends the value `value_for(latest value)` at `time` to `series`.
fn append_to(
    data: &mut StoreData,
    series: &Labels,
    time: Timestamp,
    value_for: impl FnOnce(Option<f64>) -> f64,
) -> Result<(), StoreError> {
    let Some(name) = series.metric_name() else {
        return Err(StoreError::MissingMetricName {
            series: series.clone(),
        });
    };
    let samples = data
        .series
        .entry(name.to_owned())
        .or_default()
        .entry(series.clone())
        .or_default();
    match samples.last_mut() {
        Some(latest) if latest.time > time => Err(StoreError::OutOfOrder {
            series: series.clone(),
            latest: latest.time,
            time,
        }),
        Some(latest) if latest.time == time => {
            latest.value = value_for(Some(latest.value));
            Ok(())
        }
        latest => {
            let value = value_for(latest.map(|sample| sample.value));
            samples.push(Sample { time, value });
            Ok(())
        }
    }
}

/// The index of the first sample after `time` (so `samples[..index]` are at
/// or before it).
pub(crate) fn after(samples: &[Sample], time: Timestamp) -> usize {
    samples.partition_point(|sample| sample.time <= time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_to_the_millisecond_as_prometheus_parses_time() {
        assert_eq!(
            Timestamp::from_seconds(1_700_000_000.5),
            Some(Timestamp::from_millis(1_700_000_000_500))
        );
        assert_eq!(
            Timestamp::from_seconds(1.0006),
            Some(Timestamp::from_millis(1001))
        );
        assert_eq!(Timestamp::from_seconds(f64::NAN), None);
        assert_eq!(Timestamp::from_seconds(f64::INFINITY), None);
        assert_eq!(
            Timestamp::from_millis(1_700_000_000_500).to_string(),
            "1700000000.500"
        );
    }

    #[test]
    fn empty_label_values_are_absent_labels() {
        let labels = Labels::metric("up").with("job", "a").with("job", "");
        assert_eq!(labels, Labels::metric("up"));
        assert_eq!(
            Labels::metric("up")
                .with("b", "2")
                .with("A", "1")
                .to_string(),
            "up{A=\"1\", b=\"2\"}"
        );
    }

    #[test]
    fn samples_must_come_in_time_order_and_the_same_time_replaces() {
        let store = SeriesStore::new();
        let series = Labels::metric("requests_total");
        store
            .append(&series, Timestamp::from_millis(2000), 1.0)
            .expect("first sample");
        let error = store
            .append(&series, Timestamp::from_millis(1000), 2.0)
            .expect_err("older");
        assert!(matches!(error, StoreError::OutOfOrder { .. }), "{error}");
        store
            .increment(&series, Timestamp::from_millis(3000), 5.0)
            .expect("counter");
        // A second batch in the same window adds to it.
        let value = store
            .increment(&series, Timestamp::from_millis(3000), 7.0)
            .expect("counter");
        assert_eq!(value, 13.0);
        store
            .append(&series, Timestamp::from_millis(3000), 4.0)
            .expect("replace");
        assert_eq!(store.samples(&series)[1].value, 4.0);
        assert_eq!(store.samples(&series).len(), 2);
        let error = store
            .append(
                &Labels::new().with("job", "x"),
                Timestamp::from_millis(0),
                1.0,
            )
            .expect_err("no name");
        assert!(error.to_string().contains("no metric name"), "{error}");
    }

    #[test]
    fn histograms_are_stored_as_cumulative_bucket_counters() {
        let store = SeriesStore::new();
        let labels = Labels::new().with("app", "podinfo");
        let time = Timestamp::from_millis(0);
        store
            .observe_histogram(
                "latency",
                &labels,
                &[0.5, 3_600_000.0],
                &[1, 2, 3],
                Some(4.5),
                time,
            )
            .expect("valid");
        let bucket = |le: &str| {
            store.samples(
                &labels
                    .clone()
                    .with("__name__", "latency_bucket")
                    .with("le", le),
            )
        };
        assert_eq!(bucket("0.5")[0].value, 1.0);
        assert_eq!(bucket("3.6e+06")[0].value, 3.0);
        assert_eq!(bucket("+Inf")[0].value, 6.0);
        assert_eq!(
            store.samples(&labels.clone().with("__name__", "latency_count"))[0].value,
            6.0
        );
        assert_eq!(
            store.samples(&labels.clone().with("__name__", "latency_sum"))[0].value,
            4.5
        );
        let error = store
            .observe_histogram("latency", &labels, &[0.5], &[1], None, time)
            .expect_err("missing +Inf");
        assert!(matches!(error, StoreError::BucketCountMismatch { .. }));
    }

    #[test]
    fn the_clock_follows_the_wall_clock_until_pinned() {
        let store = SeriesStore::new();
        let before = Timestamp::now();
        assert!(store.now() >= before);
        store.set_now(Timestamp::from_millis(1000));
        store.advance_now(Duration::from_secs(2));
        assert_eq!(store.now(), Timestamp::from_millis(3000));
        store.follow_wall_clock();
        assert!(store.now() >= before);
    }
}
