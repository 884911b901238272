//! One-off tasks (`berth run`) and `before_deploy` migrations in the plan
//! (issue 13), on the sim and against recorded AWS responses (moto cannot
//! start an awsvpc task).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use berth_tests::{ok, plan_json, Berth, Output};

const NET: &str = "network: { subnets: [subnet-1], security_groups: [sg-1] }";

/// An app with a migration on `api` and a second service, in its own account.
struct App {
    dir: tempfile::TempDir,
}

impl App {
    fn new(before_deploy: &str) -> App {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = format!(
            "name: mig\nx-berth: {{ {NET} }}\nservices:\n  api:\n    image: api:${{TAG}}\n    deploy: {{ replicas: 2 }}\n    x-berth:\n      before_deploy: {before_deploy}\n  worker:\n    image: worker:${{TAG}}\n"
        );
        std::fs::write(dir.path().join("compose.yaml"), spec).expect("write spec");
        App { dir }
    }

    fn berth<I: IntoIterator<Item = S>, S: Into<String>>(&self, args: I) -> Berth {
        Berth::new(self.dir.path()).args(["--sim-state", "sim.json", "-f", "compose.yaml", "--allow-mutable-tags"]).args(args)
    }

    fn apply(&self, tag: &str) -> Output {
        self.berth(["--var", &format!("TAG={tag}"), "apply", "--yes"]).run()
    }

    fn read<T>(&self, f: impl FnOnce(&berth_sim::SimState) -> T) -> T {
        let sim = berth_sim::Sim::open(&self.dir.path().join("sim.json")).expect("sim");
        let state = sim.state();
        f(&state)
    }
}

fn change<'a>(plan: &'a serde_json::Value, address: &str) -> Option<&'a serde_json::Value> {
    plan["changes"].as_array().expect("changes").iter().find(|c| c["address"] == address)
}

fn depends_on(c: &serde_json::Value) -> Vec<String> {
    c["depends_on"].as_array().into_iter().flatten().filter_map(|d| d.as_str().map(str::to_string)).collect()
}

#[test]
fn a_failed_migration_stops_the_apply_before_any_rollout() {
    let app = App::new("[bundle, exec, rails, db:migrate]");
    // The first deploy migrates too (a new database).
    let out = app.apply("v1");
    ok(&out);
    assert!(out.stderr.contains("api: before_deploy started in task"), "{}", out.stderr);
    assert!(out.stderr.contains("api: ran: bundle exec rails db:migrate"), "the migration's log line: {}", out.stderr);

    // A release whose migration crashes: exit 3, with the task's last lines.
    let out = app.apply("crashloop");
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("the before_deploy of api exited with code 1"), "{}", out.stderr);
    assert!(out.stderr.contains("no service was updated"), "{}", out.stderr);
    assert!(out.stderr.contains("| api: fatal: the process crashed during startup"), "the last log lines: {}", out.stderr);
    assert!(out.stderr.contains("not done: service.api, service.worker"), "{}", out.stderr);
    app.read(|s| {
        // Nothing that was serving was touched: revision 1, full count, one deployment each.
        for (name, count) in [("mig-api", 2), ("mig-worker", 1)] {
            let svc = &s.services[name];
            assert_eq!(svc.deployments.len(), 1, "{name} had no new deployment: {:?}", svc.deployments);
            assert!(svc.deployments[0].task_definition.ends_with(":1"), "{name}: {:?}", svc.deployments);
            assert_eq!(svc.tasks.iter().filter(|t| t.healthy && t.task_definition.ends_with(":1")).count(), count, "{name}");
        }
        // The new revision was registered (the migration ran from it).
        let revs = &s.task_definitions["mig-api"];
        assert_eq!(revs.iter().map(|r| (r.revision, r.status.as_str())).collect::<Vec<_>>(), vec![(1, "ACTIVE"), (2, "ACTIVE")]);
        let task = s.run_tasks.values().find(|t| t.request.task_definition.ends_with("mig-api:2")).expect("the migration's task");
        assert_eq!(
            task.request.container_overrides[0].command.as_deref(),
            Some(&["bundle", "exec", "rails", "db:migrate"].map(String::from)[..])
        );
        assert_eq!(
            task.request.network_configuration.as_ref().map(|n| n.awsvpc_configuration.subnets.clone()),
            Some(vec!["subnet-1".to_string()])
        );
    });

    // The fixed release applies cleanly, migration first, and the next plan is empty.
    let out = app.apply("v2");
    ok(&out);
    let migrated = out.stderr.find("api: before_deploy (task").expect("the migration finished");
    let rollout = out.stderr.find("service.api: update started").expect("the rollout started");
    assert!(migrated < rollout, "migration before the rollout: {}", out.stderr);
    let out = app.berth(["--var", "TAG=v2", "plan", "--detailed-exitcode"]).run();
    assert_eq!(out.code, 0, "no changes, no migration: {}\n{}", out.stdout, out.stderr);
}

