//! `berth import`: a spec written from live services, which plans as the
//! adoption of each resource and nothing else.

use berth_model::resources::Tag;
use berth_tests::{ok, plan_changes, plan_json, Berth, SimAccount};

const LISTENER: &str = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:listener/app/shared/50dc6c495c0c9188/f2f7dc8efc522ab2";

/// Removes berth's tags from everything, as if it had been made by hand.
fn strip_berth_tags(account: &SimAccount) {
    let fix = |tags: &mut Vec<Tag>| tags.retain(|t| !t.key.starts_with("berth:"));
    account.edit(|s| {
        s.clusters.values_mut().for_each(|c| fix(&mut c.tags));
        s.task_definitions.values_mut().flatten().for_each(|r| fix(&mut r.spec.tags));
        s.services.values_mut().for_each(|svc| fix(&mut svc.spec.tags));
        s.target_groups.values_mut().for_each(|tg| fix(&mut tg.spec.tags));
        s.listeners.values_mut().flat_map(|l| &mut l.rules).for_each(|r| fix(&mut r.spec.tags));
        s.namespaces.values_mut().for_each(|n| fix(&mut n.spec.tags));
        s.cloud_map_services.values_mut().for_each(|c| fix(&mut c.spec.tags));
        s.repositories.values_mut().for_each(|r| fix(&mut r.spec.tags));
        s.log_groups.values_mut().for_each(|g| fix(&mut g.spec.tags));
    });
}

/// `berth` on the account, from `dir`, with no spec of the repository.
fn berth_in(account: &SimAccount, dir: &std::path::Path) -> Berth {
    Berth::new(dir).args(["--sim-state".to_string(), account.state_path().display().to_string()])
}

#[test]
fn the_web_example_round_trips_apply_strip_import_adopt_no_changes() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    strip_berth_tags(&account);
    let deployments = account.read(|s| s.services["hello-web"].deployments.len());
    let dir = tempfile::tempdir().expect("tempdir");
    let out = berth_in(&account, dir.path()).args(["import", "--cluster", "hello", "--service", "hello-web", "--listener", LISTENER]).run();
    ok(&out);
    assert!(out.stderr.contains("Wrote compose.berth.yaml (1 services, 0 warnings)"), "{}", out.stderr);
    let spec = std::fs::read_to_string(dir.path().join("compose.berth.yaml")).expect("written");
    // The Compose form where there is one; the rule keeps its priority.
    for line in ["image: nginx:1.27", "replicas: 2", "interval: 10s", "- /*", "priority: 1000", "health_path: /"] {
        assert!(spec.contains(line), "{line:?} in:\n{spec}");
    }
    ok(&berth_in(&account, dir.path()).args(["validate"]).run());
    let out = berth_in(&account, dir.path()).args(["plan", "--adopt", "--format", "json"]).run();
    ok(&out);
    let changes = plan_changes(&plan_json(&out));
    assert_eq!(changes.len(), 4, "{changes:?}");
    assert!(changes.iter().all(|(_, action, changed)| action == "adopt" && changed.is_empty()), "only adopt changes: {changes:?}");
    ok(&berth_in(&account, dir.path()).args(["apply", "--adopt", "--yes"]).run());
    let out = berth_in(&account, dir.path()).args(["plan"]).run();
    ok(&out);
    assert!(out.stdout.starts_with("No changes."), "{}", out.stdout);
    assert_eq!(account.read(|s| s.services["hello-web"].deployments.len()), deployments, "never redeployed");
}

