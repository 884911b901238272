//! A change of a service's capacity provider strategy: ECS takes it in
//! UpdateService, but it applies only to a new deployment, so the plan's
//! update sets `forceNewDeployment` and says so.

use crate::plan::{Action, Plan};
use crate::redeploy::FORCE;

/// The field of a service's strategy.
pub const STRATEGY: &str = "capacityProviderStrategy";

/// What the plan says of a service update that changes its strategy.
pub const NEEDS_DEPLOYMENT: &str = "the capacity provider strategy changes: a new deployment (forceNewDeployment) moves the tasks";

/// Marks each service update that changes the strategy for a new deployment.
pub fn mark(plan: &mut Plan) {
    for c in plan.changes.iter_mut().filter(|c| c.kind == "service" && c.action == Action::Update) {
        if !c.changed.iter().any(|p| p.starts_with(STRATEGY)) || c.changed.iter().any(|p| p == FORCE) {
            continue;
        }
        if let Some(after) = c.after.as_mut() {
            after[FORCE] = serde_json::Value::Bool(true);
        }
        c.changed.push(FORCE.to_string());
        c.reason = format!("{}; {NEEDS_DEPLOYMENT}", c.reason);
    }
}
