//! Canaries for the engine tests, built the way users write them.

#![allow(dead_code, unreachable_pub)]

use weir_api::Canary;
use weir_fakes::Harness;

/// `podinfo` with the seed document's analysis: interval 1m, threshold 5,
/// stepWeight 5 up to maxWeight 50, success rate ≥ 99% and p99 ≤ 500ms.
pub fn podinfo() -> Canary {
    canary(
        r#"  analysis:
    interval: 1m
    threshold: 5
    maxWeight: 50
    stepWeight: 5
    metrics:
    - name: request-success-rate
      thresholdRange:
        min: 99
      interval: 1m
    - name: request-duration
      thresholdRange:
        max: 500
      interval: 1m
"#,
    )
}

/// A harness whose canary is initialized and whose target now runs `v2`.
pub fn started(canary: Canary) -> Harness {
    let mut harness = Harness::new(canary);
    harness.initialize();
    harness.world.cluster.deploy("v2");
    harness
}

/// A Canary for `podinfo` in `test` with the given `spec` lines below
/// `service` (indented by four spaces, as in a manifest).
pub fn canary(spec: &str) -> Canary {
    let yaml = format!(
        r#"
apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
  namespace: test
spec:
  targetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: podinfo
  service:
    port: 9898
{spec}
"#
    );
    serde_saphyr::from_str(&yaml)
        .unwrap_or_else(|error| panic!("invalid test canary: {error}\n{yaml}"))
}

/// (phase, canary weight, failed checks, iterations) per tick.
pub fn timeline(records: &[weir_fakes::TickRecord]) -> Vec<(weir_api::CanaryPhase, i32, i32, i32)> {
    records
        .iter()
        .map(|record| {
            (
                record.phase,
                record.routes.canary,
                record.failed_checks,
                record.iterations,
            )
        })
        .collect()
}
