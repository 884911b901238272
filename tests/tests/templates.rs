//! The CI templates run as written: every `commands:` line of
//! templates/buildspec.yml and every `run:` step of
//! templates/github/berth.yml, in order, with bash, against the sim
//! backend, in a temporary copy of examples/shop. `docker`, `gh` and `aws`
//! are small stand-ins on the PATH that record what they were asked (and
//! model what the checks need: a push needs a login and a build of the same
//! reference, and an IMMUTABLE registry refuses a tag pushed before); `berth`
//! is the berth-under-test binary. Each flow runs twice for one commit (a
//! retried build, a re-run of the workflow), so the second build's pushes
//! must not collide with the first's.
//!
//! What the runners provide is set here: CodeBuild's variables and the
//! buildspec's own `env`, GitHub's default variables, `$GITHUB_ENV`, and the
//! effect of each `uses:` step (see `GithubRun::uses`). The backend is the
//! sim (`BERTH_BACKEND=sim` overrides the templates' `aws`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use berth_tests::repo_root;

const BERTH: &str = env!("CARGO_BIN_EXE_berth-under-test");

const COMMIT: &str = "4f9c2e1d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d";
const REGION: &str = "ap-northeast-2";
const REGISTRY: &str = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com";

/// The GitHub expressions the workflow uses, and the value each stands for
/// in this test. An expression not in this table fails the test.
const EXPRESSIONS: &[(&str, &str)] = &[
    ("secrets.BERTH_PLAN_KEY", "test-plan-key-0123456789abcdef"),
    ("secrets.BERTH_ROLE_ARN", "arn:aws:iam::123456789012:role/berth-deployer"),
    ("vars.AWS_REGION", REGION),
    ("github.event.pull_request.head.sha", COMMIT),
    ("github.event.pull_request.number", "42"),
    ("github.token", "ghs_test_token"),
    ("github.repository", "acme/shop"),
    ("github.base_ref", "main"),
];

/// Replaces every `${{ expr }}` by its value from [`EXPRESSIONS`].
fn expand(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").unwrap_or_else(|| panic!("unterminated expression in {text}")) + start;
        let expr = rest[start + 3..end].trim();
        let value = EXPRESSIONS.iter().find(|(e, _)| *e == expr).unwrap_or_else(|| panic!("no test value for ${{{{ {expr} }}}}")).1;
        out.push_str(value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

const DOCKER: &str = r#"#!/usr/bin/env bash
# docker stand-in: records its arguments; models login, build, push and an
# IMMUTABLE registry (a reference pushed once cannot be pushed again).
set -eu
echo "docker $*" >> "$STANDIN_LOG"
state="$STANDIN_STATE"
case "$1" in
  login)
    registry="${*: -1}"
    password="$(cat)"
    [ "$password" = fake-ecr-password ] || { echo "docker login: wrong password" >&2; exit 1; }
    echo "$registry" >> "$state/logins"
    echo "Login Succeeded"
    ;;
  build)
    shift
    context="${*: -1}"
    [ -d "$context" ] || { echo "docker build: no build context $context" >&2; exit 1; }
    dockerfile="$context/Dockerfile"
    while [ $# -gt 1 ]; do
      case "$1" in
        --tag) echo "$2" >> "$state/built"; shift ;;
        --file) dockerfile="$2"; shift ;;
        --target|--build-arg) shift ;;
        *) echo "docker build: unexpected $1" >&2; exit 1 ;;
      esac
      shift
    done
    [ -f "$dockerfile" ] || { echo "docker build: no Dockerfile $dockerfile" >&2; exit 1; }
    ;;
  push)
    ref="$2"
    grep -qxF "${ref%%/*}" "$state/logins" 2>/dev/null || { echo "docker push: not logged in to ${ref%%/*}" >&2; exit 1; }
    grep -qxF "$ref" "$state/built" 2>/dev/null || { echo "docker push: $ref was not built" >&2; exit 1; }
    if grep -qxF "$ref" "$state/pushed" 2>/dev/null; then
      echo "tag invalid: the image tag '${ref##*:}' already exists and cannot be overwritten because the repository is immutable" >&2
      exit 1
    fi
    echo "$ref" >> "$state/pushed"
    ;;
  *) echo "docker stand-in: not modelled: $*" >&2; exit 1 ;;
