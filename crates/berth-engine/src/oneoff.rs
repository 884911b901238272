//! One-off tasks, followed to the end: start (RunTask), stream the logs of
//! its containers, wait until it stops (or the timeout, or an interrupt,
//! which stop it), and say how its container exited. `berth run` and a
//! plan's `before_deploy` migrations both run through here.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use berth_model::resources::TaskDefinition;
use berth_provider::{LogFilter, LogLine, Provider, ProviderError, RunTaskRequest, TaskStatus};

use crate::diagnose::LOG_TAIL_LINES;

/// Where one container of the task logs (awslogs).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogSource {
    pub container: String,
    pub group: String,
    pub prefix: String,
}

/// The awslogs sources of a task definition's containers.
pub fn log_sources(td: &TaskDefinition) -> Vec<LogSource> {
    td.container_definitions
        .iter()
        .filter_map(|c| {
            let l = c.log_configuration.as_ref().filter(|l| l.log_driver == "awslogs")?;
            Some(LogSource {
                container: c.name.clone(),
                group: l.options.get("awslogs-group")?.clone(),
                prefix: l.options.get("awslogs-stream-prefix").cloned().unwrap_or_default(),
            })
        })
        .collect()
}

/// A one-off task to run and follow.
#[derive(Debug, Clone)]
pub struct OneOff {
    pub request: RunTaskRequest,
    /// The container whose exit code is the task's result.
    pub container: String,
    pub logs: Vec<LogSource>,
    /// How long it may run before berth stops it.
    pub timeout: Duration,
    /// Set (by Ctrl-C) to stop the task.
    pub cancel: Option<Arc<AtomicBool>>,
}

/// How a one-off task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The container ran and exited with this code.
    Exited(i32),
    /// ECS could not start the task, or it stopped before the container ran.
    NotStarted(String),
    /// It ran past the timeout; berth stopped it.
    TimedOut,
    /// Interrupted (Ctrl-C); berth stopped it.
    Interrupted,
}

#[derive(Debug, Clone)]
pub struct Finished {
    pub outcome: Outcome,
    /// The task as last described (`None` when RunTask refused it).
    pub task: Option<TaskStatus>,
    /// The last lines the container wrote, oldest first.
    pub tail: Vec<String>,
}

/// What the caller is told as the task goes.
pub trait Watch {
    fn started(&mut self, task: &TaskStatus);
    fn line(&mut self, line: &LogLine);
}

/// Polls every [`POLL_FIRST`] in the task's first minute (most one-off
/// tasks are short), then every [`POLL_LATER`].
const POLL_FIRST: Duration = Duration::from_secs(2);
const POLL_LATER: Duration = Duration::from_secs(5);
const FIRST_MINUTE_MS: u64 = 60_000;
/// After StopTask, how long berth waits for the task to report STOPPED.
const STOP_GRACE: Duration = Duration::from_secs(90);

/// Log lines shown once each: the ones at the newest instant seen are
/// remembered (a read from that instant returns them again).
struct LogCursor {
    since_ms: Option<u64>,
    boundary: HashSet<(String, String)>,
}

impl LogCursor {
    fn new_lines(&mut self, mut lines: Vec<LogLine>) -> Vec<LogLine> {
        lines.sort_by_key(|l| l.at_ms);
        let mut out = Vec::new();
        for l in lines {
            let key = (l.stream.clone(), l.message.clone());
            match self.since_ms {
                Some(s) if l.at_ms < s => continue,
                Some(s) if l.at_ms == s && self.boundary.contains(&key) => continue,
                Some(s) if l.at_ms == s => {}
                _ => {
                    self.since_ms = Some(l.at_ms);
                    self.boundary.clear();
                }
            }
            self.boundary.insert(key);
            out.push(l);
        }
        out
    }
}

