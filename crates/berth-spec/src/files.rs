//! Secrets and configs as files, where Compose puts them: `/run/secrets/<name>`
//! (or the secret's `target`) and each config's `target`.
//!
//! ECS hands a container a secret only as an environment variable, and
//! mounts volumes, not single files. So a task whose containers need files
//! gets an init container (`berth-init`, not essential): it receives the
//! secrets through the task definition's `secrets` (`valueFrom` the ARN,
//! never a value) and the configs' contents through its environment, writes
//! each to a file on a task-scoped volume (one per target folder), and
//! exits. The service's containers mount those volumes read-only and start
//! after it succeeded (`dependsOn: SUCCESS`).

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value as Any;

use crate::app::{Container, Image, Mount, Volume};
use crate::interpolate::Vars;

/// The init container's default image: busybox 1.36.1 as Docker Hub served
/// it (the multi-platform index digest), so every deploy runs the same bits.
pub const DEFAULT_INIT_IMAGE: &str =
    "docker.io/library/busybox:1.36.1@sha256:73aaf090f3d85aa34ee199857f03fa3a95c8ede2ffd4cc2cdb5b94e566b11662";

/// The init container's name in the task definition.
pub const INIT_CONTAINER: &str = "berth-init";

/// The most bytes one config may hold: its content lives in the task
/// definition, which ECS caps at 64 KiB in all.
pub const MAX_CONFIG_BYTES: usize = 16 * 1024;

/// The most bytes of config content one task may carry.
pub const MAX_TASK_CONFIG_BYTES: usize = 32 * 1024;

/// A file a container gets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileMount {
    /// Where, inside the container (absolute).
    pub path: String,
    pub source: FileSource,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FileSource {
    /// A secret, read by ECS from this ARN when the task starts.
    Secret { arn: String },
    /// A config's content (not secret; it is in the task definition).
    Content { text: String },
}

/// A problem: (key path below the service, message, hint).
pub type Note = (Vec<String>, String, Option<String>);

/// Where Compose mounts a secret: `target` if absolute, else under `/run/secrets`.
pub fn secret_path(source: &str, target: Option<&str>) -> String {
    match target {
        Some(t) if t.starts_with('/') => t.to_string(),
        Some(t) => format!("/run/secrets/{t}"),
        None => format!("/run/secrets/{source}"),
    }
}

/// A service's `configs:` (short: a name, mounted at `/<name>`; long:
/// `{source, target}`) against the top-level `configs:` definitions
/// (`content:`, `environment:`, or `file:`, which the loader has read).
pub fn service_configs(list: Option<&Any>, defs: &IndexMap<String, Option<Any>>, vars: &Vars) -> (Vec<FileMount>, Vec<Note>) {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let Some(list) = list else { return (out, notes) };
    let Some(items) = list.as_array() else {
        notes.push((
            vec!["configs".into()],
            "configs must be a list".into(),
            Some("write `configs: [name]` or `- {source, target}`".into()),
        ));
        return (out, notes);
    };
    for (i, item) in items.iter().enumerate() {
        let key = vec!["configs".to_string(), format!("[{i}]")];
        let (source, target) = match item {
            Any::String(s) => (s.clone(), None),
            Any::Object(m) => match m.get("source").and_then(Any::as_str) {
                Some(s) => (s.to_string(), m.get("target").and_then(Any::as_str).map(str::to_string)),
                None => {
                    notes.push((key, "a config entry needs `source`".into(), None));
                    continue;
                }
            },
            _ => {
                notes.push((key, "a config entry is a name or a mapping with `source`".into(), None));
                continue;
            }
        };
        let path = match target {
            Some(t) if t.starts_with('/') => t,
            Some(t) => format!("/{t}"),
            None => format!("/{source}"),
        };
        let Some(def) = defs.get(&source) else {
            notes.push((key, format!("unknown config {source:?}"), Some("define it under the top-level `configs:`".into())));
            continue;
        };
        let def = def.as_ref().and_then(Any::as_object);
        let text = if let Some(c) = def.and_then(|d| d.get("content")).and_then(Any::as_str) {
            c.to_string()
        } else if let Some(var) = def.and_then(|d| d.get("environment")).and_then(Any::as_str) {
            vars.get(var).unwrap_or_default().to_string()
        } else if def.and_then(|d| d.get("external")).and_then(Any::as_bool) == Some(true) {
            notes.push((
                key,
                format!("config {source:?} is external (a Swarm config), which ECS has no equivalent of"),
                Some("give it `content:` or `file:`".into()),
            ));
            continue;
        } else {
            notes.push((key, format!("config {source:?} has no content, environment or file"), None));
            continue;
        };
        if text.len() > MAX_CONFIG_BYTES {
            notes.push((
                key,
                format!(
                    "config {source:?} holds {} bytes; a config's content lives in the task definition, at most {} KiB",
                    text.len(),
                    MAX_CONFIG_BYTES >> 10
                ),
                Some("bake large files into the image, or put them on EFS".into()),
            ));
            continue;
        }
        out.push(FileMount { path, source: FileSource::Content { text } });
    }
    (out, notes)
}

