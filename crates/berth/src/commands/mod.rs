mod render;
mod schema;
mod validate;

use berth_spec::{LoadOptions, Loaded};

use crate::cli::{Cli, Command};
use crate::{printer, ExitStatus, Io};

pub fn dispatch(cli: &Cli, io: &mut Io) -> anyhow::Result<ExitStatus> {
    match &cli.command {
        Command::Validate => validate::run(cli, io),
        Command::Render(args) => render::run(cli, args, io),
        Command::Schema => schema::run(io),
    }
}

/// Loads the spec named by the global arguments. Warnings are printed;
/// `None` means it was invalid and the errors were printed.
pub fn load_spec(cli: &Cli, io: &mut Io) -> anyhow::Result<Option<Loaded>> {
    let opts = LoadOptions {
        files: cli.global.files.clone(),
        dir: io.cwd.clone(),
        env: cli.global.env.clone(),
        vars: cli.global.vars.iter().cloned().collect(),
        process_env: io.env.clone(),
    };
    match berth_spec::load(&opts) {
        Ok(loaded) => {
            printer::diagnostics(io.stderr, &loaded.warnings)?;
            Ok(Some(loaded))
        }
        Err(diags) => {
            printer::diagnostics(io.stderr, &diags)?;
            printer::invalid_summary(io.stderr, &diags)?;
            Ok(None)
        }
    }
}
