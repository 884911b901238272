//! Changing the account. Every create is idempotent in effect: one that
//! finds the resource already there (from a crashed earlier run) adopts it
//! when it carries this app's tags, and refuses otherwise. Full ARNs are
//! passed wherever AWS accepts several forms.

use std::time::Duration;

use berth_model::resources::{self as m, TAG_APP, TAG_MANAGED};
use berth_provider::{LoadBalancerArns, ProviderError, Result, Weight};

use crate::convert;
use crate::errors::{build_error, code, map, Context};
use crate::Aws;

fn app_of(tags: &[m::Tag]) -> Option<&str> {
    tags.iter().find(|t| t.key == TAG_APP).map(|t| t.value.as_str())
}

fn owned(live: &[m::Tag], ours: &[m::Tag]) -> bool {
    let managed = live.iter().any(|t| t.key == TAG_MANAGED && t.value == "true");
    managed && app_of(live).is_some() && app_of(live) == app_of(ours)
}

pub async fn create_cluster(aws: &Aws, c: &m::Cluster) -> Result<String> {
    // CreateCluster is idempotent in ECS for the same settings.
    let out = aws
        .ecs
        .create_cluster()
        .cluster_name(&c.cluster_name)
        .set_capacity_providers((!c.capacity_providers.is_empty()).then(|| c.capacity_providers.clone()))
        .set_tags(Some(convert::ecs_tags(&c.tags)))
        .send()
        .await
        .ctx("ecs:CreateCluster", &c.cluster_name)?;
    // A cluster that existed keeps its capacity providers: they change with
    // PutClusterCapacityProviders (keeping its default strategy).
    let live = out.cluster();
    let mut have: Vec<String> = live.map(|l| l.capacity_providers().to_vec()).unwrap_or_default();
    have.sort();
    if !c.capacity_providers.is_empty() && have != c.capacity_providers {
        aws.ecs
            .put_cluster_capacity_providers()
            .cluster(&c.cluster_name)
            .set_capacity_providers(Some(c.capacity_providers.clone()))
            .set_default_capacity_provider_strategy(Some(live.map(|l| l.default_capacity_provider_strategy().to_vec()).unwrap_or_default()))
            .send()
            .await
            .ctx("ecs:PutClusterCapacityProviders", &c.cluster_name)?;
    }
    Ok(live.and_then(|c| c.cluster_arn()).unwrap_or_default().into())
}

pub async fn delete_cluster(aws: &Aws, arn: &str) -> Result<()> {
    aws.ecs.delete_cluster().cluster(arn).send().await.ctx("ecs:DeleteCluster", arn)?;
    Ok(())
}

pub async fn put_repository(aws: &Aws, r: &m::EcrRepository, existing: Option<&str>) -> Result<String> {
    let name = &r.repository_name;
    let arn = match existing {
        Some(arn) => arn.to_string(),
        None => {
            let created = aws
                .ecr
                .create_repository()
                .repository_name(name)
                .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::from(r.image_tag_mutability.as_str()))
                .image_scanning_configuration(
                    aws_sdk_ecr::types::ImageScanningConfiguration::builder()
                        .scan_on_push(r.image_scanning_configuration.scan_on_push)
                        .build(),
                )
                .encryption_configuration(
                    aws_sdk_ecr::types::EncryptionConfiguration::builder()
                        .encryption_type(aws_sdk_ecr::types::EncryptionType::from(r.encryption_configuration.encryption_type.as_str()))
                        .build()
                        .map_err(build_error)?,
                )
                .set_tags(Some(convert::ecr_tags(&r.tags)?))
                .send()
                .await;
            match created {
                Ok(o) => o.repository().and_then(|x| x.repository_arn()).unwrap_or_default().to_string(),
                Err(e) if code(&e).as_deref() == Some("RepositoryAlreadyExistsException") => {
                    let found =
                        aws.ecr.describe_repositories().repository_names(name).send().await.ctx("ecr:DescribeRepositories", name)?;
                    let arn = found.repositories().first().and_then(|x| x.repository_arn()).unwrap_or_default().to_string();
                    let tags = aws.ecr.list_tags_for_resource().resource_arn(&arn).send().await.ctx("ecr:ListTagsForResource", &arn)?;
                    if !owned(&convert::from_ecr_tags(tags.tags()), &r.tags) {
                        return Err(ProviderError::NotOwned { what: format!("ECR repository {name}") });
                    }
                    arn
                }
                Err(e) => return Err(map("ecr:CreateRepository", name, e)),
            }
        }
    };
    if existing.is_some() {
        aws.ecr
            .put_image_tag_mutability()
            .repository_name(name)
            .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::from(r.image_tag_mutability.as_str()))
            .send()
            .await
            .ctx("ecr:PutImageTagMutability", name)?;
        aws.ecr
            .put_image_scanning_configuration()
            .repository_name(name)
            .image_scanning_configuration(
                aws_sdk_ecr::types::ImageScanningConfiguration::builder().scan_on_push(r.image_scanning_configuration.scan_on_push).build(),
            )
            .send()
            .await
            .ctx("ecr:PutImageScanningConfiguration", name)?;
        aws.ecr.tag_resource().resource_arn(&arn).set_tags(Some(convert::ecr_tags(&r.tags)?)).send().await.ctx("ecr:TagResource", &arn)?;
    }
    match &r.lifecycle_policy {
        Some(policy) => {
            aws.ecr
                .put_lifecycle_policy()
                .repository_name(name)
                .lifecycle_policy_text(policy.to_string())
                .send()
                .await
                .ctx("ecr:PutLifecyclePolicy", name)?;
        }
        None if existing.is_some() => match aws.ecr.delete_lifecycle_policy().repository_name(name).send().await {
            Ok(_) => {}
            Err(e) if code(&e).as_deref() == Some("LifecyclePolicyNotFoundException") => {}
            Err(e) => return Err(map("ecr:DeleteLifecyclePolicy", name, e)),
        },
        None => {}
    }
    Ok(arn)
}

