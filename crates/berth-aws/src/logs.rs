//! CloudWatch Logs: the containers' log lines (FilterLogEvents), and how a
//! stopped task's containers ended (from DescribeTasks).

use berth_provider::logs::keep_last;
use berth_provider::{ContainerExit, LogFilter, LogLine, Result};

use crate::errors::Context;
use crate::Aws;

/// FilterLogEvents over every page, once per stream prefix (the API takes one).
pub async fn log_lines(aws: &Aws, filter: &LogFilter) -> Result<Vec<LogLine>> {
    let prefixes: Vec<Option<String>> =
        if filter.stream_prefixes.is_empty() { vec![None] } else { filter.stream_prefixes.iter().cloned().map(Some).collect() };
    let mut lines = Vec::new();
    for prefix in prefixes {
        let mut pages = aws
            .logs
            .filter_log_events()
            .log_group_name(&filter.group)
            .set_log_stream_name_prefix(prefix)
            .set_start_time(filter.since_ms.and_then(|s| i64::try_from(s).ok()))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.ctx("logs:FilterLogEvents", &filter.group)?;
            for e in page.events() {
                lines.push(LogLine {
                    at_ms: e.timestamp().and_then(|t| u64::try_from(t).ok()).unwrap_or(0),
                    stream: e.log_stream_name().unwrap_or_default().to_string(),
                    message: e.message().unwrap_or_default().trim_end_matches('\n').to_string(),
                });
            }
        }
    }
    let lines = lines.into_iter().filter(|l| filter.matches(l)).collect();
    Ok(keep_last(lines, filter.last))
}

/// The containers of a stopped task as DescribeTasks reports them. ECS does
/// not say there which container is essential or where it logs; a
/// container that exited non-zero is taken as the one that failed.
pub fn container_exits(t: &aws_sdk_ecs::types::Task) -> Vec<ContainerExit> {
    t.containers()
        .iter()
        .map(|c| ContainerExit {
            name: c.name().unwrap_or_default().to_string(),
            essential: true,
            exit_code: c.exit_code(),
            reason: c.reason().map(str::to_string),
            log_group: None,
            log_stream: None,
        })
        .collect()
}
