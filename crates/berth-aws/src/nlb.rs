//! Network load balancers on AWS: the NLB berth creates (no listener of its
//! own), one listener per network route (CreateListener / ModifyListener /
//! DeleteListener), reading those listeners back, and the VPC of an
//! existing listener's load balancer (DescribeListeners, then
//! DescribeLoadBalancers) for a spec that names no `vpc_id`.

use aws_sdk_elasticloadbalancingv2::types as elb;
use berth_model::resources as m;
use berth_provider::{LoadBalancerArns, ProviderError, Result};

use crate::convert;
use crate::errors::{code, Context};
use crate::Aws;

pub async fn create_load_balancer(aws: &Aws, lb: &m::LoadBalancer) -> Result<LoadBalancerArns> {
    let out = aws
        .elb
        .create_load_balancer()
        .name(&lb.name)
        .set_subnets(Some(lb.subnets.clone()))
        .set_security_groups((!lb.security_groups.is_empty()).then(|| lb.security_groups.clone()))
        .scheme(elb::LoadBalancerSchemeEnum::from(lb.scheme.as_str()))
        .r#type(elb::LoadBalancerTypeEnum::Network)
        .set_tags(Some(convert::elb_tags(&lb.tags)))
        .send()
        .await
        .ctx("elasticloadbalancing:CreateLoadBalancer", &lb.name)?;
    let created =
        out.load_balancers().first().ok_or_else(|| ProviderError::Other("CreateLoadBalancer returned no load balancer".into()))?;
    // Its listeners are the routes' own (`nlb_listener.<service>`).
    Ok(LoadBalancerArns {
        load_balancer: created.load_balancer_arn().unwrap_or_default().into(),
        listener: String::new(),
        dns_name: created.dns_name().unwrap_or_default().into(),
    })
}

/// An NLB forwards to one target group: the plain `TargetGroupArn` form.
fn default_actions(l: &m::Listener) -> Vec<elb::Action> {
    l.default_actions
        .iter()
        .flat_map(|a| &a.forward_config.target_groups)
        .map(|t| elb::Action::builder().r#type(elb::ActionTypeEnum::Forward).target_group_arn(&t.target_group_arn).build())
        .collect()
}

fn certificates(l: &m::Listener) -> Option<Vec<elb::Certificate>> {
    (!l.certificates.is_empty())
        .then(|| l.certificates.iter().map(|c| elb::Certificate::builder().certificate_arn(&c.certificate_arn).build()).collect())
}

pub async fn create_listener(aws: &Aws, l: &m::Listener) -> Result<String> {
    let out = aws
        .elb
        .create_listener()
        .load_balancer_arn(&l.load_balancer_arn)
        .protocol(elb::ProtocolEnum::from(l.protocol.as_str()))
        .port(i32::from(l.port))
        .set_certificates(certificates(l))
        .set_default_actions(Some(default_actions(l)))
        .set_tags(Some(convert::elb_tags(&l.tags)))
        .send()
        .await
        .ctx("elasticloadbalancing:CreateListener", &l.load_balancer_arn)?;
    Ok(out.listeners().first().and_then(|x| x.listener_arn()).unwrap_or_default().into())
}

pub async fn modify_listener(aws: &Aws, arn: &str, l: &m::Listener) -> Result<()> {
    aws.elb
        .modify_listener()
        .listener_arn(arn)
        .protocol(elb::ProtocolEnum::from(l.protocol.as_str()))
        .port(i32::from(l.port))
        .set_certificates(certificates(l))
        .set_default_actions(Some(default_actions(l)))
        .send()
        .await
        .ctx("elasticloadbalancing:ModifyListener", arn)?;
    Ok(())
}

pub async fn delete_listener(aws: &Aws, arn: &str) -> Result<()> {
    aws.elb.delete_listener().listener_arn(arn).send().await.ctx("elasticloadbalancing:DeleteListener", arn)?;
    Ok(())
}

pub async fn listener_vpc(aws: &Aws, listener_arn: &str) -> Result<Option<String>> {
    let listeners = match aws.elb.describe_listeners().listener_arns(listener_arn).send().await {
        Ok(o) => o,
        Err(e) if code(&e).as_deref() == Some("ListenerNotFound") => return Ok(None),
        Err(e) => return Err(crate::errors::map("elasticloadbalancing:DescribeListeners", listener_arn, e)),
    };
    let Some(lb) = listeners.listeners().first().and_then(|l| l.load_balancer_arn()) else { return Ok(None) };
    let lbs = match aws.elb.describe_load_balancers().load_balancer_arns(lb).send().await {
        Ok(o) => o,
        Err(e) if code(&e).as_deref() == Some("LoadBalancerNotFound") => return Ok(None),
        Err(e) => return Err(crate::errors::map("elasticloadbalancing:DescribeLoadBalancers", lb, e)),
    };
    Ok(lbs.load_balancers().first().and_then(|l| l.vpc_id()).map(str::to_string))
}

/// A listener as berth's model has it: the target group of its forward
/// action (weight 100: an NLB forwards to one).
pub fn from_listener(l: &elb::Listener, tags: &[elb::Tag]) -> m::Listener {
    let target_groups = l
        .default_actions()
        .iter()
        .flat_map(|a| {
            let tuples: Vec<String> = a
                .forward_config()
                .map(|f| f.target_groups().iter().filter_map(|t| t.target_group_arn().map(str::to_string)).collect())
                .unwrap_or_default();
            if tuples.is_empty() {
                a.target_group_arn().map(str::to_string).into_iter().collect()
            } else {
                tuples
            }
        })
        .map(|arn| m::WeightedTargetGroup { target_group_arn: arn, weight: 100 })
        .collect();
    m::Listener {
        service: String::new(),
        load_balancer_arn: l.load_balancer_arn().unwrap_or_default().into(),
        protocol: l.protocol().map_or("TCP", |p| p.as_str()).into(),
        port: l.port().and_then(|p| u16::try_from(p).ok()).unwrap_or_default(),
        certificates: l
            .certificates()
            .iter()
            .filter_map(|c| c.certificate_arn())
            .map(|c| m::Certificate { certificate_arn: c.into() })
            .collect(),
        default_actions: vec![m::RuleAction { kind: "forward".into(), forward_config: m::ForwardConfig { target_groups } }],
        tags: convert::from_elb_tags(tags),
    }
}
