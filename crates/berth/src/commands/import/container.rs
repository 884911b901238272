//! One container of a live task definition as a compose service: the
//! Compose form wherever one exists, x-berth where Compose has no word.

use serde_json::{json, Map, Value};

use super::spec::Spec;
use super::{leftover, secs};

/// What a service's containers share while import reads them.
pub(super) struct Task {
    /// `task definition <family:revision>`: where warnings point.
    pub tat: String,
    /// The compose service: the main container's name.
    pub key: String,
    /// The main container's index.
    pub main: usize,
    /// The live service's fields.
    pub service: Map<String, Value>,
    /// The files berth's init container writes, with its image.
    pub secret_files: Option<(Vec<(String, String)>, String)>,
}

impl Spec<'_> {
    /// Container `i` of the task as a compose service (`None`: berth's own
    /// init container, which the spec's `secrets:` say).
    pub(super) fn container(&mut self, task: &Task, i: usize, c: &Value) -> Option<Container> {
        let app = self.place.app;
        let (tat, key, main) = (task.tat.as_str(), task.key.as_str(), task.main);
        let (s, secret_files) = (&task.service, &task.secret_files);
        let mut c = c.as_object().cloned().unwrap_or_default();
        let cname = c.get("name").and_then(Value::as_str).unwrap_or_default().to_string();
        let cat = format!("{tat} container {cname}");
        if cname == "berth-init" && secret_files.is_some() {
            return None;
        }
        let mut files_out = None;
        if let Some((files, _)) = secret_files {
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
            self.warnings.push(format!(
                "{cat} (berth's init container, writing secrets as files from {}) is not imported: declare the secrets under top-level `secrets:` (external, named by ARN) and list them on the service",
                if from.is_empty() { "configs".to_string() } else { from.join(", ") }
            ));
            return None;
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
                    _ => self
                        .warnings
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
                    self.warnings
                        .push(format!("{cat}.portMappings hostPort {} differs from containerPort {port}: not imported", p["hostPort"]));
                }
                if p.get("protocol").and_then(Value::as_str).is_some_and(|pr| pr != "tcp") {
                    list.push(Value::String(format!("{port}/{}", p["protocol"].as_str().unwrap_or_default())));
                } else {
                    list.push(Value::String(port.to_string()));
                }
                let default_name = format!("{cname}-{port}");
                if !unnamed_ports && name_of(p) != default_name {
                    self.warnings.push(format!("{cat}.portMappings name {:?} is not imported (berth names it {default_name})", name_of(p)));
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
            self.warnings
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
                    self.warnings.push(format!(
                        "{cat}.secrets {} (from {}) is not imported: berth gives a service its secrets either as files or as environment variables, and this one has files",
                        sct["name"], sct["valueFrom"]
                    ));
                }
            } else {
                let mut list = Vec::new();
                for sct in secrets {
                    let (var, arn) = (sct["name"].as_str().unwrap_or_default(), sct["valueFrom"].as_str().unwrap_or_default());
                    match env_secret_source(var, arn, &self.secrets) {
                        Some(source) => {
                            self.secrets.insert(source.clone(), json!({"external": true, "name": arn}));
                            list.push(json!({"source": source, "target": var}));
                        }
                        None => self.warnings.push(format!(
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
        if let Some(logging) = logging(c.get("logConfiguration"), app, &mut self.logs, &mut self.region, &mut self.warnings, &cat) {
            out.insert("logging".into(), logging);
        }
        // Mounts of the named volumes, in Compose's short form.
        if let Some(Value::Array(mounts)) = c.remove("mountPoints") {
            let mut list = Vec::new();
            for m in &mounts {
                match (m["sourceVolume"].as_str(), m["containerPath"].as_str()) {
                    (Some(v), Some(path)) if self.volumes.contains_key(v) => {
                        let ro = if m["readOnly"] == json!(true) { ":ro" } else { "" };
                        list.push(Value::String(format!("{v}:{path}{ro}")));
                    }
                    _ => self.warnings.push(format!("{cat}.mountPoints {m} is not imported")),
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
            &mut self.warnings,
        );
        let mut xs = Map::new();
        if c.get("essential") == Some(&json!(false)) {
            if i == main {
                self.warnings.push(format!("{cat}.essential = false is not imported: berth's service container is essential"));
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
        if i != main {
            xs.insert("task".into(), key.into());
        }
        Some(Container { name: cname, at: cat, service: out, x_berth: xs })
    }
}

/// A container as a compose service, before the service's own keys join
/// the main one.
pub(super) struct Container {
    pub name: String,
    /// Where its warnings point.
    pub at: String,
    pub service: Map<String, Value>,
    pub x_berth: Map<String, Value>,
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
