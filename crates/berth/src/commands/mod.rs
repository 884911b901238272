mod apply;
mod backend;
mod completions;
mod ecr;
mod iam_policy;
mod images;
mod import;
mod init;
mod init_copilot;
mod init_x_aws;
mod lock;
mod logs;
mod plan;
mod plan_file;
mod render;
mod repo;
mod run;
mod scale;
mod schema;
mod status;
mod validate;
pub(crate) mod version;

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
        Command::IamPolicy(args) => iam_policy::run(cli, args, io),
        Command::Logs(args) => logs::run(cli, args, io),
        Command::Run(args) => run::run(cli, args, io),
        Command::Scale(args) => scale::scale(cli, args, io),
        Command::Images(args) => images::run(cli, args, io),
        Command::Ecr(crate::cli::EcrCommand::Preview(args)) => ecr::preview(cli, args, io),
        Command::Init(args) => init::run(cli, args, io),
        Command::Import(args) => import::run(cli, args, io),
        Command::Version => version::run(io),
        Command::Completions(args) => completions::completions(args, io),
        Command::Man(args) => completions::man(args, io),
    }
}

/// Loads the spec named by the global arguments. Warnings are printed;
/// `None` means it was invalid and the errors were printed.
pub fn load_spec(cli: &Cli, io: &mut Io) -> anyhow::Result<Option<Loaded>> {
    load_spec_with(cli, io, None)
}

/// [`load_spec`], with unset required variables (`${TAG:?}`) standing as
/// `required_placeholder` instead of failing, for a command that does not
/// use their values.
pub fn load_spec_with(cli: &Cli, io: &mut Io, required_placeholder: Option<&str>) -> anyhow::Result<Option<Loaded>> {
    let at = SpecAt { files: &cli.global.files, dir: &io.cwd, env: cli.global.env.as_deref() };
    Ok(load_spec_at(cli, &io.env, &at, required_placeholder, io.stderr)?)
}

/// Where a spec is: its files (none: the directory's default file), the
/// directory, and the `x-berth.environments` overlay to apply.
pub struct SpecAt<'a> {
    pub files: &'a [std::path::PathBuf],
    pub dir: &'a std::path::Path,
    pub env: Option<&'a str>,
}

/// Loads a spec with the global arguments' variables, printing its
/// diagnostics to `out`; `None` when it is invalid.
pub fn load_spec_at(
    cli: &Cli,
    process_env: &std::collections::HashMap<String, String>,
    at: &SpecAt,
    required_placeholder: Option<&str>,
    out: &mut (dyn std::io::Write + Send),
) -> std::io::Result<Option<Loaded>> {
    let opts = LoadOptions {
        required_placeholder: required_placeholder.map(str::to_string),
        files: at.files.to_vec(),
        dir: at.dir.to_path_buf(),
        env: at.env.map(str::to_string),
        vars: cli.global.vars.iter().cloned().collect(),
        process_env: process_env.clone(),
        images_from: cli.global.images_from.clone(),
        env_files: cli.global.env_files.clone(),
        profiles: cli.global.compose_profiles.clone(),
    };
    match berth_spec::load(&opts) {
        Ok(loaded) => {
            printer::diagnostics(out, &loaded.warnings)?;
            // Placeholders `berth init` left: valid YAML, never a deployable value.
            let placeholders = berth_spec::placeholders::check(&loaded);
            if placeholders.has_errors() {
                printer::diagnostics(out, &placeholders)?;
                printer::invalid_summary(out, &placeholders)?;
                return Ok(None);
            }
            Ok(Some(loaded))
        }
        Err(diags) => {
            printer::diagnostics(out, &diags)?;
            printer::invalid_summary(out, &diags)?;
            Ok(None)
        }
    }
}

/// The spec, lowered: what the app should look like.
pub struct Target {
    /// The spec as loaded; `None` for the app of a self-contained saved plan.
    pub loaded: Option<Loaded>,
    pub desired: Desired,
    /// Services of inactive Compose profiles (their live resources are left alone).
    pub disabled_services: Vec<String>,
    pub disabled_live_names: Vec<String>,
    /// The spec's warnings, as a plan lists them.
    pub spec_warnings: Vec<String>,
    /// `x-berth.load_balancer.priority_range`.
    pub priority_range: (u32, u32),
    /// Adopt same-named resources without berth's tags (`--adopt`, or
    /// `x-berth.adopt: true`; never from a saved plan's file alone).
    pub adopt: bool,
}

impl Target {
    pub fn from_loaded(loaded: Loaded) -> Target {
        let desired = berth_model::lower(&loaded.app);
        let spec_warnings = loaded
            .warnings
            .warnings()
            .map(|w| w.to_string().replace("\n  hint: ", " (hint: ") + if w.hint.is_some() { ")" } else { "" })
            .collect();
        let priority_range = loaded.app.load_balancer.as_ref().map_or(berth_spec::resolve::DEFAULT_PRIORITY_RANGE, |lb| lb.priority_range);
        let adopt = loaded.app.adopt;
        Target {
            disabled_services: loaded.disabled_services.clone(),
            disabled_live_names: loaded.disabled_live_names.clone(),
            spec_warnings,
            priority_range,
            desired,
            adopt,
            loaded: Some(loaded),
        }
    }

