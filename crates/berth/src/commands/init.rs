//! `berth init`: scaffold a spec and the CI files. Never overwrites a file
//! without `--force`, and never asks anything.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use berth_spec::node::{self, NodeValue};

use crate::cli::{Cli, InitArgs};
use crate::{ExitStatus, Io};

const SPEC: &str = include_str!("../../../../templates/compose.berth.yaml");
const BUILDSPEC: &str = include_str!("../../../../templates/buildspec.yml");
const WORKFLOW: &str = include_str!("../../../../templates/github/berth.yml");

pub fn run(cli: &Cli, args: &InitArgs, io: &mut Io) -> anyhow::Result<ExitStatus> {
    let out_path = io.cwd.join(&args.out);
    let folder = out_path.parent().and_then(|d| d.file_name()).map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    let (spec, notes) = match &args.from {
        None => (SPEC.to_string(), Vec::new()),
        Some(from) if is_copilot(&io.cwd.join(from)) => {
            let text = std::fs::read_to_string(io.cwd.join(from)).with_context(|| format!("reading {}", from.display()))?;
            let doc: serde_yaml::Value = serde_yaml::from_str(&text).with_context(|| format!("parsing {}", from.display()))?;
            match crate::commands::init_copilot::convert(&doc, &from.display().to_string()) {
                Ok(c) => (c.text, c.notes),
                Err(message) => {
                    writeln!(io.stderr, "error: {message}")?;
                    return Ok(ExitStatus::Error);
                }
            }
        }
        Some(from) => match scaffold_from(&io.cwd.join(from), from, &folder) {
            Ok(s) => (s.text, s.notes),
            Err(message) => {
                writeln!(io.stderr, "error: {message}")?;
                return Ok(ExitStatus::Error);
            }
        },
    };
    let files: Vec<(PathBuf, String)> = vec![
        (args.out.clone(), spec),
        (PathBuf::from("buildspec.yml"), BUILDSPEC.to_string()),
        (PathBuf::from(".github/workflows/berth.yml"), WORKFLOW.to_string()),
    ];
    let mut existing: Vec<String> = files.iter().filter(|(p, _)| io.cwd.join(p).exists()).map(|(p, _)| p.display().to_string()).collect();
    if io.cwd.join(POLICY).exists() {
        existing.push(POLICY.to_string());
    }
    if !existing.is_empty() && !args.force {
        writeln!(io.stderr, "error: these files exist already: {}; nothing was written", existing.join(", "))?;
        writeln!(io.stderr, "  hint: pass --force to overwrite them")?;
        return Ok(ExitStatus::Error);
    }
    for (path, text) in &files {
        let full = io.cwd.join(path);
        if let Some(dir) = full.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(&full, text).with_context(|| format!("writing {}", path.display()))?;
        writeln!(io.stderr, "wrote {}", path.display())?;
    }
    write_policy(cli, args, io)?;
    if !notes.is_empty() {
        writeln!(io.stderr)?;
        for n in &notes {
            writeln!(io.stderr, "{n}")?;
        }
    }
    // Placeholders in values, not in comments.
    let placeholders: usize = files[0]
        .1
        .lines()
        .map(|l| l.split(" #").next().unwrap_or_default())
        .filter(|l| !l.trim_start().starts_with('#'))
        .map(|l| l.matches("REPLACE_ME").count())
        .sum();
    writeln!(io.stderr, "\nNext: replace the {placeholders} REPLACE_ME placeholders in {}, then", args.out.display())?;
    writeln!(io.stderr, "  berth -f {} validate", args.out.display())?;
    writeln!(io.stderr, "  berth -f {} plan", args.out.display())?;
    Ok(ExitStatus::Success)
}

const POLICY: &str = "berth-iam-policy.json";

/// Whether the file is a Copilot service manifest (else a Compose file).
fn is_copilot(path: &Path) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else { return false };
    serde_yaml::from_str::<serde_yaml::Value>(&text).is_ok_and(|doc| crate::commands::init_copilot::is_manifest(&doc))
}

