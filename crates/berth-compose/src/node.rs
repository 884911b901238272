//! A YAML document as a tree that remembers where every value came from.
//!
//! serde_yaml parses the document (and reports syntax errors); the event
//! parser of yaml-rust2 supplies what serde_yaml cannot: the position and
//! quoting style of every node. Interpolation, merging and validation all
//! work on this tree, so an error found late still names `file:line:col`.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use indexmap::IndexMap;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use crate::diag::{Diagnostic, Diagnostics, Pos};

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: NodeValue,
    pub pos: Pos,
    /// Compose's merge tags on this value (`!reset`, `!override`).
    pub tag: Tag,
}

/// The YAML tags Compose gives a meaning in merges (Compose Specification,
/// "Merge and override": "Reset value" and "Replace value").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Tag {
    #[default]
    None,
    /// `!reset`: the value of the earlier files is removed.
    Reset,
    /// `!override`: the value replaces the earlier one instead of merging into it.
    Override,
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
    pub fn new(value: NodeValue, pos: Pos) -> Self {
        Node { value, pos, tag: Tag::None }
    }

    pub fn scalar(text: impl Into<String>, plain: bool, pos: Pos) -> Self {
        Node::new(NodeValue::Scalar { text: text.into(), plain }, pos)
    }

    pub fn as_seq(&self) -> Option<&Vec<Node>> {
        match &self.value {
            NodeValue::Seq(s) => Some(s),
            _ => None,
        }
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

    /// Converts to a serde_yaml value for typed deserialization. Recursion
    /// follows the tree, whose depth `parse` bounds ([`MAX_DEPTH`]).
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

/// The most bytes a spec file may hold. Compose files are a few KiB; the
/// limit keeps a generated or hostile file from taking the memory of the
/// machine that loads it.
pub const MAX_SPEC_BYTES: usize = 1 << 20;

/// The deepest lists and mappings may nest in one another, counting the
/// copies aliases make: serde_yaml's own limit, so no pass of berth goes
/// deeper than the parser of record (every recursive walk of the tree,
/// and the drop of it, stays within it).
pub const MAX_DEPTH: usize = 128;

/// The most values (scalars, lists and mappings) a document may hold,
/// counting each alias as the copy it expands to. A large Compose file
/// holds a few thousand.
pub const MAX_NODES: usize = 100_000;

/// The most bytes of text aliases may copy (each alias of an anchored
/// scalar or collection copies all the text in it).
pub const MAX_ALIAS_BYTES: usize = 1 << 20;

/// Parses one YAML document into a positioned tree.
///
/// Three passes, each only on what the one before accepted:
/// 1. a check of the event stream of yaml-rust2 against the limits above
///    (size, nesting, values and alias expansion, counted without copying
///    anything) and of its mapping keys (duplicates, keys that are not plain
///    values, which serde_yaml reports without a useful position);
/// 2. serde_yaml, the parser of record, whose syntax errors read well (it
///    is quadratic in flow nesting and expands aliases into a full value,
///    so it only sees a document within the limits);
/// 3. the position pass, which builds the tree (copying each alias), only
///    for a document serde_yaml accepted.
pub fn parse(file: &Arc<PathBuf>, text: &str) -> Result<Node, Diagnostics> {
    if text.len() > MAX_SPEC_BYTES {
        return Err(Diagnostics(vec![too_large(file, text.as_bytes(), MAX_SPEC_BYTES)]));
    }

    let mut checker = Checker::new(file);
    let checked = drive(file, text, &mut |ev, mark| checker.event(ev, mark));
    match checked {
        Err(Stop::Limit(d)) => return Err(Diagnostics(vec![d])),
        _ if checker.diags.has_errors() => return Err(checker.diags),
        Err(Stop::Syntax(err)) => {
            // yaml-rust2 checked the text up to its error, not beyond: give
            // serde_yaml only that (and the rest of the line, capped) for
            // its wording of the error.
            let end = syntax_prefix_end(text, err.marker().index());
            let diag = serde_error(file, &text[..end]).unwrap_or_else(|| yaml_rust_error(file, &err));
            return Err(Diagnostics(vec![diag]));
        }
        Ok(()) => {}
    }

    if let Some(diag) = serde_error(file, text) {
        return Err(Diagnostics(vec![diag]));
    }

    let mut builder = Builder { file: file.clone(), stack: Vec::new(), anchors: HashMap::new(), root: None };
    match drive(file, text, &mut |ev, mark| {
        builder.on_event(ev, mark);
        Ok(())
    }) {
        Err(Stop::Limit(d)) => return Err(Diagnostics(vec![d])),
        Err(Stop::Syntax(err)) => return Err(Diagnostics(vec![yaml_rust_error(file, &err)])),
        Ok(()) => {}
    }
    Ok(builder.root.unwrap_or_else(|| Node::scalar("", true, Pos { file: file.clone(), line: 1, col: 1 })))
}

/// A file over the size limit, placed where the limit is passed.
pub fn too_large(file: &Arc<PathBuf>, bytes: &[u8], limit: usize) -> Diagnostic {
    Diagnostic::error("", format!("the file is larger than {} MiB, the most berth reads", limit >> 20))
        .at(Some(Pos::at_offset(file, bytes, limit)))
        .hint(
            "a Compose file is a few KiB: check that this is the spec (not a generated or binary file), or split it into several -f files",
        )
}

/// serde_yaml's verdict on `text`: `None` when it accepts it.
fn serde_error(file: &Arc<PathBuf>, text: &str) -> Option<Diagnostic> {
    let err = serde_yaml::from_str::<serde_yaml::Value>(text).err()?;
    let pos = err.location().map(|loc| Pos { file: file.clone(), line: loc.line(), col: loc.column() });
    let message = strip_location(&err.to_string());
    Some(
        Diagnostic::error("", format!("invalid YAML: {message}"))
            .at(Some(pos.unwrap_or(Pos { file: file.clone(), line: 1, col: 1 })))
            .hint("fix the YAML syntax at that place (indentation, quoting, a missing `:`)"),
    )
}

fn yaml_rust_error(file: &Arc<PathBuf>, err: &ScanError) -> Diagnostic {
    Diagnostic::error("", format!("invalid YAML: {}", err.info()))
        .at(Some(mark_pos(file, err.marker())))
        .hint("fix the YAML syntax at that place (indentation, quoting, a missing `:`)")
}

/// Where the text handed to serde_yaml after a yaml-rust2 error ends: the
/// end of the error's line, at most 256 characters past the error.
fn syntax_prefix_end(text: &str, char_index: usize) -> usize {
    let mut chars = text.char_indices().skip(char_index);
    let Some((at, _)) = chars.next() else { return text.len() };
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
    let cap = text[at..].char_indices().nth(256).map_or(text.len(), |(i, _)| at + i);
    line_end.min(cap)
}

/// serde_yaml appends " at line L column C" to its messages; the position is
/// printed separately, so drop it from the text.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

fn mark_pos(file: &Arc<PathBuf>, m: &Marker) -> Pos {
    // yaml-rust2 lines are 1-based, columns 0-based.
    Pos { file: file.clone(), line: m.line(), col: m.col() + 1 }
}

/// Why a pass over the event stream stopped early.
enum Stop {
    /// The document passes a limit (a located error).
    Limit(Diagnostic),
    /// yaml-rust2 found a syntax error.
    Syntax(ScanError),
}

/// Feeds every event of `text` to `on`, stopping at the first error.
fn drive(file: &Arc<PathBuf>, text: &str, on: &mut dyn FnMut(Event, Marker) -> Result<(), Diagnostic>) -> Result<(), Stop> {
    let mut parser = Parser::new_from_str(text);
    loop {
        match parser.next_token() {
            Ok((Event::StreamEnd, _)) => return Ok(()),
            Ok((ev, mark)) => on(ev, mark).map_err(Stop::Limit)?,
            // The scanner's own limit on flow nesting (255 levels of `[`/`{`).
            Err(err) if err.info() == "recursion limit exceeded" => return Err(Stop::Limit(too_deep(mark_pos(file, err.marker())))),
            Err(err) => return Err(Stop::Syntax(err)),
        }
    }
}

fn too_deep(pos: Pos) -> Diagnostic {
    Diagnostic::error("", format!("lists and mappings nest deeper than {MAX_DEPTH} levels here"))
        .at(Some(pos))
        .hint("a Compose file nests a handful of levels: look for an unclosed `[` or `{` before this place")
}

fn excessive_aliasing(pos: Pos, what: String) -> Diagnostic {
    Diagnostic::error("", format!("excessive aliasing: {what}")).at(Some(pos)).hint(
        "each `*alias` is a full copy of its anchor: refer to large anchors fewer times, or share settings with `<<: *defaults` on small mappings",
    )
}

/// How much a value holds: its values, the bytes of its scalars, and how
/// many levels of lists and mappings it nests (0 for a scalar).
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    nodes: usize,
    bytes: usize,
    height: usize,
}

