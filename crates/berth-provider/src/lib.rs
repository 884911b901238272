//! berth-provider: the seam between berth and an account (real AWS or the
//! simulated one). Everything crossing it is berth's own model types or
//! plain JSON in the AWS API shapes of `berth-model`; no SDK type crosses.

pub mod crash;
mod live;
mod lock;
pub mod logs;
pub mod tasks;

use std::time::Duration;

use async_trait::async_trait;
use berth_model::resources::{
    CloudMapService, Cluster, EcrRepository, ListenerRule, LoadBalancer, LogGroup, Namespace, ScalableTarget, Service, Tag, TargetGroup,
    TaskDefinition,
};

pub use live::*;
pub use lock::*;
pub use logs::{ContainerExit, LogFilter, LogLine};
pub use tasks::{ContainerOverride, RunTaskRequest, TaskStatus};

/// Why a provider call failed, in terms a user can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    #[error("{operation} was throttled by AWS and retries ran out")]
    Throttled { operation: String },
    #[error("{operation} failed on the AWS side ({message}); it is safe to retry")]
    Server { operation: String, message: String },
    #[error("{what} was not found")]
    NotFound { what: String },
    #[error("{what} already exists and is not managed by berth for this app; adopt it or rename ours")]
    NotOwned { what: String },
    #[error("{operation} conflicts with the live state: {message}")]
    Conflict { operation: String, message: String },
    #[error("access denied to {action} on {resource}; see `berth iam-policy` for what berth needs")]
    AccessDenied { action: String, resource: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = ProviderError> = std::result::Result<T, E>;

/// What to observe: the app, and the names its desired resources would take
/// (so same-named resources that are not ours are found too).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub app: String,
    pub cluster: String,
    /// The listener whose rules the app manages, and the priorities taken on it.
    pub listener: Option<String>,
    pub namespace: Option<String>,
    pub task_families: Vec<String>,
    pub service_names: Vec<String>,
    pub target_group_names: Vec<String>,
    pub repository_names: Vec<String>,
    pub cloud_map_names: Vec<String>,
    pub load_balancer_name: Option<String>,
    /// The app's CloudWatch Logs group.
    pub log_group_names: Vec<String>,
    /// Services, task definition families and target groups named by
    /// `x-berth.names` (not `<app>-<service>`): their compose name, by kind
    /// and live name (a blue/green color's with its `-blue`/`-green`).
    pub renamed: std::collections::BTreeMap<(Kind, String), String>,
}