pub async fn delete_repository(aws: &Aws, name: &str, force: bool) -> Result<()> {
    aws.ecr.delete_repository().repository_name(name).force(force).send().await.ctx("ecr:DeleteRepository", name)?;
    Ok(())
}

pub async fn register_task_definition(aws: &Aws, td: &m::TaskDefinition) -> Result<String> {
    let containers = td.container_definitions.iter().map(convert::container_definition).collect::<Result<Vec<_>>>()?;
    let volumes = td.volumes.iter().map(convert::volume).collect::<Result<Vec<_>>>()?;
    let out = aws
        .ecs
        .register_task_definition()
        .family(&td.family)
        .set_task_role_arn(td.task_role_arn.clone())
        .set_execution_role_arn(td.execution_role_arn.clone())
        .network_mode(aws_sdk_ecs::types::NetworkMode::from(td.network_mode.as_str()))
        .set_container_definitions(Some(containers))
        .set_volumes((!volumes.is_empty()).then_some(volumes))
        .set_requires_compatibilities(Some(
            td.requires_compatibilities.iter().map(|c| aws_sdk_ecs::types::Compatibility::from(c.as_str())).collect(),
        ))
        .cpu(&td.cpu)
        .memory(&td.memory)
        .set_runtime_platform(td.runtime_platform.as_ref().map(|p| {
            aws_sdk_ecs::types::RuntimePlatform::builder()
                .cpu_architecture(aws_sdk_ecs::types::CpuArchitecture::from(p.cpu_architecture.as_str()))
                .operating_system_family(aws_sdk_ecs::types::OsFamily::from(p.operating_system_family.as_str()))
                .build()
        }))
        .set_tags(Some(convert::ecs_tags(&td.tags)))
        .send()
        .await
        .ctx("ecs:RegisterTaskDefinition", &td.family)?;
    Ok(out.task_definition().and_then(|t| t.task_definition_arn()).unwrap_or_default().into())
}

pub async fn deregister_task_definitions(aws: &Aws, family: &str) -> Result<()> {
    let arns: Vec<String> = aws
        .ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ctx("ecs:ListTaskDefinitions", family)?;
    // familyPrefix matches by prefix: keep this family's revisions only.
    for arn in
        arns.iter().filter(|a| a.rsplit_once("task-definition/").is_some_and(|(_, r)| r.rsplit_once(':').is_some_and(|(f, _)| f == family)))
    {
        aws.ecs.deregister_task_definition().task_definition(arn).send().await.ctx("ecs:DeregisterTaskDefinition", arn)?;
    }
    Ok(())
}

