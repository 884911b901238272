//! Crash safety, as `kill -9` would test it: an apply that creates, updates
//! with a target group replace, and deletes is killed before each of its
//! writes in turn (`BERTH_CRASH_AT=<n>`, debug builds: the process aborts
//! right before its n-th write, the sim's account keeping what was written).
//! After each, at most two re-runs converge to an empty plan, the account
//! holds no duplicate revision, target group, rule, service or Cloud Map
//! service, and `destroy` leaves nothing owned.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use berth_tests::moto::{block_on, moto, Moto, Network};
use berth_tests::{ok, Berth, Output};

const BIN: &str = env!("CARGO_BIN_EXE_berth-under-test");

/// v0: web (routed, port 8080) and legacy. v1: web's port and image change
/// (its target group is replaced), api is new (with Cloud Map), legacy goes.
fn spec(net: &str, listener: &str, version: u32) -> String {
    let (port, tag) = if version == 0 { (8080, "1.27") } else { (9090, "1.28") };
    let mut s = format!(
        "name: crash\nx-berth:\n  region: ap-northeast-2\n  network: {net}\n  load_balancer: {{ listener: \"{listener}\" }}\n  discovery: {{ namespace: crash.local }}\nservices:\n  web:\n    image: nginx:{tag}\n    ports: [\"{port}\"]\n    x-berth: {{ route: {{ paths: [\"/*\"], health_path: / }} }}\n"
    );
    if version == 0 {
        s.push_str("  legacy:\n    image: busybox:1.36\n    command: [sleep, infinity]\n");
    } else {
        s.push_str("  api:\n    image: nginx:1.28\n    expose: [\"9000\"]\n    x-berth: { discovery: true }\n");
    }
    s
}

const SIM_NET: &str = "{ vpc_id: vpc-0crash, subnets: [subnet-0a, subnet-0b], security_groups: [sg-0crash] }";
const SIM_LISTENER: &str = "arn:aws:elasticloadbalancing:sim-1:000000000000:listener/app/shared/50dc6c495c0c9188/f2f7dc8efc522ab2";

