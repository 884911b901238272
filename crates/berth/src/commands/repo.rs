//! GitOps over a repository of many apps: `berth plan --all [DIR]` finds
//! every app spec (listed in `berth-repo.yaml` at the root, or by
//! convention `*/compose.berth.yaml`, with each of its
//! `x-berth.environments`), plans them concurrently and prints one report;
//! `berth apply --all DIR` applies each plan `plan --all -o DIR` saved,
//! continuing past a failed app. One app's error never hides another's plan.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command as Process;
use std::sync::Arc;

use berth_render::repo::Entry;
use futures::StreamExt;
use serde::Deserialize;

use crate::cli::{Cli, PlanArgs, PlanFormat};
use crate::commands::{backend, deployable, load_spec_at, make_plan, Backend, SpecAt, Target};
use crate::{ExitStatus, Io};

/// The repository's list of apps, when it has one.
pub const REPO_FILE: &str = "berth-repo.yaml";
/// The spec file an app directory holds, by convention.
pub const APP_FILE: &str = "compose.berth.yaml";
/// Apps planned at once.
const CONCURRENCY: usize = 4;
/// How deep below the root conventional app directories are looked for.
const MAX_DEPTH: usize = 3;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RepoFile {
    apps: Vec<RepoApp>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RepoApp {
    /// The app's directory, relative to the root.
    path: String,
    /// Its spec files, relative to its directory (default: its default spec file).
    #[serde(default)]
    files: Vec<String>,
    /// The environments (`x-berth.environments`) to plan; none: the spec as it is.
    #[serde(default)]
    environments: Vec<String>,
}

/// One app in one environment.
#[derive(Debug, Clone)]
pub struct Unit {
    /// The app's directory relative to the root, `/`-separated.
    pub dir: String,
    pub path: PathBuf,
    pub files: Vec<PathBuf>,
    pub env: Option<String>,
}

impl Unit {
    /// The name of its saved plan: `shop.plan.json`, `apps__shop.prod.plan.json`.
    fn plan_file(&self) -> String {
        let base = self.dir.replace('/', "__");
        match &self.env {
            Some(env) => format!("{base}.{env}.plan.json"),
            None => format!("{base}.plan.json"),
        }
    }
}

/// The apps of the repository at `root`.
pub fn discover(root: &Path) -> Result<Vec<Unit>, String> {
    let listed = root.join(REPO_FILE);
    if listed.is_file() {
        let text = read_small(&listed)?;
        let repo: RepoFile = serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", listed.display()))?;
        let mut units = Vec::new();
        for app in repo.apps {
            let rel = Path::new(&app.path);
            if rel.is_absolute() || rel.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
                return Err(format!("{REPO_FILE}: app path {:?} must be a directory inside the repository", app.path));
            }
            let path = root.join(rel);
            if !path.is_dir() {
                return Err(format!("{REPO_FILE}: app path {:?} is not a directory", app.path));
            }
            let files: Vec<PathBuf> = app.files.iter().map(PathBuf::from).collect();
            let envs = if app.environments.is_empty() { vec![None] } else { app.environments.into_iter().map(Some).collect() };
            for env in envs {
                units.push(Unit { dir: app.path.trim_end_matches('/').to_string(), path: path.clone(), files: files.clone(), env });
            }
        }
        return Ok(units);
    }
    let mut dirs = Vec::new();
    find_app_dirs(root, root, 0, &mut dirs);
    dirs.sort();
    let mut units = Vec::new();
    for dir in dirs {
        let path = root.join(&dir);
        let envs = environments_of(&path.join(APP_FILE));
        let envs = if envs.is_empty() { vec![None] } else { envs.into_iter().map(Some).collect() };
        for env in envs {
            units.push(Unit { dir: dir.clone(), path: path.clone(), files: vec![PathBuf::from(APP_FILE)], env });
        }
    }
    Ok(units)
}