pub async fn previous_task_definition(aws: &Aws, arn: &str) -> Result<Option<String>> {
    let Some((family, rev)) = arn.rsplit_once("task-definition/").and_then(|(_, r)| r.rsplit_once(':')) else { return Ok(None) };
    let rev: u32 = rev.parse().unwrap_or(0);
    let out = aws
        .ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .sort(aws_sdk_ecs::types::SortOrder::Desc)
        .send()
        .await
        .ctx("ecs:ListTaskDefinitions", family)?;
    Ok(out
        .task_definition_arns()
        .iter()
        .find(|a| {
            a.rsplit_once("task-definition/")
                .and_then(|(_, r)| r.rsplit_once(':'))
                .is_some_and(|(f, r)| f == family && r.parse::<u32>().is_ok_and(|r| r < rev))
        })
        .cloned())
}

pub async fn create_load_balancer(aws: &Aws, lb: &m::LoadBalancer) -> Result<LoadBalancerArns> {
    use aws_sdk_elasticloadbalancingv2::types as elb;
    if lb.is_network() {
        return crate::nlb::create_load_balancer(aws, lb).await;
    }
    let out = aws
        .elb
        .create_load_balancer()
        .name(&lb.name)
        .set_subnets(Some(lb.subnets.clone()))
        .set_security_groups(Some(lb.security_groups.clone()))
        .scheme(elb::LoadBalancerSchemeEnum::from(lb.scheme.as_str()))
        .r#type(elb::LoadBalancerTypeEnum::Application)
        .set_tags(Some(convert::elb_tags(&lb.tags)))
        .send()
        .await
        .ctx("elasticloadbalancing:CreateLoadBalancer", &lb.name)?;
    let created =
        out.load_balancers().first().ok_or_else(|| ProviderError::Other("CreateLoadBalancer returned no load balancer".into()))?;
    let arn = created.load_balancer_arn().unwrap_or_default().to_string();
    // Requests that match no rule get a 404 instead of reaching some service.
    let not_found = elb::Action::builder()
        .r#type(elb::ActionTypeEnum::FixedResponse)
        .fixed_response_config(
            elb::FixedResponseActionConfig::builder().status_code("404").content_type("text/plain").message_body("not found").build(),
        )
        .build();
    // With a certificate the app is served on HTTPS:443, and HTTP:80 only
    // redirects there; without one, HTTP:80 serves it.
    let http_default = match lb.certificate_arn {
        Some(_) => elb::Action::builder()
            .r#type(elb::ActionTypeEnum::Redirect)
            .redirect_config(
                elb::RedirectActionConfig::builder()
                    .protocol("HTTPS")
                    .port("443")
                    .status_code(elb::RedirectActionStatusCodeEnum::Http301)
                    .build(),
            )
            .build(),
        None => not_found.clone(),
    };
    let create_listener = |protocol: elb::ProtocolEnum, port: i32, certificate: Option<&String>, default_action: elb::Action| {
        aws.elb
            .create_listener()
            .load_balancer_arn(&arn)
            .protocol(protocol)
            .port(port)
            .set_certificates(certificate.map(|c| vec![elb::Certificate::builder().certificate_arn(c).build()]))
            .default_actions(default_action)
            .set_tags(Some(convert::elb_tags(&lb.tags)))
            .send()
    };
    let http = create_listener(elb::ProtocolEnum::Http, 80, None, http_default).await.ctx("elasticloadbalancing:CreateListener", &arn)?;
    let listener = match &lb.certificate_arn {
        Some(cert) => {
            create_listener(elb::ProtocolEnum::Https, 443, Some(cert), not_found).await.ctx("elasticloadbalancing:CreateListener", &arn)?
        }
        None => http,
    };
    Ok(LoadBalancerArns {
        load_balancer: arn,
        listener: listener.listeners().first().and_then(|l| l.listener_arn()).unwrap_or_default().into(),
        dns_name: created.dns_name().unwrap_or_default().into(),
    })
}

pub async fn delete_load_balancer(aws: &Aws, arn: &str) -> Result<()> {
    aws.elb.delete_load_balancer().load_balancer_arn(arn).send().await.ctx("elasticloadbalancing:DeleteLoadBalancer", arn)?;
    Ok(())
}

fn deregistration_attributes(tg: &m::TargetGroup) -> Vec<aws_sdk_elasticloadbalancingv2::types::TargetGroupAttribute> {
    tg.attributes
        .iter()
        .map(|a| aws_sdk_elasticloadbalancingv2::types::TargetGroupAttribute::builder().key(&a.key).value(&a.value).build())
        .collect()
}