    /// The app a self-contained saved plan holds.
    pub fn from_saved(saved: &berth_plan::SavedTarget) -> Result<Target, String> {
        let app: berth_model::SavedDesired =
            serde_json::from_value(saved.app.clone()).map_err(|e| format!("the plan's app is not valid: {e}"))?;
        Ok(Target {
            loaded: None,
            desired: app.into_desired()?,
            disabled_services: saved.disabled_services.clone(),
            disabled_live_names: saved.disabled_live_names.clone(),
            spec_warnings: saved.spec_warnings.clone(),
            priority_range: saved.priority_range,
            adopt: false,
        })
    }

    /// What a saved plan holds of this target.
    pub fn saved(&self) -> berth_plan::SavedTarget {
        berth_plan::SavedTarget {
            app: serde_json::to_value(berth_model::SavedDesired::from(&self.desired)).unwrap_or_default(),
            disabled_services: self.disabled_services.clone(),
            disabled_live_names: self.disabled_live_names.clone(),
            spec_warnings: self.spec_warnings.clone(),
            priority_range: self.priority_range,
        }
    }

    /// The loaded spec, for commands that need more than the app.
    pub fn spec(&self) -> anyhow::Result<&Loaded> {
        self.loaded.as_ref().ok_or_else(|| anyhow::anyhow!("this command needs the spec (-f FILE)"))
    }
}

pub fn load_target(cli: &Cli, io: &mut Io) -> anyhow::Result<Option<Target>> {
    Ok(load_spec(cli, io)?.map(Target::from_loaded))
}

/// The target of `destroy`: the app's names are all it needs, so image
/// tags and other required variables may be left unset.
pub fn load_destroy_target(cli: &Cli, io: &mut Io) -> anyhow::Result<Option<Target>> {
    Ok(load_spec_with(cli, io, Some("unset-not-needed-to-destroy"))?.map(Target::from_loaded))
}

/// The spec of a plan or apply: `load_target` plus what deploying needs
/// (subnets, a VPC id), which `validate` does not ask of a compose file.
pub fn load_deploy_target(cli: &Cli, io: &mut Io) -> anyhow::Result<Option<Target>> {
    let Some(target) = load_target(cli, io)? else { return Ok(None) };
    Ok(deployable(cli, &io.env, &target, io.stderr)?.then_some(target))
}

/// Whether a valid spec can be deployed (subnets, a VPC id, an execution
/// role where AWS needs one); what is missing is printed to `out`.
pub fn deployable(
    cli: &Cli,
    process_env: &std::collections::HashMap<String, String>,
    target: &Target,
    out: &mut (dyn std::io::Write + Send),
) -> anyhow::Result<bool> {
    let loaded = target.spec()?;
    let mut missing = berth_spec::deploy_checks(loaded);
    // An execution role is checked where IAM is: on AWS, not on the sim or an emulator.
    let emulator = cli.global.endpoint_url.is_some() || process_env.get("AWS_ENDPOINT_URL").is_some_and(|u| !u.is_empty());
    let strict = cli.global.backend == crate::cli::BackendKind::Aws && !emulator;
    if let Some(d) = berth_spec::deploy_checks::execution_role_check(loaded, strict) {
        if strict {
            missing.push(d);
        } else {
            let mut warning = berth_spec::Diagnostics::default();
            warning.push(d);
            printer::diagnostics(out, &warning)?;
        }
    }
    if missing.has_errors() {
        printer::diagnostics(out, &missing)?;
        let n = missing.errors().count();
        writeln!(out, "error: the spec is valid but cannot be deployed yet ({n} key{} to set)", if n == 1 { "" } else { "s" })?;
        return Ok(false);
    }
    Ok(true)
}

pub fn plan_context(target: &Target, provider: &dyn Provider) -> PlanContext {
    PlanContext { berth_version: VERSION.to_string(), backend: provider.name(), priority_range: target.priority_range, adopt: target.adopt }
}

/// What the plan pipeline needs of a target.
pub fn plan_input<'a>(target: &'a Target, provider: &dyn Provider, allow_mutable_tags: bool) -> berth_plan::pipeline::PlanInput<'a> {
    berth_plan::pipeline::PlanInput {
        desired: &target.desired,
        disabled_services: &target.disabled_services,
        disabled_live_names: &target.disabled_live_names,
        spec_warnings: target.spec_warnings.clone(),
        ctx: plan_context(target, provider),
        allow_mutable_tags,
    }
}

/// Observes the live state, pins images to digests, and diffs
/// (`berth_plan::pipeline::plan_app`).
pub async fn make_plan(target: &Target, provider: &dyn Provider, allow_mutable_tags: bool) -> anyhow::Result<Plan> {
    Ok(berth_plan::pipeline::plan_app(&plan_input(target, provider, allow_mutable_tags), provider).await?.plan)
}

const IMAGE_WARNING: &str = berth_plan::pipeline::IMAGE_WARNING;

/// Prints the warnings found while planning, about images and routes
/// (spec warnings were printed when loading).
pub fn show_plan_warnings(plan: &Plan, io: &mut Io) -> std::io::Result<()> {
    for w in &plan.warnings {
        if let Some(rest) = [IMAGE_WARNING, berth_plan::ROUTE_WARNING, berth_plan::AUTOSCALING_WARNING, berth_plan::REVISION_WARNING]
            .iter()
            .find_map(|p| w.strip_prefix(p))
        {
            writeln!(io.stderr, "warning: {rest}")?;
        }
    }
    Ok(())
}

pub fn color(cli: &Cli, io: &Io) -> bool {
    io.stdout_tty && !cli.global.no_color && io.env.get("NO_COLOR").is_none_or(|v| v.is_empty())
}
