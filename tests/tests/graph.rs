//! Apply runs the plan's dependency graph: a change never starts before the
//! changes it needs are done, independent changes overlap, a failure stops
//! only what depends on it, the plan JSON lists the edges, and the waits of
//! many deployments share batched polling rounds.

use std::collections::BTreeMap;

use berth_engine::{ApplyOptions, Collect, EventKind};
use berth_tests::moto::block_on;
use berth_tests::{ok, plan_json, Berth};
use serde_json::Value;

const NET: &str = "{ vpc_id: vpc-0g, subnets: [subnet-0a, subnet-0b], security_groups: [sg-0g] }";
const LISTENER: &str = "arn:aws:elasticloadbalancing:sim-1:000000000000:listener/app/shared/50dc6c495c0c9188/f2f7dc8efc522ab2";

/// web is routed (target group, rule) and discoverable; api and worker are
/// not; worker depends on api.
fn spec(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("compose.yaml");
    let yaml = format!(
        "name: graph\nx-berth:\n  region: ap-northeast-2\n  network: {NET}\n  load_balancer: {{ listener: \"{LISTENER}\" }}\n  discovery: {{ namespace: graph.local }}\nservices:\n  web:\n    image: nginx:1.27\n    ports: [\"80\"]\n    expose: [\"80\"]\n    x-berth: {{ route: {{ paths: [\"/*\"], health_path: / }}, discovery: true }}\n  api:\n    image: nginx:1.27\n    deploy: {{ replicas: 2 }}\n  worker:\n    image: busybox:1.36\n    command: [sleep, infinity]\n    depends_on: [api]\n"
    );
    std::fs::write(&path, yaml).expect("write");
    path
}

fn berth(dir: &std::path::Path, spec: &std::path::Path) -> Berth {
    Berth::new(dir).args(["--sim-state".to_string(), dir.join("sim.json").display().to_string(), "-f".into(), spec.display().to_string()])
}

fn deps(plan: &Value) -> BTreeMap<String, Vec<String>> {
    plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            let d =
                c["depends_on"].as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect()).unwrap_or_default();
            (c["address"].as_str().unwrap_or_default().to_string(), d)
        })
        .collect()
}

#[test]
fn the_plan_json_lists_the_edges() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = spec(dir.path());
    let plan = plan_json(&berth(dir.path(), &spec).args(["plan", "--format", "json"]).run());
    let d = deps(&plan);
    let has = |a: &str, needs: &[&str]| {
        let got = &d[a];
        assert!(needs.iter().all(|n| got.iter().any(|g| g == n)), "{a} needs {needs:?}, the plan says {got:?}");
    };
    has("rule.web/0", &["tg.web"]);
    has("service.web", &["cluster.graph", "taskdef.web", "tg.web", "rule.web/0", "cloudmap.web"]);
    has("cloudmap.web", &["namespace.graph.local"]);
    has("service.worker", &["service.api", "taskdef.worker"]);
    // Task definitions need the log group their containers write to.
    assert_eq!(d["taskdef.web"], vec!["logs./berth/graph"], "{d:?}");
    assert!(d["logs./berth/graph"].is_empty() && d["tg.web"].is_empty(), "{d:?}");
    // Every edge points at a change of the same plan.
    assert!(d.values().flatten().all(|n| d.contains_key(n)), "{d:?}");
}

#[test]
fn no_change_starts_before_what_it_needs_is_done_and_independent_ones_overlap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = spec(dir.path());
    let plan = plan_json(&berth(dir.path(), &spec).args(["plan", "--format", "json"]).run());
    let out = berth(dir.path(), &spec).args(["apply", "--yes", "--format", "json"]).run();
    ok(&out);
    let events: Vec<Value> = out.stdout.lines().map(|l| serde_json::from_str(l).expect("event line")).collect();
    let at = |kind: &str, address: &str| {
        events.iter().position(|e| e["event"] == kind && e["address"] == address).unwrap_or_else(|| panic!("no {kind} for {address}"))
    };
    for (address, needs) in deps(&plan) {
        for n in needs {
            assert!(at("change_done", &n) < at("change_started", &address), "{address} started before {n} was done");
        }
    }
    // The services deploy side by side: each starts before another is done.
    let overlap = ["service.web", "service.api"];
    assert!(
        at("change_started", overlap[1]) < at("change_done", overlap[0])
            && at("change_started", overlap[0]) < at("change_done", overlap[1]),
        "independent services deploy at once:\n{}",
        out.stdout
    );
}

