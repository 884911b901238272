//! Opening the backend the global options name.

use std::sync::Arc;

use anyhow::Context;
use berth_provider::Provider;
use berth_sim::{Faults, Sim};

use crate::cli::{BackendKind, Cli};
use crate::Io;

pub struct Backend {
    sim: Arc<Sim>,
    /// Faults from BERTH_SIM_FAULTS apply to this run only, never to the
    /// saved account: the faults to save instead, when that variable was set.
    saved_faults: Option<Faults>,
}

impl Backend {
    pub fn open(cli: &Cli, io: &Io) -> anyhow::Result<Backend> {
        match cli.global.backend {
            BackendKind::Sim => {
                let path = io.cwd.join(&cli.global.sim_state);
                let sim = Sim::open(&path)?;
                let mut saved_faults = None;
                if let Some(text) = io.env.get("BERTH_SIM_FAULTS").filter(|t| !t.is_empty()) {
                    let extra = Faults::parse(text).map_err(|e| anyhow::anyhow!("BERTH_SIM_FAULTS: {e}"))?;
                    saved_faults = Some(sim.state().faults.clone());
                    let mut f = sim.faults_mut();
                    f.throttle_next += extra.throttle_next;
                    f.server_error_next += extra.server_error_next;
                    f.crashloop.extend(extra.crashloop);
                    f.unhealthy.extend(extra.unhealthy);
                    f.hang.extend(extra.hang);
                }
                Ok(Backend { sim: Arc::new(sim), saved_faults })
            }
        }
    }

    pub fn provider(&self) -> &dyn Provider {
        self.sim.as_ref()
    }

    /// Persists the account (the sim's state file).
    pub fn save(&self) -> anyhow::Result<()> {
        if let Some(f) = &self.saved_faults {
            self.sim.state().faults = f.clone();
        }
        self.sim.save().context("saving the simulated account")
    }
}

/// A single-threaded runtime: berth's concurrency is I/O, not CPU.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_time().build().context("starting the async runtime")
}
