//! The `x-aws-*` extensions of Docker's retired Compose-on-ECS integration,
//! read by `berth init --from`: each is commented out in the copy and,
//! where berth has the same setting, written again as its x-berth key —
//! `x-aws-cluster` → `cluster`, `x-aws-vpc` → `network.vpc_id`,
//! `x-aws-logs_retention` → `logs.retention_days`, a service's
//! `x-aws-autoscaling` → `autoscaling`, `x-aws-min_percent` /
//! `x-aws-max_percent` → `rolling`. The rest gets a note saying what to do.

use berth_spec::node::{self, NodeValue};

/// What the `x-aws-*` keys of a Compose file become.
#[derive(Default)]
pub struct XAws {
    /// (first line, last line, why) of each key's block, to comment out.
    pub blocks: Vec<(usize, usize, String)>,
    pub cluster: Option<String>,
    pub vpc_id: Option<String>,
    pub logs_retention_days: Option<String>,
    /// Per service: x-berth entries (`autoscaling: { ... }`), one line each.
    pub service_keys: Vec<(String, Vec<String>)>,
    pub notes: Vec<String>,
}

fn last_line(n: &node::Node) -> usize {
    match &n.value {
        NodeValue::Scalar { .. } => n.pos.line,
        NodeValue::Seq(items) => items.iter().map(last_line).max().unwrap_or(n.pos.line),
        NodeValue::Map(entries) => entries.values().map(|e| last_line(&e.value).max(e.key_pos.line)).max().unwrap_or(n.pos.line),
    }
}

fn scalar(n: &node::Node) -> Option<String> {
    match &n.value {
        NodeValue::Scalar { text, .. } => Some(text.clone()),
        _ => None,
    }
}

pub fn read(tree: &node::Node) -> XAws {
    let mut x = XAws::default();
    let Some(top) = tree.as_map() else { return x };
    for (key, entry) in top.iter().filter(|(k, _)| k.starts_with("x-aws-")) {
        let value = scalar(&entry.value);
        let why = match key.as_str() {
            "x-aws-cluster" => {
                // A cluster ARN names its cluster last.
                x.cluster = value.map(|v| v.rsplit('/').next().unwrap_or(&v).to_string());
                "x-berth.cluster below".to_string()
            }
            "x-aws-vpc" => {
                x.vpc_id = value;
                "x-berth.network.vpc_id below".to_string()
            }
            "x-aws-logs_retention" => {
                x.logs_retention_days = value;
                "x-berth.logs.retention_days below".to_string()
            }
            "x-aws-loadbalancer" => {
                x.notes.push(format!(
                    "{key}: berth routes through a listener of a load balancer, not the load balancer itself: set x-berth.load_balancer.listener to the ARN of {} 's HTTP(S) listener",
                    value.unwrap_or_default()
                ));
                "berth names the load balancer's listener in x-berth.load_balancer.listener".to_string()
            }
            "x-aws-cloudformation" => {
                x.notes.push(format!("{key}: CloudFormation overlays have no berth equivalent; not converted"));
                "CloudFormation overlays have no berth equivalent".to_string()
            }
            other => {
                x.notes.push(format!("{other}: not converted"));
                "not converted".to_string()
            }
        };
        x.blocks.push((entry.key_pos.line, last_line(&entry.value).max(entry.key_pos.line), why));
    }
    let services = top.get("services").and_then(|s| s.value.as_map());
    for (name, svc) in services.into_iter().flatten() {
        let Some(keys) = svc.value.as_map() else { continue };
        let mut lines = Vec::new();
        let (mut min_percent, mut max_percent) = (None, None);
        for (key, entry) in keys.iter().filter(|(k, _)| k.starts_with("x-aws-")) {
            let why = match key.as_str() {
                "x-aws-autoscaling" => {
                    let get = |k: &str| entry.value.get(k).and_then(scalar);
                    match (get("min"), get("max")) {
                        (Some(min), Some(max)) => {
                            // Compose-on-ECS tracked CPU (percent) only.
                            let cpu = get("cpu").map_or_else(|| "70%".to_string(), |c| format!("{}%", c.trim_end_matches('%')));
                            lines.push(format!("autoscaling: {{ min: {min}, max: {max}, cpu: {cpu} }}"));
                            if get("memory").is_some() {
                                x.notes.push(format!("services.{name}.{key}.memory: Compose-on-ECS never tracked memory; add `memory:` to x-berth.autoscaling if you want it"));
                            }
                            "x-berth.autoscaling".to_string()
                        }
                        _ => {
                            x.notes.push(format!("services.{name}.{key}: needs min and max; not converted"));
                            "needs min and max".to_string()
                        }
                    }
                }
                "x-aws-min_percent" => {
                    min_percent = scalar(&entry.value);
                    "x-berth.rolling.min_healthy_percent".to_string()
                }
                "x-aws-max_percent" => {
                    max_percent = scalar(&entry.value);
                    "x-berth.rolling.max_percent".to_string()
                }
                "x-aws-role" | "x-aws-policies" => {
                    x.notes.push(format!(
                        "services.{name}.{key}: berth does not create IAM roles; make a task role with these permissions and set x-berth.task_role_arn"
                    ));
                    "set x-berth.task_role_arn to a role with these permissions".to_string()
                }
                "x-aws-pull_credentials" => {
                    x.notes.push(format!(
                        "services.{name}.{key}: private registry credentials (repositoryCredentials) are not converted; push the image to ECR"
                    ));
                    "private registry credentials are not converted".to_string()
                }
                other => {
                    x.notes.push(format!("services.{name}.{other}: not converted"));
                    "not converted".to_string()
                }
            };
            x.blocks.push((entry.key_pos.line, last_line(&entry.value).max(entry.key_pos.line), why));
        }
        if min_percent.is_some() || max_percent.is_some() {
            let mut parts = Vec::new();
            if let Some(v) = min_percent {
                parts.push(format!("min_healthy_percent: {v}"));
            }
            if let Some(v) = max_percent {
                parts.push(format!("max_percent: {v}"));
            }
            lines.push(format!("rolling: {{ {} }}", parts.join(", ")));
        }
        if !lines.is_empty() {
            x.service_keys.push((name.clone(), lines));
        }
    }
    x
}
