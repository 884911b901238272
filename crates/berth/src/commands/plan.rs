use crate::cli::{Cli, PlanArgs, PlanFormat};
use crate::commands::{backend, color, load_deploy_target, make_plan, Backend};
use crate::{ExitStatus, Io};

pub fn run(cli: &Cli, args: &PlanArgs, io: &mut Io) -> anyhow::Result<ExitStatus> {
    if let Some(dir) = &args.all {
        return super::repo::plan_all(cli, args, dir, io);
    }
    let Some(mut target) = load_deploy_target(cli, io)? else { return Ok(ExitStatus::Error) };
    target.adopt |= args.adopt;
    let rt = backend::runtime()?;
    let backend = rt.block_on(Backend::open(cli, io, &target))?;
    let plan = rt.block_on(make_plan(&target, backend.provider(), cli.global.allow_mutable_tags));
    backend.finish(cli, io)?;
    let plan = plan?;
    super::show_plan_warnings(&plan, io)?;
    let text = match args.format {
        PlanFormat::Human => berth_render::human(&plan, berth_render::Style { color: color(cli, io) }),
        PlanFormat::Json => berth_render::json(&plan) + "\n",
        PlanFormat::Markdown => berth_render::markdown(&plan),
    };
    io.stdout.write_all(text.as_bytes())?;
    if let Some(out) = &args.out {
        let key = io.env.get(super::plan_file::KEY_VAR).filter(|k| !k.is_empty());
        // The saved file holds the app too: apply needs no spec and no variables.
        let mut saved = plan.clone();
        saved.target = Some(target.saved());
        super::plan_file::save(&io.cwd.join(out), &saved, key.map(String::as_str))?;
        let signed = if key.is_some() { ", signed with BERTH_PLAN_KEY" } else { "" };
        writeln!(
            io.stderr,
            "Saved the plan to {}{signed} (it holds the values apply sends: keep it private); apply it with `berth apply {}`.",
            out.display(),
            out.display()
        )?;
    }
    Ok(if args.detailed_exitcode && plan.has_changes() { ExitStatus::Changes } else { ExitStatus::Success })
}
