//! `berth plan --all`: one report over the apps of a repository — a table
//! of apps with their change counts, then each app's plan (or its error) —
//! as text, markdown (one pull request comment) or JSON.

use berth_plan::Plan;

use crate::{markdown_within, Style, MARKDOWN_LIMIT};

/// One app (in one environment) of the report.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The app's directory, relative to the repository root.
    pub dir: String,
    pub environment: Option<String>,
    /// Its plan, or why there is none (an invalid spec, an API error).
    pub result: Result<Plan, String>,
}

impl Entry {
    /// `shop` or `shop (prod)`.
    pub fn label(&self) -> String {
        match &self.environment {
            Some(env) => format!("{} ({env})", self.dir),
            None => self.dir.clone(),
        }
    }
}

fn counts(plan: &Plan) -> String {
    let s = &plan.summary;
    format!("{} | {} | {} | {} | {}", s.create, s.update, s.replace, s.delete, s.run)
}

/// The report as a pull request comment, within GitHub's size limit: the
/// table always; each app's plan while it fits (long ones shortened, the
/// rest left out with a note).
pub fn markdown(entries: &[Entry]) -> String {
    let failed = entries.iter().filter(|e| e.result.is_err()).count();
    let changed = entries.iter().filter(|e| e.result.as_ref().is_ok_and(Plan::has_changes)).count();
    let mut out = format!("## berth plan: {} apps, {changed} with changes, {failed} failed\n\n", entries.len());
    out.push_str("| app | environment | create | update | replace | delete | run | status |\n|---|---|---|---|---|---|---|---|\n");
    for e in entries {
        let env = e.environment.as_deref().unwrap_or("—");
        match &e.result {
            Ok(p) => {
                let status = if p.has_changes() { "changes" } else { "no changes" };
                out.push_str(&format!("| `{}` | {env} | {} | {status} |\n", e.dir, counts(p)));
            }
            Err(_) => out.push_str(&format!("| `{}` | {env} | | | | | | **error** |\n", e.dir)),
        }
    }
    out.push('\n');
    // What is left of the comment, shared among the apps still to show.
    let mut left_out = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        let remaining = MARKDOWN_LIMIT.saturating_sub(out.len());
        let share = remaining / (entries.len() - i).max(1);
        let body = match &e.result {
            Ok(p) if !p.has_changes() => continue,
            Ok(p) => markdown_within(p, share.saturating_sub(200)),
            Err(err) => format!("```\n{}\n```\n", crate::redact::text(err)),
        };
        let block = format!("<details><summary><b>{}</b></summary>\n\n{body}\n</details>\n\n", e.label());
        if block.len() > share && out.len() + block.len() > MARKDOWN_LIMIT {
            left_out.push(e.label());
            continue;
        }
        out.push_str(&block);
    }
    if !left_out.is_empty() {
        out.push_str(&format!(
            "_Left out to stay within the comment size limit: {}; run `berth plan --all` for them._\n",
            left_out.join(", ")
        ));
    }
    out
}

/// The report for a terminal: each app's plan or error, then the table.
pub fn human(entries: &[Entry], style: Style) -> String {
    let mut out = String::new();
    for e in entries {
        out.push_str(&format!("=== {} ===\n", e.label()));
        match &e.result {
            Ok(p) => out.push_str(&crate::human(p, style)),
            Err(err) => out.push_str(&format!("error: {}\n", crate::redact::text(err))),
        }
        out.push('\n');
    }
    out.push_str("app\tenvironment\tcreate\tupdate\treplace\tdelete\trun\tstatus\n");
    for e in entries {
        let env = e.environment.as_deref().unwrap_or("-");
        match &e.result {
            Ok(p) => {
                let s = &p.summary;
                let status = if p.has_changes() { "changes" } else { "no changes" };
                out.push_str(&format!("{}\t{env}\t{}\t{}\t{}\t{}\t{}\t{status}\n", e.dir, s.create, s.update, s.replace, s.delete, s.run));
            }
            Err(_) => out.push_str(&format!("{}\t{env}\t\t\t\t\t\terror\n", e.dir)),
        }
    }
    out
}

/// The report as JSON: `{"apps": [{dir, environment, plan | error}]}`, plans masked as in `berth plan --format json`.
pub fn json(entries: &[Entry]) -> String {
    let apps: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| {
            serde_json::json!({
                "dir": e.dir,
                "environment": e.environment,
                "plan": e.result.as_ref().ok().map(crate::redact::redacted),
                "error": e.result.as_ref().err().map(|err| crate::redact::text(err).into_owned()),
            })
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({ "apps": apps })).unwrap_or_default()
}
