//! The validated app: what the Compose file means on ECS, with every value
//! resolved (units converted, short syntaxes expanded, defaults applied).
//! `berth-model` lowers this to AWS resource shapes; nothing here knows AWS
//! API field names.

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct App {
    pub name: String,
    pub cluster: String,
    pub region: Option<String>,
    pub launch_type: LaunchType,
    pub network: Network,
    pub execution_role_arn: Option<String>,
    pub task_role_arn: Option<String>,
    /// The app's log group and how containers log to it.
    pub logs: Logs,
    pub load_balancer: Option<LoadBalancer>,
    pub discovery: Option<Discovery>,
    pub registry: Registry,
    /// One entry per ECS service (a compose service and its sidecars), in
    /// spec order.
    pub tasks: Vec<Task>,
    /// `x-berth.adopt: true`: plan and apply adopt same-named resources
    /// without berth's tags (as `--adopt` does).
    pub adopt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LaunchType {
    Fargate,
    Ec2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    Awsvpc,
    Bridge,
    Host,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Network {
    pub mode: NetworkMode,
    pub vpc_id: Option<String>,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Logs {
    pub group: String,
    pub region: Option<String>,
    pub stream_prefix: String,
    pub retention_days: u32,
}

/// Where a container's output goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "driver", rename_all = "snake_case")]
pub enum ContainerLogging {
    /// awslogs to the app's log group; `options` (from compose
    /// `logging.options`) override berth's defaults.
    Awslogs { options: Vec<(String, String)> },
    /// Another log driver, as compose names it, with its options.
    Other { name: String, options: Vec<(String, String)> },
    /// `logging.driver: none`: no log configuration at all.
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadBalancer {
    pub listener: Option<String>,
    pub test_listener: Option<String>,
    pub priority_range: (u32, u32),
    pub create: Option<CreateLoadBalancer>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreateLoadBalancer {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub scheme: String,
    pub certificate_arn: Option<String>,
    pub kind: LoadBalancerKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadBalancerKind {
    /// An ALB: HTTP routes are listener rules on its listener.
    Application,
    /// An NLB: each TCP/UDP/TLS route is a listener of its own.
    Network,
}

/// What a route's traffic is: HTTP through an ALB rule, or a transport
/// protocol through an NLB listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RouteProtocol {
    Http,
    Tcp,
    Udp,
    TcpUdp,
    Tls,
}

impl RouteProtocol {
    /// ELB's name of the listener protocol.
    pub fn listener(self) -> &'static str {
        match self {
            RouteProtocol::Http => "HTTP",
            RouteProtocol::Tcp => "TCP",
            RouteProtocol::Udp => "UDP",
            RouteProtocol::TcpUdp => "TCP_UDP",
            RouteProtocol::Tls => "TLS",
        }
    }

    /// ELB's name of the target group protocol: the NLB ends TLS, and
    /// sends the task plain TCP.
    pub fn target_group(self) -> &'static str {
        match self {
            RouteProtocol::Tls => "TCP",
            other => other.listener(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Discovery {
    pub namespace: String,
    pub mode: DiscoveryMode,
    pub ttl: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscoveryMode {
    /// Cloud Map DNS records, `<service>.<namespace>`.
    Dns,
    /// ECS Service Connect: compose short names resolve as they do locally.
    Connect,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Registry {
    pub url: Option<String>,
    pub tag_mutability: String,
    pub scan_on_push: bool,
    /// Repositories berth owns: one per `build` service plus any listed.
    pub repositories: Vec<String>,
    pub lifecycle: Vec<crate::types::LifecycleRule>,
}

/// One ECS service: a task definition with one or more containers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    /// The compose service that owns the task (sidecars join it).
    pub name: String,
    pub containers: Vec<Container>,
    /// Task-level size in cpu units and MiB.
    pub cpu: u32,
    pub memory: u32,
    pub cpu_architecture: Option<String>,
    /// `None` for a DAEMON service (one per instance, EC2 only).
    pub replicas: Option<u32>,
    pub rolling: Rolling,
    pub route: Option<Route>,
    /// Registered in Cloud Map / Service Connect.
    pub discoverable: bool,
    pub blue_green: Option<BlueGreen>,
    /// Other tasks this one waits for, with the compose condition.
    pub depends_on: Vec<(String, String)>,
    pub volumes: Vec<Volume>,
    /// `x-berth.before_deploy`: run in the service's own container of a
    /// one-off task of its new revision, before any service is updated.
    pub before_deploy: Option<Vec<String>>,
    /// `x-berth.capacity`: the capacity provider strategy; empty is the
    /// app's launch type.
    pub capacity: Vec<CapacityItem>,
    /// `x-berth.autoscaling`: the scalable target of the service's count.
    pub autoscaling: Option<Autoscaling>,
    /// The live names of its resources.
    pub names: Names,
    /// The service's propagateTags (`SERVICE`, `TASK_DEFINITION`, `NONE`).
    pub propagate_tags: String,
    /// The service's enableECSManagedTags.
    pub ecs_managed_tags: bool,
}

/// A service's live resource names (crate::names): berth's `<app>-<service>`
/// unless `x-berth.names` says otherwise. Blue/green colors add `-blue` and
/// `-green` to the service and the target group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Names {
    pub service: String,
    pub family: String,
    pub target_group: String,
}

/// A service's declared scaling (Application Auto Scaling).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Autoscaling {
    pub min: u32,
    pub max: u32,
    /// Target-tracking policies: what is tracked, and the target value.
    pub targets: Vec<ScalingMetric>,
    pub scale_in_cooldown_secs: u64,
    pub scale_out_cooldown_secs: u64,
    pub schedule: Vec<ScheduledScaling>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum ScalingMetric {
    /// Average CPU utilization, percent.
    Cpu(f64),
    /// Average memory utilization, percent.
    Memory(f64),
    /// ALB requests per target (task) of the service's route.
    RequestsPerTarget(f64),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScheduledScaling {
    pub name: String,
    /// `cron(...)`, `rate(...)` or `at(...)`.
    pub expression: String,
    pub min: Option<u32>,
    pub max: Option<u32>,
    pub timezone: Option<String>,
}

/// One capacity provider of a strategy (`FARGATE`, `FARGATE_SPOT` or an EC2
/// capacity provider's name).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CapacityItem {
    pub provider: String,
    pub base: u32,
    pub weight: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rolling {
    pub min_healthy_percent: u32,
    pub max_percent: u32,
    pub circuit_breaker: bool,
    pub rollback: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Route {
    pub container: String,
    pub port: u16,
    pub paths: Vec<String>,
    pub hosts: Vec<String>,
    pub health_path: String,
    pub health_matcher: String,
    pub health_interval_secs: u64,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    pub deregistration_delay_secs: u64,
    /// The service's healthCheckGracePeriodSeconds.
    pub health_check_grace_period_secs: u32,
    pub priority: Option<u32>,
    pub protocol: RouteProtocol,
    /// The NLB listener's port (the published port, else the container port).
    pub listener_port: u16,
    /// A `tls` route's certificate.
    pub certificate_arn: Option<String>,
    /// An NLB route's health check: `true` when `health_path` asks for HTTP,
    /// else TCP.
    pub http_health_check: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BlueGreen {
    pub traffic: Traffic,
    pub step_percent: u32,
    pub interval_secs: u64,
    pub bake_secs: u64,
    pub verify: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Traffic {
    AllAtOnce,
    Canary,
    Linear,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Volume {
    pub name: String,
    /// An EFS file system id; `None` is task-scoped storage (lost on stop).
    pub efs: Option<String>,
    pub root_directory: Option<String>,
    /// A path of the EC2 instance (a bind mount with `launch_type: ec2`).
    pub host_path: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Container {
    pub name: String,
    pub image: Image,
    /// How CI builds the image, for `build` services.
    pub build: Option<BuildInfo>,
    pub essential: bool,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub environment: Vec<(String, String)>,
    /// `(environment variable, secret ARN)`.
    pub secrets: Vec<(String, String)>,
    pub ports: Vec<ContainerPort>,
    pub healthcheck: Option<Healthcheck>,
    pub mounts: Vec<Mount>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub stop_timeout_secs: Option<u64>,
    pub init: Option<bool>,
    pub read_only: Option<bool>,
    pub labels: Vec<(String, String)>,
    /// Secrets and configs delivered as files (by the task's init container).
    pub files: Vec<crate::files::FileMount>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    /// Kernel and host settings (crate::container_fields).
    pub system: ContainerSystem,
    /// Containers of the same task this one starts after.
    pub depends_on: Vec<(String, String)>,
    /// Container-level reservations, when several containers share a task.
    pub cpu: Option<u32>,
    pub memory: Option<u32>,
    pub logging: ContainerLogging,
}

/// A container's kernel and host settings, each validated for the launch
/// type and network mode (empty when the service sets none).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ContainerSystem {
    pub privileged: Option<bool>,
    /// `(namespaced kernel parameter, value)`.
    pub sysctls: Vec<(String, String)>,
    pub ulimits: Vec<Ulimit>,
    pub devices: Vec<Device>,
    /// The size of /dev/shm in MiB.
    pub shm_size_mib: Option<u32>,
    pub tmpfs: Vec<Tmpfs>,
    /// `(host name, IP address)` entries of /etc/hosts.
    pub extra_hosts: Vec<(String, String)>,
    pub dns_servers: Vec<String>,
    pub dns_search: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ulimit {
    /// ECS's name: core, cpu, data, fsize, locks, memlock, msgqueue, nice,
    /// nofile, nproc, rss, rtprio, rttime, sigpending, stack.
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Device {
    pub host_path: String,
    pub container_path: Option<String>,
    /// ECS's read, write, mknod (from Compose's `rwm`).
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tmpfs {
    pub container_path: String,
    pub size_mib: u32,
    pub mount_options: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Image {
    /// An image reference used as written.
    External { reference: String },
    /// Built by CI and pushed to the ECR repository berth owns.
    Ecr { repository: String, tag: String, registry: Option<String> },
}

impl Image {
    /// The reference as a task definition holds it. An ECR image without a
    /// known registry host is left repository-relative; backends resolve it.
    pub fn reference(&self) -> String {
        match self {
            Image::External { reference } => reference.clone(),
            Image::Ecr { repository, tag, registry: Some(r) } => format!("{r}/{repository}:{tag}"),
            Image::Ecr { repository, tag, registry: None } => format!("{repository}:{tag}"),
        }
    }
}

/// A `build` section, as CI needs it to build and push the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuildInfo {
    pub context: String,
    pub dockerfile: Option<String>,
    pub target: Option<String>,
    pub args: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerPort {
    pub container_port: u16,
    /// The published port in compose, kept for display (the ALB listener decides the public port).
    pub published: Option<u16>,
    pub protocol: String,
    /// Compose's `name` of a long-syntax port (else berth names it).
    pub name: Option<String>,
    /// Compose's `app_protocol`: ECS's `appProtocol` (http, http2, grpc).
    pub app_protocol: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Healthcheck {
    /// `["CMD", ...]` or `["CMD-SHELL", "..."]` as ECS takes it.
    pub command: Vec<String>,
    pub interval_secs: u64,
    pub timeout_secs: u64,
    pub retries: u32,
    pub start_period_secs: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mount {
    pub volume: String,
    pub path: String,
    pub read_only: bool,
}
