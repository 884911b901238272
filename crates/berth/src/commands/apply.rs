//! `berth apply` and `berth destroy`: show the plan, confirm, apply, verify.

use std::io::BufRead;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use berth_engine::{ApplyOptions, ApplyResult, Reporter, WaitMode};
use berth_plan::{Action, Plan};

use crate::cli::StatusFormat;
use crate::cli::{ApplyArgs, Cli, DeployArgs, DestroyArgs, RollbackArgs, WaitArg};
use crate::commands::{backend, load_deploy_target, load_target, lock, make_plan, plan_context, Backend, Target, VERSION};
use crate::progress::{Bars, JsonLines, Lines};
use crate::{ExitStatus, Io};

pub fn run(cli: &Cli, args: &ApplyArgs, io: &mut Io) -> anyhow::Result<ExitStatus> {
    if let Some(dir) = &args.all {
        return apply_all(cli, args, dir, io);
    }
    // A saved plan is read first: without a spec, it is the app.
    let saved = match &args.plan {
        Some(_) if !args.redeploy.is_empty() => {
            anyhow::bail!("--redeploy plans a change of its own: use it without a saved plan (berth apply --redeploy SERVICE)")
        }
        Some(path) => Some(read_saved(io, path)?),
        None => None,
    };
    let target = match &saved {
        Some((path, plan)) if !spec_given(cli, io) => target_of(path, plan)?,
        _ => match load_deploy_target(cli, io)? {
            Some(t) => t,
            None => return Ok(ExitStatus::Error),
        },
    };
    apply_target(cli, io, args, target, saved)
}

/// A saved plan, its signature checked when `BERTH_PLAN_KEY` is set.
fn read_saved(io: &Io, path: &std::path::Path) -> anyhow::Result<(std::path::PathBuf, Plan)> {
    let key = io.env.get(super::plan_file::KEY_VAR).filter(|k| !k.is_empty()).cloned();
    Ok((path.to_path_buf(), super::plan_file::read(&io.cwd.join(path), path, key.as_deref())?))
}

/// The app a self-contained saved plan holds.
fn target_of(path: &std::path::Path, plan: &Plan) -> anyhow::Result<Target> {
    match &plan.target {
        Some(t) => Target::from_saved(t).map_err(|e| anyhow::anyhow!("{}: {e}; nothing was changed", path.display())),
        None => anyhow::bail!(
            "{} holds no app (it was made by an older berth): pass the spec it was made from with -f, and its variables",
            path.display()
        ),
    }
}

fn apply_target(
    cli: &Cli,
    io: &mut Io,
    args: &ApplyArgs,
    mut target: Target,
    saved: Option<(std::path::PathBuf, Plan)>,
) -> anyhow::Result<ExitStatus> {
    target.adopt |= args.adopt;
    let rt = backend::runtime()?;
    let backend = rt.block_on(Backend::open(cli, io, &target))?;
    let Some((backend, lock)) = rt.block_on(lock::acquire(cli, io, &target, backend, args.deploy.wait_for_lock))? else {
        return Ok(ExitStatus::Error);
    };
    let status = rt.block_on(lock.hold(&backend, async {
        let (plan, observed) = match saved {
            Some((path, plan)) => checked_saved_plan(&target, &backend, &path, plan, cli.global.allow_mutable_tags).await?,
            None => {
                let provider = backend.provider();
                let planned =
                    berth_plan::pipeline::plan_app(&super::plan_input(&target, provider, cli.global.allow_mutable_tags), provider).await?;
                let (mut plan, observed) = (planned.plan, planned.observed);
                let known: Vec<&str> = target.desired.services.iter().map(|s| s.compose_name.as_str()).collect();
                if let Some(unknown) = args.redeploy.iter().find(|s| !known.contains(&s.as_str())) {
                    anyhow::bail!("--redeploy: no service {unknown:?} in the spec (the services are: {})", known.join(", "));
                }
                if !args.redeploy.is_empty() {
                    berth_plan::redeploy::redeploy(&mut plan, &observed, &args.redeploy).map_err(anyhow::Error::msg)?;
                }
                (plan, observed)
            }
        };
        execute(cli, io, &backend, &plan, &args.deploy, Some(&target), Some(observed)).await
    }));
    lock.finish(&rt, &backend, cli, io, status)
}

