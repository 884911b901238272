//! `berth import --cluster C --service S…`: reads live ECS services (their
//! running task definition, target groups, listener rules, network) and
//! writes a Compose file with the x-berth keys that reproduce them, so that
//! `berth plan --adopt` shows only the adoption of each resource. What the
//! spec format cannot say is a warning naming the field, never dropped.

use std::collections::BTreeSet;

use berth_provider::{Kind, LiveResource, Observed, Scope};
use serde_json::{json, Map, Value};

use crate::cli::{Cli, ImportArgs};
use crate::commands::{backend, Backend};
use crate::{ExitStatus, Io};

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

    let (mut warnings, mut notes) = (Vec::new(), Vec::new());
    let place = Place { app: &app, cluster: &args.cluster, listener: args.listener.as_deref(), namespace: args.namespace.as_deref() };
    let (spec, count) = match compose(&place, &args.services, &observed, &mut warnings, &mut notes) {
        Ok((mut spec, count)) => {
            escape_interpolation(&mut spec);
            (spec, count)
        }
        Err(e) => {
            writeln!(io.stderr, "error: {e}")?;
            return Ok(ExitStatus::Error);
        }
    };
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
    arn.rsplit_once("task-definition/").map_or(arn, |(_, r)| r).split(':').next().unwrap_or_default()
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

