//! Validation: turns the typed Compose file into the [`App`] berth deploys,
//! reporting every problem with the key, its `file:line:col` and a hint.
//! Each rule lives next to the value it resolves, so nothing is checked in
//! one place and converted in another.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::app::*;
use crate::container_fields::{self, SET_EC2};
use crate::diag::{Diagnostic, Diagnostics};
use crate::fargate;
use crate::interpolate::Vars;
use crate::node::{Node, Seg};
use crate::ports;
use crate::service_keys::{self, Behaviour};
use crate::types::{self, ComposeFile};
use crate::units;

/// AWS limits target group names to 32 characters; berth's are
/// `<app>-<service>[-green]`, and a replacement (a change ELB cannot make in
/// place) takes the same name plus `--1` while the old one still exists.
pub const TARGET_GROUP_NAME_MAX: usize = 32 - REPLACEMENT_SUFFIX.len();
/// ELB names allow no `--`; the address tag, not the name, says which
/// target group a replacement stands for.
pub const REPLACEMENT_SUFFIX: &str = "-r1";
/// Default listener rule priorities berth allocates from.
pub const DEFAULT_PRIORITY_RANGE: (u32, u32) = (1000, 1999);
/// ELB's default of 300 s makes every deploy wait five minutes per task; 30 s
/// is enough for most HTTP apps to drain.
pub const DEFAULT_DEREGISTRATION_DELAY_SECS: u64 = 30;
/// A new task's first health checks through the load balancer do not count
/// for this long, so a slow start is not a failed deployment.
pub const DEFAULT_HEALTH_CHECK_GRACE_PERIOD_SECS: u64 = 60;

/// Builds a path from keys, e.g. `p(&["services", "web", "ports"])`.
pub fn p(keys: &[&str]) -> Vec<Seg> {
    keys.iter().map(|k| Seg::Key((*k).to_string())).collect()
}

fn pi(keys: &[&str], index: usize) -> Vec<Seg> {
    let mut v = p(keys);
    v.push(Seg::Index(index));
    v
}

pub(crate) struct Ctx<'a> {
    tree: &'a Node,
    diags: Diagnostics,
}

impl Ctx<'_> {
    fn report(&mut self, d: Diagnostic, path: &[Seg]) {
        let key = crate::node::path_string(path);
        let d = Diagnostic { key, ..d };
        self.diags.push(d.at(Some(self.tree.pos_of(path))));
    }

    pub(crate) fn error(&mut self, path: &[Seg], message: impl Into<String>, hint: Option<&str>) {
        let mut d = Diagnostic::error("", message);
        d.hint = hint.map(str::to_string);
        self.report(d, path);
    }

    pub(crate) fn warn(&mut self, path: &[Seg], message: impl Into<String>, hint: Option<&str>) {
        let mut d = Diagnostic::warning("", message);
        d.hint = hint.map(str::to_string);
        self.report(d, path);
    }
}

/// Validates and resolves the spec. Returns the app only when there is no error.
pub fn resolve(spec: &ComposeFile, tree: &Node, app_name: &str, vars: &Vars) -> (Option<App>, Diagnostics) {
    let mut cx = Ctx { tree, diags: Diagnostics::default() };
    let app = resolve_app(&mut cx, spec, app_name, vars);
    let app = if cx.diags.has_errors() { None } else { Some(app) };
    (app, cx.diags)
}

fn resolve_app(cx: &mut Ctx, spec: &ComposeFile, app_name: &str, vars: &Vars) -> App {
    let x = spec.x_berth.clone().unwrap_or_default();

    let launch_type = match x.launch_type.as_deref() {
        None | Some("fargate" | "FARGATE") => LaunchType::Fargate,
        Some("ec2" | "EC2") => LaunchType::Ec2,
        Some(other) => {
            cx.error(&p(&["x-berth", "launch_type"]), format!("unknown launch type {other:?}"), Some("use `fargate` or `ec2`"));
            LaunchType::Fargate
        }
    };
    let network = resolve_network(cx, &x, launch_type);

    if spec.services.is_empty() {
        cx.error(&p(&["services"]), "the spec defines no services", Some("add at least one service under `services:`"));
    }
    if !spec.networks.is_empty() {
        cx.warn(
            &p(&["networks"]),
            "ignored on ECS: tasks share the VPC network of x-berth.network",
            Some("services reach each other through `x-berth.discovery`, set at the top level of the file (the app's x-berth)"),
        );
    }
    let mapped = spec.x_berth.as_ref().map(|x| x.secrets.clone()).unwrap_or_default();
    for (name, def) in &spec.secrets {
        resolve_secret_def(cx, name, def, mapped.get(name));
    }
    for name in mapped.keys().filter(|n| !spec.secrets.contains_key(*n)) {
        cx.warn(&p(&["x-berth", "secrets", name]), format!("no secret {name:?} is defined under the top-level `secrets:`"), None);
    }
    let volumes = resolve_volume_defs(cx, spec);

    let registry = resolve_registry(cx, &x, spec, app_name);
    let load_balancer = resolve_load_balancer(cx, &x);
    let discovery = resolve_discovery(cx, &x, app_name);

    // Sidecars: services whose x-berth.task names another service.
    let mut leader_of: HashMap<&str, &str> = HashMap::new();
    for (name, svc) in &spec.services {
        let Some(leader) = svc.x_berth.as_ref().and_then(|xb| xb.task.as_deref()) else { continue };
        let path = p(&["services", name, "x-berth", "task"]);
        match spec.services.get(leader) {
            None => cx.error(&path, format!("names unknown service {leader:?}"), Some("name the service whose task this container joins")),
            Some(l) if l.x_berth.as_ref().and_then(|xb| xb.task.as_ref()).is_some() => {
                cx.error(&path, format!("{leader:?} is itself a sidecar"), Some("name the service that owns the task"))
            }
            Some(_) if leader == name => cx.error(&path, "a service cannot be its own sidecar", None),
            Some(_) => {
                leader_of.insert(name.as_str(), leader);
            }
        }
    }
    let task_of = |s: &str| -> String { leader_of.get(s).map_or(s, |l| *l).to_string() };

    check_depends_on(cx, spec);

    // Each task's members (its service, then its sidecars), in spec order,
    // found in one pass (not one pass over all services per task).
    let mut members_of: HashMap<&str, Vec<(&String, &types::Service)>> = HashMap::new();
    for (n, s) in &spec.services {
        members_of.entry(leader_of.get(n.as_str()).copied().unwrap_or(n.as_str())).or_default().push((n, s));
    }
    let mut tasks = Vec::new();
    for (name, svc) in &spec.services {
        if leader_of.contains_key(name.as_str()) {
            continue;
        }
        validate_service_name(cx, name);
        let members = members_of.remove(name.as_str()).unwrap_or_default();
        let target = container_fields::Target { launch: launch_type, mode: network.mode };
        let mut host_volumes: Vec<Volume> = Vec::new();
        let containers: Vec<Container> = members
            .iter()
            .map(|(n, s)| resolve_container(cx, spec, app_name, n, s, &registry, vars, target, &task_of, &mut host_volumes))
            .collect();
        // Secrets and configs as files: the task's init container.
        let mut containers = containers;
        let mut task_volumes_extra = Vec::new();
        let init_image = x.init_image.as_deref().unwrap_or(crate::files::DEFAULT_INIT_IMAGE);
        if let Err(msg) = crate::files::add_init_container(&mut containers, &mut task_volumes_extra, init_image) {
            cx.error(&p(&["services", name]), msg, Some("give secrets and configs targets in a folder, without quotes"));
        }
        if containers.len() > 10 {
            cx.error(
                &p(&["services", name]),
                format!("the task of {name} has {} containers; ECS allows at most 10 per task", containers.len()),
                Some("move some sidecars (services with `x-berth.task` set under them) to another service"),
            );
        }
        check_duplicate_ports(cx, &members, &containers);
        let (cpu, memory) = task_size(cx, name, svc, &containers, launch_type);
        let cpu_architecture = task_architecture(cx, &members);
        let replicas = resolve_replicas(cx, name, svc, launch_type);
        let rolling = resolve_rolling(cx, name, svc, replicas.unwrap_or(1));
        let route = resolve_route(cx, name, svc, &containers[0], load_balancer.as_ref(), network.mode);
        if let Some(r) = &route {
            crate::nlb::check_blue_green(cx, name, svc, r.protocol);
        }
        let blue_green = resolve_blue_green(cx, name, svc, route.is_some(), app_name);
        let (propagate_tags, ecs_managed_tags) = crate::service_tags::resolve_service_tags(cx, name, svc);
        let names = crate::names::resolve_names(cx, app_name, name, svc, route.is_some(), blue_green.is_some());
        let discoverable = resolve_discoverable(cx, name, svc, &containers[0], discovery.as_ref());
        if discoverable
            && discovery.as_ref().is_some_and(|d| d.mode == DiscoveryMode::Connect)
            && containers[0].ports.iter().any(|p| p.name.as_deref() == Some(""))
        {
            cx.error(
                &p(&["services", name, "x-berth", "unnamed_ports"]),
                "Service Connect reaches a service by its port's name, and this service's ports are unnamed",
                Some("remove `unnamed_ports` (berth then names the ports; the task definition gets a new revision)"),
            );
        }
        warn_unrouted_ports(cx, &members, route.as_ref());
        let before_deploy = resolve_before_deploy(cx, name, svc);
        let capacity = resolve_capacity(cx, &x, name, svc, &members, launch_type, cpu_architecture.as_deref());
        // Requests per target are an ALB metric: an HTTP route's.
        let autoscaling = resolve_autoscaling(cx, name, svc, route.as_ref().is_some_and(|r| r.protocol == RouteProtocol::Http), replicas);
        // With a scaler, replicas is the first deploy's count only.
        let replicas = match &autoscaling {
            Some(a) => Some(crate::autoscaling::initial_count(a, replicas)),
            None => replicas,
        };

        let mut depends_on: Vec<(String, String)> = Vec::new();
        for (member, msvc) in &members {
            for (dep, cond) in msvc.depends_on.as_ref().map(types::DependsOn::entries).unwrap_or_default() {
                let dep_task = task_of(&dep);
                if dep_task != *name && spec.services.contains_key(&dep) && !depends_on.iter().any(|(d, _)| *d == dep_task) {
                    depends_on.push((dep_task, cond));
                }
                let _ = member;
            }
        }
        let task_volumes: Vec<Volume> = {
            let mut names: Vec<&str> = containers.iter().flat_map(|c| c.mounts.iter().map(|m| m.volume.as_str())).collect();
            names.sort_unstable();
            names.dedup();
            names
                .into_iter()
                .map(|n| {
                    volumes.get(n).or_else(|| host_volumes.iter().find(|v| v.name == n)).cloned().unwrap_or(Volume {
                        name: n.to_string(),
                        efs: None,
                        root_directory: None,
                        host_path: None,
                    })
                })
                .collect()
        };
        let mut task_volumes = task_volumes;
        task_volumes.retain(|v| !task_volumes_extra.iter().any(|e: &Volume| e.name == v.name));
        task_volumes.extend(task_volumes_extra);
        tasks.push(Task {
            name: name.clone(),
            containers,
            cpu,
            memory,
            cpu_architecture,
            replicas,
            rolling,
            route,
            discoverable,
            blue_green,
            depends_on,
            volumes: task_volumes,
            before_deploy,
            capacity,
            autoscaling,
            names,
            propagate_tags,
            ecs_managed_tags,
        });
    }
    crate::names::check_unique(
        cx,
        app_name,
        &tasks
            .iter()
            .map(|t| crate::names::Named {
                service: t.name.clone(),
                names: t.names.clone(),
                routed: t.route.is_some(),
                blue_green: t.blue_green.is_some(),
            })
            .collect::<Vec<_>>(),
    );

    if tasks.iter().any(|t| t.containers.iter().any(|c| !c.secrets.is_empty())) && x.execution_role_arn.is_none() {
        cx.warn(
            &p(&["x-berth"]),
            "services use secrets but no execution role is set; ECS needs one to read them",
            Some("set `x-berth.execution_role_arn` at the top level of the file (the app's x-berth) to a role that may read the secrets"),
        );
    }

    App {
        name: app_name.to_string(),
        cluster: x.cluster.clone().unwrap_or_else(|| app_name.to_string()),
        region: x.region.clone(),
        launch_type,
        network,
        execution_role_arn: x.execution_role_arn.clone(),
        task_role_arn: x.task_role_arn.clone(),
        logs: {
            let (logs, notes) = crate::logging::resolve_logs(x.logs.as_ref(), app_name);
            report_notes(cx, &[], notes);
            logs
        },
        load_balancer,
        discovery,
        registry,
        tasks,
        adopt: x.adopt.unwrap_or(false),
    }
}

