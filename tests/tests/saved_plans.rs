//! Saved plans cannot be bent: an edited action, value or ARN, an added or
//! removed change, a changed byte of a signed plan, or an unsigned plan where
//! a key is set — each is refused before any write, naming the difference;
//! and apply re-checks ownership tags right before it writes, whatever ARN a
//! plan holds. On the sim and on moto (read back with the SDK).

use berth_engine::{ApplyOptions, Collect, WaitMode};
use berth_model::resources::Tag;
use berth_tests::moto::{block_on, moto};
use berth_tests::{ok, Berth, SimAccount};
use serde_json::{json, Value};

fn arg(p: &std::path::Path) -> String {
    p.display().to_string()
}

/// Saves `berth <base> plan -o FILE` with a replicas change and returns the file.
fn save_plan(base: &Berth, dir: &std::path::Path) -> std::path::PathBuf {
    let plan = dir.join("plan.json");
    let out = base.clone().args(["plan".to_string(), "-o".into(), arg(&plan)]).run();
    ok(&out);
    plan
}

fn edit(plan: &std::path::Path, name: &str, f: impl FnOnce(&mut Value)) -> std::path::PathBuf {
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(plan).expect("read")).expect("json");
    f(&mut v);
    let out = plan.with_file_name(name);
    std::fs::write(&out, serde_json::to_string_pretty(&v).expect("json")).expect("write");
    out
}

fn service_change(v: &mut Value) -> &mut Value {
    v["changes"].as_array_mut().expect("changes").iter_mut().find(|c| c["address"] == "service.web").expect("service.web change")
}

/// The edits the acceptance names, each with what the refusal must name.
fn tampered(plan: &std::path::Path, foreign_arn: &str) -> Vec<(std::path::PathBuf, &'static str)> {
    vec![
        (
            edit(plan, "action.json", |v| service_change(v)["action"] = json!("delete")),
            ".action: \"delete\" in the file, \"update\" derived now",
        ),
        (
            edit(plan, "after.json", |v| service_change(v)["after"]["desiredCount"] = json!(50)),
            ".after.desiredCount: 50 in the file, 3 derived now",
        ),
        (
            edit(plan, "arn.json", |v| {
                let c = service_change(v);
                c["arn"] = json!(foreign_arn);
                c["action"] = json!("delete");
            }),
            ".action: \"delete\" in the file",
        ),
        (edit(plan, "arn_only.json", |v| service_change(v)["arn"] = json!(foreign_arn)), "service.web].arn:"),
        (
            edit(plan, "added.json", |v| {
                let mut extra = service_change(v).clone();
                extra["address"] = json!("service.other");
                extra["action"] = json!("delete");
                extra["arn"] = json!(foreign_arn);
                v["changes"].as_array_mut().expect("changes").push(extra);
            }),
            "[1 service.other]: in the file only",
        ),
        (edit(plan, "removed.json", |v| v["changes"].as_array_mut().expect("changes").clear()), "[0 service.web]: missing from the file"),
    ]
}

fn override_file(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("override.yaml");
    std::fs::write(&path, "services: {web: {deploy: {replicas: 3}}}\n").expect("write");
    path
}

#[test]
fn tampered_saved_plans_are_refused_before_any_write_on_the_sim() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    // A service of someone else's in the same account, without berth's tags.
    account.edit(|s| {
        let mut foreign = s.services["hello-web"].clone();
        foreign.arn = "arn:aws:ecs:sim-1:000000000000:service/hello/billing".into();
        foreign.spec.service_name = "billing".into();
        foreign.spec.tags = vec![Tag { key: "team".into(), value: "billing".into() }];
        s.services.insert("billing".into(), foreign);
    });
    let base = account.berth("web", "1.27").args(["-f".to_string(), arg(&override_file(account.dir()))]);
    let plan = save_plan(&base, account.dir());
    let state = || account.read(|s| serde_json::to_string(s).expect("json"));
    let before = state();
    for (file, difference) in tampered(&plan, "arn:aws:ecs:sim-1:000000000000:service/hello/billing") {
        let out = base.clone().args(["apply".to_string(), arg(&file), "--yes".into()]).run();
        assert_eq!(out.code, 1, "{}: {}", file.display(), out.stderr);
        assert!(
            out.stderr.contains("is not the plan the spec and the account give now") && out.stderr.contains(difference),
            "{}: expected {difference:?} in:\n{}",
            file.display(),
            out.stderr
        );
        assert!(!out.stderr.contains("started"), "nothing started: {}", out.stderr);
        assert_eq!(state(), before, "{}: nothing was written", file.display());
    }
    assert!(account.read(|s| s.services.contains_key("billing")), "the foreign service survives");
    // The untouched file applies.
    ok(&base.clone().args(["apply".to_string(), arg(&plan), "--yes".into()]).run());
    assert_eq!(account.read(|s| s.services["hello-web"].spec.desired_count), Some(3));
}

