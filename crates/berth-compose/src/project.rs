//! Loading a Compose project, stage by stage as compose-go's loader does:
//! variables (environment, `.env` or `--env-file`) → parse each file with
//! positions → interpolate (with Compose's type casts) → `include` →
//! `extends` → uniqueness → merge the files (`!reset`, `!override`) →
//! profiles → services' `env_file`. The result is a [`Project`]: one tree
//! in which every value still knows its `file:line:col`, whichever file
//! (compose file, included or extended file, env file) it came from.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;

use crate::diag::{Diagnostic, Diagnostics, Pos};
use crate::dotenv::{self, Format};
use crate::interpolate::{interpolate, Vars, MAX_DOTENV_BYTES};
use crate::merge::{enforce_unique, finish, merge};
use crate::node::{self, path_string, Entry, Node, NodeValue, Seg};

/// One compose file: as named in messages, as read, and its text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub shown: PathBuf,
    pub read: PathBuf,
    pub text: String,
}

/// How a scalar at some path is typed after interpolation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cast {
    Int,
    Float,
    Bool,
    /// YAML's own resolution of the text (`3` a number, `true` a boolean).
    Yaml,
}

/// What a load needs besides the files.
#[derive(Clone)]
pub struct Options {
    /// The files, in `-f` order (later files override earlier ones).
    pub files: Vec<SourceFile>,
    /// The directory relative names are read from.
    pub dir: PathBuf,
    /// `--env-file` files, in order; empty means the `.env` beside the first file.
    pub env_files: Vec<PathBuf>,
    /// Variables that win over every other source (`--var`).
    pub vars: HashMap<String, String>,
    /// The process environment.
    pub process_env: HashMap<String, String>,
    /// Variables consulted last (derived ones, e.g. from CI).
    pub fallback_vars: HashMap<String, String>,
    /// What an unset required variable (`${X:?}`) becomes instead of an error.
    pub required_placeholder: Option<String>,
    /// `--profile` names (COMPOSE_PROFILES adds to them).
    pub profiles: Vec<String>,
    /// The project name when the files give none (`name:`), e.g. the folder's.
    pub default_name: String,
    /// Keys whose values may be secrets: an unset variable in them is not named.
    pub is_secret_key: fn(&str) -> bool,
    /// Casts of the embedding tool's extension keys (`x-...`), after Compose's own.
    pub extension_cast: fn(&[Seg]) -> Option<Cast>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            files: Vec::new(),
            dir: PathBuf::new(),
            env_files: Vec::new(),
            vars: HashMap::new(),
            process_env: HashMap::new(),
            fallback_vars: HashMap::new(),
            required_placeholder: None,
            profiles: Vec::new(),
            default_name: String::new(),
            is_secret_key: |_| false,
            extension_cast: |_| None,
        }
    }
}

/// A loaded Compose project.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project name (`name:`, else [`Options::default_name`]),
    /// normalized as Compose normalizes project names.
    pub name: String,
    /// Whether the name came from a `name:` key.
    pub name_from_key: bool,
    /// The merged, interpolated, normalized tree.
    pub tree: Node,
    /// The variables it was interpolated with (COMPOSE_PROJECT_NAME included).
    pub vars: Vars,
    /// Services left out because none of their profiles is active, with
    /// where each is defined.
    pub disabled_services: Vec<(String, Pos)>,
    /// The live names their `x-berth.names` give (service, family, target
    /// group), so what they left running is found and left alone too.
    pub disabled_live_names: Vec<String>,
    /// The profiles that were active.
    pub profiles: Vec<String>,
    pub warnings: Diagnostics,
}

/// The most files one project may read through `include` and `extends`.
pub const MAX_FILES: usize = 256;

/// The most bytes all the files of a project may hold together (each file
/// is also bounded by [`node::MAX_SPEC_BYTES`]).
pub const MAX_PROJECT_BYTES: usize = 4 << 20;

/// The longest chain of `extends` (and the deepest nesting of `include`).
pub const MAX_EXTENDS_DEPTH: usize = 32;

/// Compose's normalization of a project name: lowercase, only `a-z0-9_-`,
/// starting with a letter or digit.
pub fn normalize_project_name(name: &str) -> String {
    let s: String =
        name.to_ascii_lowercase().chars().filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_').collect();
    s.trim_start_matches(['-', '_']).to_string()
}