#[test]
fn a_failed_target_group_stops_its_rule_and_service_but_not_an_unrelated_service() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = spec(dir.path());
    let saved = dir.path().join("plan.json");
    ok(&berth(dir.path(), &spec).args(["plan".to_string(), "-o".into(), saved.display().to_string()]).run());
    let plan: berth_plan::Plan = serde_json::from_str(&std::fs::read_to_string(&saved).expect("read")).expect("plan");
    // Between plan and apply, someone takes the target group's name.
    let sim = berth_sim::Sim::open(&dir.path().join("sim.json")).expect("sim");
    {
        let mut s = sim.state();
        let arn = "arn:aws:elasticloadbalancing:sim-1:000000000000:targetgroup/graph-web/0000".to_string();
        let mut tg: berth_model::resources::TargetGroup =
            serde_json::from_value(plan.change("tg.web").and_then(|c| c.after.clone()).expect("tg")).expect("tg spec");
        tg.tags.clear();
        s.target_groups.insert(arn.clone(), berth_sim::state::SimTargetGroup { arn, spec: tg, targets: Default::default() });
    }
    let events = Collect::default();
    let result = block_on(berth_engine::apply(&plan, &sim, &ApplyOptions::default(), &events));
    let failed: Vec<&str> = result.failed.iter().map(|f| f.address.as_str()).collect();
    assert_eq!(failed, ["tg.web"], "{result:?}");
    for stopped in ["rule.web/0", "service.web"] {
        assert!(result.not_done.iter().any(|a| a == stopped), "{stopped} must not run: {result:?}");
    }
    for independent in ["service.api", "service.worker", "cloudmap.web", "taskdef.web"] {
        assert!(result.done.iter().any(|a| a == independent), "{independent} runs to the end: {result:?}");
    }
    let skipped: Vec<String> = events
        .events()
        .into_iter()
        .filter_map(|e| match e.kind {
            EventKind::Skipped { address, reason } => Some(format!("{address}: {reason}")),
            _ => None,
        })
        .collect();
    assert!(skipped.iter().any(|s| s.starts_with("rule.web/0: not applied because tg.web did not succeed")), "{skipped:?}");
    assert!(sim.state().services.contains_key("graph-api") && !sim.state().services.contains_key("graph-web"));
}

#[test]
fn the_waits_of_a_fifty_service_rollout_share_batched_polling_rounds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut yaml = format!("name: many\nx-berth:\n  region: ap-northeast-2\n  network: {NET}\nservices:\n");
    for i in 0..50 {
        yaml.push_str(&format!("  s{i}:\n    image: nginx:1.27\n    deploy: {{ replicas: 2 }}\n"));
    }
    let spec = dir.path().join("compose.yaml");
    std::fs::write(&spec, yaml).expect("write");
    let saved = dir.path().join("plan.json");
    ok(&berth(dir.path(), &spec).args(["plan".to_string(), "-o".into(), saved.display().to_string()]).run());
    let plan: berth_plan::Plan = serde_json::from_str(&std::fs::read_to_string(&saved).expect("read")).expect("plan");
    let sim = berth_sim::Sim::open(&dir.path().join("sim.json")).expect("sim");
    let result = block_on(berth_engine::apply(&plan, &sim, &ApplyOptions::default(), &Collect::default()));
    assert!(result.ok(), "{result:?}");
    let describes = sim.calls().get("DescribeServices").copied().unwrap_or(0);
    let rounds = result.poll_rounds;
    eprintln!("50 services: {describes} DescribeServices calls in {rounds} rounds");
    assert!(rounds >= 1 && describes <= 5 * rounds, "{describes} DescribeServices calls in {rounds} rounds: more than 5 a round");
    assert!(rounds <= 20, "a rollout of 50 small services takes a few rounds, not {rounds}");
}