/// `berth apply --all DIR`: each plan `plan --all -o DIR` saved, in name
/// order, each with the app it holds; a failed app does not stop the
/// others, and the summary names every one that failed.
fn apply_all(cli: &Cli, args: &ApplyArgs, dir: &std::path::Path, io: &mut Io) -> anyhow::Result<ExitStatus> {
    if args.plan.is_some() || !args.redeploy.is_empty() {
        anyhow::bail!("--all applies the saved plans of a directory: give no plan file and no --redeploy with it");
    }
    let plans = super::repo::saved_plans(&io.cwd.join(dir))?;
    if plans.is_empty() {
        writeln!(
            io.stderr,
            "error: no saved plans (*.plan.json) in {}
  hint: make them with `berth plan --all -o {}`",
            dir.display(),
            dir.display()
        )?;
        return Ok(ExitStatus::Error);
    }
    let mut failed: Vec<(String, ExitStatus)> = Vec::new();
    for path in &plans {
        let name = path.file_name().map(|n| n.to_string_lossy().trim_end_matches(".plan.json").to_string()).unwrap_or_default();
        writeln!(io.stderr, "=== {name} ===")?;
        let status = read_saved(io, path).and_then(|saved| {
            let target = target_of(path, &saved.1)?;
            apply_target(cli, io, args, target, Some(saved))
        });
        let status = status.unwrap_or_else(|e| {
            let _ = writeln!(io.stderr, "error: {e:#}");
            ExitStatus::Error
        });
        if status != ExitStatus::Success {
            failed.push((name, status));
        }
    }
    if failed.is_empty() {
        writeln!(io.stderr, "apply --all: {} apps applied", plans.len())?;
        return Ok(ExitStatus::Success);
    }
    let names: Vec<String> = failed.iter().map(|(n, s)| format!("{n} (exit {})", s.code())).collect();
    writeln!(io.stderr, "error: apply --all: {} of {} apps failed: {}", failed.len(), plans.len(), names.join(", "))?;
    Ok(if failed.iter().all(|(_, s)| *s == ExitStatus::DeployFailed) { ExitStatus::DeployFailed } else { ExitStatus::Error })
}

/// Whether the command line names a spec, or the directory holds one.
fn spec_given(cli: &Cli, io: &Io) -> bool {
    !cli.global.files.is_empty() || berth_spec::load::DEFAULT_FILES.iter().any(|f| io.cwd.join(f).is_file())
}

pub fn destroy(cli: &Cli, args: &DestroyArgs, io: &mut Io) -> anyhow::Result<ExitStatus> {
    let Some(target) = super::load_destroy_target(cli, io)? else { return Ok(ExitStatus::Error) };
    let rt = backend::runtime()?;
    let backend = rt.block_on(Backend::open(cli, io, &target))?;
    let Some((backend, lock)) = rt.block_on(lock::acquire(cli, io, &target, backend, args.deploy.wait_for_lock))? else {
        return Ok(ExitStatus::Error);
    };
    let status = rt.block_on(lock.hold(&backend, async {
        let provider = backend.provider();
        let observed = provider.observe(&berth_plan::scope(&target.desired)).await?;
        let plan = berth_plan::diff_destroy(&target.desired.app, &observed, &plan_context(&target, provider))?;
        execute(cli, io, &backend, &plan, &args.deploy, None, Some(observed)).await
    }));
    lock.finish(&rt, &backend, cli, io, status)
}

/// Checks that a saved plan (read and its signature checked) may be
/// applied: same berth, same backend, same spec (or the app it holds),
/// every resource it read unchanged since — and the very plan that the app
/// and the live account give now. A file is never trusted as written: an
/// edited action, value or ARN, or an added or removed change, is refused
/// before anything is written.
async fn checked_saved_plan(
    target: &Target,
    backend: &Backend,
    path: &std::path::Path,
    plan: Plan,
    allow_mutable_tags: bool,
) -> anyhow::Result<(Plan, berth_provider::Observed)> {
    let provider = backend.provider();
    // A different spec is named as such (its images would also read as stale).
    if berth_plan::spec_digest(&target.desired) != plan.spec_digest {
        anyhow::bail!("the spec changed since {} was made; run `berth plan` again", path.display());
    }
    let planned = berth_plan::pipeline::plan_app(&super::plan_input(target, provider, allow_mutable_tags), provider).await?;
    // What each image's tag points to now, next to what the plan pinned.
    let mut fresh_prints = berth_plan::fingerprint::fingerprints(&planned.observed);
    for (key, digest) in &planned.plan.fingerprints {
        if key.starts_with("image:") && plan.fingerprints.contains_key(key) {
            fresh_prints.insert(key.clone(), digest.clone());
        }
    }
    berth_plan::check_saved(&plan, VERSION, &provider.name(), &fresh_prints)?;
    let mut fresh = planned.plan;
    // The app it holds was checked by its digest above.
    fresh.target = plan.target.clone();
    if let Some(difference) = super::plan_file::first_difference(&plan, &fresh) {
        anyhow::bail!(
            "{} is not the plan the spec and the account give now (first difference: {difference}); the file was edited or is stale: nothing was changed; run `berth plan -o` again and review it",
            path.display()
        );
    }
    Ok((plan, planned.observed))
}