/// The spec of the live `services`, and how many were written.
/// `warnings` name what the spec cannot say; `notes`, what it says that AWS
/// does not hold (so import could not read it).
fn compose(
    place: &Place,
    services: &[String],
    observed: &Observed,
    warnings: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Result<(Value, usize), String> {
    let Place { app, cluster, listener, namespace } = *place;
    let mut ttl: Option<u64> = None;
    let mut x = Map::new();
    if cluster != app {
        x.insert("cluster".into(), cluster.into());
    }
    let mut out_services = Map::new();
    let mut network: Option<Value> = None;
    let mut region: Option<String> = None;
    let mut logs = Map::new();
    let mut uses_listener = false;
    let mut top_secrets = Map::new();
    let mut top_volumes = Map::new();
    let mut connect_namespace: Option<String> = None;
    // Task definitions without a role, and services outside Service Connect:
    // the app's role and discovery would give them one.
    let mut roleless: Vec<(String, &str, &str)> = Vec::new();
    let mut unconnected: Vec<String> = Vec::new();
    // The compose service each live service became.
    let mut keys: Vec<(String, &str)> = Vec::new();
    for full in services {
        // A blue/green pair berth made (`<name>-blue`, `<name>-green`) is
        // read from its live color: the one with tasks wanted, else blue.
        let (svc, color) = match find(observed, Kind::Service, |r| &r.name == full) {
            Some(svc) => (svc, None),
            None => {
                let colors: Vec<(&str, &LiveResource)> = ["blue", "green"]
                    .into_iter()
                    .filter_map(|c| find(observed, Kind::Service, |r| r.name == format!("{full}-{c}")).map(|s| (c, s)))
                    .collect();
                let live = colors.iter().find(|(_, s)| s.spec["desiredCount"].as_u64().unwrap_or(0) > 0).or(colors.first());
                let (color, svc) = live.ok_or_else(|| format!("no service {full} in cluster {cluster}"))?;
                (*svc, Some(*color))
            }
        };
        let mut s = svc.spec.as_object().cloned().unwrap_or_default();
        let at = format!("service {full}");
        let td_arn = s.get("taskDefinition").and_then(Value::as_str).unwrap_or_default();
        let family = family_of(td_arn);
        let td = find(observed, Kind::TaskDefinition, |r| r.arn == td_arn)
            .or_else(|| find(observed, Kind::TaskDefinition, |r| r.name.split(':').next() == Some(family)))
            .ok_or_else(|| format!("{at}: its task definition {td_arn} was not found"))?;
        if td.arn != td_arn {
            warnings.push(format!("{at} runs {td_arn}, but the revision read is {}: the spec reproduces the latter", td.arn));
        }
        // The compose service is named after the task's main container (the
        // one the load balancer routes to, else the first), which keeps the
        // container's name; the live names berth would not give are kept.
        let containers = td.spec["containerDefinitions"].as_array().cloned().unwrap_or_default();
        let routed_container = s.get("loadBalancers").and_then(|l| l.pointer("/0/containerName")).and_then(Value::as_str);
        let main = routed_container
            .and_then(|n| containers.iter().position(|c| c["name"] == n))
            .or_else(|| containers.iter().position(|c| c["name"] != "berth-init"))
            .ok_or_else(|| format!("{at}: its task definition {} has no container", td.name))?;
        let key = containers[main]["name"].as_str().unwrap_or_default().to_string();
        if let Some((_, other)) = keys.iter().find(|(k, _)| *k == key) {
            return Err(format!(
                "{at} and service {other} both run a main container named {key}, which would be one compose service: import them into separate apps (one `berth import` each, with --app)"
            ));
        }
        keys.push((key.clone(), full));
        if color.is_some() {
            notes.push(format!(
                "service {full} is a blue/green pair: its traffic shift (traffic, step, interval, bake, verify) is berth's own, not AWS's, and is written as all_at_once; set x-berth.strategy.blue_green to yours"
            ));
        }
        let mut names = Map::new();
        let default = format!("{app}-{key}");
        if *full != default {
            names.insert("service".into(), full.clone().into());
        }
        if family != default {
            names.insert("family".into(), family.into());
        }
        // Cloud Map DNS discovery in the namespace given.
        let mut discovery = None;
        if let Some(ns) = namespace {
            let registries = s.get("serviceRegistries").and_then(Value::as_array).cloned().unwrap_or_default();
            let found = registries
                .iter()
                .filter_map(|r| r["registryArn"].as_str())
                .find_map(|arn| find(observed, Kind::CloudMapService, |c| c.arn == arn));
            match (registries.len(), found) {
                (0, _) => discovery = Some(false),
                (1, Some(cm)) if cm.name == key => match cloud_map_difference(cm, &registries[0], &containers, main, ns) {
                    Some(why) => warnings.push(format!("{at}.serviceRegistries: Cloud Map service {key} {why}: not imported")),
                    None => {
                        let this = cm.spec.pointer("/dnsConfig/dnsRecords/0/TTL").and_then(Value::as_u64);
                        match (ttl, this) {
                            (Some(first), Some(t)) if first != t => warnings.push(format!(
                                "{at}.serviceRegistries: Cloud Map service {key}'s TTL {t} differs from the first service's ({first}), and berth's TTL is the app's: not imported"
                            )),
                            _ => {
                                ttl = this.or(ttl);
                                discovery = Some(true);
                                s.remove("serviceRegistries");
                            }
                        }
                    }
                },
                (1, Some(cm)) => warnings.push(format!(
                    "{at}.serviceRegistries: Cloud Map service {} is not named after the service's container ({key}), as berth names it: not imported",
                    cm.name
                )),
                _ => warnings.push(format!("{at}.serviceRegistries: not a registration in namespace {ns} that import reads")),
            }
        }
        // ECS Service Connect in a namespace, as berth makes it: the service
        // serves its TCP ports under its name, or is a client only.
        if s.get("serviceConnectConfiguration").is_none_or(|c| c["enabled"] != json!(true)) {
            unconnected.push(at.clone());
        }
        if let Some(sc) = s.get("serviceConnectConfiguration").filter(|c| c["enabled"] == json!(true)).cloned() {
            let ns = sc["namespace"].as_str().unwrap_or_default();
            let ns = find(observed, Kind::Namespace, |n| n.arn == ns).map_or(ns.to_string(), |n| n.name.clone());
            let served = sc["services"].as_array().cloned().unwrap_or_default();
            let shape_ok = sc.as_object().is_some_and(|o| o.keys().all(|k| ["enabled", "namespace", "services"].contains(&k.as_str())));
            if shape_ok && (served.is_empty() || served == connect_services(&containers, main, &key)) {
                match &connect_namespace {
                    Some(first) if *first != ns => warnings.push(format!(
                        "{at}.serviceConnectConfiguration namespace {ns} differs from the first service's ({first}): not imported"
                    )),
                    _ => {
                        connect_namespace = Some(ns);
                        discovery = Some(!served.is_empty());
                        s.remove("serviceConnectConfiguration");
                    }
                }
            } else {
                warnings.push(format!(
                    "{at}.serviceConnectConfiguration = {sc} is not imported: berth serves a service's TCP ports under its name (`<service>`, then `<service>-<port>`)"
                ));
            }
        }
        let mut t = td.spec.as_object().cloned().unwrap_or_default();
        let tat = format!("task definition {}", td.name);
        for field in t.remove("unmodelled").and_then(|u| u.as_array().cloned()).unwrap_or_default() {
            warnings.push(format!(
                "{tat}.{} is set, and berth does not model it: not imported, and the next revision berth registers leaves it out",
                field.as_str().unwrap_or_default()
            ));
        }
        for field in s.remove("unmodelled").and_then(|u| u.as_array().cloned()).unwrap_or_default() {
            warnings.push(format!(
                "{at}.{} is set, and berth does not model it: not imported (berth's updates leave it as it is)",
                field.as_str().unwrap_or_default()
            ));
        }
        // Secrets berth's init container writes as files under /run/secrets.
        let secret_files = secret_files(&t);
        if let Some((files, image)) = &secret_files {
            if image != berth_spec::files::DEFAULT_INIT_IMAGE {
                x.insert("init_image".into(), image.clone().into());
            }
            for (file, arn) in files {
                match top_secrets.get(file).and_then(|d| d["name"].as_str()) {
                    Some(other) if other != arn => {
                        warnings.push(format!("{tat}: the secret file {file} is {arn} here and {other} in another service: not imported"))
                    }
                    _ => {
                        top_secrets.insert(file.clone(), json!({"external": true, "name": arn}));
                    }
                }
            }
            t.remove("volumes");
        }
        // Named volumes (EFS, or the task's own storage) are top-level Compose volumes.
        if let Some(Value::Array(volumes)) = t.remove("volumes") {
            for v in volumes {
                match volume(&v) {
                    Some((name, def)) => match top_volumes.get(&name) {
                        Some(other) if *other != def => warnings
                            .push(format!("{tat}.volumes {name} = {v} differs from another task's volume of that name: not imported")),
                        _ => {
                            top_volumes.insert(name, def);
                        }
                    },
                    None => warnings
                        .push(format!("{tat}.volumes {v} is not imported: berth's volumes are EFS file systems or the task's own storage")),
                }
            }
        }
        leftover(
            &t,
            &[
                "family",
                "networkMode",
                "containerDefinitions",
                "requiresCompatibilities",
                "cpu",
                "memory",
                "tags",
                "executionRoleArn",
                "taskRoleArn",
            ],
            &tat,
            warnings,
        );
        // berth's Fargate tasks: awsvpc, Fargate only.
        for (k, want) in [("networkMode", json!("awsvpc")), ("requiresCompatibilities", json!(["FARGATE"]))] {
            if t.get(k).is_some_and(|v| v != &want) {
                warnings.push(format!("{tat}.{k} = {} is not imported (berth's is {want})", t[k]));
            }
        }
        // The roles are the app's: one pair for every service.
        for (live, key) in [("executionRoleArn", "execution_role_arn"), ("taskRoleArn", "task_role_arn")] {
            let Some(r) = t.get(live).and_then(Value::as_str) else {
                roleless.push((tat.clone(), live, key));
                continue;
            };
            match x.get(key).and_then(Value::as_str) {
                Some(first) if first != r => {
                    warnings.push(format!("{tat}.{live} = {r} differs from the first service's ({first}): not imported"))
                }
                _ => {
                    x.insert(key.into(), r.into());
                }
            }
        }
        // The main container is the compose service; the others are its sidecars (x-berth.task).
        for (i, c) in containers.iter().enumerate() {
            let mut c = c.as_object().cloned().unwrap_or_default();
            let cname = c.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
            let cat = format!("{tat} container {cname}");
            if cname == "berth-init" && secret_files.is_some() {
                continue;
            }
            let mut files_out = None;
            if let Some((files, _)) = &secret_files {
                let berths = c.get("mountPoints")
                    == Some(&json!([{"sourceVolume": "berth-files-0", "containerPath": "/run/secrets", "readOnly": true}]))
                    && c.get("dependsOn") == Some(&json!([{"containerName": "berth-init", "condition": "SUCCESS"}]));
                if berths {
                    c.remove("mountPoints");
                    c.remove("dependsOn");
                    files_out = Some(files.iter().map(|(f, _)| Value::String(f.clone())).collect::<Vec<_>>());
                }
            }
            // berth's own init container writes secrets and configs as files:
            // the spec's `secrets:`/`configs:` say that, and import does not write them yet.
            if cname == "berth-init" && i != main {
                let from: Vec<String> =
                    c.get("secrets").and_then(Value::as_array).into_iter().flatten().map(|s| s["valueFrom"].to_string()).collect();
                warnings.push(format!(
                    "{cat} (berth's init container, writing secrets as files from {}) is not imported: declare the secrets under top-level `secrets:` (external, named by ARN) and list them on the service",
                    if from.is_empty() { "configs".to_string() } else { from.join(", ") }
                ));
                continue;
            }
            let mut out = Map::new();
            out.insert("image".into(), c.get("image").cloned().unwrap_or_default());
            if let Some(cmd) = c.get("command") {
                out.insert("command".into(), cmd.clone());
            }
            if let Some(e) = c.get("entryPoint") {
                out.insert("entrypoint".into(), e.clone());
            }
            if let Some(w) = c.get("workingDirectory") {
                out.insert("working_dir".into(), w.clone());
            }
            if let Some(u) = c.get("user") {
                out.insert("user".into(), u.clone());
            }
            if let Some(Value::Object(labels)) = c.get("dockerLabels").filter(|l| l != &&json!({})) {
                out.insert("labels".into(), Value::Object(labels.clone()));
            }
            if let Some(t) = c.get("stopTimeout").and_then(Value::as_u64) {
                out.insert("stop_grace_period".into(), format!("{t}s").into());
            }
            if c.get("readonlyRootFilesystem") == Some(&json!(true)) {
                out.insert("read_only".into(), true.into());
            }
            // Start order inside the task: Compose's depends_on between the task's services.
            if let Some(Value::Array(deps)) = c.get("dependsOn") {
                let mut m = Map::new();
                for d in deps {
                    let condition = match d["condition"].as_str() {
                        Some("START") => Some("service_started"),
                        Some("HEALTHY") => Some("service_healthy"),
                        Some("SUCCESS") => Some("service_completed_successfully"),
                        _ => None,
                    };
                    match (d["containerName"].as_str(), condition) {
                        (Some(n), Some(cond)) if n != "berth-init" => {
                            m.insert(n.into(), json!({"condition": cond}));
                        }
                        _ => warnings
                            .push(format!("{cat}.dependsOn {d} is not imported: Compose waits for a start, health or a successful exit")),
                    }
                }
                if !m.is_empty() {
                    out.insert("depends_on".into(), Value::Object(m));
                }
            }
            if let Some(files) = files_out {
                out.insert("secrets".into(), Value::Array(files));
            }
            if let Some(Value::Array(env)) = c.get("environment") {
                let mut m = Map::new();
                for e in env {
                    m.insert(e["name"].as_str().unwrap_or_default().into(), e["value"].clone());
                }
                if !m.is_empty() {
                    out.insert("environment".into(), Value::Object(m));
                }
            }
            // A task definition made before berth often names no port: all
            // unnamed is `x-berth.unnamed_ports`; other names are not berth's.
            let mut unnamed_ports = false;
            if let Some(Value::Array(ports)) = c.get("portMappings") {
                let name_of = |p: &Value| p.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
                unnamed_ports = !ports.is_empty() && ports.iter().all(|p| name_of(p).is_empty());
                let (mut list, mut long) = (Vec::new(), Vec::new());
                for p in ports {
                    let port = p["containerPort"].as_u64().unwrap_or(0);
                    // Only the long form carries an app protocol (and it publishes).
                    if let Some(ap) = p.get("appProtocol").and_then(Value::as_str) {
                        let mut l = json!({"target": port, "app_protocol": ap});
                        if let Some(pr) = p.get("protocol").and_then(Value::as_str).filter(|pr| *pr != "tcp") {
                            l["protocol"] = pr.into();
                        }
                        long.push(l);
                        continue;
                    }
                    if p.get("hostPort").is_some_and(|h| h.as_u64() != Some(port)) {
                        warnings
                            .push(format!("{cat}.portMappings hostPort {} differs from containerPort {port}: not imported", p["hostPort"]));
                    }
                    if p.get("protocol").and_then(Value::as_str).is_some_and(|pr| pr != "tcp") {
                        list.push(Value::String(format!("{port}/{}", p["protocol"].as_str().unwrap_or_default())));
                    } else {
                        list.push(Value::String(port.to_string()));
                    }
                    let default_name = format!("{cname}-{port}");
                    if !unnamed_ports && name_of(p) != default_name {
                        warnings.push(format!("{cat}.portMappings name {:?} is not imported (berth names it {default_name})", name_of(p)));
                    }
                }
                // Published where a load balancer routes to it; otherwise reachable inside the VPC only.
                let routed = i == main && s.get("loadBalancers").and_then(Value::as_array).is_some_and(|l| !l.is_empty());
                if routed {
                    list.extend(long);
                    out.insert("ports".into(), Value::Array(list));
                } else {
                    if !list.is_empty() {
                        out.insert("expose".into(), Value::Array(list));
                    }
                    if !long.is_empty() {
                        out.insert("ports".into(), Value::Array(long));
                    }
                }
            }
            let health = c.get("healthCheck").and_then(Value::as_object);
            if let Some(h) = health.filter(|h| h.get("command").and_then(Value::as_array).is_none_or(|c| c.len() < 2)) {
                warnings
                    .push(format!("{cat}.healthCheck {} is not imported: Compose's healthcheck needs a test", Value::Object(h.clone())));
            } else if let Some(h) = health {
                let mut hc = Map::new();
                hc.insert("test".into(), h.get("command").cloned().unwrap_or_default());
                for (k, ck) in [("interval", "interval"), ("timeout", "timeout"), ("startPeriod", "start_period")] {
                    if let Some(v) = h.get(k).filter(|v| !(k == "startPeriod" && v.as_u64() == Some(0))) {
                        hc.insert(ck.into(), secs(v));
                    }
                }
                if let Some(r) = h.get("retries") {
                    hc.insert("retries".into(), r.clone());
                }
                out.insert("healthcheck".into(), Value::Object(hc));
            }
            // Secrets as environment variables: Compose secrets by ARN with
            // `x-berth.secret_env` (the variable is the secret's target).
            let mut secret_env = false;
            if let Some(Value::Array(secrets)) = c.get("secrets") {
                if out.contains_key("secrets") {
                    for sct in secrets {
                        warnings.push(format!(
                            "{cat}.secrets {} (from {}) is not imported: berth gives a service its secrets either as files or as environment variables, and this one has files",
                            sct["name"], sct["valueFrom"]
                        ));
                    }
                } else {
                    let mut list = Vec::new();
                    for sct in secrets {
                        let (var, arn) = (sct["name"].as_str().unwrap_or_default(), sct["valueFrom"].as_str().unwrap_or_default());
                        match env_secret_source(var, arn, &top_secrets) {
                            Some(source) => {
                                top_secrets.insert(source.clone(), json!({"external": true, "name": arn}));
                                list.push(json!({"source": source, "target": var}));
                            }
                            None => warnings.push(format!(
                                "{cat}.secrets {var:?} (from {arn}) is not imported: berth names a secret's variable in capitals, digits and _"
                            )),
                        }
                    }
                    if !list.is_empty() {
                        out.insert("secrets".into(), Value::Array(list));
                        secret_env = true;
                    }
                }
            }
            if let Some(logging) = logging(c.get("logConfiguration"), app, &mut logs, &mut region, warnings, &cat) {
                out.insert("logging".into(), logging);
            }
            // Mounts of the named volumes, in Compose's short form.
            if let Some(Value::Array(mounts)) = c.remove("mountPoints") {
                let mut list = Vec::new();
                for m in &mounts {
                    match (m["sourceVolume"].as_str(), m["containerPath"].as_str()) {
                        (Some(v), Some(path)) if top_volumes.contains_key(v) => {
                            let ro = if m["readOnly"] == json!(true) { ":ro" } else { "" };
                            list.push(Value::String(format!("{v}:{path}{ro}")));
                        }
                        _ => warnings.push(format!("{cat}.mountPoints {m} is not imported")),
                    }
                }
                if !list.is_empty() {
                    out.insert("volumes".into(), Value::Array(list));
                }
            }
            leftover(
                &c,
                &[
                    "name",
                    "image",
                    "essential",
                    "dockerLabels",
                    "stopTimeout",
                    "dependsOn",
                    // true is `read_only`; false, Docker's default.
                    "readonlyRootFilesystem",
                    "command",
                    "entryPoint",
                    "workingDirectory",
                    "user",
                    "environment",
                    "portMappings",
                    "healthCheck",
                    "secrets",
                    "logConfiguration",
                ],
                &cat,
                warnings,
            );
            let mut xs = Map::new();
            if c.get("essential") == Some(&json!(false)) {
                if i == main {
                    warnings.push(format!("{cat}.essential = false is not imported: berth's service container is essential"));
                } else {
                    xs.insert("essential".into(), false.into());
                }
            }
            if secret_env {
                xs.insert("secret_env".into(), true.into());
            }
            if unnamed_ports {
                xs.insert("unnamed_ports".into(), true.into());
            }
            if i == main {
                out.insert("deploy".into(), json!({"replicas": s.get("desiredCount").cloned().unwrap_or(json!(1))}));
                for k in ["cpu", "memory"] {
                    let v = t.get(k).and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_u64().map(|n| n.to_string())));
                    if let Some(v) = v.filter(|v| !v.is_empty()) {
                        xs.insert(k.into(), v.parse::<u64>().map(Value::from).unwrap_or(Value::String(v)));
                    }
                }
            } else {
                xs.insert("task".into(), key.clone().into());
            }
            if i == main {
                if let Some(d) = discovery {
                    xs.insert("discovery".into(), d.into());
                }
                if let Some(tg) = route(&s, observed, &mut xs, &mut uses_listener, warnings, &at, color.is_some()) {
                    // A color's target group is `<name>-<color>`.
                    let tg = color.and_then(|c| tg.strip_suffix(&format!("-{c}")).map(str::to_string)).unwrap_or(tg);
                    if tg != default {
                        names.insert("target_group".into(), tg.into());
                    }
                }
                import_service(&s, &mut out, &mut xs, &mut network, warnings, &at);
                if color.is_some() {
                    xs.insert("strategy".into(), json!({"blue_green": {"traffic": "all_at_once"}}));
                }
                if !names.is_empty() {
                    xs.insert("names".into(), Value::Object(std::mem::take(&mut names)));
                }
            }
            if !xs.is_empty() {
                out.insert("x-berth".into(), Value::Object(xs));
            }
            if out_services.contains_key(&cname) {
                return Err(format!(
                    "{cat}: a compose service named {cname} was written already: import its service into a separate app (with --app)"
                ));
            }
            out_services.insert(cname, Value::Object(out));
        }
    }
    if let Some(r) = region {
        x.insert("region".into(), r.into());
    }
    if let Some(mut n) = network {
        // The VPC of the target groups (berth creates them in x-berth.network.vpc_id).
        if let Some(vpc) = observed.resources.iter().filter(|r| r.kind == Kind::TargetGroup).find_map(|r| r.spec["vpcId"].as_str()) {
            n["vpc_id"] = vpc.into();
        }
        x.insert("network".into(), n);
    }
    if uses_listener {
        let l = listener.ok_or("the services have load balancers: pass the listener whose rules route to them with --listener ARN")?;
        x.insert("load_balancer".into(), json!({"listener": l}));
    }
    if logs.get("group").and_then(Value::as_str) == Some(&format!("/berth/{app}")) {
        logs.remove("group");
    }
    if logs.get("stream_prefix").and_then(Value::as_str) == Some(app) {
        logs.remove("stream_prefix");
    }
    // The app's group keeps the retention it has.
    let group = logs.get("group").and_then(Value::as_str).map_or_else(|| format!("/berth/{app}"), str::to_string);
    if let Some(live) = find(observed, Kind::LogGroup, |g| g.name == group) {
        match live.spec["retentionInDays"].as_u64() {
            Some(days) if days == u64::from(berth_spec::logging::DEFAULT_RETENTION_DAYS) => {}
            Some(days) => {
                logs.insert("retention_days".into(), days.into());
            }
            None => warnings.push(format!(
                "log group {group} keeps its logs forever, which berth's spec cannot say: x-berth.logs.retention_days sets a retention (30 days unless given)"
            )),
        }
    }
    if !logs.is_empty() {
        x.insert("logs".into(), Value::Object(logs));
    }
    if let Some(ns) = namespace {
        let mut d = json!({"namespace": ns});
        if let Some(t) = ttl.filter(|t| *t != 10) {
            d["ttl"] = t.into();
        }
        x.insert("discovery".into(), d);
        // A private DNS namespace is in a VPC (Cloud Map returns it on the sim only).
        let vpc = find(observed, Kind::Namespace, |n| n.name == ns).and_then(|n| n.spec["vpc"].as_str());
        match (x.get_mut("network").and_then(Value::as_object_mut), vpc) {
            (Some(n), Some(vpc)) if !n.contains_key("vpc_id") => {
                n.insert("vpc_id".into(), vpc.into());
            }
            (Some(n), _) if n.contains_key("vpc_id") => {}
            _ => warnings.push(format!("namespace {ns}: its VPC is not known here: set x-berth.network.vpc_id to it")),
        }
    }
    for (tat, live, key) in roleless {
        if let Some(r) = x.get(key) {
            warnings.push(format!("{tat} has no {live}, and berth gives every task the app's x-berth.{key} ({r}): not imported"));
        }
    }
    if connect_namespace.is_some() {
        for at in unconnected {
            warnings.push(format!(
                "{at} is not in Service Connect, and berth makes every service of a Service Connect app its client: not imported"
            ));
        }
    }
    if let Some(ns) = connect_namespace {
        if x.contains_key("discovery") {
            warnings.push(format!("Service Connect in namespace {ns}: the app also registers in Cloud Map DNS (--namespace), and berth does one or the other: not imported"));
        } else {
            x.insert("discovery".into(), json!({"mode": "connect", "namespace": ns}));
        }
    }
    let mut spec = json!({"name": app, "x-berth": Value::Object(x), "services": Value::Object(out_services)});
    if !top_secrets.is_empty() {
        spec["secrets"] = Value::Object(top_secrets);
    }
    if !top_volumes.is_empty() {
        spec["volumes"] = Value::Object(top_volumes);
    }
    Ok((spec, keys.len()))
}

