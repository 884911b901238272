//! The lock per app: two applies (or an apply and a destroy or rollback) of
//! one app never run at once. The second refuses before it writes anything,
//! naming who holds the lock and since when, or waits with
//! `--wait-for-lock`; a killed holder's lock expires by itself. On the sim
//! (locks are files beside the state file) and on moto (locks are ECR
//! repositories `berth_lock/<app>/g<n>`, read back with the SDK).
//!
//! A sim apply takes milliseconds, so runs that must overlap keep the lock
//! a moment with `BERTH_TEST_HOLD_LOCK_MS` (debug builds only). A holder is
//! killed for real: the test binary runs one apply in a child process
//! (`child_holder`) and kills it with SIGKILL while it holds the lock.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use berth_tests::moto::{block_on, moto, Moto, Network};
use berth_tests::{ok, started_changes, Berth, Output, SimAccount};

const APP: &str = "hello";

/// The sim's lock files of the web example's app.
fn lock_files(account: &SimAccount) -> Vec<String> {
    let dir = account.dir().join("sim.json.locks").join(APP);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| n.ends_with(".json")).collect())
        .unwrap_or_default();
    names.sort();
    names
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "{what} within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs `runs` at the same moment (a barrier), each on its own thread.
fn together(runs: Vec<Berth>) -> Vec<Output> {
    let barrier = Arc::new(Barrier::new(runs.len()));
    let handles: Vec<_> = runs
        .into_iter()
        .map(|b| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                b.run()
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().expect("thread")).collect()
}

/// The one winner and the one loser of two runs started together.
#[track_caller]
fn one_winner(outs: &[Output]) -> (usize, usize) {
    let codes: Vec<i32> = outs.iter().map(|o| o.code).collect();
    let winner = codes.iter().position(|c| *c == 0);
    let loser = codes.iter().position(|c| *c == 1);
    match (winner, loser) {
        (Some(w), Some(l)) if codes.len() == 2 => (w, l),
        _ => panic!("exit codes {codes:?}\n{}", outs.iter().map(|o| o.stderr.clone()).collect::<Vec<_>>().join("\n----\n")),
    }
}

/// The loser's refusal: who holds the lock, since when, nothing written.
#[track_caller]
fn refused_by(out: &Output, holder: &str) {
    assert_eq!(out.code, 1, "{}", out.stderr);
    let expected = format!("error: app {APP} is locked by {holder} since ");
    assert!(out.stderr.contains(&expected), "expected {expected:?} in:\n{}", out.stderr);
    assert!(out.stderr.contains("(expires in "), "{}", out.stderr);
    assert!(out.stderr.contains("another apply, destroy or rollback is running; nothing was changed"), "{}", out.stderr);
    assert!(out.stderr.contains("hint: wait for it, or pass --wait-for-lock 5m"), "{}", out.stderr);
    assert!(started_changes(out).is_empty(), "the loser started nothing:\n{}", out.stderr);
    assert!(!out.stderr.contains("Apply complete"), "{}", out.stderr);
}

/// Revisions per task definition family, in the sim's account.
fn sim_revisions(account: &SimAccount) -> Vec<(String, usize)> {
    account.read(|s| s.task_definitions.iter().map(|(f, revs)| (f.clone(), revs.len())).collect())
}

#[test]
fn two_applies_started_together_on_the_sim_exactly_one_writes() {
    let account = SimAccount::new();
    let run = |holder: &str| {
        account.berth("web", "1.27").args(["apply", "--yes"]).env("BERTH_LOCK_HOLDER", holder).env("BERTH_TEST_HOLD_LOCK_MS", "1500")
    };
    let outs = together(vec![run("run-a@ci pid 1"), run("run-b@ci pid 2")]);
    let (w, l) = one_winner(&outs);
    let holders = ["run-a@ci pid 1", "run-b@ci pid 2"];
    refused_by(&outs[l], holders[w]);
    eprintln!("the loser printed:\n{}", outs[l].stderr);
    assert!(outs[w].stderr.contains("Apply complete"), "{}", outs[w].stderr);
    // Written once: one revision per family, one service, and nothing left to do.
    let revisions = sim_revisions(&account);
    assert!(!revisions.is_empty() && revisions.iter().all(|(_, n)| *n == 1), "{revisions:?}");
    assert_eq!(account.read(|s| s.services.len()), 1);
    assert_eq!(account.berth("web", "1.27").args(["plan", "--detailed-exitcode"]).run().code, 0);
    assert!(lock_files(&account).is_empty(), "released: {:?}", lock_files(&account));
}

