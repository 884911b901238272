//! Blue/green deployments on the sim, watched at every simulated instant.

use std::time::{Duration, Instant};

use berth_engine::{ApplyOptions, Collect};
use berth_provider::Provider;
use berth_sim::{Sim, TargetGroupSample};
use berth_tests::in_process::{desired, plan};
use berth_tests::{ok, SimAccount};
use proptest::prelude::*;

#[allow(clippy::too_many_arguments)]
fn spec(image: &str, replicas: u32, traffic: &str, step: u32, interval_min: u32, bake_min: u32, min: u32, max: u32) -> String {
    format!(
        "name: bg
x-berth:
  network: {{ vpc_id: vpc-1, subnets: [subnet-a], security_groups: [sg-1] }}
  load_balancer: {{ listener: arn:aws:elasticloadbalancing:sim-1:000000000000:listener/app/shared/1/2 }}
services:
  web:
    image: {image}
    ports: [\"8080\"]
    deploy:
      replicas: {replicas}
    x-berth:
      route: {{ paths: [\"/*\"] }}
      rolling: {{ min_healthy_percent: {min}, max_percent: {max} }}
      strategy: {{ blue_green: {{ traffic: {traffic}, step: {step}%, interval: {interval_min}m, bake: {bake_min}m }} }}
"
    )
}

/// Applies `yaml`; when `fault_after` is set, the new image starts failing
/// its health checks that long after the apply begins.
fn apply(sim: &Sim, yaml: &str, fault_after: Option<Duration>, new_image: &str) -> berth_engine::ApplyResult {
    let d = desired(yaml);
    let p = plan(sim, &d);
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let (opts, collect) = (ApplyOptions::default(), Collect::default());
    rt.block_on(async {
        let deploy = berth_engine::apply(&p, sim, &opts, &collect);
        let saboteur = async {
            if let Some(after) = fault_after {
                sim.sleep(after).await;
                sim.faults_mut().unhealthy.push(new_image.to_string());
            }
        };
        let (result, ()) = futures::join!(deploy, saboteur);
        result
    })
}

fn live_weights(samples: &[TargetGroupSample], at: u64) -> Vec<(String, u32)> {
    samples.iter().filter(|s| s.at_ms == at).map(|s| (s.name.clone(), s.weights.iter().sum())).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Over random sizes, rolling bounds, traffic shifts and a failure at a
    /// random moment (or none): at every instant the side receiving traffic
    /// has all its desired tasks healthy, the weights sum to 100, and no
    /// traffic goes to an unhealthy target — except in the moment between a
    /// target turning unhealthy and berth seeing it (one poll, ≤ 15 s), after
    /// which traffic is back on the old side. A failed deployment ends with
    /// the old revision at 100 % and the new one at zero tasks.
    #[test]
    fn blue_green_invariants(
        replicas in 1u32..6,
        bounds in prop_oneof![Just((100u32, 200u32)), Just((50, 150)), Just((0, 100))],
        traffic in prop_oneof![Just("all_at_once"), Just("canary"), Just("linear")],
        step in prop_oneof![Just(10u32), Just(25), Just(50)],
        interval_min in 1u32..4,
        bake_min in 0u32..3,
        fault_at_s in prop::option::of(0u64..900),
    ) {
        let sim = Sim::new();
        let v1 = spec("app:v1", replicas, traffic, step, interval_min, bake_min, bounds.0, bounds.1);
        prop_assert!(apply(&sim, &v1, None, "").ok());
        sim.record_history();
        let start = sim.now_ms();
        let v2 = spec("app:v2", replicas, traffic, step, interval_min, bake_min, bounds.0, bounds.1);
        let result = apply(&sim, &v2, fault_at_s.map(Duration::from_secs), "app:v2");
        // What happens once berth has finished (a fault after the deployment
        // completed) is not the deployment's doing: watch until it returns.
        let finished = sim.now_ms();
        // Let the account settle.
        sim.advance(120_000);
        let fault_at = fault_at_s.map(|s| start + s * 1000);
        let grace = |at: u64| fault_at.is_some_and(|f| at >= f && at <= f + 31_000);
        for s in sim.target_history().into_iter().filter(|s| s.at_ms <= finished) {
            for total in &s.rule_totals {
                prop_assert_eq!(*total, 100, "weights sum to 100 at {}: {:?}", s.at_ms, s);
            }
            if s.weights.iter().sum::<u32>() > 0 && !grace(s.at_ms) {
                prop_assert!(s.unhealthy == 0, "traffic to an unhealthy target at {}: {:?}", s.at_ms, s);
                prop_assert!(s.healthy >= s.desired.max(1), "the live side lacks healthy tasks at {}: {:?}", s.at_ms, s);
            }
        }
        let history = sim.target_history();
        let end = history.last().map_or(start, |s| s.at_ms);
        let weights = live_weights(&history, end);
        let state = sim.state();
        let running = |name: &str| state.services.get(name).map_or(0, |s| s.tasks.len());
        if result.ok() {
            prop_assert!(weights.contains(&("bg-web-green".to_string(), 100)), "{:?}", weights);
            prop_assert_eq!(running("bg-web-blue"), 0);
        } else {
            prop_assert!(result.only_deployments_failed(), "{:?}", result.failed);
            prop_assert!(weights.contains(&("bg-web-blue".to_string(), 100)), "the old side has all the traffic: {:?}", weights);
            prop_assert_eq!(running("bg-web-green"), 0, "the new side has no tasks");
            prop_assert!(state.services["bg-web-blue"].deployments.last().is_some_and(|d| d.task_definition.ends_with(":1")));
        }
    }
}

fn canary(account: &SimAccount, tag: &str) -> berth_tests::Berth {
    let path = account.dir().join("canary.yaml");
    std::fs::write(&path, spec(&format!("nginx:{tag}"), 3, "canary", 10, 10, 0, 100, 200)).expect("write");
    berth_tests::Berth::new(account.dir()).args([
        "--sim-state".to_string(),
        account.state_path().display().to_string(),
        "-f".into(),
        path.display().to_string(),
    ])
}

/// A ten-minute canary runs in well under a second, printing what a real
/// run would (non-TTY output, snapshot).
#[test]
fn ten_minute_canary_in_under_a_second() {
    let account = SimAccount::new();
    ok(&canary(&account, "1.27").args(["apply", "--yes"]).run());
    let start = Instant::now();
    let out = canary(&account, "1.28").args(["apply", "--yes"]).run();
    let took = start.elapsed();
    ok(&out);
    assert!(took < Duration::from_secs(1), "took {took:?}");
    let lines: String = out.stderr.lines().filter(|l| l.starts_with("2026-")).map(|l| format!("{l}\n")).collect();
    assert!(lines.contains("bg-web: traffic blue 90%, green 10%") && lines.contains("bg-web: traffic blue 0%, green 100%"), "{lines}");
    insta::assert_snapshot!("canary_events", lines);
}

#[test]
fn rollback_after_a_completed_blue_green_deploy() {
    let account = SimAccount::new();
    ok(&canary(&account, "1.27").args(["apply", "--yes"]).run());
    ok(&canary(&account, "1.28").args(["apply", "--yes"]).run());
    let out = canary(&account, "1.28").args(["rollback", "web", "--yes"]).run();
    ok(&out);
    assert!(out.stderr.contains("Rollback complete: web: all traffic on blue (bg-web:1), green scaled to zero"), "{}", out.stderr);
    account.read(|s| {
        assert_eq!(s.services["bg-web-green"].spec.desired_count, Some(0));
        assert_eq!(s.services["bg-web-blue"].spec.desired_count, Some(3));
    });
    // The spec still asks for 1.28: the next plan deploys it again.
    let plan = canary(&account, "1.28").args(["plan", "--format", "json"]).run();
    let p: serde_json::Value = serde_json::from_str(&plan.stdout).expect("json");
    let addresses: Vec<&str> = p["changes"].as_array().expect("changes").iter().filter_map(|c| c["address"].as_str()).collect();
    assert_eq!(addresses, vec!["taskdef.web", "service.web"]);
}

#[test]
fn rollback_of_a_rolling_service_redeploys_the_previous_revision() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    ok(&account.berth("web", "1.28").args(["apply", "--yes"]).run());
    let out = account.berth("web", "1.28").args(["rollback", "--yes"]).run();
    ok(&out);
    assert!(out.stderr.contains("Rollback complete: hello-web runs hello-web:1 again"), "{}", out.stderr);
    let status = account.berth("web", "1.28").args(["status", "--format", "json"]).run();
    let s: serde_json::Value = serde_json::from_str(&status.stdout).expect("json");
    assert_eq!(s[0]["task_definition"], "hello-web:1");
    assert_eq!(account.berth("web", "1.28").args(["plan", "--detailed-exitcode"]).run().code, 2, "the spec's change shows again");
}

/// A rollback in the middle of a canary restores the old color at once; the
/// deployment that was shifting traffic sees it and stops.
#[test]
fn rollback_in_the_middle_of_a_canary() {
    let sim = Sim::new();
    let v1 = spec("app:v1", 2, "canary", 10, 10, 0, 100, 200);
    assert!(apply(&sim, &v1, None, "").ok());
    let v2 = spec("app:v2", 2, "canary", 10, 10, 0, 100, 200);
    let d = desired(&v2);
    let p = plan(&sim, &d);
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let (collect, opts) = (Collect::default(), ApplyOptions::default());
    let (result, rolled_back) = rt.block_on(async {
        let deploy = berth_engine::apply(&p, &sim, &opts, &collect);
        let operator = async {
            // Two minutes in: the new color is up and has its first 10 %.
            sim.sleep(Duration::from_secs(120)).await;
            let weights: Vec<u32> = sim
                .state()
                .listeners
                .values()
                .flat_map(|l| &l.rules)
                .flat_map(|r| r.spec.actions[0].forward_config.target_groups.iter().map(|t| t.weight))
                .collect();
            assert_eq!(weights, vec![90, 10], "mid-canary");
            let observed = sim.observe(&berth_plan::scope(&d)).await.expect("observe");
            berth_engine::rollback(&sim, &observed, "web", true, &ApplyOptions::default(), &Collect::default()).await
        };
        futures::join!(deploy, operator)
    });
    assert!(rolled_back.is_ok(), "{rolled_back:?}");
    assert!(!result.ok(), "the interrupted deployment reports failure");
    sim.advance(30_000);
    let state = sim.state();
    let weights: Vec<(String, u32)> = state
        .listeners
        .values()
        .flat_map(|l| &l.rules)
        .flat_map(|r| r.spec.actions[0].forward_config.target_groups.iter().map(|t| (t.target_group_arn.clone(), t.weight)))
        .collect();
    let blue_arn = state.target_groups.values().find(|t| t.spec.name == "bg-web-blue").expect("blue").arn.clone();
    assert!(weights.contains(&(blue_arn, 100)), "{weights:?}");
    assert_eq!(state.services["bg-web-green"].tasks.len(), 0);
    assert!(state.services["bg-web-blue"].deployments.last().is_some_and(|d| d.task_definition.ends_with(":1")));
    drop(state);
    assert!(plan(&sim, &d).has_changes(), "the spec's change shows again");
}

#[test]
fn a_failed_verification_restores_the_old_side() {
    let account = SimAccount::new();
    let path = account.dir().join("verify.yaml");
    let with_verify = |image: &str, verify: &str| {
        spec(image, 2, "all_at_once", 100, 1, 0, 100, 200).replace("bake: 0m }", &format!("bake: 0m, verify: \"{verify}\" }}"))
    };
    std::fs::write(&path, with_verify("nginx:1.27", "true")).expect("write");
    let run = |args: &[&str]| {
        berth_tests::Berth::new(account.dir())
            .args(["--sim-state".to_string(), account.state_path().display().to_string(), "-f".into(), path.display().to_string()])
            .args(args.iter().map(|s| s.to_string()))
            .run()
    };
    ok(&run(&["apply", "--yes"]));
    std::fs::write(&path, with_verify("nginx:1.28", "test $$BERTH_COLOR = blue")).expect("write");
    let out = run(&["apply", "--yes"]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("failed while verifying the new revision: the verification command"), "{}", out.stderr);
    assert!(out.stderr.contains("traffic is back on blue (bg-web:1) and green was scaled to zero"), "{}", out.stderr);
    // The phases, as a CI log shows them: verifying, then (it failed) the new color scaled down.
    let verifying = out.stderr.find(" bg-web: verifying green (no test listener)\n").expect("a verifying line");
    let scaling = out.stderr.find(" bg-web: scaling green to 0\n").expect("a scaling-down line");
    assert!(verifying < scaling && !out.stderr.contains("verification of green passed"), "{}", out.stderr);
}

/// With a test listener, the new color is served there (a rule with the
/// route's conditions) while the verification runs, and the rule goes away.
#[test]
fn the_new_color_is_served_on_the_test_listener_during_verification() {
    let account = SimAccount::new();
    let path = account.dir().join("test-listener.yaml");
    let marker = account.dir().join("verified");
    let with_test = |image: &str| {
        spec(image, 2, "all_at_once", 100, 1, 0, 100, 200)
            .replace(
                "listener/app/shared/1/2 }",
                "listener/app/shared/1/2, test_listener: arn:aws:elasticloadbalancing:sim-1:000000000000:listener/app/shared/1/9 }",
            )
            .replace("bake: 0m }", &format!("bake: 0m, verify: \"echo $$BERTH_TEST_LISTENER $$BERTH_COLOR > {}\" }}", marker.display()))
    };
    let run = |args: &[&str]| {
        berth_tests::Berth::new(account.dir())
            .args(["--sim-state".to_string(), account.state_path().display().to_string(), "-f".into(), path.display().to_string()])
            .args(args.iter().map(|s| s.to_string()))
            .run()
    };
    std::fs::write(&path, with_test("nginx:1.27")).expect("write");
    ok(&run(&["apply", "--yes"]));
    std::fs::write(&path, with_test("nginx:1.28")).expect("write");
    ok(&run(&["apply", "--yes"]));
    assert_eq!(
        std::fs::read_to_string(&marker).expect("the verification ran"),
        "arn:aws:elasticloadbalancing:sim-1:000000000000:listener/app/shared/1/9 green\n"
    );
    account.read(|s| {
        let test = &s.listeners["arn:aws:elasticloadbalancing:sim-1:000000000000:listener/app/shared/1/9"];
        assert!(test.rules.is_empty(), "the test rule was removed after the verification");
    });
}