/// A container's `logging`, or `None` for berth's default (awslogs to the
/// app's group). The first awslogs container's group, stream prefix and
/// region become the app's (`x-berth.logs`, `x-berth.region`); what differs
/// from those is the container's `logging.options`, and a default berth
/// adds that the live one lacks (`mode`, `max-buffer-size`) is given empty,
/// which leaves it out.
fn logging(
    live: Option<&Value>,
    app: &str,
    logs: &mut Map<String, Value>,
    region: &mut Option<String>,
    warnings: &mut Vec<String>,
    at: &str,
) -> Option<Value> {
    let Some(l) = live.and_then(Value::as_object) else { return Some(json!({"driver": "none"})) };
    let driver = l.get("logDriver").and_then(Value::as_str).unwrap_or_default();
    let opts = l.get("options").and_then(Value::as_object).cloned().unwrap_or_default();
    leftover(l, &["logDriver", "options"], &format!("{at}.logConfiguration"), warnings);
    if driver != "awslogs" {
        return Some(json!({"driver": driver, "options": opts}));
    }
    let text = |k: &str| opts.get(k).and_then(Value::as_str).map(str::to_string);
    // The app's settings, from the first container that logs.
    let group = logs.entry("group").or_insert_with(|| text("awslogs-group").unwrap_or_else(|| format!("/berth/{app}")).into()).clone();
    let prefix = logs.entry("stream_prefix").or_insert_with(|| text("awslogs-stream-prefix").unwrap_or_else(|| app.into()).into()).clone();
    if region.is_none() {
        *region = text("awslogs-region");
    }
    let defaults = [
        ("awslogs-group", group.as_str().unwrap_or_default().to_string()),
        ("awslogs-stream-prefix", prefix.as_str().unwrap_or_default().to_string()),
        ("awslogs-region", region.clone().unwrap_or_default()),
        ("mode", "non-blocking".to_string()),
        ("max-buffer-size", "25m".to_string()),
    ];
    let mut options = Map::new();
    for (k, v) in &opts {
        if !defaults.iter().any(|(dk, dv)| dk == k && Some(dv.as_str()) == v.as_str()) {
            options.insert(k.clone(), v.clone());
        }
    }
    for (k, _) in defaults.iter().skip(1) {
        if !opts.contains_key(*k) {
            options.insert((*k).into(), "".into());
        }
    }
    (!options.is_empty()).then(|| json!({"driver": "awslogs", "options": options}))
}