fn resolve_network(cx: &mut Ctx, x: &types::AppXBerth, launch: LaunchType) -> Network {
    let n = x.network.clone().unwrap_or_default();
    let mode = match n.mode.as_deref() {
        None | Some("awsvpc") => NetworkMode::Awsvpc,
        Some("bridge") => NetworkMode::Bridge,
        Some("host") => NetworkMode::Host,
        Some(other) => {
            cx.error(&p(&["x-berth", "network", "mode"]), format!("unknown network mode {other:?}"), Some("use awsvpc, bridge or host"));
            NetworkMode::Awsvpc
        }
    };
    if launch == LaunchType::Fargate && mode != NetworkMode::Awsvpc {
        cx.error(
            &p(&["x-berth", "network", "mode"]),
            "Fargate tasks only run in awsvpc network mode",
            Some(&format!("remove the key, or {SET_EC2}")),
        );
    }
    Network {
        mode,
        vpc_id: n.vpc_id,
        subnets: n.subnets,
        security_groups: n.security_groups,
        assign_public_ip: n.assign_public_ip.unwrap_or(false),
    }
}

fn resolve_secret_def(cx: &mut Ctx, name: &str, def: &types::SecretDef, mapped: Option<&String>) {
    if mapped.is_some() {
        // `x-berth.secrets` names the ARN that holds the value on AWS; the
        // compose file stays as it is.
    } else if def.file.is_some() {
        cx.error(
            &p(&["secrets", name, "file"]),
            "file secrets cannot be used on ECS: berth does not upload secret values",
            Some(&format!("store the value in Secrets Manager or SSM and map the secret to its ARN: `x-berth: {{ secrets: {{ {name}: <secret ARN> }} }}` at the top level of the file")),
        );
    } else if def.environment.is_some() {
        cx.error(
            &p(&["secrets", name, "environment"]),
            "secrets from the local environment cannot be used on ECS: berth does not upload secret values",
            Some("store the value in Secrets Manager or SSM and reference it: `external: true` with `name: <secret ARN>`"),
        );
    } else if def.external != Some(true) {
        cx.error(&p(&["secrets", name]), "a secret must be `external: true` with `name:` set to its ARN", None);
    } else if def.name.as_deref().unwrap_or("").is_empty() {
        cx.error(
            &p(&["secrets", name]),
            "an external secret needs `name:` set to the Secrets Manager or SSM parameter ARN",
            Some("name: arn:aws:secretsmanager:<region>:<account>:secret:<id>"),
        );
    }
}

fn resolve_volume_defs(cx: &mut Ctx, spec: &ComposeFile) -> HashMap<String, Volume> {
    let mut out = HashMap::new();
    for (name, def) in &spec.volumes {
        let efs = def.as_ref().and_then(|d| d.x_berth.as_ref()).and_then(|x| x.efs.clone());
        let root = def.as_ref().and_then(|d| d.x_berth.as_ref()).and_then(|x| x.root_directory.clone());
        let used = spec.services.values().any(|s| s.volumes.iter().any(|v| volume_source(v).as_deref() == Some(name.as_str())));
        if efs.is_none() && used {
            cx.warn(
                &p(&["volumes", name]),
                "named volume is task storage on ECS: its data is lost when the task stops",
                Some(&format!("map it to EFS for persistence: `x-berth: {{ efs: fs-... }}` under `volumes.{name}` (the top-level volume)")),
            );
        }
        out.insert(name.clone(), Volume { name: name.clone(), efs, root_directory: root, host_path: None });
    }
    out
}

fn volume_source(v: &types::ServiceVolume) -> Option<String> {
    match v {
        types::ServiceVolume::Short(s) => {
            let parts: Vec<&str> = s.split(':').collect();
            (parts.len() >= 2).then(|| parts[0].to_string())
        }
        types::ServiceVolume::Long(l) => l.source.clone(),
    }
}

fn resolve_registry(cx: &mut Ctx, x: &types::AppXBerth, spec: &ComposeFile, app: &str) -> Registry {
    let r = x.registry.clone().unwrap_or_default();
    let tag_mutability = match r.tag_mutability.as_deref() {
        None => "IMMUTABLE".to_string(),
        Some(m) if m.eq_ignore_ascii_case("immutable") || m.eq_ignore_ascii_case("mutable") => m.to_ascii_uppercase(),
        Some(other) => {
            cx.error(
                &p(&["x-berth", "registry", "tag_mutability"]),
                format!("unknown tag mutability {other:?}"),
                Some("use IMMUTABLE or MUTABLE"),
            );
            "IMMUTABLE".to_string()
        }
    };
    let mut repositories: Vec<String> =
        spec.services.iter().filter(|(_, s)| s.build.is_some() && s.image.is_none()).map(|(n, _)| format!("{app}/{n}")).collect();
    for repo in &r.repositories {
        if !repositories.contains(repo) {
            repositories.push(repo.clone());
        }
    }
    for (i, repo) in repositories.iter().enumerate() {
        if !valid_ecr_name(repo) {
            let path = if i < r.repositories.len() { pi(&["x-berth", "registry", "repositories"], i) } else { p(&["name"]) };
            cx.error(
                &path,
                format!("{repo:?} is not a valid ECR repository name"),
                Some("use lowercase letters, digits, and . _ - / (2-256 characters)"),
            );
        }
    }
    check_lifecycle(cx, &r.lifecycle);
    Registry { url: r.url, tag_mutability, scan_on_push: r.scan_on_push.unwrap_or(true), repositories, lifecycle: r.lifecycle }
}

