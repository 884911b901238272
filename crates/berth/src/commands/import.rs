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
    let mut short = Vec::new();
    for s in &args.services {
        match s.strip_prefix(&format!("{app}-")).filter(|n| !n.is_empty()) {
            Some(n) => short.push(n.to_string()),
            None => {
                writeln!(
                    io.stderr,
                    "error: service {s} is not named {app}-<service>: berth names an app's services `<app>-<service>`, and import does not support other names yet (per-resource name keys); pass --app if the app is not named after the cluster"
                )?;
                return Ok(ExitStatus::Error);
            }
        }
    }
    let rt = backend::runtime()?;
    let backend = rt.block_on(Backend::open_in(cli, io, None))?;
    let provider = backend.provider();
    let scope = |tgs: Vec<String>| Scope {
        app: app.clone(),
        cluster: args.cluster.clone(),
        listener: args.listener.clone(),
        task_families: args.services.clone(),
        service_names: args.services.clone(),
        target_group_names: tgs,
        namespace: args.namespace.clone(),
        cloud_map_names: short.clone(),
        ..Scope::default()
    };
    let first = rt.block_on(provider.observe(&scope(Vec::new())))?;
    // The target groups the services use, by name (in their ARN).
    let tgs: Vec<String> = first
        .resources
        .iter()
        .filter(|r| r.kind == Kind::Service)
        .flat_map(|r| r.spec["loadBalancers"].as_array().cloned().unwrap_or_default())
        .filter_map(|lb| lb["targetGroupArn"].as_str().and_then(tg_name))
        .collect();
    let observed = if tgs.is_empty() { first } else { rt.block_on(provider.observe(&scope(tgs)))? };
    backend.finish(cli, io)?;

    let mut warnings = Vec::new();
    let spec = match compose(&app, &args.cluster, &short, args.listener.as_deref(), args.namespace.as_deref(), &observed, &mut warnings) {
        Ok(spec) => spec,
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
    text.push_str(&serde_yaml::to_string(&spec)?);
    std::fs::write(io.cwd.join(&args.out), text)?;
    for w in &warnings {
        writeln!(io.stderr, "warning: {w}")?;
    }
    writeln!(io.stderr, "Wrote {} ({} services, {} warnings).", args.out.display(), short.len(), warnings.len())?;
    Ok(ExitStatus::Success)
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

fn compose(
    app: &str,
    cluster: &str,
    services: &[String],
    listener: Option<&str>,
    namespace: Option<&str>,
    observed: &Observed,
    warnings: &mut Vec<String>,
) -> Result<Value, String> {
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
    for name in services {
        let full = format!("{app}-{name}");
        let svc = find(observed, Kind::Service, |r| r.name == full).ok_or_else(|| format!("no service {full} in cluster {cluster}"))?;
        let mut s = svc.spec.as_object().cloned().unwrap_or_default();
        let at = format!("service {full}");
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
                (1, Some(cm)) => {
                    discovery = Some(true);
                    ttl = cm.spec.pointer("/dnsConfig/dnsRecords/0/ttl").and_then(Value::as_u64).or(ttl);
                    s.remove("serviceRegistries");
                }
                _ => warnings.push(format!("{at}.serviceRegistries: not a registration in namespace {ns} that import reads")),
            }
        }
        let td_arn = s.get("taskDefinition").and_then(Value::as_str).unwrap_or_default();
        let family = td_arn.rsplit_once("task-definition/").map_or(td_arn, |(_, r)| r).split(':').next().unwrap_or_default();
        if family != full {
            return Err(format!(
                "{at} runs task definition family {family}: berth names it {full}, and import does not support other family names yet"
            ));
        }
        let td = find(observed, Kind::TaskDefinition, |r| r.arn == td_arn)
            .or_else(|| find(observed, Kind::TaskDefinition, |r| r.name.split(':').next() == Some(family)))
            .ok_or_else(|| format!("{at}: its task definition {td_arn} was not found"))?;
        if td.arn != td_arn {
            warnings.push(format!("{at} runs {td_arn}, but the revision read is {}: the spec reproduces the latter", td.arn));
        }
        let mut t = td.spec.as_object().cloned().unwrap_or_default();
        let tat = format!("task definition {}", td.name);
        // Secrets berth's init container writes as files under /run/secrets.
        let secret_files = secret_files(&t);
        if let Some((files, image)) = &secret_files {
            if image != berth_spec::files::DEFAULT_INIT_IMAGE {
                x.insert("init_image".into(), image.clone().into());
            }
            for (file, arn) in files {
                top_secrets.insert(file.clone(), json!({"external": true, "name": arn}));
            }
            t.remove("volumes");
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
        if let Some(r) = t.get("executionRoleArn").and_then(Value::as_str) {
            x.insert("execution_role_arn".into(), r.into());
        }
        if let Some(r) = t.get("taskRoleArn").and_then(Value::as_str) {
            x.insert("task_role_arn".into(), r.into());
        }
        let containers = t.get("containerDefinitions").and_then(Value::as_array).cloned().unwrap_or_default();
        let own = containers.iter().filter(|c| c["name"] != "berth-init").count();
        if own != 1 {
            warnings.push(format!(
                "{tat} has {} containers: import writes the first ({}) as the service and the others as sidecars (x-berth.task)",
                own,
                containers.first().and_then(|c| c["name"].as_str()).unwrap_or("?")
            ));
        }
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
            if cname == "berth-init" && i > 0 {
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
            if let Some(Value::Array(ports)) = c.get("portMappings") {
                let mut list = Vec::new();
                for p in ports {
                    let port = p["containerPort"].as_u64().unwrap_or(0);
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
                    if p.get("name").and_then(Value::as_str).is_some_and(|n| n != default_name) {
                        warnings.push(format!("{cat}.portMappings name {} is not imported (berth names it {default_name})", p["name"]));
                    }
                }
                // Published where a load balancer routes to it; otherwise reachable inside the VPC only.
                let routed = i == 0 && s.get("loadBalancers").and_then(Value::as_array).is_some_and(|l| !l.is_empty());
                out.insert(if routed { "ports" } else { "expose" }.into(), Value::Array(list));
            }
            if let Some(h) = c.get("healthCheck").and_then(Value::as_object) {
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
            if let Some(Value::Array(secrets)) = c.get("secrets") {
                for sct in secrets {
                    warnings.push(format!(
                        "{cat}.secrets {} (from {}) is not imported: declare it under top-level `secrets:` with x-berth.secrets mapping it to that ARN",
                        sct["name"], sct["valueFrom"]
                    ));
                }
            }
            if let Some(l) = c.get("logConfiguration").and_then(Value::as_object) {
                let opts = l.get("options").and_then(Value::as_object).cloned().unwrap_or_default();
                if l.get("logDriver").and_then(Value::as_str) != Some("awslogs") {
                    warnings.push(format!("{cat}.logConfiguration {} is not imported: only awslogs is", Value::Object(l.clone())));
                }
                for (k, v) in &opts {
                    let v = v.as_str().unwrap_or_default().to_string();
                    match k.as_str() {
                        "awslogs-group" if v != format!("/berth/{app}") => {
                            logs.insert("group".into(), v.into());
                        }
                        "awslogs-region" => region = Some(v),
                        "awslogs-stream-prefix" if v != app => {
                            logs.insert("stream_prefix".into(), v.into());
                        }
                        "awslogs-group" | "awslogs-stream-prefix" => {}
                        "max-buffer-size" if v == "25m" => {}
                        "mode" if v == "non-blocking" => {}
                        _ => warnings.push(format!("{cat}.logConfiguration.options.{k} = {v:?} is not imported")),
                    }
                }
            } else {
                warnings.push(format!("{cat} has no logConfiguration: berth's spec would send its output to CloudWatch Logs"));
            }
            leftover(
                &c,
                &[
                    "name",
                    "image",
                    "essential",
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
            if i == 0 {
                out.insert("deploy".into(), json!({"replicas": s.get("desiredCount").cloned().unwrap_or(json!(1))}));
                for k in ["cpu", "memory"] {
                    if let Some(v) = t.get(k).and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_u64().map(|n| n.to_string()))) {
                        xs.insert(k.into(), v.parse::<u64>().map(Value::from).unwrap_or(Value::String(v)));
                    }
                }
            } else {
                xs.insert("task".into(), name.clone().into());
            }
            let service_key = if i == 0 { name.clone() } else { cname.clone() };
            if i == 0 && cname != *name {
                warnings.push(format!("{cat}: the container is named {cname}, berth names it {name}: not imported"));
            }
            if let (0, Some(d)) = (i, discovery) {
                xs.insert("discovery".into(), d.into());
            }
            if i == 0 {
                route(&s, observed, &mut xs, &mut uses_listener, warnings, &at);
                import_service(&s, &mut xs, &mut network, warnings, &at);
            }
            if !xs.is_empty() {
                out.insert("x-berth".into(), Value::Object(xs));
            }
            out_services.insert(service_key, Value::Object(out));
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
    let mut spec = json!({"name": app, "x-berth": Value::Object(x), "services": Value::Object(out_services)});
    if !top_secrets.is_empty() {
        spec["secrets"] = Value::Object(top_secrets);
    }
    Ok(spec)
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

/// The service's target group and listener rule as `x-berth.route`.
fn route(
    s: &Map<String, Value>,
    observed: &Observed,
    xs: &mut Map<String, Value>,
    uses_listener: &mut bool,
    warnings: &mut Vec<String>,
    at: &str,
) {
    let lbs = s.get("loadBalancers").and_then(Value::as_array).cloned().unwrap_or_default();
    let Some(lb) = lbs.first() else { return };
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
        if Some(tg.name.as_str()) != s.get("serviceName").and_then(Value::as_str) {
            warnings.push(format!("{gat}: berth names the target group after the service; this name is not supported yet"));
        }
    } else {
        warnings.push(format!("{at}: target group {tg_arn} was not found"));
    }
    if let Some(port) = lb["containerPort"].as_u64() {
        r.insert("port".into(), port.into());
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
}

/// The ECS service's own settings: network, rolling deployment, and what has no key.
fn import_service(s: &Map<String, Value>, xs: &mut Map<String, Value>, network: &mut Option<Value>, warnings: &mut Vec<String>, at: &str) {
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
        if (min, max) != (100, 200) {
            xs.insert("rolling".into(), json!({"min_healthy_percent": min, "max_percent": max}));
        }
        if d.get("deploymentCircuitBreaker").is_some_and(|c| c != &json!({"enable": true, "rollback": true})) {
            warnings.push(format!(
                "{at}.deploymentConfiguration.deploymentCircuitBreaker = {} is not imported (berth's is on, with rollback)",
                d["deploymentCircuitBreaker"]
            ));
        }
    }
    for (k, want) in [
        ("launchType", json!("FARGATE")),
        ("schedulingStrategy", json!("REPLICA")),
        ("deploymentController", json!({"type": "ECS"})),
        ("propagateTags", json!("SERVICE")),
        ("enableECSManagedTags", json!(true)),
        ("healthCheckGracePeriodSeconds", json!(60)),
    ] {
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
        ],
        at,
        warnings,
    );
    if s.get("scalableTarget").is_some_and(Value::is_object) {
        warnings.push(format!("{at} is scaled by Application Auto Scaling ({}): not imported as x-berth.autoscaling", s["scalableTarget"]));
    }
}
