//! Hand-built run records for the report tests: what the event loop would
//! record for a few typical runs, without running it, so the reports are
//! tested on their own.

use std::time::Duration;

use weir_api::CanaryPhase;
use weir_engine::{Decision, RollbackReason};

use crate::record::{
    FailedCheck, LogEntry, LogSource, MetricCheck, MetricInfo, Outcome, Reading, RunRecord,
    TickSample, TrafficSample, Verdict,
};
use crate::time::SimTime;

fn at(seconds: u64) -> SimTime {
    SimTime::from_secs(seconds)
}

fn tick(
    minute: u64,
    decision: Decision,
    phase: CanaryPhase,
    canary: i32,
    failed: i32,
) -> TickSample {
    TickSample {
        at: at(minute * 60),
        decision,
        phase,
        primary_weight: 100 - canary,
        canary_weight: canary,
        mirrored: false,
        failed_checks: failed,
        iterations: 0,
    }
}

fn entry(seconds: u64, source: LogSource, level: &str, message: &str) -> LogEntry {
    LogEntry {
        at: at(seconds),
        source,
        level: level.to_owned(),
        message: message.to_owned(),
    }
}

fn success_rate() -> MetricInfo {
    MetricInfo {
        name: "request-success-rate".to_owned(),
        unit: "%".to_owned(),
        min: Some(99.0),
        max: None,
    }
}

fn duration() -> MetricInfo {
    MetricInfo {
        name: "request-duration".to_owned(),
        unit: "ms".to_owned(),
        min: None,
        max: Some(500.0),
    }
}

fn check(minute: u64, metric: &MetricInfo, canary: Reading, primary: f64) -> MetricCheck {
    let passed = match canary.value() {
        Some(value) => {
            metric.min.is_none_or(|min| value >= min) && metric.max.is_none_or(|max| value <= max)
        }
        None => false,
    };
    MetricCheck {
        at: at(minute * 60),
        metric: metric.name.clone(),
        canary,
        primary: Reading::Value { value: primary },
        passed,
    }
}

fn value(value: f64) -> Reading {
    Reading::Value { value }
}

/// Traffic in 15-second slots until `end`: `users` requests per second
/// (varying a little, deterministically) split by the weight of the last
/// tick, failing at the given rates; `test` load-test requests per second
/// to the canary while it has weight or is being analysed.
fn traffic(
    ticks: &[TickSample],
    end: u64,
    users: u64,
    canary_error_rate: f64,
    primary_error_rate: f64,
    test: u64,
) -> Vec<TrafficSample> {
    const SLOT: u64 = 15;
    let mut slots = Vec::new();
    for (index, start) in (0..end).step_by(SLOT as usize).enumerate() {
        let current = ticks
            .iter()
            .rev()
            .find(|tick| tick.at.as_secs_f64() <= start as f64);
        let weight = current.map_or(0, |tick| u64::try_from(tick.canary_weight).unwrap_or(0));
        let analysing = current.is_some_and(|tick| tick.phase == CanaryPhase::Progressing);
        let requests = (users + (index as u64 * 7) % 5) * SLOT;
        let canary = requests * weight / 100;
        let primary = requests - canary;
        let round = |count: u64, rate: f64| (count as f64 * rate).round() as u64;
        slots.push(TrafficSample {
            start: at(start),
            end: at(start + SLOT),
            primary_requests: primary,
            primary_failures: round(primary, primary_error_rate),
            canary_requests: canary,
            canary_failures: round(canary, canary_error_rate),
            mirrored_requests: 0,
            test_requests: if analysing { test * SLOT } else { 0 },
            unrouted_requests: 0,
        });
    }
    slots
}

fn totals(outcome: &mut Outcome, traffic: &[TrafficSample]) {
    outcome.canary_requests = traffic.iter().map(|slot| slot.canary_requests).sum();
    outcome.blast_radius = traffic.iter().map(|slot| slot.canary_failures).sum();
    outcome.primary_failures = traffic.iter().map(|slot| slot.primary_failures).sum();
    outcome.mirrored_requests = traffic.iter().map(|slot| slot.mirrored_requests).sum();
}

