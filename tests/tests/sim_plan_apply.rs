//! `berth plan` / `apply` / `destroy` / `status` end to end on the sim.

use berth_model::resources::{Tag, TargetGroup};
use berth_tests::{ok, plan_changes as changes, plan_json, repo_root, started_changes, Output, SimAccount};

fn examples() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(repo_root().join("examples"))
        .expect("examples")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("compose.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn every_example_applies_then_plans_no_changes() {
    for example in examples() {
        let account = SimAccount::new();
        ok(&account.berth(&example, "abc1234").args(["apply", "--yes"]).run());
        let out = account.berth(&example, "abc1234").args(["plan", "--detailed-exitcode"]).run();
        assert_eq!(out.code, 0, "{example}: a second plan must be empty:\n{}", out.stdout);
        assert!(out.stdout.starts_with("No changes."), "{example}:\n{}", out.stdout);
    }
}

#[test]
fn plan_from_empty_account_exits_2_with_detailed_exitcode() {
    let account = SimAccount::new();
    let out = account.berth("web", "1.27").args(["plan", "--detailed-exitcode"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stdout.contains("Plan: 6 to create, 0 to update, 0 to replace, 0 to delete."), "{}", out.stdout);
    // Planning changes nothing.
    assert_eq!(account.berth("web", "1.27").args(["plan", "--detailed-exitcode"]).run().code, 2);
}

#[test]
fn image_tag_change_is_one_field() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    let human = account.berth("web", "1.28").args(["plan"]).run();
    ok(&human);
    insta::assert_snapshot!("image_tag_change_human", human.stdout);
    let json = plan_json(&account.berth("web", "1.28").args(["plan", "--format", "json"]).run());
    assert_eq!(
        changes(&json),
        vec![
            ("taskdef.web".into(), "update".into(), vec!["containerDefinitions[web].image".into()]),
            ("service.web".into(), "update".into(), vec!["taskDefinition".into()]),
        ]
    );
    insta::assert_json_snapshot!("image_tag_change_json", json);
}

fn with_override(account: &SimAccount, yaml: &str) -> berth_tests::Berth {
    let path = account.dir().join("override.yaml");
    std::fs::write(&path, yaml).expect("write override");
    account.berth("web", "1.27").args(["-f".to_string(), path.display().to_string()])
}

#[test]
fn env_var_change_is_one_field() {
    let account = SimAccount::new();
    ok(&with_override(&account, "services: {web: {environment: {MODE: blue}}}\n").args(["apply", "--yes"]).run());
    let out = with_override(&account, "services: {web: {environment: {MODE: green}}}\n").args(["plan", "--format", "json"]).run();
    ok(&out);
    assert_eq!(
        changes(&plan_json(&out)),
        vec![
            ("taskdef.web".into(), "update".into(), vec!["containerDefinitions[web].environment[MODE].value".into()]),
            ("service.web".into(), "update".into(), vec!["taskDefinition".into()]),
        ]
    );
}

#[test]
fn replicas_change_is_one_field_and_no_new_revision() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    let out = with_override(&account, "services: {web: {deploy: {replicas: 5}}}\n").args(["plan", "--format", "json"]).run();
    ok(&out);
    assert_eq!(changes(&plan_json(&out)), vec![("service.web".into(), "update".into(), vec!["desiredCount".into()])]);
    let human = with_override(&account, "services: {web: {deploy: {replicas: 5}}}\n").args(["plan"]).run();
    assert!(human.stdout.contains("-  \"desiredCount\": 2,\n") && human.stdout.contains("+  \"desiredCount\": 5,\n"), "{}", human.stdout);
    ok(&with_override(&account, "services: {web: {deploy: {replicas: 5}}}\n").args(["apply", "--yes"]).run());
    let revisions = account.read(|s| s.task_definitions["hello-web"].len());
    assert_eq!(revisions, 1, "an unchanged task definition is never re-registered");
    assert_eq!(account.read(|s| s.services["hello-web"].tasks.len()), 5);
}