/// How a Cloud Map registration differs from what berth makes (MULTIVALUE
/// A records, plus SRV records and the registry's container and port when
/// the task has a TCP port, one TTL, in the namespace given), if it does.
fn cloud_map_difference(cm: &LiveResource, registry: &Value, containers: &[Value], main: usize, ns: &str) -> Option<String> {
    let port = std::iter::once(main).chain((0..containers.len()).filter(|i| *i != main)).find_map(|i| {
        let c = &containers[i];
        c["portMappings"]
            .as_array()?
            .iter()
            .find(|p| p["protocol"].as_str().unwrap_or("tcp") == "tcp")
            .map(|p| (c["name"].clone(), p["containerPort"].clone()))
    });
    let records: Vec<&str> = cm
        .spec
        .pointer("/dnsConfig/dnsRecords")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r["Type"].as_str())
        .collect();
    let ttls: BTreeSet<u64> = cm
        .spec
        .pointer("/dnsConfig/dnsRecords")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r["TTL"].as_u64())
        .collect();
    let want: &[&str] = if port.is_some() { &["A", "SRV"] } else { &["A"] };
    if cm.spec["namespace"].as_str().is_some_and(|n| n != ns) {
        return Some(format!("is in namespace {}, not {ns}", cm.spec["namespace"]));
    }
    if cm.spec.pointer("/dnsConfig/routingPolicy").and_then(Value::as_str) != Some("MULTIVALUE") {
        return Some("does not route MULTIVALUE, as berth's do".into());
    }
    if records != want {
        return Some(format!("has {records:?} records; berth makes {want:?}"));
    }
    if ttls.len() > 1 {
        return Some(format!("has records of different TTLs ({ttls:?}); berth gives them one"));
    }
    let (container, container_port) = port.unwrap_or((Value::Null, Value::Null));
    let given =
        (registry.get("containerName").cloned().unwrap_or(Value::Null), registry.get("containerPort").cloned().unwrap_or(Value::Null));
    if given != (container.clone(), container_port.clone()) {
        return Some(format!(
            "is registered for container {} port {}; berth registers {container} port {container_port}",
            given.0, given.1
        ));
    }
    None
}

