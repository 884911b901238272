//! `diff(desired, observed) -> Plan`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use berth_provider::TakenPriority;

use berth_model::Desired;
use berth_provider::{Kind, LiveResource, Observed};
use serde_json::Value;

use crate::fingerprint::{fingerprints, sha256_hex};
use crate::normalize::{comparable, normalize, ArnMap};
use crate::order::{order_changes, DELETE_ORDER};
use crate::plan::{Action, Change, Plan, Summary, Unchanged, FORMAT_VERSION};

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{}", .0.join("\n"))]
    NotOwned(Vec<String>),
    #[error("listener rule priority {priority} wanted by {address} is held by {holder}; choose a free priority in x-berth.route.priority, or leave it out and berth allocates one from x-berth.load_balancer.priority_range")]
    PriorityTaken { address: String, priority: u32, holder: String },
    #[error("no free listener rule priority left in {from}-{to} for {address}; widen x-berth.load_balancer.priority_range")]
    NoFreePriority { address: String, from: u32, to: u32 },
    #[error("{address} ({arn}) would be adopted and replaced at once ({} cannot change in place); adopt it as it is — change the spec to match the live {} — and change it after", .fields.join(", "), .fields.join(", "))]
    AdoptReplace { address: String, arn: String, fields: Vec<String> },
}

/// Everything a diff needs besides the two sides.
#[derive(Debug, Clone)]
pub struct PlanContext {
    pub berth_version: String,
    pub backend: String,
    /// Listener rule priorities berth may allocate.
    pub priority_range: (u32, u32),
    /// Adopt same-named resources that carry no berth tags (`--adopt`,
    /// `x-berth.adopt: true`) instead of refusing them.
    pub adopt: bool,
}

/// A resource the spec asks for, in the shape it will be sent.
struct Want {
    address: String,
    kind: Kind,
    spec: Value,
    depends_on: Vec<String>,
}

/// The address of the listener of the load balancer berth creates.
pub const LB_LISTENER: &str = "listener.http";

/// Shown for a value only known once apply has run.
pub const NEW_REVISION: &str = "(new revision)";

/// SHA-256 of the desired resources (before digest pinning).
pub fn spec_digest(desired: &Desired) -> String {
    sha256_hex(&serde_json::to_value(desired.rendered()).unwrap_or_default())
}

pub fn diff(desired: &Desired, observed: &Observed, ctx: &PlanContext) -> Result<Plan, PlanError> {
    let rendered = desired.rendered();
    let spec_digest = sha256_hex(&serde_json::to_value(&rendered).unwrap_or_default());
    let mut wants: Vec<Want> = rendered
        .into_iter()
        .filter_map(|r| Kind::parse(r.kind).map(|kind| Want { address: r.address, kind, spec: r.spec, depends_on: r.depends_on }))
        .collect();
    let mut plan = plan_from(&mut wants, observed, ctx, &desired.app, spec_digest)?;
    crate::migrations::add(&mut plan, desired);
    crate::capacity::mark(&mut plan);
    Ok(plan)
}

/// The plan that deletes everything the app owns.
pub fn diff_destroy(app: &str, observed: &Observed, ctx: &PlanContext) -> Result<Plan, PlanError> {
    let mut plan = plan_from(&mut Vec::new(), observed, ctx, app, sha256_hex(&Value::Null))?;
    for c in plan.changes.iter_mut() {
        c.reason = c.reason.replacen("no longer in the spec", "destroy: owned by berth for this app", 1);
    }
    Ok(plan)
}

/// Observed resources by address (a plan looks each one up several times).
struct Index<'a>(HashMap<&'a str, &'a LiveResource>);

impl<'a> Index<'a> {
    fn new(observed: &'a Observed) -> Self {
        Index(observed.resources.iter().map(|r| (r.address.as_str(), r)).collect())
    }

    fn get(&self, address: &str) -> Option<&'a LiveResource> {
        self.0.get(address).copied()
    }
}

