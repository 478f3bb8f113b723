//! The `kubernetes` provider: Flagger's `NopRouter`. There are no routing
//! objects; users reach the primary through the apex Service, and a
//! blue/green analysis tests the canary through `<apex>-canary`.

use weir_api::Canary;
use weir_engine::ports::Routes;

/// The split Flagger's `NopRouter` reports: all traffic on the primary
/// until the first blue/green iteration, then on the canary, so that the
/// engine's weight bookkeeping moves on although nothing is routed.
pub fn routes(canary: &Canary) -> Routes {
    let iterations = canary.status.as_ref().map_or(0, |status| status.iterations);
    if iterations == 0 {
        Routes::ALL_PRIMARY
    } else {
        Routes::ALL_CANARY
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::canary;

    #[test]
    fn all_traffic_is_on_the_primary_until_the_first_iteration_then_on_the_canary() {
        let before = canary(
            "  service:\n    port: 9898\n",
            "  phase: Progressing\n  iterations: 0\n",
        );
        let during = canary(
            "  service:\n    port: 9898\n",
            "  phase: Progressing\n  iterations: 1\n",
        );
        assert_eq!(routes(&before), Routes::ALL_PRIMARY);
        assert_eq!(routes(&during), Routes::ALL_CANARY);
    }
}