/// A clean release: 25% and 50%, then promoted.
pub(super) fn promoted() -> RunRecord {
    use CanaryPhase::*;
    let ticks = vec![
        tick(0, Decision::Initialized, Initialized, 0, 0),
        tick(1, Decision::Started, Progressing, 0, 0),
        tick(2, Decision::Advanced, Progressing, 25, 0),
        tick(3, Decision::Advanced, Progressing, 50, 0),
        tick(4, Decision::Promoting, Promoting, 50, 0),
        tick(5, Decision::Finalising, Finalising, 0, 0),
        tick(6, Decision::Succeeded, Succeeded, 0, 0),
    ];
    let (rate, latency) = (success_rate(), duration());
    let mut checks = Vec::new();
    for (minute, success, milliseconds) in [(2, 99.92, 182.0), (3, 99.88, 190.0), (4, 99.95, 176.0)]
    {
        checks.push(check(minute, &rate, value(success), 99.93));
        checks.push(check(minute, &latency, value(milliseconds), 170.0));
    }
    let traffic = traffic(&ticks, 420, 20, 0.0008, 0.0007, 0);
    let log = vec![
        entry(
            0,
            LogSource::Event,
            "Normal",
            "Initialization done! podinfo.test",
        ),
        entry(55, LogSource::Scenario, "", "new revision podinfo:6.0.1"),
        entry(
            60,
            LogSource::Event,
            "Normal",
            "New revision detected! Scaling up podinfo.test",
        ),
        entry(
            120,
            LogSource::Event,
            "Normal",
            "Advance podinfo.test canary weight 25",
        ),
        entry(
            180,
            LogSource::Event,
            "Normal",
            "Advance podinfo.test canary weight 50",
        ),
        entry(
            240,
            LogSource::Event,
            "Normal",
            "Copying podinfo.test template spec to podinfo-primary.test",
        ),
        entry(
            300,
            LogSource::Event,
            "Normal",
            "Routing all traffic to primary",
        ),
        entry(
            360,
            LogSource::Event,
            "Normal",
            "Promotion completed! Scaling down podinfo.test",
        ),
    ];
    let mut outcome = Outcome {
        verdict: Verdict::Promoted,
        final_phase: Succeeded,
        rollback_reason: None,
        released_at: Some(at(55)),
        decided_at: Some(at(360)),
        time_to_decision: Some(Duration::from_secs(305)),
        canary_requests: 0,
        blast_radius: 0,
        primary_failures: 0,
        mirrored_requests: 0,
        failed_checks: Vec::new(),
    };
    totals(&mut outcome, &traffic);
    RunRecord {
        scenario: "podinfo-clean-release".to_owned(),
        seed: 7,
        canary: "podinfo.test".to_owned(),
        interval: Duration::from_secs(60),
        end: at(420),
        ticks,
        checks,
        metrics: vec![rate, latency],
        traffic,
        log,
        outcome,
    }
}