#[test]
fn the_plan_shows_the_step_and_orders_it_before_what_serves() {
    let app = App::new("\"bin/migrate --all\"");
    ok(&app.apply("v1"));
    // A release of both images: the step is in the plan, in every format.
    let plan = plan_json(&app.berth(["--var", "TAG=v2", "plan", "--format", "json"]).run());
    assert_eq!(plan["summary"]["run"], 1, "{}", plan["summary"]);
    let step = change(&plan, "migrate.api").expect("the migration step");
    assert_eq!(step["kind"], "migration");
    assert_eq!(step["action"], "run");
    assert_eq!(step["after"]["command"], serde_json::json!(["bin/migrate", "--all"]));
    assert_eq!(step["after"]["taskDefinition"], "taskdef.api");
    assert_eq!(depends_on(step), vec!["taskdef.api".to_string()]);
    for address in ["service.api", "service.worker"] {
        assert!(depends_on(change(&plan, address).expect(address)).contains(&"migrate.api".to_string()), "{address} waits for it");
    }
    assert!(!depends_on(change(&plan, "taskdef.worker").expect("taskdef.worker")).contains(&"migrate.api".to_string()));
    let human = app.berth(["--var", "TAG=v2", "plan"]).run();
    assert!(human.stdout.contains("  > migrate.api  (migration) before_deploy of api: `bin/migrate --all`"), "{}", human.stdout);
    assert!(human.stdout.contains("1 to run."), "{}", human.stdout);
    let md = app.berth(["--var", "TAG=v2", "plan", "--format", "markdown"]).run();
    assert!(md.stdout.contains("migrate.api") && md.stdout.contains("1 to run"), "{}", md.stdout);

    // Only the worker's image changes: the api's revision stays, so no migration.
    let spec = std::fs::read_to_string(app.dir.path().join("compose.yaml")).expect("spec").replace("worker:${TAG}", "worker:${WTAG}");
    std::fs::write(app.dir.path().join("compose.yaml"), spec).expect("write");
    let plan = plan_json(&app.berth(["--var", "TAG=v1", "--var", "WTAG=v9", "plan", "--format", "json"]).run());
    assert!(change(&plan, "service.worker").is_some(), "the worker changes");
    assert!(change(&plan, "migrate.api").is_none(), "no migration without a new api revision: {plan}");
    assert_eq!(plan["summary"]["run"], 0);
}

