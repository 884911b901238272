//! Merging several `-f` files (and the `--env` overlay) with the Compose rules:
//! mappings merge key by key with the later file winning, sequences are
//! appended, `command`/`entrypoint`/`healthcheck.test` are replaced, and
//! keyed sequences (ports, volumes, secrets, environment, depends_on...)
//! merge by their key so an override replaces instead of duplicating.

use std::collections::HashMap;

use indexmap::IndexMap;

use crate::node::{Entry, Node, NodeValue, Tag};
use crate::ports;

/// How a sequence under a given key merges.
#[derive(Clone, Copy)]
enum SeqRule {
    Append,
    Replace,
    /// Entries with the same key replace earlier ones.
    Unique(fn(&Node) -> Option<String>),
    /// `KEY=VALUE` lists and mappings are the same thing: merge as mappings.
    AsMap(fn(&Node) -> Option<(String, Node)>),
}

/// The rule for the value at `path` (path of keys from the file root).
fn rule_for(path: &[&str]) -> SeqRule {
    match path {
        ["services", _, "command" | "entrypoint"] => SeqRule::Replace,
        ["services", _, "healthcheck", "test"] => SeqRule::Replace,
        ["services", _, "ports"] => SeqRule::Unique(port_key),
        ["services", _, "volumes"] => SeqRule::Unique(volume_key),
        ["services", _, "secrets"] => SeqRule::Unique(secret_key),
        ["services", _, "configs"] => SeqRule::Unique(config_key),
        ["services", _, "env_file"] => SeqRule::Unique(env_file_key),
        ["services", _, "profiles"] => SeqRule::Unique(scalar_key),
        ["services", _, "environment"] | ["services", _, "build", "args"] => SeqRule::AsMap(key_value_entry),
        ["services", _, "labels" | "annotations"] | ["services", _, "deploy" | "build", "labels"] => SeqRule::AsMap(label_entry),
        ["services", _, "depends_on"] => SeqRule::AsMap(depends_on_entry),
        ["services", _, "expose" | "dns" | "cap_add" | "cap_drop"] => SeqRule::Unique(scalar_key),
        _ => SeqRule::Append,
    }
}

/// Merges `over` into `base` (the later file into the earlier). Recursion
/// follows the trees, whose depth the parser bounds ([`crate::node::MAX_DEPTH`]).
pub fn merge(base: &mut Node, over: Node) {
    let mut path = Vec::new();
    merge_at(base, over, &mut path);
}

fn merge_at(base: &mut Node, mut over: Node, path: &mut Vec<String>) {
    let rule = {
        let keys: Vec<&str> = path.iter().map(String::as_str).collect();
        rule_for(&keys)
    };
    // compose-go `mergeBuild`: `build: dir` is `build: {context: dir}`, so it
    // merges with a mapping and keeps the mapping's other keys.
    if matches!(path.as_slice(), [s, _, b] if s == "services" && b == "build") {
        build_as_map(base);
        build_as_map(&mut over);
    }
    let over_value = over.value;
    match (&mut base.value, over_value) {
        (NodeValue::Map(b), NodeValue::Map(o)) => merge_maps(b, o, path),
        (b @ NodeValue::Seq(_), o @ NodeValue::Seq(_))
        | (b @ NodeValue::Map(_), o @ NodeValue::Seq(_))
        | (b @ NodeValue::Seq(_), o @ NodeValue::Map(_))
            if matches!(rule, SeqRule::AsMap(_)) =>
        {
            let SeqRule::AsMap(entry) = rule else { unreachable!() };
            let mut merged = to_map(std::mem::replace(b, NodeValue::Seq(Vec::new())), entry);
            let o = to_map(o, entry);
            merge_maps(&mut merged, o, path);
            *b = NodeValue::Map(merged);
        }
        (NodeValue::Seq(b), NodeValue::Seq(o)) => match rule {
            SeqRule::Replace => *b = o,
            SeqRule::Append | SeqRule::AsMap(_) => b.extend(o),
            SeqRule::Unique(key) => {
                // The first entry of each key, found by index (not by a
                // search per entry, which is quadratic in long lists).
                let mut first: HashMap<String, usize> = HashMap::new();
                for (i, x) in b.iter().enumerate() {
                    if let Some(k) = key(x) {
                        first.entry(k).or_insert(i);
                    }
                }
                for item in o {
                    match key(&item) {
                        Some(k) => match first.get(&k) {
                            Some(&i) => b[i] = item,
                            None => {
                                first.insert(k, b.len());
                                b.push(item);
                            }
                        },
                        None => b.push(item),
                    }
                }
            }
        },
        (b, o) => {
            *b = o;
            base.pos = over.pos;
        }
    }
}

