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
        Action::Adopt => "34",
    }
}

pub fn summary_line(plan: &Plan) -> String {
    let s = &plan.summary;
    let run = if s.run > 0 { format!(", {} to run", s.run) } else { String::new() };
    let adopt = if s.adopt > 0 { format!(", {} to adopt", s.adopt) } else { String::new() };
    format!("Plan: {} to create, {} to update, {} to replace, {} to delete{run}{adopt}.", s.create, s.update, s.replace, s.delete)
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
    let adopt = if plan.summary.adopt > 0 { ", & adopt: tag as this app's" } else { "" };
    out.push_str(&format!("(+ create, ~ update, -/+ replace, - delete{run}{adopt})\n\n"));
    for c in &plan.changes {
        let head = format!("{:>3} {}", c.action.symbol(), c.address);
        out.push_str(&format!("{}  ({}) {}\n", paint(style, &format!("1;{}", action_color(c.action)), &head), c.kind, c.reason));
        // What the spec changes on an adopted resource is an update of its own.
        if c.action == Action::Adopt && !c.changed.is_empty() {
            let head = format!("{:>3} {}", Action::Update.symbol(), c.address);
            let line = format!(
                "{}  ({}) then changed: {}\n",
                paint(style, &format!("1;{}", action_color(Action::Update)), &head),
                c.kind,
                c.changed.join(", ")
            );
            out.push_str(&line);
        }
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
    format!("{} {}", rfc3339(e.at_ms), event_text(e))
}

/// The line of an event without its timestamp, sensitive values masked
/// (the in-place status line of a service at a terminal).
pub fn event_text(e: &Event) -> String {
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
        EventKind::MigrationFinished { service, task, exit_code: None } => {
            format!("{service}: before_deploy (task {task}) did not run to its end")
        }
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
        EventKind::VerifyStarted { service, color, test_listener: Some(listener) } => {
            format!("{service}: verifying {color}, served on the test listener {listener}")
        }
        EventKind::VerifyStarted { service, color, test_listener: None } => format!("{service}: verifying {color} (no test listener)"),
        EventKind::VerifyPassed { service, color } => format!("{service}: verification of {color} passed"),
        EventKind::Baking { service, color, seconds_left } => {
            format!("{service}: baking {color} with all traffic, {} left", duration(*seconds_left))
        }
        EventKind::ScalingDown { service, color } => format!("{service}: scaling {color} to 0"),
        EventKind::ScaleIn { service, suspended: true } => format!("{service}: autoscaling scale-in suspended during the deployment"),
        EventKind::ScaleIn { service, suspended: false } => format!("{service}: autoscaling scale-in resumed"),
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
    crate::redact::text(&body).into_owned()
}

/// `10m`, `9m 30s`, `45s`, `1h 5m`.
pub fn duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let parts: Vec<String> = [(h, "h"), (m, "m"), (s, "s")].iter().filter(|(n, _)| *n > 0).map(|(n, unit)| format!("{n}{unit}")).collect();
    if parts.is_empty() {
        "0s".into()
    } else {
        parts.join(" ")
    }
}

/// Event lines in the order they are shown, with timestamps that never go
/// back: an event dated before a line already shown (ECS reports a service
/// event some seconds after it happened, with the time it happened, and
/// services are watched concurrently) is shown at the time of the line
/// above it, its own time in parentheses.
#[derive(Debug, Default)]
pub struct Timeline {
    last_ms: u64,
}

impl Timeline {
    pub fn line(&mut self, e: &Event) -> String {
        if e.at_ms >= self.last_ms {
            self.last_ms = e.at_ms;
            return event_line(e);
        }
        let text = event_text(e);
        let (first, rest) = text.split_once('\n').map_or((text.as_str(), ""), |(a, b)| (a, b));
        let rest = if rest.is_empty() { String::new() } else { format!("\n{rest}") };
        format!("{} {first} (at {}){rest}", rfc3339(self.last_ms), rfc3339(e.at_ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at_ms: u64, message: &str) -> Event {
        Event { at_ms, kind: EventKind::ServiceEvent { service: "a-web".into(), message: message.into() } }
    }

    #[test]
    fn durations() {
        assert_eq!(duration(600), "10m");
        assert_eq!(duration(570), "9m 30s");
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(3900), "1h 5m");
        assert_eq!(duration(0), "0s");
    }

    #[test]
    fn a_late_event_keeps_the_timestamps_in_order() {
        let mut t = Timeline::default();
        assert_eq!(t.line(&event(12_000, "one")), "1970-01-01T00:00:12Z a-web: event: one");
        assert_eq!(t.line(&event(9_000, "late")), "1970-01-01T00:00:12Z a-web: event: late (at 1970-01-01T00:00:09Z)");
        assert_eq!(t.line(&event(13_000, "two")), "1970-01-01T00:00:13Z a-web: event: two");
    }
}
