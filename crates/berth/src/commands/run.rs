//! `berth run SERVICE [-- COMMAND…]`: a one-off task of a service's task
//! definition — the revision the plan would deploy (registered now if the
//! plan has a new one; a later apply reuses it), or the live one with
//! `--live` — with the service's network configuration and launch type.
//! It streams the task's log lines to stdout, waits for it to stop, and
//! exits with its container's exit code. Ctrl-C stops the task.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use berth_engine::oneoff::{self, LogSource, OneOff, Outcome, Watch};
use berth_model::resources::{NetworkConfiguration, Tag, TaskDefinition, TAG_APP, TAG_MANAGED};
use berth_plan::Action;
use berth_provider::{ContainerOverride, LogLine, Provider, RunTaskRequest, TaskStatus};

use crate::cli::{Cli, RunArgs};
use crate::commands::{backend, load_deploy_target, lock, make_plan, Backend, Target};
use crate::{ExitStatus, Io};

/// What to run: the revision, where, and how its containers log.
struct Chosen {
    task_definition: String,
    definition: Option<TaskDefinition>,
    cluster: String,
    launch_type: String,
    network: Option<NetworkConfiguration>,
}

/// The revision the plan deploys: the live one when the plan leaves the
/// task definition as it is, else a new revision (an identical ACTIVE one
/// is reused, as apply would).
async fn planned(target: &Target, provider: &dyn Provider, cli: &Cli, service: &str) -> anyhow::Result<Chosen> {
    let svc = target.desired.services.iter().find(|s| s.compose_name == service).expect("checked by the caller");
    let plan = make_plan(target, provider, cli.global.allow_mutable_tags).await?;
    let address = format!("taskdef.{service}");
    let change = plan.changes.iter().find(|c| c.address == address && c.action != Action::Delete);
    let (task_definition, definition) = match change {
        Some(c) => {
            let td: TaskDefinition = serde_json::from_value(c.after.clone().unwrap_or_default())?;
            // As apply does: an identical ACTIVE revision is reused.
            let arn = match provider.latest_task_definition(&td.family).await? {
                Some((arn, live)) if berth_plan::normalize::same_task_definition(&live, &td) => arn,
                _ => provider.register_task_definition(&td).await?,
            };
            (arn, Some(td))
        }
        None => {
            let arn = plan.unchanged.iter().find(|u| u.address == address).map(|u| u.arn.clone());
            let arn = arn.ok_or_else(|| anyhow::anyhow!("no task definition {address} in the plan"))?;
            let td = target.desired.task_definitions.iter().find(|t| t.family == svc.task_definition).cloned();
            (arn, td)
        }
    };
    Ok(Chosen {
        task_definition,
        definition,
        cluster: svc.cluster.clone(),
        launch_type: svc.run_launch_type(),
        network: svc.network_configuration.clone(),
    })
}

/// The revision the service runs now, with its live network configuration.
async fn live(target: &Target, provider: &dyn Provider, service: &str) -> anyhow::Result<Chosen> {
    let observed = provider.observe(&berth_plan::scope(&target.desired)).await?;
    let app = &target.desired.app;
    // A blue/green service runs as two; the live color is the one with tasks.
    let candidates = [format!("service.{service}"), format!("service.{service}-blue"), format!("service.{service}-green")];
    let live = candidates
        .iter()
        .filter_map(|a| observed.get(a))
        .filter(|r| r.owned_by(app))
        .max_by_key(|r| r.spec["desiredCount"].as_u64().unwrap_or(0))
        .ok_or_else(|| {
            anyhow::anyhow!("service {service:?} is not deployed (app {app}): run without --live to use the planned revision")
        })?;
    let network = serde_json::from_value(live.spec["networkConfiguration"].clone()).ok();
    let svc = target.desired.services.iter().find(|s| s.compose_name == service).expect("checked by the caller");
    Ok(Chosen {
        task_definition: live.spec["taskDefinition"].as_str().unwrap_or_default().to_string(),
        definition: None,
        cluster: live.spec["cluster"].as_str().map_or(svc.cluster.clone(), |c| c.rsplit('/').next().unwrap_or(c).to_string()),
        launch_type: live.spec["launchType"].as_str().filter(|l| !l.is_empty()).map_or_else(|| svc.run_launch_type(), str::to_string),
        network: network.or_else(|| svc.network_configuration.clone()),
    })
}

struct Printer<'a, 'b> {
    io: &'a mut Io<'b>,
    many_containers: bool,
}

impl Watch for Printer<'_, '_> {
    fn started(&mut self, task: &TaskStatus) {
        let _ = writeln!(self.io.stderr, "started task {} (Ctrl-C stops it); its log lines follow", task.id());
    }

    fn line(&mut self, line: &LogLine) {
        let (container, _) = line.container_and_task();
        let text = if self.many_containers { format!("{container}: {}", line.message) } else { line.message.clone() };
        let _ = writeln!(self.io.stdout, "{}", berth_render::redact::text(&text));
        let _ = self.io.stdout.flush();
    }
}

