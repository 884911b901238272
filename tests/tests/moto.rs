//! The AWS backend over the real wire protocols, against the moto emulator
//! (started by `tests/run`). Each test works in a region of its own, so
//! tests never see each other's resources. What berth did is read back with
//! the AWS SDK, not with berth.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use berth_tests::moto::{block_on, moto, Moto, Network};
use berth_tests::{ok, plan_json, started_changes, Berth, Output};

fn render(moto: &Moto, net: &Network, example: &str) -> serde_json::Value {
    let out = moto.berth(net, example).args(["render"]).run();
    ok(&out);
    serde_json::from_str(&out.stdout).expect("render JSON")
}

fn specs<'a>(rendered: &'a serde_json::Value, kind: &str) -> Vec<&'a serde_json::Value> {
    rendered["resources"].as_array().expect("resources").iter().filter(|r| r["kind"] == kind).map(|r| &r["spec"]).collect()
}

/// Fields moto does not keep on CreateService (listed in tests/README.md);
/// a second apply sets them with UpdateService, which moto does keep.
const MOTO_DROPS_ON_CREATE: &[&str] = &[
    "deploymentConfiguration.deploymentCircuitBreaker.enable",
    "deploymentConfiguration.deploymentCircuitBreaker.rollback",
    "deploymentConfiguration.maximumPercent",
    "deploymentConfiguration.minimumHealthyPercent",
    "enableECSManagedTags",
    "healthCheckGracePeriodSeconds",
    "serviceConnectConfiguration",
];

