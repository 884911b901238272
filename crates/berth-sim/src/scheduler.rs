//! The ECS service scheduler on a virtual clock: tasks start, pass health
//! checks or fail, and deployments roll under minimumHealthyPercent /
//! maximumPercent, with the deployment circuit breaker and its rollback.

use berth_provider::{ServiceEvent, StoppedTask};

use crate::faults::Behaviour;
use crate::state::{scalable_resource_id, SimDeployment, SimService, SimState, SimTask, TaskState};

/// Time from launch to RUNNING.
pub const START_MS: u64 = 10_000;
/// Time from RUNNING to passing health checks.
pub const HEALTHY_MS: u64 = 15_000;
/// A crash-looping container exits this long after RUNNING.
pub const CRASH_MS: u64 = 5_000;
/// A task that never passes its health checks is stopped after this long.
pub const UNHEALTHY_KILL_MS: u64 = 60_000;
/// The granularity of the simulation.
pub const TICK_MS: u64 = 1_000;

/// One sample of a service at one instant, for invariant tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub at_ms: u64,
    pub service: String,
    pub desired: u32,
    /// Tasks that are running and healthy, of any deployment.
    pub healthy: u32,
    /// Tasks not stopped (pending or running), of any deployment.
    pub total: u32,
    /// Per task definition: healthy tasks.
    pub healthy_by_revision: Vec<(String, u32)>,
    /// Whether a scalable target with a policy scales the service, and
    /// whether its scale-in is suspended.
    pub scalable: bool,
    pub scale_in_suspended: bool,
}

/// One target group at one instant: its share of traffic and its targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupSample {
    pub at_ms: u64,
    pub name: String,
    /// The weights every listener rule gives it (one per rule that forwards to it).
    pub weights: Vec<u32>,
    pub healthy: u32,
    pub unhealthy: u32,
    pub other: u32,
    /// The desired count of the service registered with it.
    pub desired: u32,
    /// The sums of all weights of each rule forwarding to it.
    pub rule_totals: Vec<u32>,
}

pub fn target_group_samples(state: &SimState) -> Vec<TargetGroupSample> {
    state
        .target_groups
        .values()
        .map(|tg| {
            let rules: Vec<&crate::state::SimRule> = state
                .listeners
                .values()
                .flat_map(|l| &l.rules)
                .filter(|r| r.spec.actions.iter().flat_map(|a| &a.forward_config.target_groups).any(|t| t.target_group_arn == tg.arn))
                .collect();
            let weights = rules
                .iter()
                .flat_map(|r| {
                    r.spec
                        .actions
                        .iter()
                        .flat_map(|a| &a.forward_config.target_groups)
                        .filter(|t| t.target_group_arn == tg.arn)
                        .map(|t| t.weight)
                })
                .collect();
            let rule_totals =
                rules.iter().map(|r| r.spec.actions.iter().flat_map(|a| &a.forward_config.target_groups).map(|t| t.weight).sum()).collect();
            let desired = state
                .services
                .values()
                .filter(|s| s.spec.load_balancers.iter().any(|l| l.target_group_arn == tg.arn))
                .map(|s| s.spec.desired_count.unwrap_or(0))
                .sum();
            let count = |h: &str| tg.targets.values().filter(|v| v.as_str() == h).count() as u32;
            TargetGroupSample {
                at_ms: state.now_ms,
                name: tg.spec.name.clone(),
                weights,
                healthy: count("healthy"),
                unhealthy: count("unhealthy"),
                other: tg.targets.len() as u32 - count("healthy") - count("unhealthy"),
                desired,
                rule_totals,
            }
        })
        .collect()
}

/// Advances the account by `ms`, one tick at a time, calling `observe` after each tick.
pub fn advance(state: &mut SimState, ms: u64, observe: &mut dyn FnMut(&SimState)) {
    let end = state.now_ms + ms;
    while state.now_ms < end {
        let from = state.now_ms;
        state.now_ms = (state.now_ms + TICK_MS).min(end);
        crate::scaling::run_schedules(state, from);
        tick(state);
        observe(state);
    }
}

