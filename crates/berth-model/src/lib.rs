//! berth-model: the resources berth manages, in the shape of the AWS APIs,
//! and the lowering of a validated spec into them.

pub mod lifecycle;
pub mod lower;
pub mod resources;

pub use lower::lower;
pub use resources::Desired;

use serde::Serialize;

/// One resource with its plan address, as `berth render` prints it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rendered {
    pub address: String,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
    pub spec: serde_json::Value,
}

fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    // Serializing plain data structs to a JSON value cannot fail.
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}

impl Desired {
    /// Every resource with its address, in apply order: ECR, task
    /// definitions, load balancer, target groups, rules and Cloud Map, services.
    pub fn rendered(&self) -> Vec<Rendered> {
        let mut out = Vec::new();
        let mut push = |address: String, kind: &'static str, depends_on: Vec<String>, spec: serde_json::Value| {
            out.push(Rendered { address, kind, depends_on, spec })
        };
        push(format!("cluster.{}", self.cluster.cluster_name), "cluster", vec![], to_json(&self.cluster));
        if let Some(g) = &self.log_group {
            push(format!("logs.{}", g.log_group_name), "log_group", vec![], to_json(g));
        }
        for r in &self.ecr_repositories {
            push(format!("ecr.{}", r.repository_name), "ecr_repository", vec![], to_json(r));
        }
        for t in &self.task_definitions {
            let short = t.family.strip_prefix(&format!("{}-", self.app)).unwrap_or(&t.family);
            push(format!("taskdef.{short}"), "task_definition", vec![], to_json(t));
        }
        if let Some(lb) = &self.load_balancer {
            push("lb.main".into(), "load_balancer", vec![], to_json(lb));
        }
        for tg in &self.target_groups {
            push(format!("tg.{}", tg.service), "target_group", vec![], to_json(tg));
        }
        for r in &self.listener_rules {
            let deps = r.actions.iter().flat_map(|a| a.forward_config.target_groups.iter().map(|t| t.target_group_arn.clone())).collect();
            push(r.address.clone(), "listener_rule", deps, to_json(r));
        }
        if let Some(ns) = &self.namespace {
            push(format!("namespace.{}", ns.name), "namespace", vec![], to_json(ns));
        }
        for s in &self.cloud_map_services {
            push(format!("cloudmap.{}", s.name), "cloud_map_service", vec![], to_json(s));
        }
        for s in &self.services {
            push(
                format!("service.{}", s.compose_name),
                "service",
                s.depends_on.iter().map(|d| format!("service.{d}")).collect(),
                to_json(s),
            );
        }
        // A migration is a step, not a resource: in the digest and in
        // `berth render`, and planned by berth-plan from this entry.
        for m in &self.migrations {
            push(format!("migrate.{}", m.service), "migration", vec![format!("taskdef.{}", m.service)], to_json(m));
        }
        out
    }
}
