//! How fast the simulator runs whole rollouts.
//!
//! The typical scenario is the seed document's Canary: 10 steps of 5% up to
//! 50%, two builtin metrics (success rate and p99 duration, so a histogram is
//! drawn every window), at 1,000 requests per second. The same rollout at
//! 10 rps and at 100,000 rps shows that the cost does not depend on the
//! request rate: counts are drawn per window, never per request.
//!
//! Targets (issue 3): ≥ 10,000 rollouts per second on one core, i.e. under
//! 100 µs per rollout, and the 100,000 rps case within 1.5× of the 10 rps one.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use weir_sim::{RunOptions, Scenario, run};

fn scenario(rps: u32) -> Scenario {
    let text = format!(
        r#"
description: benchmark
groundTruth: healthy
canary:
  apiVersion: flagger.app/v1beta1
  kind: Canary
  metadata: {{name: podinfo, namespace: test}}
  spec:
    targetRef: {{apiVersion: apps/v1, kind: Deployment, name: podinfo}}
    service: {{port: 9898}}
    analysis:
      interval: 1m
      threshold: 5
      maxWeight: 50
      stepWeight: 5
      metrics:
      - {{name: request-success-rate, thresholdRange: {{min: 99}}, interval: 1m}}
      - {{name: request-duration, thresholdRange: {{max: 500}}, interval: 1m}}
release: {{from: v1, to: v2, at: 2m}}
revisions:
  v1: {{errors: {{rate: 0.001}}, latency: {{median: 25ms, p99: 90ms}}}}
  v2: {{errors: {{rate: 0.001}}, latency: {{median: 25ms, p99: 90ms}}}}
traffic:
  rate: {{model: constant, rps: {rps}}}
"#
    );
    weir_sim::scenario::parse("bench.yaml", &text, None, "bench").expect("valid scenario")
}

fn rollouts(c: &mut Criterion) {
    let mut group = c.benchmark_group("sim/full rollout");
    for rps in [10, 1_000, 100_000] {
        let scenario = scenario(rps);
        let mut seed = 0_u64;
        group.bench_function(format!("{rps} rps"), |b| {
            b.iter(|| {
                seed += 1;
                let record = run(black_box(&scenario), seed, RunOptions { detail: false });
                black_box(record.outcome.verdict)
            });
        });
    }
    group.finish();
}

// No plots: criterion's charts need system fonts, which plotters (built with
// ab_glyph for weir's own charts) does not look up.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = rollouts
}
criterion_main!(benches);
