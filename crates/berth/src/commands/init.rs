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
    let spec = match &args.from {
        None => SPEC.to_string(),
        Some(from) => match scaffold_from(&io.cwd.join(from), from) {
            Ok(text) => text,
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
    let existing: Vec<String> = files.iter().filter(|(p, _)| io.cwd.join(p).exists()).map(|(p, _)| p.display().to_string()).collect();
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
    let placeholders = files[0].1.matches("REPLACE_ME").count();
    writeln!(io.stderr, "\nNext: replace the {placeholders} REPLACE_ME placeholders in {}, then", args.out.display())?;
    writeln!(io.stderr, "  berth -f {} validate", args.out.display())?;
    writeln!(io.stderr, "  berth -f {} plan", args.out.display())?;
    Ok(ExitStatus::Success)
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
    let path = io.cwd.join("berth-iam-policy.json");
    if path.exists() && !args.force {
        writeln!(io.stderr, "kept berth-iam-policy.json (exists; --force to overwrite)")?;
        return Ok(());
    }
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

const X_BERTH: &str = "
# --- added by `berth init` ---------------------------------------------------
# Where and how berth deploys this app on ECS: fill in the placeholders below.
x-berth:
  region: REPLACE_ME_REGION                   # e.g. ap-northeast-2
  network:
    vpc_id: REPLACE_ME_VPC_ID                 # the VPC of the subnets below
    subnets: [REPLACE_ME_SUBNET_A, REPLACE_ME_SUBNET_B]
    security_groups: [REPLACE_ME_SECURITY_GROUP]
  load_balancer:
    listener: REPLACE_ME_LISTENER_ARN         # an existing ALB listener
  # The role ECS starts tasks with (pull images, read secrets, write logs):
  # `berth iam-policy --execution-role` prints its trust policy and permissions.
  execution_role_arn: REPLACE_ME_EXECUTION_ROLE_ARN
  discovery: connect                          # compose service names (e.g. `db`) resolve on ECS
  registry:
    url: ${REGISTRY:-REPLACE_ME_ACCOUNT.dkr.ecr.REPLACE_ME_REGION.amazonaws.com}
";

/// Container ports that are usually HTTP: a service publishing one of them
/// gets a route through the load balancer; others (databases) do not.
const HTTP_PORTS: &[u16] = &[80, 443, 3000, 4200, 5000, 8000, 8080, 8081, 8443, 9000];

fn serves_http(service: &node::Node) -> bool {
    let Some(NodeValue::Seq(ports)) = service.get("ports").map(|p| &p.value) else { return false };
    ports.iter().any(|p| {
        let target = match &p.value {
            NodeValue::Scalar { text, .. } => berth_spec::ports::parse_short(text).ok().and_then(|v| v.first().map(|s| s.target)),
            NodeValue::Map(_) => p.get("target").and_then(|t| t.as_str()).and_then(|t| t.parse().ok()),
            NodeValue::Seq(_) => None,
        };
        target.is_some_and(|t| HTTP_PORTS.contains(&t))
    })
}

/// A copy of an existing Compose file with the x-berth keys berth needs:
/// a route for each service that publishes ports, and the app-wide section.
fn scaffold_from(path: &Path, shown: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", shown.display()))?;
    let tree = node::parse(&Arc::new(shown.to_path_buf()), &text).map_err(|d| d.to_string().trim_end().to_string())?;
    if tree.get("x-berth").is_some() {
        return Err(format!("{} already has an x-berth section; edit it instead", shown.display()));
    }
    let services = tree.get("services").and_then(|s| s.as_map()).ok_or_else(|| format!("{} has no services", shown.display()))?;
    let routed: Vec<(&String, &node::Entry)> = services.iter().filter(|(_, e)| serves_http(&e.value)).collect();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    // Insert from the bottom up so earlier line numbers stay right.
    let mut inserts: Vec<(usize, String)> = Vec::new();
    for (name, entry) in &routed {
        let NodeValue::Map(children) = &entry.value.value else { continue };
        let Some(first) = children.values().next() else { continue };
        // A flow mapping (`web: {image: x}`) has its children on the same line.
        if first.key_pos.line == entry.key_pos.line {
            continue;
        }
        let indent = " ".repeat(first.key_pos.col.saturating_sub(1));
        let paths = if routed.len() == 1 { "/*".to_string() } else { format!("/{name}/*") };
        inserts.push((
            entry.key_pos.line,
            format!("{indent}x-berth:                                # added by berth init: adjust the paths\n{indent}  route: {{ paths: [\"{paths}\"] }}"),
        ));
    }
    inserts.sort_by_key(|(line, _)| std::cmp::Reverse(*line));
    for (line, block) in inserts {
        lines.insert(line.min(lines.len()), block);
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out.push_str(X_BERTH);
    Ok(out)
}