/// Reconciles every service at the current instant.
pub fn tick(state: &mut SimState) {
    let now = state.now_ms;
    let names: Vec<String> = state.services.keys().cloned().collect();
    for name in names {
        let Some(mut svc) = state.services.remove(&name) else { continue };
        reconcile(state, &mut svc, now);
        state.services.insert(name, svc);
    }
    crate::oneoff::tick(state);
    crate::scaling::tick(state);
    sync_targets(state);
}

pub fn sample(state: &SimState, svc: &SimService, now: u64) -> Sample {
    let target = state.scalable_targets.get(&scalable_resource_id(&svc.spec.cluster, &svc.spec.service_name));
    let live: Vec<&SimTask> = svc.tasks.iter().filter(|t| t.state != TaskState::Stopped).collect();
    let mut by_rev: Vec<(String, u32)> = Vec::new();
    for t in live.iter().filter(|t| t.healthy) {
        match by_rev.iter_mut().find(|(r, _)| *r == t.task_definition) {
            Some((_, n)) => *n += 1,
            None => by_rev.push((t.task_definition.clone(), 1)),
        }
    }
    Sample {
        at_ms: now,
        service: svc.spec.service_name.clone(),
        desired: svc.spec.desired_count.unwrap_or(0),
        healthy: live.iter().filter(|t| t.healthy).count() as u32,
        total: live.len() as u32,
        healthy_by_revision: by_rev,
        scalable: target.is_some_and(|t| !t.policies.is_empty()),
        scale_in_suspended: target.is_some_and(|t| t.scale_in_suspended),
    }
}

fn event(state: &mut SimState, svc: &mut SimService, message: String) {
    let id = state.next_id();
    svc.events.push(ServiceEvent { id, at_ms: state.now_ms, message });
}