#[test]
fn out_of_band_changes_show_as_drift() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    account.edit(|s| {
        s.services.get_mut("hello-web").expect("service").spec.desired_count = Some(7);
        let tg = s.target_groups.values_mut().find(|t| t.spec.name == "hello-web").expect("tg");
        tg.spec.health_check_path = "/other".into();
    });
    let out = account.berth("web", "1.27").args(["plan", "--format", "json", "--detailed-exitcode"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(
        changes(&plan_json(&out)),
        vec![
            ("tg.web".into(), "update".into(), vec!["healthCheckPath".into()]),
            ("service.web".into(), "update".into(), vec!["desiredCount".into()]),
        ]
    );
    // Applying puts it back.
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    assert_eq!(account.berth("web", "1.27").args(["plan", "--detailed-exitcode"]).run().code, 0);
}

#[test]
fn stale_saved_plan_is_refused_naming_the_resource() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    let plan = account.dir().join("plan.json");
    ok(&account.berth("web", "1.28").args(["plan".to_string(), "-o".into(), plan.display().to_string()]).run());
    account.edit(|s| s.services.get_mut("hello-web").expect("service").spec.desired_count = Some(3));
    let before = account.read(|s| serde_json::to_string(&s.task_definitions).expect("json"));
    let out = account.berth("web", "1.28").args(["apply".to_string(), plan.display().to_string(), "--yes".into()]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("the plan is stale") && out.stderr.contains("service.web was modified"), "{}", out.stderr);
    assert_eq!(before, account.read(|s| serde_json::to_string(&s.task_definitions).expect("json")), "nothing was applied");
}

#[test]
fn saved_plan_applies_exactly_its_changes() {
    let account = SimAccount::new();
    ok(&account.berth("shop", "v1").args(["apply", "--yes"]).run());
    let plan = account.dir().join("plan.json");
    ok(&account.berth("shop", "v2").args(["plan".to_string(), "-o".into(), plan.display().to_string()]).run());
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&plan).expect("read")).expect("json");
    let planned: Vec<String> = changes(&saved).into_iter().map(|(a, _, _)| a).collect();
    let out = account.berth("shop", "v2").args(["apply".to_string(), plan.display().to_string(), "--yes".into()]).run();
    ok(&out);
    let applied: Vec<String> = started_changes(&out).into_iter().map(|(address, _)| address).collect();
    assert_eq!(applied, planned, "apply did exactly the saved plan's changes, in its order");
    assert_eq!(account.berth("shop", "v2").args(["plan", "--detailed-exitcode"]).run().code, 0);
}

#[test]
fn saved_plan_from_another_berth_version_or_spec_is_refused() {
    let account = SimAccount::new();
    let plan = account.dir().join("plan.json");
    ok(&account.berth("web", "1.27").args(["plan".to_string(), "-o".into(), plan.display().to_string()]).run());
    let text = std::fs::read_to_string(&plan).expect("read");
    let old = plan.with_file_name("old.json");
    std::fs::write(&old, text.replace("\"berth_version\": \"0.1.0\"", "\"berth_version\": \"0.0.9\"")).expect("write");
    let out = account.berth("web", "1.27").args(["apply".to_string(), old.display().to_string(), "--yes".into()]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("the plan was made by berth 0.0.9, this is berth 0.1.0"), "{}", out.stderr);
    let out = account.berth("web", "1.99").args(["apply".to_string(), plan.display().to_string(), "--yes".into()]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("the spec changed since"), "{}", out.stderr);
    assert!(account.read(|s| s.services.is_empty()), "nothing was applied");
}

fn foreign_target_group(name: &str, tags: Vec<Tag>) -> berth_sim::state::SimTargetGroup {
    let arn = format!("arn:aws:elasticloadbalancing:sim-1:000000000000:targetgroup/{name}/feedbeef");
    berth_sim::state::SimTargetGroup {
        arn,
        spec: TargetGroup {
            service: String::new(),
            name: name.into(),
            protocol: "HTTP".into(),
            port: 8080,
            target_type: "ip".into(),
            vpc_id: None,
            health_check_protocol: "HTTP".into(),
            health_check_path: "/legacy".into(),
            health_check_interval_seconds: 30,
            healthy_threshold_count: 5,
            unhealthy_threshold_count: 2,
            matcher: berth_model::resources::Matcher { http_code: "200".into() },
            attributes: vec![],
            tags,
        },
        targets: Default::default(),
    }
}

#[test]
fn same_named_resource_without_our_tags_is_never_touched() {
    let account = SimAccount::new();
    account.edit(|s| {
        let tg = foreign_target_group("hello-web", vec![Tag { key: "team".into(), value: "legacy".into() }]);
        s.target_groups.insert(tg.arn.clone(), tg);
    });
    let before = account.read(|s| serde_json::to_string(&s.target_groups).expect("json"));
    for args in [vec!["plan"], vec!["apply", "--yes"]] {
        let out = account.berth("web", "1.27").args(args.clone()).run();
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(
            out.stderr.contains("tg.web (arn:aws:elasticloadbalancing:sim-1:000000000000:targetgroup/hello-web/feedbeef) exists and is not managed by berth for app hello"),
            "{}",
            out.stderr
        );
    }
    assert_eq!(before, account.read(|s| serde_json::to_string(&s.target_groups).expect("json")));
    assert!(account.read(|s| s.services.is_empty() && s.clusters.is_empty()), "a refused plan changes nothing");
}

