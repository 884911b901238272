//! `berth import`: a spec written from live services, which plans as the
//! adoption of each resource and nothing else.

use berth_tests::{adopt_only, ok, SimAccount};

const LISTENER: &str = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:listener/app/shared/50dc6c495c0c9188/f2f7dc8efc522ab2";

#[test]
fn the_web_example_round_trips_apply_strip_import_adopt_no_changes() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    account.retag(None);
    // A value Compose would interpolate, were it written as it is.
    account.edit(|s| {
        let td = &mut s.task_definitions.get_mut("hello-web").expect("family")[0];
        td.spec.container_definitions[0]
            .environment
            .push(berth_model::resources::KeyValuePair { name: "GREETING".into(), value: "costs $5, or ${PRICE:-6} for $HOME".into() });
    });
    let deployments = account.read(|s| s.services["hello-web"].deployments.len());
    let dir = tempfile::tempdir().expect("tempdir");
    let out = account.berth_in(dir.path()).args(["import", "--cluster", "hello", "--service", "hello-web", "--listener", LISTENER]).run();
    ok(&out);
    assert!(out.stderr.contains("Wrote compose.berth.yaml (1 services, 0 warnings)"), "{}", out.stderr);
    let spec = std::fs::read_to_string(dir.path().join("compose.berth.yaml")).expect("written");
    // The Compose form where there is one; the rule keeps its priority.
    for line in [
        "image: nginx:1.27",
        "replicas: 2",
        "interval: 10s",
        "- /*",
        "priority: 1000",
        "health_path: /",
        "GREETING: costs $$5, or $${PRICE:-6} for $$HOME",
    ] {
        assert!(spec.contains(line), "{line:?} in:\n{spec}");
    }
    ok(&account.berth_in(dir.path()).args(["validate"]).run());
    let addresses = adopt_only(account.berth_in(dir.path()), &spec);
    assert_eq!(addresses.len(), 4, "{addresses:?}");
    ok(&account.berth_in(dir.path()).args(["apply", "--adopt", "--yes"]).run());
    let out = account.berth_in(dir.path()).args(["plan"]).run();
    ok(&out);
    assert!(out.stdout.starts_with("No changes."), "{}", out.stdout);
    assert_eq!(account.read(|s| s.services["hello-web"].deployments.len()), deployments, "never redeployed");
}

