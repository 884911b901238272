//! `berth import --cluster C --service S…`: reads live ECS services (their
//! running task definition, target groups, listener rules, network) and
//! writes a Compose file with the x-berth keys that reproduce them, so that
//! `berth plan --adopt` shows only the adoption of each resource. What the
//! spec format cannot say is a warning naming the field, never dropped.

use berth_provider::{Kind, LiveResource, Observed, Scope};
use serde_json::{json, Map, Value};

use crate::cli::{Cli, ImportArgs};
use crate::commands::{backend, Backend};
use crate::{ExitStatus, Io};

mod container;
mod discovery;
mod service;
mod spec;

use spec::{Spec, Written};

pub fn run(cli: &Cli, args: &ImportArgs, io: &mut Io) -> anyhow::Result<ExitStatus> {
    let app = args.app.clone().unwrap_or_else(|| args.cluster.clone());
    let rt = backend::runtime()?;
    let backend = rt.block_on(Backend::open_in(cli, io, None))?;
    let provider = backend.provider();
    // The services name their task definitions and target groups, and
    // those their containers (Cloud Map's names): observe until the names
    // to read stop growing (three rounds at most).
    let mut scope = Scope {
        app: app.clone(),
        cluster: args.cluster.clone(),
        listener: args.listener.clone(),
        task_families: args.services.clone(),
        // A blue/green pair berth made is `<name>-blue` and `<name>-green`.
        service_names: args.services.iter().flat_map(|s| [s.clone(), format!("{s}-blue"), format!("{s}-green")]).collect(),
        namespace: args.namespace.clone(),
        ..Scope::default()
    };
    let mut observed = rt.block_on(provider.observe(&scope))?;
    for _ in 0..2 {
        if !widen(&mut scope, &observed, &args.services) {
            break;
        }
        observed = rt.block_on(provider.observe(&scope))?;
    }
    backend.finish(cli, io)?;

    let place = Place { app: &app, cluster: &args.cluster, listener: args.listener.as_deref(), namespace: args.namespace.as_deref() };
    let mut spec = Spec::new(&place, &observed);
    let written = args.services.iter().try_for_each(|s| spec.service(s)).and_then(|()| spec.finish());
    let Written { mut spec, services: count, warnings, notes } = match written {
        Ok(written) => written,
        Err(e) => {
            writeln!(io.stderr, "error: {e}")?;
            return Ok(ExitStatus::Error);
        }
    };
    escape_interpolation(&mut spec);
    let mut text = format!(
        "# Written by `berth import` from the live services {} of cluster {}.\n# Adopt them with `berth plan --adopt` (it should show only adopt changes) and `berth apply --adopt`.\n",
        args.services.join(", "),
        args.cluster
    );
    for w in &warnings {
        text.push_str(&format!("# warning: {w}\n"));
    }
    for n in &notes {
        text.push_str(&format!("# note: {n}\n"));
    }
    text.push_str(&serde_yaml::to_string(&spec)?);
    std::fs::write(io.cwd.join(&args.out), text)?;
    for w in &warnings {
        writeln!(io.stderr, "warning: {w}")?;
    }
    for n in &notes {
        writeln!(io.stderr, "note: {n}")?;
    }
    writeln!(io.stderr, "Wrote {} ({count} services, {} warnings).", args.out.display(), warnings.len())?;
    Ok(ExitStatus::Success)
}

/// Compose interpolates `$NAME` and `${NAME}` in every value: a live `$`
/// (a shell command, a price) is written `$$`, so it reads back as itself.
fn escape_interpolation(v: &mut Value) {
    match v {
        Value::String(s) if s.contains('$') => *s = s.replace('$', "$$"),
        Value::Array(items) => items.iter_mut().for_each(escape_interpolation),
        Value::Object(map) => map.values_mut().for_each(escape_interpolation),
        _ => {}
    }
}

/// Where the services live: the app they become, and what import was given.
struct Place<'a> {
    app: &'a str,
    cluster: &'a str,
    listener: Option<&'a str>,
    namespace: Option<&'a str>,
}

/// Adds to the scope the names the observed services use: their task
/// definition families, target groups, and (as Cloud Map names) their
/// containers'. `false` when there was nothing new.
fn widen(scope: &mut Scope, observed: &Observed, services: &[String]) -> bool {
    let before = (scope.task_families.len(), scope.target_group_names.len(), scope.cloud_map_names.len(), scope.log_group_names.len());
    let add = |list: &mut Vec<String>, name: String| {
        if !list.contains(&name) {
            list.push(name);
        }
    };
    let wanted =
        |name: &str| services.iter().any(|s| name == s || name.strip_prefix(s.as_str()).is_some_and(|c| c == "-blue" || c == "-green"));
    for svc in observed.resources.iter().filter(|r| r.kind == Kind::Service && wanted(&r.name)) {
        if let Some(family) = svc.spec["taskDefinition"].as_str().map(family_of) {
            add(&mut scope.task_families, family.to_string());
        }
        for tg in svc.spec["loadBalancers"].as_array().into_iter().flatten().filter_map(|lb| lb["targetGroupArn"].as_str()) {
            if let Some(name) = tg_name(tg) {
                add(&mut scope.target_group_names, name);
            }
        }
    }
    for td in observed.resources.iter().filter(|r| r.kind == Kind::TaskDefinition) {
        for c in td.spec["containerDefinitions"].as_array().into_iter().flatten() {
            if let Some(name) = c["name"].as_str() {
                add(&mut scope.cloud_map_names, name.to_string());
            }
            if let Some(group) = c.pointer("/logConfiguration/options/awslogs-group").and_then(Value::as_str) {
                add(&mut scope.log_group_names, group.to_string());
            }
        }
    }
    before != (scope.task_families.len(), scope.target_group_names.len(), scope.cloud_map_names.len(), scope.log_group_names.len())
}

/// `arn:…:task-definition/<family>:<revision>` (or `<family>:<revision>`) → `<family>`.
fn family_of(arn: &str) -> &str {
    berth_engine::wait::short(arn).split(':').next().unwrap_or_default()
}

/// `…:targetgroup/<name>/<id>` → `<name>`.
fn tg_name(arn: &str) -> Option<String> {
    arn.split_once(":targetgroup/").and_then(|(_, r)| r.split('/').next()).map(str::to_string)
}

fn find(observed: &Observed, kind: Kind, pred: impl Fn(&LiveResource) -> bool) -> Option<&LiveResource> {
    observed.resources.iter().find(|r| r.kind == kind && pred(r))
}

/// Seconds as a Compose duration.
fn secs(n: &Value) -> Value {
    Value::String(format!("{}s", n.as_u64().unwrap_or(0)))
}

/// Warns about every key of `obj` not in `known`.
fn leftover(obj: &Map<String, Value>, known: &[&str], at: &str, warnings: &mut Vec<String>) {
    for (k, v) in obj {
        if !known.contains(&k.as_str()) && !v.is_null() && v != &json!([]) && v != &json!({}) {
            warnings.push(format!("{at}.{k} = {v} is not imported: berth's spec has no key for it"));
        }
    }
}
