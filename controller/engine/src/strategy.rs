//! Moving traffic once an interval has passed its checks.
//!
//! ```text
//! canary      0 ─(mirror)─▶ step ─▶ 2·step ─▶ … ─▶ maxWeight ─(confirm-promotion)─▶ Promoting
//! A/B         match → canary, iteration 1 … N ─(confirm-promotion)─▶ Promoting
//! blue/green  (mirror) iteration 1 … N ─(confirm)─▶ all traffic to canary ─(confirm)─▶ Promoting
//! Promoting   primary rolled out ─▶ primary weight += stepWeightPromotion … 100 ─▶ Finalising
//! ```
//!
//! Differences from Flagger, each one where Flagger does what no user wants:
//! * the last linear step stops at `maxWeight` instead of overshooting it
//!   (20, 40, 50 rather than 20, 40, 60 for max 50; §18 #16);
//! * providers that cannot mirror skip the mirror step instead of re-running
//!   the first interval forever (§18 #7);
//! * the step from mirroring to the first weight passes `confirm-traffic-increase`
//!   like every other increase (Flagger skips the gate while mirrored);
//! * A/B and blue/green promote when the iteration count is reached or passed
//!   (lowering `iterations` mid-run no longer strands the canary);
//! * a Promoting canary with no weight left goes straight to Finalising
//!   (Flagger waits forever with `stepWeightPromotion`, §18 #16).

use weir_api::{CanaryPhase, Provider, Strategy};

use crate::ports::Routes;
use crate::tick::{Decision, Tick, attempt};

/// Flagger's kubernetes provider turns any canary into blue/green with this many iterations.
const KUBERNETES_DEFAULT_ITERATIONS: i32 = 10;

