//! Throttling that converges: through a fault proxy in front of moto that
//! answers a fraction of AWS API requests with throttling errors (or 503s),
//! `apply` and `plan` still succeed in a single run, and an apply that does
//! run out of retries resumes cleanly on the next run.
//!
//! Each convergence test makes 20 tries (`BERTH_THROTTLING_TRIES`), 10 at a
//! time (`BERTH_THROTTLING_PARALLEL`; they mostly sleep in backoff), and
//! prints what the proxy injected and forwarded and the retries of each run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use berth_tests::fault_proxy::{Counts, Fault, FaultProxy};
use berth_tests::moto::{moto, Moto, Network};
use berth_tests::{plan_json, Output};

/// Two services, `web{n}` routed (a target group and a listener rule) and
/// `cache{n}` discoverable (a Cloud Map namespace and service). moto's
/// Cloud Map lists every service of the region whatever the namespace, so
/// the names differ per app.
fn spec(net: &Network, dir: &Path, app: &str, n: &str) -> PathBuf {
    // CREATES: a cluster, 2 task definitions, a target group, a rule, a
    // namespace, a Cloud Map service and 2 services.
    let spec = format!(
        "name: {app}
x-berth:
  network: {network}
  load_balancer: {{ listener: \"{listener}\" }}
  discovery: {{ namespace: {app}.local }}
services:
  web{n}:
    image: nginx:1.27
    ports: [\"80\"]
    x-berth: {{ route: {{ paths: [\"/*\"], health_path: / }}, discovery: false }}
  cache{n}:
    image: redis:7
    expose: [\"6379\"]
",
        network = net.yaml(),
        listener = net.listener,
    );
    let dir = dir.join(app);
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("compose.yaml");
    std::fs::write(&path, spec).expect("write");
    path
}

/// The resources [`spec`] creates.
const CREATES: usize = 9;

fn tag(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("{name} in {xml}")) + open.len();
    let end = xml[start..].find('<').expect("closing tag") + start;
    xml[start..end].to_string()
}

/// A network of its own for one try, like [`Moto::network`] but with a
/// load balancer named `lb`: moto allows one private DNS namespace per VPC.
fn network(moto: &Moto, region: &str, lb: &str) -> Network {
    let ec2 = |body: &str| moto.query(region, "ec2", &format!("{body}&Version=2016-11-15"));
    let vpc = tag(&ec2("Action=CreateVpc&CidrBlock=10.9.0.0/16"), "vpcId");
    let subnet = |cidr: &str, az: &str| {
        tag(&ec2(&format!("Action=CreateSubnet&VpcId={vpc}&CidrBlock={cidr}&AvailabilityZone={region}{az}")), "subnetId")
    };
    let (subnet_a, subnet_b) = (subnet("10.9.1.0/24", "a"), subnet("10.9.2.0/24", "b"));
    let security_group = tag(&ec2(&format!("Action=CreateSecurityGroup&GroupName=app&GroupDescription=app&VpcId={vpc}")), "groupId");
    let elb = |body: &str| moto.query(region, "elasticloadbalancing", &format!("{body}&Version=2015-12-01"));
    let lb = tag(
        &elb(&format!(
            "Action=CreateLoadBalancer&Name={lb}&Subnets.member.1={subnet_a}&Subnets.member.2={subnet_b}&SecurityGroups.member.1={security_group}"
        )),
        "LoadBalancerArn",
    );
    let listener = tag(
        &elb(&format!(
            "Action=CreateListener&LoadBalancerArn={lb}&Protocol=HTTP&Port=80&DefaultActions.member.1.Type=fixed-response&DefaultActions.member.1.FixedResponseConfig.StatusCode=404"
        )),
        "ListenerArn",
    );
    Network { region: region.into(), vpc, subnet_a, subnet_b, security_group, listener }
}

/// Runs `berth --backend aws` at `endpoint` (the proxy, or moto itself)
/// on the spec at `path`, with the default retry settings unless `env`
/// says otherwise; like [`berth_tests::Berth::run`] but allowed 120 s: a
/// run throttled throughout takes seconds, its unluckiest ones longer.
fn berth(endpoint: &str, net: &Network, path: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let env: HashMap<String, String> = [("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test")]
        .iter()
        .chain(env)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let mut argv: Vec<String> = ["berth", "--backend", "aws", "--endpoint-url", endpoint, "--region", &net.region, "--stats"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    argv.extend(args.iter().map(|a| a.to_string()));
    let cwd = path.parent().expect("dir").to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let mut io = berth::Io { stdout: &mut stdout, stderr: &mut stderr, env, cwd, interactive: false, stdout_tty: false };
        let code = i32::from(berth::run(argv, &mut io).code());
        let _ = tx.send(Output {
            code,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        });
    });
    rx.recv_timeout(Duration::from_secs(120)).expect("berth finished within 120 s")
}

/// `(calls, attempts)` from `--stats`' first line.
fn stats(out: &Output) -> Option<(u64, u64)> {
    let line = out.stderr.lines().find(|l| l.starts_with("AWS API calls: "))?;
    let rest = line.trim_start_matches("AWS API calls: ");
    let calls = rest.split_whitespace().next()?.parse().ok()?;
    let attempts = rest.split_once('(').and_then(|(_, a)| a.split_whitespace().next()?.parse().ok()).unwrap_or(calls);
    Some((calls, attempts))
}

fn describe(out: &Output) -> String {
    format!("exit {}\nstdout:\n{}\nstderr:\n{}", out.code, out.stdout, out.stderr)
}

/// What one try did. `Err` says which run failed.
struct Try {
    result: Result<(), String>,
    counts: Counts,
    /// `(calls, retries, seconds)` of each run.
    runs: Vec<(u64, u64, f64)>,
    took: Duration,
}

/// One try: a fresh app in a network of its own, applied through the proxy
/// (twice: moto drops some service fields on create, which the second
/// apply sets), then a plan through the proxy that must show no changes;
/// every run must succeed the first time.
fn one_try(moto: &Moto, region: &str, dir: &Path, fault: Fault, fraction: f64, i: u32) -> Try {
    let start = Instant::now();
    // Unique per run of the test, so a moto left running in between works too.
    let id = format!("{i}x{}", std::process::id() % 100_000);
    let app = format!("{}{id}", if fault == Fault::Throttle { "t" } else { "u" });
    let net = &network(moto, region, &app);
    let path = spec(net, dir, &app, &id);
    let proxy = FaultProxy::start(&moto.endpoint, fault, fraction, u64::from(i) + 1);
    let mut runs = Vec::new();
    let mut result = Ok(());
    for (what, args) in [
        ("apply", vec!["apply", "--yes", "--wait", "none"]),
        ("second apply", vec!["apply", "--yes", "--wait", "none"]),
        ("plan", vec!["plan", "--detailed-exitcode", "--format", "json"]),
    ] {
        let began = Instant::now();
        let out = berth(&proxy.endpoint(), net, &path, &[], &args);
        if let Some((calls, attempts)) = stats(&out) {
            runs.push((calls, attempts.saturating_sub(calls), began.elapsed().as_secs_f64()));
        }
        if out.code != 0 {
            let detail =
                if what == "plan" && out.code == 2 { format!("{:?}", berth_tests::plan_changes(&plan_json(&out))) } else { describe(&out) };
            result = Err(format!("{app}: {what} did not converge in one run: {detail}"));
            break;
        }
    }
    Try { result, counts: proxy.counts(), runs, took: start.elapsed() }
}

fn converges_through(region: &str, fault: Fault, fraction: f64) {
    let Some(moto) = moto() else { return };
    let tries: u32 = std::env::var("BERTH_THROTTLING_TRIES").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let parallel: usize = std::env::var("BERTH_THROTTLING_PARALLEL").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    let dir = tempfile::tempdir().expect("tempdir");
    let start = Instant::now();
    let next = std::sync::atomic::AtomicU32::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..parallel {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if i >= tries {
                    break;
                }
                let t = one_try(&moto, region, dir.path(), fault, fraction, i);
                results.lock().expect("results").push((i, t));
            });
        }
    });
    let mut results = results.into_inner().expect("results");
    results.sort_by_key(|(i, _)| *i);
    let converged = results.iter().filter(|(_, t)| t.result.is_ok()).count();
    let injected: u64 = results.iter().map(|(_, t)| t.counts.injected).sum();
    let forwarded: u64 = results.iter().map(|(_, t)| t.counts.forwarded).sum();
    let retries: Vec<u64> = results.iter().flat_map(|(_, t)| t.runs.iter().map(|r| r.1)).collect();
    let (min, max) = (retries.iter().min().copied().unwrap_or(0), retries.iter().max().copied().unwrap_or(0));
    let mean = retries.iter().sum::<u64>() as f64 / retries.len().max(1) as f64;
    let slowest = results.iter().map(|(_, t)| t.took).max().unwrap_or_default();
    eprintln!(
        "{fault:?} at {:.0} %: {converged} of {tries} tries converged in single runs; {injected} requests injected, {forwarded} forwarded ({:.1} % injected); retries per run min {min} / mean {mean:.1} / max {max}; {:.1} s in all, slowest try {:.1} s",
        fraction * 100.0,
        100.0 * injected as f64 / (injected + forwarded).max(1) as f64,
        start.elapsed().as_secs_f64(),
        slowest.as_secs_f64(),
    );
    for (i, t) in &results {
        let runs: Vec<String> = t.runs.iter().map(|(c, r, secs)| format!("{c} calls + {r} retries in {secs:.1} s")).collect();
        eprintln!("  try {i}: {} ({:?})", runs.join(", "), t.counts);
        if let Err(e) = &t.result {
            eprintln!("{e}");
        }
    }
    assert!(converged as f64 >= tries as f64 * 0.95, "{converged} of {tries} tries converged");
}

/// Acceptance: 50 % of requests throttled, each try converges in single runs.
#[test]
fn apply_and_plan_converge_with_half_the_requests_throttled() {
    converges_through("ap-southeast-2", Fault::Throttle, 0.5);
}

/// Acceptance: 30 % of requests answered 503, each try converges in single runs.
#[test]
fn apply_and_plan_converge_with_a_third_of_the_requests_unavailable() {
    converges_through("ap-southeast-3", Fault::Unavailable, 0.3);
}

/// An apply that runs out of retries part way (every request throttled from
/// the `n`th on, two attempts per call) fails naming the throttling; the next
/// run, without throttling, finishes the job: no duplicate, and a plan after
/// it is empty. One app per cut point, so each stops at another step.
#[test]
fn an_apply_that_runs_out_of_retries_resumes_cleanly() {
    let Some(moto) = moto() else { return };
    let region = "ap-south-2";
    let dir = tempfile::tempdir().expect("tempdir");
    for cut in [6, 10, 13, 16, 19, 22] {
        let id = format!("{cut}x{}", std::process::id() % 100_000);
        let app = format!("r{id}");
        let net = network(&moto, region, &app);
        let path = spec(&net, dir.path(), &app, &id);
        let proxy = FaultProxy::start(&moto.endpoint, Fault::Throttle, 0.0, 1);
        proxy.fail_from(cut);
        // Its lock's release is throttled too: the lock stays until it expires.
        let short = [("BERTH_AWS_MAX_ATTEMPTS", "2"), ("BERTH_LOCK_TTL_SECS", "2")];
        let out = berth(&proxy.endpoint(), &net, &path, &short, &["apply", "--yes", "--wait", "none"]);
        assert_eq!(out.code, 1, "{app}: {}", describe(&out));
        assert!(out.stderr.contains("was throttled by AWS and retries ran out"), "{app}: {}", out.stderr);
        let created = |out: &Output| -> Vec<String> {
            out.stderr.lines().filter_map(|l| l.strip_suffix(": create done")?.split_once(' ').map(|(_, a)| a.to_string())).collect()
        };
        let before = created(&out);
        drop(proxy);

        let ttl = [("BERTH_LOCK_TTL_SECS", "2")];
        let out = berth(&moto.endpoint, &net, &path, &ttl, &["apply", "--yes", "--wait", "none", "--wait-for-lock", "30s"]);
        assert_eq!(out.code, 0, "{app}: the next run resumes: {}", describe(&out));
        let again: Vec<(String, String)> =
            berth_tests::started_changes(&out).into_iter().filter(|(a, verb)| verb == "create" && before.contains(a)).collect();
        assert!(again.is_empty(), "{app}: created again what the failed run had created: {again:?}\n{}", out.stderr);
        // moto drops some service fields on create (tests/README.md): a second apply sets them.
        let out = berth(&moto.endpoint, &net, &path, &[], &["apply", "--yes", "--wait", "none"]);
        assert_eq!(out.code, 0, "{app}: {}", describe(&out));
        let out = berth(&moto.endpoint, &net, &path, &[], &["plan", "--detailed-exitcode"]);
        assert_eq!(out.code, 0, "{app}: converged: {}", describe(&out));
        eprintln!("{app}: cut at request {cut}: {} of {CREATES} created before retries ran out, the rest by the next run", before.len());

        berth_tests::moto::block_on(async {
            let sdk = moto.sdk(region).await;
            let tgs = sdk.elb.describe_target_groups().send().await.expect("target groups");
            let ours: Vec<_> = tgs.target_groups().iter().filter(|t| t.vpc_id() == Some(net.vpc.as_str())).collect();
            assert_eq!(ours.len(), 1, "{app}: one target group: {ours:?}");
            let rules = sdk.elb.describe_rules().listener_arn(&net.listener).send().await.expect("rules");
            assert_eq!(rules.rules().iter().filter(|r| r.is_default() != Some(true)).count(), 1, "{app}: one rule");
            let services = sdk.ecs.list_services().cluster(&app).send().await.expect("services");
            assert_eq!(services.service_arns().len(), 2, "{app}: two services");
            let all = sdk.ecs.list_task_definitions().send().await.expect("task definitions");
            let ours: Vec<_> = all.task_definition_arns().iter().filter(|a| a.contains(&format!("task-definition/{app}-"))).collect();
            assert_eq!(ours.len(), 2, "{app}: one revision per family: {ours:?}");
        });
    }
}
