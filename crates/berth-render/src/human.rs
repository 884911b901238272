//! The human plan: per resource, its symbol, address and reason, then a
//! unified diff of canonical JSON; a summary line last. Readable without
//! color; color (when asked for) only tints the symbols and diff lines.

use berth_engine::{Event, EventKind};
use berth_plan::{Action, Plan};

use crate::time::rfc3339;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

fn paint(style: Style, code: &str, text: &str) -> String {
    if style.color {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

fn action_color(a: Action) -> &'static str {
    match a {
        Action::Create => "32",
        Action::Update => "33",
        Action::Replace => "35",
        Action::Delete => "31",
        Action::Run => "36",
    }
}

pub fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    let run = if s.run > 0 { format!(", {} to run", s.run) } else { String::new() };
    format!("Plan: {} to create, {} to update, {} to replace, {} to delete{run}.", s.create, s.update, s.replace, s.delete)
}

pub fn human(plan: &Plan, style: Style) -> String {
    let plan = &crate::redact::redacted(plan);
    let mut out = String::new();
    if !plan.has_changes() {
        out.push_str(&format!(
            "No changes. The live resources of app {} match the spec ({} resources checked).\n",
            plan.app, plan.summary.unchanged
        ));
        return out;
    }
    out.push_str(&format!("berth will make these changes to app {} on backend {}:\n", plan.app, plan.backend));
    let run = if plan.summary.run > 0 { ", > run before any service is updated" } else { "" };
    out.push_str(&format!("(+ create, ~ update, -/+ replace, - delete{run})\n\n"));
    for c in &plan.changes {
        let head = format!("{:>3} {}", c.action.symbol(), c.address);
        out.push_str(&format!("{}  ({}) {}\n", paint(style, &format!("1;{}", action_color(c.action)), &head), c.kind, c.reason));
        for line in crate::unified(c).lines() {
            let tinted = match line.chars().next() {
                Some('+') => paint(style, "32", line),
                Some('-') => paint(style, "31", line),
                Some('@') => paint(style, "36", line),
                _ => line.to_string(),
            };
            out.push_str("      ");
            out.push_str(&tinted);
            out.push('\n');
        }
        out.push('\n');
    }
    if !plan.images.is_empty() {
        out.push_str("Images pinned to the digest their tag points to now:\n");
        for p in &plan.images {
            out.push_str(&format!("  {}: {} → {}\n", p.container, p.from, p.to));
        }
        out.push('\n');
    }
    out.push_str(&summary_line(plan));
    out.push('\n');
    out
}

/// One event as one line (non-TTY output and CloudWatch-friendly logs).
pub fn event_line(e: &Event) -> String {
    let body = match &e.kind {
        EventKind::ChangeStarted { address, action } => format!("{address}: {action} started"),
        EventKind::ChangeDone { address, action } => format!("{address}: {action} done"),
        EventKind::ChangeFailed { address, error } => format!("{address}: FAILED: {error}"),
        EventKind::DeploymentStarted { service, deployment, task_definition } => {
            format!("{service}: deployment {deployment} started ({})", berth_engine::wait::short(task_definition))
        }
        EventKind::Progress { service, running, pending, desired, old_running, targets } => {
            let mut s = format!("{service}: {running}/{desired} running, {pending} pending, {old_running} old");
            if let Some(t) = targets {
                s.push_str(&format!("; targets {} healthy, {} unhealthy, {} other", t.healthy, t.unhealthy, t.other));
            }
            s
        }
        EventKind::ServiceEvent { service, message } => format!("{service}: event: {message}"),
        EventKind::TaskStopped { service, task, reason } => format!("{service}: task {task} stopped: {reason}"),
        EventKind::TaskFailed { service, task, task_definition, reason, container, exit_code, log_tail } => {
            let mut s = format!("{service}: task {task} ({}) failed: {reason}", berth_engine::wait::short(task_definition));
            match (container, exit_code) {
                (Some(c), Some(code)) => s.push_str(&format!("; container {c} exited with code {code}")),
                (Some(c), None) => s.push_str(&format!("; container {c} did not exit")),
                _ => {}
            }
            if log_tail.is_empty() {
                s.push_str("; no log lines");
            } else {
                s.push_str(&format!("; its last {} log lines:", log_tail.len()));
                for line in log_tail {
                    s.push_str(&format!("\n    | {line}"));
                }
            }
            s
        }
        EventKind::MigrationStarted { service, task, command } => {
            format!("{service}: before_deploy started in task {task}: {}", command.join(" "))
        }
        EventKind::TaskLog { service, task, container, message } => format!("{service}/{task} {container}: {message}"),
        EventKind::MigrationFinished { service, task, exit_code: Some(code) } => {
            format!("{service}: before_deploy (task {task}) exited with code {code}")
        }
        EventKind::MigrationFinished { service, task, exit_code: None } => format!("{service}: before_deploy (task {task}) did not run to its end"),
        EventKind::DeploymentCompleted { service, deployment } => format!("{service}: deployment {deployment} completed"),
        EventKind::DeploymentFailed { service, deployment, reason } => format!("{service}: deployment {deployment} FAILED: {reason}"),
        EventKind::RollbackStarted { service, deployment, task_definition } if deployment.is_empty() => {
            format!("{service}: rolling back to {}", berth_engine::wait::short(task_definition))
        }
        EventKind::RollbackStarted { service, deployment, task_definition } => {
            format!("{service}: rolling back to {} (deployment {deployment})", berth_engine::wait::short(task_definition))
        }
        EventKind::RollbackCompleted { service, task_definition } => {
            format!("{service}: rollback completed; running {}", berth_engine::wait::short(task_definition))
        }
        EventKind::Skipped { address, reason } => format!("{address}: skipped: {reason}"),
        EventKind::TrafficShifted { service, weights } => {
            let parts: Vec<String> = weights.iter().map(|w| format!("{} {}%", w.color, w.percent)).collect();
            format!("{service}: traffic {}", parts.join(", "))
        }
        EventKind::ApplyFinished { ok, done, failed, not_done } => {
            format!(
                "apply {}: {} done, {} failed, {} not done",
                if *ok { "finished" } else { "FAILED" },
                done.len(),
                failed.len(),
                not_done.len()
            )
        }
    };
    format!("{} {}", rfc3339(e.at_ms), crate::redact::text(&body))
}
