//! "Did you mean …?" for an unknown key: the known keys at its place, read
//! from the spec's JSON Schema (the one `berth schema` prints), and the
//! closest of them by edit distance.

use std::sync::OnceLock;

use serde_json::Value;

use crate::node::Seg;

/// The known key closest to the unknown key at `path`, if one is close
/// enough to be a misspelling (at most a third of its letters differ,
/// a swap of two counting as one).
pub(crate) fn closest_key(path: &[Seg]) -> Option<String> {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    let root = SCHEMA.get_or_init(crate::schema);
    let (Seg::Key(unknown), parent) = path.split_last()? else { return None };
    let mut at = resolve(root, root)?;
    for seg in parent {
        at = match seg {
            Seg::Key(k) => {
                at.get("properties").and_then(|p| p.get(k)).or_else(|| at.get("additionalProperties").filter(|a| a.is_object()))?
            }
            Seg::Index(_) => at.get("items")?,
        };
        at = resolve(root, at)?;
    }
    let known = at.get("properties")?.as_object()?;
    let limit = (unknown.chars().count() / 3).max(1);
    known.keys().map(|k| (strsim::osa_distance(unknown, k), k)).filter(|(d, _)| *d <= limit).min().map(|(_, k)| k.clone())
}

/// Follows `$ref`s and optional values (`anyOf` with null) to the object
/// schema a key lives in.
fn resolve<'a>(root: &'a Value, mut s: &'a Value) -> Option<&'a Value> {
    for _ in 0..16 {
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            s = root.pointer(r.strip_prefix('#')?)?;
        } else if let Some(variants) = s.get("anyOf").or_else(|| s.get("oneOf")).and_then(Value::as_array) {
            s = variants.iter().find(|v| v.get("type") != Some(&Value::String("null".into())))?;
        } else {
            return Some(s);
        }
    }
    None
}