/// ECR's rules for lifecycle policies, checked before AWS sees them.
fn check_lifecycle(cx: &mut Ctx, rules: &[types::LifecycleRule]) {
    for (i, r) in rules.iter().enumerate() {
        let path = pi(&["x-berth", "registry", "lifecycle"], i);
        let status = r.tag_status.as_deref();
        let prefixes = r.tag_prefix.as_deref().unwrap_or_default();
        match status {
            None | Some("untagged" | "tagged" | "any") => {}
            Some(other) => cx.error(&path, format!("unknown tag_status {other:?}"), Some("use untagged, tagged or any")),
        }
        if r.tag_prefix.is_some() && prefixes.is_empty() {
            cx.error(&path, "tag_prefix lists no prefixes", Some("list at least one, e.g. tag_prefix: [dev]"));
        }
        if status == Some("tagged") && prefixes.is_empty() {
            cx.error(&path, "a tagged rule needs tag_prefix", Some("add tag_prefix: [<prefix>], or use tag_status: any"));
        }
        if matches!(status, Some("untagged" | "any")) && !prefixes.is_empty() {
            cx.error(&path, "tag_prefix only applies to tag_status: tagged", None);
        }
        match (r.keep_last, r.expire_after_days) {
            (Some(_), Some(_)) | (None, None) => cx.error(&path, "a rule needs exactly one of keep_last or expire_after_days", None),
            (Some(0), _) | (_, Some(0)) => cx.error(&path, "a count of 0 is not allowed", Some("ECR counts start at 1")),
            _ => {}
        }
        let is_any = status == Some("any") || (status.is_none() && prefixes.is_empty());
        if is_any && i + 1 != rules.len() {
            cx.error(
                &path,
                "a tag_status: any rule must be the last rule",
                Some("ECR evaluates rules in order and requires the `any` rule to have the highest priority"),
            );
        }
    }
}

fn valid_ecr_name(name: &str) -> bool {
    (2..=256).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-/".contains(&b))
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
}

fn resolve_load_balancer(cx: &mut Ctx, x: &types::AppXBerth) -> Option<LoadBalancer> {
    let lb = x.load_balancer.as_ref()?;
    let (lo, hi) = lb.priority_range.unwrap_or(DEFAULT_PRIORITY_RANGE);
    if lo == 0 || hi > 50_000 || lo > hi {
        cx.error(
            &p(&["x-berth", "load_balancer", "priority_range"]),
            format!("[{lo}, {hi}] is not a range of listener rule priorities"),
            Some("ALB priorities are 1-50000, e.g. [1000, 1999]"),
        );
    }
    let create = lb.create.as_ref().map(|c| {
        let scheme = c.scheme.clone().unwrap_or_else(|| "internet-facing".into());
        if scheme != "internet-facing" && scheme != "internal" {
            cx.error(
                &p(&["x-berth", "load_balancer", "create", "scheme"]),
                format!("unknown scheme {scheme:?}"),
                Some("use internet-facing or internal"),
            );
        }
        let kind = crate::nlb::load_balancer_kind(cx, c);
        if kind == LoadBalancerKind::Application && c.subnets.len() < 2 {
            cx.error(
                &p(&["x-berth", "load_balancer", "create", "subnets"]),
                "an application load balancer needs subnets in at least two availability zones",
                None,
            );
        } else if c.subnets.is_empty() {
            cx.error(
                &p(&["x-berth", "load_balancer", "create", "subnets"]),
                "a network load balancer needs at least one subnet",
                Some("list a subnet per availability zone the load balancer serves"),
            );
        }
        CreateLoadBalancer {
            subnets: c.subnets.clone(),
            security_groups: c.security_groups.clone(),
            scheme,
            certificate_arn: c.certificate_arn.clone(),
            kind,
        }
    });
    if lb.listener.is_some() && create.is_some() {
        cx.error(&p(&["x-berth", "load_balancer"]), "set either `listener` (an existing one) or `create`, not both", None);
    }
    Some(LoadBalancer { listener: lb.listener.clone(), test_listener: lb.test_listener.clone(), priority_range: (lo, hi), create })
}

fn resolve_discovery(cx: &mut Ctx, x: &types::AppXBerth, app: &str) -> Option<Discovery> {
    let default_ns = format!("{app}.local");
    match x.discovery.as_ref()? {
        types::AppDiscovery::Mode(m) if m == "connect" => Some(Discovery { namespace: default_ns, mode: DiscoveryMode::Connect, ttl: 10 }),
        types::AppDiscovery::Mode(m) if m == "dns" => Some(Discovery { namespace: default_ns, mode: DiscoveryMode::Dns, ttl: 10 }),
        types::AppDiscovery::Mode(other) => {
            cx.error(
                &p(&["x-berth", "discovery"]),
                format!("unknown discovery mode {other:?}"),
                Some("use `connect`, `dns`, or `{ namespace: <name> }`"),
            );
            None
        }
        types::AppDiscovery::Config(c) => {
            let mode = match c.mode.as_deref() {
                None | Some("dns") => DiscoveryMode::Dns,
                Some("connect") => DiscoveryMode::Connect,
                Some(other) => {
                    cx.error(
                        &p(&["x-berth", "discovery", "mode"]),
                        format!("unknown discovery mode {other:?}"),
                        Some("use dns or connect"),
                    );
                    DiscoveryMode::Dns
                }
            };
            Some(Discovery { namespace: c.namespace.clone().unwrap_or(default_ns), mode, ttl: c.ttl.unwrap_or(10) })
        }
    }
}

fn validate_service_name(cx: &mut Ctx, name: &str) {
    let ok = !name.is_empty() && name.len() <= 255 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !ok {
        cx.error(&p(&["services", name]), format!("{name:?} cannot name an ECS service"), Some("use letters, digits, - and _ only"));
    }
}

/// Unknown `depends_on` targets, unknown conditions, and cycles.
fn check_depends_on(cx: &mut Ctx, spec: &ComposeFile) {
    let mut graph: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (name, svc) in &spec.services {
        let entries = svc.depends_on.as_ref().map(types::DependsOn::entries).unwrap_or_default();
        for (i, (dep, cond)) in entries.iter().enumerate() {
            let path = match svc.depends_on {
                Some(types::DependsOn::List(_)) => pi(&["services", name, "depends_on"], i),
                _ => p(&["services", name, "depends_on", dep]),
            };
            if !spec.services.contains_key(dep) {
                cx.error(&path, format!("depends on unknown service {dep:?}"), Some(&known_services(spec)));
                continue;
            }
            match cond.as_str() {
                "service_started" | "service_completed_successfully" => {}
                "service_healthy" => {
                    if spec.services[dep].healthcheck.is_none() {
                        cx.warn(
                            &path,
                            format!("waits for {dep} to be healthy, but {dep} has no healthcheck"),
                            Some(&format!("add a healthcheck to {dep}")),
                        );
                    }
                }
                other => cx.error(
                    &path,
                    format!("unknown condition {other:?}"),
                    Some("use service_started, service_healthy or service_completed_successfully"),
                ),
            }
            graph.entry(name.as_str()).or_default().push(dep.clone());
        }
    }
    // Depth-first search for a cycle; report each cycle once, at its first service.
    let mut state: HashMap<&str, u8> = HashMap::new(); // 1 = on the path, 2 = done
    let mut reported = false;
    for start in spec.services.keys() {
        if let Some(cycle) = find_cycle(start, &graph, &mut state) {
            if !reported {
                let first = cycle[0].clone();
                cx.error(
                    &p(&["services", &first, "depends_on"]),
                    format!("dependency cycle: {}", cycle_text(&cycle)),
                    Some("remove one of these depends_on entries"),
                );
                reported = true;
            }
        }
    }
}

/// A cycle as `a -> b -> a`; a long one with its middle left out.
fn cycle_text(cycle: &[String]) -> String {
    if cycle.len() <= 12 {
        return cycle.join(" -> ");
    }
    let (head, tail) = (&cycle[..8], &cycle[cycle.len() - 3..]);
    format!("{} -> ({} more) -> {}", head.join(" -> "), cycle.len() - 11, tail.join(" -> "))
}

/// The services a hint lists, at most 20 (a spec with thousands would make
/// each message, and all of them together, huge).
fn known_services(spec: &ComposeFile) -> String {
    const SHOWN: usize = 20;
    let known: Vec<&str> = spec.services.keys().map(String::as_str).take(SHOWN).collect();
    let more = spec.services.len().saturating_sub(SHOWN);
    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
    format!("known services: {}{more}", known.join(", "))
}

