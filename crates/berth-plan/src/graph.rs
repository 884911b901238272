//! The plan's dependency graph: each change lists, in `depends_on`, the
//! changes of the same plan that must be done before it starts. Apply runs
//! the graph (everything whose needs are met runs at once); the order of
//! `Plan::changes` is one topological order of it, for reading.
//!
//! Creates and updates need what they reference: a rule its target groups
//! (and the listener of a load balancer berth creates), a service its task
//! definition, cluster, target groups, the rules that attach those target
//! groups to a listener, its Cloud Map service and the services it
//! `depends_on`; a Cloud Map service its namespace. Deletes run the other
//! way: a resource is deleted after every change that stops using it (the
//! updates that move off it, the deletes of what references it).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::diff::LB_LISTENER;
use crate::order::DELETE_ORDER;
use crate::plan::{Action, Change};

/// Every string in a value (tags aside: they are data, not references).
fn strings<'a>(v: &'a Value, out: &mut BTreeSet<&'a str>) {
    match v {
        Value::String(s) => {
            out.insert(s.as_str());
        }
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(m) => m.iter().filter(|(k, _)| k.as_str() != "tags").for_each(|(_, x)| strings(x, out)),
        _ => {}
    }
}

fn refs(v: Option<&Value>) -> BTreeSet<&str> {
    let mut out = BTreeSet::new();
    if let Some(v) = v {
        strings(v, &mut out);
    }
    out
}

fn rank(kind: &str) -> usize {
    berth_provider::Kind::parse(kind).and_then(|k| DELETE_ORDER.iter().position(|o| *o == k)).unwrap_or(DELETE_ORDER.len())
}

/// `tg.web~old` and `tg.web~dup1` stand for the live `tg.web` they replace.
fn base(address: &str) -> &str {
    address.split('~').next().unwrap_or(address)
}

/// Fills in every change's `depends_on` (keeping the ones it has) with the
/// edges described above, restricted to changes of this plan.
pub fn link(changes: &mut [Change]) {
    let addresses: BTreeSet<String> = changes.iter().map(|c| c.address.clone()).collect();
    let forward: BTreeSet<String> = changes.iter().filter(|c| c.action != Action::Delete).map(|c| c.address.clone()).collect();
    // Target group → the forward rule changes that send it traffic.
    let mut rules_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for c in changes.iter().filter(|c| (c.kind == "listener_rule" || c.kind == "listener") && c.action != Action::Delete) {
        for r in refs(c.after.as_ref()) {
            if r.starts_with("tg.") {
                rules_of.entry(r).or_default().push(c.address.as_str());
            }
        }
    }
    let mut edges: Vec<BTreeSet<String>> = Vec::with_capacity(changes.len());
    for c in changes.iter() {
        let mut needs: BTreeSet<String> = c.depends_on.iter().filter(|d| addresses.contains(*d)).cloned().collect();
        if c.action == Action::Delete {
            delete_needs(c, changes, &mut needs);
        } else {
            let after = refs(c.after.as_ref());
            needs.extend(after.iter().filter(|r| forward.contains(**r)).map(|r| r.to_string()));
            let field = |k: &str| c.after.as_ref().and_then(|a| a.get(k)).and_then(Value::as_str).map(str::to_string);
            match c.kind.as_str() {
                "service" => {
                    let short = c.address.trim_start_matches("service.");
                    needs.insert(format!("taskdef.{short}"));
                    if let Some(cluster) = field("cluster") {
                        needs.insert(format!("cluster.{cluster}"));
                    }
                    // ECS attaches a target group only once a listener forwards to it.
                    for tg in after.iter().filter(|r| r.starts_with("tg.")) {
                        needs.extend(rules_of.get(tg).into_iter().flatten().map(|r| r.to_string()));
                    }
                }
                // Its containers log to the group (awslogs fails a task whose group is missing).
                "task_definition" => {
                    let containers = c.after.as_ref().and_then(|a| a.get("containerDefinitions")).and_then(Value::as_array);
                    for l in containers.into_iter().flatten().filter_map(|c| c.get("logConfiguration")) {
                        if let Some(g) = l.get("options").and_then(|o| o.get("awslogs-group")).and_then(Value::as_str) {
                            needs.insert(format!("logs.{g}"));
                        }
                    }
                }
                "cloud_map_service" => {
                    if let Some(ns) = field("namespace") {
                        needs.insert(format!("namespace.{ns}"));
                    }
                }
                "listener_rule" if after.contains(LB_LISTENER) => {
                    needs.insert("lb.main".to_string());
                }
                _ => {}
            }
            // A replacement may take the name an extra live one (`~dupN`) holds.
            if c.action == Action::Replace {
                let dups = format!("{}~dup", c.address);
                needs.extend(
                    changes.iter().filter(|o| o.action == Action::Delete && o.address.starts_with(&dups)).map(|o| o.address.clone()),
                );
            }
        }
        needs.remove(&c.address);
        needs.retain(|n| addresses.contains(n));
        edges.push(needs);
    }
    for (c, needs) in changes.iter_mut().zip(edges) {
        c.depends_on = needs.into_iter().collect();
    }
}