#[test]
fn what_the_spec_cannot_say_is_a_warning_naming_the_field() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    strip_berth_tags(&account);
    // Made in the console: tags not propagated, a longer grace period and a
    // secret as an environment variable.
    account.edit(|s| {
        let svc = s.services.get_mut("hello-web").expect("service");
        svc.spec.propagate_tags = "NONE".into();
        svc.spec.health_check_grace_period_seconds = Some(120);
        let td = &mut s.task_definitions.get_mut("hello-web").expect("family")[0];
        td.spec.container_definitions[0].secrets.push(berth_model::resources::Secret {
            name: "DB_PASSWORD".into(),
            value_from: "arn:aws:secretsmanager:sim-1:000000000000:secret:db-AbCdEf".into(),
        });
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let out = berth_in(&account, dir.path()).args(["import", "--cluster", "hello", "--service", "hello-web", "--listener", LISTENER]).run();
    ok(&out);
    assert!(out.stderr.contains("service hello-web.propagateTags = \"NONE\" is not imported (berth's is \"SERVICE\")"), "{}", out.stderr);
    assert!(out.stderr.contains("(1 services, 1 warnings)"), "{}", out.stderr);
    let spec = std::fs::read_to_string(dir.path().join("compose.berth.yaml")).expect("written");
    assert!(spec.contains("# warning: service hello-web.propagateTags"), "the file lists them too:\n{spec}");
    // The grace period and the secret have keys.
    for line in ["health_check_grace_period: 120s", "secret_env: true", "source: db_password", "target: DB_PASSWORD", "db_password:"] {
        assert!(spec.contains(line), "{line:?} in:\n{spec}");
    }
    ok(&berth_in(&account, dir.path()).args(["validate"]).run());
    let out = berth_in(&account, dir.path()).args(["plan", "--adopt", "--format", "json"]).run();
    ok(&out);
    let changes = plan_changes(&plan_json(&out));
    // Only the service's tag propagation changes; the task definition is adopted as it is.
    assert!(changes.iter().any(|(a, action, changed)| a == "taskdef.web" && action == "adopt" && changed.is_empty()), "{changes:?}");
    let service = changes.iter().find(|(a, _, _)| a == "service.web").expect("service.web");
    assert_eq!(service.2, ["propagateTags"], "{changes:?}");
}

#[test]
fn a_missing_service_or_listener_is_an_error_that_says_so() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    let dir = tempfile::tempdir().expect("tempdir");
    let out = berth_in(&account, dir.path()).args(["import", "--cluster", "hello", "--service", "billing"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("no service billing in cluster hello"), "{}", out.stderr);
    assert!(!dir.path().join("compose.berth.yaml").exists());
    // Routed services need the listener their rules are on.
    let out = berth_in(&account, dir.path()).args(["import", "--cluster", "hello", "--service", "hello-web"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("--listener"), "{}", out.stderr);
}

#[test]
fn the_shop_examples_rolling_services_round_trip_with_their_secret_files_and_discovery() {
    let account = SimAccount::new();
    ok(&account.berth("shop", "v1").args(["apply", "--yes"]).run());
    strip_berth_tags(&account);
    let dir = tempfile::tempdir().expect("tempdir");
    let import = ["import", "--cluster", "shop", "--service", "shop-api", "--service", "shop-worker"];
    // Without the namespace, the Cloud Map registration is named, not dropped.
    let out = berth_in(&account, dir.path()).args(import).args(["-o", "partial.yaml"]).run();
    ok(&out);
    assert!(out.stderr.contains("service shop-api.serviceRegistries = ") && out.stderr.contains("is not imported"), "{}", out.stderr);
    let out = berth_in(&account, dir.path()).args(import).args(["--namespace", "shop.local"]).run();
    ok(&out);
    assert!(out.stderr.contains("(2 services, 0 warnings)"), "{}", out.stderr);
    let spec = std::fs::read_to_string(dir.path().join("compose.berth.yaml")).expect("written");
    // The secret berth's init container writes as a file is the Compose secret again, by ARN.
    for line in [
        "db-password:",
        "external: true",
        "name: arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:shop/db-password-AbCdEf",
        "namespace: shop.local",
        "discovery: true",
        "expose:",
    ] {
        assert!(spec.contains(line), "{line:?} in:\n{spec}");
    }
    let out = berth_in(&account, dir.path()).args(["plan", "--adopt", "--format", "json"]).run();
    ok(&out);
    let changes = plan_changes(&plan_json(&out));
    let addresses: Vec<&str> = changes.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(addresses, ["taskdef.api", "taskdef.worker", "cloudmap.api", "service.api", "service.worker"], "{changes:?}");
    assert!(changes.iter().all(|(_, action, changed)| action == "adopt" && changed.is_empty()), "only adopt changes: {changes:?}");
    ok(&berth_in(&account, dir.path()).args(["apply", "--adopt", "--yes"]).run());
    let out = berth_in(&account, dir.path()).args(["plan"]).run();
    ok(&out);
    assert!(out.stdout.starts_with("No changes."), "{}", out.stdout);
    // The blue/green web service is not importable (its live name is shop-web-blue).
    let out = berth_in(&account, dir.path()).args(["import", "--cluster", "shop", "--service", "shop-web", "-o", "web.yaml"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("no service shop-web in cluster shop"), "{}", out.stderr);
}
