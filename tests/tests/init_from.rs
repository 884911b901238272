//! `berth init --from` a Copilot service manifest or a Compose-on-ECS file
//! (`x-aws-*` keys): the written spec (snapshot-tested), a note per key
//! berth could not map, and a spec that validates and plans on the sim once
//! the placeholders are filled.

use std::path::Path;

use berth_tests::{ok, repo_root, Berth};

/// `berth init --from <fixture>` in a fresh directory: the spec and stderr.
fn init_from(fixture: &str) -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    // The project folder names a Compose app (as `docker compose` names its project).
    let root = dir.path().join("shop");
    let src = repo_root().join("tests/fixtures").join(fixture);
    let dest = root.join(fixture);
    std::fs::create_dir_all(dest.parent().expect("parent")).expect("mkdir");
    std::fs::copy(&src, &dest).expect("copy fixture");
    let out = Berth::new(&root).args(["init", "--from", fixture]).run();
    ok(&out);
    let spec = std::fs::read_to_string(root.join("compose.berth.yaml")).expect("the written spec");
    (dir, spec, out.stderr)
}

fn filled(spec: &str) -> String {
    spec.replace("REPLACE_ME_REGION", "us-west-2")
        .replace("REPLACE_ME_VPC_ID", "vpc-0123")
        .replace("REPLACE_ME_SUBNET_A", "subnet-a")
        .replace("REPLACE_ME_SUBNET_B", "subnet-b")
        .replace("REPLACE_ME_SECURITY_GROUP", "sg-0123")
        .replace("REPLACE_ME_LISTENER_ARN", "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/app/x/1/2")
        .replace("REPLACE_ME_EXECUTION_ROLE_ARN", "arn:aws:iam::123456789012:role/app-execution")
        .replace("REPLACE_ME_SECRET_ARN", "arn:aws:secretsmanager:us-west-2:123456789012:secret:app/secret-AbCdEf")
        .replace("REPLACE_ME_ACCOUNT", "123456789012")
}

/// The filled spec validates, and plans and applies on the sim.
fn plans_on_the_sim(dir: &Path, spec: &str) -> serde_json::Value {
    std::fs::write(dir.join("compose.berth.yaml"), filled(spec)).expect("write");
    let state = dir.join("sim.json");
    let berth = || {
        Berth::new(dir).args([
            "--sim-state".to_string(),
            state.display().to_string(),
            "-f".into(),
            "compose.berth.yaml".into(),
            "--allow-mutable-tags".into(),
        ])
    };
    let out = berth().args(["plan", "--format", "json"]).run();
    ok(&out);
    ok(&berth().args(["apply", "--yes"]).run());
    let again = berth().args(["plan", "--detailed-exitcode"]).run();
    assert_eq!(again.code, 0, "clean after apply:\n{}\n{}", again.stdout, again.stderr);
    serde_json::from_str(&out.stdout).expect("plan JSON")
}

fn addresses(plan: &serde_json::Value) -> Vec<String> {
    plan["changes"].as_array().expect("changes").iter().filter_map(|c| c["address"].as_str().map(str::to_string)).collect()
}

#[test]
fn a_load_balanced_web_service_converts_with_its_range_spot_and_sidecar() {
    let (dir, spec, stderr) = init_from("copilot/frontend/manifest.yml");
    insta::assert_snapshot!("copilot_frontend", spec);
    for note in [
        "http.alias: set the rule's hosts",
        "count.response_time: target tracking on response time is not converted",
        "exec: ECS Exec is not set up by berth",
        "environments (prod): per-environment overrides are not converted",
        "http.healthcheck.timeout: not converted",
        "count.memory_percentage.cooldown: berth's cooldowns are the scaler's",
    ] {
        assert!(stderr.contains(note), "note {note:?} missing:\n{stderr}");
    }
    let plan = plans_on_the_sim(&dir.path().join("shop"), &spec);
    let a = addresses(&plan);
    for want in ["service.frontend", "tg.frontend", "rule.frontend/0", "scaling.frontend", "taskdef.frontend"] {
        assert!(a.iter().any(|x| x == want), "{want} in {a:?}");
    }
    let changes = plan["changes"].as_array().expect("changes");
    let svc = changes.iter().find(|c| c["address"] == "service.frontend").expect("service");
    // spot_from: 3 → the first two tasks on Fargate, the rest on Spot.
    assert_eq!(
        svc["after"]["capacityProviderStrategy"],
        serde_json::json!([{"base": 2, "capacityProvider": "FARGATE", "weight": 0}, {"base": 0, "capacityProvider": "FARGATE_SPOT", "weight": 1}])
    );
    let scaling = changes.iter().find(|c| c["address"] == "scaling.frontend").expect("scaling");
    assert_eq!((scaling["after"]["minCapacity"].as_u64(), scaling["after"]["maxCapacity"].as_u64()), (Some(2), Some(10)));
    let td = changes.iter().find(|c| c["address"] == "taskdef.frontend").expect("task definition");
    let names: Vec<&str> =
        td["after"]["containerDefinitions"].as_array().expect("containers").iter().filter_map(|c| c["name"].as_str()).collect();
    assert!(names.contains(&"frontend") && names.contains(&"nginx"), "the sidecar joins the task: {names:?}");
}