/// A cycle reachable from `start` through services not yet searched.
/// Iterative: a chain of thousands of depends_on must not overflow the stack.
fn find_cycle<'a>(start: &'a str, graph: &'a BTreeMap<&'a str, Vec<String>>, state: &mut HashMap<&'a str, u8>) -> Option<Vec<String>> {
    if state.contains_key(start) {
        return None;
    }
    state.insert(start, 1);
    // Each service on the path, with the index of its next dependency.
    let mut path: Vec<(&'a str, usize)> = vec![(start, 0)];
    while let Some(&(node, next)) = path.last() {
        let Some(dep) = graph.get(node).and_then(|deps| deps.get(next)) else {
            state.insert(node, 2);
            path.pop();
            continue;
        };
        if let Some(top) = path.last_mut() {
            top.1 += 1;
        }
        match state.get(dep.as_str()) {
            Some(2) => {}
            Some(_) => {
                let from = path.iter().position(|(n, _)| *n == dep.as_str()).unwrap_or(0);
                let mut cycle: Vec<String> = path[from..].iter().map(|(n, _)| n.to_string()).collect();
                cycle.push(dep.clone());
                return Some(cycle);
            }
            None => {
                state.insert(dep.as_str(), 1);
                path.push((dep.as_str(), 0));
            }
        }
    }
    None
}

#[allow(clippy::too_many_arguments)]
fn resolve_container(
    cx: &mut Ctx,
    spec: &ComposeFile,
    app: &str,
    name: &str,
    svc: &types::Service,
    registry: &Registry,
    vars: &Vars,
    target: container_fields::Target,
    task_of: &dyn Fn(&str) -> String,
    host_volumes: &mut Vec<Volume>,
) -> Container {
    let launch = target.launch;
    let sp = |keys: &[&str]| -> Vec<Seg> {
        let mut v = p(&["services", name]);
        v.extend(p(keys));
        v
    };

    for k in service_keys::SERVICE_KEYS.iter().filter(|k| k.behaviour == Behaviour::Warned) {
        if cx.tree.lookup(&sp(&[k.key])).is_some() {
            cx.warn(&sp(&[k.key]), "ignored on ECS", Some(k.ecs));
        }
    }
    let (mut files, notes) = crate::files::service_configs(svc.configs.as_ref(), &spec.configs, vars);
    for (keys, message, hint) in notes {
        let mut path = p(&["services", name]);
        path.extend(keys.iter().map(|k| match k.strip_prefix('[').and_then(|k| k.strip_suffix(']')).and_then(|i| i.parse().ok()) {
            Some(i) => Seg::Index(i),
            None => Seg::Key(k.clone()),
        }));
        cx.error(&path, message, hint.as_deref());
    }

    let image = match (&svc.image, &svc.build) {
        (Some(reference), _) => Image::External { reference: reference.clone() },
        (None, Some(_)) => {
            let repository = format!("{app}/{name}");
            let tag = match vars.get("TAG").filter(|t| !t.is_empty()) {
                Some(t) => t.to_string(),
                None => {
                    cx.warn(
                        &sp(&["build"]),
                        format!("berth deploys the image CI pushes to ECR repository {repository}; its tag comes from TAG, which is not set (using `latest`)"),
                        Some("pass --var TAG=<commit id>, or set `image:`"),
                    );
                    "latest".to_string()
                }
            };
            Image::Ecr { repository, tag, registry: registry.url.clone() }
        }
        (None, None) => {
            cx.error(&p(&["services", name]), "needs `image` or `build`", Some("set image: to the image this service runs"));
            Image::External { reference: String::new() }
        }
    };

    let command = split_command(cx, &sp(&["command"]), svc.command.as_ref());
    let entrypoint = split_command(cx, &sp(&["entrypoint"]), svc.entrypoint.as_ref());
    let environment = key_values(cx, &sp(&["environment"]), svc.environment.as_ref(), vars);
    for (key, value) in &environment {
        // `*_FILE=/run/secrets/...` names a file (the secret stays in it), not a secret.
        let names_a_file = key.ends_with("_FILE") && value.starts_with('/');
        if looks_secret(key) && !value.is_empty() && !names_a_file {
            cx.warn(
                &sp(&["environment"]),
                format!("{key} looks like a secret: its value is stored in the task definition, readable by anyone who can describe it (berth masks it in plans)"),
                Some("store it in Secrets Manager or SSM and list it under `secrets:` with `external: true`"),
            );
        }
    }
    let labels = key_values(cx, &sp(&["labels"]), svc.labels.as_ref(), vars);

    let mut secrets = Vec::new();
    for (i, s) in svc.secrets.iter().enumerate() {
        let source = s.source();
        match spec.secrets.get(source) {
            None => cx.error(
                &pi(&["services", name, "secrets"], i),
                format!("unknown secret {source:?}"),
                Some("define it under the top-level `secrets:` with `external: true` and its ARN"),
            ),
            Some(def) => {
                let arn = def
                    .name
                    .clone()
                    .filter(|_| def.external == Some(true))
                    .or_else(|| spec.x_berth.as_ref().and_then(|x| x.secrets.get(source).cloned()));
                if let Some(arn) = arn {
                    if svc.x_berth.as_ref().and_then(|x| x.secret_env) == Some(true) {
                        // Asked for: the secret as an environment variable.
                        let var = s.target().unwrap_or(source).to_ascii_uppercase().replace(|c: char| !c.is_ascii_alphanumeric(), "_");
                        secrets.push((var, arn));
                    } else {
                        files.push(crate::files::FileMount {
                            path: crate::files::secret_path(source, s.target()),
                            source: crate::files::FileSource::Secret { arn },
                        });
                    }
                }
            }
        }
    }

    let mut ports_out: Vec<ContainerPort> = Vec::new();
    for (i, port) in svc.ports.iter().enumerate() {
        let path = pi(&["services", name, "ports"], i);
        let specs = match port {
            types::Port::Number(n) => u16::try_from(*n)
                .ok()
                .filter(|n| *n > 0)
                .map(|n| vec![ports::PortSpec { target: n, published: None, host_ip: None, protocol: "tcp".into() }])
                .ok_or_else(|| format!("{n} is not a port number (1-65535)")),
            types::Port::Short(s) => ports::parse_short(s),
            types::Port::Long(l) => match u16::try_from(l.target).ok().filter(|n| *n > 0) {
                None => Err(format!("{} is not a port number (1-65535)", l.target)),
                Some(target) => {
                    let published = l.published.as_ref().map(|p| p.text());
                    match published.as_deref().map(|t| t.parse::<u16>()) {
                        Some(Err(_)) => Err(format!("published port {:?} is not a port number", published.unwrap_or_default())),
                        Some(Ok(p)) => Ok(vec![ports::PortSpec {
                            target,
                            published: Some(p),
                            host_ip: l.host_ip.clone(),
                            protocol: l.protocol.clone().unwrap_or_else(|| "tcp".into()),
                        }]),
                        None => Ok(vec![ports::PortSpec {
                            target,
                            published: None,
                            host_ip: l.host_ip.clone(),
                            protocol: l.protocol.clone().unwrap_or_else(|| "tcp".into()),
                        }]),
                    }
                }
            },
        };
        match specs {
            Err(msg) => cx.error(&path, msg, Some("write ports as \"PUBLISHED:TARGET\", e.g. \"8080:80\"")),
            Ok(specs) => {
                for s in specs {
                    if s.host_ip.is_some() {
                        cx.warn(&path, "the host IP of a port is ignored on ECS", None);
                    }
                    let (port_name, app_protocol) = match port {
                        types::Port::Long(l) => (l.name.clone(), l.app_protocol.clone()),
                        _ => (None, None),
                    };
                    if let Some(ap) = &app_protocol {
                        if !matches!(ap.as_str(), "http" | "http2" | "grpc") {
                            cx.error(
                                &path,
                                format!("app_protocol {ap:?} has no ECS equivalent: ECS's appProtocol is http, http2 or grpc"),
                                Some("use one of those, or leave app_protocol out"),
                            );
                        }
                    }
                    ports_out.push(ContainerPort {
                        container_port: s.target,
                        published: s.published,
                        protocol: s.protocol,
                        name: port_name,
                        app_protocol,
                    });
                }
            }
        }
    }
    for (i, e) in svc.expose.iter().enumerate() {
        let text = e.text();
        match ports::parse_short(&text) {
            Ok(specs) => {
                for s in specs {
                    if s.published.is_some() {
                        cx.error(
                            &pi(&["services", name, "expose"], i),
                            "expose takes container ports only",
                            Some("use `ports:` to publish"),
                        );
                    } else if !ports_out.iter().any(|p| p.container_port == s.target && p.protocol == s.protocol) {
                        ports_out.push(ContainerPort {
                            container_port: s.target,
                            published: None,
                            protocol: s.protocol,
                            name: None,
                            app_protocol: None,
                        });
                    }
                }
            }
            Err(msg) => cx.error(&pi(&["services", name, "expose"], i), msg, None),
        }
    }

    if svc.x_berth.as_ref().and_then(|x| x.unnamed_ports) == Some(true) {
        for p in ports_out.iter_mut().filter(|p| p.name.is_none()) {
            p.name = Some(String::new());
        }
    }

    let healthcheck = resolve_healthcheck(cx, name, svc.healthcheck.as_ref());
    let mounts = resolve_mounts(cx, spec, name, svc, launch, host_volumes);

    let stop_timeout_secs = svc.stop_grace_period.as_ref().and_then(|t| match units::parse_duration_secs(t) {
        Ok(s) if s > 120 && launch == LaunchType::Fargate => {
            cx.warn(&sp(&["stop_grace_period"]), format!("{s}s is above Fargate's maximum; using 120s"), None);
            Some(120)
        }
        Ok(s) => Some(s),
        Err(e) => {
            cx.error(&sp(&["stop_grace_period"]), e, None);
            None
        }
    });

    let (cap_add, cap_drop) = container_fields::capabilities(cx, name, svc, target);
    let system = container_fields::system(cx, name, svc, target);
    if launch == LaunchType::Fargate {
        if let Some(mode) = &svc.network_mode {
            cx.error(
                &sp(&["network_mode"]),
                format!("network_mode {mode:?} is not available on Fargate: every task gets its own network interface (awsvpc)"),
                Some("remove network_mode; containers of one task share localhost"),
            );
        }
    } else if let Some(mode) = &svc.network_mode {
        cx.warn(
            &sp(&["network_mode"]),
            format!("ignored on ECS: the task network mode comes from x-berth.network.mode, not {mode:?}"),
            None,
        );
    }

    let (cpu, memory) = container_resources(cx, name, svc);

    let own_task = task_of(name);
    let depends_on = svc
        .depends_on
        .as_ref()
        .map(types::DependsOn::entries)
        .unwrap_or_default()
        .into_iter()
        .filter(|(dep, _)| spec.services.contains_key(dep) && task_of(dep) == own_task)
        .map(|(dep, cond)| {
            let ecs = match cond.as_str() {
                "service_healthy" => "HEALTHY",
                "service_completed_successfully" => "SUCCESS",
                _ => "START",
            };
            (dep, ecs.to_string())
        })
        .collect();

    let sidecar = svc.x_berth.as_ref().and_then(|x| x.task.as_ref()).is_some();
    let build = svc.build.as_ref().map(|b| BuildInfo {
        context: b.context().to_string(),
        dockerfile: match b {
            types::Build::Config(c) => c.dockerfile.clone(),
            types::Build::Context(_) => None,
        },
        target: match b {
            types::Build::Config(c) => c.target.clone(),
            types::Build::Context(_) => None,
        },
        args: match b {
            types::Build::Config(c) => key_values(cx, &p(&["services", name, "build", "args"]), c.args.as_ref(), vars),
            types::Build::Context(_) => Vec::new(),
        },
    });
    Container {
        name: name.to_string(),
        image,
        build,
        essential: match svc.x_berth.as_ref().and_then(|x| x.essential) {
            Some(false) if !sidecar => {
                cx.error(
                    &sp(&["x-berth", "essential"]),
                    "a service's own container is essential: ECS stops the task when it exits",
                    Some("remove `essential: false`, or make this a sidecar of another service with `x-berth.task`"),
                );
                true
            }
            Some(e) => e,
            None => !sidecar || svc.deploy.is_none(),
        },
        command,
        entrypoint,
        environment,
        secrets,
        ports: ports_out,
        healthcheck,
        mounts,
        working_dir: svc.working_dir.clone(),
        user: svc.user.clone(),
        stop_timeout_secs,
        init: svc.init,
        read_only: svc.read_only,
        labels,
        files,
        cap_add,
        cap_drop,
        system,
        depends_on,
        cpu,
        memory,
        logging: {
            let (logging, notes) = crate::logging::resolve_logging(svc.logging.as_ref(), launch);
            report_notes(cx, &p(&["services", name]), notes);
            logging
        },
    }
}

