//! Lowering: the validated [`App`] → the [`Desired`] resources, with
//! deterministic names (`<app>-<service>` families, services and target
//! groups; `<app>/<service>` ECR repositories; `<service>` in Cloud Map).

use std::collections::BTreeMap;

use berth_spec::app::{self, App, DiscoveryMode, LaunchType, NetworkMode};

use crate::lifecycle;
use crate::resources::*;

/// ALB rules allow five condition values per rule (paths plus hosts).
const RULE_CONDITION_VALUES_MAX: usize = 5;

pub fn lower(app: &App) -> Desired {
    let tags = ownership_tags(&app.name);
    let lifecycle_policy = lifecycle::compile(&app.registry.lifecycle);
    let ecr_repositories = app
        .registry
        .repositories
        .iter()
        .map(|name| EcrRepository {
            repository_name: name.clone(),
            image_tag_mutability: app.registry.tag_mutability.clone(),
            image_scanning_configuration: ImageScanningConfiguration { scan_on_push: app.registry.scan_on_push },
            encryption_configuration: EncryptionConfiguration { encryption_type: "AES256".into() },
            lifecycle_policy: lifecycle_policy.clone(),
            tags: tags.clone(),
        })
        .collect();

    let load_balancer = app.load_balancer.as_ref().and_then(|lb| lb.create.as_ref()).map(|c| LoadBalancer {
        name: app.name.clone(),
        subnets: c.subnets.clone(),
        security_groups: c.security_groups.clone(),
        scheme: c.scheme.clone(),
        certificate_arn: c.certificate_arn.clone().filter(|_| c.kind == app::LoadBalancerKind::Application),
        kind: (c.kind == app::LoadBalancerKind::Network).then(|| LOAD_BALANCER_NETWORK.to_string()),
        tags: tags.clone(),
    });
    let listener_arn = app.load_balancer.as_ref().and_then(|lb| lb.listener.clone()).unwrap_or_else(|| "listener.http".to_string());

    let mut target_groups = Vec::new();
    let mut listener_rules = Vec::new();
    for task in &app.tasks {
        let Some(route) = &task.route else { continue };
        let colors: &[&str] = if task.blue_green.is_some() { &["blue", "green"] } else { &[""] };
        for color in colors {
            target_groups.push(target_group(app, task, route, color, &tags));
        }
        // A network route is a listener of its own (crate::nlb), not a rule.
        if route.protocol != app::RouteProtocol::Http {
            continue;
        }
        // The live color is blue at first; deployments move the weights.
        let forward = if task.blue_green.is_some() {
            vec![
                WeightedTargetGroup { target_group_arn: format!("tg.{}-blue", task.name), weight: 100 },
                WeightedTargetGroup { target_group_arn: format!("tg.{}-green", task.name), weight: 0 },
            ]
        } else {
            vec![WeightedTargetGroup { target_group_arn: format!("tg.{}", task.name), weight: 100 }]
        };
        for (i, conditions) in rule_conditions(route).into_iter().enumerate() {
            listener_rules.push(ListenerRule {
                address: format!("rule.{}/{i}", task.name),
                listener_arn: listener_arn.clone(),
                priority: route.priority.map(|p| p + i as u32),
                conditions,
                actions: vec![RuleAction { kind: "forward".into(), forward_config: ForwardConfig { target_groups: forward.clone() } }],
                // Rules have no name: the address tag is how berth finds its own.
                tags: tags.iter().cloned().chain([Tag { key: TAG_ADDRESS.into(), value: format!("rule.{}/{i}", task.name) }]).collect(),
            });
        }
    }

    let namespace =
        app.discovery.as_ref().map(|d| Namespace { name: d.namespace.clone(), vpc: app.network.vpc_id.clone(), tags: tags.clone() });
    let cloud_map_services = match &app.discovery {
        Some(d) if d.mode == DiscoveryMode::Dns => app
            .tasks
            .iter()
            .filter(|t| t.discoverable)
            .map(|t| {
                let mut dns_records = vec![DnsRecord { kind: "A".into(), ttl: d.ttl }];
                if discovery_port(t).is_some() {
                    dns_records.push(DnsRecord { kind: "SRV".into(), ttl: d.ttl });
                }
                CloudMapService {
                    name: t.name.clone(),
                    namespace: d.namespace.clone(),
                    dns_config: DnsConfig { routing_policy: "MULTIVALUE".into(), dns_records },
                    health_check_custom_config: HealthCheckCustomConfig { failure_threshold: 1 },
                    tags: tags.clone(),
                }
            })
            .collect(),
        _ => Vec::new(),
    };

    let task_definitions: Vec<TaskDefinition> = app.tasks.iter().map(|t| task_definition(app, t, &tags)).collect();
    let services = app.tasks.iter().map(|t| service(app, t, &tags)).collect();
    let scalable_targets = app.tasks.iter().filter_map(|t| scalable_target(app, t, &tags)).collect();

    // The app's log group, when a container logs to it.
    let log_group = task_definitions
        .iter()
        .flat_map(|t| &t.container_definitions)
        .filter_map(|c| c.log_configuration.as_ref())
        .any(|l| l.log_driver == "awslogs" && l.options.get("awslogs-group") == Some(&app.logs.group))
        .then(|| LogGroup { log_group_name: app.logs.group.clone(), retention_in_days: app.logs.retention_days, tags: tags.clone() });
    Desired {
        app: app.name.clone(),
        region: app.region.clone(),
        cluster: Cluster { cluster_name: app.cluster.clone(), capacity_providers: capacity_providers(app), tags: tags.clone() },
        log_group,
        ecr_repositories,
        task_definitions,
        load_balancer,
        target_groups,
        listener_rules,
        listeners: crate::nlb::listeners(app, &tags),
        namespace,
        cloud_map_services,
        services,
        migrations: app
            .tasks
            .iter()
            .filter_map(|t| {
                let command = t.before_deploy.clone()?;
                let own = t.containers.iter().find(|c| c.name == t.name).or(t.containers.first())?;
                Some(Migration { service: t.name.clone(), container: own.name.clone(), command })
            })
            .collect(),
        scalable_targets,
    }
}

