//! berth-render: views over a plan and over apply events. Rendering never
//! computes anything the plan does not hold: the human and markdown forms
//! are derived from the same data as the JSON form.

mod human;
mod markdown;
pub mod redact;
pub mod repo;
pub mod time;

pub use human::{duration, event_line, event_text, human, summary_line, Style, Timeline};
pub use markdown::{markdown, markdown_within, MARKDOWN_LIMIT};

use berth_plan::Plan;

/// The plan as JSON (the versioned format of `Plan::json_schema`), as a
/// view: sensitive values masked (see [`redact`]). Not for saving: a plan
/// to apply is written with [`saved_plan_json`].
pub fn json(plan: &Plan) -> String {
    serde_json::to_string_pretty(&redact::redacted(plan)).unwrap_or_default()
}

/// The plan as `plan -o` saves it: every real value, since apply sends
/// them. The file is as sensitive as the secrets it holds.
pub fn saved_plan_json(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).unwrap_or_default()
}

/// One apply event as one JSON line (`apply --format json`), masked.
pub fn event_json(e: &berth_engine::Event) -> String {
    serde_json::to_value(e).map(|v| redact::value(&v).to_string()).unwrap_or_default()
}

/// Pretty JSON of one side of a change (already redacted), for diffing line by line.
pub(crate) fn pretty(v: Option<&serde_json::Value>) -> String {
    match v {
        Some(v) => {
            let mut s = serde_json::to_string_pretty(&berth_plan::fingerprint::canonical(v)).unwrap_or_default();
            s.push('\n');
            s
        }
        None => String::new(),
    }
}

/// A unified diff of one change's before and after (of a redacted plan), without file headers.
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
