//! The command line, as data (clap derive). Behaviour lives in `commands/`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub const EXIT_CODES: &str = "\
Without a terminal berth never prompts (apply and destroy need --yes) and
prints one timestamped line per event, without color.

Exit codes:
  0  success (for `plan --detailed-exitcode`: no changes)
  1  invalid spec, refused or stale plan, or any other error
  2  `plan --detailed-exitcode` only: the plan has changes
  3  a deployment failed (circuit breaker, timeout, rollback)";

#[derive(Debug, Parser)]
#[command(name = "berth", version = crate::commands::version::LONG, about = "Declarative deploys of Compose apps to AWS ECS", after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Spec file; repeat to merge overrides (later files win, as in Compose).
    #[arg(short = 'f', long = "file", global = true, help_heading = "Spec options", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Apply the overlay x-berth.environments.NAME.
    #[arg(long = "env", global = true, help_heading = "Spec options", value_name = "NAME")]
    pub env: Option<String>,
    /// Set an interpolation variable (wins over the environment and .env).
    #[arg(long = "var", global = true, help_heading = "Spec options", value_name = "KEY=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Read variables from this env file instead of the `.env` beside the first spec file; repeat for several (later files win).
    #[arg(long = "env-file", global = true, help_heading = "Spec options", value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Activate a Compose profile (repeatable; COMPOSE_PROFILES works too). `--profile` is the AWS profile.
    #[arg(long = "compose-profile", global = true, help_heading = "Spec options", value_name = "NAME")]
    pub compose_profiles: Vec<String>,
    /// Where the app is deployed: `aws` (your account), or `sim`, a simulated account kept in --sim-state.
    #[arg(long, global = true, help_heading = "Account options", value_enum, default_value_t = BackendKind::Sim, env = "BERTH_BACKEND")]
    pub backend: BackendKind,
    /// AWS region (else x-berth.region, AWS_REGION, or the profile's region).
    #[arg(long, global = true, help_heading = "Account options", value_name = "REGION")]
    pub region: Option<String>,
    /// AWS profile from the shared config files (SSO and credential_process profiles work).
    #[arg(long, global = true, help_heading = "Account options", value_name = "NAME")]
    pub profile: Option<String>,
    /// Send AWS API calls to this endpoint (an emulator such as moto); AWS_ENDPOINT_URL works too.
    #[arg(long, global = true, help_heading = "Account options", value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Print the number of AWS API calls per operation (stderr) when done.
    #[arg(long, global = true, help_heading = "Account options")]
    pub stats: bool,
    /// The simulated account's state file.
    #[arg(
        long,
        global = true,
        help_heading = "Account options",
        value_name = "PATH",
        default_value = ".berth/sim.json",
        env = "BERTH_SIM_STATE"
    )]
    pub sim_state: PathBuf,
    /// No colors (also when NO_COLOR is set or stdout is not a terminal).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Set images from the build: CodePipeline's imagedefinitions.json
    /// (`[{"name","imageUri"}]`) or imageDetail.json (`{"ImageURI"}`).
    #[arg(long, global = true, help_heading = "Image options", value_name = "FILE")]
    pub images_from: Option<PathBuf>,
    /// Do not warn about images outside ECR deployed by a tag (which can move).
    #[arg(long, global = true, help_heading = "Image options")]
    pub allow_mutable_tags: bool,
}