/// The Service Connect services berth gives a task whose main container is
/// `containers[main]`, served as `key`: every TCP port, the first under
/// `key`, the others under `key-<port>`.
fn connect_services(containers: &[Value], main: usize, key: &str) -> Vec<Value> {
    let order = std::iter::once(main).chain((0..containers.len()).filter(|i| *i != main));
    let ports = order.flat_map(|i| {
        let c = &containers[i];
        let name = c["name"].as_str().unwrap_or_default().to_string();
        c["portMappings"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p["protocol"].as_str().unwrap_or("tcp") == "tcp")
            .map(move |p| {
                let port = p["containerPort"].as_u64().unwrap_or(0);
                let port_name = p["name"].as_str().filter(|n| !n.is_empty()).map_or(format!("{name}-{port}"), str::to_string);
                (port, port_name)
            })
    });
    ports
        .enumerate()
        .map(|(i, (port, port_name))| {
            let discovery_name = if i == 0 { key.to_string() } else { format!("{key}-{port}") };
            json!({"portName": port_name, "discoveryName": discovery_name, "clientAliases": [{"port": port, "dnsName": key}]})
        })
        .collect()
}

/// A task definition volume as a top-level Compose volume: `(name, definition)`,
/// or `None` for one berth does not make (a host path, Docker volume
/// options, EFS with IAM authorization or without transit encryption).
fn volume(v: &Value) -> Option<(String, Value)> {
    let name = v["name"].as_str()?.to_string();
    let keys: Vec<&str> = v.as_object()?.keys().map(String::as_str).collect();
    match v.get("efsVolumeConfiguration") {
        None if keys == ["name"] => Some((name, json!({}))),
        Some(efs) => {
            let fields: Vec<&str> = efs.as_object()?.keys().map(String::as_str).collect();
            let known = fields.iter().all(|f| ["fileSystemId", "rootDirectory", "transitEncryption"].contains(f));
            if !known || efs["transitEncryption"] != "ENABLED" || keys.len() != 2 {
                return None;
            }
            let mut x = json!({"efs": efs["fileSystemId"].as_str()?});
            if let Some(root) = efs["rootDirectory"].as_str().filter(|r| *r != "/") {
                x["root_directory"] = root.into();
            }
            Some((name, json!({"x-berth": x})))
        }
        None => None,
    }
}