/// A service's `x-berth.autoscaling` as its scalable target (a blue/green
/// service's on its blue color at first; the plan follows the live color).
fn scalable_target(app: &App, task: &app::Task, tags: &[Tag]) -> Option<ScalableTarget> {
    let a = task.autoscaling.as_ref()?;
    let name = if task.blue_green.is_some() { format!("{}-blue", task.names.service) } else { task.names.service.clone() };
    let target_group = if task.blue_green.is_some() { format!("tg.{}-blue", task.name) } else { format!("tg.{}", task.name) };
    let scaling_policies = a
        .targets
        .iter()
        .map(|m| {
            let (suffix, metric, target_value, resource_label) = match m {
                app::ScalingMetric::Cpu(v) => ("cpu", "ECSServiceAverageCPUUtilization", *v, None),
                app::ScalingMetric::Memory(v) => ("memory", "ECSServiceAverageMemoryUtilization", *v, None),
                app::ScalingMetric::RequestsPerTarget(v) => ("requests", "ALBRequestCountPerTarget", *v, Some(target_group.clone())),
            };
            ScalingPolicy {
                // Named after the service: berth-aws knows its own by the prefix.
                policy_name: format!("{}-{suffix}", task.names.service),
                policy_type: "TargetTrackingScaling".into(),
                target_tracking_scaling_policy_configuration: TargetTrackingConfiguration {
                    target_value,
                    predefined_metric_specification: PredefinedMetric { predefined_metric_type: metric.into(), resource_label },
                    scale_in_cooldown: u32::try_from(a.scale_in_cooldown_secs).unwrap_or(u32::MAX),
                    scale_out_cooldown: u32::try_from(a.scale_out_cooldown_secs).unwrap_or(u32::MAX),
                },
            }
        })
        .collect();
    Some(ScalableTarget {
        service_namespace: "ecs".into(),
        resource_id: format!("service/{}/{name}", app.cluster),
        scalable_dimension: SCALABLE_DIMENSION_ECS_COUNT.into(),
        min_capacity: a.min,
        max_capacity: a.max,
        scaling_policies,
        scheduled_actions: a
            .schedule
            .iter()
            .map(|s| ScheduledAction {
                scheduled_action_name: format!("{}-{}", task.names.service, s.name),
                schedule: s.expression.clone(),
                timezone: s.timezone.clone(),
                scalable_target_action: ScalableTargetAction { min_capacity: s.min, max_capacity: s.max },
            })
            .collect(),
        tags: tags.to_vec(),
        service: task.name.clone(),
    })
}

