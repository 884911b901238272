//! Failure diagnostics: when a task stops unexpectedly while berth waits,
//! what it died of — the stopped reason, the exit code of its essential
//! container and the last lines of that container's log — once per
//! distinct failure (a crash loop of ten tasks is reported once).

use std::collections::HashSet;

use berth_provider::{LogFilter, Provider, StoppedTask};

use crate::events::EventKind;

/// Log lines shown of a failed task.
pub const LOG_TAIL_LINES: usize = 20;

/// Whether ECS stopped the task on purpose (a scale-in, a replaced revision)
/// rather than because it failed.
fn expected(t: &StoppedTask) -> bool {
    let r = t.stopped_reason.as_str();
    r.starts_with("Scaling activity") || r.starts_with("Deployment") || r.contains("stopped by user")
}

/// The report on a task that stopped unexpectedly, the first time a failure
/// like it (same revision, reason and exit codes) is seen.
pub async fn task_failure(provider: &dyn Provider, service: &str, t: &StoppedTask, seen: &mut HashSet<String>) -> Option<EventKind> {
    if expected(t) {
        return None;
    }
    let exited = t.containers.iter().find(|c| c.essential && c.exit_code.is_some_and(|x| x != 0)).or_else(|| t.containers.first());
    let codes: Vec<String> = t.containers.iter().map(|c| format!("{}={:?}", c.name, c.exit_code)).collect();
    let signature = format!("{}|{}|{}", t.task_definition, t.stopped_reason, codes.join(","));
    if !seen.insert(signature) {
        return None;
    }
    let log_tail = match exited.and_then(|c| Some((c.log_group.clone()?, c.log_stream.clone()?))) {
        Some((group, stream)) => {
            let filter = LogFilter { group, stream_prefixes: vec![stream], since_ms: None, last: Some(LOG_TAIL_LINES) };
            // Diagnostics are best effort: a failed log read must not hide the failure.
            provider.log_lines(&filter).await.map(|lines| lines.into_iter().map(|l| l.message).collect()).unwrap_or_default()
        }
        None => Vec::new(),
    };
    Some(EventKind::TaskFailed {
        service: service.to_string(),
        task: t.task_id.clone(),
        task_definition: t.task_definition.clone(),
        reason: t.stopped_reason.clone(),
        container: exited.map(|c| c.name.clone()),
        exit_code: exited.and_then(|c| c.exit_code),
        log_tail,
    })
}
