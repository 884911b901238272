//! The simulated account's state: plain data, persisted as JSON so separate
//! berth invocations see one account.

use std::collections::BTreeMap;

use berth_model::resources::{
    CloudMapService, EcrRepository, ListenerRule, LoadBalancer, Namespace, Service, Tag, TargetGroup, TaskDefinition,
};
use berth_provider::{ServiceEvent, StoppedTask};
use serde::{Deserialize, Serialize};

use crate::faults::Faults;

pub const ACCOUNT: &str = "000000000000";
pub const REGION: &str = "sim-1";
/// 2026-01-01T00:00:00Z: the virtual clock starts here.
pub const EPOCH_MS: u64 = 1_767_225_600_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimState {
    pub now_ms: u64,
    pub seq: u64,
    pub clusters: BTreeMap<String, SimCluster>,
    /// family → revisions, oldest first.
    pub task_definitions: BTreeMap<String, Vec<SimTaskDefinition>>,
    /// By service name (one cluster namespace is enough for berth's apps;
    /// the cluster is part of each service).
    pub services: BTreeMap<String, SimService>,
    pub load_balancers: BTreeMap<String, SimLoadBalancer>,
    /// By ARN.
    pub target_groups: BTreeMap<String, SimTargetGroup>,
    /// By ARN. A listener named in a spec is assumed to exist (the sim
    /// creates it on first use), as the real one would.
    pub listeners: BTreeMap<String, SimListener>,
    /// By ARN.
    pub namespaces: BTreeMap<String, SimNamespace>,
    /// By ARN.
    pub cloud_map_services: BTreeMap<String, SimCloudMapService>,
    /// By repository name.
    pub repositories: BTreeMap<String, SimRepository>,
    #[serde(default)]
    pub faults: Faults,
    /// The sim plays CI's part: a tag looked up in ECR that was never pushed
    /// resolves as if it had been (to a digest derived from repository and
    /// tag), so examples plan and apply without a real build. Off for tests
    /// of the missing-image error.
    #[serde(default = "yes")]
    pub auto_push: bool,
    /// digest → `repository:tag` of every tag the sim resolved to a digest,
    /// so a task definition pinned by digest still shows the tag its fault
    /// markers (`crashloop`, ...) were written in.
    #[serde(default)]
    pub resolved_tags: BTreeMap<String, String>,
    /// Container log lines by log group, oldest first: the sim's tasks write
    /// to the awslogs group and stream their container definitions name.
    #[serde(default)]
    pub log_events: BTreeMap<String, Vec<SimLogEvent>>,
    /// CloudWatch Logs groups by name.
    #[serde(default)]
    pub log_groups: BTreeMap<String, crate::logs::SimLogGroup>,
    /// One-off tasks (RunTask) by id, stopped ones for an hour after.
    #[serde(default)]
    pub run_tasks: BTreeMap<String, crate::oneoff::SimRunTask>,
    /// Application Auto Scaling scalable targets of ECS services (dimension
    /// `ecs:service:DesiredCount`), by resource id `service/<cluster>/<service>`,
    /// as whoever registered them (berth or not) left them.
    #[serde(default)]
    pub scalable_targets: BTreeMap<String, SimScalableTarget>,
    /// The simulated load of services, by service name (see [`crate::scaling`]).
    #[serde(default)]
    pub load: BTreeMap<String, crate::scaling::SimLoad>,
}

/// One scalable target: the bounds the scaler keeps a service's desired
/// count in, and (when berth or a test put them) its policies and state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SimScalableTarget {
    pub min_capacity: u32,
    pub max_capacity: u32,
    #[serde(default)]
    pub arn: String,
    #[serde(default)]
    pub tags: Vec<berth_model::resources::Tag>,
    #[serde(default)]
    pub policies: Vec<berth_model::resources::ScalingPolicy>,
    #[serde(default)]
    pub scheduled_actions: Vec<berth_model::resources::ScheduledAction>,
    /// SuspendedState.DynamicScalingInSuspended.
    #[serde(default)]
    pub scale_in_suspended: bool,
    /// When the scaler last scaled out / in (cooldowns).
    #[serde(default)]
    pub last_scale_out_ms: u64,
    #[serde(default)]
    pub last_scale_in_ms: u64,
    /// When its alarms last evaluated.
    #[serde(default)]
    pub last_evaluated_ms: u64,
}