fn plan_from(wants: &mut [Want], observed: &Observed, ctx: &PlanContext, app: &str, spec_digest: String) -> Result<Plan, PlanError> {
    let raw = observed;
    let mut observed = one_per_address(observed, wants, app);
    let lb_arns = |observed: &Observed| {
        let mut arns: ArnMap = observed.resources.iter().map(|r| (r.arn.clone(), r.address.clone())).collect();
        // The listener of a load balancer berth made is `listener.http` in the spec.
        let lb_listener = observed
            .resources
            .iter()
            .find(|r| r.kind == Kind::LoadBalancer)
            .and_then(|lb| lb.spec["listenerArn"].as_str())
            .map(str::to_string);
        if let Some(l) = &lb_listener {
            arns.insert(l.clone(), LB_LISTENER.to_string());
        }
        (arns, lb_listener)
    };
    if ctx.adopt {
        let (arns, _) = lb_arns(&observed);
        address_untagged_rules(&mut observed, wants, &arns);
    }
    let observed = &observed;
    let index = Index::new(observed);
    let (arns, lb_listener) = lb_arns(observed);

    // Same-named resources that are not ours: never touched. A cluster or a
    // namespace may be an existing one the spec names on purpose.
    let mut not_owned = Vec::new();
    let mut adopted_shared: BTreeSet<String> = BTreeSet::new();
    // Untagged resources `--adopt` makes this app's.
    let mut adopt: BTreeSet<String> = BTreeSet::new();
    for w in wants.iter() {
        // A blue/green service lives as its colors.
        let colors: Vec<String> = if w.kind == Kind::Service && w.spec.get("blueGreen").is_some() {
            vec![format!("{}-blue", w.address), format!("{}-green", w.address)]
        } else {
            vec![w.address.clone()]
        };
        for live in colors.iter().filter_map(|a| index.get(a)) {
            if !live.owned_by(app) && !revision_of_our_service(w, live, &index, app) {
                // So may a log group (`x-berth.logs.group`): used, never changed or deleted.
                if matches!(w.kind, Kind::Cluster | Kind::Namespace | Kind::LogGroup) {
                    adopted_shared.insert(w.address.clone());
                } else if let Some(other) = owner_app(live).filter(|o| *o != app) {
                    // Never adopted, whatever the flags say.
                    not_owned.push(format!(
                        "{} ({}) belongs to berth app {other} (it carries berth:app={other}), not to app {app}; berth never adopts or changes another app's resources — rename our resource, or remove it from app {other} first",
                        w.address, live.arn
                    ));
                } else if ctx.adopt {
                    adopt.insert(w.address.clone());
                } else {
                    not_owned.push(format!(
                        "{} ({}) exists and is not managed by berth for app {app}: it has no berth:app={app} and berth:managed=true tags; berth leaves it untouched — rename our resource or delete/tag that one, or adopt it as this app's with `berth plan --adopt` and `berth apply --adopt` (or x-berth.adopt: true)",
                        w.address, live.arn
                    ));
                }
            }
        }
    }
    // A listener port of the load balancer another owner's listener holds:
    // never taken over.
    for w in wants.iter().filter(|w| w.kind == Kind::Listener) {
        let port = &w.spec["port"];
        if let Some(other) = observed.resources.iter().find(|r| r.kind == Kind::Listener && !r.owned_by(app) && &r.spec["port"] == port) {
            not_owned.push(format!(
                "{} wants port {port} of the load balancer, which listener {} holds and berth does not manage for app {app}; berth leaves it untouched — publish the service on another port, or delete that listener",
                w.address, other.arn
            ));
        }
    }
    // A declared scaler where someone else's scalable target scales the
    // service already: registering ours would take theirs over.
    for w in wants.iter().filter(|w| w.kind == Kind::ScalableTarget) {
        let service = w.address.replacen("scaling.", "service.", 1);
        let ours = index.get(&w.address).is_some_and(|r| r.owned_by(app))
            || observed
                .resources
                .iter()
                .any(|r| r.kind == Kind::ScalableTarget && r.owned_by(app) && r.address.starts_with(&format!("{}-", w.address)));
        let foreign = observed.resources.iter().any(|r| {
            r.kind == Kind::Service
                && (r.address == service || r.address.starts_with(&format!("{service}-")))
                && r.spec.get("scalableTarget").is_some_and(Value::is_object)
        });
        if foreign && !ours {
            not_owned.push(format!(
                "{service} is scaled by an Application Auto Scaling target that berth does not manage; berth leaves it untouched — remove x-berth.autoscaling from the spec, or deregister that scalable target first"
            ));
        }
    }
    if !not_owned.is_empty() {
        return Err(PlanError::NotOwned(not_owned));
    }

    let mut warnings = allocate_priorities(wants, observed, &index, ctx)?;
    let blue_green = blue_green_live_colors(wants, &index, &arns);
    let scaled = keep_scaled_counts(wants, &index, &blue_green);
    keep_scheduled_bounds(wants, &index, &blue_green);
    keep_cluster_providers(wants, &index);
    warnings.extend(scaled.iter().map(|(address, why)| format!("{AUTOSCALING_WARNING}{address}: {why}")));

    // Task definitions are immutable: a difference means a new revision.
    let mut new_revision: BTreeSet<String> = BTreeSet::new();
    let mut live_revision: HashMap<String, String> = HashMap::new();
    for w in wants.iter().filter(|w| w.kind == Kind::TaskDefinition) {
        let family = w.spec["family"].as_str().unwrap_or_default().to_string();
        let same = |live: &LiveResource| {
            let (a, b) = (normalize(Kind::TaskDefinition, &live.spec, &arns), normalize(Kind::TaskDefinition, &w.spec, &arns));
            if adopt.contains(&w.address) {
                untagged(&a) == untagged(&b)
            } else {
                a == b
            }
        };
        match index.get(&w.address) {
            Some(live) if same(live) => {
                live_revision.insert(family, live.name.clone());
            }
            live => {
                // What the live revision sets and berth does not model is not in the new one.
                let unmodelled: Vec<&str> =
                    live.and_then(|l| l.spec["unmodelled"].as_array()).into_iter().flatten().filter_map(Value::as_str).collect();
                if !unmodelled.is_empty() {
                    warnings.push(format!(
                        "{REVISION_WARNING}{}: the live revision sets {}, which berth does not model: the new revision leaves {} out",
                        w.address,
                        unmodelled.join(", "),
                        if unmodelled.len() == 1 { "it" } else { "them" }
                    ));
                }
                new_revision.insert(family);
            }
        }
    }
    for w in wants.iter_mut().filter(|w| w.kind == Kind::Service) {
        let family = w.spec["taskDefinition"].as_str().unwrap_or_default().to_string();
        let pinned = if new_revision.contains(&family) {
            format!("{family}:{NEW_REVISION}")
        } else {
            live_revision.get(&family).cloned().unwrap_or(family)
        };
        w.spec["taskDefinition"] = Value::String(pinned);
    }

    let replaced = target_group_replacements(wants, &index, &arns);

    let mut changes = Vec::new();
    let mut unchanged = Vec::new();
    if let Some(l) = lb_listener {
        unchanged.push(Unchanged { address: LB_LISTENER.to_string(), arn: l });
    }
    for w in wants.iter() {
        let after = normalize(w.kind, &w.spec, &arns);
        let depends_on = w.depends_on.clone();
        // A blue/green service compares with its live color, and so does its scaler.
        let observed_address = blue_green.get(&w.address).map_or(w.address.clone(), |bg| bg.live_address.clone());
        let observed_address = scaler_observed_at(&w.address, &blue_green).unwrap_or(observed_address);
        let Some(live) = index.get(&observed_address) else {
            changes.push(Change {
                address: w.address.clone(),
                kind: w.kind.as_str().into(),
                action: Action::Create,
                reason: "not in the account yet".into(),
                before: None,
                after: Some(after),
                changed: Vec::new(),
                arn: None,
                depends_on,
            });
            continue;
        };
        if adopted_shared.contains(&w.address) {
            unchanged.push(Unchanged { address: w.address.clone(), arn: live.arn.clone() });
            continue;
        }
        let before = normalize(w.kind, &live.spec, &arns);
        if adopt.contains(&w.address) {
            let changed = changed_paths(&untagged(&comparable(w.kind, &before)), &untagged(&comparable(w.kind, &after)));
            let fields = match replaced.get(&w.address) {
                Some(fields) => fields.clone(),
                None => replace_fields(w.kind, &changed),
            };
            if !fields.is_empty() {
                return Err(PlanError::AdoptReplace { address: w.address.clone(), arn: live.arn.clone(), fields });
            }
            let tags = "tags it berth:app, berth:managed=true";
            let reason = if changed.is_empty() {
                format!("exists without berth's tags: adopted as app {app}'s ({tags}); nothing else changes")
            } else if w.kind == Kind::TaskDefinition {
                format!("exists without berth's tags: adopted as app {app}'s ({tags}); and registers a new revision of the family, as an update (changed: {})", changed.join(", "))
            } else {
                format!("exists without berth's tags: adopted as app {app}'s ({tags}); and updated: changed: {}", changed.join(", "))
            };
            changes.push(Change {
                address: w.address.clone(),
                kind: w.kind.as_str().into(),
                action: Action::Adopt,
                reason,
                before: Some(before),
                after: Some(after),
                changed,
                arn: Some(live.arn.clone()),
                depends_on,
            });
            continue;
        }
        if let Some(fields) = replaced.get(&w.address) {
            // Create-before-delete: the replacement first (under the other
            // name), rules and services move to it, the old one goes last.
            changes.push(Change {
                address: w.address.clone(),
                kind: w.kind.as_str().into(),
                action: Action::Replace,
                reason: format!(
                    "{} cannot change in place: the replacement is created first, the rules and services move to it, then the old one is deleted",
                    fields.join(", ")
                ),
                changed: changed_paths(&comparable(w.kind, &before), &comparable(w.kind, &after)),
                before: Some(before.clone()),
                after: Some(after),
                arn: None,
                depends_on,
            });
            changes.push(Change {
                address: format!("{}~old", w.address),
                kind: w.kind.as_str().into(),
                action: Action::Delete,
                reason: format!("replaced by the new {}", w.address),
                before: Some(before),
                after: None,
                changed: Vec::new(),
                arn: Some(live.arn.clone()),
                depends_on: Vec::new(),
            });
            continue;
        }
        let moves: Vec<&String> = replaced.keys().filter(|tg| references(&after, tg)).collect();
        if comparable(w.kind, &before) == comparable(w.kind, &after) {
            if !moves.is_empty() {
                changes.push(Change {
                    address: w.address.clone(),
                    kind: w.kind.as_str().into(),
                    action: Action::Update,
                    reason: format!("moves to the replacement {}", moves.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")),
                    before: Some(before),
                    after: Some(after),
                    changed: Vec::new(),
                    arn: Some(live.arn.clone()),
                    depends_on,
                });
                continue;
            }
            unchanged.push(Unchanged { address: w.address.clone(), arn: live.arn.clone() });
            continue;
        }
        let changed = changed_paths(&comparable(w.kind, &before), &comparable(w.kind, &after));
        let mut replace_fields = replace_fields(w.kind, &changed);
        // A launch type ↔ capacity provider strategy move is an update (ECS
        // takes the strategy, or an empty one for the launch type, in
        // UpdateService); only one launch type for another is a replace.
        if w.kind == Kind::Service {
            let launch = |v: &Value| v.get("launchType").and_then(Value::as_str).filter(|l| !l.is_empty()).map(str::to_string);
            if launch(&before).is_none() || launch(&after).is_none() {
                replace_fields.retain(|f| f != "launchType");
            }
        }
        let (action, reason) = if !replace_fields.is_empty() {
            (Action::Replace, format!("{} cannot change in place", replace_fields.join(", ")))
        } else if w.kind == Kind::TaskDefinition {
            (Action::Update, "registers a new revision (task definitions are immutable)".to_string())
        } else if w.kind == Kind::Service && changed == ["taskDefinition"] {
            (Action::Update, "deploys the new task definition revision".to_string())
        } else {
            (Action::Update, format!("changed: {}", changed.join(", ")))
        };
        let reason = match scaled.get(&w.address) {
            Some(why) => format!("{reason}; {why}"),
            None => reason,
        };
        changes.push(Change {
            address: w.address.clone(),
            kind: w.kind.as_str().into(),
            action,
            reason,
            before: Some(before),
            after: Some(after),
            changed,
            arn: Some(live.arn.clone()),
            depends_on,
        });
    }

    // Both colors of a blue/green service are wanted; the idle one's ARN goes with the plan.
    for bg in blue_green.values() {
        if let Some(idle) = index.get(&bg.idle_address) {
            unchanged.push(Unchanged { address: bg.idle_address.clone(), arn: idle.arn.clone() });
        }
    }
    // Whatever we own that the spec no longer asks for.
    let mut wanted: BTreeSet<&str> = wants.iter().map(|w| w.address.as_str()).collect();
    let live_scalers: Vec<String> = blue_green
        .iter()
        .filter(|(address, _)| wants.iter().any(|w| w.address == address.replacen("service.", "scaling.", 1)))
        .map(|(_, bg)| bg.live_address.replacen("service.", "scaling.", 1))
        .collect();
    for bg in blue_green.values() {
        wanted.insert(bg.live_address.as_str());
        wanted.insert(bg.idle_address.as_str());
    }
    // The live color's scaler is the spec's; an idle color's is deleted.
    wanted.extend(live_scalers.iter().map(String::as_str));
    for live in observed.resources.iter().filter(|r| r.owned_by(app) && !wanted.contains(r.address.as_str())) {
        changes.push(delete_change(live, &arns));
    }
    let mut changes = order_changes(changes);
    crate::graph::link(&mut changes);

    let mut summary = Summary { unchanged: unchanged.iter().filter(|u| u.address != LB_LISTENER).count(), ..Summary::default() };
    for c in &changes {
        match c.action {
            Action::Create => summary.create += 1,
            Action::Update => summary.update += 1,
            Action::Replace => summary.replace += 1,
            Action::Delete => summary.delete += 1,
            Action::Run => summary.run += 1,
            Action::Adopt => {
                summary.adopt += 1;
                // What the spec changes besides is an update too.
                if !c.changed.is_empty() {
                    summary.update += 1;
                }
            }
        }
    }
    Ok(Plan {
        format_version: FORMAT_VERSION,
        berth_version: ctx.berth_version.clone(),
        app: app.to_string(),
        backend: ctx.backend.clone(),
        spec_digest,
        summary,
        changes,
        unchanged,
        fingerprints: fingerprints(raw),
        warnings,
        images: Vec::new(),
        target: None,
        signature: None,
    })
}

/// The suffix of the address of an extra live resource at one address.
pub const DUPLICATE_SUFFIX: &str = "~dup";

/// Several owned live resources with one address (a target group replace
/// that was interrupted leaves the old one and its replacement, both with
/// the address) must all be seen: one keeps the address — the one that
/// matches the spec, else the one the app's services and rules use, else
/// the first by name — and the others become `<address>~dupN`, which the
/// plan deletes after the rules and services that use them have moved.
fn one_per_address(observed: &Observed, wants: &[Want], app: &str) -> Observed {
    let mut by_address: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, r) in observed.resources.iter().enumerate().filter(|(_, r)| r.owned_by(app)) {
        by_address.entry(r.address.as_str()).or_default().push(i);
    }
    let shared: Vec<(String, Vec<usize>)> = by_address.into_iter().filter(|(_, v)| v.len() > 1).map(|(a, v)| (a.to_string(), v)).collect();
    if shared.is_empty() {
        return observed.clone();
    }
    let mut out = observed.clone();
    let arns: ArnMap = observed.resources.iter().map(|r| (r.arn.clone(), r.address.clone())).collect();
    let without_name = |kind: Kind, spec: &Value| {
        let mut v = comparable(kind, &normalize(kind, spec, &arns));
        if let Some(m) = v.as_object_mut() {
            m.remove("name");
        }
        v
    };
    let used = |arn: &str| {
        observed
            .resources
            .iter()
            .any(|r| matches!(r.kind, Kind::Service | Kind::ListenerRule) && r.owned_by(app) && references(&r.spec, arn))
    };
    for (address, mut members) in shared {
        members.sort_by(|a, b| observed.resources[*a].name.cmp(&observed.resources[*b].name));
        let want = wants.iter().find(|w| w.address == address);
        // One that can serve the spec without a replace (same port,
        // protocol, target type and VPC for a target group; a name aside).
        let matches_spec = |i: &usize| {
            let r = &observed.resources[*i];
            want.is_some_and(|w| {
                let changed = changed_paths(&without_name(r.kind, &r.spec), &without_name(w.kind, &w.spec));
                replace_fields(r.kind, &changed).is_empty()
            })
        };
        let primary = members
            .iter()
            .copied()
            .find(matches_spec)
            .or_else(|| members.iter().copied().find(|i| used(&observed.resources[*i].arn)))
            .unwrap_or(members[0]);
        for (n, i) in members.into_iter().filter(|i| *i != primary).enumerate() {
            out.resources[i].address = format!("{address}{DUPLICATE_SUFFIX}{}", n + 1);
        }
    }
    out
}

