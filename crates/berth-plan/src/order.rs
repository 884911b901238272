//! Apply order: ECR → task definitions → load balancer → target groups →
//! listener rules and Cloud Map → services (dependencies first); then
//! deletes, traffic first: rules → target groups → services → Cloud Map →
//! task definitions → ECR → namespace → load balancer → cluster.

use std::collections::BTreeSet;

use berth_provider::Kind;

use crate::plan::{Action, Change};

const FORWARD_ORDER: &[Kind] = &[
    Kind::Cluster,
    Kind::LogGroup,
    Kind::EcrRepository,
    Kind::TaskDefinition,
    Kind::LoadBalancer,
    Kind::TargetGroup,
    Kind::Namespace,
    Kind::ListenerRule,
    Kind::Listener,
    Kind::CloudMapService,
    Kind::Service,
    Kind::ScalableTarget,
];

/// Deletes stop traffic before removing what serves it, and remove a
/// service before the discovery and images it used.
pub const DELETE_ORDER: &[Kind] = &[
    // A scaler would hold a service it scales at its minimum.
    Kind::ScalableTarget,
    Kind::ListenerRule,
    Kind::Listener,
    Kind::TargetGroup,
    Kind::Service,
    Kind::CloudMapService,
    Kind::TaskDefinition,
    Kind::LogGroup,
    Kind::EcrRepository,
    Kind::Namespace,
    Kind::LoadBalancer,
    Kind::Cluster,
];

fn rank(order: &[Kind], kind: &str) -> usize {
    Kind::parse(kind).and_then(|k| order.iter().position(|o| *o == k)).unwrap_or(order.len())
}

pub fn order_changes(changes: Vec<Change>) -> Vec<Change> {
    let (mut deletes, mut forward): (Vec<Change>, Vec<Change>) = changes.into_iter().partition(|c| c.action == Action::Delete);
    forward.sort_by_key(|c| rank(FORWARD_ORDER, &c.kind));
    deletes.sort_by(|a, b| rank(DELETE_ORDER, &a.kind).cmp(&rank(DELETE_ORDER, &b.kind)).then_with(|| a.address.cmp(&b.address)));
    // Scalers after the services they scale.
    let (scalers, forward): (Vec<Change>, Vec<Change>) = forward.into_iter().partition(|c| c.kind == Kind::ScalableTarget.as_str());
    let forward = services_after_their_dependencies(forward);
    forward.into_iter().chain(scalers).chain(deletes).collect()
}

/// Stable topological order of the service changes by `depends_on`: in
/// rounds, each taking (in plan order) every change whose dependencies are
/// placed — one round when nothing depends on anything.
fn services_after_their_dependencies(changes: Vec<Change>) -> Vec<Change> {
    let (services, mut rest): (Vec<Change>, Vec<Change>) = changes.into_iter().partition(|c| c.kind == "service");
    let addresses: BTreeSet<String> = services.iter().map(|c| c.address.clone()).collect();
    let mut placed: BTreeSet<String> = BTreeSet::new();
    let mut pending = services;
    while !pending.is_empty() {
        let (ready, waiting): (Vec<Change>, Vec<Change>) =
            pending.into_iter().partition(|c| c.depends_on.iter().all(|d| placed.contains(d) || !addresses.contains(d)));
        if ready.is_empty() {
            // A cycle was rejected by validation; keep the rest in plan order.
            rest.extend(waiting);
            break;
        }
        placed.extend(ready.iter().map(|c| c.address.clone()));
        rest.extend(ready);
        pending = waiting;
    }
    rest
}
