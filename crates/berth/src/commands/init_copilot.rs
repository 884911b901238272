//! `berth init --from copilot/<svc>/manifest.yml`: an AWS Copilot service
//! manifest (Load Balanced Web Service, Backend Service, Worker Service)
//! as a berth spec — Compose keys wherever Compose has them (`build`,
//! `ports`, `environment`, `healthcheck`, `deploy`, volumes), x-berth for
//! the rest (route, autoscaling, Spot, sidecars, EFS). Every manifest key
//! berth has no word for becomes a note naming it; nothing is dropped
//! silently. Field meanings follow Copilot's manifest reference.

use serde_yaml::{Mapping, Value};

/// The service types berth converts.
const TYPES: &[&str] = &["Load Balanced Web Service", "Backend Service", "Worker Service"];

/// Whether a YAML document is a Copilot service manifest (`name` and a
/// Copilot `type`), not a Compose file.
pub fn is_manifest(doc: &Value) -> bool {
    doc.get("type").and_then(Value::as_str).is_some_and(|t| TYPES.contains(&t) || t.ends_with(" Service") || t == "Scheduled Job")
        && doc.get("name").is_some()
        && doc.get("services").is_none()
}

/// The converted spec and one note per key not carried over (or carried
/// with a change worth saying).
pub struct Converted {
    pub text: String,
    pub notes: Vec<String>,
}

