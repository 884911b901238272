//! Test support: run the real `berth` command in process, with a chosen
//! working directory and environment, and capture what a user would see.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// What one run of `berth` produced.
#[derive(Debug, Clone)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A command line to run, like `std::process::Command`.
#[derive(Debug, Clone)]
pub struct Berth {
    args: Vec<String>,
    cwd: PathBuf,
    env: HashMap<String, String>,
}

/// The repository root (examples/, templates/ live here).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent").to_path_buf()
}

/// `../shared` beside the repository.
pub fn shared_dir() -> PathBuf {
    repo_root().join("..").join("shared")
}

impl Berth {
    pub fn new(cwd: impl Into<PathBuf>) -> Self {
        Berth { args: vec!["berth".into()], cwd: cwd.into(), env: HashMap::new() }
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<String>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Runs with a time limit, so a hang fails the test instead of CI.
    pub fn run(self) -> Output {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut stdout = Vec::new();
            let mut stderr = Vec::new();
            let mut io = berth::Io { stdout: &mut stdout, stderr: &mut stderr, env: self.env, cwd: self.cwd, interactive: false, stdout_tty: false };
            let code = berth::run(self.args, &mut io) as i32;
            let _ = tx.send(Output {
                code,
                stdout: String::from_utf8_lossy(&stdout).into_owned(),
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
            });
        });
        rx.recv_timeout(Duration::from_secs(30)).expect("berth finished within 30 s (no hang, no panic)")
    }
}
