//! Reading an app's live resources with as few round trips as the APIs
//! allow: every list read to its last page, batched describes (ECS services
//! 10 at a time, ELB tags 20 at a time), and independent reads concurrent
//! with a bound.

use std::collections::{BTreeSet, HashMap};

use berth_model::resources::{self as m, TAG_APP};
use berth_provider::{address_for, Kind, LiveResource, Observed, ProviderError, Result, Scope, TakenPriority};
use futures::{stream, StreamExt, TryStreamExt};
use serde::Serialize;

use crate::convert;
use crate::errors::{code, Context};
use crate::{Aws, CONCURRENCY};

fn json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

fn live(scope: &Scope, kind: Kind, name: &str, arn: &str, tags: Vec<m::Tag>, spec: serde_json::Value) -> LiveResource {
    LiveResource { address: address_for(kind, name, scope, &tags), kind, name: name.into(), arn: arn.into(), tags, spec }
}

pub(crate) fn tagged_for(tags: &[m::Tag], app: &str) -> bool {
    tags.iter().any(|t| t.key == TAG_APP && t.value == app)
}

pub async fn observe(aws: &Aws, scope: &Scope) -> Result<Observed> {
    // The spec's listener is known already: its rules are read with the rest.
    let spec_listener = scope.listener.clone().filter(|l| l.starts_with("arn:"));
    let early_rules = async {
        match &spec_listener {
            Some(l) => Some(listener_rules(aws, scope, l).await),
            None => None,
        }
    };
    let (cluster, ecs, repos, tgs, lb, cloud_map, log_groups, early_rules) = futures::join!(
        cluster(aws, scope),
        services_and_task_definitions(aws, scope),
        repositories(aws, scope),
        target_groups(aws, scope),
        load_balancer(aws, scope),
        cloud_map(aws, scope),
        crate::logs::observe(aws, scope),
        early_rules
    );
    let mut out = Observed::default();
    out.resources.extend(cluster?);
    out.resources.extend(log_groups?);
    let (ecs, latest) = ecs?;
    out.resources.extend(ecs);
    out.latest_revisions = latest;
    out.resources.extend(repos?);
    out.resources.extend(tgs?);
    let (lb, listeners) = lb?;
    out.resources.extend(listeners);
    // Rules live on the spec's listener, or on the listener of the load balancer berth made.
    let listener = scope
        .listener
        .clone()
        .filter(|l| l.starts_with("arn:"))
        .or_else(|| lb.as_ref().and_then(|l| l.spec["listenerArn"].as_str().map(str::to_string)));
    out.resources.extend(lb);
    out.resources.extend(cloud_map?);
    if let Some(listener) = listener {
        let (rules, taken) = match early_rules.filter(|_| spec_listener.as_deref() == Some(listener.as_str())) {
            Some(read) => read?,
            None => listener_rules(aws, scope, &listener).await?,
        };
        out.resources.extend(rules);
        out.taken_priorities = taken;
    }
    // The tags just read: an update that keeps them sends no TagResource
    // (the apply checks ownership with this same observation).
    let mut seen = aws.seen_tags.lock().unwrap_or_else(|e| e.into_inner());
    for r in &out.resources {
        seen.insert(r.arn.clone(), r.tags.clone());
    }
    drop(seen);
    Ok(out)
}

async fn cluster(aws: &Aws, scope: &Scope) -> Result<Option<LiveResource>> {
    let out = aws
        .ecs
        .describe_clusters()
        .clusters(&scope.cluster)
        .include(aws_sdk_ecs::types::ClusterField::Tags)
        .send()
        .await
        .ctx("ecs:DescribeClusters", &scope.cluster)?;
    Ok(out.clusters().iter().find(|c| c.status() == Some("ACTIVE")).map(|c| {
        let tags = convert::from_ecs_tags(c.tags());
        let mut spec = serde_json::json!({"clusterName": scope.cluster, "tags": tags});
        if !c.capacity_providers().is_empty() {
            spec["capacityProviders"] = c.capacity_providers().into();
        }
        live(scope, Kind::Cluster, &scope.cluster, c.cluster_arn().unwrap_or_default(), tags, spec)
    }))
}