/// A repository file read whole, refused past the size of any spec (1 MiB).
fn read_small(path: &Path) -> Result<String, String> {
    const LIMIT: u64 = 1 << 20;
    let size = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?.len();
    if size > LIMIT {
        return Err(format!("{} is {size} bytes, more than berth reads ({LIMIT})", path.display()));
    }
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Directories below `root` holding `compose.berth.yaml` (hidden and build
/// directories skipped).
fn find_app_dirs(root: &Path, dir: &Path, depth: usize, out: &mut Vec<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    if depth > 0 && dir.join(APP_FILE).is_file() {
        let rel = dir.strip_prefix(root).unwrap_or(dir);
        out.push(rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join("/"));
    }
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let skip = name.starts_with('.') || matches!(name.as_str(), "target" | "node_modules");
        // Symbolic links are not followed: a loop must not hang discovery.
        if !skip && e.file_type().is_ok_and(|t| t.is_dir()) {
            find_app_dirs(root, &e.path(), depth + 1, out);
        }
    }
}

/// The names under `x-berth.environments` of a spec file (bounded parse);
/// none when it has none or cannot be read (planning it reports why).
fn environments_of(path: &Path) -> Vec<String> {
    let Ok(text) = read_small(path) else { return Vec::new() };
    let Ok(tree) = berth_spec::node::parse(&Arc::new(path.to_path_buf()), &text) else { return Vec::new() };
    tree.get("x-berth")
        .and_then(|x| x.get("environments"))
        .and_then(|e| e.as_map())
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The units whose files changed since `reference` (committed, staged,
/// unstaged or untracked): a changed file in the app's directory, or one of
/// the files its spec reads.
fn changed_since(
    root: &Path,
    reference: &str,
    units: Vec<(Unit, Result<Target, String>)>,
) -> anyhow::Result<Vec<(Unit, Result<Target, String>)>> {
    let git = |args: &[&str]| -> anyhow::Result<Vec<PathBuf>> {
        let out = Process::new("git").arg("-C").arg(root).args(args).output()?;
        if !out.status.success() {
            anyhow::bail!("git {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim());
        }
        Ok(String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.is_empty()).map(PathBuf::from).collect())
    };
    let top = git(&["rev-parse", "--show-toplevel"])?.pop().unwrap_or_else(|| root.to_path_buf());
    let mut changed: BTreeSet<PathBuf> = BTreeSet::new();
    // `diff` names paths from the top of the work tree, `ls-files` from the directory git runs in.
    changed.extend(git(&["diff", "--name-only", reference, "--"])?.into_iter().map(|p| canonical(&top.join(p))));
    changed.extend(git(&["ls-files", "--others", "--exclude-standard"])?.into_iter().map(|p| canonical(&root.join(p))));
    Ok(units
        .into_iter()
        .filter(|(unit, target)| {
            let dir = canonical(&unit.path);
            let read: Vec<PathBuf> = match target {
                Ok(t) => t.loaded.as_ref().map(|l| l.files.iter().map(|f| canonical(f)).collect()).unwrap_or_default(),
                Err(_) => Vec::new(),
            };
            changed.iter().any(|c| c.starts_with(&dir) || read.contains(c))
        })
        .collect())
}

/// An absolute path with `.`/`..` and links resolved when it exists (a
/// deleted file keeps its joined path).
fn canonical(p: &Path) -> PathBuf {
    p.canonicalize().unwrap_or_else(|_| p.to_path_buf())
}

/// Loads one unit: its target, or what is wrong with its spec.
fn load_unit(cli: &Cli, io: &Io, unit: &Unit) -> Result<Target, String> {
    let mut diagnostics: Vec<u8> = Vec::new();
    let at = SpecAt { files: &unit.files, dir: &unit.path, env: unit.env.as_deref() };
    let loaded = load_spec_at(cli, &io.env, &at, None, &mut diagnostics).map_err(|e| e.to_string())?;
    let text = |d: &[u8]| String::from_utf8_lossy(d).trim_end().to_string();
    let Some(loaded) = loaded else { return Err(text(&diagnostics)) };
    let target = Target::from_loaded(loaded);
    let mut missing: Vec<u8> = Vec::new();
    match deployable(cli, &io.env, &target, &mut missing) {
        Ok(true) => Ok(target),
        Ok(false) => Err(text(&missing)),
        Err(e) => Err(e.to_string()),
    }
}

/// `berth plan --all [DIR]`.
pub fn plan_all(cli: &Cli, args: &PlanArgs, dir: &Path, io: &mut Io) -> anyhow::Result<ExitStatus> {
    let root = io.cwd.join(dir);
    let units = match discover(&root) {
        Ok(u) if u.is_empty() => {
            writeln!(
                io.stderr,
                "error: no apps in {}\n  hint: list them in {REPO_FILE}, or give each directory a {APP_FILE}",
                root.display()
            )?;
            return Ok(ExitStatus::Error);
        }
        Ok(u) => u,
        Err(e) => {
            writeln!(io.stderr, "error: {e}")?;
            return Ok(ExitStatus::Error);
        }
    };
    let loaded: Vec<(Unit, Result<Target, String>)> = units
        .into_iter()
        .map(|u| {
            let t = load_unit(cli, io, &u);
            (u, t)
        })
        .collect();
    let loaded = match &args.changed_since {
        Some(reference) => changed_since(&root, reference, loaded)?,
        None => loaded,
    };
    let rt = backend::runtime()?;
    let shared: &Io = io;
    let results: Vec<(Unit, Result<(berth_plan::Plan, Target), String>)> = rt.block_on(async {
        futures::stream::iter(loaded.into_iter().map(|(unit, target)| async move {
            let planned = match target {
                Ok(target) => plan_unit(cli, shared, target).await,
                Err(e) => Err(e),
            };
            (unit, planned)
        }))
        .buffered(CONCURRENCY)
        .collect()
        .await
    });
    if let Some(out_dir) = &args.out {
        let out_dir = io.cwd.join(out_dir);
        std::fs::create_dir_all(&out_dir)?;
        let key = io.env.get(super::plan_file::KEY_VAR).filter(|k| !k.is_empty()).cloned();
        for (unit, result) in &results {
            if let Ok((plan, target)) = result {
                let mut saved = plan.clone();
                saved.target = Some(target.saved());
                super::plan_file::save(&out_dir.join(unit.plan_file()), &saved, key.as_deref())?;
            }
        }
        writeln!(
            io.stderr,
            "Saved the plans to {} (they hold the values apply sends: keep them private); apply them with `berth apply --all {}`.",
            out_dir.display(),
            out_dir.display()
        )?;
    }
    let entries: Vec<Entry> =
        results.into_iter().map(|(unit, r)| Entry { dir: unit.dir, environment: unit.env, result: r.map(|(p, _)| p) }).collect();
    let text = match args.format {
        PlanFormat::Human => berth_render::repo::human(&entries, berth_render::Style { color: super::color(cli, io) }),
        PlanFormat::Json => berth_render::repo::json(&entries) + "\n",
        PlanFormat::Markdown => berth_render::repo::markdown(&entries),
    };
    io.stdout.write_all(text.as_bytes())?;
    let failed: Vec<String> = entries.iter().filter(|e| e.result.is_err()).map(Entry::label).collect();
    if !failed.is_empty() {
        writeln!(io.stderr, "error: {} of {} apps could not be planned: {}", failed.len(), entries.len(), failed.join(", "))?;
        return Ok(ExitStatus::Error);
    }
    let changes = entries.iter().any(|e| e.result.as_ref().is_ok_and(berth_plan::Plan::has_changes));
    Ok(if args.detailed_exitcode && changes { ExitStatus::Changes } else { ExitStatus::Success })
}

/// Plans one app against its own account connection (a region of its own).
async fn plan_unit(cli: &Cli, io: &Io<'_>, target: Target) -> Result<(berth_plan::Plan, Target), String> {
    let backend = Backend::open(cli, io, &target).await.map_err(|e| format!("{e:#}"))?;
    // Planning writes nothing: the sim's state is not saved back.
    let plan = make_plan(&target, backend.provider(), cli.global.allow_mutable_tags).await.map_err(|e| format!("{e:#}"))?;
    Ok((plan, target))
}

/// The saved plans of a directory, in name order.
pub fn saved_plans(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut plans: Vec<PathBuf> = std::fs::read_dir(dir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n.to_string_lossy().ends_with(".plan.json")))
        .collect();
    plans.sort();
    Ok(plans)
}
