//! PromQL semantics, evaluated in process with `SeriesStore::evaluate`
//! (the HTTP layer is covered by tests/prometheus_api.rs).

use std::time::Duration;

use weir_fakes_http::{Labels, QueryError, QueryValue, SeriesStore, Timestamp};

/// 2023-11-14T22:13:20Z, a round Unix time.
const START_SECONDS: i64 = 1_700_000_000;

fn at(seconds_after_start: i64) -> Timestamp {
    Timestamp::from_millis((START_SECONDS + seconds_after_start) * 1000)
}

fn value_of(store: &SeriesStore, query: &str, seconds_after_start: i64) -> f64 {
    let result = store
        .evaluate(query, Some(at(seconds_after_start)))
        .unwrap_or_else(|error| panic!("{query}: {error}"));
    result
        .value
        .single_value()
        .unwrap_or_else(|| panic!("{query}: not a single value: {:?}", result.value))
}

fn vector_of(store: &SeriesStore, query: &str, seconds_after_start: i64) -> Vec<(Labels, f64)> {
    let result = store
        .evaluate(query, Some(at(seconds_after_start)))
        .unwrap_or_else(|error| panic!("{query}: {error}"));
    match result.value {
        QueryValue::Vector(elements) => elements
            .into_iter()
            .map(|element| (element.labels, element.value))
            .collect(),
        other => panic!("{query}: not a vector: {other:?}"),
    }
}

fn counter(store: &SeriesStore, series: &Labels, points: &[(i64, f64)]) {
    for (seconds, value) in points {
        store
            .append(series, at(*seconds), *value)
            .expect("samples in time order");
    }
}

#[test]
fn a_counter_sampled_at_each_window_end_gives_the_simulators_window_sums() {
    // The simulator's windows: window k covers [10k, 10k + 10) s and
    // WindowSeries::over(t, r) sums the windows ending in (t − r, t].
    const RESOLUTION: i64 = 10;
    let windows: [u64; 12] = [3, 0, 7, 12, 5, 9, 4, 4, 11, 2, 8, 6];
    let store = SeriesStore::new();
    let series = Labels::metric("requests_total");
    store
        .append(&series, at(0), 0.0)
        .expect("the counter starts at 0");
    for (index, count) in windows.iter().enumerate() {
        let window_end = (index as i64 + 1) * RESOLUTION;
        store
            .increment(&series, at(window_end), *count as f64)
            .expect("in order");
    }
    let over = |time: i64, range: i64| -> u64 {
        windows
            .iter()
            .enumerate()
            .filter(|(index, _)| {
                let end = (*index as i64 + 1) * RESOLUTION;
                time - range < end && end <= time
            })
            .map(|(_, count)| *count)
            .sum()
    };
    for time in [60, 65, 69, 70, 100, 120] {
        let increase = value_of(&store, "increase(requests_total[1m])", time);
        assert_eq!(increase, over(time, 60) as f64, "at {time}s");
        let rate = value_of(&store, "rate(requests_total[1m])", time);
        assert_eq!(rate, over(time, 60) as f64 / 60.0, "at {time}s");
    }
}

#[test]
fn rate_has_no_series_when_either_sample_is_missing() {
    let store = SeriesStore::new();
    let series = Labels::metric("requests_total");
    counter(&store, &series, &[(30, 5.0), (60, 10.0)]);
    // At 60 with a 1m range the reference sample (at or before 0) is missing.
    assert!(vector_of(&store, "rate(requests_total[1m])", 60).is_empty());
    // At 90 it is the sample at 30.
    assert_eq!(value_of(&store, "increase(requests_total[1m])", 90), 5.0);
    // At 130 nothing was scraped in (70, 130]: no end sample.
    assert!(vector_of(&store, "increase(requests_total[1m])", 130).is_empty());
}

