//! Never fight the scaler: a service with an Application Auto Scaling
//! scalable target that berth did not create keeps the desired count the
//! scaler chose; the plan says why. On the sim here (the target registered
//! through the sim's API); on moto in tests/tests/moto.rs.

use berth_tests::{ok, plan_changes as changes, plan_json, SimAccount};
use serde_json::Value;

const SERVICE: &str = "hello-web";

/// What a scaler does, out of band: a scalable target on the service's
/// desired count (min 2, max 10), and the count it scaled to.
fn scale_out_of_band(account: &SimAccount, count: u32) {
    let sim = berth_sim::Sim::open(&account.state_path()).expect("open sim");
    let cluster = sim.state().services[SERVICE].spec.cluster.clone();
    sim.register_scalable_target(&cluster, SERVICE, 2, 10);
    assert!(sim.set_desired_count(SERVICE, count));
    // The scheduler starts the tasks the scaler asked for.
    sim.advance(120_000);
    sim.save().expect("save sim");
}

/// The plan's warnings about autoscaling.
fn warnings(plan: &Value) -> Vec<String> {
    let all = plan["warnings"].as_array().map(Vec::as_slice).unwrap_or_default();
    all.iter().filter_map(Value::as_str).filter(|w| w.starts_with(berth_plan::AUTOSCALING_WARNING)).map(str::to_string).collect()
}

const WHY: &str = "desiredCount is managed by Application Auto Scaling (min 2, max 10): berth leaves it at 6, not the spec's 2";

#[test]
fn a_scalable_target_registered_out_of_band_is_never_rescaled() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    assert_eq!(account.read(|s| s.services[SERVICE].spec.desired_count), Some(2), "replicas: 2");
    scale_out_of_band(&account, 6);
    assert_eq!(account.read(|s| s.services[SERVICE].tasks.len()), 6, "the scaled-out tasks run");

    // The count differs from the spec's replicas, yet nothing is to change; the plan says why.
    let same = account.berth("web", "1.27").args(["plan", "--detailed-exitcode"]).run();
    assert_eq!(same.code, 0, "no desiredCount change:\n{}\n{}", same.stdout, same.stderr);
    assert!(same.stderr.contains(&format!("warning: service.web: {WHY}")), "{}", same.stderr);

    // An image change: the service update keeps 6.
    let out = account.berth("web", "1.28").args(["plan", "--format", "json"]).run();
    ok(&out);
    let plan = plan_json(&out);
    assert_eq!(
        changes(&plan),
        vec![
            ("taskdef.web".into(), "update".into(), vec!["containerDefinitions[web].image".into()]),
            ("service.web".into(), "update".into(), vec!["taskDefinition".into()]),
        ]
    );
    let svc = plan["changes"].as_array().expect("changes").iter().find(|c| c["address"] == "service.web").expect("service.web");
    assert_eq!(svc["after"]["desiredCount"], 6, "{svc:#}");
    assert_eq!(svc["before"]["desiredCount"], 6, "{svc:#}");
    assert!(svc["before"].get("scalableTarget").is_none(), "observed only, not compared: {svc:#}");
    assert_eq!(svc["reason"], format!("deploys the new task definition revision; {WHY}"));
    assert_eq!(warnings(&plan), vec![format!("warning: autoscaling: service.web: {WHY}")]);
    let human = account.berth("web", "1.28").args(["plan"]).run();
    ok(&human);
    assert!(human.stdout.contains(WHY), "the human plan gives the reason:\n{}", human.stdout);
    assert!(!human.stdout.contains("\"desiredCount\": 2"), "{}", human.stdout);

    // Apply deploys the new image at the scaler's count.
    ok(&account.berth("web", "1.28").args(["apply", "--yes"]).run());
    let (desired, images) = account.read(|s| {
        let svc = &s.services[SERVICE];
        let td = &svc.deployments.last().expect("a deployment").task_definition;
        let family = &s.task_definitions["hello-web"];
        let image = family.iter().find(|r| &r.arn == td).map(|r| r.spec.container_definitions[0].image.clone());
        (svc.spec.desired_count, image)
    });
    assert_eq!(desired, Some(6), "apply left the scaler's count");
    assert!(images.is_some_and(|i| i.contains("1.28")), "the new image is deployed");
    assert_eq!(account.read(|s| s.services[SERVICE].tasks.iter().filter(|t| t.state == berth_sim::state::TaskState::Running).count()), 6);
    let after = account.berth("web", "1.28").args(["plan", "--detailed-exitcode"]).run();
    assert_eq!(after.code, 0, "clean after apply:\n{}\n{}", after.stdout, after.stderr);
}