fn confirm(io: &mut Io, yes: bool, verb: &str) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !io.interactive {
        writeln!(io.stderr, "error: not at a terminal, so berth will not ask: nothing was changed")?;
        writeln!(io.stderr, "  hint: pass --yes to {verb} without confirmation (for CI), or apply a reviewed plan file")?;
        return Ok(false);
    }
    write!(io.stderr, "Do you want to {verb} these changes? Only 'yes' is accepted: ")?;
    io.stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

async fn execute(
    cli: &Cli,
    io: &mut Io<'_>,
    backend: &Backend,
    plan: &Plan,
    args: &DeployArgs,
    verify: Option<&Target>,
    observed: Option<berth_provider::Observed>,
) -> anyhow::Result<ExitStatus> {
    let style = berth_render::Style { color: false };
    io.stderr.write_all(berth_render::human(plan, style).as_bytes())?;
    // Before the confirmation: a warning may be a reason to say no.
    super::show_plan_warnings(plan, io)?;
    if !plan.has_changes() {
        return Ok(ExitStatus::Success);
    }
    let verb = if verify.is_some() { "apply" } else { "destroy" };
    if !confirm(io, args.yes, verb)? {
        if args.yes || !io.interactive {
            return Ok(ExitStatus::Error);
        }
        writeln!(io.stderr, "Cancelled; nothing was changed.")?;
        return Ok(ExitStatus::Error);
    }
    let mut opts = options(args, io);
    // Checked against the account just now, under the lock: not read again.
    opts.observed = observed.map(Arc::new);
    opts.adopt = verify.is_some_and(|t| t.adopt);
    let provider = backend.provider();
    let result = if args.format == StatusFormat::Json {
        let lines = JsonLines::new(&mut *io.stdout);
        berth_engine::apply(plan, provider, &opts, &lines as &dyn Reporter).await
    } else if io.interactive {
        let bars = Bars::new();
        berth_engine::apply(plan, provider, &opts, &bars as &dyn Reporter).await
    } else {
        let lines = Lines::new(&mut *io.stderr);
        berth_engine::apply(plan, provider, &opts, &lines as &dyn Reporter).await
    };
    let _ = cli;
    report(io, plan, &result)?;
    if !result.ok() {
        return Ok(if result.only_deployments_failed() { ExitStatus::DeployFailed } else { ExitStatus::Error });
    }
    // Verify: the account should now match the spec.
    if let Some(target) = verify.filter(|_| opts.wait == WaitMode::Deployed) {
        let again = make_plan(target, provider, cli.global.allow_mutable_tags).await?;
        if again.has_changes() {
            let left: Vec<String> = again.changes.iter().map(|c| format!("{} ({})", c.address, c.reason)).collect();
            writeln!(io.stderr, "error: apply finished, but the account still differs from the spec: {}", left.join("; "))?;
            return Ok(ExitStatus::Error);
        }
    }
    Ok(ExitStatus::Success)
}

/// How apply waits; at a terminal, Ctrl-C fails the running deployment's
/// gates (a blue/green one restores the old color), a second Ctrl-C exits.
/// The first Ctrl-C sets `flag` (the deployment's gates fail and the old
/// side is restored); a second one exits at once. The handler is in place
/// before this returns, so a Ctrl-C right after the confirmation is never
/// the default (killing) one.
#[cfg(unix)]
fn interrupts(flag: Arc<AtomicBool>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut sig) = signal(SignalKind::interrupt()) else { return };
    tokio::spawn(async move {
        if sig.recv().await.is_some() {
            eprintln!("\ninterrupted: stopping the deployment and restoring the old side (Ctrl-C again to quit at once)");
            flag.store(true, Ordering::SeqCst);
            if sig.recv().await.is_some() {
                std::process::exit(130);
            }
        }
    });
}

#[cfg(not(unix))]
fn interrupts(flag: Arc<AtomicBool>) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\ninterrupted: stopping the deployment and restoring the old side (Ctrl-C again to quit at once)");
            flag.store(true, Ordering::SeqCst);
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
}