/// A TCP health check takes no path and no matcher.
fn health_check_path(tg: &m::TargetGroup) -> Option<String> {
    (!tg.health_check_path.is_empty()).then(|| tg.health_check_path.clone())
}

fn matcher(tg: &m::TargetGroup) -> Option<aws_sdk_elasticloadbalancingv2::types::Matcher> {
    (!tg.matcher.is_empty()).then(|| aws_sdk_elasticloadbalancingv2::types::Matcher::builder().http_code(&tg.matcher.http_code).build())
}

pub async fn create_target_group(aws: &Aws, tg: &m::TargetGroup) -> Result<String> {
    use aws_sdk_elasticloadbalancingv2::types as elb;
    let vpc = tg
        .vpc_id
        .clone()
        .ok_or_else(|| ProviderError::Invalid(format!("target group {} needs a VPC: set x-berth.network.vpc_id", tg.name)))?;
    let created = aws
        .elb
        .create_target_group()
        .name(&tg.name)
        .protocol(elb::ProtocolEnum::from(tg.protocol.as_str()))
        .port(i32::from(tg.port))
        .vpc_id(vpc)
        .target_type(elb::TargetTypeEnum::from(tg.target_type.as_str()))
        .health_check_protocol(elb::ProtocolEnum::from(tg.health_check_protocol.as_str()))
        .set_health_check_path(health_check_path(tg))
        .health_check_interval_seconds(i32::try_from(tg.health_check_interval_seconds).unwrap_or(30))
        .healthy_threshold_count(i32::try_from(tg.healthy_threshold_count).unwrap_or(5))
        .unhealthy_threshold_count(i32::try_from(tg.unhealthy_threshold_count).unwrap_or(2))
        .set_matcher(matcher(tg))
        .set_tags(Some(convert::elb_tags(&tg.tags)))
        .send()
        .await;
    let arn = match created {
        Ok(o) => o.target_groups().first().and_then(|t| t.target_group_arn()).unwrap_or_default().to_string(),
        Err(e) if code(&e).as_deref() == Some("DuplicateTargetGroupName") => {
            // A crashed earlier run may have made it: adopt it if it is ours.
            let found =
                aws.elb.describe_target_groups().names(&tg.name).send().await.ctx("elasticloadbalancing:DescribeTargetGroups", &tg.name)?;
            let arn = found.target_groups().first().and_then(|t| t.target_group_arn()).unwrap_or_default().to_string();
            let tags = aws.elb.describe_tags().resource_arns(&arn).send().await.ctx("elasticloadbalancing:DescribeTags", &arn)?;
            let live = tags.tag_descriptions().first().map(|d| convert::from_elb_tags(d.tags())).unwrap_or_default();
            if !owned(&live, &tg.tags) {
                return Err(ProviderError::NotOwned { what: format!("target group {}", tg.name) });
            }
            modify_target_group(aws, &arn, tg).await?;
            return Ok(arn);
        }
        Err(e) => return Err(map("elasticloadbalancing:CreateTargetGroup", &tg.name, e)),
    };
    aws.elb
        .modify_target_group_attributes()
        .target_group_arn(&arn)
        .set_attributes(Some(deregistration_attributes(tg)))
        .send()
        .await
        .ctx("elasticloadbalancing:ModifyTargetGroupAttributes", &arn)?;
    Ok(arn)
}

pub async fn modify_target_group(aws: &Aws, arn: &str, tg: &m::TargetGroup) -> Result<()> {
    use aws_sdk_elasticloadbalancingv2::types as elb;
    aws.elb
        .modify_target_group()
        .target_group_arn(arn)
        .health_check_protocol(elb::ProtocolEnum::from(tg.health_check_protocol.as_str()))
        .set_health_check_path(health_check_path(tg))
        .health_check_interval_seconds(i32::try_from(tg.health_check_interval_seconds).unwrap_or(30))
        .healthy_threshold_count(i32::try_from(tg.healthy_threshold_count).unwrap_or(5))
        .unhealthy_threshold_count(i32::try_from(tg.unhealthy_threshold_count).unwrap_or(2))
        .set_matcher(matcher(tg))
        .send()
        .await
        .ctx("elasticloadbalancing:ModifyTargetGroup", arn)?;
    aws.elb
        .modify_target_group_attributes()
        .target_group_arn(arn)
        .set_attributes(Some(deregistration_attributes(tg)))
        .send()
        .await
        .ctx("elasticloadbalancing:ModifyTargetGroupAttributes", arn)?;
    aws.elb
        .add_tags()
        .resource_arns(arn)
        .set_tags(Some(convert::elb_tags(&tg.tags)))
        .send()
        .await
        .ctx("elasticloadbalancing:AddTags", arn)?;
    Ok(())
}

