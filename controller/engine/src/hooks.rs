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

use weir_api::{AlertSeverity, CanaryAnalysis, CanaryPhase, CanaryWebhook, WebhookType};

use crate::tick::Tick;

/// Walks the hooks of one type in spec order by position, holding no borrow,
/// so the tick can change status and call ports between two hooks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Hooks {
    kind: WebhookType,
    next: usize,
}

impl Hooks {
    pub(crate) fn of(kind: WebhookType) -> Hooks {
        Hooks { kind, next: 0 }
    }

    /// The position of the next hook of this type in `analysis.webhooks`.
    pub(crate) fn next(&mut self, analysis: &CanaryAnalysis) -> Option<usize> {
        while let Some(hook) = analysis.webhooks.get(self.next) {
            let index = self.next;
            self.next += 1;
            // As `CanaryAnalysis::webhooks_of`: `""` counts as `rollout`.
            if hook.r#type.effective() == self.kind.effective() {
                return Some(index);
            }
        }
        None
    }
}

impl Tick<'_, '_> {
    /// The hook at a position [`Hooks`] returned.
    pub(crate) fn hook(&self, index: usize) -> &CanaryWebhook {
        &self.cd.analysis().webhooks[index]
    }

    /// Calls one webhook with a payload for `phase`.
    pub(crate) fn call(&mut self, index: usize, phase: CanaryPhase) -> Result<(), String> {
        let hook = &self.cd.analysis().webhooks[index];
        let payload = self.payload(phase, hook.metadata.clone());
        self.ports
            .webhooks
            .call(hook, &payload)
            .map_err(|error| error.0)
    }

    /// `confirm-rollout` gates; `false` while any is closed.
    pub(crate) fn confirm_rollout(&mut self, phase: CanaryPhase) -> bool {
        let mut hooks = Hooks::of(WebhookType::ConfirmRollout);
        while let Some(index) = hooks.next(self.cd.analysis()) {
            match self.call(index, phase) {
                Err(_) => {
                    if phase != CanaryPhase::Waiting {
                        self.set_phase(CanaryPhase::Waiting);
                        self.warn(format!(
                            "Halt {} advancement waiting for approval {}",
                            self.name(),
                            self.hook(index).name
                        ));
                        if !self.hook(index).mute_alert {
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
                    self.info(format!(
                        "Confirm-rollout check {} passed",
                        self.hook(index).name
                    ));
                }
                Ok(()) => {}
            }
        }
        true
    }

    /// `confirm-traffic-increase` gates; `false` while any is closed.
    pub(crate) fn confirm_traffic_increase(&mut self) -> bool {
        let mut hooks = Hooks::of(WebhookType::ConfirmTrafficIncrease);
        while let Some(index) = hooks.next(self.cd.analysis()) {
            match self.call(index, CanaryPhase::Progressing) {
                Err(_) => {
                    self.warn(format!(
                        "Halt {} advancement waiting for traffic increase approval {}",
                        self.name(),
                        self.hook(index).name
                    ));
                    if !self.hook(index).mute_alert {
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
                    self.hook(index).name
                )),
            }
        }
        true
    }

    /// `confirm-promotion` gates; `false` (and phase WaitingPromotion) while any is closed.
    pub(crate) fn confirm_promotion(&mut self) -> bool {
        let mut hooks = Hooks::of(WebhookType::ConfirmPromotion);
        while let Some(index) = hooks.next(self.cd.analysis()) {
            match self.call(index, CanaryPhase::Progressing) {
                Err(_) => {
                    if self.phase() != CanaryPhase::WaitingPromotion {
                        self.warn(format!(
                            "Halt {} advancement waiting for promotion approval {}",
                            self.name(),
                            self.hook(index).name
                        ));
                        if !self.hook(index).mute_alert {
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
                Ok(()) => self.info(format!(
                    "Confirm-promotion check {} passed",
                    self.hook(index).name
                )),
            }
        }
        true
    }

    /// `rollback` hooks; `true` when one of them asks for a rollback.
    pub(crate) fn rollback_requested(&mut self, phase: CanaryPhase) -> bool {
        let mut hooks = Hooks::of(WebhookType::Rollback);
        while let Some(index) = hooks.next(self.cd.analysis()) {
            match self.call(index, phase) {
                Ok(()) => {
                    self.warn(format!("Rollback check {} passed", self.hook(index).name));
                    return true;
                }
                Err(_) => self.info(format!(
                    "Rollback hook {} not signaling a rollback",
                    self.hook(index).name
                )),
            }
        }
        false
    }

    /// `post-rollout` hooks; failures are reported, never acted on.
    pub(crate) fn post_rollout(&mut self, phase: CanaryPhase) {
        let mut hooks = Hooks::of(WebhookType::PostRollout);
        while let Some(index) = hooks.next(self.cd.analysis()) {
            match self.call(index, phase) {
                Err(error) => {
                    self.warn(format!(
                        "Post-rollout hook {} failed {error}",
                        self.hook(index).name
                    ));
                    return;
                }
                Ok(()) => self.info(format!(
                    "Post-rollout check {} passed",
                    self.hook(index).name
                )),
            }
        }
    }
}