/// One deployment of a service as berth follows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeploymentStatus {
    pub id: String,
    /// `PRIMARY`, `ACTIVE` or `INACTIVE`.
    pub status: String,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED`.
    pub rollout_state: String,
    pub rollout_state_reason: Option<String>,
    pub task_definition: String,
    pub desired: u32,
    pub running: u32,
    pub pending: u32,
    pub failed_tasks: u32,
    /// When the deployment started, in milliseconds since the epoch.
    #[serde(default)]
    pub created_ms: u64,
}

/// A service's deployments, newest first, with what happened since `since`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServiceProgress {
    pub service: String,
    pub deployments: Vec<DeploymentStatus>,
    /// Service events newer than the cursor given, oldest first.
    pub events: Vec<ServiceEvent>,
    /// Tasks that stopped since the cursor, with their stopped reason.
    pub stopped_tasks: Vec<StoppedTask>,
    /// Target health counts of the service's target groups (healthy, unhealthy, other).
    pub targets: Option<TargetCounts>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServiceEvent {
    pub id: String,
    /// Milliseconds since the Unix epoch (virtual time on the sim).
    pub at_ms: u64,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoppedTask {
    pub task_id: String,
    pub task_definition: String,
    pub stopped_reason: String,
    pub at_ms: u64,
    /// How each container ended (exit codes, log streams), when known.
    #[serde(default)]
    pub containers: Vec<ContainerExit>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct TargetCounts {
    pub healthy: u32,
    pub unhealthy: u32,
    pub other: u32,
}

/// A target group's forward weight, by ARN.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Weight {
    pub target_group_arn: String,
    pub weight: u32,
}

/// The operations berth needs from an account.
#[async_trait]
pub trait Provider: Send + Sync {
    /// A short name for messages and saved plans: `sim`, `aws`.
    fn name(&self) -> String;

    /// Reads the live resources of one app (and same-named ones that are not its).
    async fn observe(&self, scope: &Scope) -> Result<Observed>;

    async fn create_cluster(&self, cluster: &Cluster) -> Result<String>;
    async fn delete_cluster(&self, arn: &str) -> Result<()>;

    async fn put_repository(&self, repo: &EcrRepository, existing_arn: Option<&str>) -> Result<String>;
    /// Deletes a repository; `force` deletes the images it holds too.
    async fn delete_repository(&self, name: &str, force: bool) -> Result<()>;

    /// What the repository's lifecycle policy would expire now (ECR's preview).
    async fn lifecycle_preview(&self, repository: &str) -> Result<Vec<ExpiringImage>>;
    /// The digest a tag points to. `registry` is the registry id (account)
    /// and `region` the region of an image in another account or region.
    async fn resolve_image(&self, registry: Option<&str>, region: Option<&str>, repository: &str, tag: &str) -> Result<ImageLookup>;

    /// Registers a new revision; returns its ARN (`...:task-definition/family:N`).
    async fn register_task_definition(&self, td: &TaskDefinition) -> Result<String>;
    /// Deregisters every active revision of a family.
    async fn deregister_task_definitions(&self, family: &str) -> Result<()>;
    /// The latest active revision of the same family older than `arn`.
    async fn previous_task_definition(&self, arn: &str) -> Result<Option<String>>;
    /// The family's latest ACTIVE revision (ARN and definition), if any: an
    /// identical one registered by an interrupted run is reused, not
    /// registered again. INACTIVE revisions are never returned.
    async fn latest_task_definition(&self, family: &str) -> Result<Option<(String, TaskDefinition)>>;

    /// The tags a live resource carries now (`None` when it is gone): apply
    /// checks, before it changes or deletes a resource by ARN, that
    /// the resource is this app's, whatever a plan file says.
    async fn live_tags(&self, kind: Kind, arn: &str) -> Result<Option<Vec<Tag>>>;

    /// Adds (or overwrites) tags on a live resource, leaving its other tags
    /// and everything else as it is: how berth adopts a resource it did
    /// not make (ecs:TagResource, elasticloadbalancing:AddTags,
    /// servicediscovery:TagResource, ecr:TagResource, logs:TagResource).
    async fn tag_resource(&self, kind: Kind, arn: &str, tags: &[Tag]) -> Result<()>;

    async fn create_load_balancer(&self, lb: &LoadBalancer) -> Result<LoadBalancerArns>;
    async fn delete_load_balancer(&self, arn: &str) -> Result<()>;

    /// Creates a listener of a network load balancer (ARNs resolved); the
    /// address tag is among its tags.
    async fn create_listener(&self, listener: &berth_model::resources::Listener) -> Result<String>;
    /// Sets a listener's protocol, port, certificate and default action.
    async fn modify_listener(&self, arn: &str, listener: &berth_model::resources::Listener) -> Result<()>;
    async fn delete_listener(&self, arn: &str) -> Result<()>;
    /// The VPC of the load balancer a listener belongs to (DescribeListeners,
    /// then DescribeLoadBalancers); `None` when the listener is unknown.
    async fn listener_vpc(&self, listener_arn: &str) -> Result<Option<String>>;

    async fn create_target_group(&self, tg: &TargetGroup) -> Result<String>;
    async fn modify_target_group(&self, arn: &str, tg: &TargetGroup) -> Result<()>;
    async fn delete_target_group(&self, arn: &str) -> Result<()>;

    /// Creates a rule; target group fields hold ARNs already. The address tag
    /// (`berth:address`) is among the rule's tags.
    async fn create_rule(&self, rule: &ListenerRule, priority: u32) -> Result<String>;
    async fn modify_rule(&self, arn: &str, rule: &ListenerRule) -> Result<()>;
    async fn set_rule_priority(&self, arn: &str, priority: u32) -> Result<()>;
    async fn delete_rule(&self, arn: &str) -> Result<()>;
    async fn set_rule_weights(&self, arn: &str, weights: &[Weight]) -> Result<()>;

    async fn create_namespace(&self, ns: &Namespace) -> Result<String>;
    async fn delete_namespace(&self, arn: &str) -> Result<()>;
    async fn create_cloud_map_service(&self, svc: &CloudMapService, namespace_arn: &str) -> Result<String>;
    async fn delete_cloud_map_service(&self, arn: &str) -> Result<()>;

    /// Creates an ECS service (references resolved to ARNs); returns its ARN
    /// and the id of the deployment it started.
    async fn create_service(&self, svc: &Service) -> Result<(String, String)>;
    /// Updates an ECS service; returns the id of its PRIMARY deployment afterwards.
    async fn update_service(&self, arn: &str, svc: &Service) -> Result<String>;
    /// Scales a service to zero and deletes it.
    async fn delete_service(&self, cluster: &str, arn: &str) -> Result<()>;
    /// Sets a service's desired count and nothing else (`berth scale`).
    async fn set_service_count(&self, cluster: &str, service: &str, count: u32) -> Result<()>;

    /// Registers (or updates) a service's scalable target with its tags and
    /// makes its policies and scheduled actions exactly the given ones
    /// (others on the target are deleted); scaling is left unsuspended.
    /// A policy's `resourceLabel` holds its target group's ARN. Returns the
    /// target's ARN.
    async fn put_scalable_target(&self, target: &ScalableTarget) -> Result<String>;
    /// Deregisters a service's scalable target (its policies and scheduled
    /// actions go with it); `Ok` when there is none.
    async fn delete_scalable_target(&self, resource_id: &str) -> Result<()>;
    /// Suspends (or resumes) dynamic scale-in of a scalable target, so a
    /// rollout's tasks are not scaled in under it.
    async fn suspend_scale_in(&self, resource_id: &str, suspended: bool) -> Result<()>;

    /// The deployments, new events and stopped tasks of a service since `cursor_ms`.
    async fn service_progress(&self, cluster: &str, service: &str, cursor_ms: u64) -> Result<ServiceProgress>;
    /// [`Provider::service_progress`] of several services of one cluster at
    /// once (`(service, cursor_ms)` each; DescribeServices takes ten a call),
    /// in the order asked. A service that is gone is an error of its own.
    async fn services_progress(&self, cluster: &str, services: &[(String, u64)]) -> Vec<Result<ServiceProgress>> {
        let mut out = Vec::with_capacity(services.len());
        for (service, cursor) in services {
            out.push(self.service_progress(cluster, service, *cursor).await);
        }
        out
    }

    /// Creates a CloudWatch Logs group with its tags and retention; returns its ARN.
    async fn create_log_group(&self, group: &LogGroup) -> Result<String>;
    /// Sets how long a log group keeps its lines (PutRetentionPolicy).
    async fn put_log_retention(&self, name: &str, days: u32) -> Result<()>;
    async fn delete_log_group(&self, name: &str) -> Result<()>;

    /// Container log lines of one log group (CloudWatch Logs FilterLogEvents), oldest first.
    async fn log_lines(&self, filter: &LogFilter) -> Result<Vec<LogLine>>;

    /// Starts a one-off task (RunTask). A task ECS cannot place (RunTask's
    /// `failures`) is an error naming the reason.
    async fn run_task(&self, request: &RunTaskRequest) -> Result<TaskStatus>;
    /// A task's status (DescribeTasks); `NotFound` when ECS no longer knows it.
    async fn describe_task(&self, cluster: &str, task_arn: &str) -> Result<TaskStatus>;
    /// Stops a task (StopTask: SIGTERM, then SIGKILL after the stop timeout).
    async fn stop_task(&self, cluster: &str, task_arn: &str, reason: &str) -> Result<()>;

    /// The provider's clock, in milliseconds since the epoch (virtual on the sim).
    fn now_ms(&self) -> u64;
    /// Waits `d` (on the sim: advances the virtual clock by `d`).
    async fn sleep(&self, d: Duration);

    // ---- The app lock (see `lock.rs`; the algorithm is `berth_engine::lock`) ----

    /// Every generation of `app`'s lock there is, expired or not.
    async fn lock_list(&self, app: &str) -> Result<Vec<LockRecord>>;
    /// Creates generation `lock.generation` of `lock.app`'s lock, exclusively:
    /// `Ok(false)` when that generation exists already (someone else made it).
    async fn lock_create(&self, lock: &LockRecord) -> Result<bool>;
    /// Moves a held lock's expiry to `lock.expires`; `NotFound` when it is gone.
    async fn lock_refresh(&self, lock: &LockRecord) -> Result<()>;
    /// Deletes one generation; `Ok` when it is gone already.
    async fn lock_delete(&self, lock: &LockRecord) -> Result<()>;
}

/// An image a lifecycle policy would expire, and the rule that would.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExpiringImage {
    pub digest: String,
    pub tags: Vec<String>,
    pub pushed_at_ms: u64,
    pub rule_priority: u32,
}

/// What looking an image up in ECR found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageLookup {
    /// The tag's digest, and the registry host (`<account>.dkr.ecr.<region>.amazonaws.com`).
    Found {
        digest: String,
        registry: String,
    },
    NoRepository,
    NoTag,
}

/// What creating a load balancer returns: its ARN and the HTTP listener's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadBalancerArns {
    pub load_balancer: String,
    pub listener: String,
    pub dns_name: String,
}
