//! A YAML document as a tree that remembers where every value came from.
//!
//! serde_yaml parses the document (and reports syntax errors); the event
//! parser of yaml-rust2 supplies what serde_yaml cannot: the position and
//! quoting style of every node. Interpolation, merging and validation all
//! work on this tree, so an error found late still names `file:line:col`.

use std::path::PathBuf;
use std::sync::Arc;

use indexmap::IndexMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use crate::diag::{Diagnostic, Diagnostics, Pos};

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: NodeValue,
    pub pos: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    /// A scalar; `plain` scalars resolve by the YAML 1.2 core schema
    /// (`4` is a number, `"4"` is a string).
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(IndexMap<String, Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key_pos: Pos,
    pub value: Node,
}

/// One step of a path into the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// Renders a path as users write it: `services.web.ports[0]`.
pub fn path_string(path: &[Seg]) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Seg::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

impl Node {
    pub fn scalar(text: impl Into<String>, plain: bool, pos: Pos) -> Self {
        Node { value: NodeValue::Scalar { text: text.into(), plain }, pos }
    }

    pub fn as_map(&self) -> Option<&IndexMap<String, Entry>> {
        match &self.value {
            NodeValue::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_map_mut(&mut self) -> Option<&mut IndexMap<String, Entry>> {
        match &mut self.value {
            NodeValue::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// The child at `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.get(key).map(|e| &e.value)
    }

    /// The node at `path`, or `None` where the tree has no such node.
    pub fn lookup(&self, path: &[Seg]) -> Option<&Node> {
        let mut node = self;
        for seg in path {
            node = match (seg, &node.value) {
                (Seg::Key(k), NodeValue::Map(m)) => &m.get(k)?.value,
                (Seg::Index(i), NodeValue::Seq(s)) => s.get(*i)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The best position for a diagnostic about `path`: the key of the
    /// deepest existing mapping entry on the path (that is the line a user
    /// looks for), or the deepest existing node.
    pub fn pos_of(&self, path: &[Seg]) -> Pos {
        let mut node = self;
        let mut best = self.pos.clone();
        for seg in path {
            match (seg, &node.value) {
                (Seg::Key(k), NodeValue::Map(m)) => match m.get(k) {
                    Some(e) => {
                        best = e.key_pos.clone();
                        node = &e.value;
                    }
                    None => break,
                },
                (Seg::Index(i), NodeValue::Seq(s)) => match s.get(*i) {
                    Some(n) => {
                        best = n.pos.clone();
                        node = n;
                    }
                    None => break,
                },
                _ => break,
            }
        }
        best
    }

    /// Converts to a serde_yaml value for typed deserialization.
    pub fn to_yaml(&self) -> serde_yaml::Value {
        match &self.value {
            NodeValue::Scalar { text, plain } => {
                if *plain {
                    resolve_plain(text)
                } else {
                    serde_yaml::Value::String(text.clone())
                }
            }
            NodeValue::Seq(items) => serde_yaml::Value::Sequence(items.iter().map(Node::to_yaml).collect()),
            NodeValue::Map(m) => {
                serde_yaml::Value::Mapping(m.iter().map(|(k, e)| (serde_yaml::Value::String(k.clone()), e.value.to_yaml())).collect())
            }
        }
    }
}

/// The YAML 1.2 core schema for a plain scalar.
pub fn resolve_plain(text: &str) -> serde_yaml::Value {
    use serde_yaml::Value;
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Value::Number(f64::INFINITY.into()),
        "-.inf" | "-.Inf" | "-.INF" => return Value::Number(f64::NEG_INFINITY.into()),
        ".nan" | ".NaN" | ".NAN" => return Value::Number(f64::NAN.into()),
        _ => {}
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(n) = u64::from_str_radix(hex, 16) {
            return Value::Number(n.into());
        }
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(n) = u64::from_str_radix(oct, 8) {
            return Value::Number(n.into());
        }
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = text.parse::<i64>() {
            return Value::Number(n.into());
        }
        if let Ok(n) = text.parse::<u64>() {
            return Value::Number(n.into());
        }
    }
    if is_core_float(digits) {
        if let Ok(f) = text.parse::<f64>() {
            return Value::Number(f.into());
        }
    }
    Value::String(text.to_string())
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?` without the sign.
fn is_core_float(s: &str) -> bool {
    let (mantissa, exp) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (int.bytes().all(|b| b.is_ascii_digit()) && frac.bytes().all(|b| b.is_ascii_digit())) && !(int.is_empty() && frac.is_empty())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exp_ok = match exp {
        None => true,
        Some(e) => {
            let e = e.strip_prefix(['-', '+']).unwrap_or(e);
            !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
        }
    };
    mantissa_ok && exp_ok
}

/// Parses one YAML document into a positioned tree.
pub fn parse(file: &Arc<PathBuf>, text: &str) -> Result<Node, Diagnostics> {
    // serde_yaml first: it is the parser of record and its syntax errors
    // read well. Only a document it accepts goes on to the position pass
    // (which also places the errors serde_yaml reports without a position,
    // such as duplicate keys).
    let syntax = serde_yaml::from_str::<serde_yaml::Value>(text).err().map(|err| {
        let pos = err.location().map(|loc| Pos { file: file.clone(), line: loc.line(), col: loc.column() });
        let message = strip_location(&err.to_string());
        (pos, message)
    });
    let mut builder = Builder { file: file.clone(), stack: Vec::new(), anchors: Vec::new(), root: None, diags: Diagnostics::default() };
    let mut parser = Parser::new_from_str(text);
    let loaded = parser.load(&mut builder, false);
    if builder.diags.has_errors() {
        return Err(builder.diags);
    }
    if let Some((pos, message)) = syntax {
        let pos = pos.unwrap_or(Pos { file: file.clone(), line: 1, col: 1 });
        return Err(Diagnostics(vec![Diagnostic::error("", format!("invalid YAML: {message}"))
            .at(Some(pos))
            .hint("fix the YAML syntax at that place (indentation, quoting, a missing `:`)")]));
    }
    if let Err(err) = loaded {
        let m = err.marker();
        return Err(Diagnostics(vec![Diagnostic::error("", format!("invalid YAML: {}", err.info())).at(Some(builder.pos(m)))]));
    }
    Ok(builder.root.unwrap_or_else(|| Node::scalar("", true, Pos { file: file.clone(), line: 1, col: 1 })))
}

/// serde_yaml appends " at line L column C" to its messages; the position is
/// printed separately, so drop it from the text.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

enum Frame {
    Seq { anchor: usize, pos: Pos, items: Vec<Node> },
    Map { anchor: usize, pos: Pos, entries: IndexMap<String, Entry>, pending_key: Option<(String, Pos)>, merges: Vec<Node> },
}

struct Builder {
    file: Arc<PathBuf>,
    stack: Vec<Frame>,
    anchors: Vec<(usize, Node)>,
    root: Option<Node>,
    diags: Diagnostics,
}

impl Builder {
    fn pos(&self, m: &Marker) -> Pos {
        // yaml-rust2 lines are 1-based, columns 0-based.
        Pos { file: self.file.clone(), line: m.line(), col: m.col() + 1 }
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor > 0 {
            self.anchors.push((anchor, node.clone()));
        }
    }

    /// Hands a finished node to its parent (or makes it the root).
    fn finish(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, pending_key, merges, .. }) => match pending_key.take() {
                None => {
                    let key = match &node.value {
                        NodeValue::Scalar { text, .. } => text.clone(),
                        _ => {
                            self.diags.push(
                                Diagnostic::error("", "a mapping key must be a plain value, not a list or mapping")
                                    .at(Some(node.pos.clone())),
                            );
                            String::new()
                        }
                    };
                    *pending_key = Some((key, node.pos));
                }
                Some((key, key_pos)) => {
                    if key == "<<" {
                        merges.push(node);
                    } else if entries.contains_key(&key) {
                        self.diags.push(
                            Diagnostic::error(key.clone(), "duplicate key in the same mapping")
                                .at(Some(key_pos))
                                .hint("remove one of the two entries"),
                        );
                    } else {
                        entries.insert(key, Entry { key_pos, value: node });
                    }
                }
            },
        }
    }
}

/// YAML merge keys (`<<: *defaults`): keys of the mapping win, then earlier merge sources.
fn apply_merges(entries: &mut IndexMap<String, Entry>, merges: Vec<Node>) {
    for source in merges {
        let sources = match source.value {
            NodeValue::Seq(items) => items,
            other => vec![Node { value: other, pos: source.pos }],
        };
        for src in sources {
            if let NodeValue::Map(m) = src.value {
                for (k, e) in m {
                    entries.entry(k).or_insert(e);
                }
            }
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let pos = self.pos(&mark);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let explicit_str = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let plain = style == TScalarStyle::Plain && !explicit_str;
                let node = Node::scalar(text, plain, pos);
                self.remember(anchor, &node);
                self.finish(node);
            }
            Event::Alias(id) => {
                let node = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == id)
                    .map(|(_, n)| n.clone())
                    .unwrap_or_else(|| Node::scalar("", true, pos));
                self.finish(node);
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq { anchor, pos, items: Vec::new() }),
            Event::MappingStart(anchor, _) => {
                self.stack.push(Frame::Map { anchor, pos, entries: IndexMap::new(), pending_key: None, merges: Vec::new() })
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else { return };
                let (anchor, node) = match frame {
                    Frame::Seq { anchor, pos, items } => (anchor, Node { value: NodeValue::Seq(items), pos }),
                    Frame::Map { anchor, pos, mut entries, merges, .. } => {
                        apply_merges(&mut entries, merges);
                        (anchor, Node { value: NodeValue::Map(entries), pos })
                    }
                };
                self.remember(anchor, &node);
                self.finish(node);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Node {
        parse(&Arc::new(PathBuf::from("t.yaml")), text).expect("parses")
    }

    #[test]
    fn positions_are_one_based_and_point_at_keys() {
        let n = doc("services:\n  web:\n    image: nginx\n    ports:\n      - \"80\"\n");
        let path = [Seg::Key("services".into()), Seg::Key("web".into()), Seg::Key("image".into())];
        let p = n.pos_of(&path);
        assert_eq!((p.line, p.col), (3, 5));
        let port = n.lookup(&[Seg::Key("services".into()), Seg::Key("web".into()), Seg::Key("ports".into()), Seg::Index(0)]).expect("port");
        assert_eq!((port.pos.line, port.pos.col), (5, 9));
        assert_eq!(port.to_yaml(), serde_yaml::Value::String("80".into()));
    }

    #[test]
    fn core_schema_resolution() {
        use serde_yaml::Value;
        assert_eq!(resolve_plain("4"), Value::Number(4.into()));
        assert_eq!(resolve_plain("0.5"), Value::Number(0.5.into()));
        assert_eq!(resolve_plain("22:22"), Value::String("22:22".into()));
        assert_eq!(resolve_plain("yes"), Value::String("yes".into()));
        assert_eq!(resolve_plain("true"), Value::Bool(true));
        assert_eq!(resolve_plain("~"), Value::Null);
        assert_eq!(resolve_plain("1.5G"), Value::String("1.5G".into()));
        assert_eq!(resolve_plain("1e3"), Value::Number(1000.0.into()));
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let n = doc("x-base: &base\n  image: a\n  restart: always\nservices:\n  web:\n    <<: *base\n    image: b\n");
        let web = n.get("services").and_then(|s| s.get("web")).expect("web");
        assert_eq!(web.get("image").and_then(Node::as_str), Some("b"));
        assert_eq!(web.get("restart").and_then(Node::as_str), Some("always"));
    }

    #[test]
    fn duplicate_keys_are_errors_with_position() {
        let err = parse(&Arc::new(PathBuf::from("t.yaml")), "a: 1\nb: 2\na: 3\n").expect_err("dup");
        let text = err.to_string();
        assert!(text.contains("t.yaml:3:1"), "{text}");
    }

    #[test]
    fn syntax_errors_name_the_place() {
        let err = parse(&Arc::new(PathBuf::from("t.yaml")), "services:\n  web:\n    image: [a\n").expect_err("bad");
        let text = err.to_string();
        assert!(text.contains("invalid YAML"), "{text}");
        assert!(text.contains("t.yaml:"), "{text}");
    }
}