/// A path the init container's script can write: absolute, below `/`, and
/// free of quotes and line breaks.
fn writable(path: &str) -> bool {
    path.starts_with('/') && path.len() > 1 && !path.ends_with('/') && !path.contains(['\'', '\n', '\0'])
}

/// Adds the init container and its volumes to a task whose containers
/// need files; returns an error message for a file it cannot deliver.
pub fn add_init_container(containers: &mut Vec<Container>, volumes: &mut Vec<Volume>, image: &str) -> Result<(), String> {
    let Some(first) = containers.iter().find(|c| !c.files.is_empty()).cloned() else { return Ok(()) };
    // One task-scoped volume per folder that receives files.
    let mut dirs: Vec<String> = Vec::new();
    let mut script = vec!["set -e".to_string(), "umask 022".to_string()];
    let mut secrets = Vec::new();
    let mut environment = Vec::new();
    let mut config_bytes = 0;
    let mut n = 0;
    // The task's files, by path: containers that mount the same secret
    // share its one copy in the task's volume.
    let mut written: Vec<(String, FileSource)> = Vec::new();
    for c in containers.iter_mut() {
        let mut mine: Vec<String> = Vec::new();
        for f in &c.files {
            if !writable(&f.path) {
                return Err(format!("{} cannot receive a file at {:?}: the path must be absolute, without quotes", c.name, f.path));
            }
            let dir = f.path.rsplit_once('/').map(|(d, _)| if d.is_empty() { "/".to_string() } else { d.to_string() }).unwrap_or_default();
            if dir == "/" {
                return Err(format!("{}: a file at {:?} would need a volume over `/`; give it a target in a folder", c.name, f.path));
            }
            if !dirs.contains(&dir) {
                dirs.push(dir.clone());
            }
            if !mine.contains(&dir) {
                mine.push(dir.clone());
            }
            match written.iter().find(|(p, _)| *p == f.path) {
                Some((_, source)) if *source == f.source => continue,
                Some(_) => return Err(format!("{} and another container of its task put different files at {:?}", c.name, f.path)),
                None => written.push((f.path.clone(), f.source.clone())),
            }
            let var = format!("BERTH_FILE_{n}");
            n += 1;
            match &f.source {
                FileSource::Secret { arn } => secrets.push((var.clone(), arn.clone())),
                FileSource::Content { text } => {
                    config_bytes += text.len();
                    environment.push((var.clone(), text.clone()));
                }
            }
            // Compose's default mode for secrets and configs: 0444.
            script.push(format!("printf '%s' \"${var}\" > '{}'", f.path));
            script.push(format!("chmod 0444 '{}'", f.path));
        }
        for dir in mine {
            let volume = volume_name(&dirs, &dir);
            c.mounts.push(Mount { volume, path: dir, read_only: true });
        }
        if !c.files.is_empty() && !c.depends_on.iter().any(|(d, _)| d == INIT_CONTAINER) {
            c.depends_on.push((INIT_CONTAINER.to_string(), "SUCCESS".to_string()));
        }
    }
    if config_bytes > MAX_TASK_CONFIG_BYTES {
        return Err(format!(
            "the task's configs hold {config_bytes} bytes; their content lives in the task definition, at most {} KiB per task",
            MAX_TASK_CONFIG_BYTES >> 10
        ));
    }
    for dir in &dirs {
        volumes.push(Volume { name: volume_name(&dirs, dir), efs: None, root_directory: None, host_path: None });
    }
    let init = Container {
        name: INIT_CONTAINER.to_string(),
        image: Image::External { reference: image.to_string() },
        build: None,
        essential: false,
        command: Some(vec!["sh".into(), "-c".into(), script.join("\n")]),
        entrypoint: None,
        environment,
        secrets,
        ports: Vec::new(),
        healthcheck: None,
        mounts: dirs.iter().map(|d| Mount { volume: volume_name(&dirs, d), path: d.clone(), read_only: false }).collect(),
        working_dir: None,
        user: None,
        stop_timeout_secs: None,
        init: None,
        read_only: None,
        labels: Vec::new(),
        files: Vec::new(),
        cap_add: Vec::new(),
        cap_drop: Vec::new(),
        system: crate::app::ContainerSystem::default(),
        depends_on: Vec::new(),
        cpu: None,
        memory: None,
        ..first
    };
    containers.push(init);
    Ok(())
}