struct Anchored {
    size: Size,
    /// A scalar's text, for an alias used as a mapping key.
    text: Option<String>,
}

/// A list or mapping the checker is inside.
struct Open {
    anchor: usize,
    pos: Pos,
    /// Its own node, its children's sizes, and the height of the highest child.
    size: Size,
    /// For a mapping: the keys seen, and the key waiting for its value.
    keys: Option<Keys>,
}

#[derive(Default)]
struct Keys {
    seen: HashSet<String>,
    pending: Option<(String, Pos)>,
}

/// The first pass: the document's shape against the limits, counted from
/// the events alone (one entry per open collection and per anchor; an
/// alias adds the size of its anchor, it is not copied), and its mapping
/// keys.
struct Checker {
    file: Arc<PathBuf>,
    stack: Vec<Open>,
    anchors: HashMap<usize, Anchored>,
    nodes: usize,
    alias_bytes: usize,
    diags: Diagnostics,
}

impl Checker {
    fn new(file: &Arc<PathBuf>) -> Self {
        Checker { file: file.clone(), stack: Vec::new(), anchors: HashMap::new(), nodes: 0, alias_bytes: 0, diags: Diagnostics::default() }
    }

    fn event(&mut self, ev: Event, mark: Marker) -> Result<(), Diagnostic> {
        let pos = mark_pos(&self.file, &mark);
        match ev {
            Event::Scalar(text, _, anchor, _) => {
                self.count(1, &pos)?;
                let size = Size { nodes: 1, bytes: text.len(), height: 0 };
                self.finish(size, Some(&text), pos);
                if anchor > 0 {
                    self.anchors.insert(anchor, Anchored { size, text: Some(text) });
                }
            }
            Event::Alias(id) => {
                // An anchor still open (an alias inside its own anchor) is
                // an empty value, as in the position pass.
                let (size, text) = match self.anchors.get(&id) {
                    Some(a) => (a.size, a.text.clone()),
                    None => (Size { nodes: 1, bytes: 0, height: 0 }, Some(String::new())),
                };
                self.nodes += size.nodes;
                self.alias_bytes += size.bytes;
                if self.nodes > MAX_NODES {
                    return Err(excessive_aliasing(
                        pos,
                        format!("with the aliases up to here the document holds more than {MAX_NODES} values"),
                    ));
                }
                if self.alias_bytes > MAX_ALIAS_BYTES {
                    return Err(excessive_aliasing(
                        pos,
                        format!("the aliases up to here copy more than {} MiB of text", MAX_ALIAS_BYTES >> 20),
                    ));
                }
                if self.stack.len() + size.height > MAX_DEPTH {
                    return Err(too_deep(pos));
                }
                self.finish(size, text.as_deref(), pos);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if self.stack.len() >= MAX_DEPTH {
                    return Err(too_deep(pos));
                }
                self.count(1, &pos)?;
                let keys = matches!(ev, Event::MappingStart(..)).then(Keys::default);
                self.stack.push(Open { anchor, pos, size: Size { nodes: 1, bytes: 0, height: 0 }, keys });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(open) = self.stack.pop() else { return Ok(()) };
                let size = Size { height: open.size.height + 1, ..open.size };
                self.finish(size, None, open.pos);
                if open.anchor > 0 {
                    self.anchors.insert(open.anchor, Anchored { size, text: None });
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn count(&mut self, n: usize, pos: &Pos) -> Result<(), Diagnostic> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(Diagnostic::error("", format!("the document holds more than {MAX_NODES} values"))
                .at(Some(pos.clone()))
                .hint("a Compose file holds a few thousand at most: check that this is the spec, or split it into several -f files"));
        }
        Ok(())
    }

    /// Adds a finished value to the collection it is in, and checks it as
    /// a mapping key (`text` is a scalar's) or records the key's value.
    fn finish(&mut self, size: Size, text: Option<&str>, pos: Pos) {
        let Some(parent) = self.stack.last_mut() else { return };
        parent.size.nodes += size.nodes;
        parent.size.bytes += size.bytes;
        parent.size.height = parent.size.height.max(size.height);
        let Some(keys) = &mut parent.keys else { return };
        match keys.pending.take() {
            None => {
                let key = match text {
                    Some(t) => t.to_string(),
                    None => {
                        self.diags.push(
                            Diagnostic::error("", "a mapping key must be a plain value, not a list or mapping").at(Some(pos.clone())),
                        );
                        String::new()
                    }
                };
                keys.pending = Some((key, pos));
            }
            Some((key, key_pos)) => {
                if key == "<<" {
                    // Merge keys may repeat.
                } else if keys.seen.contains(&key) {
                    self.diags.push(
                        Diagnostic::error(key, "duplicate key in the same mapping").at(Some(key_pos)).hint("remove one of the two entries"),
                    );
                } else {
                    keys.seen.insert(key);
                }
            }
        }
    }
}

enum Frame {
    Seq { anchor: usize, pos: Pos, tag: Tag, items: Vec<Node> },
    Map { anchor: usize, pos: Pos, tag: Tag, entries: IndexMap<String, Entry>, pending_key: Option<(String, Pos)>, merges: Vec<Node> },
}

/// `!reset` and `!override` (a local tag: handle `!`, suffix the name).
fn merge_tag(tag: Option<&yaml_rust2::parser::Tag>) -> Tag {
    match tag {
        Some(t) if t.handle == "!" && t.suffix == "reset" => Tag::Reset,
        Some(t) if t.handle == "!" && t.suffix == "override" => Tag::Override,
        _ => Tag::None,
    }
}

/// The position pass: builds the tree. It runs on a document the checker
/// and serde_yaml accepted, so its copies of aliases and its nesting are
/// within the limits, and its keys are known to be plain and distinct.
struct Builder {
    file: Arc<PathBuf>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
}

impl Builder {
    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
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
                        _ => String::new(),
                    };
                    *pending_key = Some((key, node.pos));
                }
                Some((key, key_pos)) => {
                    if key == "<<" {
                        merges.push(node);
                    } else if !entries.contains_key(&key) {
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
            other => vec![Node::new(other, source.pos)],
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
        let pos = mark_pos(&self.file, &mark);
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let explicit_str = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let plain = style == TScalarStyle::Plain && !explicit_str;
                let mut node = Node::scalar(text, plain, pos);
                node.tag = merge_tag(tag.as_ref());
                self.remember(anchor, &node);
                self.finish(node);
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().unwrap_or_else(|| Node::scalar("", true, pos));
                self.finish(node);
            }
            Event::SequenceStart(anchor, tag) => {
                self.stack.push(Frame::Seq { anchor, pos, tag: merge_tag(tag.as_ref()), items: Vec::new() })
            }
            Event::MappingStart(anchor, tag) => self.stack.push(Frame::Map {
                anchor,
                pos,
                tag: merge_tag(tag.as_ref()),
                entries: IndexMap::new(),
                pending_key: None,
                merges: Vec::new(),
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else { return };
                let (anchor, node) = match frame {
                    Frame::Seq { anchor, pos, tag, items } => (anchor, Node { value: NodeValue::Seq(items), pos, tag }),
                    Frame::Map { anchor, pos, tag, mut entries, merges, .. } => {
                        apply_merges(&mut entries, merges);
                        (anchor, Node { value: NodeValue::Map(entries), pos, tag })
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

    fn parse_err(text: &str) -> String {
        parse(&Arc::new(PathBuf::from("t.yaml")), text).expect_err("refused").to_string()
    }

    fn laughs(levels: usize) -> String {
        let mut s = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n".to_string();
        for i in 1..levels {
            let (name, prev) = ((b'a' + i as u8) as char, (b'a' + i as u8 - 1) as char);
            let refs = vec![format!("*{prev}"); 9].join(",");
            s.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        s
    }

    #[test]
    fn alias_bombs_are_refused_before_anything_is_copied() {
        let err = parse_err(&laughs(9));
        assert!(err.contains("t.yaml:6:") && err.contains("excessive aliasing"), "{err}");
        // A few levels are fine: 9^4 values.
        assert!(parse(&Arc::new(PathBuf::from("t.yaml")), &laughs(4)).is_ok());
        // Long text copied many times.
        let big = format!("a: &a \"{}\"\nb: [{}]\n", "x".repeat(100_000), vec!["*a"; 50].join(","));
        assert!(parse_err(&big).contains(&format!("copy more than {} MiB of text", MAX_ALIAS_BYTES >> 20)));
    }

    #[test]
    fn nesting_is_bounded_in_flow_block_and_through_aliases() {
        let at_limit = format!("a: {}{}\n", "[".repeat(MAX_DEPTH - 1), "]".repeat(MAX_DEPTH - 1));
        let n = doc(&at_limit);
        assert!(matches!(n.to_yaml(), serde_yaml::Value::Mapping(_)));
        for text in [
            format!("a: {}{}\n", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH)),
            format!("a: {}", "[".repeat(1_000_000)),
            format!("a: {}1{}", "{a: ".repeat(200), "}".repeat(200)),
            (0..300).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect::<String>(),
            (0..300).map(|i| format!("{}-\n", " ".repeat(2 * i))).collect::<String>(),
            format!("x: &x {}{}\ny: {}*x{}\n", "[".repeat(100), "]".repeat(100), "[".repeat(60), "]".repeat(60)),
        ] {
            let err = parse_err(&text);
            assert!(err.contains("nest deeper than 128 levels"), "{err}");
            assert!(err.contains("t.yaml:"), "{err}");
        }
    }

    #[test]
    fn size_and_value_count_are_bounded() {
        let err = parse_err(&format!("a: \"{}\"\n", "x".repeat(MAX_SPEC_BYTES)));
        assert!(err.contains(&format!("larger than {} MiB", MAX_SPEC_BYTES >> 20)) && err.contains("t.yaml:1:"), "{err}");
        let err = parse_err(&format!("a: [{}]\n", "1,".repeat(MAX_NODES)));
        assert!(err.contains("more than 100000 values"), "{err}");
    }

    #[test]
    fn a_syntax_error_before_deep_nesting_is_reported_quickly() {
        let text = format!("a: b: c\nd: {}", "[".repeat(1_000_000));
        let start = std::time::Instant::now();
        let err = parse_err(&text);
        assert!(err.contains("invalid YAML") && err.contains("t.yaml:1:"), "{err}");
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    #[test]
    fn non_scalar_keys_are_errors_with_position() {
        let err = parse_err("a: 1\n? [x]\n: 2\n");
        assert!(err.contains("t.yaml:2:3: a mapping key must be a plain value"), "{err}");
    }
}