fn target_group(app: &App, task: &app::Task, route: &app::Route, color: &str, tags: &[Tag]) -> TargetGroup {
    let suffix = if color.is_empty() { String::new() } else { format!("-{color}") };
    let (protocol, health_check_protocol, health_check_path, matcher) = if route.protocol == app::RouteProtocol::Http {
        ("HTTP".into(), "HTTP".into(), route.health_path.clone(), Matcher { http_code: route.health_matcher.clone() })
    } else {
        crate::nlb::target_group_protocols(route)
    };
    TargetGroup {
        service: format!("{}{suffix}", task.name),
        name: format!("{}{suffix}", task.names.target_group),
        protocol,
        port: route.port,
        target_type: if app.network.mode == NetworkMode::Awsvpc { "ip" } else { "instance" }.into(),
        vpc_id: app.network.vpc_id.clone(),
        health_check_protocol,
        health_check_path,
        health_check_interval_seconds: route.health_interval_secs,
        healthy_threshold_count: route.healthy_threshold,
        unhealthy_threshold_count: route.unhealthy_threshold,
        matcher,
        attributes: vec![Attribute {
            key: "deregistration_delay.timeout_seconds".into(),
            value: route.deregistration_delay_secs.to_string(),
        }],
        // The address tag keeps a replacement (`<name>-r1`) the same address.
        tags: tags.iter().cloned().chain([Tag { key: TAG_ADDRESS.into(), value: format!("tg.{}{suffix}", task.name) }]).collect(),
    }
}

/// Hosts go into every rule; paths are split so no rule holds more than
/// five condition values.
fn rule_conditions(route: &app::Route) -> Vec<Vec<RuleCondition>> {
    let host = (!route.hosts.is_empty()).then(|| RuleCondition { field: "host-header".into(), values: route.hosts.clone() });
    let room = RULE_CONDITION_VALUES_MAX.saturating_sub(route.hosts.len()).max(1);
    if route.paths.is_empty() {
        return vec![host.into_iter().collect()];
    }
    route
        .paths
        .chunks(room)
        .map(|paths| {
            let mut c: Vec<RuleCondition> = host.iter().cloned().collect();
            c.push(RuleCondition { field: "path-pattern".into(), values: paths.to_vec() });
            c
        })
        .collect()
}

/// The port a discoverable service is reached on (SRV records, Service Connect).
fn discovery_port(task: &app::Task) -> Option<(String, u16)> {
    task.containers.iter().find_map(|c| c.ports.iter().find(|p| p.protocol == "tcp").map(|p| (c.name.clone(), p.container_port)))
}

fn port_name(container: &str, port: u16) -> String {
    format!("{container}-{port}")
}

