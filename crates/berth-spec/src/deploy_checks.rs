//! What a spec must say before berth can deploy it (plan, apply), beyond
//! what makes it valid: `berth validate` accepts a bare compose file, but
//! tasks cannot run without subnets, and target groups and a private DNS
//! namespace cannot exist without a VPC.

use crate::app::NetworkMode;
use crate::resolve::p;
use crate::{Diagnostic, Diagnostics, Loaded};

/// Errors naming the `x-berth.network` key to set, positioned at the
/// deepest part of that path the spec has.
pub fn deploy_checks(loaded: &Loaded) -> Diagnostics {
    let app = &loaded.app;
    let mut out = Diagnostics::default();
    // Without any `x-berth`, the first top-level key (line 1, usually) is
    // the place to add it.
    let first_key = loaded.tree.as_map().and_then(|m| m.values().next()).map(|e| e.key_pos.clone());
    let mut need = |key: &str, message: String, hint: &str| {
        let path = p(&key.split('.').collect::<Vec<_>>());
        let pos = match (loaded.tree.get("x-berth"), &first_key) {
            (None, Some(first)) => first.clone(),
            _ => loaded.tree.pos_of(&path),
        };
        out.push(Diagnostic::error(key, message).at(Some(pos)).hint(hint));
    };
    let network = &app.network;
    if network.mode == NetworkMode::Awsvpc && !app.tasks.is_empty() && network.subnets.is_empty() {
        need(
            "x-berth.network.subnets",
            "tasks in awsvpc mode need subnets to run in".into(),
            "set x-berth.network.subnets (and security_groups) to the subnets of your VPC",
        );
    }
    // With an existing listener, plan reads the VPC from its load balancer.
    let from_listener = app.load_balancer.as_ref().is_some_and(|lb| lb.listener.is_some());
    if network.vpc_id.is_none() && !from_listener {
        if let Some(task) = app.tasks.iter().find(|t| t.route.is_some()) {
            need(
                "x-berth.network.vpc_id",
                format!("service {:?} is routed, and its target group needs the VPC id", task.name),
                "set x-berth.network.vpc_id to the VPC of the load balancer",
            );
        }
        if let Some(d) = &app.discovery {
            need(
                "x-berth.network.vpc_id",
                format!("the private DNS namespace {:?} needs the VPC id", d.namespace),
                "set x-berth.network.vpc_id to the VPC the tasks run in",
            );
        }
    }
    out
}

/// Why the app's tasks need a task execution role (the role the ECS agent
/// uses to start them), if they do: a private ECR image, secrets, or
/// awslogs on Fargate.
pub fn execution_role_reason(app: &crate::app::App) -> Option<String> {
    use crate::app::{ContainerLogging, Image, LaunchType};
    for t in &app.tasks {
        for c in &t.containers {
            let private_ecr = match &c.image {
                Image::Ecr { .. } => true,
                Image::External { reference } => reference.split('/').next().is_some_and(|h| h.contains(".dkr.ecr.") && h.ends_with(".amazonaws.com")),
            };
            if private_ecr {
                return Some(format!("service {:?} runs the private ECR image {}, which ECS pulls with the task execution role", t.name, c.image.reference()));
            }
            if let Some((var, _)) = c.secrets.first() {
                return Some(format!("service {:?} reads the secret {var}, which ECS fetches with the task execution role", t.name));
            }
            if app.launch_type == LaunchType::Fargate && matches!(c.logging, ContainerLogging::Awslogs { .. }) {
                return Some(format!(
                    "service {:?} logs to CloudWatch (awslogs) on Fargate, which writes with the task execution role",
                    t.name
                ));
            }
        }
    }
    None
}

/// The error (a warning when `strict` is off: the sim and emulators check
/// no IAM) when the tasks need an execution role and the spec names none.
pub fn execution_role_check(loaded: &Loaded, strict: bool) -> Option<Diagnostic> {
    let app = &loaded.app;
    if app.execution_role_arn.is_some() {
        return None;
    }
    let why = execution_role_reason(app)?;
    let path = p(&["x-berth", "execution_role_arn"]);
    let pos = match loaded.tree.get("x-berth") {
        None => loaded.tree.as_map().and_then(|m| m.values().next()).map(|e| e.key_pos.clone()),
        Some(_) => Some(loaded.tree.pos_of(&path)),
    };
    let message = if strict { why } else { format!("{why}; on AWS, plan stops here until it is set") };
    let hint = "set x-berth.execution_role_arn to a role ECS tasks may assume; `berth iam-policy --execution-role` prints its trust policy and the permissions this spec needs";
    let d = if strict { Diagnostic::error("x-berth.execution_role_arn", message) } else { Diagnostic::warning("x-berth.execution_role_arn", message) };
    Some(d.at(pos).hint(hint))
}
