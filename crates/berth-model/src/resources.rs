//! The resources berth manages, as plain serializable data in the shape of
//! the AWS APIs that create them (camelCase field names as the APIs have
//! them), so rendering, diffing and the SDK mapping all read one shape.
//!
//! Where one resource refers to another whose ARN only exists after apply
//! (a service's target group, a rule's forward), the field holds that
//! resource's plan address, e.g. `tg.web`; backends resolve addresses.

use serde::{Deserialize, Serialize};

pub const TAG_APP: &str = "berth:app";
pub const TAG_MANAGED: &str = "berth:managed";
/// The tag that names a listener rule's plan address (rules have no name).
pub const TAG_ADDRESS: &str = "berth:address";
/// The name suffix of a target group that replaces another (names alternate).
pub use berth_spec::resolve::REPLACEMENT_SUFFIX as TARGET_GROUP_REPLACEMENT_SUFFIX;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// The ownership tags every resource carries.
pub fn ownership_tags(app: &str) -> Vec<Tag> {
    vec![Tag { key: TAG_APP.into(), value: app.into() }, Tag { key: TAG_MANAGED.into(), value: "true".into() }]
}

/// Everything the spec asks for, in apply order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Desired {
    pub app: String,
    #[serde(default)]
    pub region: Option<String>,
    pub cluster: Cluster,
    /// The app's CloudWatch Logs group, when any container logs to it.
    #[serde(default)]
    pub log_group: Option<LogGroup>,
    #[serde(default)]
    pub ecr_repositories: Vec<EcrRepository>,
    #[serde(default)]
    pub task_definitions: Vec<TaskDefinition>,
    #[serde(default)]
    pub load_balancer: Option<LoadBalancer>,
    #[serde(default)]
    pub target_groups: Vec<TargetGroup>,
    #[serde(default)]
    pub listener_rules: Vec<ListenerRule>,
    /// Listeners of the network load balancer berth creates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub listeners: Vec<Listener>,
    #[serde(default)]
    pub namespace: Option<Namespace>,
    #[serde(default)]
    pub cloud_map_services: Vec<CloudMapService>,
    #[serde(default)]
    pub services: Vec<Service>,
    /// `before_deploy` commands, one per service that has one.
    #[serde(default)]
    pub migrations: Vec<Migration>,
    /// Application Auto Scaling of the services that declare it.
    #[serde(default)]
    pub scalable_targets: Vec<ScalableTarget>,
}

/// The Application Auto Scaling of one service's desired count:
/// RegisterScalableTarget's input, with the target-tracking policies
/// (PutScalingPolicy) and scheduled actions (PutScheduledAction) berth keeps
/// on it — exactly these: others on the target are removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalableTarget {
    pub service_namespace: String,
    /// `service/<cluster>/<service name>`.
    pub resource_id: String,
    pub scalable_dimension: String,
    pub min_capacity: u32,
    pub max_capacity: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scaling_policies: Vec<ScalingPolicy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scheduled_actions: Vec<ScheduledAction>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// The compose service it scales (the address is `scaling.<service>`).
    #[serde(skip)]
    pub service: String,
}

pub const SCALABLE_DIMENSION_ECS_COUNT: &str = "ecs:service:DesiredCount";