/// Apply from an empty account, read everything back with the SDK, then
/// re-plan: nothing left but what moto drops; after a second apply, nothing.
fn example_round_trip(region: &str, example: &str) {
    let Some(moto) = moto() else { return };
    let net = moto.network(region);
    if example == "shop" {
        moto.prepare_shop(region, &["abc1234"]);
    }
    let rendered = render(&moto, &net, example);
    // Not waiting (which also skips the verifying re-plan): moto drops some
    // service fields on create, so the account differs until the next apply.
    ok(&moto.berth(&net, example).args(["apply", "--yes", "--wait", "none"]).run());

    let app = rendered["app"].as_str().expect("app").to_string();
    block_on(async {
        let sdk = moto.sdk(region).await;
        let cluster = specs(&rendered, "cluster")[0]["clusterName"].as_str().expect("cluster").to_string();
        for td in specs(&rendered, "task_definition") {
            let family = td["family"].as_str().expect("family");
            let live = sdk.ecs.describe_task_definition().task_definition(family).send().await.expect("task definition exists");
            let live = live.task_definition().expect("task definition");
            assert_eq!(live.cpu(), td["cpu"].as_str(), "{family}");
            assert_eq!(live.memory(), td["memory"].as_str(), "{family}");
            for c in td["containerDefinitions"].as_array().expect("containers") {
                let lc = live.container_definitions().iter().find(|l| l.name() == c["name"].as_str()).expect("container");
                // The rendered tag, or (for an ECR image) the digest it was pinned to.
                let (live_image, rendered) = (lc.image().unwrap_or_default(), c["image"].as_str().unwrap_or_default());
                let pinned = rendered
                    .rsplit_once(':')
                    .is_some_and(|(repo, _)| live_image.contains('@') && live_image.split('@').next().is_some_and(|l| l.ends_with(repo)));
                assert!(live_image == rendered || pinned, "{live_image} deploys {rendered}");
                assert_eq!(lc.environment().len(), c["environment"].as_array().map_or(0, Vec::len));
                assert_eq!(lc.port_mappings().len(), c["portMappings"].as_array().map_or(0, Vec::len));
            }
        }
        for svc in specs(&rendered, "service") {
            let name = svc["serviceName"].as_str().expect("name");
            let out = sdk.ecs.describe_services().cluster(&cluster).services(name).send().await.expect("describe");
            let live = out.services().first().unwrap_or_else(|| panic!("service {name}"));
            assert_eq!(live.status(), Some("ACTIVE"));
            assert_eq!(live.desired_count(), svc["desiredCount"].as_i64().unwrap_or(0) as i32, "{name}");
            let family = svc["taskDefinition"].as_str().expect("family");
            assert!(live.task_definition().is_some_and(|t| t.contains(&format!("task-definition/{family}:"))), "{name} runs its family");
            assert_eq!(live.load_balancers().len(), svc["loadBalancers"].as_array().map_or(0, Vec::len), "{name}");
            assert_eq!(live.service_registries().len(), svc["serviceRegistries"].as_array().map_or(0, Vec::len), "{name}");
        }
        for tg in specs(&rendered, "target_group") {
            let name = tg["name"].as_str().expect("name");
            let out = sdk.elb.describe_target_groups().names(name).send().await.expect("target group exists");
            let live = &out.target_groups()[0];
            assert_eq!(live.health_check_path(), tg["healthCheckPath"].as_str());
            assert_eq!(live.target_type().map(|t| t.as_str()), tg["targetType"].as_str());
            assert_eq!(live.port(), tg["port"].as_i64().map(|p| p as i32));
        }
        let rules = sdk.elb.describe_rules().listener_arn(&net.listener).send().await.expect("rules");
        let ours: Vec<_> = rules.rules().iter().filter(|r| r.is_default() != Some(true)).collect();
        assert_eq!(ours.len(), specs(&rendered, "listener_rule").len());
        for r in ours {
            let paths = r
                .conditions()
                .iter()
                .find(|c| c.field() == Some("path-pattern"))
                .and_then(|c| c.path_pattern_config())
                .map(|p| p.values().to_vec());
            assert!(paths.is_some_and(|p| !p.is_empty()), "each rule matches paths");
            let forward = r.actions()[0].forward_config().expect("forward");
            assert!(!forward.target_groups().is_empty());
        }
        for repo in specs(&rendered, "ecr_repository") {
            let name = repo["repositoryName"].as_str().expect("name");
            let policy = sdk.ecr.get_lifecycle_policy().repository_name(name).send().await.expect("lifecycle policy");
            let live: serde_json::Value = serde_json::from_str(policy.lifecycle_policy_text().expect("text")).expect("json");
            assert_eq!(live, repo["lifecyclePolicy"], "{name}: lifecycle policy reads back equal");
        }
        let cloud_map: BTreeSet<String> =
            specs(&rendered, "cloud_map_service").iter().filter_map(|s| s["name"].as_str().map(str::to_string)).collect();
        if !cloud_map.is_empty() {
            let listed = sdk.sd.list_services().send().await.expect("list");
            let live: BTreeSet<String> = listed.services().iter().filter_map(|s| s.name().map(str::to_string)).collect();
            assert_eq!(live, cloud_map);
        }
    });

    let first = plan_json(&moto.berth(&net, example).args(["plan", "--format", "json"]).run());
    for c in first["changes"].as_array().expect("changes") {
        assert_eq!(c["kind"], "service", "only services differ after one apply: {c:#}");
        for path in c["changed"].as_array().expect("changed") {
            let p = path.as_str().unwrap_or_default();
            assert!(MOTO_DROPS_ON_CREATE.iter().any(|d| p.starts_with(d)), "{app}: {p} did not round-trip through moto");
        }
    }
    ok(&moto.berth(&net, example).args(["apply", "--yes", "--wait", "none"]).run());
    let again = moto.berth(&net, example).args(["plan", "--detailed-exitcode", "--format", "json"]).run();
    let never: Vec<String> = plan_json(&again)["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .flat_map(|c| c["changed"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect();
    if never.is_empty() {
        assert_eq!(again.code, 0, "{example}: a plan after apply is empty");
    } else {
        // moto never reports a service's Service Connect configuration
        // (tests/README.md); the recorded-response tests cover its round trip.
        assert!(never.iter().all(|p| p == MOTO_NEVER_RETURNS), "{example}: {never:?}");
    }
}

/// What moto never returns, even after UpdateService (tests/README.md).
const MOTO_NEVER_RETURNS: &str = "serviceConnectConfiguration";

#[test]
fn example_web_round_trips_on_moto() {
    example_round_trip("us-east-2", "web");
}

#[test]
fn example_shop_round_trips_on_moto() {
    example_round_trip("us-west-1", "shop");
}

#[test]
fn example_wordpress_round_trips_on_moto() {
    example_round_trip("us-west-2", "wordpress");
}

#[test]
fn drift_made_with_the_sdk_is_reported_by_field() {
    let Some(moto) = moto() else { return };
    let net = moto.network("eu-west-2");
    ok(&moto.berth(&net, "web").args(["apply", "--yes", "--wait", "none"]).run());
    ok(&moto.berth(&net, "web").args(["apply", "--yes"]).run());
    block_on(async {
        let sdk = moto.sdk("eu-west-2").await;
        // A new revision with another environment variable, set on the service.
        let td = sdk.ecs.describe_task_definition().task_definition("hello-web").send().await.expect("td");
        let td = td.task_definition().expect("td").clone();
        let mut c = td.container_definitions()[0].clone();
        c.environment.get_or_insert_with(Vec::new).push(aws_sdk_ecs::types::KeyValuePair::builder().name("DEBUG").value("1").build());
        let new = sdk
            .ecs
            .register_task_definition()
            .family("hello-web")
            .set_network_mode(td.network_mode().cloned())
            .container_definitions(c)
            .set_requires_compatibilities(Some(td.requires_compatibilities().to_vec()))
            .set_cpu(td.cpu().map(str::to_string))
            .set_memory(td.memory().map(str::to_string))
            .send()
            .await
            .expect("register");
        let arn = new.task_definition().and_then(|t| t.task_definition_arn()).expect("arn").to_string();
        sdk.ecs.update_service().cluster("hello").service("hello-web").task_definition(arn).desired_count(5).send().await.expect("update");
        let rules = sdk.elb.describe_rules().listener_arn(&net.listener).send().await.expect("rules");
        let ours = rules.rules().iter().find(|r| r.is_default() != Some(true)).and_then(|r| r.rule_arn()).expect("our rule").to_string();
        sdk.elb.delete_rule().rule_arn(ours).send().await.expect("delete rule");
    });
    let out = moto.berth(&net, "web").args(["plan", "--format", "json", "--detailed-exitcode"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    let plan = plan_json(&out);
    let changes: Vec<(String, String, Vec<String>)> = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            let changed =
                c["changed"].as_array().map(|a| a.iter().filter_map(|p| p.as_str().map(str::to_string)).collect()).unwrap_or_default();
            (c["address"].as_str().unwrap_or_default().into(), c["action"].as_str().unwrap_or_default().into(), changed)
        })
        .collect();
    let td = changes.iter().find(|c| c.0 == "taskdef.web").expect("task definition change");
    // The hand-made revision has an environment the spec does not, and none of our tags.
    assert_eq!(td.2, vec!["containerDefinitions[web].environment".to_string(), "tags".into()], "{changes:#?}");
    assert!(changes.contains(&("rule.web/0".into(), "create".into(), vec![])), "{changes:#?}");
    let svc = changes.iter().find(|c| c.0 == "service.web").expect("service change");
    assert!(svc.2.contains(&"desiredCount".to_string()) && svc.2.contains(&"taskDefinition".to_string()), "{svc:?}");
    // And apply repairs it.
    ok(&moto.berth(&net, "web").args(["apply", "--yes"]).run());
    assert_eq!(moto.berth(&net, "web").args(["plan", "--detailed-exitcode"]).run().code, 0);
}

#[test]
fn same_named_resource_without_our_tags_is_a_conflict_and_untouched() {
    let Some(moto) = moto() else { return };
    let net = moto.network("eu-west-3");
    let before = block_on(async {
        let sdk = moto.sdk("eu-west-3").await;
        let tg = sdk
            .elb
            .create_target_group()
            .name("hello-web")
            .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
            .port(8080)
            .vpc_id(&net.vpc)
            .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Ip)
            .health_check_path("/legacy")
            .send()
            .await
            .expect("create foreign target group");
        tg.target_groups()[0].clone()
    });
    for args in [vec!["plan"], vec!["apply", "--yes"]] {
        let out = moto.berth(&net, "web").args(args.clone()).run();
        assert_eq!(out.code, 1, "{args:?}");
        assert!(
            out.stderr.contains("tg.web (") && out.stderr.contains("exists and is not managed by berth for app hello"),
            "{}",
            out.stderr
        );
    }
    block_on(async {
        let sdk = moto.sdk("eu-west-3").await;
        let now = sdk.elb.describe_target_groups().names("hello-web").send().await.expect("still there");
        let now = &now.target_groups()[0];
        assert_eq!(
            (now.target_group_arn(), now.health_check_path(), now.port()),
            (before.target_group_arn(), before.health_check_path(), before.port()),
            "untouched"
        );
        let tags = sdk.elb.describe_tags().resource_arns(now.target_group_arn().unwrap_or_default()).send().await.expect("tags");
        assert!(tags.tag_descriptions()[0].tags().is_empty(), "no tags were added");
        let clusters = sdk.ecs.list_clusters().send().await.expect("clusters");
        assert!(clusters.cluster_arns().is_empty(), "a refused plan creates nothing");
    });
}

