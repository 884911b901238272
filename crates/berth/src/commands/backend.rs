//! Opening the backend the global options name.

use anyhow::Context;
use berth_aws::{Aws, AwsOptions};
use berth_provider::Provider;
use berth_sim::{Faults, Sim};

use crate::cli::{BackendKind, Cli};
use crate::commands::Target;
use crate::Io;

pub enum Backend {
    Sim {
        sim: Box<Sim>,
        /// Faults from BERTH_SIM_FAULTS apply to this run only, never to the
        /// saved account: the faults to save instead, when that variable was set.
        saved_faults: Option<Faults>,
    },
    Aws(Box<Aws>),
}

impl Backend {
    pub async fn open(cli: &Cli, io: &Io<'_>, target: &Target) -> anyhow::Result<Backend> {
        Self::open_in(cli, io, target.desired.region.clone()).await
    }

    /// The backend, in `region` unless the command line names one.
    pub async fn open_in(cli: &Cli, io: &Io<'_>, region: Option<String>) -> anyhow::Result<Backend> {
        berth_provider::crash::arm(io.env.get(berth_provider::crash::CRASH_AT_VAR).map(String::as_str));
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
                Ok(Backend::Sim { sim: Box::new(sim), saved_faults })
            }
            BackendKind::Aws => {
                let opts = AwsOptions {
                    region: cli.global.region.clone().or(region),
                    profile: cli.global.profile.clone(),
                    endpoint_url: cli.global.endpoint_url.clone(),
                    max_attempts: io.env.get("BERTH_AWS_MAX_ATTEMPTS").and_then(|v| v.parse().ok()),
                    env: io.env.clone(),
                };
                Ok(Backend::Aws(Box::new(berth_aws::connect(&opts).await?)))
            }
        }
    }

    pub fn provider(&self) -> &dyn Provider {
        match self {
            Backend::Sim { sim, .. } => sim.as_ref(),
            Backend::Aws(aws) => aws.as_ref(),
        }
    }

    /// Persists the account (the sim's state file) and prints API statistics if asked.
    pub fn finish(&self, cli: &Cli, io: &mut Io<'_>) -> anyhow::Result<()> {
        match self {
            Backend::Sim { sim, saved_faults } => {
                if let Some(f) = saved_faults {
                    sim.state().faults = f.clone();
                }
                sim.save().context("saving the simulated account")
            }
            Backend::Aws(aws) => {
                if cli.global.stats {
                    let stats = aws.stats().snapshot();
                    let (attempts, retries) = (aws.stats().attempts(), aws.stats().retries());
                    writeln!(io.stderr, "AWS API calls: {} ({attempts} attempts, {retries} retries)", stats.values().sum::<u64>())?;
                    for (op, n) in stats {
                        writeln!(io.stderr, "  {n:>5}  {op}")?;
                    }
                }
                Ok(())
            }
        }
    }
}

/// A single-threaded runtime: berth's concurrency is I/O, not CPU.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")
}
