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
    if network.vpc_id.is_none() {
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