#[test]
fn a_saved_plan_carries_the_step_and_its_command_is_checked() {
    let app = App::new("[bin/migrate]");
    ok(&app.apply("v1"));
    ok(&app.berth(["--var", "TAG=v2", "plan", "-o", "plan.json"]).run());
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(app.dir.path().join("plan.json")).expect("plan")).expect("json");
    assert!(change(&saved, "migrate.api").is_some(), "the saved plan has the step");
    // The spec's command changed since the plan was made: the plan is refused.
    let spec =
        std::fs::read_to_string(app.dir.path().join("compose.yaml")).expect("spec").replace("[bin/migrate]", "[bin/migrate, --drop]");
    std::fs::write(app.dir.path().join("compose.yaml"), &spec).expect("write");
    let out = app.berth(["--var", "TAG=v2", "apply", "plan.json", "--yes"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    app.read(|s| assert!(s.run_tasks.values().all(|t| !t.request.task_definition.ends_with("mig-api:2")), "no migration ran"));
    // Back as planned: the saved plan applies, migration included.
    std::fs::write(app.dir.path().join("compose.yaml"), spec.replace("[bin/migrate, --drop]", "[bin/migrate]")).expect("write");
    let out = app.berth(["--var", "TAG=v2", "apply", "plan.json", "--yes"]).run();
    ok(&out);
    assert!(out.stderr.contains("api: ran: bin/migrate"), "{}", out.stderr);
}

#[test]
fn run_exits_with_the_containers_exit_code_and_shows_its_lines() {
    let app = App::new("[bin/migrate]");
    ok(&app.apply("v1"));
    let out = app.berth(["--var", "TAG=v1", "run", "api", "--", "echo", "hello"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "hello\n", "the task's output on stdout");

    let out = app.berth(["--var", "TAG=v1", "run", "api", "--", "sh", "-c", "echo step one; echo giving up; exit 7"]).run();
    assert_eq!(out.code, 7, "{}", out.stderr);
    assert_eq!(out.stdout, "step one\ngiving up\n");
    assert!(out.stderr.contains("exited with code 7") && out.stderr.contains("    | giving up"), "{}", out.stderr);

    // Overrides reach RunTask.
    let out = app.berth(["--var", "TAG=v1", "run", "api", "-e", "MODE=once", "--cpu", "1024", "--memory", "2048", "--", "true"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    app.read(|s| {
        let t = s.run_tasks.values().max_by_key(|t| t.running_at_ms).expect("a task");
        assert_eq!((t.request.cpu, t.request.memory), (Some(1024), Some(2048)));
        assert_eq!(t.request.container_overrides[0].environment, vec![("MODE".to_string(), "once".to_string())]);
        assert_eq!(t.request.started_by, "berth-run");
        assert_eq!(t.request.launch_type, "FARGATE");
    });

    // A task that cannot start (its log group was deleted out of band): exit 1 with ECS's reason.
    let sim = berth_sim::Sim::open(&app.dir.path().join("sim.json")).expect("sim");
    sim.state().log_groups.clear();
    sim.save().expect("save");
    let out = app.berth(["--var", "TAG=v1", "run", "api", "--", "echo", "hi"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("could not start: ResourceInitializationError") && out.stderr.contains("log group does not exist"),
        "{}",
        out.stderr
    );

    // Unknown service or container: exit 1, naming what there is.
    let out = app.berth(["--var", "TAG=v1", "run", "nope"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("the services are: api, worker"), "{}", out.stderr);
    let out = app.berth(["--var", "TAG=v1", "run", "api", "--container", "nope", "--", "true"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("the containers are: api"), "{}", out.stderr);
}

#[test]
fn run_uses_the_planned_revision_or_the_live_one() {
    let app = App::new("[bin/migrate]");
    ok(&app.apply("v1"));
    // v2 is planned, not applied: `run` registers the revision the plan would deploy.
    let out = app.berth(["--var", "TAG=v2", "run", "api", "--", "true"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("of mig-api:2 "), "{}", out.stderr);
    let out = app.berth(["--var", "TAG=v2", "run", "api", "--live", "--", "true"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("of mig-api:1 ") && out.stderr.contains("(the live revision)"), "{}", out.stderr);
    // The apply reuses the revision `run` registered.
    ok(&app.apply("v2"));
    app.read(|s| assert_eq!(s.task_definitions["mig-api"].len(), 2, "revision 2 reused, not registered again"));
}

#[test]
fn ctrl_c_stops_the_task() {
    let app = App::new("[bin/migrate]");
    ok(&app.apply("v1"));
    // The container's own command is a server: it runs until stopped.
    let mut child = Command::new(env!("CARGO_BIN_EXE_berth-under-test"))
        .current_dir(app.dir.path())
        .args([
            "--sim-state",
            "sim.json",
            "-f",
            "compose.yaml",
            "--allow-mutable-tags",
            "--var",
            "TAG=v1",
            "run",
            "api",
            "--timeout",
            "100000h",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn berth");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let mut seen = String::new();
    while !seen.contains("started task") {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).expect("read") > 0, "berth ended before the task started: {seen}");
        seen.push_str(&line);
    }
    let kill = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill");
    assert!(kill.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("read");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130), "{seen}{rest}");
    assert!(rest.contains("stopping the task") && rest.contains("was stopped (interrupted)"), "{rest}");
    app.read(|s| {
        let t = s.run_tasks.values().find(|t| t.request.started_by == "berth-run").expect("the task");
        assert_eq!(t.last_status, "STOPPED");
        assert!(t.stopped_reason.as_deref().is_some_and(|r| r.starts_with("Task stopped by user")), "{:?}", t.stopped_reason);
    });
}

/// moto 5.2.5 cannot start an awsvpc task (RunTask fails inside moto:
/// `NetworkInterface` has no `private_dns_name`; and it wants a memory
/// figure on every container, which Fargate does not), so the AWS path of
/// a one-off task runs against recorded responses: what berth sends
/// (RunTask with the service's network configuration and the overrides),
/// how it follows the task (DescribeTasks, FilterLogEvents) and the exit
/// code it reads back.
fn recorded_run(
    stopped: serde_json::Value,
    logs: serde_json::Value,
) -> (Result<berth_engine::oneoff::Finished, berth_provider::ProviderError>, Vec<String>, berth_aws::replay::Replay) {
    use berth_aws::replay::{Recorded, Replay};
    let arn = "arn:aws:ecs:eu-central-1:111122223333:task/rec/0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let task =
        |status: &str| serde_json::json!({"taskArn": arn, "lastStatus": status, "containers": [{"name": "api", "lastStatus": status}]});
    let replay = Replay::new(vec![
        Recorded::ok("ecs:RunTask", serde_json::json!({"tasks": [task("PROVISIONING")], "failures": []}).to_string()),
        Recorded::ok("logs:FilterLogEvents", r#"{"events": []}"#),
        Recorded::ok("ecs:DescribeTasks", serde_json::json!({"tasks": [task("RUNNING")], "failures": []}).to_string()),
        Recorded::ok("logs:FilterLogEvents", logs.to_string()),
        Recorded::ok("ecs:DescribeTasks", serde_json::json!({"tasks": [stopped], "failures": []}).to_string()),
        Recorded::ok("logs:FilterLogEvents", r#"{"events": []}"#),
    ]);
    let job = berth_engine::oneoff::OneOff {
        request: berth_provider::RunTaskRequest {
            cluster: "rec".into(),
            task_definition: "arn:aws:ecs:eu-central-1:111122223333:task-definition/rec-api:4".into(),
            launch_type: "FARGATE".into(),
            network_configuration: Some(berth_model::resources::NetworkConfiguration {
                awsvpc_configuration: berth_model::resources::AwsVpcConfiguration {
                    subnets: vec!["subnet-0a".into(), "subnet-0b".into()],
                    security_groups: vec!["sg-01".into()],
                    assign_public_ip: "DISABLED".into(),
                },
            }),
            container_overrides: vec![berth_provider::ContainerOverride {
                name: "api".into(),
                command: Some(vec!["bin/migrate".into(), "--all".into()]),
                environment: vec![("MODE".into(), "once".into())],
            }],
            cpu: Some(1024),
            memory: Some(2048),
            started_by: "berth-migrate".into(),
            tags: vec![berth_model::resources::Tag { key: "berth:app".into(), value: "rec".into() }],
        },
        container: "api".into(),
        logs: vec![berth_engine::oneoff::LogSource { container: "api".into(), group: "/berth/rec".into(), prefix: "rec".into() }],
        timeout: std::time::Duration::from_secs(600),
        cancel: None,
    };
    struct Lines(Vec<String>);
    impl berth_engine::oneoff::Watch for Lines {
        fn started(&mut self, _: &berth_provider::TaskStatus) {}
        fn line(&mut self, l: &berth_provider::LogLine) {
            self.0.push(l.message.clone());
        }
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().expect("runtime");
    let mut lines = Lines(Vec::new());
    let finished = rt.block_on(async {
        let aws = berth_aws::connect_replay("eu-central-1", replay.clone()).await.expect("connect");
        berth_engine::oneoff::run(&aws, &job, &mut lines).await
    });
    (finished, lines.0, replay)
}

#[test]
fn a_one_off_task_on_aws_sends_the_network_and_overrides_and_reads_the_exit_code() {
    let arn = "arn:aws:ecs:eu-central-1:111122223333:task/rec/0f1e2d3c4b5a69788796a5b4c3d2e1f0";
    let stopped = serde_json::json!({
        "taskArn": arn, "lastStatus": "STOPPED", "stopCode": "EssentialContainerExited",
        "stoppedReason": "Essential container in task exited",
        "containers": [{"name": "api", "lastStatus": "STOPPED", "exitCode": 7}]
    });
    let logs = serde_json::json!({"events": [
        {"logStreamName": "rec/api/0f1e2d3c4b5a69788796a5b4c3d2e1f0", "timestamp": 1767225601000u64, "message": "migrating 3 tables", "ingestionTime": 1767225601100u64, "eventId": "1"},
        {"logStreamName": "rec/api/0f1e2d3c4b5a69788796a5b4c3d2e1f0", "timestamp": 1767225602000u64, "message": "error: table exists\n", "ingestionTime": 1767225602100u64, "eventId": "2"}
    ]});
    let (finished, lines, replay) = recorded_run(stopped, logs);
    let finished = finished.expect("followed to the end");
    assert_eq!(finished.outcome, berth_engine::oneoff::Outcome::Exited(7));
    assert_eq!(lines, vec!["migrating 3 tables", "error: table exists"]);
    assert_eq!(finished.tail, lines, "the last lines, for the failure report");
    assert!(replay.unused().is_empty(), "{:?}", replay.unused());
    // What RunTask was asked for.
    let sent: serde_json::Value = serde_json::from_str(&replay.sent("ecs:RunTask")[0]).expect("JSON body");
    assert_eq!(sent["cluster"], "rec");
    assert_eq!(sent["launchType"], "FARGATE");
    assert_eq!(sent["startedBy"], "berth-migrate");
    assert_eq!(sent["networkConfiguration"]["awsvpcConfiguration"]["subnets"], serde_json::json!(["subnet-0a", "subnet-0b"]));
    assert_eq!(sent["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"], serde_json::json!(["sg-01"]));
    let o = &sent["overrides"];
    assert_eq!(o["containerOverrides"][0]["name"], "api");
    assert_eq!(o["containerOverrides"][0]["command"], serde_json::json!(["bin/migrate", "--all"]));
    assert_eq!(o["containerOverrides"][0]["environment"], serde_json::json!([{"name": "MODE", "value": "once"}]));
    assert_eq!((o["cpu"].as_str(), o["memory"].as_str()), (Some("1024"), Some("2048")));
    assert_eq!(sent["tags"], serde_json::json!([{"key": "berth:app", "value": "rec"}]));
    // The log lines were read from the task's own stream.
    let filter: serde_json::Value = serde_json::from_str(&replay.sent("logs:FilterLogEvents")[0]).expect("JSON body");
    assert_eq!(filter["logGroupName"], "/berth/rec");
    assert_eq!(filter["logStreamNamePrefix"], "rec/api/0f1e2d3c4b5a69788796a5b4c3d2e1f0");
    // `berth iam-policy` allows every call of a one-off task (and StopTask, for --timeout and Ctrl-C).
    let allowed: Vec<&str> = berth_aws::policy::ACTIONS.iter().map(|(a, _)| *a).collect();
    for op in replay.calls().iter().map(String::as_str).chain(["ecs:StopTask"]) {
        assert!(allowed.contains(&op), "{op} is not in the deployer policy");
    }
}

#[test]
fn a_one_off_task_ecs_cannot_place_is_not_started_with_its_reason() {
    use berth_aws::replay::{Recorded, Replay};
    let replay = Replay::new(vec![Recorded::ok(
        "ecs:RunTask",
        r#"{"tasks": [], "failures": [{"arn": "arn:aws:ecs:eu-central-1:111122223333:cluster/rec", "reason": "RESOURCE:MEMORY", "detail": "no capacity"}]}"#,
    )]);
    let job = berth_engine::oneoff::OneOff {
        request: berth_provider::RunTaskRequest {
            cluster: "rec".into(),
            task_definition: "rec-api:4".into(),
            launch_type: "EC2".into(),
            started_by: "berth-run".into(),
            ..Default::default()
        },
        container: "api".into(),
        logs: Vec::new(),
        timeout: std::time::Duration::from_secs(60),
        cancel: None,
    };
    struct Quiet;
    impl berth_engine::oneoff::Watch for Quiet {
        fn started(&mut self, _: &berth_provider::TaskStatus) {}
        fn line(&mut self, _: &berth_provider::LogLine) {}
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().expect("runtime");
    let finished = rt.block_on(async {
        let aws = berth_aws::connect_replay("eu-central-1", replay.clone()).await.expect("connect");
        berth_engine::oneoff::run(&aws, &job, &mut Quiet).await
    });
    match finished.expect("an outcome").outcome {
        berth_engine::oneoff::Outcome::NotStarted(reason) => assert!(reason.contains("RESOURCE:MEMORY (no capacity)"), "{reason}"),
        other => panic!("{other:?}"),
    }
}
