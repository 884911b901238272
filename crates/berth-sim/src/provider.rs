//! The sim as a [`Provider`]: each call behaves as the AWS API it stands
//! for (including its conflicts), after the injected faults have had their
//! say the way the SDK's retries would see them.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use berth_model::resources::{
    CloudMapService, Cluster, EcrRepository, ListenerRule, LoadBalancer, Namespace, Service, Tag, TargetGroup, TaskDefinition,
};
use berth_provider::{
    address_for, DeploymentStatus, Kind, LiveResource, LoadBalancerArns, Observed, Provider, ProviderError, Result, Scope, ServiceProgress,
    TakenPriority, TargetCounts, Weight,
};
use serde::Serialize;

use crate::state::*;
use crate::Sim;

/// Attempts per call, as the SDK's standard retry mode makes.
const MAX_ATTEMPTS: u32 = 3;

fn to_json<T: Serialize>(v: &T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

fn owned_by(tags: &[berth_model::resources::Tag], app: &str) -> bool {
    tags.iter().any(|t| t.key == berth_model::resources::TAG_APP && t.value == app)
}

impl Sim {
    /// Consumes injected faults like the SDK's retry loop would: throttling
    /// and 5xx are retried with backoff (on the virtual clock); only when
    /// every attempt fails does the caller see the error.
    fn api(&self, operation: &str) -> Result<()> {
        self.count_call(operation);
        if berth_provider::crash::due(operation) {
            // What the account holds survives the crash.
            let _ = self.save();
            berth_provider::crash::die(operation);
        }
        let mut state = self.state();
        for attempt in 0..MAX_ATTEMPTS {
            if state.faults.throttle_next > 0 {
                state.faults.throttle_next -= 1;
            } else if state.faults.server_error_next > 0 {
                state.faults.server_error_next -= 1;
            } else {
                return Ok(());
            }
            state.now_ms += 100 << attempt;
        }
        if state.faults.throttle_next > 0 || state.faults.server_error_next == 0 {
            Err(ProviderError::Throttled { operation: operation.into() })
        } else {
            Err(ProviderError::Server { operation: operation.into(), message: "InternalFailure (simulated)".into() })
        }
    }

    fn observe_state(state: &SimState, scope: &Scope) -> Observed {
        let app = scope.app.as_str();
        let mut out = Observed::default();
        let mut out_listeners = Vec::new();
        let mut push = |kind: Kind, name: &str, arn: &str, tags: &[berth_model::resources::Tag], spec: serde_json::Value| {
            out.resources.push(LiveResource {
                address: address_for(kind, name, scope, tags),
                kind,
                name: name.to_string(),
                arn: arn.to_string(),
                tags: tags.to_vec(),
                spec,
            })
        };
        if let Some(c) = state.clusters.get(&scope.cluster) {
            let mut spec = serde_json::json!({"clusterName": scope.cluster, "tags": c.tags});
            if !c.capacity_providers.is_empty() {
                spec["capacityProviders"] = c.capacity_providers.clone().into();
            }
            push(Kind::Cluster, &scope.cluster, &c.arn, &c.tags, spec);
        }
        for (name, g) in &state.log_groups {
            if scope.log_group_names.contains(name) || owned_by(&g.spec.tags, app) {
                push(Kind::LogGroup, name, &g.arn, &g.spec.tags, to_json(&g.spec));
            }
        }
        for (name, r) in &state.repositories {
            if scope.repository_names.contains(name) || owned_by(&r.spec.tags, app) {
                let mut spec = to_json(&r.spec);
                spec["imageCount"] = r.images.len().into();
                push(Kind::EcrRepository, name, &r.arn, &r.spec.tags, spec);
            }
        }
        // Per family, the revision a service runs: one with tasks wanted
        // first (the live color of a blue/green pair), else the first found.
        // Built once: looking it up per family would be families × services.
        let mut running: HashMap<&str, (bool, &str)> = HashMap::new();
        for s in state.services.values() {
            let Some(d) = s.deployments.last() else { continue };
            let Some(family) = d.task_definition.rsplit_once("task-definition/").and_then(|(_, r)| r.rsplit_once(':')).map(|(f, _)| f)
            else {
                continue;
            };
            let wanted = s.spec.desired_count.unwrap_or(0) > 0;
            let entry = running.entry(family).or_insert((wanted, &d.task_definition));
            if wanted && !entry.0 {
                *entry = (wanted, &d.task_definition);
            }
        }
        for (family, revs) in &state.task_definitions {
            let ours = scope.task_families.contains(family) || revs.iter().any(|r| owned_by(&r.spec.tags, app));
            if !ours {
                continue;
            }
            // The running revision, else the latest active one.
            let rev = running
                .get(family.as_str())
                .and_then(|(_, arn)| revs.iter().find(|r| r.arn == *arn && r.status == "ACTIVE"))
                .or_else(|| revs.iter().rev().find(|r| r.status == "ACTIVE"));
            if let Some(r) = rev {
                push(Kind::TaskDefinition, &format!("{family}:{}", r.revision), &r.arn, &r.spec.tags, to_json(&r.spec));
            }
        }
        // Each family of the app's: its latest ACTIVE revision, as DescribeTaskDefinition by family answers.
        for family in scope.task_families.iter().chain(state.task_definitions.keys().filter(|f| f.starts_with(&format!("{app}-")))) {
            let latest = state.task_definitions.get(family).and_then(|revs| revs.iter().rev().find(|r| r.status == "ACTIVE"));
            out.latest_revisions.insert(family.clone(), latest.map(|r| (r.arn.clone(), r.spec.clone())));
        }
        if let Some(lb) = state
            .load_balancers
            .values()
            .find(|lb| Some(&lb.spec.name) == scope.load_balancer_name.as_ref() || owned_by(&lb.spec.tags, app))
        {
            let mut spec = to_json(&lb.spec);
            if !lb.spec.is_network() {
                spec["listenerArn"] = serde_json::Value::String(lb.listener_arn.clone());
            }
            push(Kind::LoadBalancer, &lb.spec.name, &lb.arn, &lb.spec.tags, spec);
            out_listeners = crate::nlb::observe(state, &lb.arn, scope);
        }
        for tg in state.target_groups.values() {
            if scope.target_group_names.contains(&tg.spec.name) || owned_by(&tg.spec.tags, app) {
                push(Kind::TargetGroup, &tg.spec.name, &tg.arn, &tg.spec.tags, to_json(&tg.spec));
            }
        }
        // The app's rules, and rules without berth's tags that forward to
        // a target group the spec names (one berth may adopt).
        let scoped_tg = |arn: &str| state.target_groups.get(arn).is_some_and(|tg| scope.target_group_names.contains(&tg.spec.name));
        for l in state.listeners.values() {
            for r in &l.rules {
                let untagged_to_ours = !r.spec.tags.iter().any(|t| t.key == berth_model::resources::TAG_APP)
                    && r.spec.actions.iter().flat_map(|a| &a.forward_config.target_groups).any(|t| scoped_tg(&t.target_group_arn));
                if owned_by(&r.spec.tags, app) || untagged_to_ours {
                    push(Kind::ListenerRule, &r.arn, &r.arn, &r.spec.tags, to_json(&r.spec));
                }
            }
        }
        let listener = scope.listener.clone().filter(|l| l.starts_with("arn:")).or_else(|| {
            state
                .load_balancers
                .values()
                .find(|lb| Some(&lb.spec.name) == scope.load_balancer_name.as_ref())
                .map(|lb| lb.listener_arn.clone())
        });
        if let Some(l) = listener.as_ref().and_then(|arn| state.listeners.get(arn)) {
            out.taken_priorities = l
                .rules
                .iter()
                .map(|r| TakenPriority {
                    priority: r.priority,
                    rule_arn: r.arn.clone(),
                    owner: r.spec.tags.iter().find(|t| t.key == berth_model::resources::TAG_APP).map(|t| t.value.clone()),
                })
                .collect();
        }
        let ns = state.namespaces.values().find(|n| Some(&n.spec.name) == scope.namespace.as_ref());
        if let Some(n) = ns {
            push(Kind::Namespace, &n.spec.name, &n.arn, &n.spec.tags, to_json(&n.spec));
        }
        for cm in state.cloud_map_services.values() {
            let in_ns = ns.is_some_and(|n| n.arn == cm.namespace_arn) && scope.cloud_map_names.contains(&cm.spec.name);
            if in_ns || owned_by(&cm.spec.tags, app) {
                push(Kind::CloudMapService, &cm.spec.name, &cm.arn, &cm.spec.tags, to_json(&cm.spec));
            }
        }
        for (name, s) in &state.services {
            if scope.service_names.contains(name) || owned_by(&s.spec.tags, app) {
                let mut spec = s.spec.clone();
                if let Some(d) = s.deployments.last() {
                    spec.task_definition = d.task_definition.clone();
                }
                let mut spec = to_json(&spec);
                // DescribeScalableTargets of the service's desired count, as observe on AWS reads it.
                if let Some(t) = state.scalable_targets.get(&scalable_resource_id(&s.spec.cluster, name)) {
                    spec["scalableTarget"] = serde_json::json!({"minCapacity": t.min_capacity, "maxCapacity": t.max_capacity});
                }
                push(Kind::Service, name, &s.arn, &s.spec.tags, spec);
            }
        }
        // The app's own scalable targets, as resources (named after their service).
        for (id, t) in &state.scalable_targets {
            let Some((_, service)) = id.strip_prefix("service/").and_then(|r| r.split_once('/')) else { continue };
            if owned_by(&t.tags, app) {
                push(Kind::ScalableTarget, service, &t.arn, &t.tags, crate::scaling::describe(id, t));
            }
        }
        out.resources.extend(out_listeners);
        out
    }
}

/// One service's progress, as DescribeServices (plus its tasks and targets) shows it.
fn progress_of(s: &SimState, service: &str, cursor_ms: u64) -> Result<ServiceProgress> {
    let svc = s.services.get(service).ok_or_else(|| not_found(format!("service {service}")))?;
    let deployments = svc
        .deployments
        .iter()
        .rev()
        .filter(|d| d.status != "INACTIVE" || d.rollout_state == "COMPLETED")
        .map(|d| {
            let tasks = svc.tasks.iter().filter(|t| t.deployment_id == d.id);
            DeploymentStatus {
                id: d.id.clone(),
                status: d.status.clone(),
                rollout_state: d.rollout_state.clone(),
                rollout_state_reason: d.rollout_state_reason.clone(),
                task_definition: d.task_definition.clone(),
                desired: if d.status == "PRIMARY" { svc.spec.desired_count.unwrap_or(0) } else { 0 },
                running: tasks.clone().filter(|t| t.state == TaskState::Running).count() as u32,
                pending: tasks.filter(|t| t.state == TaskState::Pending).count() as u32,
                failed_tasks: d.failed_tasks,
                created_ms: d.created_ms,
            }
        })
        .collect();
    let targets = svc.spec.load_balancers.first().and_then(|lb| s.target_groups.get(&lb.target_group_arn)).map(|tg| {
        let mut c = TargetCounts::default();
        for h in tg.targets.values() {
            match h.as_str() {
                "healthy" => c.healthy += 1,
                "unhealthy" => c.unhealthy += 1,
                _ => c.other += 1,
            }
        }
        c
    });
    Ok(ServiceProgress {
        service: service.to_string(),
        deployments,
        events: svc.events.iter().filter(|e| e.at_ms > cursor_ms).cloned().collect(),
        stopped_tasks: svc.stopped.iter().filter(|t| t.at_ms > cursor_ms).cloned().collect(),
        targets,
    })
}

fn conflict(operation: &str, message: impl Into<String>) -> ProviderError {
    ProviderError::Conflict { operation: operation.into(), message: message.into() }
}

fn not_found(what: impl Into<String>) -> ProviderError {
    ProviderError::NotFound { what: what.into() }
}

#[async_trait]
impl Provider for Sim {
    fn name(&self) -> String {
        "sim".into()
    }

    async fn observe(&self, scope: &Scope) -> Result<Observed> {
        self.api("Observe")?;
        Ok(Sim::observe_state(&self.state(), scope))
    }

    async fn create_cluster(&self, cluster: &Cluster) -> Result<String> {
        self.api("CreateCluster")?;
        let mut s = self.state();
        let arn = SimState::arn("ecs", &format!("cluster/{}", cluster.cluster_name));
        // CreateCluster is idempotent in ECS; berth then puts the capacity
        // providers on a cluster that existed (PutClusterCapacityProviders).
        let c = s.clusters.entry(cluster.cluster_name.clone()).or_insert(SimCluster {
            arn: arn.clone(),
            tags: cluster.tags.clone(),
            capacity_providers: Vec::new(),
        });
        if !cluster.capacity_providers.is_empty() {
            c.capacity_providers = cluster.capacity_providers.clone();
        }
        Ok(arn)
    }

    async fn delete_cluster(&self, arn: &str) -> Result<()> {
        self.api("DeleteCluster")?;
        let mut s = self.state();
        let name = s.clusters.iter().find(|(_, c)| c.arn == arn).map(|(n, _)| n.clone()).ok_or_else(|| not_found(arn))?;
        if s.services.values().any(|svc| svc.spec.cluster == name) {
            return Err(conflict("DeleteCluster", format!("cluster {name} still has services")));
        }
        s.clusters.remove(&name);
        Ok(())
    }

    async fn put_repository(&self, repo: &EcrRepository, existing_arn: Option<&str>) -> Result<String> {
        self.api("CreateRepository")?;
        let mut s = self.state();
        let name = repo.repository_name.clone();
        match (s.repositories.get_mut(&name), existing_arn) {
            (Some(r), Some(_)) => {
                r.spec = repo.clone();
                Ok(r.arn.clone())
            }
            (Some(_), None) => Err(conflict("CreateRepository", format!("RepositoryAlreadyExistsException: {name}"))),
            (None, _) => {
                let arn = SimState::arn("ecr", &format!("repository/{name}"));
                let uri = format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}");
                s.repositories.insert(name, SimRepository { arn: arn.clone(), uri, spec: repo.clone(), images: Vec::new() });
                Ok(arn)
            }
        }
    }

    async fn delete_repository(&self, name: &str, force: bool) -> Result<()> {
        self.api("DeleteRepository")?;
        let mut s = self.state();
        let repo = s.repositories.get(name).ok_or_else(|| not_found(format!("ECR repository {name}")))?;
        if !repo.images.is_empty() && !force {
            // ECR answers RepositoryNotEmptyException, which the AWS backend
            // reports as a failure of the call, not as a conflict.
            return Err(ProviderError::Other(format!(
                "ecr:DeleteRepository on {name} failed: RepositoryNotEmptyException: {name} holds {} images",
                repo.images.len()
            )));
        }
        s.repositories.remove(name);
        Ok(())
    }

    async fn lifecycle_preview(&self, repository: &str) -> Result<Vec<berth_provider::ExpiringImage>> {
        self.api("StartLifecyclePolicyPreview")?;
        let s = self.state();
        let repo = s.repositories.get(repository).ok_or_else(|| not_found(format!("ECR repository {repository}")))?;
        let policy = repo.spec.lifecycle_policy.clone().ok_or_else(|| not_found(format!("a lifecycle policy on {repository}")))?;
        Ok(crate::ecr::evaluate(&policy, &repo.images, s.now_ms))
    }

    async fn resolve_image(
        &self,
        registry: Option<&str>,
        _region: Option<&str>,
        repository: &str,
        tag: &str,
    ) -> Result<berth_provider::ImageLookup> {
        use berth_provider::ImageLookup;
        self.api("DescribeImages")?;
        let mut s = self.state();
        let synthetic = || {
            // Deterministic, so a plan made before the repository exists pins
            // to the digest the sim "pushes" later.
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in format!("{repository}:{tag}").bytes() {
                h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
            }
            format!("sha256:{h:016x}{h:016x}{h:016x}{h:016x}")
        };
        let host = registry.map_or_else(SimState::registry, |r| format!("{r}.dkr.ecr.{}.amazonaws.com", _region.unwrap_or(REGION)));
        let auto_push = s.auto_push;
        let found = match s.repositories.get(repository) {
            Some(repo) => match repo.images.iter().find(|i| i.tags.iter().any(|t| t == tag)) {
                Some(img) => Ok(ImageLookup::Found { digest: img.digest.clone(), registry: host }),
                // Answered as if CI had pushed it; the account is not changed by a read.
                None if auto_push => Ok(ImageLookup::Found { digest: synthetic(), registry: host }),
                None => Ok(ImageLookup::NoTag),
            },
            None if auto_push => Ok(ImageLookup::Found { digest: synthetic(), registry: host }),
            None => Ok(ImageLookup::NoRepository),
        };
        // The sim's own bookkeeping (not account state): the tag a digest
        // came from, so fault markers in tags survive digest pinning.
        if let Ok(ImageLookup::Found { digest, .. }) = &found {
            s.resolved_tags.insert(digest.clone(), format!("{repository}:{tag}"));
        }
        found
    }

    async fn register_task_definition(&self, td: &TaskDefinition) -> Result<String> {
        self.api("RegisterTaskDefinition")?;
        let mut s = self.state();
        let revs = s.task_definitions.entry(td.family.clone()).or_default();
        let revision = revs.last().map_or(1, |r| r.revision + 1);
        let arn = SimState::arn("ecs", &format!("task-definition/{}:{revision}", td.family));
        revs.push(SimTaskDefinition { arn: arn.clone(), revision, status: "ACTIVE".into(), spec: td.clone() });
        Ok(arn)
    }

    async fn deregister_task_definitions(&self, family: &str) -> Result<()> {
        self.api("DeregisterTaskDefinition")?;
        let mut s = self.state();
        for r in s.task_definitions.get_mut(family).into_iter().flatten() {
            r.status = "INACTIVE".into();
        }
        Ok(())
    }

    async fn previous_task_definition(&self, arn: &str) -> Result<Option<String>> {
        self.api("ListTaskDefinitions")?;
        let s = self.state();
        let Some((family, rev)) = arn.rsplit_once("task-definition/").and_then(|(_, r)| r.rsplit_once(':')) else { return Ok(None) };
        let rev: u32 = rev.parse().unwrap_or(0);
        Ok(s.task_definitions
            .get(family)
            .and_then(|revs| revs.iter().rev().find(|r| r.revision < rev && r.status == "ACTIVE"))
            .map(|r| r.arn.clone()))
    }

    async fn latest_task_definition(&self, family: &str) -> Result<Option<(String, TaskDefinition)>> {
        self.api("DescribeTaskDefinition")?;
        let s = self.state();
        let latest = s.task_definitions.get(family).and_then(|revs| revs.iter().rev().find(|r| r.status == "ACTIVE"));
        Ok(latest.map(|r| (r.arn.clone(), r.spec.clone())))
    }

    async fn live_tags(&self, kind: Kind, arn: &str) -> Result<Option<Vec<Tag>>> {
        self.api("ListTagsForResource")?;
        let s = self.state();
        let tags = match kind {
            Kind::Cluster => s.clusters.values().find(|c| c.arn == arn).map(|c| c.tags.clone()),
            Kind::LogGroup => s.log_groups.values().find(|g| g.arn == arn).map(|g| g.spec.tags.clone()),
            Kind::EcrRepository => s.repositories.values().find(|r| r.arn == arn).map(|r| r.spec.tags.clone()),
            Kind::TaskDefinition => {
                s.task_definitions.values().flatten().find(|r| r.arn == arn && r.status == "ACTIVE").map(|r| r.spec.tags.clone())
            }
            Kind::LoadBalancer => s.load_balancers.values().find(|lb| lb.arn == arn).map(|lb| lb.spec.tags.clone()),
            Kind::TargetGroup => s.target_groups.get(arn).map(|tg| tg.spec.tags.clone()),
            Kind::ListenerRule => s.listeners.values().flat_map(|l| &l.rules).find(|r| r.arn == arn).map(|r| r.spec.tags.clone()),
            Kind::Listener => crate::nlb::tags(&s, arn),
            Kind::Namespace => s.namespaces.get(arn).map(|n| n.spec.tags.clone()),
            Kind::CloudMapService => s.cloud_map_services.get(arn).map(|c| c.spec.tags.clone()),
            Kind::Service => s.services.values().find(|svc| svc.arn == arn).map(|svc| svc.spec.tags.clone()),
            Kind::ScalableTarget => s.scalable_targets.values().find(|t| t.arn == arn).map(|t| t.tags.clone()),
        };
        Ok(tags)
    }

    async fn tag_resource(&self, kind: Kind, arn: &str, tags: &[Tag]) -> Result<()> {
        self.api("TagResource")?;
        let mut s = self.state();
        let live: Option<&mut Vec<Tag>> = match kind {
            Kind::Cluster => s.clusters.values_mut().find(|c| c.arn == arn).map(|c| &mut c.tags),
            Kind::LogGroup => s.log_groups.values_mut().find(|g| g.arn == arn).map(|g| &mut g.spec.tags),
            Kind::EcrRepository => s.repositories.values_mut().find(|r| r.arn == arn).map(|r| &mut r.spec.tags),
            Kind::TaskDefinition => s.task_definitions.values_mut().flatten().find(|r| r.arn == arn).map(|r| &mut r.spec.tags),
            Kind::LoadBalancer => s.load_balancers.values_mut().find(|lb| lb.arn == arn).map(|lb| &mut lb.spec.tags),
            Kind::TargetGroup => s.target_groups.get_mut(arn).map(|tg| &mut tg.spec.tags),
            Kind::ListenerRule => s.listeners.values_mut().flat_map(|l| &mut l.rules).find(|r| r.arn == arn).map(|r| &mut r.spec.tags),
            Kind::Listener => s.listeners.get_mut(arn).and_then(|l| l.spec.as_mut()).map(|l| &mut l.tags),
            Kind::Namespace => s.namespaces.get_mut(arn).map(|n| &mut n.spec.tags),
            Kind::CloudMapService => s.cloud_map_services.get_mut(arn).map(|c| &mut c.spec.tags),
            Kind::Service => s.services.values_mut().find(|svc| svc.arn == arn).map(|svc| &mut svc.spec.tags),
            Kind::ScalableTarget => s.scalable_targets.values_mut().find(|t| t.arn == arn).map(|t| &mut t.tags),
        };
        let live = live.ok_or_else(|| not_found(arn))?;
        for t in tags {
            match live.iter_mut().find(|l| l.key == t.key) {
                Some(l) => l.value = t.value.clone(),
                None => live.push(t.clone()),
            }
        }
        Ok(())
    }

    async fn create_load_balancer(&self, lb: &LoadBalancer) -> Result<LoadBalancerArns> {
        self.api("CreateLoadBalancer")?;
        let mut s = self.state();
        if s.load_balancers.contains_key(&lb.name) {
            return Err(conflict("CreateLoadBalancer", format!("DuplicateLoadBalancerName: {}", lb.name)));
        }
        let id = s.next_id();
        let kind = if lb.is_network() { "net" } else { "app" };
        let arn = SimState::arn("elasticloadbalancing", &format!("loadbalancer/{kind}/{}/{id}", lb.name));
        let dns_name = format!("{}-{id}.{REGION}.elb.amazonaws.com", lb.name);
        // An NLB's listeners are the routes' own (created one by one).
        let listener_arn = if lb.is_network() {
            String::new()
        } else {
            let listener_arn = SimState::arn("elasticloadbalancing", &format!("listener/app/{}/{id}/{}", lb.name, s.next_id()));
            let listener = SimListener { arn: listener_arn.clone(), rules: Vec::new(), load_balancer_arn: arn.clone(), spec: None };
            s.listeners.insert(listener_arn.clone(), listener);
            listener_arn
        };
        s.load_balancers.insert(
            lb.name.clone(),
            SimLoadBalancer {
                arn: arn.clone(),
                listener_arn: listener_arn.clone(),
                dns_name: dns_name.clone(),
                spec: lb.clone(),
                vpc_id: None,
            },
        );
        Ok(LoadBalancerArns { load_balancer: arn, listener: listener_arn, dns_name })
    }

    async fn delete_load_balancer(&self, arn: &str) -> Result<()> {
        self.api("DeleteLoadBalancer")?;
        let mut s = self.state();
        let name = s.load_balancers.iter().find(|(_, l)| l.arn == arn).map(|(n, _)| n.clone()).ok_or_else(|| not_found(arn))?;
        if let Some(lb) = s.load_balancers.remove(&name) {
            s.listeners.remove(&lb.listener_arn);
            // ELB deletes a load balancer's listeners with it.
            s.listeners.retain(|_, l| l.load_balancer_arn != lb.arn || l.load_balancer_arn.is_empty());
        }
        Ok(())
    }

    async fn create_listener(&self, listener: &berth_model::resources::Listener) -> Result<String> {
        self.api("CreateListener")?;
        crate::nlb::create_listener(&mut self.state(), listener)
    }

    async fn modify_listener(&self, arn: &str, listener: &berth_model::resources::Listener) -> Result<()> {
        self.api("ModifyListener")?;
        crate::nlb::modify_listener(&mut self.state(), arn, listener)
    }

    async fn delete_listener(&self, arn: &str) -> Result<()> {
        self.api("DeleteListener")?;
        crate::nlb::delete_listener(&mut self.state(), arn)
    }

    async fn listener_vpc(&self, listener_arn: &str) -> Result<Option<String>> {
        self.api("DescribeListeners")?;
        Ok(crate::nlb::listener_vpc(&self.state(), listener_arn))
    }

    async fn create_target_group(&self, tg: &TargetGroup) -> Result<String> {
        self.api("CreateTargetGroup")?;
        let mut s = self.state();
        // ELB answers DuplicateTargetGroupName; the AWS backend then adopts
        // a group managed for the same app (left by an interrupted apply)
        // with the wanted settings, and refuses anyone else's.
        if let Some(t) = s.target_groups.values_mut().find(|t| t.spec.name == tg.name) {
            let managed = t.spec.tags.iter().any(|x| x.key == berth_model::resources::TAG_MANAGED && x.value == "true");
            let app = |tags: &[Tag]| tags.iter().find(|x| x.key == berth_model::resources::TAG_APP).map(|x| x.value.clone());
            if !managed || app(&t.spec.tags).is_none() || app(&t.spec.tags) != app(&tg.tags) {
                return Err(ProviderError::NotOwned { what: format!("target group {}", tg.name) });
            }
            // ModifyTargetGroup changes the health check, not the protocol,
            // port, VPC or target type.
            let kept = (t.spec.protocol.clone(), t.spec.port, t.spec.vpc_id.clone(), t.spec.target_type.clone());
            t.spec = tg.clone();
            (t.spec.protocol, t.spec.port, t.spec.vpc_id, t.spec.target_type) = kept;
            return Ok(t.arn.clone());
        }
        let id = s.next_id();
        let arn = SimState::arn("elasticloadbalancing", &format!("targetgroup/{}/{id}", tg.name));
        s.target_groups.insert(arn.clone(), SimTargetGroup { arn: arn.clone(), spec: tg.clone(), targets: Default::default() });
        Ok(arn)
    }

    async fn modify_target_group(&self, arn: &str, tg: &TargetGroup) -> Result<()> {
        self.api("ModifyTargetGroup")?;
        let mut s = self.state();
        let t = s.target_groups.get_mut(arn).ok_or_else(|| not_found(arn))?;
        t.spec = tg.clone();
        Ok(())
    }

    async fn delete_target_group(&self, arn: &str) -> Result<()> {
        self.api("DeleteTargetGroup")?;
        let mut s = self.state();
        let in_use = s
            .listeners
            .values()
            .flat_map(|l| &l.rules)
            .any(|r| r.spec.actions.iter().flat_map(|a| &a.forward_config.target_groups).any(|t| t.target_group_arn == arn));
        if in_use {
            return Err(conflict("DeleteTargetGroup", format!("ResourceInUse: target group {arn} is used by a listener rule")));
        }
        if crate::nlb::forwards_to(&s, arn) {
            return Err(conflict("DeleteTargetGroup", format!("ResourceInUse: target group {arn} is used by a listener")));
        }
        s.target_groups.remove(arn).map(|_| ()).ok_or_else(|| not_found(arn))
    }

    async fn create_rule(&self, rule: &ListenerRule, priority: u32) -> Result<String> {
        self.api("CreateRule")?;
        let mut s = self.state();
        for t in rule.actions.iter().flat_map(|a| &a.forward_config.target_groups) {
            if !s.target_groups.contains_key(&t.target_group_arn) {
                return Err(not_found(format!("target group {}", t.target_group_arn)));
            }
        }
        let id = s.next_id();
        let arn = format!("{}/{id}", rule.listener_arn.replacen(":listener/", ":listener-rule/", 1));
        let listener = s.listeners.entry(rule.listener_arn.clone()).or_insert_with(|| SimListener {
            arn: rule.listener_arn.clone(),
            rules: Vec::new(),
            load_balancer_arn: String::new(),
            spec: None,
        });
        if listener.rules.iter().any(|r| r.priority == priority) {
            return Err(conflict("CreateRule", format!("PriorityInUse: priority {priority} is in use on {}", rule.listener_arn)));
        }
        let mut spec = rule.clone();
        spec.priority = Some(priority);
        listener.rules.push(SimRule { arn: arn.clone(), priority, spec });
        Ok(arn)
    }

    async fn modify_rule(&self, arn: &str, rule: &ListenerRule) -> Result<()> {
        self.api("ModifyRule")?;
        let mut s = self.state();
        let r = s.listeners.values_mut().flat_map(|l| l.rules.iter_mut()).find(|r| r.arn == arn).ok_or_else(|| not_found(arn))?;
        let priority = r.priority;
        r.spec = rule.clone();
        r.spec.priority = Some(priority);
        Ok(())
    }

    async fn set_rule_priority(&self, arn: &str, priority: u32) -> Result<()> {
        self.api("SetRulePriorities")?;
        let mut s = self.state();
        let l = s.listeners.values_mut().find(|l| l.rules.iter().any(|r| r.arn == arn)).ok_or_else(|| not_found(arn))?;
        if l.rules.iter().any(|r| r.priority == priority && r.arn != arn) {
            return Err(conflict("SetRulePriorities", format!("PriorityInUse: {priority}")));
        }
        if let Some(r) = l.rules.iter_mut().find(|r| r.arn == arn) {
            r.priority = priority;
            r.spec.priority = Some(priority);
        }
        Ok(())
    }

    async fn delete_rule(&self, arn: &str) -> Result<()> {
        self.api("DeleteRule")?;
        let mut s = self.state();
        let l = s.listeners.values_mut().find(|l| l.rules.iter().any(|r| r.arn == arn)).ok_or_else(|| not_found(arn))?;
        l.rules.retain(|r| r.arn != arn);
        Ok(())
    }

    async fn set_rule_weights(&self, arn: &str, weights: &[Weight]) -> Result<()> {
        self.api("ModifyRule")?;
        let mut s = self.state();
        let r = s.listeners.values_mut().flat_map(|l| l.rules.iter_mut()).find(|r| r.arn == arn).ok_or_else(|| not_found(arn))?;
        for a in r.spec.actions.iter_mut() {
            for t in a.forward_config.target_groups.iter_mut() {
                if let Some(w) = weights.iter().find(|w| w.target_group_arn == t.target_group_arn) {
                    t.weight = w.weight;
                }
            }
        }
        Ok(())
    }

    async fn create_namespace(&self, ns: &Namespace) -> Result<String> {
        self.api("CreatePrivateDnsNamespace")?;
        let mut s = self.state();
        if let Some(existing) = s.namespaces.values().find(|n| n.spec.name == ns.name) {
            return Err(conflict("CreatePrivateDnsNamespace", format!("NamespaceAlreadyExists: {} ({})", ns.name, existing.arn)));
        }
        let id = format!("ns-{}", s.next_id());
        let arn = SimState::arn("servicediscovery", &format!("namespace/{id}"));
        s.namespaces.insert(arn.clone(), SimNamespace { arn: arn.clone(), id, spec: ns.clone() });
        Ok(arn)
    }

    async fn delete_namespace(&self, arn: &str) -> Result<()> {
        self.api("DeleteNamespace")?;
        let mut s = self.state();
        if s.cloud_map_services.values().any(|c| c.namespace_arn == arn) {
            return Err(conflict("DeleteNamespace", "ResourceInUse: the namespace still has services"));
        }
        s.namespaces.remove(arn).map(|_| ()).ok_or_else(|| not_found(arn))
    }

    async fn create_cloud_map_service(&self, svc: &CloudMapService, namespace_arn: &str) -> Result<String> {
        self.api("CreateService")?;
        let mut s = self.state();
        if !s.namespaces.contains_key(namespace_arn) {
            return Err(not_found(format!("namespace {namespace_arn}")));
        }
        if s.cloud_map_services.values().any(|c| c.namespace_arn == namespace_arn && c.spec.name == svc.name) {
            return Err(conflict("CreateService", format!("ServiceAlreadyExists: {}", svc.name)));
        }
        let arn = SimState::arn("servicediscovery", &format!("service/srv-{}", s.next_id()));
        s.cloud_map_services.insert(
            arn.clone(),
            SimCloudMapService { arn: arn.clone(), namespace_arn: namespace_arn.into(), spec: svc.clone(), instances: Default::default() },
        );
        Ok(arn)
    }

    async fn delete_cloud_map_service(&self, arn: &str) -> Result<()> {
        self.api("DeleteService")?;
        let mut s = self.state();
        if s.services.values().any(|svc| svc.spec.service_registries.iter().any(|r| r.registry_arn == arn)) {
            return Err(conflict("DeleteService", "ResourceInUse: an ECS service still registers instances in it"));
        }
        s.cloud_map_services.remove(arn).map(|_| ()).ok_or_else(|| not_found(arn))
    }

    async fn create_service(&self, svc: &Service) -> Result<(String, String)> {
        self.api("CreateService")?;
        let mut s = self.state();
        if !s.clusters.contains_key(&svc.cluster) {
            return Err(not_found(format!("cluster {}", svc.cluster)));
        }
        if s.services.contains_key(&svc.service_name) {
            return Err(conflict("CreateService", format!("Creation of service was not idempotent: {} exists", svc.service_name)));
        }
        check_task_definition(&s, &svc.task_definition)?;
        check_capacity(&s, svc, "CreateService")?;
        for lb in &svc.load_balancers {
            if !s.target_groups.contains_key(&lb.target_group_arn) {
                return Err(not_found(format!("target group {}", lb.target_group_arn)));
            }
        }
        let arn = SimState::arn("ecs", &format!("service/{}/{}", svc.cluster, svc.service_name));
        let id = format!("ecs-svc/{}", s.next_id());
        let now = s.now_ms;
        s.services.insert(
            svc.service_name.clone(),
            SimService {
                arn: arn.clone(),
                spec: svc.clone(),
                deployments: vec![SimDeployment::started(id.clone(), svc.task_definition.clone(), now)],
                tasks: Vec::new(),
                events: Vec::new(),
                stopped: Vec::new(),
            },
        );
        Ok((arn, id))
    }

    async fn update_service(&self, arn: &str, svc: &Service) -> Result<String> {
        self.api("UpdateService")?;
        let mut s = self.state();
        check_task_definition(&s, &svc.task_definition)?;
        check_capacity(&s, svc, "UpdateService")?;
        let now = s.now_ms;
        let new_id = format!("ecs-svc/{}", s.next_id());
        let current = s.services.values_mut().find(|x| x.arn == arn).ok_or_else(|| not_found(format!("service {arn}")))?;
        let redeploy = svc.force_new_deployment
            || current.deployments.last().is_none_or(|d| d.task_definition != svc.task_definition)
            || current.spec.load_balancers != svc.load_balancers
            || current.spec.network_configuration != svc.network_configuration
            || current.spec.service_registries != svc.service_registries
            || current.spec.service_connect_configuration != svc.service_connect_configuration;
        // forceNewDeployment is an instruction, not a setting ECS keeps.
        current.spec = Service { force_new_deployment: false, clear_capacity_provider_strategy: false, ..svc.clone() };
        if redeploy {
            for d in current.deployments.iter_mut().filter(|d| d.status == "PRIMARY") {
                d.status = "ACTIVE".into();
            }
            current.deployments.push(SimDeployment::started(new_id, svc.task_definition.clone(), now));
        }
        Ok(current.deployments.last().map(|d| d.id.clone()).unwrap_or_default())
    }

    async fn delete_service(&self, _cluster: &str, arn: &str) -> Result<()> {
        self.api("DeleteService")?;
        let mut s = self.state();
        let name =
            s.services.iter().find(|(_, x)| x.arn == arn).map(|(n, _)| n.clone()).ok_or_else(|| not_found(format!("service {arn}")))?;
        s.services.remove(&name);
        crate::scheduler::tick(&mut s);
        Ok(())
    }

    async fn set_service_count(&self, _cluster: &str, service: &str, count: u32) -> Result<()> {
        self.api("UpdateService")?;
        let mut s = self.state();
        let svc = s.services.get_mut(service).ok_or_else(|| not_found(format!("service {service}")))?;
        svc.spec.desired_count = Some(count);
        Ok(())
    }

    async fn put_scalable_target(&self, target: &berth_model::resources::ScalableTarget) -> Result<String> {
        self.api("RegisterScalableTarget")?;
        for _ in &target.scaling_policies {
            self.api("PutScalingPolicy")?;
        }
        for _ in &target.scheduled_actions {
            self.api("PutScheduledAction")?;
        }
        crate::scaling::put(&mut self.state(), target).map_err(|m| ProviderError::Invalid(format!("RegisterScalableTarget: {m}")))
    }

    async fn delete_scalable_target(&self, resource_id: &str) -> Result<()> {
        self.api("DeregisterScalableTarget")?;
        self.state().scalable_targets.remove(resource_id);
        Ok(())
    }

    async fn suspend_scale_in(&self, resource_id: &str, suspended: bool) -> Result<()> {
        self.api("RegisterScalableTarget")?;
        let mut s = self.state();
        let t = s.scalable_targets.get_mut(resource_id).ok_or_else(|| not_found(format!("scalable target {resource_id}")))?;
        t.scale_in_suspended = suspended;
        Ok(())
    }

    async fn service_progress(&self, _cluster: &str, service: &str, cursor_ms: u64) -> Result<ServiceProgress> {
        self.api("DescribeServices")?;
        progress_of(&self.state(), service, cursor_ms)
    }

    /// DescribeServices answers ten services a call, as ECS does.
    async fn services_progress(&self, _cluster: &str, services: &[(String, u64)]) -> Vec<Result<ServiceProgress>> {
        let mut out = Vec::with_capacity(services.len());
        for chunk in services.chunks(10) {
            match self.api("DescribeServices") {
                Ok(()) => {
                    let s = self.state();
                    out.extend(chunk.iter().map(|(service, cursor)| progress_of(&s, service, *cursor)));
                }
                Err(e) => out.extend(chunk.iter().map(|_| Err(e.clone()))),
            }
        }
        out
    }

    async fn create_log_group(&self, group: &berth_model::resources::LogGroup) -> Result<String> {
        self.api("CreateLogGroup")?;
        self.state().create_log_group(group)
    }

    async fn put_log_retention(&self, name: &str, days: u32) -> Result<()> {
        self.api("PutRetentionPolicy")?;
        self.state().put_log_retention(name, days)
    }

    async fn delete_log_group(&self, name: &str) -> Result<()> {
        self.api("DeleteLogGroup")?;
        self.state().delete_log_group(name)
    }

    async fn log_lines(&self, filter: &berth_provider::LogFilter) -> Result<Vec<berth_provider::LogLine>> {
        self.api("FilterLogEvents")?;
        let s = self.state();
        let lines = s
            .log_events
            .get(&filter.group)
            .into_iter()
            .flatten()
            .map(|e| berth_provider::LogLine { at_ms: e.at_ms, stream: e.stream.clone(), message: e.message.clone() })
            .filter(|l| filter.matches(l))
            .collect();
        Ok(berth_provider::logs::keep_last(lines, filter.last))
    }

    async fn run_task(&self, request: &berth_provider::RunTaskRequest) -> Result<berth_provider::TaskStatus> {
        self.api("RunTask")?;
        self.state().run_task(request)
    }

    async fn describe_task(&self, _cluster: &str, task_arn: &str) -> Result<berth_provider::TaskStatus> {
        self.api("DescribeTasks")?;
        self.state().describe_task(task_arn)
    }

    async fn stop_task(&self, _cluster: &str, task_arn: &str, reason: &str) -> Result<()> {
        self.api("StopTask")?;
        self.state().stop_task(task_arn, reason)
    }

    fn now_ms(&self) -> u64 {
        self.state().now_ms
    }

    /// Advances the virtual clock one tick at a time, yielding between
    /// ticks so concurrent waits (services deploying side by side) share
    /// the clock instead of running one after the other.
    async fn sleep(&self, d: Duration) {
        let wake = self.now_ms() + d.as_millis() as u64;
        loop {
            let now = self.now_ms();
            if now >= wake {
                return;
            }
            self.advance((wake - now).min(crate::scheduler::TICK_MS));
            YieldNow(false).await;
        }
    }

    // The app lock: files beside the state file, outside the account (lock.rs).

    async fn lock_list(&self, app: &str) -> Result<Vec<berth_provider::LockRecord>> {
        self.locks.list(app)
    }

    async fn lock_create(&self, lock: &berth_provider::LockRecord) -> Result<bool> {
        self.locks.create(lock)
    }

    async fn lock_refresh(&self, lock: &berth_provider::LockRecord) -> Result<()> {
        self.locks.refresh(lock)
    }

    async fn lock_delete(&self, lock: &berth_provider::LockRecord) -> Result<()> {
        self.locks.delete(lock)
    }
}