fn s(v: &str) -> Value {
    Value::String(v.to_string())
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn put(m: &mut Mapping, key: &str, value: Value) {
    m.insert(s(key), value);
}

/// Copilot's durations (`30s`, `2m`, `1h`) are Compose's.
fn duration(v: &Value) -> Option<Value> {
    text_of(v).map(|t| s(&t))
}

pub fn convert(doc: &Value, shown: &str) -> Result<Converted, String> {
    let kind = doc.get("type").and_then(Value::as_str).unwrap_or_default();
    if !TYPES.contains(&kind) {
        return Err(format!(
            "{shown}: a Copilot {kind:?} has no berth equivalent; berth converts {}",
            TYPES.iter().map(|t| format!("{t:?}")).collect::<Vec<_>>().join(", ")
        ));
    }
    let name = doc.get("name").and_then(Value::as_str).ok_or_else(|| format!("{shown}: the manifest has no name"))?;
    let mut notes = Vec::new();
    let known = [
        "name",
        "type",
        "image",
        "http",
        "cpu",
        "memory",
        "count",
        "exec",
        "variables",
        "secrets",
        "command",
        "entrypoint",
        "sidecars",
        "storage",
        "network",
        "platform",
        "environments",
        "subscribe",
        "nlb",
        "logging",
        "deployment",
        "publish",
        "observability",
        "taskdef_overrides",
        "env_file",
    ];
    if let Some(m) = doc.as_mapping() {
        for k in m.keys().filter_map(Value::as_str).filter(|k| !known.contains(k)) {
            notes.push(format!("{k}: not a Copilot service key berth knows; not carried over"));
        }
    }

    let mut svc = Mapping::new();
    let mut xb = Mapping::new();
    let image = doc.get("image");
    // image.build (a Dockerfile path or a map) or image.location.
    match image.and_then(|i| i.get("build")) {
        // Copilot's paths are the workspace's; Compose's dockerfile is the context's.
        Some(Value::String(dockerfile)) => {
            // A string is the Dockerfile, and its folder the context.
            let (context, file) = dockerfile.rsplit_once('/').unwrap_or((".", dockerfile));
            let mut b = Mapping::new();
            put(&mut b, "context", s(if context.is_empty() { "." } else { context }));
            put(&mut b, "dockerfile", s(file));
            put(&mut svc, "build", Value::Mapping(b));
        }
        Some(Value::Mapping(m)) => {
            let mut b = Mapping::new();
            let context = m.get("context").and_then(text_of);
            let dockerfile = m.get("dockerfile").and_then(text_of);
            let (context, dockerfile) = match (context, dockerfile) {
                (Some(c), Some(d)) => {
                    let c_norm = c.trim_start_matches("./").trim_end_matches('/').to_string();
                    let d_norm = d.trim_start_matches("./").to_string();
                    let relative = d_norm.strip_prefix(&format!("{c_norm}/")).map(str::to_string);
                    (
                        c,
                        Some(relative.unwrap_or_else(|| {
                            format!("{}{d_norm}", "../".repeat(c_norm.split('/').filter(|p| !p.is_empty() && *p != ".").count()))
                        })),
                    )
                }
                (Some(c), None) => (c, None),
                (None, Some(d)) => {
                    let (c, f) = d.rsplit_once('/').unwrap_or((".", d.as_str()));
                    (if c.is_empty() { ".".to_string() } else { c.to_string() }, Some(f.to_string()))
                }
                (None, None) => (".".to_string(), None),
            };
            put(&mut b, "context", s(&context));
            if let Some(d) = dockerfile {
                put(&mut b, "dockerfile", s(&d));
            }
            for k in ["args", "target"] {
                if let Some(v) = m.get(k) {
                    put(&mut b, k, v.clone());
                }
            }
            if m.contains_key("cache_from") {
                notes.push("image.build.cache_from: set cache sources in your CI's docker build instead".into());
            }
            put(&mut svc, "build", Value::Mapping(b));
        }
        _ => {}
    }
    if let Some(loc) = image.and_then(|i| i.get("location")) {
        put(&mut svc, "image", loc.clone());
    }
    if svc.is_empty() {
        return Err(format!("{shown}: image needs build or location"));
    }
    let port = image.and_then(|i| i.get("port")).and_then(text_of);
    if let Some(p) = &port {
        put(&mut svc, "ports", Value::Sequence(vec![s(p)]));
    }
    for (from, to) in [("command", "command"), ("entrypoint", "entrypoint")] {
        if let Some(v) = doc.get(from) {
            put(&mut svc, to, v.clone());
        }
    }
    if let Some(hc) = image.and_then(|i| i.get("healthcheck")) {
        let mut h = Mapping::new();
        if let Some(c) = hc.get("command") {
            put(&mut h, "test", c.clone());
        }
        for (from, to) in [("interval", "interval"), ("retries", "retries"), ("timeout", "timeout"), ("start_period", "start_period")] {
            if let Some(v) = hc.get(from) {
                put(&mut h, to, v.clone());
            }
        }
        put(&mut svc, "healthcheck", Value::Mapping(h));
    }
    if let Some(v) = doc.get("variables") {
        put(&mut svc, "environment", v.clone());
    }
    if doc.get("env_file").is_some() {
        notes.push("env_file: Copilot reads it from S3; copy its variables into environment".into());
    }
    if let Some(p) = doc.get("platform").and_then(text_of) {
        // Copilot says linux/x86_64; Compose and berth linux/amd64 or linux/arm64.
        put(&mut svc, "platform", s(&p.replace("x86_64", "amd64")));
    }

    // Secrets: Copilot injects them as variables; ARNs are the account's.
    let mut app_secrets = Mapping::new();
    if let Some(secrets) = doc.get("secrets").and_then(Value::as_mapping) {
        let mut names = Vec::new();
        for (k, v) in secrets {
            let Some(k) = k.as_str() else { continue };
            let arn = match v {
                Value::String(param) => {
                    let param = param.trim_start_matches('/');
                    format!("arn:aws:ssm:REPLACE_ME_REGION:REPLACE_ME_ACCOUNT:parameter/{param}")
                }
                Value::Mapping(m) if m.contains_key("secretsmanager") => {
                    let id = m.get("secretsmanager").and_then(text_of).unwrap_or_default();
                    if id.starts_with("arn:") {
                        id
                    } else {
                        notes.push(format!("secrets.{k}: give the Secrets Manager secret's full ARN (Copilot named it {id:?})"));
                        "REPLACE_ME_SECRET_ARN".to_string()
                    }
                }
                _ => {
                    notes.push(format!("secrets.{k}: from_cfn and other forms are not converted; set the ARN"));
                    "REPLACE_ME_SECRET_ARN".to_string()
                }
            };
            let secret = k.to_ascii_lowercase().replace('_', "-");
            let mut def = Mapping::new();
            put(&mut def, "external", Value::Bool(true));
            put(&mut def, "name", s(&arn));
            app_secrets.insert(s(&secret), Value::Mapping(def));
            names.push(s(&secret));
        }
        if !names.is_empty() {
            put(&mut svc, "secrets", Value::Sequence(names));
            // As Copilot does: the value as a variable named after the secret.
            put(&mut xb, "secret_env", Value::Bool(true));
        }
    }

    // Task size and count.
    let mut deploy = Mapping::new();
    let cpu = doc.get("cpu").and_then(Value::as_u64);
    let memory = doc.get("memory").and_then(Value::as_u64);
    if cpu.is_some() || memory.is_some() {
        let mut limits = Mapping::new();
        if let Some(c) = cpu {
            put(&mut limits, "cpus", s(&format!("{}", c as f64 / 1024.0)));
        }
        if let Some(m) = memory {
            put(&mut limits, "memory", s(&format!("{m}M")));
        }
        let mut resources = Mapping::new();
        put(&mut resources, "limits", Value::Mapping(limits));
        put(&mut deploy, "resources", Value::Mapping(resources));
    }
    count(doc.get("count"), &mut deploy, &mut xb, &mut notes, kind);

    // The route: http.path and its health check.
    if kind == "Load Balanced Web Service" {
        match doc.get("http") {
            Some(Value::Bool(false)) | None if doc.get("nlb").is_some() => {
                notes.push("nlb: a Network Load Balancer listener; berth routes through an ALB listener rule only: not converted".into());
            }
            Some(Value::Bool(false)) => {}
            http => route(http, port.as_deref(), &mut xb, &mut notes),
        }
    } else if doc.get("http").is_some() {
        notes.push("http: only a Load Balanced Web Service is routed".into());
    }
    if let Some(sub) = doc.get("subscribe") {
        let topics = sub.get("topics").and_then(Value::as_sequence).map_or(0, Vec::len);
        notes.push(format!(
            "subscribe: the worker's SNS topic subscriptions and SQS queue ({topics} topics) are not berth's to make; create the queue, and give its URL in environment"
        ));
    }
    for (k, why) in [
        ("exec", "ECS Exec is not set up by berth; `berth run SERVICE -- sh` runs a one-off task instead"),
        ("logging", "FireLens log routing is not converted; containers log to CloudWatch Logs (x-berth.logs)"),
        ("publish", "SNS topics are not berth's to make"),
        ("observability", "X-Ray tracing is not converted"),
        ("taskdef_overrides", "CloudFormation overrides have no berth equivalent"),
        ("deployment", "Copilot's deployment settings are not converted; see x-berth.rolling and x-berth.strategy"),
    ] {
        if doc.get(k).is_some() {
            notes.push(format!("{k}: {why}"));
        }
    }
    if let Some(net) = doc.get("network") {
        if net.get("connect").is_some_and(|c| c != &Value::Bool(false)) {
            notes.push("network.connect: berth's `x-berth.discovery: connect` (written below) is Service Connect".into());
        }
        if let Some(sgs) = net.pointer_security_groups() {
            notes.push(format!("network.vpc.security_groups: {sgs} — add them to x-berth.network.security_groups"));
        }
        if net.get("vpc").and_then(|v| v.get("placement")).and_then(Value::as_str) == Some("public") {
            notes.push("network.vpc.placement: public — set x-berth.network.assign_public_ip: true and public subnets".into());
        }
    }

    // Storage: EFS volumes by id; the rest is noted.
    let mut volumes = Mapping::new();
    if let Some(vols) = doc.get("storage").and_then(|s| s.get("volumes")).and_then(Value::as_mapping) {
        let mut mounts = Vec::new();
        for (vname, v) in vols {
            let Some(vname) = vname.as_str() else { continue };
            let path = v.get("path").and_then(text_of).unwrap_or_default();
            let ro = v.get("read_only").and_then(Value::as_bool).unwrap_or(true);
            let efs_id = match v.get("efs") {
                Some(Value::Mapping(m)) => m.get("id").and_then(text_of),
                Some(Value::Bool(true)) => {
                    notes.push(format!(
                        "storage.volumes.{vname}.efs: true is a file system Copilot made; give its id in volumes.{vname}.x-berth.efs"
                    ));
                    Some("REPLACE_ME_EFS_ID".to_string())
                }
                _ => None,
            };
            mounts.push(s(&format!("{vname}:{path}{}", if ro { ":ro" } else { "" })));
            let mut def = Mapping::new();
            if let Some(id) = efs_id {
                let mut x = Mapping::new();
                put(&mut x, "efs", s(&id));
                if let Some(root) = v.get("efs").and_then(|e| e.get("root_dir")) {
                    put(&mut x, "root_directory", root.clone());
                }
                put(&mut def, "x-berth", Value::Mapping(x));
            }
            volumes.insert(s(vname), if def.is_empty() { Value::Null } else { Value::Mapping(def) });
        }
        if !mounts.is_empty() {
            put(&mut svc, "volumes", Value::Sequence(mounts));
        }
    }
    if doc.get("storage").and_then(|s| s.get("ephemeral")).is_some() {
        notes.push("storage.ephemeral: Fargate's ephemeral storage size is not converted (the default, 20 GiB, applies)".into());
    }

    if !deploy.is_empty() {
        put(&mut svc, "deploy", Value::Mapping(deploy));
    }
    if !xb.is_empty() {
        put(&mut svc, "x-berth", Value::Mapping(xb));
    }

    let mut services = Mapping::new();
    services.insert(s(name), Value::Mapping(svc));
    // Sidecars join the service's task.
    if let Some(sidecars) = doc.get("sidecars").and_then(Value::as_mapping) {
        for (sname, sc) in sidecars {
            let Some(sname) = sname.as_str() else { continue };
            let mut m = Mapping::new();
            match sc.get("image") {
                Some(Value::String(i)) => put(&mut m, "image", s(i)),
                Some(Value::Mapping(i)) if i.contains_key("location") => put(&mut m, "image", i["location"].clone()),
                _ => {
                    notes.push(format!("sidecars.{sname}.image: give the image"));
                    put(&mut m, "image", s("REPLACE_ME_IMAGE"));
                }
            }
            if let Some(p) = sc.get("port").and_then(text_of) {
                put(&mut m, "expose", Value::Sequence(vec![s(p.split('/').next().unwrap_or(&p))]));
            }
            for (from, to) in [("variables", "environment"), ("command", "command"), ("entrypoint", "entrypoint")] {
                if let Some(v) = sc.get(from) {
                    put(&mut m, to, v.clone());
                }
            }
            if sc.get("secrets").is_some() || sc.get("mount_points").is_some() || sc.get("depends_on").is_some() {
                notes.push(format!("sidecars.{sname}: its secrets, mount_points and depends_on are not converted"));
            }
            let mut x = Mapping::new();
            put(&mut x, "task", s(name));
            put(&mut m, "x-berth", Value::Mapping(x));
            services.insert(s(sname), Value::Mapping(m));
        }
    }
    if let Some(envs) = doc.get("environments").and_then(Value::as_mapping) {
        let names: Vec<String> = envs.keys().filter_map(Value::as_str).map(str::to_string).collect();
        notes.push(format!(
            "environments ({}): per-environment overrides are not converted; write them as x-berth.environments overlays and deploy with --env",
            names.join(", ")
        ));
    }

    let mut top = Mapping::new();
    put(&mut top, "name", s(name));
    put(&mut top, "services", Value::Mapping(services));
    if !volumes.is_empty() {
        put(&mut top, "volumes", Value::Mapping(volumes));
    }
    if !app_secrets.is_empty() {
        put(&mut top, "secrets", Value::Mapping(app_secrets));
    }
    let routed = doc.get("http").is_some_and(|h| h != &Value::Bool(false)) && kind == "Load Balanced Web Service";
    put(&mut top, "x-berth", app_x_berth(routed));
    let body = serde_yaml::to_string(&Value::Mapping(top)).map_err(|e| e.to_string())?;
    let mut text = format!("# A berth spec converted from the Copilot manifest {shown} by `berth init --from`.\n");
    text.push_str("# Fill in the REPLACE_ME placeholders, then: berth validate && berth plan\n");
    for n in &notes {
        text.push_str(&format!("# note: {n}\n"));
    }
    text.push_str(&body);
    Ok(Converted { text, notes })
}

/// `count: 3`, `count: { spot: 3 }`, `count: { range: 1-10 | {min, max,
/// spot_from}, cooldown, cpu_percentage, memory_percentage, requests,
/// response_time }`.
fn count(count: Option<&Value>, deploy: &mut Mapping, xb: &mut Mapping, notes: &mut Vec<String>, kind: &str) {
    let Some(count) = count else { return };
    if let Some(n) = count.as_u64() {
        put(deploy, "replicas", Value::Number(n.into()));
        return;
    }
    let Some(m) = count.as_mapping() else { return };
    if let Some(n) = m.get("spot").and_then(Value::as_u64) {
        put(deploy, "replicas", Value::Number(n.into()));
        let mut cap = Mapping::new();
        put(&mut cap, "spot", Value::Number(1.into()));
        put(xb, "capacity", Value::Mapping(cap));
    }
    let Some(range) = m.get("range") else {
        if m.keys().any(|k| k.as_str() != Some("spot")) {
            notes.push("count: autoscaling fields without range are not converted (Copilot needs range too)".into());
        }
        return;
    };
    let (min, max, spot_from) = match range {
        Value::String(r) => match r.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u64>().ok(), b.trim().parse::<u64>().ok(), None),
            None => (None, None, None),
        },
        Value::Mapping(r) => {
            (r.get("min").and_then(Value::as_u64), r.get("max").and_then(Value::as_u64), r.get("spot_from").and_then(Value::as_u64))
        }
        _ => (None, None, None),
    };
    let (Some(min), Some(max)) = (min, max) else {
        notes.push(format!("count.range: {range:?} is not `n-m` or {{ min, max }}: not converted"));
        return;
    };
    let mut a = Mapping::new();
    put(&mut a, "min", Value::Number(min.into()));
    put(&mut a, "max", Value::Number(max.into()));
    let value_of = |v: &Value| v.get("value").cloned().unwrap_or_else(|| v.clone());
    for k in ["cpu_percentage", "memory_percentage", "requests", "response_time"] {
        if m.get(k).is_some_and(|v| v.get("cooldown").is_some()) {
            notes.push(format!("count.{k}.cooldown: berth's cooldowns are the scaler's (count.cooldown); this one is not converted"));
        }
    }
    if let Some(v) = m.get("cpu_percentage") {
        put(&mut a, "cpu", s(&format!("{}%", text_of(&value_of(v)).unwrap_or_default())));
    }
    if let Some(v) = m.get("memory_percentage") {
        put(&mut a, "memory", s(&format!("{}%", text_of(&value_of(v)).unwrap_or_default())));
    }
    if let Some(v) = m.get("requests") {
        if kind == "Load Balanced Web Service" {
            put(&mut a, "requests_per_target", value_of(v));
        } else {
            notes.push("count.requests: only a routed service tracks requests".into());
        }
    }
    if m.contains_key("response_time") {
        notes.push("count.response_time: target tracking on response time is not converted (berth tracks cpu, memory, requests)".into());
    }
    for (k, label) in [("queue_delay", "the SQS queue backlog")] {
        if m.contains_key(k) {
            notes.push(format!("count.{k}: scaling on {label} is not converted"));
        }
    }
    // Copilot's cooldown.in/out are the scale-in and scale-out cooldowns.
    if let Some(c) = m.get("cooldown") {
        if let Some(v) = c.get("in").and_then(duration) {
            put(&mut a, "scale_in_cooldown", v);
        }
        if let Some(v) = c.get("out").and_then(duration) {
            put(&mut a, "scale_out_cooldown", v);
        }
    }
    if ["cpu", "memory", "requests_per_target"].iter().all(|k| !a.contains_key(s(k))) {
        notes.push("count.range: no metric to track; berth scales on cpu at 70% (edit x-berth.autoscaling)".into());
        put(&mut a, "cpu", s("70%"));
    }
    put(xb, "autoscaling", Value::Mapping(a));
    // spot_from: the first spot_from-1 tasks on Fargate, the rest on Spot.
    if let Some(from) = spot_from {
        let mut cap = Mapping::new();
        put(&mut cap, "on_demand_base", Value::Number(from.saturating_sub(1).into()));
        put(&mut cap, "on_demand", Value::Number(0.into()));
        put(&mut cap, "spot", Value::Number(1.into()));
        put(xb, "capacity", Value::Mapping(cap));
    }
}

