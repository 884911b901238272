mod apply;
mod backend;
mod iam_policy;
mod images;
mod init;
mod plan;
mod render;
mod schema;
mod status;
mod validate;

use berth_model::Desired;
use berth_plan::{Plan, PlanContext};
use berth_provider::Provider;
use berth_spec::{LoadOptions, Loaded};

use crate::cli::{Cli, Command};
use crate::{printer, ExitStatus, Io};

pub use backend::Backend;

pub const VERSION: &str = env!("CARGO_PKG_VERSION");

pub fn dispatch(cli: &Cli, io: &mut Io) -> anyhow::Result<ExitStatus> {
    match &cli.command {
        Command::Validate => validate::run(cli, io),
        Command::Render(args) => render::run(cli, args, io),
        Command::Schema(args) => schema::run(args, io),
        Command::Plan(args) => plan::run(cli, args, io),
        Command::Apply(args) => apply::run(cli, args, io),
        Command::Destroy(args) => apply::destroy(cli, args, io),
        Command::Rollback(args) => apply::rollback(cli, args, io),
        Command::Status(args) => status::run(cli, args, io),
        Command::IamPolicy => iam_policy::run(cli, io),
        Command::Images(args) => images::run(cli, args, io),
        Command::Init(args) => init::run(cli, args, io),
    }
}

/// Loads the spec named by the global arguments. Warnings are printed;
/// `None` means it was invalid and the errors were printed.
pub fn load_spec(cli: &Cli, io: &mut Io) -> anyhow::Result<Option<Loaded>> {
    let opts = LoadOptions {
        files: cli.global.files.clone(),
        dir: io.cwd.clone(),
        env: cli.global.env.clone(),
        vars: cli.global.vars.iter().cloned().collect(),
        process_env: io.env.clone(),
        images_from: cli.global.images_from.clone(),
    };
    match berth_spec::load(&opts) {
        Ok(loaded) => {
            printer::diagnostics(io.stderr, &loaded.warnings)?;
            Ok(Some(loaded))
        }
        Err(diags) => {
            printer::diagnostics(io.stderr, &diags)?;
            printer::invalid_summary(io.stderr, &diags)?;
            Ok(None)
        }
    }
}

/// The spec, lowered: what the app should look like.
pub struct Target {
    pub loaded: Loaded,
    pub desired: Desired,
}

pub fn load_target(cli: &Cli, io: &mut Io) -> anyhow::Result<Option<Target>> {
    Ok(load_spec(cli, io)?.map(|loaded| {
        let desired = berth_model::lower(&loaded.app);
        Target { loaded, desired }
    }))
}

pub fn plan_context(target: &Target, provider: &dyn Provider) -> PlanContext {
    PlanContext {
        berth_version: VERSION.to_string(),
        backend: provider.name(),
        priority_range: target
            .loaded
            .app
            .load_balancer
            .as_ref()
            .map_or(berth_spec::resolve::DEFAULT_PRIORITY_RANGE, |lb| lb.priority_range),
    }
}

/// Observes the live state and diffs it against the target.
pub async fn make_plan(target: &Target, provider: &dyn Provider) -> anyhow::Result<Plan> {
    let observed = provider.observe(&berth_plan::scope(&target.desired)).await?;
    let mut plan = berth_plan::diff(&target.desired, &observed, &plan_context(target, provider))?;
    plan.warnings = target
        .loaded
        .warnings
        .warnings()
        .map(|w| w.to_string().replace("\n  hint: ", " (hint: ") + if w.hint.is_some() { ")" } else { "" })
        .collect();
    Ok(plan)
}

pub fn color(cli: &Cli, io: &Io) -> bool {
    io.stdout_tty && !cli.global.no_color && io.env.get("NO_COLOR").is_none_or(|v| v.is_empty())
}
