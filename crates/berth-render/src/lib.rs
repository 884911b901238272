//! berth-render: views over a plan and over apply events. Rendering never
//! computes anything the plan does not hold: the human and markdown forms
//! are derived from the same data as the JSON form.

mod human;
mod markdown;
pub mod time;

pub use human::{event_line, human, summary_line, Style};
pub use markdown::{markdown, MARKDOWN_LIMIT};

use berth_plan::Plan;

/// The plan as JSON (the versioned format of `Plan::json_schema`).
pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).unwrap_or_default()
}

/// Replaces sensitive environment values with a short digest, so a changed
/// value still shows as a change without showing the value.
fn mask(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            // A value that looks like a password or key never reaches a terminal, log or PR comment.
            let sensitive =
                m.get("name").and_then(|n| n.as_str()).is_some_and(berth_spec::resolve::looks_secret) && m.contains_key("value");
            if sensitive {
                if let Some(serde_json::Value::String(value)) = m.get("value") {
                    let digest = berth_plan::fingerprint::sha256_hex(&serde_json::Value::String(value.clone()));
                    m.insert("value".into(), serde_json::Value::String(format!("(sensitive, sha256 {})", &digest[..8])));
                }
            }
            m.values_mut().for_each(mask);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(mask),
        _ => {}
    }
}

/// Pretty JSON of one side of a change, for diffing line by line.
pub(crate) fn pretty(v: Option<&serde_json::Value>) -> String {
    match v {
        Some(v) => {
            let mut v = berth_plan::fingerprint::canonical(v);
            mask(&mut v);
            let mut s = serde_json::to_string_pretty(&v).unwrap_or_default();
            s.push('\n');
            s
        }
        None => String::new(),
    }
}

/// A unified diff of one change's before and after, without file headers.
pub(crate) fn unified(change: &berth_plan::Change) -> String {
    let before = pretty(change.before.as_ref());
    let after = pretty(change.after.as_ref());
    let diff = similar::TextDiff::from_lines(&before, &after);
    let mut out = String::new();
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        out.push_str(&hunk.to_string());
    }
    out
}
