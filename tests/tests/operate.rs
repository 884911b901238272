//! Operating an app (issue 13): failure diagnostics, logs, one-off tasks.

use berth_tests::{repo_root, Berth, Output};

/// Copies examples/ into a fresh directory, so the README's commands run
/// there exactly as written (their sim state lands in its `.berth/`).
fn readme_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for example in ["shop", "web", "wordpress"] {
        let to = dir.path().join("examples").join(example);
        std::fs::create_dir_all(&to).expect("mkdir");
        std::fs::copy(repo_root().join("examples").join(example).join("compose.yaml"), to.join("compose.yaml")).expect("copy");
    }
    dir
}

/// `cargo run -q -p berth -- <args>` as the README writes it, run in `dir`.
fn readme_command(dir: &std::path::Path, command: &str) -> Output {
    let args = command.strip_prefix("cargo run -q -p berth -- ").expect("a README berth command");
    Berth::new(dir).args(shell_words::split(args).expect("shell words")).run()
}

/// The README's commands of the "Try it" section, as written there.
fn readme_try_it() -> (String, String) {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README");
    let first = readme.lines().find(|l| l.starts_with("cargo run -q -p berth -- ")).expect("the README's first command").to_string();
    assert!(readme.contains("`--var TAG=crashloop`"), "the README offers the crashloop demo");
    let crash = first.replace("TAG=abc1234", "TAG=crashloop");
    assert_ne!(first, crash, "the README's command sets TAG=abc1234");
    (first, crash)
}

#[test]
fn readme_crashloop_demo_fails_rolls_back_and_shows_the_crash() {
    let dir = readme_dir();
    let (first, crash) = readme_try_it();
    let out = readme_command(dir.path(), &first);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = readme_command(dir.path(), &crash);
    assert_eq!(out.code, 3, "the crashloop release fails: {}\n{}", out.stdout, out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    // The service, the reason and the revision it is back on.
    assert!(all.contains("deployment") && all.contains("of shop-api failed: ECS deployment circuit breaker"), "{all}");
    assert!(all.contains("rolled the service back to shop-api:1"), "{all}");
    // The crashing container's stopped reason, exit code and last log lines.
    assert!(all.contains("failed: Essential container in task exited (exit code 1); container api exited with code 1"), "{all}");
    assert!(all.contains("| api: fatal: the process crashed during startup"), "{all}");
    // Once per distinct failure, though several tasks crashed the same way.
    assert!(all.matches(" stopped: Essential container").count() >= 3, "several tasks stopped: {all}");
    assert_eq!(all.matches("| api: fatal:").count(), 1, "the log tail is shown once: {all}");
    // The account: shop-api runs revision 1 again, at full count.
    let sim = berth_sim::Sim::open(&dir.path().join(".berth/sim.json")).expect("sim");
    let state = sim.state();
    let api = &state.services["shop-api"];
    let d = api.deployments.last().expect("deployment");
    assert!(d.task_definition.ends_with("shop-api:1") && d.rollout_state == "COMPLETED", "{d:?}");
    assert_eq!(api.tasks.iter().filter(|t| t.healthy && t.task_definition.ends_with(":1")).count(), 2);
}

/// A fault marker in a tag survives pinning when the image was pushed (a
/// real digest, found by its tag) as well as when the sim made one up.
#[test]
fn fault_markers_survive_digest_pinning_of_pushed_images() {
    let account = berth_tests::SimAccount::new();
    let spec =
        "name: pin\nx-berth: { network: { subnets: [subnet-1] } }\nservices:\n  api:\n    build: ./api\n    deploy: { replicas: 1 }\n";
    std::fs::write(account.dir().join("compose.yaml"), spec).expect("write");
    let berth = |tag: &str| {
        Berth::new(account.dir()).args(["--sim-state", "sim.json", "-f", "compose.yaml", "--var", &format!("TAG={tag}"), "apply", "--yes"])
    };
    berth_tests::ok(&berth("v1").run());
    account.edit(|s| s.auto_push = false);
    let sim = berth_sim::Sim::open(&account.state_path()).expect("sim");
    sim.push_image("pin/api", &["v2-unhealthy"], 0).expect("pushed");
    sim.save().expect("save");
    let out = berth("v2-unhealthy").run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("pin/api@sha256:"), "pinned by digest: {}", out.stderr);
    assert!(out.stderr.contains("Task failed container health checks"), "{}", out.stderr);
    assert!(out.stderr.contains("exited with code 137"), "{}", out.stderr);
}