fn reconcile(state: &mut SimState, svc: &mut SimService, now: u64) {
    let name = svc.spec.service_name.clone();
    let faults = state.faults.clone();

    // A Spot interruption (a one-shot fault): AWS reclaims the Spot tasks.
    if let Some(i) = faults.spot_interrupt.iter().position(|s| *s == name) {
        state.faults.spot_interrupt.remove(i);
        let running: Vec<usize> =
            svc.tasks.iter().enumerate().filter(|(_, t)| t.state == TaskState::Running && t.stop_at_ms.is_none()).map(|(i, _)| i).collect();
        let spot = crate::spot::spot_tasks(&svc.spec.capacity_provider_strategy, running.len());
        for &i in running.iter().rev().take(spot) {
            svc.tasks[i].stop_at_ms = Some(now);
            svc.tasks[i].stop_reason = Some(crate::spot::INTERRUPTED.into());
        }
    }

    // 1. Task lifecycles.
    let mut stopped_now: Vec<(String, String, String)> = Vec::new(); // (task, deployment, reason)
    let mut logs: Vec<(String, String, String)> = Vec::new(); // (task definition, task, what happened)
    for t in svc.tasks.iter_mut().filter(|t| t.state != TaskState::Stopped) {
        let image = image_of(state, &t.task_definition);
        let behaviour = faults.behaviour(&image);
        // awslogs fails a task whose log group does not exist, before any container starts.
        let starting = t.state == TaskState::Pending && t.running_at_ms.is_some_and(|at| now >= at) && t.stop_at_ms.is_none();
        if let Some(group) = missing_log_group(state, &t.task_definition, &t.id).filter(|_| starting) {
            t.stop_at_ms = Some(now);
            t.stop_reason = Some(format!("{NO_LOG_GROUP}{group}"));
        } else if t.state == TaskState::Pending && t.running_at_ms.is_some_and(|at| now >= at) && behaviour != Behaviour::Hang {
            t.state = TaskState::Running;
            logs.push((t.task_definition.clone(), t.id.clone(), "start".into()));
            match behaviour {
                Behaviour::Healthy => t.healthy_at_ms = Some(now + HEALTHY_MS),
                Behaviour::CrashLoop => {
                    t.stop_at_ms = Some(now + CRASH_MS);
                    t.stop_reason = Some(match failing_dependency(state, &t.task_definition) {
                        // A container others wait for (an init container) failed: they never start.
                        Some(c) => format!(
                            "{DEPENDENCY_FAILED}{c} exited with code 1; the containers that depend on it (condition SUCCESS) did not start"
                        ),
                        None => "Essential container in task exited (exit code 1)".into(),
                    });
                }
                Behaviour::Unhealthy => {
                    t.stop_at_ms = Some(now + UNHEALTHY_KILL_MS);
                    t.stop_reason = Some("Task failed container health checks".into());
                }
                Behaviour::Hang => {}
            }
        }
        if t.state == TaskState::Running && !t.healthy && t.healthy_at_ms.is_some_and(|at| now >= at) {
            t.healthy = true;
        }
        // A fault injected while the task runs: it starts failing its health checks now.
        if t.state == TaskState::Running && behaviour == Behaviour::Unhealthy && t.stop_at_ms.is_none() {
            t.healthy = false;
            t.healthy_at_ms = None;
            t.stop_at_ms = Some(now + UNHEALTHY_KILL_MS);
            t.stop_reason = Some("Task failed container health checks".into());
        }
        if t.stop_at_ms.is_some_and(|at| now >= at) {
            t.state = TaskState::Stopped;
            t.healthy = false;
            let what = match behaviour {
                _ if t.stop_reason.as_deref() == Some(crate::spot::INTERRUPTED) => "spot",
                Behaviour::CrashLoop if t.stop_reason.as_deref().is_some_and(|r| r.starts_with(DEPENDENCY_FAILED)) => "dependency-crash",
                Behaviour::CrashLoop => "crash",
                _ => "unhealthy",
            };
            if t.running_at_ms.is_some_and(|at| now > at) || t.state == TaskState::Running {
                logs.push((t.task_definition.clone(), t.id.clone(), what.into()));
            }
            stopped_now.push((t.id.clone(), t.deployment_id.clone(), t.stop_reason.clone().unwrap_or_default()));
        }
    }
    for (td, task, what) in logs {
        write_task_logs(state, &td, &task, &what);
    }
    for (task, deployment, reason) in stopped_now {
        // Reclaimed Spot capacity is not a failed launch.
        if let Some(d) = svc.deployments.iter_mut().find(|d| d.id == deployment).filter(|_| reason != crate::spot::INTERRUPTED) {
            d.failed_tasks += 1;
        }
        let td = svc.tasks.iter().find(|t| t.id == task).map(|t| t.task_definition.clone()).unwrap_or_default();
        let exit_code = if reason.contains("exit code 1") { 1 } else { 137 };
        let containers = if reason.starts_with(NO_LOG_GROUP) {
            // No container ever started.
            container_exits(state, &td, &task, |_| None)
        } else if reason.starts_with(DEPENDENCY_FAILED) {
            container_exits(state, &td, &task, |essential| if essential { None } else { Some(1) })
        } else {
            container_exits(state, &td, &task, |essential| Some(if essential { exit_code } else { 0 }))
        };
        svc.stopped.push(StoppedTask { task_id: task, task_definition: td, stopped_reason: reason, at_ms: now, containers });
    }

    let desired = svc.spec.desired_count.unwrap_or(0);
    let dc = &svc.spec.deployment_configuration;
    let (min_pct, max_pct) = (dc.minimum_healthy_percent, dc.maximum_percent);
    let breaker = dc.deployment_circuit_breaker.clone();

    // 2. Circuit breaker: too many failed launches fail the deployment.
    let threshold = breaker_threshold(desired);
    if let Some(primary) = svc.deployments.last_mut() {
        if breaker.enable && primary.rollout_state == "IN_PROGRESS" && primary.failed_tasks >= threshold {
            primary.rollout_state = "FAILED".into();
            let reason = format!("ECS deployment circuit breaker: {} tasks failed to start", primary.failed_tasks);
            primary.rollout_state_reason = Some(reason.clone());
            let id = primary.id.clone();
            event(state, svc, format!("(service {name}) deployment {id} deployment failed: {reason}"));
            if breaker.rollback {
                let back_to =
                    svc.deployments.iter().rev().skip(1).find(|d| d.rollout_state == "COMPLETED").map(|d| d.task_definition.clone());
                if let Some(td) = back_to {
                    let rid = format!("ecs-svc/{}", state.next_id());
                    for d in svc.deployments.iter_mut() {
                        if d.status == "PRIMARY" {
                            d.status = "ACTIVE".into();
                        }
                    }
                    svc.deployments.push(SimDeployment {
                        rollout_state_reason: Some(format!("rolling back to {td}")),
                        ..SimDeployment::started(rid.clone(), td.clone(), now)
                    });
                    event(state, svc, format!("(service {name}) rolling back to deployment {rid} ({td})"));
                }
            }
        }
    }

    // 3. Scheduling under the deployment's bounds.
    let Some(primary) = svc.deployments.last().cloned() else { return };
    let max_total = (u64::from(desired) * u64::from(max_pct) / 100) as u32;
    let min_healthy = (u64::from(desired) * u64::from(min_pct)).div_ceil(100) as u32;
    let failed = primary.rollout_state == "FAILED";

    // Old tasks that are not healthy never count toward the floor: stop them.
    let mut to_stop: Vec<String> = svc
        .tasks
        .iter()
        .filter(|t| t.state != TaskState::Stopped && t.deployment_id != primary.id && !t.healthy)
        .map(|t| t.id.clone())
        .collect();
    if !failed {
        // Healthy old tasks go while the floor allows.
        let mut healthy = svc.tasks.iter().filter(|t| t.state != TaskState::Stopped && t.healthy).count() as u32;
        let mut old_healthy: Vec<String> = svc
            .tasks
            .iter()
            .filter(|t| t.state != TaskState::Stopped && t.deployment_id != primary.id && t.healthy)
            .map(|t| t.id.clone())
            .collect();
        while !old_healthy.is_empty() && healthy > min_healthy {
            to_stop.push(old_healthy.remove(0));
            healthy -= 1;
        }
    }
    // Extra tasks of the primary (desired count lowered).
    let mut primary_live: Vec<&SimTask> =
        svc.tasks.iter().filter(|t| t.state != TaskState::Stopped && t.deployment_id == primary.id).collect();
    primary_live.sort_by_key(|t| t.healthy);
    let extra = primary_live.len().saturating_sub(desired as usize);
    to_stop.extend(primary_live.iter().take(extra).map(|t| t.id.clone()));
    for t in svc.tasks.iter_mut().filter(|t| to_stop.contains(&t.id)) {
        t.state = TaskState::Stopped;
        t.healthy = false;
        t.stop_reason = Some("Scaling activity initiated by (deployment)".into());
    }

    if !failed {
        let mut total = svc.tasks.iter().filter(|t| t.state != TaskState::Stopped).count() as u32;
        let mut primary_count = svc.tasks.iter().filter(|t| t.state != TaskState::Stopped && t.deployment_id == primary.id).count() as u32;
        let mut started = 0;
        while primary_count < desired && total < max_total.max(1) {
            let id = state.next_id();
            svc.tasks.push(SimTask {
                id,
                task_definition: primary.task_definition.clone(),
                deployment_id: primary.id.clone(),
                state: TaskState::Pending,
                running_at_ms: Some(now + START_MS),
                healthy_at_ms: None,
                stop_at_ms: None,
                stop_reason: None,
                healthy: false,
            });
            primary_count += 1;
            total += 1;
            started += 1;
        }
        if started > 0 {
            event(state, svc, format!("(service {name}) has started {started} tasks: {}", primary.task_definition));
        }
    }
    // Forget stopped tasks.
    svc.tasks.retain(|t| t.state != TaskState::Stopped);

    // 4. Completion.
    let primary_healthy = svc.tasks.iter().filter(|t| t.deployment_id == primary.id && t.healthy).count() as u32;
    let others = svc.tasks.iter().filter(|t| t.deployment_id != primary.id).count();
    if let Some(p) = svc.deployments.last_mut() {
        if p.rollout_state == "IN_PROGRESS" && primary_healthy >= desired && others == 0 {
            p.rollout_state = "COMPLETED".into();
            p.rollout_state_reason = Some("ECS deployment completed".into());
            let id = p.id.clone();
            for d in svc.deployments.iter_mut().filter(|d| d.id != id) {
                d.status = "INACTIVE".into();
            }
            event(state, svc, format!("(service {name}) deployment {id} completed."));
            event(state, svc, format!("(service {name}) has reached a steady state."));
        }
    }
    // Keep the last completed deployment (rollback target) and the live ones.
    let last_completed = svc.deployments.iter().rev().find(|d| d.rollout_state == "COMPLETED").map(|d| d.id.clone());
    svc.deployments.retain(|d| d.status != "INACTIVE" || Some(&d.id) == last_completed.as_ref());
}

