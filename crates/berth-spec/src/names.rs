//! The live names of a service's resources: berth's `<app>-<service>` for
//! the ECS service, the task definition family and the target group, or
//! what `x-berth.names` says, for resources made before berth (the names
//! `berth import` reads back). A blue/green service's colors add `-blue`
//! and `-green` to the service and target group names.

use std::collections::HashMap;

use crate::app::Names;
use crate::resolve::{p, Ctx, REPLACEMENT_SUFFIX, TARGET_GROUP_NAME_MAX};
use crate::types;

/// ECS's limit for service names and task definition families.
const ECS_NAME_MAX: usize = 255;
/// The longest color suffix blue/green adds to a name.
const COLOR_SUFFIX: &str = "-green";

/// The names of service `name`'s resources; errors for names AWS would refuse.
pub(crate) fn resolve_names(cx: &mut Ctx, app: &str, name: &str, svc: &types::Service, routed: bool, blue_green: bool) -> Names {
    let given = svc.x_berth.as_ref().and_then(|x| x.names.clone()).unwrap_or_default();
    let default = format!("{app}-{name}");
    let at = |key: &str| p(&["services", name, "x-berth", "names", key]);
    let suffix = if blue_green { COLOR_SUFFIX } else { "" };

    let service = given.service.clone().unwrap_or_else(|| default.clone());
    check_ecs_name(cx, &at("service"), "service", &service, suffix, given.service.is_some());
    let family = given.family.clone().unwrap_or_else(|| default.clone());
    check_ecs_name(cx, &at("family"), "task definition family", &family, "", given.family.is_some());

    let target_group = given.target_group.clone().unwrap_or_else(|| default.clone());
    if given.target_group.is_some() && !routed {
        cx.error(
            &at("target_group"),
            "a target group name is given, but the service has no route",
            Some("add `x-berth.route`, or remove `names.target_group`"),
        );
    } else if routed {
        check_target_group_name(cx, name, &target_group, suffix, given.target_group.is_some());
    }
    Names { service, family, target_group }
}

fn check_ecs_name(cx: &mut Ctx, path: &[crate::node::Seg], what: &str, name: &str, suffix: &str, given: bool) {
    let full = format!("{name}{suffix}");
    let hint = if given { "use up to 255 letters, digits, - and _" } else { "shorten the app name (`name:`) or the service name" };
    if name.is_empty() || full.len() > ECS_NAME_MAX {
        cx.error(path, format!("{what} name {full:?} is {} characters; ECS allows 1 to {ECS_NAME_MAX}", full.len()), Some(hint));
    } else if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        cx.error(path, format!("{what} name {name:?} may only hold letters, digits, - and _"), Some(hint));
    }
}

fn check_target_group_name(cx: &mut Ctx, service: &str, name: &str, suffix: &str, given: bool) {
    let path =
        if given { p(&["services", service, "x-berth", "names", "target_group"]) } else { p(&["services", service, "x-berth", "route"]) };
    let full = format!("{name}{suffix}");
    let hint = if given {
        "give a shorter `names.target_group`"
    } else {
        "shorten the app name (`name:`) or the service name, or set `x-berth.names.target_group`"
    };
    if full.len() > TARGET_GROUP_NAME_MAX {
        cx.error(
            &path,
            format!(
                "target group name {full:?} is {} characters; berth allows {TARGET_GROUP_NAME_MAX} (AWS's 32, less the `{REPLACEMENT_SUFFIX}` of a replacement)",
                full.len()
            ),
            Some(hint),
        );
    } else if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        cx.error(
            &path,
            format!("target group name {name:?} may only hold letters, digits and hyphens"),
            Some("rename it without `_` or `.`"),
        );
    } else if name.starts_with('-') || name.ends_with('-') || name.starts_with("internal-") {
        cx.error(&path, format!("target group name {name:?} may not begin or end with a hyphen, nor begin with `internal-`"), None);
    }
}

/// A service of the app, as [`check_unique`] compares it.
pub(crate) struct Named {
    pub service: String,
    pub names: Names,
    pub routed: bool,
    pub blue_green: bool,
}

/// Two services of the app may not take the same live name (a blue/green
/// service's are its colors'); the error is at the one whose `x-berth.names`
/// chose it.
pub(crate) fn check_unique(cx: &mut Ctx, app: &str, tasks: &[Named]) {
    for (key, pick) in [
        ("service", (|n: &Names| n.service.clone()) as fn(&Names) -> String),
        ("family", |n: &Names| n.family.clone()),
        ("target_group", |n: &Names| n.target_group.clone()),
    ] {
        let mut seen: HashMap<String, &str> = HashMap::new();
        for t in tasks {
            if key == "target_group" && !t.routed {
                continue;
            }
            let base = pick(&t.names);
            let live: Vec<String> =
                if t.blue_green && key != "family" { vec![format!("{base}-blue"), format!("{base}-green")] } else { vec![base.clone()] };
            for name in live {
                if let Some(first) = seen.insert(name.clone(), &t.service) {
                    let service = t.service.as_str();
                    let (at, other) = if base == format!("{app}-{service}") { (first, service) } else { (service, first) };
                    cx.error(
                        &p(&["services", at, "x-berth", "names", key]),
                        format!("{at} and {other} would both be named {name:?}"),
                        Some("give each service its own name"),
                    );
                }
            }
        }
    }
}