/// The app a resource's berth tags name, if any.
fn owner_app(live: &LiveResource) -> Option<&str> {
    live.tags.iter().find(|t| t.key == berth_model::resources::TAG_APP).map(|t| t.value.as_str())
}

/// A normalized value without its tags: what adoption compares.
fn untagged(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("tags");
    }
    v
}

/// Listener rules carry their address in a tag: an untagged one (observed
/// as `rule.unknown/<arn>`) that matches a wanted rule with no live one —
/// same listener, conditions and forward — takes that rule's address, to be
/// adopted with the priority it has.
fn address_untagged_rules(observed: &mut Observed, wants: &[Want], arns: &ArnMap) {
    // Priorities and weights aside: a blue/green pair's weights are wherever
    // its last shift left them (the plan follows them afterwards).
    let shape = |spec: &Value| {
        let mut v = untagged(&normalize(Kind::ListenerRule, spec, arns));
        if let Some(m) = v.as_object_mut() {
            m.remove("priority");
        }
        for a in v.get_mut("actions").and_then(Value::as_array_mut).into_iter().flatten() {
            for t in a.pointer_mut("/forwardConfig/targetGroups").and_then(Value::as_array_mut).into_iter().flatten() {
                if let Some(t) = t.as_object_mut() {
                    t.remove("weight");
                }
            }
        }
        v
    };
    let taken: BTreeSet<String> = observed.resources.iter().map(|r| r.address.clone()).collect();
    let mut used: BTreeSet<usize> = BTreeSet::new();
    for w in wants.iter().filter(|w| w.kind == Kind::ListenerRule && !taken.contains(&w.address)) {
        let want = shape(&w.spec);
        let found = observed.resources.iter().enumerate().find(|(i, r)| {
            r.kind == Kind::ListenerRule
                && r.address.starts_with("rule.unknown/")
                && owner_app(r).is_none()
                && !used.contains(i)
                && shape(&r.spec) == want
        });
        if let Some((i, _)) = found {
            used.insert(i);
            observed.resources[i].address = w.address.clone();
        }
    }
}

