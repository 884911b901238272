//! `before_deploy` migrations as steps of the plan: a one-off task of a
//! service's *new* task definition, run after that revision is registered
//! and before anything that serves traffic changes.
//!
//! A migration is planned only when its service's task definition changes
//! (a new image or definition means new code to migrate for); a plan that
//! registers nothing runs nothing. Every change that could touch what is
//! serving — services, rules, target groups, Cloud Map, the load balancer,
//! and every delete — waits for every migration, so a failed migration
//! stops the apply with nothing that was serving touched. What a migration
//! itself needs (the cluster, the log group, repositories, task
//! definitions) may run before it.

use berth_model::Desired;
use serde_json::{json, Value};

use crate::plan::{Action, Change, Plan};

/// The kind of a migration step in the plan.
pub const KIND: &str = "migration";

/// What a migration runs before and may not wait for: its prerequisites.
fn may_precede(c: &Change) -> bool {
    c.action != Action::Delete && matches!(c.kind.as_str(), "cluster" | "log_group" | "ecr_repository" | "task_definition")
}

/// Adds a step per `before_deploy` whose service's task definition the plan
/// registers, and makes every change that touches what serves wait for it.
pub fn add(plan: &mut Plan, desired: &Desired) {
    let mut steps = Vec::new();
    for m in &desired.migrations {
        let td_address = format!("taskdef.{}", m.service);
        let Some(td_change) = plan.changes.iter().find(|c| c.address == td_address && c.action != Action::Delete) else { continue };
        let Some(service) = desired.services.iter().find(|s| s.compose_name == m.service) else { continue };
        let td = desired.task_definitions.iter().find(|t| t.family == service.task_definition);
        // Where the migration's containers log: each awslogs container's group and prefix.
        let logs: Vec<Value> = td
            .into_iter()
            .flat_map(|t| &t.container_definitions)
            .filter_map(|c| {
                let l = c.log_configuration.as_ref().filter(|l| l.log_driver == "awslogs")?;
                Some(json!({
                    "container": c.name,
                    "group": l.options.get("awslogs-group")?,
                    "prefix": l.options.get("awslogs-stream-prefix").cloned().unwrap_or_default(),
                }))
            })
            .collect();
        let mut after = json!({
            "service": m.service,
            "cluster": service.cluster,
            "taskDefinition": td_address,
            "container": m.container,
            "command": m.command,
            "launchType": service.run_launch_type(),
            "logs": logs,
        });
        if let Some(nc) = &service.network_configuration {
            after["networkConfiguration"] = serde_json::to_value(nc).unwrap_or_default();
        }
        let mut depends_on = vec![td_change.address.clone()];
        let cluster = format!("cluster.{}", service.cluster);
        if plan.changes.iter().any(|c| c.address == cluster && c.action != Action::Delete) {
            depends_on.push(cluster);
        }
        steps.push(Change {
            address: format!("migrate.{}", m.service),
            kind: KIND.into(),
            action: Action::Run,
            reason: format!(
                "before_deploy of {}: `{}` in a one-off task of the new revision, before any service is updated",
                m.service,
                shell_words_join(&m.command)
            ),
            before: None,
            after: Some(after),
            changed: Vec::new(),
            arn: None,
            depends_on,
        });
    }
    if steps.is_empty() {
        return;
    }
    let addresses: Vec<String> = steps.iter().map(|s| s.address.clone()).collect();
    for c in plan.changes.iter_mut().filter(|c| !may_precede(c)) {
        c.depends_on.extend(addresses.iter().cloned());
        c.depends_on.sort();
        c.depends_on.dedup();
    }
    // In reading order: right after the last change a migration may follow.
    let at = plan.changes.iter().rposition(may_precede).map_or(0, |i| i + 1);
    plan.summary.run += steps.len();
    plan.changes.splice(at..at, steps);
}

/// The migrations of a plan (addresses), for changes added after `add`.
pub fn addresses(plan: &Plan) -> Vec<String> {
    plan.changes.iter().filter(|c| c.kind == KIND).map(|c| c.address.clone()).collect()
}

/// A command as a person would type it (for the plan's reason only).
fn shell_words_join(words: &[String]) -> String {
    words
        .iter()
        .map(
            |w| {
                if w.is_empty() || w.contains(|c: char| c.is_whitespace() || "'\"$`\\;&|".contains(c)) {
                    format!("{w:?}")
                } else {
                    w.clone()
                }
            },
        )
        .collect::<Vec<_>>()
        .join(" ")
}