/// The deployer role's policy for the new spec, when it loads as it is.
fn write_policy(cli: &Cli, args: &InitArgs, io: &mut Io) -> anyhow::Result<()> {
    let opts = berth_spec::LoadOptions {
        files: vec![args.out.clone()],
        dir: io.cwd.clone(),
        vars: cli.global.vars.iter().cloned().collect(),
        process_env: io.env.clone(),
        ..Default::default()
    };
    let path = io.cwd.join(POLICY);
    match berth_spec::load(&opts) {
        Ok(loaded) => {
            let desired = berth_model::lower(&loaded.app);
            let policy = berth_aws::policy::policy(&desired, loaded.app.region.as_deref().filter(|r| !r.contains("REPLACE_ME")));
            std::fs::write(&path, serde_json::to_string_pretty(&policy)? + "\n")?;
            writeln!(io.stderr, "wrote berth-iam-policy.json")?;
        }
        Err(diags) => {
            writeln!(
                io.stderr,
                "\n{} does not validate yet; fix these, then run `berth iam-policy > berth-iam-policy.json`:",
                args.out.display()
            )?;
            crate::printer::diagnostics(io.stderr, &diags)?;
        }
    }
    Ok(())
}

/// Container ports that are usually HTTP: a service publishing one of them
/// may get a route through the load balancer. Any other port (a database's
/// 5432, 3306, 6379, 27017, DNS's 53, a game's 25565) never does.
const HTTP_PORTS: &[u16] = &[80, 443, 3000, 4000, 4200, 5000, 5173, 8000, 8008, 8080, 8081, 8443, 8888, 9000];
/// HTTPS inside the container: routed only when no plain HTTP port is there.
const TLS_PORTS: &[u16] = &[443, 8443];

/// Words in a service's name or image that say it is a datastore or a
/// queue: never routed, whatever it publishes.
const DATASTORE_WORDS: &[&str] = &[
    "db",
    "database",
    "postgres",
    "postgresql",
    "pg",
    "mysql",
    "mariadb",
    "mssql",
    "sql",
    "mongo",
    "mongodb",
    "redis",
    "memcached",
    "rabbitmq",
    "kafka",
    "zookeeper",
    "elasticsearch",
    "cassandra",
    "etcd",
    "dns",
    "bind9",
    "coredns",
];
/// Words that say a service is the entry point in front of the others.
const PROXY_WORDS: &[&str] = &["proxy", "nginx", "gateway", "traefik", "caddy", "haproxy", "envoy", "httpd", "apache", "ingress", "lb"];
/// Words that say a service is the web front end.
const WEB_WORDS: &[&str] =
    &["web", "frontend", "front", "app", "www", "ui", "site", "client", "webapp", "portal", "wordpress", "nextcloud"];

/// The words of a service's name and of its image's repository name.
fn words(name: &str, service: &node::Node) -> Vec<String> {
    let image = service.get("image").and_then(|i| i.as_str()).unwrap_or_default();
    // `registry:5000/org/repo:tag@sha256:…` → `repo`
    let repo = image.split('@').next().unwrap_or_default();
    let repo = repo.rsplit('/').next().unwrap_or_default();
    let repo = repo.split(':').next().unwrap_or_default();
    let split = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(|w| w.to_ascii_lowercase().trim_end_matches(|c: char| c.is_ascii_digit()).to_string())
            .collect()
    };
    let mut out = split(name);
    out.extend(split(repo));
    out
}

/// The container ports a service publishes (`ports:`, TCP), in order.
fn published_ports(service: &node::Node) -> Vec<u16> {
    let Some(NodeValue::Seq(ports)) = service.get("ports").map(|p| &p.value) else { return Vec::new() };
    let mut out = Vec::new();
    for p in ports {
        match &p.value {
            NodeValue::Scalar { text, .. } => {
                if let Ok(specs) = berth_spec::ports::parse_short(text) {
                    out.extend(specs.iter().filter(|s| s.protocol == "tcp").map(|s| s.target));
                }
            }
            NodeValue::Map(_) => {
                let tcp = p.get("protocol").and_then(|t| t.as_str()).is_none_or(|t| t.eq_ignore_ascii_case("tcp"));
                if let Some(t) = p.get("target").and_then(|t| t.as_str()).and_then(|t| t.parse().ok()).filter(|_| tcp) {
                    out.push(t);
                }
            }
            NodeValue::Seq(_) => {}
        }
    }
    out
}