fn merge_maps(base: &mut IndexMap<String, Entry>, over: IndexMap<String, Entry>, path: &mut Vec<String>) {
    for (key, entry) in over {
        match entry.value.tag {
            // Compose Specification, merge: "Reset value": `!reset` removes
            // the value of the files before.
            Tag::Reset => {
                base.shift_remove(&key);
                continue;
            }
            // "Replace value": `!override` replaces instead of merging.
            Tag::Override => {
                match base.get_mut(&key) {
                    Some(existing) => *existing = entry,
                    None => {
                        base.insert(key, entry);
                    }
                }
                continue;
            }
            Tag::None => {}
        }
        match base.get_mut(&key) {
            Some(existing) => {
                path.push(key);
                merge_at(&mut existing.value, entry.value, path);
                path.pop();
            }
            None => {
                base.insert(key, entry);
            }
        }
    }
}

fn to_map(value: NodeValue, entry: fn(&Node) -> Option<(String, Node)>) -> IndexMap<String, Entry> {
    match value {
        NodeValue::Map(m) => m,
        NodeValue::Seq(items) => {
            items.iter().filter_map(|item| entry(item).map(|(k, v)| (k, Entry { key_pos: item.pos.clone(), value: v }))).collect()
        }
        NodeValue::Scalar { .. } => IndexMap::new(),
    }
}

/// `KEY=VALUE` (or a bare `KEY`, meaning unset/null) as a mapping entry.
fn key_value_entry(item: &Node) -> Option<(String, Node)> {
    let text = item.as_str()?;
    Some(match text.split_once('=') {
        Some((k, v)) => (k.to_string(), Node::scalar(v, false, item.pos.clone())),
        None => (text.to_string(), Node::scalar("", true, item.pos.clone())),
    })
}

fn build_as_map(node: &mut Node) {
    if let NodeValue::Scalar { .. } = &node.value {
        let context = std::mem::replace(node, Node::new(NodeValue::Map(IndexMap::new()), node.pos.clone()));
        let pos = context.pos.clone();
        if let Some(m) = node.as_map_mut() {
            m.insert("context".to_string(), Entry { key_pos: pos, value: context });
        }
    }
}

/// A label given as `KEY` alone has the value `""` (compose-go's `Labels`).
fn label_entry(item: &Node) -> Option<(String, Node)> {
    let text = item.as_str()?;
    let (k, v) = text.split_once('=').unwrap_or((text, ""));
    Some((k.to_string(), Node::scalar(v, false, item.pos.clone())))
}

/// `depends_on: [db]` is `depends_on: {db: {condition: service_started}}`.
fn depends_on_entry(item: &Node) -> Option<(String, Node)> {
    let name = item.as_str()?;
    let mut cond = IndexMap::new();
    cond.insert(
        "condition".to_string(),
        Entry { key_pos: item.pos.clone(), value: Node::scalar("service_started", false, item.pos.clone()) },
    );
    Some((name.to_string(), Node::new(NodeValue::Map(cond), item.pos.clone())))
}

fn scalar_key(item: &Node) -> Option<String> {
    item.as_str().map(str::to_string)
}

/// Ports are the same port when target, published port and protocol match.
fn port_key(item: &Node) -> Option<String> {
    let (target, published, protocol) = match &item.value {
        NodeValue::Scalar { text, .. } => {
            let p = ports::parse_short(text).ok()?.into_iter().next()?;
            (p.target.to_string(), p.published.map(|x| x.to_string()).unwrap_or_default(), p.protocol)
        }
        NodeValue::Map(_) => (
            item.get("target")?.as_str()?.to_string(),
            item.get("published").and_then(Node::as_str).unwrap_or_default().to_string(),
            item.get("protocol").and_then(Node::as_str).unwrap_or("tcp").to_string(),
        ),
        NodeValue::Seq(_) => return None,
    };
    Some(format!("{target}|{published}|{protocol}"))
}