/// Runs the berth binary as a process of its own (so it can die).
fn process(args: &[String], env: &[(&str, String)]) -> Output {
    let out = Command::new(BIN)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        // A crashed holder's lock expires at once, so the re-run is not refused.
        .env("BERTH_LOCK_TTL_SECS", "1")
        .output()
        .expect("run berth");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Re-runs `apply --yes` until the plan is empty; at most two runs may be
/// needed. A run refused by the crashed holder's lock (which expires within
/// a second) is waited out and not counted.
fn converge(apply: impl Fn() -> Output, plan: impl Fn() -> Output, step: u64) -> usize {
    let mut runs = 0;
    let mut waited = 0;
    loop {
        let p = plan();
        if p.code == 0 {
            return runs;
        }
        assert_eq!(p.code, 2, "step {step}: plan failed:\n{}", p.stderr);
        assert!(runs < 2, "step {step}: two re-runs did not converge; the plan still says:\n{}", p.stdout);
        let out = apply();
        if out.code != 0 && out.stderr.contains("is locked by") && waited < 10 {
            waited += 1;
            std::thread::sleep(std::time::Duration::from_millis(400));
            continue;
        }
        assert_eq!(out.code, 0, "step {step}: re-run {} failed:\n{}", runs + 1, out.stderr);
        runs += 1;
    }
}

fn args(state: &Path, spec: &Path, extra: &[&str]) -> Vec<String> {
    let mut v = vec!["--sim-state".to_string(), state.display().to_string(), "-f".into(), spec.display().to_string()];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn owned(tags: &[berth_model::resources::Tag]) -> bool {
    tags.iter().any(|t| t.key == "berth:app" && t.value == "crash")
}

/// Every owned resource of the app by kind and identity, with how many
/// there are; a duplicate shows as a count above one.
fn sim_inventory(state: &Path) -> BTreeMap<String, usize> {
    let sim = berth_sim::Sim::open(state).expect("sim");
    let s = sim.state();
    let mut out: BTreeMap<String, usize> = BTreeMap::new();
    let mut add = |k: String| *out.entry(k).or_default() += 1;
    for (family, revs) in &s.task_definitions {
        for r in revs.iter().filter(|r| r.status == "ACTIVE" && owned(&r.spec.tags)) {
            // Identical ACTIVE revisions of one family are duplicates.
            add(format!("taskdef {family} {}", serde_json::to_string(&r.spec).expect("json")));
        }
    }
    for tg in s.target_groups.values().filter(|t| owned(&t.spec.tags)) {
        let address = tg.spec.tags.iter().find(|t| t.key == "berth:address").map_or(tg.spec.name.clone(), |t| t.value.clone());
        add(format!("target group {address}"));
    }
    for l in s.listeners.values() {
        for r in l.rules.iter().filter(|r| owned(&r.spec.tags)) {
            let address = r.spec.tags.iter().find(|t| t.key == "berth:address").map(|t| t.value.clone()).unwrap_or_default();
            add(format!("rule {address}"));
        }
    }
    for svc in s.services.values().filter(|x| owned(&x.spec.tags)) {
        add(format!("service {}", svc.spec.service_name));
    }
    for cm in s.cloud_map_services.values().filter(|c| owned(&c.spec.tags)) {
        add(format!("cloud map {}", cm.spec.name));
    }
    for c in s.clusters.values().filter(|c| owned(&c.tags)) {
        add(format!("cluster {}", c.arn));
    }
    for n in s.namespaces.values().filter(|n| owned(&n.spec.tags)) {
        add(format!("namespace {}", n.spec.name));
    }
    out
}

fn assert_no_duplicates(inventory: &BTreeMap<String, usize>, step: u64) {
    let dups: Vec<&String> = inventory.iter().filter(|(_, n)| **n > 1).map(|(k, _)| k).collect();
    assert!(dups.is_empty(), "step {step}: duplicates left: {dups:?}");
}

#[test]
fn an_apply_killed_before_any_of_its_writes_converges_on_the_sim() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (v0, v1) = (dir.path().join("v0.yaml"), dir.path().join("v1.yaml"));
    std::fs::write(&v0, spec(SIM_NET, SIM_LISTENER, 0)).expect("write");
    std::fs::write(&v1, spec(SIM_NET, SIM_LISTENER, 1)).expect("write");
    let base = dir.path().join("base.json");
    ok(&Berth::new(dir.path()).args(args(&base, &v0, &["apply", "--yes"])).run());

    // The inventory a clean v0 → v1 apply leaves.
    let clean = dir.path().join("clean.json");
    std::fs::copy(&base, &clean).expect("copy");
    ok(&Berth::new(dir.path()).args(args(&clean, &v1, &["apply", "--yes"])).run());
    let expected = sim_inventory(&clean);
    assert_no_duplicates(&expected, 0);
    assert!(expected.keys().any(|k| k.starts_with("cloud map")) && !expected.keys().any(|k| k.contains("legacy")), "{expected:?}");

    let mut step = 1;
    let mut reruns = Vec::new();
    loop {
        let state = dir.path().join(format!("step{step}.json"));
        std::fs::copy(&base, &state).expect("copy");
        let crashed = process(&args(&state, &v1, &["apply", "--yes"]), &[("BERTH_CRASH_AT", step.to_string())]);
        if crashed.code == 0 {
            break; // every write of the apply has been a crash point
        }
        assert!(crashed.stderr.contains(&format!("BERTH_CRASH_AT: dying before write {step}")), "step {step}:\n{}", crashed.stderr);
        let run = |extra: &[&str]| Berth::new(dir.path()).args(args(&state, &v1, extra)).run();
        reruns.push(converge(|| run(&["apply", "--yes"]), || run(&["plan", "--detailed-exitcode"]), step));
        let inventory = sim_inventory(&state);
        assert_no_duplicates(&inventory, step);
        // Same resources as a clean apply (task definitions by content: a
        // crash never changes what is registered, only how often).
        let kinds = |inv: &BTreeMap<String, usize>| inv.keys().filter(|k| !k.starts_with("cluster")).cloned().collect::<Vec<_>>();
        assert_eq!(kinds(&inventory), kinds(&expected), "step {step}: the account differs from a clean apply's");
        ok(&run(&["destroy", "--yes"]));
        let left = sim_inventory(&state);
        assert!(left.is_empty(), "step {step}: destroy left {left:?}");
        step += 1;
    }
    let steps = step - 1;
    eprintln!("crash points: {steps}; re-runs needed per step: {reruns:?}");
    assert!(steps >= 10, "the apply has {steps} writes: the test must cover creates, a replace and deletes");
}

/// The same on moto, for a sample of the steps: the account is moto's, so
/// what a killed process wrote stays written, exactly as on AWS.
#[test]
fn an_apply_killed_mid_way_converges_on_moto() {
    let Some(moto) = moto() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    // Each try in a region of its own: moto keeps state per region.
    let regions = [
        "eu-south-2",
        "eu-central-2",
        "me-south-1",
        "me-central-1",
        "af-south-1",
        "ap-east-1",
        "ap-south-2",
        "ap-southeast-4",
        "il-central-1",
        "ca-west-1",
        "mx-central-1",
        "ap-southeast-5",
    ];
    let prepare = |region: &str| {
        let net = moto.network(region);
        let v0 = dir.path().join(format!("{region}-v0.yaml"));
        let v1 = dir.path().join(format!("{region}-v1.yaml"));
        std::fs::write(&v0, spec(&net.yaml(), &net.listener, 0)).expect("write");
        std::fs::write(&v1, spec(&net.yaml(), &net.listener, 1)).expect("write");
        let env = moto_env(&moto, &net);
        let endpoint = moto.endpoint.clone();
        let region = net.region.clone();
        let run = move |file: &Path, extra: &[&str], crash: Option<u64>| {
            let mut a = vec!["--endpoint-url".to_string(), endpoint.clone(), "--region".into(), region.clone()];
            a.extend(["-f".to_string(), file.display().to_string()]);
            a.extend(extra.iter().map(|s| s.to_string()));
            let mut env = env.clone();
            env.extend(crash.map(|n| ("BERTH_CRASH_AT", n.to_string())));
            process(&a, &env)
        };
        // moto drops some service fields on create: a second apply settles them.
        ok(&run(&v0, &["apply", "--yes", "--wait", "none"], None));
        ok(&run(&v0, &["apply", "--yes", "--wait", "none"], None));
        (net, v1, run)
    };
    // The writes of a clean v0 → v1 apply, counted from `--stats`.
    let (_, v1, run) = prepare(regions[0]);
    let clean = run(&v1, &["--stats", "apply", "--yes", "--wait", "none"], None);
    ok(&clean);
    let writes: u64 = clean
        .stderr
        .lines()
        .filter_map(|l| {
            let (n, op) = l.trim().split_once("  ")?;
            berth_provider::crash::is_write(op.trim()).then(|| n.trim().parse::<u64>().ok()).flatten()
        })
        .sum();
    assert!(writes >= 11, "a clean apply made {writes} writes:\n{}", clean.stderr);
    let mut covered = Vec::new();
    for (i, region) in regions[1..].iter().enumerate() {
        // Spread over the writes, first and last included.
        let step = 1 + (i as u64 * (writes - 1)) / (regions.len() as u64 - 2);
        let (net, v1, run) = prepare(region);
        let crashed = run(&v1, &["apply", "--yes", "--wait", "none"], Some(step));
        assert!(crashed.stderr.contains(&format!("dying before write {step}")), "step {step}:\n{}", crashed.stderr);
        covered.push(step);
        converge(|| run(&v1, &["apply", "--yes", "--wait", "none"], None), || run(&v1, &["plan", "--detailed-exitcode"], None), step);
        let inv = moto_inventory(&moto, &net);
        let dups: Vec<&String> = inv.iter().filter(|(_, n)| **n > 1).map(|(k, _)| k).collect();
        assert!(dups.is_empty(), "step {step} ({region}): duplicates {dups:?} in {inv:?}");
        assert_eq!(inv.get("target group tg.web"), Some(&1), "step {step}: {inv:?}");
        assert!(!inv.keys().any(|k| k.contains("legacy")), "step {step}: {inv:?}");
        ok(&run(&v1, &["destroy", "--yes"], None));
        let left = moto_inventory(&moto, &net);
        assert!(left.is_empty(), "step {step}: destroy left {left:?}");
    }
    eprintln!("moto: {writes} writes; crash points covered: {covered:?}");
    assert!(covered.len() >= 10, "covered {covered:?}");
}

fn moto_env(_moto: &Moto, net: &Network) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("BERTH_BACKEND", "aws".into()),
        ("BERTH_AWS_MAX_ATTEMPTS", "3".into()),
        ("AWS_REGION", net.region.clone()),
    ]
}