/// Failed launches that trip the circuit breaker: half the desired count,
/// clamped to 3..=200 (DOMAIN.md).
pub fn breaker_threshold(desired: u32) -> u32 {
    desired.div_ceil(2).clamp(3, 200)
}

/// A task definition revision by ARN.
pub(crate) fn task_definition<'a>(state: &'a SimState, arn: &str) -> Option<&'a berth_model::resources::TaskDefinition> {
    let (family, rev) = arn.rsplit_once("task-definition/").map(|(_, r)| r).and_then(|r| r.split_once(':')).unwrap_or(("", ""));
    state.task_definitions.get(family).and_then(|revs| revs.iter().find(|r| r.revision.to_string() == rev)).map(|r| &r.spec)
}

/// A revision by ARN or `family:revision`.
pub(crate) fn task_definition_revision<'a>(state: &'a SimState, reference: &str) -> Option<&'a crate::state::SimTaskDefinition> {
    let r = reference.rsplit_once("task-definition/").map_or(reference, |(_, r)| r);
    let (family, rev) = r.split_once(':')?;
    state.task_definitions.get(family)?.iter().find(|t| t.revision.to_string() == rev)
}

/// The awslogs group and stream of each container of a task (`None` for a
/// container without an awslogs configuration).
pub(crate) fn log_streams(state: &SimState, td: &str, task: &str) -> Vec<(String, bool, Option<(String, String)>)> {
    let Some(spec) = task_definition(state, td) else { return Vec::new() };
    spec.container_definitions
        .iter()
        .map(|c| {
            let log = c.log_configuration.as_ref().filter(|l| l.log_driver == "awslogs").and_then(|l| {
                let group = l.options.get("awslogs-group")?.clone();
                let prefix = l.options.get("awslogs-stream-prefix").cloned().unwrap_or_default();
                Some((group, berth_provider::logs::stream_name(&prefix, &c.name, task)))
            });
            (c.name.clone(), c.essential, log)
        })
        .collect()
}

