//! Every recorded AWS response the tests replay, and every request berth
//! sends to them, checked against AWS's own service models (botocore's
//! `service-2.json`, vendored in tests/aws-models/): an unknown member name,
//! a wrong type, a wrong enum value or a missing required member fails,
//! naming the operation and the path. The AWS SDK's deserializers ignore
//! unknown members, so without this a misspelled field in a hand-written
//! response reads as absent and a test can pass on a shape AWS never sends.
//!
//! How every one is found: the recorded tests (recorded.rs, included
//! below) run again in a child process of this test binary with
//! `BERTH_REPLAY_LOG` set, so `berth_aws::replay` writes down each response
//! recorded (served or not) and each request berth sent.

#[path = "recorded.rs"]
mod recorded;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use berth_tests::aws_models::{Models, Side};
use serde_json::Value;

/// One line of the replay log.
#[derive(Debug, Clone)]
struct Entry {
    operation: String,
    side: Side,
    status: u16,
    body: String,
}

/// The test binaries whose Replay exchanges are checked: each is a module
/// of this binary (`mod recorded` above), run as `<module>::`.
const RECORDED_MODULES: &[&str] = &["recorded"];

fn models() -> &'static Models {
    static MODELS: OnceLock<Models> = OnceLock::new();
    MODELS.get_or_init(Models::load)
}

/// Runs the recorded tests in a child process with the replay log on, once.
fn log() -> &'static [Entry] {
    static LOG: OnceLock<Vec<Entry>> = OnceLock::new();
    LOG.get_or_init(|| {
        let exe = std::env::current_exe().expect("current exe");
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("replay.jsonl");
        let mut entries = Vec::new();
        for module in RECORDED_MODULES {
            let filter = format!("{module}::");
            let list = std::process::Command::new(&exe).args([&filter, "--list"]).output().expect("list tests");
            let listed = String::from_utf8_lossy(&list.stdout).lines().filter(|l| l.ends_with(": test")).count();
            assert!(listed > 0, "no tests in {module}");
            let out = std::process::Command::new(&exe)
                .args([&filter, "--test-threads=2"])
                .env("BERTH_REPLAY_LOG", &path)
                .output()
                .expect("run the recorded tests");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(out.status.success(), "the recorded tests failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
            assert!(stdout.contains(&format!("test result: ok. {listed} passed")), "all {listed} tests of {module} ran:\n{stdout}");
        }
        let text = std::fs::read_to_string(&path).expect("the recorded tests wrote the replay log");
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).expect("a JSON line");
            let body = v["body"].as_str().expect("body").to_string();
            let entry = match (v["recorded"].as_str(), v["sent"].as_str()) {
                (Some(op), _) => {
                    Entry { operation: op.into(), side: Side::Response, status: v["status"].as_u64().expect("status") as u16, body }
                }
                (_, Some(op)) => Entry { operation: op.into(), side: Side::Request, status: 0, body },
                _ => panic!("a replay log line names recorded or sent: {line}"),
            };
            entries.push(entry);
        }
        entries
    })
}

fn check(e: &Entry) -> Vec<String> {
    models().check(&e.operation, e.side, e.status, &e.body)
}

#[test]
fn every_recorded_response_and_request_fits_the_aws_models() {
    let log = log();
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let mut problems = Vec::new();
    for e in log {
        let side = if e.side == Side::Request { "requests" } else { "responses" };
        *counts.entry((e.operation.as_str(), side)).or_default() += 1;
        problems.extend(check(e));
    }
    let responses = log.iter().filter(|e| e.side == Side::Response).count();
    let requests = log.len() - responses;
    let versions: Vec<String> = models().by_prefix.values().map(|m| format!("{} {}", m.service, m.botocore_version())).collect();
    println!("shape-checked {responses} recorded responses and {requests} requests against botocore's models ({})", versions.join(", "));
    for ((op, side), n) in &counts {
        println!("  {op}: {n} {side}");
    }
    problems.dedup();
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
    // Responses the recorded tests write, and the requests berth sends.
    assert!(responses >= 200 && requests >= 40, "{responses} responses, {requests} requests");
    for op in
        ["ecs:DescribeServices", "elasticloadbalancing:DescribeTargetGroups", "servicediscovery:GetOperation", "logs:DescribeLogGroups"]
    {
        assert!(counts.contains_key(&(op, "responses")) && counts.contains_key(&(op, "requests")), "{op} checked both ways");
    }
}

/// The first logged body of `operation` on `side` containing `needle`.
fn fixture(operation: &str, side: Side, needle: &str) -> Entry {
    log()
        .iter()
        .find(|e| e.operation == operation && e.side == side && e.body.contains(needle))
        .unwrap_or_else(|| panic!("a recorded {operation} {side:?} with {needle}"))
        .clone()
}

#[track_caller]
fn fails_with(mut e: Entry, from: &str, to: &str, expected: &str) {
    assert!(check(&e).is_empty(), "the fixture passes first: {:?}", check(&e));
    assert!(e.body.contains(from), "{from} in {}", e.body);
    e.body = e.body.replacen(from, to, 1);
    let problems = check(&e);
    assert!(problems.iter().any(|p| p.contains(expected)), "expected a problem with {expected:?}, got {problems:#?}");
}

