//! Between berth's model (the API shapes as plain data) and the SDK's types.
//! `to_*` builds SDK inputs; `from_*` reads SDK outputs back into the model,
//! so the plan compares like with like.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_ecs::types as ecs;
use aws_sdk_elasticloadbalancingv2::types as elb;
use aws_sdk_servicediscovery::types as sd;
use berth_model::resources as m;
use berth_provider::ProviderError;

use crate::errors::build_error;

type R<T> = Result<T, ProviderError>;

fn n(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn n64(v: u64) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

fn u(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

// ------------------------------------------------------------------ tags

pub fn ecs_tags(tags: &[m::Tag]) -> Vec<ecs::Tag> {
    tags.iter().map(|t| ecs::Tag::builder().key(&t.key).value(&t.value).build()).collect()
}

pub fn from_ecs_tags(tags: &[ecs::Tag]) -> Vec<m::Tag> {
    tags.iter().map(|t| m::Tag { key: t.key().unwrap_or_default().into(), value: t.value().unwrap_or_default().into() }).collect()
}

pub fn elb_tags(tags: &[m::Tag]) -> Vec<elb::Tag> {
    tags.iter().map(|t| elb::Tag::builder().key(&t.key).value(&t.value).build()).collect()
}

pub fn from_elb_tags(tags: &[elb::Tag]) -> Vec<m::Tag> {
    tags.iter().map(|t| m::Tag { key: t.key().unwrap_or_default().into(), value: t.value().unwrap_or_default().into() }).collect()
}

pub fn sd_tags(tags: &[m::Tag]) -> R<Vec<sd::Tag>> {
    tags.iter().map(|t| sd::Tag::builder().key(&t.key).value(&t.value).build().map_err(build_error)).collect()
}

pub fn from_sd_tags(tags: &[sd::Tag]) -> Vec<m::Tag> {
    tags.iter().map(|t| m::Tag { key: t.key().into(), value: t.value().into() }).collect()
}

pub fn ecr_tags(tags: &[m::Tag]) -> R<Vec<aws_sdk_ecr::types::Tag>> {
    tags.iter().map(|t| aws_sdk_ecr::types::Tag::builder().key(&t.key).value(&t.value).build().map_err(build_error)).collect()
}

pub fn from_ecr_tags(tags: &[aws_sdk_ecr::types::Tag]) -> Vec<m::Tag> {
    tags.iter().map(|t| m::Tag { key: t.key().into(), value: t.value().into() }).collect()
}

// ------------------------------------------------------- task definitions

pub fn container_definition(c: &m::ContainerDefinition) -> R<ecs::ContainerDefinition> {
    let mut b = ecs::ContainerDefinition::builder()
        .name(&c.name)
        .image(&c.image)
        .essential(c.essential)
        .set_cpu(c.cpu.map(n))
        .set_memory_reservation(c.memory_reservation.map(n))
        .set_command(c.command.clone())
        .set_entry_point(c.entry_point.clone())
        .set_working_directory(c.working_directory.clone())
        .set_user(c.user.clone())
        .set_stop_timeout(c.stop_timeout.map(n64))
        .set_readonly_root_filesystem(c.readonly_root_filesystem);
    for p in &c.port_mappings {
        b = b.port_mappings(
            ecs::PortMapping::builder()
                .container_port(i32::from(p.container_port))
                .set_host_port(p.host_port.map(i32::from))
                .protocol(ecs::TransportProtocol::from(p.protocol.as_str()))
                // Unnamed (a port of a task definition made before berth).
                .set_name(Some(p.name.clone()).filter(|n| !n.is_empty()))
                .set_app_protocol(p.app_protocol.as_deref().map(ecs::ApplicationProtocol::from))
                .build(),
        );
    }
    for e in &c.environment {
        b = b.environment(ecs::KeyValuePair::builder().name(&e.name).value(&e.value).build());
    }
    for s in &c.secrets {
        b = b.secrets(ecs::Secret::builder().name(&s.name).value_from(&s.value_from).build().map_err(build_error)?);
    }
    if let Some(h) = &c.health_check {
        b = b.health_check(
            ecs::HealthCheck::builder()
                .set_command(Some(h.command.clone()))
                .interval(n64(h.interval))
                .timeout(n64(h.timeout))
                .retries(n(h.retries))
                .start_period(n64(h.start_period))
                .build()
                .map_err(build_error)?,
        );
    }
    for mp in &c.mount_points {
        b = b.mount_points(
            ecs::MountPoint::builder().source_volume(&mp.source_volume).container_path(&mp.container_path).read_only(mp.read_only).build(),
        );
    }
    for d in &c.depends_on {
        b = b.depends_on(
            ecs::ContainerDependency::builder()
                .container_name(&d.container_name)
                .condition(ecs::ContainerCondition::from(d.condition.as_str()))
                .build()
                .map_err(build_error)?,
        );
    }
    if !c.docker_labels.is_empty() {
        b = b.set_docker_labels(Some(c.docker_labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<HashMap<_, _>>()));
    }
    if let Some(lp) = &c.linux_parameters {
        let caps = lp
            .capabilities
            .as_ref()
            .map(|cap| ecs::KernelCapabilities::builder().set_add(Some(cap.add.clone())).set_drop(Some(cap.drop.clone())).build());
        let mut l = ecs::LinuxParameters::builder()
            .set_init_process_enabled(lp.init_process_enabled)
            .set_capabilities(caps)
            .set_shared_memory_size(lp.shared_memory_size.map(n));
        for d in &lp.devices {
            l = l.devices(
                ecs::Device::builder()
                    .host_path(&d.host_path)
                    .set_container_path(d.container_path.clone())
                    .set_permissions(
                        (!d.permissions.is_empty())
                            .then(|| d.permissions.iter().map(|p| ecs::DeviceCgroupPermission::from(p.as_str())).collect()),
                    )
                    .build()
                    .map_err(build_error)?,
            );
        }
        for t in &lp.tmpfs {
            l = l.tmpfs(
                ecs::Tmpfs::builder()
                    .container_path(&t.container_path)
                    .size(n(t.size))
                    .set_mount_options((!t.mount_options.is_empty()).then(|| t.mount_options.clone()))
                    .build()
                    .map_err(build_error)?,
            );
        }
        b = b.linux_parameters(l.build());
    }
    b = b.set_privileged(c.privileged);
    for sc in &c.system_controls {
        b = b.system_controls(ecs::SystemControl::builder().namespace(&sc.namespace).value(&sc.value).build());
    }
    for u in &c.ulimits {
        b = b.ulimits(
            ecs::Ulimit::builder()
                .name(ecs::UlimitName::from(u.name.as_str()))
                .soft_limit(u.soft_limit)
                .hard_limit(u.hard_limit)
                .build()
                .map_err(build_error)?,
        );
    }
    for h in &c.extra_hosts {
        b = b.extra_hosts(ecs::HostEntry::builder().hostname(&h.hostname).ip_address(&h.ip_address).build().map_err(build_error)?);
    }
    if !c.dns_servers.is_empty() {
        b = b.set_dns_servers(Some(c.dns_servers.clone()));
    }
    if !c.dns_search_domains.is_empty() {
        b = b.set_dns_search_domains(Some(c.dns_search_domains.clone()));
    }
    if let Some(l) = &c.log_configuration {
        b = b.log_configuration(
            ecs::LogConfiguration::builder()
                .log_driver(ecs::LogDriver::from(l.log_driver.as_str()))
                .set_options(Some(l.options.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
                .build()
                .map_err(build_error)?,
        );
    }
    Ok(b.build())
}

pub fn volume(v: &m::TaskVolume) -> R<ecs::Volume> {
    let efs = match &v.efs_volume_configuration {
        Some(e) => Some(
            ecs::EfsVolumeConfiguration::builder()
                .file_system_id(&e.file_system_id)
                .set_root_directory(e.root_directory.clone())
                .transit_encryption(ecs::EfsTransitEncryption::from(e.transit_encryption.as_str()))
                .build()
                .map_err(build_error)?,
        ),
        None => None,
    };
    let host = v.host.as_ref().map(|h| ecs::HostVolumeProperties::builder().source_path(&h.source_path).build());
    Ok(ecs::Volume::builder().name(&v.name).set_efs_volume_configuration(efs).set_host(host).build())
}

pub fn from_task_definition(td: &ecs::TaskDefinition, tags: &[ecs::Tag]) -> m::TaskDefinition {
    m::TaskDefinition {
        family: td.family().unwrap_or_default().into(),
        task_role_arn: td.task_role_arn().map(str::to_string),
        execution_role_arn: td.execution_role_arn().map(str::to_string),
        network_mode: td.network_mode().map_or("bridge", |m| m.as_str()).into(),
        container_definitions: td.container_definitions().iter().map(from_container_definition).collect(),
        volumes: td
            .volumes()
            .iter()
            .map(|v| m::TaskVolume {
                name: v.name().unwrap_or_default().into(),
                efs_volume_configuration: v.efs_volume_configuration().map(|e| m::EfsVolumeConfiguration {
                    file_system_id: e.file_system_id().into(),
                    root_directory: e.root_directory().map(str::to_string),
                    transit_encryption: e.transit_encryption().map_or("DISABLED", |t| t.as_str()).into(),
                }),
                host: v.host().and_then(|h| h.source_path()).map(|p| m::HostVolumeProperties { source_path: p.into() }),
            })
            .collect(),
        requires_compatibilities: td.requires_compatibilities().iter().map(|c| c.as_str().to_string()).collect(),
        cpu: td.cpu().unwrap_or_default().into(),
        memory: td.memory().unwrap_or_default().into(),
        runtime_platform: td.runtime_platform().and_then(|p| {
            p.cpu_architecture().map(|a| m::RuntimePlatform {
                cpu_architecture: a.as_str().into(),
                operating_system_family: p.operating_system_family().map_or("LINUX", |o| o.as_str()).into(),
            })
        }),
        tags: from_ecs_tags(tags),
    }
}

fn from_container_definition(c: &ecs::ContainerDefinition) -> m::ContainerDefinition {
    let non_empty = |v: &[String]| (!v.is_empty()).then(|| v.to_vec());
    m::ContainerDefinition {
        name: c.name().unwrap_or_default().into(),
        image: c.image().unwrap_or_default().into(),
        essential: c.essential().unwrap_or(true),
        cpu: (c.cpu() != 0).then(|| u(c.cpu())),
        memory_reservation: c.memory_reservation().map(u),
        port_mappings: c
            .port_mappings()
            .iter()
            .map(|p| m::PortMapping {
                container_port: p.container_port().and_then(|x| u16::try_from(x).ok()).unwrap_or_default(),
                host_port: p.host_port().and_then(|x| u16::try_from(x).ok()),
                protocol: p.protocol().map_or("tcp", |x| x.as_str()).into(),
                name: p.name().unwrap_or_default().into(),
                app_protocol: p.app_protocol().map(|a| a.as_str().to_string()),
            })
            .collect(),
        environment: c
            .environment()
            .iter()
            .map(|e| m::KeyValuePair { name: e.name().unwrap_or_default().into(), value: e.value().unwrap_or_default().into() })
            .collect(),
        secrets: c.secrets().iter().map(|s| m::Secret { name: s.name().into(), value_from: s.value_from().into() }).collect(),
        command: non_empty(c.command()),
        entry_point: non_empty(c.entry_point()),
        health_check: c.health_check().map(|h| m::HealthCheck {
            command: h.command().to_vec(),
            interval: h.interval().map_or(30, |x| u64::from(u(x))),
            timeout: h.timeout().map_or(5, |x| u64::from(u(x))),
            retries: h.retries().map_or(3, u),
            start_period: h.start_period().map_or(0, |x| u64::from(u(x))),
        }),
        mount_points: c
            .mount_points()
            .iter()
            .map(|mp| m::MountPoint {
                source_volume: mp.source_volume().unwrap_or_default().into(),
                container_path: mp.container_path().unwrap_or_default().into(),
                read_only: mp.read_only().unwrap_or(false),
            })
            .collect(),
        depends_on: c
            .depends_on()
            .iter()
            .map(|d| m::ContainerDependency { container_name: d.container_name().into(), condition: d.condition().as_str().into() })
            .collect(),
        working_directory: c.working_directory().map(str::to_string),
        user: c.user().map(str::to_string),
        stop_timeout: c.stop_timeout().map(|x| u64::from(u(x))),
        readonly_root_filesystem: c.readonly_root_filesystem(),
        docker_labels: c.docker_labels().map(|l| l.iter().map(|(k, v)| (k.clone(), v.clone())).collect()).unwrap_or_default(),
        linux_parameters: c.linux_parameters().map(|lp| m::LinuxParameters {
            init_process_enabled: lp.init_process_enabled(),
            capabilities: lp.capabilities().map(|cap| m::Capabilities { add: cap.add().to_vec(), drop: cap.drop().to_vec() }),
            devices: lp
                .devices()
                .iter()
                .map(|d| m::Device {
                    host_path: d.host_path().into(),
                    container_path: d.container_path().map(str::to_string),
                    permissions: d.permissions().iter().map(|p| p.as_str().to_string()).collect(),
                })
                .collect(),
            shared_memory_size: lp.shared_memory_size().map(u),
            tmpfs: lp
                .tmpfs()
                .iter()
                .map(|t| m::Tmpfs {
                    container_path: t.container_path().into(),
                    size: u(t.size()),
                    mount_options: t.mount_options().to_vec(),
                })
                .collect(),
        }),
        privileged: c.privileged(),
        system_controls: c
            .system_controls()
            .iter()
            .map(|sc| m::SystemControl {
                namespace: sc.namespace().unwrap_or_default().into(),
                value: sc.value().unwrap_or_default().into(),
            })
            .collect(),
        ulimits: c
            .ulimits()
            .iter()
            .map(|l| m::Ulimit { name: l.name().as_str().into(), soft_limit: l.soft_limit(), hard_limit: l.hard_limit() })
            .collect(),
        extra_hosts: c
            .extra_hosts()
            .iter()
            .map(|h| m::HostEntry { hostname: h.hostname().into(), ip_address: h.ip_address().into() })
            .collect(),
        dns_servers: c.dns_servers().to_vec(),
        dns_search_domains: c.dns_search_domains().to_vec(),
        log_configuration: c.log_configuration().map(|l| m::LogConfiguration {
            log_driver: l.log_driver().as_str().into(),
            options: l.options().map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect::<BTreeMap<_, _>>()).unwrap_or_default(),
        }),
    }
}

// -------------------------------------------------------------- services

pub fn network_configuration(nc: &m::NetworkConfiguration) -> R<ecs::NetworkConfiguration> {
    let v = &nc.awsvpc_configuration;
    Ok(ecs::NetworkConfiguration::builder()
        .awsvpc_configuration(
            ecs::AwsVpcConfiguration::builder()
                .set_subnets(Some(v.subnets.clone()))
                .set_security_groups(Some(v.security_groups.clone()))
                .assign_public_ip(ecs::AssignPublicIp::from(v.assign_public_ip.as_str()))
                .build()
                .map_err(build_error)?,
        )
        .build())
}

pub fn load_balancers(lbs: &[m::ServiceLoadBalancer]) -> Vec<ecs::LoadBalancer> {
    lbs.iter()
        .map(|l| {
            ecs::LoadBalancer::builder()
                .target_group_arn(&l.target_group_arn)
                .container_name(&l.container_name)
                .container_port(i32::from(l.container_port))
                .build()
        })
        .collect()
}

pub fn service_registries(regs: &[m::ServiceRegistry]) -> Vec<ecs::ServiceRegistry> {
    regs.iter()
        .map(|r| {
            ecs::ServiceRegistry::builder()
                .registry_arn(&r.registry_arn)
                .set_container_name(r.container_name.clone())
                .set_container_port(r.container_port.map(i32::from))
                .build()
        })
        .collect()
}

pub fn deployment_configuration(dc: &m::DeploymentConfiguration) -> ecs::DeploymentConfiguration {
    ecs::DeploymentConfiguration::builder()
        .minimum_healthy_percent(n(dc.minimum_healthy_percent))
        .maximum_percent(n(dc.maximum_percent))
        .deployment_circuit_breaker(
            ecs::DeploymentCircuitBreaker::builder()
                .enable(dc.deployment_circuit_breaker.enable)
                .rollback(dc.deployment_circuit_breaker.rollback)
                .build(),
        )
        .build()
}

pub fn service_connect(sc: &m::ServiceConnectConfiguration) -> R<ecs::ServiceConnectConfiguration> {
    let mut b = ecs::ServiceConnectConfiguration::builder().enabled(sc.enabled).namespace(&sc.namespace);
    for s in &sc.services {
        let mut sb = ecs::ServiceConnectService::builder().port_name(&s.port_name).discovery_name(&s.discovery_name);
        for a in &s.client_aliases {
            sb = sb.client_aliases(
                ecs::ServiceConnectClientAlias::builder().port(i32::from(a.port)).dns_name(&a.dns_name).build().map_err(build_error)?,
            );
        }
        b = b.services(sb.build().map_err(build_error)?);
    }
    Ok(b.build())
}

/// A service's capacity provider strategy, as CreateService and UpdateService take it.
pub fn capacity_provider_strategy(items: &[m::CapacityProviderStrategyItem]) -> R<Vec<ecs::CapacityProviderStrategyItem>> {
    items
        .iter()
        .map(|c| {
            ecs::CapacityProviderStrategyItem::builder()
                .capacity_provider(&c.capacity_provider)
                .weight(i32::try_from(c.weight).unwrap_or(i32::MAX))
                .base(i32::try_from(c.base).unwrap_or(i32::MAX))
                .build()
                .map_err(build_error)
        })
        .collect()
}

pub fn from_service(s: &ecs::Service) -> m::Service {
    let cluster = s.cluster_arn().and_then(|a| a.rsplit_once(":cluster/")).map_or_else(String::new, |(_, n)| n.to_string());
    let dc = s.deployment_configuration();
    let breaker = dc.and_then(|d| d.deployment_circuit_breaker());
    // The deployment's Service Connect config is what ECS reports back.
    let sc = s.deployments().iter().find(|d| d.status() == Some("PRIMARY")).and_then(|d| d.service_connect_configuration());
    m::Service {
        force_new_deployment: false,
        clear_capacity_provider_strategy: false,
        service_name: s.service_name().unwrap_or_default().into(),
        cluster,
        task_definition: s.task_definition().unwrap_or_default().into(),
        desired_count: (s.scheduling_strategy().map(|x| x.as_str()) != Some("DAEMON")).then(|| u(s.desired_count())),
        launch_type: s.launch_type().map_or("", |l| l.as_str()).into(),
        capacity_provider_strategy: s
            .capacity_provider_strategy()
            .iter()
            .map(|c| m::CapacityProviderStrategyItem {
                capacity_provider: c.capacity_provider().into(),
                weight: u(c.weight()),
                base: u(c.base()),
            })
            .collect(),
        scheduling_strategy: s.scheduling_strategy().map_or("REPLICA", |x| x.as_str()).into(),
        deployment_controller: m::DeploymentController { kind: s.deployment_controller().map_or("ECS", |d| d.r#type().as_str()).into() },
        deployment_configuration: m::DeploymentConfiguration {
            minimum_healthy_percent: dc.and_then(|d| d.minimum_healthy_percent()).map_or(100, u),
            maximum_percent: dc.and_then(|d| d.maximum_percent()).map_or(200, u),
            deployment_circuit_breaker: m::DeploymentCircuitBreaker {
                enable: breaker.is_some_and(|b| b.enable()),
                rollback: breaker.is_some_and(|b| b.rollback()),
            },
        },
        network_configuration: s.network_configuration().and_then(|nc| nc.awsvpc_configuration()).map(|v| m::NetworkConfiguration {
            awsvpc_configuration: m::AwsVpcConfiguration {
                subnets: v.subnets().to_vec(),
                security_groups: v.security_groups().to_vec(),
                assign_public_ip: v.assign_public_ip().map_or("DISABLED", |a| a.as_str()).into(),
            },
        }),
        load_balancers: s
            .load_balancers()
            .iter()
            .map(|l| m::ServiceLoadBalancer {
                target_group_arn: l.target_group_arn().unwrap_or_default().into(),
                container_name: l.container_name().unwrap_or_default().into(),
                container_port: l.container_port().and_then(|p| u16::try_from(p).ok()).unwrap_or_default(),
            })
            .collect(),
        health_check_grace_period_seconds: s.health_check_grace_period_seconds().map(u),
        service_registries: s
            .service_registries()
            .iter()
            .map(|r| m::ServiceRegistry {
                registry_arn: r.registry_arn().unwrap_or_default().into(),
                container_name: r.container_name().map(str::to_string),
                container_port: r.container_port().and_then(|p| u16::try_from(p).ok()),
            })
            .collect(),
        service_connect_configuration: sc.map(|c| m::ServiceConnectConfiguration {
            enabled: c.enabled(),
            namespace: c.namespace().unwrap_or_default().into(),
            services: c
                .services()
                .iter()
                .map(|x| m::ServiceConnectService {
                    port_name: x.port_name().into(),
                    discovery_name: x.discovery_name().unwrap_or_default().into(),
                    client_aliases: x
                        .client_aliases()
                        .iter()
                        .map(|a| m::ClientAlias {
                            port: u16::try_from(a.port()).unwrap_or_default(),
                            dns_name: a.dns_name().unwrap_or_default().into(),
                        })
                        .collect(),
                })
                .collect(),
        }),
        propagate_tags: s.propagate_tags().map_or("NONE", |p| p.as_str()).into(),
        enable_ecs_managed_tags: s.enable_ecs_managed_tags(),
        tags: from_ecs_tags(s.tags()),
        blue_green: None,
        depends_on: Vec::new(),
        compose_name: String::new(),
    }
}

// ------------------------------------------------------- load balancing

pub fn rule_conditions(conds: &[m::RuleCondition]) -> Vec<elb::RuleCondition> {
    conds
        .iter()
        .map(|c| {
            let b = elb::RuleCondition::builder().field(&c.field);
            match c.field.as_str() {
                "path-pattern" => {
                    b.path_pattern_config(elb::PathPatternConditionConfig::builder().set_values(Some(c.values.clone())).build())
                }
                "host-header" => b.host_header_config(elb::HostHeaderConditionConfig::builder().set_values(Some(c.values.clone())).build()),
                _ => b.set_values(Some(c.values.clone())),
            }
            .build()
        })
        .collect()
}

pub fn forward_actions(actions: &[m::RuleAction]) -> Vec<elb::Action> {
    actions
        .iter()
        .map(|a| {
            let tgs = a
                .forward_config
                .target_groups
                .iter()
                .map(|t| elb::TargetGroupTuple::builder().target_group_arn(&t.target_group_arn).weight(n(t.weight)).build())
                .collect();
            elb::Action::builder()
                .r#type(elb::ActionTypeEnum::Forward)
                .forward_config(elb::ForwardActionConfig::builder().set_target_groups(Some(tgs)).build())
                .build()
        })
        .collect()
}

pub fn from_rule(r: &elb::Rule, listener_arn: &str, tags: &[elb::Tag]) -> m::ListenerRule {
    let conditions = r
        .conditions()
        .iter()
        .map(|c| {
            let field = c.field().unwrap_or_default().to_string();
            let values = match (field.as_str(), c.path_pattern_config(), c.host_header_config()) {
                ("path-pattern", Some(p), _) => p.values().to_vec(),
                ("host-header", _, Some(h)) => h.values().to_vec(),
                _ => c.values().to_vec(),
            };
            m::RuleCondition { field, values }
        })
        .collect();
    let actions = r
        .actions()
        .iter()
        .filter(|a| a.r#type().map(|t| t.as_str()) == Some("forward"))
        .map(|a| {
            let target_groups = match a.forward_config() {
                Some(f) if !f.target_groups().is_empty() => f
                    .target_groups()
                    .iter()
                    .map(|t| m::WeightedTargetGroup {
                        target_group_arn: t.target_group_arn().unwrap_or_default().into(),
                        weight: t.weight().map_or(1, u),
                    })
                    .collect(),
                _ => a
                    .target_group_arn()
                    .map(|arn| vec![m::WeightedTargetGroup { target_group_arn: arn.into(), weight: 1 }])
                    .unwrap_or_default(),
            };
            m::RuleAction { kind: "forward".into(), forward_config: m::ForwardConfig { target_groups } }
        })
        .collect();
    m::ListenerRule {
        address: String::new(),
        listener_arn: listener_arn.into(),
        priority: r.priority().and_then(|p| p.parse().ok()),
        conditions,
        actions,
        tags: from_elb_tags(tags),
    }
}

pub fn from_target_group(tg: &elb::TargetGroup, attributes: &[elb::TargetGroupAttribute], tags: &[elb::Tag]) -> m::TargetGroup {
    let tcp_check = tg.health_check_protocol() == Some(&elb::ProtocolEnum::Tcp);
    m::TargetGroup {
        service: String::new(),
        name: tg.target_group_name().unwrap_or_default().into(),
        protocol: tg.protocol().map_or("HTTP", |p| p.as_str()).into(),
        port: tg.port().and_then(|p| u16::try_from(p).ok()).unwrap_or_default(),
        target_type: tg.target_type().map_or("instance", |t| t.as_str()).into(),
        vpc_id: tg.vpc_id().map(str::to_string),
        health_check_protocol: tg.health_check_protocol().map_or("HTTP", |p| p.as_str()).into(),
        // A TCP health check has neither path nor matcher (whatever ELB reports).
        health_check_path: if tcp_check { String::new() } else { tg.health_check_path().unwrap_or("/").into() },
        health_check_interval_seconds: tg.health_check_interval_seconds().map_or(30, |x| u64::from(u(x))),
        healthy_threshold_count: tg.healthy_threshold_count().map_or(5, u),
        unhealthy_threshold_count: tg.unhealthy_threshold_count().map_or(2, u),
        matcher: if tcp_check {
            m::Matcher::default()
        } else {
            m::Matcher { http_code: tg.matcher().and_then(|mm| mm.http_code()).unwrap_or("200").into() }
        },
        // Only the attributes berth sets are compared.
        attributes: attributes
            .iter()
            .filter(|a| a.key() == Some("deregistration_delay.timeout_seconds"))
            .map(|a| m::Attribute { key: a.key().unwrap_or_default().into(), value: a.value().unwrap_or_default().into() })
            .collect(),
        tags: from_elb_tags(tags),
    }
}

// ---------------------------------------------------------------- Cloud Map

pub fn dns_config(c: &m::DnsConfig) -> R<sd::DnsConfig> {
    let records = c
        .dns_records
        .iter()
        .map(|r| sd::DnsRecord::builder().r#type(sd::RecordType::from(r.kind.as_str())).ttl(i64::from(r.ttl)).build().map_err(build_error))
        .collect::<R<Vec<_>>>()?;
    sd::DnsConfig::builder()
        .routing_policy(sd::RoutingPolicy::from(c.routing_policy.as_str()))
        .set_dns_records(Some(records))
        .build()
        .map_err(build_error)
}

pub fn from_dns_config(c: Option<&sd::DnsConfig>) -> m::DnsConfig {
    m::DnsConfig {
        routing_policy: c.and_then(|c| c.routing_policy()).map_or("MULTIVALUE", |r| r.as_str()).into(),
        dns_records: c
            .map(|c| {
                c.dns_records()
                    .iter()
                    .map(|r| m::DnsRecord { kind: r.r#type().as_str().into(), ttl: u32::try_from(r.ttl()).unwrap_or(0) })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    //! `berth render` of every example converts into the SDK's
    //! RegisterTaskDefinition / CreateService inputs and back without losing
    //! a field.

    use super::*;

    fn examples() -> Vec<berth_model::Desired> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&root).expect("examples") {
            let dir = entry.expect("entry").path();
            if !dir.join("compose.yaml").is_file() {
                continue;
            }
            let opts = berth_spec::LoadOptions {
                files: vec![dir.join("compose.yaml")],
                dir: dir.clone(),
                vars: [("TAG".to_string(), "abc".to_string())].into(),
                ..Default::default()
            };
            let loaded = berth_spec::load(&opts).unwrap_or_else(|d| panic!("{}: {d}", dir.display()));
            out.push(berth_model::lower(&loaded.app));
        }
        assert!(out.len() >= 3);
        // And every kernel and host setting berth maps on EC2.
        let opts = berth_spec::LoadOptions { dir: std::env::temp_dir(), ..Default::default() };
        let loaded = berth_spec::load_str(std::path::Path::new("ec2.yaml"), EC2_SPEC, &opts).unwrap_or_else(|d| panic!("ec2.yaml: {d}"));
        out.push(berth_model::lower(&loaded.app));
        out
    }

    const EC2_SPEC: &str = r#"
name: hosted
x-berth: { launch_type: ec2, network: { mode: bridge } }
services:
  web:
    image: nginx
    volumes: ["/var/log/app:/logs"]
    sysctls: { net.core.somaxconn: 1024 }
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    privileged: true
    devices: ["/dev/fuse:/dev/fuse:rw"]
    shm_size: 128m
    tmpfs: ["/run:size=64m,noexec"]
    ulimits: { nofile: { soft: 1024, hard: 4096 } }
    extra_hosts: ["db.local=10.0.0.5"]
    dns: [10.0.0.2]
    dns_search: [corp.example]
"#;

    #[test]
    fn task_definitions_round_trip_through_the_sdk_types() {
        for desired in examples() {
            for td in &desired.task_definitions {
                let containers = td.container_definitions.iter().map(container_definition).collect::<R<Vec<_>>>().expect("containers");
                let volumes = td.volumes.iter().map(volume).collect::<R<Vec<_>>>().expect("volumes");
                let sdk = ecs::TaskDefinition::builder()
                    .family(&td.family)
                    .set_task_role_arn(td.task_role_arn.clone())
                    .set_execution_role_arn(td.execution_role_arn.clone())
                    .network_mode(ecs::NetworkMode::from(td.network_mode.as_str()))
                    .set_container_definitions(Some(containers))
                    .set_volumes(Some(volumes))
                    .set_requires_compatibilities(Some(
                        td.requires_compatibilities.iter().map(|c| ecs::Compatibility::from(c.as_str())).collect(),
                    ))
                    .cpu(&td.cpu)
                    .memory(&td.memory)
                    .set_runtime_platform(td.runtime_platform.as_ref().map(|p| {
                        ecs::RuntimePlatform::builder()
                            .cpu_architecture(ecs::CpuArchitecture::from(p.cpu_architecture.as_str()))
                            .operating_system_family(ecs::OsFamily::from(p.operating_system_family.as_str()))
                            .build()
                    }))
                    .build();
                let back = from_task_definition(&sdk, &ecs_tags(&td.tags));
                assert_eq!(serde_json::to_value(&back).expect("json"), serde_json::to_value(td).expect("json"), "{}", td.family);
            }
        }
    }

    #[test]
    fn services_round_trip_through_the_sdk_types() {
        for desired in examples() {
            for svc in &desired.services {
                let sdk = ecs::Service::builder()
                    .service_name(&svc.service_name)
                    .cluster_arn(format!("arn:aws:ecs:r:1:cluster/{}", svc.cluster))
                    .task_definition(&svc.task_definition)
                    .set_desired_count(svc.desired_count.map(|c| c as i32))
                    .launch_type(ecs::LaunchType::from(svc.launch_type.as_str()))
                    .scheduling_strategy(ecs::SchedulingStrategy::from(svc.scheduling_strategy.as_str()))
                    .deployment_controller(
                        ecs::DeploymentController::builder()
                            .r#type(ecs::DeploymentControllerType::from(svc.deployment_controller.kind.as_str()))
                            .build()
                            .expect("dc"),
                    )
                    .deployment_configuration(deployment_configuration(&svc.deployment_configuration))
                    .set_network_configuration(svc.network_configuration.as_ref().map(network_configuration).transpose().expect("network"))
                    .set_load_balancers(Some(load_balancers(&svc.load_balancers)))
                    .set_health_check_grace_period_seconds(svc.health_check_grace_period_seconds.map(|s| s as i32))
                    .set_service_registries(Some(service_registries(&svc.service_registries)))
                    .deployments(
                        ecs::Deployment::builder()
                            .status("PRIMARY")
                            .set_service_connect_configuration(
                                svc.service_connect_configuration.as_ref().map(service_connect).transpose().expect("sc"),
                            )
                            .build(),
                    )
                    .propagate_tags(ecs::PropagateTags::from(svc.propagate_tags.as_str()))
                    .enable_ecs_managed_tags(svc.enable_ecs_managed_tags)
                    .set_tags(Some(ecs_tags(&svc.tags)))
                    .build();
                let back = from_service(&sdk);
                // blueGreen is berth's deploy setting, never sent to AWS.
                let sent = berth_model::resources::Service { blue_green: None, ..svc.clone() };
                assert_eq!(serde_json::to_value(&back).expect("json"), serde_json::to_value(&sent).expect("json"), "{}", svc.service_name);
            }
        }
    }

    #[test]
    fn listener_rules_and_target_groups_round_trip() {
        for desired in examples() {
            for rule in &desired.listener_rules {
                let sdk = elb::Rule::builder()
                    .rule_arn("arn:rule")
                    .set_priority(rule.priority.map(|p| p.to_string()))
                    .set_conditions(Some(rule_conditions(&rule.conditions)))
                    .set_actions(Some(forward_actions(&rule.actions)))
                    .build();
                let mut back = from_rule(&sdk, &rule.listener_arn, &elb_tags(&rule.tags));
                back.address = rule.address.clone();
                assert_eq!(serde_json::to_value(&back).expect("json"), serde_json::to_value(rule).expect("json"));
            }
            for tg in &desired.target_groups {
                let sdk = elb::TargetGroup::builder()
                    .target_group_name(&tg.name)
                    .protocol(elb::ProtocolEnum::from(tg.protocol.as_str()))
                    .port(i32::from(tg.port))
                    .target_type(elb::TargetTypeEnum::from(tg.target_type.as_str()))
                    .set_vpc_id(tg.vpc_id.clone())
                    .health_check_protocol(elb::ProtocolEnum::from(tg.health_check_protocol.as_str()))
                    .health_check_path(&tg.health_check_path)
                    .health_check_interval_seconds(tg.health_check_interval_seconds as i32)
                    .healthy_threshold_count(tg.healthy_threshold_count as i32)
                    .unhealthy_threshold_count(tg.unhealthy_threshold_count as i32)
                    .matcher(elb::Matcher::builder().http_code(&tg.matcher.http_code).build())
                    .build();
                let attrs: Vec<elb::TargetGroupAttribute> =
                    tg.attributes.iter().map(|a| elb::TargetGroupAttribute::builder().key(&a.key).value(&a.value).build()).collect();
                let back = from_target_group(&sdk, &attrs, &elb_tags(&tg.tags));
                assert_eq!(serde_json::to_value(&back).expect("json"), serde_json::to_value(tg).expect("json"), "{}", tg.name);
            }
        }
    }
}