/// The type compose-go casts a value at `path` to (its
/// `interpolateTypeCastMapping`), for strings quoted or interpolated.
pub fn compose_cast(path: &[Seg]) -> Option<Cast> {
    let keys: Vec<&str> = path
        .iter()
        .map(|s| match s {
            Seg::Key(k) => k.as_str(),
            Seg::Index(_) => "[]",
        })
        .collect();
    use Cast::*;
    Some(match keys.as_slice() {
        ["services", _, rest @ ..] => match rest {
            ["cpu_count" | "cpu_period" | "cpu_quota" | "cpu_rt_period" | "cpu_rt_runtime" | "cpu_shares"] => Int,
            ["cpu_percent" | "cpus"] => Float,
            ["init" | "oom_kill_disable" | "privileged" | "read_only" | "stdin_open" | "tty"] => Bool,
            ["oom_score_adj" | "pids_limit" | "scale"] => Int,
            ["depends_on", _, "required" | "restart"] => Bool,
            ["deploy", "replicas"] => Int,
            ["deploy", "update_config" | "rollback_config", "parallelism"] => Int,
            ["deploy", "update_config" | "rollback_config", "max_failure_ratio"] => Float,
            ["deploy", "restart_policy", "max_attempts"] => Int,
            ["deploy", "placement", "max_replicas_per_node"] => Int,
            ["healthcheck", "retries"] => Int,
            ["healthcheck", "disable"] => Bool,
            ["ports", "[]", "target"] => Int,
            ["ulimits", _] | ["ulimits", _, "hard" | "soft"] => Int,
            ["volumes", "[]", "read_only"] | ["volumes", "[]", "volume", "nocopy"] => Bool,
            _ => return None,
        },
        ["networks", _, "external" | "internal" | "attachable" | "enable_ipv4" | "enable_ipv6"] => Bool,
        ["volumes" | "secrets" | "configs", _, "external"] => Bool,
        _ => return None,
    })
}

/// Loads a project. On failure the diagnostics hold at least one error.
pub fn load(opts: &Options) -> Result<Project, Diagnostics> {
    let mut warnings = Diagnostics::default();
    let Some(first) = opts.files.first() else {
        return Err(Diagnostics(vec![Diagnostic::error("", "no compose file given")]));
    };

    // Variables: the environment, then .env (or --env-file), then fallbacks.
    let outer = Vars::new().with_layer(opts.vars.clone()).with_layer(opts.process_env.clone());
    let project_dir = first.read.parent().map(Path::to_path_buf).unwrap_or_default();
    let env_files: Vec<(PathBuf, PathBuf, bool)> = if opts.env_files.is_empty() {
        let shown = first.shown.parent().unwrap_or(Path::new("")).join(".env");
        vec![(shown, project_dir.join(".env"), false)]
    } else {
        opts.env_files.iter().map(|f| (f.clone(), if f.is_absolute() { f.clone() } else { opts.dir.join(f) }, true)).collect()
    };
    let dotenv = read_env_files(&env_files, &outer, &mut warnings)?;
    let dotenv_values: HashMap<String, String> = dotenv.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect();
    let mut vars = outer.clone().with_layer(dotenv_values).with_layer(opts.fallback_vars.clone());
    if let Some(p) = &opts.required_placeholder {
        vars = vars.with_required_placeholder(p.clone());
    }

    // Parse every file, then name the project (COMPOSE_PROJECT_NAME is
    // interpolated like any other variable).
    let mut trees = Vec::new();
    for f in &opts.files {
        trees.push(parse_file(&f.shown, &f.text)?);
    }
    let mut name_from_key = false;
    let mut name = opts.default_name.clone();
    for tree in trees.iter().rev() {
        if let Some(n) = tree.get("name").and_then(Node::as_str) {
            let out = interpolate(n, &vars).map(|o| o.value).unwrap_or_else(|_| n.to_string());
            name = out;
            name_from_key = true;
            break;
        }
    }
    if !name_from_key {
        name = normalize_project_name(&name);
    }
    vars = vars.with_first_layer([("COMPOSE_PROJECT_NAME".to_string(), name.clone())].into());

    let mut cx = Cx {
        opts,
        vars: &vars,
        diags: Diagnostics::default(),
        warned: HashSet::new(),
        files_read: opts.files.len(),
        bytes_read: opts.files.iter().map(|f| f.text.len()).sum(),
        cache: HashMap::new(),
        extends_depth: HashMap::new(),
    };
    let mut merged: Option<Node> = None;
    for (mut tree, f) in trees.into_iter().zip(&opts.files) {
        cx.interpolate(&mut tree);
        if cx.diags.has_errors() {
            break;
        }
        cx.include(&mut tree, &f.shown, &f.read, &mut vec![f.read.clone()]);
        cx.extends(&mut tree, &f.shown, &f.read, &[]);
        enforce_unique(&mut tree);
        match &mut merged {
            None => merged = Some(tree),
            Some(base) => {
                merge(base, tree);
                enforce_unique(base);
            }
        }
    }
    let Some(mut tree) = merged else { return Err(cx.diags) };
    if cx.diags.has_errors() {
        let mut all = warnings;
        all.extend(cx.diags);
        return Err(all);
    }
    finish(&mut tree, &mut Vec::new());

    // Profiles: --profile and COMPOSE_PROFILES.
    let mut profiles: Vec<String> = opts.profiles.clone();
    if let Some(env) = vars.get("COMPOSE_PROFILES") {
        profiles.extend(env.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_string));
    }
    let (disabled_services, disabled_live_names) = cx.apply_profiles(&mut tree, &profiles);
    cx.env_files(&mut tree);

    warnings.extend(cx.diags);
    if warnings.has_errors() {
        return Err(warnings);
    }
    Ok(Project { name, name_from_key, tree, vars, disabled_services, disabled_live_names, profiles, warnings })
}

