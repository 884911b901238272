//! GitOps over a repository of many apps (issue 15): `plan --all` finds
//! every app and environment, plans them and prints one report;
//! `--changed-since` plans only what changed; one app's error never hides
//! another's plan; `apply --all` applies each saved plan, continuing past a
//! failed app.

use std::path::Path;
use std::process::Command;

use berth_tests::{Berth, Output};

const APPS: [&str; 5] = ["alpha", "beta", "gamma", "delta", "epsilon"];
/// Services per app: enough that the report, unbounded, would pass GitHub's comment limit.
const SERVICES: usize = 12;

/// A repository of five apps, each with a staging and a prod environment
/// (their own app names) and its image tag in the `.env` beside it.
fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for app in APPS {
        let at = dir.path().join("apps").join(app);
        std::fs::create_dir_all(&at).expect("mkdir");
        let mut spec = format!(
            "name: {app}\nx-berth:\n  network: {{ subnets: [subnet-1], security_groups: [sg-1] }}\n  environments:\n    staging: {{ name: {app}-staging }}\n    prod: {{ name: {app}-prod }}\nservices:\n"
        );
        for i in 0..SERVICES {
            spec.push_str(&format!("  svc{i}:\n    image: nginx:${{TAG:?set TAG}}\n    environment: {{ ROLE: worker-{i}, APP: {app} }}\n"));
        }
        std::fs::write(at.join("compose.berth.yaml"), spec).expect("spec");
        std::fs::write(at.join(".env"), "TAG=1.27\n").expect(".env");
    }
    git(dir.path(), &["init", "-q", "."]);
    git(dir.path(), &["add", "-A"]);
    git(dir.path(), &["-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-qm", "apps"]);
    dir
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git").current_dir(dir).args(args).status().expect("git");
    assert!(status.success(), "git {args:?}");
}

fn berth(dir: &Path) -> Berth {
    Berth::new(dir).args(["--sim-state", "sim.json", "--allow-mutable-tags"])
}

/// The (app, environment) rows of a JSON report that planned, and those that failed.
fn rows(out: &Output) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("a JSON report");
    let mut planned = Vec::new();
    let mut failed = Vec::new();
    for a in report["apps"].as_array().expect("apps") {
        let row = (a["dir"].as_str().unwrap_or_default().to_string(), a["environment"].as_str().unwrap_or_default().to_string());
        if a["plan"].is_object() {
            planned.push(row);
        } else {
            assert!(a["error"].is_string(), "{a}");
            failed.push(row);
        }
    }
    (planned, failed)
}