esac
"#;

const AWS: &str = r#"#!/usr/bin/env bash
# aws stand-in: the account id and an ECR login password.
set -eu
echo "aws $*" >> "$STANDIN_LOG"
case "$1 $2" in
  "sts get-caller-identity") echo 123456789012 ;;
  "ecr get-login-password") echo fake-ecr-password ;;
  *) echo "aws stand-in: not modelled: $*" >&2; exit 1 ;;
esac
"#;

const GH: &str = r#"#!/usr/bin/env bash
# gh stand-in: PR comments (kept in $STANDIN_STATE/comments, one file each;
# --edit-last fails when there is none, as gh does) and artifact downloads
# (from $STANDIN_ARTIFACTS/<name>).
set -eu
echo "gh $*" >> "$STANDIN_LOG"
[ -n "${GH_TOKEN:-}" ] || { echo "gh: GH_TOKEN is not set" >&2; exit 4; }
case "$1 $2" in
  "pr comment")
    shift 2; pr="$1"; shift; body=""; edit_last=no
    while [ $# -gt 0 ]; do
      case "$1" in
        --body-file) body="$2"; shift ;;
        --edit-last) edit_last=yes ;;
        *) echo "gh pr comment: unexpected $1" >&2; exit 1 ;;
      esac
      shift
    done
    mkdir -p "$STANDIN_STATE/comments"
    n=$(ls "$STANDIN_STATE/comments" | wc -l)
    if [ "$edit_last" = yes ]; then
      [ "$n" -gt 0 ] || { echo "no comments found for current user" >&2; exit 1; }
    else
      n=$((n + 1))
    fi
    cp "$body" "$STANDIN_STATE/comments/$pr-$n.md"
    { echo "--- comment on #$pr ($edit_last edit)"; cat "$body"; } >> "$STANDIN_LOG"
    ;;
  "run download")
    [ "$3" = --name ] || { echo "gh run download: expected --name" >&2; exit 1; }
    [ -d "$STANDIN_ARTIFACTS/$4" ] || { echo "no artifact matches $4" >&2; exit 1; }
    into=.
    if [ "${5:-}" = --dir ]; then into="$6"; mkdir -p "$into"; fi
    cp -R "$STANDIN_ARTIFACTS/$4/." "$into"
    ;;
  *) echo "gh stand-in: not modelled: $*" >&2; exit 1 ;;
esac
"#;

const SHOP_API_BUILD: &str = "    build: ./api\n";
const API_BUILD: &str = "    build:\n      context: ./api\n      dockerfile: Dockerfile.prod\n      target: runtime\n      args: { RUBY_VERSION: \"3.3\", GREETING: \"it's a test\" }\n";
/// How the api is built from that spec (the args in the spec's order).
fn api_build(tag: &str) -> String {
    format!(
        "docker build --tag {REGISTRY}/shop/api:{tag} --file ./api/Dockerfile.prod --target runtime --build-arg RUBY_VERSION=3.3 --build-arg GREETING=it's a test ./api\n"
    )
}

