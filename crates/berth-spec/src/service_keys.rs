//! What berth does with each key of a Compose service: one table, read by
//! the validator (the keys it warns about, and why) and printed in the
//! README (`berth_spec::service_keys::markdown`; tests/tests/ec2_fields.rs
//! checks the README against it and every key of the Compose schema).

/// What berth does with a service key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Becomes the ECS field(s) named, on every launch type.
    Mapped,
    /// Becomes the ECS field(s) named with `x-berth.launch_type: ec2`; an
    /// error on Fargate, which has no such field.
    Ec2Only,
    /// An error on Fargate; with `launch_type: ec2`, accepted with a warning.
    Ec2Warned,
    /// Accepted with a warning: ECS has no field for it.
    Warned,
}

impl Behaviour {
    pub fn label(self) -> &'static str {
        match self {
            Behaviour::Mapped => "mapped",
            Behaviour::Ec2Only => "mapped on EC2 only",
            Behaviour::Ec2Warned => "refused on Fargate, warned on EC2",
            Behaviour::Warned => "warned",
        }
    }
}

/// One service key: what berth does with it, the ECS field (or why there is
/// none: the hint of the warning), and a value that shows the behaviour
/// (YAML, as written after `key: `).
#[derive(Debug, Clone, Copy)]
pub struct ServiceKey {
    pub key: &'static str,
    pub behaviour: Behaviour,
    pub ecs: &'static str,
    pub example: &'static str,
}

const fn k(key: &'static str, behaviour: Behaviour, ecs: &'static str, example: &'static str) -> ServiceKey {
    ServiceKey { key, behaviour, ecs, example }
}

use Behaviour::*;

