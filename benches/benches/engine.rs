//! How fast the engine runs a whole rollout against in-memory ports.
//!
//! Threshold tuning (a later issue) sweeps ~150,000 simulated rollouts in a
//! minute on two cores, so one rollout must cost well under a millisecond.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use weir_api::{Canary, CanaryPhase};
use weir_fakes::Harness;

fn podinfo() -> Canary {
    serde_saphyr::from_str(
        r#"
apiVersion: flagger.app/v1beta1
kind: Canary
metadata: {name: podinfo, namespace: test}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  service: {port: 9898}
  analysis:
    interval: 1m
    threshold: 5
    maxWeight: 50
    stepWeight: 5
    metrics:
    - {name: request-success-rate, thresholdRange: {min: 99}, interval: 1m}
    - {name: request-duration, thresholdRange: {max: 500}, interval: 1m}
    webhooks:
    - {name: load-test, url: "http://flagger-loadtester.test/", metadata: {cmd: "hey -z 1m"}}
"#,
    )
    .expect("valid canary")
}

fn full_rollout(c: &mut Criterion) {
    let canary = podinfo();
    c.bench_function("engine/full canary rollout (15 ticks)", |b| {
        b.iter(|| {
            let mut harness = Harness::new(black_box(canary.clone()));
            harness.initialize();
            harness.world.cluster.deploy("v2");
            while harness.tick().phase != CanaryPhase::Succeeded {}
            black_box(harness.history.len())
        });
    });
}

criterion_group!(benches, full_rollout);
criterion_main!(benches);
