//! `berth status`: the live view of each service of the app.

use berth_provider::{DeploymentStatus, Kind, ServiceEvent, StoppedTask, TargetCounts};
use serde::Serialize;

use crate::cli::{Cli, StatusArgs, StatusFormat};
use crate::commands::{backend, load_target, Backend};
use crate::{ExitStatus, Io};

#[derive(Serialize)]
struct ServiceStatus {
    address: String,
    service: String,
    desired: Option<u64>,
    task_definition: String,
    images: Vec<String>,
    // `ServiceProgress`'s fields, not the struct flattened: it has a
    // `service` too, and a JSON object names each key once.
    deployments: Vec<DeploymentStatus>,
    /// The last five service events and stopped tasks.
    events: Vec<ServiceEvent>,
    stopped_tasks: Vec<StoppedTask>,
    targets: Option<TargetCounts>,
    /// Listener weights of the rules routing to this service: target group → weight.
    weights: Vec<(String, u64)>,
}

pub fn run(cli: &Cli, args: &StatusArgs, io: &mut Io) -> anyhow::Result<ExitStatus> {
    let Some(target) = load_target(cli, io)? else { return Ok(ExitStatus::Error) };
    let rt = backend::runtime()?;
    let backend = rt.block_on(Backend::open(cli, io, &target))?;
    let statuses = rt.block_on(async {
        let provider = backend.provider();
        let observed = provider.observe(&berth_plan::scope(&target.desired)).await?;
        let mut out = Vec::new();
        for svc in observed.resources.iter().filter(|r| r.kind == Kind::Service && r.owned_by(&target.desired.app)) {
            let cluster = svc.spec["cluster"].as_str().unwrap_or_default().to_string();
            let mut progress = provider.service_progress(&cluster, &svc.name, 0).await?;
            let events = progress.events.split_off(progress.events.len().saturating_sub(5));
            let stopped_tasks = progress.stopped_tasks.split_off(progress.stopped_tasks.len().saturating_sub(5));
            // The task definition of the revision this service runs (a blue/green
            // color's family is the service's without the color).
            let family = svc.spec["taskDefinition"]
                .as_str()
                .and_then(|t| t.rsplit_once("task-definition/"))
                .and_then(|(_, r)| r.split(':').next())
                .unwrap_or_default();
            let images = observed
                .resources
                .iter()
                .find(|r| {
                    r.kind == Kind::TaskDefinition
                        && r.spec["family"] == family
                        && Some(r.arn.as_str()) == svc.spec["taskDefinition"].as_str()
                })
                .and_then(|td| td.spec["containerDefinitions"].as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|c| c["image"].as_str().map(str::to_string))
                .collect();
            let tg_arns: Vec<&str> =
                svc.spec["loadBalancers"].as_array().into_iter().flatten().filter_map(|l| l["targetGroupArn"].as_str()).collect();
            let mut weights = Vec::new();
            for rule in observed.resources.iter().filter(|r| r.kind == Kind::ListenerRule) {
                for t in rule.spec.pointer("/actions/0/forwardConfig/targetGroups").and_then(|v| v.as_array()).into_iter().flatten() {
                    let arn = t["targetGroupArn"].as_str().unwrap_or_default();
                    let routes_here = tg_arns.contains(&arn)
                        || observed
                            .resources
                            .iter()
                            .any(|r| r.arn == arn && r.address.starts_with(&svc.address.replacen("service.", "tg.", 1)));
                    if routes_here {
                        let name = observed.resources.iter().find(|r| r.arn == arn).map_or(arn.to_string(), |r| r.address.clone());
                        weights.push((name, t["weight"].as_u64().unwrap_or(0)));
                    }
                }
            }
            out.push(ServiceStatus {
                address: svc.address.clone(),
                service: svc.name.clone(),
                desired: svc.spec["desiredCount"].as_u64(),
                task_definition: berth_engine::wait::short(svc.spec["taskDefinition"].as_str().unwrap_or_default()).to_string(),
                images,
                deployments: progress.deployments,
                events,
                stopped_tasks,
                targets: progress.targets,
                weights,
            });
        }
        anyhow::Ok(out)
    });
    backend.finish(cli, io)?;
    let statuses = statuses?;
    // Service events and stopped reasons are free text from the account:
    // credentials in a URL there are masked like everywhere else.
    match args.format {
        StatusFormat::Json => {
            let shown = berth_render::redact::value(&serde_json::to_value(&statuses)?);
            serde_json::to_writer_pretty(&mut *io.stdout, &shown)?;
            writeln!(io.stdout)?;
        }
        StatusFormat::Human => {
            let mut text = Vec::new();
            human(&mut text, &target.desired.app, &statuses)?;
            io.stdout.write_all(berth_render::redact::text(&String::from_utf8_lossy(&text)).as_bytes())?;
        }
    }
    Ok(ExitStatus::Success)
}

/// The human status: per service, its revision, images, deployments, targets, traffic and last events.
fn human(out: &mut Vec<u8>, app: &str, statuses: &[ServiceStatus]) -> std::io::Result<()> {
    use std::io::Write;
    if statuses.is_empty() {
        writeln!(out, "No services of app {app} are deployed.")?;
    }
    for s in statuses {
        writeln!(out, "{} ({}): desired {}, running {}", s.address, s.service, s.desired.unwrap_or(0), s.task_definition)?;
        for image in &s.images {
            writeln!(out, "  image       {image}")?;
        }
        for d in &s.deployments {
            writeln!(
                out,
                "  deployment  {} {} {}: {}/{} running, {} pending, {} failed tasks ({})",
                d.id,
                d.status,
                d.rollout_state,
                d.running,
                d.desired,
                d.pending,
                d.failed_tasks,
                berth_engine::wait::short(&d.task_definition)
            )?;
        }
        if let Some(t) = &s.targets {
            writeln!(out, "  targets     {} healthy, {} unhealthy, {} other", t.healthy, t.unhealthy, t.other)?;
        }
        for (tg, w) in &s.weights {
            writeln!(out, "  traffic     {tg}: {w}%")?;
        }
        for e in &s.events {
            writeln!(out, "  event       {} {}", berth_render::time::rfc3339(e.at_ms), e.message)?;
        }
    }
    Ok(())
}
