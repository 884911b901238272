//! The live state of an app, as observed.

use berth_model::resources::{Tag, TAG_ADDRESS, TAG_APP, TAG_MANAGED};
use serde::{Deserialize, Serialize};

/// The kinds of resource berth manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Cluster,
    LogGroup,
    EcrRepository,
    TaskDefinition,
    LoadBalancer,
    TargetGroup,
    ListenerRule,
    /// A listener of the network load balancer berth creates.
    Listener,
    Namespace,
    CloudMapService,
    Service,
    ScalableTarget,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Cluster => "cluster",
            Kind::LogGroup => "log_group",
            Kind::EcrRepository => "ecr_repository",
            Kind::TaskDefinition => "task_definition",
            Kind::LoadBalancer => "load_balancer",
            Kind::TargetGroup => "target_group",
            Kind::ListenerRule => "listener_rule",
            Kind::Listener => "listener",
            Kind::Namespace => "namespace",
            Kind::CloudMapService => "cloud_map_service",
            Kind::Service => "service",
            Kind::ScalableTarget => "scalable_target",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "cluster" => Kind::Cluster,
            "log_group" => Kind::LogGroup,
            "ecr_repository" => Kind::EcrRepository,
            "task_definition" => Kind::TaskDefinition,
            "load_balancer" => Kind::LoadBalancer,
            "target_group" => Kind::TargetGroup,
            "listener_rule" => Kind::ListenerRule,
            "listener" => Kind::Listener,
            "namespace" => Kind::Namespace,
            "cloud_map_service" => Kind::CloudMapService,
            "service" => Kind::Service,
            "scalable_target" => Kind::ScalableTarget,
            _ => return None,
        })
    }
}

/// One live resource, its spec in the same API shape as the desired one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveResource {
    /// The plan address (`service.web`), derived from its name (or, for
    /// listener rules, from its `berth:address` tag).
    pub address: String,
    pub kind: Kind,
    /// The AWS name (`shop-web`, `shop-web:3` for a task definition revision).
    pub name: String,
    pub arn: String,
    pub tags: Vec<Tag>,
    pub spec: serde_json::Value,
}

impl LiveResource {
    /// Tagged `berth:managed=true` and `berth:app=<app>`.
    pub fn owned_by(&self, app: &str) -> bool {
        let has = |k: &str, v: &str| self.tags.iter().any(|t| t.key == k && t.value == v);
        has(TAG_MANAGED, "true") && has(TAG_APP, app)
    }
}

/// A listener rule priority already taken on the app's listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TakenPriority {
    pub priority: u32,
    pub rule_arn: String,
    /// The owning app, if berth manages the rule.
    pub owner: Option<String>,
}

/// Everything observed for one app.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Observed {
    pub resources: Vec<LiveResource>,
    /// Priorities in use on the app's listener, by any rule.
    pub taken_priorities: Vec<TakenPriority>,
    /// Per task definition family observe read: its latest ACTIVE revision
    /// (ARN and definition; `None`: it has none), which an apply compares
    /// with the revision it would register (an identical one, left by an
    /// interrupted run or by `berth run`, is reused). A family not here was
    /// not read.
    #[serde(default)]
    pub latest_revisions: std::collections::BTreeMap<String, Option<(String, berth_model::resources::TaskDefinition)>>,
}

impl Observed {
    pub fn get(&self, address: &str) -> Option<&LiveResource> {
        self.resources.iter().find(|r| r.address == address)
    }
}

/// The plan address of a live resource of the scope's app, from its AWS
/// name: `shop-web` → `service.web`, `shop/api` → `ecr.shop/api`, or the
/// compose name the scope gives a name of `x-berth.names`. Listener rules
/// carry their address in the `berth:address` tag instead.
pub fn address_for(kind: Kind, name: &str, scope: &crate::Scope, tags: &[Tag]) -> String {
    let short = |n: &str| {
        let key = (if kind == Kind::ScalableTarget { Kind::Service } else { kind }, n.to_string());
        scope.renamed.get(&key).cloned().unwrap_or_else(|| n.strip_prefix(&format!("{}-", scope.app)).unwrap_or(n).to_string())
    };
    match kind {
        Kind::Cluster => format!("cluster.{name}"),
        Kind::LogGroup => format!("logs.{name}"),
        Kind::EcrRepository => format!("ecr.{name}"),
        Kind::TaskDefinition => format!("taskdef.{}", short(name.split(':').next().unwrap_or(name))),
        Kind::LoadBalancer => "lb.main".to_string(),
        // A replacement target group (`<name>-r1`) carries its address tag.
        Kind::TargetGroup => {
            tags.iter().find(|t| t.key == TAG_ADDRESS).map(|t| t.value.clone()).unwrap_or_else(|| format!("tg.{}", short(name)))
        }
        Kind::ListenerRule => {
            tags.iter().find(|t| t.key == TAG_ADDRESS).map(|t| t.value.clone()).unwrap_or_else(|| format!("rule.unknown/{name}"))
        }
        // Another owner's listener on the load balancer: never ours to change.
        Kind::Listener => {
            tags.iter().find(|t| t.key == TAG_ADDRESS).map(|t| t.value.clone()).unwrap_or_else(|| format!("nlb_listener.unknown/{name}"))
        }
        Kind::Namespace => format!("namespace.{name}"),
        Kind::CloudMapService => format!("cloudmap.{name}"),
        Kind::Service => format!("service.{}", short(name)),
        // Named after the ECS service it scales.
        Kind::ScalableTarget => format!("scaling.{}", short(name)),
    }
}