#[test]
fn at_the_spec_count_the_plan_has_nothing_to_say() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    scale_out_of_band(&account, 2);
    let out = account.berth("web", "1.27").args(["plan", "--format", "json", "--detailed-exitcode"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(warnings(&plan_json(&out)).is_empty(), "{}", out.stdout);
}

#[test]
fn a_first_deploy_starts_at_the_spec_count() {
    let account = SimAccount::new();
    // A target registered before the service exists (by someone else, ahead of time).
    let sim = berth_sim::Sim::open(&account.state_path()).expect("open sim");
    sim.register_scalable_target("hello", SERVICE, 3, 10);
    sim.save().expect("save sim");
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    assert_eq!(account.read(|s| s.services[SERVICE].spec.desired_count), Some(2));
}

#[test]
fn without_a_scalable_target_drift_in_the_count_is_reset() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    account.edit(|s| s.services.get_mut(SERVICE).expect("service").spec.desired_count = Some(6));
    let out = account.berth("web", "1.27").args(["plan", "--format", "json"]).run();
    ok(&out);
    assert_eq!(changes(&plan_json(&out)), vec![("service.web".into(), "update".into(), vec!["desiredCount".into()])]);
}

/// The same on moto: the scalable target registered with the SDK
/// (RegisterScalableTarget), the count the scaler chose set with
/// UpdateService, read back with DescribeServices after berth's apply.
#[test]
fn on_moto_a_scalable_target_registered_with_the_sdk_is_never_rescaled() {
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    use berth_tests::moto::{block_on, moto};
    let Some(moto) = moto() else { return };
    // A region no other test uses.
    let region = "ap-southeast-6";
    let net = moto.network(region);
    // moto drops the deployment configuration on CreateService: a second apply sets it.
    ok(&moto.berth(&net, "web").args(["apply", "--yes", "--wait", "none"]).run());
    ok(&moto.berth(&net, "web").args(["apply", "--yes", "--wait", "none"]).run());
    let desired_count = || {
        block_on(async {
            let sdk = moto.sdk(region).await;
            let out = sdk.ecs.describe_services().cluster("hello").services(SERVICE).send().await.expect("describe services");
            out.services()[0].desired_count()
        })
    };
    assert_eq!(desired_count(), 2, "replicas: 2");
    block_on(async {
        let sdk = moto.sdk(region).await;
        sdk.autoscaling
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(format!("service/hello/{SERVICE}"))
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .min_capacity(2)
            .max_capacity(10)
            .send()
            .await
            .expect("register scalable target");
        sdk.ecs.update_service().cluster("hello").service(SERVICE).desired_count(6).send().await.expect("scale out");
    });

    let same = moto.berth(&net, "web").args(["plan", "--detailed-exitcode"]).run();
    assert_eq!(same.code, 0, "no desiredCount change:\n{}\n{}", same.stdout, same.stderr);
    assert!(same.stderr.contains(&format!("warning: service.web: {WHY}")), "{}", same.stderr);

    let image_change = || moto.berth(&net, "web").args(["--var", "TAG=abc1235"]);
    let out = image_change().args(["plan", "--format", "json"]).run();
    ok(&out);
    let plan = plan_json(&out);
    let svc = plan["changes"].as_array().expect("changes").iter().find(|c| c["address"] == "service.web").expect("service.web");
    assert_eq!(svc["changed"], serde_json::json!(["taskDefinition"]), "{svc:#}");
    assert_eq!(svc["after"]["desiredCount"], 6, "{svc:#}");
    assert_eq!(svc["reason"], format!("deploys the new task definition revision; {WHY}"));
    assert_eq!(warnings(&plan), vec![format!("warning: autoscaling: service.web: {WHY}")]);

    ok(&image_change().args(["apply", "--yes", "--wait", "none"]).run());
    assert_eq!(desired_count(), 6, "apply left the scaler's count");
    let after = image_change().args(["plan", "--detailed-exitcode"]).run();
    assert_eq!(after.code, 0, "clean after apply:\n{}\n{}", after.stdout, after.stderr);
}
