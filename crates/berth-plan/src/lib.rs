//! berth-plan: `diff(desired, observed) -> Plan`, the plan as data, its
//! order, and the checks that make a saved plan safe to apply.

pub mod capacity;
mod diff;
pub mod fingerprint;
pub mod graph;
pub mod images;
pub mod migrations;
pub mod normalize;
mod order;
pub mod pipeline;
mod plan;
pub mod redeploy;
pub mod scaling;

use std::collections::BTreeMap;

use berth_model::Desired;
use berth_provider::{Kind, Scope};

pub use diff::{
    changed_paths, diff, diff_destroy, spec_digest, PlanContext, PlanError, AUTOSCALING_WARNING, NEW_REVISION, REVISION_WARNING,
    ROUTE_WARNING,
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
        // Both colors of a blue/green service (an untagged one has no tag to find it by).
        service_names: desired.services.iter().flat_map(|s| s.live_names().into_iter().map(|(name, _)| name)).collect(),
        target_group_names: desired.target_groups.iter().map(|t| t.name.clone()).collect(),
        repository_names: desired.ecr_repositories.iter().map(|r| r.repository_name.clone()).collect(),
        cloud_map_names: desired.cloud_map_services.iter().map(|c| c.name.clone()).collect(),
        load_balancer_name: desired.load_balancer.as_ref().map(|l| l.name.clone()),
        log_group_names: desired.log_group.iter().map(|g| g.log_group_name.clone()).collect(),
        renamed: renamed(desired),
    }
}

/// The compose names of live names that are not `<app>-<service>`
/// (`x-berth.names`), so observe gives them the desired addresses.
fn renamed(desired: &Desired) -> BTreeMap<(Kind, String), String> {
    let default = |name: &str, short: &str| name == format!("{}-{short}", desired.app);
    let mut out = BTreeMap::new();
    for s in &desired.services {
        out.extend(
            s.live_names().into_iter().filter(|(name, short)| !default(name, short)).map(|(name, short)| ((Kind::Service, name), short)),
        );
        if !default(&s.task_definition, &s.compose_name) {
            out.insert((Kind::TaskDefinition, s.task_definition.clone()), s.compose_name.clone());
        }
    }
    for t in desired.target_groups.iter().filter(|t| !default(&t.name, &t.service)) {
        out.insert((Kind::TargetGroup, t.name.clone()), t.service.clone());
    }
    out
}