/// A task definition revision registered by hand (no tags) that our own
/// service runs is drift in our family, not someone else's resource: berth
/// only ever registers a new revision, never touches that one.
fn revision_of_our_service(w: &Want, live: &LiveResource, index: &Index, app: &str) -> bool {
    if w.kind != Kind::TaskDefinition {
        return false;
    }
    let service = w.address.replacen("taskdef.", "service.", 1);
    index.get(&service).is_some_and(|s| s.owned_by(app) && s.spec["taskDefinition"].as_str() == Some(live.arn.as_str()))
}

/// Whether a normalized value names `address` anywhere (a rule's forward,
/// a service's load balancer).
fn references(v: &Value, address: &str) -> bool {
    match v {
        Value::String(s) => s == address,
        Value::Array(a) => a.iter().any(|x| references(x, address)),
        Value::Object(m) => m.values().any(|x| references(x, address)),
        _ => false,
    }
}

/// Target groups whose change ELB cannot make in place (port, protocol,
/// target type, VPC), with the fields. Each wanted target group takes the
/// name its live one has (names alternate between `<name>` and `<name>--1`
/// across replacements, since two cannot share one); a replacement takes
/// the other.
fn target_group_replacements(wants: &mut [Want], index: &Index, arns: &ArnMap) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for w in wants.iter_mut().filter(|w| w.kind == Kind::TargetGroup) {
        let Some(live) = index.get(&w.address) else { continue };
        let base = w.spec["name"].as_str().unwrap_or_default().to_string();
        let alternate =
            if live.name == base { format!("{base}{}", berth_model::resources::TARGET_GROUP_REPLACEMENT_SUFFIX) } else { base.clone() };
        w.spec["name"] = Value::String(live.name.clone());
        let before = comparable(w.kind, &normalize(w.kind, &live.spec, arns));
        let after = comparable(w.kind, &normalize(w.kind, &w.spec, arns));
        let fields = replace_fields(w.kind, &changed_paths(&before, &after));
        if !fields.is_empty() {
            w.spec["name"] = Value::String(alternate);
            out.insert(w.address.clone(), fields);
        }
    }
    out
}