fn options(args: &DeployArgs, io: &Io<'_>) -> ApplyOptions {
    let cancel = Arc::new(AtomicBool::new(false));
    if io.interactive {
        interrupts(cancel.clone());
    }
    ApplyOptions {
        wait: match args.wait {
            WaitArg::Deployed => WaitMode::Deployed,
            WaitArg::None => WaitMode::None,
        },
        timeout: args.timeout,
        cancel: Some(cancel),
        delete_images: args.delete_images,
        ..ApplyOptions::default()
    }
}

pub fn rollback(cli: &Cli, args: &RollbackArgs, io: &mut Io) -> anyhow::Result<ExitStatus> {
    let Some(target) = load_target(cli, io)? else { return Ok(ExitStatus::Error) };
    let services: Vec<&berth_model::resources::Service> = target.desired.services.iter().collect();
    let service = match (&args.service, services.as_slice()) {
        (Some(name), _) => match services.iter().find(|s| &s.compose_name == name) {
            Some(s) => *s,
            None => {
                let known: Vec<&str> = services.iter().map(|s| s.compose_name.as_str()).collect();
                writeln!(io.stderr, "error: no service {name:?} in the spec\n  hint: the services are: {}", known.join(", "))?;
                return Ok(ExitStatus::Error);
            }
        },
        (None, [only]) => *only,
        (None, _) => {
            let known: Vec<&str> = services.iter().map(|s| s.compose_name.as_str()).collect();
            writeln!(
                io.stderr,
                "error: name the service to roll back: berth rollback SERVICE\n  hint: the services are: {}",
                known.join(", ")
            )?;
            return Ok(ExitStatus::Error);
        }
    };
    if !confirm(io, args.deploy.yes, "roll back")? {
        return Ok(ExitStatus::Error);
    }
    let rt = backend::runtime()?;
    let backend = rt.block_on(Backend::open(cli, io, &target))?;
    let Some((backend, lock)) = rt.block_on(lock::acquire(cli, io, &target, backend, args.deploy.wait_for_lock))? else {
        return Ok(ExitStatus::Error);
    };
    let status = rt.block_on(lock.hold(&backend, async {
        let provider = backend.provider();
        let observed = provider.observe(&berth_plan::scope(&target.desired)).await?;
        let opts = options(&args.deploy, io);
        let name = service.compose_name.clone();
        let blue_green = service.blue_green.is_some();
        let result = if args.deploy.format == StatusFormat::Json {
            let lines = JsonLines::new(&mut *io.stdout);
            berth_engine::rollback(provider, &observed, &name, blue_green, &opts, &lines as &dyn Reporter).await
        } else {
            let lines = Lines::new(&mut *io.stderr);
            berth_engine::rollback(provider, &observed, &name, blue_green, &opts, &lines as &dyn Reporter).await
        };
        match result {
            Ok(summary) => {
                writeln!(io.stderr, "Rollback complete: {summary}. The spec still asks for the newer revision: `berth plan` shows it.")?;
                anyhow::Ok(ExitStatus::Success)
            }
            Err(f) => {
                writeln!(io.stderr, "Rollback FAILED: {}: {}", f.address, f.message)?;
                Ok(if f.deployment { ExitStatus::DeployFailed } else { ExitStatus::Error })
            }
        }
    }));
    lock.finish(&rt, &backend, cli, io, status)
}

fn report(io: &mut Io, plan: &Plan, result: &ApplyResult) -> anyhow::Result<()> {
    let count = |a: Action| plan.changes.iter().filter(|c| c.action == a && result.done.contains(&c.address)).count();
    if result.ok() {
        let adopted = count(Action::Adopt);
        let adopted = if adopted > 0 { format!(", {adopted} adopted") } else { String::new() };
        writeln!(
            io.stderr,
            "Apply complete: {} created, {} updated, {} replaced, {} deleted{adopted}.",
            count(Action::Create),
            count(Action::Update),
            count(Action::Replace),
            count(Action::Delete)
        )?;
        return Ok(());
    }
    writeln!(io.stderr, "\nApply FAILED.")?;
    for f in &result.failed {
        writeln!(io.stderr, "  failed:   {}: {}", f.address, berth_render::redact::text(&f.message))?;
    }
    if !result.done.is_empty() {
        writeln!(io.stderr, "  done:     {}", result.done.join(", "))?;
    }
    if !result.not_done.is_empty() {
        writeln!(io.stderr, "  not done: {}", result.not_done.join(", "))?;
    }
    Ok(())
}
