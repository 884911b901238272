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
#[command(name = "berth", version, about = "Declarative deploys of Compose apps to AWS ECS", after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Spec file; repeat to merge overrides (later files win, as in Compose).
    #[arg(short = 'f', long = "file", global = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Apply the overlay x-berth.environments.NAME.
    #[arg(long = "env", global = true, value_name = "NAME")]
    pub env: Option<String>,
    /// Set an interpolation variable (wins over the environment and .env).
    #[arg(long = "var", global = true, value_name = "KEY=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// Read variables from this env file instead of the `.env` beside the first spec file; repeat for several (later files win).
    #[arg(long = "env-file", global = true, value_name = "FILE")]
    pub env_files: Vec<PathBuf>,
    /// Activate a Compose profile (repeatable; COMPOSE_PROFILES works too). `--profile` is the AWS profile.
    #[arg(long = "compose-profile", global = true, value_name = "NAME")]
    pub compose_profiles: Vec<String>,
    /// Where the app is deployed: `aws` (your account), or `sim`, a simulated account kept in --sim-state.
    #[arg(long, global = true, value_enum, default_value_t = BackendKind::Sim, env = "BERTH_BACKEND")]
    pub backend: BackendKind,
    /// AWS region (else x-berth.region, AWS_REGION, or the profile's region).
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// AWS profile from the shared config files (SSO and credential_process profiles work).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Send AWS API calls to this endpoint (an emulator such as moto); AWS_ENDPOINT_URL works too.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Print the number of AWS API calls per operation (stderr) when done.
    #[arg(long, global = true)]
    pub stats: bool,
    /// The simulated account's state file.
    #[arg(long, global = true, value_name = "PATH", default_value = ".berth/sim.json", env = "BERTH_SIM_STATE")]
    pub sim_state: PathBuf,
    /// No colors (also when NO_COLOR is set or stdout is not a terminal).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// Set images from the build: CodePipeline's imagedefinitions.json
    /// (`[{"name","imageUri"}]`) or imageDetail.json (`{"ImageURI"}`).
    #[arg(long, global = true, value_name = "FILE")]
    pub images_from: Option<PathBuf>,
    /// Do not warn about images outside ECR deployed by a tag (which can move).
    #[arg(long, global = true)]
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
    Validate,
    /// Print the resources berth would create or update, without touching the account.
    Render(RenderArgs),
    /// Print the JSON Schema of the spec (for editors' YAML language server).
    Schema(SchemaArgs),
    /// Read the live resources, diff them against the spec, print the plan.
    Plan(PlanArgs),
    /// Apply a saved plan, or plan and apply after confirmation.
    Apply(ApplyArgs),
    /// Delete every resource berth owns for this app, in reverse order.
    Destroy(DestroyArgs),
    /// Return a service to the revision that ran before (mid blue/green: restore the old color at once).
    Rollback(RollbackArgs),
    /// Show each service's deployments, tasks, target health and traffic weights.
    Status(StatusArgs),
    /// Print the least-privilege IAM policy (JSON) berth's deployer role needs for this spec.
    IamPolicy(IamPolicyArgs),
    /// List the images the spec needs built (service, context, repository, tag), for CI.
    Images(ImagesArgs),
    /// ECR: `berth ecr preview [REPO]` shows which images the lifecycle policy would expire.
    #[command(subcommand)]
    Ecr(EcrCommand),
    /// Scaffold a spec and CI files (CodeBuild buildspec, GitOps workflow, IAM policy).
    Init(InitArgs),
    /// The containers' log lines (CloudWatch Logs; the sim's tasks log too), with task id and container.
    Logs(LogsArgs),
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
    /// Save the plan to FILE for `berth apply FILE`.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[arg(long, value_enum, default_value_t = PlanFormat::Human)]
    pub format: PlanFormat,
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
    /// Also start a new deployment of these services' current revision
    /// (e.g. after a secret rotated): an explicit change of the plan.
    #[arg(long, value_name = "SERVICE", num_args = 1..)]
    pub redeploy: Vec<String>,
    #[command(flatten)]
    pub deploy: DeployArgs,
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