/// The start of the stop reason of a task whose essential containers never
/// started because a container they depend on failed.
const DEPENDENCY_FAILED: &str = "Task failed to start: container ";

/// The non-essential container of a task definition that crash-loops (the
/// crashloop fault is in its image, and in no essential container's) while
/// others wait for it to succeed: an init container that fails.
fn failing_dependency(state: &SimState, td: &str) -> Option<String> {
    let spec = task_definition(state, td)?;
    let crashes = |image: &str| state.faults.behaviour(&image_names(state, image)) == Behaviour::CrashLoop;
    if spec.container_definitions.iter().any(|c| c.essential && crashes(&c.image)) {
        return None;
    }
    spec.container_definitions
        .iter()
        .filter(|c| !c.essential && crashes(&c.image))
        .find(|c| {
            spec.container_definitions.iter().any(|o| o.depends_on.iter().any(|d| d.container_name == c.name && d.condition == "SUCCESS"))
        })
        .map(|c| c.name.clone())
}

/// The stopped reason of a task whose awslogs group does not exist (ECS's words).
pub const NO_LOG_GROUP: &str = "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist: ";

/// The awslogs group of a task's container that does not exist, if any.
fn missing_log_group(state: &SimState, td: &str, task: &str) -> Option<String> {
    log_streams(state, td, task).into_iter().filter_map(|(_, _, log)| log).map(|(g, _)| g).find(|g| !state.log_groups.contains_key(g))
}

/// How each container of a stopped task ended.
pub(crate) fn container_exits(
    state: &SimState,
    td: &str,
    task: &str,
    exit_code: impl Fn(bool) -> Option<i32>,
) -> Vec<berth_provider::ContainerExit> {
    log_streams(state, td, task)
        .into_iter()
        .map(|(name, essential, log)| berth_provider::ContainerExit {
            name,
            essential,
            exit_code: exit_code(essential),
            reason: None,
            log_group: log.as_ref().map(|(g, _)| g.clone()),
            log_stream: log.map(|(_, s)| s),
        })
        .collect()
}

/// Appends a line to a container's log stream.
pub(crate) fn write_log(state: &mut SimState, group: &str, stream: &str, message: String) {
    let at_ms = state.now_ms;
    state.log_events.entry(group.to_string()).or_default().push(crate::state::SimLogEvent { stream: stream.to_string(), at_ms, message });
}

