//! How an ECS service tags its tasks: `x-berth.propagate_tags` (ECS's
//! `SERVICE`, `TASK_DEFINITION` or `NONE`; berth's default is `SERVICE`, so
//! tasks carry the app's tags) and `x-berth.ecs_managed_tags` (ECS's own
//! `aws:ecs:*` tags; default on). Services made before berth often differ,
//! and `berth import` writes what they use.

use crate::resolve::{p, Ctx};
use crate::types;

/// `(propagateTags, enableECSManagedTags)` of service `name`.
pub(crate) fn resolve_service_tags(cx: &mut Ctx, name: &str, svc: &types::Service) -> (String, bool) {
    let x = svc.x_berth.as_ref();
    let propagate = match x.and_then(|x| x.propagate_tags.as_deref()) {
        None => "SERVICE".to_string(),
        Some(v) => match v.to_ascii_uppercase().replace('-', "_").as_str() {
            p @ ("SERVICE" | "TASK_DEFINITION" | "NONE") => p.to_string(),
            _ => {
                cx.error(
                    &p(&["services", name, "x-berth", "propagate_tags"]),
                    format!("{v:?} is not a way ECS propagates tags"),
                    Some("use SERVICE (the service's tags), TASK_DEFINITION or NONE"),
                );
                "SERVICE".to_string()
            }
        },
    };
    (propagate, x.and_then(|x| x.ecs_managed_tags).unwrap_or(true))
}