#[test]
fn signed_plans_are_refused_unsigned_or_with_one_byte_changed() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    let base = account.berth("web", "1.27").args(["-f".to_string(), arg(&override_file(account.dir()))]);
    let keyed = base.clone().env("BERTH_PLAN_KEY", "s3cret-plan-key");
    let plan = save_plan(&keyed, account.dir());
    let text = std::fs::read_to_string(&plan).expect("read");
    assert!(text.contains("\"signature\": \"hmac-sha256:"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&plan).expect("meta").permissions().mode() & 0o777, 0o600, "the saved plan is private");
    }
    let apply = |b: &Berth, file: &std::path::Path| b.clone().args(["apply".to_string(), arg(file), "--yes".into()]).run();
    // One byte changed, anywhere, even where JSON would not care.
    let one_byte = plan.with_file_name("one_byte.json");
    std::fs::write(&one_byte, text.replacen("\"desiredCount\": 3", "\"desiredCount\": 4", 1)).expect("write");
    let spaced = plan.with_file_name("spaced.json");
    std::fs::write(&spaced, text.replacen("{\n", "{ \n", 1)).expect("write");
    for file in [&one_byte, &spaced] {
        let out = apply(&keyed, file);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(out.stderr.contains("does not match its signature"), "{}", out.stderr);
    }
    // Unsigned while a key is set.
    let unsigned = save_plan(&base, &account.dir().join("."));
    let out = apply(&keyed, &unsigned);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("is not signed, and BERTH_PLAN_KEY is set"), "{}", out.stderr);
    // Another key.
    let out = apply(&base.clone().env("BERTH_PLAN_KEY", "other"), &save_plan(&keyed, account.dir()));
    assert!(out.code == 1 && out.stderr.contains("does not match its signature"), "{}", out.stderr);
    assert_eq!(account.read(|s| s.services["hello-web"].spec.desired_count), Some(2), "nothing was applied");
    ok(&apply(&keyed, &save_plan(&keyed, account.dir())));
    assert_eq!(account.read(|s| s.services["hello-web"].spec.desired_count), Some(3));
}

/// A plan made by hand (as an attacker would, bypassing `berth apply`'s
/// checks) that deletes a resource by ARN: the engine reads its tags first.
fn forged_delete(app: &str, kind: &str, address: &str, arn: &str, before: Value) -> berth_plan::Plan {
    serde_json::from_value(json!({
        "format_version": berth_plan::FORMAT_VERSION, "berth_version": "0.1.0", "app": app, "backend": "any",
        "spec_digest": "", "summary": {"create": 0, "update": 0, "replace": 0, "delete": 1, "unchanged": 0},
        "changes": [{"address": address, "kind": kind, "action": "delete", "reason": "forged", "before": before, "arn": arn}],
        "unchanged": [], "fingerprints": {}
    }))
    .expect("plan")
}

#[test]
fn the_engine_rechecks_ownership_tags_before_every_write_on_the_sim() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    let (arn, cluster) = account.read(|s| (s.services["hello-web"].arn.clone(), s.services["hello-web"].spec.cluster.clone()));
    // The same service, seen by a plan of another app.
    let plan = forged_delete("other-app", "service", "service.web", &arn, json!({"cluster": cluster}));
    let sim = berth_sim::Sim::open(&account.state_path()).expect("sim");
    let opts = ApplyOptions { wait: WaitMode::None, ..ApplyOptions::default() };
    let events = Collect::default();
    let result = block_on(berth_engine::apply(&plan, &sim, &opts, &events));
    assert!(!result.ok());
    assert!(result.failed[0].message.contains("does not carry the tags berth:app=other-app and berth:managed=true"), "{:?}", result.failed);
    sim.save().expect("save");
    assert!(account.read(|s| s.services.contains_key("hello-web")), "the service survives");
}