/// Reports what `crate::logging` found, under `base`.
fn report_notes(cx: &mut Ctx, base: &[Seg], notes: Vec<crate::logging::Note>) {
    for (keys, error, message, hint) in notes {
        let mut path = base.to_vec();
        path.extend(p(&keys));
        if error {
            cx.error(&path, message, hint.as_deref());
        } else {
            cx.warn(&path, message, hint.as_deref());
        }
    }
}

/// Names of environment variables that usually hold credentials.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "PRIVATE", "CREDENTIAL", "API_KEY", "ACCESS_KEY", "APIKEY"].iter().any(|s| upper.contains(s))
}

/// `x-berth.before_deploy`: a command (list, or a string split into words
/// as Compose splits `command:`), not empty.
fn resolve_before_deploy(cx: &mut Ctx, name: &str, svc: &types::Service) -> Option<Vec<String>> {
    let path = p(&["services", name, "x-berth", "before_deploy"]);
    let command = split_command(cx, &path, svc.x_berth.as_ref()?.before_deploy.as_ref())?;
    if command.is_empty() || command.iter().all(|w| w.trim().is_empty()) {
        cx.error(
            &path,
            "before_deploy is empty",
            Some("give the command to run, e.g. [bundle, exec, rails, db:migrate], or remove the key"),
        );
        return None;
    }
    Some(command)
}

fn split_command(cx: &mut Ctx, path: &[Seg], value: Option<&types::StringOrList>) -> Option<Vec<String>> {
    match value? {
        types::StringOrList::List(l) => Some(l.clone()),
        types::StringOrList::String(s) => match shell_words::split(s) {
            Ok(words) => Some(words),
            Err(e) => {
                cx.error(path, format!("cannot split the command into words: {e}"), Some("write it as a list: [\"cmd\", \"arg\"]"));
                None
            }
        },
    }
}

fn key_values(cx: &mut Ctx, path: &[Seg], value: Option<&types::ListOrDict>, vars: &Vars) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let from_env = |cx: &mut Ctx, key: &str, at: Vec<Seg>, out: &mut Vec<(String, String)>| match vars.get(key) {
        Some(v) => out.push((key.to_string(), v.to_string())),
        None => cx.warn(
            &at,
            format!("{key} has no value here and is not set in the environment; it is left out"),
            Some("give it a value: KEY=VALUE"),
        ),
    };
    match value {
        None => {}
        Some(types::ListOrDict::List(items)) => {
            for (i, item) in items.iter().enumerate() {
                let mut at = path.to_vec();
                at.push(Seg::Index(i));
                match item.split_once('=') {
                    Some((k, v)) => out.push((k.to_string(), v.to_string())),
                    None => from_env(cx, item, at, &mut out),
                }
            }
        }
        Some(types::ListOrDict::Dict(m)) => {
            for (k, v) in m {
                let mut at = path.to_vec();
                at.push(Seg::Key(k.clone()));
                match v {
                    Some(v) => out.push((k.clone(), v.text())),
                    None => from_env(cx, k, at, &mut out),
                }
            }
        }
    }
    out
}

fn resolve_healthcheck(cx: &mut Ctx, name: &str, hc: Option<&types::Healthcheck>) -> Option<Healthcheck> {
    let hc = hc?;
    let base = p(&["services", name, "healthcheck"]);
    let at = |k: &str| {
        let mut v = base.clone();
        v.push(Seg::Key(k.to_string()));
        v
    };
    if hc.disable == Some(true) {
        return None;
    }
    let command = match hc.test.as_ref() {
        None => {
            cx.error(&base, "a healthcheck needs `test`", Some("test: [\"CMD\", \"curl\", \"-f\", \"http://localhost/\"]"));
            return None;
        }
        Some(types::StringOrList::String(s)) => vec!["CMD-SHELL".to_string(), s.clone()],
        Some(types::StringOrList::List(l)) => match l.first().map(String::as_str) {
            Some("NONE") => return None,
            Some("CMD" | "CMD-SHELL") if l.len() > 1 => l.clone(),
            _ => {
                cx.error(
                    &at("test"),
                    "a healthcheck test list starts with CMD or CMD-SHELL and has a command",
                    Some("test: [\"CMD-SHELL\", \"curl -f http://localhost/ || exit 1\"]"),
                );
                return None;
            }
        },
    };
    // ECS's ranges for each field; compose's defaults are 30s/30s/3/0s.
    let mut secs = |key: &str, value: Option<&String>, default: u64, min: u64, max: u64| -> u64 {
        let Some(text) = value else { return default.clamp(min, max) };
        match units::parse_duration_secs(text) {
            Err(e) => {
                cx.error(&at(key), e, None);
                default
            }
            Ok(s) if s < min || s > max => {
                let c = s.clamp(min, max);
                cx.warn(&at(key), format!("{s}s is outside ECS's range {min}-{max}s; using {c}s"), None);
                c
            }
            Ok(s) => s,
        }
    };
    let interval_secs = secs("interval", hc.interval.as_ref(), 30, 5, 300);
    let timeout_secs = secs("timeout", hc.timeout.as_ref(), 30, 2, 60);
    let start_period_secs = secs("start_period", hc.start_period.as_ref(), 0, 0, 300);
    let retries = match hc.retries {
        None => 3,
        Some(r) if (1..=10).contains(&r) => r,
        Some(r) => {
            let c = r.clamp(1, 10);
            cx.warn(&at("retries"), format!("{r} is outside ECS's range 1-10; using {c}"), None);
            c
        }
    };
    Some(Healthcheck { command, interval_secs, timeout_secs, retries, start_period_secs })
}

