//! One live ECS service (a blue/green pair: its live color) as compose
//! services: its task definition's containers, its route, and its own
//! settings.

use std::collections::BTreeSet;

use berth_provider::{Kind, LiveResource, Observed};
use serde_json::{json, Map, Value};

use super::container::{Container, Task};
use super::spec::Spec;
use super::{family_of, find, leftover, secs, tg_name, Place};

impl Spec<'_> {
    /// Reads live service `full` into the spec.
    pub(super) fn service(&mut self, full: &str) -> Result<(), String> {
        let Place { app, cluster, .. } = *self.place;
        let observed = self.observed;
        // A blue/green pair berth made (`<name>-blue`, `<name>-green`) is
        // read from its live color: the one with tasks wanted, else blue.
        let (svc, color) = match find(observed, Kind::Service, |r| r.name == full) {
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
            self.warnings.push(format!("{at} runs {td_arn}, but the revision read is {}: the spec reproduces the latter", td.arn));
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
        if let Some((_, other)) = self.keys.iter().find(|(k, _)| *k == key) {
            return Err(format!(
                "{at} and service {other} both run a main container named {key}, which would be one compose service: import them into separate apps (one `berth import` each, with --app)"
            ));
        }
        self.keys.push((key.clone(), full.to_string()));
        if color.is_some() {
            self.notes.push(format!(
                "service {full} is a blue/green pair: its traffic shift (traffic, step, interval, bake, verify) is berth's own, not AWS's, and is written as all_at_once; set x-berth.strategy.blue_green to yours"
            ));
        }
        let mut names = Map::new();
        let default = format!("{app}-{key}");
        if *full != default {
            names.insert("service".into(), full.into());
        }
        if family != default {
            names.insert("family".into(), family.into());
        }
        let discovery = self.discovery(&mut s, &containers, main, &key, &at);
        for field in s.remove("unmodelled").and_then(|u| u.as_array().cloned()).unwrap_or_default() {
            self.warnings.push(format!(
                "{at}.{} is set, and berth does not model it: not imported (berth's updates leave it as it is)",
                field.as_str().unwrap_or_default()
            ));
        }
        let (t, tat, secret_files) = self.task_definition(td);
        let task = Task { tat, key, main, service: s, secret_files };
        // The main container is the compose service; the others are its sidecars (x-berth.task).
        for (i, c) in containers.iter().enumerate() {
            let Some(Container { name, at: cat, service: mut out, x_berth: mut xs }) = self.container(&task, i, c) else { continue };
            if i == main {
                // The service's own keys.
                out.insert("deploy".into(), json!({"replicas": task.service.get("desiredCount").cloned().unwrap_or(json!(1))}));
                for k in ["cpu", "memory"] {
                    let v = t.get(k).and_then(|v| v.as_str().map(str::to_string).or_else(|| v.as_u64().map(|n| n.to_string())));
                    if let Some(v) = v.filter(|v| !v.is_empty()) {
                        xs.insert(k.into(), v.parse::<u64>().map(Value::from).unwrap_or(Value::String(v)));
                    }
                }
                if let Some(d) = discovery {
                    xs.insert("discovery".into(), d.into());
                }
                if let Some(tg) = route(&task.service, observed, &mut xs, &mut self.uses_listener, &mut self.warnings, &at, color.is_some())
                {
                    // A color's target group is `<name>-<color>`.
                    let tg = color.and_then(|c| tg.strip_suffix(&format!("-{c}")).map(str::to_string)).unwrap_or(tg);
                    if tg != default {
                        names.insert("target_group".into(), tg.into());
                    }
                }
                service_settings(&task.service, &mut out, &mut xs, &mut self.network, &mut self.warnings, &at);
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
            if self.services.contains_key(&name) {
                return Err(format!(
                    "{cat}: a compose service named {name} was written already: import its service into a separate app (with --app)"
                ));
            }
            self.services.insert(name, Value::Object(out));
        }
        Ok(())
    }

    /// The task definition's own fields: its secret files and volumes, its
    /// roles (the app's), and what berth does not make; `(fields left for
    /// the containers, where warnings point, the secret files)`.
    fn task_definition(&mut self, td: &LiveResource) -> (Map<String, Value>, String, Option<(Vec<(String, String)>, String)>) {
        let mut t = td.spec.as_object().cloned().unwrap_or_default();
        let tat = format!("task definition {}", td.name);
        for field in t.remove("unmodelled").and_then(|u| u.as_array().cloned()).unwrap_or_default() {
            self.warnings.push(format!(
                "{tat}.{} is set, and berth does not model it: not imported, and the next revision berth registers leaves it out",
                field.as_str().unwrap_or_default()
            ));
        }
        // Secrets berth's init container writes as files under /run/secrets.
        let secret_files = secret_files(&t);
        if let Some((files, image)) = &secret_files {
            if image != berth_spec::files::DEFAULT_INIT_IMAGE {
                self.x.insert("init_image".into(), image.clone().into());
            }
            for (file, arn) in files {
                match self.secrets.get(file).and_then(|d| d["name"].as_str()) {
                    Some(other) if other != arn => self
                        .warnings
                        .push(format!("{tat}: the secret file {file} is {arn} here and {other} in another service: not imported")),
                    _ => {
                        self.secrets.insert(file.clone(), json!({"external": true, "name": arn}));
                    }
                }
            }
            t.remove("volumes");
        }
        // Named volumes (EFS, or the task's own storage) are top-level Compose volumes.
        if let Some(Value::Array(volumes)) = t.remove("volumes") {
            for v in volumes {
                match volume(&v) {
                    Some((name, def)) => match self.volumes.get(&name) {
                        Some(other) if *other != def => self
                            .warnings
                            .push(format!("{tat}.volumes {name} = {v} differs from another task's volume of that name: not imported")),
                        _ => {
                            self.volumes.insert(name, def);
                        }
                    },
                    None => self
                        .warnings
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
            &mut self.warnings,
        );
        // berth's Fargate tasks: awsvpc, Fargate only.
        for (k, want) in [("networkMode", json!("awsvpc")), ("requiresCompatibilities", json!(["FARGATE"]))] {
            if t.get(k).is_some_and(|v| v != &want) {
                self.warnings.push(format!("{tat}.{k} = {} is not imported (berth's is {want})", t[k]));
            }
        }
        // The roles are the app's: one pair for every service.
        for (live, key) in [("executionRoleArn", "execution_role_arn"), ("taskRoleArn", "task_role_arn")] {
            let Some(r) = t.get(live).and_then(Value::as_str) else {
                self.roleless.push((tat.clone(), live, key));
                continue;
            };
            match self.x.get(key).and_then(Value::as_str) {
                Some(first) if first != r => {
                    self.warnings.push(format!("{tat}.{live} = {r} differs from the first service's ({first}): not imported"))
                }
                _ => {
                    self.x.insert(key.into(), r.into());
                }
            }
        }
        (t, tat, secret_files)
    }
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
        // berth's target group takes the container port (its targets' port).
        if let (Some(tg_port), Some(port)) = (g.get("port").and_then(Value::as_u64), lb["containerPort"].as_u64()) {
            if tg_port != port {
                warnings.push(format!(
                    "{gat}.port = {tg_port} is not imported: berth's target group is on the container port ({port}), and a port cannot change in place"
                ));
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
fn service_settings(
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
