//! How fast `weir validate` checks a typical Canary file.
//!
//! CI runs it over whole repositories of manifests on every push, so a
//! document should cost well under a millisecond.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use weir_validate::{Options, validate_str};

/// Flagger's Istio A/B example: match conditions, webhooks, metrics, traffic policy.
const CANARY: &str = r#"
apiVersion: flagger.app/v1beta1
kind: Canary
metadata:
  name: podinfo
  namespace: test
spec:
  provider: istio
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: podinfo}
  autoscalerRef: {apiVersion: autoscaling/v2, kind: HorizontalPodAutoscaler, name: podinfo}
  service:
    name: podinfo
    port: 80
    targetPort: 9898
    portName: http
    portDiscovery: true
    gateways: [istio-system/public-gateway, mesh]
    hosts: [app.example.com]
    trafficPolicy: {tls: {mode: DISABLE}}
    match: [{uri: {prefix: /}}]
    rewrite: {uri: /}
    timeout: 30s
  analysis:
    interval: 15s
    threshold: 10
    iterations: 10
    match:
    - headers: {cookie: {regex: "^(.*?;)?(type=insider)(;.*)?$"}}
    - headers: {user-agent: {regex: ".*Firefox.*"}}
    metrics:
    - {name: request-success-rate, thresholdRange: {min: 99}, interval: 1m}
    - {name: request-duration, thresholdRange: {max: 500}, interval: 30s}
    webhooks:
    - name: conformance-test
      type: pre-rollout
      url: http://flagger-loadtester.test/
      timeout: 15s
      metadata: {type: bash, cmd: "curl -sd 'test' http://podinfo-canary.test/token | grep token"}
    - name: load-test
      type: rollout
      url: http://flagger-loadtester.test/
      timeout: 5s
      metadata: {type: cmd, cmd: "hey -z 1m -q 10 -c 2 -H 'Cookie: type=insider' http://podinfo.test/"}
"#;

fn validate_one_canary(c: &mut Criterion) {
    let options = Options::default();
    c.bench_function("validate/one Canary document", |b| {
        b.iter(|| black_box(validate_str("canary.yaml", black_box(CANARY), &options)));
    });
}

// No plots: criterion's charts need system fonts, which plotters (built with
// ab_glyph for weir's own charts) does not look up.
criterion_group! {
    name = benches;
    config = Criterion::default().without_plots();
    targets = validate_one_canary
}
criterion_main!(benches);