/// A service's volumes as mount points: named volumes (task storage, or
/// EFS), anonymous ones (task storage), and with `launch_type: ec2` an
/// absolute path of the instance (a host volume, added to `host_volumes`).
fn resolve_mounts(
    cx: &mut Ctx,
    spec: &ComposeFile,
    name: &str,
    svc: &types::Service,
    launch: LaunchType,
    host_volumes: &mut Vec<Volume>,
) -> Vec<Mount> {
    let mut out = Vec::new();
    for (i, v) in svc.volumes.iter().enumerate() {
        let path = pi(&["services", name, "volumes"], i);
        let (kind, source, target, read_only) = match v {
            types::ServiceVolume::Short(s) => {
                let parts: Vec<&str> = s.split(':').collect();
                match parts.as_slice() {
                    [target] => ("anonymous", String::new(), target.to_string(), false),
                    [source, target, rest @ ..] => {
                        let ro = rest.first().is_some_and(|m| m.split(',').any(|o| o == "ro"));
                        let kind = if source.starts_with(['.', '/', '~']) { "bind" } else { "volume" };
                        (kind, source.to_string(), target.to_string(), ro)
                    }
                    [] => continue,
                }
            }
            types::ServiceVolume::Long(l) => {
                let kind = match l.kind.as_deref() {
                    Some("bind") => "bind",
                    Some("tmpfs") => "tmpfs",
                    Some("volume") | None if l.source.is_some() => "volume",
                    Some("volume") | None => "anonymous",
                    Some(_) => "other",
                };
                (kind, l.source.clone().unwrap_or_default(), l.target.clone().unwrap_or_default(), l.read_only.unwrap_or(false))
            }
        };
        match kind {
            "bind" if launch == LaunchType::Fargate => cx.error(
                &path,
                format!("bind mount of {source:?}: host paths do not exist on Fargate"),
                Some(&format!(
                    "bake the files into the image, use a named volume mapped to EFS (`x-berth: {{ efs: fs-... }}` under the top-level `volumes.<name>`), or {SET_EC2} to mount a path of the instance"
                )),
            ),
            "bind" if !source.starts_with('/') => cx.error(
                &path,
                format!("bind mount of {source:?}: a path of your repository (or home folder) does not exist on the ECS instance the task runs on"),
                Some("mount an absolute path of the instance (e.g. /var/lib/app:/data), bake the files into the image, or use a named volume mapped to EFS"),
            ),
            "bind" => {
                let volume = format!("{name}-host-{i}");
                host_volumes.push(Volume { name: volume.clone(), efs: None, root_directory: None, host_path: Some(source) });
                out.push(Mount { volume, path: target, read_only });
            }
            "tmpfs" => cx.error(
                &path,
                "a tmpfs volume is not a volume on ECS",
                Some("use the service's `tmpfs:` key (`/PATH:size=64m`, EC2 only), or a named volume"),
            ),
            "other" => cx.error(&path, "only named volumes and bind mounts are supported on ECS", None),
            "anonymous" => {
                let volume = format!("{name}-scratch-{i}");
                out.push(Mount { volume, path: target, read_only });
            }
            _ => {
                if !spec.volumes.contains_key(&source) {
                    cx.error(&path, format!("unknown volume {source:?}"), Some("define it under the top-level `volumes:`"));
                } else {
                    out.push(Mount { volume: source, path: target, read_only });
                }
            }
        }
    }
    out
}

/// A container's own cpu/memory request: `deploy.resources.limits`, else
/// reservations, else the legacy `cpus`/`mem_limit` keys.
fn container_resources(cx: &mut Ctx, name: &str, svc: &types::Service) -> (Option<u32>, Option<u32>) {
    let res = svc.deploy.as_ref().and_then(|d| d.resources.as_ref());
    let pick = |f: fn(&types::ResourceSpec) -> Option<&types::StringOrNumber>| -> Option<(&'static str, String)> {
        res.and_then(|r| r.limits.as_ref().and_then(f).map(|v| ("limits", v.text())))
            .or_else(|| res.and_then(|r| r.reservations.as_ref().and_then(f).map(|v| ("reservations", v.text()))))
    };
    let cpu = match (pick(|r| r.cpus.as_ref()), &svc.cpus) {
        (Some((which, text)), _) => {
            let path = p(&["services", name, "deploy", "resources", which, "cpus"]);
            units::parse_cpus_units(&text).map_err(|e| cx.error(&path, e, None)).ok()
        }
        (None, Some(c)) => units::parse_cpus_units(&c.text()).map_err(|e| cx.error(&p(&["services", name, "cpus"]), e, None)).ok(),
        (None, None) => None,
    };
    let memory = match (pick(|r| r.memory.as_ref()), &svc.mem_limit) {
        (Some((which, text)), _) => {
            let path = p(&["services", name, "deploy", "resources", which, "memory"]);
            units::parse_memory_mib(&text).map_err(|e| cx.error(&path, e, None)).ok()
        }
        (None, Some(m)) => units::parse_memory_mib(&m.text()).map_err(|e| cx.error(&p(&["services", name, "mem_limit"]), e, None)).ok(),
        (None, None) => None,
    };
    (cpu.map(|c| c.min(u64::from(u32::MAX)) as u32), memory.map(|m| m.min(u64::from(u32::MAX)) as u32))
}

/// The task size: explicit `x-berth.cpu/memory`, else the smallest Fargate
/// size holding the sum of the containers' requests.
fn task_size(cx: &mut Ctx, name: &str, svc: &types::Service, containers: &[Container], launch: LaunchType) -> (u32, u32) {
    let xb = svc.x_berth.clone().unwrap_or_default();
    let want_cpu: u64 = containers.iter().filter_map(|c| c.cpu).map(u64::from).sum();
    let want_mem: u64 = containers.iter().filter_map(|c| c.memory).map(u64::from).sum();
    if let (Some(cpu), Some(mem)) = (xb.cpu, xb.memory) {
        if launch == LaunchType::Fargate && !fargate::is_valid(cpu, mem) {
            cx.error(
                &p(&["services", name, "x-berth", "cpu"]),
                format!("{cpu} cpu units with {mem} MiB is not a Fargate task size"),
                Some(&format!("valid sizes: {}", fargate::describe_tiers())),
            );
        }
        return (cpu, mem);
    }
    if launch == LaunchType::Ec2 {
        return (want_cpu.max(256) as u32, want_mem.max(512) as u32);
    }
    match fargate::smallest_size(want_cpu, want_mem) {
        Some(size) => size,
        None => {
            let path = if svc.deploy.as_ref().and_then(|d| d.resources.as_ref()).is_some() {
                p(&["services", name, "deploy", "resources"])
            } else {
                p(&["services", name])
            };
            cx.error(
                &path,
                format!(
                    "the task needs {} vCPU and {} GiB, above the largest Fargate size (16 vCPU, 120 GiB)",
                    want_cpu as f64 / 1024.0,
                    want_mem as f64 / 1024.0
                ),
                Some("lower deploy.resources.limits, or split the work across services"),
            );
            (256, 512)
        }
    }
}

fn task_architecture(cx: &mut Ctx, members: &[(&String, &types::Service)]) -> Option<String> {
    let mut arch: Option<String> = None;
    for (name, svc) in members {
        let Some(platform) = &svc.platform else { continue };
        let path = p(&["services", name, "platform"]);
        let a = match platform.as_str() {
            "linux/amd64" | "linux/x86_64" => "X86_64",
            "linux/arm64" | "linux/arm64/v8" | "linux/aarch64" => "ARM64",
            other => {
                cx.error(&path, format!("platform {other:?} is not available on ECS"), Some("use linux/amd64 or linux/arm64"));
                continue;
            }
        };
        match &arch {
            Some(prev) if prev != a => cx.error(&path, "containers of one task must share a CPU architecture", None),
            _ => arch = Some(a.to_string()),
        }
    }
    arch
}

/// `x-berth.autoscaling` (see [`crate::autoscaling`]); a DAEMON service
/// (one task per instance) has no count to scale.
fn resolve_autoscaling(cx: &mut Ctx, name: &str, svc: &types::Service, routed: bool, replicas: Option<u32>) -> Option<Autoscaling> {
    let a = svc.x_berth.as_ref()?.autoscaling.as_ref()?;
    let base = p(&["services", name, "x-berth", "autoscaling"]);
    if replicas.is_none() {
        cx.error(
            &base,
            "a global (DAEMON) service runs one task per instance: it has no count to scale",
            Some("remove `deploy.mode: global`, or the autoscaling"),
        );
        return None;
    }
    let (resolved, problems) = crate::autoscaling::resolve(&base, a, routed);
    for pr in problems {
        cx.error(&pr.path, pr.message, pr.hint);
    }
    resolved
}

