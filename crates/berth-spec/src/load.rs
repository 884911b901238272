//! Loading a spec: read the `-f` files, interpolate, merge, apply the
//! `--env` overlay, type, name the app, and validate.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_compose::project::{self, Cast, SourceFile};

use crate::app::App;
use crate::diag::{Diagnostic, Diagnostics};
use crate::interpolate::Vars;
use crate::merge::merge;
use crate::node::{self, path_string, Node, NodeValue, Seg};
use crate::resolve;
use crate::types::ComposeFile;

/// The files berth looks for when no `-f` is given: the one `berth init`
/// writes, then Compose's own, in Compose's order.
pub const DEFAULT_FILES: &[&str] = &["compose.berth.yaml", "compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml"];

/// The most services one spec may define: ECS's default quota per cluster
/// (an app is one cluster), and a bound on the work of resolving them.
pub const MAX_SERVICES: usize = 5000;

/// What a load needs from the command line and the process.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// `-f` files in order; empty means look for a default file in `dir`.
    pub files: Vec<PathBuf>,
    /// The directory default files are looked for in.
    pub dir: PathBuf,
    /// `--env NAME`: the `x-berth.environments.NAME` overlay.
    pub env: Option<String>,
    /// `--var K=V`, highest precedence.
    pub vars: HashMap<String, String>,
    /// The process environment (passed in so tests control it).
    pub process_env: HashMap<String, String>,
    /// `--images-from FILE`: CodePipeline's `imagedefinitions.json` or `imageDetail.json`.
    pub images_from: Option<PathBuf>,
    /// `--env-file FILE` (repeatable): read instead of the `.env` beside the first file.
    pub env_files: Vec<PathBuf>,
    /// Compose profiles to activate (COMPOSE_PROFILES adds to them).
    pub profiles: Vec<String>,
    /// What an unset required variable (`${X:?}`) becomes instead of an
    /// error (`berth destroy` needs no image tags).
    pub required_placeholder: Option<String>,
}

/// A loaded, validated spec.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub app: App,
    /// The merged, interpolated tree (positions for later diagnostics).
    pub tree: Node,
    pub files: Vec<PathBuf>,
    /// Warnings found while loading (errors make the load fail).
    pub warnings: Diagnostics,
    /// The variables the spec was interpolated with.
    pub vars: Vars,
    /// Services of profiles that are not active: not deployed, and their
    /// live resources are left alone (as `docker compose up` leaves them).
    pub disabled_services: Vec<String>,
    /// The live names their `x-berth.names` give, left alone too.
    pub disabled_live_names: Vec<String>,
}

/// Loads and validates. On failure the diagnostics hold at least one error
/// (and the warnings found before it).
pub fn load(opts: &LoadOptions) -> Result<Loaded, Diagnostics> {
    let (shown, files) = resolve_files(opts)?;
    let texts = files.iter().zip(&shown).map(|(file, shown)| read_spec(file, shown)).collect::<Result<Vec<_>, _>>()?;
    load_texts(opts, shown, files, texts)
}

/// Loads and validates a spec held in memory, as [`load`] does a file
/// read from `path` (named so in diagnostics; the `.env` beside it is read
/// if there is one, and `opts.files` is ignored). For tests and fuzzing,
/// which feed it arbitrary text.
pub fn load_str(path: &Path, text: &str, opts: &LoadOptions) -> Result<Loaded, Diagnostics> {
    let read = if path.is_absolute() { path.to_path_buf() } else { opts.dir.join(path) };
    load_texts(opts, vec![path.to_path_buf()], vec![read], vec![text.to_string()])
}