/// The stand-ins, the sim's state, the registry's and GitHub's state, shared
/// by every run of one test (as an account and a repository are).
struct World {
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let tools = dir.path().join("tools");
        let berth = dir.path().join("berth-bin");
        for d in [&tools, &berth, &dir.path().join("state"), &dir.path().join("artifacts"), &dir.path().join("home")] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        for (name, script) in [("docker", DOCKER), ("aws", AWS), ("gh", GH)] {
            let path = tools.join(name);
            std::fs::write(&path, script).expect("write stand-in");
            make_executable(&path);
        }
        std::os::unix::fs::symlink(BERTH, berth.join("berth")).expect("symlink berth");
        World { dir }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.path("log")).unwrap_or_default()
    }

    fn lines(&self, file: &str) -> Vec<String> {
        std::fs::read_to_string(self.path("state").join(file)).unwrap_or_default().lines().map(str::to_string).collect()
    }

    /// A fresh checkout of examples/shop with the spec as `compose.berth.yaml`
    /// (the name `berth init` gives it), the api built with a dockerfile,
    /// target and args of its own, and the build contexts it names.
    fn checkout(&self, name: &str) -> PathBuf {
        let dir = self.path(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let spec = std::fs::read_to_string(repo_root().join("examples/shop/compose.yaml")).expect("read spec");
        assert!(spec.contains(SHOP_API_BUILD), "examples/shop builds the api from ./api");
        std::fs::write(dir.join("compose.berth.yaml"), spec.replace(SHOP_API_BUILD, API_BUILD)).expect("write spec");
        for context in ["api", "worker"] {
            std::fs::create_dir_all(dir.join(context)).expect("mkdir context");
        }
        std::fs::write(dir.join("api/Dockerfile.prod"), "FROM scratch\n").expect("write Dockerfile");
        std::fs::write(dir.join("worker/Dockerfile"), "FROM scratch\n").expect("write Dockerfile");
        dir
    }

    /// A command with only the environment a runner would give it: the
    /// stand-ins first on the PATH (berth too, when `with_berth`), the sim
    /// as the backend, the state and log of the stand-ins.
    fn command(&self, program: &str, cwd: &Path, with_berth: bool) -> Command {
        let mut cmd = Command::new(program);
        let system_path = std::env::var("PATH").unwrap_or_default();
        let berth = if with_berth { format!("{}:", self.path("berth-bin").display()) } else { String::new() };
        cmd.current_dir(cwd)
            .env_clear()
            .env("PATH", format!("{berth}{}:{system_path}", self.path("tools").display()))
            .env("HOME", self.path("home"))
            .env("STANDIN_LOG", self.path("log"))
            .env("STANDIN_STATE", self.path("state"))
            .env("STANDIN_ARTIFACTS", self.path("artifacts"))
            .env("BERTH_SIM_STATE", self.path("sim.json"));
        cmd
    }

    /// `(service, image tag)` of every service running in the sim: the tag
    /// its primary deployment's container of that name was pinned from.
    fn running(&self) -> BTreeMap<String, String> {
        let sim = berth_sim::Sim::open(&self.path("sim.json")).expect("open sim");
        let state = sim.state();
        state
            .services
            .iter()
            .map(|(name, svc)| {
                let arn = &svc.deployments.last().expect("a deployment").task_definition;
                let td = state.task_definitions.values().flatten().find(|t| &t.arn == arn).expect("its task definition");
                let container = name.trim_start_matches("shop-").trim_end_matches("-blue").trim_end_matches("-green");
                let image = &td.spec.container_definitions.iter().find(|c| c.name == container).expect("the service's container").image;
                let digest = image.split_once('@').map_or(image.as_str(), |(_, d)| d);
                let tag = state.resolved_tags.get(digest).cloned().unwrap_or_else(|| image.clone());
                (name.clone(), tag)
            })
            .collect()
    }
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn yaml(file: &str) -> serde_yaml::Value {
    let text = std::fs::read_to_string(repo_root().join("templates").join(file)).expect("template");
    serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{file} is YAML: {e}"))
}

fn str_of(v: &serde_yaml::Value) -> String {
    match v {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        other => panic!("expected a scalar, found {other:?}"),
    }
}

/// One CodeBuild build: the buildspec's phases in order, every command in
/// one bash (buildspec 0.2 runs a build's commands in one shell, so exports
/// carry over), stopping at the first failure (`on-failure: ABORT`).
fn codebuild(world: &World, source: &Path, build_number: u32) -> std::process::Output {
    let spec = yaml("buildspec.yml");
    assert_eq!(spec["env"]["shell"], serde_yaml::Value::from("bash"), "the buildspec runs its commands with bash");
    let mut script = String::from("set -e\n");
    for phase in ["install", "pre_build", "build", "post_build"] {
        let Some(commands) = spec["phases"][phase]["commands"].as_sequence() else { continue };
        for c in commands {
            script.push_str(&str_of(c));
            script.push('\n');
        }
    }
    std::fs::write(source.join(".codebuild.sh"), &script).expect("write script");
    let mut cmd = world.command("bash", source, true);
    for (k, v) in spec["env"]["variables"].as_mapping().expect("env.variables") {
        cmd.env(str_of(k), str_of(v));
    }
    for (k, _) in spec["env"]["secrets-manager"].as_mapping().expect("env.secrets-manager") {
        cmd.env(str_of(k), "test-plan-key-0123456789abcdef");
    }
    cmd.env("BERTH_BACKEND", "sim")
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_REGION", REGION)
        .env("CODEBUILD_RESOLVED_SOURCE_VERSION", COMMIT)
        .env("CODEBUILD_BUILD_NUMBER", build_number.to_string())
        .env("CODEBUILD_SRC_DIR", source)
        .arg(".codebuild.sh");
    cmd.output().expect("run bash")
}

#[track_caller]
fn succeeded(what: &str, out: &std::process::Output, world: &World) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}\nstand-ins' log:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        world.log()
    );
}

