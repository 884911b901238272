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

/// A container of a revision: name, essential, and its awslogs group and stream prefix.
#[derive(Debug, Clone)]
pub struct ContainerLog {
    pub name: String,
    pub essential: bool,
    pub awslogs: Option<(String, String)>,
}

/// The containers of a revision, from DescribeTaskDefinition (once per revision).
async fn container_logs(aws: &Aws, task_definition: &str) -> Result<Vec<ContainerLog>> {
    if let Some(known) = aws.container_logs.lock().unwrap_or_else(|e| e.into_inner()).get(task_definition) {
        return Ok(known.clone());
    }
    let out = aws
        .ecs
        .describe_task_definition()
        .task_definition(task_definition)
        .send()
        .await
        .ctx("ecs:DescribeTaskDefinition", task_definition)?;
    let containers: Vec<ContainerLog> = out
        .task_definition()
        .map(|td| td.container_definitions())
        .unwrap_or_default()
        .iter()
        .map(|c| ContainerLog {
            name: c.name().unwrap_or_default().to_string(),
            // ECS's default: a container is essential unless it says otherwise.
            essential: c.essential().unwrap_or(true),
            awslogs: c.log_configuration().filter(|l| l.log_driver().as_str() == "awslogs").and_then(|l| {
                let options = l.options()?;
                Some((options.get("awslogs-group")?.clone(), options.get("awslogs-stream-prefix").cloned().unwrap_or_default()))
            }),
        })
        .collect();
    aws.container_logs.lock().unwrap_or_else(|e| e.into_inner()).insert(task_definition.to_string(), containers.clone());
    Ok(containers)
}

/// Completes what DescribeTasks says of a stopped task's containers with its
/// revision's definition: which are essential and where each logs, so a
/// failure report can show the last lines the failed container wrote. Best
/// effort: a revision that cannot be read leaves the task as it was.
pub async fn locate_container_logs(aws: &Aws, task: &mut berth_provider::StoppedTask) {
    let Ok(defs) = container_logs(aws, &task.task_definition).await else { return };
    for c in task.containers.iter_mut() {
        let Some(def) = defs.iter().find(|d| d.name == c.name) else { continue };
        c.essential = def.essential;
        if let Some((group, prefix)) = &def.awslogs {
            c.log_group = Some(group.clone());
            c.log_stream = Some(berth_provider::logs::stream_name(prefix, &c.name, &task.task_id));
        }
    }
}

/// `arn:…:log-group:NAME:*` (DescribeLogGroups' `arn`) → `arn:…:log-group:NAME`, the ARN tags are read by.
fn group_arn(g: &aws_sdk_cloudwatchlogs::types::LogGroup) -> String {
    g.log_group_arn().map(str::to_string).unwrap_or_else(|| g.arn().unwrap_or_default().trim_end_matches(":*").to_string())
}

fn sorted_tags(tags: Option<&std::collections::HashMap<String, String>>) -> Vec<berth_model::resources::Tag> {
    let mut v: Vec<berth_model::resources::Tag> =
        tags.into_iter().flatten().map(|(k, v)| berth_model::resources::Tag { key: k.clone(), value: v.clone() }).collect();
    v.sort_by(|a, b| a.key.cmp(&b.key));
    v
}

/// The tags of a log group (`None` when it is gone).
pub async fn log_group_tags(aws: &Aws, arn: &str) -> Result<Option<Vec<berth_model::resources::Tag>>> {
    match aws.logs.list_tags_for_resource().resource_arn(arn).send().await {
        Ok(o) => Ok(Some(sorted_tags(o.tags()))),
        Err(e) if crate::errors::code(&e).as_deref() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(crate::errors::map("logs:ListTagsForResource", arn, e)),
    }
}

/// The app's log groups by name (DescribeLogGroups by prefix, then their tags).
pub async fn observe(aws: &Aws, scope: &berth_provider::Scope) -> Result<Vec<berth_provider::LiveResource>> {
    let mut out = Vec::new();
    for name in &scope.log_group_names {
        let groups: Vec<aws_sdk_cloudwatchlogs::types::LogGroup> = aws
            .logs
            .describe_log_groups()
            .log_group_name_prefix(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<std::result::Result<_, _>>()
            .ctx("logs:DescribeLogGroups", name)?;
        let Some(g) = groups.iter().find(|g| g.log_group_name() == Some(name.as_str())) else { continue };
        let arn = group_arn(g);
        let tags = log_group_tags(aws, &arn).await?.unwrap_or_default();
        let spec = serde_json::json!({
            "logGroupName": name,
            "retentionInDays": g.retention_in_days(),
            "tags": tags,
        });
        out.push(berth_provider::LiveResource {
            address: berth_provider::address_for(berth_provider::Kind::LogGroup, name, scope, &tags),
            kind: berth_provider::Kind::LogGroup,
            name: name.clone(),
            arn,
            tags,
            spec,
        });
    }
    Ok(out)
}

/// CreateLogGroup with the tags, then its retention; the ARN is read back.
pub async fn create_log_group(aws: &Aws, g: &berth_model::resources::LogGroup) -> Result<String> {
    let name = g.log_group_name.as_str();
    aws.logs
        .create_log_group()
        .log_group_name(name)
        .set_tags(Some(g.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect()))
        .send()
        .await
        .ctx("logs:CreateLogGroup", name)?;
    put_retention(aws, name, g.retention_in_days).await?;
    let groups = aws.logs.describe_log_groups().log_group_name_prefix(name).send().await.ctx("logs:DescribeLogGroups", name)?;
    let arn = groups.log_groups().iter().find(|x| x.log_group_name() == Some(name)).map(group_arn);
    arn.ok_or_else(|| berth_provider::ProviderError::NotFound { what: format!("log group {name} right after creating it") })
}

pub async fn put_retention(aws: &Aws, name: &str, days: u32) -> Result<()> {
    let days = i32::try_from(days).map_err(|_| berth_provider::ProviderError::Invalid(format!("retention of {days} days")))?;
    aws.logs.put_retention_policy().log_group_name(name).retention_in_days(days).send().await.ctx("logs:PutRetentionPolicy", name)?;
    Ok(())
}

pub async fn delete_log_group(aws: &Aws, name: &str) -> Result<()> {
    aws.logs.delete_log_group().log_group_name(name).send().await.ctx("logs:DeleteLogGroup", name)?;
    Ok(())
}