#[test]
fn apply_destroy_and_rollback_refuse_a_held_lock_and_write_nothing_while_plan_still_reads() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    ok(&account.berth("web", "1.28").args(["apply", "--yes"]).run());
    // Someone holds the lock (as a run on another machine would).
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let dir = account.dir().join("sim.json.locks").join(APP);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let record =
        serde_json::json!({"app": APP, "generation": 1, "holder": "alice@ci-runner pid 4242", "since": now - 10, "expires": now + 110});
    std::fs::write(dir.join("g1.json"), record.to_string()).expect("write lock");
    let before = std::fs::read(account.state_path()).expect("state");
    for args in [vec!["apply", "--yes"], vec!["destroy", "--yes"], vec!["rollback", "--yes"]] {
        let out = account.berth("web", "1.29").args(args.clone()).run();
        refused_by(&out, "alice@ci-runner pid 4242");
        assert!(out.stderr.contains("(expires in 1m5") || out.stderr.contains("(expires in 1m4"), "{args:?}: {}", out.stderr);
        assert_eq!(std::fs::read(account.state_path()).expect("state"), before, "{args:?} wrote nothing");
    }
    // plan does not lock.
    assert_eq!(account.berth("web", "1.29").args(["plan", "--detailed-exitcode"]).run().code, 2);
    assert_eq!(lock_files(&account), vec!["g1.json".to_string()], "the holder's lock is untouched");
    // Once released, the same apply proceeds.
    std::fs::remove_file(dir.join("g1.json")).expect("release");
    ok(&account.berth("web", "1.29").args(["apply", "--yes"]).run());
    assert!(lock_files(&account).is_empty());
}

