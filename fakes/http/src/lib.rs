//! Fakes that speak HTTP on loopback, for the metric providers', webhooks'
//! and notifiers' tests and for the simulator's wired mode: a Prometheus
//! query API evaluating PromQL over simulated series ([`FakePrometheus`]),
//! a scriptable webhook endpoint ([`WebhookReceiver`]), a chat-notifier
//! sink ([`AlertSink`]) and a synthetic application for a real Prometheus
//! to scrape ([`SyntheticApp`]).
//!
//! Every fake binds `127.0.0.1:0`, exposes its base URL (`url()`), runs on
//! the Tokio runtime it was started in, and stops when dropped (or on
//! `shutdown().await`, which also waits for the port to close). Sync code
//! such as the simulator starts them with `runtime.block_on(…)` on a
//! multi-threaded runtime, which keeps serving while the caller blocks.
//!
//! # FakePrometheus
//!
//! ```text
//!   test / simulator                      weir's Prometheus provider
//!        │ append, increment,                   │ GET|POST /api/v1/query
//!        │ observe_histogram, set_now           ▼   ?query=…&time=…
//!        ▼                               ┌──────────────────────────┐
//!   ┌─────────────┐   read lock          │ record ReceivedQuery     │
//!   │ SeriesStore │◀─────────────────┐   │ fault? (fail_next queue, │
//!   │ labels →    │                  │   │   then the responder)    │
//!   │ [(t, v), …] │                  │   │ time = `time` or now     │
//!   │ now: Option │                  │   └────────────┬─────────────┘
//!   └─────────────┘                  │                ▼
//!                                    │   promql-parser → Expr
//!                                    │                ▼
//!                                    └── evaluator (this crate)
//!                                                     ▼
//!              {"status":"success","data":{"resultType":"vector","result":[
//!                {"metric":{…},"value":[1700000000.500,"99.5"]}]}}
//!              or {"status":"error","errorType":"bad_data","error":"…"} (400)
//! ```
//!
//! The [`SeriesStore`] holds series identified by their [`Labels`] (the
//! metric name is `__name__`), each a list of [`Sample`]s appended in time
//! order at millisecond resolution. Counters and gauges are stored alike.
//! Its evaluation clock is used when a query has no `time`: it follows the
//! wall clock until [`SeriesStore::set_now`] pins it, so virtual time works.
//! [`SeriesStore::evaluate`] runs a query in process, without HTTP.
//!
//! ## The PromQL subset
//!
//! * vector selectors with `=`, `!=`, `=~`, `!~` (regexes fully anchored),
//!   `__name__` matchers and `or` groups; range selectors; `offset`; `@`;
//! * `rate`, `increase`, `delta`, `irate`, `idelta`, `histogram_quantile`,
//!   `vector`, `scalar`, `time`, `abs`, `ceil`, `floor`, `round`, `sqrt`,
//!   `exp`, `ln`, `log2`, `log10`, `clamp`, `clamp_min`, `clamp_max`,
//!   `avg_over_time`, `sum_over_time`, `min_over_time`, `max_over_time`,
//!   `count_over_time`, `last_over_time`;
//! * `sum`, `avg`, `min`, `max`, `count`, `group` with `by`/`without`;
//! * `+ - * / % ^ atan2`, comparisons (with and without `bool`) and
//!   `and`/`or`/`unless` between scalars and vectors, one-to-one vector
//!   matching on all labels but `__name__`, or `on(…)`/`ignoring(…)`;
//! * number and string literals, parentheses, unary minus.
//!
//! Anything else (other functions and aggregations, subqueries,
//! `group_left`/`group_right`, `fill`) is valid PromQL the fake refuses with
//! 400 `bad_data` naming the construct (`unsupported by weir's fake
//! Prometheus: the function "label_replace"`), never a panic.
//!
//! ## Differences from Prometheus
//!
//! * **Counters are not extrapolated.** `increase(v[r])` at `t` is the last
//!   sample at or before `t` minus the last sample at or before `t − r`
//!   (a drop between samples is a counter reset: the counter restarted from
//!   0), and `rate` is that divided by `r` in seconds. There is no result
//!   when the series has no sample at or before `t − r`, or none in
//!   `(t − r, t]`. Prometheus instead looks only at the samples inside the
//!   range and extrapolates their increase to the range's edges. The
//!   simpler rule makes values from simulated per-window counts exact: the
//!   simulator's `WindowSeries::over` sums the windows ending in
//!   `(t − r, t]`, and a counter sampled at every window end gives exactly
//!   that increase. Write a 0 sample when a counter is created, so that its
//!   first increments have a reference sample.
//! * `delta` follows the same rule without resets; `irate`, `idelta` and
//!   the `*_over_time` functions use the samples in `(t − r, t]` as
//!   Prometheus does.
//! * `sum` and `avg` add plainly (no Kahan compensation); `avg` is
//!   `sum / count`. Results of small integer counts are exact either way.
//! * Only instant queries (`/api/v1/query`); no `query_range`, metadata,
//!   native histograms, staleness markers or `timeout`/`stats` parameters.
//!   An instant selector sees the latest sample in `(t − 5m, t]`.
//! * A sample at the time of a series' latest sample replaces it (Prometheus
//!   refuses it); older ones are refused as out of order.
//! * Selectors and aggregations return series sorted by labels; operators
//!   keep their left operand's order (Prometheus promises no order).
//! * Regex matchers are compiled by promql-parser as `^(?:…)$` with Rust's
//!   `regex`: `.` does not match a newline (Prometheus's `(?s:…)` does),
//!   and Go-only syntax is refused as a parse error.
//!
//! Values are written as Prometheus writes them (`"NaN"`, `"+Inf"`,
//! `"-Inf"`, shortest round-trip decimals, `1e-07` below 1e-6) and
//! timestamps with millisecond decimals (`1700000000.500`).
//!
//! ## Faults
//!
//! [`FakePrometheus::fail_next`] queues error answers;
//! [`FakePrometheus::set_responder`] decides per query text whether to
//! answer an error status ([`FaultResponse::Error`]), to wait before
//! answering normally ([`FaultResponse::Delay`]) or to answer an empty
//! vector ([`FaultResponse::Empty`]). Every query is recorded with its
//! headers ([`FakePrometheus::queries`]), faulted ones included.
//!
//! # WebhookReceiver and AlertSink
//!
//! [`WebhookReceiver`] records every request (method, path, query, headers,
//! body and the body as JSON) and answers 200 `OK`, or per path, or the next
//! N calls with a status, optionally after a delay; tests can wait for N
//! calls from asynchronous senders. [`AlertSink`] is a receiver that reads
//! the message out of Slack (Discord, Rocket.Chat), Microsoft Teams and
//! Google Chat payloads.
//!
//! # SyntheticApp
//!
//! [`SyntheticApp`] serves `/metrics` for a real Prometheus to scrape:
//! Istio's and the Prometheus client's request metrics for one workload,
//! with known rates, error ratio and latency distribution, so a test knows
//! what weir's builtin queries must read back.

mod alert;
mod prometheus;
mod server;
mod synthetic;
mod webhook;

pub use alert::{AlertFormat, AlertMessage, AlertSink};
pub use prometheus::{
    BUCKET_LABEL, FakePrometheus, FaultResponse, LOOKBACK, Labels, METRIC_NAME_LABEL, MatrixSeries,
    QueryError, QueryResult, QueryValue, ReceivedQuery, Sample, SeriesStore, StoreError, Timestamp,
    VectorElement, format_go_float_g, format_value,
};
pub use server::FakeError;
pub use synthetic::{
    CLIENT_BUCKETS_SECONDS, ISTIO_BUCKETS_MILLISECONDS, SyntheticApp, SyntheticTraffic, Workload,
    exposition,
};
pub use webhook::{CannedResponse, RecordedCall, WaitError, WebhookReceiver};
