use crate::cli::Cli;
use crate::commands::load_target;
use crate::{ExitStatus, Io};

pub fn run(cli: &Cli, io: &mut Io) -> anyhow::Result<ExitStatus> {
    let Some(target) = load_target(cli, io)? else { return Ok(ExitStatus::Error) };
    let region = cli.global.region.clone().or_else(|| target.loaded.app.region.clone());
    let policy = berth_aws::policy::policy(&target.desired, region.as_deref());
    serde_json::to_writer_pretty(&mut *io.stdout, &policy)?;
    writeln!(io.stdout)?;
    Ok(ExitStatus::Success)
}