/// The prefix of plan warnings about what a new task definition revision leaves out.
pub const REVISION_WARNING: &str = "warning: revision: ";

/// The prefix of plan warnings about a service Application Auto Scaling scales.
pub const AUTOSCALING_WARNING: &str = "warning: autoscaling: ";

/// A service with a scalable target (berth's or anyone else's) keeps the
/// count the scaler chose: the desired service takes the live
/// `desiredCount`, so no plan changes it (a first deploy, with no live
/// service, starts at the spec's count). Returns, per address, why — for
/// the change's reason and the plan's warnings — where the spec asks for
/// another count.
fn keep_scaled_counts(wants: &mut [Want], index: &Index, blue_green: &HashMap<String, BlueGreenLive>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for w in wants.iter_mut().filter(|w| w.kind == Kind::Service) {
        let observed_address = blue_green.get(&w.address).map_or(w.address.as_str(), |bg| bg.live_address.as_str());
        let Some(live) = index.get(observed_address) else { continue };
        let Some(target) = live.spec.get("scalableTarget").filter(|t| t.is_object()) else { continue };
        let Some(count) = live.spec.get("desiredCount").and_then(Value::as_u64) else { continue };
        let asked = w.spec.get("desiredCount").and_then(Value::as_u64);
        w.spec["desiredCount"] = count.into();
        if asked != Some(count) {
            let bound = |key: &str| target.get(key).and_then(Value::as_u64).map_or_else(|| "?".to_string(), |n| n.to_string());
            let spec = asked.map_or_else(String::new, |n| format!(", not the spec's {n}"));
            out.insert(
                w.address.clone(),
                format!(
                    "desiredCount is managed by Application Auto Scaling (min {}, max {}): berth leaves it at {count}{spec}",
                    bound("minCapacity"),
                    bound("maxCapacity")
                ),
            );
        }
    }
    out
}

