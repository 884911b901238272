//! AWS's own example responses (botocore's `examples-1.json`, vendored in
//! tests/aws-models/ with the botocore version) run through berth's read
//! path: each example's output is turned into the body AWS sends (awsJson,
//! or ELBv2's query-protocol XML, by the operation's shape), served by the
//! replay client as the answer to its operation, and read by the AWS
//! backend's provider methods, so the SDK's deserializer and berth's
//! conversion (berth-aws convert.rs, observe.rs, progress.rs) both run. Each
//! test asserts what berth made of the example. The writes' examples answer
//! the provider's write methods (write.rs): what berth reads from them (an
//! ARN, a deployment id), what it sent, and that its requests fit the models.

use berth_aws::replay::{Recorded, Replay};
use berth_provider::{Kind, Observed, Provider, Scope};
use berth_tests::aws_models::{models_dir, wire_response, Models, Side};
use serde_json::{json, Value};

const REGION: &str = "us-west-2";

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().expect("runtime")
}

fn models() -> &'static Models {
    static MODELS: std::sync::OnceLock<Models> = std::sync::OnceLock::new();
    MODELS.get_or_init(Models::load)
}

/// The vendored examples of one botocore service (`ecs`, `elbv2`, ...).
fn examples(service: &str) -> Value {
    let path = models_dir().join(format!("{service}.examples.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).expect("examples")).expect("examples JSON")
}

fn service_of(operation: &str) -> &'static str {
    match operation.split(':').next() {
        Some("ecs") => "ecs",
        Some("ecr") => "ecr",
        Some("elasticloadbalancing") => "elbv2",
        Some("servicediscovery") => "servicediscovery",
        Some("application-autoscaling") => "application-autoscaling",
        _ => "logs",
    }
}

/// The outputs of every example of `operation` (`ecs:DescribeServices`).
fn outputs(operation: &str) -> Vec<Value> {
    let op = operation.split(':').nth(1).expect("service:Operation");
    let all = examples(service_of(operation));
    let list = all["examples"][op].as_array().unwrap_or_else(|| panic!("no example of {operation}"));
    list.iter().map(|e| e["output"].clone()).collect()
}

/// The example output as AWS sends it, for the replay client.
fn served(operation: &str, output: &Value) -> Recorded {
    Recorded::ok(operation, wire_response(models(), operation, output).unwrap_or_else(|e| panic!("{operation}: {e}")))
}

fn elb_xml(op: &str, result: &str) -> String {
    format!(
        r#"<{op}Response xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><{op}Result>{result}</{op}Result><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></{op}Response>"#
    )
}

/// Empty answers to every read berth's observe and progress make, after
/// the examples (the replay client serves the first recorded response of
/// an operation, so an example comes first).
fn empty_reads() -> Vec<Recorded> {
    let once = [
        Recorded::ok("ecs:DescribeClusters", json!({"clusters": [], "failures": []}).to_string()),
        Recorded::ok("ecs:ListServices", json!({"serviceArns": []}).to_string()),
        Recorded::ok("ecs:DescribeServices", json!({"services": [], "failures": []}).to_string()),
        Recorded::ok("ecs:ListTaskDefinitionFamilies", json!({"families": []}).to_string()),
        Recorded::status(
            "ecs:DescribeTaskDefinition",
            400,
            json!({"__type": "ClientException", "message": "Unable to describe task definition."}).to_string(),
        ),
        Recorded::ok("ecs:ListTasks", json!({"taskArns": []}).to_string()),
        Recorded::ok("ecs:DescribeTasks", json!({"tasks": [], "failures": []}).to_string()),
        Recorded::ok("ecr:DescribeRepositories", json!({"repositories": []}).to_string()),
        Recorded::ok("ecr:ListTagsForResource", json!({"tags": []}).to_string()),
        Recorded::status(
            "ecr:GetLifecyclePolicy",
            400,
            json!({"__type": "LifecyclePolicyNotFoundException", "message": "none"}).to_string(),
        ),
        Recorded::ok("ecr:ListImages", json!({"imageIds": []}).to_string()),
        Recorded::ok("elasticloadbalancing:DescribeTargetGroups", elb_xml("DescribeTargetGroups", "<TargetGroups/>")),
        Recorded::ok("elasticloadbalancing:DescribeTags", elb_xml("DescribeTags", "<TagDescriptions/>")),
        Recorded::ok("elasticloadbalancing:DescribeTargetGroupAttributes", elb_xml("DescribeTargetGroupAttributes", "<Attributes/>")),
        Recorded::ok("elasticloadbalancing:DescribeRules", elb_xml("DescribeRules", "<Rules/>")),
        Recorded::ok("elasticloadbalancing:DescribeListeners", elb_xml("DescribeListeners", "<Listeners/>")),
        Recorded::ok("elasticloadbalancing:DescribeTargetHealth", elb_xml("DescribeTargetHealth", "<TargetHealthDescriptions/>")),
        Recorded::ok("servicediscovery:ListNamespaces", json!({"Namespaces": []}).to_string()),
        Recorded::ok("servicediscovery:ListServices", json!({"Services": []}).to_string()),
        Recorded::ok("servicediscovery:ListTagsForResource", json!({"Tags": []}).to_string()),
        Recorded::ok("logs:DescribeLogGroups", json!({"logGroups": []}).to_string()),
        Recorded::ok("application-autoscaling:DescribeScalableTargets", json!({"ScalableTargets": []}).to_string()),
    ];
    (0..10).flat_map(|_| once.clone()).collect()
}

fn replay(first: Vec<Recorded>) -> Replay {
    Replay::new(first.into_iter().chain(empty_reads()).collect())
}

fn observe(replay: &Replay, scope: &Scope) -> Observed {
    rt().block_on(async { berth_aws::connect_replay(REGION, replay.clone()).await.expect("connect").observe(scope).await })
        .unwrap_or_else(|e| panic!("observe: {e}"))
}

fn of_kind(observed: &Observed, kind: Kind) -> Vec<&berth_provider::LiveResource> {
    observed.resources.iter().filter(|r| r.kind == kind).collect()
}

fn count(replay: &Replay, op: &str) -> usize {
    replay.calls().iter().filter(|c| *c == op).count()
}

/// Every example output, as berth serves it here, fits the operation's
/// output shape in the model (AWS's examples against AWS's models; the
/// known errata of the examples are named).
#[test]
fn every_example_output_fits_the_aws_models() {
    let mut checked = 0;
    let mut problems = Vec::new();
    for service in ["ecs", "ecr", "elbv2", "servicediscovery"] {
        let prefix = berth_tests::aws_models::SERVICES.iter().find(|(_, s)| *s == service).expect("service").0;
        let all = examples(service);
        for (op, list) in all["examples"].as_object().expect("examples") {
            let operation = format!("{prefix}:{op}");
            for e in list.as_array().expect("list") {
                let Ok(body) = wire_response(models(), &operation, &e["output"]) else { continue };
                checked += 1;
                problems.extend(models().check(&operation, Side::Response, 200, &body));
            }
        }
    }
    println!("{checked} example outputs shape-checked");
    assert!(checked >= 50, "{checked}");
    // None (Cloud Map's GetNamespace example writes CreateDate in ISO 8601's
    // basic format, 20181118T211712Z, which the wire conversion accepts).
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn describe_clusters_example_reads_as_the_cluster() {
    let [out] = &outputs("ecs:DescribeClusters")[..] else { panic!("one example") };
    let r = replay(vec![served("ecs:DescribeClusters", out)]);
    let observed = observe(&r, &Scope { app: "default".into(), cluster: "default".into(), ..Scope::default() });
    let clusters = of_kind(&observed, Kind::Cluster);
    assert_eq!(clusters.len(), 1, "{observed:?}");
    assert_eq!(clusters[0].arn, out["clusters"][0]["clusterArn"].as_str().expect("arn"));
    assert_eq!(clusters[0].spec["clusterName"], "default");
}

#[test]
fn describe_services_example_reads_as_the_service_and_its_deployment() {
    let [out] = &outputs("ecs:DescribeServices")[..] else { panic!("one example") };
    let svc = &out["services"][0];
    let name = svc["serviceName"].as_str().expect("name");
    let list = json!({"serviceArns": [svc["serviceArn"]]});
    let r = replay(vec![served("ecs:ListServices", &list), served("ecs:DescribeServices", out)]);
    let scope = Scope { app: "ecs".into(), cluster: "default".into(), service_names: vec![name.into()], ..Scope::default() };
    let observed = observe(&r, &scope);
    let services = of_kind(&observed, Kind::Service);
    assert_eq!(services.len(), 1, "{observed:?}");
    let spec = &services[0].spec;
    assert_eq!(services[0].arn, svc["serviceArn"].as_str().expect("arn"));
    assert_eq!(spec["serviceName"], svc["serviceName"]);
    assert_eq!(spec["desiredCount"], svc["desiredCount"]);
    assert_eq!(spec["taskDefinition"], svc["taskDefinition"]);
    assert_eq!(spec["deploymentConfiguration"]["maximumPercent"], svc["deploymentConfiguration"]["maximumPercent"]);

    // The same answer as berth's deployment wait reads it.
    let r = replay(vec![served("ecs:DescribeServices", out)]);
    let progress = rt()
        .block_on(async { berth_aws::connect_replay(REGION, r).await.expect("connect").service_progress("default", name, 0).await })
        .expect("progress");
    let d = &svc["deployments"][0];
    assert_eq!(progress.deployments.len(), 1);
    assert_eq!(progress.deployments[0].id, d["id"].as_str().expect("id"));
    assert_eq!(progress.deployments[0].status, "PRIMARY");
    assert_eq!(progress.deployments[0].task_definition, d["taskDefinition"].as_str().expect("td"));
    assert_eq!((progress.deployments[0].desired, progress.deployments[0].running), (1, 0));
    // The example's one event, newer than the cursor.
    assert_eq!(progress.events.len(), 1, "{:?}", progress.events);
    assert!(progress.events[0].message.contains("was unable to place a task"), "{:?}", progress.events);
}

/// The scalable target of the example (`service/default/web-app`) is read
/// with the service it scales (the DescribeServices example, named
/// web-app): its bounds go with the observed service.
#[test]
fn describe_scalable_targets_example_reads_as_the_services_bounds() {
    let [out] = &outputs("application-autoscaling:DescribeScalableTargets")[..] else { panic!("one example") };
    let [services] = &outputs("ecs:DescribeServices")[..] else { panic!("one example") };
    let mut services = services.clone();
    services["services"][0]["serviceName"] = "web-app".into();
    let list = json!({"serviceArns": [services["services"][0]["serviceArn"]]});
    let r = replay(vec![
        served("ecs:ListServices", &list),
        served("ecs:DescribeServices", &services),
        served("application-autoscaling:DescribeScalableTargets", out),
    ]);
    let scope = Scope { app: "ecs".into(), cluster: "default".into(), service_names: vec!["web-app".into()], ..Scope::default() };
    let observed = observe(&r, &scope);
    let found = of_kind(&observed, Kind::Service);
    assert_eq!(found.len(), 1, "{observed:?}");
    assert_eq!(found[0].spec["scalableTarget"], json!({"minCapacity": 1, "maxCapacity": 10}));
    assert_eq!(
        sent_json(&r, "application-autoscaling:DescribeScalableTargets", 0),
        json!({"ServiceNamespace": "ecs", "ResourceIds": ["service/default/web-app"], "ScalableDimension": "ecs:service:DesiredCount"})
    );
    assert_eq!(count(&r, "application-autoscaling:DescribeScalableTargets"), 1, "one page (no NextToken)");
}

/// A declared scaler put on the examples' `service/default/web-app`: the
/// target registered with its tags and nothing suspended, the policies the
/// DescribeScalingPolicies example lists (not berth's) deleted, berth's
/// policy put as target tracking; then deregistered.
#[test]
fn scaling_examples_register_put_delete_and_deregister() {
    use berth_model::resources::*;
    let [policies] = &outputs("application-autoscaling:DescribeScalingPolicies")[..] else { panic!("one example") };
    let [put] = &outputs("application-autoscaling:PutScalingPolicy")[..] else { panic!("one example") };
    let [deleted] = &outputs("application-autoscaling:DeleteScalingPolicy")[..] else { panic!("one example") };
    let [deregistered] = &outputs("application-autoscaling:DeregisterScalableTarget")[..] else { panic!("one example") };
    let listed = policies["ScalingPolicies"].as_array().map_or(0, Vec::len);
    let r = replay(
        [
            served("application-autoscaling:RegisterScalableTarget", &json!({})),
            served("application-autoscaling:DescribeScalingPolicies", policies),
        ]
        .into_iter()
        .chain((0..listed).map(|_| served("application-autoscaling:DeleteScalingPolicy", deleted)))
        .chain([
            served("application-autoscaling:PutScalingPolicy", put),
            Recorded::ok("application-autoscaling:DescribeScheduledActions", json!({"ScheduledActions": []}).to_string()),
            served("application-autoscaling:DeregisterScalableTarget", deregistered),
        ])
        .collect(),
    );
    let target = ScalableTarget {
        service_namespace: "ecs".into(),
        resource_id: "service/default/web-app".into(),
        scalable_dimension: SCALABLE_DIMENSION_ECS_COUNT.into(),
        min_capacity: 1,
        max_capacity: 10,
        scaling_policies: vec![ScalingPolicy {
            policy_name: "web-app-cpu".into(),
            policy_type: "TargetTrackingScaling".into(),
            target_tracking_scaling_policy_configuration: TargetTrackingConfiguration {
                target_value: 75.0,
                predefined_metric_specification: PredefinedMetric {
                    predefined_metric_type: "ECSServiceAverageCPUUtilization".into(),
                    resource_label: None,
                },
                scale_in_cooldown: 60,
                scale_out_cooldown: 60,
            },
        }],
        scheduled_actions: vec![],
        tags: vec![Tag { key: "berth:app".into(), value: "web".into() }],
        service: "app".into(),
    };
    rt().block_on(async {
        let aws = berth_aws::connect_replay(REGION, r.clone()).await.expect("connect");
        aws.put_scalable_target(&target).await.expect("put");
        aws.delete_scalable_target("service/default/web-app").await.expect("deregister");
    });
    let registered = sent_json(&r, "application-autoscaling:RegisterScalableTarget", 0);
    assert_eq!(registered["MinCapacity"], 1);
    assert_eq!(registered["MaxCapacity"], 10);
    assert_eq!(registered["Tags"], json!({"berth:app": "web"}));
    assert_eq!(registered["SuspendedState"]["DynamicScalingInSuspended"], false);
    assert_eq!(count(&r, "application-autoscaling:DeleteScalingPolicy"), listed, "the listed policies are not berth's: deleted");
    let policy = sent_json(&r, "application-autoscaling:PutScalingPolicy", 0);
    assert_eq!(policy["PolicyName"], "web-app-cpu");
    assert_eq!(policy["TargetTrackingScalingPolicyConfiguration"]["TargetValue"], 75.0);
    assert_eq!(
        policy["TargetTrackingScalingPolicyConfiguration"]["PredefinedMetricSpecification"]["PredefinedMetricType"],
        "ECSServiceAverageCPUUtilization"
    );
    assert_eq!(sent_json(&r, "application-autoscaling:DeregisterScalableTarget", 0)["ResourceId"], "service/default/web-app");
}

#[test]
fn list_services_example_is_read_and_described() {
    let [out] = &outputs("ecs:ListServices")[..] else { panic!("one example") };
    let r = replay(vec![served("ecs:ListServices", out)]);
    observe(&r, &Scope { app: "x".into(), cluster: "default".into(), ..Scope::default() });
    assert_eq!(count(&r, "ecs:ListServices"), 1, "one page (no nextToken)");
    assert_eq!(count(&r, "ecs:DescribeServices"), 1, "its ARN described: {:?}", r.calls());
}

#[test]
fn describe_task_definition_example_reads_as_the_task_definition() {
    let [out] = &outputs("ecs:DescribeTaskDefinition")[..] else { panic!("one example") };
    let td = &out["taskDefinition"];
    // The example leaves out `status`; AWS sends it (ACTIVE for the latest
    // revision of a family), and berth reuses only an ACTIVE revision.
    let without_status = replay(vec![served("ecs:DescribeTaskDefinition", out)]);
    let got = rt().block_on(async {
        berth_aws::connect_replay(REGION, without_status).await.expect("connect").latest_task_definition("hello_world").await
    });
    assert_eq!(got.expect("read"), None, "a revision without status ACTIVE is never reused");

    let mut active = out.clone();
    active["taskDefinition"]["status"] = json!("ACTIVE");
    let r = replay(vec![served("ecs:DescribeTaskDefinition", &active)]);
    let (arn, model) = rt()
        .block_on(async { berth_aws::connect_replay(REGION, r).await.expect("connect").latest_task_definition("hello_world").await })
        .expect("read")
        .expect("the ACTIVE revision");
    assert_eq!(arn, td["taskDefinitionArn"].as_str().expect("arn"));
    let model = serde_json::to_value(&model).expect("model");
    assert_eq!(model["family"], "hello_world");
    let names: Vec<&str> =
        model["containerDefinitions"].as_array().expect("containers").iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, vec!["wordpress", "mysql"]);
    let wordpress = &model["containerDefinitions"][0];
    assert_eq!(wordpress["image"], "wordpress");
    assert_eq!(wordpress["portMappings"][0]["containerPort"], 80);
}

#[test]
fn list_task_definition_families_examples_are_each_described() {
    let all = outputs("ecs:ListTaskDefinitionFamilies");
    assert_eq!(all.len(), 2);
    for out in &all {
        let families = out["families"].as_array().expect("families").len();
        let r = replay(vec![served("ecs:ListTaskDefinitionFamilies", out)]);
        let observed = observe(&r, &Scope { app: "x".into(), cluster: "default".into(), ..Scope::default() });
        assert_eq!(count(&r, "ecs:DescribeTaskDefinition"), families, "each listed family described once: {:?}", r.calls());
        assert!(of_kind(&observed, Kind::TaskDefinition).is_empty(), "none is described (ClientException here)");
    }
}

#[test]
fn list_tags_for_resource_example_reads_as_the_tags() {
    let [out] = &outputs("ecs:ListTagsForResource")[..] else { panic!("one example") };
    let r = Replay::new(vec![served("ecs:ListTagsForResource", out)]);
    let tags = rt()
        .block_on(async {
            berth_aws::connect_replay(REGION, r)
                .await
                .expect("connect")
                .live_tags(Kind::Service, "arn:aws:ecs:us-west-2:123456789012:service/default/web")
                .await
        })
        .expect("read")
        .expect("tags");
    let got: Vec<(String, String)> = tags.into_iter().map(|t| (t.key, t.value)).collect();
    assert_eq!(got, vec![("team".to_string(), "dev".to_string())]);
}

#[test]
fn list_tasks_and_describe_tasks_examples_are_read_by_the_deployment_wait() {
    let service = json!({"services": [{"serviceName": "web", "status": "ACTIVE", "deployments": [], "events": []}], "failures": []});
    for out in outputs("ecs:ListTasks") {
        let tasks = out["taskArns"].as_array().expect("arns").len();
        let r = replay(vec![served("ecs:DescribeServices", &service), served("ecs:ListTasks", &out)]);
        rt().block_on(async {
            berth_aws::connect_replay(REGION, r.clone()).await.expect("connect").service_progress("default", "web", 0).await
        })
        .expect("progress");
        assert_eq!(count(&r, "ecs:DescribeTasks"), tasks.div_ceil(100), "the listed tasks described: {:?}", r.calls());
    }
    // DescribeTasks' example is a RUNNING task: not a stopped one to report.
    let [out] = &outputs("ecs:DescribeTasks")[..] else { panic!("one example") };
    assert_eq!(out["tasks"][0]["lastStatus"], "RUNNING");
    let list = json!({"taskArns": [out["tasks"][0]["taskArn"]]});
    let r = replay(vec![served("ecs:DescribeServices", &service), served("ecs:ListTasks", &list), served("ecs:DescribeTasks", out)]);
    let progress = rt()
        .block_on(async {
            berth_aws::connect_replay(REGION, r.clone()).await.expect("connect").service_progress("default", "web", 0).await
        })
        .expect("progress");
    assert_eq!(count(&r, "ecs:DescribeTasks"), 1);
    assert!(progress.stopped_tasks.is_empty(), "{:?}", progress.stopped_tasks);
}

#[test]
fn list_task_definitions_examples_give_the_previous_revision() {
    // First example: every family; the second: `familyPrefix: wordpress`.
    let all = outputs("ecs:ListTaskDefinitions");
    let previous = |out: &Value, current: &str| {
        let r = Replay::new(vec![served("ecs:ListTaskDefinitions", out)]);
        rt().block_on(async { berth_aws::connect_replay(REGION, r).await.expect("connect").previous_task_definition(current).await })
            .expect("read")
    };
    let arns: Vec<&str> = all[1]["taskDefinitionArns"].as_array().expect("arns").iter().filter_map(Value::as_str).collect();
    let (newest, rest) = arns.split_last().expect("arns");
    // The example lists revisions oldest first; berth asks for them newest
    // first (sort DESC) and takes the first older one of the same family.
    let got = previous(&all[1], newest);
    assert!(got.as_deref().is_some_and(|p| rest.contains(&p)), "{got:?} of {arns:?}");
    let sleep = all[0]["taskDefinitionArns"].as_array().expect("arns").iter().filter_map(Value::as_str).find(|a| a.contains("/sleep300:"));
    let sleep = sleep.expect("a sleep300 revision");
    let got = previous(&all[0], &sleep.replace(":2", ":9"));
    assert!(got.as_deref().is_some_and(|p| p.contains("/sleep300:")), "{got:?}");
}

#[test]
fn describe_repositories_and_list_images_examples_read_as_repositories() {
    let [out] = &outputs("ecr:DescribeRepositories")[..] else { panic!("one example") };
    let [images] = &outputs("ecr:ListImages")[..] else { panic!("one example") };
    let names: Vec<String> =
        out["repositories"].as_array().expect("repos").iter().map(|r| r["repositoryName"].as_str().expect("name").to_string()).collect();
    let r = replay(vec![served("ecr:DescribeRepositories", out), served("ecr:ListImages", images)]);
    let observed = observe(&r, &Scope { app: "x".into(), cluster: "default".into(), repository_names: names.clone(), ..Scope::default() });
    let mut repos: Vec<(String, u64)> =
        of_kind(&observed, Kind::EcrRepository).iter().map(|r| (r.name.clone(), r.spec["imageCount"].as_u64().expect("count"))).collect();
    repos.sort();
    let mut got_names: Vec<&String> = repos.iter().map(|(n, _)| n).collect();
    got_names.sort();
    let mut want = names.iter().collect::<Vec<_>>();
    want.sort();
    assert_eq!(got_names, want);
    // ListImages' example (one image) answered the first repository read.
    assert_eq!(repos.iter().map(|(_, c)| c).sum::<u64>(), 1, "{repos:?}");
}

#[test]
fn describe_target_groups_and_attributes_examples_read_as_the_target_group() {
    let [out] = &outputs("elasticloadbalancing:DescribeTargetGroups")[..] else { panic!("one example") };
    let [attrs] = &outputs("elasticloadbalancing:DescribeTargetGroupAttributes")[..] else { panic!("one example") };
    let r = replay(vec![
        served("elasticloadbalancing:DescribeTargetGroups", out),
        served("elasticloadbalancing:DescribeTargetGroupAttributes", attrs),
    ]);
    let observed = observe(
        &r,
        &Scope { app: "x".into(), cluster: "default".into(), target_group_names: vec!["my-targets".into()], ..Scope::default() },
    );
    let tgs = of_kind(&observed, Kind::TargetGroup);
    assert_eq!(tgs.len(), 1, "{observed:?}");
    let tg = &out["TargetGroups"][0];
    assert_eq!(tgs[0].arn, tg["TargetGroupArn"].as_str().expect("arn"));
    let spec = serde_json::to_string(&tgs[0].spec).expect("spec");
    // Port 80, HTTP, the health check path and the deregistration delay of the attributes example (300 s).
    for needle in ["\"port\":80", "\"protocol\":\"HTTP\"", "\"healthCheckPath\":\"/\"", "\"vpcId\":\"vpc-3ac0fb5f\"", "300"] {
        assert!(spec.contains(needle), "{needle} in {spec}");
    }
}

#[test]
fn describe_load_balancers_listeners_and_tags_examples_read_as_the_load_balancer() {
    let [lbs] = &outputs("elasticloadbalancing:DescribeLoadBalancers")[..] else { panic!("one example") };
    let [listeners] = &outputs("elasticloadbalancing:DescribeListeners")[..] else { panic!("one example") };
    let [tags] = &outputs("elasticloadbalancing:DescribeTags")[..] else { panic!("one example") };
    let r = replay(vec![
        served("elasticloadbalancing:DescribeLoadBalancers", lbs),
        served("elasticloadbalancing:DescribeListeners", listeners),
        served("elasticloadbalancing:DescribeTags", tags),
    ]);
    let scope =
        Scope { app: "x".into(), cluster: "default".into(), load_balancer_name: Some("my-load-balancer".into()), ..Scope::default() };
    let observed = observe(&r, &scope);
    let found = of_kind(&observed, Kind::LoadBalancer);
    assert_eq!(found.len(), 1, "{observed:?}");
    let lb = found[0];
    assert_eq!(lb.arn, lbs["LoadBalancers"][0]["LoadBalancerArn"].as_str().expect("arn"));
    assert_eq!(lb.spec["subnets"], json!(["subnet-8360a9e7", "subnet-b7d581c0"]));
    assert_eq!(lb.spec["scheme"], "internet-facing");
    assert_eq!(lb.spec["listenerArn"], listeners["Listeners"][0]["ListenerArn"]);
    let got: Vec<(String, String)> = lb.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect();
    assert!(got.contains(&("project".into(), "lima".into())) && got.contains(&("department".into(), "digital-media".into())), "{got:?}");
}

#[test]
fn describe_rules_example_reads_as_a_taken_priority() {
    let [out] = &outputs("elasticloadbalancing:DescribeRules")[..] else { panic!("one example") };
    let listener = "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/app/my-load-balancer/50dc6c495c0c9188/f2f7dc8efc522ab2";
    let r = replay(vec![served("elasticloadbalancing:DescribeRules", out)]);
    let observed = observe(&r, &Scope { app: "x".into(), cluster: "default".into(), listener: Some(listener.into()), ..Scope::default() });
    let taken: Vec<(u32, &str, Option<&str>)> =
        observed.taken_priorities.iter().map(|t| (t.priority, t.rule_arn.as_str(), t.owner.as_deref())).collect();
    assert_eq!(
        taken,
        vec![(10, out["Rules"][0]["RuleArn"].as_str().expect("arn"), None)],
        "priority \"10\" (a string in ELB's model) is taken, by no app"
    );
    assert!(of_kind(&observed, Kind::ListenerRule).is_empty(), "not this app's rule");
}

#[test]
fn describe_target_health_examples_count_the_targets() {
    let tg = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067";
    let service = json!({"services": [{"serviceName": "web", "status": "ACTIVE", "deployments": [], "events": [], "loadBalancers": [{"targetGroupArn": tg, "containerName": "web", "containerPort": 80}]}], "failures": []});
    let all = outputs("elasticloadbalancing:DescribeTargetHealth");
    let mut counts = Vec::new();
    for out in &all {
        let r = replay(vec![served("ecs:DescribeServices", &service), served("elasticloadbalancing:DescribeTargetHealth", out)]);
        let progress = rt()
            .block_on(async { berth_aws::connect_replay(REGION, r).await.expect("connect").service_progress("default", "web", 0).await })
            .expect("progress");
        let t = progress.targets.expect("target counts");
        counts.push((t.healthy, t.unhealthy, t.other));
    }
    // The first example: one `unused` target and one `healthy`; the second: one healthy.
    let states: Vec<Vec<&str>> = all
        .iter()
        .map(|o| {
            o["TargetHealthDescriptions"].as_array().expect("list").iter().filter_map(|d| d["TargetHealth"]["State"].as_str()).collect()
        })
        .collect();
    let want: Vec<(u32, u32, u32)> = states
        .iter()
        .map(|s| {
            let n = |x: &str| s.iter().filter(|y| **y == x).count() as u32;
            (n("healthy"), n("unhealthy"), s.len() as u32 - n("healthy") - n("unhealthy"))
        })
        .collect();
    assert_eq!(counts, want, "{states:?}");
    assert!(want.iter().any(|(_, _, other)| *other > 0), "an example with a target neither healthy nor unhealthy: {states:?}");
}

#[test]
fn cloud_map_list_examples_read_as_namespace_and_service() {
    let [namespaces] = &outputs("servicediscovery:ListNamespaces")[..] else { panic!("one example") };
    let [tags] = &outputs("servicediscovery:ListTagsForResource")[..] else { panic!("one example") };
    let [services] = &outputs("servicediscovery:ListServices")[..] else { panic!("one example") };
    let r = replay(vec![
        served("servicediscovery:ListNamespaces", namespaces),
        served("servicediscovery:ListTagsForResource", tags),
        served("servicediscovery:ListServices", services),
    ]);
    let scope = Scope {
        app: "x".into(),
        cluster: "default".into(),
        namespace: Some("local".into()),
        cloud_map_names: vec!["myservice".into()],
        ..Scope::default()
    };
    let observed = observe(&r, &scope);
    let ns = of_kind(&observed, Kind::Namespace);
    assert_eq!(ns.len(), 1, "{observed:?}");
    assert_eq!(ns[0].arn, namespaces["Namespaces"][0]["Arn"].as_str().expect("arn"));
    let got: Vec<(String, String)> = ns[0].tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect();
    assert!(got.contains(&("Project".into(), "Zeta".into())) && got.contains(&("Department".into(), "Engineering".into())), "{got:?}");
    let svcs = of_kind(&observed, Kind::CloudMapService);
    assert_eq!(svcs.len(), 1, "{observed:?}");
    assert_eq!(svcs[0].arn, services["Services"][0]["Arn"].as_str().expect("arn"));
    let spec = serde_json::to_string(&svcs[0].spec).expect("spec");
    assert!(spec.contains("MULTIVALUE") && spec.contains("60"), "routing policy and TTL of the example: {spec}");
}

#[test]
fn cloud_map_namespace_creation_examples_read_as_the_namespace_arn() {
    let [created] = &outputs("servicediscovery:CreatePrivateDnsNamespace")[..] else { panic!("one example") };
    let [operation] = &outputs("servicediscovery:GetOperation")[..] else { panic!("one example") };
    let [namespace] = &outputs("servicediscovery:GetNamespace")[..] else { panic!("one example") };
    // The examples are of different namespaces; GetOperation's says SUCCESS.
    assert_eq!(operation["Operation"]["Status"], "SUCCESS");
    let r = Replay::new(vec![
        served("servicediscovery:CreatePrivateDnsNamespace", created),
        served("servicediscovery:GetOperation", operation),
        served("servicediscovery:GetNamespace", namespace),
    ]);
    let ns = berth_model::resources::Namespace { name: "example-http.com".into(), vpc: Some("vpc-1".into()), tags: vec![] };
    let arn = rt()
        .block_on(async { berth_aws::connect_replay(REGION, r.clone()).await.expect("connect").create_namespace(&ns).await })
        .expect("created");
    // GetNamespace's example writes its ARN with a space in it, as AWS's example does.
    assert_eq!(arn, namespace["Namespace"]["Arn"].as_str().expect("arn"));
    assert_eq!(
        r.calls(),
        vec!["servicediscovery:CreatePrivateDnsNamespace", "servicediscovery:GetOperation", "servicediscovery:GetNamespace"]
    );
}

#[test]
fn cloud_map_tag_resource_example_is_what_adoption_sends() {
    // Adopting a Cloud Map service made before berth tags it; the example
    // answers `{}`.
    let [tagged] = &outputs("servicediscovery:TagResource")[..] else { panic!("one example") };
    let r = Replay::new(vec![served("servicediscovery:TagResource", tagged)]);
    let arn = "arn:aws:servicediscovery:us-west-2:123456789012:service/srv-e4anhexample0004";
    let tags = berth_model::resources::ownership_tags("legacy");
    let want = tag_pairs(&tags);
    call(&r, |aws| async move { aws.tag_resource(Kind::CloudMapService, arn, &tags).await }).expect("tagged");
    made_exactly(&r, &["servicediscovery:TagResource"]);
    let body = sent_json(&r, "servicediscovery:TagResource", 0);
    assert_eq!(body["ResourceARN"], arn);
    let sent: Vec<(String, String)> = body["Tags"]
        .as_array()
        .expect("tags")
        .iter()
        .map(|t| (t["Key"].as_str().unwrap_or_default().into(), t["Value"].as_str().unwrap_or_default().into()))
        .collect();
    assert_eq!(sent, want);
}

#[test]
fn run_task_example_reads_as_the_started_task() {
    let out = &outputs("ecs:RunTask")[0];
    let r = replay(vec![served("ecs:RunTask", out)]);
    let request = berth_provider::RunTaskRequest {
        cluster: "default".into(),
        task_definition: "sleep360:1".into(),
        launch_type: "EC2".into(),
        started_by: "berth-run".into(),
        ..Default::default()
    };
    let task = rt()
        .block_on(async { berth_aws::connect_replay(REGION, r.clone()).await.expect("connect").run_task(&request).await })
        .expect("started");
    let example = &out["tasks"][0];
    assert_eq!(task.task_arn, example["taskArn"].as_str().expect("arn"));
    assert_eq!(task.last_status, "PENDING");
    assert_eq!(task.containers.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), vec!["sleep"]);
    assert_eq!(task.containers[0].exit_code, None, "a pending container has not exited");
}

