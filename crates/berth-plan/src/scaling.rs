//! A blue/green service's scalable target lives on one color: moving it to
//! the other is the same rewrite for the plan (which follows the live
//! color) and for apply (after a deployment moved the traffic).

use serde_json::Value;

/// Points a `scalable_target` spec of compose service `short` from color
/// `from` to color `to`: its resource id (`…/<name>-<from>`) and the target
/// group its request policy tracks (`tg.<short>-<from>`).
pub fn move_to_color(spec: &mut Value, short: &str, from: &str, to: &str) {
    if let Some(id) = spec["resourceId"].as_str().and_then(|id| id.strip_suffix(&format!("-{from}"))) {
        spec["resourceId"] = Value::String(format!("{id}-{to}"));
    }
    let (old_tg, new_tg) = (format!("tg.{short}-{from}"), format!("tg.{short}-{to}"));
    if let Some(Value::Array(policies)) = spec.get_mut("scalingPolicies") {
        for p in policies.iter_mut() {
            let label = p.pointer_mut("/targetTrackingScalingPolicyConfiguration/predefinedMetricSpecification/resourceLabel");
            if let Some(l) = label.filter(|l| l.as_str() == Some(old_tg.as_str())) {
                *l = Value::String(new_tg.clone());
            }
        }
    }
}
