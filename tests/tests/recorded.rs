//! The AWS backend against recorded AWS responses, for what the moto
//! emulator does not do (tests/README.md lists each divergence): fields
//! moto drops, paging with nextToken, deployments that progress, complete
//! or fail and roll back, and Cloud Map operations that fail.
//! Response bodies follow the shapes of the AWS API references' examples.

use std::time::Duration;

use berth_aws::replay::{Recorded, Replay};
use berth_engine::wait::{PollPolicy, Wait};
use berth_engine::{Collect, EventKind};
use berth_provider::Provider;
use serde_json::{json, Value};

const REGION: &str = "eu-central-1";
const ACCOUNT: &str = "111122223333";

fn rt() -> tokio::runtime::Runtime {
    // Paused time: waits between polls pass instantly, in order.
    tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build().expect("runtime")
}

fn tags(app: &str) -> Value {
    json!([{"key": "berth:app", "value": app}, {"key": "berth:managed", "value": "true"}])
}

fn load(yaml: &str) -> berth_model::Desired {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("compose.yaml"), yaml).expect("write");
    let loaded = berth_spec::load(&berth_spec::LoadOptions { dir: dir.path().to_path_buf(), ..Default::default() })
        .unwrap_or_else(|d| panic!("{d}"));
    berth_model::lower(&loaded.app)
}

const SPEC: &str = "name: rec
x-berth:
  region: eu-central-1
  network: { subnets: [subnet-1], security_groups: [sg-1] }
  discovery: connect
services:
  db:
    image: mariadb:11
    expose: [\"3306\"]
    deploy: { replicas: 2, update_config: { parallelism: 1, order: start-first } }
";

/// DescribeServices as ECS answers it for the service berth created: the
/// deployment configuration at the top, Service Connect on the deployment.
fn described_service(desired: &berth_model::Desired, td_arn: &str) -> Value {
    let svc = serde_json::to_value(&desired.services[0]).expect("service");
    json!({
        "serviceArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/rec/rec-db"),
        "serviceName": "rec-db",
        "clusterArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/rec"),
        "status": "ACTIVE",
        "desiredCount": 2, "runningCount": 2, "pendingCount": 0,
        "launchType": "FARGATE",
        "platformVersion": "LATEST",
        "taskDefinition": td_arn,
        "deploymentConfiguration": svc["deploymentConfiguration"],
        "deployments": [{
            "id": "ecs-svc/9876543210", "status": "PRIMARY", "taskDefinition": td_arn,
            "desiredCount": 2, "runningCount": 2, "pendingCount": 0, "failedTasks": 0,
            "rolloutState": "COMPLETED", "rolloutStateReason": "ECS deployment ecs-svc/9876543210 completed.",
            "createdAt": 1767225600.0, "updatedAt": 1767225700.0,
            "serviceConnectConfiguration": svc["serviceConnectConfiguration"]
        }],
        "events": [],
        "networkConfiguration": svc["networkConfiguration"],
        "schedulingStrategy": "REPLICA",
        "deploymentController": {"type": "ECS"},
        "enableECSManagedTags": true,
        "propagateTags": "SERVICE",
        "tags": tags("rec"),
        "createdAt": 1767225600.0
    })
}

/// DescribeTaskDefinition: our shape plus what ECS adds.
fn described_task_definition(desired: &berth_model::Desired, td_arn: &str) -> Value {
    let mut td = serde_json::to_value(&desired.task_definitions[0]).expect("td");
    let tags = td.as_object_mut().and_then(|o| o.remove("tags")).expect("tags");
    td["taskDefinitionArn"] = json!(td_arn);
    td["revision"] = json!(7);
    td["status"] = json!("ACTIVE");
    td["compatibilities"] = json!(["EC2", "FARGATE"]);
    td["requiresAttributes"] = json!([{"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"}]);
    td["registeredAt"] = json!(1767225600.0);
    td["volumes"] = json!([]);
    td["containerDefinitions"][0]["cpu"] = json!(0);
    td["containerDefinitions"][0]["mountPoints"] = json!([]);
    td["containerDefinitions"][0]["volumesFrom"] = json!([]);
    json!({"taskDefinition": td, "tags": tags})
}