/// A target-tracking policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingPolicy {
    pub policy_name: String,
    pub policy_type: String,
    pub target_tracking_scaling_policy_configuration: TargetTrackingConfiguration,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetTrackingConfiguration {
    pub target_value: f64,
    pub predefined_metric_specification: PredefinedMetric,
    pub scale_in_cooldown: u32,
    pub scale_out_cooldown: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PredefinedMetric {
    /// `ECSServiceAverageCPUUtilization`, `ECSServiceAverageMemoryUtilization`
    /// or `ALBRequestCountPerTarget`.
    pub predefined_metric_type: String,
    /// For `ALBRequestCountPerTarget`: the target group (its address in a
    /// plan, its ARN at apply; AWS's `app/…/targetgroup/…` label on the wire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_label: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduledAction {
    pub scheduled_action_name: String,
    /// `cron(…)`, `rate(…)` or `at(…)`.
    pub schedule: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    pub scalable_target_action: ScalableTargetAction,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalableTargetAction {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_capacity: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_capacity: Option<u32>,
}

/// A service's `before_deploy`: a command run as a one-off task of the
/// service's new revision, in its own container, before any service of the
/// app is updated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Migration {
    /// The compose service (its task definition is `taskdef.<service>`).
    pub service: String,
    pub container: String,
    pub command: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    pub cluster_name: String,
    /// The capacity providers the services' strategies use (CreateCluster,
    /// or PutClusterCapacityProviders on a cluster that exists).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_providers: Vec<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// A CloudWatch Logs group (`CreateLogGroup` and `PutRetentionPolicy`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGroup {
    pub log_group_name: String,
    pub retention_in_days: u32,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EcrRepository {
    pub repository_name: String,
    pub image_tag_mutability: String,
    pub image_scanning_configuration: ImageScanningConfiguration,
    pub encryption_configuration: EncryptionConfiguration,
    /// The lifecycle policy document (`PutLifecyclePolicy`'s lifecyclePolicyText, as JSON).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lifecycle_policy: Option<serde_json::Value>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageScanningConfiguration {
    pub scan_on_push: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncryptionConfiguration {
    pub encryption_type: String,
}

/// `RegisterTaskDefinition`'s input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinition {
    pub family: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub task_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub execution_role_arn: Option<String>,
    pub network_mode: String,
    #[serde(default)]
    pub container_definitions: Vec<ContainerDefinition>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub volumes: Vec<TaskVolume>,
    #[serde(default)]
    pub requires_compatibilities: Vec<String>,
    pub cpu: String,
    pub memory: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub runtime_platform: Option<RuntimePlatform>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimePlatform {
    pub cpu_architecture: String,
    pub operating_system_family: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDefinition {
    pub name: String,
    pub image: String,
    pub essential: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cpu: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub memory_reservation: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub port_mappings: Vec<PortMapping>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub environment: Vec<KeyValuePair>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub secrets: Vec<Secret>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub command: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub entry_point: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub health_check: Option<HealthCheck>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub mount_points: Vec<MountPoint>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub depends_on: Vec<ContainerDependency>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub working_directory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stop_timeout: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub readonly_root_filesystem: Option<bool>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty", default)]
    pub docker_labels: std::collections::BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub linux_parameters: Option<LinuxParameters>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub log_configuration: Option<LogConfiguration>,
    /// EC2 only.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub privileged: Option<bool>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub system_controls: Vec<SystemControl>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub ulimits: Vec<Ulimit>,
    /// Bridge and host network modes only.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub extra_hosts: Vec<HostEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub dns_servers: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub dns_search_domains: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemControl {
    pub namespace: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ulimit {
    pub name: String,
    pub soft_limit: i32,
    pub hard_limit: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostEntry {
    pub hostname: String,
    pub ip_address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    pub container_port: u16,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub host_port: Option<u16>,
    pub protocol: String,
    /// Named so Service Connect can refer to it (Compose's port `name`, else `<container>-<port>`).
    pub name: String,
    /// Compose's `app_protocol` (http, http2, grpc).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub app_protocol: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValuePair {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    pub name: String,
    pub value_from: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    #[serde(default)]
    pub command: Vec<String>,
    pub interval: u64,
    pub timeout: u64,
    pub retries: u32,
    pub start_period: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MountPoint {
    pub source_volume: String,
    pub container_path: String,
    pub read_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDependency {
    pub container_name: String,
    pub condition: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxParameters {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub init_process_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub capabilities: Option<Capabilities>,
    /// EC2 only, as the next two.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub devices: Vec<Device>,
    /// MiB.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub shared_memory_size: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub tmpfs: Vec<Tmpfs>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    pub host_path: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub container_path: Option<String>,
    /// read, write, mknod.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tmpfs {
    pub container_path: String,
    /// MiB.
    pub size: u32,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub mount_options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub add: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub drop: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogConfiguration {
    pub log_driver: String,
    #[serde(default)]
    pub options: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskVolume {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub efs_volume_configuration: Option<EfsVolumeConfiguration>,
    /// A path of the EC2 instance (a bind mount).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub host: Option<HostVolumeProperties>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostVolumeProperties {
    pub source_path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EfsVolumeConfiguration {
    pub file_system_id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub root_directory: Option<String>,
    pub transit_encryption: String,
}

/// An application load balancer berth creates and owns (`load_balancer.create`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancer {
    pub name: String,
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(default)]
    pub security_groups: Vec<String>,
    pub scheme: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub certificate_arn: Option<String>,
    /// `network` for an NLB; none for an ALB (CreateLoadBalancer's default).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

pub const LOAD_BALANCER_NETWORK: &str = "network";

impl LoadBalancer {
    pub fn is_network(&self) -> bool {
        self.kind.as_deref() == Some(LOAD_BALANCER_NETWORK)
    }
}

/// A listener of the network load balancer (`CreateListener`'s input): one
/// per routed service, forwarding every connection on its port to the
/// service's target group. Its address is `nlb_listener.<service>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    /// The compose service it forwards to.
    #[serde(skip)]
    pub service: String,
    /// The load balancer's address (`lb.main`) until its ARN is known.
    pub load_balancer_arn: String,
    pub protocol: String,
    pub port: u16,
    /// A TLS listener's server certificate.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub certificates: Vec<Certificate>,
    #[serde(default)]
    pub default_actions: Vec<RuleAction>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Certificate {
    pub certificate_arn: String,
}

/// `CreateTargetGroup`'s input plus its attributes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetGroup {
    /// The compose service this target group serves (its address is `tg.<service>[-color]`).
    #[serde(skip)]
    pub service: String,
    pub name: String,
    pub protocol: String,
    pub port: u16,
    pub target_type: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub vpc_id: Option<String>,
    pub health_check_protocol: String,
    /// Empty for a TCP health check (ELB takes no path for it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub health_check_path: String,
    pub health_check_interval_seconds: u64,
    pub healthy_threshold_count: u32,
    pub unhealthy_threshold_count: u32,
    /// Empty for a TCP health check (ELB takes no matcher for it).
    #[serde(default, skip_serializing_if = "Matcher::is_empty")]
    pub matcher: Matcher,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Matcher {
    pub http_code: String,
}

impl Matcher {
    pub fn is_empty(&self) -> bool {
        self.http_code.is_empty()
    }
}

impl Default for Matcher {
    fn default() -> Self {
        Matcher { http_code: String::new() }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribute {
    pub key: String,
    pub value: String,
}

/// `CreateRule`'s input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListenerRule {
    /// `rule.<service>/<index>`.
    #[serde(skip)]
    pub address: String,
    pub listener_arn: String,
    /// Fixed by the spec, or allocated at plan time from the configured range.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub priority: Option<u32>,
    #[serde(default)]
    pub conditions: Vec<RuleCondition>,
    #[serde(default)]
    pub actions: Vec<RuleAction>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleCondition {
    pub field: String,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleAction {
    #[serde(rename = "type")]
    pub kind: String,
    pub forward_config: ForwardConfig,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardConfig {
    #[serde(default)]
    pub target_groups: Vec<WeightedTargetGroup>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeightedTargetGroup {
    /// The target group's address (`tg.web`) until its ARN is known.
    pub target_group_arn: String,
    pub weight: u32,
}

/// A Cloud Map private DNS namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Namespace {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub vpc: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// `servicediscovery:CreateService`'s input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudMapService {
    pub name: String,
    pub namespace: String,
    pub dns_config: DnsConfig,
    pub health_check_custom_config: HealthCheckCustomConfig,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsConfig {
    pub routing_policy: String,
    #[serde(default)]
    pub dns_records: Vec<DnsRecord>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsRecord {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "TTL")]
    pub ttl: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckCustomConfig {
    pub failure_threshold: u32,
}

/// `CreateService`'s input (ECS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub service_name: String,
    pub cluster: String,
    /// The task definition family; apply pins the revision it registers.
    pub task_definition: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub desired_count: Option<u32>,
    /// Empty with a capacity provider strategy (ECS takes one or the other).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub launch_type: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_provider_strategy: Vec<CapacityProviderStrategyItem>,
    pub scheduling_strategy: String,
    pub deployment_controller: DeploymentController,
    pub deployment_configuration: DeploymentConfiguration,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub network_configuration: Option<NetworkConfiguration>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub load_balancers: Vec<ServiceLoadBalancer>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub health_check_grace_period_seconds: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub service_registries: Vec<ServiceRegistry>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub service_connect_configuration: Option<ServiceConnectConfiguration>,
    pub propagate_tags: String,
    #[serde(rename = "enableECSManagedTags")]
    pub enable_ecs_managed_tags: bool,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Deployed blue/green by berth (not an ECS field: never sent to AWS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blue_green: Option<BlueGreenDeploy>,
    /// UpdateService's forceNewDeployment: only a `--redeploy` change sets it
    /// (never desired, never live).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub force_new_deployment: bool,
    /// UpdateService sends an empty capacityProviderStrategy (back to the
    /// launch type, as ECS takes it): set by apply when the plan removes
    /// the strategy, never desired, never live.
    #[serde(skip)]
    pub clear_capacity_provider_strategy: bool,
    /// berth's deploy order: services (compose names) this one waits for.
    #[serde(skip)]
    pub depends_on: Vec<String>,
    /// The compose service name (the plan address is `service.<name>`).
    #[serde(skip)]
    pub compose_name: String,
}

/// One capacity provider of a service's strategy: `base` tasks first, the
/// rest spread by `weight`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityProviderStrategyItem {
    pub capacity_provider: String,
    pub weight: u32,
    pub base: u32,
}

impl Service {
    /// The launch type of a one-off task of this service (RunTask): the
    /// service's, or with a capacity provider strategy the one it implies.
    pub fn run_launch_type(&self) -> String {
        if !self.launch_type.is_empty() {
            return self.launch_type.clone();
        }
        let fargate = self.capacity_provider_strategy.iter().any(|c| c.capacity_provider.starts_with("FARGATE"));
        if fargate { "FARGATE" } else { "EC2" }.to_string()
    }

    /// The ECS services it runs as, with the compose name each is planned
    /// under: itself, or a blue/green service's two colors
    /// (`<base>-blue` as `<compose name>-blue`, and green).
    pub fn live_names(&self) -> Vec<(String, String)> {
        match &self.blue_green {
            Some(bg) => ["blue", "green"].iter().map(|c| (format!("{}-{c}", bg.base_name), format!("{}-{c}", self.compose_name))).collect(),
            None => vec![(self.service_name.clone(), self.compose_name.clone())],
        }
    }
}

/// How berth shifts traffic for a blue/green service. The service runs as
/// two ECS services, `<name>-blue` and `<name>-green`, one per target group;
/// the listener rule's weights say which one is live.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlueGreenDeploy {
    /// The service name without its color, e.g. `shop-web`.
    pub base_name: String,
    /// `all_at_once`, `canary` or `linear`.
    pub traffic: String,
    pub step_percent: u32,
    pub interval_secs: u64,
    pub bake_secs: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_listener: Option<String>,
    /// The route's conditions, for the rule on the test listener.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub test_conditions: Vec<RuleCondition>,
    /// The service's scalable target (on the blue color), which a
    /// deployment hands over to the new color.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scaling: Option<ScalableTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentController {
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfiguration {
    pub minimum_healthy_percent: u32,
    pub maximum_percent: u32,
    pub deployment_circuit_breaker: DeploymentCircuitBreaker,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeploymentCircuitBreaker {
    pub enable: bool,
    pub rollback: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConfiguration {
    pub awsvpc_configuration: AwsVpcConfiguration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AwsVpcConfiguration {
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(default)]
    pub security_groups: Vec<String>,
    pub assign_public_ip: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceLoadBalancer {
    /// The target group's address (`tg.web`) until its ARN is known.
    pub target_group_arn: String,
    pub container_name: String,
    pub container_port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRegistry {
    /// The Cloud Map service's address (`cloudmap.api`) until its ARN is known.
    pub registry_arn: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub container_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub container_port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectConfiguration {
    pub enabled: bool,
    pub namespace: String,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub services: Vec<ServiceConnectService>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectService {
    pub port_name: String,
    pub discovery_name: String,
    #[serde(default)]
    pub client_aliases: Vec<ClientAlias>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientAlias {
    pub port: u16,
    pub dns_name: String,
}
