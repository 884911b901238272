//! The plan pipeline — observe the app's live resources, pin its images
//! to digests, diff — as one function, shared by every command that plans
//! (`plan`, `apply`, `run`, `plan --all`).

use std::collections::{BTreeMap, BTreeSet};

use berth_model::Desired;
use berth_provider::{ImageLookup, Kind, Observed, Provider, ProviderError};

use crate::images::PinError;
use crate::{Plan, PlanContext, PlanError};

/// The start of a plan warning about images (the CLI prints these itself).
pub const IMAGE_WARNING: &str = "warning: image: ";

/// What to plan.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    pub desired: &'a Desired,
    /// Services of Compose profiles that are not active: not in the spec,
    /// and their live resources are left alone (not deleted), as `docker
    /// compose up` leaves the containers of inactive profiles.
    pub disabled_services: &'a [String],
    /// Their live names from `x-berth.names`: those resources are theirs too.
    pub disabled_live_names: &'a [String],
    /// The spec's warnings, as the plan lists them.
    pub spec_warnings: Vec<String>,
    pub ctx: PlanContext,
    pub allow_mutable_tags: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Provider(#[from] ProviderError),
    #[error(transparent)]
    Pin(#[from] PinError),
    #[error(transparent)]
    Plan(#[from] PlanError),
}

/// A plan and the live state it was computed from.
#[derive(Debug, Clone)]
pub struct Planned {
    pub plan: Plan,
    pub observed: Observed,
}

/// What ECR says of every ECR image of the spec, by reference.
pub async fn lookup_images(desired: &Desired, provider: &dyn Provider) -> Result<BTreeMap<String, ImageLookup>, ProviderError> {
    // Concurrently: each is one DescribeImages (an app's images are mostly one
    // tag per repository, so batching per repository would save nothing).
    let images = crate::images::ecr_images(desired);
    let found = futures::future::join_all(
        images.iter().map(|i| provider.resolve_image(i.registry.as_deref(), i.region.as_deref(), &i.repository, &i.tag)),
    )
    .await;
    let mut lookups = BTreeMap::new();
    for (image, found) in images.into_iter().zip(found) {
        lookups.insert(image.reference, found?);
    }
    Ok(lookups)
}

/// Observes the live state, pins images to digests, and diffs. Warnings
/// (the spec's, then those about images and routes) are in the plan.
pub async fn plan_app(input: &PlanInput<'_>, provider: &dyn Provider) -> Result<Planned, PipelineError> {
    let mut observed = provider.observe(&crate::scope(input.desired)).await?;
    leave_disabled_services_alone(&mut observed, input.disabled_services, input.disabled_live_names, &input.desired.app);
    let mut desired = input.desired.clone();
    fill_vpc_from_listener(&mut desired, provider).await?;
    let lookups = lookup_images(&desired, provider).await?;
    let creating: BTreeSet<String> = desired
        .ecr_repositories
        .iter()
        .map(|r| r.repository_name.clone())
        .filter(|r| observed.get(&format!("ecr.{r}")).is_none())
        .collect();
    let pinned = crate::images::pin(&mut desired, &lookups, &creating, input.allow_mutable_tags)?;
    let mut plan = crate::diff(&desired, &observed, &input.ctx)?;
    plan.spec_digest = crate::spec_digest(input.desired);
    plan.fingerprints.extend(pinned.fingerprints);
    plan.images = pinned.pins;
    let from_diff = std::mem::take(&mut plan.warnings);
    plan.warnings = input.spec_warnings.clone();
    plan.warnings.extend(from_diff);
    // After the spec's: image warnings are only known once the account was read.
    plan.warnings.extend(pinned.warnings.iter().map(|w| format!("{IMAGE_WARNING}{w}")));
    Ok(Planned { plan, observed })
}

/// Without `x-berth.network.vpc_id`, target groups and the namespace take
/// the VPC of the load balancer the spec's listener belongs to.
async fn fill_vpc_from_listener(desired: &mut Desired, provider: &dyn Provider) -> Result<(), PipelineError> {
    let missing = desired.target_groups.iter().any(|t| t.vpc_id.is_none()) || desired.namespace.as_ref().is_some_and(|n| n.vpc.is_none());
    let Some(listener) = desired.listener_rules.first().map(|r| r.listener_arn.clone()).filter(|l| l.starts_with("arn:")) else {
        return Ok(());
    };
    if !missing {
        return Ok(());
    }
    let Some(vpc) = provider.listener_vpc(&listener).await? else {
        return Err(PipelineError::Provider(ProviderError::Invalid(format!(
            "x-berth.network.vpc_id is not set, and the VPC cannot be read from listener {listener}: it does not exist; set x-berth.network.vpc_id to the VPC of the load balancer, or x-berth.load_balancer.listener to a listener that exists"
        ))));
    };
    for t in desired.target_groups.iter_mut().filter(|t| t.vpc_id.is_none()) {
        t.vpc_id = Some(vpc.clone());
    }
    if let Some(n) = desired.namespace.as_mut().filter(|n| n.vpc.is_none()) {
        n.vpc = Some(vpc);
    }
    Ok(())
}

fn leave_disabled_services_alone(observed: &mut Observed, disabled: &[String], live_names: &[String], app: &str) {
    if disabled.is_empty() {
        return;
    }
    // A resource named by a disabled service's `x-berth.names` (a family's
    // revisions, a color, a replacement target group included).
    let named = |name: &str| {
        let name = name.split(':').next().unwrap_or(name);
        live_names.iter().any(|n| name.strip_prefix(n.as_str()).is_some_and(|rest| ["", "-blue", "-green", "-r1"].contains(&rest)))
    };
    observed
        .resources
        .retain(|r| !(matches!(r.kind, Kind::Service | Kind::TaskDefinition | Kind::TargetGroup | Kind::ScalableTarget) && named(&r.name)));
    let belongs = |address: &str| {
        disabled.iter().any(|svc| {
            ["service", "taskdef", "tg", "rule", "cloudmap", "nlb_listener"].iter().any(|kind| {
                address.strip_prefix(&format!("{kind}.{svc}")).is_some_and(|rest| {
                    rest.is_empty() || rest == "-blue" || rest == "-green" || rest.starts_with('/') || rest.starts_with('~')
                })
            }) || address == format!("ecr.{app}/{svc}")
        })
    };
    observed.resources.retain(|r| !belongs(&r.address));
}
