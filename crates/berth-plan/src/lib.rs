//! berth-plan: `diff(desired, observed) -> Plan`, the plan as data, its
//! order, and the checks that make a saved plan safe to apply.

pub mod capacity;
mod diff;
pub mod fingerprint;
pub mod graph;
pub mod images;
pub mod migrations;
pub mod normalize;
pub mod pipeline;
pub mod redeploy;
pub mod scaling;
mod order;
mod plan;

use berth_model::Desired;
use berth_provider::Scope;

pub use diff::{
    changed_paths, diff, diff_destroy, spec_digest, PlanContext, PlanError, AUTOSCALING_WARNING, NEW_REVISION, ROUTE_WARNING,
};
pub use plan::*;

/// What to observe for a desired app.
pub fn scope(desired: &Desired) -> Scope {
    Scope {
        app: desired.app.clone(),
        cluster: desired.cluster.cluster_name.clone(),
        listener: desired.listener_rules.first().map(|r| r.listener_arn.clone()),
        namespace: desired.namespace.as_ref().map(|n| n.name.clone()),
        task_families: desired.task_definitions.iter().map(|t| t.family.clone()).collect(),
        service_names: desired.services.iter().map(|s| s.service_name.clone()).collect(),
        target_group_names: desired.target_groups.iter().map(|t| t.name.clone()).collect(),
        repository_names: desired.ecr_repositories.iter().map(|r| r.repository_name.clone()).collect(),
        cloud_map_names: desired.cloud_map_services.iter().map(|c| c.name.clone()).collect(),
        load_balancer_name: desired.load_balancer.as_ref().map(|l| l.name.clone()),
        log_group_names: desired.log_group.iter().map(|g| g.log_group_name.clone()).collect(),
    }
}
