//! One test's world: a namespace of its own holding podinfo, a Canary, and
//! what weir-controller makes of them.
//!
//! ```text
//!  Scenario::start ── delete the namespace if a previous run left it
//!        │            create it, apply podinfo (Secret + Deployment)
//!        │            wait for podinfo to be ready
//!  apply_canary(manifest, version) ──▶ wait_for_initialized ──▶ set_image(version)
//!        ──▶ wait_for_outcome(Succeeded | Failed) ──▶ expect_* ──▶ finish
//! ```
//!
//! Every wait polls every two seconds against a deadline, and every failure
//! carries [`crate::diagnostics`] of the namespace. A finished scenario
//! deletes its namespace; a failed one leaves it for `e2e/dump.sh` and for
//! whoever investigates (the next run of the same test deletes it first).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Namespace, Service};
use k8s_openapi::api::events::v1::Event;
use kube::api::{
    DeleteParams, DynamicObject, ListParams, ObjectMeta, Patch, PatchParams, PostParams,
};
use kube::{Api, ResourceExt as _};
use weir_api::status::{ConditionStatus, PROMOTED_CONDITION};
use weir_api::{Canary, CanaryPhase};

use crate::canaries::CanaryManifest;
use crate::cluster::Cluster;
use crate::diagnostics::{self, http_route_resource};
use crate::failure::{Diagnostics, Failure};
use crate::manifests::{self, FIELD_MANAGER};
use crate::routes::HttpRoute;

/// The Canary every scenario creates, and the Deployment it targets.
pub const CANARY: &str = "podinfo";
/// The target Deployment (podinfo.yaml).
pub const TARGET: &str = "podinfo";
/// The primary Deployment weir creates from the target.
pub const PRIMARY: &str = "podinfo-primary";
/// The container whose image the scenarios change.
pub const CONTAINER: &str = "podinfod";
/// The label weir selects pods by: the first of `-selector-labels`
/// (`app,name,app.kubernetes.io/name`) that podinfo's pods carry.
pub const SELECTOR_LABEL: &str = "app";

/// How often a wait looks again. Analysis intervals are 10s, so a phase
/// lasts at least five looks.
const POLL_INTERVAL: Duration = Duration::from_secs(2);
/// How long a namespace left by an earlier run may take to go away.
const NAMESPACE_DELETION_TIMEOUT: Duration = Duration::from_secs(180);
/// How long podinfo may take to become ready: the first scenario on a
/// fresh cluster may still pull its image.
const WORKLOAD_TIMEOUT: Duration = Duration::from_secs(180);
/// How long weir may take to create and wait for the primary.
pub const INITIALIZATION_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a whole analysis may take: eight ticks of 10s take 80s, and
/// each rollout of podinfo (minReadySeconds 5) adds up to a minute.
pub const ANALYSIS_TIMEOUT: Duration = Duration::from_secs(420);
/// How long the primary may take to be ready again after a promotion.
const PRIMARY_READY_TIMEOUT: Duration = Duration::from_secs(90);
/// How long an event may lag behind the status write it accompanies.
const EVENT_TIMEOUT: Duration = Duration::from_secs(30);

/// What a poll saw.
#[derive(Debug)]
pub enum Observation<T> {
    /// What the wait was for.
    Done(T),
    /// Not yet; what was seen instead.
    Waiting(String),
    /// Something that rules out success; waiting longer cannot help.
    Wrong(String),
}

/// How an analysis run went.
#[derive(Debug)]
pub struct Run {
    /// The Canary when it reached the awaited phase.
    pub canary: Canary,
    /// Every phase seen, in order, without repeats.
    pub phases: Vec<CanaryPhase>,
}

impl Run {
    /// Whether the run went through `phase`.
    pub fn went_through(&self, phase: CanaryPhase) -> bool {
        self.phases.contains(&phase)
    }

    /// The phases seen, for messages.
    pub fn phases_text(&self) -> String {
        phases_text(&self.phases)
    }
}