#[test]
fn tampered_saved_plans_are_refused_on_moto_and_the_foreign_service_survives() {
    let Some(moto) = moto() else { return };
    let region = "eu-south-1";
    let net = moto.network(region);
    ok(&moto.berth(&net, "web").args(["apply", "--yes", "--wait", "none"]).run());
    // Someone else's service in the same cluster, without berth's tags.
    let (foreign_arn, cluster_arn) = block_on(async {
        let sdk = moto.sdk(region).await;
        let ours = sdk.ecs.describe_services().cluster("hello").services("hello-web").send().await.expect("describe");
        let ours = &ours.services()[0];
        let out = sdk
            .ecs
            .create_service()
            .cluster("hello")
            .service_name("billing")
            .task_definition(ours.task_definition().unwrap_or_default())
            .desired_count(1)
            .send()
            .await
            .expect("create foreign service");
        let s = out.service().expect("service");
        (s.service_arn().unwrap_or_default().to_string(), s.cluster_arn().unwrap_or_default().to_string())
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let base = moto.berth(&net, "web").args(["-f".to_string(), arg(&override_file(dir.path()))]);
    let plan = save_plan(&base, dir.path());
    for (file, difference) in tampered(&plan, &foreign_arn) {
        let out = base.clone().args(["apply".to_string(), arg(&file), "--yes".into()]).run();
        assert_eq!(out.code, 1, "{}: {}", file.display(), out.stderr);
        assert!(out.stderr.contains(difference), "{}: expected {difference:?} in:\n{}", file.display(), out.stderr);
    }
    // The engine's own check, for a plan that never went through `apply`.
    let forged = forged_delete("hello", "service", "service.web", &foreign_arn, json!({"cluster": cluster_arn}));
    let result = block_on(async {
        let opts = berth_aws::AwsOptions {
            region: Some(region.into()),
            endpoint_url: Some(moto.endpoint.clone()),
            max_attempts: Some(1),
            env: [("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")].map(|(k, v)| (k.to_string(), v.to_string())).into(),
            ..berth_aws::AwsOptions::default()
        };
        let aws = berth_aws::connect(&opts).await.expect("connect");
        let opts = ApplyOptions { wait: WaitMode::None, ..ApplyOptions::default() };
        berth_engine::apply(&forged, &aws, &opts, &Collect::default()).await
    });
    assert!(!result.ok() && result.failed[0].message.contains("does not carry the tags berth:app=hello"), "{:?}", result.failed);
    block_on(async {
        let sdk = moto.sdk(region).await;
        let out = sdk.ecs.describe_services().cluster("hello").services("billing").send().await.expect("describe");
        assert_eq!(out.services().first().and_then(|s| s.status()), Some("ACTIVE"), "the foreign service survives");
        let ours = sdk.ecs.describe_services().cluster("hello").services("hello-web").send().await.expect("describe");
        assert_eq!(ours.services()[0].desired_count(), 2, "nothing of ours was written either");
    });
    ok(&base.clone().args(["apply".to_string(), arg(&plan), "--yes".into(), "--wait".into(), "none".into()]).run());
}

/// A saved plan holds the app: `berth apply plan.json` in a directory with
/// no spec and no variables applies it; with a spec, the spec must be the
/// one planned; an edited app inside the file is refused.
#[test]
fn a_saved_plan_applies_with_no_spec_and_no_variables() {
    let account = SimAccount::new();
    let plan = account.dir().join("plan.json");
    ok(&account.berth("shop", "v1").args(["plan".to_string(), "-o".into(), arg(&plan)]).run());
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&plan).expect("read")).expect("json");
    assert!(saved["target"]["app"]["desired"]["services"].is_array(), "the file holds the app");
    // Displayed plans never carry it (nor the values it holds).
    let shown = account.berth("shop", "v1").args(["plan", "--format", "json"]).run();
    assert!(serde_json::from_str::<Value>(&shown.stdout).expect("json").get("target").is_none());

    // An app edited inside the file: its digest is not the plan's.
    let edited = edit(&plan, "edited.json", |v| {
        let services = v["target"]["app"]["desired"]["services"].as_array_mut().expect("services");
        services[0]["desiredCount"] = json!(50);
    });
    let empty = tempfile::tempdir().expect("tempdir");
    let apply = |file: &std::path::Path| {
        Berth::new(empty.path())
            .args(["--sim-state".to_string(), arg(&account.state_path()), "apply".into(), arg(file), "--yes".into()])
            .run()
    };
    let out = apply(&edited);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("the spec changed since"), "{}", out.stderr);
    assert!(account.read(|s| s.services.is_empty()), "nothing was created");

    // A spec given with the plan must be the one planned.
    let out = account.berth("shop", "v2").args(["apply".to_string(), arg(&plan), "--yes".into()]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("the spec changed since"), "{}", out.stderr);

    // No spec, no variables: the plan is applied as reviewed.
    let out = apply(&plan);
    ok(&out);
    assert!(account.read(|s| ["shop-api", "shop-worker", "shop-web-blue"].iter().all(|n| s.services.contains_key(*n))));
    // And it is verified against the app it holds: the next plan is empty.
    assert_eq!(account.berth("shop", "v1").args(["plan", "--detailed-exitcode"]).run().code, 0);

    // destroy needs no image variables.
    let out = Berth::new(berth_tests::repo_root())
        .args([
            "--sim-state".to_string(),
            arg(&account.state_path()),
            "-f".into(),
            "examples/shop/compose.yaml".into(),
            "destroy".into(),
            "--yes".into(),
        ])
        .run();
    ok(&out);
    assert!(account.read(|s| s.services.is_empty()), "destroyed: {}", out.stderr);
}
