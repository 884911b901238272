//! The spec as typed data: the subset of the Compose Specification berth
//! understands, plus the `x-berth` extension. The JSON Schema printed by
//! `berth schema` is generated from these types.
//!
//! Keys that Compose defines but ECS has no use for are declared (so they are
//! not "unknown") and reported as "ignored on ECS" by validation.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value as Any;

/// A Compose file with the `x-berth` extension.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct ComposeFile {
    /// The app name: prefix of every resource berth creates. Defaults to the
    /// folder of the first spec file.
    pub name: Option<String>,
    /// Obsolete in Compose; ignored.
    pub version: Option<Any>,
    #[serde(default)]
    pub services: IndexMap<String, Service>,
    #[serde(default)]
    pub volumes: IndexMap<String, Option<VolumeDef>>,
    #[serde(default)]
    pub secrets: IndexMap<String, SecretDef>,
    /// Compose networks; ECS tasks use `x-berth.network` instead.
    #[serde(default)]
    pub networks: IndexMap<String, Option<Any>>,
    /// Compose configs; not supported on ECS.
    #[serde(default)]
    pub configs: IndexMap<String, Option<Any>>,
    #[serde(rename = "x-berth")]
    pub x_berth: Option<AppXBerth>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct Service {
    pub image: Option<String>,
    pub build: Option<Build>,
    pub command: Option<StringOrList>,
    pub entrypoint: Option<StringOrList>,
    pub environment: Option<ListOrDict>,
    pub env_file: Option<StringOrList>,
    #[serde(default)]
    pub ports: Vec<Port>,
    #[serde(default)]
    pub expose: Vec<StringOrNumber>,
    #[serde(default)]
    pub secrets: Vec<ServiceSecret>,
    pub healthcheck: Option<Healthcheck>,
    pub depends_on: Option<DependsOn>,
    pub deploy: Option<Deploy>,
    #[serde(default)]
    pub volumes: Vec<ServiceVolume>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub stop_grace_period: Option<String>,
    pub init: Option<bool>,
    pub read_only: Option<bool>,
    pub labels: Option<ListOrDict>,
    pub platform: Option<String>,
    pub network_mode: Option<String>,
    pub cpus: Option<StringOrNumber>,
    pub mem_limit: Option<StringOrNumber>,
    pub mem_reservation: Option<StringOrNumber>,
    /// `nofile: 20000` or `nofile: { soft: 20000, hard: 40000 }`.
    pub ulimits: Option<IndexMap<String, Ulimit>>,
    pub cap_add: Option<Vec<String>>,
    pub cap_drop: Option<Vec<String>>,
    pub privileged: Option<bool>,
    pub hostname: Option<String>,
    pub tty: Option<bool>,
    pub stdin_open: Option<bool>,
    /// Compose `logging`: `driver: awslogs` (options pass through), `driver: none`
    /// (no logs), or another driver ECS supports; omitted, logs go to the app's log group.
    pub logging: Option<Logging>,
    /// Kernel parameters: ECS `systemControls`.
    pub sysctls: Option<ListOrDict>,
    /// `HOST:CONTAINER[:PERMISSIONS]` or `{ source, target, permissions }` (EC2 only).
    pub devices: Option<Vec<Device>>,
    /// The size of /dev/shm, e.g. `256m` (EC2 only).
    pub shm_size: Option<StringOrNumber>,
    /// `/run` or `/run:size=64m,mode=1777` (EC2 only).
    pub tmpfs: Option<StringOrList>,
    /// `host:ip` entries or a mapping of host to IP (EC2, bridge or host network mode).
    pub extra_hosts: Option<ExtraHosts>,
    pub dns: Option<StringOrList>,
    pub dns_search: Option<StringOrList>,
    // Compose keys that mean nothing on ECS: accepted and warned about
    // (crate::service_keys says why). Keys Compose defines that are not
    // declared here are warned about the same way.
    pub restart: Option<Any>,
    pub container_name: Option<Any>,
    pub networks: Option<Any>,
    pub links: Option<Any>,
    pub runtime: Option<Any>,
    pub profiles: Option<Any>,
    pub pull_policy: Option<Any>,
    pub configs: Option<Any>,
    pub develop: Option<Any>,
    pub security_opt: Option<Any>,
    pub ipc: Option<Any>,
    pub pid: Option<Any>,
    pub domainname: Option<Any>,
    pub stop_signal: Option<Any>,
    #[serde(rename = "x-berth")]
    pub x_berth: Option<ServiceXBerth>,
}