#[test]
fn the_buildspec_builds_pushes_plans_and_applies_and_a_retried_build_pushes_new_tags() {
    let world = World::new();
    let first = world.checkout("build-1");
    succeeded("the first build", &codebuild(&world, &first, 1), &world);
    let log = world.log();
    let tag1 = "4f9c2e1-1";
    assert!(log.contains(&format!("docker login --username AWS --password-stdin {REGISTRY}")), "{log}");
    // What `berth images` lists, built from its context and pushed.
    assert!(log.contains(&api_build(tag1)), "{log}");
    assert!(log.contains(&format!("docker build --tag {REGISTRY}/shop/worker:{tag1} ./worker\n")), "{log}");
    assert_eq!(world.lines("pushed"), [format!("{REGISTRY}/shop/api:{tag1}"), format!("{REGISTRY}/shop/worker:{tag1}")]);
    // The plan was saved with its markdown, and applied.
    let plan = std::fs::read_to_string(first.join("plan.md")).expect("plan.md");
    assert!(plan.contains("service.api"), "{plan}");
    assert!(first.join("plan.json").is_file());
    let running = world.running();
    assert_eq!(running["shop-api"], format!("shop/api:{tag1}"), "{running:?}");
    assert_eq!(running["shop-worker"], format!("shop/worker:{tag1}"), "{running:?}");
    assert_eq!(running["shop-web-blue"], format!("shop/web:{tag1}"), "{running:?}");
    // Each artifact the buildspec names was made.
    for f in yaml("buildspec.yml")["artifacts"]["files"].as_sequence().expect("artifacts") {
        assert!(first.join(str_of(f)).is_file(), "artifact {f:?}");
    }

    // The registry stand-in refuses a tag pushed before, as IMMUTABLE ECR does…
    let again = world.command("docker", &first, false).args(["push", &format!("{REGISTRY}/shop/api:{tag1}")]).output().expect("docker");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("immutable"));

    // …and a retried build of the same commit pushes tags of its own.
    let second = world.checkout("build-2");
    succeeded("the retried build", &codebuild(&world, &second, 2), &world);
    let pushed = world.lines("pushed");
    assert_eq!(pushed.len(), 4, "{pushed:?}");
    assert!(pushed[2..].iter().all(|r| r.ends_with(":4f9c2e1-2")), "{pushed:?}");
    let running = world.running();
    assert_eq!(running["shop-api"], "shop/api:4f9c2e1-2", "{running:?}");
    assert_eq!(running["shop-worker"], "shop/worker:4f9c2e1-2", "{running:?}");
}

/// A job of the workflow on a runner: the job's environment (the
/// workflow's `env`, GitHub's default variables, what steps wrote to
/// `$GITHUB_ENV`) and its checkout.
struct GithubRun<'a> {
    world: &'a World,
    workdir: PathBuf,
    env: BTreeMap<String, String>,
    berth_installed: bool,
    /// A git repository `actions/checkout` clones (and the branch it checks
    /// out), instead of the shop example.
    source: Option<(PathBuf, String)>,
}

