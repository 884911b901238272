//! Application Auto Scaling of ECS services' desired counts: the scalable
//! targets of the app's services (observe), and berth's own ones with their
//! target-tracking policies and scheduled actions (register, put, delete,
//! suspend scale-in).
//!
//! On the wire a policy on ALB requests names its target group by a
//! resource label, `app/<lb>/<id>/targetgroup/<tg>/<id>`; berth's resources
//! name the target group by ARN, which the label is made from (the target
//! group's load balancer, read with DescribeTargetGroups) and read back into.

use std::collections::HashMap;

use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ScalableTarget as AwsTarget, ServiceNamespace,
    SuspendedState, TargetTrackingScalingPolicyConfiguration,
};
use berth_model::resources::{
    PredefinedMetric, ScalableTarget, ScalableTargetAction, ScalingPolicy, ScheduledAction, Tag, TargetTrackingConfiguration,
};
use berth_provider::{Kind, LiveResource, Result, Scope};
use futures::{stream, StreamExt, TryStreamExt};

use crate::errors::{build_error, code, Context};
use crate::Aws;

const CONCURRENCY: usize = 4;
const DIMENSION: ScalableDimension = ScalableDimension::EcsServiceDesiredCount;

/// The scalable targets of services' desired counts (DescribeScalableTargets,
/// 50 resource ids a call, every page): service name → target. No services, no call.
pub async fn targets_of(aws: &Aws, cluster: &str, services: &[String]) -> Result<HashMap<String, AwsTarget>> {
    let prefix = format!("service/{cluster}/");
    let ids: Vec<String> = services.iter().map(|s| format!("{prefix}{s}")).collect();
    let chunks: Vec<Vec<String>> = ids.chunks(50).map(<[String]>::to_vec).collect();
    let found: Vec<Vec<AwsTarget>> = stream::iter(chunks)
        .map(|chunk| async move {
            aws.autoscaling
                .describe_scalable_targets()
                .service_namespace(ServiceNamespace::Ecs)
                .scalable_dimension(DIMENSION)
                .set_resource_ids(Some(chunk))
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .ctx("application-autoscaling:DescribeScalableTargets", cluster)
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(found
        .into_iter()
        .flatten()
        .filter_map(|t| {
            let name = t.resource_id().strip_prefix(&prefix)?.to_string();
            Some((name, t))
        })
        .collect())
}

/// The app's own scalable targets as resources (tags read for each, then
/// the policies and scheduled actions of the ones tagged for the app).
pub async fn owned(aws: &Aws, scope: &Scope, targets: &HashMap<String, AwsTarget>) -> Result<Vec<LiveResource>> {
    let owned_targets: Vec<(String, AwsTarget)> = targets.iter().map(|(s, t)| (s.clone(), t.clone())).collect();
    let found: Vec<Option<LiveResource>> = stream::iter(owned_targets)
        .map(|(service, t)| async move {
            let Some(arn) = t.scalable_target_arn().filter(|a| !a.is_empty()) else { return Ok(None) };
            // berth names its policies and scheduled actions `<service>-…`
            // (a blue/green color's after the pair); a target without one is
            // someone else's, whatever its tags (and its tags are not read:
            // moto, for one, keeps none).
            let mut spec = described(aws, &t, &[]).await?;
            let base = service.strip_suffix("-blue").or_else(|| service.strip_suffix("-green")).unwrap_or(&service);
            let prefix = format!("{base}-");
            let named = |list: &str, key: &str| {
                spec[list].as_array().is_some_and(|v| v.iter().any(|x| x[key].as_str().is_some_and(|n| n.starts_with(&prefix))))
            };
            if !named("scalingPolicies", "policyName") && !named("scheduledActions", "scheduledActionName") {
                return Ok(None);
            }
            let tags = target_tags(aws, arn).await?.unwrap_or_default();
            if !crate::observe::tagged_for(&tags, &scope.app) {
                return Ok(None);
            }
            spec["tags"] = serde_json::to_value(&tags).unwrap_or_default();
            Ok::<_, berth_provider::ProviderError>(Some(LiveResource {
                address: berth_provider::address_for(Kind::ScalableTarget, &service, scope, &tags),
                kind: Kind::ScalableTarget,
                name: service,
                arn: arn.to_string(),
                tags,
                spec,
            }))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// ListTagsForResource of a scalable target; `None` when it is gone.
pub async fn target_tags(aws: &Aws, arn: &str) -> Result<Option<Vec<Tag>>> {
    match aws.autoscaling.list_tags_for_resource().resource_arn(arn).send().await {
        Ok(out) => {
            let mut tags: Vec<Tag> = out.tags().into_iter().flatten().map(|(k, v)| Tag { key: k.clone(), value: v.clone() }).collect();
            tags.sort_by(|a, b| a.key.cmp(&b.key));
            Ok(Some(tags))
        }
        Err(e) if code(&e).as_deref() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(e).ctx("application-autoscaling:ListTagsForResource", arn),
    }
}

/// The scaling policies on a service's target (DescribeScalingPolicies, every page).
async fn live_policies(aws: &Aws, id: &str) -> Result<Vec<aws_sdk_applicationautoscaling::types::ScalingPolicy>> {
    aws.autoscaling
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(id)
        .scalable_dimension(DIMENSION)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ctx("application-autoscaling:DescribeScalingPolicies", id)
}

/// The scheduled actions on a service's target (DescribeScheduledActions, every page).
async fn live_actions(aws: &Aws, id: &str) -> Result<Vec<aws_sdk_applicationautoscaling::types::ScheduledAction>> {
    aws.autoscaling
        .describe_scheduled_actions()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(id)
        .scalable_dimension(DIMENSION)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ctx("application-autoscaling:DescribeScheduledActions", id)
}

/// A target with its policies and scheduled actions, in the desired shape.
async fn described(aws: &Aws, t: &AwsTarget, tags: &[Tag]) -> Result<serde_json::Value> {
    let id = t.resource_id();
    let policies = live_policies(aws, id).await?;
    let actions = live_actions(aws, id).await?;
    let arn = t.scalable_target_arn().unwrap_or_default();
    let scaling_policies: Vec<ScalingPolicy> = policies
        .iter()
        .filter_map(|p| {
            let c = p.target_tracking_scaling_policy_configuration()?;
            let metric = c.predefined_metric_specification()?;
            Some(ScalingPolicy {
                policy_name: p.policy_name().to_string(),
                policy_type: p.policy_type().as_str().to_string(),
                target_tracking_scaling_policy_configuration: TargetTrackingConfiguration {
                    target_value: c.target_value(),
                    predefined_metric_specification: PredefinedMetric {
                        predefined_metric_type: metric.predefined_metric_type().as_str().to_string(),
                        resource_label: metric.resource_label().map(|l| target_group_arn_of_label(arn, l)),
                    },
                    scale_in_cooldown: c.scale_in_cooldown().and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
                    scale_out_cooldown: c.scale_out_cooldown().and_then(|n| u32::try_from(n).ok()).unwrap_or(0),
                },
            })
        })
        .collect();
    let scheduled_actions: Vec<ScheduledAction> = actions
        .iter()
        .map(|a| ScheduledAction {
            scheduled_action_name: a.scheduled_action_name().to_string(),
            schedule: a.schedule().to_string(),
            timezone: a.timezone().map(str::to_string),
            scalable_target_action: ScalableTargetAction {
                min_capacity: a.scalable_target_action().and_then(|s| s.min_capacity()).and_then(|n| u32::try_from(n).ok()),
                max_capacity: a.scalable_target_action().and_then(|s| s.max_capacity()).and_then(|n| u32::try_from(n).ok()),
            },
        })
        .collect();
    let model = ScalableTarget {
        service_namespace: t.service_namespace().as_str().to_string(),
        resource_id: id.to_string(),
        scalable_dimension: t.scalable_dimension().as_str().to_string(),
        min_capacity: u32::try_from(t.min_capacity()).unwrap_or(0),
        max_capacity: u32::try_from(t.max_capacity()).unwrap_or(0),
        scaling_policies,
        scheduled_actions,
        tags: tags.to_vec(),
        service: String::new(),
    };
    let mut v = serde_json::to_value(&model).unwrap_or_default();
    if t.suspended_state().and_then(SuspendedState::dynamic_scaling_in_suspended) == Some(true) {
        v["suspendedState"] = serde_json::json!({"dynamicScalingInSuspended": true});
    }
    Ok(v)
}

/// `app/<lb>/<id>/targetgroup/<tg>/<id>` → the target group's ARN, in the
/// partition, region and account of the scalable target's ARN.
fn target_group_arn_of_label(target_arn: &str, label: &str) -> String {
    let parts: Vec<&str> = target_arn.splitn(6, ':').collect();
    let Some(tg) = label.find("targetgroup/").map(|i| &label[i..]) else { return label.to_string() };
    match parts.as_slice() {
        ["arn", partition, _, region, account, _] => format!("arn:{partition}:elasticloadbalancing:{region}:{account}:{tg}"),
        _ => label.to_string(),
    }
}

/// The resource label of a target group (by ARN): its load balancer's
/// `app/<name>/<id>` and its own `targetgroup/<name>/<id>`.
async fn resource_label(aws: &Aws, tg_arn: &str) -> Result<String> {
    let out =
        aws.elb.describe_target_groups().target_group_arns(tg_arn).send().await.ctx("elasticloadbalancing:DescribeTargetGroups", tg_arn)?;
    let lb = out.target_groups().first().and_then(|t| t.load_balancer_arns().first()).cloned().ok_or_else(|| {
        berth_provider::ProviderError::Invalid(format!(
            "target group {tg_arn} is not attached to a load balancer yet, so Application Auto Scaling cannot track its requests"
        ))
    })?;
    let from = |arn: &str, marker: &str, skip: usize| arn.find(marker).map(|i| arn[i + skip..].to_string()).unwrap_or_default();
    Ok(format!("{}/{}", from(&lb, ":loadbalancer/", ":loadbalancer/".len()), from(tg_arn, "targetgroup/", 0)))
}

/// RegisterScalableTarget (bounds, tags, nothing suspended), then the
/// policies and scheduled actions made exactly the target's.
pub async fn put(aws: &Aws, target: &ScalableTarget) -> Result<String> {
    let id = target.resource_id.as_str();
    let tags: HashMap<String, String> = target.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect();
    let out = aws
        .autoscaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(id)
        .scalable_dimension(DIMENSION)
        .min_capacity(i32::try_from(target.min_capacity).unwrap_or(i32::MAX))
        .max_capacity(i32::try_from(target.max_capacity).unwrap_or(i32::MAX))
        .suspended_state(unsuspended(false))
        .set_tags(Some(tags))
        .send()
        .await
        .ctx("application-autoscaling:RegisterScalableTarget", id)?;
    let arn = out.scalable_target_arn().unwrap_or_default().to_string();

    let live = live_policies(aws, id).await?;
    for p in live.iter().filter(|p| !target.scaling_policies.iter().any(|w| w.policy_name == p.policy_name())) {
        aws.autoscaling
            .delete_scaling_policy()
            .policy_name(p.policy_name())
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(id)
            .scalable_dimension(DIMENSION)
            .send()
            .await
            .ctx("application-autoscaling:DeleteScalingPolicy", p.policy_name())?;
    }
    for p in &target.scaling_policies {
        let c = &p.target_tracking_scaling_policy_configuration;
        let m = &c.predefined_metric_specification;
        let label = match &m.resource_label {
            Some(tg) => Some(resource_label(aws, tg).await?),
            None => None,
        };
        let metric = PredefinedMetricSpecification::builder()
            .predefined_metric_type(MetricType::from(m.predefined_metric_type.as_str()))
            .set_resource_label(label)
            .build()
            .map_err(build_error)?;
        let config = TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(c.target_value)
            .predefined_metric_specification(metric)
            .scale_in_cooldown(i32::try_from(c.scale_in_cooldown).unwrap_or(i32::MAX))
            .scale_out_cooldown(i32::try_from(c.scale_out_cooldown).unwrap_or(i32::MAX))
            .build()
            .map_err(build_error)?;
        aws.autoscaling
            .put_scaling_policy()
            .policy_name(&p.policy_name)
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(id)
            .scalable_dimension(DIMENSION)
            .policy_type(PolicyType::from(p.policy_type.as_str()))
            .target_tracking_scaling_policy_configuration(config)
            .send()
            .await
            .ctx("application-autoscaling:PutScalingPolicy", &p.policy_name)?;
    }

    let live = live_actions(aws, id).await?;
    for a in live.iter().filter(|a| !target.scheduled_actions.iter().any(|w| w.scheduled_action_name == a.scheduled_action_name())) {
        aws.autoscaling
            .delete_scheduled_action()
            .scheduled_action_name(a.scheduled_action_name())
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(id)
            .scalable_dimension(DIMENSION)
            .send()
            .await
            .ctx("application-autoscaling:DeleteScheduledAction", a.scheduled_action_name())?;
    }
    for a in &target.scheduled_actions {
        let action = aws_sdk_applicationautoscaling::types::ScalableTargetAction::builder()
            .set_min_capacity(a.scalable_target_action.min_capacity.and_then(|n| i32::try_from(n).ok()))
            .set_max_capacity(a.scalable_target_action.max_capacity.and_then(|n| i32::try_from(n).ok()))
            .build();
        aws.autoscaling
            .put_scheduled_action()
            .scheduled_action_name(&a.scheduled_action_name)
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(id)
            .scalable_dimension(DIMENSION)
            .schedule(&a.schedule)
            .set_timezone(a.timezone.clone())
            .scalable_target_action(action)
            .send()
            .await
            .ctx("application-autoscaling:PutScheduledAction", &a.scheduled_action_name)?;
    }
    Ok(arn)
}

fn unsuspended(scale_in: bool) -> SuspendedState {
    SuspendedState::builder()
        .dynamic_scaling_in_suspended(scale_in)
        .dynamic_scaling_out_suspended(false)
        .scheduled_scaling_suspended(false)
        .build()
}

/// DeregisterScalableTarget (its policies and scheduled actions go with it).
pub async fn delete(aws: &Aws, resource_id: &str) -> Result<()> {
    match aws
        .autoscaling
        .deregister_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(resource_id)
        .scalable_dimension(DIMENSION)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if code(&e).as_deref() == Some("ObjectNotFoundException") => Ok(()),
        Err(e) => Err(e).ctx("application-autoscaling:DeregisterScalableTarget", resource_id),
    }
}

/// RegisterScalableTarget with only the suspended state (an update of an
/// existing target keeps its bounds).
pub async fn suspend_scale_in(aws: &Aws, resource_id: &str, suspended: bool) -> Result<()> {
    aws.autoscaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(resource_id)
        .scalable_dimension(DIMENSION)
        .suspended_state(unsuspended(suspended))
        .send()
        .await
        .ctx("application-autoscaling:RegisterScalableTarget", resource_id)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_reads_back_as_its_target_groups_arn() {
        let target = "arn:aws:application-autoscaling:eu-west-1:123456789012:scalable-target/0ec5abc";
        let label = "app/shop/50dc6c495c0c9188/targetgroup/shop-web/73e2d6bc24d8a067";
        assert_eq!(
            target_group_arn_of_label(target, label),
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-web/73e2d6bc24d8a067"
        );
    }
}