/// A ulimit: one number for both limits, or `{ soft, hard }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "a number, or a mapping with `soft` and `hard`")]
pub enum Ulimit {
    Single(StringOrNumber),
    Pair { soft: StringOrNumber, hard: StringOrNumber },
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "a device like \"/dev/fuse:/dev/fuse\", or a mapping with `source`")]
pub enum Device {
    Short(String),
    Long { source: String, target: Option<String>, permissions: Option<String> },
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "a list of \"host:ip\" entries or a mapping of host: ip")]
pub enum ExtraHosts {
    List(Vec<String>),
    Map(IndexMap<String, StringOrList>),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "a string or a number")]
pub enum StringOrNumber {
    String(String),
    Number(serde_json::Number),
}

impl StringOrNumber {
    pub fn text(&self) -> String {
        match self {
            StringOrNumber::String(s) => s.clone(),
            StringOrNumber::Number(n) => n.to_string(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "a string or a list of strings")]
pub enum StringOrList {
    String(String),
    List(Vec<String>),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "a list of KEY=VALUE strings or a mapping of KEY: VALUE")]
pub enum ListOrDict {
    List(Vec<String>),
    Dict(IndexMap<String, Option<Scalar>>),
}

/// A scalar value in a mapping (Compose accepts numbers and booleans as values).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "a string, number or boolean")]
pub enum Scalar {
    String(String),
    Number(serde_json::Number),
    Bool(bool),
}

impl Scalar {
    pub fn text(&self) -> String {
        match self {
            Scalar::String(s) => s.clone(),
            Scalar::Number(n) => n.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "a build context path or a mapping with `context`")]
pub enum Build {
    Context(String),
    Config(Box<BuildConfig>),
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct BuildConfig {
    pub context: Option<String>,
    pub dockerfile: Option<String>,
    pub target: Option<String>,
    pub args: Option<ListOrDict>,
    pub platforms: Option<Vec<String>>,
    pub cache_from: Option<Any>,
    pub labels: Option<Any>,
    pub secrets: Option<Any>,
}

impl Build {
    pub fn context(&self) -> &str {
        match self {
            Build::Context(c) => c,
            Build::Config(c) => c.context.as_deref().unwrap_or("."),
        }
    }
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "a port like \"8080:80\" or 80, or a mapping with `target`")]
pub enum Port {
    Number(u32),
    Short(String),
    Long(LongPort),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct LongPort {
    pub target: u32,
    pub published: Option<StringOrNumber>,
    pub host_ip: Option<String>,
    pub protocol: Option<String>,
    pub mode: Option<String>,
    pub name: Option<String>,
    pub app_protocol: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "a secret name or a mapping with `source`")]
pub enum ServiceSecret {
    Name(String),
    Long(LongSecret),
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct LongSecret {
    pub source: String,
    pub target: Option<String>,
    pub uid: Option<String>,
    pub gid: Option<String>,
    pub mode: Option<Any>,
}

impl ServiceSecret {
    pub fn source(&self) -> &str {
        match self {
            ServiceSecret::Name(n) => n,
            ServiceSecret::Long(l) => &l.source,
        }
    }