#[test]
fn a_counter_reset_counts_the_value_after_the_drop() {
    let store = SeriesStore::new();
    let series = Labels::metric("requests_total");
    // 100 → 130 (+30), restart → 20 (+20), → 50 (+30).
    counter(
        &store,
        &series,
        &[(0, 100.0), (20, 130.0), (40, 20.0), (60, 50.0)],
    );
    assert_eq!(value_of(&store, "increase(requests_total[1m])", 60), 80.0);
    assert_eq!(
        value_of(&store, "rate(requests_total[1m])", 60),
        80.0 / 60.0
    );
    // delta ignores resets: 50 − 100.
    assert_eq!(value_of(&store, "delta(requests_total[1m])", 60), -50.0);
    // irate: the last two samples, 20 → 50 over 20 s.
    assert_eq!(value_of(&store, "irate(requests_total[1m])", 60), 1.5);
    // and a reset between them counts the value after it: 20 over 20 s.
    assert_eq!(value_of(&store, "irate(requests_total[30s])", 40), 1.0);
}

#[test]
fn an_instant_selector_sees_the_latest_sample_of_the_last_five_minutes() {
    let store = SeriesStore::new();
    let series = Labels::metric("queue_depth");
    counter(&store, &series, &[(0, 4.0), (100, 7.0)]);
    assert!(vector_of(&store, "queue_depth", -1).is_empty());
    assert_eq!(value_of(&store, "queue_depth", 0), 4.0);
    assert_eq!(value_of(&store, "queue_depth", 99), 4.0);
    assert_eq!(value_of(&store, "queue_depth", 399), 7.0);
    // (t − 5m, t] excludes a sample exactly 5 minutes old.
    assert!(vector_of(&store, "queue_depth", 400).is_empty());
    assert_eq!(value_of(&store, "queue_depth offset 100s", 150), 4.0);
    assert_eq!(value_of(&store, "queue_depth @ 1700000050", 1000), 4.0);
}