impl<'a> GithubRun<'a> {
    fn new(world: &'a World, workflow: &serde_yaml::Value, name: &str, run_number: u32, attempt: u32) -> Self {
        let workdir = world.path(name);
        std::fs::create_dir_all(&workdir).expect("mkdir");
        let mut env: BTreeMap<String, String> =
            workflow["env"].as_mapping().expect("env").iter().map(|(k, v)| (str_of(k), expand(&str_of(v)))).collect();
        let runner_temp = world.path(&format!("{name}-runner-temp"));
        std::fs::create_dir_all(&runner_temp).expect("mkdir");
        for (k, v) in [
            ("BERTH_BACKEND", "sim".to_string()),
            ("GITHUB_ACTIONS", "true".into()),
            ("GITHUB_SHA", format!("{COMMIT}-merge")),
            ("GITHUB_REPOSITORY", "acme/shop".into()),
            ("GITHUB_RUN_NUMBER", run_number.to_string()),
            ("GITHUB_RUN_ATTEMPT", attempt.to_string()),
            ("GITHUB_ENV", world.path(&format!("{name}-github-env")).display().to_string()),
            ("RUNNER_TEMP", runner_temp.display().to_string()),
        ] {
            env.insert(k.to_string(), v);
        }
        GithubRun { world, workdir, env, berth_installed: false, source: None }
    }

    /// `actions/checkout` clones `repo` and checks out `branch`.
    fn cloning(mut self, repo: &Path, branch: &str) -> Self {
        self.source = Some((repo.to_path_buf(), branch.to_string()));
        self
    }

    /// What each `uses:` step of the workflow does, as far as the `run:`
    /// steps after it can tell.
    fn uses(&mut self, action: &str, with: &serde_yaml::Value) {
        let name = action.split('@').next().expect("name");
        match name {
            "actions/checkout" => match &self.source {
                Some((repo, branch)) => {
                    std::fs::remove_dir_all(&self.workdir).expect("empty workdir");
                    let clone =
                        Command::new("git").arg("clone").arg("-q").arg("--branch").arg(branch).arg(repo).arg(&self.workdir).status();
                    assert!(clone.expect("git clone").success(), "clone {}", repo.display());
                }
                None => {
                    let checkout = self.world.checkout(self.workdir.file_name().expect("name").to_str().expect("utf-8"));
                    assert_eq!(checkout, self.workdir);
                }
            },
            // This repository's action.yml: berth on the PATH.
            _ if name.ends_with("/berth") => self.berth_installed = true,
            "aws-actions/configure-aws-credentials" => {
                let region = expand(&str_of(&with["aws-region"]));
                assert_eq!(expand(&str_of(&with["role-to-assume"])), "arn:aws:iam::123456789012:role/berth-deployer");
                self.env.insert("AWS_REGION".into(), region.clone());
                self.env.insert("AWS_DEFAULT_REGION".into(), region);
            }
            "actions/upload-artifact" => {
                let store = self.world.path("artifacts").join(expand(&str_of(&with["name"])));
                std::fs::create_dir_all(&store).expect("mkdir");
                for file in str_of(&with["path"]).lines().map(str::trim).filter(|l| !l.is_empty()) {
                    let from = self.workdir.join(file);
                    if from.is_dir() {
                        // A directory's files are stored at the artifact's root (their common ancestor dropped).
                        for e in std::fs::read_dir(&from).expect("read dir").flatten() {
                            std::fs::copy(e.path(), store.join(e.file_name())).unwrap_or_else(|err| panic!("upload {file}: {err}"));
                        }
                    } else {
                        std::fs::copy(&from, store.join(file)).unwrap_or_else(|e| panic!("upload {file}: {e}"));
                    }
                }
            }
            other => panic!("the test does not know what `uses: {other}` does"),
        }
    }

    fn run(&mut self, step: &serde_yaml::Value) {
        let script = str_of(&step["run"]);
        assert!(!script.contains("${{"), "a run step reads expressions through env, not inline: {script}");
        let file = self.world.path("step.sh");
        std::fs::write(&file, &script).expect("write step");
        // `shell: bash` runs `bash --noprofile --norc -eo pipefail {0}`.
        let mut cmd = self.world.command("bash", &self.workdir, self.berth_installed);
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail"]).arg(&file).envs(&self.env);
        if let Some(step_env) = step["env"].as_mapping() {
            for (k, v) in step_env {
                cmd.env(str_of(k), expand(&str_of(v)));
            }
        }
        let out = cmd.output().expect("run bash");
        succeeded(&format!("step {:?}", step.get("name")), &out, self.world);
        // What the step wrote to $GITHUB_ENV is in the environment of the steps after it.
        let github_env = PathBuf::from(&self.env["GITHUB_ENV"]);
        if let Ok(text) = std::fs::read_to_string(&github_env) {
            for line in text.lines() {
                let (k, v) = line.split_once('=').unwrap_or_else(|| panic!("GITHUB_ENV line {line}"));
                self.env.insert(k.to_string(), v.to_string());
            }
            std::fs::remove_file(&github_env).expect("clear GITHUB_ENV");
        }
    }