fn parse_var(text: &str) -> Result<(String, String), String> {
    berth_spec::load::parse_var(text)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendKind {
    /// The simulated account (no AWS needed).
    Sim,
    /// An AWS account, through the AWS SDK's standard credential chain.
    Aws,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse, interpolate, merge and validate the spec; report problems with file:line:col.
    #[command(after_help = ex::VALIDATE)]
    Validate,
    /// Print the resources berth would create or update, without touching the account.
    #[command(after_help = ex::RENDER)]
    Render(RenderArgs),
    /// Print the JSON Schema of the spec (for editors' YAML language server).
    #[command(after_help = ex::SCHEMA)]
    Schema(SchemaArgs),
    /// Read the live resources, diff them against the spec, print the plan.
    #[command(visible_alias = "diff", after_help = ex::PLAN)]
    Plan(PlanArgs),
    /// Apply a saved plan, or plan and apply after confirmation.
    #[command(after_help = ex::APPLY)]
    Apply(ApplyArgs),
    /// Delete every resource berth owns for this app, in reverse order.
    #[command(after_help = ex::DESTROY)]
    Destroy(DestroyArgs),
    /// Return a service to the revision that ran before (mid blue/green: restore the old color at once).
    #[command(after_help = ex::ROLLBACK)]
    Rollback(RollbackArgs),
    /// Show each service's deployments, tasks, target health and traffic weights.
    #[command(after_help = ex::STATUS)]
    Status(StatusArgs),
    /// Print the least-privilege IAM policy (JSON) berth's deployer role needs for this spec.
    #[command(after_help = ex::IAM_POLICY)]
    IamPolicy(IamPolicyArgs),
    /// List the images the spec needs built (service, context, repository, tag), for CI.
    #[command(after_help = ex::IMAGES)]
    Images(ImagesArgs),
    /// ECR: `berth ecr preview [REPO]` shows which images the lifecycle policy would expire.
    #[command(subcommand, after_help = ex::ECR)]
    Ecr(EcrCommand),
    /// Scaffold a spec and CI files (CodeBuild buildspec, GitOps workflow, IAM policy).
    #[command(after_help = ex::INIT)]
    Init(InitArgs),
    /// Write a spec that reproduces live ECS services (made by hand, Terraform...), to adopt them with `plan --adopt`.
    #[command(after_help = ex::IMPORT)]
    Import(ImportArgs),
    /// The containers' log lines (CloudWatch Logs; the sim's tasks log too), with task id and container.
    #[command(after_help = ex::LOGS)]
    Logs(LogsArgs),
    /// Run a one-off task of a service (a migration, a shell): its logs stream, berth exits with its exit code.
    #[command(after_help = RUN_EXAMPLES)]
    Run(RunArgs),
    /// Set a running service's desired count now (clamped to its scalable target's bounds).
    #[command(after_help = ex::SCALE)]
    Scale(ScaleArgs),
    /// Print berth's version and the git commit it was built from.
    #[command(after_help = ex::VERSION)]
    Version,
    /// Print a shell completion script (generated from this command line).
    #[command(after_help = ex::COMPLETIONS)]
    Completions(CompletionsArgs),
    /// Print berth's man page (roff), or write one page per subcommand to a directory.
    #[command(after_help = ex::MAN)]
    Man(ManArgs),
}

impl Command {
    /// Whether the command only reads (the spec, the account) and writes
    /// nothing but its output: a closed stdout ends it quietly.
    pub fn only_reads(&self) -> bool {
        match self {
            Command::Apply(_)
            | Command::Destroy(_)
            | Command::Rollback(_)
            | Command::Init(_)
            | Command::Import(_)
            | Command::Run(_)
            | Command::Scale(_) => false,
            Command::Plan(args) => args.out.is_none(),
            Command::Man(args) => args.out_dir.is_none(),
            Command::Validate
            | Command::Render(_)
            | Command::Schema(_)
            | Command::Status(_)
            | Command::IamPolicy(_)
            | Command::Images(_)
            | Command::Ecr(_)
            | Command::Logs(_)
            | Command::Version
            | Command::Completions(_) => true,
        }
    }
}

#[derive(Debug, Args)]
pub struct ScaleArgs {
    /// The compose service to scale.
    pub service: String,
    /// The desired count.
    pub count: u32,
    /// When an apply of the app holds its lock, wait this long for it (e.g. 5m).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub wait_for_lock: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write `berth.1` and one `berth-<subcommand>.1` per subcommand into DIR instead.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// The options that name the account or the simulated one: hidden from the
/// help of subcommands that never read an account.
const ACCOUNT_OPTIONS: &[&str] = &["backend", "region", "profile", "endpoint_url", "stats", "sim_state"];
/// The options that choose and interpolate the spec and its images.
const SPEC_OPTIONS: &[&str] = &["files", "env", "vars", "env_files", "compose_profiles", "images_from", "allow_mutable_tags"];
/// Subcommands that read the spec but no account (`iam-policy` takes `--region`).
const OFFLINE: &[&str] = &["validate", "render", "images", "init", "iam-policy"];
/// Subcommands that read neither.
const STANDALONE: &[&str] = &["schema", "version", "completions", "man"];

/// The command line as clap sees it: [`Cli`], with the global options that
/// do not apply to a subcommand hidden from its help (they are still
/// accepted, so a shared set of flags in a script keeps working).
pub fn command() -> clap::Command {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let hidden_in = |ids: &[&str], cmd: &clap::Command| -> Vec<clap::Arg> {
        cmd.get_arguments().filter(|a| ids.contains(&a.get_id().as_str())).map(|a| a.clone().hide(true)).collect()
    };
    let account = hidden_in(ACCOUNT_OPTIONS, &cmd);
    let spec = hidden_in(SPEC_OPTIONS, &cmd);
    // A subcommand that defines an argument itself does not get the global
    // one propagated: define a hidden copy there.
    for name in OFFLINE.iter().chain(STANDALONE) {
        let mut hide: Vec<clap::Arg> = account.iter().filter(|a| !(*name == "iam-policy" && a.get_id() == "region")).cloned().collect();
        if STANDALONE.contains(name) {
            hide.extend(spec.iter().cloned());
        }
        cmd = cmd.mut_subcommand(*name, |sc| hide.into_iter().fold(sc, |sc, a| sc.arg(a)));
    }
    cmd
}

/// Parses a command line with [`command`].
pub fn parse<I, T>(args: I) -> Result<Cli, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    use clap::FromArgMatches;
    let mut cmd = command();
    let matches = cmd.try_get_matches_from_mut(args)?;
    Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}

/// Two or three examples per subcommand, shown after its options.
mod ex {
    pub const VALIDATE: &str = "\
Examples:
  berth validate
  berth -f compose.yaml -f compose.prod.yaml --env prod validate
  berth --var TAG=abc1234 validate";
    pub const RENDER: &str = "\
Examples:
  berth render
  berth --env prod render --format yaml";
    pub const SCHEMA: &str = "\
Examples:
  berth schema > berth.schema.json
  berth schema --plan
  berth schema --events";
    pub const PLAN: &str = "\
Examples:
  berth --var TAG=abc1234 plan
  berth plan -o plan.json --format markdown > plan.md
  berth plan --detailed-exitcode    # exit 2 when there are changes
`berth diff` is the same command.";
    pub const APPLY: &str = "\
Examples:
  berth --var TAG=abc1234 apply --yes
  berth apply plan.json --yes
  berth apply --yes --format json --timeout 30m";
    pub const DESTROY: &str = "\
Examples:
  berth destroy
  berth --env staging destroy --yes --delete-images";
    pub const ROLLBACK: &str = "\
Examples:
  berth rollback web
  berth rollback --yes          # an app with one service";
    pub const STATUS: &str = "\
Examples:
  berth status
  berth --backend aws --region eu-west-1 status --format json";
    pub const IAM_POLICY: &str = "\
Examples:
  berth iam-policy > berth-iam-policy.json
  berth iam-policy --execution-role";
    pub const IMAGES: &str = "\
Examples:
  berth --var TAG=abc1234 images
  berth images --format json";
    pub const ECR: &str = "\
Examples:
  berth ecr preview
  berth ecr preview shop/api --format json";
    pub const IMPORT: &str = "\
Examples:
  berth import --cluster shop --service shop-api --service shop-worker --namespace shop.local
  berth import --cluster hello --service hello-web --listener arn:aws:elasticloadbalancing:...:listener/app/shared/...
  berth plan --adopt    # then: only adopt changes; berth apply --adopt tags them";
    pub const INIT: &str = "\
Examples:
  berth init
  berth init --from compose.yaml
  berth init --from compose.yaml --out compose.berth.yaml --force";
    pub const LOGS: &str = "\
Examples:
  berth logs web --since 10m
  berth logs -F
  berth logs --task 0f1e2d3c --container app";
    pub const VERSION: &str = "\
Examples:
  berth version";
    pub const SCALE: &str = "\
Examples:
  berth scale web 6
  berth --env prod scale worker 0";
    pub const COMPLETIONS: &str = "\
Examples:
  source <(berth completions bash)
  berth completions zsh > \"${fpath[1]}/_berth\"
  berth completions fish > ~/.config/fish/completions/berth.fish";
    pub const MAN: &str = "\
Examples:
  berth man | man -l -
  berth man --out-dir /usr/local/share/man/man1";
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// Compose services to show (default: all).
    pub services: Vec<String>,
    /// Keep printing new lines until interrupted (Ctrl-C). `-f` names the
    /// spec file, so following is `--follow` or `-F`.
    #[arg(long, short = 'F')]
    pub follow: bool,
    /// Only lines of the last DURATION, e.g. 10m, 2h.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub since: Option<std::time::Duration>,
    /// Only this task's lines (its id, the last part of the task ARN).
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,
    /// Only this container's lines.
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
}

const RUN_EXAMPLES: &str = "\
Examples:
  berth run web -- bundle exec rails db:migrate
  berth run web -e RAILS_ENV=production --cpu 1024 --memory 2048 -- rake db:seed
  berth run web --live --timeout 10m -- sh -c 'echo $HOSTNAME'
The task uses the service's network configuration and launch type; its
exit code is berth's (124: --timeout passed, 130: interrupted, 1: it could
not start). `--env NAME` still selects the x-berth.environments overlay:
set the task's variables with -e.";

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The compose service whose task definition to run.
    pub service: String,
    /// The command, after `--` (default: the container's own command).
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
    /// Run the revision the service runs now, not the one the plan would deploy.
    #[arg(long)]
    pub live: bool,
    /// Set an environment variable of the container (repeatable).
    #[arg(short = 'e', long = "task-env", value_name = "KEY=VALUE", value_parser = parse_var)]
    pub task_env: Vec<(String, String)>,
    /// Task cpu units (override), e.g. 1024.
    #[arg(long, value_name = "UNITS")]
    pub cpu: Option<u32>,
    /// Task memory in MiB (override), e.g. 2048.
    #[arg(long, value_name = "MIB")]
    pub memory: Option<u32>,
    /// The container to run the command in (default: the service's own).
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
    /// Stop the task when it runs longer than this, e.g. 10m, 2h.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    /// When an apply of the app holds its lock, wait this long for it
    /// (e.g. 5m) before registering the revision, instead of refusing.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub wait_for_lock: Option<std::time::Duration>,
}