/// A scaler with scheduled actions has the bounds its last action set: the
/// plan keeps the live ones (as it keeps the count), or every plan after
/// a schedule fired would set them back.
fn keep_scheduled_bounds(wants: &mut [Want], index: &Index, blue_green: &HashMap<String, BlueGreenLive>) {
    for w in wants.iter_mut().filter(|w| w.kind == Kind::ScalableTarget) {
        if w.spec.get("scheduledActions").and_then(Value::as_array).is_none_or(Vec::is_empty) {
            continue;
        }
        let Some(live) = index.get(&scaler_observed_at(&w.address, blue_green).unwrap_or_else(|| w.address.clone())) else { continue };
        // A live bound one of the scheduled actions sets is the schedule's
        // (kept); any other is the spec's old one, so the spec's applies.
        let actions: Vec<Value> = w.spec["scheduledActions"].as_array().cloned().unwrap_or_default();
        for key in ["minCapacity", "maxCapacity"] {
            let Some(n) = live.spec.get(key).filter(|n| n.is_u64()) else { continue };
            if actions.iter().any(|a| a.pointer(&format!("/scalableTargetAction/{key}")) == Some(n)) {
                w.spec[key] = n.clone();
            }
        }
    }
}

/// A spec without `capacity` leaves a cluster's capacity providers as they
/// are: berth adds the ones its strategies need and never takes one away
/// (the cluster may be shared, and ECS refuses to remove one in use).
fn keep_cluster_providers(wants: &mut [Want], index: &Index) {
    for w in wants.iter_mut().filter(|w| w.kind == Kind::Cluster) {
        if w.spec.get("capacityProviders").and_then(Value::as_array).is_some_and(|a| !a.is_empty()) {
            continue;
        }
        if let Some(live) = index.get(&w.address).and_then(|l| l.spec.get("capacityProviders")).filter(|v| v.is_array()) {
            w.spec["capacityProviders"] = live.clone();
        }
    }
}

/// Where the scaler (`scaling.<service>`) of a blue/green service is
/// observed: the live color's (`scaling.<service>-<color>`).
fn scaler_observed_at(address: &str, blue_green: &HashMap<String, BlueGreenLive>) -> Option<String> {
    let bg = blue_green.get(&format!("service.{}", address.strip_prefix("scaling.")?))?;
    Some(bg.live_address.replacen("service.", "scaling.", 1))
}

/// Where a blue/green service lives now.
struct BlueGreenLive {
    live_address: String,
    idle_address: String,
}

/// For each blue/green service: which color is live (the one the listener
/// rules send most traffic to; blue before the first deployment), with the
/// spec pointed at it. Rule weights are the deployment's business: the plan
/// keeps the live ones.
fn blue_green_live_colors(wants: &mut [Want], index: &Index, arns: &ArnMap) -> HashMap<String, BlueGreenLive> {
    let mut out = HashMap::new();
    let services: Vec<(String, String)> = wants
        .iter()
        .filter(|w| w.kind == Kind::Service)
        .filter_map(|w| w.spec.get("blueGreen")?.get("baseName")?.as_str().map(|b| (w.address.clone(), b.to_string())))
        .collect();
    for (address, base) in services {
        let short = address.trim_start_matches("service.").to_string();
        let tg = |color: &str| format!("tg.{short}-{color}");
        // Live weights per color, from the observed rules of this service.
        let mut weights: HashMap<&str, u64> = HashMap::new();
        let rule_prefix = format!("rule.{short}/");
        for w in wants.iter_mut().filter(|w| w.kind == Kind::ListenerRule && w.address.starts_with(&rule_prefix)) {
            let Some(live) = index.get(&w.address) else { continue };
            let Some(live_tgs) = live.spec.pointer("/actions/0/forwardConfig/targetGroups").and_then(Value::as_array) else { continue };
            let live_weight = |addr: &str| {
                live_tgs
                    .iter()
                    .find(|t| t["targetGroupArn"].as_str().map(|a| arns.get(a).map_or(a, String::as_str)) == Some(addr))
                    .and_then(|t| t["weight"].as_u64())
            };
            for color in ["blue", "green"] {
                if let Some(weight) = live_weight(&tg(color)) {
                    *weights.entry(color).or_default() += weight;
                }
            }
            if let Some(Value::Array(tgs)) = w.spec.pointer_mut("/actions/0/forwardConfig/targetGroups") {
                for t in tgs.iter_mut() {
                    if let Some(weight) = t["targetGroupArn"].as_str().and_then(live_weight) {
                        t["weight"] = weight.into();
                    }
                }
            }
        }
        let green = weights.get("green").copied().unwrap_or(0);
        let blue = weights.get("blue").copied().unwrap_or(0);
        let live_color = if green > blue
            || (weights.is_empty() && index.get(&format!("{address}-green")).is_some() && index.get(&format!("{address}-blue")).is_none())
        {
            "green"
        } else {
            "blue"
        };
        let idle_color = if live_color == "blue" { "green" } else { "blue" };
        if let Some(w) = wants.iter_mut().find(|w| w.address == address) {
            w.spec["serviceName"] = Value::String(format!("{base}-{live_color}"));
            if let Some(Value::Array(lbs)) = w.spec.get_mut("loadBalancers") {
                for lb in lbs.iter_mut() {
                    lb["targetGroupArn"] = Value::String(tg(live_color));
                }
            }
        }
        // Its scaler is the live color's.
        let scaling = address.replacen("service.", "scaling.", 1);
        // (Lowered on blue.)
        if let Some(w) = wants.iter_mut().find(|w| w.address == scaling) {
            crate::scaling::move_to_color(&mut w.spec, &short, "blue", live_color);
        }
        out.insert(
            address.clone(),
            BlueGreenLive { live_address: format!("{address}-{live_color}"), idle_address: format!("{address}-{idle_color}") },
        );
    }
    out
}