/// The service a person would route, and its port; or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Routing {
    Route { service: String, port: u16, why: &'static str },
    Nothing(String),
}

fn choose_route(services: &[(&String, &node::Entry)]) -> Routing {
    // (rank, name, port): 3 a proxy in front, 2 a web front end, 1 anything else serving HTTP.
    let mut candidates: Vec<(u8, &String, u16)> = Vec::new();
    let mut other_ports: Vec<String> = Vec::new();
    for &(name, entry) in services {
        let ports = published_ports(&entry.value);
        let words = words(name, &entry.value);
        let has = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
        let http: Vec<u16> = ports.iter().copied().filter(|p| HTTP_PORTS.contains(p)).collect();
        let port = http.iter().copied().find(|p| !TLS_PORTS.contains(p)).or(http.first().copied());
        match port {
            Some(port) if !has(DATASTORE_WORDS) => {
                let rank = if has(PROXY_WORDS) {
                    3
                } else if has(WEB_WORDS) {
                    2
                } else {
                    1
                };
                candidates.push((rank, name, port));
            }
            _ => other_ports.extend(ports.iter().map(|p| format!("{name}:{p}"))),
        }
    }
    let Some(best) = candidates.iter().map(|c| c.0).max() else {
        return Routing::Nothing(if other_ports.is_empty() {
            "no service publishes a port".to_string()
        } else {
            format!("no service publishes an HTTP port (published: {})", other_ports.join(", "))
        });
    };
    let top: Vec<&(u8, &String, u16)> = candidates.iter().filter(|c| c.0 == best).collect();
    if let [(rank, service, port)] = top.as_slice() {
        let why = match rank {
            3 => "the proxy in front of the others",
            2 => "the web front end",
            _ => "the only service with an HTTP port",
        };
        return Routing::Route { service: service.to_string(), port: *port, why };
    }
    let names: Vec<String> = top.iter().map(|(_, n, p)| format!("{n}:{p}")).collect();
    Routing::Nothing(format!("cannot tell which of {} to route", names.join(", ")))
}

/// The app name berth will use: `name:`, else the folder's.
fn app_name(tree: &node::Node, folder: &str) -> (String, bool) {
    match tree.get("name").and_then(|n| n.as_str()) {
        Some(n) => (n.to_string(), true),
        None => (folder.to_string(), false),
    }
}

