//! `berth logs [SERVICE…] [-f] [--since 10m] [--task ID] [--container NAME]`:
//! the containers' log lines, from CloudWatch Logs (the sim's tasks log too).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use berth_provider::{LogFilter, LogLine, Provider};

use crate::cli::{Cli, LogsArgs};
use crate::commands::{backend, load_target, Backend};
use crate::{ExitStatus, Io};

/// Where one service's containers log: group → stream prefixes.
type Sources = BTreeMap<String, Vec<(String, String)>>; // group → (stream prefix, service)

/// The awslogs groups and stream prefixes of the chosen services and containers.
fn sources(desired: &berth_model::Desired, args: &LogsArgs) -> Result<Sources, String> {
    // Each task definition is its service's (named `<app>-<service>` or by `x-berth.names`).
    let short = |t: &berth_model::resources::TaskDefinition| {
        desired.services.iter().find(|s| s.task_definition == t.family).map_or_else(
            || t.family.strip_prefix(&format!("{}-", desired.app)).unwrap_or(&t.family).to_string(),
            |s| s.compose_name.clone(),
        )
    };
    let known: Vec<String> = desired.task_definitions.iter().map(short).collect();
    for s in &args.services {
        if !known.contains(s) {
            return Err(format!("no service {s:?} in the spec\n  hint: the services are: {}", known.join(", ")));
        }
    }
    let mut out = Sources::new();
    let mut containers_seen = BTreeSet::new();
    for td in desired.task_definitions.iter().filter(|t| args.services.is_empty() || args.services.contains(&short(t))) {
        for c in &td.container_definitions {
            containers_seen.insert(c.name.clone());
            if args.container.as_ref().is_some_and(|n| *n != c.name) {
                continue;
            }
            let Some(l) = c.log_configuration.as_ref().filter(|l| l.log_driver == "awslogs") else { continue };
            let Some(group) = l.options.get("awslogs-group") else { continue };
            let prefix = l.options.get("awslogs-stream-prefix").cloned().unwrap_or_default();
            let stream = match &args.task {
                Some(task) => berth_provider::logs::stream_name(&prefix, &c.name, task),
                None => format!("{prefix}/{}/", c.name),
            };
            out.entry(group.clone()).or_default().push((stream, short(td)));
        }
    }
    if let Some(name) = &args.container {
        if !containers_seen.contains(name) {
            let list: Vec<String> = containers_seen.into_iter().collect();
            return Err(format!("no container {name:?} in the chosen services\n  hint: the containers are: {}", list.join(", ")));
        }
    }
    if out.is_empty() {
        return Err("none of the chosen containers logs to CloudWatch (awslogs); their `logging:` sends the logs elsewhere".into());
    }
    Ok(out)
}

/// `2026-01-01T00:00:05Z web/0123abcd web: listening on :8080`
fn line(l: &LogLine, service: &str) -> String {
    let (container, task) = l.container_and_task();
    let text = format!("{} {service}/{task} {container}: {}", berth_render::time::rfc3339(l.at_ms), l.message);
    berth_render::redact::text(&text).into_owned()
}

/// One read of every source since `since_ms`, oldest first, with its service.
async fn read(provider: &dyn Provider, sources: &Sources, since_ms: Option<u64>) -> anyhow::Result<Vec<(LogLine, String)>> {
    let mut lines = Vec::new();
    for (group, streams) in sources {
        let filter =
            LogFilter { group: group.clone(), stream_prefixes: streams.iter().map(|(s, _)| s.clone()).collect(), since_ms, last: None };
        for l in provider.log_lines(&filter).await? {
            let service = streams.iter().find(|(s, _)| l.stream.starts_with(s.as_str())).map(|(_, svc)| svc.clone()).unwrap_or_default();
            lines.push((l, service));
        }
    }
    lines.sort_by(|a, b| a.0.at_ms.cmp(&b.0.at_ms).then_with(|| a.0.stream.cmp(&b.0.stream)));
    Ok(lines)
}

pub fn run(cli: &Cli, args: &LogsArgs, io: &mut Io) -> anyhow::Result<ExitStatus> {
    let Some(target) = load_target(cli, io)? else { return Ok(ExitStatus::Error) };
    let sources = match sources(&target.desired, args) {
        Ok(s) => s,
        Err(e) => {
            writeln!(io.stderr, "error: {e}")?;
            return Ok(ExitStatus::Error);
        }
    };
    let rt = backend::runtime()?;
    let backend = rt.block_on(Backend::open(cli, io, &target))?;
    // The sim's state file, re-read on every poll while following: the
    // account changes only when another berth run (an apply) writes it.
    let sim_state = matches!(backend, Backend::Sim { .. }).then(|| io.cwd.join(&cli.global.sim_state));
    rt.block_on(async {
        let mut since = args.since.map(|d| backend.provider().now_ms().saturating_sub(d.as_millis() as u64));
        let mut shown: BTreeSet<(u64, String, String)> = BTreeSet::new();
        // Registered before anything is printed, so an interrupt right
        // after "following" is never the default (killing) one.
        let mut interrupted = if args.follow { Some(interrupt()?) } else { None };
        if args.follow {
            writeln!(io.stderr, "following the logs (Ctrl-C to stop)")?;
        }
        let mut first = true;
        loop {
            let reopened = match (&sim_state, first) {
                (Some(path), false) => Some(berth_sim::Sim::open(path)?),
                _ => None,
            };
            first = false;
            let provider: &dyn Provider = reopened.as_ref().map_or(backend.provider(), |s| s as &dyn Provider);
            for (l, service) in read(provider, &sources, since).await? {
                // Lines at the boundary instant come again: each is shown once.
                if shown.insert((l.at_ms, l.stream.clone(), l.message.clone())) {
                    writeln!(io.stdout, "{}", line(&l, &service))?;
                }
                since = Some(since.unwrap_or(0).max(l.at_ms));
            }
            io.stdout.flush()?;
            let Some(stop) = interrupted.as_mut() else { break };
            tokio::select! {
                _ = stop => break,
                () = tokio::time::sleep(Duration::from_secs(if sim_state.is_some() { 0 } else { 2 }) + Duration::from_millis(200)) => {}
            }
        }
        anyhow::Ok(())
    })?;
    // Reading logs changes nothing: the sim's state is not written back.
    if !matches!(backend, Backend::Sim { .. }) {
        backend.finish(cli, io)?;
    }
    Ok(ExitStatus::Success)
}

/// Resolves on Ctrl-C (SIGINT).
#[cfg(unix)]
pub(crate) fn interrupt() -> anyhow::Result<impl std::future::Future<Output = ()> + Unpin> {
    let mut sig = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    Ok(Box::pin(async move {
        sig.recv().await;
    }))
}

#[cfg(not(unix))]
pub(crate) fn interrupt() -> anyhow::Result<impl std::future::Future<Output = ()> + Unpin> {
    Ok(Box::pin(async {
        let _ = tokio::signal::ctrl_c().await;
    }))
}
