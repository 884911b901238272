//! The `berth` command: parses arguments, resolves settings once, and
//! dispatches to `commands/<verb>.rs`. Output goes through [`Io`] so tests
//! run the real command in process and see exactly what a user sees.

pub mod cli;
mod commands;
mod printer;
mod progress;

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// berth's exit codes (documented in `berth --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success = 0,
    /// Invalid spec, bad arguments, a refused or stale plan, or any other error.
    Error = 1,
    /// `plan --detailed-exitcode`: the plan has changes.
    Changes = 2,
    /// A deployment failed (circuit breaker, timeout, rollback).
    DeployFailed = 3,
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        ExitCode::from(s as u8)
    }
}

/// Where a run reads its environment from and writes its output to.
pub struct Io<'a> {
    pub stdout: &'a mut (dyn Write + Send),
    pub stderr: &'a mut (dyn Write + Send),
    pub env: HashMap<String, String>,
    pub cwd: PathBuf,
    /// stdin and stderr are a terminal: prompts and progress bars are allowed.
    pub interactive: bool,
    /// stdout is a terminal (colors are allowed unless NO_COLOR or --no-color).
    pub stdout_tty: bool,
}

pub fn main_from_env() -> ExitCode {
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    use std::io::IsTerminal;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let stdout_tty = std::io::stdout().is_terminal();
    let mut io = Io {
        stdout: &mut stdout,
        stderr: &mut stderr,
        env: std::env::vars().collect(),
        cwd: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
        interactive,
        stdout_tty,
    };
    run(std::env::args_os(), &mut io).into()
}

/// Runs one berth command line.
pub fn run<I, T>(args: I, io: &mut Io) -> ExitStatus
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match cli::Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let to_stdout = !e.use_stderr();
            let text = e.render().to_string();
            let _ = if to_stdout { io.stdout.write_all(text.as_bytes()) } else { io.stderr.write_all(text.as_bytes()) };
            return if to_stdout { ExitStatus::Success } else { ExitStatus::Error };
        }
    };
    match commands::dispatch(&cli, io) {
        Ok(status) => status,
        Err(err) => {
            let _ = writeln!(io.stderr, "error: {}", berth_render::redact::text(&format!("{err:#}")));
            ExitStatus::Error
        }
    }
}
