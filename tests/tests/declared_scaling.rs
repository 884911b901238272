//! Declared scaling (`x-berth.autoscaling`): a scalable target with
//! target-tracking policies, owned and planned like any resource; the plan
//! never fights it; rollouts suspend its scale-in; blue/green hands it from
//! color to color. On the sim, watched at every simulated instant, and on
//! moto (read back with the SDK).

use std::path::Path;
use std::time::Duration;

use berth_engine::{ApplyOptions, Collect};
use berth_provider::Provider;
use berth_sim::Sim;
use berth_tests::in_process::{desired, plan};
use berth_tests::{ok, plan_changes, plan_json, Berth};
use proptest::prelude::*;

const SERVICE: &str = "sc-web";

fn rolling_spec(image: &str, scaling: &str) -> String {
    format!(
        "name: sc
x-berth:
  network: {{ vpc_id: vpc-1, subnets: [subnet-a], security_groups: [sg-1] }}
  load_balancer: {{ listener: arn:aws:elasticloadbalancing:sim-1:000000000000:listener/app/shared/1/2 }}
services:
  web:
    image: {image}
    ports: [\"8080\"]
    x-berth:
      route: {{ paths: [\"/*\"] }}
      autoscaling: {scaling}
"
    )
}

const CPU_60: &str = "{ min: 2, max: 10, cpu: 60% }";

/// Applies `yaml` while `meanwhile` runs on the simulated clock beside it.
fn apply_with(sim: &Sim, yaml: &str, meanwhile: impl std::future::Future<Output = ()>) -> (berth_engine::ApplyResult, Collect) {
    let p = plan(sim, &desired(yaml));
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let (opts, collect) = (ApplyOptions::default(), Collect::default());
    let result = rt.block_on(async {
        let (result, ()) = futures::join!(berth_engine::apply(&p, sim, &opts, &collect), meanwhile);
        result
    });
    (result, collect)
}

fn apply(sim: &Sim, yaml: &str) -> (berth_engine::ApplyResult, Collect) {
    apply_with(sim, yaml, async {})
}

fn desired_count(sim: &Sim, service: &str) -> u32 {
    sim.state().services.get(service).and_then(|s| s.spec.desired_count).unwrap_or(0)
}

fn scale_in_suspended(sim: &Sim, service: &str) -> Option<bool> {
    sim.state().scalable_targets.get(&format!("service/sc/{service}")).map(|t| t.scale_in_suspended)
}

/// The ScaleIn events of an apply, in order: `true` suspended, `false` resumed.
fn scale_in_events(collect: &Collect) -> Vec<bool> {
    collect
        .events()
        .into_iter()
        .filter_map(|e| match e.kind {
            berth_engine::EventKind::ScaleIn { suspended, .. } => Some(suspended),
            _ => None,
        })
        .collect()
}

fn cli(dir: &Path, state: &Path, spec: &Path) -> Berth {
    Berth::new(dir).args(["--sim-state".to_string(), state.display().to_string(), "-f".into(), spec.display().to_string()])
}

/// Applied with `cpu: 60%`, then loaded to six tasks' worth of CPU.
fn at_six_tasks(sim: &Sim) {
    let (result, _) = apply(sim, &rolling_spec("app:v1", CPU_60));
    assert!(result.ok(), "{:?}", result.failed);
    assert_eq!(desired_count(sim, SERVICE), 2, "a first deploy starts at min");
    sim.set_cpu_load(SERVICE, 360.0);
    sim.advance(10 * 60_000);
    assert_eq!(desired_count(sim, SERVICE), 6, "360 % of one task's CPU at a 60 % target is six tasks");
}

#[test]
fn the_scaler_sets_the_count_the_plan_keeps_it_and_a_rollout_never_drops_below_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (state, spec) = (dir.path().join("sim.json"), dir.path().join("compose.yaml"));
    std::fs::write(&spec, rolling_spec("app:v1", CPU_60)).expect("write");

    // The plan of a first deploy: the scalable target, after its service.
    let out = cli(dir.path(), &state, &spec).args(["plan", "--format", "json"]).run();
    ok(&out);
    let planned = plan_json(&out);
    let changes = plan_changes(&planned);
    let addresses: Vec<&str> = changes.iter().map(|(a, _, _)| a.as_str()).collect();
    let (svc, scaling) = (addresses.iter().position(|a| *a == "service.web"), addresses.iter().position(|a| *a == "scaling.web"));
    assert!(svc.is_some() && scaling > svc, "the scaler is created after its service: {addresses:?}");
    let target = planned["changes"].as_array().expect("changes").iter().find(|c| c["address"] == "scaling.web").expect("scaling.web");
    assert_eq!(target["after"]["resourceId"], "service/sc/sc-web");
    assert_eq!(target["after"]["minCapacity"], 2);
    assert_eq!(target["after"]["maxCapacity"], 10);
    let policy = &target["after"]["scalingPolicies"][0];
    assert_eq!(policy["policyName"], "sc-web-cpu");
    assert_eq!(policy["targetTrackingScalingPolicyConfiguration"]["targetValue"], 60.0);
    assert_eq!(
        policy["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"]["predefinedMetricType"],
        "ECSServiceAverageCPUUtilization"
    );

    let sim = Sim::open(&state).expect("open sim");
    at_six_tasks(&sim);
    sim.save().expect("save");
    drop(sim);

    // Nothing to change: the count is the scaler's, and the plan says so.
    let same = cli(dir.path(), &state, &spec).args(["plan", "--detailed-exitcode"]).run();
    assert_eq!(same.code, 0, "no desiredCount change:\n{}\n{}", same.stdout, same.stderr);
    assert!(
        same.stderr.contains("desiredCount is managed by Application Auto Scaling (min 2, max 10): berth leaves it at 6, not the spec's 2"),
        "{}",
        same.stderr
    );

    // An image change, watched at every tick: never fewer than six healthy tasks.
    let sim = Sim::open(&state).expect("open sim");
    sim.record_history();
    let (result, collect) = apply(&sim, &rolling_spec("app:v2", CPU_60));
    assert!(result.ok(), "{:?}", result.failed);
    let finished = sim.now_ms();
    let samples: Vec<_> = sim.history().into_iter().filter(|s| s.service == SERVICE && s.at_ms <= finished).collect();
    assert!(samples.len() > 10, "the rollout was watched: {} samples", samples.len());
    for s in &samples {
        assert!(s.healthy >= 6 && s.desired >= 6, "fewer than six tasks at {}: {s:?}", s.at_ms);
    }
    assert!(samples.iter().any(|s| s.scale_in_suspended), "scale-in was suspended during the rollout");
    assert_eq!(scale_in_events(&collect), vec![true, false]);
    assert_eq!(scale_in_suspended(&sim, SERVICE), Some(false), "and resumed");
    assert!(sim.state().services[SERVICE].deployments.last().is_some_and(|d| d.task_definition.ends_with(":2")), "v2 runs");
    sim.save().expect("save");
    drop(sim);

    std::fs::write(&spec, rolling_spec("app:v2", CPU_60)).expect("write");
    let after = cli(dir.path(), &state, &spec).args(["plan", "--detailed-exitcode"]).run();
    assert_eq!(after.code, 0, "clean after apply:\n{}\n{}", after.stdout, after.stderr);
}

/// While a rollout runs the load falls; the scaler may not scale in until
/// it is over — after success and after failure alike.
#[test]
fn scale_in_is_suspended_during_a_rollout_and_resumed_after_success_and_failure() {
    for (image, succeeds) in [("app:v2", true), ("app:v2-crashloop", false)] {
        let sim = Sim::new();
        at_six_tasks(&sim);
        sim.record_history();
        let start = sim.now_ms();
        let quiet = async {
            sim.sleep(Duration::from_secs(1)).await;
            sim.set_cpu_load(SERVICE, 60.0);
            // The alarm evaluates at the next tick (not up to a minute later).
            if let Some(t) = sim.state().scalable_targets.get_mut("service/sc/sc-web") {
                t.last_evaluated_ms = 0;
            }
        };
        let (result, collect) = apply_with(&sim, &rolling_spec(image, CPU_60), quiet);
        assert_eq!(result.ok(), succeeds, "{image}: {:?}", result.failed);
        let finished = sim.now_ms();
        assert!(finished - start > 5_000, "{image}: the scaler had its chances during the rollout ({} ms)", finished - start);
        for s in sim.history().iter().filter(|s| s.service == SERVICE && s.at_ms <= finished) {
            assert!(s.desired >= 6, "{image}: scaled in during the rollout at {}: {s:?}", s.at_ms);
        }
        assert_eq!(scale_in_events(&collect), vec![true, false], "{image}");
        assert_eq!(scale_in_suspended(&sim, SERVICE), Some(false), "{image}: resumed");
        // Resumed, the scaler follows the load down to the minimum.
        sim.advance(15 * 60_000);
        assert_eq!(desired_count(&sim, SERVICE), 2, "{image}: scaled in after the rollout");
    }
}

#[test]
fn the_scaler_is_planned_like_a_resource_updated_deleted_and_destroyed_first() {
    let sim = Sim::new();
    let (result, _) = apply(&sim, &rolling_spec("app:v1", "{ min: 2, max: 10, cpu: 60%, requests_per_target: 500 }"));
    assert!(result.ok(), "{:?}", result.failed);
    let p = plan(&sim, &desired(&rolling_spec("app:v1", "{ min: 2, max: 10, cpu: 60%, requests_per_target: 500 }")));
    assert!(p.changes.is_empty(), "clean after apply: {:?}", p.changes);
    {
        let state = sim.state();
        let t = &state.scalable_targets["service/sc/sc-web"];
        let tg = state.target_groups.values().find(|tg| tg.spec.name == "sc-web").map(|tg| tg.arn.clone());
        let label = t
            .policies
            .iter()
            .find(|p| p.policy_name == "sc-web-requests")
            .and_then(|p| p.target_tracking_scaling_policy_configuration.predefined_metric_specification.resource_label.clone());
        assert_eq!(label, tg, "the request policy tracks the service's target group");
    }

    // New bounds and cooldowns are an update of the target alone.
    let changed = rolling_spec("app:v1", "{ min: 3, max: 12, cpu: 50%, scale_in_cooldown: 10m }");
    let p = plan(&sim, &desired(&changed));
    let changes: Vec<(String, String)> = p.changes.iter().map(|c| (c.address.clone(), c.action.verb().to_string())).collect();
    assert_eq!(changes, vec![("scaling.web".to_string(), "update".to_string())], "{:?}", p.changes);
    let (result, _) = apply(&sim, &changed);
    assert!(result.ok(), "{:?}", result.failed);
    {
        let state = sim.state();
        let t = &state.scalable_targets["service/sc/sc-web"];
        assert_eq!((t.min_capacity, t.max_capacity), (3, 12));
        let names: Vec<&str> = t.policies.iter().map(|p| p.policy_name.as_str()).collect();
        assert_eq!(names, vec!["sc-web-cpu"], "the request policy is gone");
        assert_eq!(t.policies[0].target_tracking_scaling_policy_configuration.scale_in_cooldown, 600);
    }
    assert!(plan(&sim, &desired(&changed)).changes.is_empty(), "clean after the update");

    // Without autoscaling the target is deleted (before anything else).
    let plain = rolling_spec("app:v1", "null");
    let p = plan(&sim, &desired(&plain));
    assert_eq!(p.changes.first().map(|c| (c.address.as_str(), c.action.verb())), Some(("scaling.web", "delete")), "{:?}", p.changes);
    let (result, _) = apply(&sim, &plain);
    assert!(result.ok(), "{:?}", result.failed);
    assert!(sim.state().scalable_targets.is_empty());

    // Destroy removes the scaler before the service it scales.
    let (result, _) = apply(&sim, &changed);
    assert!(result.ok(), "{:?}", result.failed);
    let observed = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(sim.observe(&berth_plan::scope(&desired(&changed))))
        .expect("observe");
    let ctx = berth_plan::PlanContext { berth_version: "test".into(), backend: "sim".into(), priority_range: (1000, 1999), adopt: false };
    let destroy = berth_plan::diff_destroy("sc", &observed, &ctx).expect("destroy plan");
    let order: Vec<&str> = destroy.changes.iter().map(|c| c.address.as_str()).collect();
    let (scaler, service) = (order.iter().position(|a| *a == "scaling.web"), order.iter().position(|a| *a == "service.web"));
    assert!(scaler.is_some() && scaler < service, "{order:?}");
}

#[test]
fn a_declared_scaler_never_takes_over_someone_elses_target() {
    let sim = Sim::new();
    let (result, _) = apply(&sim, &rolling_spec("app:v1", "null"));
    assert!(result.ok(), "{:?}", result.failed);
    sim.register_scalable_target("sc", SERVICE, 1, 4);
    let d = desired(&rolling_spec("app:v1", CPU_60));
    let observed = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(sim.observe(&berth_plan::scope(&d)))
        .expect("observe");
    let ctx = berth_plan::PlanContext { berth_version: "test".into(), backend: "sim".into(), priority_range: (1000, 1999), adopt: false };
    let err = berth_plan::diff(&d, &observed, &ctx).expect_err("someone else's scaler");
    assert!(err.to_string().contains("service.web is scaled by an Application Auto Scaling target that berth does not manage"), "{err}");
}

fn bg_spec(image: &str) -> String {
    format!(
        "name: sc
x-berth:
  network: {{ vpc_id: vpc-1, subnets: [subnet-a], security_groups: [sg-1] }}
  load_balancer: {{ listener: arn:aws:elasticloadbalancing:sim-1:000000000000:listener/app/shared/1/2 }}
services:
  web:
    image: {image}
    ports: [\"8080\"]
    x-berth:
      route: {{ paths: [\"/*\"] }}
      autoscaling: {{ min: 2, max: 10, cpu: 60%, requests_per_target: 800 }}
      strategy: {{ blue_green: {{ traffic: linear, step: 50%, interval: 2m, bake: 1m }} }}
"
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10, .. ProptestConfig::default() })]

    /// At every instant of a blue/green deployment of a scaled service, the
    /// color that receives traffic has a scalable target and at least the
    /// count the old color had when the shift began; after a completed
    /// shift the old color has no scaler; after a failed one the old color
    /// has its scaler back (scale-in resumed) and the new one none.
    #[test]
    fn blue_green_hands_the_scaler_to_the_serving_color(load in 120.0f64..600.0, fault_at_s in prop::option::of(0u64..600)) {
        let sim = Sim::new();
        let (result, _) = apply(&sim, &bg_spec("app:v1"));
        prop_assert!(result.ok(), "{:?}", result.failed);
        sim.set_cpu_load("sc-web-blue", load);
        sim.set_cpu_load("sc-web-green", load);
        sim.advance(10 * 60_000);
        let before = desired_count(&sim, "sc-web-blue");
        prop_assert_eq!(before, ((load / 60.0) - 1e-9).ceil().clamp(2.0, 10.0) as u32);
        sim.record_history();
        let sabotage = async {
            if let Some(s) = fault_at_s {
                sim.sleep(Duration::from_secs(s)).await;
                sim.faults_mut().unhealthy.push("app:v2".into());
            }
        };
        let (result, _) = apply_with(&sim, &bg_spec("app:v2"), sabotage);
        let finished = sim.now_ms();
        let history = sim.history();
        for t in sim.target_history().into_iter().filter(|t| t.at_ms <= finished && t.weights.iter().sum::<u32>() > 0) {
            let s = history.iter().find(|s| s.at_ms == t.at_ms && s.service == t.name);
            prop_assert!(s.is_some_and(|s| s.scalable), "{} serves without a scaler at {}: {:?}", t.name, t.at_ms, s);
            prop_assert!(s.is_some_and(|s| s.desired >= before), "{} serves with fewer than {before} tasks at {}: {:?}", t.name, t.at_ms, s);
        }
        let state = sim.state();
        let target = |color: &str| state.scalable_targets.get(&format!("service/sc/sc-web-{color}"));
        if result.ok() {
            prop_assert!(target("blue").is_none(), "the old color keeps no scaler");
            prop_assert!(target("green").is_some_and(|t| !t.policies.is_empty() && !t.scale_in_suspended), "{:?}", target("green"));
            let label = target("green").and_then(|t| t.policies.iter().find_map(|p| p.target_tracking_scaling_policy_configuration.predefined_metric_specification.resource_label.clone()));
            let green_tg = state.target_groups.values().find(|tg| tg.spec.name == "sc-web-green").map(|tg| tg.arn.clone());
            prop_assert_eq!(label, green_tg, "the request policy tracks the new color's target group");
        } else {
            prop_assert!(result.only_deployments_failed(), "{:?}", result.failed);
            prop_assert!(target("blue").is_some_and(|t| !t.policies.is_empty() && !t.scale_in_suspended), "{:?}", target("blue"));
            prop_assert!(target("green").is_none(), "the new color keeps no scaler");
        }
        drop(state);
        // And the next plan agrees with what was left.
        let v = if result.ok() { "app:v2" } else { "app:v1" };
        let p = plan(&sim, &desired(&bg_spec(v)));
        prop_assert!(p.changes.is_empty(), "{:?}", p.changes.iter().map(|c| (&c.address, c.action.verb(), &c.changed)).collect::<Vec<_>>());
    }
}

#[test]
fn bad_autoscaling_keys_are_errors_naming_file_line_and_key() {
    let cases = [
        ("{ min: 5, max: 2, cpu: 60% }", "services.web.x-berth.autoscaling.min", "min 5 is above max 2"),
        ("{ min: 1, max: 4, cpu: 150% }", "services.web.x-berth.autoscaling.cpu", "is not a utilization between 1% and 100%"),
        ("{ max: 4, cpu: 60% }", "services.web.x-berth.autoscaling", "autoscaling needs `min`"),
        ("{ min: 1, max: 4 }", "services.web.x-berth.autoscaling", "autoscaling tracks nothing"),
        ("{ min: 1, max: 9000, cpu: 50% }", "services.web.x-berth.autoscaling.max", "above ECS's 5000 tasks per service"),
        (
            "{ min: 1, max: 4, schedule: [{ cron: \"0 22 * * *\", min: 1 }] }",
            "services.web.x-berth.autoscaling.schedule[0].cron",
            "has 5 fields",
        ),
        ("{ min: 1, max: 4, cpu: 50%, scale_in_cooldown: soon }", "services.web.x-berth.autoscaling.scale_in_cooldown", ""),
    ];
    for (value, key, message) in cases {
        let dir = tempfile::tempdir().expect("tempdir");
        let spec = dir.path().join("compose.yaml");
        std::fs::write(&spec, rolling_spec("app:v1", value)).expect("write");
        let out = Berth::new(dir.path()).args(["-f".to_string(), spec.display().to_string(), "validate".into()]).run();
        assert_eq!(out.code, 1, "{value}: {}", out.stderr);
        let line = out.stderr.lines().find(|l| l.contains(key)).unwrap_or_else(|| panic!("{value}: no error at {key}:\n{}", out.stderr));
        assert!(line.contains("compose.yaml:11:"), "{value}: file and line: {line}");
        assert!(out.stderr.contains(message), "{value}: {}", out.stderr);
    }
    // requests_per_target needs a route.
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("compose.yaml");
    std::fs::write(&spec, "name: sc\nservices:\n  worker:\n    image: app:v1\n    x-berth:\n      autoscaling: { min: 1, max: 4, requests_per_target: 100 }\n")
        .expect("write");
    let out = Berth::new(dir.path()).args(["-f".to_string(), spec.display().to_string(), "validate".into()]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("services.worker.x-berth.autoscaling.requests_per_target"), "{}", out.stderr);
    assert!(out.stderr.contains("needs x-berth.route"), "{}", out.stderr);
}

/// On moto: the scalable target, its policies and scheduled action read
/// back with the SDK equal the spec. (The re-plan and destroy need the
/// target's tags, which moto 5.2.5 does not keep: its Application Auto
/// Scaling has no ListTagsForResource. They are tested on the sim above;
/// the last step here notices when moto learns tags.)
#[test]
fn on_moto_the_declared_scaler_reads_back_as_the_spec() {
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    use berth_tests::moto::{block_on, moto, Vpc};
    let Some(moto) = moto() else { return };
    // Shared with autoscaling.rs's moto test, which has its own app and cluster.
    let region = "ap-southeast-6";
    let Vpc { vpc, subnet_a: subnet, .. } = moto.vpc(region, 8, "scaled");
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("compose.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: scaled
x-berth:
  network: {{ vpc_id: {vpc}, subnets: [{subnet}] }}
services:
  worker:
    image: public.ecr.aws/docker/library/busybox:1.37
    command: [sleep, infinity]
    deploy: {{ replicas: 3 }}
    x-berth:
      autoscaling:
        min: 2
        max: 8
        cpu: 65%
        memory: 75
        scale_in_cooldown: 2m
        scale_out_cooldown: 30s
        schedule: [{{ name: nightly, cron: \"0 22 * * ? *\", min: 1, max: 2, timezone: Europe/Berlin }}]
"
        ),
    )
    .expect("write");
    let berth = || moto.berth_in(region).args(["-f".to_string(), spec.display().to_string()]);
    ok(&berth().args(["apply", "--yes", "--wait", "none"]).run());

    let resource = "service/scaled/scaled-worker";
    let read = || {
        block_on(async {
            let sdk = moto.sdk(region).await;
            let targets = sdk
                .autoscaling
                .describe_scalable_targets()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_ids(resource)
                .send()
                .await
                .expect("describe scalable targets");
            let policies = sdk
                .autoscaling
                .describe_scaling_policies()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(resource)
                .send()
                .await
                .expect("describe scaling policies");
            let actions = sdk
                .autoscaling
                .describe_scheduled_actions()
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(resource)
                .send()
                .await
                .expect("describe scheduled actions");
            (targets.scalable_targets().to_vec(), policies.scaling_policies().to_vec(), actions.scheduled_actions().to_vec())
        })
    };
    let (targets, policies, actions) = read();
    assert_eq!(targets.len(), 1, "{targets:?}");
    assert_eq!((targets[0].min_capacity(), targets[0].max_capacity()), (2, 8));
    assert_eq!(targets[0].scalable_dimension(), &ScalableDimension::EcsServiceDesiredCount);
    let mut tracked: Vec<(String, f64, Option<i32>, Option<i32>)> = policies
        .iter()
        .map(|p| {
            let c = p.target_tracking_scaling_policy_configuration().expect("target tracking");
            let metric = c.predefined_metric_specification().expect("predefined metric").predefined_metric_type().as_str().to_string();
            (metric, c.target_value(), c.scale_in_cooldown(), c.scale_out_cooldown())
        })
        .collect();
    tracked.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        tracked,
        vec![
            ("ECSServiceAverageCPUUtilization".to_string(), 65.0, Some(120), Some(30)),
            ("ECSServiceAverageMemoryUtilization".to_string(), 75.0, Some(120), Some(30)),
        ]
    );
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0].scheduled_action_name(), "scaled-worker-nightly");
    assert_eq!(actions[0].schedule(), "cron(0 22 * * ? *)");
    assert_eq!(actions[0].timezone(), Some("Europe/Berlin"));
    let bounds = actions[0].scalable_target_action().map(|a| (a.min_capacity(), a.max_capacity()));
    assert_eq!(bounds, Some((Some(1), Some(2))));

    // Ownership is read from the target's tags; moto cannot answer.
    let again = berth().args(["plan"]).run();
    assert!(
        again.code != 0 && again.stderr.contains("application-autoscaling:ListTagsForResource"),
        "moto now answers ListTagsForResource: make this test re-plan clean and destroy (tests/README.md's moto table):\n{}",
        again.stderr
    );
}

/// `berth iam-policy` for a scaled service: Application Auto Scaling's
/// calls, and what target tracking needs in the caller's name.
#[test]
fn the_iam_policy_covers_declared_scaling() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("compose.yaml");
    std::fs::write(&spec, rolling_spec("app:v1", CPU_60)).expect("write");
    let out = Berth::new(dir.path()).args(["-f".to_string(), spec.display().to_string(), "iam-policy".into()]).run();
    ok(&out);
    let policy: serde_json::Value = serde_json::from_str(&out.stdout).expect("policy JSON");
    let actions: Vec<&str> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(|s| s["Action"].as_array().into_iter().flatten().filter_map(serde_json::Value::as_str))
        .collect();
    for action in [
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:DeregisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:DeleteScalingPolicy",
        "application-autoscaling:PutScheduledAction",
        "application-autoscaling:ListTagsForResource",
        "cloudwatch:PutMetricAlarm",
        "iam:CreateServiceLinkedRole",
    ] {
        assert!(actions.contains(&action), "{action} missing: {actions:?}");
    }
}

#[test]
fn berth_scale_sets_the_count_clamped_to_a_scalers_bounds() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (state, spec) = (dir.path().join("sim.json"), dir.path().join("compose.yaml"));
    std::fs::write(&spec, rolling_spec("app:v1", CPU_60)).expect("write");
    let sim = Sim::open(&state).expect("open sim");
    assert!(apply(&sim, &rolling_spec("app:v1", CPU_60)).0.ok());
    sim.save().expect("save");
    drop(sim);

    let out = cli(dir.path(), &state, &spec).args(["scale", "web", "20"]).run();
    ok(&out);
    assert!(out.stdout.contains("service.web (sc-web): desired count 2 → 10"), "{}", out.stdout);
    assert!(out.stderr.contains("20 is outside the scalable target's bounds 2..10: scaling to 10"), "{}", out.stderr);
    assert!(out.stderr.contains("may change the count again"), "{}", out.stderr);
    assert_eq!(Sim::open(&state).expect("open").state().services[SERVICE].spec.desired_count, Some(10));

    let unknown = cli(dir.path(), &state, &spec).args(["scale", "api", "2"]).run();
    assert_eq!(unknown.code, 1, "{}", unknown.stderr);
    assert!(unknown.stderr.contains("no service \"api\" in the spec") && unknown.stderr.contains("web"), "{}", unknown.stderr);

    // Without a scaler: the count as asked, no warning; the next plan sets the spec's again.
    std::fs::write(&spec, rolling_spec("app:v1", "null")).expect("write");
    let sim = Sim::open(&state).expect("open sim");
    assert!(apply(&sim, &rolling_spec("app:v1", "null")).0.ok());
    sim.save().expect("save");
    drop(sim);
    let out = cli(dir.path(), &state, &spec).args(["scale", "web", "4"]).run();
    ok(&out);
    assert!(!out.stderr.contains("scalable target") && !out.stderr.contains("may change the count"), "{}", out.stderr);
    assert_eq!(Sim::open(&state).expect("open").state().services[SERVICE].spec.desired_count, Some(4));
    let plan = cli(dir.path(), &state, &spec).args(["plan", "--format", "json"]).run();
    ok(&plan);
    assert_eq!(plan_changes(&plan_json(&plan)), vec![("service.web".into(), "update".into(), vec!["desiredCount".into()])]);
}

#[test]
fn a_spot_interruption_stops_the_spot_tasks_and_ecs_replaces_them() {
    let sim = Sim::new();
    let spec = rolling_spec("app:v1", "null")
        .replace("      autoscaling: null\n", "      capacity: { spot: 1, on_demand: 1 }\n")
        .replace("    ports: [\"8080\"]\n", "    ports: [\"8080\"]\n    deploy: { replicas: 4 }\n");
    assert!(apply(&sim, &spec).0.ok());
    sim.advance(60_000);
    let running =
        |sim: &Sim| sim.state().services[SERVICE].tasks.iter().filter(|t| t.state == berth_sim::state::TaskState::Running).count();
    assert_eq!(running(&sim), 4);
    sim.faults_mut().spot_interrupt.push(SERVICE.into());
    sim.advance(2_000);
    let interrupted = sim.state().services[SERVICE].stopped.iter().filter(|t| t.stopped_reason == berth_sim::spot::INTERRUPTED).count();
    assert_eq!(interrupted, 2, "half the tasks ran on FARGATE_SPOT");
    assert!(sim.state().faults.spot_interrupt.is_empty(), "a one-shot fault");
    sim.advance(120_000);
    assert_eq!(running(&sim), 4, "ECS replaced them");
    assert_eq!(sim.state().services[SERVICE].deployments.last().map(|d| d.failed_tasks), Some(0), "not failed launches");
    assert_eq!(berth_sim::Faults::parse("spot_interrupt=sc-web").expect("parse").spot_interrupt, vec!["sc-web".to_string()]);
}

#[test]
fn a_scheduled_action_sets_the_bounds_when_it_fires() {
    let sim = Sim::new();
    let scaling = "{ min: 2, max: 10, cpu: 60%, schedule: [{ name: hourly, cron: \"0 * * * ? *\", min: 4, max: 6 }] }";
    assert!(apply(&sim, &rolling_spec("app:v1", scaling)).0.ok());
    assert_eq!(desired_count(&sim, SERVICE), 2);
    sim.advance(61 * 60_000);
    let t = sim.state().scalable_targets["service/sc/sc-web"].clone();
    assert_eq!((t.min_capacity, t.max_capacity), (4, 6), "the hourly action ran");
    assert_eq!(desired_count(&sim, SERVICE), 4, "and moved the count into its bounds");
    // The plan keeps the bounds the schedule set (it would undo them every hour otherwise).
    let p = plan(&sim, &desired(&rolling_spec("app:v1", scaling)));
    assert!(p.changes.is_empty(), "{:?}", p.changes.iter().map(|c| (&c.address, &c.changed)).collect::<Vec<_>>());
}

#[test]
fn with_a_schedule_a_changed_min_or_max_of_the_spec_still_applies() {
    let sim = Sim::new();
    let scaling =
        |min: u32| format!("{{ min: {min}, max: 10, cpu: 60%, schedule: [{{ name: nightly, cron: \"0 22 * * ? *\", min: 1, max: 2 }}] }}");
    assert!(apply(&sim, &rolling_spec("app:v1", &scaling(2))).0.ok());
    // Before the schedule fires, the live bounds are the spec's: a new min is an update.
    let p = plan(&sim, &desired(&rolling_spec("app:v1", &scaling(3))));
    let change = p.changes.iter().find(|c| c.address == "scaling.web").expect("the scaler changes");
    assert_eq!(change.changed, ["minCapacity"], "{:?}", change.changed);
    assert!(apply(&sim, &rolling_spec("app:v1", &scaling(3))).0.ok());
    let t = sim.state().scalable_targets["service/sc/sc-web"].clone();
    assert_eq!((t.min_capacity, t.max_capacity), (3, 10));
}
