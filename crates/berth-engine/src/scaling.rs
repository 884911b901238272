//! Application Auto Scaling during deployments.
//!
//! Rolling: the service's scale-in is suspended while its deployment runs
//! (as ecspresso's `--suspend-auto-scaling` does), so the scaler does not
//! remove tasks from under a rollout, and resumed afterwards — whether the
//! deployment succeeded or failed.
//!
//! Blue/green (one ECS service per color): the live color carries the
//! scalable target. When a deployment starts, the live color's scale-in is
//! suspended and the new color starts at the live color's current count
//! (at least the planned one); once it runs, it gets the same scalable
//! target (its own resource id and target group) with scale-in suspended,
//! so from then on both colors are scalable and neither shrinks. After a
//! completed shift the old color's target is deregistered before the old
//! color is scaled to zero, and the new color's scale-in resumes; after a
//! failed one the new color's target is deregistered before it is scaled to
//! zero, and the old color's scale-in resumes. So at every moment the color
//! that serves traffic is scalable and runs at least the count the old one
//! had when the shift began.

use berth_model::resources::ScalableTarget;

use crate::apply::Ctx;
use crate::events::EventKind;

/// `arn:aws:ecs:<region>:<account>:service/<cluster>/<name>` → `service/<cluster>/<name>`.
pub fn resource_id_of_service_arn(arn: &str) -> Option<String> {
    let (_, rest) = arn.split_once(":service/")?;
    rest.contains('/').then(|| format!("service/{rest}"))
}

/// `service/<cluster>/<name>` for a service of the app's cluster (a cluster
/// ARN gives its name).
pub fn resource_id(cluster: &str, service_name: &str) -> String {
    let cluster = cluster.rsplit_once(":cluster/").map_or(cluster, |(_, name)| name);
    format!("service/{cluster}/{service_name}")
}

/// Suspends (or resumes) scale-in and says so.
pub async fn suspend(cx: &Ctx<'_>, service: &str, resource_id: &str, suspended: bool) -> Result<(), String> {
    cx.provider.suspend_scale_in(resource_id, suspended).await.map_err(|e| e.to_string())?;
    cx.emit(EventKind::ScaleIn { service: service.to_string(), suspended });
    Ok(())
}

/// A blue/green service's scalable target moved to another color: its
/// resource id and the target group its request policy tracks.
pub fn for_color(target: &ScalableTarget, service_name: &str, cluster: &str, target_group_arn: &str) -> ScalableTarget {
    let mut t = target.clone();
    t.resource_id = resource_id(cluster, service_name);
    for p in t.scaling_policies.iter_mut() {
        let m = &mut p.target_tracking_scaling_policy_configuration.predefined_metric_specification;
        if m.resource_label.is_some() {
            m.resource_label = Some(target_group_arn.to_string());
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_ids() {
        assert_eq!(resource_id_of_service_arn("arn:aws:ecs:eu-west-1:1:service/shop/shop-web").as_deref(), Some("service/shop/shop-web"));
        assert_eq!(resource_id_of_service_arn("arn:aws:ecs:eu-west-1:1:service/shop-web"), None, "an old-format ARN has no cluster");
        assert_eq!(resource_id("arn:aws:ecs:eu-west-1:1:cluster/shop", "shop-web"), "service/shop/shop-web");
    }
}