/// ECS services (ListServices, then DescribeServices 10 at a time), then the
/// task definition revision each runs (and the latest of orphaned families).
/// A family's latest ACTIVE revision (`None`: it has none).
type Latest = Option<(String, berth_model::resources::TaskDefinition)>;

/// The app's services and task definitions, and each family's latest ACTIVE revision.
async fn services_and_task_definitions(
    aws: &Aws,
    scope: &Scope,
) -> Result<(Vec<LiveResource>, std::collections::BTreeMap<String, Latest>)> {
    let arns: Vec<String> =
        match aws.ecs.list_services().cluster(&scope.cluster).max_results(100).into_paginator().items().send().try_collect().await {
            Ok(arns) => arns,
            Err(e) if code(&e).as_deref() == Some("ClusterNotFoundException") => Vec::new(),
            Err(e) => return Err(crate::errors::map("ecs:ListServices", &scope.cluster, e)),
        };
    let chunks: Vec<Vec<String>> = arns.chunks(10).map(<[String]>::to_vec).collect();
    let described: Vec<Vec<aws_sdk_ecs::types::Service>> = stream::iter(chunks)
        .map(|chunk| async move {
            aws.ecs
                .describe_services()
                .cluster(&scope.cluster)
                .set_services(Some(chunk))
                .include(aws_sdk_ecs::types::ServiceField::Tags)
                .send()
                .await
                .map(|o| o.services().to_vec())
                .ctx("ecs:DescribeServices", &scope.cluster)
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let mut out = Vec::new();
    // family → task definition ARN in use (a service with tasks wanted wins:
    // the live color of a blue/green pair).
    let mut running: HashMap<String, (bool, String)> = HashMap::new();
    for s in described.into_iter().flatten().filter(|s| s.status() == Some("ACTIVE")) {
        let model = convert::from_service(&s);
        if !(scope.service_names.contains(&model.service_name) || tagged_for(&model.tags, &scope.app)) {
            continue;
        }
        if let Some((_, rest)) = model.task_definition.rsplit_once("task-definition/") {
            let family = rest.split(':').next().unwrap_or_default().to_string();
            let wanted = model.desired_count.unwrap_or(0) > 0;
            if running.get(&family).is_none_or(|(w, _)| !*w && wanted) {
                running.insert(family, (wanted, model.task_definition.clone()));
            }
        }
        let mut spec = json(&model);
        let unmodelled = crate::unmodelled::service(&s);
        if !unmodelled.is_empty() {
            spec["unmodelled"] = unmodelled.into();
        }
        out.push(live(scope, Kind::Service, &model.service_name, s.service_arn().unwrap_or_default(), model.tags.clone(), spec));
    }
    // Whatever scales a service's desired count (berth or not): the plan keeps the count it chose.
    let names: Vec<String> = out.iter().map(|r| r.name.clone()).collect();
    let targets = crate::scaling::targets_of(aws, &scope.cluster, &names).await?;
    for r in out.iter_mut() {
        if let Some(t) = targets.get(&r.name) {
            r.spec["scalableTarget"] = serde_json::json!({"minCapacity": t.min_capacity(), "maxCapacity": t.max_capacity()});
        }
    }
    out.extend(crate::scaling::owned(aws, scope, &targets).await?);

    // Families: the spec's, the running ones, and any other of the app's (to delete).
    let prefix = format!("{}-", scope.app);
    let listed: Vec<String> = aws
        .ecs
        .list_task_definition_families()
        .family_prefix(&prefix)
        .status(aws_sdk_ecs::types::TaskDefinitionFamilyStatus::Active)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ctx("ecs:ListTaskDefinitionFamilies", &prefix)?;
    // A family of the spec that ListTaskDefinitionFamilies does not list has
    // no ACTIVE revision: nothing to describe (a first deploy describes none).
    let listed: BTreeSet<String> = listed.into_iter().collect();
    let unlisted_spec = scope.task_families.iter().filter(|f| !f.starts_with(&prefix)).cloned();
    let families: BTreeSet<String> = listed.iter().cloned().chain(running.keys().cloned()).chain(unlisted_spec).collect();
    // Each family by name (DescribeTaskDefinition answers a family with its
    // latest ACTIVE revision). The revision a service runs is the live
    // resource: most often the latest, else read by its ARN as well.
    let tds: Vec<(String, Latest, Option<LiveResource>)> = stream::iter(families)
        .map(|family| {
            let running_arn = running.get(&family).map(|(_, td)| td.clone());
            async move {
                let latest = match describe_task_definition(aws, &family).await? {
                    // AWS answers a family with its latest ACTIVE revision; moto may
                    // answer with an INACTIVE one, which counts as none.
                    Some((arn, model, active, unmodelled)) if active => Some((arn, model, unmodelled)),
                    _ => None,
                };
                let current = match (&running_arn, &latest) {
                    (Some(run), Some((arn, ..))) if run == arn => latest.clone(),
                    // A revision a service runs counts whatever its status.
                    (Some(run), _) => describe_task_definition(aws, run).await?.map(|(arn, model, _, unmodelled)| (arn, model, unmodelled)),
                    (None, latest) => latest.clone(),
                };
                let current = current.filter(|(_, model, _)| scope.task_families.contains(&family) || tagged_for(&model.tags, &scope.app));
                let resource = current.map(|(arn, model, unmodelled)| {
                    let revision = arn.rsplit(':').next().unwrap_or_default();
                    let name = format!("{family}:{revision}");
                    let mut spec = json(&model);
                    if !unmodelled.is_empty() {
                        spec["unmodelled"] = unmodelled.into();
                    }
                    live(scope, Kind::TaskDefinition, &name, &arn, model.tags.clone(), spec)
                });
                let latest = latest.map(|(arn, model, _)| (arn, model));
                Ok::<_, berth_provider::ProviderError>((family, latest, resource))
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    let mut latest_revisions = std::collections::BTreeMap::new();
    for (family, latest, resource) in tds {
        out.extend(resource);
        latest_revisions.insert(family, latest);
    }
    Ok((out, latest_revisions))
}

/// DescribeTaskDefinition of a family (its latest ACTIVE revision) or an
/// ARN, with its tags: `(arn, definition, active, unmodelled settings)`,
/// `None` when there is none.
async fn describe_task_definition(
    aws: &Aws,
    which: &str,
) -> Result<Option<(String, berth_model::resources::TaskDefinition, bool, Vec<String>)>> {
    match aws.ecs.describe_task_definition().task_definition(which).include(aws_sdk_ecs::types::TaskDefinitionField::Tags).send().await {
        Ok(o) => Ok(o.task_definition().map(|td| {
            let active = td.status() == Some(&aws_sdk_ecs::types::TaskDefinitionStatus::Active);
            let unmodelled = crate::unmodelled::task_definition(td);
            (td.task_definition_arn().unwrap_or_default().to_string(), convert::from_task_definition(td, o.tags()), active, unmodelled)
        })),
        Err(e) if code(&e).as_deref() == Some("ClientException") => Ok(None),
        Err(e) => Err(crate::errors::map("ecs:DescribeTaskDefinition", which, e)),
    }
}

async fn repositories(aws: &Aws, scope: &Scope) -> Result<Vec<LiveResource>> {
    let prefix = format!("{}/", scope.app);
    let repos = crate::ecr::all_repositories(aws).await?;
    let candidates: Vec<_> = repos
        .into_iter()
        .filter(|r| r.repository_name().is_some_and(|n| n.starts_with(&prefix) || scope.repository_names.iter().any(|s| s == n)))
        .collect();
    let found: Vec<Option<LiveResource>> = stream::iter(candidates)
        .map(|r| async move {
            let name = r.repository_name().unwrap_or_default().to_string();
            let arn = r.repository_arn().unwrap_or_default().to_string();
            let (tags, policy, images) = futures::join!(
                aws.ecr.list_tags_for_resource().resource_arn(&arn).send(),
                aws.ecr.get_lifecycle_policy().repository_name(&name).send(),
                aws.ecr.list_images().repository_name(&name).max_results(1000).into_paginator().items().send().try_collect()
            );
            let image_count = images.ctx("ecr:ListImages", &name)?.len();
            let tags = convert::from_ecr_tags(tags.ctx("ecr:ListTagsForResource", &arn)?.tags());
            let lifecycle_policy = match policy {
                Ok(p) => p.lifecycle_policy_text().and_then(|t| serde_json::from_str(t).ok()),
                Err(e) if code(&e).as_deref() == Some("LifecyclePolicyNotFoundException") => None,
                Err(e) => return Err(crate::errors::map("ecr:GetLifecyclePolicy", &name, e)),
            };
            if !(scope.repository_names.contains(&name) || tagged_for(&tags, &scope.app)) {
                return Ok::<_, ProviderError>(None);
            }
            let spec = m::EcrRepository {
                repository_name: name.clone(),
                image_tag_mutability: r.image_tag_mutability().map_or("MUTABLE", |x| x.as_str()).into(),
                image_scanning_configuration: m::ImageScanningConfiguration {
                    scan_on_push: r.image_scanning_configuration().is_some_and(|c| c.scan_on_push()),
                },
                encryption_configuration: m::EncryptionConfiguration {
                    encryption_type: r.encryption_configuration().map_or("AES256", |e| e.encryption_type().as_str()).into(),
                },
                lifecycle_policy,
                tags: tags.clone(),
            };
            let mut spec = json(&spec);
            spec["imageCount"] = image_count.into();
            Ok(Some(live(scope, Kind::EcrRepository, &name, &arn, tags, spec)))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}

/// ELB tags, 20 resources per call.
async fn elb_tags(aws: &Aws, arns: Vec<String>) -> Result<HashMap<String, Vec<aws_sdk_elasticloadbalancingv2::types::Tag>>> {
    let chunks: Vec<Vec<String>> = arns.chunks(20).map(<[String]>::to_vec).collect();
    let described: Vec<Vec<aws_sdk_elasticloadbalancingv2::types::TagDescription>> = stream::iter(chunks)
        .map(|chunk| async move {
            aws.elb
                .describe_tags()
                .set_resource_arns(Some(chunk))
                .send()
                .await
                .map(|o| o.tag_descriptions().to_vec())
                .ctx("elasticloadbalancing:DescribeTags", "*")
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(described.into_iter().flatten().map(|d| (d.resource_arn().unwrap_or_default().to_string(), d.tags().to_vec())).collect())
}

async fn target_groups(aws: &Aws, scope: &Scope) -> Result<Vec<LiveResource>> {
    let prefix = format!("{}-", scope.app);
    let all: Vec<aws_sdk_elasticloadbalancingv2::types::TargetGroup> = aws
        .elb
        .describe_target_groups()
        .page_size(400)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ctx("elasticloadbalancing:DescribeTargetGroups", "*")?;
    let candidates: Vec<_> = all
        .into_iter()
        // The spec's names, and their replacements (`<name>-r1`, berth-spec's REPLACEMENT_SUFFIX).
        .filter(|t| {
            t.target_group_name().is_some_and(|n| {
                n.starts_with(&prefix) || scope.target_group_names.iter().any(|s| s == n || n.strip_prefix(s.as_str()) == Some("-r1"))
            })
        })
        .collect();
    if candidates.is_empty() {
        return Ok(Vec::new());
    }
    let tags = elb_tags(aws, candidates.iter().filter_map(|t| t.target_group_arn().map(str::to_string)).collect()).await?;
    let found: Vec<Option<LiveResource>> = stream::iter(candidates)
        .map(|t| {
            let tags = tags.get(t.target_group_arn().unwrap_or_default()).cloned().unwrap_or_default();
            async move {
                let arn = t.target_group_arn().unwrap_or_default().to_string();
                let attrs = aws
                    .elb
                    .describe_target_group_attributes()
                    .target_group_arn(&arn)
                    .send()
                    .await
                    .ctx("elasticloadbalancing:DescribeTargetGroupAttributes", &arn)?;
                let model = convert::from_target_group(&t, attrs.attributes(), &tags);
                if !(scope.target_group_names.contains(&model.name) || tagged_for(&model.tags, &scope.app)) {
                    return Ok::<_, ProviderError>(None);
                }
                Ok(Some(live(scope, Kind::TargetGroup, &model.name, &arn, model.tags.clone(), json(&model))))
            }
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(found.into_iter().flatten().collect())
}

async fn listener_rules(aws: &Aws, scope: &Scope, listener: &str) -> Result<(Vec<LiveResource>, Vec<TakenPriority>)> {
    let rules: Vec<aws_sdk_elasticloadbalancingv2::types::Rule> =
        match aws.elb.describe_rules().listener_arn(listener).page_size(400).into_paginator().items().send().try_collect().await {
            Ok(r) => r,
            Err(e) if code(&e).as_deref() == Some("ListenerNotFound") => {
                return Err(ProviderError::NotFound { what: format!("listener {listener} (x-berth.load_balancer.listener)") })
            }
            Err(e) => return Err(crate::errors::map("elasticloadbalancing:DescribeRules", listener, e)),
        };
    let rules: Vec<_> = rules.into_iter().filter(|r| r.is_default() != Some(true)).collect();
    let tags = elb_tags(aws, rules.iter().filter_map(|r| r.rule_arn().map(str::to_string)).collect()).await?;
    let mut out = Vec::new();
    let mut taken = Vec::new();
    for r in &rules {
        let arn = r.rule_arn().unwrap_or_default();
        let model = convert::from_rule(r, listener, tags.get(arn).map(Vec::as_slice).unwrap_or_default());
        let owner = model.tags.iter().find(|t| t.key == TAG_APP).map(|t| t.value.clone());
        if let Some(p) = model.priority {
            taken.push(TakenPriority { priority: p, rule_arn: arn.into(), owner: owner.clone() });
        }
        // And a rule without berth's tags that forwards to a target group
        // the spec names: one `--adopt` may make the app's.
        let to_scoped_tg = || {
            model.actions.iter().flat_map(|a| &a.forward_config.target_groups).any(|t| {
                let name = t.target_group_arn.split_once(":targetgroup/").and_then(|(_, r)| r.split('/').next());
                name.is_some_and(|n| scope.target_group_names.iter().any(|s| s == n))
            })
        };
        if owner.as_deref() == Some(scope.app.as_str()) || (owner.is_none() && to_scoped_tg()) {
            out.push(live(scope, Kind::ListenerRule, arn, arn, model.tags.clone(), json(&model)));
        }
    }
    Ok((out, taken))
}

/// The load balancer berth made, and (an NLB's) every listener it has.
async fn load_balancer(aws: &Aws, scope: &Scope) -> Result<(Option<LiveResource>, Vec<LiveResource>)> {
    let Some(name) = &scope.load_balancer_name else { return Ok((None, Vec::new())) };
    let lbs = match aws.elb.describe_load_balancers().names(name).send().await {
        Ok(o) => o.load_balancers().to_vec(),
        Err(e) if code(&e).as_deref() == Some("LoadBalancerNotFound") => return Ok((None, Vec::new())),
        Err(e) => return Err(crate::errors::map("elasticloadbalancing:DescribeLoadBalancers", name, e)),
    };
    let Some(lb) = lbs.first() else { return Ok((None, Vec::new())) };
    let network = lb.r#type() == Some(&aws_sdk_elasticloadbalancingv2::types::LoadBalancerTypeEnum::Network);
    let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
    let (tags, listeners) = futures::join!(elb_tags(aws, vec![arn.clone()]), aws.elb.describe_listeners().load_balancer_arn(&arn).send());
    let tags = convert::from_elb_tags(tags?.get(&arn).map(Vec::as_slice).unwrap_or_default());
    let listeners = listeners.ctx("elasticloadbalancing:DescribeListeners", &arn)?;
    if network {
        let arns: Vec<String> = listeners.listeners().iter().filter_map(|l| l.listener_arn().map(str::to_string)).collect();
        let listener_tags = elb_tags(aws, arns).await?;
        let model = m::LoadBalancer {
            name: name.clone(),
            subnets: lb.availability_zones().iter().filter_map(|z| z.subnet_id().map(str::to_string)).collect(),
            security_groups: lb.security_groups().to_vec(),
            scheme: lb.scheme().map_or("internet-facing", |s| s.as_str()).into(),
            certificate_arn: None,
            kind: Some(m::LOAD_BALANCER_NETWORK.into()),
            tags: tags.clone(),
        };
        let found = listeners
            .listeners()
            .iter()
            .map(|l| {
                let arn = l.listener_arn().unwrap_or_default();
                let model = crate::nlb::from_listener(l, listener_tags.get(arn).map(Vec::as_slice).unwrap_or_default());
                live(scope, Kind::Listener, arn, arn, model.tags.clone(), json(&model))
            })
            .collect();
        return Ok((Some(live(scope, Kind::LoadBalancer, name, &arn, tags, json(&model))), found));
    }
    let http = listeners.listeners().iter().find(|l| l.port() == Some(443)).or_else(|| listeners.listeners().first());
    let model = m::LoadBalancer {
        name: name.clone(),
        subnets: lb.availability_zones().iter().filter_map(|z| z.subnet_id().map(str::to_string)).collect(),
        security_groups: lb.security_groups().to_vec(),
        scheme: lb.scheme().map_or("internet-facing", |s| s.as_str()).into(),
        certificate_arn: http.and_then(|l| l.certificates().first()).and_then(|c| c.certificate_arn()).map(str::to_string),
        kind: None,
        tags: tags.clone(),
    };
    let mut spec = json(&model);
    spec["listenerArn"] = serde_json::Value::String(http.and_then(|l| l.listener_arn()).unwrap_or_default().into());
    Ok((Some(live(scope, Kind::LoadBalancer, name, &arn, tags, spec)), Vec::new()))
}

async fn cloud_map(aws: &Aws, scope: &Scope) -> Result<Vec<LiveResource>> {
    let Some(ns_name) = &scope.namespace else { return Ok(Vec::new()) };
    let mut namespaces = Vec::new();
    let mut pages = aws.sd.list_namespaces().into_paginator().send();
    while let Some(page) = pages.next().await {
        namespaces.extend(page.ctx("servicediscovery:ListNamespaces", ns_name)?.namespaces().to_vec());
    }
    let Some(ns) = namespaces.into_iter().find(|n| n.name() == Some(ns_name.as_str())) else { return Ok(Vec::new()) };
    let ns_arn = ns.arn().unwrap_or_default().to_string();
    let ns_id = ns.id().unwrap_or_default().to_string();
    let ns_tags =
        aws.sd.list_tags_for_resource().resource_arn(&ns_arn).send().await.ctx("servicediscovery:ListTagsForResource", &ns_arn)?;
    let ns_tags = convert::from_sd_tags(ns_tags.tags());
    let mut out = vec![live(
        scope,
        Kind::Namespace,
        ns_name,
        &ns_arn,
        ns_tags.clone(),
        json(&m::Namespace { name: ns_name.clone(), vpc: None, tags: ns_tags }),
    )];
    let filter = aws_sdk_servicediscovery::types::ServiceFilter::builder()
        .name(aws_sdk_servicediscovery::types::ServiceFilterName::NamespaceId)
        .values(&ns_id)
        .condition(aws_sdk_servicediscovery::types::FilterCondition::Eq)
        .build()
        .map_err(crate::errors::build_error)?;
    let mut services = Vec::new();
    let mut pages = aws.sd.list_services().filters(filter).into_paginator().send();
    while let Some(page) = pages.next().await {
        services.extend(page.ctx("servicediscovery:ListServices", ns_name)?.services().to_vec());
    }
    let found: Vec<Option<LiveResource>> = stream::iter(services)
        .map(|s| async move {
            let arn = s.arn().unwrap_or_default().to_string();
            let tags = aws.sd.list_tags_for_resource().resource_arn(&arn).send().await.ctx("servicediscovery:ListTagsForResource", &arn)?;
            let tags = convert::from_sd_tags(tags.tags());
            let name = s.name().unwrap_or_default().to_string();
            if !(scope.cloud_map_names.contains(&name) || tagged_for(&tags, &scope.app)) {
                return Ok::<_, ProviderError>(None);
            }
            let model = m::CloudMapService {
                name: name.clone(),
                namespace: ns_name.clone(),
                dns_config: convert::from_dns_config(s.dns_config()),
                // Cloud Map fixes the threshold at 1.
                health_check_custom_config: m::HealthCheckCustomConfig { failure_threshold: 1 },
                tags: tags.clone(),
            };
            Ok(Some(live(scope, Kind::CloudMapService, &name, &arn, tags, json(&model))))
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    out.extend(found.into_iter().flatten());
    Ok(out)
}
