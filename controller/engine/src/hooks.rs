//! Webhook gates (Flagger's `scheduler_hooks.go`).
//!
//! | type                       | runs                                          | on failure                         |
//! |----------------------------|-----------------------------------------------|------------------------------------|
//! | `confirm-rollout`          | before a new revision is scaled up            | phase Waiting (alert once)         |
//! | `pre-rollout`              | first interval of a run (see `analysis`)      | failed check                       |
//! | `rollout` / `""`           | every later interval (see `analysis`)         | failed check                       |
//! | `confirm-traffic-increase` | before each weight increase (canary strategy) | halt, alert every tick             |
//! | `confirm-promotion`        | when the analysis is complete                 | phase WaitingPromotion (alert once)|
//! | `rollback`                 | every tick of a run, and while Waiting        | a success rolls back               |
//! | `post-rollout`             | after Succeeded or Failed                     | logged only                        |
//! | `event`                    | with every Kubernetes event (see `tick`)      | logged only                        |
//!
//! Hooks of a type run in spec order and the first failure stops the loop
//! (for `rollback`, the first success).

use weir_api::{AlertSeverity, CanaryPhase, CanaryWebhook, WebhookType};

use crate::tick::Tick;

impl Tick<'_, '_> {
    pub(crate) fn hooks(&self, kind: WebhookType) -> Vec<CanaryWebhook> {
        self.cd.spec.analysis().webhooks_of(kind).cloned().collect()
    }

    /// Calls one webhook with a payload for `phase`.
    pub(crate) fn call(&mut self, hook: &CanaryWebhook, phase: CanaryPhase) -> Result<(), String> {
        let payload = self.payload(phase, hook.metadata.clone());
        self.ports
            .webhooks
            .call(hook, &payload)
            .map_err(|error| error.0)
    }

    /// `confirm-rollout` gates; `false` while any is closed.
    pub(crate) fn confirm_rollout(&mut self, phase: CanaryPhase) -> bool {
        for hook in self.hooks(WebhookType::ConfirmRollout) {
            match self.call(&hook, phase) {
                Err(_) => {
                    if phase != CanaryPhase::Waiting {
                        self.set_phase(CanaryPhase::Waiting);
                        self.warn(format!(
                            "Halt {} advancement waiting for approval {}",
                            self.name(),
                            hook.name
                        ));
                        if !hook.mute_alert {
                            self.alert(
                                "Canary is waiting for approval.",
                                false,
                                AlertSeverity::Warn,
                            );
                        }
                    }
                    return false;
                }
                Ok(()) if phase == CanaryPhase::Waiting => {
                    self.info(format!("Confirm-rollout check {} passed", hook.name));
                }
                Ok(()) => {}
            }
        }
        true
    }

    /// `confirm-traffic-increase` gates; `false` while any is closed.
    pub(crate) fn confirm_traffic_increase(&mut self) -> bool {
        for hook in self.hooks(WebhookType::ConfirmTrafficIncrease) {
            match self.call(&hook, CanaryPhase::Progressing) {
                Err(_) => {
                    self.warn(format!(
                        "Halt {} advancement waiting for traffic increase approval {}",
                        self.name(),
                        hook.name
                    ));
                    if !hook.mute_alert {
                        self.alert(
                            "Canary traffic increase is waiting for approval.",
                            false,
                            AlertSeverity::Warn,
                        );
                    }
                    return false;
                }
                Ok(()) => self.info(format!(
                    "Confirm-traffic-increase check {} passed",
                    hook.name
                )),
            }
        }
        true
    }

    /// `confirm-promotion` gates; `false` (and phase WaitingPromotion) while any is closed.
    pub(crate) fn confirm_promotion(&mut self) -> bool {
        for hook in self.hooks(WebhookType::ConfirmPromotion) {
            match self.call(&hook, CanaryPhase::Progressing) {
                Err(_) => {
                    if self.phase() != CanaryPhase::WaitingPromotion {
                        self.warn(format!(
                            "Halt {} advancement waiting for promotion approval {}",
                            self.name(),
                            hook.name
                        ));
                        if !hook.mute_alert {
                            self.alert(
                                "Canary promotion is waiting for approval.",
                                false,
                                AlertSeverity::Warn,
                            );
                        }
                        self.set_phase(CanaryPhase::WaitingPromotion);
                    }
                    return false;
                }
                Ok(()) => self.info(format!("Confirm-promotion check {} passed", hook.name)),
            }
        }
        true
    }

    /// `rollback` hooks; `true` when one of them asks for a rollback.
    pub(crate) fn rollback_requested(&mut self, phase: CanaryPhase) -> bool {
        for hook in self.hooks(WebhookType::Rollback) {
            match self.call(&hook, phase) {
                Ok(()) => {
                    self.warn(format!("Rollback check {} passed", hook.name));
                    return true;
                }
                Err(_) => self.info(format!(
                    "Rollback hook {} not signaling a rollback",
                    hook.name
                )),
            }
        }
        false
    }

    /// `post-rollout` hooks; failures are reported, never acted on.
    pub(crate) fn post_rollout(&mut self, phase: CanaryPhase) {
        for hook in self.hooks(WebhookType::PostRollout) {
            match self.call(&hook, phase) {
                Err(error) => {
                    self.warn(format!("Post-rollout hook {} failed {error}", hook.name));
                    return;
                }
                Ok(()) => self.info(format!("Post-rollout check {} passed", hook.name)),
            }
        }
    }
}