    fn job(mut self, workflow: &serde_yaml::Value, job: &str) -> Self {
        let steps = workflow["jobs"][job]["steps"].as_sequence().expect("steps");
        for step in steps {
            if let Some(action) = step["uses"].as_str() {
                self.uses(action, &step["with"]);
            } else {
                self.run(step);
            }
        }
        self
    }
}

#[test]
fn the_workflow_plans_comments_and_applies_the_reviewed_plan_and_a_rerun_pushes_new_tags() {
    let world = World::new();
    let workflow = yaml("github/berth.yml");
    assert_eq!(workflow["defaults"]["run"]["shell"], serde_yaml::Value::from("bash"));
    // The jobs' conditions, read as GitHub does: plan on an opened or
    // updated pull request, apply when it is merged.
    assert_eq!(workflow["jobs"]["plan"]["if"], serde_yaml::Value::from("github.event.action != 'closed'"));
    assert_eq!(
        workflow["jobs"]["apply"]["if"],
        serde_yaml::Value::from("github.event.action == 'closed' && github.event.pull_request.merged == true")
    );

    let first = GithubRun::new(&world, &workflow, "plan-1", 7, 1).job(&workflow, "plan");
    let log = world.log();
    assert!(log.contains(&api_build("4f9c2e1-7.1")), "{log}");
    assert_eq!(world.lines("pushed"), [format!("{REGISTRY}/shop/api:4f9c2e1-7.1"), format!("{REGISTRY}/shop/worker:4f9c2e1-7.1")]);
    // The plan is the PR comment: the markdown berth wrote, posted as a new comment.
    let plan = std::fs::read_to_string(first.workdir.join("plan.md")).expect("plan.md");
    assert!(plan.contains("service.api") && plan.contains("| "), "markdown plan: {plan}");
    assert!(log.contains(&format!("--- comment on #42 (no edit)\n{plan}")), "{log}");
    assert!(world.running().is_empty(), "a pull request only plans");

    // A re-run of the job for the same commit: new tags, the comment edited.
    GithubRun::new(&world, &workflow, "plan-2", 7, 2).job(&workflow, "plan");
    let pushed = world.lines("pushed");
    assert_eq!(pushed.len(), 4, "{pushed:?}");
    assert!(pushed[2..].iter().all(|r| r.ends_with(":4f9c2e1-7.2")), "{pushed:?}");
    assert!(world.log().contains("--- comment on #42 (yes edit)"), "{}", world.log());
    assert_eq!(std::fs::read_dir(world.path("state/comments")).expect("comments").count(), 1, "one comment, edited");

    // On merge: the reviewed plan (the artifact of the last run) is applied.
    let apply = GithubRun::new(&world, &workflow, "apply", 8, 1).job(&workflow, "apply");
    let reviewed = std::fs::read_to_string(world.path("plan-2/plan.json")).expect("reviewed plan");
    assert_eq!(std::fs::read_to_string(apply.workdir.join("plan.json")).expect("downloaded plan"), reviewed);
    assert!(world.log().contains(&format!("gh run download --name berth-plan-{COMMIT}")), "{}", world.log());
    let running = world.running();
    assert_eq!(running["shop-api"], "shop/api:4f9c2e1-7.2", "{running:?}");
    assert_eq!(running["shop-worker"], "shop/worker:4f9c2e1-7.2", "{running:?}");
    assert_eq!(running["shop-web-blue"], "shop/web:4f9c2e1-7.2", "{running:?}");
    // The apply job builds nothing and pushes nothing.
    assert_eq!(world.lines("pushed").len(), 4);
}