/// The Application Auto Scaling resource id of an ECS service:
/// `service/<cluster name>/<service name>` (a cluster ARN gives its name).
pub fn scalable_resource_id(cluster: &str, service: &str) -> String {
    let cluster = cluster.rsplit_once(":cluster/").map_or(cluster, |(_, name)| name);
    format!("service/{cluster}/{service}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimLogEvent {
    pub stream: String,
    pub at_ms: u64,
    pub message: String,
}

fn yes() -> bool {
    true
}

impl Default for SimState {
    fn default() -> Self {
        SimState {
            now_ms: EPOCH_MS,
            seq: 0,
            clusters: BTreeMap::new(),
            task_definitions: BTreeMap::new(),
            services: BTreeMap::new(),
            load_balancers: BTreeMap::new(),
            target_groups: BTreeMap::new(),
            listeners: BTreeMap::new(),
            namespaces: BTreeMap::new(),
            cloud_map_services: BTreeMap::new(),
            repositories: BTreeMap::new(),
            faults: Faults::default(),
            auto_push: true,
            resolved_tags: BTreeMap::new(),
            log_events: BTreeMap::new(),
            log_groups: BTreeMap::new(),
            run_tasks: BTreeMap::new(),
            scalable_targets: BTreeMap::new(),
            load: BTreeMap::new(),
        }
    }
}

impl SimState {
    /// A fresh id, unique in this account.
    pub fn next_id(&mut self) -> String {
        self.seq += 1;
        format!("{:012x}", self.seq)
    }

    pub fn registry() -> String {
        format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com")
    }

    pub fn arn(service: &str, resource: &str) -> String {
        format!("arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimCluster {
    pub arn: String,
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub capacity_providers: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimTaskDefinition {
    pub arn: String,
    pub revision: u32,
    /// `ACTIVE` or `INACTIVE`.
    pub status: String,
    pub spec: TaskDefinition,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimService {
    pub arn: String,
    /// As last created/updated, references as ARNs.
    pub spec: Service,
    /// Oldest first; the last one is PRIMARY.
    pub deployments: Vec<SimDeployment>,
    pub tasks: Vec<SimTask>,
    pub events: Vec<ServiceEvent>,
    pub stopped: Vec<StoppedTask>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimDeployment {
    pub id: String,
    pub task_definition: String,
    /// `PRIMARY`, `ACTIVE` or `INACTIVE`.
    pub status: String,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED`.
    pub rollout_state: String,
    pub rollout_state_reason: Option<String>,
    pub failed_tasks: u32,
    pub created_ms: u64,
}

impl SimDeployment {
    /// A deployment ECS just started: the service's primary, in progress.
    pub fn started(id: String, task_definition: String, now_ms: u64) -> Self {
        SimDeployment {
            id,
            task_definition,
            status: "PRIMARY".into(),
            rollout_state: "IN_PROGRESS".into(),
            rollout_state_reason: None,
            failed_tasks: 0,
            created_ms: now_ms,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TaskState {
    Pending,
    Running,
    Stopped,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimTask {
    pub id: String,
    pub task_definition: String,
    pub deployment_id: String,
    pub state: TaskState,
    pub running_at_ms: Option<u64>,
    pub healthy_at_ms: Option<u64>,
    pub stop_at_ms: Option<u64>,
    pub stop_reason: Option<String>,
    pub healthy: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimLoadBalancer {
    pub arn: String,
    /// The ALB's listener (empty for an NLB: its listeners are the routes').
    pub listener_arn: String,
    pub dns_name: String,
    pub spec: LoadBalancer,
    /// The VPC of its subnets (a test sets it for a load balancer it seeds).
    #[serde(default)]
    pub vpc_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimTargetGroup {
    pub arn: String,
    pub spec: TargetGroup,
    /// task id → health (`initial`, `healthy`, `unhealthy`, `draining`).
    pub targets: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimListener {
    pub arn: String,
    pub rules: Vec<SimRule>,
    /// The load balancer it is on (empty: a listener only rules were put on).
    #[serde(default)]
    pub load_balancer_arn: String,
    /// An NLB listener's protocol, port and forward (ARNs resolved).
    #[serde(default)]
    pub spec: Option<berth_model::resources::Listener>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimRule {
    pub arn: String,
    pub priority: u32,
    /// Conditions and actions with target group ARNs.
    pub spec: ListenerRule,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimNamespace {
    pub arn: String,
    pub id: String,
    pub spec: Namespace,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimCloudMapService {
    pub arn: String,
    pub namespace_arn: String,
    pub spec: CloudMapService,
    /// Registered instances: task id → IP.
    pub instances: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimRepository {
    pub arn: String,
    pub uri: String,
    pub spec: EcrRepository,
    pub images: Vec<SimImage>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimImage {
    pub digest: String,
    pub tags: Vec<String>,
    pub pushed_at_ms: u64,
}
