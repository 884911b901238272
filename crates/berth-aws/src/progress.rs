//! Following a service's deployments: DescribeServices for the deployments
//! and events, ListTasks/DescribeTasks for tasks that stopped, and target
//! health of its first target group.

use berth_provider::{DeploymentStatus, Result, ServiceEvent, ServiceProgress, StoppedTask, TargetCounts};

use crate::errors::Context;
use crate::Aws;

fn ms(t: Option<&aws_smithy_types::DateTime>) -> u64 {
    t.and_then(|t| t.to_millis().ok()).map_or(0, |x| u64::try_from(x).unwrap_or(0))
}

pub async fn service_progress(aws: &Aws, cluster: &str, service: &str, cursor_ms: u64) -> Result<ServiceProgress> {
    let out = aws.ecs.describe_services().cluster(cluster).services(service).send().await.ctx("ecs:DescribeServices", service)?;
    let Some(s) = out.services().first() else {
        return Err(berth_provider::ProviderError::NotFound { what: format!("service {service} in cluster {cluster}") });
    };
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

    let stopped_arns = aws
        .ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(service)
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
        .send()
        .await
        .ctx("ecs:ListTasks", service)?
        .task_arns()
        .to_vec();
    let mut stopped_tasks = Vec::new();
    for chunk in stopped_arns.chunks(100) {
        let tasks =
            aws.ecs.describe_tasks().cluster(cluster).set_tasks(Some(chunk.to_vec())).send().await.ctx("ecs:DescribeTasks", service)?;
        for t in tasks.tasks() {
            let at_ms = ms(t.stopped_at());
            if at_ms > cursor_ms {
                stopped_tasks.push(StoppedTask {
                    task_id: t.task_arn().and_then(|a| a.rsplit('/').next()).unwrap_or_default().into(),
                    task_definition: t.task_definition_arn().unwrap_or_default().into(),
                    stopped_reason: t.stopped_reason().unwrap_or_default().into(),
                    at_ms,
                    containers: crate::logs::container_exits(t),
                });
            }
        }
    }
    stopped_tasks.sort_by_key(|t| t.at_ms);

    let targets = match s.load_balancers().first().and_then(|l| l.target_group_arn()) {
        None => None,
        Some(tg) => {
            let health =
                aws.elb.describe_target_health().target_group_arn(tg).send().await.ctx("elasticloadbalancing:DescribeTargetHealth", tg)?;
            let mut c = TargetCounts::default();
            for d in health.target_health_descriptions() {
                match d.target_health().and_then(|h| h.state()).map(|s| s.as_str()) {
                    Some("healthy") => c.healthy += 1,
                    Some("unhealthy") => c.unhealthy += 1,
                    _ => c.other += 1,
                }
            }
            Some(c)
        }
    };
    Ok(ServiceProgress { service: service.into(), deployments, events, stopped_tasks, targets })
}