/// Volumes are keyed by their mount path inside the container.
fn volume_key(item: &Node) -> Option<String> {
    match &item.value {
        NodeValue::Scalar { text, .. } => {
            let parts: Vec<&str> = text.split(':').collect();
            Some(match parts.len() {
                1 => parts[0].to_string(),
                _ => parts[1].to_string(),
            })
        }
        NodeValue::Map(_) => item.get("target")?.as_str().map(str::to_string),
        NodeValue::Seq(_) => None,
    }
}

/// Secrets and configs are keyed by where they are mounted (compose-go's
/// `mountIndexer`): `target`, else `/run/secrets/<source>` for a secret and
/// `/<source>` for a config.
fn mount_key(item: &Node, default_dir: &str) -> Option<String> {
    match &item.value {
        NodeValue::Scalar { text, .. } => Some(format!("{default_dir}/{text}")),
        NodeValue::Map(_) => match item.get("target").and_then(Node::as_str) {
            Some(t) => Some(t.to_string()),
            None => Some(format!("{default_dir}/{}", item.get("source")?.as_str()?)),
        },
        NodeValue::Seq(_) => None,
    }
}

fn secret_key(item: &Node) -> Option<String> {
    mount_key(item, "/run/secrets")
}

fn config_key(item: &Node) -> Option<String> {
    mount_key(item, "")
}

/// `env_file` entries are keyed by their path.
fn env_file_key(item: &Node) -> Option<String> {
    match &item.value {
        NodeValue::Scalar { text, .. } => Some(text.clone()),
        NodeValue::Map(_) => item.get("path")?.as_str().map(str::to_string),
        NodeValue::Seq(_) => None,
    }
}

/// Uniqueness within one file, as compose-go's `EnforceUnicity` does after
/// loading every file: in a keyed list, a later entry with the key of an
/// earlier one replaces it in its place (`environment: [FOO=a, FOO=b]` is
/// `FOO=b`); `KEY=VALUE` lists become mappings.
pub fn enforce_unique(root: &mut Node) {
    let Some(services) = root.as_map_mut().and_then(|m| m.get_mut("services")).and_then(|e| e.value.as_map_mut()) else { return };
    for (name, svc) in services.iter_mut() {
        let Some(keys) = svc.value.as_map_mut() else { continue };
        let names: Vec<String> = keys.keys().cloned().collect();
        for key in names {
            let path = ["services", name.as_str(), key.as_str()];
            if let Some(e) = keys.get_mut(&key) {
                unique_at(&mut e.value, &path);
            }
            for sub in ["build", "deploy"] {
                if key == sub {
                    if let Some(inner) = keys.get_mut(&key).and_then(|e| e.value.as_map_mut()) {
                        for (k2, e2) in inner.iter_mut() {
                            unique_at(&mut e2.value, &["services", name.as_str(), sub, k2.as_str()]);
                        }
                    }
                }
            }
        }
    }
}

fn unique_at(node: &mut Node, path: &[&str]) {
    match rule_for(path) {
        SeqRule::AsMap(entry) => {
            if let NodeValue::Seq(_) = &node.value {
                let value = std::mem::replace(&mut node.value, NodeValue::Seq(Vec::new()));
                let mut map = IndexMap::new();
                if let NodeValue::Seq(items) = value {
                    for item in items {
                        if let Some((k, v)) = entry(&item) {
                            let key_pos = item.pos.clone();
                            match map.get_mut(&k) {
                                Some(Entry { value, .. }) => *value = v,
                                None => {
                                    map.insert(k, Entry { key_pos, value: v });
                                }
                            }
                        }
                    }
                }
                node.value = NodeValue::Map(map);
            }
        }
        SeqRule::Unique(key) => {
            if let NodeValue::Seq(items) = &mut node.value {
                let mut first: HashMap<String, usize> = HashMap::new();
                let mut out: Vec<Node> = Vec::with_capacity(items.len());
                for item in items.drain(..) {
                    match key(&item) {
                        Some(k) => match first.get(&k) {
                            Some(&i) => out[i] = item,
                            None => {
                                first.insert(k, out.len());
                                out.push(item);
                            }
                        },
                        None => out.push(item),
                    }
                }
                *items = out;
            }
        }
        SeqRule::Append | SeqRule::Replace => {}
    }
}