#[test]
fn regex_matchers_are_anchored_at_both_ends() {
    let store = SeriesStore::new();
    for workload in ["podinfo", "podinfo-primary", "my-podinfo"] {
        let series = Labels::metric("up").with("workload", workload);
        store.append(&series, at(0), 1.0).expect("fresh series");
    }
    let matched = |query: &str| -> Vec<String> {
        vector_of(&store, query, 0)
            .into_iter()
            .filter_map(|(labels, _)| labels.get("workload").map(str::to_owned))
            .collect()
    };
    assert_eq!(matched(r#"up{workload=~"podinfo"}"#), ["podinfo"]);
    assert_eq!(
        matched(r#"up{workload!~"podinfo"}"#),
        ["my-podinfo", "podinfo-primary"]
    );
    assert_eq!(
        matched(r#"up{workload=~"podinfo.*"}"#),
        ["podinfo", "podinfo-primary"]
    );
    assert_eq!(matched(r#"{__name__="up", workload!="podinfo"}"#).len(), 2);
    assert_eq!(
        matched(r#"{__name__=~"u.", workload="my-podinfo"}"#),
        ["my-podinfo"]
    );
    // A missing label reads as "": `canary!=""` needs the label set.
    assert!(matched(r#"up{canary!=""}"#).is_empty());
    assert_eq!(matched(r#"up{canary=""}"#).len(), 3);
}

#[test]
fn sum_by_keeps_only_the_grouping_labels_and_without_drops_the_name() {
    let store = SeriesStore::new();
    for (pod, code, value) in [("a", "200", 1.0), ("a", "500", 2.0), ("b", "200", 4.0)] {
        let series = Labels::metric("hits").with("pod", pod).with("code", code);
        store.append(&series, at(0), value).expect("fresh series");
    }
    let by_code = vector_of(&store, "sum by (code) (hits)", 0);
    assert_eq!(
        by_code,
        [
            (Labels::new().with("code", "200"), 5.0),
            (Labels::new().with("code", "500"), 2.0)
        ]
    );
    let without_code = vector_of(&store, "sum without (code) (hits)", 0);
    assert_eq!(
        without_code,
        [
            (Labels::new().with("pod", "a"), 3.0),
            (Labels::new().with("pod", "b"), 4.0)
        ]
    );
    assert_eq!(value_of(&store, "sum(hits)", 0), 7.0);
    assert_eq!(value_of(&store, "avg(hits)", 0), 7.0 / 3.0);
    assert_eq!(value_of(&store, "min(hits)", 0), 1.0);
    assert_eq!(value_of(&store, "max(hits)", 0), 4.0);
    assert_eq!(value_of(&store, "count(hits)", 0), 3.0);
    assert_eq!(
        vector_of(&store, "count(hits) by (pod)", 0),
        [
            (Labels::new().with("pod", "a"), 2.0),
            (Labels::new().with("pod", "b"), 1.0)
        ]
    );
}

#[test]
fn vector_division_matches_elements_on_all_labels_but_the_name() {
    let store = SeriesStore::new();
    for (pod, errors, requests) in [("a", 1.0, 4.0), ("b", 3.0, 12.0), ("c", 1.0, 0.0)] {
        let labels = Labels::new().with("pod", pod);
        store
            .append(&labels.clone().with("__name__", "errors"), at(0), errors)
            .expect("fresh");
        store
            .append(
                &labels.clone().with("__name__", "requests"),
                at(0),
                requests,
            )
            .expect("fresh");
    }
    store
        .append(&Labels::metric("requests").with("pod", "d"), at(0), 9.0)
        .expect("fresh");
    let ratios = vector_of(&store, "errors / requests", 0);
    assert_eq!(ratios.len(), 3, "d has no errors series: {ratios:?}");
    assert_eq!(ratios[0], (Labels::new().with("pod", "a"), 0.25));
    assert_eq!(ratios[1], (Labels::new().with("pod", "b"), 0.25));
    assert_eq!(ratios[2].1, f64::INFINITY);

    // on() keeps only the listed labels; ignoring() drops the listed ones.
    let store = SeriesStore::new();
    store
        .append(
            &Labels::metric("ok").with("pod", "a").with("code", "200"),
            at(0),
            3.0,
        )
        .expect("fresh");
    store
        .append(&Labels::metric("all").with("pod", "a"), at(0), 4.0)
        .expect("fresh");
    assert!(vector_of(&store, "ok / all", 0).is_empty());
    assert_eq!(
        vector_of(&store, "ok / on(pod) all", 0),
        [(Labels::new().with("pod", "a"), 0.75)]
    );
    assert_eq!(
        vector_of(&store, "ok / ignoring(code) all", 0),
        [(Labels::new().with("pod", "a"), 0.75)]
    );
    // Comparisons filter and keep the left side's value and name (on()
    // keeps only the listed labels, the name included).
    assert_eq!(
        vector_of(&store, "ok < ignoring(code) all", 0),
        [(Labels::metric("ok").with("pod", "a"), 3.0)]
    );
    assert_eq!(
        vector_of(&store, "ok < on(pod) all", 0),
        [(Labels::new().with("pod", "a"), 3.0)]
    );
    assert_eq!(
        vector_of(&store, "ok > bool on(pod) all", 0),
        [(Labels::new().with("pod", "a"), 0.0)]
    );
    let refused = store
        .evaluate("ok / on(pod) group_left all", Some(at(0)))
        .expect_err("group_left is refused");
    assert!(refused.to_string().contains("group_left"), "{refused}");
}

#[test]
fn many_to_many_matching_is_an_execution_error_as_in_prometheus() {
    let store = SeriesStore::new();
    for pod in ["a", "b"] {
        store
            .append(
                &Labels::metric("x").with("pod", pod).with("app", "p"),
                at(0),
                1.0,
            )
            .expect("fresh");
    }
    store
        .append(&Labels::metric("y").with("app", "p"), at(0), 1.0)
        .expect("fresh");
    let error = store
        .evaluate("y / on(app) x", Some(at(0)))
        .expect_err("two right-hand matches");
    assert!(matches!(error, QueryError::Execution { .. }), "{error}");
    assert!(error.to_string().contains("duplicate series"), "{error}");
    let error = store
        .evaluate("x / on(app) y", Some(at(0)))
        .expect_err("two left-hand matches");
    assert!(error.to_string().contains("many-to-one"), "{error}");
    assert_eq!(error.error_type(), "execution");
}

#[test]
fn scalars_vectors_and_literals_combine_as_in_prometheus() {
    let store = SeriesStore::new();
    store
        .append(&Labels::metric("v").with("pod", "a"), at(0), 3.0)
        .expect("fresh");
    assert_eq!(value_of(&store, "1 + 2 * 3", 0), 7.0);
    assert_eq!(value_of(&store, "-(2 ^ 3) % 5", 0), -3.0);
    assert_eq!(value_of(&store, "2 > bool 1", 0), 1.0);
    assert_eq!(
        vector_of(&store, "v * 2", 0),
        [(Labels::new().with("pod", "a"), 6.0)]
    );
    assert_eq!(
        vector_of(&store, "10 - v", 0),
        [(Labels::new().with("pod", "a"), 7.0)]
    );
    assert_eq!(
        vector_of(&store, "-v", 0),
        [(Labels::new().with("pod", "a"), -3.0)]
    );
    // scalar < vector keeps the vector's value.
    assert_eq!(
        vector_of(&store, "1 < v", 0),
        [(Labels::metric("v").with("pod", "a"), 3.0)]
    );
    assert!(vector_of(&store, "v > 5", 0).is_empty());
    assert_eq!(value_of(&store, "scalar(v) + 1", 0), 4.0);
    assert!(value_of(&store, "scalar(nothing)", 0).is_nan());
    assert_eq!(vector_of(&store, "vector(1)", 0), [(Labels::new(), 1.0)]);
    assert_eq!(value_of(&store, "time()", 5), (START_SECONDS + 5) as f64);
    assert_eq!(value_of(&store, "abs(-v)", 0), 3.0);
    assert_eq!(value_of(&store, "clamp_max(v, 2)", 0), 2.0);
    assert_eq!(value_of(&store, "clamp_min(v, 4)", 0), 4.0);
    assert_eq!(value_of(&store, "clamp(v, 0, 1)", 0), 1.0);
    assert!(vector_of(&store, "clamp(v, 2, 1)", 0).is_empty());
    assert_eq!(value_of(&store, "round(v / 2)", 0), 2.0);
    assert!(value_of(&store, "0 / 0", 0).is_nan());
    assert_eq!(vector_of(&store, "v and v", 0).len(), 1);
    assert!(vector_of(&store, "v unless v", 0).is_empty());
    assert_eq!(vector_of(&store, "v or vector(2)", 0).len(), 2);
}

#[test]
fn over_time_functions_read_the_samples_in_the_range() {
    let store = SeriesStore::new();
    let series = Labels::metric("latency").with("pod", "a");
    counter(
        &store,
        &series,
        &[(0, 9.0), (20, 2.0), (40, 4.0), (60, 6.0)],
    );
    assert_eq!(value_of(&store, "avg_over_time(latency[1m])", 60), 4.0);
    assert_eq!(value_of(&store, "sum_over_time(latency[1m])", 60), 12.0);
    assert_eq!(value_of(&store, "min_over_time(latency[1m])", 60), 2.0);
    assert_eq!(value_of(&store, "max_over_time(latency[1m])", 60), 6.0);
    assert_eq!(value_of(&store, "count_over_time(latency[1m])", 60), 3.0);
    assert_eq!(value_of(&store, "last_over_time(latency[1m])", 60), 6.0);
    let matrix = store
        .evaluate("latency[1m]", Some(at(60)))
        .expect("a range selector");
    match matrix.value {
        QueryValue::Matrix(series) => assert_eq!(series[0].samples.len(), 3),
        other => panic!("not a matrix: {other:?}"),
    }
}

#[test]
fn histogram_quantile_groups_buckets_by_their_other_labels() {
    let store = SeriesStore::new();
    let bounds = [10.0, 20.0];
    for (pod, counts) in [("a", [5_u64, 5, 0]), ("b", [0, 4, 0])] {
        let labels = Labels::new().with("pod", pod);
        store
            .observe_histogram("latency", &labels, &bounds, &[0, 0, 0], None, at(0))
            .expect("zeros");
        store
            .observe_histogram("latency", &labels, &bounds, &counts, None, at(60))
            .expect("counts");
    }
    let per_pod = vector_of(
        &store,
        "histogram_quantile(0.5, rate(latency_bucket[1m]))",
        60,
    );
    assert_eq!(
        per_pod,
        [
            (Labels::new().with("pod", "a"), 10.0),
            (Labels::new().with("pod", "b"), 15.0)
        ]
    );
    // All together: 14 observations, rank 7 in (10, 20]: 10 + 10 · 2/9.
    let overall = value_of(
        &store,
        "histogram_quantile(0.5, sum(increase(latency_bucket[1m])) by (le))",
        60,
    );
    assert_eq!(overall, 10.0 + (20.0 - 10.0) * ((7.0 - 5.0) / 9.0));
    assert!(
        value_of(
            &store,
            "histogram_quantile(0.5, sum(latency_bucket{le!=\"+Inf\"}) by (le))",
            60
        )
        .is_nan()
    );
    assert_eq!(
        value_of(
            &store,
            "histogram_quantile(-1, sum(latency_bucket) by (le))",
            60
        ),
        f64::NEG_INFINITY
    );
    assert_eq!(
        value_of(
            &store,
            "histogram_quantile(2, sum(latency_bucket) by (le))",
            60
        ),
        f64::INFINITY
    );
}

#[test]
fn dropping_the_name_of_two_metrics_with_the_same_labels_is_an_error() {
    let store = SeriesStore::new();
    for name in ["a_total", "b_total"] {
        counter(
            &store,
            &Labels::metric(name).with("pod", "x"),
            &[(0, 0.0), (60, 6.0)],
        );
    }
    let error = store
        .evaluate(r#"rate({__name__=~".+_total"}[1m])"#, Some(at(60)))
        .expect_err("same label set twice");
    assert_eq!(
        error.to_string(),
        "vector cannot contain metrics with the same labelset"
    );
}

#[test]
fn refused_constructs_are_named() {
    let store = SeriesStore::new();
    let refusal = |query: &str| -> String {
        let error = store.evaluate(query, Some(at(0))).expect_err(query);
        assert_eq!(error.error_type(), "bad_data", "{query}: {error}");
        error.to_string()
    };
    assert_eq!(
        refusal(r#"label_replace(up, "a", "$1", "b", "(.*)")"#),
        "unsupported by weir's fake Prometheus: the function \"label_replace\""
    );
    assert!(refusal("topk(3, up)").contains("the aggregation \"topk\""));
    assert!(refusal("max_over_time(rate(up[1m])[5m:1m])").contains("subqueries"));
    assert!(refusal("sum(rate(up[1m])").starts_with("invalid parameter \"query\": parse error"));
}

#[test]
fn pathological_queries_get_errors_not_crashes() {
    let store = SeriesStore::new();
    let refused = |query: &str| -> String {
        let error = store.evaluate(query, Some(at(0))).expect_err("refused");
        error.to_string()
    };
    let deep = format!("{}1{}", "(".repeat(20_000), ")".repeat(20_000));
    assert!(refused(&deep).contains("nested deeper than 256 levels"));
    let negations = format!("{}up", "-".repeat(30_000));
    assert!(refused(&negations).contains("nested deeper than 256 levels"));
    let chain = format!("up{}", " + up".repeat(1_000));
    assert!(refused(&chain).contains("nested deeper than 256 levels"));
    // Parentheses inside a regex do not count.
    let regex = format!("up{{job=~\"{}\"}}", "(a)".repeat(300));
    assert!(store.evaluate(&regex, Some(at(0))).is_ok());
    assert!(refused(&"1+".repeat(40_000)).contains("bytes long"));
    for garbage in [
        "",
        "{",
        "}",
        "up{a=~\"(\"}",
        "\u{0}",
        "rate(",
        "1 +",
        "sum by (",
        "up[5x]",
    ] {
        assert!(store.evaluate(garbage, Some(at(0))).is_err(), "{garbage:?}");
    }
}

#[test]
fn the_evaluation_clock_is_used_when_no_time_is_given() {
    let store = SeriesStore::new();
    let series = Labels::metric("g");
    counter(&store, &series, &[(0, 1.0), (600, 2.0)]);
    store.set_now(at(10));
    let result = store.evaluate("g", None).expect("valid");
    assert_eq!(result.time, at(10));
    assert_eq!(result.value.single_value(), Some(1.0));
    store.advance_now(Duration::from_secs(600));
    assert_eq!(
        store
            .evaluate("g", None)
            .expect("valid")
            .value
            .single_value(),
        Some(2.0)
    );
}
