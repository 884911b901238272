mod apply;
mod backend;
mod completions;
mod ecr;
mod iam_policy;
mod images;
mod init;
mod lock;
mod logs;
mod plan;
mod plan_file;
mod render;
mod run;
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
        Command::Images(args) => images::run(cli, args, io),
        Command::Ecr(crate::cli::EcrCommand::Preview(args)) => ecr::preview(cli, args, io),
        Command::Init(args) => init::run(cli, args, io),
        Command::Version => version::run(io),
        Command::Completions(args) => completions::completions(args, io),
        Command::Man(args) => completions::man(args, io),
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
        env_files: cli.global.env_files.clone(),
        profiles: cli.global.compose_profiles.clone(),
    };
    match berth_spec::load(&opts) {
        Ok(loaded) => {
            printer::diagnostics(io.stderr, &loaded.warnings)?;
            // Placeholders `berth init` left: valid YAML, never a deployable value.
            let placeholders = berth_spec::placeholders::check(&loaded);
            if placeholders.has_errors() {
                printer::diagnostics(io.stderr, &placeholders)?;
                printer::invalid_summary(io.stderr, &placeholders)?;
                return Ok(None);
            }
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

/// The spec of a plan or apply: `load_target` plus what deploying needs
/// (subnets, a VPC id), which `validate` does not ask of a compose file.
pub fn load_deploy_target(cli: &Cli, io: &mut Io) -> anyhow::Result<Option<Target>> {
    let Some(target) = load_target(cli, io)? else { return Ok(None) };
    let mut missing = berth_spec::deploy_checks(&target.loaded);
    // An execution role is checked where IAM is: on AWS, not on the sim or an emulator.
    let emulator = cli.global.endpoint_url.is_some() || io.env.get("AWS_ENDPOINT_URL").is_some_and(|u| !u.is_empty());
    let strict = cli.global.backend == crate::cli::BackendKind::Aws && !emulator;
    if let Some(d) = berth_spec::deploy_checks::execution_role_check(&target.loaded, strict) {
        if strict {
            missing.push(d);
        } else {
            let mut warning = berth_spec::Diagnostics::default();
            warning.push(d);
            printer::diagnostics(io.stderr, &warning)?;
        }
    }
    if missing.has_errors() {
        printer::diagnostics(io.stderr, &missing)?;
        let n = missing.errors().count();
        writeln!(io.stderr, "error: the spec is valid but cannot be deployed yet ({n} key{} to set)", if n == 1 { "" } else { "s" })?;
        return Ok(None);
    }
    Ok(Some(target))
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

/// What ECR says of every ECR image of the spec, by reference.
pub async fn lookup_images(
    desired: &Desired,
    provider: &dyn Provider,
) -> anyhow::Result<std::collections::BTreeMap<String, berth_provider::ImageLookup>> {
    // Concurrently: each is one DescribeImages (an app's images are mostly one
    // tag per repository, so batching per repository would save nothing).
    let images = berth_plan::images::ecr_images(desired);
    let found = futures::future::join_all(
        images.iter().map(|i| provider.resolve_image(i.registry.as_deref(), i.region.as_deref(), &i.repository, &i.tag)),
    )
    .await;
    let mut lookups = std::collections::BTreeMap::new();
    for (image, found) in images.into_iter().zip(found) {
        lookups.insert(image.reference, found?);
    }
    Ok(lookups)
}

/// Observes the live state, pins images to digests, and diffs. Warnings
/// about images are in the plan and printed to stderr by `show_image_warnings`.
pub async fn make_plan(target: &Target, provider: &dyn Provider, allow_mutable_tags: bool) -> anyhow::Result<Plan> {
    let mut observed = provider.observe(&berth_plan::scope(&target.desired)).await?;
    leave_disabled_services_alone(&mut observed, &target.loaded.disabled_services, &target.desired.app);
    let mut desired = target.desired.clone();
    let lookups = lookup_images(&desired, provider).await?;
    let creating: std::collections::BTreeSet<String> = desired
        .ecr_repositories
        .iter()
        .map(|r| r.repository_name.clone())
        .filter(|r| observed.get(&format!("ecr.{r}")).is_none())
        .collect();
    let pinned = berth_plan::images::pin(&mut desired, &lookups, &creating, allow_mutable_tags)?;
    let mut plan = berth_plan::diff(&desired, &observed, &plan_context(target, provider))?;
    plan.spec_digest = berth_plan::spec_digest(&target.desired);
    plan.fingerprints.extend(pinned.fingerprints);
    plan.images = pinned.pins;
    let from_diff = std::mem::take(&mut plan.warnings);
    plan.warnings = target
        .loaded
        .warnings
        .warnings()
        .map(|w| w.to_string().replace("\n  hint: ", " (hint: ") + if w.hint.is_some() { ")" } else { "" })
        .collect();
    plan.warnings.extend(from_diff);
    // After the spec's: image warnings are only known once the account was read.
    plan.warnings.extend(pinned.warnings.iter().map(|w| format!("{IMAGE_WARNING}{w}")));
    Ok(plan)
}

const IMAGE_WARNING: &str = "warning: image: ";

/// Prints the warnings found while planning, about images and routes
/// (spec warnings were printed when loading).
pub fn show_plan_warnings(plan: &Plan, io: &mut Io) -> std::io::Result<()> {
    for w in &plan.warnings {
        if let Some(rest) = [IMAGE_WARNING, berth_plan::ROUTE_WARNING].iter().find_map(|p| w.strip_prefix(p)) {
            writeln!(io.stderr, "warning: {rest}")?;
        }
    }
    Ok(())
}

pub fn color(cli: &Cli, io: &Io) -> bool {
    io.stdout_tty && !cli.global.no_color && io.env.get("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Services of Compose profiles that are not active are not in the spec,
/// and their live resources are left alone (not deleted), as
/// `docker compose up` leaves the containers of inactive profiles.
fn leave_disabled_services_alone(observed: &mut berth_provider::Observed, disabled: &[String], app: &str) {
    if disabled.is_empty() {
        return;
    }
    let belongs = |address: &str| {
        disabled.iter().any(|svc| {
            ["service", "taskdef", "tg", "rule", "cloudmap"].iter().any(|kind| {
                address.strip_prefix(&format!("{kind}.{svc}")).is_some_and(|rest| {
                    rest.is_empty() || rest == "-blue" || rest == "-green" || rest.starts_with('/') || rest.starts_with('~')
                })
            }) || address == format!("ecr.{app}/{svc}")
        })
    };
    observed.resources.retain(|r| !belongs(&r.address));
}