// The writes. A provider method may make several calls: the example of
// the operation under test answers its call, and every other call gets a
// minimal answer written as the output shape's JSON, turned into the wire
// body and shape-checked like the examples. Each test asserts what berth
// read from the example (an ARN, a deployment id, or that it succeeded),
// what it sent, and that every request it sent fits the operation's input
// shape in AWS's models.

/// A spec with one of each resource berth writes: a load balancer it
/// creates (HTTPS, so two listeners), a routed service, a Cloud Map
/// service, an ECR repository with a lifecycle policy.
const WRITES: &str = "name: ex
x-berth:
  region: us-west-2
  network: { vpc_id: vpc-3ac0fb5f, subnets: [subnet-b7d581c0, subnet-8360a9e7], security_groups: [sg-5943793c] }
  load_balancer:
    create:
      subnets: [subnet-b7d581c0, subnet-8360a9e7]
      security_groups: [sg-5943793c]
      certificate_arn: arn:aws:iam::123456789012:server-certificate/my-server-cert
  discovery: { namespace: ex.local }
  registry:
    lifecycle:
      - { tag_status: untagged, expire_after_days: 14 }
      - { tag_status: any, keep_last: 30 }
services:
  web:
    image: nginx:1.27
    ports: [\"80\"]
    x-berth: { route: { paths: [\"/img/*\"] } }
  api:
    build: ./api
    expose: [\"9000\"]
    x-berth: { discovery: true }
";

fn desired() -> berth_model::Desired {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("compose.yaml"), WRITES).expect("write");
    std::fs::create_dir(dir.path().join("api")).expect("api");
    let loaded = berth_spec::load(&berth_spec::LoadOptions { dir: dir.path().to_path_buf(), ..Default::default() })
        .unwrap_or_else(|d| panic!("{d}"));
    berth_model::lower(&loaded.app)
}

/// An answer berth needs besides the example under test, as the output
/// shape's JSON; its wire body fits the model.
fn minimal(operation: &str, output: Value) -> Recorded {
    let r = served(operation, &output);
    let problems = models().check(operation, Side::Response, 200, &r.body);
    assert!(problems.is_empty(), "{operation}: {problems:#?}");
    r
}

/// Runs one provider call on a fresh connection to `replay`.
fn call<T, F, Fut>(replay: &Replay, f: F) -> T
where
    F: FnOnce(berth_aws::Aws) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    rt().block_on(async { f(berth_aws::connect_replay(REGION, replay.clone()).await.expect("connect")).await })
}

/// The calls berth made were exactly `want`, each answered (nothing left
/// over), and every request body fits its operation's input shape.
fn made_exactly(replay: &Replay, want: &[&str]) {
    assert_eq!(replay.calls(), want, "calls");
    assert!(replay.unused().is_empty(), "answers never asked for: {:?}", replay.unused());
    let mut problems = Vec::new();
    let mut ops = want.to_vec();
    ops.dedup();
    for op in ops {
        for body in replay.sent(op) {
            problems.extend(models().check(op, Side::Request, 0, &body));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// The `n`-th awsJson body berth sent for `operation`.
fn sent_json(replay: &Replay, operation: &str, n: usize) -> Value {
    let sent = replay.sent(operation);
    serde_json::from_str(sent.get(n).unwrap_or_else(|| panic!("{operation} sent {} times", sent.len()))).expect("JSON body")
}

/// The `n`-th query-protocol body berth sent for `operation`, as decoded
/// `key=value` pairs.
fn sent_form(replay: &Replay, operation: &str, n: usize) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("percent escape"));
                    i += 2;
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8(out).expect("UTF-8")
    }
    let sent = replay.sent(operation);
    let body = sent.get(n).unwrap_or_else(|| panic!("{operation} sent {} times", sent.len()));
    body.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (decode(k), decode(v))).collect()
}

fn param<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The tags as berth sends them to ELB (`Tags.member.N.Key/Value`).
fn form_tags(form: &[(String, String)]) -> Vec<(String, String)> {
    (1..)
        .map_while(|i| {
            let k = param(form, &format!("Tags.member.{i}.Key"))?;
            Some((k.to_string(), param(form, &format!("Tags.member.{i}.Value")).unwrap_or_default().to_string()))
        })
        .collect()
}

fn tag_pairs(tags: &[berth_model::resources::Tag]) -> Vec<(String, String)> {
    tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect()
}

fn str_of<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str().unwrap_or_else(|| panic!("{what} in the example"))
}

#[test]
fn create_cluster_and_delete_cluster_examples() {
    let [created] = &outputs("ecs:CreateCluster")[..] else { panic!("one example") };
    let cluster =
        berth_model::resources::Cluster { cluster_name: "my_cluster".into(), capacity_providers: Vec::new(), tags: desired().cluster.tags };
    let r = Replay::new(vec![served("ecs:CreateCluster", created)]);
    let arn = call(&r, |aws| async move { aws.create_cluster(&cluster).await }).expect("created");
    assert_eq!(arn, str_of(&created["cluster"]["clusterArn"], "clusterArn"));
    made_exactly(&r, &["ecs:CreateCluster"]);
    let body = sent_json(&r, "ecs:CreateCluster", 0);
    assert_eq!(body["clusterName"], "my_cluster");
    assert!(body["tags"].as_array().is_some_and(|t| t.contains(&json!({"key": "berth:app", "value": "ex"}))), "{body}");

    // DeleteCluster's example answers the INACTIVE cluster; berth reads no more than success.
    let [deleted] = &outputs("ecs:DeleteCluster")[..] else { panic!("one example") };
    assert_eq!(deleted["cluster"]["status"], "INACTIVE");
    let r = Replay::new(vec![served("ecs:DeleteCluster", deleted)]);
    let arn = arn.clone();
    call(&r, |aws| async move { aws.delete_cluster(&arn).await }).expect("deleted");
    made_exactly(&r, &["ecs:DeleteCluster"]);
    assert_eq!(sent_json(&r, "ecs:DeleteCluster", 0)["cluster"], str_of(&created["cluster"]["clusterArn"], "arn"));
}

#[test]
fn register_task_definition_example_reads_as_the_revision_arn() {
    let [out] = &outputs("ecs:RegisterTaskDefinition")[..] else { panic!("one example") };
    let d = desired();
    let td = d.task_definitions.iter().find(|t| t.family == "ex-web").expect("ex-web").clone();
    let r = Replay::new(vec![served("ecs:RegisterTaskDefinition", out)]);
    let arn = call(&r, |aws| async move { aws.register_task_definition(&td).await }).expect("registered");
    // The example's ARN as AWS wrote it (`<aws_account_id>` and revision 19 beside `"revision": 1`).
    assert_eq!(arn, str_of(&out["taskDefinition"]["taskDefinitionArn"], "arn"));
    made_exactly(&r, &["ecs:RegisterTaskDefinition"]);
    let body = sent_json(&r, "ecs:RegisterTaskDefinition", 0);
    assert_eq!(body["family"], "ex-web");
    assert_eq!(body["containerDefinitions"][0]["image"], "nginx:1.27");
}

fn web_service(d: &berth_model::Desired) -> berth_model::resources::Service {
    let mut svc = d.services.iter().find(|s| s.service_name == "ex-web").expect("ex-web").clone();
    svc.task_definition = "hello_world".into();
    for lb in &mut svc.load_balancers {
        lb.target_group_arn = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067".into();
    }
    svc
}

#[test]
fn create_service_examples_read_as_the_service_arn_and_primary_deployment() {
    let all = outputs("ecs:CreateService");
    assert_eq!(all.len(), 2);
    for out in &all {
        let svc = web_service(&desired());
        let r = Replay::new(vec![served("ecs:CreateService", out)]);
        let (arn, deployment) = call(&r, |aws| async move { aws.create_service(&svc).await }).expect("created");
        let example = &out["service"];
        assert_eq!(arn, str_of(&example["serviceArn"], "serviceArn"));
        // The PRIMARY deployment's id (the first example also lists an ACTIVE one).
        let primary: Vec<&Value> =
            example["deployments"].as_array().expect("deployments").iter().filter(|d| d["status"] == "PRIMARY").collect();
        assert_eq!(primary.len(), 1);
        assert_eq!(deployment, str_of(&primary[0]["id"], "id"));
        made_exactly(&r, &["ecs:CreateService"]);
        let body = sent_json(&r, "ecs:CreateService", 0);
        assert_eq!((body["serviceName"].as_str(), body["taskDefinition"].as_str()), (Some("ex-web"), Some("hello_world")));
    }
    let first = &all[0]["service"]["deployments"];
    assert_eq!((first[0]["status"].as_str(), first[1]["status"].as_str()), (Some("PRIMARY"), Some("ACTIVE")));
}

#[test]
fn update_service_examples_and_tag_resource_example() {
    // Both UpdateService examples answer `{}` (AWS sends the service; the
    // examples leave it out): berth reads no deployment id from them. The
    // tags were not read before, so berth sends TagResource, whose example
    // answers `{}` too.
    let all = outputs("ecs:UpdateService");
    assert_eq!(all.len(), 2);
    let [tagged] = &outputs("ecs:TagResource")[..] else { panic!("one example") };
    let arn = "arn:aws:ecs:us-west-2:123456789012:service/ex/ex-web";
    for out in &all {
        assert_eq!(out, &json!({}));
        let svc = web_service(&desired());
        let tags = tag_pairs(&svc.tags);
        let r = Replay::new(vec![served("ecs:UpdateService", out), served("ecs:TagResource", tagged)]);
        let deployment = call(&r, |aws| async move { aws.update_service(arn, &svc).await }).expect("updated");
        assert_eq!(deployment, "", "no service in the answer, so no deployment id");
        made_exactly(&r, &["ecs:UpdateService", "ecs:TagResource"]);
        let body = sent_json(&r, "ecs:UpdateService", 0);
        assert_eq!((body["service"].as_str(), body["taskDefinition"].as_str()), (Some(arn), Some("hello_world")));
        let body = sent_json(&r, "ecs:TagResource", 0);
        assert_eq!(body["resourceArn"], arn);
        let sent: Vec<(String, String)> = body["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .map(|t| (t["key"].as_str().unwrap_or_default().into(), t["value"].as_str().unwrap_or_default().into()))
            .collect();
        assert_eq!(sent, tags);
    }

    // A strategy removed: an empty list on the wire (back to the launch type).
    let mut svc = web_service(&desired());
    svc.clear_capacity_provider_strategy = true;
    let r = Replay::new(vec![served("ecs:UpdateService", &all[0]), served("ecs:TagResource", tagged)]);
    call(&r, |aws| async move { aws.update_service(arn, &svc).await }).expect("updated");
    assert_eq!(sent_json(&r, "ecs:UpdateService", 0)["capacityProviderStrategy"], json!([]));
    let r = Replay::new(vec![served("ecs:UpdateService", &all[0]), served("ecs:TagResource", tagged)]);
    let svc = web_service(&desired());
    call(&r, |aws| async move { aws.update_service(arn, &svc).await }).expect("updated");
    assert!(sent_json(&r, "ecs:UpdateService", 0).get("capacityProviderStrategy").is_none(), "otherwise none is sent");

    // Tags just read and unchanged: UpdateService alone.
    let svc = web_service(&desired());
    let live = json!({"tags": svc.tags.iter().map(|t| json!({"key": t.key, "value": t.value})).collect::<Vec<_>>()});
    let r = Replay::new(vec![minimal("ecs:ListTagsForResource", live), served("ecs:UpdateService", &all[0])]);
    call(&r, |aws| async move {
        aws.live_tags(Kind::Service, arn).await.expect("tags").expect("some");
        aws.update_service(arn, &svc).await
    })
    .expect("updated");
    made_exactly(&r, &["ecs:ListTagsForResource", "ecs:UpdateService"]);
}

#[test]
fn delete_service_example() {
    let [out] = &outputs("ecs:DeleteService")[..] else { panic!("one example") };
    let arn = "arn:aws:ecs:us-west-2:123456789012:service/ex/my-http-service";
    let r = Replay::new(vec![served("ecs:DeleteService", out)]);
    call(&r, |aws| async move { aws.delete_service("ex", arn).await }).expect("deleted");
    made_exactly(&r, &["ecs:DeleteService"]);
    assert_eq!(sent_json(&r, "ecs:DeleteService", 0), json!({"cluster": "ex", "service": arn, "force": true}));
}

#[test]
fn create_repository_and_delete_repository_examples() {
    let [created] = &outputs("ecr:CreateRepository")[..] else { panic!("one example") };
    let d = desired();
    let mut repo = d.ecr_repositories.first().expect("a repository").clone();
    repo.repository_name = "project-a/nginx-web-app".into();
    let policy = repo.lifecycle_policy.clone().expect("a lifecycle policy").to_string();
    let put = json!({"registryId": "012345678901", "repositoryName": "project-a/nginx-web-app", "lifecyclePolicyText": policy});
    let r = Replay::new(vec![served("ecr:CreateRepository", created), minimal("ecr:PutLifecyclePolicy", put)]);
    let arn = call(&r, |aws| async move { aws.put_repository(&repo, None).await }).expect("created");
    assert_eq!(arn, str_of(&created["repository"]["repositoryArn"], "arn"));
    made_exactly(&r, &["ecr:CreateRepository", "ecr:PutLifecyclePolicy"]);
    assert_eq!(sent_json(&r, "ecr:CreateRepository", 0)["repositoryName"], "project-a/nginx-web-app");
    assert_eq!(sent_json(&r, "ecr:PutLifecyclePolicy", 0)["lifecyclePolicyText"], policy.as_str());

    let [deleted] = &outputs("ecr:DeleteRepository")[..] else { panic!("one example") };
    let r = Replay::new(vec![served("ecr:DeleteRepository", deleted)]);
    call(&r, |aws| async move { aws.delete_repository("ubuntu", true).await }).expect("deleted");
    made_exactly(&r, &["ecr:DeleteRepository"]);
    assert_eq!(sent_json(&r, "ecr:DeleteRepository", 0), json!({"repositoryName": "ubuntu", "force": true}));
}

#[test]
fn create_load_balancer_and_create_listener_examples_read_as_the_arns() {
    let lbs = outputs("elasticloadbalancing:CreateLoadBalancer");
    let listeners = outputs("elasticloadbalancing:CreateListener");
    assert_eq!((lbs.len(), listeners.len()), (2, 2));
    assert_eq!(
        (listeners[0]["Listeners"][0]["Protocol"].as_str(), listeners[1]["Listeners"][0]["Protocol"].as_str()),
        (Some("HTTP"), Some("HTTPS"))
    );
    let d = desired();
    let lb = d.load_balancer.clone().expect("a load balancer to create");
    let tags = tag_pairs(&lb.tags);

    // With a certificate: the internet-facing example, then HTTP:80 (a
    // redirect) and HTTPS:443, which serves the app.
    let https = lb.clone();
    let r = Replay::new(vec![
        served("elasticloadbalancing:CreateLoadBalancer", &lbs[0]),
        served("elasticloadbalancing:CreateListener", &listeners[0]),
        served("elasticloadbalancing:CreateListener", &listeners[1]),
    ]);
    let arns = call(&r, |aws| async move { aws.create_load_balancer(&https).await }).expect("created");
    let example = &lbs[0]["LoadBalancers"][0];
    assert_eq!(arns.load_balancer, str_of(&example["LoadBalancerArn"], "arn"));
    assert_eq!(arns.dns_name, str_of(&example["DNSName"], "DNSName"));
    assert_eq!(arns.listener, str_of(&listeners[1]["Listeners"][0]["ListenerArn"], "arn"));
    let calls = ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateListener", "elasticloadbalancing:CreateListener"];
    made_exactly(&r, &calls);
    let created = sent_form(&r, "elasticloadbalancing:CreateLoadBalancer", 0);
    assert_eq!(param(&created, "Name"), Some("ex"));
    assert_eq!(param(&created, "Subnets.member.2"), Some("subnet-8360a9e7"));
    assert_eq!(form_tags(&created), tags);
    let http = sent_form(&r, "elasticloadbalancing:CreateListener", 0);
    let secure = sent_form(&r, "elasticloadbalancing:CreateListener", 1);
    // Each listener on the load balancer ARN read from the example.
    for form in [&http, &secure] {
        assert_eq!(param(form, "LoadBalancerArn"), Some(arns.load_balancer.as_str()));
    }
    assert_eq!((param(&http, "Protocol"), param(&http, "Port")), (Some("HTTP"), Some("80")));
    assert_eq!(param(&http, "DefaultActions.member.1.Type"), Some("redirect"));
    assert_eq!((param(&secure, "Protocol"), param(&secure, "Port")), (Some("HTTPS"), Some("443")));
    assert_eq!(param(&secure, "Certificates.member.1.CertificateArn"), lb.certificate_arn.as_deref());

    // Without one: the internal example and HTTP:80 alone, which serves it.
    let mut internal = lb.clone();
    internal.name = "my-internal-load-balancer".into();
    internal.scheme = "internal".into();
    internal.certificate_arn = None;
    let r = Replay::new(vec![
        served("elasticloadbalancing:CreateLoadBalancer", &lbs[1]),
        served("elasticloadbalancing:CreateListener", &listeners[0]),
    ]);
    let arns = call(&r, |aws| async move { aws.create_load_balancer(&internal).await }).expect("created");
    let example = &lbs[1]["LoadBalancers"][0];
    assert_eq!(arns.load_balancer, str_of(&example["LoadBalancerArn"], "arn"));
    assert!(arns.dns_name.starts_with("internal-my-internal-load-balancer-"), "{}", arns.dns_name);
    assert_eq!(arns.listener, str_of(&listeners[0]["Listeners"][0]["ListenerArn"], "arn"));
    made_exactly(&r, &calls[..2]);
    let created = sent_form(&r, "elasticloadbalancing:CreateLoadBalancer", 0);
    assert_eq!(param(&created, "Scheme"), Some("internal"));
    let http = sent_form(&r, "elasticloadbalancing:CreateListener", 0);
    assert_eq!(param(&http, "DefaultActions.member.1.Type"), Some("fixed-response"));
    assert_eq!(param(&http, "LoadBalancerArn"), Some(arns.load_balancer.as_str()));
}

fn web_target_group(d: &berth_model::Desired) -> berth_model::resources::TargetGroup {
    d.target_groups.iter().find(|t| t.service == "web").expect("web's target group").clone()
}

#[test]
fn create_target_group_example_reads_as_the_arn_its_attributes_are_set_on() {
    let [created] = &outputs("elasticloadbalancing:CreateTargetGroup")[..] else { panic!("one example") };
    let [attrs] = &outputs("elasticloadbalancing:ModifyTargetGroupAttributes")[..] else { panic!("one example") };
    let tg = web_target_group(&desired());
    let sent_tags = tag_pairs(&tg.tags);
    let delay = tg.attributes.iter().find(|a| a.key == "deregistration_delay.timeout_seconds").expect("delay").value.clone();
    let r = Replay::new(vec![
        served("elasticloadbalancing:CreateTargetGroup", created),
        served("elasticloadbalancing:ModifyTargetGroupAttributes", attrs),
    ]);
    let arn = call(&r, |aws| async move { aws.create_target_group(&tg).await }).expect("created");
    let example = str_of(&created["TargetGroups"][0]["TargetGroupArn"], "arn");
    assert_eq!(arn, example);
    made_exactly(&r, &["elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes"]);
    let form = sent_form(&r, "elasticloadbalancing:CreateTargetGroup", 0);
    assert_eq!((param(&form, "Name"), param(&form, "VpcId"), param(&form, "Port")), (Some("ex-web"), Some("vpc-3ac0fb5f"), Some("80")));
    assert_eq!(form_tags(&form), sent_tags);
    // The attributes are set on the ARN read from the example.
    let form = sent_form(&r, "elasticloadbalancing:ModifyTargetGroupAttributes", 0);
    assert_eq!(param(&form, "TargetGroupArn"), Some(example));
    assert_eq!(param(&form, "Attributes.member.1.Key"), Some("deregistration_delay.timeout_seconds"));
    assert_eq!(param(&form, "Attributes.member.1.Value"), Some(delay.as_str()));
}

#[test]
fn modify_target_group_attributes_and_add_tags_examples() {
    let [modified] = &outputs("elasticloadbalancing:ModifyTargetGroup")[..] else { panic!("one example") };
    let [attrs] = &outputs("elasticloadbalancing:ModifyTargetGroupAttributes")[..] else { panic!("one example") };
    let [tagged] = &outputs("elasticloadbalancing:AddTags")[..] else { panic!("one example") };
    assert!(tagged.is_null(), "AddTags answers nothing");
    let tg = web_target_group(&desired());
    let sent_tags = tag_pairs(&tg.tags);
    let arn = str_of(&modified["TargetGroups"][0]["TargetGroupArn"], "arn").to_string();
    let r = Replay::new(vec![
        served("elasticloadbalancing:ModifyTargetGroup", modified),
        served("elasticloadbalancing:ModifyTargetGroupAttributes", attrs),
        served("elasticloadbalancing:AddTags", tagged),
    ]);
    let a = arn.clone();
    call(&r, |aws| async move { aws.modify_target_group(&a, &tg).await }).expect("modified");
    made_exactly(
        &r,
        &["elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes", "elasticloadbalancing:AddTags"],
    );
    let form = sent_form(&r, "elasticloadbalancing:ModifyTargetGroup", 0);
    assert_eq!(param(&form, "TargetGroupArn"), Some(arn.as_str()));
    assert_eq!(param(&form, "HealthCheckPath"), Some("/"));
    let form = sent_form(&r, "elasticloadbalancing:AddTags", 0);
    assert_eq!(param(&form, "ResourceArns.member.1"), Some(arn.as_str()));
    assert_eq!(form_tags(&form), sent_tags);
}

const RULE: &str = "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener-rule/app/my-load-balancer/50dc6c495c0c9188/f2f7dc8efc522ab2/9683b2d02a6cabee";
const TG: &str = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067";

fn web_rule(d: &berth_model::Desired) -> berth_model::resources::ListenerRule {
    let mut rule = d.listener_rules.first().expect("web's rule").clone();
    rule.listener_arn =
        "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener/app/my-load-balancer/50dc6c495c0c9188/f2f7dc8efc522ab2".into();
    for a in &mut rule.actions {
        for t in &mut a.forward_config.target_groups {
            t.target_group_arn = TG.into();
        }
    }
    rule
}

#[test]
fn create_rule_example_reads_as_the_rule_arn() {
    let [out] = &outputs("elasticloadbalancing:CreateRule")[..] else { panic!("one example") };
    let rule = web_rule(&desired());
    let listener = rule.listener_arn.clone();
    let r = Replay::new(vec![served("elasticloadbalancing:CreateRule", out)]);
    let arn = call(&r, |aws| async move { aws.create_rule(&rule, 10).await }).expect("created");
    assert_eq!(arn, str_of(&out["Rules"][0]["RuleArn"], "arn"));
    made_exactly(&r, &["elasticloadbalancing:CreateRule"]);
    let form = sent_form(&r, "elasticloadbalancing:CreateRule", 0);
    assert_eq!((param(&form, "ListenerArn"), param(&form, "Priority")), (Some(listener.as_str()), Some("10")));
    assert_eq!(param(&form, "Conditions.member.1.Field"), Some("path-pattern"));
    assert_eq!(param(&form, "Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn"), Some(TG));
}

#[test]
fn modify_rule_example_answers_both_rule_changes() {
    let [out] = &outputs("elasticloadbalancing:ModifyRule")[..] else { panic!("one example") };
    assert_eq!(out["Rules"][0]["RuleArn"], RULE);
    let rule = web_rule(&desired());
    let green = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/my-targets-green/0123456789abcdef";
    let weights = vec![
        berth_provider::Weight { target_group_arn: TG.into(), weight: 90 },
        berth_provider::Weight { target_group_arn: green.into(), weight: 10 },
    ];
    let r = Replay::new(vec![served("elasticloadbalancing:ModifyRule", out), served("elasticloadbalancing:ModifyRule", out)]);
    call(&r, |aws| async move {
        aws.modify_rule(RULE, &rule).await?;
        aws.set_rule_weights(RULE, &weights).await
    })
    .expect("modified");
    made_exactly(&r, &["elasticloadbalancing:ModifyRule", "elasticloadbalancing:ModifyRule"]);
    let conditions = sent_form(&r, "elasticloadbalancing:ModifyRule", 0);
    assert_eq!(param(&conditions, "RuleArn"), Some(RULE));
    assert_eq!(param(&conditions, "Conditions.member.1.Field"), Some("path-pattern"));
    let weighted = sent_form(&r, "elasticloadbalancing:ModifyRule", 1);
    let tuple = |i: usize, k: &str| param(&weighted, &format!("Actions.member.1.ForwardConfig.TargetGroups.member.{i}.{k}"));
    assert_eq!((tuple(1, "TargetGroupArn"), tuple(1, "Weight")), (Some(TG), Some("90")));
    assert_eq!((tuple(2, "TargetGroupArn"), tuple(2, "Weight")), (Some(green), Some("10")));
    assert_eq!(param(&weighted, "Conditions.member.1.Field"), None, "weights leave the conditions alone");
}

#[test]
fn set_rule_priorities_example() {
    let [out] = &outputs("elasticloadbalancing:SetRulePriorities")[..] else { panic!("one example") };
    let arn = str_of(&out["Rules"][0]["RuleArn"], "arn");
    let r = Replay::new(vec![served("elasticloadbalancing:SetRulePriorities", out)]);
    call(&r, |aws| async move { aws.set_rule_priority(arn, 5).await }).expect("set");
    made_exactly(&r, &["elasticloadbalancing:SetRulePriorities"]);
    let form = sent_form(&r, "elasticloadbalancing:SetRulePriorities", 0);
    assert_eq!(param(&form, "RulePriorities.member.1.RuleArn"), Some(arn));
    assert_eq!(param(&form, "RulePriorities.member.1.Priority"), Some("5"));
    assert_eq!(out["Rules"][0]["Priority"], "5", "the example answers the priority set");
}

#[test]
fn elb_delete_examples() {
    // DeleteRule, DeleteTargetGroup and DeleteLoadBalancer answer nothing.
    let cases: [(&str, &str, &str); 3] = [
        ("elasticloadbalancing:DeleteRule", "RuleArn", "arn:aws:elasticloadbalancing:us-west-2:123456789012:listener-rule/app/my-load-balancer/50dc6c495c0c9188/f2f7dc8efc522ab2/1291d13826f405c3"),
        ("elasticloadbalancing:DeleteTargetGroup", "TargetGroupArn", TG),
        ("elasticloadbalancing:DeleteLoadBalancer", "LoadBalancerArn", "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/my-load-balancer/50dc6c495c0c9188"),
    ];
    for (op, key, arn) in cases {
        let [out] = &outputs(op)[..] else { panic!("one example of {op}") };
        assert!(out.is_null(), "{op}: {out}");
        let r = Replay::new(vec![served(op, out)]);
        call(&r, |aws| async move {
            match op {
                "elasticloadbalancing:DeleteRule" => aws.delete_rule(arn).await,
                "elasticloadbalancing:DeleteTargetGroup" => aws.delete_target_group(arn).await,
                _ => aws.delete_load_balancer(arn).await,
            }
        })
        .unwrap_or_else(|e| panic!("{op}: {e}"));
        made_exactly(&r, &[op]);
        assert_eq!(param(&sent_form(&r, op, 0), key), Some(arn), "{op}");
    }
}

/// An NLB route's listener (berth_model::nlb), as the examples change it:
/// its forward and its certificate, on the example's listener.
fn nlb_listener(protocol: &str, certificate: Option<&str>) -> berth_model::resources::Listener {
    use berth_model::resources as m;
    m::Listener {
        service: "dns".into(),
        load_balancer_arn: "arn:aws:elasticloadbalancing:us-west-2:123456789012:loadbalancer/app/my-load-balancer/50dc6c495c0c9188".into(),
        protocol: protocol.into(),
        port: 443,
        certificates: certificate.iter().map(|c| m::Certificate { certificate_arn: c.to_string() }).collect(),
        default_actions: vec![m::RuleAction {
            kind: "forward".into(),
            forward_config: m::ForwardConfig { target_groups: vec![m::WeightedTargetGroup { target_group_arn: TG.into(), weight: 100 }] },
        }],
        tags: berth_model::resources::ownership_tags("dns"),
    }
}

#[test]
fn modify_listener_examples_set_the_forward_and_the_certificate() {
    let examples = examples("elbv2");
    let cases = examples["examples"]["ModifyListener"].as_array().expect("examples").clone();
    assert_eq!(cases.len(), 2);
    for case in cases {
        let arn = str_of(&case["input"]["ListenerArn"], "arn").to_string();
        let certificate = case["input"]["Certificates"][0]["CertificateArn"].as_str().map(str::to_string);
        let listener = nlb_listener(if certificate.is_some() { "TLS" } else { "TCP" }, certificate.as_deref());
        let r = Replay::new(vec![served("elasticloadbalancing:ModifyListener", &case["output"])]);
        let target = arn.clone();
        call(&r, |aws| async move { aws.modify_listener(&target, &listener).await }).expect("modified");
        made_exactly(&r, &["elasticloadbalancing:ModifyListener"]);
        let form = sent_form(&r, "elasticloadbalancing:ModifyListener", 0);
        assert_eq!(param(&form, "ListenerArn"), Some(arn.as_str()));
        // An NLB forwards to one target group: the plain TargetGroupArn form.
        assert_eq!(param(&form, "DefaultActions.member.1.TargetGroupArn"), Some(TG));
        assert_eq!(param(&form, "DefaultActions.member.1.Type"), Some("forward"));
        assert_eq!(param(&form, "Certificates.member.1.CertificateArn"), certificate.as_deref());
    }
}

#[test]
fn delete_listener_example_deletes_the_listener() {
    let op = "elasticloadbalancing:DeleteListener";
    let [out] = &outputs(op)[..] else { panic!("one example of {op}") };
    assert!(out.is_null(), "{op}: {out}");
    let arn = "arn:aws:elasticloadbalancing:ua-west-2:123456789012:listener/app/my-load-balancer/50dc6c495c0c9188/f2f7dc8efc522ab2";
    let r = Replay::new(vec![served(op, out)]);
    call(&r, |aws| async move { aws.delete_listener(arn).await }).expect("deleted");
    made_exactly(&r, &[op]);
    assert_eq!(param(&sent_form(&r, op, 0), "ListenerArn"), Some(arn));
}

#[test]
fn cloud_map_create_service_example_reads_as_the_service_arn() {
    let [out] = &outputs("servicediscovery:CreateService")[..] else { panic!("one example") };
    let d = desired();
    let svc = d.cloud_map_services.first().expect("api's Cloud Map service").clone();
    let namespace = "arn:aws:servicediscovery:us-west-2:123456789012:namespace/ns-ylexjili4cdxy3xm";
    let r = Replay::new(vec![served("servicediscovery:CreateService", out)]);
    let s = svc.clone();
    let arn = call(&r, |aws| async move { aws.create_cloud_map_service(&s, namespace).await }).expect("created");
    assert_eq!(arn, str_of(&out["Service"]["Arn"], "arn"));
    made_exactly(&r, &["servicediscovery:CreateService"]);
    let body = sent_json(&r, "servicediscovery:CreateService", 0);
    assert_eq!(body["Name"], svc.name.as_str());
    // The namespace id from its ARN, as in the example's request.
    assert_eq!(body["NamespaceId"], "ns-ylexjili4cdxy3xm");
    assert_eq!(body["DnsConfig"]["DnsRecords"][0]["Type"], "A");
}

#[test]
fn cloud_map_delete_service_and_delete_namespace_examples() {
    let [deleted] = &outputs("servicediscovery:DeleteService")[..] else { panic!("one example") };
    let arn = "arn:aws:servicediscovery:us-west-2:123456789012:service/srv-p5zdwlg5uvvzjita";
    let r = Replay::new(vec![served("servicediscovery:DeleteService", deleted)]);
    call(&r, |aws| async move { aws.delete_cloud_map_service(arn).await }).expect("deleted");
    made_exactly(&r, &["servicediscovery:DeleteService"]);
    assert_eq!(sent_json(&r, "servicediscovery:DeleteService", 0), json!({"Id": "srv-p5zdwlg5uvvzjita"}));

    // DeleteNamespace answers an operation id, which berth polls to SUCCESS.
    let [out] = &outputs("servicediscovery:DeleteNamespace")[..] else { panic!("one example") };
    let op = str_of(&out["OperationId"], "OperationId");
    let arn = "arn:aws:servicediscovery:us-west-2:123456789012:namespace/ns-ylexjili4cdxy3xm";
    let done =
        json!({"Operation": {"Id": op, "Type": "DELETE_NAMESPACE", "Status": "SUCCESS", "Targets": {"NAMESPACE": "ns-ylexjili4cdxy3xm"}}});
    let r = Replay::new(vec![served("servicediscovery:DeleteNamespace", out), minimal("servicediscovery:GetOperation", done)]);
    call(&r, |aws| async move { aws.delete_namespace(arn).await }).expect("deleted");
    made_exactly(&r, &["servicediscovery:DeleteNamespace", "servicediscovery:GetOperation"]);
    assert_eq!(sent_json(&r, "servicediscovery:DeleteNamespace", 0), json!({"Id": "ns-ylexjili4cdxy3xm"}));
    assert_eq!(sent_json(&r, "servicediscovery:GetOperation", 0), json!({"OperationId": op}));
}

/// The operations whose examples the tests above run: every operation of
/// the vendored examples, which hold only the operations berth calls.
const RUN: &[&str] = &[
    "ecs:DescribeClusters",
    "ecs:DescribeServices",
    "ecs:ListServices",
    "ecs:DescribeTaskDefinition",
    "ecs:ListTaskDefinitionFamilies",
    "ecs:ListTagsForResource",
    "ecs:ListTasks",
    "ecs:DescribeTasks",
    "ecs:RunTask",
    "ecs:ListTaskDefinitions",
    "ecr:DescribeRepositories",
    "ecr:ListImages",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetHealth",
    "servicediscovery:ListNamespaces",
    "servicediscovery:ListTagsForResource",
    "servicediscovery:ListServices",
    "servicediscovery:CreatePrivateDnsNamespace",
    "servicediscovery:GetOperation",
    "servicediscovery:GetNamespace",
    "servicediscovery:TagResource",
    "ecs:CreateCluster",
    "ecs:DeleteCluster",
    "ecs:RegisterTaskDefinition",
    "ecs:CreateService",
    "ecs:UpdateService",
    "ecs:TagResource",
    "ecs:DeleteService",
    "ecr:CreateRepository",
    "ecr:DeleteRepository",
    "elasticloadbalancing:CreateLoadBalancer",
    "elasticloadbalancing:CreateListener",
    "elasticloadbalancing:CreateTargetGroup",
    "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:ModifyTargetGroupAttributes",
    "elasticloadbalancing:AddTags",
    "elasticloadbalancing:CreateRule",
    "elasticloadbalancing:ModifyRule",
    "elasticloadbalancing:SetRulePriorities",
    "elasticloadbalancing:DeleteRule",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:DeleteLoadBalancer",
    "servicediscovery:CreateService",
    "servicediscovery:DeleteService",
    "servicediscovery:DeleteNamespace",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:DeleteScalingPolicy",
    "application-autoscaling:PutScalingPolicy",
    "application-autoscaling:DeregisterScalableTarget",
];

#[test]
fn every_example_of_an_operation_berth_calls_is_run() {
    let mut not_run = Vec::new();
    let mut with_examples = Vec::new();
    for (prefix, service) in berth_tests::aws_models::SERVICES {
        let all = examples(service);
        for op in all["examples"].as_object().expect("examples").keys() {
            let operation = format!("{prefix}:{op}");
            if !RUN.contains(&operation.as_str()) {
                not_run.push(operation.clone());
            }
            with_examples.push(operation);
        }
    }
    println!("examples run for {} operations", RUN.len());
    assert!(not_run.is_empty(), "examples no test runs: {not_run:?}");
    let stale: Vec<&&str> = RUN.iter().filter(|op| !with_examples.iter().any(|o| o == *op)).collect();
    assert!(stale.is_empty(), "listed as run, but botocore has no example: {stale:?}");
    let mut unique = RUN.to_vec();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), RUN.len(), "an operation listed twice");
}