/// A release whose canary fails 2.2% of requests: five failed checks out
/// of seven, rolled back at 20%; a controller restart in between.
pub(super) fn rolled_back() -> RunRecord {
    use CanaryPhase::*;
    let ticks = vec![
        tick(0, Decision::Initialized, Initialized, 0, 0),
        tick(1, Decision::Idle, Initialized, 0, 0),
        tick(2, Decision::Idle, Initialized, 0, 0),
        tick(3, Decision::Started, Progressing, 0, 0),
        tick(4, Decision::Advanced, Progressing, 10, 0),
        tick(5, Decision::CheckFailed, Progressing, 10, 1),
        tick(6, Decision::Advanced, Progressing, 20, 1),
        tick(7, Decision::CheckFailed, Progressing, 20, 2),
        tick(8, Decision::CheckFailed, Progressing, 20, 3),
        tick(9, Decision::CheckFailed, Progressing, 20, 4),
        tick(
            10,
            Decision::RolledBack(RollbackReason::FailedChecks),
            Failed,
            0,
            5,
        ),
        tick(11, Decision::Idle, Failed, 0, 5),
        tick(12, Decision::Idle, Failed, 0, 5),
        tick(13, Decision::Idle, Failed, 0, 5),
    ];
    let (rate, latency) = (success_rate(), duration());
    let mut checks = Vec::new();
    for (minute, success, milliseconds) in [
        (4, 99.4, 310.0),
        (5, 98.1, 342.0),
        (6, 99.2, 365.0),
        (7, 97.8, 402.0),
        (8, 98.0, 431.0),
        (9, 98.4, 388.0),
        (10, 97.6, 455.0),
    ] {
        checks.push(check(
            minute,
            &rate,
            value(success),
            99.9 - (minute % 3) as f64 * 0.02,
        ));
        checks.push(check(
            minute,
            &latency,
            value(milliseconds),
            240.0 + (minute % 4) as f64 * 6.0,
        ));
    }
    let traffic = traffic(&ticks, 840, 40, 0.022, 0.001, 5);
    let mut log = vec![
        entry(
            0,
            LogSource::Event,
            "Normal",
            "Initialization done! podinfo.test",
        ),
        entry(150, LogSource::Scenario, "", "new revision podinfo:6.1.0"),
        entry(
            180,
            LogSource::Event,
            "Normal",
            "New revision detected! Scaling up podinfo.test",
        ),
        entry(
            180,
            LogSource::Webhook,
            "",
            "load-test (rollout): POST http://flagger-loadtester.test/ → 200 OK",
        ),
        entry(
            240,
            LogSource::Event,
            "Normal",
            "Starting canary analysis for podinfo.test",
        ),
        entry(
            240,
            LogSource::Event,
            "Normal",
            "Advance podinfo.test canary weight 10",
        ),
        entry(
            300,
            LogSource::Event,
            "Warning",
            "Halt podinfo.test advancement success rate 98.10% < 99%",
        ),
        entry(
            360,
            LogSource::Event,
            "Normal",
            "Advance podinfo.test canary weight 20",
        ),
        entry(
            420,
            LogSource::Event,
            "Warning",
            "Halt podinfo.test advancement success rate 97.80% < 99%",
        ),
        entry(
            480,
            LogSource::Event,
            "Warning",
            "Halt podinfo.test advancement success rate 98.00% < 99%",
        ),
        entry(510, LogSource::Scenario, "", "controller restart"),
        entry(
            540,
            LogSource::Event,
            "Warning",
            "Halt podinfo.test advancement success rate 98.40% < 99%",
        ),
        entry(
            600,
            LogSource::Event,
            "Warning",
            "Halt podinfo.test advancement success rate 97.60% < 99%",
        ),
        entry(
            600,
            LogSource::Event,
            "Warning",
            "Rolling back podinfo.test failed checks threshold reached 5",
        ),
        entry(
            600,
            LogSource::Event,
            "Warning",
            "Canary failed! Scaling down podinfo.test",
        ),
        entry(
            600,
            LogSource::Alert,
            "",
            "slack (error): Canary failed! Scaling down podinfo.test",
        ),
    ];
    log.sort_by_key(|entry| entry.at);
    let failed_checks = checks
        .iter()
        .filter(|check| !check.passed)
        .map(|check| FailedCheck {
            at: check.at,
            check: check.metric.clone(),
            reason: format!(
                "success rate {:.2}% < 99%",
                check.canary.value().unwrap_or_default()
            ),
        })
        .collect();
    let mut outcome = Outcome {
        verdict: Verdict::RolledBack,
        final_phase: Failed,
        rollback_reason: Some("failed checks threshold reached 5".to_owned()),
        released_at: Some(at(150)),
        decided_at: Some(at(600)),
        time_to_decision: Some(Duration::from_secs(450)),
        canary_requests: 0,
        blast_radius: 0,
        primary_failures: 0,
        mirrored_requests: 0,
        failed_checks,
    };
    totals(&mut outcome, &traffic);
    RunRecord {
        scenario: "podinfo-bad-release".to_owned(),
        seed: 42,
        canary: "podinfo.test".to_owned(),
        interval: Duration::from_secs(60),
        end: at(840),
        ticks,
        checks,
        metrics: vec![rate, latency],
        traffic,
        log,
        outcome,
    }
}

