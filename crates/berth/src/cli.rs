//! The command line, as data (clap derive). Behaviour lives in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  invalid spec, or any other error";

#[derive(Debug, Parser)]
#[command(name = "berth", version, about = "Declarative deploys of Compose apps to AWS ECS", after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Spec file; repeat to merge overrides (later files win, as in Compose).
    #[arg(short = 'f', long = "file", global = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Apply the overlay x-berth.environments.NAME.
    #[arg(long = "env", global = true, value_name = "NAME")]
    pub env: Option<String>,
    /// Set an interpolation variable (wins over the environment and .env).
    #[arg(long = "var", global = true, value_name = "KEY=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    berth_spec::load::parse_var(text)
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse, interpolate, merge and validate the spec; report problems with file:line:col.
    Validate,
    /// Print the resources berth would create or update, without touching AWS.
    Render(RenderArgs),
    /// Print the JSON Schema of the spec (for editors' YAML language server).
    Schema,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[arg(long, value_enum, default_value_t = RenderFormat::Json)]
    pub format: RenderFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RenderFormat {
    Json,
    Yaml,
}
