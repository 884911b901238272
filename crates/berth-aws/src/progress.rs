//! Following a service's deployments: DescribeServices for the deployments
//! and events, ListTasks/DescribeTasks for tasks that stopped, and target
//! health of its first target group.

use berth_provider::{DeploymentStatus, Result, ServiceEvent, ServiceProgress, StoppedTask, TargetCounts};

use std::collections::HashMap;

use futures::{stream, StreamExt};

use crate::errors::Context;
use crate::{Aws, CONCURRENCY};

fn ms(t: Option<&aws_smithy_types::DateTime>) -> u64 {
    t.and_then(|t| t.to_millis().ok()).map_or(0, |x| u64::try_from(x).unwrap_or(0))
}

pub async fn service_progress(aws: &Aws, cluster: &str, service: &str, cursor_ms: u64) -> Result<ServiceProgress> {
    let one = [(service.to_string(), cursor_ms)];
    services_progress(aws, cluster, &one).await.pop().unwrap_or_else(|| Err(gone(cluster, service)))
}

fn gone(cluster: &str, service: &str) -> berth_provider::ProviderError {
    berth_provider::ProviderError::NotFound { what: format!("service {service} in cluster {cluster}") }
}

/// Several services of one cluster in one round: DescribeServices ten at a
/// time, the cluster's stopped tasks once (ListTasks, DescribeTasks a
/// hundred at a time, told apart by their `service:<name>` group), and the
/// target health of each service's first target group.
pub async fn services_progress(aws: &Aws, cluster: &str, services: &[(String, u64)]) -> Vec<Result<ServiceProgress>> {
    let names: Vec<String> = services.iter().map(|(s, _)| s.clone()).collect();
    let described = stream::iter(names.chunks(10).map(<[String]>::to_vec))
        .map(|chunk| async move {
            aws.ecs
                .describe_services()
                .cluster(cluster)
                .set_services(Some(chunk))
                .send()
                .await
                .map(|o| o.services().to_vec())
                .ctx("ecs:DescribeServices", cluster)
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    let mut by_name: HashMap<String, aws_sdk_ecs::types::Service> = HashMap::new();
    let mut error = None;
    for chunk in described {
        match chunk {
            Ok(list) => by_name.extend(list.into_iter().map(|s| (s.service_name().unwrap_or_default().to_string(), s))),
            Err(e) => error = Some(e),
        }
    }
    if let Some(e) = error {
        return services.iter().map(|_| Err(e.clone())).collect();
    }
    let min_cursor = services.iter().map(|(_, c)| *c).min().unwrap_or(0);
    let stopped = match stopped_tasks(aws, cluster, (services.len() == 1).then(|| services[0].0.as_str()), min_cursor).await {
        Ok(s) => s,
        Err(e) => return services.iter().map(|_| Err(e.clone())).collect(),
    };
    let tgs: Vec<Option<String>> = services
        .iter()
        .map(|(name, _)| by_name.get(name).and_then(|s| s.load_balancers().first()).and_then(|l| l.target_group_arn()).map(str::to_string))
        .collect();
    let targets = stream::iter(tgs.into_iter().map(|tg| async move {
        match tg {
            None => Ok(None),
            Some(tg) => target_counts(aws, &tg).await.map(Some),
        }
    }))
    .buffered(CONCURRENCY)
    .collect::<Vec<_>>()
    .await;
    services
        .iter()
        .zip(targets)
        .map(|((name, cursor), targets)| {
            let s = by_name.get(name).ok_or_else(|| gone(cluster, name))?;
            let (deployments, events) = deployments_and_events(s, *cursor);
            let mut stopped_tasks: Vec<StoppedTask> = stopped
                .iter()
                .filter(|(group, t)| group == &format!("service:{name}") && t.at_ms > *cursor)
                .map(|(_, t)| t.clone())
                .collect();
            stopped_tasks.sort_by_key(|t| t.at_ms);
            Ok(ServiceProgress { service: name.clone(), deployments, events, stopped_tasks, targets: targets? })
        })
        .collect()
}

fn deployments_and_events(s: &aws_sdk_ecs::types::Service, cursor_ms: u64) -> (Vec<DeploymentStatus>, Vec<ServiceEvent>) {
    let deployments = s
        .deployments()
        .iter()
        .map(|d| DeploymentStatus {
            id: d.id().unwrap_or_default().into(),
            status: d.status().unwrap_or_default().into(),
            rollout_state: d.rollout_state().map_or("IN_PROGRESS", |r| r.as_str()).into(),
            rollout_state_reason: d.rollout_state_reason().map(str::to_string),
            task_definition: d.task_definition().unwrap_or_default().into(),
            desired: u32::try_from(d.desired_count()).unwrap_or(0),
            running: u32::try_from(d.running_count()).unwrap_or(0),
            pending: u32::try_from(d.pending_count()).unwrap_or(0),
            failed_tasks: u32::try_from(d.failed_tasks()).unwrap_or(0),
            created_ms: ms(d.created_at()),
        })
        .collect();
    let mut events: Vec<ServiceEvent> = s
        .events()
        .iter()
        .map(|e| ServiceEvent {
            id: e.id().unwrap_or_default().into(),
            at_ms: ms(e.created_at()),
            message: e.message().unwrap_or_default().into(),
        })
        .filter(|e| e.at_ms > cursor_ms)
        .collect();
    events.sort_by_key(|e| e.at_ms);
    (deployments, events)
}

/// Tasks that stopped after `cursor_ms`, with their group (`service:<name>`):
/// of one service, or of the whole cluster when several are followed.
async fn stopped_tasks(aws: &Aws, cluster: &str, service: Option<&str>, cursor_ms: u64) -> Result<Vec<(String, StoppedTask)>> {
    let arns: Vec<String> = aws
        .ecs
        .list_tasks()
        .cluster(cluster)
        .set_service_name(service.map(str::to_string))
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ctx("ecs:ListTasks", service.unwrap_or(cluster))?;
    let mut out = Vec::new();
    for chunk in arns.chunks(100) {
        let tasks =
            aws.ecs.describe_tasks().cluster(cluster).set_tasks(Some(chunk.to_vec())).send().await.ctx("ecs:DescribeTasks", cluster)?;
        for t in tasks.tasks() {
            let at_ms = ms(t.stopped_at());
            if at_ms > cursor_ms {
                let group = t.group().map(str::to_string).or_else(|| service.map(|s| format!("service:{s}"))).unwrap_or_default();
                let mut stopped = StoppedTask {
                    task_id: t.task_arn().and_then(|a| a.rsplit('/').next()).unwrap_or_default().into(),
                    task_definition: t.task_definition_arn().unwrap_or_default().into(),
                    stopped_reason: t.stopped_reason().unwrap_or_default().into(),
                    at_ms,
                    containers: crate::logs::container_exits(t),
                };
                // Only a task that failed needs to say where its containers log.
                if stopped.containers.iter().any(|c| c.exit_code.is_some_and(|x| x != 0))
                    || t.stop_code().is_some_and(|c| c.as_str() == "TaskFailedToStart")
                {
                    crate::logs::locate_container_logs(aws, &mut stopped).await;
                }
                out.push((group, stopped));
            }
        }
    }
    Ok(out)
}

async fn target_counts(aws: &Aws, tg: &str) -> Result<TargetCounts> {
    let health = aws.elb.describe_target_health().target_group_arn(tg).send().await.ctx("elasticloadbalancing:DescribeTargetHealth", tg)?;
    let mut c = TargetCounts::default();
    for d in health.target_health_descriptions() {
        match d.target_health().and_then(|h| h.state()).map(|s| s.as_str()) {
            Some("healthy") => c.healthy += 1,
            Some("unhealthy") => c.unhealthy += 1,
            _ => c.other += 1,
        }
    }
    Ok(c)
}