#[derive(Debug, Subcommand)]
pub enum EcrCommand {
    /// Which images each lifecycle policy would expire now, and by which rule.
    Preview(PreviewArgs),
}

#[derive(Debug, Args)]
pub struct PreviewArgs {
    /// One repository of the app (default: all of them).
    pub repository: Option<String>,
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    pub format: StatusFormat,
}

#[derive(Debug, Args)]
pub struct IamPolicyArgs {
    /// Instead: the trust policy and permissions of the task execution role
    /// (pull the spec's ECR images, read its secrets, write its logs).
    #[arg(long)]
    pub execution_role: bool,
}

#[derive(Debug, Args)]
pub struct ImagesArgs {
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    pub format: StatusFormat,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// An existing Compose file: berth copies it and adds the x-berth keys it needs.
    #[arg(long, value_name = "COMPOSE_FILE")]
    pub from: Option<PathBuf>,
    /// The spec file to write.
    #[arg(long, value_name = "FILE", default_value = "compose.berth.yaml")]
    pub out: PathBuf,
    /// Overwrite files that already exist.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Print the schema of the plan JSON (`berth plan --format json`) instead.
    #[arg(long, conflicts_with = "events")]
    pub plan: bool,
    /// Print the schema of one event line (`apply --format json`) instead.
    #[arg(long)]
    pub events: bool,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    #[arg(long, value_enum, default_value_t = RenderFormat::Json)]
    pub format: RenderFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RenderFormat {
    Json,
    Yaml,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Human,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Save the plan to FILE for `berth apply FILE` (with --all: a directory, one plan per app).
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Plan every app of the repository at DIR (default: here): the apps
    /// berth-repo.yaml lists, else each */compose.berth.yaml with each of its
    /// x-berth.environments.
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = ".")]
    pub all: Option<PathBuf>,
    /// With --all: only the apps whose files changed since this git REF.
    #[arg(long, value_name = "REF", requires = "all")]
    pub changed_since: Option<String>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
    /// Adopt same-named resources that carry no berth tags (made by hand,
    /// Terraform, Copilot): planned as `adopt`, tagged as this app's by
    /// `apply --adopt`. Never a resource tagged as another app's.
    #[arg(long)]
    pub adopt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WaitArg {
    /// Wait until every deployment berth starts has completed.
    Deployed,
    /// Start the deployments and return.
    None,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Apply without asking (required when not at a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How long to wait for each deployment, e.g. 15m, 90s.
    #[arg(long, default_value = "15m", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
    #[arg(long, value_enum, default_value_t = WaitArg::Deployed)]
    pub wait: WaitArg,
    /// `json`: one JSON object per event on stdout (JSON lines), for machines.
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    pub format: StatusFormat,
    /// Delete ECR repositories that still hold images (their images too).
    #[arg(long)]
    pub delete_images: bool,
    /// When another apply, destroy or rollback of the app holds its lock,
    /// wait this long for it (e.g. 5m) instead of refusing at once.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub wait_for_lock: Option<std::time::Duration>,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    berth_spec::units::parse_duration_ms(text).map(std::time::Duration::from_millis)
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// A plan saved with `berth plan -o FILE`; without it, berth plans first.
    pub plan: Option<PathBuf>,
    /// Apply every plan `berth plan --all -o DIR` saved in DIR, continuing past a failed app.
    #[arg(long, value_name = "DIR")]
    pub all: Option<PathBuf>,
    /// Also start a new deployment of these services' current revision
    /// (e.g. after a secret rotated): an explicit change of the plan.
    #[arg(long, value_name = "SERVICE", num_args = 1..)]
    pub redeploy: Vec<String>,
    /// Adopt same-named resources that carry no berth tags: tag them as this
    /// app's (see `berth plan --adopt`). Needed for a saved plan that adopts.
    #[arg(long)]
    pub adopt: bool,
    #[command(flatten)]
    pub deploy: DeployArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The ECS cluster the services run in.
    #[arg(long)]
    pub cluster: String,
    /// A service to import by its ECS name (repeat for several). Its main
    /// container's name becomes the compose service's; names other than
    /// `<app>-<service>` are kept with `x-berth.names`.
    #[arg(long = "service", value_name = "SERVICE", required = true)]
    pub services: Vec<String>,
    /// The app name (default: the cluster's name).
    #[arg(long)]
    pub app: Option<String>,
    /// The ALB listener whose rules route to the services (needed when they have load balancers).
    #[arg(long, value_name = "ARN")]
    pub listener: Option<String>,
    /// The Cloud Map namespace the services register in (DNS discovery), e.g. `shop.local`.
    #[arg(long, value_name = "NAME")]
    pub namespace: Option<String>,
    /// Where to write the spec.
    #[arg(short = 'o', long = "out", value_name = "FILE", default_value = "compose.berth.yaml")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct DestroyArgs {
    #[command(flatten)]
    pub deploy: DeployArgs,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The compose service to roll back (required when the app has several).
    pub service: Option<String>,
    #[command(flatten)]
    pub deploy: DeployArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    pub format: StatusFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Human,
    Json,
}