/// Parses one file, which must be a mapping.
fn parse_file(shown: &Path, text: &str) -> Result<Node, Diagnostics> {
    let tree = node::parse(&Arc::new(shown.to_path_buf()), text)?;
    if !matches!(tree.value, NodeValue::Map(_)) {
        let what = if tree.as_str().is_some_and(str::is_empty) { "the file is empty" } else { "the top level must be a mapping" };
        return Err(Diagnostics(vec![
            Diagnostic::error("", format!("{what}: expected a Compose file with `services:`")).at(Some(tree.pos.clone()))
        ]));
    }
    Ok(tree)
}

/// Reads env files in order; a later file's key wins, and its values may
/// use the keys of the files before. `required` files must exist.
fn read_env_files(
    files: &[(PathBuf, PathBuf, bool)],
    outer: &Vars,
    warnings: &mut Diagnostics,
) -> Result<IndexMap<String, dotenv::EnvEntry>, Diagnostics> {
    let mut all: IndexMap<String, dotenv::EnvEntry> = IndexMap::new();
    for (shown, read, required) in files {
        let Some(text) = read_env_text(shown, read, *required)? else { continue };
        let earlier: HashMap<String, String> = all.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect();
        let parsed = dotenv::parse(&Arc::new(shown.clone()), &text, Format::Dotenv, outer, &earlier).map_err(|d| Diagnostics(vec![d]))?;
        for (name, pos) in parsed.unset {
            warnings.push(
                Diagnostic::warning("", format!("variable {name} is not set; using an empty string"))
                    .at(Some(pos))
                    .hint(format!("export {name}, or define it earlier in the file")),
            );
        }
        all.extend(parsed.entries);
    }
    Ok(all)
}

/// An env file's text: `None` when it is absent and not required.
fn read_env_text(shown: &Path, read: &Path, required: bool) -> Result<Option<String>, Diagnostics> {
    let bytes = match read_at_most(read, MAX_DOTENV_BYTES) {
        Ok(b) => b,
        Err(_) if !required => return Ok(None),
        Err(e) => {
            return Err(Diagnostics(vec![Diagnostic::error("", format!("cannot read env file {}: {e}", shown.display()))
                .hint("check the path given with --env-file")]))
        }
    };
    let file = Arc::new(shown.to_path_buf());
    if bytes.len() > MAX_DOTENV_BYTES {
        return Err(Diagnostics(vec![node::too_large(&file, &bytes, MAX_DOTENV_BYTES)]));
    }
    match String::from_utf8(bytes) {
        Ok(t) => Ok(Some(t)),
        Err(_) => Err(Diagnostics(vec![Diagnostic::error("", "the env file is not UTF-8 text").at(Some(Pos { file, line: 1, col: 1 }))])),
    }
}

/// The first `limit + 1` bytes of a file (one more than allowed tells that
/// it is too large).
pub fn read_at_most(path: &Path, limit: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

struct Cx<'a> {
    opts: &'a Options,
    vars: &'a Vars,
    diags: Diagnostics,
    /// Unset variables already warned about (one warning each).
    warned: HashSet<String>,
    files_read: usize,
    bytes_read: usize,
    /// Files read through `include` and `extends.file`, parsed and interpolated.
    cache: HashMap<PathBuf, Option<Node>>,
    /// How many services each resolved service extends, in a chain.
    extends_depth: HashMap<(PathBuf, String), usize>,
}