/// The same name made fit to prefix AWS names (lowercase letters, digits and
/// hyphens, starting with a letter or digit) and at most `max` long.
fn fit_name(name: &str, max: usize) -> String {
    let mut out: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect::<String>();
    out = out.trim_matches('-').to_string();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    let max = max.max(1);
    if out.len() > max {
        // Whole words when there is a hyphen to cut at: `react-express-mongodb` → `react-express`.
        let cut = if out.as_bytes()[max] == b'-' { max } else { out[..max].rfind('-').unwrap_or(max) };
        out.truncate(cut);
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() {
        "app".chars().take(max.max(1)).collect()
    } else {
        out
    }
}

/// The last line a node spans (a mapping item of several lines).
fn last_line(n: &node::Node) -> usize {
    match &n.value {
        NodeValue::Scalar { .. } => n.pos.line,
        NodeValue::Seq(items) => items.iter().map(last_line).max().unwrap_or(n.pos.line),
        NodeValue::Map(entries) => entries.values().map(|e| last_line(&e.value).max(e.key_pos.line)).max().unwrap_or(n.pos.line),
    }
}

/// Whether a `volumes:` item of a service mounts a host path (or tmpfs),
/// which ECS has not: the same reading as berth's validation.
fn host_mount(item: &node::Node) -> bool {
    match &item.value {
        NodeValue::Scalar { text, .. } => {
            let parts: Vec<&str> = text.split(':').collect();
            parts.len() >= 2 && parts[0].starts_with(['.', '/', '~'])
        }
        NodeValue::Map(_) => matches!(item.get("type").and_then(|t| t.as_str()), Some("bind" | "tmpfs")),
        NodeValue::Seq(_) => false,
    }
}

/// The indentation (columns) of a 1-based line of `text`.
fn tree_col_of_line(text: &str, line: usize) -> usize {
    text.lines().nth(line.saturating_sub(1)).map_or(0, |l| l.len() - l.trim_start().len())
}

/// Line edits of the copy: lines commented out (1-based), and lines
/// inserted before or after a line.
#[derive(Default)]
struct Edits {
    comment: std::collections::BTreeSet<usize>,
    before: std::collections::BTreeMap<usize, Vec<String>>,
    after: std::collections::BTreeMap<usize, Vec<String>>,
    replace: std::collections::BTreeMap<usize, String>,
}

impl Edits {
    fn apply(&self, text: &str) -> String {
        let mut out = String::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            for l in self.before.get(&n).into_iter().flatten() {
                out.push_str(l);
                out.push('\n');
            }
            if let Some(r) = self.replace.get(&n) {
                out.push_str(r);
            } else if self.comment.contains(&n) {
                let indent = line.len() - line.trim_start().len();
                out.push_str(&line[..indent]);
                out.push_str("# ");
                out.push_str(&line[indent..]);
            } else {
                out.push_str(line);
            }
            out.push('\n');
            for l in self.after.get(&n).into_iter().flatten() {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }
}

/// What `scaffold_from` wrote, for the summary on stderr.
struct Scaffold {
    text: String,
    notes: Vec<String>,
}

/// A copy of an existing Compose file with the x-berth keys berth needs: a
/// route for the one service a person would route (or none, saying how),
/// what ECS cannot run commented out with the reason, the app-wide section,
/// and a shorter app name when the one there would make names too long.
fn scaffold_from(path: &Path, shown: &Path, folder: &str) -> Result<Scaffold, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", shown.display()))?;
    let tree = node::parse(&Arc::new(shown.to_path_buf()), &text).map_err(|d| d.to_string().trim_end().to_string())?;
    if tree.get("x-berth").is_some() {
        return Err(format!("{} already has an x-berth section; edit it instead", shown.display()));
    }
    let services = tree.get("services").and_then(|s| s.as_map()).ok_or_else(|| format!("{} has no services", shown.display()))?;
    let mut edits = Edits::default();
    let mut notes = Vec::new();

    // The route.
    let list: Vec<(&String, &node::Entry)> = services.iter().collect();
    let mut routing = choose_route(&list);
    if let Routing::Route { service, .. } = &routing {
        let entry = &services[service];
        let first_child = entry.value.as_map().and_then(|m| m.values().next());
        let reason = if entry.value.get("x-berth").is_some() {
            Some(format!("{service} has an x-berth section of its own; add `route:` to it"))
        } else if first_child.is_none_or(|c| c.key_pos.line == entry.key_pos.line) {
            Some(format!("{service} is written as a flow mapping; add `x-berth: {{ route: ... }}` to it"))
        } else {
            None
        };
        if let Some(reason) = reason {
            routing = Routing::Nothing(reason);
        }
    }
    // Compose-on-ECS's x-aws-* keys: commented out, and mapped where berth has the setting.
    let xaws = crate::commands::init_x_aws::read(&tree);
    for (first, last, why) in &xaws.blocks {
        let col = tree_col_of_line(&text, *first);
        edits.before.entry(*first).or_default().push(format!("{}# berth init: {why}", " ".repeat(col)));
        for l in *first..=*last {
            edits.comment.insert(l);
        }
    }
    notes.extend(xaws.notes.iter().cloned());
    // Each service's x-berth entries, written as one block under it.
    let mut service_keys: std::collections::BTreeMap<String, Vec<String>> = xaws.service_keys.iter().cloned().collect();
    let routed = match &routing {
        Routing::Route { service, port, why } => {
            service_keys.entry(service.clone()).or_default().insert(0, format!("route: {{ paths: [\"/*\"], port: {port} }}"));
            notes.push(format!("routed {service}:{port} at /* ({why}); change it under services.{service}.x-berth.route"));
            Some(service.clone())
        }
        Routing::Nothing(why) => {
            notes.push(format!(
                "routed nothing: {why}; to route a service, add under it `x-berth: {{ route: {{ paths: [\"/*\"], port: <container port> }} }}` and set x-berth.load_balancer.listener"
            ));
            None
        }
    };

    for (service, lines) in &service_keys {
        let Some(entry) = services.get(service) else { continue };
        let first_child = entry.value.as_map().and_then(|m| m.values().next());
        match first_child {
            Some(first) if entry.value.get("x-berth").is_none() && first.key_pos.line != entry.key_pos.line => {
                let indent = " ".repeat(first.key_pos.col.saturating_sub(1));
                let why = if routed.as_deref() == Some(service.as_str()) { ": the service behind the load balancer" } else { "" };
                let mut block = format!("{indent}x-berth:                                # added by berth init{why}");
                for l in lines {
                    block.push_str(&format!("\n{indent}  {l}"));
                }
                edits.after.entry(entry.key_pos.line).or_default().push(block);
            }
            _ => notes.push(format!("services.{service}: add under its x-berth: {}", lines.join("; "))),
        }
    }

    // What ECS cannot run: host paths, platforms other than Linux's.
    for (name, entry) in services {
        if let Some(vols) = entry.value.get("volumes").and_then(|v| v.as_seq()) {
            let host: Vec<&node::Node> = vols.iter().filter(|v| host_mount(v)).collect();
            if !host.is_empty() {
                let vol_entry = &entry.value.as_map().expect("a service with volumes is a mapping")["volumes"];
                let all = host.len() == vols.len();
                let first_line = if all { vol_entry.key_pos.line } else { host[0].pos.line };
                if vol_entry.value.pos.line == vol_entry.key_pos.line {
                    // A flow list (`volumes: [./a:/a]`): commented out whole when it is all host paths on one line.
                    if !all || last_line(&vol_entry.value) != vol_entry.key_pos.line {
                        notes.push(format!(
                            "services.{name}.volumes mounts host paths, which Fargate has not: bake the files into the image"
                        ));
                        continue;
                    }
                    edits.comment.insert(vol_entry.key_pos.line);
                } else {
                    if all {
                        edits.comment.insert(vol_entry.key_pos.line);
                    }
                    for v in &host {
                        for l in v.pos.line..=last_line(v) {
                            edits.comment.insert(l);
                        }
                    }
                }
                let col = if all { vol_entry.key_pos.col } else { host[0].pos.col.saturating_sub(2).max(1) };
                let indent = " ".repeat(col.saturating_sub(1));
                edits.before.entry(first_line).or_default().push(format!(
                    "{indent}# berth init: host paths do not exist on Fargate; bake these files into the image, or use a volume on EFS (x-berth.efs)"
                ));
                notes.push(format!("commented out {} host mount(s) of {name}: Fargate has no host paths", host.len()));
            }
        }
        if let Some(platform) = entry.value.get("platform") {
            let p = platform.as_str().unwrap_or_default();
            let linux = ["linux/amd64", "linux/x86_64", "linux/arm64", "linux/arm64/v8", "linux/aarch64"];
            if !linux.contains(&p) && platform.pos.line != entry.key_pos.line {
                edits.comment.insert(platform.pos.line);
                let indent = " ".repeat(platform.pos.col.saturating_sub(1).saturating_sub("platform: ".len()));
                edits
                    .before
                    .entry(platform.pos.line)
                    .or_default()
                    .push(format!("{indent}# berth init: ECS runs linux/amd64 and linux/arm64 images only"));
                notes.push(format!("commented out services.{name}.platform {p:?}: ECS runs linux/amd64 and linux/arm64"));
            }
        }
    }

    // The app name: short enough for `<app>-<service>` target group names.
    let (name, from_key) = app_name(&tree, folder);
    let longest = routed.as_deref().map_or(0, str::len);
    let max = if longest == 0 { 64 } else { berth_spec::resolve::TARGET_GROUP_NAME_MAX.saturating_sub(longest + 1) };
    let fitted = fit_name(&name, max);
    if fitted != name {
        let line = format!("name: {fitted}  # berth init: {name:?} made fit to prefix AWS names");
        if from_key {
            let at = tree.as_map().and_then(|m| m.get("name")).map(|e| e.key_pos.line).expect("name: is there");
            edits.replace.insert(at, line);
        } else {
            edits.before.entry(1).or_default().push(line);
        }
        notes.push(format!("app name {fitted} (from {name:?}, which would make names too long or invalid)"));
    }

    // File secrets: mapped to the ARN that holds the value on AWS.
    let file_secrets: Vec<&String> = tree
        .get("secrets")
        .and_then(|s| s.as_map())
        .map(|m| m.iter().filter(|(_, e)| e.value.get("file").is_some()).map(|(k, _)| k).collect())
        .unwrap_or_default();

    let mut out = edits.apply(&text);
    let mut head = X_BERTH_HEAD.to_string();
    if let Some(vpc) = &xaws.vpc_id {
        head = head.replace("REPLACE_ME_VPC_ID                 # the VPC of the subnets below", &format!("{vpc}   # from x-aws-vpc"));
    }
    if let Some(cluster) = &xaws.cluster {
        head.push_str(&format!("  cluster: {cluster}                       # from x-aws-cluster\n"));
    }
    if let Some(days) = &xaws.logs_retention_days {
        head.push_str(&format!("  logs: {{ retention_days: {days} }}          # from x-aws-logs_retention\n"));
    }
    out.push_str(&head);
    if routed.is_some() {
        out.push_str(LOAD_BALANCER);
    } else {
        out.push_str(LOAD_BALANCER_UNUSED);
    }
    out.push_str(X_BERTH_TAIL);
    if !file_secrets.is_empty() {
        out.push_str("  # The Secrets Manager or SSM parameter ARN that holds each file secret's value on AWS:\n  secrets:\n");
        for s in file_secrets {
            out.push_str(&format!("    {s}: REPLACE_ME_SECRET_ARN\n"));
        }
    }
    Ok(Scaffold { text: out, notes })
}

const X_BERTH_HEAD: &str = "
# --- added by `berth init` ---------------------------------------------------
# Where and how berth deploys this app on ECS: fill in the placeholders below.
x-berth:
  region: REPLACE_ME_REGION                   # e.g. ap-northeast-2
  network:
    vpc_id: REPLACE_ME_VPC_ID                 # the VPC of the subnets below
    subnets: [REPLACE_ME_SUBNET_A, REPLACE_ME_SUBNET_B]
    security_groups: [REPLACE_ME_SECURITY_GROUP]
";

const LOAD_BALANCER: &str = "  load_balancer:
    listener: REPLACE_ME_LISTENER_ARN         # an existing ALB listener
";

const LOAD_BALANCER_UNUSED: &str = "  # Needed once a service has x-berth.route:
  # load_balancer:
  #   listener: REPLACE_ME_LISTENER_ARN       # an existing ALB listener
";

const X_BERTH_TAIL: &str = "  # The role ECS starts tasks with (pull images, read secrets, write logs):
  # `berth iam-policy --execution-role` prints its trust policy and permissions.
  execution_role_arn: REPLACE_ME_EXECUTION_ROLE_ARN
  discovery: connect                          # compose service names (e.g. `db`) resolve on ECS
  registry:
    url: ${REGISTRY:-REPLACE_ME_ACCOUNT.dkr.ecr.REPLACE_ME_REGION.amazonaws.com}
";
