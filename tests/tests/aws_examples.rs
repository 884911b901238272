//! AWS's own example responses (botocore's `examples-1.json`, vendored in
//! tests/aws-models/ with the botocore version) run through berth's read
//! path: each example's output is turned into the body AWS sends (awsJson,
//! or ELBv2's query-protocol XML, by the operation's shape), served by the
//! replay client as the answer to its operation, and read by the AWS
//! backend's provider methods, so the SDK's deserializer and berth's
//! conversion (berth-aws convert.rs, observe.rs, progress.rs) both run. Each
//! test asserts what berth made of the example.

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
    let task = rt().block_on(async { berth_aws::connect_replay(REGION, r.clone()).await.expect("connect").run_task(&request).await }).expect("started");
    let example = &out["tasks"][0];
    assert_eq!(task.task_arn, example["taskArn"].as_str().expect("arn"));
    assert_eq!(task.last_status, "PENDING");
    assert_eq!(task.containers.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), vec!["sleep"]);
    assert_eq!(task.containers[0].exit_code, None, "a pending container has not exited");
}

/// Which examples the tests above run, and which operations berth calls
/// whose examples no test runs yet (tests/README.md lists them).
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
];

#[test]
fn every_example_of_an_operation_berth_calls_is_run_or_listed_as_not_yet() {
    let readme = std::fs::read_to_string(berth_tests::repo_root().join("tests/README.md")).expect("README");
    let mut not_yet = Vec::new();
    for (prefix, service) in berth_tests::aws_models::SERVICES {
        let all = examples(service);
        for op in all["examples"].as_object().expect("examples").keys() {
            let operation = format!("{prefix}:{op}");
            if !RUN.contains(&operation.as_str()) {
                not_yet.push(operation);
            }
        }
    }
    println!("examples run for {} operations; not yet for {}: {not_yet:?}", RUN.len(), not_yet.len());
    for op in &not_yet {
        assert!(readme.contains(&format!("`{op}`")), "{op}: an example no test runs, and tests/README.md does not list it");
    }
}