impl Tick<'_, '_> {
    pub(crate) fn run_strategy(&mut self, routes: Routes, first_interval: bool) -> Decision {
        let analysis = self.cd.analysis();
        let mut iterations = analysis.iterations;
        if self.provider == Provider::Kubernetes {
            // Flagger repeats these warnings every interval; once a run is enough.
            if first_interval && !analysis.r#match.is_empty() {
                self.warn("A/B testing is not supported when using the kubernetes provider");
            }
            if iterations < 1 {
                if first_interval {
                    self.warn(
                        "Progressive traffic is not supported when using the kubernetes provider",
                    );
                    self.warn(format!(
                        "Setting canaryAnalysis.iterations: {KUBERNETES_DEFAULT_ITERATIONS}"
                    ));
                }
                iterations = KUBERNETES_DEFAULT_ITERATIONS;
            }
        }
        match self.strategy() {
            Strategy::AbTesting => self.run_ab(iterations),
            Strategy::BlueGreen => self.run_blue_green(routes, iterations),
            Strategy::Canary => self.run_canary(routes),
        }
    }

    fn run_canary(&mut self, routes: Routes) -> Decision {
        let analysis = self.cd.analysis();
        let mirror = analysis.mirror;
        let phase = self.phase();
        let step = analysis.next_step_weight(routes.canary);
        if step <= 0 {
            // Unreachable for valid Canaries: the checks require a strategy.
            return Decision::Idle;
        }
        let max_weight = analysis.max_weight_or_default();
        // Gateway API mirrors only in blue/green: a progressive mirror step
        // would wait at weight 0 for a mirror the router never writes.
        let mirror_step =
            mirror && routes.canary == 0 && self.provider.mirrors_progressive_canaries();
        let only_starts_mirroring = mirror_step && !routes.mirrored;
        if !only_starts_mirroring
            && !matches!(
                phase,
                CanaryPhase::Promoting | CanaryPhase::WaitingPromotion | CanaryPhase::Finalising
            )
            && !self.confirm_traffic_increase()
        {
            return Decision::WaitingForTrafficIncrease;
        }
        if routes.canary >= max_weight {
            if !self.confirm_promotion() {
                return Decision::WaitingForPromotion;
            }
            return self.promote();
        }
        let next = if mirror_step {
            if routes.mirrored {
                Routes {
                    primary: 100 - step,
                    canary: step,
                    mirrored: false,
                }
            } else {
                Routes {
                    primary: 100,
                    canary: 0,
                    mirrored: true,
                }
            }
        } else {
            if mirror && routes.canary == 0 {
                self.warn(format!(
                    "Traffic mirroring of a progressive canary is not supported by the {} provider, skipping the mirror step",
                    self.provider
                ));
            }
            let canary = (routes.canary + step).min(max_weight).min(100);
            let primary = (routes.primary - (canary - routes.canary)).max(0);
            Routes {
                primary,
                canary,
                mirrored: false,
            }
        };
        if self.set_routes(next).is_none() {
            return Decision::Interrupted;
        }
        self.status_mut().canary_weight = next.canary;
        self.info(format!(
            "Advance {} canary weight {}",
            self.name(),
            next.canary
        ));
        Decision::Advanced
    }

    fn run_ab(&mut self, iterations: i32) -> Decision {
        if iterations > self.status().iterations {
            // The router sends requests matching `analysis.match` to the canary.
            if self.set_routes(Routes::ALL_CANARY).is_none() {
                return Decision::Interrupted;
            }
            return self.next_iteration(iterations);
        }
        if !self.confirm_promotion() {
            return Decision::WaitingForPromotion;
        }
        self.promote()
    }

    fn run_blue_green(&mut self, routes: Routes, iterations: i32) -> Decision {
        let mirror = self.cd.analysis().mirror;
        let kubernetes = self.provider == Provider::Kubernetes;
        if iterations > self.status().iterations {
            if !kubernetes && mirror && !routes.mirrored && self.provider.supports_mirroring() {
                // Mirror for the whole analysis; a failure is reported and retried next tick.
                let mirrored = Routes {
                    primary: 100,
                    canary: 0,
                    mirrored: true,
                };
                let _ = self.set_routes(mirrored);
            }
            return self.next_iteration(iterations);
        }
        // Flagger asks for promotion approval twice: before switching traffic
        // and before promoting (§18 #15); both are kept, approvals stay open.
        if !self.confirm_promotion() {
            return Decision::WaitingForPromotion;
        }
        if iterations == self.status().iterations {
            if !kubernetes {
                if mirror {
                    self.info("Stop traffic mirroring and route all traffic to canary");
                } else {
                    self.info("Routing all traffic to canary");
                }
                if self.set_routes(Routes::ALL_CANARY).is_none() {
                    return Decision::Interrupted;
                }
            }
            // One more interval is analysed with all traffic on the canary.
            self.status_mut().iterations += 1;
            return Decision::Iterated;
        }
        self.promote()
    }

    fn next_iteration(&mut self, iterations: i32) -> Decision {
        let iteration = self.status().iterations + 1;
        self.status_mut().iterations = iteration;
        self.info(format!(
            "Advance {} canary iteration {iteration}/{iterations}",
            self.name()
        ));
        Decision::Iterated
    }

    /// Copies the canary's spec to the primary and starts Promoting.
    fn promote(&mut self) -> Decision {
        self.announce_promotion();
        attempt!(self, self.ports.workloads.promote(self.cd.get()));
        self.set_phase(CanaryPhase::Promoting);
        Decision::Promoting
    }

    /// Promoting: the primary runs the new spec; move traffic back to it.
    pub(crate) fn shift_to_primary(&mut self, routes: Routes) -> Decision {
        if self.provider == Provider::Kubernetes {
            // The apex Service always points at the primary.
            self.set_phase(CanaryPhase::Finalising);
            return Decision::Finalising;
        }
        let step = self.cd.analysis().step_weight_promotion;
        if step == 0 || routes.canary == 0 {
            self.info("Routing all traffic to primary");
            if self.set_routes(Routes::ALL_PRIMARY).is_none() {
                return Decision::Interrupted;
            }
            self.set_phase(CanaryPhase::Finalising);
            return Decision::Finalising;
        }
        let next = Routes {
            primary: (routes.primary + step).min(100),
            canary: (routes.canary - step).max(0),
            mirrored: false,
        };
        if self.set_routes(next).is_none() {
            return Decision::Interrupted;
        }
        self.info(format!(
            "Advance {} primary weight {}",
            self.name(),
            next.primary
        ));
        if next.primary == 100 {
            self.set_phase(CanaryPhase::Finalising);
            return Decision::Finalising;
        }
        self.status_mut().canary_weight = next.canary;
        Decision::ShiftingToPrimary
    }
}
