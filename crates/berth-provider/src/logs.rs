//! Container logs and how a task's containers ended: what `berth logs`
//! reads and what a failed deployment shows of the task that failed.

use serde::{Deserialize, Serialize};

/// How one container of a stopped task ended, and where its log is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerExit {
    pub name: String,
    pub essential: bool,
    /// `None` when the container never ran (or has not exited).
    pub exit_code: Option<i32>,
    /// ECS's reason for the container, when it gives one.
    pub reason: Option<String>,
    /// The awslogs group and stream of the container, when it logs there.
    pub log_group: Option<String>,
    pub log_stream: Option<String>,
}

/// One line a container wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogLine {
    /// Milliseconds since the epoch (virtual on the sim).
    pub at_ms: u64,
    /// The stream (`<prefix>/<container>/<task id>`).
    pub stream: String,
    pub message: String,
}

impl LogLine {
    /// `(container, task id)` from an awslogs stream name.
    pub fn container_and_task(&self) -> (&str, &str) {
        parse_stream(&self.stream)
    }
}

/// `<prefix>/<container>/<task id>` → `(container, task id)`.
pub fn parse_stream(stream: &str) -> (&str, &str) {
    let mut parts = stream.rsplitn(3, '/');
    let task = parts.next().unwrap_or_default();
    let container = parts.next().unwrap_or_default();
    (container, task)
}

/// The awslogs stream of a container of a task: `<prefix>/<container>/<task id>`.
pub fn stream_name(prefix: &str, container: &str, task_id: &str) -> String {
    format!("{prefix}/{container}/{task_id}")
}

/// Which lines to read from one log group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    pub group: String,
    /// Streams whose names start with one of these (empty: every stream).
    pub stream_prefixes: Vec<String>,
    /// Lines at or after this instant.
    pub since_ms: Option<u64>,
    /// At most this many lines, the newest ones (`None`: all).
    pub last: Option<usize>,
}

impl LogFilter {
    pub fn matches(&self, line: &LogLine) -> bool {
        self.since_ms.is_none_or(|s| line.at_ms >= s)
            && (self.stream_prefixes.is_empty() || self.stream_prefixes.iter().any(|p| line.stream.starts_with(p.as_str())))
    }
}

/// Keeps the newest `last` lines of `lines` (oldest first).
pub fn keep_last(mut lines: Vec<LogLine>, last: Option<usize>) -> Vec<LogLine> {
    lines.sort_by_key(|l| l.at_ms);
    if let Some(n) = last {
        let drop = lines.len().saturating_sub(n);
        lines.drain(..drop);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_round_trip() {
        let s = stream_name("shop/api", "api", "0123abcd");
        assert_eq!(s, "shop/api/api/0123abcd");
        assert_eq!(parse_stream(&s), ("api", "0123abcd"));
        assert_eq!(parse_stream("x"), ("", "x"));
    }

    #[test]
    fn keeps_the_newest_lines_in_order() {
        let line = |at_ms: u64| LogLine { at_ms, stream: "p/c/t".into(), message: format!("{at_ms}") };
        let kept = keep_last(vec![line(3), line(1), line(2)], Some(2));
        assert_eq!(kept.iter().map(|l| l.at_ms).collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(keep_last(vec![line(1)], None).len(), 1);
    }
}
