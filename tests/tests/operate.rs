//! Operating an app (issue 13): failure diagnostics, logs, one-off tasks.

use berth_tests::{repo_root, Berth, Output};

/// Copies examples/ into a fresh directory, so the README's commands run
/// there exactly as written (their sim state lands in its `.berth/`).
fn readme_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for example in ["shop", "web", "wordpress"] {
        let to = dir.path().join("examples").join(example);
        std::fs::create_dir_all(&to).expect("mkdir");
        std::fs::copy(repo_root().join("examples").join(example).join("compose.yaml"), to.join("compose.yaml")).expect("copy");
    }
    dir
}

/// `cargo run -q -p berth -- <args>` as the README writes it, run in `dir`.
fn readme_command(dir: &std::path::Path, command: &str) -> Output {
    let args = command.strip_prefix("cargo run -q -p berth -- ").expect("a README berth command");
    Berth::new(dir).args(shell_words::split(args).expect("shell words")).run()
}

/// The README's commands of the "Try it" section, as written there.
fn readme_try_it() -> (String, String) {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README");
    let first = readme.lines().find(|l| l.starts_with("cargo run -q -p berth -- ")).expect("the README's first command").to_string();
    assert!(readme.contains("`--var TAG=crashloop`"), "the README offers the crashloop demo");
    let crash = first.replace("TAG=abc1234", "TAG=crashloop");
    assert_ne!(first, crash, "the README's command sets TAG=abc1234");
    (first, crash)
}

#[test]
fn readme_crashloop_demo_fails_rolls_back_and_shows_the_crash() {
    let dir = readme_dir();
    let (first, crash) = readme_try_it();
    let out = readme_command(dir.path(), &first);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let out = readme_command(dir.path(), &crash);
    assert_eq!(out.code, 3, "the crashloop release fails: {}\n{}", out.stdout, out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    // The service, the reason and the revision it is back on.
    assert!(all.contains("deployment") && all.contains("of shop-api failed: ECS deployment circuit breaker"), "{all}");
    assert!(all.contains("rolled the service back to shop-api:1"), "{all}");
    // The crashing container's stopped reason, exit code and last log lines.
    assert!(all.contains("failed: Essential container in task exited (exit code 1); container api exited with code 1"), "{all}");
    assert!(all.contains("| api: fatal: the process crashed during startup"), "{all}");
    // Once per distinct failure, though several tasks crashed the same way.
    assert!(all.matches(" stopped: Essential container").count() >= 3, "several tasks stopped: {all}");
    assert_eq!(all.matches("| api: fatal:").count(), 1, "the log tail is shown once: {all}");
    // The account: shop-api runs revision 1 again, at full count.
    let sim = berth_sim::Sim::open(&dir.path().join(".berth/sim.json")).expect("sim");
    let state = sim.state();
    let api = &state.services["shop-api"];
    let d = api.deployments.last().expect("deployment");
    assert!(d.task_definition.ends_with("shop-api:1") && d.rollout_state == "COMPLETED", "{d:?}");
    assert_eq!(api.tasks.iter().filter(|t| t.healthy && t.task_definition.ends_with(":1")).count(), 2);
}

/// A fault marker in a tag survives pinning when the image was pushed (a
/// real digest, found by its tag) as well as when the sim made one up.
#[test]
fn fault_markers_survive_digest_pinning_of_pushed_images() {
    let account = berth_tests::SimAccount::new();
    let spec =
        "name: pin\nx-berth: { network: { subnets: [subnet-1] } }\nservices:\n  api:\n    build: ./api\n    deploy: { replicas: 1 }\n";
    std::fs::write(account.dir().join("compose.yaml"), spec).expect("write");
    let berth = |tag: &str| {
        Berth::new(account.dir()).args(["--sim-state", "sim.json", "-f", "compose.yaml", "--var", &format!("TAG={tag}"), "apply", "--yes"])
    };
    berth_tests::ok(&berth("v1").run());
    account.edit(|s| s.auto_push = false);
    let sim = berth_sim::Sim::open(&account.state_path()).expect("sim");
    sim.push_image("pin/api", &["v2-unhealthy"], 0).expect("pushed");
    sim.save().expect("save");
    let out = berth("v2-unhealthy").run();
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert!(out.stderr.contains("pin/api@sha256:"), "pinned by digest: {}", out.stderr);
    assert!(out.stderr.contains("Task failed container health checks"), "{}", out.stderr);
    assert!(out.stderr.contains("exited with code 137"), "{}", out.stderr);
}
