//! Test support: run the real `berth` command in process, with a chosen
//! working directory and environment, and capture what a user would see.

pub mod aws_models;
pub mod fault_proxy;
pub mod in_process;
pub mod moto;

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

/// Asserts that a run succeeded, showing what it printed when it did not.
#[track_caller]
pub fn ok(out: &Output) {
    assert_eq!(out.code, 0, "stdout:\n{}\nstderr:\n{}", out.stdout, out.stderr);
}

/// The JSON a run printed (`plan --format json`).
#[track_caller]
pub fn plan_json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("plan JSON: {e}\n{}\n{}", out.stdout, out.stderr))
}

/// `(address, action, changed paths)` of every change of a JSON plan.
pub fn plan_changes(plan: &serde_json::Value) -> Vec<(String, String, Vec<String>)> {
    plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            let changed =
                c["changed"].as_array().map(|a| a.iter().map(|p| p.as_str().unwrap_or_default().to_string()).collect()).unwrap_or_default();
            (c["address"].as_str().unwrap_or_default().to_string(), c["action"].as_str().unwrap_or_default().to_string(), changed)
        })
        .collect()
}

/// `plan --adopt --format json` with `berth`: asserts that every change is
/// an adoption that changes nothing else (`context`, e.g. the spec, goes
/// into the failure message), and returns their addresses.
#[track_caller]
pub fn adopt_only(berth: Berth, context: &str) -> Vec<String> {
    let out = berth.args(["plan", "--adopt", "--format", "json"]).run();
    ok(&out);
    let changes = plan_changes(&plan_json(&out));
    assert!(
        changes.iter().all(|(_, action, changed)| action == "adopt" && changed.is_empty()),
        "only adopt changes: {changes:?}\n{context}"
    );
    changes.into_iter().map(|(address, _, _)| address).collect()
}

/// The changes an apply or destroy started, in order, as `(address, verb)`,
/// from its event lines (`<time> <address>: <verb> started`).
pub fn started_changes(out: &Output) -> Vec<(String, String)> {
    out.stderr
        .lines()
        .filter_map(|l| {
            let (address, what) = l.split_once(' ')?.1.split_once(": ")?;
            Some((address.to_string(), what.strip_suffix(" started")?.to_string()))
        })
        .collect()
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
            let mut io =
                berth::Io { stdout: &mut stdout, stderr: &mut stderr, env: self.env, cwd: self.cwd, interactive: false, stdout_tty: false };
            let code = i32::from(berth::run(self.args, &mut io).code());
            let _ = tx.send(Output {
                code,
                stdout: String::from_utf8_lossy(&stdout).into_owned(),
                stderr: String::from_utf8_lossy(&stderr).into_owned(),
            });
        });
        rx.recv_timeout(Duration::from_secs(30)).expect("berth finished within 30 s (no hang, no panic)")
    }
}

/// A simulated account in a temporary directory, and `berth` pointed at it
/// (run from the repository root, so `examples/...` paths work).
pub struct SimAccount {
    dir: tempfile::TempDir,
}

impl SimAccount {
    pub fn new() -> Self {
        SimAccount { dir: tempfile::tempdir().expect("tempdir") }
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir.path().join("sim.json")
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `berth --sim-state <this account> -f examples/<example>/compose.yaml --var TAG=...`
    pub fn berth(&self, example: &str, tag: &str) -> Berth {
        Berth::new(repo_root()).args([
            "--sim-state".to_string(),
            self.state_path().display().to_string(),
            "-f".into(),
            format!("examples/{example}/compose.yaml"),
            "--var".into(),
            format!("TAG={tag}"),
        ])
    }

    /// Changes the account out of band (as someone with the console would).
    pub fn edit(&self, f: impl FnOnce(&mut berth_sim::SimState)) {
        let sim = berth_sim::Sim::open(&self.state_path()).expect("open sim");
        f(&mut sim.state());
        sim.save().expect("save sim");
    }

    pub fn read<T>(&self, f: impl FnOnce(&berth_sim::SimState) -> T) -> T {
        let sim = berth_sim::Sim::open(&self.state_path()).expect("open sim");
        let state = sim.state();
        f(&state)
    }

    /// `berth --sim-state <this account>` run from `dir`, with no spec of
    /// the repository (`berth import`, a spec written there).
    pub fn berth_in(&self, dir: &Path) -> Berth {
        Berth::new(dir).args(["--sim-state".to_string(), self.state_path().display().to_string()])
    }

    /// Removes berth's tags from every resource of the account, as if
    /// someone had made them by hand; `other` instead tags them as that app's.
    pub fn retag(&self, other: Option<&str>) {
        let fix = |tags: &mut Vec<berth_model::resources::Tag>| {
            tags.retain(|t| !t.key.starts_with("berth:"));
            if let Some(app) = other {
                tags.extend(berth_model::resources::ownership_tags(app));
            }
        };
        self.edit(|s| {
            s.clusters.values_mut().for_each(|c| fix(&mut c.tags));
            s.task_definitions.values_mut().flatten().for_each(|r| fix(&mut r.spec.tags));
            s.services.values_mut().for_each(|svc| fix(&mut svc.spec.tags));
            s.target_groups.values_mut().for_each(|tg| fix(&mut tg.spec.tags));
            s.listeners.values_mut().flat_map(|l| &mut l.rules).for_each(|r| fix(&mut r.spec.tags));
            s.namespaces.values_mut().for_each(|n| fix(&mut n.spec.tags));
            s.cloud_map_services.values_mut().for_each(|c| fix(&mut c.spec.tags));
            s.repositories.values_mut().for_each(|r| fix(&mut r.spec.tags));
            s.log_groups.values_mut().for_each(|g| fix(&mut g.spec.tags));
            s.load_balancers.values_mut().for_each(|lb| fix(&mut lb.spec.tags));
        });
    }
}

impl Default for SimAccount {
    fn default() -> Self {
        Self::new()
    }
}