/// `x-berth.capacity` (the service's, else the app's) as a capacity provider
/// strategy. ECS's rules: weights 0..=1000 (at least one above 0), a base
/// 0..=100000 on one provider at most, Fargate and EC2 providers never mixed;
/// Fargate Spot runs only X86_64 Linux tasks.
fn resolve_capacity(
    cx: &mut Ctx,
    x: &types::AppXBerth,
    name: &str,
    svc: &types::Service,
    members: &[(&String, &types::Service)],
    launch: LaunchType,
    arch: Option<&str>,
) -> Vec<CapacityItem> {
    let (cap, base) = match svc.x_berth.as_ref().and_then(|xb| xb.capacity.as_ref()) {
        Some(c) => (c, p(&["services", name, "x-berth", "capacity"])),
        None => match x.capacity.as_ref() {
            Some(c) => (c, p(&["x-berth", "capacity"])),
            None => return Vec::new(),
        },
    };
    let at = |key: &str| {
        let mut v = base.clone();
        v.push(Seg::Key(key.to_string()));
        v
    };
    let fargate = [
        ("on_demand", "on_demand_base", "FARGATE", cap.on_demand, cap.on_demand_base),
        ("spot", "spot_base", "FARGATE_SPOT", cap.spot, cap.spot_base),
    ];
    let uses_fargate = fargate.iter().any(|(_, _, _, w, b)| w.is_some() || b.is_some());
    let mut items: Vec<(Vec<Seg>, CapacityItem)> = Vec::new();
    if uses_fargate && !cap.providers.is_empty() {
        cx.error(
            &at("providers"),
            "a capacity provider strategy cannot mix Fargate (spot, on_demand) and EC2 capacity providers",
            Some("keep either spot/on_demand or providers"),
        );
        return Vec::new();
    }
    if uses_fargate {
        if launch == LaunchType::Ec2 {
            cx.error(
                &base,
                "spot and on_demand are Fargate capacity; this app runs on EC2",
                Some("name EC2 capacity providers under `providers:`, or set `x-berth.launch_type: fargate` at the top level of the file (the app's x-berth)"),
            );
            return Vec::new();
        }
        for (wkey, bkey, provider, weight, b) in fargate {
            if weight.is_some() || b.is_some() {
                let path = if weight.is_some() { at(wkey) } else { at(bkey) };
                items.push((path, CapacityItem { provider: provider.into(), base: b.unwrap_or(0), weight: weight.unwrap_or(0) }));
            }
        }
    } else {
        if !cap.providers.is_empty() && launch == LaunchType::Fargate {
            cx.error(
                &at("providers"),
                "EC2 capacity providers need x-berth.launch_type: ec2",
                Some("use spot/on_demand for Fargate capacity"),
            );
            return Vec::new();
        }
        for (i, pr) in cap.providers.iter().enumerate() {
            let mut path = at("providers");
            path.push(Seg::Index(i));
            if pr.name.is_empty() || pr.name.starts_with("FARGATE") {
                cx.error(
                    &path,
                    format!("{:?} is not an EC2 capacity provider", pr.name),
                    Some("name a capacity provider of an Auto Scaling group"),
                );
            }
            items.push((path, CapacityItem { provider: pr.name.clone(), base: pr.base.unwrap_or(0), weight: pr.weight.unwrap_or(1) }));
        }
    }
    if items.is_empty() {
        cx.error(
            &base,
            "the capacity provider strategy is empty",
            Some("set spot and/or on_demand weights, e.g. `{ spot: 2, on_demand: 1 }`"),
        );
        return Vec::new();
    }
    for (path, item) in &items {
        if item.weight > 1000 {
            cx.error(path, format!("weight {} is above ECS's maximum of 1000", item.weight), None);
        }
        if item.base > 100_000 {
            cx.error(path, format!("base {} is above ECS's maximum of 100000", item.base), None);
        }
    }
    if items.iter().all(|(_, i)| i.weight == 0) {
        cx.error(&base, "every weight is 0: ECS needs one capacity provider with a weight above 0", Some("e.g. `spot: 1`"));
    }
    if items.iter().filter(|(_, i)| i.base > 0).count() > 1 {
        cx.error(&base, "ECS allows a base on one capacity provider only", Some("keep one of spot_base, on_demand_base"));
    }
    // Fargate Spot runs X86_64 Linux tasks only.
    if let Some((path, _)) = items.iter().find(|(_, i)| i.provider == "FARGATE_SPOT") {
        if arch == Some("ARM64") {
            let platform =
                members.iter().find(|(_, s)| s.platform.as_deref().is_some_and(|p| p.contains("arm64") || p.contains("aarch64")));
            let (member, value) = platform.map_or((name, ""), |(n, s)| (n.as_str(), s.platform.as_deref().unwrap_or_default()));
            let platform_path = p(&["services", member, "platform"]);
            let at_platform = cx.tree.pos_of(&platform_path);
            cx.error(
                path,
                format!(
                    "Fargate Spot runs only X86_64 tasks, but {} is {value:?} ({at_platform}): {} cannot use FARGATE_SPOT",
                    crate::node::path_string(&platform_path),
                    name
                ),
                Some("remove spot (on_demand only), or build the image for linux/amd64"),
            );
        }
    }
    items.into_iter().filter(|(_, i)| i.weight > 0 || i.base > 0).map(|(_, i)| i).collect()
}

fn check_duplicate_ports(cx: &mut Ctx, members: &[(&String, &types::Service)], containers: &[Container]) {
    // Containers of a task share one network namespace under awsvpc: a
    // container port may appear once per task.
    let mut seen: HashSet<(u16, String)> = HashSet::new();
    for ((name, _), c) in members.iter().zip(containers) {
        for port in &c.ports {
            if !seen.insert((port.container_port, port.protocol.clone())) {
                cx.error(
                    &p(&["services", name, "ports"]),
                    format!("container port {}/{} is used twice in one task", port.container_port, port.protocol),
                    Some("each container port may appear once per task; remove the duplicate"),
                );
            }
        }
    }
}

fn resolve_replicas(cx: &mut Ctx, name: &str, svc: &types::Service, launch: LaunchType) -> Option<u32> {
    let deploy = svc.deploy.clone().unwrap_or_default();
    match deploy.mode.as_deref() {
        None | Some("replicated") => Some(deploy.replicas.unwrap_or(1)),
        Some("global") if launch == LaunchType::Ec2 => None,
        Some("global") => {
            cx.error(
                &p(&["services", name, "deploy", "mode"]),
                "global services (one task per instance) need EC2 instances",
                Some(&format!("remove the key, or {SET_EC2}")),
            );
            Some(1)
        }
        Some(other) => {
            cx.error(&p(&["services", name, "deploy", "mode"]), format!("unknown deploy mode {other:?}"), Some("use replicated or global"));
            Some(1)
        }
    }
}

/// Rolling parameters from `deploy.update_config`, per DESIGN.md: no
/// update_config keeps ECS's 100/200; `start-first` raises the ceiling by the
/// step, `stop-first` (Compose's default order) lowers the floor by it.
fn resolve_rolling(cx: &mut Ctx, name: &str, svc: &types::Service, replicas: u32) -> Rolling {
    let uc = svc.deploy.as_ref().and_then(|d| d.update_config.clone());
    let base = p(&["services", name, "deploy", "update_config"]);
    let at = |k: &str| {
        let mut v = base.clone();
        v.push(Seg::Key(k.into()));
        v
    };
    let (mut min, mut max) = (100u32, 200u32);
    let (mut circuit_breaker, mut rollback) = (true, true);
    if let Some(uc) = &uc {
        let n = replicas.max(1);
        let step = uc.parallelism.unwrap_or(1).clamp(1, n);
        let step_pct = (step * 100).div_ceil(n);
        match uc.order.as_deref() {
            Some("start-first") => {
                min = 100;
                max = 100 + step_pct;
            }
            None | Some("stop-first") => {
                min = 100 - (step * 100).div_ceil(n).min(100);
                max = 100;
            }
            Some(other) => cx.error(&at("order"), format!("unknown order {other:?}"), Some("use start-first or stop-first")),
        }
        match uc.failure_action.as_deref() {
            None | Some("rollback") => {}
            Some("pause") => {
                rollback = false;
                cx.warn(&at("failure_action"), "ECS cannot pause a deployment; a failed deployment stops without rolling back", None);
            }
            Some("continue") => {
                circuit_breaker = false;
                rollback = false;
            }
            Some(other) => {
                cx.error(&at("failure_action"), format!("unknown failure action {other:?}"), Some("use rollback, pause or continue"))
            }
        }
        if uc.delay.is_some() || uc.monitor.is_some() || uc.max_failure_ratio.is_some() {
            cx.warn(
                &base,
                "delay, monitor and max_failure_ratio are ignored on ECS; the circuit breaker decides when a deployment fails",
                None,
            );
        }
    }
    if let Some(r) = svc.x_berth.as_ref().and_then(|x| x.rolling.as_ref()) {
        if let Some(m) = r.min_healthy_percent {
            min = m;
        }
        if let Some(m) = r.max_percent {
            max = m;
        }
    }
    if !(100..=200).contains(&max) || min > 100 || max <= min {
        cx.error(
            &p(&["services", name, "x-berth", "rolling"]),
            format!("minimum healthy {min}% and maximum {max}% leave no room to replace a task"),
            Some("ECS needs min_healthy_percent 0-100, max_percent 100-200, and max above min"),
        );
    }
    Rolling { min_healthy_percent: min, max_percent: max, circuit_breaker, rollback }
}