/// An ELB resource's tags, as `(key, value)`.
async fn elb_tags(sdk: &berth_tests::moto::Sdk, arn: &str) -> Vec<(String, String)> {
    let out = sdk.elb.describe_tags().resource_arns(arn).send().await.expect("tags");
    out.tag_descriptions()[0]
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default().to_string(), t.value().unwrap_or_default().to_string()))
        .collect()
}

/// What moto holds of the app, read with the SDK.
fn moto_inventory(moto: &Moto, net: &Network) -> BTreeMap<String, usize> {
    block_on(async {
        let sdk = moto.sdk(&net.region).await;
        let mut out: BTreeMap<String, usize> = BTreeMap::new();
        let mut add = |k: String| *out.entry(k).or_default() += 1;
        let has = |tags: &[(String, String)]| tags.iter().any(|(k, v)| k == "berth:app" && v == "crash");
        // Target groups and their address tags.
        let tgs = sdk.elb.describe_target_groups().send().await.expect("tgs");
        for tg in tgs.target_groups() {
            let arn = tg.target_group_arn().unwrap_or_default();
            let tags = elb_tags(&sdk, arn).await;
            if has(&tags) {
                let address = tags
                    .iter()
                    .find(|(k, _)| k == "berth:address")
                    .map_or(tg.target_group_name().unwrap_or_default().to_string(), |(_, v)| v.clone());
                add(format!("target group {address}"));
            }
        }
        let rules = sdk.elb.describe_rules().listener_arn(&net.listener).send().await.expect("rules");
        for r in rules.rules().iter().filter(|r| !r.is_default().unwrap_or(false)) {
            let tags = elb_tags(&sdk, r.rule_arn().unwrap_or_default()).await;
            if has(&tags) {
                add(format!("rule {}", tags.iter().find(|(k, _)| k == "berth:address").map(|(_, v)| v.clone()).unwrap_or_default()));
            }
        }
        if let Ok(services) = sdk.ecs.list_services().cluster("crash").send().await {
            for arn in services.service_arns() {
                let d = sdk.ecs.describe_services().cluster("crash").services(arn).send().await.expect("describe");
                for s in d.services().iter().filter(|s| s.status() == Some("ACTIVE")) {
                    add(format!("service {}", s.service_name().unwrap_or_default()));
                }
            }
        }
        for family in ["crash-web", "crash-api", "crash-legacy"] {
            let list = sdk
                .ecs
                .list_task_definitions()
                .family_prefix(family)
                .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
                .send()
                .await
                .expect("list");
            let mut bodies = Vec::new();
            for arn in list.task_definition_arns() {
                let td = sdk.ecs.describe_task_definition().task_definition(arn).send().await.expect("describe");
                let td = td.task_definition().expect("td");
                if td.family() == Some(family) {
                    bodies.push(format!("{:?}", td.container_definitions()));
                }
            }
            for b in bodies {
                add(format!("taskdef {family} {b}"));
            }
        }
        let services = sdk.sd.list_services().send().await.expect("cloud map");
        for s in services.services() {
            let tags = sdk.sd.list_tags_for_resource().resource_arn(s.arn().unwrap_or_default()).send().await.expect("tags");
            if tags.tags().iter().any(|t| t.key() == "berth:app" && t.value() == "crash") {
                add(format!("cloud map {}", s.name().unwrap_or_default()));
            }
        }
        out
    })
}
