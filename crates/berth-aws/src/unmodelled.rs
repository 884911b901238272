//! Settings of a live task definition or service that berth's model does
//! not read (a hard memory limit, FireLens, ECS Exec, placement…). Observe
//! lists them under `unmodelled`, so `berth import` and the plan can say
//! that the next revision or update berth makes leaves them out, instead
//! of dropping them unseen.

use aws_sdk_ecs::types as ecs;

/// The live field paths of a task definition berth does not model, e.g.
/// `ephemeralStorage`, `containerDefinitions[app].memory`.
pub fn task_definition(td: &ecs::TaskDefinition) -> Vec<String> {
    let mut out = Vec::new();
    let mut set = |on: bool, field: &str| {
        if on {
            out.push(field.to_string());
        }
    };
    set(!td.placement_constraints().is_empty(), "placementConstraints");
    set(!td.inference_accelerators().is_empty(), "inferenceAccelerators");
    set(td.pid_mode().is_some(), "pidMode");
    set(td.ipc_mode().is_some(), "ipcMode");
    set(td.proxy_configuration().is_some(), "proxyConfiguration");
    set(td.ephemeral_storage().is_some(), "ephemeralStorage");
    set(td.enable_fault_injection() == Some(true), "enableFaultInjection");
    for c in td.container_definitions() {
        out.extend(container(c).into_iter().map(|f| format!("containerDefinitions[{}].{f}", c.name().unwrap_or_default())));
    }
    out
}

fn container(c: &ecs::ContainerDefinition) -> Vec<&'static str> {
    let logging_secrets = c.log_configuration().is_some_and(|l| !l.secret_options().is_empty());
    [
        (c.repository_credentials().is_some(), "repositoryCredentials"),
        (c.memory().is_some(), "memory"),
        (!c.links().is_empty(), "links"),
        (c.restart_policy().is_some(), "restartPolicy"),
        (!c.environment_files().is_empty(), "environmentFiles"),
        (!c.volumes_from().is_empty(), "volumesFrom"),
        (c.start_timeout().is_some(), "startTimeout"),
        (c.version_consistency().is_some(), "versionConsistency"),
        (c.hostname().is_some(), "hostname"),
        (c.disable_networking() == Some(true), "disableNetworking"),
        (!c.docker_security_options().is_empty(), "dockerSecurityOptions"),
        (c.interactive() == Some(true), "interactive"),
        (c.pseudo_terminal() == Some(true), "pseudoTerminal"),
        (!c.resource_requirements().is_empty(), "resourceRequirements"),
        (c.firelens_configuration().is_some(), "firelensConfiguration"),
        (!c.credential_specs().is_empty(), "credentialSpecs"),
        (logging_secrets, "logConfiguration.secretOptions"),
    ]
    .into_iter()
    .filter_map(|(on, f)| on.then_some(f))
    .collect()
}

/// The live settings of a service berth does not model.
pub fn service(s: &ecs::Service) -> Vec<String> {
    let alarms = s.deployment_configuration().and_then(|d| d.alarms()).is_some_and(|a| a.enable());
    [
        // Fargate's default; another version pinned is a setting of its own.
        (s.platform_version().is_some_and(|v| v != "LATEST"), "platformVersion"),
        (!s.placement_constraints().is_empty(), "placementConstraints"),
        (!s.placement_strategy().is_empty(), "placementStrategy"),
        (s.enable_execute_command(), "enableExecuteCommand"),
        (alarms, "deploymentConfiguration.alarms"),
        (s.role_arn().is_some_and(|r| !r.contains("/aws-service-role/")), "roleArn"),
    ]
    .into_iter()
    .filter_map(|(on, f)| on.then(|| f.to_string()))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_services_settings_berth_does_not_model_are_named() {
        let plain = ecs::Service::builder().service_name("web").platform_version("LATEST").build();
        assert!(service(&plain).is_empty(), "Fargate's LATEST is the default");
        let alarms = ecs::DeploymentAlarms::builder().enable(true).rollback(true).alarm_names("5xx").build().expect("alarms");
        let set = ecs::Service::builder()
            .service_name("web")
            .platform_version("1.4.0")
            .enable_execute_command(true)
            .placement_strategy(
                ecs::PlacementStrategy::builder()
                    .r#type(ecs::PlacementStrategyType::Spread)
                    .field("attribute:ecs.availability-zone")
                    .build(),
            )
            .deployment_configuration(ecs::DeploymentConfiguration::builder().alarms(alarms).build())
            .build();
        assert_eq!(service(&set), ["platformVersion", "placementStrategy", "enableExecuteCommand", "deploymentConfiguration.alarms"]);
    }

    #[test]
    fn a_task_definitions_settings_berth_does_not_model_are_named_per_container() {
        let app = ecs::ContainerDefinition::builder()
            .name("app")
            .memory(512)
            .firelens_configuration(
                ecs::FirelensConfiguration::builder().r#type(ecs::FirelensConfigurationType::Fluentbit).build().expect("firelens"),
            )
            .build();
        let td = ecs::TaskDefinition::builder()
            .family("f")
            .container_definitions(app)
            .container_definitions(ecs::ContainerDefinition::builder().name("plain").build())
            .pid_mode(ecs::PidMode::Task)
            .build();
        assert_eq!(
            task_definition(&td),
            ["pidMode", "containerDefinitions[app].memory", "containerDefinitions[app].firelensConfiguration"]
        );
    }
}
