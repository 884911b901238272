//! Executes a plan's changes in the plan's order. Apply never re-decides:
//! it reads only the plan. Services of one dependency level deploy
//! concurrently; a failure stops everything after it, and the result says
//! what was and was not done.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use berth_model::resources::{
    CloudMapService, Cluster, EcrRepository, ListenerRule, LoadBalancer, Namespace, ScalableTarget, Service, TargetGroup, TaskDefinition,
};
use berth_model::resources::{Tag, TAG_APP, TAG_MANAGED};
use berth_plan::{Action, Change, Plan};
use berth_provider::{Kind, Provider, ProviderError};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::events::{Event, EventKind, Reporter};
use crate::poll::Poller;
use crate::wait::{DeployFailure, PollPolicy, Wait};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitMode {
    /// Wait for every deployment berth starts to complete.
    Deployed,
    /// Start deployments and return.
    None,
}

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub wait: WaitMode,
    pub timeout: Duration,
    pub poll: PollPolicy,
    /// Set (e.g. by Ctrl-C) to fail a blue/green deployment's gates, which
    /// then restore the old color.
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Delete ECR repositories even when they still hold images.
    pub delete_images: bool,
    /// What the plan was checked against at the start of this apply (the
    /// CLI observes right before it applies, under the app lock): the
    /// ownership tags and latest revisions it holds are not read again.
    /// Resources and families it does not cover are read as the apply starts.
    pub observed: Option<std::sync::Arc<berth_provider::Observed>>,
    /// Whether the plan's `adopt` changes may tag resources that carry no
    /// berth tags (`berth apply --adopt`, `x-berth.adopt: true`). Never
    /// one tagged as another app's.
    pub adopt: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            wait: WaitMode::Deployed,
            timeout: Duration::from_secs(15 * 60),
            poll: PollPolicy::default(),
            cancel: None,
            delete_images: false,
            observed: None,
            adopt: false,
        }
    }
}

/// One thing that went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub address: String,
    pub message: String,
    /// A deployment that failed or timed out (as opposed to an API error).
    pub deployment: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyResult {
    pub done: Vec<String>,
    pub failed: Vec<Failure>,
    pub not_done: Vec<String>,
    /// Polling rounds the deployment waits shared (each one batched read).
    pub poll_rounds: u64,
}

impl ApplyResult {
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
    }

    /// Every failure was a deployment that failed (not an API or spec error).
    pub fn only_deployments_failed(&self) -> bool {
        !self.failed.is_empty() && self.failed.iter().all(|f| f.deployment)
    }
}

pub(crate) struct Ctx<'a> {
    pub provider: &'a dyn Provider,
    pub reporter: &'a dyn Reporter,
    pub opts: &'a ApplyOptions,
    /// Plan address → ARN, growing as resources are created.
    arns: Mutex<HashMap<String, String>>,
    /// The cluster of the services being deployed (one per app).
    pub cluster_of_service: String,
    /// The app whose ownership tags every resource apply changes must carry.
    pub app: String,
    /// One poll per round for every deployment being waited on.
    pub poller: Poller,
    /// The ownership tags of every resource the plan writes to by ARN, read
    /// at the start of the apply, all at once (before any write to them).
    owners: HashMap<String, Result<Option<Vec<Tag>>, ProviderError>>,
    /// Each re-registered family's latest ACTIVE revision, read with them.
    latest: HashMap<String, Result<Option<(String, TaskDefinition)>, ProviderError>>,
    /// Blue/green services whose traffic this apply moved: address → the color now live.
    live_colors: Mutex<HashMap<String, &'static str>>,
}