pub fn run(cli: &Cli, args: &RunArgs, io: &mut Io) -> anyhow::Result<ExitStatus> {
    let Some(target) = load_deploy_target(cli, io)? else { return Ok(ExitStatus::Error) };
    let Some(svc) = target.desired.services.iter().find(|s| s.compose_name == args.service) else {
        let names: Vec<&str> = target.desired.services.iter().map(|s| s.compose_name.as_str()).collect();
        writeln!(io.stderr, "error: no service {:?} in the spec\n  hint: the services are: {}", args.service, names.join(", "))?;
        return Ok(ExitStatus::Error);
    };
    let container = args.container.clone().unwrap_or_else(|| {
        target.desired.migrations.iter().find(|m| m.service == args.service).map_or(args.service.clone(), |m| m.container.clone())
    });
    let family = svc.task_definition.clone();
    let rt = backend::runtime()?;
    let backend = rt.block_on(Backend::open(cli, io, &target))?;
    // The live revision changes nothing; registering the planned one does,
    // so that run holds the app lock from the registration to its end, as
    // an apply holds it through its migrations.
    let (backend, lock, chosen) = if args.live {
        let chosen = rt.block_on(live(&target, backend.provider(), &args.service));
        (backend, None, chosen)
    } else {
        let Some((backend, lock)) = rt.block_on(lock::acquire(cli, io, &target, backend, args.wait_for_lock))? else {
            return Ok(ExitStatus::Error);
        };
        let chosen = rt.block_on(lock.hold(&backend, planned(&target, backend.provider(), cli, &args.service)));
        (backend, Some(lock), chosen)
    };
    // The end of the run: the sim's state saved, then the lock released.
    let finish = |lock: Option<lock::Held>, status: ExitStatus, io: &mut Io| match lock {
        Some(lock) => lock.finish(&rt, &backend, cli, io, Ok(status)),
        None => backend.finish(cli, io).map(|()| status),
    };
    let provider = backend.provider();
    let chosen = match chosen {
        Ok(c) => c,
        Err(e) => {
            writeln!(io.stderr, "error: {e:#}")?;
            return finish(lock, ExitStatus::Error, io);
        }
    };
    let definition = chosen.definition.clone().or_else(|| target.desired.task_definitions.iter().find(|t| t.family == family).cloned());
    if let Some(td) = &definition {
        if !td.container_definitions.iter().any(|c| c.name == container) {
            let names: Vec<&str> = td.container_definitions.iter().map(|c| c.name.as_str()).collect();
            writeln!(
                io.stderr,
                "error: no container {container:?} in the task of {}\n  hint: the containers are: {}",
                args.service,
                names.join(", ")
            )?;
            return finish(lock, ExitStatus::Error, io);
        }
    }
    let logs: Vec<LogSource> = definition.as_ref().map(oneoff::log_sources).unwrap_or_default();
    let command = (!args.command.is_empty()).then(|| args.command.clone());
    let environment = args.task_env.clone();
    let overrides = if command.is_some() || !environment.is_empty() {
        vec![ContainerOverride { name: container.clone(), command: command.clone(), environment }]
    } else {
        Vec::new()
    };
    let cancel = Arc::new(AtomicBool::new(false));
    let job = OneOff {
        request: RunTaskRequest {
            cluster: chosen.cluster.clone(),
            task_definition: chosen.task_definition.clone(),
            launch_type: chosen.launch_type.clone(),
            network_configuration: chosen.network.clone(),
            container_overrides: overrides,
            cpu: args.cpu,
            memory: args.memory,
            started_by: "berth-run".into(),
            tags: vec![
                Tag { key: TAG_APP.into(), value: target.desired.app.clone() },
                Tag { key: TAG_MANAGED.into(), value: "true".into() },
            ],
        },
        container: container.clone(),
        logs: logs.clone(),
        timeout: args.timeout,
        cancel: Some(cancel.clone()),
    };
    writeln!(
        io.stderr,
        "running {} of {} in cluster {}{}",
        command.as_ref().map_or("the container's own command".to_string(), |c| format!("`{}`", c.join(" "))),
        berth_engine::wait::short(&chosen.task_definition),
        chosen.cluster,
        if args.live { " (the live revision)" } else { "" }
    )?;
    let finished = rt.block_on(async {
        // Ctrl-C stops the task (and berth waits for it to stop). The handler
        // is in place before the task starts: an early Ctrl-C is never the default (killing) one.
        let flag = cancel.clone();
        let interrupted = super::logs::interrupt()?;
        tokio::spawn(async move {
            interrupted.await;
            eprintln!("\ninterrupted: stopping the task");
            flag.store(true, Ordering::SeqCst);
        });
        let mut printer = Printer { io: &mut *io, many_containers: logs.len() > 1 };
        let task = oneoff::run(provider, &job, &mut printer);
        anyhow::Ok(match &lock {
            Some(held) => held.hold(&backend, task).await,
            None => task.await,
        })
    })?;
    let status = match finished {
        Ok(f) => {
            let task = f.task.as_ref().map_or(String::new(), |t| format!("task {} ", t.id()));
            match f.outcome {
                Outcome::Exited(code) => {
                    writeln!(io.stderr, "{task}exited with code {code}")?;
                    if code != 0 && !f.tail.is_empty() {
                        writeln!(io.stderr, "its last {} log lines:", f.tail.len())?;
                        for l in &f.tail {
                            writeln!(io.stderr, "    | {}", berth_render::redact::text(l))?;
                        }
                    }
                    ExitStatus::Task(u8::try_from(code & 0xff).unwrap_or(1))
                }
                Outcome::NotStarted(reason) => {
                    writeln!(io.stderr, "error: the {task}could not start: {reason}")?;
                    ExitStatus::Error
                }
                Outcome::TimedOut => {
                    writeln!(io.stderr, "error: the {task}ran past --timeout ({}s); berth stopped it", args.timeout.as_secs())?;
                    ExitStatus::Task(124)
                }
                Outcome::Interrupted => {
                    writeln!(io.stderr, "the {task}was stopped (interrupted)")?;
                    ExitStatus::Task(130)
                }
            }
        }
        Err(e) => {
            writeln!(io.stderr, "error: {e}")?;
            ExitStatus::Error
        }
    };
    finish(lock, status, io)
}
