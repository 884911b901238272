//! berth-model: the resources berth manages, in the shape of the AWS APIs,
//! and the lowering of a validated spec into them.

pub mod lifecycle;
pub mod lower;
pub mod nlb;
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

/// A [`Desired`] as a saved plan holds it (so apply needs no spec and no
/// variables): the resources in their AWS shapes, plus berth's own fields
/// those shapes leave out, by position.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct SavedDesired {
    pub desired: Desired,
    /// `TargetGroup::service` of each target group.
    pub target_group_services: Vec<String>,
    /// `ListenerRule::address` of each rule.
    pub rule_addresses: Vec<String>,
    /// `Service::compose_name` and `Service::depends_on` of each service.
    pub services: Vec<(String, Vec<String>)>,
    /// `ScalableTarget::service` of each scalable target.
    #[serde(default)]
    pub scalable_target_services: Vec<String>,
    /// `Listener::service` of each NLB listener.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listener_services: Vec<String>,
}

impl From<&Desired> for SavedDesired {
    fn from(d: &Desired) -> Self {
        SavedDesired {
            desired: d.clone(),
            target_group_services: d.target_groups.iter().map(|t| t.service.clone()).collect(),
            rule_addresses: d.listener_rules.iter().map(|r| r.address.clone()).collect(),
            services: d.services.iter().map(|s| (s.compose_name.clone(), s.depends_on.clone())).collect(),
            scalable_target_services: d.scalable_targets.iter().map(|t| t.service.clone()).collect(),
            listener_services: d.listeners.iter().map(|l| l.service.clone()).collect(),
        }
    }
}

impl SavedDesired {
    /// The app again; `Err` when the positional fields do not fit (an edited file).
    pub fn into_desired(self) -> Result<Desired, String> {
        let mut d = self.desired;
        if d.target_groups.len() != self.target_group_services.len()
            || d.listener_rules.len() != self.rule_addresses.len()
            || d.services.len() != self.services.len()
            || d.scalable_targets.len() != self.scalable_target_services.len()
            || d.listeners.len() != self.listener_services.len()
        {
            return Err("the saved app's resources and their berth fields do not line up".into());
        }
        for (t, service) in d.target_groups.iter_mut().zip(self.target_group_services) {
            t.service = service;
        }
        for (r, address) in d.listener_rules.iter_mut().zip(self.rule_addresses) {
            r.address = address;
        }
        for (s, (compose_name, depends_on)) in d.services.iter_mut().zip(self.services) {
            s.compose_name = compose_name;
            s.depends_on = depends_on;
        }
        for (t, service) in d.scalable_targets.iter_mut().zip(self.scalable_target_services) {
            t.service = service;
        }
        for (l, service) in d.listeners.iter_mut().zip(self.listener_services) {
            l.service = service;
        }
        Ok(d)
    }
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
            // Its service's compose name (the family may be `x-berth.names.family`).
            let short = match self.services.iter().find(|s| s.task_definition == t.family) {
                Some(s) => s.compose_name.as_str(),
                None => t.family.strip_prefix(&format!("{}-", self.app)).unwrap_or(&t.family),
            };
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
        for l in &self.listeners {
            let deps = l.default_actions.iter().flat_map(|a| a.forward_config.target_groups.iter().map(|t| t.target_group_arn.clone()));
            let deps = std::iter::once(l.load_balancer_arn.clone()).chain(deps).collect();
            push(nlb::listener_address(&l.service), "listener", deps, to_json(l));
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
        // Scaling after the service it scales exists.
        for t in &self.scalable_targets {
            push(format!("scaling.{}", t.service), "scalable_target", vec![format!("service.{}", t.service)], to_json(t));
        }
        // A migration is a step, not a resource: in the digest and in
        // `berth render`, and planned by berth-plan from this entry.
        for m in &self.migrations {
            push(format!("migrate.{}", m.service), "migration", vec![format!("taskdef.{}", m.service)], to_json(m));
        }
        out
    }
}
