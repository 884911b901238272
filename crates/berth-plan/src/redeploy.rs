//! `berth apply --redeploy SERVICE…`: a new deployment of the revision a
//! service runs (after a secret rotated, say), as an explicit change of the
//! plan: an update whose only changed field is `forceNewDeployment`.

use berth_provider::{Kind, Observed};
use serde_json::Value;

use crate::normalize::{normalize, ArnMap};
use crate::plan::{Action, Change, Plan};

/// The field a redeploy changes.
pub const FORCE: &str = "forceNewDeployment";

/// Marks each named service (compose name) for a forced new deployment:
/// its planned update gains `forceNewDeployment`, or, unchanged, it gets an
/// update of that field alone. A service the plan creates deploys anyway.
pub fn redeploy(plan: &mut Plan, observed: &Observed, services: &[String]) -> Result<(), String> {
    let arns: ArnMap = observed.resources.iter().map(|r| (r.arn.clone(), r.address.clone())).collect();
    for name in services {
        let address = format!("service.{name}");
        if let Some(c) = plan.changes.iter_mut().find(|c| c.address == address) {
            match c.action {
                Action::Create => continue,
                Action::Update => {
                    if let Some(after) = c.after.as_mut() {
                        after[FORCE] = Value::Bool(true);
                    }
                    c.changed.push(FORCE.to_string());
                    c.reason = format!("{}; and a new deployment (--redeploy)", c.reason);
                    continue;
                }
                _ => return Err(format!("service {name:?} is being {}d by this plan: it cannot be redeployed", c.action.verb())),
            }
        }
        let live = observed.get(&address).filter(|l| l.owned_by(&plan.app)).ok_or_else(|| {
            format!("service {name:?} is not deployed (no {address} of app {} in the account): nothing to redeploy", plan.app)
        })?;
        if live.spec.get("blueGreen").is_some_and(|b| !b.is_null()) {
            return Err(format!(
                "service {name:?} deploys blue/green: --redeploy is for rolling services (change its image or spec instead)"
            ));
        }
        let before = normalize(Kind::Service, &live.spec, &arns);
        let mut after = before.clone();
        after[FORCE] = Value::Bool(true);
        plan.unchanged.retain(|u| u.address != address);
        plan.changes.push(Change {
            address: address.clone(),
            kind: Kind::Service.as_str().into(),
            action: Action::Update,
            reason: "a new deployment of the revision it runs (--redeploy)".into(),
            before: Some(before),
            after: Some(after),
            changed: vec![FORCE.to_string()],
            arn: Some(live.arn.clone()),
            // Like every change that touches what serves: after the migrations.
            depends_on: crate::migrations::addresses(plan),
        });
        plan.summary.update += 1;
        plan.summary.unchanged = plan.summary.unchanged.saturating_sub(1);
    }
    Ok(())
}