/// More than 100 services and task definition families in the account, of
/// this app and of others: every page is read, batches are full, and only
/// ours are seen.
#[test]
fn pagination_over_a_hundred_services_and_families() {
    let Some(moto) = moto() else { return };
    let net = moto.network("ap-southeast-1");
    ok(&moto.berth(&net, "web").args(["apply", "--yes", "--wait", "none"]).run());
    ok(&moto.berth(&net, "web").args(["apply", "--yes"]).run());
    block_on(async {
        let sdk = moto.sdk("ap-southeast-1").await;
        for i in 0..110 {
            let family = if i % 2 == 0 { format!("other-{i}") } else { format!("hello-extra-{i}") };
            sdk.ecs
                .register_task_definition()
                .family(&family)
                .container_definitions(aws_sdk_ecs::types::ContainerDefinition::builder().name("x").image("busybox").memory(128).build())
                .send()
                .await
                .expect("register");
            sdk.ecs
                .create_service()
                .cluster("hello")
                .service_name(&family)
                .task_definition(&family)
                .desired_count(0)
                .send()
                .await
                .expect("service");
        }
    });
    let start = Instant::now();
    let out = moto.berth(&net, "web").args(["plan", "--detailed-exitcode", "--stats"]).run();
    let took = start.elapsed();
    assert_eq!(out.code, 0, "foreign services and families are not ours:\n{}\n{}", out.stdout, out.stderr);
    let count = |op: &str| -> u64 {
        out.stderr
            .lines()
            .find(|l| l.trim_end().ends_with(op))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    // (moto answers ListServices in one page whatever maxResults says; paging
    // through nextToken is covered by a recorded-response test.)
    assert!(count("ecs:ListServices") >= 1, "{}", out.stderr);
    assert_eq!(count("ecs:DescribeServices"), 12, "111 services: 12 batches of up to 10\n{}", out.stderr);
    assert_eq!(count("ecs:ListTaskDefinitionFamilies"), 1, "{}", out.stderr);
    assert!(took < Duration::from_secs(20), "plan took {took:?}");
}

/// Every operation berth called on moto is allowed by `berth iam-policy`.
#[test]
fn iam_policy_covers_every_call_berth_makes() {
    let Some(moto) = moto() else { return };
    let net = moto.network("ca-central-1");
    moto.prepare_shop("ca-central-1", &["abc1234"]);
    let mut called: BTreeSet<String> = BTreeSet::new();
    let mut record = |out: &Output| {
        for line in out.stderr.lines().skip_while(|l| !l.starts_with("AWS API calls:")).skip(1) {
            if let Some(op) = line.split_whitespace().nth(1) {
                called.insert(op.to_string());
            }
        }
    };
    for args in [
        vec!["apply", "--yes", "--wait", "none", "--stats"],
        vec!["apply", "--yes", "--stats"],
        vec!["plan", "--stats"],
        vec!["status", "--stats"],
        vec!["logs", "--stats"],
        vec!["destroy", "--yes", "--delete-images", "--stats"],
    ] {
        let out = moto.berth(&net, "shop").args(args.clone()).run();
        ok(&out);
        record(&out);
    }
    assert!(called.len() > 20, "recorded calls: {called:?}");
    // The log group's lifecycle and `berth logs` are among them.
    // So is the read of the services' scalable targets.
    for op in [
        "logs:CreateLogGroup",
        "logs:PutRetentionPolicy",
        "logs:FilterLogEvents",
        "logs:DeleteLogGroup",
        "application-autoscaling:DescribeScalableTargets",
    ] {
        assert!(called.contains(op), "{op} in {called:?}");
    }
    let policy = moto.berth(&net, "shop").args(["iam-policy"]).run();
    ok(&policy);
    let policy: serde_json::Value = serde_json::from_str(&policy.stdout).expect("policy JSON");
    let allowed: BTreeSet<String> = policy["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(|s| s["Action"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    let missing: Vec<&String> = called.iter().filter(|c| !allowed.contains(*c)).collect();
    assert!(missing.is_empty(), "berth called actions its policy does not allow: {missing:?}");
}

#[test]
fn no_region_and_no_credentials_fail_fast_with_what_to_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("compose.yaml"),
        "name: app\nx-berth: { network: { subnets: [subnet-0a] }, execution_role_arn: arn:aws:iam::123456789012:role/app-exec }\nservices:\n  web:\n    image: nginx\n",
    )
    .expect("write");
    let start = Instant::now();
    let out = Berth::new(dir.path()).args(["--backend", "aws", "plan"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no AWS region: pass --region"), "{}", out.stderr);
    assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());

    // A region but no credentials: the standard chain (which reads the
    // process environment and ~/.aws, empty in CI) gives up within seconds.
    let start = Instant::now();
    let out =
        Berth::new(dir.path()).args(["--backend", "aws", "--region", "eu-north-1", "--endpoint-url", "http://127.0.0.1:9", "plan"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no AWS credentials found") || out.stderr.contains("could not reach AWS"), "{}", out.stderr);
    assert!(start.elapsed() < Duration::from_secs(15), "took {:?}", start.elapsed());
}

/// A blue/green deployment's API calls on moto: the idle color's service
/// created with the new revision, the listener rule's weights shifted, the
/// old color scaled to zero — each read back with the SDK. (moto registers
/// no tasks as targets, so the test registers the targets the health gate
/// waits for; progress itself is covered by the sim and recorded responses.)
#[test]
fn blue_green_steps_are_accepted_and_read_back() {
    let Some(moto) = moto() else { return };
    let region = "ap-northeast-3";
    let net = moto.network(region);
    moto.prepare_shop(region, &["v1", "v2"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let fast = dir.path().join("fast.yaml");
    std::fs::write(&fast, "services:\n  web:\n    x-berth:\n      strategy: { blue_green: { traffic: all_at_once, bake: 0s } }\n")
        .expect("write");
    let berth = |tag: &str| {
        moto.berth(&net, "shop").args([
            "-f".to_string(),
            fast.display().to_string(),
            "--var".into(),
            format!("TAG={tag}"),
            "--var".into(),
            "REGISTRY=reg.example".to_string(),
        ])
    };
    ok(&berth("v1").args(["apply", "--yes", "--wait", "none"]).run());
    ok(&berth("v1").args(["apply", "--yes"]).run());
    block_on(async {
        let sdk = moto.sdk(region).await;
        let tg = sdk.elb.describe_target_groups().names("shop-web-green").send().await.expect("green target group");
        let arn = tg.target_groups()[0].target_group_arn().expect("arn").to_string();
        let mut req = sdk.elb.register_targets().target_group_arn(&arn);
        for i in 0..4 {
            req = req.targets(
                aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder().id(format!("10.9.1.{}", 10 + i)).port(8080).build(),
            );
        }
        req.send().await.expect("register targets");
    });
    let out = berth("v2").args(["apply", "--yes", "--timeout", "2m"]).run();
    assert!(out.stderr.contains("shop-web: traffic blue 0%, green 100%"), "{}", out.stderr);
    assert!(out.stderr.contains("Apply complete: 0 created,"), "{}", out.stderr);
    if out.code != 0 {
        // The verifying re-plan sees what moto dropped when it created the green service.
        let line = out.stderr.lines().find(|l| l.contains("still differs")).unwrap_or_else(|| panic!("{}", out.stderr));
        let fields = line.split("changed: ").nth(1).unwrap_or_default().trim_end_matches(')');
        assert!(fields.split(", ").all(|f| MOTO_DROPS_ON_CREATE.iter().any(|d| f.starts_with(d))), "{line}");
    }
    block_on(async {
        let sdk = moto.sdk(region).await;
        let services = sdk
            .ecs
            .describe_services()
            .cluster("shop")
            .services("shop-web-blue")
            .services("shop-web-green")
            .send()
            .await
            .expect("services");
        let by_name = |n: &str| services.services().iter().find(|s| s.service_name() == Some(n)).cloned().unwrap_or_else(|| panic!("{n}"));
        assert_eq!(by_name("shop-web-blue").desired_count(), 0, "the old color is scaled to zero");
        assert_eq!(by_name("shop-web-green").desired_count(), 4);
        assert!(by_name("shop-web-green").task_definition().is_some_and(|t| t.ends_with("task-definition/shop-web:2")));
        assert!(by_name("shop-web-blue").task_definition().is_some_and(|t| t.ends_with("task-definition/shop-web:1")));
        let rules = sdk.elb.describe_rules().listener_arn(&net.listener).send().await.expect("rules");
        let rule = rules.rules().iter().find(|r| r.is_default() != Some(true)).expect("our rule");
        let tgs = rule.actions()[0].forward_config().expect("forward").target_groups();
        let tg_names = sdk.elb.describe_target_groups().names("shop-web-blue").names("shop-web-green").send().await.expect("tgs");
        let arn_of = |n: &str| {
            tg_names
                .target_groups()
                .iter()
                .find(|t| t.target_group_name() == Some(n))
                .and_then(|t| t.target_group_arn())
                .expect("arn")
                .to_string()
        };
        let weight = |arn: &str| tgs.iter().find(|t| t.target_group_arn() == Some(arn)).and_then(|t| t.weight());
        assert_eq!(weight(&arn_of("shop-web-green")), Some(100));
        assert_eq!(weight(&arn_of("shop-web-blue")), Some(0));
    });
    // Re-planning sees green as live: nothing but what moto drops on create.
    let plan = plan_json(&berth("v2").args(["plan", "--format", "json"]).run());
    for c in plan["changes"].as_array().expect("changes") {
        for path in c["changed"].as_array().expect("changed") {
            let p = path.as_str().unwrap_or_default();
            assert!(MOTO_DROPS_ON_CREATE.iter().any(|d| p.starts_with(d)), "{c:#}");
        }
    }
}

fn lifecycle_app(net: &Network, dir: &std::path::Path) -> std::path::PathBuf {
    let spec = format!(
        "name: lc
x-berth:
  network: {network}
  registry:
    tag_mutability: MUTABLE
    lifecycle:
      - {{ tag_status: untagged, expire_after_days: 90 }}
      - {{ tag_prefix: [dev], expire_after_days: 90 }}
      - {{ tag_prefix: [staging], expire_after_days: 180 }}
      - {{ tag_prefix: [prod], expire_after_days: 365 }}
      - {{ tag_status: any, keep_last: 30 }}
services:
  api:
    build: .
",
        network = net.yaml()
    );
    let path = dir.join("compose.yaml");
    std::fs::write(&path, spec).expect("write");
    path
}

fn lc(moto: &Moto, net: &Network, path: &std::path::Path, tag: &str) -> Berth {
    Berth::new(path.parent().expect("dir"))
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("BERTH_AWS_MAX_ATTEMPTS", "1")
        .args([
            "--backend".to_string(),
            "aws".into(),
            "--endpoint-url".into(),
            moto.endpoint.clone(),
            "--region".into(),
            net.region.clone(),
            "--var".into(),
            format!("TAG={tag}"),
        ])
}

/// The seeds' four lifecycle examples, applied and read back equal; a
/// re-plan leaves the repository alone. A pushed image is pinned by digest
/// in the plan and in the registered task definition; a tag that moves
/// after `plan -o` makes the saved plan stale.
#[test]
fn lifecycle_policy_round_trip_and_digest_pinning() {
    let Some(moto) = moto() else { return };
    let region = "sa-east-1";
    let net = moto.network(region);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = lifecycle_app(&net, dir.path());
    let first = block_on(async { moto.sdk(region).await.push_image_for(Some("lc"), "lc/api", "1", 0).await });
    let render: serde_json::Value = serde_json::from_str(&lc(&moto, &net, &path, "1").args(["render"]).run().stdout).expect("render");
    let policy = render["resources"].as_array().expect("resources").iter().find(|r| r["address"] == "ecr.lc/api").expect("repo")["spec"]
        ["lifecyclePolicy"]
        .clone();

    let plan = plan_json(&lc(&moto, &net, &path, "1").args(["plan", "--format", "json"]).run());
    let pin = plan["images"].as_array().expect("pins").iter().find(|p| p["container"] == "lc-api/api").expect("pinned").clone();
    assert_eq!(pin["from"], "lc/api:1");
    assert!(
        pin["to"]
            .as_str()
            .is_some_and(|t| t.ends_with(&format!("/lc/api@{first}")) && t.starts_with("123456789012.dkr.ecr.sa-east-1.amazonaws.com")),
        "{pin}"
    );
    ok(&lc(&moto, &net, &path, "1").args(["apply", "--yes", "--wait", "none"]).run());
    block_on(async {
        let sdk = moto.sdk(region).await;
        let live = sdk.ecr.get_lifecycle_policy().repository_name("lc/api").send().await.expect("policy");
        let live: serde_json::Value = serde_json::from_str(live.lifecycle_policy_text().expect("text")).expect("json");
        assert_eq!(live, policy, "the policy reads back equal");
        let td = sdk.ecs.describe_task_definition().task_definition("lc-api").send().await.expect("td");
        assert_eq!(
            td.task_definition().expect("td").container_definitions()[0].image(),
            pin["to"].as_str(),
            "the task definition deploys the digest"
        );
    });
    let again = plan_json(&lc(&moto, &net, &path, "1").args(["plan", "--format", "json"]).run());
    assert!(
        again["changes"].as_array().expect("changes").iter().all(|c| c["kind"] != "ecr_repository" && c["kind"] != "task_definition"),
        "{again:#}"
    );

    // A new build, planned and saved; then the tag moves to yet another build.
    block_on(async { moto.sdk(region).await.push_image_for(Some("lc"), "lc/api", "2", 0).await });
    let saved = dir.path().join("plan.json");
    ok(&lc(&moto, &net, &path, "2").args(["plan".to_string(), "-o".into(), saved.display().to_string()]).run());
    block_on(async { moto.sdk(region).await.push_image_for(Some("lc"), "lc/api", "2", 1).await });
    let out = lc(&moto, &net, &path, "2").args(["apply".to_string(), saved.display().to_string(), "--yes".into()]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("the plan is stale") && out.stderr.contains("image:lc/api:2 was modified"), "{}", out.stderr);
}

/// A spec of two routed services and a discoverable one, on `net`, with
/// listener rule priorities from 100-199; `extra` is appended to `front`'s
/// route (e.g. `, priority: 100`).
fn routes_app(net: &Network, dir: &std::path::Path, extra: &str) -> std::path::PathBuf {
    let spec = format!(
        "name: routes
x-berth:
  network: {network}
  load_balancer: {{ listener: \"{listener}\", priority_range: [100, 199] }}
  discovery: {{ namespace: routes.local, ttl: 15 }}
services:
  front:
    image: nginx:1.27
    ports: [\"80\"]
    x-berth: {{ route: {{ paths: [\"/*\"], health_path: /{extra} }} }}
  admin:
    image: nginx:1.27
    ports: [\"8081\"]
    x-berth: {{ route: {{ paths: [\"/admin/*\"], hosts: [admin.example.com] }}, discovery: false }}
  back:
    image: redis:7
    expose: [\"6379\"]
",
        network = net.yaml(),
        listener = net.listener,
    );
    let path = dir.join("compose.yaml");
    std::fs::write(&path, spec).expect("write");
    path
}

/// Acceptance (routing): berth's rules read back with the expected
/// conditions, actions and priorities; another owner's rule at a priority
/// in berth's range is untouched and skipped; a spec that wants it gets an
/// error naming that rule. Cloud Map services carry A (+ SRV with a port)
/// records and are wired into the ECS services.
#[test]
fn listener_rules_and_cloud_map_records_read_back() {
    let Some(moto) = moto() else { return };
    let region = "eu-central-1";
    let net = moto.network(region);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = routes_app(&net, dir.path(), "");
    // Another team's target group and rule at priority 100, the start of berth's range.
    let (other_tg, other_rule) = block_on(async {
        use aws_sdk_elasticloadbalancingv2::types as elb;
        let sdk = moto.sdk(region).await;
        let tg = sdk
            .elb
            .create_target_group()
            .name("legacy")
            .protocol(elb::ProtocolEnum::Http)
            .port(80)
            .vpc_id(&net.vpc)
            .target_type(elb::TargetTypeEnum::Ip)
            .send()
            .await
            .expect("tg");
        let tg = tg.target_groups()[0].target_group_arn().expect("arn").to_string();
        let rule = sdk
            .elb
            .create_rule()
            .listener_arn(&net.listener)
            .priority(100)
            .conditions(elb::RuleCondition::builder().field("path-pattern").values("/legacy/*").build())
            .actions(elb::Action::builder().r#type(elb::ActionTypeEnum::Forward).target_group_arn(&tg).build())
            .send()
            .await
            .expect("rule");
        (tg, rule.rules()[0].rule_arn().expect("arn").to_string())
    });
    ok(&lc(&moto, &net, &path, "1").args(["apply", "--yes", "--wait", "none"]).run());

    block_on(async {
        let sdk = moto.sdk(region).await;
        let rules = sdk.elb.describe_rules().listener_arn(&net.listener).send().await.expect("rules");
        let tg_name = |arn: &str| {
            let sdk = &sdk;
            let arn = arn.to_string();
            async move {
                let out = sdk.elb.describe_target_groups().target_group_arns(arn).send().await.expect("tg");
                out.target_groups()[0].target_group_name().unwrap_or_default().to_string()
            }
        };
        let mut seen = Vec::new();
        for r in rules.rules().iter().filter(|r| r.is_default() != Some(true)) {
            let field = |f: &str| -> Vec<String> {
                // Either the legacy `Values` or the typed config, as AWS returns both forms.
                let typed = |c: &aws_sdk_elasticloadbalancingv2::types::RuleCondition| -> Vec<String> {
                    match f {
                        "path-pattern" => c.path_pattern_config().map(|p| p.values().to_vec()).unwrap_or_default(),
                        _ => c.host_header_config().map(|h| h.values().to_vec()).unwrap_or_default(),
                    }
                };
                let mut v: Vec<String> =
                    r.conditions().iter().filter(|c| c.field() == Some(f)).flat_map(|c| [c.values().to_vec(), typed(c)].concat()).collect();
                v.dedup();
                v
            };
            let forward_to = forwarded_target_group(&r.actions()[0]).unwrap_or_default();
            seen.push((
                r.priority().unwrap_or_default().to_string(),
                field("path-pattern"),
                field("host-header"),
                tg_name(forward_to).await,
            ));
        }
        seen.sort();
        assert_eq!(
            seen,
            vec![
                ("100".to_string(), vec!["/legacy/*".to_string()], vec![], "legacy".to_string()),
                ("101".to_string(), vec!["/admin/*".to_string()], vec!["admin.example.com".to_string()], "routes-admin".to_string()),
                ("102".to_string(), vec!["/*".to_string()], vec![], "routes-front".to_string()),
            ],
            "the host-and-path rule before the catch-all, the other owner's rule where it was"
        );
        let other = rules.rules().iter().find(|r| r.rule_arn() == Some(other_rule.as_str())).expect("the other rule is still there");
        assert_eq!(forwarded_target_group(&other.actions()[0]), Some(other_tg.as_str()));

        // Cloud Map: front (a port) and back (an exposed port) get A + SRV
        // with the spec's TTL; admin opted out.
        let listed = sdk.sd.list_services().send().await.expect("list services");
        let mut records = Vec::new();
        for s in listed.services() {
            let got = sdk.sd.get_service().id(s.id().expect("id")).send().await.expect("get service");
            let svc = got.service().expect("service");
            let dns = svc.dns_config().expect("dns config");
            let kinds: Vec<(String, i64)> = dns.dns_records().iter().map(|r| (r.r#type().as_str().to_string(), r.ttl())).collect();
            records.push((svc.name().unwrap_or_default().to_string(), kinds));
        }
        records.sort();
        let a_srv = vec![("A".to_string(), 15), ("SRV".to_string(), 15)];
        assert_eq!(records, vec![("back".to_string(), a_srv.clone()), ("front".to_string(), a_srv)]);
        let svcs = sdk.ecs.describe_services().cluster("routes").services("routes-back").send().await.expect("describe");
        let reg = &svcs.services()[0].service_registries()[0];
        assert_eq!(reg.container_name(), Some("back"));
        assert_eq!(reg.container_port(), Some(6379));
    });

    // Re-plan: only what moto drops on CreateService (see example_round_trip).
    let again = plan_json(&lc(&moto, &net, &path, "1").args(["plan", "--format", "json"]).run());
    for c in again["changes"].as_array().expect("changes") {
        assert_eq!(c["kind"], "service", "routing and discovery round-trip: {c:#}");
    }
    // A spec that insists on the other owner's priority: a clear error, nothing changed.
    let path = routes_app(&net, dir.path(), ", priority: 100");
    let out = lc(&moto, &net, &path, "1").args(["apply", "--yes", "--wait", "none"]).run();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr
            .contains(&format!("listener rule priority 100 wanted by rule.front/0 is held by rule {other_rule} (not managed by berth)")),
        "{}",
        out.stderr
    );
    block_on(async {
        let sdk = moto.sdk(region).await;
        let rules = sdk.elb.describe_rules().listener_arn(&net.listener).send().await.expect("rules");
        let mut priorities: Vec<String> = rules.rules().iter().filter_map(|r| r.priority().map(str::to_string)).collect();
        priorities.sort();
        assert_eq!(priorities, vec!["100", "101", "102", "default"]);
    });
}

/// An app `name` with one routed service behind a load balancer berth
/// creates in `net`; `create` adds keys to `load_balancer.create`.
fn created_load_balancer_app(net: &Network, dir: &std::path::Path, name: &str, create: &str) -> std::path::PathBuf {
    let spec = format!(
        "name: {name}
x-berth:
  network: {network}
  load_balancer:
    create: {{ subnets: [{a}, {b}], security_groups: [{sg}], {create} }}
services:
  web:
    image: nginx:1.27
    ports: [\"80\"]
    x-berth: {{ route: {{ paths: [\"/*\"] }} }}
",
        network = net.yaml(),
        a = net.subnet_a,
        b = net.subnet_b,
        sg = net.security_group,
    );
    let path = dir.join("compose.yaml");
    std::fs::write(&path, spec).expect("write");
    path
}

/// The target group a rule's first action forwards to, in either form AWS returns.
fn forwarded_target_group(action: &aws_sdk_elasticloadbalancingv2::types::Action) -> Option<&str> {
    action.forward_config().and_then(|f| f.target_groups()[0].target_group_arn()).or(action.target_group_arn())
}

/// Acceptance (optional load balancer): from an empty account to a
/// listener forwarding to the app's target group, and `destroy` removes
/// all of it.
#[test]
fn a_created_load_balancer_forwards_to_the_app_and_destroy_removes_it() {
    let Some(moto) = moto() else { return };
    let region = "ap-south-1";
    let net = moto.network(region);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = created_load_balancer_app(&net, dir.path(), "edge", "scheme: internet-facing");
    ok(&lc(&moto, &net, &path, "1").args(["apply", "--yes", "--wait", "none"]).run());
    block_on(async {
        let sdk = moto.sdk(region).await;
        let lbs = sdk.elb.describe_load_balancers().names("edge").send().await.expect("berth created load balancer `edge`");
        let lb = &lbs.load_balancers()[0];
        assert_eq!(lb.scheme().map(|s| s.as_str()), Some("internet-facing"));
        let listeners =
            sdk.elb.describe_listeners().load_balancer_arn(lb.load_balancer_arn().expect("arn")).send().await.expect("listeners");
        let listener = &listeners.listeners()[0];
        assert_eq!((listener.protocol().map(|p| p.as_str()), listener.port()), (Some("HTTP"), Some(80)));
        let rules = sdk.elb.describe_rules().listener_arn(listener.listener_arn().expect("arn")).send().await.expect("rules");
        let rule = rules.rules().iter().find(|r| r.is_default() != Some(true)).expect("a rule for web");
        let tg = forwarded_target_group(&rule.actions()[0]).expect("forward");
        let tgs = sdk.elb.describe_target_groups().target_group_arns(tg).send().await.expect("tg");
        assert_eq!(tgs.target_groups()[0].target_group_name(), Some("edge-web"));
        let svc = sdk.ecs.describe_services().cluster("edge").services("edge-web").send().await.expect("service");
        assert_eq!(svc.services()[0].load_balancers()[0].target_group_arn(), Some(tg));
    });
    let destroy = lc(&moto, &net, &path, "1").args(["destroy", "--yes"]).run();
    ok(&destroy);
    block_on(async {
        let sdk = moto.sdk(region).await;
        assert!(sdk.elb.describe_load_balancers().names("edge").send().await.is_err(), "the load balancer is gone");
        assert!(sdk.elb.describe_target_groups().names("edge-web").send().await.is_err(), "the target group is gone");
        let svc = sdk.ecs.describe_services().cluster("edge").services("edge-web").send().await;
        let active = svc.map(|s| s.services().iter().any(|s| s.status() == Some("ACTIVE"))).unwrap_or(false);
        assert!(!active, "the service is gone");
        // The network berth does not own stays.
        let shared = sdk.elb.describe_load_balancers().names("shared").send().await;
        assert!(shared.is_ok(), "the shared load balancer of the account stays");
    });
    let again = lc(&moto, &net, &path, "1").args(["destroy", "--yes"]).run();
    ok(&again);
}

/// Acceptance (routing): a target group port change on moto is a
/// create-before-delete replace. ELB (and moto) refuse to delete a target
/// group a rule forwards to, so the apply succeeding with the old group
/// gone shows the rule had moved first; `--stats` shows the calls made.
#[test]
fn a_target_group_port_change_replaces_it_on_moto() {
    let Some(moto) = moto() else { return };
    let region = "eu-west-1";
    let net = moto.network(region);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = routes_app(&net, dir.path(), "");
    ok(&lc(&moto, &net, &path, "1").args(["apply", "--yes", "--wait", "none"]).run());
    let yaml = std::fs::read_to_string(&path).expect("spec");
    std::fs::write(&path, yaml.replacen("ports: [\"80\"]", "ports: [\"8080\"]", 1)).expect("write");
    let out = lc(&moto, &net, &path, "1").args(["--stats", "apply", "--yes", "--wait", "none"]).run();
    ok(&out);
    let order = started_changes(&out);
    let pos = |address: &str, verb: &str| {
        order.iter().position(|(a, v)| a == address && v == verb).unwrap_or_else(|| panic!("{address}: {verb} in {order:?}"))
    };
    assert!(pos("tg.front", "replace") < pos("rule.front/0", "update"), "{order:?}");
    assert!(pos("rule.front/0", "update") < pos("tg.front~old", "delete"), "{order:?}");
    for call in ["CreateTargetGroup", "ModifyRule", "DeleteTargetGroup"] {
        assert!(out.stderr.lines().any(|l| l.contains(call)), "--stats lists {call}:\n{}", out.stderr);
    }
    block_on(async {
        let sdk = moto.sdk(region).await;
        let tgs = sdk.elb.describe_target_groups().send().await.expect("tgs");
        let mut names: Vec<(String, i32)> = tgs
            .target_groups()
            .iter()
            .map(|t| (t.target_group_name().unwrap_or_default().to_string(), t.port().unwrap_or_default()))
            .collect();
        names.sort();
        assert_eq!(names, vec![("routes-admin".to_string(), 8081), ("routes-front-r1".to_string(), 8080)]);
    });
}

/// With a certificate, the created load balancer serves the app on
/// HTTPS:443 and redirects HTTP:80 there; a re-plan reads it back as is.
#[test]
fn a_created_load_balancer_with_a_certificate_serves_https_and_redirects_http() {
    let Some(moto) = moto() else { return };
    let region = "us-east-1";
    let net = moto.network(region);
    let dir = tempfile::tempdir().expect("tempdir");
    // An IAM server certificate: moto looks ACM certificates up, IAM ones not.
    let cert = "arn:aws:iam::123456789012:server-certificate/edge";
    let path = created_load_balancer_app(&net, dir.path(), "tls", &format!("certificate_arn: \"{cert}\""));
    ok(&lc(&moto, &net, &path, "1").args(["apply", "--yes", "--wait", "none"]).run());
    block_on(async {
        let sdk = moto.sdk(region).await;
        let lbs = sdk.elb.describe_load_balancers().names("tls").send().await.expect("load balancer");
        let arn = lbs.load_balancers()[0].load_balancer_arn().expect("arn");
        let listeners = sdk.elb.describe_listeners().load_balancer_arn(arn).send().await.expect("listeners");
        let by_port =
            |port: i32| listeners.listeners().iter().find(|l| l.port() == Some(port)).unwrap_or_else(|| panic!("listener on {port}"));
        let https = by_port(443);
        assert_eq!(https.protocol().map(|p| p.as_str()), Some("HTTPS"));
        assert_eq!(https.certificates()[0].certificate_arn(), Some(cert));
        let rules = sdk.elb.describe_rules().listener_arn(https.listener_arn().expect("arn")).send().await.expect("rules");
        assert_eq!(rules.rules().iter().filter(|r| r.is_default() != Some(true)).count(), 1, "the app's rule is on HTTPS");
        let http = by_port(80);
        let redirect = http.default_actions()[0].redirect_config().expect("HTTP redirects");
        assert_eq!((redirect.protocol(), redirect.port()), (Some("HTTPS"), Some("443")));
        assert_eq!(redirect.status_code().map(|s| s.as_str()), Some("HTTP_301"));
    });
    let again = plan_json(&lc(&moto, &net, &path, "1").args(["plan", "--format", "json"]).run());
    for c in again["changes"].as_array().expect("changes") {
        assert_eq!(c["kind"], "service", "the load balancer, listeners and rule round-trip: {c:#}");
    }
    ok(&lc(&moto, &net, &path, "1").args(["destroy", "--yes"]).run());
    block_on(async {
        let sdk = moto.sdk(region).await;
        assert!(sdk.elb.describe_load_balancers().names("tls").send().await.is_err(), "the load balancer is gone");
    });
}