/// Reads a spec file, refusing one over [`node::MAX_SPEC_BYTES`] without
/// reading more than that.
fn read_spec(file: &Path, shown: &Path) -> Result<String, Diagnostics> {
    let cannot = |e: &dyn std::fmt::Display| {
        Diagnostics(vec![Diagnostic::error("", format!("cannot read {}: {e}", shown.display())).hint("check the path given with -f")])
    };
    let bytes = read_at_most(file, node::MAX_SPEC_BYTES).map_err(|e| cannot(&e))?;
    if bytes.len() > node::MAX_SPEC_BYTES {
        return Err(Diagnostics(vec![node::too_large(&Arc::new(shown.to_path_buf()), &bytes, node::MAX_SPEC_BYTES)]));
    }
    String::from_utf8(bytes).map_err(|_| cannot(&"stream did not contain valid UTF-8"))
}

/// The first `limit + 1` bytes of a file (one more than allowed tells that
/// it is too large).
fn read_at_most(path: &Path, limit: usize) -> std::io::Result<Vec<u8>> {
    project::read_at_most(path, limit)
}

/// The casts of x-berth's own keys: a value there is read by YAML's rules
/// after interpolation (`${REPLICAS}` may be a number), as before Compose's
/// rules were followed for Compose's keys.
fn x_berth_cast(path: &[Seg]) -> Option<Cast> {
    let in_x_berth = match path {
        [Seg::Key(k), ..] if k == "x-berth" => true,
        [Seg::Key(s), Seg::Key(_), Seg::Key(k), ..] if s == "services" && k == "x-berth" => true,
        _ => false,
    };
    in_x_berth.then_some(Cast::Yaml)
}

/// The steps after reading: the Compose project (interpolate, include,
/// extends, merge, profiles, env_file), then overlay, type, name, validate.
fn load_texts(opts: &LoadOptions, shown: Vec<PathBuf>, files: Vec<PathBuf>, texts: Vec<String>) -> Result<Loaded, Diagnostics> {
    let mut diags = Diagnostics::default();
    let folder = files[0]
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().and_then(|d| d.file_name()).map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let popts = project::Options {
        files: shown.iter().zip(&files).zip(texts).map(|((s, r), text)| SourceFile { shown: s.clone(), read: r.clone(), text }).collect(),
        dir: opts.dir.clone(),
        env_files: opts.env_files.clone(),
        vars: opts.vars.clone(),
        process_env: opts.process_env.clone(),
        fallback_vars: ci_vars(opts, &files[0]),
        required_placeholder: opts.required_placeholder.clone(),
        profiles: opts.profiles.clone(),
        default_name: folder,
        is_secret_key: resolve::looks_secret,
        extension_cast: x_berth_cast,
    };
    let project = project::load(&popts)?;
    diags.extend(project.warnings.clone());
    for (name, pos) in &project.disabled_services {
        diags.push(
            Diagnostic::warning(
                format!("services.{name}"),
                "none of this service's profiles is active: it is not deployed, and its live resources (if any) are left alone",
            )
            .at(Some(pos.clone()))
            .hint("activate it with --compose-profile NAME or COMPOSE_PROFILES=NAME"),
        );
    }
    let vars = project.vars.clone();
    let mut tree = project.tree;

    if let Some(env) = &opts.env {
        apply_environment(&mut tree, env)?;
    }

    // Files that become configs (secrets and configs as files, on ECS).
    crate::files::inline_files(&mut tree, &opts.dir, &mut diags);

    // Before typing: a typed service is a few KiB.
    let services = tree.get("services").and_then(Node::as_map).map_or(0, |m| m.len());
    if services > MAX_SERVICES {
        diags.push(
            Diagnostic::error("services", format!("the spec defines {services} services; berth deploys at most {MAX_SERVICES} in one app"))
                .at(Some(tree.pos_of(&[Seg::Key("services".into())])))
                .hint("ECS's default quota is 5000 services per cluster: split the app into several specs, each deployed as its own app"),
        );
        return Err(diags);
    }
    let spec = deserialize(&tree, &mut diags)?;
    // An environment overlay may name the app of that environment (`prod: { name: shop-prod }`).
    let (name, from_key) = match (&opts.env, tree.get("name").and_then(Node::as_str)) {
        (Some(_), Some(n)) if n != project.name => (n.to_string(), true),
        _ => (project.name.clone(), project.name_from_key),
    };
    let app_name = app_name(&name, from_key, &tree, &mut diags);
    let (mut app, rdiags) = resolve::resolve(&spec, &tree, &app_name, &vars);
    diags.extend(rdiags);
    if let (Some(app), Some(path)) = (app.as_mut(), &opts.images_from) {
        diags.extend(crate::images::apply_images_from(app, &opts.dir.join(path), path));
    }
    sort_by_position(&mut diags, &shown);
    match app {
        Some(app) if !diags.has_errors() => Ok(Loaded {
            app,
            tree,
            files,
            warnings: diags,
            vars,
            disabled_services: project.disabled_services.into_iter().map(|(n, _)| n).collect(),
            disabled_live_names: project.disabled_live_names,
        }),
        _ => Err(diags),
    }
}