async fn read_logs(provider: &dyn Provider, sources: &[LogSource], task_id: &str, cursor: &mut LogCursor) -> Vec<LogLine> {
    let mut groups: Vec<&str> = sources.iter().map(|s| s.group.as_str()).collect();
    groups.sort_unstable();
    groups.dedup();
    let mut lines = Vec::new();
    for group in groups {
        let streams = sources
            .iter()
            .filter(|s| s.group == group)
            .map(|s| berth_provider::logs::stream_name(&s.prefix, &s.container, task_id))
            .collect();
        let filter = LogFilter { group: group.to_string(), stream_prefixes: streams, since_ms: cursor.since_ms, last: None };
        // Logs are shown best effort: a failed read must not fail the task.
        lines.extend(provider.log_lines(&filter).await.unwrap_or_default());
    }
    cursor.new_lines(lines)
}

/// Runs the task to its end. Errors are the provider's (throttling, access);
/// a task ECS refuses or cannot start is [`Outcome::NotStarted`].
pub async fn run(provider: &dyn Provider, job: &OneOff, watch: &mut dyn Watch) -> Result<Finished, ProviderError> {
    let cluster = job.request.cluster.clone();
    let started = match provider.run_task(&job.request).await {
        Ok(t) => t,
        Err(ProviderError::Invalid(reason)) => return Ok(Finished { outcome: Outcome::NotStarted(reason), task: None, tail: Vec::new() }),
        Err(e) => return Err(e),
    };
    watch.started(&started);
    let task_id = started.id().to_string();
    let begin = provider.now_ms();
    let mut cursor = LogCursor { since_ms: None, boundary: HashSet::new() };
    let mut tail: VecDeque<String> = VecDeque::new();
    let mut stopping: Option<(Outcome, u64)> = None;
    let mut status = started;
    loop {
        let lines = read_logs(provider, &job.logs, &task_id, &mut cursor).await;
        for l in &lines {
            watch.line(l);
            if l.container_and_task().0 != job.container {
                continue;
            }
            tail.push_back(l.message.clone());
            if tail.len() > LOG_TAIL_LINES {
                tail.pop_front();
            }
        }
        if status.stopped() {
            break;
        }
        let now = provider.now_ms();
        let interrupted = job.cancel.as_ref().is_some_and(|c| c.load(Ordering::SeqCst));
        if stopping.is_none() && (interrupted || now.saturating_sub(begin) >= job.timeout.as_millis() as u64) {
            let (outcome, why) = if interrupted {
                (Outcome::Interrupted, "interrupted (berth run was stopped)")
            } else {
                (Outcome::TimedOut, "ran past berth's --timeout")
            };
            provider.stop_task(&cluster, &status.task_arn, why).await?;
            stopping = Some((outcome, now));
        }
        if let Some((_, since)) = &stopping {
            if now.saturating_sub(*since) > STOP_GRACE.as_millis() as u64 {
                break;
            }
        }
        let early = now.saturating_sub(begin) < FIRST_MINUTE_MS;
        provider.sleep(if stopping.is_some() || early { POLL_FIRST } else { POLL_LATER }).await;
        status = provider.describe_task(&cluster, &status.task_arn).await?;
    }
    let tail = tail.into_iter().collect();
    if let Some((outcome, _)) = stopping {
        return Ok(Finished { outcome, task: Some(status), tail });
    }
    let code = status.containers.iter().find(|c| c.name == job.container).and_then(|c| c.exit_code);
    let outcome = match code {
        Some(code) => Outcome::Exited(code),
        None => Outcome::NotStarted(status.stopped_reason.clone().unwrap_or_else(|| "the task stopped before its container ran".into())),
    };
    Ok(Finished { outcome, task: Some(status), tail })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_line_once_across_reads_at_the_same_instant() {
        let line = |at_ms: u64, m: &str| LogLine { at_ms, stream: "p/c/t".into(), message: m.into() };
        let mut c = LogCursor { since_ms: None, boundary: HashSet::new() };
        assert_eq!(c.new_lines(vec![line(1, "a"), line(2, "b")]).len(), 2);
        // A read from instant 2 returns b again, and a new line at 2 and one at 3.
        let again = c.new_lines(vec![line(2, "b"), line(2, "c"), line(3, "d")]);
        assert_eq!(again.iter().map(|l| l.message.as_str()).collect::<Vec<_>>(), vec!["c", "d"]);
    }
}