impl Cx<'_> {
    fn error(&mut self, key: &[Seg], pos: Pos, message: impl Into<String>, hint: impl Into<String>) {
        self.diags.push(Diagnostic::error(path_string(key), message).at(Some(pos)).hint(hint));
    }

    fn interpolate(&mut self, tree: &mut Node) {
        let mut path = Vec::new();
        self.interpolate_at(tree, &mut path, None);
    }

    /// Interpolates every scalar value (not keys), as Compose does.
    /// Recursion is bounded by the tree's depth ([`node::MAX_DEPTH`]).
    fn interpolate_at(&mut self, node: &mut Node, path: &mut Vec<Seg>, key_pos: Option<&Pos>) {
        match &mut node.value {
            NodeValue::Scalar { text, plain } => {
                let cast = compose_cast(path).or_else(|| (self.opts.extension_cast)(path));
                let written = text.clone();
                let was_plain = *plain;
                if text.contains('$') {
                    let is_secret = self.opts.is_secret_key;
                    let secret = path.iter().any(|s| matches!(s, Seg::Key(k) if is_secret(k)))
                        || text.split_once('=').is_some_and(|(k, _)| is_secret(k));
                    match interpolate(text, self.vars) {
                        Ok(out) => {
                            if secret && !out.unset.is_empty() {
                                self.diags.push(
                                    Diagnostic::warning(path_string(path), "a variable in this secret-looking value is not set; using an empty string")
                                        .at(Some(node.pos.clone()))
                                        .hint("berth does not name it (it may be a piece of the secret): write a literal `$` as `$$`, or set the variable"),
                                );
                            }
                            for name in out.unset.into_iter().filter(|_| !secret) {
                                if self.warned.insert(name.clone()) {
                                    self.diags.push(
                                        Diagnostic::warning(
                                            path_string(path),
                                            format!("variable {name} is not set; using an empty string"),
                                        )
                                        .at(Some(node.pos.clone()))
                                        .hint(format!("pass --var {name}=..., export it, or add it to .env")),
                                    );
                                }
                            }
                            // A substituted value is text: YAML never re-reads it.
                            if out.value != *text {
                                *plain = false;
                            }
                            *text = out.value;
                        }
                        // The error names the key and the place, never the value.
                        Err(e) => {
                            self.diags.push(Diagnostic::error(path_string(path), e.to_string()).at(Some(node.pos.clone())).hint(e.hint()));
                            return;
                        }
                    }
                }
                if cast == Some(Cast::Yaml) {
                    // The embedding tool's own rule: the value reads as it
                    // would have been written (quoted stays text).
                    *plain = was_plain;
                } else if let Some(cast) = cast {
                    if let Err(msg) = apply_cast(cast, text, plain) {
                        // The value is shown only as written in the file
                        // (an interpolated one may come from a secret).
                        let message = if written == *text {
                            format!("invalid type: string {written:?}, {msg}")
                        } else {
                            format!("the interpolated value is not valid here: {msg}")
                        };
                        self.diags.push(
                            Diagnostic::error(path_string(path), message)
                                .at(Some(key_pos.unwrap_or(&node.pos).clone()))
                                .hint("see the Compose Specification for this key's type"),
                        );
                    }
                }
            }
            NodeValue::Seq(items) => {
                for (i, item) in items.iter_mut().enumerate() {
                    path.push(Seg::Index(i));
                    self.interpolate_at(item, path, None);
                    path.pop();
                }
            }
            NodeValue::Map(m) => {
                for (k, e) in m.iter_mut() {
                    path.push(Seg::Key(k.clone()));
                    let Entry { key_pos, value } = e;
                    self.interpolate_at(value, path, Some(key_pos));
                    path.pop();
                }
            }
        }
    }

    /// Reads and parses a file named by `include` or `extends.file`.
    fn read_other(&mut self, key: &[Seg], at: &Pos, shown: &Path, read: &Path) -> Option<Node> {
        // Each file is read once (a hundred services may extend one base file).
        if let Some(cached) = self.cache.get(read) {
            return cached.clone();
        }
        let tree = self.read_uncached(key, at, shown, read);
        self.cache.insert(read.to_path_buf(), tree.clone());
        tree
    }

    fn read_uncached(&mut self, key: &[Seg], at: &Pos, shown: &Path, read: &Path) -> Option<Node> {
        self.files_read += 1;
        if self.files_read > MAX_FILES {
            self.error(
                key,
                at.clone(),
                format!("the project reads more than {MAX_FILES} files"),
                "look for an include or extends that repeats",
            );
            return None;
        }
        let text = match read_at_most(read, node::MAX_SPEC_BYTES) {
            Ok(b) if b.len() > node::MAX_SPEC_BYTES => {
                self.diags.push(node::too_large(&Arc::new(shown.to_path_buf()), &b, node::MAX_SPEC_BYTES));
                return None;
            }
            Ok(b) if self.bytes_read + b.len() > MAX_PROJECT_BYTES => {
                self.error(
                    key,
                    at.clone(),
                    format!("the project's files hold more than {} MiB together, the most berth reads", MAX_PROJECT_BYTES >> 20),
                    "a Compose project is a few files of a few KiB: look for an include or extends of a large or generated file",
                );
                return None;
            }
            Ok(b) => match String::from_utf8(b) {
                Ok(t) => {
                    self.bytes_read += t.len();
                    t
                }
                Err(_) => {
                    self.error(key, at.clone(), format!("{} is not UTF-8 text", shown.display()), "name a Compose file");
                    return None;
                }
            },
            Err(e) => {
                self.error(
                    key,
                    at.clone(),
                    format!("cannot read {}: {e}", shown.display()),
                    "paths are relative to the file that names them",
                );
                return None;
            }
        };
        match parse_file(shown, &text) {
            Ok(mut tree) => {
                self.interpolate(&mut tree);
                self.rebase_builds(&mut tree, shown);
                Some(tree)
            }
            Err(d) => {
                self.diags.extend(d);
                None
            }
        }
    }

    /// A build context is relative to the file that names it (compose-go
    /// resolves it so); the project reads contexts relative to its first
    /// file, so those of a file in another folder get that folder in front.
    fn rebase_builds(&self, tree: &mut Node, shown: &Path) {
        let main = self.opts.files.first().and_then(|f| f.shown.parent()).unwrap_or(Path::new(""));
        let Some(prefix) = shown.parent().and_then(|d| d.strip_prefix(main).ok()).map(Path::to_path_buf) else { return };
        if prefix.as_os_str().is_empty() {
            return;
        }
        let rebase = |ctx: &str| -> Option<String> {
            (!ctx.starts_with('/') && !ctx.contains("://") && !ctx.starts_with("git@"))
                .then(|| relative_to(&prefix.join("x"), ctx).display().to_string())
                .map(|s| if s.is_empty() { ".".to_string() } else { s })
        };
        let Some(services) = tree.as_map_mut().and_then(|m| m.get_mut("services")).and_then(|e| e.value.as_map_mut()) else { return };
        for svc in services.values_mut() {
            let Some(build) = svc.value.as_map_mut().and_then(|m| m.get_mut("build")) else { continue };
            match &mut build.value.value {
                NodeValue::Scalar { text, .. } => {
                    if let Some(r) = rebase(text) {
                        *text = r;
                    }
                }
                NodeValue::Map(m) => {
                    let pos = build.value.pos.clone();
                    let ctx = m.get("context").and_then(|e| e.value.as_str()).unwrap_or(".").to_string();
                    if let Some(r) = rebase(&ctx) {
                        m.insert("context".into(), Entry { key_pos: pos.clone(), value: Node::scalar(r, false, pos) });
                    }
                }
                NodeValue::Seq(_) => {}
            }
        }
    }

    /// Top-level `include` (Compose Specification, "Include"): each entry
    /// (a path, or `{path, project_directory, env_file}`) is loaded as its
    /// own project and its resources are added; a resource it defines that
    /// the including file defines differently is an error.
    fn include(&mut self, tree: &mut Node, shown: &Path, read: &Path, stack: &mut Vec<PathBuf>) {
        let Some(entry) = tree.as_map_mut().and_then(|m| m.shift_remove("include")) else { return };
        let key = vec![Seg::Key("include".into())];
        let items = match entry.value.value {
            NodeValue::Seq(items) => items,
            _ => {
                self.error(&key, entry.key_pos, "include must be a list", "list the files: `include: [other/compose.yaml]`");
                return;
            }
        };
        for (i, item) in items.into_iter().enumerate() {
            let mut key = key.clone();
            key.push(Seg::Index(i));
            let paths: Vec<Node> = match &item.value {
                NodeValue::Scalar { .. } => vec![item.clone()],
                NodeValue::Map(m) => match m.get("path").map(|e| &e.value) {
                    Some(p @ Node { value: NodeValue::Scalar { .. }, .. }) => vec![p.clone()],
                    Some(Node { value: NodeValue::Seq(ps), .. }) => ps.clone(),
                    _ => {
                        self.error(&key, item.pos.clone(), "an include entry needs `path`", "write `- path: other/compose.yaml`");
                        continue;
                    }
                },
                NodeValue::Seq(_) => {
                    self.error(
                        &key,
                        item.pos.clone(),
                        "an include entry is a path or a mapping with `path`",
                        "write `- other/compose.yaml`",
                    );
                    continue;
                }
            };
            let mut included: Option<Node> = None;
            for p in paths {
                let Some(rel) = p.as_str() else { continue };
                let (ishown, iread) = (relative_to(shown, rel), relative_to(read, rel));
                if stack.len() > MAX_EXTENDS_DEPTH {
                    self.error(&key, p.pos.clone(), format!("includes nest deeper than {MAX_EXTENDS_DEPTH} files"), "flatten the includes");
                    continue;
                }
                if stack.contains(&iread) {
                    self.error(
                        &key,
                        p.pos.clone(),
                        format!("include cycle: {} includes itself", ishown.display()),
                        "remove one of the includes",
                    );
                    continue;
                }
                let Some(mut t) = self.read_other(&key, &p.pos, &ishown, &iread) else { continue };
                stack.push(iread.clone());
                self.include(&mut t, &ishown, &iread, stack);
                stack.pop();
                self.extends(&mut t, &ishown, &iread, &[]);
                enforce_unique(&mut t);
                match &mut included {
                    None => included = Some(t),
                    Some(base) => merge(base, t),
                }
            }
            let Some(included) = included else { continue };
            self.import(tree, included, &item.pos);
        }
    }

    /// Adds the included project's resources to `tree`.
    fn import(&mut self, tree: &mut Node, included: Node, at: &Pos) {
        let NodeValue::Map(inc) = included.value else { return };
        let Some(top) = tree.as_map_mut() else { return };
        for (section, entry) in inc {
            if !matches!(section.as_str(), "services" | "volumes" | "networks" | "secrets" | "configs") {
                continue;
            }
            let NodeValue::Map(resources) = entry.value.value else { continue };
            let target = top.entry(section.clone()).or_insert_with(|| Entry {
                key_pos: entry.key_pos.clone(),
                value: Node::new(NodeValue::Map(IndexMap::new()), entry.key_pos.clone()),
            });
            let Some(target) = target.value.as_map_mut() else { continue };
            for (name, res) in resources {
                match target.get(&name) {
                    Some(existing) if existing.value.to_yaml() != res.value.to_yaml() => {
                        let key = [Seg::Key(section.clone()), Seg::Key(name.clone())];
                        self.error(
                            &key,
                            existing.key_pos.clone(),
                            format!("{section}.{name} is also defined, differently, by the file included at {at}"),
                            "rename one of them, or extend the included one with `extends` instead",
                        );
                    }
                    Some(_) => {}
                    None => {
                        target.insert(name, res);
                    }
                }
            }
        }
    }

    /// `extends` (Compose Specification, "Extends"): a service starts from
    /// another one, of the same file or of `file:`, and its own keys merge
    /// over it with the merge rules. `chain` holds the services being
    /// extended (cycles are errors).
    fn extends(&mut self, tree: &mut Node, shown: &Path, read: &Path, chain: &[(PathBuf, String)]) {
        let names: Vec<String> = tree.get("services").and_then(Node::as_map).map(|m| m.keys().cloned().collect()).unwrap_or_default();
        for name in names {
            self.extend_service(tree, &name, shown, read, chain);
        }
    }

    fn extend_service(&mut self, tree: &mut Node, name: &str, shown: &Path, read: &Path, chain: &[(PathBuf, String)]) {
        let key = vec![Seg::Key("services".into()), Seg::Key(name.to_string()), Seg::Key("extends".into())];
        let Some(ext) = tree.lookup(&key).cloned() else { return };
        let (service, file) = match &ext.value {
            NodeValue::Scalar { text, .. } => (text.clone(), None),
            NodeValue::Map(_) => match ext.get("service").and_then(Node::as_str) {
                Some(s) => (s.to_string(), ext.get("file").and_then(Node::as_str).map(str::to_string)),
                None => {
                    self.error(&key, ext.pos.clone(), "extends needs `service`", "write `extends: {service: base, file: base.yaml}`");
                    return;
                }
            },
            NodeValue::Seq(_) => {
                self.error(&key, ext.pos.clone(), "extends is a service name or a mapping", "write `extends: base`");
                return;
            }
        };
        let link = (read.to_path_buf(), name.to_string());
        if chain.len() >= MAX_EXTENDS_DEPTH {
            self.error(
                &key,
                ext.pos.clone(),
                format!("extends chains longer than {MAX_EXTENDS_DEPTH} services"),
                "a service extends one or two others: look for a generated chain",
            );
            return;
        }
        if chain.contains(&link) {
            self.error(&key, ext.pos.clone(), format!("extends cycle: service {name} extends itself"), "break the chain of extends");
            return;
        }
        let mut chain = chain.to_vec();
        chain.push(link);
        // The base service, its own extends applied.
        let base = match &file {
            None => {
                if tree.get("services").and_then(|s| s.get(&service)).is_none() {
                    self.error(
                        &key,
                        ext.pos.clone(),
                        format!("cannot extend service {service}: no such service in this file"),
                        "name a service of this file, or add `file:`",
                    );
                    return;
                }
                self.extend_service(tree, &service, shown, read, &chain);
                tree.get("services").and_then(|s| s.get(&service)).cloned()
            }
            Some(rel) => {
                let (bshown, bread) = (relative_to(shown, rel), relative_to(read, rel));
                let at = ext.get("file").map_or(ext.pos.clone(), |f| f.pos.clone());
                let Some(mut other) = self.read_other(&key, &at, &bshown, &bread) else { return };
                if other.get("services").and_then(|s| s.get(&service)).is_none() {
                    self.error(
                        &key,
                        at,
                        format!("cannot extend service {service}: {} defines no such service", bshown.display()),
                        "name a service of that file",
                    );
                    return;
                }
                self.extend_service(&mut other, &service, &bshown, &bread, &chain);
                other.get("services").and_then(|s| s.get(&service)).cloned()
            }
        };
        let Some(mut base) = base else { return };
        let base_file = match &file {
            None => read.to_path_buf(),
            Some(rel) => relative_to(read, rel),
        };
        let depth = 1 + self.extends_depth.get(&(base_file, service.clone())).copied().unwrap_or(0);
        if depth > MAX_EXTENDS_DEPTH {
            self.error(
                &key,
                ext.pos.clone(),
                format!("extends chains longer than {MAX_EXTENDS_DEPTH} services"),
                "a service extends one or two others: look for a generated chain",
            );
            return;
        }
        self.extends_depth.insert((read.to_path_buf(), name.to_string()), depth);
        if let Some(m) = base.as_map_mut() {
            m.shift_remove("extends");
        }
        let Some(services) = tree.as_map_mut().and_then(|m| m.get_mut("services")).and_then(|e| e.value.as_map_mut()) else { return };
        let Some(entry) = services.get_mut(name) else { return };
        let mut local = entry.value.clone();
        if let Some(m) = local.as_map_mut() {
            m.shift_remove("extends");
        }
        // Merge as two files would: the base, then the service's own keys,
        // both under `services.<name>` so the per-key rules apply.
        let wrap = |svc: Node| {
            let pos = svc.pos.clone();
            let mut inner = IndexMap::new();
            inner.insert(name.to_string(), Entry { key_pos: pos.clone(), value: svc });
            let mut outer = IndexMap::new();
            outer.insert("services".to_string(), Entry { key_pos: pos.clone(), value: Node::new(NodeValue::Map(inner), pos.clone()) });
            Node::new(NodeValue::Map(outer), pos)
        };
        let pos = local.pos.clone();
        let mut merged = wrap(base);
        merge(&mut merged, wrap(local));
        if let Some(mut svc) = merged
            .as_map_mut()
            .and_then(|m| m.shift_remove("services"))
            .and_then(|e| e.value.as_map().and_then(|m| m.get(name)).map(|e| e.value.clone()))
        {
            svc.pos = pos;
            entry.value = svc;
        }
    }

    /// `profiles` (Compose Specification, "Profiles"): a service with
    /// profiles is active only when one of them is (`*` activates all);
    /// the others are removed from the project.
    fn apply_profiles(&mut self, tree: &mut Node, active: &[String]) -> (Vec<(String, Pos)>, Vec<String>) {
        let all = active.iter().any(|p| p == "*");
        let Some(services) = tree.as_map_mut().and_then(|m| m.get_mut("services")).and_then(|e| e.value.as_map_mut()) else {
            return (Vec::new(), Vec::new());
        };
        let (mut disabled, mut live_names) = (Vec::new(), Vec::new());
        services.retain(|name, e| {
            let Some(ps) = e.value.get("profiles").and_then(Node::as_seq) else { return true };
            let on = ps.is_empty() || all || ps.iter().filter_map(Node::as_str).any(|p| active.iter().any(|a| a == p));
            if !on {
                disabled.push((name.clone(), e.key_pos.clone()));
                if let Some(names) = e.value.get("x-berth").and_then(|x| x.get("names")).and_then(Node::as_map) {
                    live_names.extend(names.values().filter_map(|n| n.value.as_str()).map(str::to_string));
                }
            }
            on
        });
        (disabled, live_names)
    }

    /// Services' `env_file` (Compose Specification, "env_file"): each file,
    /// in order and relative to the compose file naming it, adds variables
    /// to the service's environment; `environment:` wins. Long form:
    /// `{path, required (default true), format (raw)}`.
    fn env_files(&mut self, tree: &mut Node) {
        let Some(services) = tree.as_map_mut().and_then(|m| m.get_mut("services")).and_then(|e| e.value.as_map_mut()) else { return };
        for (name, svc) in services.iter_mut() {
            let Some(m) = svc.value.as_map_mut() else { continue };
            let Some(entry) = m.shift_remove("env_file") else { continue };
            let key = vec![Seg::Key("services".into()), Seg::Key(name.clone()), Seg::Key("env_file".into())];
            let items = match entry.value.value {
                NodeValue::Seq(items) => items,
                v => vec![Node::new(v, entry.value.pos.clone())],
            };
            let mut values: IndexMap<String, dotenv::EnvEntry> = IndexMap::new();
            for (i, item) in items.iter().enumerate() {
                let mut key = key.clone();
                key.push(Seg::Index(i));
                let (path, required, format) = match &item.value {
                    NodeValue::Scalar { text, .. } => (text.clone(), true, Format::Dotenv),
                    NodeValue::Map(_) => {
                        let Some(p) = item.get("path").and_then(Node::as_str) else {
                            self.error(&key, item.pos.clone(), "an env_file entry needs `path`", "write `- path: ./app.env`");
                            continue;
                        };
                        let required = !item.get("required").and_then(Node::as_str).is_some_and(|r| r == "false");
                        let format = match item.get("format").and_then(Node::as_str) {
                            None => Format::Dotenv,
                            Some("raw") => Format::Raw,
                            Some(other) => {
                                self.error(
                                    &key,
                                    item.pos.clone(),
                                    format!("unsupported env_file format {other:?}"),
                                    "leave `format` out, or write `format: raw`",
                                );
                                continue;
                            }
                        };
                        (p.to_string(), required, format)
                    }
                    NodeValue::Seq(_) => {
                        self.error(&key, item.pos.clone(), "an env_file entry is a path or a mapping with `path`", "write `- ./app.env`");
                        continue;
                    }
                };
                let shown = relative_to(&item.pos.file, &path);
                let read = if shown.is_absolute() { shown.clone() } else { self.opts.dir.join(&shown) };
                let text = match read_env_text(&shown, &read, required) {
                    Ok(Some(t)) => t,
                    Ok(None) => continue,
                    Err(_) => {
                        self.error(
                            &key,
                            item.pos.clone(),
                            format!("env file {} not found", shown.display()),
                            "create it, or mark it `required: false` in the long form",
                        );
                        continue;
                    }
                };
                let earlier: HashMap<String, String> = values.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect();
                match dotenv::parse(&Arc::new(shown.clone()), &text, format, self.vars, &earlier) {
                    Ok(parsed) => {
                        for (var, pos) in parsed.unset {
                            if self.warned.insert(var.clone()) {
                                self.diags.push(
                                    Diagnostic::warning(path_string(&key), format!("variable {var} is not set; using an empty string"))
                                        .at(Some(pos))
                                        .hint(format!("pass --var {var}=..., export it, or add it to .env")),
                                );
                            }
                        }
                        for (k, v) in parsed.entries {
                            values.shift_remove(&k);
                            values.insert(k, v);
                        }
                    }
                    Err(d) => self.diags.push(d),
                }
            }
            // The env files' variables first, then `environment:` over them.
            let mut env: IndexMap<String, Entry> = values
                .into_iter()
                .map(|(k, v)| (k, Entry { key_pos: v.pos.clone(), value: Node::scalar(v.value, false, v.pos) }))
                .collect();
            let own = m.shift_remove("environment");
            let env_pos = own.as_ref().map_or(entry.key_pos.clone(), |e| e.key_pos.clone());
            if let Some(own) = own {
                let own_map = match own.value.value {
                    NodeValue::Map(om) => om,
                    NodeValue::Seq(items) => items
                        .into_iter()
                        .filter_map(|item| {
                            let text = item.as_str()?.to_string();
                            Some(match text.split_once('=') {
                                Some((k, v)) => {
                                    (k.to_string(), Entry { key_pos: item.pos.clone(), value: Node::scalar(v, false, item.pos) })
                                }
                                None => (text, Entry { key_pos: item.pos.clone(), value: Node::scalar("", true, item.pos) }),
                            })
                        })
                        .collect(),
                    NodeValue::Scalar { .. } => IndexMap::new(),
                };
                for (k, e) in own_map {
                    env.insert(k, e);
                }
            }
            m.insert("environment".to_string(), Entry { key_pos: env_pos.clone(), value: Node::new(NodeValue::Map(env), env_pos) });
        }
    }
}

