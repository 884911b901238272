//! `berth init` leaves `REPLACE_ME_…` placeholders for what only the user
//! knows (region, subnets, roles): each one left is an error at its key.

use crate::node::{Node, NodeValue, Seg};

/// The marker every placeholder starts with.
pub const MARKER: &str = "REPLACE_ME";

/// Every value (after interpolation) that still holds a placeholder: its
/// path and the placeholder.
pub fn find(tree: &Node) -> Vec<(Vec<Seg>, String)> {
    let mut out = Vec::new();
    walk(tree, &mut Vec::new(), &mut out);
    out
}

fn walk(node: &Node, path: &mut Vec<Seg>, out: &mut Vec<(Vec<Seg>, String)>) {
    match &node.value {
        NodeValue::Scalar { text, .. } => {
            if let Some(at) = text.find(MARKER) {
                let word: String = text[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                out.push((path.clone(), word));
            }
        }
        NodeValue::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Seg::Index(i));
                walk(item, path, out);
                path.pop();
            }
        }
        NodeValue::Map(entries) => {
            for (k, e) in entries {
                // Comments aside, a placeholder in a key is not something init writes.
                path.push(Seg::Key(k.clone()));
                walk(&e.value, path, out);
                path.pop();
            }
        }
    }
}

/// An error for each placeholder left in a loaded spec, at its file, line and key.
pub fn check(loaded: &crate::Loaded) -> crate::Diagnostics {
    let mut out = crate::Diagnostics::default();
    for (path, placeholder) in find(&loaded.tree) {
        let key = crate::node::path_string(&path);
        let d = crate::Diagnostic::error(key, format!("{placeholder} is a placeholder `berth init` left to fill in"))
            .at(Some(loaded.tree.pos_of(&path)))
            .hint("replace it with the real value (the comment beside it says what goes there)");
        out.push(d);
    }
    out
}