/// A namespace of one test, and the cluster it is in.
#[derive(Debug)]
pub struct Scenario {
    cluster: Cluster,
    namespace: String,
}

impl Scenario {
    /// Creates namespace `namespace` afresh with podinfo ready in it.
    pub async fn start(cluster: Cluster, namespace: &str) -> Result<Scenario, Failure> {
        let scenario = Scenario {
            cluster,
            namespace: namespace.to_owned(),
        };
        scenario.recreate_namespace().await?;
        manifests::apply(&scenario.cluster.client, namespace, manifests::PODINFO).await?;
        scenario
            .wait_until(
                &format!("Deployment {namespace}/{TARGET} to be ready"),
                WORKLOAD_TIMEOUT,
                async || {
                    let deployment = scenario.deployment(TARGET).await?;
                    Ok(match readiness(&deployment) {
                        Ok(()) => Observation::Done(()),
                        Err(why) => Observation::Waiting(why),
                    })
                },
            )
            .await?;
        Ok(scenario)
    }

    /// The scenario's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The cluster.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// `template` with `${NAMESPACE}` and the given values filled in.
    pub fn render(&self, template: &str, values: &[(&str, &str)]) -> Result<String, Failure> {
        let mut all = vec![("NAMESPACE", self.namespace.as_str())];
        all.extend_from_slice(values);
        manifests::render(template, &all)
    }

    /// Applies `template`, rendered as [`Scenario::render`] does, to the
    /// scenario's namespace.
    pub async fn apply(&self, template: &str, values: &[(&str, &str)]) -> Result<(), Failure> {
        let yaml = self.render(template, values)?;
        manifests::apply(&self.cluster.client, &self.namespace, &yaml).await
    }

    /// Applies the Canary `manifest`, releasing podinfo `version`.
    pub async fn apply_canary(
        &self,
        manifest: CanaryManifest,
        version: &str,
    ) -> Result<(), Failure> {
        let yaml = manifest.render(&self.namespace, version)?;
        manifests::apply(&self.cluster.client, &self.namespace, &yaml).await
    }

    /// The Canary.
    pub async fn canary(&self) -> Result<Canary, Failure> {
        let canaries: Api<Canary> = Api::namespaced(self.cluster.client.clone(), &self.namespace);
        canaries.get(CANARY).await.map_err(Failure::kube(format!(
            "reading Canary {}/{CANARY}",
            self.namespace
        )))
    }

    /// The Deployment `name`.
    pub async fn deployment(&self, name: &str) -> Result<Deployment, Failure> {
        let deployments: Api<Deployment> =
            Api::namespaced(self.cluster.client.clone(), &self.namespace);
        deployments.get(name).await.map_err(Failure::kube(format!(
            "reading Deployment {}/{name}",
            self.namespace
        )))
    }

    /// The Service `name`, if it exists.
    pub async fn service(&self, name: &str) -> Result<Option<Service>, Failure> {
        let services: Api<Service> = Api::namespaced(self.cluster.client.clone(), &self.namespace);
        services.get_opt(name).await.map_err(Failure::kube(format!(
            "reading Service {}/{name}",
            self.namespace
        )))
    }

    /// The HTTPRoute `name`, if it exists.
    pub async fn http_route(&self, name: &str) -> Result<Option<HttpRoute>, Failure> {
        let routes: Api<DynamicObject> = Api::namespaced_with(
            self.cluster.client.clone(),
            &self.namespace,
            &http_route_resource(),
        );
        let Some(route) = routes.get_opt(name).await.map_err(Failure::kube(format!(
            "reading HTTPRoute {}/{name}",
            self.namespace
        )))?
        else {
            return Ok(None);
        };
        match HttpRoute::from_json(route.data) {
            Ok(route) => Ok(Some(route)),
            Err(error) => Err(self
                .fail(format!(
                    "HTTPRoute {}/{name} is not a valid HTTPRoute: {error}",
                    self.namespace
                ))
                .await),
        }
    }