pub async fn delete_target_group(aws: &Aws, arn: &str) -> Result<()> {
    aws.elb.delete_target_group().target_group_arn(arn).send().await.ctx("elasticloadbalancing:DeleteTargetGroup", arn)?;
    Ok(())
}

pub async fn create_rule(aws: &Aws, rule: &m::ListenerRule, priority: u32) -> Result<String> {
    let out = aws
        .elb
        .create_rule()
        .listener_arn(&rule.listener_arn)
        .priority(i32::try_from(priority).unwrap_or(i32::MAX))
        .set_conditions(Some(convert::rule_conditions(&rule.conditions)))
        .set_actions(Some(convert::forward_actions(&rule.actions)))
        .set_tags(Some(convert::elb_tags(&rule.tags)))
        .send()
        .await
        .ctx("elasticloadbalancing:CreateRule", &rule.listener_arn)?;
    Ok(out.rules().first().and_then(|r| r.rule_arn()).unwrap_or_default().into())
}

pub async fn modify_rule(aws: &Aws, arn: &str, rule: &m::ListenerRule) -> Result<()> {
    aws.elb
        .modify_rule()
        .rule_arn(arn)
        .set_conditions(Some(convert::rule_conditions(&rule.conditions)))
        .set_actions(Some(convert::forward_actions(&rule.actions)))
        .send()
        .await
        .ctx("elasticloadbalancing:ModifyRule", arn)?;
    Ok(())
}

pub async fn set_rule_priority(aws: &Aws, arn: &str, priority: u32) -> Result<()> {
    aws.elb
        .set_rule_priorities()
        .rule_priorities(
            aws_sdk_elasticloadbalancingv2::types::RulePriorityPair::builder()
                .rule_arn(arn)
                .priority(i32::try_from(priority).unwrap_or(i32::MAX))
                .build(),
        )
        .send()
        .await
        .ctx("elasticloadbalancing:SetRulePriorities", arn)?;
    Ok(())
}

pub async fn delete_rule(aws: &Aws, arn: &str) -> Result<()> {
    aws.elb.delete_rule().rule_arn(arn).send().await.ctx("elasticloadbalancing:DeleteRule", arn)?;
    Ok(())
}

pub async fn set_rule_weights(aws: &Aws, arn: &str, weights: &[Weight]) -> Result<()> {
    let action = m::RuleAction {
        kind: "forward".into(),
        forward_config: m::ForwardConfig {
            target_groups: weights
                .iter()
                .map(|w| m::WeightedTargetGroup { target_group_arn: w.target_group_arn.clone(), weight: w.weight })
                .collect(),
        },
    };
    aws.elb
        .modify_rule()
        .rule_arn(arn)
        .set_actions(Some(convert::forward_actions(&[action])))
        .send()
        .await
        .ctx("elasticloadbalancing:ModifyRule", arn)?;
    Ok(())
}