#[test]
fn berth_run_registers_its_revision_only_under_the_lock_and_the_live_one_needs_none() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let dir = account.dir().join("sim.json.locks").join(APP);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let record = serde_json::json!({"app": APP, "generation": 1, "holder": "bob@laptop pid 7", "since": now - 5, "expires": now + 115});
    std::fs::write(dir.join("g1.json"), record.to_string()).expect("write lock");
    let before = sim_revisions(&account);
    // 1.28 is a revision to register: refused while another run holds the app.
    let out = account.berth("web", "1.28").args(["run", "web", "--", "echo", "hi"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("error: app hello is locked by bob@laptop pid 7 since "), "{}", out.stderr);
    assert_eq!(sim_revisions(&account), before, "no revision registered");
    // The live revision registers nothing: it runs.
    let out = account.berth("web", "1.28").args(["run", "web", "--live", "--", "echo", "hi"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    // Released, the planned revision is registered and the lock let go again.
    std::fs::remove_file(dir.join("g1.json")).expect("release");
    let out = account.berth("web", "1.28").args(["run", "web", "--", "echo", "hi"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(account.read(|s| s.task_definitions["hello-web"].len()), 2, "the new revision");
    assert!(lock_files(&account).is_empty(), "released: {:?}", lock_files(&account));
}

#[test]
fn wait_for_lock_waits_for_a_holder_that_releases_and_sees_what_it_wrote() {
    let account = SimAccount::new();
    let holder =
        account.berth("web", "1.27").args(["apply", "--yes"]).env("BERTH_LOCK_HOLDER", "first").env("BERTH_TEST_HOLD_LOCK_MS", "2000");
    let first = std::thread::spawn(move || holder.run());
    wait_until("the first apply holds the lock", Duration::from_secs(20), || !lock_files(&account).is_empty());
    // This one reads the account now, before the first apply has written it.
    let start = Instant::now();
    let second = account.berth("web", "1.27").args(["apply", "--yes", "--wait-for-lock", "20s"]).run();
    let waited = start.elapsed();
    let first = first.join().expect("thread");
    ok(&first);
    ok(&second);
    assert!(second.stderr.contains(&format!("Waiting for the lock of app {APP}: held by first since ")), "{}", second.stderr);
    assert!(waited >= Duration::from_millis(500), "it waited ({waited:?})");
    // It planned against what the first apply wrote (the account is read
    // again once the lock is held): nothing to do, nothing registered twice.
    assert!(second.stderr.contains("No changes"), "{}", second.stderr);
    assert!(started_changes(&second).is_empty(), "{}", second.stderr);
    assert!(sim_revisions(&account).iter().all(|(_, n)| *n == 1), "{:?}", sim_revisions(&account));
    assert!(lock_files(&account).is_empty());

    // Waiting gives up at the deadline, naming the holder.
    let holder =
        account.berth("web", "1.28").args(["apply", "--yes"]).env("BERTH_LOCK_HOLDER", "slow").env("BERTH_TEST_HOLD_LOCK_MS", "4000");
    let slow = std::thread::spawn(move || holder.run());
    wait_until("the slow apply holds the lock", Duration::from_secs(20), || !lock_files(&account).is_empty());
    let out = account.berth("web", "1.28").args(["apply", "--yes", "--wait-for-lock", "1s"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains(&format!("error: app {APP} is still locked by slow since ")), "{}", out.stderr);
    assert!(out.stderr.contains("waited 1s"), "{}", out.stderr);
    ok(&slow.join().expect("thread"));
}

// ------------------------------------------------------------ killed holders

const CHILD_VAR: &str = "BERTH_LOCK_TEST_CHILD";

/// Not a test of its own: the body of the child process that holds the
/// lock until it is killed (does nothing unless the parent set CHILD_VAR).
#[test]
#[ignore = "run by the killed-holder tests in a child process"]
fn child_holder() {
    let Ok(spec) = std::env::var(CHILD_VAR) else { return };
    let spec: serde_json::Value = serde_json::from_str(&spec).expect("child spec");
    let mut berth = Berth::new(PathBuf::from(spec["cwd"].as_str().expect("cwd")))
        .args(spec["args"].as_array().expect("args").iter().map(|a| a.as_str().expect("arg").to_string()));
    for (k, v) in spec["env"].as_object().expect("env") {
        berth = berth.env(k, v.as_str().expect("value"));
    }
    let out = berth.run();
    panic!("the holder was meant to be killed while it held the lock, but finished: {out:?}");
}

/// Starts `berth` with `args` in a child process that holds the lock for a
/// minute (with a 3 s TTL), as `holder`.
fn spawn_holder(cwd: &Path, args: Vec<String>, env: &[(&str, &str)], holder: &str) -> Child {
    let mut all: serde_json::Map<String, serde_json::Value> = env.iter().map(|(k, v)| (k.to_string(), (*v).into())).collect();
    all.insert("BERTH_LOCK_HOLDER".into(), holder.into());
    all.insert("BERTH_LOCK_TTL_SECS".into(), "3".into());
    all.insert("BERTH_TEST_HOLD_LOCK_MS".into(), "60000".into());
    let spec = serde_json::json!({"cwd": cwd.display().to_string(), "args": args, "env": all});
    Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "child_holder", "--ignored", "--nocapture", "--test-threads", "1"])
        .env(CHILD_VAR, spec.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the holder")
}

#[test]
fn a_killed_holders_lock_expires_on_the_sim_and_the_next_apply_proceeds() {
    let account = SimAccount::new();
    let mut args = vec![
        "--sim-state".to_string(),
        account.state_path().display().to_string(),
        "-f".into(),
        "examples/web/compose.yaml".into(),
        "--var".into(),
        "TAG=1.27".into(),
    ];
    args.extend(["apply".into(), "--yes".into()]);
    let mut child = spawn_holder(&berth_tests::repo_root(), args, &[], "doomed@ci pid 7");
    wait_until("the child holds the lock", Duration::from_secs(60), || !lock_files(&account).is_empty());
    child.kill().expect("kill -9 the holder");
    child.wait().expect("reap");
    let killed = Instant::now();

    // Right after the kill the lock still holds.
    let out = account.berth("web", "1.27").args(["apply", "--yes"]).run();
    refused_by(&out, "doomed@ci pid 7");
    // Within its TTL (3 s) it expires; a waiting apply proceeds then.
    let out = account.berth("web", "1.27").args(["apply", "--yes", "--wait-for-lock", "20s"]).env("BERTH_LOCK_TTL_SECS", "3").run();
    let took = killed.elapsed();
    ok(&out);
    eprintln!("after the kill, the next apply proceeded in {took:?}");
    assert!(out.stderr.contains("Waiting for the lock of app hello: held by doomed@ci pid 7"), "{}", out.stderr);
    assert!(out.stderr.contains("Apply complete"), "{}", out.stderr);
    assert!(took < Duration::from_secs(8), "expired within the TTL and a poll: {took:?}");
    // The killed holder wrote nothing; the stale generation is gone, ours released.
    assert!(sim_revisions(&account).iter().all(|(_, n)| *n == 1), "{:?}", sim_revisions(&account));
    assert!(lock_files(&account).is_empty(), "{:?}", lock_files(&account));
}

// ---------------------------------------------------------------------- moto

fn moto_args(moto: &Moto, net: &Network) -> Vec<String> {
    [
        "--backend",
        "aws",
        "--endpoint-url",
        &moto.endpoint,
        "--region",
        &net.region,
        "-f",
        "examples/web/compose.yaml",
        "--var",
        "TAG=1.27",
        "--var",
        &format!("VPC_ID={}", net.vpc),
        "--var",
        &format!("SUBNET_A={}", net.subnet_a),
        "--var",
        &format!("SUBNET_B={}", net.subnet_b),
        "--var",
        &format!("SECURITY_GROUP={}", net.security_group),
        "--var",
        &format!("LISTENER_ARN={}", net.listener),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

const MOTO_ENV: &[(&str, &str)] = &[("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"), ("BERTH_AWS_MAX_ATTEMPTS", "1")];

/// The lock repositories in the region: `(name, tags)`.
fn lock_repositories(moto: &Moto, region: &str) -> Vec<(String, Vec<(String, String)>)> {
    block_on(async {
        let sdk = moto.sdk(region).await;
        let repos = sdk.ecr.describe_repositories().send().await.expect("describe repositories");
        let mut out = Vec::new();
        for r in repos.repositories() {
            let name = r.repository_name().unwrap_or_default().to_string();
            if !name.starts_with("berth_lock/") {
                continue;
            }
            let tags = sdk.ecr.list_tags_for_resource().resource_arn(r.repository_arn().unwrap_or_default()).send().await.expect("tags");
            out.push((name, tags.tags().iter().map(|t| (t.key().to_string(), t.value().to_string())).collect()));
        }
        out
    })
}

fn moto_revisions(moto: &Moto, region: &str) -> usize {
    block_on(async {
        let sdk = moto.sdk(region).await;
        let out = sdk.ecs.list_task_definitions().family_prefix(format!("{APP}-web")).send().await.expect("list");
        out.task_definition_arns().len()
    })
}

#[test]
fn two_applies_started_together_on_moto_exactly_one_writes_and_the_plan_never_shows_the_lock() {
    let Some(moto) = moto() else { return };
    let net = moto.network("eu-central-1");
    let run = |holder: &str| {
        moto.berth(&net, "web")
            .args(["apply", "--yes", "--wait", "none"])
            .env("BERTH_LOCK_HOLDER", holder)
            .env("BERTH_TEST_HOLD_LOCK_MS", "1000")
    };
    let outs = together(vec![run("run-a@ci pid 1"), run("run-b@ci pid 2")]);
    let (w, l) = one_winner(&outs);
    refused_by(&outs[l], ["run-a@ci pid 1", "run-b@ci pid 2"][w]);
    eprintln!("the loser printed (moto):\n{}", outs[l].stderr);
    assert_eq!(moto_revisions(&moto, &net.region), 1, "one revision registered");
    assert!(lock_repositories(&moto, &net.region).is_empty(), "released: {:?}", lock_repositories(&moto, &net.region));

    // While an apply holds the lock, its repository exists with the holder's
    // tags, and a plan of the app does not show it.
    let holder = moto
        .berth(&net, "web")
        .args(["apply", "--yes", "--wait", "none"])
        .env("BERTH_LOCK_HOLDER", "holder@ci pid 3")
        .env("BERTH_TEST_HOLD_LOCK_MS", "3000");
    let held = std::thread::spawn(move || holder.run());
    let mut locks = Vec::new();
    wait_until("the lock repository exists", Duration::from_secs(20), || {
        locks = lock_repositories(&moto, &net.region);
        !locks.is_empty()
    });
    assert_eq!(locks[0].0, format!("berth_lock/{APP}/g1"));
    let tag = |k: &str| locks[0].1.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    assert_eq!(tag("berth:lock").as_deref(), Some(APP));
    assert_eq!(tag("berth:lock-holder").as_deref(), Some("holder@ci pid 3"));
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs();
    let expires: u64 = tag("berth:lock-expires").expect("expiry").parse().expect("seconds");
    assert!(expires > now && expires <= now + 121, "{expires} vs {now}");
    assert!(tag("berth:app").is_none() && tag("berth:managed").is_none(), "{locks:?}");
    let plan = moto.berth(&net, "web").args(["plan", "--format", "json"]).run();
    assert!(plan.code == 0 || plan.code == 2, "{}", plan.stderr);
    assert!(!plan.stdout.contains("berth_lock"), "the plan shows the lock:\n{}", plan.stdout);
    let destroy = moto.berth(&net, "web").args(["destroy", "--yes"]).run();
    refused_by(&destroy, "holder@ci pid 3");
    ok(&held.join().expect("thread"));
    assert!(lock_repositories(&moto, &net.region).is_empty());
    let plan = moto.berth(&net, "web").args(["plan", "--format", "json"]).run();
    assert!(!plan.stdout.contains("berth_lock"), "{}", plan.stdout);
}

#[test]
fn a_killed_holders_lock_expires_on_moto_and_the_next_apply_proceeds() {
    let Some(moto) = moto() else { return };
    let net = moto.network("eu-north-1");
    let mut args = moto_args(&moto, &net);
    args.extend(["apply".into(), "--yes".into(), "--wait".into(), "none".into()]);
    let mut child = spawn_holder(&berth_tests::repo_root(), args, MOTO_ENV, "doomed@ci pid 7");
    wait_until("the child holds the lock", Duration::from_secs(60), || !lock_repositories(&moto, &net.region).is_empty());
    child.kill().expect("kill -9 the holder");
    child.wait().expect("reap");
    let killed = Instant::now();
    let out = moto.berth(&net, "web").args(["apply", "--yes", "--wait", "none"]).run();
    refused_by(&out, "doomed@ci pid 7");
    let out =
        moto.berth(&net, "web").args(["apply", "--yes", "--wait", "none", "--wait-for-lock", "20s"]).env("BERTH_LOCK_TTL_SECS", "3").run();
    let took = killed.elapsed();
    ok(&out);
    eprintln!("after the kill, the next apply (moto) proceeded in {took:?}");
    assert!(out.stderr.contains("Waiting for the lock of app hello: held by doomed@ci pid 7"), "{}", out.stderr);
    assert!(took < Duration::from_secs(10), "{took:?}");
    assert_eq!(moto_revisions(&moto, &net.region), 1, "the killed holder registered nothing");
    assert!(lock_repositories(&moto, &net.region).is_empty(), "stale generation deleted, ours released");
}