/// Variables CI provides, derived: `COMMIT_ID`, the short commit id (first
/// 7 characters of CODEBUILD_RESOLVED_SOURCE_VERSION, else of the git HEAD
/// of the spec's folder). The lowest-priority layer: any other source wins.
fn ci_vars(opts: &LoadOptions, first_file: &Path) -> HashMap<String, String> {
    let full = opts.process_env.get("CODEBUILD_RESOLVED_SOURCE_VERSION").filter(|v| !v.is_empty()).cloned().or_else(|| {
        let dir = first_file.parent().unwrap_or(Path::new("."));
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(["rev-parse", "HEAD"])
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    });
    full.map(|f| [("COMMIT_ID".to_string(), f.chars().take(7).collect())].into()).unwrap_or_default()
}

/// Diagnostics in reading order: by file (in `-f` order), line and column.
fn sort_by_position(diags: &mut Diagnostics, files: &[PathBuf]) {
    diags.0.sort_by_key(|d| match &d.pos {
        Some(p) => (files.iter().position(|f| f == p.file.as_ref()).unwrap_or(files.len()), p.line, p.col),
        None => (0, 0, 0),
    });
}

/// The spec files as shown in messages (as the user named them) and as read.
fn resolve_files(opts: &LoadOptions) -> Result<(Vec<PathBuf>, Vec<PathBuf>), Diagnostics> {
    if !opts.files.is_empty() {
        let read = opts.files.iter().map(|f| if f.is_absolute() { f.clone() } else { opts.dir.join(f) }).collect();
        return Ok((opts.files.clone(), read));
    }
    DEFAULT_FILES.iter().find(|f| opts.dir.join(f).is_file()).map(|f| (vec![PathBuf::from(f)], vec![opts.dir.join(f)])).ok_or_else(|| {
        Diagnostics(vec![Diagnostic::error("", format!("no spec file found in {}", opts.dir.display()))
            .hint(format!("pass one with -f, or create {}", DEFAULT_FILES[0]))])
    })
}

fn apply_environment(tree: &mut Node, env: &str) -> Result<(), Diagnostics> {
    let envs_path = [Seg::Key("x-berth".into()), Seg::Key("environments".into())];
    let overlay = tree.lookup(&envs_path).and_then(|e| e.get(env)).cloned();
    match overlay {
        Some(o) if matches!(o.value, NodeValue::Map(_)) => {
            merge(tree, o);
            Ok(())
        }
        Some(o) => Err(Diagnostics(vec![Diagnostic::error(
            format!("x-berth.environments.{env}"),
            "an environment overlay must be a mapping shaped like a Compose file",
        )
        .at(Some(o.pos))])),
        None => {
            let known: Vec<String> =
                tree.lookup(&envs_path).and_then(Node::as_map).map(|m| m.keys().cloned().collect()).unwrap_or_default();
            let hint = if known.is_empty() {
                "define it under `x-berth.environments`, at the top level of the file (the app's x-berth)".to_string()
            } else {
                format!("known environments: {}", known.join(", "))
            };
            Err(Diagnostics(vec![Diagnostic::error("", format!("--env {env}: no such environment in x-berth.environments")).hint(hint)]))
        }
    }
}