/// Every key of a Compose service (the Compose Specification's JSON Schema),
/// in its alphabetical order.
pub const SERVICE_KEYS: &[ServiceKey] = &[
    k("annotations", Warned, "ECS has no container annotations; use `labels` (dockerLabels)", "{ a: b }"),
    k("attach", Warned, "ECS sends container output to the log driver (`logging`)", "false"),
    k("blkio_config", Warned, "ECS has no block IO weights or limits", "{ weight: 300 }"),
    k("build", Mapped, "image: CI builds it and pushes it to the app's ECR repository", "."),
    k("cap_add", Ec2Only, "linuxParameters.capabilities.add (Fargate allows adding SYS_PTRACE only)", "[NET_ADMIN]"),
    k("cap_drop", Mapped, "linuxParameters.capabilities.drop", "[MKNOD]"),
    k("cgroup", Warned, "ECS has no cgroup namespace setting", "private"),
    k("cgroup_parent", Warned, "ECS places containers in its own cgroups", "m"),
    k("command", Mapped, "command", "[nginx, -g, daemon off;]"),
    k("configs", Mapped, "files written by the task's init container", "[site]"),
    k("container_name", Warned, "ECS names containers after the compose service", "web-1"),
    k("cpu_count", Warned, "size the container with `cpus` or deploy.resources (ECS cpu units)", "2"),
    k("cpu_percent", Warned, "size the container with `cpus` or deploy.resources (ECS cpu units)", "50"),
    k("cpu_period", Warned, "size the container with `cpus` or deploy.resources (ECS cpu units)", "100000"),
    k("cpu_quota", Warned, "size the container with `cpus` or deploy.resources (ECS cpu units)", "50000"),
    k("cpu_rt_period", Warned, "ECS has no real-time scheduler settings", "1000000"),
    k("cpu_rt_runtime", Warned, "ECS has no real-time scheduler settings", "950000"),
    k("cpu_shares", Warned, "size the container with `cpus` or deploy.resources (ECS cpu units)", "512"),
    k("cpus", Mapped, "cpu (the container's, and the task size)", "0.5"),
    k("cpuset", Warned, "ECS does not pin containers to CPUs", "\"0\""),
    k("credential_spec", Warned, "ECS credential specs are for Windows containers, which berth does not deploy", "{ file: spec.json }"),
    k("depends_on", Mapped, "dependsOn within a task; the order services are deployed in", "[db]"),
    k("deploy", Mapped, "desiredCount, deploymentConfiguration, task cpu and memory", "{ replicas: 2 }"),
    k("develop", Warned, "`develop` configures `docker compose watch` on a workstation", "{ watch: [] }"),
    k("device_cgroup_rules", Warned, "ECS has no device cgroup rules; map devices with `devices` (EC2)", "[\"c 1:3 mr\"]"),
    k("devices", Ec2Only, "linuxParameters.devices", "[\"/dev/fuse:/dev/fuse\"]"),
    k("dns", Ec2Only, "dnsServers (bridge or host network mode: awsvpc tasks use the VPC's resolver)", "[10.0.0.2]"),
    k("dns_opt", Warned, "ECS has no resolver options field", "[use-vc]"),
    k("dns_search", Ec2Only, "dnsSearchDomains (bridge or host network mode: awsvpc tasks use the VPC's resolver)", "[corp.example]"),
    k("domainname", Warned, "ECS has no domain name field", "example.com"),
    k("entrypoint", Mapped, "entryPoint", "[/docker-entrypoint.sh]"),
    k("env_file", Mapped, "environment (read when the spec is loaded)", "[]"),
    k("environment", Mapped, "environment", "{ MODE: prod }"),
    k("expose", Mapped, "portMappings", "[\"8080\"]"),
    k("extends", Mapped, "merged into the service when the spec is loaded", "{ service: db }"),
    k(
        "external_links",
        Warned,
        "tasks share the VPC network; services reach each other through the app's `x-berth.discovery` (top level of the file)",
        "[other:db]",
    ),
    k(
        "extra_hosts",
        Ec2Only,
        "extraHosts (bridge or host network mode: ECS has no /etc/hosts entries under awsvpc)",
        "[\"db.local:10.0.0.5\"]",
    ),
    k("gpus", Warned, "berth does not map GPUs yet (ECS's GPU resourceRequirements need EC2 GPU instances)", "all"),
    k("group_add", Warned, "ECS has no supplementary groups field; `user: uid:gid` sets the primary group", "[mail]"),
    k("healthcheck", Mapped, "healthCheck", "{ test: [CMD, \"true\"] }"),
    k(
        "hostname",
        Warned,
        "ECS names tasks itself; services reach each other through the app's `x-berth.discovery` (top level of the file)",
        "web",
    ),
    k("image", Mapped, "image", "nginx"),
    k("init", Mapped, "linuxParameters.initProcessEnabled", "true"),
    k("ipc", Warned, "berth sets no task ipcMode", "shareable"),
    k("isolation", Warned, "isolation is for Windows containers, which berth does not deploy", "default"),
    k("label_file", Warned, "berth does not read label files; list the labels under `labels:`", "labels.env"),
    k("labels", Mapped, "dockerLabels", "{ team: web }"),
    k(
        "links",
        Warned,
        "tasks share the VPC network; services reach each other through the app's `x-berth.discovery` (top level of the file)",
        "[db]",
    ),
    k("logging", Mapped, "logConfiguration", "{ driver: awslogs }"),
    k("mac_address", Warned, "ECS assigns network interfaces and their addresses", "02:42:ac:11:65:43"),
    k("mem_limit", Mapped, "memory (the task size)", "512m"),
    k("mem_reservation", Warned, "berth sizes containers from `mem_limit` or deploy.resources", "256m"),
    k("mem_swappiness", Warned, "berth does not map swap settings (ECS's swappiness needs maxSwap on EC2)", "0"),
    k("memswap_limit", Warned, "berth does not map swap settings (ECS's maxSwap is EC2 only)", "1g"),
    k("models", Warned, "Compose models (AI model runners) have no ECS equivalent", "[llm]"),
    k(
        "network_mode",
        Ec2Warned,
        "the task's networkMode comes from the app's `x-berth.network.mode` (top level of the file; EC2 only)",
        "host",
    ),
    k(
        "networks",
        Warned,
        "tasks share the VPC network; services reach each other through the app's `x-berth.discovery` (top level of the file)",
        "[front]",
    ),
    k("oom_kill_disable", Warned, "ECS has no OOM killer setting", "true"),
    k("oom_score_adj", Warned, "ECS has no OOM score setting", "500"),
    k("pid", Warned, "berth sets no task pidMode", "host"),
    k("pids_limit", Warned, "ECS has no process count limit; `ulimits: { nproc: N }` is the nearest", "100"),
    k("platform", Mapped, "runtimePlatform.cpuArchitecture", "linux/arm64"),
    k("ports", Mapped, "portMappings (TCP and UDP; a route puts one behind the load balancer, UDP and TLS through a network load balancer)", "[\"8080:80\"]"),
    k("post_start", Warned, "ECS has no container lifecycle hooks", "[{ command: [echo, hi] }]"),
    k("pre_stop", Warned, "ECS has no container lifecycle hooks", "[{ command: [echo, bye] }]"),
    k("privileged", Ec2Only, "privileged", "true"),
    k("profiles", Mapped, "services of inactive profiles are not deployed (--compose-profile)", "[web]"),
    k("provider", Warned, "Compose providers have no ECS equivalent", "{ type: model }"),
    k("pull_policy", Warned, "ECS pulls the image of each task it starts", "always"),
    k("pull_refresh_after", Warned, "ECS pulls the image of each task it starts", "1h"),
    k("read_only", Mapped, "readonlyRootFilesystem", "true"),
    k("restart", Warned, "ECS restarts failed tasks of a service by itself", "always"),
    k("runtime", Warned, "ECS runs containers with its own runtime", "runc"),
    k("scale", Warned, "use deploy.replicas (the service's desiredCount)", "2"),
    k("secrets", Mapped, "secrets (with the service's `x-berth.secret_env`), else files written by the task's init container", "[token]"),
    k("security_opt", Warned, "berth does not map security options (ECS's dockerSecurityOptions are EC2 only)", "[no-new-privileges:true]"),
    k("shm_size", Ec2Only, "linuxParameters.sharedMemorySize (MiB)", "256m"),
    k("stdin_open", Warned, "ECS services run without an attached terminal", "true"),
    k("stop_grace_period", Mapped, "stopTimeout (at most 120 s on Fargate)", "30s"),
    k(
        "stop_signal",
        Warned,
        "ECS has no stop signal field: it sends SIGTERM, then SIGKILL after stopTimeout; set STOPSIGNAL in the image instead",
        "SIGQUIT",
    ),
    k("storage_opt", Warned, "ECS has no storage driver options", "{ size: 1G }"),
    k(
        "sysctls",
        Mapped,
        "systemControls (namespaced ones only: net.*, the IPC kernel.* ones, fs.mqueue.*)",
        "{ net.core.somaxconn: 1024 }",
    ),
    k("tmpfs", Ec2Only, "linuxParameters.tmpfs (each needs a size)", "[\"/run:size=64m\"]"),
    k("tty", Warned, "ECS services run without an attached terminal", "true"),
    k("ulimits", Mapped, "ulimits", "{ nofile: { soft: 20000, hard: 40000 } }"),
    k("use_api_socket", Warned, "ECS tasks have no Docker API socket", "true"),
    k("user", Mapped, "user", "\"1000:1000\""),
    k("userns_mode", Warned, "ECS has no user namespace setting", "host"),
    k("uts", Warned, "ECS has no UTS namespace setting", "host"),
    k(
        "volumes",
        Mapped,
        "mountPoints and the task's volumes (named volumes: task storage or EFS; a host path: host.sourcePath, EC2 only)",
        "[\"data:/data\"]",
    ),
    k("volumes_from", Warned, "berth does not map volumesFrom; share a named volume instead", "[db]"),
    k("working_dir", Mapped, "workingDirectory", "/app"),
];

/// The entry of a key, if Compose defines it.
pub fn get(key: &str) -> Option<&'static ServiceKey> {
    SERVICE_KEYS.iter().find(|k| k.key == key)
}

/// The README's table of service keys (between the markers the test looks for).
pub fn markdown() -> String {
    let mut out = String::from("| Key | What berth does | ECS field, or why there is none |\n|---|---|---|\n");
    for k in SERVICE_KEYS {
        out.push_str(&format!("| `{}` | {} | {} |\n", k.key, k.behaviour.label(), k.ecs));
    }
    out
}