impl Ctx<'_> {
    pub fn emit(&self, kind: EventKind) {
        self.reporter.event(&Event { at_ms: self.provider.now_ms(), kind });
    }

    pub fn arn(&self, address: &str) -> Option<String> {
        self.arns.lock().unwrap_or_else(|e| e.into_inner()).get(address).cloned()
    }

    /// Records that a blue/green deployment moved `address`'s traffic to `color`.
    pub fn set_live_color(&self, address: &str, color: &'static str) {
        self.live_colors.lock().unwrap_or_else(|e| e.into_inner()).insert(address.to_string(), color);
    }

    fn live_color(&self, address: &str) -> Option<&'static str> {
        self.live_colors.lock().unwrap_or_else(|e| e.into_inner()).get(address).copied()
    }

    pub fn set_arn(&self, address: &str, arn: String) {
        self.arns.lock().unwrap_or_else(|e| e.into_inner()).insert(address.to_string(), arn);
    }

    /// ARNs of every known address starting with `prefix`, in address order.
    pub fn arns_with_prefix(&self, prefix: &str) -> Vec<String> {
        let arns = self.arns.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<(&String, &String)> = arns.iter().filter(|(a, _)| a.starts_with(prefix)).collect();
        v.sort();
        v.into_iter().map(|(_, arn)| arn.clone()).collect()
    }

    /// Replaces every string that is a known address with its ARN.
    fn resolve(&self, v: &mut Value) {
        match v {
            Value::String(s) => {
                if let Some(arn) = self.arn(s) {
                    *s = arn;
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|x| self.resolve(x)),
            // Tags are data (a rule's `berth:address` tag names an address on purpose).
            Value::Object(m) => m.iter_mut().filter(|(k, _)| k.as_str() != "tags").for_each(|(_, x)| self.resolve(x)),
            _ => {}
        }
    }
}

pub async fn apply(plan: &Plan, provider: &dyn Provider, opts: &ApplyOptions, reporter: &dyn Reporter) -> ApplyResult {
    let mut arns: HashMap<String, String> = plan.unchanged.iter().map(|u| (u.address.clone(), u.arn.clone())).collect();
    for c in &plan.changes {
        if let Some(arn) = &c.arn {
            arns.insert(c.address.clone(), arn.clone());
        }
    }
    let cluster_of_service = plan
        .changes
        .iter()
        .find_map(|c| {
            c.after.as_ref().or(c.before.as_ref()).filter(|_| c.kind == "service").and_then(|v| v["cluster"].as_str().map(str::to_string))
        })
        .unwrap_or_default();
    let reads: Vec<(String, Kind, String)> = plan
        .changes
        .iter()
        .filter(|c| writes_by_arn(c))
        .filter_map(|c| Some((c.address.clone(), Kind::parse(&c.kind)?, c.arn.clone()?)))
        .collect();
    // And the latest ACTIVE revision of each family the plan registers anew
    // (one identical to the new one, left by an interrupted run, is reused).
    let families: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.kind == "task_definition" && c.action != Action::Create)
        .filter_map(|c| c.after.as_ref()?.get("family")?.as_str().map(str::to_string))
        .collect();
    // Read now unless the observation this apply was checked against holds them.
    let seen = opts.observed.as_deref();
    let known_tags: HashMap<&str, &Vec<Tag>> =
        seen.map(|o| o.resources.iter().map(|r| (r.arn.as_str(), &r.tags)).collect()).unwrap_or_default();
    let known_tags = &known_tags;
    let (tags, revisions) = futures::join!(
        futures::future::join_all(reads.iter().map(|(_, kind, arn)| async move {
            match known_tags.get(arn.as_str()) {
                Some(tags) => Ok(Some((*tags).clone())),
                None => provider.live_tags(*kind, arn).await,
            }
        })),
        futures::future::join_all(families.iter().map(|f| async move {
            match seen.and_then(|o| o.latest_revisions.get(f)) {
                Some(latest) => Ok(latest.clone()),
                None => provider.latest_task_definition(f).await,
            }
        }))
    );
    let owners = reads.into_iter().map(|(address, _, _)| address).zip(tags).collect();
    let latest = families.into_iter().zip(revisions).collect();
    let cx = Ctx {
        provider,
        reporter,
        opts,
        arns: Mutex::new(arns),
        cluster_of_service,
        app: plan.app.clone(),
        poller: Poller::new(),
        owners,
        latest,
        live_colors: Mutex::new(HashMap::new()),
    };
    let graph = async {
        let result = run_graph(&cx, plan).await;
        cx.poller.stop();
        result
    };
    let (mut result, ()) = futures::join!(graph, cx.poller.run(provider, opts.poll));
    result.poll_rounds = cx.poller.rounds();
    cx.emit(EventKind::ApplyFinished {
        ok: result.ok(),
        done: result.done.clone(),
        failed: result.failed.iter().map(|f| format!("{}: {}", f.address, f.message)).collect(),
        not_done: result.not_done.clone(),
    });
    result
}