#[test]
fn destroy_removes_only_owned_resources_in_reverse_order_and_twice_is_a_no_op() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    // Someone else's resources: a target group tagged for the app but not
    // managed by berth, and a rule on the shared listener.
    account.edit(|s| {
        let tg = foreign_target_group("hello-legacy", vec![Tag { key: "berth:app".into(), value: "hello".into() }]);
        let legacy_arn = tg.arn.clone();
        s.target_groups.insert(tg.arn.clone(), tg);
        let listener = s.listeners.values_mut().next().expect("the listener berth used");
        let mut other = listener.rules[0].clone();
        other.arn.push_str("-other");
        other.priority = 5;
        other.spec.tags = vec![Tag { key: "owner".into(), value: "platform-team".into() }];
        other.spec.actions[0].forward_config.target_groups[0].target_group_arn = legacy_arn;
        listener.rules.push(other);
    });
    let out = account.berth("web", "1.27").args(["destroy", "--yes"]).run();
    ok(&out);
    let order: Vec<String> = started_changes(&out).into_iter().filter(|(_, verb)| verb == "delete").map(|(address, _)| address).collect();
    // The log group goes last, after the service and revisions that wrote to it.
    assert_eq!(order, vec!["rule.web/0", "tg.web", "service.web", "taskdef.web", "cluster.hello", "logs./berth/hello"]);
    account.read(|s| {
        assert!(s.services.is_empty());
        assert_eq!(s.target_groups.values().map(|t| t.spec.name.as_str()).collect::<Vec<_>>(), vec!["hello-legacy"]);
        let rules: Vec<u32> = s.listeners.values().flat_map(|l| l.rules.iter().map(|r| r.priority)).collect();
        assert_eq!(rules, vec![5], "the other owner's rule stays");
    });
    let again = account.berth("web", "1.27").args(["destroy", "--yes"]).run();
    ok(&again);
    assert!(again.stderr.contains("No changes."), "{}", again.stderr);
}

#[test]
fn crash_looping_image_fails_the_run_and_the_old_revision_keeps_serving() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    let out = account.berth("web", "crashloop").args(["apply", "--yes"]).run();
    assert_eq!(out.code, 3, "a failed deployment has its own exit code:\n{}", out.stderr);
    assert!(out.stderr.contains("failed:   service.web: deployment"), "{}", out.stderr);
    assert!(out.stderr.contains("circuit breaker"), "{}", out.stderr);
    assert!(out.stderr.contains("Essential container in task exited"), "names the stopped reason:\n{}", out.stderr);
    assert!(out.stderr.contains("rolled the service back to hello-web:1"), "{}", out.stderr);
    let status = account.berth("web", "1.27").args(["status", "--format", "json"]).run();
    ok(&status);
    let s: serde_json::Value = serde_json::from_str(&status.stdout).expect("status json");
    assert_eq!(s[0]["task_definition"], "hello-web:1");
    assert_eq!(s[0]["images"], serde_json::json!(["nginx:1.27"]));
    assert_eq!(s[0]["deployments"][0]["rollout_state"], "COMPLETED");
    assert_eq!(s[0]["targets"]["healthy"], 2);
    // The spec still asks for the crashing image: plan says so.
    assert_eq!(account.berth("web", "crashloop").args(["plan", "--detailed-exitcode"]).run().code, 2);
}

#[test]
fn a_deployment_that_never_finishes_stops_at_the_timeout() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    let out = account.berth("web", "hang").args(["apply", "--yes", "--timeout", "2m"]).run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("timed out after 120s waiting for deployment"), "{}", out.stderr);
    assert!(
        out.stderr.contains("of hello-web to complete (0/2 new tasks running, 2 pending, 2 old tasks still running)"),
        "{}",
        out.stderr
    );
}

