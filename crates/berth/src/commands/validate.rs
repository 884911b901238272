use crate::cli::Cli;
use crate::{ExitStatus, Io};

pub fn run(cli: &Cli, io: &mut Io) -> anyhow::Result<ExitStatus> {
    let Some(loaded) = super::load_spec(cli, io)? else { return Ok(ExitStatus::Error) };
    let warnings = loaded.warnings.warnings().count();
    writeln!(
        io.stderr,
        "ok: app {} is valid: {} service{}, {warnings} warning{}",
        loaded.app.name,
        loaded.app.tasks.len(),
        if loaded.app.tasks.len() == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" },
    )?;
    Ok(ExitStatus::Success)
}