fn empty_target_groups() -> String {
    r#"<DescribeTargetGroupsResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><DescribeTargetGroupsResult><TargetGroups/></DescribeTargetGroupsResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeTargetGroupsResponse>"#.into()
}

/// Fields moto drops (deploymentConfiguration, enableECSManagedTags) or
/// never returns (Service Connect) round-trip on AWS: a re-plan against
/// AWS's answers is empty. ListServices is read page by page (nextToken).
#[test]
fn service_fields_moto_drops_round_trip_and_list_services_pages() {
    let desired = load(SPEC);
    let td_arn = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/rec-db:7");
    let other = |n: u32| format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/rec/legacy-{n}");
    let legacy = |n: u32| json!({"serviceArn": other(n), "serviceName": format!("legacy-{n}"), "status": "ACTIVE", "desiredCount": 1, "runningCount": 1, "pendingCount": 0, "deployments": [], "tags": []});
    let replay = Replay::new(vec![
        Recorded::ok("ecs:DescribeClusters", json!({"clusters": [{"clusterArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/rec"), "clusterName": "rec", "status": "ACTIVE", "tags": tags("rec")}], "failures": []}).to_string()),
        Recorded::ok("ecs:ListServices", json!({"serviceArns": [format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/rec/rec-db"), other(1)], "nextToken": "page-2"}).to_string()),
        Recorded::ok("ecs:ListServices", json!({"serviceArns": [other(2)]}).to_string()),
        Recorded::ok("ecs:DescribeServices", json!({"services": [described_service(&desired, &td_arn), legacy(1), legacy(2)], "failures": []}).to_string()),
        Recorded::ok("ecs:ListTaskDefinitionFamilies", json!({"families": ["rec-db"]}).to_string()),
        Recorded::ok("ecs:DescribeTaskDefinition", described_task_definition(&desired, &td_arn).to_string()),
        // Nothing scales rec-db.
        Recorded::ok("application-autoscaling:DescribeScalableTargets", json!({"ScalableTargets": []}).to_string()),
        Recorded::ok("ecr:DescribeRepositories", json!({"repositories": []}).to_string()),
        Recorded::ok("elasticloadbalancing:DescribeTargetGroups", empty_target_groups()),
        Recorded::ok("servicediscovery:ListNamespaces", json!({"Namespaces": [{"Id": "ns-abc", "Arn": format!("arn:aws:servicediscovery:{REGION}:{ACCOUNT}:namespace/ns-abc"), "Name": "rec.local", "Type": "DNS_PRIVATE"}]}).to_string()),
        Recorded::ok("servicediscovery:ListTagsForResource", json!({"Tags": [{"Key": "berth:app", "Value": "rec"}, {"Key": "berth:managed", "Value": "true"}]}).to_string()),
        Recorded::ok("servicediscovery:ListServices", json!({"Services": []}).to_string()),
        // The app's log group, created by berth with a 30-day retention.
        Recorded::ok("logs:DescribeLogGroups", json!({"logGroups": [{"logGroupName": "/berth/rec", "arn": format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/berth/rec:*"), "logGroupArn": format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/berth/rec"), "retentionInDays": 30, "creationTime": 1767225600000_u64}]}).to_string()),
        Recorded::ok("logs:ListTagsForResource", json!({"tags": {"berth:app": "rec", "berth:managed": "true"}}).to_string()),
    ]);
    rt().block_on(async {
        let aws = berth_aws::connect_replay(REGION, replay.clone()).await.expect("connect");
        let observed = aws.observe(&berth_plan::scope(&desired)).await.expect("observe");
        let ctx = berth_plan::PlanContext { berth_version: "test".into(), backend: aws.name(), priority_range: (1000, 1999), adopt: false };
        let plan = berth_plan::diff(&desired, &observed, &ctx).expect("plan");
        let changes: Vec<(&str, &Vec<String>)> = plan.changes.iter().map(|c| (c.address.as_str(), &c.changed)).collect();
        assert!(changes.is_empty(), "{changes:#?}");
        assert_eq!(plan.summary.unchanged, 5, "cluster, log group, task definition, namespace, service");
    });
    let calls = replay.calls();
    assert_eq!(calls.iter().filter(|c| *c == "ecs:ListServices").count(), 2, "both pages read: {calls:?}");
    assert!(replay.unused().is_empty(), "every recorded response was asked for: {:?}", replay.unused());
}

fn progress_page(deployments: Value, events: Value) -> Recorded {
    Recorded::ok("ecs:DescribeServices", json!({"services": [{"serviceName": "rec-db", "status": "ACTIVE", "deployments": deployments, "events": events, "desiredCount": 2, "runningCount": 0, "pendingCount": 0}], "failures": []}).to_string())
}

#[allow(clippy::too_many_arguments)]
fn deployment(id: &str, status: &str, rollout: &str, td: &str, running: u32, pending: u32, failed: u32, reason: &str) -> Value {
    json!({"id": id, "status": status, "taskDefinition": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/{td}"),
        "desiredCount": 2, "runningCount": running, "pendingCount": pending, "failedTasks": failed,
        "rolloutState": rollout, "rolloutStateReason": reason, "createdAt": 1767225600.0})
}

/// berth's wait on deployment `ecs-svc/2` of service rec-db (cluster rec), with its rollback.
async fn wait_on_rec_db(aws: &berth_aws::Aws, collect: &Collect, timeout: Duration) -> Result<(), berth_engine::DeployFailure> {
    let wait = Wait {
        provider: aws,
        reporter: collect,
        cluster: "rec",
        service: "rec-db",
        timeout,
        poll: PollPolicy::default(),
        rollback: true,
        cancel: None,
        poller: None,
    };
    wait.deployment("ecs-svc/2").await
}

fn no_stopped_tasks() -> Recorded {
    Recorded::ok("ecs:ListTasks", json!({"taskArns": []}).to_string())
}

/// IN_PROGRESS → COMPLETED: berth waits on its deployment by id, reports
/// progress and new service events once each, and returns when it completes.
#[test]
fn deployment_in_progress_then_completed() {
    let new = |rollout: &str, running, pending| deployment("ecs-svc/2", "PRIMARY", rollout, "rec-db:8", running, pending, 0, "");
    let old = |running| deployment("ecs-svc/1", "ACTIVE", "COMPLETED", "rec-db:7", running, 0, 0, "");
    let event = |id: &str, at: f64, msg: &str| json!({"id": id, "createdAt": at, "message": msg});
    let replay = Replay::new(vec![
        progress_page(
            json!([new("IN_PROGRESS", 0, 2), old(2)]),
            json!([event("e1", 1767225601.0, "(service rec-db) has started 2 tasks: (task a) (task b).")]),
        ),
        no_stopped_tasks(),
        progress_page(
            json!([new("IN_PROGRESS", 2, 0), old(2)]),
            json!([event("e1", 1767225601.0, "(service rec-db) has started 2 tasks: (task a) (task b).")]),
        ),
        no_stopped_tasks(),
        progress_page(json!([new("COMPLETED", 2, 0)]), json!([event("e2", 1767225700.0, "(service rec-db) has reached a steady state.")])),
        no_stopped_tasks(),
    ]);
    let collect = Collect::default();
    let result = rt().block_on(async {
        let aws = berth_aws::connect_replay(REGION, replay.clone()).await.expect("connect");
        wait_on_rec_db(&aws, &collect, Duration::from_secs(600)).await
    });
    assert!(result.is_ok(), "{result:?}");
    let events: Vec<EventKind> = collect.events().into_iter().map(|e| e.kind).collect();
    let messages: Vec<&str> =
        events.iter().filter_map(|e| if let EventKind::ServiceEvent { message, .. } = e { Some(message.as_str()) } else { None }).collect();
    assert_eq!(
        messages,
        vec!["(service rec-db) has started 2 tasks: (task a) (task b).", "(service rec-db) has reached a steady state."],
        "each event once"
    );
    assert!(matches!(events.last(), Some(EventKind::DeploymentCompleted { deployment, .. }) if deployment == "ecs-svc/2"));
    assert!(replay.unused().is_empty());
}

/// FAILED by the circuit breaker, with rollback: berth names the stopped
/// reason, waits for the rollback deployment, and reports the failure.
#[test]
fn deployment_failed_with_rollback() {
    let failed = |status: &str| {
        deployment("ecs-svc/2", status, "FAILED", "rec-db:8", 0, 0, 3, "ECS deployment circuit breaker: tasks failed to start.")
    };
    let rollback = |rollout: &str, running| deployment("ecs-svc/3", "PRIMARY", rollout, "rec-db:7", running, 0, 0, "");
    let stopped_arn = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task/rec/0123456789abcdef");
    let replay = Replay::new(vec![
        progress_page(json!([failed("PRIMARY")]), json!([])),
        Recorded::ok("ecs:ListTasks", json!({"taskArns": [stopped_arn]}).to_string()),
        Recorded::ok(
            "ecs:DescribeTasks",
            json!({"tasks": [{"taskArn": stopped_arn, "taskDefinitionArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/rec-db:8"),
                "lastStatus": "STOPPED", "stoppedReason": "Essential container in task exited", "stoppedAt": 1767225650.0}], "failures": []})
            .to_string(),
        ),
        progress_page(json!([rollback("IN_PROGRESS", 1), failed("ACTIVE")]), json!([])),
        no_stopped_tasks(),
        progress_page(json!([rollback("COMPLETED", 2)]), json!([])),
        no_stopped_tasks(),
    ]);
    let collect = Collect::default();
    let result = rt().block_on(async {
        let aws = berth_aws::connect_replay(REGION, replay.clone()).await.expect("connect");
        wait_on_rec_db(&aws, &collect, Duration::from_secs(600)).await
    });
    let err = result.expect_err("the deployment failed").to_string();
    assert!(err.contains("deployment ecs-svc/2 of rec-db failed: ECS deployment circuit breaker"), "{err}");
    assert!(err.contains("rolled the service back to rec-db:7"), "{err}");
    let events: Vec<EventKind> = collect.events().into_iter().map(|e| e.kind).collect();
    assert!(events.iter().any(|e| matches!(e, EventKind::TaskStopped { reason, .. } if reason == "Essential container in task exited")));
    assert!(events.iter().any(|e| matches!(e, EventKind::RollbackStarted { deployment, .. } if deployment == "ecs-svc/3")));
    assert!(matches!(events.last(), Some(EventKind::RollbackCompleted { .. })));
}

/// A task that crashed while berth waits: DescribeTasks says how its
/// containers exited but not where they log; berth reads the revision
/// (once) and shows the failed container's last log lines.
#[test]
fn a_crashed_task_shows_its_last_log_lines() {
    let stopped_arn = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task/rec/0123456789abcdef");
    let td_arn = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/rec-db:8");
    let in_progress = || deployment("ecs-svc/2", "PRIMARY", "IN_PROGRESS", "rec-db:8", 0, 1, 1, "");
    let replay = Replay::new(vec![
        progress_page(json!([in_progress()]), json!([])),
        Recorded::ok("ecs:ListTasks", json!({"taskArns": [stopped_arn]}).to_string()),
        Recorded::ok(
            "ecs:DescribeTasks",
            json!({"tasks": [{"taskArn": stopped_arn, "taskDefinitionArn": td_arn, "lastStatus": "STOPPED",
                "stopCode": "EssentialContainerExited", "stoppedReason": "Essential container in task exited", "stoppedAt": 1767225650.0,
                "containers": [{"name": "db", "lastStatus": "STOPPED", "exitCode": 1}, {"name": "log-router", "lastStatus": "STOPPED", "exitCode": 0}]}],
                "failures": []})
            .to_string(),
        ),
        Recorded::ok(
            "ecs:DescribeTaskDefinition",
            json!({"taskDefinition": {"taskDefinitionArn": td_arn, "family": "rec-db", "revision": 8, "status": "ACTIVE", "containerDefinitions": [
                {"name": "db", "image": "postgres:16", "essential": true, "logConfiguration": {"logDriver": "awslogs",
                    "options": {"awslogs-group": "/berth/rec", "awslogs-region": REGION, "awslogs-stream-prefix": "rec"}}},
                {"name": "log-router", "image": "fluent-bit:3", "essential": false}]}})
            .to_string(),
        ),
        Recorded::ok(
            "logs:FilterLogEvents",
            json!({"events": [
                {"logStreamName": "rec/db/0123456789abcdef", "timestamp": 1767225640000u64, "message": "FATAL: could not open config", "ingestionTime": 1767225641000u64, "eventId": "1"},
                {"logStreamName": "rec/db/0123456789abcdef", "timestamp": 1767225641000u64, "message": "exiting\n", "ingestionTime": 1767225642000u64, "eventId": "2"}]})
            .to_string(),
        ),
        progress_page(json!([deployment("ecs-svc/2", "PRIMARY", "COMPLETED", "rec-db:8", 2, 0, 1, "")]), json!([])),
        no_stopped_tasks(),
    ]);
    let collect = Collect::default();
    let result = rt().block_on(async {
        let aws = berth_aws::connect_replay(REGION, replay.clone()).await.expect("connect");
        wait_on_rec_db(&aws, &collect, Duration::from_secs(600)).await
    });
    assert!(result.is_ok(), "{result:?}");
    let failed = collect
        .events()
        .into_iter()
        .find_map(|e| {
            if let EventKind::TaskFailed { container, exit_code, log_tail, .. } = e.kind {
                Some((container, exit_code, log_tail))
            } else {
                None
            }
        })
        .expect("the failure report");
    assert_eq!(failed, (Some("db".to_string()), Some(1), vec!["FATAL: could not open config".to_string(), "exiting".to_string()]));
    let filter: Value = serde_json::from_str(&replay.sent("logs:FilterLogEvents")[0]).expect("JSON");
    assert_eq!(
        (filter["logGroupName"].as_str(), filter["logStreamNamePrefix"].as_str()),
        (Some("/berth/rec"), Some("rec/db/0123456789abcdef"))
    );
    assert!(replay.unused().is_empty(), "{:?}", replay.unused());
}

/// A deployment that never completes stops at the timeout and says what it waited for.
#[test]
fn deployment_timeout_names_what_it_waited_for() {
    let mut responses = Vec::new();
    for _ in 0..200 {
        responses.push(progress_page(json!([deployment("ecs-svc/2", "PRIMARY", "IN_PROGRESS", "rec-db:8", 1, 1, 0, "")]), json!([])));
        responses.push(no_stopped_tasks());
    }
    let replay = Replay::new(responses);
    let result = rt().block_on(async {
        let aws = berth_aws::connect_replay(REGION, replay).await.expect("connect");
        wait_on_rec_db(&aws, &Collect::default(), Duration::from_secs(120)).await
    });
    let err = result.expect_err("timeout").to_string();
    assert!(
        err.contains("timed out after 120s waiting for deployment ecs-svc/2 of rec-db to complete (1/2 new tasks running, 1 pending"),
        "{err}"
    );
}

/// Cloud Map namespace creation is asynchronous: berth polls the operation,
/// and a failed operation is a clear error.
#[test]
fn namespace_operation_success_and_failure() {
    let ns = berth_model::resources::Namespace { name: "rec.local".into(), vpc: Some("vpc-1".into()), tags: vec![] };
    let ok = Replay::new(vec![
        Recorded::ok("servicediscovery:CreatePrivateDnsNamespace", json!({"OperationId": "op-1"}).to_string()),
        Recorded::ok("servicediscovery:GetOperation", json!({"Operation": {"Id": "op-1", "Type": "CREATE_NAMESPACE", "Status": "SUBMITTED"}}).to_string()),
        Recorded::ok("servicediscovery:GetOperation", json!({"Operation": {"Id": "op-1", "Type": "CREATE_NAMESPACE", "Status": "SUCCESS", "Targets": {"NAMESPACE": "ns-abc"}}}).to_string()),
        Recorded::ok("servicediscovery:GetNamespace", json!({"Namespace": {"Id": "ns-abc", "Arn": format!("arn:aws:servicediscovery:{REGION}:{ACCOUNT}:namespace/ns-abc"), "Name": "rec.local", "Type": "DNS_PRIVATE"}}).to_string()),
    ]);
    let arn = rt()
        .block_on(async { berth_aws::connect_replay(REGION, ok).await.expect("connect").create_namespace(&ns).await })
        .expect("created");
    assert_eq!(arn, format!("arn:aws:servicediscovery:{REGION}:{ACCOUNT}:namespace/ns-abc"));

    let failing = Replay::new(vec![
        Recorded::ok("servicediscovery:CreatePrivateDnsNamespace", json!({"OperationId": "op-2"}).to_string()),
        Recorded::ok(
            "servicediscovery:GetOperation",
            json!({"Operation": {"Id": "op-2", "Type": "CREATE_NAMESPACE", "Status": "FAIL", "ErrorCode": "CANNOT_CREATE_HOSTED_ZONE", "ErrorMessage": "The VPC vpc-1 was not found"}}).to_string(),
        ),
    ]);
    let err = rt()
        .block_on(async { berth_aws::connect_replay(REGION, failing).await.expect("connect").create_namespace(&ns).await })
        .expect_err("fails");
    assert_eq!(err.to_string(), "Cloud Map could not create namespace rec.local: The VPC vpc-1 was not found (CANNOT_CREATE_HOSTED_ZONE)");
}

/// AccessDenied names the action and the resource and points to `berth iam-policy`.
#[test]
fn access_denied_is_actionable() {
    let replay = Replay::new(vec![Recorded::status(
        "ecs:DescribeClusters",
        400,
        json!({"__type": "AccessDeniedException", "message": "User: arn:aws:sts::111122223333:assumed-role/ci/build is not authorized to perform: ecs:DescribeClusters"}).to_string(),
    )]);
    let desired = load(SPEC);
    let err = rt()
        .block_on(async { berth_aws::connect_replay(REGION, replay).await.expect("connect").observe(&berth_plan::scope(&desired)).await })
        .expect_err("denied");
    assert_eq!(err.to_string(), "access denied to ecs:DescribeClusters on rec; see `berth iam-policy` for what berth needs");
}

const POLICY: &str = r#"{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":7},"action":{"type":"expire"}}]}"#;

/// ECR's lifecycle policy preview (moto answers it with HTTP 500): berth
/// starts it, polls until it completes, and reads every page.
#[test]
fn lifecycle_policy_preview() {
    let image = |digest: &str, tags: Value, pushed: f64, rule: u32| json!({"imageDigest": digest, "imageTags": tags, "imagePushedAt": pushed, "action": {"type": "EXPIRE"}, "appliedRulePriority": rule});
    let replay = Replay::new(vec![
        // ECR echoes the repository's policy (at least 100 characters, as its model says).
        Recorded::ok(
            "ecr:StartLifecyclePolicyPreview",
            json!({"registryId": ACCOUNT, "repositoryName": "shop/api", "lifecyclePolicyText": POLICY, "status": "IN_PROGRESS"})
                .to_string(),
        ),
        Recorded::ok(
            "ecr:GetLifecyclePolicyPreview",
            json!({"registryId": ACCOUNT, "repositoryName": "shop/api", "status": "IN_PROGRESS", "previewResults": []}).to_string(),
        ),
        Recorded::ok(
            "ecr:GetLifecyclePolicyPreview",
            json!({"registryId": ACCOUNT, "repositoryName": "shop/api", "status": "COMPLETE", "nextToken": "page-2",
                "previewResults": [image("sha256:bbbb", json!(["dev-2"]), 1700000500.0, 2)]})
            .to_string(),
        ),
        Recorded::ok(
            "ecr:GetLifecyclePolicyPreview",
            json!({"registryId": ACCOUNT, "repositoryName": "shop/api", "status": "COMPLETE",
                "previewResults": [image("sha256:aaaa", json!([]), 1700000000.0, 1)], "summary": {"expiringImageTotalCount": 2}})
            .to_string(),
        ),
    ]);
    let expiring = rt()
        .block_on(async { berth_aws::connect_replay(REGION, replay.clone()).await.expect("connect").lifecycle_preview("shop/api").await })
        .expect("preview");
    let got: Vec<(String, Vec<String>, u32)> = expiring.into_iter().map(|e| (e.digest, e.tags, e.rule_priority)).collect();
    assert_eq!(got, vec![("sha256:aaaa".to_string(), vec![], 1), ("sha256:bbbb".to_string(), vec!["dev-2".to_string()], 2)]);
    assert!(replay.unused().is_empty());
}

/// A declared scaler on AWS (moto keeps no tags on scalable targets): the
/// target, its policy and scheduled action and its berth tags read back as
/// `scaling.db`, equal to the spec — a re-plan is empty; without
/// `autoscaling` in the spec the plan deletes it, before the service.
#[test]
fn a_declared_scaler_reads_back_as_the_spec_and_leaves_with_it() {
    let scaled = SPEC.replace(
        "    deploy: { replicas: 2, update_config: { parallelism: 1, order: start-first } }\n",
        "    deploy: { replicas: 2, update_config: { parallelism: 1, order: start-first } }\n    x-berth:\n      autoscaling: { min: 2, max: 6, cpu: 60%, schedule: [{ name: night, cron: \"0 22 * * ? *\", max: 2 }] }\n",
    );
    let desired = load(&scaled);
    assert_eq!(desired.scalable_targets.len(), 1);
    let td_arn = format!("arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/rec-db:7");
    let target_arn = format!("arn:aws:application-autoscaling:{REGION}:{ACCOUNT}:scalable-target/0ec5abc");
    let resource = "service/rec/rec-db";
    let reads = |desired: &berth_model::Desired| {
        vec![
            Recorded::ok("ecs:DescribeClusters", json!({"clusters": [{"clusterArn": format!("arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/rec"), "clusterName": "rec", "status": "ACTIVE", "tags": tags("rec")}], "failures": []}).to_string()),
            Recorded::ok("ecs:ListServices", json!({"serviceArns": [format!("arn:aws:ecs:{REGION}:{ACCOUNT}:service/rec/rec-db")]}).to_string()),
            Recorded::ok("ecs:DescribeServices", json!({"services": [described_service(desired, &td_arn)], "failures": []}).to_string()),
            Recorded::ok("ecs:ListTaskDefinitionFamilies", json!({"families": ["rec-db"]}).to_string()),
            Recorded::ok("ecs:DescribeTaskDefinition", described_task_definition(desired, &td_arn).to_string()),
            Recorded::ok("application-autoscaling:DescribeScalableTargets", json!({"ScalableTargets": [{
                "ServiceNamespace": "ecs", "ResourceId": resource, "ScalableDimension": "ecs:service:DesiredCount",
                "MinCapacity": 2, "MaxCapacity": 6, "RoleARN": format!("arn:aws:iam::{ACCOUNT}:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"),
                "CreationTime": 1767225600.0, "SuspendedState": {"DynamicScalingInSuspended": false, "DynamicScalingOutSuspended": false, "ScheduledScalingSuspended": false},
                "ScalableTargetARN": target_arn
            }]}).to_string()),
            Recorded::ok("application-autoscaling:DescribeScalingPolicies", json!({"ScalingPolicies": [{
                "PolicyARN": format!("arn:aws:autoscaling:{REGION}:{ACCOUNT}:scalingPolicy:6d8972f3:resource/ecs/{resource}:policyName/rec-db-cpu"),
                "PolicyName": "rec-db-cpu", "ServiceNamespace": "ecs", "ResourceId": resource, "ScalableDimension": "ecs:service:DesiredCount",
                "PolicyType": "TargetTrackingScaling",
                "TargetTrackingScalingPolicyConfiguration": {"TargetValue": 60.0, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}, "ScaleOutCooldown": 300, "ScaleInCooldown": 300},
                "Alarms": [], "CreationTime": 1767225600.0
            }]}).to_string()),
            Recorded::ok("application-autoscaling:DescribeScheduledActions", json!({"ScheduledActions": [{
                "ScheduledActionName": "rec-db-night", "ScheduledActionARN": format!("arn:aws:autoscaling:{REGION}:{ACCOUNT}:scheduledAction:1:resource/ecs/{resource}:scheduledActionName/rec-db-night"),
                "ServiceNamespace": "ecs", "Schedule": "cron(0 22 * * ? *)", "ResourceId": resource, "ScalableDimension": "ecs:service:DesiredCount",
                "ScalableTargetAction": {"MaxCapacity": 2}, "CreationTime": 1767225600.0
            }]}).to_string()),
            Recorded::ok("application-autoscaling:ListTagsForResource", json!({"Tags": {"berth:app": "rec", "berth:managed": "true"}}).to_string()),
            Recorded::ok("ecr:DescribeRepositories", json!({"repositories": []}).to_string()),
            Recorded::ok("elasticloadbalancing:DescribeTargetGroups", empty_target_groups()),
            Recorded::ok("servicediscovery:ListNamespaces", json!({"Namespaces": [{"Id": "ns-abc", "Arn": format!("arn:aws:servicediscovery:{REGION}:{ACCOUNT}:namespace/ns-abc"), "Name": "rec.local", "Type": "DNS_PRIVATE"}]}).to_string()),
            Recorded::ok("servicediscovery:ListTagsForResource", json!({"Tags": [{"Key": "berth:app", "Value": "rec"}, {"Key": "berth:managed", "Value": "true"}]}).to_string()),
            Recorded::ok("servicediscovery:ListServices", json!({"Services": []}).to_string()),
            Recorded::ok("logs:DescribeLogGroups", json!({"logGroups": [{"logGroupName": "/berth/rec", "arn": format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/berth/rec:*"), "logGroupArn": format!("arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/berth/rec"), "retentionInDays": 30, "creationTime": 1767225600000_u64}]}).to_string()),
            Recorded::ok("logs:ListTagsForResource", json!({"tags": {"berth:app": "rec", "berth:managed": "true"}}).to_string()),
        ]
    };
    let plan_of = |desired: &berth_model::Desired, replay: &Replay| {
        rt().block_on(async {
            let aws = berth_aws::connect_replay(REGION, replay.clone()).await.expect("connect");
            let observed = aws.observe(&berth_plan::scope(desired)).await.expect("observe");
            let scaler = observed.get("scaling.db").expect("the scaler is observed as berth's");
            assert_eq!(scaler.arn, target_arn);
            let ctx = berth_plan::PlanContext { berth_version: "test".into(), backend: aws.name(), priority_range: (1000, 1999), adopt: false };
            berth_plan::diff(desired, &observed, &ctx).expect("plan")
        })
    };
    let replay = Replay::new(reads(&desired));
    let plan = plan_of(&desired, &replay);
    let changes: Vec<(&str, &Vec<String>)> = plan.changes.iter().map(|c| (c.address.as_str(), &c.changed)).collect();
    assert!(changes.is_empty(), "{changes:#?}");
    assert!(plan.unchanged.iter().any(|u| u.address == "scaling.db" && u.arn == target_arn), "{:?}", plan.unchanged);
    assert!(replay.unused().is_empty(), "every recorded response was asked for: {:?}", replay.unused());

    // The spec without autoscaling: the scaler is deleted, first.
    let plain = load(SPEC);
    let replay = Replay::new(reads(&plain));
    let plan = plan_of(&plain, &replay);
    let changes: Vec<(&str, &str)> = plan.changes.iter().map(|c| (c.address.as_str(), c.action.verb())).collect();
    assert_eq!(changes, vec![("scaling.db", "delete")], "{changes:?}");
}
