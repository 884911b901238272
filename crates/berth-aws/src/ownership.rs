//! What apply re-reads right before it writes: the tags a resource carries
//! now (ownership is checked against them, never taken from a plan file),
//! and a family's latest ACTIVE task definition revision (an identical one
//! left by an interrupted run is reused).

use berth_model::resources::{self as m};
use berth_provider::{Kind, Result};

use crate::convert;
use crate::errors::{code, Context};
use crate::Aws;

/// Error codes that mean "this resource is gone" for the tag reads.
fn gone(code: Option<&str>) -> bool {
    code.is_some_and(|c| c.contains("NotFound") || c == "InvalidParameterException" || c == "ClientException")
}

pub async fn live_tags(aws: &Aws, kind: Kind, arn: &str) -> Result<Option<Vec<m::Tag>>> {
    let tags = read_tags(aws, kind, arn).await?;
    if let Some(t) = &tags {
        aws.seen_tags.lock().unwrap_or_else(|e| e.into_inner()).insert(arn.to_string(), t.clone());
    }
    Ok(tags)
}

/// Whether `arn` was just seen with exactly these tags (in any order).
pub fn tags_unchanged(aws: &Aws, arn: &str, tags: &[m::Tag]) -> bool {
    let seen = aws.seen_tags.lock().unwrap_or_else(|e| e.into_inner());
    let key = |t: &m::Tag| (t.key.clone(), t.value.clone());
    seen.get(arn).is_some_and(|live| {
        let (mut a, mut b): (Vec<_>, Vec<_>) = (live.iter().map(key).collect(), tags.iter().map(key).collect());
        a.sort();
        b.sort();
        a == b
    })
}

async fn read_tags(aws: &Aws, kind: Kind, arn: &str) -> Result<Option<Vec<m::Tag>>> {
    match kind {
        Kind::Cluster | Kind::Service | Kind::TaskDefinition => match aws.ecs.list_tags_for_resource().resource_arn(arn).send().await {
            Ok(o) => Ok(Some(convert::from_ecs_tags(o.tags()))),
            Err(e) if gone(code(&e).as_deref()) => Ok(None),
            Err(e) => Err(crate::errors::map("ecs:ListTagsForResource", arn, e)),
        },
        Kind::LoadBalancer | Kind::TargetGroup | Kind::ListenerRule | Kind::Listener => {
            match aws.elb.describe_tags().resource_arns(arn).send().await {
                Ok(o) => Ok(o.tag_descriptions().iter().find(|d| d.resource_arn() == Some(arn)).map(|d| convert::from_elb_tags(d.tags()))),
                Err(e) if gone(code(&e).as_deref()) => Ok(None),
                Err(e) => Err(crate::errors::map("elasticloadbalancing:DescribeTags", arn, e)),
            }
        }
        Kind::Namespace | Kind::CloudMapService => match aws.sd.list_tags_for_resource().resource_arn(arn).send().await {
            Ok(o) => Ok(Some(convert::from_sd_tags(o.tags()))),
            Err(e) if gone(code(&e).as_deref()) => Ok(None),
            Err(e) => Err(crate::errors::map("servicediscovery:ListTagsForResource", arn, e)),
        },
        Kind::LogGroup => crate::logs::log_group_tags(aws, arn).await,
        Kind::EcrRepository => match aws.ecr.list_tags_for_resource().resource_arn(arn).send().await {
            Ok(o) => Ok(Some(convert::from_ecr_tags(o.tags()))),
            Err(e) if gone(code(&e).as_deref()) => Ok(None),
            Err(e) => Err(crate::errors::map("ecr:ListTagsForResource", arn, e)),
        },
        Kind::ScalableTarget => crate::scaling::target_tags(aws, arn).await,
    }
}

pub async fn latest_task_definition(aws: &Aws, family: &str) -> Result<Option<(String, m::TaskDefinition)>> {
    let out = match aws
        .ecs
        .describe_task_definition()
        .task_definition(family)
        .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
        .send()
        .await
    {
        Ok(o) => o,
        Err(e) if code(&e).as_deref() == Some("ClientException") => return Ok(None),
        Err(e) => return Err(e).ctx("ecs:DescribeTaskDefinition", family),
    };
    let Some(td) = out.task_definition() else { return Ok(None) };
    // AWS answers a family name with its latest ACTIVE revision; moto may
    // answer with an INACTIVE one, which must never be reused.
    if td.status() != Some(&aws_sdk_ecs::types::TaskDefinitionStatus::Active) {
        return Ok(None);
    }
    Ok(Some((td.task_definition_arn().unwrap_or_default().to_string(), convert::from_task_definition(td, out.tags()))))
}

/// Adds tags to a live resource (adoption): its other tags stay.
pub async fn tag_resource(aws: &Aws, kind: Kind, arn: &str, tags: &[m::Tag]) -> Result<()> {
    match kind {
        Kind::Cluster | Kind::Service | Kind::TaskDefinition => {
            aws.ecs.tag_resource().resource_arn(arn).set_tags(Some(convert::ecs_tags(tags))).send().await.ctx("ecs:TagResource", arn)?;
        }
        Kind::LoadBalancer | Kind::TargetGroup | Kind::ListenerRule | Kind::Listener => {
            aws.elb
                .add_tags()
                .resource_arns(arn)
                .set_tags(Some(convert::elb_tags(tags)))
                .send()
                .await
                .ctx("elasticloadbalancing:AddTags", arn)?;
        }
        Kind::EcrRepository => {
            aws.ecr.tag_resource().resource_arn(arn).set_tags(Some(convert::ecr_tags(tags)?)).send().await.ctx("ecr:TagResource", arn)?;
        }
        Kind::LogGroup => {
            let tags = tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect();
            aws.logs.tag_resource().resource_arn(arn).set_tags(Some(tags)).send().await.ctx("logs:TagResource", arn)?;
        }
        Kind::CloudMapService => {
            aws.sd
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(convert::sd_tags(tags)?))
                .send()
                .await
                .ctx("servicediscovery:TagResource", arn)?;
        }
        // A namespace is used, never adopted (berth_plan); berth does not
        // import scalable targets, so it never adopts one either.
        Kind::Namespace | Kind::ScalableTarget => {
            return Err(berth_provider::ProviderError::Invalid(format!(
                "berth cannot adopt a {} on AWS yet ({arn}): tag it berth:app and berth:managed=true by hand, or let berth create its own",
                kind.as_str()
            )));
        }
    }
    // The tags seen before are no longer the live ones.
    aws.seen_tags.lock().unwrap_or_else(|e| e.into_inner()).remove(arn);
    Ok(())
}