/// Cloud Map namespace operations are asynchronous: poll GetOperation.
async fn wait_operation(aws: &Aws, operation_id: &str, what: &str) -> Result<Option<String>> {
    use aws_sdk_servicediscovery::types::{OperationStatus, OperationTargetType};
    let mut delay = Duration::from_millis(500);
    for _ in 0..60 {
        let op = aws.sd.get_operation().operation_id(operation_id).send().await.ctx("servicediscovery:GetOperation", operation_id)?;
        let Some(op) = op.operation() else { break };
        match op.status() {
            Some(OperationStatus::Success) => return Ok(op.targets().and_then(|t| t.get(&OperationTargetType::Namespace)).cloned()),
            Some(OperationStatus::Fail) => {
                return Err(ProviderError::Other(format!(
                    "Cloud Map could not {what}: {} ({})",
                    op.error_message().unwrap_or("no reason given"),
                    op.error_code().unwrap_or("no code")
                )))
            }
            _ => {}
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    Err(ProviderError::Other(format!("Cloud Map did not finish ({what}) in time; operation {operation_id}")))
}

pub async fn create_namespace(aws: &Aws, ns: &m::Namespace) -> Result<String> {
    let vpc =
        ns.vpc.clone().ok_or_else(|| ProviderError::Invalid(format!("namespace {} needs a VPC: set x-berth.network.vpc_id", ns.name)))?;
    let out = aws
        .sd
        .create_private_dns_namespace()
        .name(&ns.name)
        .vpc(vpc)
        .set_tags(Some(convert::sd_tags(&ns.tags)?))
        .send()
        .await
        .ctx("servicediscovery:CreatePrivateDnsNamespace", &ns.name)?;
    let id = wait_operation(aws, out.operation_id().unwrap_or_default(), &format!("create namespace {}", ns.name))
        .await?
        .ok_or_else(|| ProviderError::Other(format!("Cloud Map created namespace {} but did not say its id", ns.name)))?;
    let got = aws.sd.get_namespace().id(&id).send().await.ctx("servicediscovery:GetNamespace", &id)?;
    Ok(got.namespace().and_then(|n| n.arn()).unwrap_or_default().into())
}

fn id_of(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

pub async fn delete_namespace(aws: &Aws, arn: &str) -> Result<()> {
    let out = aws.sd.delete_namespace().id(id_of(arn)).send().await.ctx("servicediscovery:DeleteNamespace", arn)?;
    if let Some(op) = out.operation_id() {
        wait_operation(aws, op, &format!("delete namespace {arn}")).await?;
    }
    Ok(())
}

pub async fn create_cloud_map_service(aws: &Aws, svc: &m::CloudMapService, namespace_arn: &str) -> Result<String> {
    let out = aws
        .sd
        .create_service()
        .name(&svc.name)
        .namespace_id(id_of(namespace_arn))
        .dns_config(convert::dns_config(&svc.dns_config)?)
        // The failure threshold is fixed at 1 by Cloud Map now; an empty config is the same.
        .health_check_custom_config(aws_sdk_servicediscovery::types::HealthCheckCustomConfig::builder().build())
        .set_tags(Some(convert::sd_tags(&svc.tags)?))
        .send()
        .await
        .ctx("servicediscovery:CreateService", &svc.name)?;
    Ok(out.service().and_then(|s| s.arn()).unwrap_or_default().into())
}

pub async fn delete_cloud_map_service(aws: &Aws, arn: &str) -> Result<()> {
    aws.sd.delete_service().id(id_of(arn)).send().await.ctx("servicediscovery:DeleteService", arn)?;
    Ok(())
}

fn primary_deployment(s: Option<&aws_sdk_ecs::types::Service>) -> String {
    s.and_then(|s| s.deployments().iter().find(|d| d.status() == Some("PRIMARY")).and_then(|d| d.id())).unwrap_or_default().to_string()
}

pub async fn create_service(aws: &Aws, svc: &m::Service) -> Result<(String, String)> {
    use aws_sdk_ecs::types as ecs;
    let out = aws
        .ecs
        .create_service()
        .cluster(&svc.cluster)
        .service_name(&svc.service_name)
        .task_definition(&svc.task_definition)
        .set_desired_count(svc.desired_count.map(|c| i32::try_from(c).unwrap_or(i32::MAX)))
        // ECS takes a launch type or a capacity provider strategy, never both.
        .set_launch_type((!svc.launch_type.is_empty()).then(|| ecs::LaunchType::from(svc.launch_type.as_str())))
        .set_capacity_provider_strategy(
            (!svc.capacity_provider_strategy.is_empty())
                .then(|| convert::capacity_provider_strategy(&svc.capacity_provider_strategy))
                .transpose()?,
        )
        .scheduling_strategy(ecs::SchedulingStrategy::from(svc.scheduling_strategy.as_str()))
        .deployment_controller(
            ecs::DeploymentController::builder()
                .r#type(ecs::DeploymentControllerType::from(svc.deployment_controller.kind.as_str()))
                .build()
                .map_err(build_error)?,
        )
        .deployment_configuration(convert::deployment_configuration(&svc.deployment_configuration))
        .set_network_configuration(svc.network_configuration.as_ref().map(convert::network_configuration).transpose()?)
        .set_load_balancers(Some(convert::load_balancers(&svc.load_balancers)))
        .set_health_check_grace_period_seconds(svc.health_check_grace_period_seconds.map(|s| i32::try_from(s).unwrap_or(0)))
        .set_service_registries(Some(convert::service_registries(&svc.service_registries)))
        .set_service_connect_configuration(svc.service_connect_configuration.as_ref().map(convert::service_connect).transpose()?)
        .propagate_tags(ecs::PropagateTags::from(svc.propagate_tags.as_str()))
        .enable_ecs_managed_tags(svc.enable_ecs_managed_tags)
        .set_tags(Some(convert::ecs_tags(&svc.tags)))
        .send()
        .await;
    match out {
        Ok(o) => Ok((o.service().and_then(|s| s.service_arn()).unwrap_or_default().into(), primary_deployment(o.service()))),
        Err(e) if code(&e).as_deref() == Some("InvalidParameterException") && e.to_string().contains("idempotent") => {
            // Already there (a crashed earlier run): adopt it if it is ours.
            let found = aws
                .ecs
                .describe_services()
                .cluster(&svc.cluster)
                .services(&svc.service_name)
                .include(ecs::ServiceField::Tags)
                .send()
                .await
                .ctx("ecs:DescribeServices", &svc.service_name)?;
            let live = found.services().first().ok_or_else(|| map("ecs:CreateService", &svc.service_name, e))?;
            if !owned(&convert::from_ecs_tags(live.tags()), &svc.tags) {
                return Err(ProviderError::NotOwned { what: format!("ECS service {}", svc.service_name) });
            }
            let arn = live.service_arn().unwrap_or_default().to_string();
            let deployment = update_service(aws, &arn, svc).await?;
            Ok((arn, deployment))
        }
        Err(e) => Err(map("ecs:CreateService", &svc.service_name, e)),
    }
}

pub async fn update_service(aws: &Aws, arn: &str, svc: &m::Service) -> Result<String> {
    let out = aws
        .ecs
        .update_service()
        .cluster(&svc.cluster)
        .service(arn)
        .task_definition(&svc.task_definition)
        .set_desired_count(svc.desired_count.map(|c| i32::try_from(c).unwrap_or(i32::MAX)))
        // A change of strategy takes effect with a new deployment (the plan sets forceNewDeployment).
        .set_capacity_provider_strategy(if svc.clear_capacity_provider_strategy && svc.capacity_provider_strategy.is_empty() {
            // ECS: an empty list moves the service back to its launch type.
            Some(Vec::new())
        } else {
            (!svc.capacity_provider_strategy.is_empty())
                .then(|| convert::capacity_provider_strategy(&svc.capacity_provider_strategy))
                .transpose()?
        })
        .deployment_configuration(convert::deployment_configuration(&svc.deployment_configuration))
        .set_network_configuration(svc.network_configuration.as_ref().map(convert::network_configuration).transpose()?)
        .set_load_balancers(Some(convert::load_balancers(&svc.load_balancers)))
        .set_health_check_grace_period_seconds(svc.health_check_grace_period_seconds.map(|s| i32::try_from(s).unwrap_or(0)))
        .set_service_registries(Some(convert::service_registries(&svc.service_registries)))
        .set_service_connect_configuration(svc.service_connect_configuration.as_ref().map(convert::service_connect).transpose()?)
        .propagate_tags(aws_sdk_ecs::types::PropagateTags::from(svc.propagate_tags.as_str()))
        .enable_ecs_managed_tags(svc.enable_ecs_managed_tags)
        .force_new_deployment(svc.force_new_deployment)
        .send()
        .await
        .ctx("ecs:UpdateService", arn)?;
    // UpdateService does not change tags: TagResource does, when they differ
    // from the ones the ownership check read just before.
    if !crate::ownership::tags_unchanged(aws, arn, &svc.tags) {
        aws.ecs.tag_resource().resource_arn(arn).set_tags(Some(convert::ecs_tags(&svc.tags))).send().await.ctx("ecs:TagResource", arn)?;
    }
    Ok(primary_deployment(out.service()))
}

pub async fn delete_service(aws: &Aws, cluster: &str, arn: &str) -> Result<()> {
    // force: scales to zero and deletes in one call.
    aws.ecs.delete_service().cluster(cluster).service(arn).force(true).send().await.ctx("ecs:DeleteService", arn)?;
    Ok(())
}

/// UpdateService with only the desired count (`berth scale`).
pub async fn set_service_count(aws: &Aws, cluster: &str, service: &str, count: u32) -> Result<()> {
    let count = i32::try_from(count).unwrap_or(i32::MAX);
    aws.ecs.update_service().cluster(cluster).service(service).desired_count(count).send().await.ctx("ecs:UpdateService", service)?;
    Ok(())
}