/// Changes running at once, at most (each may hold a deployment wait). The
/// AWS backend bounds and paces the requests themselves; a low bound here
/// would let changes waiting on a slow bucket (RegisterTaskDefinition, 1/s)
/// hold back changes another bucket could serve at once.
pub const MAX_CHANGES_IN_FLIGHT: usize = 512;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Pending,
    Running,
    Done,
    Failed,
    /// Not started: something it needs failed, or the run was interrupted.
    NotDone,
}

/// Runs the plan's dependency graph: every change starts as soon as the
/// changes it `depends_on` are done (in plan order among those ready, at
/// most [`MAX_CHANGES_IN_FLIGHT`] at once). A failure stops what depends on
/// it, directly or not; independent changes still run to the end.
async fn run_graph(cx: &Ctx<'_>, plan: &Plan) -> ApplyResult {
    let n = plan.changes.len();
    let position: HashMap<&str, usize> = plan.changes.iter().enumerate().map(|(i, c)| (c.address.as_str(), i)).collect();
    let needs: Vec<Vec<usize>> =
        plan.changes.iter().map(|c| c.depends_on.iter().filter_map(|d| position.get(d.as_str()).copied()).collect()).collect();
    let mut state = vec![State::Pending; n];
    let mut result = ApplyResult::default();
    let mut running = futures::stream::FuturesUnordered::new();
    let mut in_flight = 0;
    loop {
        let interrupted = cx.opts.cancel.as_ref().is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst));
        // What can no longer run: something it needs failed or will never run.
        let mut changed = true;
        while changed {
            changed = false;
            for i in 0..n {
                if state[i] == State::Pending && needs[i].iter().any(|d| matches!(state[*d], State::Failed | State::NotDone)) {
                    let failed: Vec<&str> = needs[i]
                        .iter()
                        .filter(|d| matches!(state[**d], State::Failed | State::NotDone))
                        .map(|d| plan.changes[*d].address.as_str())
                        .collect();
                    state[i] = State::NotDone;
                    let reason = format!("not applied because {} did not succeed", failed.join(", "));
                    cx.emit(EventKind::Skipped { address: plan.changes[i].address.clone(), reason });
                    changed = true;
                }
            }
        }
        for i in 0..n {
            if in_flight >= MAX_CHANGES_IN_FLIGHT || interrupted {
                break;
            }
            if state[i] == State::Pending && needs[i].iter().all(|d| state[*d] == State::Done) {
                state[i] = State::Running;
                in_flight += 1;
                let c = &plan.changes[i];
                running.push(async move { (i, run_change(cx, c).await) });
            }
        }
        let Some((i, outcome)) = running.next().await else { break };
        in_flight -= 1;
        let c = &plan.changes[i];
        match outcome {
            Ok(()) => {
                state[i] = State::Done;
                result.done.push(c.address.clone());
            }
            Err(f) => {
                state[i] = State::Failed;
                cx.emit(EventKind::ChangeFailed { address: c.address.clone(), error: f.message.clone() });
                result.failed.push(f);
            }
        }
    }
    for (i, c) in plan.changes.iter().enumerate() {
        if state[i] == State::Pending {
            // Interrupted, or (never for a plan berth made) a dependency cycle.
            cx.emit(EventKind::Skipped { address: c.address.clone(), reason: "not applied: the run was interrupted".into() });
            state[i] = State::NotDone;
        }
        if state[i] == State::NotDone {
            result.not_done.push(c.address.clone());
        }
    }
    result
}

pub(crate) fn fail(address: &str, e: impl std::fmt::Display) -> Failure {
    Failure { address: address.into(), message: e.to_string(), deployment: false }
}

fn parse<T: DeserializeOwned>(c: &Change, v: Value) -> Result<T, Failure> {
    serde_json::from_value(v).map_err(|e| fail(&c.address, format!("the plan's value for {} is not valid: {e}", c.address)))
}