/// Writes `compose.yaml` into a fresh directory and returns a runner of
/// `berth --sim-state sim.json -f compose.yaml ARGS` there.
struct App {
    dir: tempfile::TempDir,
}

impl App {
    fn new(yaml: &str) -> App {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("compose.yaml"), yaml).expect("write");
        App { dir }
    }

    fn berth<const N: usize>(&self, args: [&str; N]) -> Berth {
        Berth::new(self.dir.path()).args(["--sim-state", "sim.json", "-f", "compose.yaml"]).args(args)
    }
}

const NET: &str = "network: { subnets: [subnet-0a], security_groups: [sg-1] }";

fn containers(render: &Output) -> Vec<serde_json::Value> {
    let json: serde_json::Value = serde_json::from_str(&render.stdout).expect("render JSON");
    json["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .filter(|r| r["kind"] == "task_definition")
        .flat_map(|r| r["spec"]["containerDefinitions"].as_array().cloned().unwrap_or_default())
        .collect()
}

#[test]
fn every_container_logs_to_the_app_group_unless_its_logging_says_otherwise() {
    let app = App::new(&format!(
        "name: lg\nx-berth: {{ {NET} }}\nservices:\n  web:\n    image: nginx\n  quiet:\n    image: nginx\n    logging: {{ driver: none }}\n  tuned:\n    image: nginx\n    logging:\n      driver: awslogs\n      options: {{ awslogs-stream-prefix: custom, mode: blocking }}\n  local:\n    image: nginx\n    logging: {{ driver: json-file, options: {{ max-size: 10m }} }}\n"
    ));
    let out = app.berth(["render"]).run();
    berth_tests::ok(&out);
    let by_name = |n: &str| containers(&out).into_iter().find(|c| c["name"] == n).unwrap_or_else(|| panic!("container {n}"));
    let web = by_name("web");
    assert_eq!(web["logConfiguration"]["logDriver"], "awslogs");
    assert_eq!(web["logConfiguration"]["options"]["awslogs-group"], "/berth/lg");
    assert_eq!(web["logConfiguration"]["options"]["awslogs-stream-prefix"], "lg");
    assert_eq!(web["logConfiguration"]["options"]["mode"], "non-blocking");
    assert!(by_name("quiet").get("logConfiguration").is_none(), "driver: none has no log configuration");
    let tuned = by_name("tuned");
    assert_eq!(tuned["logConfiguration"]["options"]["awslogs-stream-prefix"], "custom", "compose options pass through");
    assert_eq!(tuned["logConfiguration"]["options"]["mode"], "blocking");
    assert_eq!(tuned["logConfiguration"]["options"]["awslogs-group"], "/berth/lg");
    // Docker's local driver means nothing on Fargate: CloudWatch, with a warning naming the key.
    assert_eq!(by_name("local")["logConfiguration"]["logDriver"], "awslogs");
    assert!(out.stderr.contains("compose.yaml:16:") && out.stderr.contains("services.local.logging.driver"), "{}", out.stderr);

    // x-berth.logs names the group; a retention CloudWatch does not offer is an error at its key.
    let named = App::new(&format!(
        "name: lg\nx-berth:\n  {NET}\n  logs: {{ group: /shared/lg, retention_days: 7 }}\nservices:\n  web:\n    image: nginx\n"
    ));
    let out = named.berth(["render"]).run();
    berth_tests::ok(&out);
    assert_eq!(containers(&out)[0]["logConfiguration"]["options"]["awslogs-group"], "/shared/lg");
    let bad = App::new(&format!("name: lg\nx-berth:\n  {NET}\n  logs:\n    retention_days: 8\nservices:\n  web:\n    image: nginx\n"));
    let out = bad.berth(["validate"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("compose.yaml:5:") && out.stderr.contains("x-berth.logs.retention_days"), "{}", out.stderr);
    assert!(out.stderr.contains("cannot keep logs for 8 days"), "{}", out.stderr);
    let unknown = App::new("name: lg\nservices:\n  web:\n    image: nginx\n    logging: { driver: syslog }\n");
    let out = unknown.berth(["validate"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("compose.yaml:5:") && out.stderr.contains("not available on ECS Fargate"), "{}", out.stderr);
}

#[test]
fn a_missing_execution_role_stops_an_aws_plan_naming_the_key() {
    let app = App::new(&format!("name: er\nx-berth:\n  region: eu-west-3\n  {NET}\nservices:\n  web:\n    image: nginx\n"));
    // On AWS: an error naming the key, before any call to AWS.
    let out = app.berth(["--backend", "aws", "plan"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("compose.yaml:2:") && out.stderr.contains("x-berth.execution_role_arn"), "{}", out.stderr);
    assert!(out.stderr.contains("logs to CloudWatch (awslogs) on Fargate"), "{}", out.stderr);
    assert!(out.stderr.contains("berth iam-policy --execution-role"), "{}", out.stderr);
    assert!(out.stderr.contains("cannot be deployed yet (1 key to set)"), "{}", out.stderr);
    // The sim checks no IAM: the same finding, as a warning.
    let out = app.berth(["plan"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("warning") && out.stderr.contains("on AWS, plan stops here until it is set"), "{}", out.stderr);
    // Set, it is quiet; with no awslogs, no secrets and a public image, none is needed.
    let set = App::new(&format!(
        "name: er\nx-berth:\n  region: eu-west-3\n  execution_role_arn: arn:aws:iam::123456789012:role/er-exec\n  {NET}\nservices:\n  web:\n    image: nginx\n"
    ));
    assert!(!set.berth(["plan"]).run().stderr.contains("execution_role_arn"));
    let none = App::new(&format!("name: er\nx-berth:\n  {NET}\nservices:\n  web:\n    image: nginx\n    logging: {{ driver: none }}\n"));
    assert!(!none.berth(["plan"]).run().stderr.contains("execution_role_arn"));
    // A private ECR image needs one too.
    let ecr = App::new(&format!(
        "name: er\nx-berth:\n  {NET}\nservices:\n  web:\n    image: 123456789012.dkr.ecr.eu-west-3.amazonaws.com/er/web:1\n    logging: {{ driver: none }}\n"
    ));
    let out = ecr.berth(["--backend", "aws", "plan"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("runs the private ECR image"), "{}", out.stderr);
}

#[test]
fn iam_policy_for_the_execution_role_names_the_repositories_secrets_and_log_group() {
    let out =
        Berth::new(repo_root()).args(["-f", "examples/shop/compose.yaml", "--var", "TAG=abc1234", "iam-policy", "--execution-role"]).run();
    berth_tests::ok(&out);
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let trust = &json["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(trust["Principal"]["Service"], "ecs-tasks.amazonaws.com");
    assert_eq!(trust["Action"], "sts:AssumeRole");
    let text = json["PolicyDocument"].to_string();
    for needle in [
        "arn:aws:ecr:ap-northeast-2:123456789012:repository/shop/web",
        "repository/shop/api",
        "repository/shop/worker",
        "ecr:BatchGetImage",
        "ecr:GetAuthorizationToken",
        "secretsmanager:GetSecretValue",
        "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:shop/db-password-AbCdEf",
        "arn:aws:logs:ap-northeast-2:*:log-group:/berth/shop:*",
        "logs:PutLogEvents",
    ] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
    // The deployer's policy covers the log group berth manages.
    let out = Berth::new(repo_root()).args(["-f", "examples/shop/compose.yaml", "--var", "TAG=abc1234", "iam-policy"]).run();
    for action in ["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DeleteLogGroup", "logs:FilterLogEvents"] {
        assert!(out.stdout.contains(action), "{action}");
    }
}

#[test]
fn placeholders_left_by_init_fail_validate_with_file_line_and_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    berth_tests::ok(&Berth::new(dir.path()).args(["init"]).run());
    let out = Berth::new(dir.path()).args(["-f", "compose.berth.yaml", "validate"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let spec = std::fs::read_to_string(dir.path().join("compose.berth.yaml")).expect("spec");
    let line = spec.lines().position(|l| l.contains("execution_role_arn: REPLACE_ME")).expect("init asks for the role") + 1;
    assert!(
        out.stderr.contains(&format!("compose.berth.yaml:{line}:")) && out.stderr.contains("x-berth.execution_role_arn"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("REPLACE_ME_EXECUTION_ROLE_ARN is a placeholder `berth init` left to fill in"), "{}", out.stderr);
    let region = spec.lines().position(|l| l.contains("region: REPLACE_ME_REGION")).expect("region") + 1;
    assert!(out.stderr.contains(&format!("compose.berth.yaml:{region}:")) && out.stderr.contains("x-berth.region"), "{}", out.stderr);
}

/// `berth logs` lines: `<time> <service>/<task> <container>: <message>`.
fn log_lines(out: &Output) -> Vec<(String, String, String)> {
    out.stdout
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ' ');
            let (_, source, rest) = (parts.next()?, parts.next()?, parts.next()?);
            let (service, task) = source.split_once('/')?;
            Some((service.to_string(), task.to_string(), rest.to_string()))
        })
        .collect()
}

#[test]
fn logs_on_the_sim_show_the_right_service_and_task_and_filter_by_time() {
    let app = App::new(&format!(
        "name: lgs\nx-berth: {{ {NET} }}\nservices:\n  web:\n    image: web:${{TAG}}\n    deploy: {{ replicas: 2 }}\n  worker:\n    image: worker:${{TAG}}\n"
    ));
    berth_tests::ok(&app.berth(["--var", "TAG=v1", "apply", "--yes"]).run());
    let all = app.berth(["--var", "TAG=v1", "logs"]).run();
    berth_tests::ok(&all);
    let lines = log_lines(&all);
    assert_eq!(lines.iter().filter(|(s, _, _)| s == "web").count(), 2, "{}", all.stdout);
    assert_eq!(lines.iter().filter(|(s, _, _)| s == "worker").count(), 1, "{}", all.stdout);
    let web = app.berth(["--var", "TAG=v1", "logs", "web"]).run();
    let web_lines = log_lines(&web);
    assert_eq!(web_lines.len(), 2, "{}", web.stdout);
    assert!(web_lines.iter().all(|(s, _, m)| s == "web" && m.starts_with("web: web: starting web:v1")), "{}", web.stdout);
    // One task's lines only.
    let task = web_lines[0].1.clone();
    let one = app.berth(["--var", "TAG=v1", "logs", "web", "--task", &task]).run();
    assert_eq!(log_lines(&one).iter().map(|(_, t, _)| t.clone()).collect::<Vec<_>>(), vec![task.clone()], "{}", one.stdout);
    // An hour later, a crash-looping release writes new lines: --since shows only those.
    let sim = berth_sim::Sim::open(&app.dir.path().join("sim.json")).expect("sim");
    sim.state().now_ms += 3_600_000;
    sim.save().expect("save");
    let out = app.berth(["--var", "TAG=crashloop", "apply", "--yes"]).run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    let recent = app.berth(["--var", "TAG=v1", "logs", "web", "--since", "30m"]).run();
    let recent_lines = log_lines(&recent);
    assert!(!recent_lines.is_empty() && recent_lines.iter().all(|(_, t, _)| *t != task), "only the new tasks' lines: {}", recent.stdout);
    assert!(recent.stdout.contains("web: fatal: the process crashed during startup"), "{}", recent.stdout);
    let everything = log_lines(&app.berth(["--var", "TAG=v1", "logs", "web"]).run());
    assert!(everything.len() > recent_lines.len() && everything.iter().any(|(_, t, _)| *t == task));
    // Unknown names are errors that list the known ones.
    let out = app.berth(["--var", "TAG=v1", "logs", "db"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no service \"db\"") && out.stderr.contains("web, worker"), "{}", out.stderr);
    let out = app.berth(["--var", "TAG=v1", "logs", "--container", "sidecar"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no container \"sidecar\""), "{}", out.stderr);
}

/// A writer shared with the test while the command runs.
#[derive(Clone, Default)]
struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Shared {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Shared {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

/// Runs berth in process on a thread, with output readable while it runs.
fn spawn(dir: &std::path::Path, args: Vec<String>) -> (Shared, Shared, std::thread::JoinHandle<i32>) {
    let (out, err) = (Shared::default(), Shared::default());
    let (mut o, mut e, dir) = (out.clone(), err.clone(), dir.to_path_buf());
    let handle = std::thread::spawn(move || {
        let mut io = berth::Io { stdout: &mut o, stderr: &mut e, env: Default::default(), cwd: dir, interactive: false, stdout_tty: false };
        i32::from(berth::run(std::iter::once("berth".to_string()).chain(args), &mut io).code())
    });
    (out, err, handle)
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !done() {
        assert!(start.elapsed() < std::time::Duration::from_secs(20), "timed out waiting for {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

fn interrupt_this_process() {
    let status = std::process::Command::new("kill").args(["-INT", &std::process::id().to_string()]).status().expect("kill");
    assert!(status.success());
}

#[test]
fn logs_follow_prints_new_lines_until_interrupted() {
    let app = App::new(&format!("name: lgf\nx-berth: {{ {NET} }}\nservices:\n  web:\n    image: web:${{TAG}}\n"));
    berth_tests::ok(&app.berth(["--var", "TAG=v1", "apply", "--yes"]).run());
    let args = ["--sim-state", "sim.json", "-f", "compose.yaml", "--var", "TAG=v1", "logs", "--follow"];
    let (out, err, handle) = spawn(app.dir.path(), args.iter().map(|s| s.to_string()).collect());
    wait_for("the follow to start", || err.text().contains("following the logs") && out.text().contains("web: starting web:v1"));
    // A new release logs while it follows (another process, as a user's second terminal would).
    berth_tests::ok(&app.berth(["--var", "TAG=v2", "apply", "--yes"]).run());
    wait_for("the new task's line", || out.text().contains("web: starting web:v2"));
    assert!(!handle.is_finished(), "still following");
    interrupt_this_process();
    wait_for("the follow to stop", || handle.is_finished());
    assert_eq!(handle.join().expect("joined"), 0, "{}", err.text());
    assert_eq!(out.text().matches("web: starting web:v1").count(), 1, "each line once: {}", out.text());
}

fn plan_of(app: &App, retention: &str) -> serde_json::Value {
    std::fs::write(app.dir.path().join("compose.yaml"), log_spec(retention)).expect("write");
    berth_tests::plan_json(&app.berth(["plan", "--format", "json"]).run())
}

fn log_spec(retention: &str) -> String {
    format!("name: lgr\nx-berth:\n  {NET}\n  logs: {{ retention_days: {retention} }}\nservices:\n  web:\n    image: nginx:1.27\n")
}

#[test]
fn the_log_group_is_a_resource_of_the_plan_from_create_to_destroy() {
    let app = App::new(&log_spec("30"));
    let plan = plan_of(&app, "30");
    let changes = berth_tests::plan_changes(&plan);
    assert!(changes.contains(&("logs./berth/lgr".to_string(), "create".to_string(), vec![])), "{changes:?}");
    let td = plan["changes"].as_array().expect("changes").iter().find(|c| c["address"] == "taskdef.web").expect("taskdef").clone();
    assert_eq!(td["depends_on"], serde_json::json!(["logs./berth/lgr"]), "the group comes before the task definition");
    let out = app.berth(["apply", "--yes"]).run();
    berth_tests::ok(&out);
    let started = berth_tests::started_changes(&out);
    let pos = |a: &str| started.iter().position(|(x, _)| x == a).unwrap_or_else(|| panic!("{a} in {started:?}"));
    assert!(pos("logs./berth/lgr") < pos("taskdef.web"), "{started:?}");
    let sim = berth_sim::Sim::open(&app.dir.path().join("sim.json")).expect("sim");
    let group = sim.state().log_groups["/berth/lgr"].spec.clone();
    assert_eq!(group.retention_in_days, 30);
    assert!(group.tags.iter().any(|t| t.key == "berth:app" && t.value == "lgr"));
    drop(sim);
    // Re-plan: clean. A retention change: one update of that field only.
    assert_eq!(app.berth(["plan", "--detailed-exitcode"]).run().code, 0);
    let changes = berth_tests::plan_changes(&plan_of(&app, "90"));
    assert_eq!(changes, vec![("logs./berth/lgr".to_string(), "update".to_string(), vec!["retentionInDays".to_string()])]);
    berth_tests::ok(&app.berth(["apply", "--yes"]).run());
    let sim = berth_sim::Sim::open(&app.dir.path().join("sim.json")).expect("sim");
    assert_eq!(sim.state().log_groups["/berth/lgr"].spec.retention_in_days, 90);
    drop(sim);
    // Destroy deletes it, after the service.
    let out = app.berth(["destroy", "--yes"]).run();
    berth_tests::ok(&out);
    let deleted: Vec<String> = berth_tests::started_changes(&out).into_iter().map(|(a, _)| a).collect();
    let at = |a: &str| deleted.iter().position(|x| x == a).unwrap_or_else(|| panic!("{a} in {deleted:?}"));
    assert!(at("service.web") < at("logs./berth/lgr"), "{deleted:?}");
    let sim = berth_sim::Sim::open(&app.dir.path().join("sim.json")).expect("sim");
    assert!(sim.state().log_groups.is_empty());
}

#[test]
fn a_log_group_berth_did_not_create_is_used_and_never_deleted() {
    let app = App::new(&format!("name: lge\nx-berth:\n  {NET}\n  logs: {{ group: /shared/logs }}\nservices:\n  web:\n    image: nginx\n"));
    let sim = berth_sim::Sim::open(&app.dir.path().join("sim.json")).expect("sim");
    let existing = berth_model::resources::LogGroup { log_group_name: "/shared/logs".into(), retention_in_days: 7, tags: vec![] };
    sim.state().create_log_group(&existing).expect("created out of band");
    sim.save().expect("save");
    drop(sim);
    let plan = berth_tests::plan_json(&app.berth(["plan", "--format", "json"]).run());
    assert!(berth_tests::plan_changes(&plan).iter().all(|(a, _, _)| !a.starts_with("logs.")), "{plan}");
    berth_tests::ok(&app.berth(["apply", "--yes"]).run());
    assert_eq!(app.berth(["plan", "--detailed-exitcode"]).run().code, 0, "no change to a group that is not ours");
    berth_tests::ok(&app.berth(["destroy", "--yes"]).run());
    let sim = berth_sim::Sim::open(&app.dir.path().join("sim.json")).expect("sim");
    assert_eq!(sim.state().log_groups["/shared/logs"].spec.retention_in_days, 7, "left as it was");
}

/// On the sim as on ECS, awslogs fails a task whose log group is missing
/// (which is why the plan creates the group before the task definitions).
#[test]
fn a_task_whose_log_group_is_missing_fails_to_start_with_the_reason() {
    use berth_provider::Provider;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("compose.yaml"), format!("name: lgm\nx-berth: {{ {NET} }}\nservices:\n  web:\n    image: nginx\n"))
        .expect("write");
    let loaded = berth_spec::load(&berth_spec::LoadOptions { dir: dir.path().to_path_buf(), ..Default::default() })
        .unwrap_or_else(|d| panic!("{d}"));
    let desired = berth_model::lower(&loaded.app);
    let sim = berth_sim::Sim::new();
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
    rt.block_on(async {
        // Registered and started without the plan's log group.
        sim.create_cluster(&desired.cluster).await.expect("cluster");
        let td = sim.register_task_definition(&desired.task_definitions[0]).await.expect("register");
        let mut svc = desired.services[0].clone();
        svc.task_definition = td;
        sim.create_service(&svc).await.expect("create");
    });
    sim.advance(60_000);
    let state = sim.state();
    let stopped = &state.services["lgm-web"].stopped;
    assert!(!stopped.is_empty(), "the launches failed");
    assert!(stopped[0].stopped_reason.starts_with(berth_sim::scheduler::NO_LOG_GROUP), "{:?}", stopped[0]);
    assert!(stopped[0].stopped_reason.ends_with("/berth/lgm"), "{:?}", stopped[0]);
    assert!(stopped[0].containers.iter().all(|c| c.exit_code.is_none()), "no container ran: {:?}", stopped[0].containers);
}

/// `berth --backend aws` against moto in `region`, from `dir`.
fn on_moto(moto: &berth_tests::moto::Moto, dir: &std::path::Path, region: &str) -> Berth {
    Berth::new(dir)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("BERTH_AWS_MAX_ATTEMPTS", "1")
        .env("BERTH_AWS_RATE_LIMITS", "off")
        .args(["--backend", "aws", "--endpoint-url", &moto.endpoint, "--region", region, "-f", "compose.yaml"])
}

#[test]
fn moto_log_group_lifecycle_and_logs_read_back_with_the_sdk() {
    let Some(moto) = berth_tests::moto::moto() else { return };
    // The one region no other test uses; its zones are a, c and d.
    let region = "ap-northeast-1";
    let net = network_a_c(&moto, region);
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |retention: u32| {
        let spec = format!(
            "name: mlg\nx-berth:\n  network: {}\n  execution_role_arn: arn:aws:iam::123456789012:role/mlg-exec\n  logs: {{ retention_days: {retention} }}\nservices:\n  web:\n    image: nginx:1.27\n",
            net.yaml()
        );
        std::fs::write(dir.path().join("compose.yaml"), spec).expect("write");
    };
    let berth = || on_moto(&moto, dir.path(), region);
    let group = |sdk: &berth_tests::moto::Sdk| {
        let sdk = sdk.logs.clone();
        berth_tests::moto::block_on(async move {
            let out = sdk.describe_log_groups().log_group_name_prefix("/berth/mlg").send().await.expect("describe");
            out.log_groups().iter().find(|g| g.log_group_name() == Some("/berth/mlg")).cloned()
        })
    };
    let sdk = berth_tests::moto::block_on(moto.sdk(region));
    write(14);
    berth_tests::ok(&berth().args(["apply", "--yes", "--wait", "none"]).run());
    let g = group(&sdk).expect("berth created the group");
    assert_eq!(g.retention_in_days(), Some(14));
    let arn = g.log_group_arn().map(str::to_string).unwrap_or_else(|| g.arn().unwrap_or_default().trim_end_matches(":*").to_string());
    let logs = sdk.logs.clone();
    let tags = berth_tests::moto::block_on(async move { logs.list_tags_for_resource().resource_arn(arn).send().await.expect("tags") });
    assert_eq!(tags.tags().and_then(|t| t.get("berth:app")).map(String::as_str), Some("mlg"));
    // Re-plan: nothing for the log group (moto drops a service's
    // deploymentConfiguration, so the service shows a change of its own:
    // tests/README.md); a retention change is one update of that field.
    let logs_changes = |plan: &serde_json::Value| {
        berth_tests::plan_changes(plan).into_iter().filter(|(a, _, _)| a.starts_with("logs.")).collect::<Vec<_>>()
    };
    assert_eq!(logs_changes(&berth_tests::plan_json(&berth().args(["plan", "--format", "json"]).run())), vec![]);
    write(30);
    let plan = berth_tests::plan_json(&berth().args(["plan", "--format", "json"]).run());
    assert_eq!(logs_changes(&plan), vec![("logs./berth/mlg".to_string(), "update".to_string(), vec!["retentionInDays".to_string()])]);
    berth_tests::ok(&berth().args(["apply", "--yes", "--wait", "none"]).run());
    assert_eq!(group(&sdk).and_then(|g| g.retention_in_days()), Some(30));

    // Lines put with the SDK (moto runs no tasks) come back through `berth logs`.
    let logs = sdk.logs.clone();
    berth_tests::moto::block_on(async move {
        for (stream, lines) in [("mlg/web/task1", vec!["listening on :80", "GET / 200"]), ("mlg/web/task2", vec!["shutting down"])] {
            logs.create_log_stream().log_group_name("/berth/mlg").log_stream_name(stream).send().await.expect("stream");
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as i64;
            let mut put = logs.put_log_events().log_group_name("/berth/mlg").log_stream_name(stream);
            for (i, line) in lines.iter().enumerate() {
                put = put.log_events(
                    aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                        .timestamp(now + i as i64)
                        .message(*line)
                        .build()
                        .expect("event"),
                );
            }
            put.send().await.expect("put");
        }
    });
    let out = berth().args(["logs", "web"]).run();
    berth_tests::ok(&out);
    let lines = log_lines(&out);
    assert_eq!(
        lines.iter().map(|(s, t, m)| format!("{s}/{t} {m}")).collect::<Vec<_>>(),
        vec!["web/task1 web: listening on :80", "web/task1 web: GET / 200", "web/task2 web: shutting down"],
        "{}",
        out.stdout
    );
    let one = berth().args(["logs", "web", "--task", "task2"]).run();
    assert_eq!(log_lines(&one).len(), 1, "{}", one.stdout);
    let old = berth().args(["logs", "web", "--since", "1ms"]).run();
    assert!(log_lines(&old).len() < 3, "--since filters: {}", old.stdout);

    // Destroy deletes the group berth created.
    berth_tests::ok(&berth().args(["destroy", "--yes", "--wait", "none"]).run());
    assert!(group(&sdk).is_none(), "deleted");
}

/// A VPC with subnets in zones a and c and a security group (no load balancer).
fn network_a_c(moto: &berth_tests::moto::Moto, region: &str) -> berth_tests::moto::Network {
    let ec2 = |body: &str| moto.query(region, "ec2", &format!("{body}&Version=2016-11-15"));
    let field = |xml: &str, name: &str| {
        let open = format!("<{name}>");
        let start = xml.find(&open).map(|i| i + open.len()).unwrap_or_else(|| panic!("{name} in {xml}"));
        xml[start..].split('<').next().unwrap_or_default().to_string()
    };
    let vpc = field(&ec2("Action=CreateVpc&CidrBlock=10.9.0.0/16"), "vpcId");
    let subnet = |cidr: &str, az: &str| {
        field(&ec2(&format!("Action=CreateSubnet&VpcId={vpc}&CidrBlock={cidr}&AvailabilityZone={region}{az}")), "subnetId")
    };
    let (subnet_a, subnet_b) = (subnet("10.9.1.0/24", "a"), subnet("10.9.2.0/24", "c"));
    let security_group = field(&ec2(&format!("Action=CreateSecurityGroup&GroupName=app&GroupDescription=app&VpcId={vpc}")), "groupId");
    berth_tests::moto::Network { region: region.into(), vpc, subnet_a, subnet_b, security_group, listener: String::new() }
}

#[test]
fn apply_redeploy_starts_a_new_deployment_of_the_same_revision_as_an_explicit_change() {
    let app = App::new(&format!(
        "name: rd\nx-berth: {{ {NET} }}\nservices:\n  web:\n    image: web:v1\n    deploy: {{ replicas: 2 }}\n  worker:\n    image: worker:v1\n"
    ));
    berth_tests::ok(&app.berth(["apply", "--yes"]).run());
    let state = || berth_sim::Sim::open(&app.dir.path().join("sim.json")).expect("sim");
    let tasks_before: Vec<String> = state().state().services["rd-web"].tasks.iter().map(|t| t.id.clone()).collect();
    let worker_before = state().state().services["rd-worker"].deployments.last().expect("deployment").id.clone();
    let out = app.berth(["apply", "--yes", "--redeploy", "web"]).run();
    berth_tests::ok(&out);
    let shown = format!("{}{}", out.stdout, out.stderr);
    assert!(shown.contains("~ service.web") && shown.contains("(--redeploy)"), "shown as a change: {shown}");
    assert!(shown.contains("forceNewDeployment"), "{shown}");
    assert!(shown.contains("Plan: 0 to create, 1 to update"), "{shown}");
    let s = state();
    let st = s.state();
    let web = &st.services["rd-web"];
    let d = web.deployments.last().expect("deployment");
    assert!(d.task_definition.ends_with("rd-web:1") && d.rollout_state == "COMPLETED", "the same revision, deployed again: {d:?}");
    assert!(web.tasks.iter().all(|t| !tasks_before.contains(&t.id)), "every task was replaced");
    assert_eq!(web.tasks.len(), 2);
    assert_eq!(st.services["rd-worker"].deployments.last().expect("deployment").id, worker_before, "the other service is untouched");
    assert!(!serde_json::to_string(&web.spec).expect("json").contains("forceNewDeployment"), "not kept as a setting");
    drop(st);
    // Nothing left to do afterwards; unknown and blue/green names are refused.
    assert_eq!(app.berth(["plan", "--detailed-exitcode"]).run().code, 0);
    let out = app.berth(["apply", "--yes", "--redeploy", "db"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no service \"db\" in the spec"), "{}", out.stderr);
}