fn route(http: Option<&Value>, port: Option<&str>, xb: &mut Mapping, notes: &mut Vec<String>) {
    let mut r = Mapping::new();
    let path = http.and_then(|h| h.get("path")).and_then(text_of).unwrap_or_else(|| "/".into());
    let path = if path == "/" { "/*".to_string() } else { format!("/{}*", path.trim_matches('/').to_string() + "/") };
    put(&mut r, "paths", Value::Sequence(vec![s(&path)]));
    if let Some(p) = port.and_then(|p| p.split('/').next()).and_then(|p| p.parse::<u64>().ok()) {
        put(&mut r, "port", Value::Number(p.into()));
    }
    match http.and_then(|h| h.get("healthcheck")) {
        Some(Value::String(p)) => put(&mut r, "health_path", s(p)),
        Some(Value::Mapping(h)) => {
            for (from, to) in [
                ("path", "health_path"),
                ("success_codes", "health_matcher"),
                ("healthy_threshold", "healthy_threshold"),
                ("unhealthy_threshold", "unhealthy_threshold"),
                ("interval", "health_interval"),
            ] {
                if let Some(v) = h.get(from) {
                    put(&mut r, to, v.clone());
                }
            }
            for k in ["port", "timeout", "grace_period"] {
                if h.contains_key(k) {
                    notes.push(format!("http.healthcheck.{k}: not converted (berth checks the route's port)"));
                }
            }
        }
        _ => {}
    }
    if let Some(d) = http.and_then(|h| h.get("deregistration_delay")).and_then(duration) {
        put(&mut r, "deregistration_delay", d);
    }
    for (k, why) in [
        ("alias", "set the rule's hosts in x-berth.route.hosts and the certificate on your listener"),
        ("target_container", "route to a sidecar by giving x-berth.route to that service instead"),
        ("stickiness", "target group stickiness is not converted"),
        ("allowed_source_ips", "source IP conditions are not converted"),
        ("version", "the protocol version (grpc, http2) is not converted; set the port's app_protocol"),
        ("redirect_to_https", "listener redirects are the listener's, not berth's"),
    ] {
        if http.is_some_and(|h| h.get(k).is_some()) {
            notes.push(format!("http.{k}: {why}"));
        }
    }
    put(xb, "route", Value::Mapping(r));
}