/// What a service task's containers print: when it starts, and before a
/// crash-looping one exits or an unhealthy one is killed.
fn write_task_logs(state: &mut SimState, td: &str, task: &str, what: &str) {
    let images: Vec<(String, String)> = task_definition(state, td)
        .map(|t| t.container_definitions.iter().map(|c| (c.name.clone(), image_names(state, &c.image))).collect())
        .unwrap_or_default();
    for (name, essential, log) in log_streams(state, td, task) {
        let Some((group, stream)) = log else { continue };
        let image = images.iter().find(|(n, _)| *n == name).map(|(_, i)| i.split(' ').next().unwrap_or_default().to_string());
        let lines: Vec<String> = match what {
            "start" => vec![format!("{name}: starting {}", image.unwrap_or_default())],
            "crash" if essential => vec![
                format!("{name}: loading configuration"),
                format!("{name}: fatal: the process crashed during startup (the sim's crashloop fault)"),
                format!("{name}: exiting with code 1"),
            ],
            "dependency-crash" if !essential => {
                vec![format!("{name}: cannot write the task's files; exiting with code 1 (the sim's crashloop fault)")]
            }
            "unhealthy" if essential => vec![format!("{name}: health check failed: connection refused (the sim's unhealthy fault)")],
            "spot" if essential => {
                vec![format!("{name}: received SIGTERM: the Spot capacity was reclaimed (the sim's spot_interrupt fault)")]
            }
            _ => Vec::new(),
        };
        for line in lines {
            write_log(state, &group, &stream, line);
        }
    }
}

/// The images of a task definition as fault markers are looked for in them:
/// each reference, and for one pinned by digest, every tag that digest had
/// (pushed, or resolved by a plan).
pub(crate) fn image_of(state: &SimState, task_definition_arn: &str) -> String {
    let (family, rev) =
        task_definition_arn.rsplit_once("task-definition/").map(|(_, r)| r).and_then(|r| r.split_once(':')).unwrap_or(("", ""));
    state
        .task_definitions
        .get(family)
        .and_then(|revs| revs.iter().find(|r| r.revision.to_string() == rev))
        .map(|r| r.spec.container_definitions.iter().map(|c| image_names(state, &c.image)).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// `image`, followed by the tags its digest is known by.
pub(crate) fn image_names(state: &SimState, image: &str) -> String {
    let Some((_, digest)) = image.split_once('@') else { return image.to_string() };
    let mut names = vec![image.to_string()];
    names.extend(state.resolved_tags.get(digest).cloned());
    for repo in state.repositories.values() {
        for img in repo.images.iter().filter(|i| i.digest == digest) {
            names.extend(img.tags.iter().map(|t| format!("{}:{t}", repo.spec.repository_name)));
        }
    }
    names.join(" ")
}

/// Target groups and Cloud Map follow the tasks of the services using them.
fn sync_targets(state: &mut SimState) {
    for tg in state.target_groups.values_mut() {
        tg.targets.clear();
    }
    for cm in state.cloud_map_services.values_mut() {
        cm.instances.clear();
    }
    for svc in state.services.values() {
        for lb in &svc.spec.load_balancers {
            if let Some(tg) = state.target_groups.get_mut(&lb.target_group_arn) {
                for t in svc.tasks.iter().filter(|t| t.state == TaskState::Running) {
                    let health = if t.healthy {
                        "healthy"
                    } else if t.stop_at_ms.is_some() {
                        "unhealthy"
                    } else {
                        "initial"
                    };
                    tg.targets.insert(t.id.clone(), health.to_string());
                }
            }
        }
        for reg in &svc.spec.service_registries {
            if let Some(cm) = state.cloud_map_services.get_mut(&reg.registry_arn) {
                for (i, t) in svc.tasks.iter().filter(|t| t.healthy).enumerate() {
                    cm.instances.insert(t.id.clone(), format!("10.0.{}.{}", i / 250, i % 250 + 4));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circuit_breaker_threshold_is_half_desired_clamped() {
        for (desired, want) in [(1u32, 3u32), (4, 3), (7, 4), (10, 5), (1000, 200)] {
            assert_eq!(breaker_threshold(desired), want, "desired {desired}");
        }
    }
}
