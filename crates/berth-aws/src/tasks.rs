//! One-off tasks: RunTask, DescribeTasks, StopTask.

use aws_sdk_ecs::types as ecs;
use berth_provider::{ProviderError, Result, RunTaskRequest, TaskStatus};

use crate::convert::{ecs_tags, network_configuration};
use crate::errors::Context;
use crate::Aws;

fn overrides(req: &RunTaskRequest) -> Option<ecs::TaskOverride> {
    if req.container_overrides.is_empty() && req.cpu.is_none() && req.memory.is_none() {
        return None;
    }
    let containers = req
        .container_overrides
        .iter()
        .map(|o| {
            let env: Vec<ecs::KeyValuePair> =
                o.environment.iter().map(|(k, v)| ecs::KeyValuePair::builder().name(k).value(v).build()).collect();
            ecs::ContainerOverride::builder()
                .name(&o.name)
                .set_command(o.command.clone())
                .set_environment((!env.is_empty()).then_some(env))
                .build()
        })
        .collect();
    Some(
        ecs::TaskOverride::builder()
            .set_container_overrides(Some(containers))
            .set_cpu(req.cpu.map(|c| c.to_string()))
            .set_memory(req.memory.map(|m| m.to_string()))
            .build(),
    )
}

fn status(t: &ecs::Task) -> TaskStatus {
    TaskStatus {
        task_arn: t.task_arn().unwrap_or_default().to_string(),
        last_status: t.last_status().unwrap_or_default().to_string(),
        stopped_reason: t.stopped_reason().map(str::to_string),
        stop_code: t.stop_code().map(|c| c.as_str().to_string()),
        containers: crate::logs::container_exits(t),
    }
}

pub async fn run_task(aws: &Aws, req: &RunTaskRequest) -> Result<TaskStatus> {
    let mut call = aws
        .ecs
        .run_task()
        .cluster(&req.cluster)
        .task_definition(&req.task_definition)
        .launch_type(ecs::LaunchType::from(req.launch_type.as_str()))
        .count(1)
        .started_by(&req.started_by)
        .set_overrides(overrides(req))
        .set_tags((!req.tags.is_empty()).then(|| ecs_tags(&req.tags)))
        .enable_ecs_managed_tags(true)
        .propagate_tags(ecs::PropagateTags::TaskDefinition);
    if let Some(nc) = &req.network_configuration {
        call = call.network_configuration(network_configuration(nc)?);
    }
    let out = call.send().await.ctx("ecs:RunTask", &req.task_definition)?;
    if let Some(f) = out.failures().first() {
        return Err(ProviderError::Invalid(format!(
            "ECS could not start the task: {}{}",
            f.reason().unwrap_or("unknown reason"),
            f.detail().map(|d| format!(" ({d})")).unwrap_or_default()
        )));
    }
    out.tasks().first().map(status).ok_or_else(|| ProviderError::Other("RunTask returned no task and no failure".into()))
}

pub async fn describe_task(aws: &Aws, cluster: &str, task_arn: &str) -> Result<TaskStatus> {
    let out = aws.ecs.describe_tasks().cluster(cluster).tasks(task_arn).send().await.ctx("ecs:DescribeTasks", task_arn)?;
    match out.tasks().first() {
        Some(t) => Ok(status(t)),
        None => Err(ProviderError::NotFound { what: format!("task {task_arn}") }),
    }
}

pub async fn stop_task(aws: &Aws, cluster: &str, task_arn: &str, reason: &str) -> Result<()> {
    aws.ecs.stop_task().cluster(cluster).task(task_arn).reason(reason).send().await.ctx("ecs:StopTask", task_arn)?;
    Ok(())
}