/// The top-level secret for variable `var` from `arn`: `var` in lower case
/// (with a suffix if another ARN took that), or `None` when berth would not
/// name the variable `var` (it writes a secret's target in capitals).
fn env_secret_source(var: &str, arn: &str, taken: &Map<String, Value>) -> Option<String> {
    let berths = var.to_ascii_uppercase().replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    if var.is_empty() || berths != var {
        return None;
    }
    let base = var.to_ascii_lowercase();
    (1..).map(|n| if n == 1 { base.clone() } else { format!("{base}_{n}") }).find(|name| taken.get(name).is_none_or(|d| d["name"] == arn))
}

/// The files berth's init container writes (`printf '%s' "$BERTH_FILE_0" >
/// '/run/secrets/<name>'`, one per secret, from Secrets Manager or SSM), with
/// the secret ARN of each, and its image; `None` when the task has no such
/// container or it writes anything else (configs, other directories).
fn secret_files(t: &Map<String, Value>) -> Option<(Vec<(String, String)>, String)> {
    let containers = t.get("containerDefinitions")?.as_array()?;
    let init = containers.iter().find(|c| c["name"] == "berth-init")?;
    if t.get("volumes") != Some(&json!([{"name": "berth-files-0"}])) {
        return None;
    }
    let script = init["command"].as_array()?.get(2)?.as_str()?;
    let arns: std::collections::HashMap<&str, &str> =
        init["secrets"].as_array()?.iter().filter_map(|s| Some((s["name"].as_str()?, s["valueFrom"].as_str()?))).collect();
    let mut files = Vec::new();
    for line in script.lines().map(str::trim) {
        if line == "set -e" || line == "umask 022" || (line.starts_with("chmod 0444 '/run/secrets/") && line.ends_with('\'')) {
            continue;
        }
        let rest = line.strip_prefix("printf '%s' \"$")?;
        let (var, rest) = rest.split_once("\" > '/run/secrets/")?;
        let file = rest.strip_suffix('\'')?;
        if file.contains('/') {
            return None;
        }
        files.push((file.to_string(), arns.get(var)?.to_string()));
    }
    Some((files, init["image"].as_str()?.to_string()))
}