/// The test of the test: a recorded fixture modified in memory fails the
/// check, naming the operation and the path.
#[test]
fn a_misspelled_member_fails_the_check() {
    fails_with(
        fixture("ecs:DescribeTasks", Side::Response, "stoppedReason"),
        "\"stoppedReason\"",
        "\"stopedReason\"",
        "ecs:DescribeTasks response: $.tasks[0].stopedReason: unknown member \"stopedReason\" of Task (did you mean [\"stoppedReason\"]?)",
    );
    // Wrong nesting: Service Connect at the top of a service, not on a deployment.
    fails_with(
        fixture("ecs:DescribeServices", Side::Response, "serviceConnectConfiguration"),
        "\"serviceName\"",
        "\"serviceConnect\":{},\"serviceName\"",
        "ecs:DescribeServices response: $.services[0].serviceConnect: unknown member",
    );
    fails_with(
        fixture("elasticloadbalancing:DescribeTargetGroups", Side::Response, "TargetGroups"),
        "<TargetGroups/>",
        "<TargetGroup/>",
        "elasticloadbalancing:DescribeTargetGroups response: TargetGroup: unknown member \"TargetGroup\" of DescribeTargetGroupsOutput",
    );
    fails_with(
        fixture("servicediscovery:ListNamespaces", Side::Response, "Namespaces"),
        "\"Namespaces\"",
        "\"namespaces\"",
        "servicediscovery:ListNamespaces response: $.namespaces: unknown member",
    );
}

#[test]
fn wrong_types_enum_values_and_missing_required_members_fail_the_check() {
    // A count as a string.
    fails_with(
        fixture("ecs:DescribeServices", Side::Response, "\"desiredCount\":2"),
        "\"desiredCount\":2",
        "\"desiredCount\":\"2\"",
        "ecs:DescribeServices response: $.services[0].deployments[0].desiredCount: a string is not an integer (Integer)",
    );
    // An enum value ECS never sends.
    fails_with(
        fixture("ecs:DescribeServices", Side::Response, "\"rolloutState\":\"IN_PROGRESS\""),
        "\"rolloutState\":\"IN_PROGRESS\"",
        "\"rolloutState\":\"RUNNING\"",
        "\"RUNNING\" is not a value of the enum DeploymentRolloutState",
    );
    // A timestamp as ISO text where awsJson sends epoch seconds.
    fails_with(
        fixture("ecs:DescribeServices", Side::Response, "\"createdAt\":1767225600.0"),
        "\"createdAt\":1767225600.0",
        "\"createdAt\":\"2026-01-01T00:00:00Z\"",
        "is not a timestamp (unixTimestamp)",
    );
    // A required member of a request missing (CreatePrivateDnsNamespace's Name).
    fails_with(
        fixture("servicediscovery:CreatePrivateDnsNamespace", Side::Request, "\"Name\":\"rec.local\""),
        "\"Name\":\"rec.local\"",
        "\"Nam\":\"rec.local\"",
        "servicediscovery:CreatePrivateDnsNamespace request: $.Name: required member of CreatePrivateDnsNamespaceRequest missing",
    );
    // A query request naming a member ELB does not have.
    fails_with(
        fixture("elasticloadbalancing:DescribeTargetGroups", Side::Request, "Action=DescribeTargetGroups"),
        "Action=DescribeTargetGroups",
        "Action=DescribeTargetGroups&TargetGroupNames.member.1=x",
        "elasticloadbalancing:DescribeTargetGroups request: TargetGroupNames: unknown member \"TargetGroupNames\" of DescribeTargetGroupsInput",
    );
    // An XML integer that is not one.
    let models = models();
    let xml = r#"<DescribeTargetGroupsResponse xmlns="x"><DescribeTargetGroupsResult><TargetGroups><member><TargetGroupName>a</TargetGroupName><Port>eighty</Port></member></TargetGroups></DescribeTargetGroupsResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeTargetGroupsResponse>"#;
    let problems = models.check("elasticloadbalancing:DescribeTargetGroups", Side::Response, 200, xml);
    assert_eq!(
        problems,
        vec!["elasticloadbalancing:DescribeTargetGroups response: TargetGroups.member[0].Port: \"eighty\" is not an integer (Port)"]
    );
    // An error the operation does not declare.
    let problems = models.check("ecs:DescribeClusters", Side::Response, 400, r#"{"__type":"NoSuchCluster","message":"x"}"#);
    assert!(problems.iter().any(|p| p.contains("\"NoSuchCluster\" is neither an error of this operation")), "{problems:?}");
}

/// The vendored models hold every operation berth calls (its IAM policy
/// lists exactly those), from one botocore version.
#[test]
fn the_vendored_models_cover_every_operation_berth_calls() {
    let models = models();
    for (action, _) in berth_aws::policy::ACTIONS {
        assert!(models.operation(action).is_ok(), "{action}: {:?}", models.operation(action).err());
    }
    let versions: std::collections::BTreeSet<&str> = models.by_prefix.values().map(|m| m.botocore_version()).collect();
    assert_eq!(versions.len(), 1, "one botocore version: {versions:?}");
}