#[test]
fn throttling_is_retried_and_only_fails_when_retries_run_out() {
    let account = SimAccount::new();
    let out = account.berth("web", "1.27").env("BERTH_SIM_FAULTS", "throttle=2").args(["apply", "--yes"]).run();
    ok(&out);
    let out = account.berth("web", "1.28").env("BERTH_SIM_FAULTS", "throttle=3").args(["plan"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("Observe was throttled by AWS and retries ran out"), "{}", out.stderr);
    // The injected faults are not saved into the account.
    ok(&account.berth("web", "1.27").args(["plan"]).run());
}

#[test]
fn apply_without_a_terminal_and_without_yes_changes_nothing() {
    let account = SimAccount::new();
    let out = account.berth("web", "1.27").args(["apply"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("not at a terminal, so berth will not ask: nothing was changed"), "{}", out.stderr);
    assert!(out.stderr.contains("hint: pass --yes"), "{}", out.stderr);
    assert!(account.read(|s| s.clusters.is_empty() && s.services.is_empty()));
}

#[test]
fn markdown_plan_is_a_table_with_collapsible_diffs() {
    let account = SimAccount::new();
    ok(&account.berth("shop", "v1").args(["apply", "--yes"]).run());
    let out = with_shop_change(&account);
    ok(&out);
    assert!(out.stdout.contains("| | resource | kind | change |"), "{}", out.stdout);
    assert!(out.stdout.contains("<details><summary>"), "{}", out.stdout);
    insta::assert_snapshot!("shop_change_markdown", out.stdout);
}

fn with_shop_change(account: &SimAccount) -> Output {
    let path = account.dir().join("override.yaml");
    std::fs::write(&path, "services: {worker: {deploy: {replicas: 3}}}\n").expect("write");
    account
        .berth("shop", "v2")
        .args(["-f".to_string(), path.display().to_string(), "plan".into(), "--format".into(), "markdown".into()])
        .run()
}

#[test]
fn plan_json_validates_against_the_documented_schema() {
    let documented: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_root().join("docs/plan.schema.json")).expect("docs/plan.schema.json"))
            .expect("json");
    assert_eq!(
        documented,
        berth_plan::Plan::json_schema(),
        "docs/plan.schema.json is out of date: regenerate it with `berth schema --plan`"
    );
    let validator = jsonschema::validator_for(&documented).expect("valid schema");
    let account = SimAccount::new();
    for tag in ["v1", "v2"] {
        let plan = plan_json(&account.berth("shop", tag).args(["plan", "--format", "json"]).run());
        let errors: Vec<String> = validator.iter_errors(&plan).map(|e| format!("{e} at {}", e.instance_path())).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        ok(&account.berth("shop", tag).args(["apply", "--yes"]).run());
    }
}

#[test]
fn no_color_output_has_no_escape_codes() {
    let account = SimAccount::new();
    for args in [vec!["plan"], vec!["apply", "--yes"], vec!["status"]] {
        let out = account.berth("web", "1.27").args(args.clone()).run();
        ok(&out);
        assert!(!out.stdout.contains('\x1b') && !out.stderr.contains('\x1b'), "{args:?} printed ANSI codes");
    }
}

#[test]
fn secret_looking_environment_values_are_masked_in_plans_and_warned_about() {
    let account = SimAccount::new();
    for format in ["human", "markdown"] {
        let out = account.berth("wordpress", "x").args(["plan", "--format", format]).run();
        ok(&out);
        assert!(!out.stdout.contains("somewordpress"), "{format}: a password-like value is never shown");
        assert!(out.stdout.contains("\"name\": \"MYSQL_ROOT_PASSWORD\""), "{format}: the variable itself is shown");
        assert!(out.stdout.contains("\"value\": \"(sensitive)\"") && !out.stdout.contains("sha256"), "{format}: a fixed marker, no digest");
        assert!(
            out.stdout.contains("MYSQL_DATABASE") && out.stdout.contains("\"value\": \"wordpress\""),
            "{format}: other values are shown"
        );
    }
    let out = account.berth("wordpress", "x").args(["validate"]).run();
    assert!(out.stderr.contains("MYSQL_ROOT_PASSWORD looks like a secret"), "{}", out.stderr);
    let md = account.berth("wordpress", "x").args(["plan", "--format", "markdown"]).run();
    assert!(md.stdout.contains("warnings</summary>") && md.stdout.contains("ignored on ECS"), "the markdown plan lists the warnings");
    // The saved plan keeps the real value: apply needs it.
    let plan = account.dir().join("plan.json");
    ok(&account.berth("wordpress", "x").args(["plan".to_string(), "-o".into(), plan.display().to_string()]).run());
    assert!(std::fs::read_to_string(&plan).expect("plan").contains("somewordpress"));
}