    /// Changes the target's podinfo image to `version`, as
    /// `kubectl set image deployment/podinfo podinfod=...` does.
    pub async fn set_image(&self, version: &str) -> Result<(), Failure> {
        let deployments: Api<Deployment> =
            Api::namespaced(self.cluster.client.clone(), &self.namespace);
        let patch = serde_json::json!({
            "spec": {"template": {"spec": {"containers": [
                {"name": CONTAINER, "image": crate::podinfo_image(version)}
            ]}}}
        });
        let parameters = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        deployments
            .patch(TARGET, &parameters, &Patch::Strategic(&patch))
            .await
            .map_err(Failure::kube(format!(
                "setting the image of Deployment {}/{TARGET} to {version}",
                self.namespace
            )))?;
        Ok(())
    }

    /// The notes of the events recorded about the Canary, oldest first.
    pub async fn canary_events(&self) -> Result<Vec<String>, Failure> {
        let events: Api<Event> = Api::namespaced(self.cluster.client.clone(), &self.namespace);
        let mut list = events
            .list(&ListParams::default())
            .await
            .map_err(Failure::kube(format!(
                "listing the events in {}",
                self.namespace
            )))?
            .items;
        list.retain(|event| {
            event.regarding.as_ref().is_some_and(|object| {
                object.kind.as_deref() == Some("Canary") && object.name.as_deref() == Some(CANARY)
            })
        });
        list.sort_by_key(|event| {
            event
                .event_time
                .as_ref()
                .map(|time| time.0)
                .or(event.deprecated_first_timestamp.as_ref().map(|time| time.0))
        });
        Ok(list.into_iter().filter_map(|event| event.note).collect())
    }

    /// Waits for an event about the Canary whose note contains `text`.
    pub async fn expect_event(&self, text: &str) -> Result<String, Failure> {
        self.wait_until(
            &format!(
                "an event about Canary {}/{CANARY} saying {text:?}",
                self.namespace
            ),
            EVENT_TIMEOUT,
            async || {
                let notes = self.canary_events().await?;
                Ok(match notes.iter().find(|note| note.contains(text)) {
                    Some(note) => Observation::Done(note.clone()),
                    None => {
                        Observation::Waiting(format!("{} events about the Canary", notes.len()))
                    }
                })
            },
        )
        .await
    }