/// After the last merge: values tagged `!reset` that had nothing to reset
/// are dropped (as compose-go drops them), tags are cleared, and a label's
/// `null` value is `""` (labels are text).
pub fn finish(node: &mut Node, path: &mut Vec<String>) {
    node.tag = Tag::None;
    let is_labels = matches!(
        path.iter().map(String::as_str).collect::<Vec<_>>().as_slice(),
        ["services", _, "labels" | "annotations"] | ["services", _, "deploy" | "build", "labels"]
    );
    match &mut node.value {
        NodeValue::Map(m) => {
            m.retain(|_, e| e.value.tag != Tag::Reset);
            for (k, e) in m.iter_mut() {
                if is_labels {
                    if let NodeValue::Scalar { text, plain } = &mut e.value.value {
                        if *plain && matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL") {
                            text.clear();
                            *plain = false;
                        }
                    }
                }
                path.push(k.clone());
                finish(&mut e.value, path);
                path.pop();
            }
        }
        NodeValue::Seq(items) => {
            items.retain(|n| n.tag != Tag::Reset);
            for item in items.iter_mut() {
                path.push(String::new());
                finish(item, path);
                path.pop();
            }
        }
        NodeValue::Scalar { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::sync::Arc;

    use super::*;
    use crate::node::parse;

    fn merged(files: &[&str]) -> serde_yaml::Value {
        let mut trees =
            files.iter().enumerate().map(|(i, text)| parse(&Arc::new(PathBuf::from(format!("f{i}.yaml"))), text).expect("parses"));
        let mut base = trees.next().expect("one file");
        for t in trees {
            merge(&mut base, t);
        }
        base.to_yaml()
    }

    fn yaml(text: &str) -> serde_yaml::Value {
        serde_yaml::from_str(text).expect("expected value parses")
    }

    /// Every merge rule, one row each: files in `-f` order, expected result.
    #[test]
    fn merge_rules() {
        let cases: &[(&str, &[&str], &str)] = &[
            ("scalars: later wins", &["services: {web: {image: a}}", "services: {web: {image: b}}"], "services: {web: {image: b}}"),
            (
                "mappings merge key by key",
                &["services: {web: {image: a, user: u}}", "services: {web: {image: b}, api: {image: c}}"],
                "services: {web: {image: b, user: u}, api: {image: c}}",
            ),
            (
                "sequences are appended",
                &["services: {web: {image: a, cap_drop: [A]}}", "services: {web: {cap_drop: [B]}}"],
                "services: {web: {image: a, cap_drop: [A, B]}}",
            ),
            (
                "expose appended without duplicates",
                &["services: {web: {expose: [\"80\", \"81\"]}}", "services: {web: {expose: [\"81\", \"82\"]}}"],
                "services: {web: {expose: [\"80\", \"81\", \"82\"]}}",
            ),
            (
                "command is replaced",
                &["services: {web: {command: [a, b]}}", "services: {web: {command: [c]}}"],
                "services: {web: {command: [c]}}",
            ),
            (
                "entrypoint is replaced",
                &["services: {web: {entrypoint: [a]}}", "services: {web: {entrypoint: [b, c]}}"],
                "services: {web: {entrypoint: [b, c]}}",
            ),
            (
                "healthcheck.test is replaced, other healthcheck keys merge",
                &["services: {web: {healthcheck: {test: [CMD, a], interval: 5s}}}", "services: {web: {healthcheck: {test: [CMD, b]}}}"],
                "services: {web: {healthcheck: {test: [CMD, b], interval: 5s}}}",
            ),
            (
                "ports matched on target+published+protocol",
                &[
                    "services: {web: {ports: [\"8080:80\", \"53:53/udp\"]}}",
                    "services: {web: {ports: [\"8080:80\", \"53:53/tcp\", \"9090:90\"]}}",
                ],
                "services: {web: {ports: [\"8080:80\", \"53:53/udp\", \"53:53/tcp\", \"9090:90\"]}}",
            ),
            (
                "long-syntax port replaces the matching short one",
                &["services: {web: {ports: [\"8080:80\"]}}", "services: {web: {ports: [{target: 80, published: \"8080\", mode: host}]}}"],
                "services: {web: {ports: [{target: 80, published: \"8080\", mode: host}]}}",
            ),
            (
                "a different published port is another port",
                &["services: {web: {ports: [\"8080:80\"]}}", "services: {web: {ports: [\"8081:80\"]}}"],
                "services: {web: {ports: [\"8080:80\", \"8081:80\"]}}",
            ),
            (
                "environment list and map merge by key",
                &["services: {web: {environment: [A=1, B=2]}}", "services: {web: {environment: {B: \"3\", C: \"4\"}}}"],
                "services: {web: {environment: {A: \"1\", B: \"3\", C: \"4\"}}}",
            ),
            (
                "depends_on list and map merge by service",
                &[
                    "services: {web: {depends_on: [db]}}",
                    "services: {web: {depends_on: {db: {condition: service_healthy}, cache: {condition: service_started}}}}",
                ],
                "services: {web: {depends_on: {db: {condition: service_healthy}, cache: {condition: service_started}}}}",
            ),
            (
                "volumes keyed by target path",
                &["services: {web: {volumes: [\"a:/data\", \"b:/logs\"]}}", "services: {web: {volumes: [\"c:/data\"]}}"],
                "services: {web: {volumes: [\"c:/data\", \"b:/logs\"]}}",
            ),
            (
                "secrets keyed by mount target (compose-go mountIndexer)",
                &["services: {web: {secrets: [a, {source: b, target: X}]}}", "services: {web: {secrets: [{source: c, target: X}, b]}}"],
                "services: {web: {secrets: [a, {source: c, target: X}, b]}}",
            ),
            (
                "three-file overlay: each file wins over the ones before",
                &[
                    "services: {web: {image: a, environment: {A: \"1\"}, deploy: {replicas: 1}}}",
                    "services: {web: {image: b, environment: {B: \"2\"}}}",
                    "services: {web: {environment: {A: \"3\"}, deploy: {replicas: 3}}}",
                ],
                "services: {web: {image: b, environment: {A: \"3\", B: \"2\"}, deploy: {replicas: 3}}}",
            ),
            (
                "three-file overlay: ports and command",
                &[
                    "services: {web: {command: [a], ports: [\"80\"]}}",
                    "services: {web: {command: [b], ports: [\"81\"]}}",
                    "services: {web: {ports: [\"80\", \"82\"]}}",
                ],
                "services: {web: {command: [b], ports: [\"80\", \"81\", \"82\"]}}",
            ),
            ("a later mapping replaces a scalar", &["x: 1", "x: {y: 2}"], "x: {y: 2}"),
            ("other sequences at top level append", &["x-list: [1]", "x-list: [2]"], "x-list: [1, 2]"),
        ];
        for (name, files, want) in cases {
            assert_eq!(merged(files), yaml(want), "{name}");
        }
    }

    #[test]
    fn merged_positions_come_from_the_file_that_set_the_value() {
        let a = parse(&Arc::new(PathBuf::from("a.yaml")), "services:\n  web:\n    image: a\n").expect("a");
        let b = parse(&Arc::new(PathBuf::from("b.yaml")), "services:\n  web:\n    user: u\n    image: b\n").expect("b");
        let mut base = a;
        merge(&mut base, b);
        let image = base
            .lookup(&[crate::node::Seg::Key("services".into()), crate::node::Seg::Key("web".into()), crate::node::Seg::Key("image".into())])
            .expect("image");
        assert_eq!(image.pos.file.display().to_string(), "b.yaml");
        assert_eq!(image.pos.line, 4);
    }
}