/// The service's target group and listener rule as `x-berth.route`; the
/// target group's name, when it has one.
fn route(
    s: &Map<String, Value>,
    observed: &Observed,
    xs: &mut Map<String, Value>,
    uses_listener: &mut bool,
    warnings: &mut Vec<String>,
    at: &str,
    blue_green: bool,
) -> Option<String> {
    let lbs = s.get("loadBalancers").and_then(Value::as_array).cloned().unwrap_or_default();
    let lb = lbs.first()?;
    if lbs.len() > 1 {
        warnings.push(format!("{at}.loadBalancers: {} target groups; import reads the first only", lbs.len()));
    }
    *uses_listener = true;
    let tg_arn = lb["targetGroupArn"].as_str().unwrap_or_default();
    let mut r = Map::new();
    if let Some(tg) = find(observed, Kind::TargetGroup, |t| t.arn == tg_arn) {
        let g = tg.spec.as_object().cloned().unwrap_or_default();
        let gat = format!("target group {}", tg.name);
        if let Some(p) = g.get("healthCheckPath") {
            r.insert("health_path".into(), p.clone());
        }
        if let Some(m) = g.get("matcher").and_then(|m| m.get("httpCode")) {
            if m != "200-399" {
                r.insert("health_matcher".into(), m.clone());
            }
        }
        if let Some(i) = g.get("healthCheckIntervalSeconds").filter(|i| i.as_u64() != Some(15)) {
            r.insert("health_interval".into(), secs(i));
        }
        if let Some(n) = g.get("healthyThresholdCount").filter(|n| n.as_u64() != Some(2)) {
            r.insert("healthy_threshold".into(), n.clone());
        }
        if let Some(n) = g.get("unhealthyThresholdCount").filter(|n| n.as_u64() != Some(3)) {
            r.insert("unhealthy_threshold".into(), n.clone());
        }
        for a in g.get("attributes").and_then(Value::as_array).into_iter().flatten() {
            match (a["key"].as_str(), a["value"].as_str()) {
                (Some("deregistration_delay.timeout_seconds"), Some("30")) => {}
                (Some("deregistration_delay.timeout_seconds"), Some(v)) => {
                    r.insert("deregistration_delay".into(), format!("{v}s").into());
                }
                _ => warnings.push(format!("{gat}.attributes {a} is not imported")),
            }
        }
        for (k, want) in [("protocol", "HTTP"), ("targetType", "ip"), ("healthCheckProtocol", "HTTP")] {
            if g.get(k).and_then(Value::as_str).is_some_and(|v| v != want) {
                warnings.push(format!("{gat}.{k} = {} is not imported (berth's is {want})", g[k]));
            }
        }
    } else {
        warnings.push(format!("{at}: target group {tg_arn} was not found"));
    }
    if let Some(port) = lb["containerPort"].as_u64() {
        r.insert("port".into(), port.into());
    }
    let grace = s.get("healthCheckGracePeriodSeconds").and_then(Value::as_u64).unwrap_or(0);
    if grace != berth_spec::resolve::DEFAULT_HEALTH_CHECK_GRACE_PERIOD_SECS {
        r.insert("health_check_grace_period".into(), format!("{grace}s").into());
    }
    // The rules that forward to it (observed untagged, or the app's).
    let rules: Vec<&LiveResource> = observed
        .resources
        .iter()
        .filter(|x| x.kind == Kind::ListenerRule)
        .filter(|x| {
            x.spec["actions"].as_array().into_iter().flatten().any(|a| {
                a.pointer("/forwardConfig/targetGroups")
                    .and_then(Value::as_array)
                    .is_some_and(|t| t.iter().any(|t| t["targetGroupArn"].as_str() == Some(tg_arn)))
            })
        })
        .collect();
    match rules.as_slice() {
        [] => warnings.push(format!("{at}: no listener rule forwards to {tg_arn} on the listener given (--listener)")),
        [rule, rest @ ..] => {
            if !rest.is_empty() {
                warnings.push(format!("{at}: {} rules forward to its target group; import reads the first only", rules.len()));
            }
            // berth forwards to one target group, or a blue/green pair.
            let forwards = rule.spec.pointer("/actions/0/forwardConfig/targetGroups").and_then(Value::as_array).map_or(0, Vec::len);
            let actions = rule.spec["actions"].as_array().map_or(0, Vec::len);
            if actions != 1 || (forwards != 1 && !(blue_green && forwards == 2)) {
                warnings.push(format!(
                    "listener rule {}: its actions {} are not imported: berth's rule forwards to the service's target group",
                    rule.arn, rule.spec["actions"]
                ));
            }
            let mut paths = BTreeSet::new();
            let mut hosts = BTreeSet::new();
            for c in rule.spec["conditions"].as_array().into_iter().flatten() {
                let values = c["values"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string);
                match c["field"].as_str() {
                    Some("path-pattern") => paths.extend(values),
                    Some("host-header") => hosts.extend(values),
                    other => warnings.push(format!("listener rule {}: condition {other:?} is not imported", rule.arn)),
                }
            }
            if !paths.is_empty() {
                r.insert("paths".into(), paths.into_iter().collect::<Vec<_>>().into());
            }
            if !hosts.is_empty() {
                r.insert("hosts".into(), hosts.into_iter().collect::<Vec<_>>().into());
            }
            // It keeps its priority.
            if let Some(p) = rule.spec.get("priority") {
                r.insert("priority".into(), p.clone());
            }
        }
    }
    xs.insert("route".into(), Value::Object(r));
    tg_name(tg_arn)
}