fn delete_change(live: &LiveResource, arns: &ArnMap) -> Change {
    debug_assert!(DELETE_ORDER.contains(&live.kind));
    let images = live.spec["imageCount"].as_u64().unwrap_or(0);
    let reason = if let Some((address, _)) = live.address.split_once(DUPLICATE_SUFFIX) {
        format!(
            "a second live {} at {address} ({}), left by an interrupted run; deleted once nothing uses it",
            live.kind.as_str(),
            live.name
        )
    } else if live.kind == Kind::EcrRepository && images > 0 {
        format!("no longer in the spec; it holds {images} images, which apply deletes only with --delete-images")
    } else {
        "no longer in the spec".to_string()
    };
    Change {
        address: live.address.clone(),
        kind: live.kind.as_str().into(),
        action: Action::Delete,
        reason,
        before: Some(normalize(live.kind, &live.spec, arns)),
        after: None,
        changed: Vec::new(),
        arn: Some(live.arn.clone()),
        depends_on: Vec::new(),
    }
}

/// Fields AWS cannot update in place, per kind.
fn replace_fields(kind: Kind, changed: &[String]) -> Vec<String> {
    let fixed: &[&str] = match kind {
        Kind::TargetGroup => &["name", "port", "protocol", "targetType", "vpcId"],
        Kind::Service => &["launchType", "schedulingStrategy", "deploymentController", "serviceName", "cluster"],
        Kind::EcrRepository => &["encryptionConfiguration", "repositoryName"],
        Kind::Namespace => &["name", "vpc"],
        Kind::CloudMapService => &["name", "namespace", "dnsConfig"],
        Kind::LoadBalancer => &["name", "scheme", "type"],
        // Another service (a blue/green color) is another scalable target.
        Kind::ScalableTarget => &["resourceId", "serviceNamespace", "scalableDimension"],
        _ => &[],
    };
    let mut out: Vec<String> = changed
        .iter()
        .filter_map(|p| {
            let top = p.split(['.', '[']).next().unwrap_or(p);
            fixed.contains(&top).then(|| top.to_string())
        })
        .collect();
    out.dedup();
    out
}

/// Listener rules keep the priority they have; new ones get the lowest
/// free priority in the range; none takes a priority another rule holds.
/// Returns warnings about new rules that an existing rule of the app, kept
/// at a lower priority, would shadow.
fn allocate_priorities(wants: &mut [Want], observed: &Observed, index: &Index, ctx: &PlanContext) -> Result<Vec<String>, PlanError> {
    let taken: HashMap<u32, &TakenPriority> = observed.taken_priorities.iter().map(|t| (t.priority, t)).collect();
    let holder_of = |p: u32| taken.get(&p).copied();
    let live_rule =
        |address: &str| index.get(address).map(|l| (l.spec.get("priority").and_then(Value::as_u64).map(|p| p as u32), l.arn.clone()));
    let mut claimed: BTreeSet<u32> = BTreeSet::new();
    // 1. Priorities the spec fixes: free, or already this rule's.
    for w in wants.iter().filter(|w| w.kind == Kind::ListenerRule) {
        let Some(p) = w.spec.get("priority").and_then(Value::as_u64).map(|p| p as u32) else { continue };
        let own_arn = live_rule(&w.address).map(|(_, arn)| arn);
        if let Some(t) = holder_of(p) {
            if own_arn.as_deref() != Some(t.rule_arn.as_str()) {
                let holder = match &t.owner {
                    Some(owner) => format!("rule {} of app {owner}", t.rule_arn),
                    None => format!("rule {} (not managed by berth)", t.rule_arn),
                };
                return Err(PlanError::PriorityTaken { address: w.address.clone(), priority: p, holder });
            }
        }
        claimed.insert(p);
    }
    // 2. Existing rules keep theirs (no churn on re-plan).
    for w in wants.iter_mut().filter(|w| w.kind == Kind::ListenerRule && w.spec.get("priority").is_none()) {
        if let Some((Some(p), _)) = live_rule(&w.address) {
            if claimed.insert(p) {
                w.spec["priority"] = p.into();
            }
        }
    }
    // 3. New rules take the lowest priority nobody holds (the candidate
    // only moves up, so allocating n rules is one pass over the range).
    // ELB evaluates the lowest priority first, so the most specific new
    // rules go first: a `/*` catch-all must not shadow `/admin/*`.
    let (from, to) = ctx.priority_range;
    let mut next = from;
    let mut new_rules: Vec<&mut Want> =
        wants.iter_mut().filter(|w| w.kind == Kind::ListenerRule && w.spec.get("priority").is_none()).collect();
    new_rules.sort_by_key(|w| std::cmp::Reverse(rule_specificity(&w.spec)));
    let mut new_addresses = BTreeSet::new();
    for w in new_rules {
        let Some(p) = (next..=to).find(|p| !claimed.contains(p) && holder_of(*p).is_none()) else {
            return Err(PlanError::NoFreePriority { address: w.address.clone(), from, to });
        };
        w.spec["priority"] = p.into();
        claimed.insert(p);
        next = p + 1;
        new_addresses.insert(w.address.clone());
    }
    Ok(shadowed_rules(wants, &new_addresses))
}