fn task_definition(app: &App, task: &app::Task, tags: &[Tag]) -> TaskDefinition {
    let awsvpc = app.network.mode == NetworkMode::Awsvpc;
    let container_definitions = task
        .containers
        .iter()
        .map(|c| {
            // The init container that writes secret and config files reserves nothing.
            let shared = task.containers.iter().filter(|c| c.name != berth_spec::files::INIT_CONTAINER).count() > 1;
            ContainerDefinition {
                name: c.name.clone(),
                image: c.image.reference(),
                essential: c.essential,
                cpu: if shared { c.cpu } else { None },
                memory_reservation: if shared { c.memory } else { None },
                port_mappings: c
                    .ports
                    .iter()
                    .map(|p| PortMapping {
                        container_port: p.container_port,
                        // awsvpc requires hostPort = containerPort; bridge/host publish as compose does.
                        host_port: if awsvpc { Some(p.container_port) } else { p.published.or(Some(0)) },
                        protocol: p.protocol.clone(),
                        name: p.name.clone().unwrap_or_else(|| port_name(&c.name, p.container_port)),
                        app_protocol: p.app_protocol.clone(),
                    })
                    .collect(),
                environment: c.environment.iter().map(|(k, v)| KeyValuePair { name: k.clone(), value: v.clone() }).collect(),
                secrets: c.secrets.iter().map(|(k, v)| Secret { name: k.clone(), value_from: v.clone() }).collect(),
                command: c.command.clone(),
                entry_point: c.entrypoint.clone(),
                health_check: c.healthcheck.as_ref().map(|h| HealthCheck {
                    command: h.command.clone(),
                    interval: h.interval_secs,
                    timeout: h.timeout_secs,
                    retries: h.retries,
                    start_period: h.start_period_secs,
                }),
                mount_points: c
                    .mounts
                    .iter()
                    .map(|m| MountPoint { source_volume: m.volume.clone(), container_path: m.path.clone(), read_only: m.read_only })
                    .collect(),
                depends_on: c
                    .depends_on
                    .iter()
                    .map(|(name, cond)| ContainerDependency { container_name: name.clone(), condition: cond.clone() })
                    .collect(),
                working_directory: c.working_dir.clone(),
                user: c.user.clone(),
                stop_timeout: c.stop_timeout_secs,
                readonly_root_filesystem: c.read_only,
                docker_labels: c.labels.iter().cloned().collect::<BTreeMap<_, _>>(),
                linux_parameters: linux_parameters(c),
                log_configuration: log_configuration(app, &c.logging),
                privileged: c.system.privileged,
                system_controls: c
                    .system
                    .sysctls
                    .iter()
                    .map(|(namespace, value)| SystemControl { namespace: namespace.clone(), value: value.clone() })
                    .collect(),
                ulimits: c
                    .system
                    .ulimits
                    .iter()
                    .map(|u| Ulimit { name: u.name.clone(), soft_limit: clamp_i32(u.soft), hard_limit: clamp_i32(u.hard) })
                    .collect(),
                extra_hosts: c
                    .system
                    .extra_hosts
                    .iter()
                    .map(|(host, ip)| HostEntry { hostname: host.clone(), ip_address: ip.clone() })
                    .collect(),
                dns_servers: c.system.dns_servers.clone(),
                dns_search_domains: c.system.dns_search.clone(),
            }
        })
        .collect();
    TaskDefinition {
        family: task.names.family.clone(),
        task_role_arn: app.task_role_arn.clone(),
        execution_role_arn: app.execution_role_arn.clone(),
        network_mode: match app.network.mode {
            NetworkMode::Awsvpc => "awsvpc",
            NetworkMode::Bridge => "bridge",
            NetworkMode::Host => "host",
        }
        .into(),
        container_definitions,
        volumes: task
            .volumes
            .iter()
            .map(|v| TaskVolume {
                name: v.name.clone(),
                efs_volume_configuration: v.efs.as_ref().map(|fs| EfsVolumeConfiguration {
                    file_system_id: fs.clone(),
                    root_directory: v.root_directory.clone(),
                    transit_encryption: "ENABLED".into(),
                }),
                host: v.host_path.as_ref().map(|path| HostVolumeProperties { source_path: path.clone() }),
            })
            .collect(),
        requires_compatibilities: vec![match app.launch_type {
            LaunchType::Fargate => "FARGATE",
            LaunchType::Ec2 => "EC2",
        }
        .into()],
        cpu: task.cpu.to_string(),
        memory: task.memory.to_string(),
        runtime_platform: task
            .cpu_architecture
            .as_ref()
            .map(|a| RuntimePlatform { cpu_architecture: a.clone(), operating_system_family: "LINUX".into() }),
        tags: tags.to_vec(),
    }
}