/// `rel` relative to the folder of `file` (absolute paths stay).
fn relative_to(file: &Path, rel: &str) -> PathBuf {
    let p = Path::new(rel);
    if p.is_absolute() {
        return p.to_path_buf();
    }
    let dir = file.parent().unwrap_or(Path::new(""));
    let joined = dir.join(p);
    // `./a` reads better as `a`, and `base/../src` as `src`.
    let mut out: Vec<std::path::Component> = Vec::new();
    for c in joined.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if matches!(out.last(), Some(std::path::Component::Normal(_))) => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out.into_iter().collect()
}

/// Converts a scalar's text as compose-go's casts do.
fn apply_cast(cast: Cast, text: &mut String, plain: &mut bool) -> Result<(), String> {
    // A plain scalar YAML already reads as a number or boolean is left to
    // the typing (which may accept or refuse it).
    if *plain && !matches!(node::resolve_plain(text), serde_yaml::Value::String(_)) && cast != Cast::Bool {
        return Ok(());
    }
    let t = text.trim();
    let canon = match cast {
        Cast::Yaml => {
            *plain = true;
            return Ok(());
        }
        Cast::Int => t.parse::<i64>().map(|n| n.to_string()).map_err(|_| "expected a whole number".to_string())?,
        Cast::Float => match t.parse::<f64>() {
            Ok(f) if f.is_finite() => t.to_string(),
            _ => return Err("expected a number".to_string()),
        },
        Cast::Bool => match t.to_ascii_lowercase().as_str() {
            "true" | "y" | "yes" | "on" => "true".to_string(),
            "false" | "n" | "no" | "off" => "false".to_string(),
            _ if *plain && !matches!(node::resolve_plain(text), serde_yaml::Value::String(_)) => return Ok(()),
            _ => return Err("expected a boolean (true or false)".to_string()),
        },
    };
    *text = canon;
    *plain = true;
    Ok(())
}
