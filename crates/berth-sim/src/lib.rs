//! berth-sim: a simulated AWS account, the embedded default backend for
//! trying berth with no AWS account, and the test double for the engine.
//!
//! It models what the moto emulator does not: tasks that start and fail,
//! target health, deployments that progress under the rolling bounds with
//! the circuit breaker, listener weights and Cloud Map instances, all on a
//! virtual clock — `sleep` advances it, so a ten-minute rollout takes
//! milliseconds. State persists as JSON between invocations.

pub mod ecr;
pub mod faults;
mod lock;
pub mod logs;
mod nlb;
pub mod oneoff;
mod provider;
pub mod scaling;
pub mod scheduler;
pub mod spot;
pub mod state;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

pub use faults::Faults;
pub use scheduler::{Sample, TargetGroupSample};
pub use state::SimState;

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("cannot read the sim state {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("the sim state {path} is not valid: {source}; delete it to start over")]
    Parse { path: PathBuf, source: serde_json::Error },
    #[error("cannot write the sim state {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// A simulated account. Cheap to create; thread-safe.
pub struct Sim {
    state: Mutex<SimState>,
    path: Option<PathBuf>,
    /// Samples of every service after every tick, when recording.
    history: Mutex<Option<Vec<Sample>>>,
    /// Samples of every target group after every tick, when recording.
    target_history: Mutex<Vec<TargetGroupSample>>,
    /// App locks: files beside the state file (see `lock.rs`), never in it.
    locks: lock::Locks,
    /// API calls made through this handle, by operation (for tests).
    calls: Mutex<std::collections::BTreeMap<String, u64>>,
}

impl Sim {
    /// An empty account that lives in memory only.
    pub fn new() -> Self {
        Sim {
            state: Mutex::new(SimState::default()),
            path: None,
            history: Mutex::new(None),
            target_history: Mutex::new(Vec::new()),
            locks: lock::Locks::new(None),
            calls: Mutex::default(),
        }
    }

    /// The account stored at `path` (empty if the file does not exist yet).
    pub fn open(path: &Path) -> Result<Self, SimError> {
        let state = match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|source| SimError::Parse { path: path.to_path_buf(), source })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => SimState::default(),
            Err(source) => return Err(SimError::Read { path: path.to_path_buf(), source }),
        };
        Ok(Sim {
            state: Mutex::new(state),
            path: Some(path.to_path_buf()),
            history: Mutex::new(None),
            target_history: Mutex::new(Vec::new()),
            locks: lock::Locks::new(Some(path)),
            calls: Mutex::default(),
        })
    }

    /// API calls made through this handle so far, by operation.
    pub fn calls(&self) -> std::collections::BTreeMap<String, u64> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn count_call(&self, operation: &str) {
        *self.calls.lock().unwrap_or_else(|e| e.into_inner()).entry(operation.to_string()).or_default() += 1;
    }

    /// Writes the state back to where it was opened from.
    pub fn save(&self) -> Result<(), SimError> {
        let Some(path) = &self.path else { return Ok(()) };
        let text = serde_json::to_string_pretty(&*self.state()).unwrap_or_default();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| SimError::Write { path: path.to_path_buf(), source })?;
        }
        // Write then rename, so an interrupted save never leaves half a file.
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(|source| SimError::Write { path: path.to_path_buf(), source })
    }

    /// The state, for reading or for out-of-band changes in tests.
    pub fn state(&self) -> MutexGuard<'_, SimState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn faults_mut(&self) -> impl std::ops::DerefMut<Target = Faults> + '_ {
        struct FaultsGuard<'a>(MutexGuard<'a, SimState>);
        impl std::ops::Deref for FaultsGuard<'_> {
            type Target = Faults;
            fn deref(&self) -> &Faults {
                &self.0.faults
            }
        }
        impl std::ops::DerefMut for FaultsGuard<'_> {
            fn deref_mut(&mut self) -> &mut Faults {
                &mut self.0.faults
            }
        }
        FaultsGuard(self.state())
    }

    /// Starts recording a sample of every service now and after every tick.
    pub fn record_history(&self) {
        let state = self.state();
        let now: Vec<Sample> = state.services.values().map(|svc| scheduler::sample(&state, svc, state.now_ms)).collect();
        *self.history.lock().unwrap_or_else(|e| e.into_inner()) = Some(now);
        *self.target_history.lock().unwrap_or_else(|e| e.into_inner()) = scheduler::target_group_samples(&state);
    }

    /// Target group samples recorded since `record_history`.
    pub fn target_history(&self) -> Vec<TargetGroupSample> {
        self.target_history.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn history(&self) -> Vec<Sample> {
        self.history.lock().unwrap_or_else(|e| e.into_inner()).clone().unwrap_or_default()
    }

    /// Pushes an image (as CI would) into an existing repository; returns its
    /// digest. A tag moves from any image that had it.
    pub fn push_image(&self, repository: &str, tags: &[&str], pushed_at_ms: u64) -> Option<String> {
        let mut state = self.state();
        let seq = state.next_id();
        let repo = state.repositories.get_mut(repository)?;
        for img in repo.images.iter_mut() {
            img.tags.retain(|t| !tags.contains(&t.as_str()));
        }
        let digest = format!("sha256:{:0>64}", seq);
        repo.images.push(state::SimImage { digest: digest.clone(), tags: tags.iter().map(|t| t.to_string()).collect(), pushed_at_ms });
        Some(digest)
    }

    /// Registers (or updates) an Application Auto Scaling scalable target
    /// for a service's desired count, as someone other than berth would
    /// (RegisterScalableTarget): observe reports it with the service.
    pub fn register_scalable_target(&self, cluster: &str, service: &str, min_capacity: u32, max_capacity: u32) {
        self.state().scalable_targets.insert(
            state::scalable_resource_id(cluster, service),
            state::SimScalableTarget { min_capacity, max_capacity, ..Default::default() },
        );
    }

    /// Sets a service's simulated load: its whole CPU demand as the
    /// utilization (percent) one task carrying all of it would show — `360`
    /// is six tasks at 60 %. Target tracking on CPU follows it.
    pub fn set_cpu_load(&self, service: &str, percent_of_one_task: f64) {
        self.state().load.entry(service.to_string()).or_default().cpu = percent_of_one_task;
    }

    /// Sets a service's desired count out of band, as a scaler would.
    /// Returns false when there is no such service.
    pub fn set_desired_count(&self, service: &str, count: u32) -> bool {
        let mut state = self.state();
        let Some(svc) = state.services.get_mut(service) else { return false };
        svc.spec.desired_count = Some(count);
        true
    }

    /// Advances the virtual clock, running the scheduler every tick.
    pub fn advance(&self, ms: u64) {
        let mut state = self.state();
        let mut history = self.history.lock().unwrap_or_else(|e| e.into_inner());
        let mut targets = self.target_history.lock().unwrap_or_else(|e| e.into_inner());
        scheduler::advance(&mut state, ms, &mut |s| {
            if let Some(h) = history.as_mut() {
                for svc in s.services.values() {
                    h.push(scheduler::sample(s, svc, s.now_ms));
                }
                targets.extend(scheduler::target_group_samples(s));
            }
        });
    }
}

impl Default for Sim {
    fn default() -> Self {
        Sim::new()
    }
}