fn delete_needs(c: &Change, changes: &[Change], needs: &mut BTreeSet<String>) {
    let me = c.address.as_str();
    let live = base(me);
    let mine = refs(c.before.as_ref());
    for other in changes.iter().filter(|o| o.address != me) {
        let before = refs(other.before.as_ref());
        let uses_me = before.contains(me) || (me.ends_with("~old") && before.contains(live));
        match other.action {
            // Moves off this resource first.
            Action::Create | Action::Update | Action::Replace | Action::Adopt if uses_me && other.kind != c.kind => {
                needs.insert(other.address.clone());
            }
            // Of two related deletes, traffic goes first: DELETE_ORDER (a
            // rule before its target group, that before its service, the
            // service before its Cloud Map service).
            Action::Delete if (uses_me || mine.contains(other.address.as_str())) && rank(&other.kind) < rank(&c.kind) => {
                needs.insert(other.address.clone());
            }
            _ => {}
        }
    }
    let kind_deletes = |kind: &'static str| {
        changes.iter().filter(move |o| o.action == Action::Delete && o.kind == kind).map(|o| o.address.clone()).collect::<Vec<_>>()
    };
    match c.kind.as_str() {
        // A revision is deregistered once no service of it is left.
        "task_definition" => {
            let short = live.trim_start_matches("taskdef.");
            let service = format!("service.{short}");
            needs.extend(kind_deletes("service").into_iter().filter(|s| s == &service || s.starts_with(&format!("{service}-"))));
        }
        "namespace" => {
            let name = live.trim_start_matches("namespace.");
            needs.extend(
                changes
                    .iter()
                    .filter(|o| o.action == Action::Delete && o.kind == "cloud_map_service")
                    .filter(|o| o.before.as_ref().and_then(|b| b.get("namespace")).and_then(Value::as_str) == Some(name))
                    .map(|o| o.address.clone()),
            );
        }
        "load_balancer" => {
            needs.extend(kind_deletes("listener_rule").into_iter().chain(kind_deletes("listener")).chain(kind_deletes("target_group")));
        }
        "cluster" => {
            needs.extend(kind_deletes("service"));
        }
        // The log group goes after the services and revisions that wrote to it.
        "log_group" => {
            needs.extend(kind_deletes("service").into_iter().chain(kind_deletes("task_definition")));
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn change(address: &str, kind: &str, action: Action, before: Option<Value>, after: Option<Value>) -> Change {
        Change {
            address: address.into(),
            kind: kind.into(),
            action,
            reason: String::new(),
            before,
            after,
            changed: vec![],
            arn: None,
            depends_on: vec![],
        }
    }

    #[test]
    fn creates_need_what_they_reference_and_deletes_what_stops_using_them() {
        let mut changes = vec![
            change("taskdef.web", "task_definition", Action::Create, None, Some(json!({"family": "a-web"}))),
            change("tg.web", "target_group", Action::Replace, Some(json!({"port": 80})), Some(json!({"port": 81}))),
            change(
                "rule.web/0",
                "listener_rule",
                Action::Update,
                Some(json!({"actions": [{"targetGroupArn": "tg.web"}]})),
                Some(json!({"actions": [{"targetGroupArn": "tg.web"}]})),
            ),
            change("service.web", "service", Action::Update, Some(json!({"lb": "tg.web"})), Some(json!({"cluster": "a", "lb": "tg.web"}))),
            change("tg.web~old", "target_group", Action::Delete, Some(json!({"port": 80})), None),
            change("service.old", "service", Action::Delete, Some(json!({"cluster": "a", "lb": "tg.gone"})), None),
            change("tg.gone", "target_group", Action::Delete, Some(json!({})), None),
            change("taskdef.old", "task_definition", Action::Delete, Some(json!({})), None),
        ];
        link(&mut changes);
        let deps = |a: &str| changes.iter().find(|c| c.address == a).map(|c| c.depends_on.clone()).unwrap_or_default();
        assert_eq!(deps("rule.web/0"), vec!["tg.web"]);
        assert_eq!(deps("service.web"), vec!["rule.web/0", "taskdef.web", "tg.web"]);
        assert_eq!(deps("tg.web~old"), vec!["rule.web/0", "service.web"]);
        // Traffic first: the target group goes before the service that used it.
        assert_eq!(deps("service.old"), vec!["tg.gone"]);
        assert!(deps("tg.gone").is_empty());
        assert_eq!(deps("taskdef.old"), vec!["service.old"]);
        assert!(deps("taskdef.web").is_empty());
    }
}