async fn run_change(cx: &Ctx<'_>, c: &Change) -> Result<(), Failure> {
    cx.emit(EventKind::ChangeStarted { address: c.address.clone(), action: c.action.verb().into() });
    let live = match c.arn.as_deref().filter(|_| writes_by_arn(c)) {
        Some(arn) => check_owned(cx, c, arn).await?,
        None => Live::Owned,
    };
    match c.action {
        // Gone already (an interrupted run deleted it): nothing left to do.
        Action::Delete if live == Live::Gone => {}
        Action::Delete => delete(cx, c).await?,
        // A target group is replaced create-before-delete: its old self is a
        // separate delete, after the rules and services have moved.
        Action::Replace if c.kind == "target_group" => create_or_update(cx, c, false).await?,
        Action::Replace => {
            delete(cx, c).await?;
            create_or_update(cx, c, false).await?;
        }
        Action::Create => create_or_update(cx, c, false).await?,
        Action::Update => create_or_update(cx, c, true).await?,
        Action::Run => crate::migrate::run(cx, c).await?,
        Action::Adopt => adopt(cx, c).await?,
    }
    cx.emit(EventKind::ChangeDone { address: c.address.clone(), action: c.action.verb().into() });
    Ok(())
}

/// Whether a change writes to the live resource its ARN names (a task
/// definition "update" registers a new revision and leaves the live one be).
fn writes_by_arn(c: &Change) -> bool {
    !(c.action == Action::Create || c.action == Action::Run || (c.kind == "task_definition" && c.action == Action::Update))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Live {
    Owned,
    Gone,
}

/// Tags a resource without berth's tags as this app's, then applies what
/// the spec changes on it besides (an update).
async fn adopt(cx: &Ctx<'_>, c: &Change) -> Result<(), Failure> {
    let a = c.address.as_str();
    let kind = Kind::parse(&c.kind).ok_or_else(|| fail(a, format!("unknown resource kind {}", c.kind)))?;
    let arn = c.arn.as_deref().ok_or_else(|| fail(a, "the plan has no ARN to adopt"))?;
    let after = c.after.as_ref().ok_or_else(|| fail(a, "the plan has no value to apply"))?;
    let tags: Vec<Tag> = serde_json::from_value(after.get("tags").cloned().unwrap_or_default()).unwrap_or_default();
    // Whatever the plan file says, berth's tags are this app's ownership
    // tags and (for a rule or target group that has one) this address.
    let address_tag = kind == Kind::ListenerRule || tags.iter().any(|t| t.key == berth_model::resources::TAG_ADDRESS);
    let mut tags: Vec<Tag> = tags.into_iter().filter(|t| !t.key.starts_with("berth:")).collect();
    tags.extend(berth_model::resources::ownership_tags(&cx.app));
    if address_tag {
        tags.push(Tag { key: berth_model::resources::TAG_ADDRESS.into(), value: c.address.clone() });
    }
    cx.provider.tag_resource(kind, arn, &tags).await.map_err(|e| fail(a, e))?;
    // A blue/green service is its two colors: the plan compared the live
    // one, and lists the other (when it exists) as unchanged at
    // `<address>-<color>`; it is adopted with it.
    if kind == Kind::Service && after.get("blueGreen").is_some() {
        let other = ["blue", "green"].iter().filter_map(|color| cx.arn(&format!("{a}-{color}"))).find(|o| o != arn);
        if let Some(other) = other {
            let live = cx.provider.live_tags(kind, &other).await.map_err(|e| fail(a, e))?;
            if let Some(live) = live {
                match live.iter().find(|t| t.key == TAG_APP).map(|t| t.value.as_str()) {
                    Some(owner) if owner != cx.app => {
                        return Err(fail(a, format!("refusing to adopt {other}: it carries berth:app={owner}, so it is app {owner}'s")))
                    }
                    Some(_) => {}
                    None => cx.provider.tag_resource(kind, &other, &tags).await.map_err(|e| fail(a, e))?,
                }
            }
        }
    }
    if !c.changed.is_empty() {
        create_or_update(cx, c, true).await?;
    }
    Ok(())
}

/// Checks the tags read at the start of the apply (before any write): an ARN in a plan
/// is data from a file, and berth changes or deletes only what carries this
/// app's ownership tags — or, for an `adopt` change under `--adopt`, no
/// berth tags at all.
async fn check_owned(cx: &Ctx<'_>, c: &Change, arn: &str) -> Result<Live, Failure> {
    let a = c.address.as_str();
    let kind = Kind::parse(&c.kind).ok_or_else(|| fail(a, format!("unknown resource kind {}", c.kind)))?;
    let tags = match cx.owners.get(&c.address) {
        Some(read) => read.clone(),
        None => cx.provider.live_tags(kind, arn).await,
    }
    .map_err(|e| fail(a, e))?;
    let Some(tags) = tags else {
        if c.action == Action::Delete {
            return Ok(Live::Gone);
        }
        return Err(fail(a, format!("{arn} no longer exists; run `berth plan` again")));
    };
    let has = |k: &str, v: &str| tags.iter().any(|t| t.key == k && t.value == v);
    if has(TAG_MANAGED, "true") && has(TAG_APP, &cx.app) {
        return Ok(Live::Owned);
    }
    let owner = tags.iter().find(|t| t.key == TAG_APP).map(|t| t.value.as_str());
    if c.action == Action::Adopt {
        return match owner {
            Some(other) if other != cx.app => Err(fail(
                a,
                format!("refusing to adopt {arn}: it carries berth:app={other}, so it is app {other}'s; berth never adopts another app's resources, whatever a plan says"),
            )),
            _ if cx.opts.adopt => Ok(Live::Owned),
            _ => Err(fail(
                a,
                format!("refusing to adopt {arn} without --adopt: it carries no berth tags; apply with `berth apply --adopt` to make it app {}'s", cx.app),
            )),
        };
    }
    Err(fail(
        a,
        format!(
            "refusing to {} {arn}: it does not carry the tags berth:app={} and berth:managed=true, so it is not this app's; berth changes only what it owns, whatever a plan says",
            c.action.verb(),
            cx.app
        ),
    ))
}

/// An ACTIVE revision identical to the one to register (left by a run that
/// was interrupted after registering it) is reused instead of duplicated.
async fn reusable_revision(cx: &Ctx<'_>, td: &TaskDefinition) -> Result<Option<String>, ProviderError> {
    let latest = match cx.latest.get(&td.family) {
        Some(read) => read.clone(),
        None => cx.provider.latest_task_definition(&td.family).await,
    };
    let Some((arn, live)) = latest? else { return Ok(None) };
    Ok(berth_plan::normalize::same_task_definition(&live, td).then_some(arn))
}

async fn create_or_update(cx: &Ctx<'_>, c: &Change, update: bool) -> Result<(), Failure> {
    let p = cx.provider;
    let a = c.address.as_str();
    let mut spec = c.after.clone().ok_or_else(|| fail(a, "the plan has no value to apply"))?;
    let live = c.arn.clone().filter(|_| update);
    match c.kind.as_str() {
        "cluster" => {
            let arn = p.create_cluster(&parse::<Cluster>(c, spec)?).await.map_err(|e| fail(a, e))?;
            cx.set_arn(a, arn);
        }
        "log_group" => {
            let group = parse::<berth_model::resources::LogGroup>(c, spec)?;
            match live {
                // Only the retention changes in place (the name is the address).
                Some(_) => p.put_log_retention(&group.log_group_name, group.retention_in_days).await.map_err(|e| fail(a, e))?,
                None => cx.set_arn(a, p.create_log_group(&group).await.map_err(|e| fail(a, e))?),
            }
        }
        "ecr_repository" => {
            let arn = p.put_repository(&parse::<EcrRepository>(c, spec)?, live.as_deref()).await.map_err(|e| fail(a, e))?;
            cx.set_arn(a, arn);
        }
        "task_definition" => {
            let td = parse::<TaskDefinition>(c, spec)?;
            // A family the plan found no revision of has none to reuse.
            let reuse = if c.action == Action::Create { None } else { reusable_revision(cx, &td).await.map_err(|e| fail(a, e))? };
            let arn = match reuse {
                Some(arn) => arn,
                None => p.register_task_definition(&td).await.map_err(|e| fail(a, e))?,
            };
            cx.set_arn(a, arn);
        }
        "load_balancer" => {
            let arns = p.create_load_balancer(&parse::<LoadBalancer>(c, spec)?).await.map_err(|e| fail(a, e))?;
            cx.set_arn(a, arns.load_balancer);
            // An NLB has no listener of its own (each route has one).
            if !arns.listener.is_empty() {
                cx.set_arn("listener.http", arns.listener);
            }
        }
        "listener" => {
            cx.resolve(&mut spec);
            let listener = parse::<berth_model::resources::Listener>(c, spec)?;
            match live {
                Some(arn) => p.modify_listener(&arn, &listener).await.map_err(|e| fail(a, e))?,
                None => cx.set_arn(a, p.create_listener(&listener).await.map_err(|e| fail(a, e))?),
            }
        }
        "target_group" => {
            let tg = parse::<TargetGroup>(c, spec)?;
            match live {
                Some(arn) => p.modify_target_group(&arn, &tg).await.map_err(|e| fail(a, e))?,
                None => cx.set_arn(a, p.create_target_group(&tg).await.map_err(|e| fail(a, e))?),
            }
        }
        "listener_rule" => {
            cx.resolve(&mut spec);
            let rule = parse::<ListenerRule>(c, spec)?;
            let priority = rule.priority.ok_or_else(|| fail(a, "the plan gives the rule no priority"))?;
            match live {
                Some(arn) => {
                    p.modify_rule(&arn, &rule).await.map_err(|e| fail(a, e))?;
                    if c.changed.iter().any(|f| f == "priority") {
                        p.set_rule_priority(&arn, priority).await.map_err(|e| fail(a, e))?;
                    }
                }
                None => cx.set_arn(a, p.create_rule(&rule, priority).await.map_err(|e| fail(a, e))?),
            }
        }
        "namespace" => {
            cx.set_arn(a, p.create_namespace(&parse::<Namespace>(c, spec)?).await.map_err(|e| fail(a, e))?);
        }
        "cloud_map_service" => {
            let svc = parse::<CloudMapService>(c, spec)?;
            let ns = cx
                .arn(&format!("namespace.{}", svc.namespace))
                .ok_or_else(|| fail(a, format!("namespace {} is unknown", svc.namespace)))?;
            if live.is_some() {
                return Err(fail(a, "Cloud Map services are replaced, not updated"));
            }
            cx.set_arn(a, p.create_cloud_map_service(&svc, &ns).await.map_err(|e| fail(a, e))?);
        }
        "service" => return deploy_service(cx, c, spec, live).await,
        "scalable_target" => {
            follow_live_color(cx, a, &mut spec);
            cx.resolve(&mut spec);
            let target = parse::<ScalableTarget>(c, spec)?;
            cx.set_arn(a, p.put_scalable_target(&target).await.map_err(|e| fail(a, e))?);
        }
        other => return Err(fail(a, format!("unknown resource kind {other}"))),
    }
    Ok(())
}

/// A blue/green service's scaling planned on one color, when this apply
/// moved its traffic to the other: the resource id and the target group
/// follow the color now live.
fn follow_live_color(cx: &Ctx<'_>, address: &str, spec: &mut Value) {
    let short = address.trim_start_matches("scaling.");
    let Some(color) = cx.live_color(&format!("service.{short}")) else { return };
    let old = if color == "blue" { "green" } else { "blue" };
    berth_plan::scaling::move_to_color(spec, short, old, color);
}

async fn deploy_service(cx: &Ctx<'_>, c: &Change, mut spec: Value, live: Option<String>) -> Result<(), Failure> {
    let a = c.address.as_str();
    // The revision to run: the one this apply registered, or the live one.
    let td_address = a.replacen("service.", "taskdef.", 1);
    let td = cx.arn(&td_address).ok_or_else(|| fail(a, format!("no task definition for {td_address}")))?;
    spec["taskDefinition"] = Value::String(td.clone());
    cx.resolve(&mut spec);
    let mut svc = parse::<Service>(c, spec)?;
    // A strategy the plan removes goes back to the launch type (an empty list on the wire).
    svc.clear_capacity_provider_strategy =
        svc.capacity_provider_strategy.is_empty() && c.changed.iter().any(|p| p.starts_with(berth_plan::capacity::STRATEGY));
    // A blue/green service that runs already deploys a new revision through
    // its idle color; other changes (counts, settings) update the live color.
    let new_revision = c.changed.iter().any(|p| p == "taskDefinition");
    if let (Some(live_arn), Some(_), true) = (&live, &svc.blue_green, new_revision) {
        if cx.opts.wait == WaitMode::None {
            return Err(fail(a, "a blue/green deployment waits at each gate; it cannot run with --wait none"));
        }
        {
            let before_td = c.before.as_ref().and_then(|b| b["taskDefinition"].as_str()).unwrap_or_default();
            // `family:revision` → the full ARN (AWS accepts both; moto keeps what it is given).
            let live_td = match td.rsplit_once("task-definition/") {
                Some((prefix, _)) => format!("{prefix}task-definition/{before_td}"),
                None => before_td.to_string(),
            };
            return crate::blue_green::deploy(cx, a, svc, live_arn, &live_td).await;
        }
    }
    // berth's own scaler of a running service: no scale-in during the rollout.
    let scaled = match (&live, cx.opts.wait) {
        (Some(arn), mode) if mode != WaitMode::None && cx.arn(&a.replacen("service.", "scaling.", 1)).is_some() => {
            crate::scaling::resource_id_of_service_arn(arn)
        }
        _ => None,
    };
    if let Some(id) = &scaled {
        crate::scaling::suspend(cx, &svc.service_name, id, true).await.map_err(|e| fail(a, e))?;
    }
    let result = roll_out(cx, a, &svc, live, td).await;
    if let Some(id) = &scaled {
        // Resumed whatever the rollout's outcome.
        let resumed = crate::scaling::suspend(cx, &svc.service_name, id, false).await;
        if let (Ok(()), Err(e)) = (&result, resumed) {
            return Err(fail(a, format!("the deployment completed, but resuming autoscaling's scale-in failed: {e}")));
        }
    }
    result
}

/// Creates or updates a (rolling) service and waits for its deployment.
async fn roll_out(cx: &Ctx<'_>, a: &str, svc: &Service, live: Option<String>, td: String) -> Result<(), Failure> {
    let (arn, deployment) = match live {
        Some(arn) => {
            let d = cx.provider.update_service(&arn, svc).await.map_err(|e| fail(a, e))?;
            (arn, d)
        }
        None => cx.provider.create_service(svc).await.map_err(|e| fail(a, e))?,
    };
    cx.set_arn(a, arn);
    cx.emit(EventKind::DeploymentStarted { service: svc.service_name.clone(), deployment: deployment.clone(), task_definition: td });
    if cx.opts.wait == WaitMode::None {
        return Ok(());
    }
    let rollback = svc.deployment_configuration.deployment_circuit_breaker.rollback;
    let wait = Wait::for_service(cx.provider, cx.reporter, cx.opts, svc, rollback).in_rounds(&cx.poller);
    wait.deployment(&deployment).await.map_err(|e| Failure {
        address: a.into(),
        deployment: !matches!(e, DeployFailure::Provider(_)),
        message: e.to_string(),
    })
}

async fn delete(cx: &Ctx<'_>, c: &Change) -> Result<(), Failure> {
    let p = cx.provider;
    let a = c.address.as_str();
    let arn = c.arn.clone().ok_or_else(|| fail(a, "the plan has no ARN to delete"))?;
    let before = c.before.clone().unwrap_or_default();
    let r: Result<(), ProviderError> = match c.kind.as_str() {
        "cluster" => p.delete_cluster(&arn).await,
        "ecr_repository" => {
            let images = before["imageCount"].as_u64().unwrap_or(0);
            if images > 0 && !cx.opts.delete_images {
                return Err(fail(a, format!("still holds {images} images; berth deletes them only with --delete-images")));
            }
            p.delete_repository(before["repositoryName"].as_str().unwrap_or_default(), cx.opts.delete_images).await
        }
        "task_definition" => p.deregister_task_definitions(before["family"].as_str().unwrap_or_default()).await,
        "log_group" => p.delete_log_group(before["logGroupName"].as_str().unwrap_or_default()).await,
        "load_balancer" => p.delete_load_balancer(&arn).await,
        "target_group" => p.delete_target_group(&arn).await,
        "listener_rule" => p.delete_rule(&arn).await,
        "listener" => p.delete_listener(&arn).await,
        "namespace" => p.delete_namespace(&arn).await,
        "cloud_map_service" => p.delete_cloud_map_service(&arn).await,
        "service" => p.delete_service(before["cluster"].as_str().unwrap_or_default(), &arn).await,
        "scalable_target" => p.delete_scalable_target(before["resourceId"].as_str().unwrap_or_default()).await,
        other => Err(ProviderError::Invalid(format!("unknown resource kind {other}"))),
    };
    r.map_err(|e| fail(a, e))
}
