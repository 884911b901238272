//! ECR lifecycle rules from the spec's declarative list → the lifecycle
//! policy document ECR takes, priorities assigned in list order.

use berth_spec::types::LifecycleRule;
use serde_json::{json, Value};

/// The policy document, or `None` when the spec lists no rules. The rules
/// were validated by berth-spec (shape, `any` last, counts above zero).
pub fn compile(rules: &[LifecycleRule]) -> Option<Value> {
    if rules.is_empty() {
        return None;
    }
    let rules: Vec<Value> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let prefixes = r.tag_prefix.clone().unwrap_or_default();
            let status = match r.tag_status.as_deref() {
                Some(s) => s.to_string(),
                None if !prefixes.is_empty() => "tagged".into(),
                None => "any".into(),
            };
            let mut selection = json!({ "tagStatus": status });
            if !prefixes.is_empty() {
                selection["tagPrefixList"] = json!(prefixes);
            }
            let description = r.description.clone().unwrap_or_else(|| match (r.keep_last, r.expire_after_days) {
                (Some(n), _) => format!("keep the last {n} {}images", describe_status(&status, &prefixes)),
                (None, Some(d)) => format!("expire {}images {d} days after push", describe_status(&status, &prefixes)),
                (None, None) => String::new(),
            });
            if let Some(n) = r.keep_last {
                selection["countType"] = json!("imageCountMoreThan");
                selection["countNumber"] = json!(n);
            } else if let Some(d) = r.expire_after_days {
                selection["countType"] = json!("sinceImagePushed");
                selection["countUnit"] = json!("days");
                selection["countNumber"] = json!(d);
            }
            json!({
                "rulePriority": i + 1,
                "description": description,
                "selection": selection,
                "action": { "type": "expire" },
            })
        })
        .collect();
    Some(json!({ "rules": rules }))
}

/// The words before "images" in a description: "untagged ", "dev*/qa* ", or nothing for `any`.
fn describe_status(status: &str, prefixes: &[String]) -> String {
    match status {
        "tagged" if !prefixes.is_empty() => format!("{} ", prefixes.iter().map(|p| format!("{p}*")).collect::<Vec<_>>().join("/")),
        "any" => String::new(),
        other => format!("{other} "),
    }
}
