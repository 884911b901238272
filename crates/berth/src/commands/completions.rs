//! `berth completions SHELL` and `berth man`: generated from the command
//! line's definition (`cli::command`), so they never drift from it.

use crate::cli::{CompletionsArgs, ManArgs};
use crate::{ExitStatus, Io};

pub fn completions(args: &CompletionsArgs, io: &mut Io) -> anyhow::Result<ExitStatus> {
    let mut cmd = crate::cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "berth", &mut script);
    io.stdout.write_all(&script)?;
    Ok(ExitStatus::Success)
}

pub fn man(args: &ManArgs, io: &mut Io) -> anyhow::Result<ExitStatus> {
    let cmd = crate::cli::command();
    match &args.out_dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut page)?;
            io.stdout.write_all(&page)?;
        }
        Some(dir) => {
            let dir = io.cwd.join(dir);
            std::fs::create_dir_all(&dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
            clap_mangen::generate_to(cmd, &dir).map_err(|e| anyhow::anyhow!("cannot write the man pages to {}: {e}", dir.display()))?;
            writeln!(io.stderr, "wrote the man pages to {}", dir.display())?;
        }
    }
    Ok(ExitStatus::Success)
}