/// A repository of two apps, `main` at its first commit and `pr` with a
/// change to beta's `.env` (its image tag).
fn apps_repo(world: &World) -> PathBuf {
    let repo = world.path("apps-origin");
    for app in ["alpha", "beta"] {
        let dir = repo.join("apps").join(app);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let spec = format!(
            "name: {app}\nx-berth:\n  network: {{ subnets: [subnet-1], security_groups: [sg-1] }}\n  environments:\n    staging: {{ name: {app}-staging }}\n    prod: {{ name: {app}-prod }}\nservices:\n  web:\n    image: nginx:${{TAG:?set TAG}}\n"
        );
        std::fs::write(dir.join("compose.berth.yaml"), spec).expect("spec");
        std::fs::write(dir.join(".env"), "TAG=1.27\n").expect(".env");
    }
    let git = |args: &[&str]| {
        let ok = Command::new("git").current_dir(&repo).args(["-c", "user.email=ci@example.com", "-c", "user.name=ci"]).args(args).status();
        assert!(ok.expect("git").success(), "git {args:?}");
    };
    git(&["init", "-q", "-b", "main", "."]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "apps"]);
    git(&["checkout", "-q", "-b", "pr"]);
    std::fs::write(repo.join("apps/beta/.env"), "TAG=1.28\n").expect(".env");
    git(&["commit", "-qam", "beta 1.28"]);
    repo
}

#[test]
fn the_repo_workflow_plans_the_changed_apps_and_applies_their_reviewed_plans() {
    let world = World::new();
    let workflow = yaml("github/berth-repo.yml");
    assert_eq!(workflow["jobs"]["plan"]["if"], serde_yaml::Value::from("github.event.action != 'closed'"));
    let origin = apps_repo(&world);
    let plan = GithubRun::new(&world, &workflow, "repo-plan", 3, 1).cloning(&origin, "pr").job(&workflow, "plan");
    // Only beta changed: its two environments are planned, commented and saved.
    let report = std::fs::read_to_string(plan.workdir.join("plan.md")).expect("plan.md");
    assert!(report.starts_with("## berth plan: 2 apps, 2 with changes, 0 failed"), "{report}");
    assert!(report.contains("| `apps/beta` | staging |") && report.contains("| `apps/beta` | prod |"), "{report}");
    assert!(!report.contains("apps/alpha"), "{report}");
    assert!(world.log().contains(&format!("--- comment on #42 (no edit)\n{report}")), "{}", world.log());
    let mut saved: Vec<String> = std::fs::read_dir(world.path(&format!("artifacts/berth-plans-{COMMIT}")))
        .expect("the artifact")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    saved.sort();
    assert_eq!(saved, ["apps__beta.prod.plan.json", "apps__beta.staging.plan.json", "reviewed-commit.txt"]);
    assert!(world.running().is_empty(), "a pull request only plans");

    // On merge: the reviewed plans are applied, each with the app it holds (no checkout).
    GithubRun::new(&world, &workflow, "repo-apply", 4, 1).job(&workflow, "apply");
    let sim = berth_sim::Sim::open(&world.path("sim.json")).expect("sim");
    let services: Vec<String> = sim.state().services.keys().cloned().collect();
    assert_eq!(services, ["beta-prod-web", "beta-staging-web"]);
}

#[test]
fn berth_images_json_keeps_each_builds_dockerfile_target_and_args() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("compose.yaml"),
        "name: app\nservices:\n  api:\n    build:\n      context: ./api\n      dockerfile: Dockerfile.prod\n      target: runtime\n      args: { RUBY_VERSION: \"3.3\", MODE: \"${MODE:-release}\" }\n",
    )
    .expect("write");
    let out = berth_tests::Berth::new(dir.path()).args(["--var", "TAG=abc", "images", "--format", "json"]).run();
    berth_tests::ok(&out);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(v[0]["dockerfile"], "Dockerfile.prod");
    assert_eq!(v[0]["target"], "runtime");
    assert_eq!(v[0]["args"], serde_json::json!({"RUBY_VERSION": "3.3", "MODE": "release"}));
}