/// Types the tree. Unknown keys are warnings (keys starting with `x-` are
/// extensions and are allowed anywhere, but those under `x-berth` are
/// berth's and checked too); a type error names the key.
fn deserialize(tree: &Node, diags: &mut Diagnostics) -> Result<ComposeFile, Diagnostics> {
    let value = tree.to_yaml();
    let mut unknown: Vec<Vec<Seg>> = Vec::new();
    let mut on_ignored = |path: serde_ignored::Path| unknown.push(ignored_path(&path));
    let ignored = serde_ignored::Deserializer::new(value, &mut on_ignored);
    let result = serde_path_to_error::deserialize::<_, ComposeFile>(ignored);
    for path in unknown {
        // Other tools' extensions are theirs; x-berth is berth's own, so a
        // misspelt key in it is named (it would otherwise change nothing, silently).
        if path.iter().any(|s| matches!(s, Seg::Key(k) if k.starts_with("x-") && k != "x-berth")) {
            continue;
        }
        // A Compose service key berth does not type: validation warns
        // about it with the reason (crate::service_keys).
        if let [Seg::Key(s), Seg::Key(_), Seg::Key(key)] = path.as_slice() {
            if s == "services" && crate::service_keys::get(key).is_some() {
                continue;
            }
        }
        let hint = match crate::suggest::closest_key(&path) {
            Some(k) => format!("did you mean `{k}`? (see `berth schema`)"),
            None => "check the spelling against `berth schema`".to_string(),
        };
        diags.push(Diagnostic::warning(path_string(&path), "unknown key; berth ignores it").at(Some(tree.pos_of(&path))).hint(hint));
    }
    result.map_err(|err| {
        let path: Vec<Seg> = err
            .path()
            .iter()
            .filter_map(|s| match s {
                serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
                serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
                _ => None,
            })
            .collect();
        let message = friendly_type_error(&err.inner().to_string());
        let mut all = diags.clone();
        all.push(
            Diagnostic::error(path_string(&path), message).at(Some(tree.pos_of(&path))).hint("see `berth schema` for the expected shape"),
        );
        all
    })
}

fn ignored_path(path: &serde_ignored::Path) -> Vec<Seg> {
    let mut out = Vec::new();
    fn walk(p: &serde_ignored::Path, out: &mut Vec<Seg>) {
        match p {
            serde_ignored::Path::Root => {}
            serde_ignored::Path::Seq { parent, index } => {
                walk(parent, out);
                out.push(Seg::Index(*index));
            }
            serde_ignored::Path::Map { parent, key } => {
                walk(parent, out);
                out.push(Seg::Key(key.clone()));
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => walk(parent, out),
        }
    }
    walk(path, &mut out);
    out
}

/// serde's messages name Rust types; say what the spec wants instead.
fn friendly_type_error(message: &str) -> String {
    message
        .replace("expected u32", "expected a whole number")
        .replace("expected u16", "expected a port number")
        .replace("expected a string", "expected text")
        .replace("expected a boolean", "expected true or false")
        .replace("expected a sequence", "expected a list")
}

/// The app name: the Compose project name (`name:`, else the first file's
/// folder, normalized as Compose normalizes project names), checked against
/// AWS's naming rules.
fn app_name(name: &str, from_key: bool, tree: &Node, diags: &mut Diagnostics) -> String {
    let name = name.to_string();
    let path = [Seg::Key("name".into())];
    let pos = if from_key { Some(tree.pos_of(&path)) } else { Some(tree.pos.clone()) };
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !valid {
        let shown = if from_key { format!("app name {name:?}") } else { format!("app name {name:?} (from the folder name)") };
        diags.push(
            Diagnostic::error("name", format!("{shown} cannot prefix AWS resource names"))
                .at(pos)
                .hint("set `name:` to 1-64 lowercase letters, digits and hyphens, starting with a letter or digit"),
        );
    }
    name
}

/// Parses `K=V` as given to `--var`.
pub fn parse_var(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("{text:?} is not KEY=VALUE")),
    }
}