#[test]
fn a_worker_service_converts_with_spot_and_notes_its_subscriptions() {
    let (dir, spec, stderr) = init_from("copilot/orders-worker/manifest.yml");
    insta::assert_snapshot!("copilot_orders_worker", spec);
    assert!(stderr.contains("subscribe: the worker's SNS topic subscriptions and SQS queue (2 topics)"), "{stderr}");
    let plan = plans_on_the_sim(&dir.path().join("shop"), &spec);
    let a = addresses(&plan);
    assert!(a.iter().any(|x| x == "service.orders-worker") && !a.iter().any(|x| x.starts_with("tg.")), "{a:?}");
    let svc = plan["changes"].as_array().expect("changes").iter().find(|c| c["address"] == "service.orders-worker").expect("svc");
    assert_eq!(svc["after"]["desiredCount"], 3);
    assert_eq!(svc["after"]["capacityProviderStrategy"], serde_json::json!([{"base": 0, "capacityProvider": "FARGATE_SPOT", "weight": 1}]));
}

#[test]
fn a_compose_on_ecs_file_maps_its_x_aws_keys() {
    let (dir, spec, stderr) = init_from("compose-on-ecs/compose.yaml");
    insta::assert_snapshot!("compose_on_ecs", spec);
    for note in [
        "x-aws-loadbalancer: berth routes through a listener",
        "x-aws-cloudformation: CloudFormation overlays have no berth equivalent",
        "services.web.x-aws-role: berth does not create IAM roles",
        "services.worker.x-aws-pull_credentials: private registry credentials",
        "services.worker.x-aws-policies: berth does not create IAM roles",
    ] {
        assert!(stderr.contains(note), "note {note:?} missing:\n{stderr}");
    }
    assert!(!spec.lines().any(|l| l.trim_start().starts_with("x-aws-")), "every x-aws key is commented out:\n{spec}");
    let plan = plans_on_the_sim(&dir.path().join("shop"), &spec);
    let changes = plan["changes"].as_array().expect("changes");
    let cluster = changes.iter().find(|c| c["kind"] == "cluster").expect("cluster");
    assert_eq!(cluster["address"], "cluster.legacy-shop", "x-aws-cluster");
    let scaling = changes.iter().find(|c| c["address"] == "scaling.web").expect("x-aws-autoscaling");
    assert_eq!(scaling["after"]["scalingPolicies"][0]["targetTrackingScalingPolicyConfiguration"]["targetValue"], 75.0);
    let web = changes.iter().find(|c| c["address"] == "service.web").expect("web");
    assert_eq!(web["after"]["deploymentConfiguration"]["minimumHealthyPercent"], 50, "x-aws-min_percent");
    assert_eq!(web["after"]["deploymentConfiguration"]["maximumPercent"], 150, "x-aws-max_percent");
    let tg = changes.iter().find(|c| c["address"] == "tg.web").expect("routed");
    assert_eq!(tg["after"]["vpcId"], "vpc-0abc1234def567890", "x-aws-vpc");
    let logs = changes.iter().find(|c| c["kind"] == "log_group").expect("log group");
    assert_eq!(logs["after"]["retentionInDays"], 14, "x-aws-logs_retention");
}

#[test]
fn other_copilot_types_are_refused_with_the_ones_berth_converts() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("manifest.yml"),
        "name: report\ntype: Scheduled Job\nimage: { location: busybox }\non: { schedule: \"@daily\" }\n",
    )
    .expect("write");
    let out = Berth::new(dir.path()).args(["init", "--from", "manifest.yml"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("a Copilot \"Scheduled Job\" has no berth equivalent"), "{}", out.stderr);
    assert!(out.stderr.contains("\"Load Balanced Web Service\", \"Backend Service\", \"Worker Service\""), "{}", out.stderr);
    assert!(!dir.path().join("compose.berth.yaml").exists(), "nothing written");
}