/// A release whose metrics have no data (the canary gets no traffic) and
/// once a provider error: rolled back at the threshold of 3.
pub(super) fn no_data() -> RunRecord {
    use CanaryPhase::*;
    let ticks = vec![
        tick(0, Decision::Started, Progressing, 0, 0),
        tick(1, Decision::CheckFailed, Progressing, 0, 1),
        tick(2, Decision::CheckFailed, Progressing, 0, 2),
        tick(
            3,
            Decision::RolledBack(RollbackReason::FailedChecks),
            Failed,
            0,
            3,
        ),
    ];
    let rate = success_rate();
    let checks = vec![
        check(
            1,
            &rate,
            Reading::NoData {
                message: "no values found for query".to_owned(),
            },
            99.9,
        ),
        check(
            2,
            &rate,
            Reading::Error {
                message: "prometheus: connection refused".to_owned(),
            },
            99.9,
        ),
        check(
            3,
            &rate,
            Reading::NoData {
                message: "no values found for query".to_owned(),
            },
            99.9,
        ),
    ];
    let failed_checks = checks
        .iter()
        .map(|check| FailedCheck {
            at: check.at,
            check: check.metric.clone(),
            reason: match &check.canary {
                Reading::NoData { message } | Reading::Error { message } => message.clone(),
                Reading::Value { value } => value.to_string(),
            },
        })
        .collect();
    let traffic = traffic(&ticks, 240, 10, 0.0, 0.0, 0);
    let mut outcome = Outcome {
        verdict: Verdict::RolledBack,
        final_phase: Failed,
        rollback_reason: Some("failed checks threshold reached 3".to_owned()),
        released_at: Some(at(0)),
        decided_at: Some(at(180)),
        time_to_decision: Some(Duration::from_secs(180)),
        canary_requests: 0,
        blast_radius: 0,
        primary_failures: 0,
        mirrored_requests: 0,
        failed_checks,
    };
    totals(&mut outcome, &traffic);
    RunRecord {
        scenario: "podinfo-no-data".to_owned(),
        seed: 3,
        canary: "podinfo.test".to_owned(),
        interval: Duration::from_secs(60),
        end: at(240),
        ticks,
        checks,
        metrics: vec![rate],
        traffic,
        log: vec![entry(
            60,
            LogSource::Event,
            "Warning",
            "Halt advancement no values found for custom metric: request-success-rate\nquery: sum(rate(...))",
        )],
        outcome,
    }
}

/// A run that ended before any traffic, metric or decision.
pub(super) fn without_traffic() -> RunRecord {
    RunRecord {
        scenario: "podinfo-idle".to_owned(),
        seed: 1,
        canary: "podinfo.test".to_owned(),
        interval: Duration::from_secs(60),
        end: at(120),
        ticks: vec![
            tick(0, Decision::Started, CanaryPhase::Progressing, 0, 0),
            tick(1, Decision::Advanced, CanaryPhase::Progressing, 10, 0),
        ],
        checks: Vec::new(),
        metrics: Vec::new(),
        traffic: Vec::new(),
        log: Vec::new(),
        outcome: Outcome {
            verdict: Verdict::Undecided,
            final_phase: CanaryPhase::Progressing,
            rollback_reason: None,
            released_at: Some(at(0)),
            decided_at: None,
            time_to_decision: None,
            canary_requests: 0,
            blast_radius: 0,
            primary_failures: 0,
            mirrored_requests: 0,
            failed_checks: Vec::new(),
        },
    }
}
