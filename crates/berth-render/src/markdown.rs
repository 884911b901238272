//! The plan as markdown for a pull request comment: a summary table, then
//! each resource's diff in a collapsible block, kept under GitHub's comment
//! size limit.

use berth_plan::Plan;

/// GitHub rejects comments over 65,536 characters; stay clear of it.
pub const MARKDOWN_LIMIT: usize = 60_000;

pub fn markdown(plan: &Plan) -> String {
    markdown_within(plan, MARKDOWN_LIMIT)
}

/// [`markdown`] within `limit` characters (a repository report shares one
/// comment among its apps).
pub fn markdown_within(plan: &Plan, limit: usize) -> String {
    let plan = &crate::redact::redacted(plan);
    let mut out = format!("### berth plan: `{}` on `{}`\n\n", plan.app, plan.backend);
    if !plan.has_changes() {
        out.push_str(&format!("**No changes.** {} resources match the spec.\n", plan.summary.unchanged));
        return out;
    }
    out.push_str(&format!("**{}**\n\n", crate::summary_line(plan)));
    out.push_str("| | resource | kind | change |\n|---|---|---|---|\n");
    for c in &plan.changes {
        out.push_str(&format!("| `{}` | `{}` | {} | {} |\n", c.action.symbol(), c.address, c.kind, c.reason.replace('|', "\\|")));
    }
    out.push('\n');
    if !plan.images.is_empty() {
        out.push_str("Images pinned by digest:\n\n");
        for p in &plan.images {
            out.push_str(&format!("- `{}`: `{}` → `{}`\n", p.container, p.from, p.to));
        }
        out.push('\n');
    }
    if !plan.warnings.is_empty() {
        out.push_str(&format!("<details><summary>{} warnings</summary>\n\n", plan.warnings.len()));
        // Warnings may take half the budget; the diffs need the rest.
        let mut left_out = 0;
        for w in &plan.warnings {
            let line = format!("- {}\n", w.trim_start_matches("warning: ").replace('|', "\\|"));
            if out.len() + line.len() > limit / 2 {
                left_out += 1;
                continue;
            }
            out.push_str(&line);
        }
        if left_out > 0 {
            out.push_str(&format!("- _{left_out} more warnings left out; run `berth plan` for all of them._\n"));
        }
        out.push_str("\n</details>\n\n");
    }
    let mut truncated = 0;
    for c in &plan.changes {
        let block = format!(
            "<details><summary><code>{} {}</code> — {}</summary>\n\n```diff\n{}```\n</details>\n\n",
            c.action.symbol(),
            c.address,
            c.action.verb(),
            crate::unified(c)
        );
        if out.len() + block.len() > limit {
            truncated += 1;
            continue;
        }
        out.push_str(&block);
    }
    if truncated > 0 {
        out.push_str(&format!(
            "_{truncated} more diffs left out to stay within the comment size limit; run `berth plan` for the full plan._\n"
        ));
    }
    out
}