fn clamp_i32(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(if n < 0 { i32::MIN } else { i32::MAX })
}

/// `linuxParameters`, when the container sets any of them.
fn linux_parameters(c: &app::Container) -> Option<LinuxParameters> {
    let s = &c.system;
    let any = c.init.is_some()
        || !c.cap_add.is_empty()
        || !c.cap_drop.is_empty()
        || !s.devices.is_empty()
        || s.shm_size_mib.is_some()
        || !s.tmpfs.is_empty();
    any.then(|| LinuxParameters {
        init_process_enabled: c.init,
        capabilities: (!c.cap_add.is_empty() || !c.cap_drop.is_empty())
            .then(|| Capabilities { add: c.cap_add.clone(), drop: c.cap_drop.clone() }),
        devices: s
            .devices
            .iter()
            .map(|d| Device {
                host_path: d.host_path.clone(),
                container_path: d.container_path.clone(),
                permissions: d.permissions.clone(),
            })
            .collect(),
        shared_memory_size: s.shm_size_mib,
        tmpfs: s
            .tmpfs
            .iter()
            .map(|t| Tmpfs { container_path: t.container_path.clone(), size: t.size_mib, mount_options: t.mount_options.clone() })
            .collect(),
    })
}

fn service(app: &App, task: &app::Task, tags: &[Tag]) -> Service {
    let load_balancers: Vec<ServiceLoadBalancer> = task
        .route
        .iter()
        .map(|r| ServiceLoadBalancer {
            target_group_arn: if task.blue_green.is_some() { format!("tg.{}-blue", task.name) } else { format!("tg.{}", task.name) },
            container_name: r.container.clone(),
            container_port: r.port,
        })
        .collect();
    let discovery = app.discovery.as_ref().filter(|_| task.discoverable);
    let service_registries = match discovery {
        Some(d) if d.mode == DiscoveryMode::Dns => vec![ServiceRegistry {
            registry_arn: format!("cloudmap.{}", task.name),
            container_name: discovery_port(task).map(|(c, _)| c),
            container_port: discovery_port(task).map(|(_, p)| p),
        }],
        _ => Vec::new(),
    };
    // Service Connect: every service joins the namespace as a client; a
    // discoverable one also serves its port under its compose name, so
    // `db:3306` in an unchanged compose file resolves on ECS.
    let service_connect_configuration =
        app.discovery.as_ref().filter(|d| d.mode == DiscoveryMode::Connect).map(|d| ServiceConnectConfiguration {
            enabled: true,
            namespace: d.namespace.clone(),
            // Every TCP port (mariadb's 3306 and 33060), each under the
            // compose name; discovery names are unique per namespace.
            services: task
                .containers
                .iter()
                .flat_map(|c| {
                    c.ports.iter().filter(|p| p.protocol == "tcp").map(move |p| (c.name.clone(), p.container_port, p.name.clone()))
                })
                .filter(|_| task.discoverable)
                .enumerate()
                .map(|(i, (container, port, name))| ServiceConnectService {
                    port_name: name.unwrap_or_else(|| port_name(&container, port)),
                    discovery_name: if i == 0 { task.name.clone() } else { format!("{}-{port}", task.name) },
                    client_aliases: vec![ClientAlias { port, dns_name: task.name.clone() }],
                })
                .collect(),
        });
    let blue_green = task.blue_green.as_ref().map(|bg| BlueGreenDeploy {
        base_name: task.names.service.clone(),
        traffic: match bg.traffic {
            app::Traffic::AllAtOnce => "all_at_once",
            app::Traffic::Canary => "canary",
            app::Traffic::Linear => "linear",
        }
        .into(),
        step_percent: bg.step_percent,
        interval_secs: bg.interval_secs,
        bake_secs: bg.bake_secs,
        verify: bg.verify.clone(),
        test_listener: app.load_balancer.as_ref().and_then(|lb| lb.test_listener.clone()),
        test_conditions: task.route.as_ref().map(|r| rule_conditions(r).into_iter().next().unwrap_or_default()).unwrap_or_default(),
        scaling: scalable_target(app, task, tags),
    });
    Service {
        force_new_deployment: false,
        clear_capacity_provider_strategy: false,
        // A blue/green service starts as its blue color.
        service_name: if blue_green.is_some() { format!("{}-blue", task.names.service) } else { task.names.service.clone() },
        cluster: app.cluster.clone(),
        task_definition: task.names.family.clone(),
        desired_count: task.replicas,
        // A service with a capacity provider strategy has no launch type.
        launch_type: match app.launch_type {
            _ if !task.capacity.is_empty() => "",
            LaunchType::Fargate => "FARGATE",
            LaunchType::Ec2 => "EC2",
        }
        .into(),
        capacity_provider_strategy: task
            .capacity
            .iter()
            .map(|c| CapacityProviderStrategyItem { capacity_provider: c.provider.clone(), weight: c.weight, base: c.base })
            .collect(),
        scheduling_strategy: if task.replicas.is_some() { "REPLICA" } else { "DAEMON" }.into(),
        // berth drives blue/green itself, over the listener rule's weights;
        // the ECS controller is what every service starts with.
        deployment_controller: DeploymentController { kind: "ECS".into() },
        deployment_configuration: DeploymentConfiguration {
            minimum_healthy_percent: task.rolling.min_healthy_percent,
            maximum_percent: task.rolling.max_percent,
            deployment_circuit_breaker: DeploymentCircuitBreaker { enable: task.rolling.circuit_breaker, rollback: task.rolling.rollback },
        },
        network_configuration: (app.network.mode == NetworkMode::Awsvpc).then(|| NetworkConfiguration {
            awsvpc_configuration: AwsVpcConfiguration {
                subnets: app.network.subnets.clone(),
                security_groups: app.network.security_groups.clone(),
                assign_public_ip: if app.network.assign_public_ip { "ENABLED" } else { "DISABLED" }.into(),
            },
        }),
        health_check_grace_period_seconds: task
            .route
            .as_ref()
            .filter(|_| !load_balancers.is_empty())
            .map(|r| r.health_check_grace_period_secs),
        load_balancers,
        service_registries,
        service_connect_configuration,
        propagate_tags: task.propagate_tags.clone(),
        enable_ecs_managed_tags: task.ecs_managed_tags,
        tags: tags.to_vec(),
        blue_green,
        depends_on: task.depends_on.iter().map(|(d, _)| d.clone()).collect(),
        compose_name: task.name.clone(),
    }
}