/// The prefix of plan warnings about routing.
pub const ROUTE_WARNING: &str = "warning: route: ";

/// ELB matches the lowest priority first: a new rule placed after a kept
/// rule of the app that matches everything it matches never gets traffic.
fn shadowed_rules(wants: &[Want], new_addresses: &BTreeSet<String>) -> Vec<String> {
    // Split once: a first plan of a big app has only new rules, and must
    // not compare each with each.
    let (new_rules, kept): (Vec<&Want>, Vec<&Want>) =
        wants.iter().filter(|w| w.kind == Kind::ListenerRule).partition(|w| new_addresses.contains(&w.address));
    let priority = |w: &Want| w.spec.get("priority").and_then(Value::as_u64).unwrap_or(u64::MAX);
    let mut out = Vec::new();
    for new in new_rules {
        let shadow = kept
            .iter()
            .filter(|old| priority(old) < priority(new))
            .find(|old| old.spec.get("listenerArn") == new.spec.get("listenerArn") && covers(&old.spec, &new.spec));
        if let Some(old) = shadow {
            out.push(format!(
                "{ROUTE_WARNING}{} gets priority {} after {} (priority {}), which matches all of its requests first, so it would never receive traffic; set its x-berth.route.priority below {}",
                new.address,
                priority(new),
                old.address,
                priority(old),
                priority(old)
            ));
        }
    }
    out
}

/// Whether every request `inner` matches is matched by `outer`: the same
/// hosts (or none), and a path pattern `<prefix>*` every inner path starts with.
fn covers(outer: &Value, inner: &Value) -> bool {
    fn values<'a>(rule: &'a Value, field: &'static str) -> Vec<&'a str> {
        condition_values(rule, field).collect()
    }
    let (outer_hosts, inner_hosts) = (values(outer, "host-header"), values(inner, "host-header"));
    if !outer_hosts.is_empty() && outer_hosts != inner_hosts {
        return false;
    }
    let (outer_paths, inner_paths) = (values(outer, "path-pattern"), values(inner, "path-pattern"));
    if outer_paths.is_empty() {
        return true;
    }
    outer_paths
        .iter()
        .filter_map(|p| p.strip_suffix('*'))
        .filter(|prefix| !prefix.contains(['*', '?']))
        .any(|prefix| !inner_paths.is_empty() && inner_paths.iter().all(|p| p.starts_with(prefix)))
}

/// How specific a listener rule's match is: host conditions first, then
/// the longest literal (wildcard-free) prefix of its path patterns.
fn rule_specificity(rule: &Value) -> (bool, usize) {
    let values = |field| condition_values(rule, field);
    let has_host = values("host-header").next().is_some();
    let literal = values("path-pattern").map(|p| p.find(['*', '?']).unwrap_or(p.len())).min().unwrap_or(0);
    (has_host, literal)
}

/// The values of a listener rule's conditions on `field` (`path-pattern`, `host-header`).
fn condition_values<'a>(rule: &'a Value, field: &'static str) -> impl Iterator<Item = &'a str> {
    rule.get("conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(move |c| c.get("field").and_then(Value::as_str) == Some(field))
        .flat_map(|c| c.get("values").and_then(Value::as_array).into_iter().flatten())
        .filter_map(Value::as_str)
}

/// The leaf paths where two normalized values differ. Lists of objects with
/// a `name` (containers, environment) are matched by name.
pub fn changed_paths(before: &Value, after: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(before, after, String::new(), &mut out);
    out
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}.{key}")
    }
}

fn walk(a: &Value, b: &Value, path: String, out: &mut Vec<String>) {
    if a == b {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = join(&path, k);
                match (x.get(k), y.get(k)) {
                    (Some(va), Some(vb)) => walk(va, vb, p, out),
                    _ => out.push(p),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if named(x) && named(y) => {
            let names: BTreeSet<&str> = x.iter().chain(y.iter()).filter_map(|v| v["name"].as_str()).collect();
            for n in names {
                let p = format!("{path}[{n}]");
                match (x.iter().find(|v| v["name"] == n), y.iter().find(|v| v["name"] == n)) {
                    (Some(va), Some(vb)) => walk(va, vb, p, out),
                    _ => out.push(p),
                }
            }
        }
        _ => out.push(if path.is_empty() { "(root)".into() } else { path }),
    }
}

fn named(items: &[Value]) -> bool {
    !items.is_empty() && items.iter().all(|v| v.get("name").is_some_and(Value::is_string))
}