fn check_task_definition(s: &SimState, arn: &str) -> Result<()> {
    let known = s.task_definitions.values().flatten().any(|r| r.arn == arn);
    if known {
        Ok(())
    } else {
        Err(ProviderError::Invalid(format!("task definition {arn} does not exist (ClientException)")))
    }
}

/// Returns `Pending` once, so other futures of the same task get a turn.
struct YieldNow(bool);

impl std::future::Future for YieldNow {
    type Output = ();

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

/// ECS's checks of a capacity provider strategy: never with a launch type,
/// each provider associated with the cluster, Fargate Spot only for X86_64.
fn check_capacity(s: &SimState, svc: &Service, operation: &str) -> Result<()> {
    let strategy = &svc.capacity_provider_strategy;
    if strategy.is_empty() {
        return Ok(());
    }
    if !svc.launch_type.is_empty() {
        return Err(ProviderError::Invalid(format!(
            "{operation}: specifying both a launch type and capacity provider strategy is not supported (InvalidParameterException)"
        )));
    }
    let associated = s.clusters.get(&svc.cluster).map(|c| c.capacity_providers.clone()).unwrap_or_default();
    if let Some(c) = strategy.iter().find(|c| !associated.contains(&c.capacity_provider)) {
        return Err(ProviderError::Invalid(format!(
            "{operation}: the capacity provider {} is not associated with the cluster {} (InvalidParameterException)",
            c.capacity_provider, svc.cluster
        )));
    }
    let arm = s
        .task_definitions
        .values()
        .flatten()
        .find(|r| r.arn == svc.task_definition)
        .and_then(|r| r.spec.runtime_platform.as_ref())
        .is_some_and(|p| p.cpu_architecture == "ARM64");
    if arm && strategy.iter().any(|c| c.capacity_provider == "FARGATE_SPOT") {
        return Err(ProviderError::Invalid(format!("{operation}: FARGATE_SPOT runs only X86_64 tasks (InvalidParameterException)")));
    }
    Ok(())
}