/// The capacity providers the cluster needs: each one a service's strategy
/// names, sorted.
fn capacity_providers(app: &App) -> Vec<String> {
    let mut out: Vec<String> = app.tasks.iter().flat_map(|t| t.capacity.iter().map(|c| c.provider.clone())).collect();
    out.sort();
    out.dedup();
    out
}

/// A container's log configuration: awslogs to the app's group (compose
/// `logging.options` over berth's defaults), another driver as written, or none.
fn log_configuration(app: &App, logging: &app::ContainerLogging) -> Option<LogConfiguration> {
    match logging {
        app::ContainerLogging::None => None,
        app::ContainerLogging::Other { name, options } => {
            Some(LogConfiguration { log_driver: name.clone(), options: options.iter().cloned().collect() })
        }
        app::ContainerLogging::Awslogs { options } => {
            let l = &app.logs;
            let mut out: BTreeMap<String, String> = [
                ("awslogs-group", l.group.clone()),
                ("awslogs-stream-prefix", l.stream_prefix.clone()),
                ("awslogs-region", l.region.clone().or_else(|| app.region.clone()).unwrap_or_default()),
                // Blocking log writes stall the app when CloudWatch is slow.
                ("mode", "non-blocking".into()),
                ("max-buffer-size", "25m".into()),
            ]
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            out.extend(options.iter().cloned());
            // An option given empty leaves berth's default out (`mode: ""`:
            // the account's default mode, as a task definition without it).
            out.retain(|_, v| !v.is_empty());
            Some(LogConfiguration { log_driver: "awslogs".into(), options: out })
        }
    }
}