    /// Polls `probe` until it is done, it says the wait cannot succeed, or
    /// `timeout` has passed.
    pub async fn wait_until<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut probe: impl AsyncFnMut() -> Result<Observation<T>, Failure>,
    ) -> Result<T, Failure> {
        let started = Instant::now();
        loop {
            let last_seen = match probe().await? {
                Observation::Done(value) => return Ok(value),
                Observation::Waiting(seen) => seen,
                Observation::Wrong(why) => {
                    return Err(self.fail(format!("{why} (while waiting for {what})")).await);
                }
            };
            if started.elapsed() >= timeout {
                return Err(Failure::Timeout {
                    what: what.to_owned(),
                    waited: started.elapsed(),
                    last_seen,
                    diagnostics: self.diagnostics().await,
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Waits for the Canary to be `Initialized`.
    pub async fn wait_for_initialized(&self) -> Result<Canary, Failure> {
        self.wait_until(
            &format!("Canary {}/{CANARY} to be Initialized", self.namespace),
            INITIALIZATION_TIMEOUT,
            async || {
                let canary = self.canary().await?;
                let phase = phase_of(&canary);
                Ok(match phase {
                    CanaryPhase::Initialized => Observation::Done(canary),
                    CanaryPhase::Failed => {
                        Observation::Wrong("the Canary failed to initialize".to_owned())
                    }
                    _ => Observation::Waiting(describe(&canary)),
                })
            },
        )
        .await
    }

    /// Waits for the Canary to leave the phase it is in and end in
    /// `outcome` (`Succeeded` or `Failed`), calling `observe` on every
    /// Canary seen on the way. Ending in the other outcome fails at once.
    pub async fn wait_for_outcome(
        &self,
        outcome: CanaryPhase,
        mut observe: impl AsyncFnMut(&Canary) -> Result<(), Failure>,
    ) -> Result<Run, Failure> {
        let mut phases: Vec<CanaryPhase> = Vec::new();
        let canary = self
            .wait_until(
                &format!(
                    "Canary {}/{CANARY} to run an analysis and end {outcome}",
                    self.namespace
                ),
                ANALYSIS_TIMEOUT,
                async || {
                    let canary = self.canary().await?;
                    let phase = phase_of(&canary);
                    if phases.last() != Some(&phase) {
                        phases.push(phase);
                    }
                    observe(&canary).await?;
                    // The first phase seen is the one before the change; a
                    // stale outcome from an earlier run must not count.
                    let moved = phases.len() > 1;
                    let ended = matches!(phase, CanaryPhase::Succeeded | CanaryPhase::Failed);
                    Ok(if moved && phase == outcome {
                        Observation::Done(canary)
                    } else if moved && ended {
                        Observation::Wrong(format!(
                            "the Canary ended {phase} instead of {outcome}; phases seen: {}",
                            phases_text(&phases)
                        ))
                    } else {
                        Observation::Waiting(format!(
                            "{}; phases seen: {}",
                            describe(&canary),
                            phases_text(&phases)
                        ))
                    })
                },
            )
            .await?;
        Ok(Run { canary, phases })
    }

    /// Fails with diagnostics unless `condition` holds.
    pub async fn check(
        &self,
        condition: bool,
        what: impl FnOnce() -> String,
    ) -> Result<(), Failure> {
        if condition {
            Ok(())
        } else {
            Err(self.fail(what()).await)
        }
    }

    /// A failure saying `what`, with diagnostics.
    pub async fn fail(&self, what: String) -> Failure {
        Failure::Check {
            what,
            diagnostics: self.diagnostics().await,
        }
    }

    /// The namespace's state, for a failure report.
    pub async fn diagnostics(&self) -> Diagnostics {
        diagnostics::collect(&self.cluster, &self.namespace, CANARY).await
    }

    /// Waits for the primary to be ready and to run podinfo `version`.
    pub async fn expect_primary_runs(&self, version: &str) -> Result<(), Failure> {
        let image = crate::podinfo_image(version);
        self.wait_until(
            &format!(
                "Deployment {}/{PRIMARY} to be ready with {image}",
                self.namespace
            ),
            PRIMARY_READY_TIMEOUT,
            async || {
                let primary = self.deployment(PRIMARY).await?;
                let running = container_image(&primary)
                    .unwrap_or("(no container)")
                    .to_owned();
                Ok(if running != image {
                    Observation::Wrong(format!("the primary runs {running}, not {image}"))
                } else {
                    match readiness(&primary) {
                        Ok(()) => Observation::Done(()),
                        Err(why) => Observation::Waiting(why),
                    }
                })
            },
        )
        .await
    }

    /// Checks that the target Deployment is scaled to zero, as weir leaves
    /// it between analyses.
    pub async fn expect_target_scaled_to_zero(&self) -> Result<(), Failure> {
        let target = self.deployment(TARGET).await?;
        let replicas = target.spec.as_ref().and_then(|spec| spec.replicas);
        self.check(replicas == Some(0), || {
            format!(
                "Deployment {}/{TARGET} has replicas {replicas:?}; weir scales the target to 0 \
                 outside an analysis",
                self.namespace
            )
        })
        .await
    }

    /// Checks that Service `name` exists and selects pods labelled
    /// `app: <app>`.
    pub async fn expect_service_selects(&self, name: &str, app: &str) -> Result<Service, Failure> {
        let Some(service) = self.service(name).await? else {
            return Err(self
                .fail(format!("Service {}/{name} does not exist", self.namespace))
                .await);
        };
        let selector = service
            .spec
            .as_ref()
            .and_then(|spec| spec.selector.clone())
            .unwrap_or_default();
        let expected = BTreeMap::from([(SELECTOR_LABEL.to_owned(), app.to_owned())]);
        self.check(selector == expected, || {
            format!(
                "Service {}/{name} selects {selector:?}, expected {expected:?}",
                self.namespace
            )
        })
        .await?;
        Ok(service)
    }

    /// Checks the Canary's `Promoted` condition.
    pub async fn expect_promoted_condition(
        &self,
        canary: &Canary,
        status: ConditionStatus,
        reason: &str,
    ) -> Result<(), Failure> {
        let seen = canary
            .status
            .as_ref()
            .and_then(|status| {
                status
                    .conditions
                    .iter()
                    .find(|condition| condition.r#type == PROMOTED_CONDITION)
            })
            .map(|condition| (condition.status, condition.reason.clone()));
        self.check(
            seen.as_ref().is_some_and(|(seen_status, seen_reason)| {
                *seen_status == status && seen_reason == reason
            }),
            || {
                format!(
                    "Canary {}/{CANARY} has Promoted condition (status, reason) {seen:?}, \
                     expected ({status:?}, {reason:?})",
                    self.namespace
                )
            },
        )
        .await
    }

    /// Deletes the namespace (without waiting): the scenario passed.
    pub async fn finish(self) -> Result<(), Failure> {
        let namespaces: Api<Namespace> = Api::all(self.cluster.client.clone());
        namespaces
            .delete(&self.namespace, &DeleteParams::background())
            .await
            .map_err(Failure::kube(format!(
                "deleting namespace {}",
                self.namespace
            )))?;
        Ok(())
    }

    async fn recreate_namespace(&self) -> Result<(), Failure> {
        let namespaces: Api<Namespace> = Api::all(self.cluster.client.clone());
        let name = self.namespace.as_str();
        if namespaces
            .get_opt(name)
            .await
            .map_err(Failure::kube(format!("reading namespace {name}")))?
            .is_some()
        {
            // Left by an earlier, failed run: start clean.
            namespaces
                .delete(name, &DeleteParams::foreground())
                .await
                .map_err(Failure::kube(format!("deleting namespace {name}")))?;
            self.wait_until(
                &format!("namespace {name}, left by an earlier run, to be deleted"),
                NAMESPACE_DELETION_TIMEOUT,
                async || {
                    Ok(
                        match namespaces
                            .get_opt(name)
                            .await
                            .map_err(Failure::kube(format!("reading namespace {name}")))?
                        {
                            None => Observation::Done(()),
                            Some(namespace) => Observation::Waiting(format!(
                                "namespace phase {:?}",
                                namespace.status.and_then(|status| status.phase)
                            )),
                        },
                    )
                },
            )
            .await?;
        }
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                labels: Some(BTreeMap::from([(
                    "app.kubernetes.io/part-of".to_owned(),
                    "weir-e2e".to_owned(),
                )])),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .map_err(Failure::kube(format!("creating namespace {name}")))?;
        Ok(())
    }
}

/// The Canary's phase (`""` before the controller first wrote it).
pub fn phase_of(canary: &Canary) -> CanaryPhase {
    canary
        .status
        .as_ref()
        .map_or(CanaryPhase::Unset, |status| status.phase)
}

/// The image of the first container of `deployment`'s pods.
pub fn container_image(deployment: &Deployment) -> Option<&str> {
    deployment
        .spec
        .as_ref()?
        .template
        .spec
        .as_ref()?
        .containers
        .first()?
        .image
        .as_deref()
}

/// Whether `deployment` has finished rolling out with every replica ready,
/// or why not. A Deployment scaled to zero is not ready: the scenarios
/// only ask this of Deployments that should serve.
pub fn readiness(deployment: &Deployment) -> Result<(), String> {
    let wanted = deployment
        .spec
        .as_ref()
        .and_then(|spec| spec.replicas)
        .unwrap_or(1);
    let status = deployment.status.clone().unwrap_or_default();
    let generation = deployment.metadata.generation.unwrap_or(0);
    if status.observed_generation.unwrap_or(0) < generation {
        return Err(format!(
            "{}: generation {generation} not yet observed",
            deployment.name_any()
        ));
    }
    let updated = status.updated_replicas.unwrap_or(0);
    let ready = status.ready_replicas.unwrap_or(0);
    let total = status.replicas.unwrap_or(0);
    if wanted < 1 {
        return Err(format!("{}: scaled to zero", deployment.name_any()));
    }
    if updated < wanted || ready < wanted || total > wanted {
        return Err(format!(
            "{}: {wanted} wanted, {updated} updated, {ready} ready, {total} in all",
            deployment.name_any()
        ));
    }
    Ok(())
}

/// The Canary's progress in one line.
pub fn describe(canary: &Canary) -> String {
    match &canary.status {
        None => "no status yet".to_owned(),
        Some(status) => format!(
            "phase {}, canaryWeight {}, iterations {}, failedChecks {}",
            if status.phase == CanaryPhase::Unset {
                "(unset)"
            } else {
                status.phase.as_str()
            },
            status.canary_weight,
            status.iterations,
            status.failed_checks
        ),
    }
}

fn phases_text(phases: &[CanaryPhase]) -> String {
    phases
        .iter()
        .map(|phase| match phase {
            CanaryPhase::Unset => "(unset)",
            other => other.as_str(),
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::apps::v1::{DeploymentSpec, DeploymentStatus};

    use super::*;

    fn deployment(replicas: i32, status: DeploymentStatus) -> Deployment {
        Deployment {
            metadata: ObjectMeta {
                name: Some("podinfo-primary".to_owned()),
                generation: Some(2),
                ..ObjectMeta::default()
            },
            spec: Some(DeploymentSpec {
                replicas: Some(replicas),
                ..DeploymentSpec::default()
            }),
            status: Some(status),
        }
    }

    #[test]
    fn a_rolled_out_deployment_with_every_replica_ready_is_ready() {
        let ready = deployment(
            2,
            DeploymentStatus {
                observed_generation: Some(2),
                replicas: Some(2),
                updated_replicas: Some(2),
                ready_replicas: Some(2),
                ..DeploymentStatus::default()
            },
        );
        assert_eq!(readiness(&ready), Ok(()));
    }

    #[test]
    fn old_replicas_still_terminating_mean_the_rollout_is_not_done() {
        let rolling = deployment(
            2,
            DeploymentStatus {
                observed_generation: Some(2),
                replicas: Some(3),
                updated_replicas: Some(2),
                ready_replicas: Some(2),
                ..DeploymentStatus::default()
            },
        );
        assert_eq!(
            readiness(&rolling),
            Err("podinfo-primary: 2 wanted, 2 updated, 2 ready, 3 in all".to_owned())
        );
    }

    #[test]
    fn an_unobserved_generation_is_not_ready_whatever_the_counts() {
        let stale = deployment(
            1,
            DeploymentStatus {
                observed_generation: Some(1),
                replicas: Some(1),
                updated_replicas: Some(1),
                ready_replicas: Some(1),
                ..DeploymentStatus::default()
            },
        );
        assert!(readiness(&stale).is_err());
    }

    #[test]
    fn a_deployment_scaled_to_zero_is_not_serving() {
        let idle = deployment(
            0,
            DeploymentStatus {
                observed_generation: Some(2),
                ..DeploymentStatus::default()
            },
        );
        assert_eq!(
            readiness(&idle),
            Err("podinfo-primary: scaled to zero".to_owned())
        );
    }

    #[test]
    fn phases_read_as_a_timeline() {
        assert_eq!(
            phases_text(&[
                CanaryPhase::Initialized,
                CanaryPhase::Progressing,
                CanaryPhase::Succeeded
            ]),
            "Initialized → Progressing → Succeeded"
        );
    }
}