fn resolve_route(
    cx: &mut Ctx,
    name: &str,
    svc: &types::Service,
    container: &Container,
    lb: Option<&LoadBalancer>,
    mode: NetworkMode,
) -> Option<Route> {
    let r = svc.x_berth.as_ref()?.route.as_ref()?;
    let path = p(&["services", name, "x-berth", "route"]);
    let protocol = crate::nlb::route_protocol(cx, name, r);
    let routable = crate::nlb::routable_ports(&container.ports, protocol);
    let port = match r.port {
        Some(port) if routable.contains(&port) => port,
        Some(port) => {
            let what = if protocol == RouteProtocol::Http {
                String::new()
            } else {
                format!(" for a {} route", protocol.listener().to_ascii_lowercase())
            };
            cx.error(
                &p(&["services", name, "x-berth", "route", "port"]),
                format!("port {port} is not a port of this service{what}"),
                Some(crate::nlb::port_hint(protocol)),
            );
            port
        }
        None => match routable.first() {
            Some(port) => *port,
            None if protocol == RouteProtocol::Http => {
                cx.error(&path, "a routed service needs a port", Some("add `ports:` or `expose:` with the port the app listens on"));
                return None;
            }
            None => {
                cx.error(
                    &path,
                    format!("a {} route needs a port of that protocol", protocol.listener().to_ascii_lowercase()),
                    Some(crate::nlb::port_hint(protocol)),
                );
                return None;
            }
        },
    };
    let certificate_arn = crate::nlb::check_route(cx, name, r, protocol, lb);
    // The listener takes the published port (compose's public side).
    let listener_port = container.ports.iter().find(|p| p.container_port == port).and_then(|p| p.published).unwrap_or(port);
    if protocol == RouteProtocol::Http && lb.is_none_or(|lb| lb.listener.is_none() && lb.create.is_none()) {
        cx.error(
            &path,
            "routes need a load balancer listener",
            Some("set `x-berth.load_balancer.listener` to an existing listener ARN, or `x-berth.load_balancer.create`, at the top level of the file (the app's x-berth)"),
        );
    }
    let _ = mode;
    let dur = |cx: &mut Ctx, key: &str, v: &Option<String>, default: u64| -> u64 {
        match v {
            None => default,
            Some(t) => units::parse_duration_secs(t).unwrap_or_else(|e| {
                cx.error(&p(&["services", name, "x-berth", "route", key]), e, None);
                default
            }),
        }
    };
    let health_interval_secs = dur(cx, "health_interval", &r.health_interval, 15);
    let deregistration_delay_secs = dur(cx, "deregistration_delay", &r.deregistration_delay, DEFAULT_DEREGISTRATION_DELAY_SECS);
    // ECS takes up to 2,147,483,647 seconds.
    let grace = dur(cx, "health_check_grace_period", &r.health_check_grace_period, DEFAULT_HEALTH_CHECK_GRACE_PERIOD_SECS);
    let health_check_grace_period_secs = u32::try_from(grace).ok().filter(|g| *g <= i32::MAX as u32).unwrap_or_else(|| {
        cx.error(
            &p(&["services", name, "x-berth", "route", "health_check_grace_period"]),
            format!("{grace} seconds is more than ECS's longest grace period (2147483647 s)"),
            None,
        );
        DEFAULT_HEALTH_CHECK_GRACE_PERIOD_SECS as u32
    });
    let paths = if protocol != RouteProtocol::Http {
        Vec::new()
    } else if r.paths.is_empty() && r.hosts.is_empty() {
        vec!["/*".to_string()]
    } else {
        r.paths.clone()
    };
    Some(Route {
        container: container.name.clone(),
        port,
        paths,
        hosts: r.hosts.clone(),
        health_path: r.health_path.clone().unwrap_or_else(|| "/".into()),
        health_matcher: r.health_matcher.clone().unwrap_or_else(|| "200-399".into()),
        health_interval_secs,
        healthy_threshold: r.healthy_threshold.unwrap_or(2),
        unhealthy_threshold: r.unhealthy_threshold.unwrap_or(3),
        deregistration_delay_secs,
        health_check_grace_period_secs,
        priority: r.priority,
        protocol,
        listener_port,
        certificate_arn,
        http_health_check: protocol == RouteProtocol::Http || r.health_path.is_some(),
    })
}

fn resolve_blue_green(cx: &mut Ctx, name: &str, svc: &types::Service, routed: bool, _app: &str) -> Option<BlueGreen> {
    let bg = svc.x_berth.as_ref()?.strategy.as_ref()?.blue_green.as_ref()?;
    let base = p(&["services", name, "x-berth", "strategy", "blue_green"]);
    let at = |k: &str| {
        let mut v = base.clone();
        v.push(Seg::Key(k.into()));
        v
    };
    if !routed {
        cx.error(&base, "blue/green shifts load balancer traffic, so the service needs x-berth.route", None);
    }
    let traffic = match bg.traffic.as_deref() {
        None | Some("all_at_once") => Traffic::AllAtOnce,
        Some("canary") => Traffic::Canary,
        Some("linear") => Traffic::Linear,
        Some(other) => {
            cx.error(&at("traffic"), format!("unknown traffic shift {other:?}"), Some("use all_at_once, canary or linear"));
            Traffic::AllAtOnce
        }
    };
    let step_percent = match &bg.step {
        None => 10,
        Some(s) => {
            let text = s.text();
            match text.trim_end_matches('%').trim().parse::<u32>() {
                Ok(n) if (1..=100).contains(&n) => n,
                _ => {
                    cx.error(&at("step"), format!("{text:?} is not a percentage between 1% and 100%"), None);
                    10
                }
            }
        }
    };
    let mut secs = |key: &str, v: &Option<String>, default: u64| match v {
        None => default,
        Some(t) => units::parse_duration_secs(t).unwrap_or_else(|e| {
            cx.error(&at(key), e, None);
            default
        }),
    };
    let interval_secs = secs("interval", &bg.interval, if traffic == Traffic::Canary { 300 } else { 60 });
    let bake_secs = secs("bake", &bg.bake, 0);
    Some(BlueGreen { traffic, step_percent, interval_secs, bake_secs, verify: bg.verify.clone() })
}

fn resolve_discoverable(cx: &mut Ctx, name: &str, svc: &types::Service, container: &Container, discovery: Option<&Discovery>) -> bool {
    let explicit = svc.x_berth.as_ref().and_then(|x| x.discovery);
    match (explicit, discovery) {
        (Some(true), None) => {
            cx.error(
                &p(&["services", name, "x-berth", "discovery"]),
                "service discovery needs an app namespace",
                Some("set x-berth.discovery: { namespace: <app>.local } at the top level, or `connect`"),
            );
            false
        }
        (Some(flag), Some(_)) => flag,
        (None, Some(_)) => !container.ports.is_empty(),
        (_, None) => false,
    }
}

fn warn_unrouted_ports(cx: &mut Ctx, members: &[(&String, &types::Service)], route: Option<&Route>) {
    for (name, svc) in members {
        for (i, port) in svc.ports.iter().enumerate() {
            let target = match port {
                types::Port::Number(n) => u16::try_from(*n).ok().map(|n| (n, "tcp".to_string())),
                types::Port::Short(s) => ports::parse_short(s).ok().and_then(|v| v.first().map(|p| (p.target, p.protocol.clone()))),
                types::Port::Long(l) => u16::try_from(l.target).ok().map(|n| (n, l.protocol.clone().unwrap_or_else(|| "tcp".into()))),
            };
            let Some((target, protocol)) = target else { continue };
            let routed = route.is_some_and(|r| {
                r.container == **name
                    && r.port == target
                    && match r.protocol {
                        RouteProtocol::Udp => protocol == "udp",
                        RouteProtocol::TcpUdp => true,
                        _ => protocol == "tcp",
                    }
            });
            if routed {
                continue;
            }
            let hint = if protocol == "udp" {
                format!("route it through a network load balancer: `x-berth: {{ route: {{ protocol: udp, port: {target} }} }}` under `services.{name}`, with `x-berth.load_balancer.create: {{ type: network, subnets: [...] }}` at the top level")
            } else {
                format!("add `x-berth: {{ route: {{}} }}` under `services.{name}` to put it behind the load balancer")
            };
            let message = if protocol == "tcp" {
                format!("published port {target} is not routed: on ECS it is reachable only inside the VPC")
            } else {
                format!("published port {target}/{protocol} is not routed: on ECS it is unreachable from outside the VPC")
            };
            cx.warn(&pi(&["services", name, "ports"], i), message, Some(&hint));
        }
    }
}