#[test]
fn plan_all_reports_every_app_and_environment_in_one_comment() {
    let repo = repo();
    let out = berth(repo.path()).args(["plan", "--all", "--format", "markdown"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let md = &out.stdout;
    assert!(md.len() < 65_000, "within GitHub's comment size: {} characters", md.len());
    assert!(md.starts_with("## berth plan: 10 apps, 10 with changes, 0 failed"), "{}", &md[..200.min(md.len())]);
    for app in APPS {
        for env in ["staging", "prod"] {
            assert!(md.contains(&format!("| `apps/{app}` | {env} | {} | 0 | 0 | 0 | 0 | changes |", 2 + 2 * SERVICES)), "{app} {env}");
        }
    }
    // Plans too long for the comment are shortened, with a note.
    assert!(md.contains("left out"), "{md}");
    // Each environment is its own app.
    let (planned, failed) = rows(&berth(repo.path()).args(["plan", "--all", "--format", "json"]).run());
    assert_eq!((planned.len(), failed.len()), (10, 0));
}

#[test]
fn changed_since_plans_only_the_apps_whose_files_changed() {
    let repo = repo();
    std::fs::write(repo.path().join("apps/gamma/.env"), "TAG=1.28\n").expect("edit .env");
    let out = berth(repo.path()).args(["plan", "--all", "--changed-since", "HEAD", "--format", "json"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (planned, _) = rows(&out);
    assert_eq!(planned, vec![("apps/gamma".to_string(), "staging".to_string()), ("apps/gamma".to_string(), "prod".to_string())]);
    // Nothing changed since the working tree: nothing to plan, and it says so.
    git(repo.path(), &["-c", "user.email=ci@example.com", "-c", "user.name=ci", "commit", "-qam", "gamma 1.28"]);
    let out = berth(repo.path()).args(["plan", "--all", "--changed-since", "HEAD", "--format", "json"]).run();
    assert_eq!(rows(&out).0.len(), 0, "{}", out.stdout);
}

#[test]
fn an_invalid_app_shows_its_error_and_the_others_still_plan() {
    let repo = repo();
    let spec = repo.path().join("apps/beta/compose.berth.yaml");
    let text = std::fs::read_to_string(&spec).expect("spec").replacen("image: nginx", "imag: nginx", 1);
    std::fs::write(&spec, text).expect("break beta");
    let out = berth(repo.path()).args(["plan", "--all", "--format", "json"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let (planned, failed) = rows(&out);
    assert_eq!(planned.len(), 8);
    assert_eq!(failed, vec![("apps/beta".to_string(), "staging".to_string()), ("apps/beta".to_string(), "prod".to_string())]);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let error = report["apps"].as_array().expect("apps").iter().find(|a| a["dir"] == "apps/beta").expect("beta")["error"].clone();
    assert!(
        error.as_str().is_some_and(|e| e.contains("compose.berth.yaml:") && e.contains("imag")),
        "names the file, line and key: {error}"
    );
    assert!(out.stderr.contains("2 of 10 apps could not be planned: apps/beta (staging), apps/beta (prod)"), "{}", out.stderr);
}

#[test]
fn apply_all_continues_past_a_failing_app_and_names_it() {
    let repo = repo();
    // gamma's prod release crash-loops (the sim's fault marker in its tag).
    let spec = repo.path().join("apps/gamma/compose.berth.yaml");
    let text = std::fs::read_to_string(&spec)
        .expect("spec")
        .replace("prod: { name: gamma-prod }", "prod: { name: gamma-prod, services: { svc0: { image: nginx:crashloop } } }");
    std::fs::write(&spec, text).expect("write");
    let out = berth(repo.path()).args(["plan", "--all", "-o", "plans"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(std::fs::read_dir(repo.path().join("plans")).expect("plans").count(), 10);
    // Applied with no spec and no variables: each plan holds its app.
    let out = Berth::new(repo.path()).args(["--sim-state", "sim.json", "apply", "--all", "plans", "--yes"]).run();
    assert_eq!(out.code, 3, "a deployment failed: {}", out.stderr);
    assert!(out.stderr.contains("error: apply --all: 1 of 10 apps failed: apps__gamma.prod (exit 3)"), "{}", out.stderr);
    // Every other app was applied, including those after the failed one.
    let sim = berth_sim::Sim::open(&repo.path().join("sim.json")).expect("sim");
    let state = sim.state();
    for app in APPS {
        for env in ["staging", "prod"] {
            let service = format!("{app}-{env}-svc1");
            assert!(state.services.contains_key(&service), "{service} deployed");
        }
    }
}

#[test]
fn a_repo_file_lists_the_apps_and_environments_to_plan() {
    let repo = repo();
    std::fs::write(repo.path().join("berth-repo.yaml"), "apps:\n  - path: apps/alpha\n    environments: [prod]\n  - path: apps/delta\n")
        .expect("repo file");
    let out = berth(repo.path()).args(["plan", "--all", "--format", "json"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(rows(&out).0, vec![("apps/alpha".to_string(), "prod".to_string()), ("apps/delta".to_string(), String::new())]);
    std::fs::write(repo.path().join("berth-repo.yaml"), "apps:\n  - path: ../elsewhere\n").expect("repo file");
    let out = berth(repo.path()).args(["plan", "--all"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("must be a directory inside the repository"), "{}", out.stderr);
}