/// The app-wide x-berth, with placeholders like `berth init` writes.
fn app_x_berth(routed: bool) -> Value {
    let mut net = Mapping::new();
    put(&mut net, "vpc_id", s("REPLACE_ME_VPC_ID"));
    put(&mut net, "subnets", Value::Sequence(vec![s("REPLACE_ME_SUBNET_A"), s("REPLACE_ME_SUBNET_B")]));
    put(&mut net, "security_groups", Value::Sequence(vec![s("REPLACE_ME_SECURITY_GROUP")]));
    let mut x = Mapping::new();
    put(&mut x, "region", s("REPLACE_ME_REGION"));
    put(&mut x, "network", Value::Mapping(net));
    if routed {
        let mut lb = Mapping::new();
        put(&mut lb, "listener", s("REPLACE_ME_LISTENER_ARN"));
        put(&mut x, "load_balancer", Value::Mapping(lb));
    }
    put(&mut x, "execution_role_arn", s("REPLACE_ME_EXECUTION_ROLE_ARN"));
    put(&mut x, "discovery", s("connect"));
    let mut reg = Mapping::new();
    put(&mut reg, "url", s("${REGISTRY:-REPLACE_ME_ACCOUNT.dkr.ecr.REPLACE_ME_REGION.amazonaws.com}"));
    put(&mut x, "registry", Value::Mapping(reg));
    Value::Mapping(x)
}

trait SecurityGroups {
    fn pointer_security_groups(&self) -> Option<String>;
}

impl SecurityGroups for Value {
    /// `network.vpc.security_groups` (a list, or `{ groups: [...] }`), joined.
    fn pointer_security_groups(&self) -> Option<String> {
        let sg = self.get("vpc")?.get("security_groups")?;
        let list = sg.as_sequence().or_else(|| sg.get("groups").and_then(Value::as_sequence))?;
        let ids: Vec<String> = list.iter().filter_map(text_of).collect();
        (!ids.is_empty()).then(|| ids.join(", "))
    }
}
