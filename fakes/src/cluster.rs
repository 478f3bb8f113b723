//! A fake cluster: the target and primary workloads, their revisions, and
//! the target's autoscaler.
//!
//! Workloads become ready instantly unless a test says otherwise: set
//! [`FakeWorkload::state`] to a rolling or stuck state, or queue states with
//! [`FakeWorkload::script`] (one per tick, the last one sticks).

use std::collections::{BTreeMap, VecDeque};

use weir_api::Canary;
use weir_engine::ports::{
    DaemonSetState, DeploymentState, PortError, Revision, Role, Scalers, WorkloadState, Workloads,
};

/// A ready Deployment with `replicas` replicas.
pub fn deployment(name: &str, replicas: i32) -> WorkloadState {
    WorkloadState::Deployment(DeploymentState {
        name: name.to_owned(),
        generation: 1,
        observed_generation: 1,
        desired_replicas: Some(replicas),
        replicas,
        updated_replicas: replicas,
        available_replicas: replicas,
        progress_deadline_exceeded: false,
        has_progressing_condition: true,
        unavailable_since: None,
    })
}

/// A ready DaemonSet scheduled on `nodes` nodes.
pub fn daemon_set(name: &str, nodes: i32) -> WorkloadState {
    WorkloadState::DaemonSet(DaemonSetState {
        name: name.to_owned(),
        desired_number_scheduled: nodes,
        updated_number_scheduled: nodes,
        number_available: nodes,
    })
}

/// One workload: its observable state, optionally scripted tick by tick.
#[derive(Clone, Debug)]
pub struct FakeWorkload {
    pub state: WorkloadState,
    /// States for the coming ticks; each tick takes the next one.
    pub script: VecDeque<WorkloadState>,
    /// Replicas as last set by the engine (scale to zero, scale up, revert).
    pub replicas: i32,
    /// Spec hash the workload runs (the primary gets the target's on promotion).
    pub spec_hash: String,
}

impl FakeWorkload {
    fn new(state: WorkloadState, spec_hash: &str) -> FakeWorkload {
        FakeWorkload {
            state,
            script: VecDeque::new(),
            replicas: 1,
            spec_hash: spec_hash.to_owned(),
        }
    }

    /// Advances the script by one tick.
    pub(crate) fn next_tick(&mut self) {
        if let Some(next) = self.script.pop_front() {
            self.state = next;
        }
    }
}

/// Deployments (or DaemonSets) of one Canary, and its HPA.
#[derive(Clone, Debug)]
pub struct FakeCluster {
    pub target: FakeWorkload,
    pub primary: FakeWorkload,
    /// Whether `<target>-primary` exists.
    pub primary_exists: bool,
    /// Tracked ConfigMaps and Secrets of the target (`configmap/<name>` → checksum).
    pub configs: BTreeMap<String, String>,
    /// Whether the target kind tracks configs (not for Service targets).
    pub tracks_configs: bool,
    /// Calls, in order, e.g. `promote`, `scale_to_zero`, `pause_target`.
    pub calls: Vec<&'static str>,
    /// Methods that fail with the given message (`"promote"` → "boom").
    pub failures: BTreeMap<&'static str, String>,
}

impl FakeCluster {
    /// A target Deployment `name` with one ready replica running spec `v1`.
    pub fn new(name: &str) -> FakeCluster {
        FakeCluster {
            target: FakeWorkload::new(deployment(name, 1), "v1"),
            primary: FakeWorkload::new(deployment(&format!("{name}-primary"), 1), ""),
            primary_exists: false,
            configs: BTreeMap::new(),
            tracks_configs: true,
            calls: Vec::new(),
            failures: BTreeMap::new(),
        }
    }

    /// Deploys a new revision of the target (what `kubectl set image` does).
    pub fn deploy(&mut self, spec_hash: &str) {
        self.target.spec_hash = spec_hash.to_owned();
    }

    fn call(&mut self, name: &'static str) -> Result<(), PortError> {
        self.calls.push(name);
        match self.failures.get(name) {
            Some(message) => Err(PortError::new(message.clone())),
            None => Ok(()),
        }
    }

    /// Advances both workloads' scripts by one tick.
    pub fn next_tick(&mut self) {
        self.target.next_tick();
        self.primary.next_tick();
    }
}

impl Workloads for FakeCluster {
    fn ensure_primary(&mut self, _canary: &Canary) -> Result<(), PortError> {
        self.call("ensure_primary")?;
        if !self.primary_exists {
            self.primary_exists = true;
            self.primary.spec_hash = self.target.spec_hash.clone();
            self.primary.replicas = self.target.replicas.max(1);
        }
        Ok(())
    }

    fn state(&mut self, _canary: &Canary, role: Role) -> Result<WorkloadState, PortError> {
        self.call(match role {
            Role::Primary => "state_primary",
            Role::Canary => "state_canary",
        })?;
        Ok(match role {
            Role::Primary => self.primary.state.clone(),
            Role::Canary => self.target.state.clone(),
        })
    }

    fn revision(&mut self, _canary: &Canary) -> Result<Revision, PortError> {
        self.call("revision")?;
        Ok(Revision {
            spec_hash: self.target.spec_hash.clone(),
            tracked_configs: self.tracks_configs.then(|| self.configs.clone()),
        })
    }

    fn promote(&mut self, _canary: &Canary) -> Result<(), PortError> {
        self.call("promote")?;
        self.primary.spec_hash = self.target.spec_hash.clone();
        Ok(())
    }

    fn scale_to_zero(&mut self, _canary: &Canary) -> Result<(), PortError> {
        self.call("scale_to_zero")?;
        self.target.replicas = 0;
        Ok(())
    }

    fn scale_from_zero(&mut self, _canary: &Canary) -> Result<(), PortError> {
        self.call("scale_from_zero")?;
        self.target.replicas = self.primary.replicas.max(1);
        Ok(())
    }

    fn revert(&mut self, _canary: &Canary) -> Result<(), PortError> {
        self.call("revert")?;
        self.target.replicas = self.primary.replicas.max(1);
        Ok(())
    }
}

/// The target's autoscaler and the primary's copy of it.
#[derive(Clone, Debug, Default)]
pub struct FakeScalers {
    /// Calls, in order.
    pub calls: Vec<&'static str>,
    pub failures: BTreeMap<&'static str, String>,
    /// Whether the target's autoscaler is paused.
    pub target_paused: bool,
}

impl FakeScalers {
    fn call(&mut self, name: &'static str) -> Result<(), PortError> {
        self.calls.push(name);
        match self.failures.get(name) {
            Some(message) => Err(PortError::new(message.clone())),
            None => Ok(()),
        }
    }
}

impl Scalers for FakeScalers {
    fn reconcile_primary(
        &mut self,
        _canary: &Canary,
        _initializing: bool,
    ) -> Result<(), PortError> {
        self.call("reconcile_primary")
    }

    fn pause_target(&mut self, _canary: &Canary) -> Result<(), PortError> {
        self.call("pause_target")?;
        self.target_paused = true;
        Ok(())
    }

    fn resume_target(&mut self, _canary: &Canary) -> Result<(), PortError> {
        self.call("resume_target")?;
        self.target_paused = false;
        Ok(())
    }
}