fn volume_name(dirs: &[String], dir: &str) -> String {
    format!("berth-files-{}", dirs.iter().position(|d| d == dir).unwrap_or(0))
}

use std::path::Path;

use crate::diag::{Diagnostic, Diagnostics};
use crate::node::{Entry, Node, NodeValue};

/// Reads, at load time, the files that become configs: each top-level
/// config's `file:` (relative to the compose file naming it), and each
/// read-only-able bind mount of a small *file* of the repository (not a
/// folder), which ECS cannot mount: it becomes a config at the same target,
/// with a warning. Folders stay bind mounts (and are refused later).
pub fn inline_files(tree: &mut Node, dir: &Path, diags: &mut Diagnostics) {
    let read = |shown: &Path, rel: &str| -> std::io::Result<Option<String>> {
        let p = shown.parent().unwrap_or(Path::new("")).join(rel);
        let full = if p.is_absolute() { p } else { dir.join(p) };
        let meta = std::fs::metadata(&full)?;
        if !meta.is_file() || meta.len() as usize > MAX_CONFIG_BYTES {
            return Ok(None);
        }
        Ok(String::from_utf8(std::fs::read(&full)?).ok())
    };
    // Top-level configs with `file:`.
    if let Some(configs) = tree.as_map_mut().and_then(|m| m.get_mut("configs")).and_then(|e| e.value.as_map_mut()) {
        for (name, def) in configs.iter_mut() {
            let Some(m) = def.value.as_map_mut() else { continue };
            let Some(file) = m.get("file").map(|e| e.value.clone()) else { continue };
            let Some(rel) = file.as_str() else { continue };
            match read(&file.pos.file, rel) {
                Ok(Some(text)) => {
                    m.shift_remove("file");
                    m.insert("content".into(), Entry { key_pos: file.pos.clone(), value: Node::scalar(text, false, file.pos.clone()) });
                }
                Ok(None) => diags.push(
                    Diagnostic::error(
                        format!("configs.{name}.file"),
                        format!("{rel} is not a UTF-8 file of at most {} KiB", MAX_CONFIG_BYTES >> 10),
                    )
                    .at(Some(file.pos.clone()))
                    .hint("a config's content lives in the task definition: bake large files into the image"),
                ),
                Err(e) => diags.push(
                    Diagnostic::error(format!("configs.{name}.file"), format!("cannot read {rel}: {e}"))
                        .at(Some(file.pos.clone()))
                        .hint("the path is relative to the compose file"),
                ),
            }
        }
    }
    // Bind mounts of small files. With `launch_type: ec2` an absolute path
    // is the instance's (a host volume), not a file of this machine.
    let ec2 = tree.get("x-berth").and_then(|x| x.get("launch_type")).and_then(Node::as_str).is_some_and(|l| l.eq_ignore_ascii_case("ec2"));
    let mut new_configs: Vec<(String, Node)> = Vec::new();
    if let Some(services) = tree.as_map_mut().and_then(|m| m.get_mut("services")).and_then(|e| e.value.as_map_mut()) {
        for (svc, entry) in services.iter_mut() {
            let Some(m) = entry.value.as_map_mut() else { continue };
            let Some(NodeValue::Seq(items)) = m.get_mut("volumes").map(|e| &mut e.value.value) else { continue };
            let mut moved: Vec<(Node, String, String)> = Vec::new();
            let mut i = 0;
            items.retain(|item| {
                i += 1;
                let (source, target) = match &item.value {
                    NodeValue::Scalar { text, .. } => {
                        let parts: Vec<&str> = text.split(':').collect();
                        if parts.len() < 2 || !(parts[0].starts_with('.') || parts[0].starts_with('/')) {
                            return true;
                        }
                        (parts[0].to_string(), parts[1].to_string())
                    }
                    NodeValue::Map(_) if item.get("type").and_then(Node::as_str) == Some("bind") => {
                        match (item.get("source").and_then(Node::as_str), item.get("target").and_then(Node::as_str)) {
                            (Some(s), Some(t)) => (s.to_string(), t.to_string()),
                            _ => return true,
                        }
                    }
                    _ => return true,
                };
                if ec2 && source.starts_with('/') {
                    return true;
                }
                match read(&item.pos.file, &source) {
                    Ok(Some(text)) => {
                        let name = format!("berth-bind-{svc}-{}", i - 1);
                        diags.push(
                            Diagnostic::warning(
                                format!("services.{svc}.volumes[{}]", i - 1),
                                format!("bind mount of the file {source:?}: ECS cannot mount host files, so berth delivers it read-only at {target} as a config (a copy read at plan time)"),
                            )
                            .at(Some(item.pos.clone()))
                            .hint("a change to the file is a change to the task definition: plan and apply again"),
                        );
                        new_configs.push((name.clone(), Node::scalar(text, false, item.pos.clone())));
                        moved.push((item.clone(), name, target));
                        false
                    }
                    _ => true,
                }
            });
            if moved.is_empty() {
                continue;
            }
            let pos = moved[0].0.pos.clone();
            let configs = m
                .entry("configs".to_string())
                .or_insert_with(|| Entry { key_pos: pos.clone(), value: Node::new(NodeValue::Seq(Vec::new()), pos.clone()) });
            if let NodeValue::Seq(list) = &mut configs.value.value {
                for (item, name, target) in moved {
                    let mut c = IndexMap::new();
                    c.insert("source".to_string(), Entry { key_pos: item.pos.clone(), value: Node::scalar(name, false, item.pos.clone()) });
                    c.insert(
                        "target".to_string(),
                        Entry { key_pos: item.pos.clone(), value: Node::scalar(target, false, item.pos.clone()) },
                    );
                    list.push(Node::new(NodeValue::Map(c), item.pos.clone()));
                }
            }
        }
    }
    if new_configs.is_empty() {
        return;
    }
    let Some(top) = tree.as_map_mut() else { return };
    let pos = new_configs[0].1.pos.clone();
    let configs = top
        .entry("configs".to_string())
        .or_insert_with(|| Entry { key_pos: pos.clone(), value: Node::new(NodeValue::Map(IndexMap::new()), pos.clone()) });
    if let Some(m) = configs.value.as_map_mut() {
        for (name, content) in new_configs {
            let p = content.pos.clone();
            let mut def = IndexMap::new();
            def.insert("content".to_string(), Entry { key_pos: p.clone(), value: content });
            m.insert(name, Entry { key_pos: p.clone(), value: Node::new(NodeValue::Map(def), p) });
        }
    }
}