    pub fn target(&self) -> Option<&str> {
        match self {
            ServiceSecret::Name(_) => None,
            ServiceSecret::Long(l) => l.target.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct Healthcheck {
    pub test: Option<StringOrList>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub retries: Option<u32>,
    pub start_period: Option<String>,
    pub start_interval: Option<String>,
    pub disable: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "a list of service names or a mapping of service: {condition}")]
pub enum DependsOn {
    List(Vec<String>),
    Map(IndexMap<String, DependsOnCondition>),
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct DependsOnCondition {
    pub condition: Option<String>,
    pub restart: Option<bool>,
    pub required: Option<bool>,
}

impl DependsOn {
    /// `(service, condition)` pairs; a bare name means `service_started`.
    pub fn entries(&self) -> Vec<(String, String)> {
        match self {
            DependsOn::List(l) => l.iter().map(|s| (s.clone(), "service_started".into())).collect(),
            DependsOn::Map(m) => {
                m.iter().map(|(k, v)| (k.clone(), v.condition.clone().unwrap_or_else(|| "service_started".into()))).collect()
            }
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct Deploy {
    pub mode: Option<String>,
    pub replicas: Option<u32>,
    pub resources: Option<Resources>,
    pub update_config: Option<UpdateConfig>,
    pub rollback_config: Option<Any>,
    pub restart_policy: Option<Any>,
    pub placement: Option<Any>,
    pub labels: Option<Any>,
    pub endpoint_mode: Option<Any>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct Resources {
    pub limits: Option<ResourceSpec>,
    pub reservations: Option<ResourceSpec>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct ResourceSpec {
    pub cpus: Option<StringOrNumber>,
    pub memory: Option<StringOrNumber>,
    pub pids: Option<Any>,
    pub devices: Option<Any>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct UpdateConfig {
    pub parallelism: Option<u32>,
    pub delay: Option<String>,
    pub failure_action: Option<String>,
    pub monitor: Option<String>,
    pub max_failure_ratio: Option<Any>,
    pub order: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "a volume like \"name:/path\" or a mapping with `type`, `source`, `target`")]
pub enum ServiceVolume {
    Short(String),
    Long(Box<LongVolume>),
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct LongVolume {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub source: Option<String>,
    pub target: Option<String>,
    pub read_only: Option<bool>,
    pub bind: Option<Any>,
    pub volume: Option<Any>,
    pub tmpfs: Option<Any>,
    pub consistency: Option<Any>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct VolumeDef {
    pub driver: Option<String>,
    pub driver_opts: Option<Any>,
    pub external: Option<bool>,
    pub name: Option<String>,
    pub labels: Option<Any>,
    #[serde(rename = "x-berth")]
    pub x_berth: Option<VolumeXBerth>,
}

/// Where a named volume lives on ECS.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct VolumeXBerth {
    /// An EFS file system id (`fs-...`): the volume persists across tasks.
    pub efs: Option<String>,
    pub root_directory: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct SecretDef {
    pub file: Option<String>,
    pub environment: Option<String>,
    pub external: Option<bool>,
    /// With `external: true`: the Secrets Manager or SSM parameter ARN.
    pub name: Option<String>,
}

// ---------------------------------------------------------------- x-berth

/// The app-wide `x-berth` section.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct AppXBerth {
    pub region: Option<String>,
    /// The ECS cluster name; defaults to the app name.
    pub cluster: Option<String>,
    /// `fargate` (default) or `ec2`.
    pub launch_type: Option<String>,
    pub network: Option<NetworkConfig>,
    pub load_balancer: Option<LoadBalancerConfig>,
    pub discovery: Option<AppDiscovery>,
    pub registry: Option<RegistryConfig>,
    /// Overlays selected with `--env NAME`, shaped like a Compose file.
    pub environments: Option<IndexMap<String, Any>>,
    pub execution_role_arn: Option<String>,
    pub task_role_arn: Option<String>,
    pub logs: Option<LogsConfig>,
    /// Compose `file:` secrets mapped to the Secrets Manager or SSM ARN that
    /// holds each value on AWS (berth never uploads secret values).
    #[serde(default)]
    pub secrets: IndexMap<String, String>,
    /// The image of the init container that writes secrets and configs as
    /// files (default: busybox, pinned by digest).
    pub init_image: Option<String>,
    /// The capacity provider strategy of every service (a service's own
    /// `x-berth.capacity` replaces it).
    pub capacity: Option<Capacity>,
    /// Adopt same-named live resources that carry no berth tags (made by
    /// hand, Terraform, Copilot): tag them as this app's, as `berth plan
    /// --adopt` and `berth apply --adopt` do. Never another app's.
    pub adopt: Option<bool>,
}

/// `capacity: { spot: 2, on_demand: 1, on_demand_base: 1 }`: how a service's
/// tasks spread over FARGATE (on demand) and FARGATE_SPOT, as ECS's
/// capacity provider strategy (base tasks first, the rest by weight); or,
/// with `launch_type: ec2`, `providers:` names EC2 capacity providers.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct Capacity {
    /// The weight of FARGATE_SPOT.
    pub spot: Option<u32>,
    /// Tasks placed on FARGATE_SPOT before the weights apply.
    pub spot_base: Option<u32>,
    /// The weight of FARGATE.
    pub on_demand: Option<u32>,
    /// Tasks placed on FARGATE before the weights apply.
    pub on_demand_base: Option<u32>,
    /// EC2 capacity providers (Auto Scaling groups), by name.
    #[serde(default)]
    pub providers: Vec<CapacityProvider>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct CapacityProvider {
    pub name: String,
    pub weight: Option<u32>,
    pub base: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct NetworkConfig {
    /// `awsvpc` (default, the only mode on Fargate), `bridge` or `host` (EC2 only).
    pub mode: Option<String>,
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(default)]
    pub security_groups: Vec<String>,
    pub assign_public_ip: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct LoadBalancerConfig {
    /// ARN of an existing listener whose rules berth manages for this app.
    pub listener: Option<String>,
    /// ARN of a test listener for blue/green verification.
    pub test_listener: Option<String>,
    /// Listener rule priorities berth may allocate, `[from, to]`.
    pub priority_range: Option<(u32, u32)>,
    pub create: Option<CreateLoadBalancer>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct CreateLoadBalancer {
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(default)]
    pub security_groups: Vec<String>,
    pub scheme: Option<String>,
    pub certificate_arn: Option<String>,
    /// `application` (default: HTTP routes through listener rules) or
    /// `network` (TCP/UDP/TLS routes, one listener per routed service).
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// `discovery: connect` (ECS Service Connect) or `discovery: { namespace: shop.local }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged, expecting = "`connect` or a mapping with `namespace`")]
pub enum AppDiscovery {
    Mode(String),
    Config(DiscoveryConfig),
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct DiscoveryConfig {
    pub namespace: Option<String>,
    /// `dns` (Cloud Map records, default) or `connect` (ECS Service Connect).
    pub mode: Option<String>,
    /// DNS TTL in seconds (default 10).
    pub ttl: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct RegistryConfig {
    /// The registry host for `build` services, e.g. `123456789012.dkr.ecr.ap-northeast-2.amazonaws.com`.
    pub url: Option<String>,
    #[serde(default)]
    pub repositories: Vec<String>,
    pub tag_mutability: Option<String>,
    pub scan_on_push: Option<bool>,
    #[serde(default)]
    pub lifecycle: Vec<LifecycleRule>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
pub struct LifecycleRule {
    pub description: Option<String>,
    /// `untagged`, `tagged` or `any`.
    pub tag_status: Option<String>,
    pub tag_prefix: Option<Vec<String>>,
    pub expire_after_days: Option<u32>,
    pub keep_last: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct LogsConfig {
    /// The CloudWatch Logs group every container logs to (default
    /// `/berth/<app>`). berth creates it (tagged as the app's) unless it
    /// exists already, and deletes it on destroy only if it created it.
    pub group: Option<String>,
    /// Days CloudWatch keeps the log lines (default 30).
    pub retention_days: Option<u32>,
    pub region: Option<String>,
    pub stream_prefix: Option<String>,
}

/// A service's Compose `logging` section.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct Logging {
    /// `awslogs` (default), `none`, `awsfirelens`, `splunk`, ...
    pub driver: Option<String>,
    #[serde(default)]
    pub options: IndexMap<String, StringOrNumber>,
}

/// A service's own `x-berth` section.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct ServiceXBerth {
    pub route: Option<Route>,
    /// Register the service in Cloud Map (`<service>.<namespace>`).
    pub discovery: Option<bool>,
    pub strategy: Option<Strategy>,
    pub rolling: Option<RollingOverride>,
    /// Size the task explicitly (cpu units and MiB) instead of from `deploy.resources`.
    pub cpu: Option<u32>,
    pub memory: Option<u32>,
    /// Run this container as a sidecar in the task of the named service.
    pub task: Option<String>,
    /// Inject this service's secrets as environment variables (named after
    /// each secret) instead of files under /run/secrets.
    pub secret_env: Option<bool>,
    /// A command run as a one-off task of the service's new task definition
    /// before any service of the app is updated (a database migration, e.g.
    /// `[bundle, exec, rails, db:migrate]`). It runs only when the task
    /// definition changes; a non-zero exit stops the apply before any rollout.
    pub before_deploy: Option<StringOrList>,
    /// This service's capacity provider strategy (over `x-berth.capacity`).
    pub capacity: Option<Capacity>,
    /// Application Auto Scaling of the service's task count.
    pub autoscaling: Option<Autoscaling>,
    /// Live names other than berth's `<app>-<service>`, for resources made
    /// before berth (`berth import` writes them).
    pub names: Option<ResourceNames>,
    /// Which tags the service's tasks get: `SERVICE` (default),
    /// `TASK_DEFINITION` or `NONE`.
    pub propagate_tags: Option<String>,
    /// ECS's own `aws:ecs:*` tags on the tasks (default true).
    pub ecs_managed_tags: Option<bool>,
    /// Leave the task definition's port mappings unnamed, as a task
    /// definition made before berth may have them (berth names each
    /// `<container>-<port>` otherwise; Service Connect needs the names).
    pub unnamed_ports: Option<bool>,
    /// A sidecar the task outlives (ECS's `essential: false`); a service's
    /// own container is always essential.
    pub essential: Option<bool>,
}

/// `names: { service: orders-svc, family: orders-td, target_group: orders-tg }`.
/// A blue/green service's colors add `-blue` and `-green` to the service
/// and target group names.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct ResourceNames {
    /// The ECS service's name.
    pub service: Option<String>,
    /// The task definition family.
    pub family: Option<String>,
    /// The target group's name (a routed service only).
    pub target_group: Option<String>,
}

/// `autoscaling: { min: 2, max: 10, cpu: 60% }`: a scalable target for the
/// service's desired count with target-tracking policies (CPU, memory, ALB
/// requests per target) and optional scheduled actions. With it,
/// `deploy.replicas` is the first deploy's count only (clamped to min..max).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct Autoscaling {
    pub min: Option<u32>,
    pub max: Option<u32>,
    /// Target average CPU utilization, e.g. `70%`.
    pub cpu: Option<StringOrNumber>,
    /// Target average memory utilization, e.g. `80%`.
    pub memory: Option<StringOrNumber>,
    /// Target ALB requests per task (the service needs `x-berth.route`).
    pub requests_per_target: Option<u32>,
    /// Wait after a scale-in before the next one, e.g. `5m` (default 300 s).
    pub scale_in_cooldown: Option<String>,
    /// Wait after a scale-out before the next one, e.g. `1m` (default 300 s).
    pub scale_out_cooldown: Option<String>,
    /// Scheduled changes of min/max (Application Auto Scaling scheduled actions).
    #[serde(default)]
    pub schedule: Vec<ScheduledScaling>,
}

/// `{ name: nightly, cron: "0 22 * * ? *", min: 1, max: 2, timezone: Europe/Berlin }`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct ScheduledScaling {
    pub name: Option<String>,
    /// A cron expression as Application Auto Scaling takes it (six fields),
    /// or a whole `cron(...)`, `rate(...)` or `at(...)` expression.
    pub cron: Option<String>,
    pub min: Option<u32>,
    pub max: Option<u32>,
    pub timezone: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct Route {
    #[serde(default)]
    pub paths: Vec<String>,
    #[serde(default)]
    pub hosts: Vec<String>,
    /// The container port to route to (default: the service's first port).
    pub port: Option<u16>,
    pub health_path: Option<String>,
    pub health_matcher: Option<String>,
    pub health_interval: Option<String>,
    pub healthy_threshold: Option<u32>,
    pub unhealthy_threshold: Option<u32>,
    pub deregistration_delay: Option<String>,
    /// How long ECS ignores failing load balancer health checks of a new
    /// task (the service's healthCheckGracePeriodSeconds; default 60s).
    pub health_check_grace_period: Option<String>,
    pub priority: Option<u32>,
    /// `http` (default, an ALB rule), or `tcp`, `udp`, `tcp_udp`, `tls`: a
    /// listener of a network load balancer on the port's published port.
    pub protocol: Option<String>,
    /// The certificate of a `tls` route's listener (default: the created
    /// load balancer's `certificate_arn`).
    pub certificate_arn: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct Strategy {
    pub rolling: Option<Any>,
    pub blue_green: Option<BlueGreen>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct BlueGreen {
    /// `all_at_once` (default), `canary` or `linear`.
    pub traffic: Option<String>,
    /// Percent of traffic per step, e.g. `10%`.
    pub step: Option<StringOrNumber>,
    pub interval: Option<String>,
    pub bake: Option<String>,
    pub verify: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct RollingOverride {
    pub min_healthy_percent: Option<u32>,
    pub max_percent: Option<u32>,
}
