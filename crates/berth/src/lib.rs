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

/// berth's exit codes (documented in `berth --help`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    Success,
    /// Invalid spec, bad arguments, a refused or stale plan, or any other error.
    Error,
    /// `plan --detailed-exitcode`: the plan has changes.
    Changes,
    /// A deployment failed (circuit breaker, timeout, rollback).
    DeployFailed,
    /// `berth run`: the exit code of the task's container (or 124 for a
    /// timeout, 130 for an interrupt).
    Task(u8),
}

impl ExitStatus {
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Error => 1,
            ExitStatus::Changes => 2,
            ExitStatus::DeployFailed => 3,
            ExitStatus::Task(code) => code,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> Self {
        ExitCode::from(s.code())
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
    let closed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut stdout = Stdout { inner: std::io::stdout(), closed: closed.clone() };
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
    let stdout_closed = || closed.load(std::sync::atomic::Ordering::Relaxed);
    run_with(std::env::args_os(), &mut io, &stdout_closed).into()
}

/// The process's stdout, noting when its reader went away (`berth status |
/// head`): then a read command ends quietly instead of reporting the pipe.
struct Stdout {
    inner: std::io::Stdout,
    closed: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Stdout {
    fn note<T>(&self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                self.closed.store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
        result
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let result = self.inner.write(buf);
        self.note(result)
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let result = self.inner.write_all(buf);
        self.note(result)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let result = self.inner.flush();
        self.note(result)
    }
}

/// Runs one berth command line.
pub fn run<I, T>(args: I, io: &mut Io) -> ExitStatus
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    run_with(args, io, &|| false)
}

/// [`run`], told whether stdout's reader has gone away: a command that only
/// reads then ends with success and says nothing (as `cat` does), instead of
/// `error: Broken pipe`; one that changes the account still reports it.
fn run_with<I, T>(args: I, io: &mut Io, stdout_closed: &dyn Fn() -> bool) -> ExitStatus
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match cli::parse(args) {
        Ok(cli) => cli,
        Err(e) => {
            let to_stdout = !e.use_stderr();
            let text = e.render().to_string();
            let _ = if to_stdout { io.stdout.write_all(text.as_bytes()) } else { io.stderr.write_all(text.as_bytes()) };
            return if to_stdout { ExitStatus::Success } else { ExitStatus::Error };
        }
    };
    let result = commands::dispatch(&cli, io);
    // What was written may still sit in the buffer: its failure counts too.
    let flushed = io.stdout.flush();
    if stdout_closed() && cli.command.only_reads() {
        return ExitStatus::Success;
    }
    match result.and_then(|status| flushed.map(|()| status).map_err(Into::into)) {
        Ok(status) => status,
        Err(err) => {
            let _ = writeln!(io.stderr, "error: {}", berth_render::redact::text(&format!("{err:#}")));
            ExitStatus::Error
        }
    }
}