#[test]
fn what_the_spec_cannot_say_is_a_warning_naming_the_field() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    account.retag(None);
    // Made in the console: deployed by CodeDeploy, tags not propagated, a
    // longer grace period and a secret as an environment variable.
    account.edit(|s| {
        let svc = s.services.get_mut("hello-web").expect("service");
        svc.spec.deployment_controller.kind = "CODE_DEPLOY".into();
        svc.spec.propagate_tags = "NONE".into();
        svc.spec.health_check_grace_period_seconds = Some(120);
        let td = &mut s.task_definitions.get_mut("hello-web").expect("family")[0];
        td.spec.container_definitions[0].secrets.push(berth_model::resources::Secret {
            name: "DB_PASSWORD".into(),
            value_from: "arn:aws:secretsmanager:sim-1:000000000000:secret:db-AbCdEf".into(),
        });
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let out = account.berth_in(dir.path()).args(["import", "--cluster", "hello", "--service", "hello-web", "--listener", LISTENER]).run();
    ok(&out);
    assert!(
        out.stderr.contains(
            "service hello-web.deploymentController = {\"type\":\"CODE_DEPLOY\"} is not imported (berth's is {\"type\":\"ECS\"})"
        ),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("(1 services, 1 warnings)"), "{}", out.stderr);
    let spec = std::fs::read_to_string(dir.path().join("compose.berth.yaml")).expect("written");
    assert!(spec.contains("# warning: service hello-web.deploymentController"), "the file lists them too:\n{spec}");
    // The tag propagation, the grace period and the secret have keys.
    for line in [
        "propagate_tags: NONE",
        "health_check_grace_period: 120s",
        "secret_env: true",
        "source: db_password",
        "target: DB_PASSWORD",
        "db_password:",
    ] {
        assert!(spec.contains(line), "{line:?} in:\n{spec}");
    }
    ok(&account.berth_in(dir.path()).args(["validate"]).run());
    // The service's deployment controller is what differs: ECS cannot
    // change it in place, so adopting it would replace it, and plan refuses.
    let out = account.berth_in(dir.path()).args(["plan", "--adopt"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("service.web (arn:aws:ecs:sim-1:000000000000:service/hello/hello-web) would be adopted and replaced at once (deploymentController cannot change in place)"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_missing_service_or_listener_is_an_error_that_says_so() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    let dir = tempfile::tempdir().expect("tempdir");
    let out = account.berth_in(dir.path()).args(["import", "--cluster", "hello", "--service", "billing"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("no service billing in cluster hello"), "{}", out.stderr);
    assert!(!dir.path().join("compose.berth.yaml").exists());
    // Routed services need the listener their rules are on.
    let out = account.berth_in(dir.path()).args(["import", "--cluster", "hello", "--service", "hello-web"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("--listener"), "{}", out.stderr);
}

#[test]
fn the_shop_examples_rolling_services_round_trip_with_their_secret_files_and_discovery() {
    let account = SimAccount::new();
    ok(&account.berth("shop", "v1").args(["apply", "--yes"]).run());
    account.retag(None);
    let dir = tempfile::tempdir().expect("tempdir");
    let import = ["import", "--cluster", "shop", "--service", "shop-api", "--service", "shop-worker"];
    // Without the namespace, the Cloud Map registration is named, not dropped.
    let out = account.berth_in(dir.path()).args(import).args(["-o", "partial.yaml"]).run();
    ok(&out);
    assert!(out.stderr.contains("service shop-api.serviceRegistries = ") && out.stderr.contains("is not imported"), "{}", out.stderr);
    let out = account.berth_in(dir.path()).args(import).args(["--namespace", "shop.local"]).run();
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
    let addresses = adopt_only(account.berth_in(dir.path()), &spec);
    assert_eq!(addresses, ["taskdef.api", "taskdef.worker", "cloudmap.api", "service.api", "service.worker"]);
    ok(&account.berth_in(dir.path()).args(["apply", "--adopt", "--yes"]).run());
    let out = account.berth_in(dir.path()).args(["plan"]).run();
    ok(&out);
    assert!(out.stdout.starts_with("No changes."), "{}", out.stdout);
    // The blue/green web service (live as shop-web-blue) is read from its
    // live color; it is routed, so it needs the listener.
    let out = account.berth_in(dir.path()).args(["import", "--cluster", "shop", "--service", "shop-web", "-o", "web.yaml"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("pass the listener whose rules route to them with --listener ARN"), "{}", out.stderr);
}

/// On moto, acceptance of `berth import` as a console or Terraform user
/// meets it: a service made from scratch with the SDK, under names that are
/// not berth's (service `orders-svc`, family `orders-td`, target group
/// `orders-tg`), with two containers, a secret as an environment variable,
/// a health check, awsvpc networking, a listener rule at a fixed priority
/// and a Cloud Map registration. Imported, it validates, plans as adoption
/// only, is tagged by `apply --adopt`, plans clean after, and the service
/// was never redeployed (its deployments read back with the SDK).
#[test]
fn on_moto_a_service_made_with_the_sdk_is_imported_adopted_and_never_redeployed() {
    use aws_sdk_ecs::types as ecs;
    use aws_sdk_elasticloadbalancingv2::types as elb;
    use aws_sdk_servicediscovery::types as sd;
    use berth_tests::moto::{block_on, moto, Vpc};
    let Some(moto) = moto() else { return };
    // Shared with adopt.rs's and the scaling tests' moto tests: a VPC, load
    // balancer, namespace and cluster of this test's own.
    let region = "ap-southeast-6";
    let Vpc { vpc, subnet_a: a, subnet_b: b, security_group: sg } = moto.vpc(region, 21, "legacy");
    let secret = "arn:aws:secretsmanager:ap-southeast-6:123456789012:secret:legacy/db-AbCdEf";
    let role = "arn:aws:iam::123456789012:role/legacy-task-execution";

    // What a console or Terraform user made, with the SDK and no berth tag.
    let (listener, service_arn, cloud_map_arn) = block_on(async {
        let sdk = moto.sdk(region).await;
        let lb = sdk.elb.create_load_balancer().name("legacy-alb").subnets(&a).subnets(&b).security_groups(&sg).send().await.expect("alb");
        let lb_arn = lb.load_balancers()[0].load_balancer_arn().expect("arn").to_string();
        let not_found = elb::Action::builder()
            .r#type(elb::ActionTypeEnum::FixedResponse)
            .fixed_response_config(elb::FixedResponseActionConfig::builder().status_code("404").build())
            .build();
        let listener = sdk
            .elb
            .create_listener()
            .load_balancer_arn(&lb_arn)
            .protocol(elb::ProtocolEnum::Http)
            .port(80)
            .default_actions(not_found)
            .send()
            .await
            .expect("listener");
        let listener = listener.listeners()[0].listener_arn().expect("arn").to_string();
        let tg = sdk
            .elb
            .create_target_group()
            .name("orders-tg")
            .protocol(elb::ProtocolEnum::Http)
            .port(8080)
            .vpc_id(&vpc)
            .target_type(elb::TargetTypeEnum::Ip)
            .health_check_path("/health")
            .health_check_interval_seconds(15)
            .healthy_threshold_count(2)
            .unhealthy_threshold_count(3)
            .matcher(elb::Matcher::builder().http_code("200-399").build())
            .send()
            .await
            .expect("target group");
        let tg = tg.target_groups()[0].target_group_arn().expect("arn").to_string();
        sdk.elb
            .modify_target_group_attributes()
            .target_group_arn(&tg)
            .attributes(elb::TargetGroupAttribute::builder().key("deregistration_delay.timeout_seconds").value("45").build())
            .send()
            .await
            .expect("attributes");
        let forward = elb::Action::builder()
            .r#type(elb::ActionTypeEnum::Forward)
            .forward_config(
                elb::ForwardActionConfig::builder()
                    .target_groups(elb::TargetGroupTuple::builder().target_group_arn(&tg).weight(1).build())
                    .build(),
            )
            .build();
        sdk.elb
            .create_rule()
            .listener_arn(&listener)
            .priority(42)
            .conditions(elb::RuleCondition::builder().field("path-pattern").values("/orders/*").build())
            .actions(forward)
            .send()
            .await
            .expect("rule");

        sdk.sd.create_private_dns_namespace().name("legacy.local").vpc(&vpc).send().await.expect("namespace");
        let namespaces = sdk.sd.list_namespaces().send().await.expect("namespaces");
        let ns = namespaces.namespaces().iter().find(|n| n.name() == Some("legacy.local")).expect("legacy.local");
        let record = |kind: sd::RecordType| sd::DnsRecord::builder().r#type(kind).ttl(30).build().expect("record");
        let cloud_map = sdk
            .sd
            .create_service()
            .name("orders")
            .namespace_id(ns.id().expect("id"))
            .dns_config(
                sd::DnsConfig::builder()
                    .routing_policy(sd::RoutingPolicy::Multivalue)
                    .dns_records(record(sd::RecordType::A))
                    .dns_records(record(sd::RecordType::Srv))
                    .build()
                    .expect("dns"),
            )
            .health_check_custom_config(sd::HealthCheckCustomConfig::builder().build())
            .send()
            .await
            .expect("cloud map service");
        let cloud_map = cloud_map.service().and_then(|s| s.arn()).expect("arn").to_string();

        sdk.ecs.create_cluster().cluster_name("legacy").send().await.expect("cluster");
        sdk.logs.create_log_group().log_group_name("/ecs/legacy").send().await.expect("log group");
        sdk.logs.put_retention_policy().log_group_name("/ecs/legacy").retention_in_days(14).send().await.expect("retention");
        let logs = |prefix: &str| {
            ecs::LogConfiguration::builder()
                .log_driver(ecs::LogDriver::Awslogs)
                .options("awslogs-group", "/ecs/legacy")
                .options("awslogs-region", region)
                .options("awslogs-stream-prefix", prefix)
                .build()
                .expect("logs")
        };
        let orders = ecs::ContainerDefinition::builder()
            .name("orders")
            .image("public.ecr.aws/nginx/nginx:1.27")
            .essential(true)
            .port_mappings(ecs::PortMapping::builder().container_port(8080).host_port(8080).protocol(ecs::TransportProtocol::Tcp).build())
            .environment(ecs::KeyValuePair::builder().name("RAILS_ENV").value("production").build())
            .secrets(ecs::Secret::builder().name("DB_PASSWORD").value_from(secret).build().expect("secret"))
            .health_check(
                ecs::HealthCheck::builder()
                    .command("CMD-SHELL")
                    .command("curl -f http://localhost:8080/health || exit 1")
                    .interval(30)
                    .timeout(5)
                    .retries(3)
                    .start_period(10)
                    .build()
                    .expect("health check"),
            )
            .log_configuration(logs("orders"))
            .build();
        let metrics = ecs::ContainerDefinition::builder()
            .name("metrics")
            .image("public.ecr.aws/docker/library/busybox:1.37")
            .essential(true)
            .command("sleep")
            .command("infinity")
            .log_configuration(logs("orders"))
            .build();
        sdk.ecs
            .register_task_definition()
            .family("orders-td")
            .network_mode(ecs::NetworkMode::Awsvpc)
            .requires_compatibilities(ecs::Compatibility::Fargate)
            .cpu("512")
            .memory("1024")
            .execution_role_arn(role)
            .container_definitions(orders)
            .container_definitions(metrics)
            .send()
            .await
            .expect("task definition");
        let network = ecs::NetworkConfiguration::builder()
            .awsvpc_configuration(
                ecs::AwsVpcConfiguration::builder()
                    .subnets(&a)
                    .subnets(&b)
                    .security_groups(&sg)
                    .assign_public_ip(ecs::AssignPublicIp::Disabled)
                    .build()
                    .expect("awsvpc"),
            )
            .build();
        let service = sdk
            .ecs
            .create_service()
            .cluster("legacy")
            .service_name("orders-svc")
            .task_definition("orders-td:1")
            .desired_count(2)
            .launch_type(ecs::LaunchType::Fargate)
            .network_configuration(network)
            .load_balancers(ecs::LoadBalancer::builder().target_group_arn(&tg).container_name("orders").container_port(8080).build())
            .service_registries(
                ecs::ServiceRegistry::builder().registry_arn(&cloud_map).container_name("orders").container_port(8080).build(),
            )
            .health_check_grace_period_seconds(30)
            .propagate_tags(ecs::PropagateTags::Service)
            .enable_ecs_managed_tags(true)
            .send()
            .await
            .expect("service");
        let service_arn = service.service().and_then(|s| s.service_arn()).expect("arn").to_string();
        // Settings moto's CreateService drops (tests/README.md), set again
        // as the user would have changed them later.
        sdk.ecs
            .update_service()
            .cluster("legacy")
            .service("orders-svc")
            .health_check_grace_period_seconds(30)
            .deployment_configuration(
                ecs::DeploymentConfiguration::builder()
                    .minimum_healthy_percent(50)
                    .maximum_percent(200)
                    .deployment_circuit_breaker(ecs::DeploymentCircuitBreaker::builder().enable(true).rollback(true).build())
                    .build(),
            )
            .enable_ecs_managed_tags(true)
            .send()
            .await
            .expect("update");
        (listener, service_arn, cloud_map)
    });
    let deployments = || {
        block_on(async {
            let sdk = moto.sdk(region).await;
            let out = sdk.ecs.describe_services().cluster("legacy").services("orders-svc").send().await.expect("describe");
            let s = &out.services()[0];
            let ids: Vec<String> = s.deployments().iter().filter_map(|d| d.id().map(str::to_string)).collect();
            (s.task_definition().unwrap_or_default().to_string(), ids)
        })
    };
    let before = deployments();

    let dir = tempfile::tempdir().expect("tempdir");
    let out_file = dir.path().join("compose.berth.yaml");
    let out = moto
        .berth_in(region)
        .args(["import", "--cluster", "legacy", "--service", "orders-svc", "--namespace", "legacy.local", "--listener", &listener, "-o"])
        .args([out_file.display().to_string()])
        .run();
    ok(&out);
    let spec = std::fs::read_to_string(&out_file).expect("written");
    assert!(out.stderr.contains("(1 services, 0 warnings)"), "{}\n{spec}", out.stderr);
    for line in [
        "orders:",
        "metrics:",
        "task: orders",
        "service: orders-svc",
        "family: orders-td",
        "target_group: orders-tg",
        "priority: 42",
        "health_path: /health",
        "deregistration_delay: 45s",
        "health_check_grace_period: 30s",
        "target: DB_PASSWORD",
        "secret_env: true",
        "discovery: true",
        "ttl: 30",
        "group: /ecs/legacy",
        "retention_days: 14",
    ] {
        assert!(spec.contains(line), "{line:?} in:\n{spec}");
    }
    let berth = || moto.berth_in(region).args(["-f".to_string(), out_file.display().to_string()]);
    ok(&berth().args(["validate"]).run());
    let addresses = adopt_only(berth(), &spec);
    assert_eq!(addresses, ["taskdef.orders", "tg.orders", "rule.orders/0", "cloudmap.orders", "service.orders"], "{spec}");
    ok(&berth().args(["apply", "--adopt", "--yes", "--wait", "none"]).run());
    let out = berth().args(["plan"]).run();
    ok(&out);
    assert!(out.stdout.starts_with("No changes."), "{}", out.stdout);
    assert_eq!(deployments(), before, "the service was never redeployed");
    let (service_tags, cloud_map_tags) = block_on(async {
        let sdk = moto.sdk(region).await;
        let s = sdk.ecs.list_tags_for_resource().resource_arn(&service_arn).send().await.expect("tags").tags().to_vec();
        let c = sdk.sd.list_tags_for_resource().resource_arn(&cloud_map_arn).send().await.expect("tags").tags().to_vec();
        (
            s.iter().map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string())).collect::<Vec<_>>(),
            c.iter().map(|t| (t.key().to_string(), t.value().to_string())).collect::<Vec<_>>(),
        )
    });
    for tags in [&service_tags, &cloud_map_tags] {
        assert!(tags.contains(&("berth:app".to_string(), "legacy".to_string())), "{tags:?}");
    }
}

/// Acceptance 2's round trip, for every example in examples/: applied on
/// the sim, berth's tags stripped, imported, the imported spec plans only
/// adoptions, `apply --adopt` makes no deployment, and the next plan is
/// "No changes".
#[test]
fn every_example_round_trips_apply_strip_import_adopt_no_changes() {
    let listener =
        |lb: &str| format!("arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:listener/app/{lb}/50dc6c495c0c9188/f2f7dc8efc522ab2");
    let cases: [(&str, &str, &[&str], Vec<String>); 3] = [
        ("web", "hello", &["hello-web"], vec!["--listener".into(), LISTENER.into()]),
        (
            "shop",
            "shop",
            &["shop-web", "shop-api", "shop-worker"],
            vec!["--listener".into(), listener("shop"), "--namespace".into(), "shop.local".into()],
        ),
        ("wordpress", "wordpress", &["wordpress-db", "wordpress-wordpress"], vec!["--listener".into(), listener("wp")]),
    ];
    let examples: Vec<String> = std::fs::read_dir(berth_tests::repo_root().join("examples"))
        .expect("examples")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(examples.len(), cases.len(), "a case per example: {examples:?}");
    for (example, cluster, services, extra) in cases {
        assert!(examples.iter().any(|e| e == example), "{example}");
        let account = SimAccount::new();
        ok(&account.berth(example, "v1").args(["apply", "--yes"]).run());
        account.retag(None);
        let deployments = account.read(|s| s.services.values().map(|v| (v.arn.clone(), v.deployments.len())).collect::<Vec<_>>());
        let dir = tempfile::tempdir().expect("tempdir");
        let mut import = vec!["import".to_string(), "--cluster".into(), cluster.into()];
        for s in services {
            import.extend(["--service".to_string(), s.to_string()]);
        }
        let out = account.berth_in(dir.path()).args(import).args(extra).run();
        ok(&out);
        let spec = std::fs::read_to_string(dir.path().join("compose.berth.yaml")).expect("written");
        assert!(out.stderr.contains("0 warnings)"), "{example}: {}\n{spec}", out.stderr);
        // The blue/green pair, Service Connect and the EFS volume come back as keys.
        let expected: &[&str] = match example {
            "shop" => &["blue_green:", "traffic: all_at_once", "priority: 1000"],
            "wordpress" => &["mode: connect", "namespace: wordpress.local", "efs: fs-0123456789abcdef0", "- db_data:/var/lib/mysql"],
            _ => &[],
        };
        for line in expected {
            assert!(spec.contains(line), "{example}: {line:?} in:\n{spec}");
        }
        if example == "shop" {
            assert!(out.stderr.contains("note: service shop-web is a blue/green pair"), "{}", out.stderr);
        }
        ok(&account.berth_in(dir.path()).args(["validate"]).run());
        let addresses = adopt_only(account.berth_in(dir.path()), &format!("{example}:\n{spec}"));
        assert!(!addresses.is_empty(), "{example}");
        ok(&account.berth_in(dir.path()).args(["apply", "--adopt", "--yes"]).run());
        let out = account.berth_in(dir.path()).args(["plan"]).run();
        ok(&out);
        assert!(out.stdout.starts_with("No changes."), "{example}: {}", out.stdout);
        let after = account.read(|s| s.services.values().map(|v| (v.arn.clone(), v.deployments.len())).collect::<Vec<_>>());
        assert_eq!(after, deployments, "{example}: never redeployed");
        // Every service is the app's now, both colors of a blue/green pair included.
        let untagged: Vec<String> = account.read(|s| {
            s.services.iter().filter(|(_, v)| !v.spec.tags.iter().any(|t| t.key == "berth:app")).map(|(n, _)| n.clone()).collect()
        });
        assert!(untagged.is_empty(), "{example}: untagged after adoption: {untagged:?}");
    }
}

#[test]
fn a_fargate_spot_strategy_is_imported_as_capacity() {
    let account = SimAccount::new();
    let app = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        app.path().join("compose.yaml"),
        "name: spot
x-berth:
  network: { subnets: [subnet-0a1], security_groups: [sg-0web] }
services:
  api:
    image: nginx:1.27
    expose: [\"80\"]
    deploy: { replicas: 3 }
    x-berth:
      capacity: { spot: 2, on_demand: 1, on_demand_base: 1 }
",
    )
    .expect("write");
    ok(&account.berth_in(app.path()).args(["apply", "--yes"]).run());
    account.retag(None);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = account.berth_in(dir.path()).args(["import", "--cluster", "spot", "--service", "spot-api"]).run();
    ok(&out);
    let spec = std::fs::read_to_string(dir.path().join("compose.berth.yaml")).expect("written");
    assert!(out.stderr.contains("(1 services, 0 warnings)"), "{}\n{spec}", out.stderr);
    for line in ["capacity:", "on_demand: 1", "on_demand_base: 1", "spot: 2"] {
        assert!(spec.contains(line), "{line:?} in:\n{spec}");
    }
    assert!(!spec.contains("spot_base"), "{spec}");
    adopt_only(account.berth_in(dir.path()), &spec);
}

#[test]
fn a_service_someone_elses_scaler_scales_is_imported_with_a_warning_and_keeps_its_count() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    account.retag(None);
    // Registered out of band (the console's service auto scaling), scaled to 5.
    let sim = berth_sim::Sim::open(&account.state_path()).expect("sim");
    sim.register_scalable_target("hello", "hello-web", 2, 10);
    assert!(sim.set_desired_count("hello-web", 5));
    sim.advance(120_000);
    sim.save().expect("save sim");
    let dir = tempfile::tempdir().expect("tempdir");
    let out = account.berth_in(dir.path()).args(["import", "--cluster", "hello", "--service", "hello-web", "--listener", LISTENER]).run();
    ok(&out);
    assert!(
        out.stderr.contains("warning: service hello-web is scaled by Application Auto Scaling ({\"minCapacity\":2,\"maxCapacity\":10}): not imported as x-berth.autoscaling; berth leaves that target as it is and keeps the count it sets"),
        "{}",
        out.stderr
    );
    adopt_only(account.berth_in(dir.path()), "");
    ok(&account.berth_in(dir.path()).args(["apply", "--adopt", "--yes"]).run());
    assert_eq!(account.read(|s| s.services["hello-web"].spec.desired_count), Some(5), "the scaler's count stays");
}

/// A task made by hand with what Compose has words for: a non-essential
/// sidecar that starts after the app, with labels, a stop timeout and a
/// read-only root file system, and an app port with an app protocol. Each
/// comes back as its Compose key, and the spec plans as adoption only.
#[test]
fn container_settings_compose_has_keys_for_are_imported_as_those_keys() {
    use berth_model::resources::ContainerDependency;
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    account.retag(None);
    account.edit(|s| {
        let td = &mut s.task_definitions.get_mut("hello-web").expect("family")[0];
        let web = &mut td.spec.container_definitions[0];
        web.port_mappings[0].app_protocol = Some("http".into());
        let mut log = web.clone();
        log.name = "shipper".into();
        log.image = "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0".into();
        log.essential = false;
        log.port_mappings.clear();
        log.health_check = None;
        log.environment.clear();
        log.docker_labels.insert("team".into(), "platform".into());
        log.stop_timeout = Some(20);
        log.readonly_root_filesystem = Some(true);
        log.depends_on = vec![ContainerDependency { container_name: "web".into(), condition: "START".into() }];
        td.spec.container_definitions.push(log);
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let out = account.berth_in(dir.path()).args(["import", "--cluster", "hello", "--service", "hello-web", "--listener", LISTENER]).run();
    ok(&out);
    let spec = std::fs::read_to_string(dir.path().join("compose.berth.yaml")).expect("written");
    assert!(out.stderr.contains("(1 services, 0 warnings)"), "{}\n{spec}", out.stderr);
    for line in [
        "shipper:",
        "task: web",
        "essential: false",
        "team: platform",
        "stop_grace_period: 20s",
        "read_only: true",
        "condition: service_started",
        "app_protocol: http",
    ] {
        assert!(spec.contains(line), "{line:?} in:\n{spec}");
    }
    adopt_only(account.berth_in(dir.path()), &spec);
}

/// What differs from berth's way and has no key is named, never dropped:
/// a task without the role the others have, a bridge-mode task.
#[test]
fn settings_berth_would_change_are_warnings_naming_them() {
    let account = SimAccount::new();
    ok(&account.berth("shop", "v1").args(["apply", "--yes"]).run());
    account.retag(None);
    account.edit(|s| {
        let td = &mut s.task_definitions.get_mut("shop-worker").expect("family")[0];
        td.spec.task_role_arn = None;
        td.spec.network_mode = "bridge".into();
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let out = account
        .berth_in(dir.path())
        .args(["import", "--cluster", "shop", "--service", "shop-api", "--service", "shop-worker", "--namespace", "shop.local"])
        .run();
    ok(&out);
    for warning in [
        "task definition shop-worker:1 has no taskRoleArn, and berth gives every task the app's x-berth.task_role_arn (\"arn:aws:iam::123456789012:role/shop-task\"): not imported",
        "task definition shop-worker:1.networkMode = \"bridge\" is not imported (berth's is \"awsvpc\")",
    ] {
        assert!(out.stderr.contains(warning), "{warning:?} in:\n{}", out.stderr);
    }
}

/// On moto: settings berth does not model (a container's hard memory limit,
/// the task's ephemeral storage) are named by import, and a plan that
/// registers a new revision says it leaves them out. (moto keeps no ECS
/// Exec flag: the service's are checked in berth-aws's unmodelled.rs.)
#[test]
fn on_moto_settings_berth_does_not_model_are_named_not_dropped_unseen() {
    use aws_sdk_ecs::types as ecs;
    use berth_tests::moto::{block_on, moto, Vpc};
    let Some(moto) = moto() else { return };
    let region = "ap-southeast-6";
    let Vpc { subnet_a: subnet, security_group: sg, .. } = moto.vpc(region, 22, "hardmem");
    block_on(async {
        let sdk = moto.sdk(region).await;
        sdk.ecs.create_cluster().cluster_name("hardmem").send().await.expect("cluster");
        let jobs = ecs::ContainerDefinition::builder()
            .name("jobs")
            .image("public.ecr.aws/docker/library/busybox:1.37")
            .essential(true)
            .memory(512)
            .command("sleep")
            .command("infinity")
            .build();
        sdk.ecs
            .register_task_definition()
            .family("hardmem-jobs")
            .network_mode(ecs::NetworkMode::Awsvpc)
            .requires_compatibilities(ecs::Compatibility::Fargate)
            .cpu("256")
            .memory("512")
            .ephemeral_storage(ecs::EphemeralStorage::builder().size_in_gib(40).build())
            .container_definitions(jobs)
            .send()
            .await
            .expect("task definition");
        let network = ecs::NetworkConfiguration::builder()
            .awsvpc_configuration(ecs::AwsVpcConfiguration::builder().subnets(&subnet).security_groups(&sg).build().expect("awsvpc"))
            .build();
        sdk.ecs
            .create_service()
            .cluster("hardmem")
            .service_name("hardmem-jobs")
            .task_definition("hardmem-jobs:1")
            .desired_count(1)
            .launch_type(ecs::LaunchType::Fargate)
            .network_configuration(network)
            .enable_execute_command(true)
            .send()
            .await
            .expect("service");
    });
    let dir = tempfile::tempdir().expect("tempdir");
    let out_file = dir.path().join("compose.berth.yaml");
    let out = moto
        .berth_in(region)
        .args(["import", "--cluster", "hardmem", "--service", "hardmem-jobs", "-o"])
        .args([out_file.display().to_string()])
        .run();
    ok(&out);
    for warning in [
        "task definition hardmem-jobs:1.ephemeralStorage is set, and berth does not model it: not imported, and the next revision berth registers leaves it out",
        "task definition hardmem-jobs:1.containerDefinitions[jobs].memory is set",
    ] {
        assert!(out.stderr.contains(warning), "{warning:?} in:\n{}", out.stderr);
    }
    // A new image is a new revision: the plan says what it leaves out.
    let spec = std::fs::read_to_string(&out_file).expect("written").replace("busybox:1.37", "busybox:1.36");
    std::fs::write(&out_file, spec).expect("write");
    let out = moto.berth_in(region).args(["-f".to_string(), out_file.display().to_string(), "plan".into(), "--adopt".into()]).run();
    ok(&out);
    let said = format!("{}{}", out.stdout, out.stderr);
    assert!(
        said.contains("taskdef.jobs: the live revision sets ephemeralStorage, containerDefinitions[jobs].memory, which berth does not model: the new revision leaves them out"),
        "{said}"
    );
}

#[test]
fn a_target_group_on_another_port_than_the_containers_is_a_warning() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    account.retag(None);
    // Targets registered on the container port, the group made on 8080.
    account.edit(|s| s.target_groups.values_mut().for_each(|tg| tg.spec.port = 8080));
    let dir = tempfile::tempdir().expect("tempdir");
    let out = account.berth_in(dir.path()).args(["import", "--cluster", "hello", "--service", "hello-web", "--listener", LISTENER]).run();
    ok(&out);
    assert!(
        out.stderr.contains("target group hello-web.port = 8080 is not imported: berth's target group is on the container port (80), and a port cannot change in place"),
        "{}",
        out.stderr
    );
}

/// A service and its sidecar that both read one secret share its one file
/// in the task's volume (written once), and such a task imports as it is.
#[test]
fn a_secret_two_containers_of_a_task_read_is_written_once_and_round_trips() {
    let account = SimAccount::new();
    let app = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        app.path().join("compose.yaml"),
        "name: pair
x-berth:
  network: { subnets: [subnet-0a1], security_groups: [sg-0web] }
  execution_role_arn: arn:aws:iam::123456789012:role/pair-exec
  secrets: { db: \"arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:pair/db-AbCdEf\" }
secrets:
  db: { file: ./db.txt }
services:
  api:
    image: nginx:1.27
    expose: [\"80\"]
    secrets: [db]
  backup:
    image: busybox:1.37
    command: [sleep, infinity]
    secrets: [db]
    x-berth: { task: api }
",
    )
    .expect("write");
    ok(&account.berth_in(app.path()).args(["apply", "--yes"]).run());
    let script = account.read(|s| {
        let td = &s.task_definitions["pair-api"][0].spec;
        td.container_definitions.iter().find(|c| c.name == "berth-init").and_then(|c| c.command.clone()).unwrap_or_default().join("\n")
    });
    assert_eq!(script.matches("> '/run/secrets/db'").count(), 1, "written once:\n{script}");
    account.retag(None);
    let dir = tempfile::tempdir().expect("tempdir");
    let out = account.berth_in(dir.path()).args(["import", "--cluster", "pair", "--service", "pair-api"]).run();
    ok(&out);
    let spec = std::fs::read_to_string(dir.path().join("compose.berth.yaml")).expect("written");
    assert!(out.stderr.contains("(1 services, 0 warnings)"), "{}\n{spec}", out.stderr);
    adopt_only(account.berth_in(dir.path()), &spec);
}

/// After a blue/green deploy both colors exist: adopting the pair tags both,
/// so the next deploy, to the idle color, deploys to one of the app's own.
#[test]
fn adopting_a_blue_green_pair_tags_both_colors_and_the_next_deploy_works() {
    let account = SimAccount::new();
    ok(&account.berth("shop", "v1").args(["apply", "--yes"]).run());
    ok(&account.berth("shop", "v2").args(["apply", "--yes"]).run());
    assert!(account.read(|s| s.services.contains_key("shop-web-blue") && s.services.contains_key("shop-web-green")), "both colors");
    account.retag(None);
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2";
    let import = ["import", "--cluster", "shop", "--service", "shop-web", "--service", "shop-api", "--service", "shop-worker"];
    ok(&account.berth_in(dir.path()).args(import).args(["--listener", listener, "--namespace", "shop.local"]).run());
    ok(&account.berth_in(dir.path()).args(["apply", "--adopt", "--yes"]).run());
    let untagged: Vec<String> = account
        .read(|s| s.services.iter().filter(|(_, v)| !v.spec.tags.iter().any(|t| t.key == "berth:app")).map(|(n, _)| n.clone()).collect());
    assert!(untagged.is_empty(), "untagged after adoption: {untagged:?}");
    // The next image goes to the idle color, now the app's.
    let spec = std::fs::read_to_string(dir.path().join("compose.berth.yaml")).expect("written");
    let image = spec.lines().find(|l| l.contains("shop/web@sha256:")).expect("web image").trim().trim_start_matches("image: ").to_string();
    std::fs::write(dir.path().join("compose.berth.yaml"), spec.replace(&image, "nginx:1.28")).expect("write");
    ok(&account.berth_in(dir.path()).args(["apply", "--yes", "--allow-mutable-tags"]).run());
}