/// The ECS service's own settings: network, rolling deployment, and what has no key.
fn import_service(
    s: &Map<String, Value>,
    service: &mut Map<String, Value>,
    xs: &mut Map<String, Value>,
    network: &mut Option<Value>,
    warnings: &mut Vec<String>,
    at: &str,
) {
    if let Some(n) = s.get("networkConfiguration").and_then(|n| n.get("awsvpcConfiguration")) {
        let mut m = Map::new();
        m.insert("subnets".into(), n.get("subnets").cloned().unwrap_or(json!([])));
        m.insert("security_groups".into(), n.get("securityGroups").cloned().unwrap_or(json!([])));
        if n.get("assignPublicIp").and_then(Value::as_str) == Some("ENABLED") {
            m.insert("assign_public_ip".into(), true.into());
        }
        let value = Value::Object(m);
        match network {
            Some(other) if *other != value => {
                warnings.push(format!("{at}.networkConfiguration differs from the first service's: not imported"))
            }
            _ => *network = Some(value),
        }
    }
    if let Some(d) = s.get("deploymentConfiguration") {
        let (min, max) = (d["minimumHealthyPercent"].as_u64().unwrap_or(100), d["maximumPercent"].as_u64().unwrap_or(200));
        // Compose's failure_action says what the circuit breaker does: off
        // (`continue`), on without rollback (`pause`), or berth's rollback.
        let breaker = d.get("deploymentCircuitBreaker");
        let flag = |k: &str| breaker.and_then(|b| b.get(k)).and_then(Value::as_bool).unwrap_or(false);
        let failure_action = match (flag("enable"), flag("rollback")) {
            (true, true) => None,
            (true, false) => Some("pause"),
            (false, _) => Some("continue"),
        };
        if let Some(action) = failure_action {
            if let Some(deploy) = service.get_mut("deploy").and_then(Value::as_object_mut) {
                deploy.insert("update_config".into(), json!({"failure_action": action}));
            }
        }
        // With an update_config, Compose's order and parallelism would set them.
        if (min, max) != (100, 200) || failure_action.is_some() {
            xs.insert("rolling".into(), json!({"min_healthy_percent": min, "max_percent": max}));
        }
    }
    if let Some(p) = s.get("propagateTags").and_then(Value::as_str).filter(|p| *p != "SERVICE") {
        xs.insert("propagate_tags".into(), p.into());
    }
    if s.get("enableECSManagedTags") == Some(&json!(false)) {
        xs.insert("ecs_managed_tags".into(), false.into());
    }
    // A Fargate capacity provider strategy is `x-berth.capacity` (then the
    // service has no launch type).
    let strategy = s.get("capacityProviderStrategy").and_then(Value::as_array).cloned().unwrap_or_default();
    let mut capacity = Map::new();
    for item in &strategy {
        let (weight, base) = (item["weight"].as_u64().unwrap_or(0), item["base"].as_u64().unwrap_or(0));
        let (wkey, bkey) = match item["capacityProvider"].as_str() {
            Some("FARGATE") => ("on_demand", "on_demand_base"),
            Some("FARGATE_SPOT") => ("spot", "spot_base"),
            _ => {
                warnings.push(format!(
                    "{at}.capacityProviderStrategy {item} is not imported: import reads Fargate capacity (FARGATE, FARGATE_SPOT) only"
                ));
                continue;
            }
        };
        capacity.insert(wkey.into(), weight.into());
        if base > 0 {
            capacity.insert(bkey.into(), base.into());
        }
    }
    if !capacity.is_empty() {
        xs.insert("capacity".into(), Value::Object(capacity));
    }
    let launch_type = if strategy.is_empty() { json!("FARGATE") } else { json!("") };
    for (k, want) in
        [("launchType", launch_type), ("schedulingStrategy", json!("REPLICA")), ("deploymentController", json!({"type": "ECS"}))]
    {
        if s.get(k).is_some_and(|v| v != &want) {
            warnings.push(format!("{at}.{k} = {} is not imported (berth's is {want})", s[k]));
        }
    }
    leftover(
        s,
        &[
            "serviceName",
            "cluster",
            "taskDefinition",
            "desiredCount",
            "launchType",
            "schedulingStrategy",
            "deploymentController",
            "deploymentConfiguration",
            "networkConfiguration",
            "loadBalancers",
            "healthCheckGracePeriodSeconds",
            "propagateTags",
            "enableECSManagedTags",
            "tags",
            "scalableTarget",
            "capacityProviderStrategy",
            // berth's own (never AWS's): the sim keeps it with the service.
            "blueGreen",
        ],
        at,
        warnings,
    );
    if s.get("scalableTarget").is_some_and(Value::is_object) {
        warnings.push(format!(
            "{at} is scaled by Application Auto Scaling ({}): not imported as x-berth.autoscaling; berth leaves that target as it is and keeps the count it sets (a plan never fights it) — for berth to manage the scaling, deregister it and declare x-berth.autoscaling",
            s["scalableTarget"]
        ));
    }
}
