//! Secrets and configs as files, as Compose mounts them (Compose
//! Specification, "secrets" and "configs"), on ECS: an init container
//! writes them to task-scoped volumes the service's containers mount
//! read-only. Acceptance: ../shared/corpus/compose/nginx-golang-mysql
//! deploys on the sim with only x-berth keys added in an overlay.

use berth_tests::{ok, shared_dir, Berth, SimAccount};
use serde_json::Value;

const OVERLAY: &str = "x-berth:\n  region: ap-northeast-2\n  network: { subnets: [subnet-1], security_groups: [sg-1] }\n  execution_role_arn: arn:aws:iam::123456789012:role/berth-exec\n  secrets:\n    db-password: arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:ngm/db-password-AbCdEf\n";

/// The corpus project as its repository holds it: the compose file
/// unchanged, and the proxy's nginx.conf it bind-mounts.
fn project(account: &SimAccount) -> Berth {
    let dir = account.dir();
    let compose = std::fs::read_to_string(shared_dir().join("corpus/compose/nginx-golang-mysql/compose.yaml")).expect("corpus file");
    std::fs::write(dir.join("compose.yaml"), compose).expect("write");
    std::fs::create_dir_all(dir.join("proxy")).expect("mkdir");
    std::fs::write(dir.join("proxy/nginx.conf"), "server {\n  listen 80;\n  location / { proxy_pass http://backend:8000; }\n}\n")
        .expect("write");
    std::fs::write(dir.join("overlay.yaml"), OVERLAY).expect("write");
    Berth::new(dir).args([
        "--sim-state",
        &account.state_path().display().to_string(),
        "-f",
        "compose.yaml",
        "-f",
        "overlay.yaml",
        "--var",
        "TAG=abc1234",
    ])
}

fn task_definition<'a>(render: &'a Value, family: &str) -> &'a Value {
    render["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .find(|r| r["kind"] == "task_definition" && r["spec"]["family"].as_str().is_some_and(|f| f.ends_with(&format!("-{family}"))))
        .map(|r| &r["spec"])
        .unwrap_or_else(|| panic!("no task definition {family}"))
}

fn container<'a>(td: &'a Value, name: &str) -> &'a Value {
    td["containerDefinitions"]
        .as_array()
        .expect("containers")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no container {name}"))
}

#[test]
fn nginx_golang_mysql_deploys_with_secret_and_config_files() {
    let account = SimAccount::new();
    let out = project(&account).args(["render"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("bind mount of the file \"./proxy/nginx.conf\""), "{}", out.stderr);
    let render: Value = serde_json::from_str(&out.stdout).expect("render JSON");

    // db reads /run/secrets/db-password, written by the init container.
    let db = task_definition(&render, "db");
    let init = container(db, "berth-init");
    assert_eq!(init["essential"], false);
    assert_eq!(
        init["secrets"],
        serde_json::json!([{ "name": "BERTH_FILE_0", "valueFrom": "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:ngm/db-password-AbCdEf" }])
    );
    let script = init["command"][2].as_str().expect("script");
    assert!(script.contains("> '/run/secrets/db-password'"), "{script}");
    assert_eq!(
        init["mountPoints"],
        serde_json::json!([{ "sourceVolume": "berth-files-0", "containerPath": "/run/secrets", "readOnly": false }])
    );
    let app = container(db, "db");
    assert!(app["mountPoints"]
        .as_array()
        .expect("mounts")
        .contains(&serde_json::json!({ "sourceVolume": "berth-files-0", "containerPath": "/run/secrets", "readOnly": true })));
    assert!(app["dependsOn"]
        .as_array()
        .expect("deps")
        .contains(&serde_json::json!({ "containerName": "berth-init", "condition": "SUCCESS" })));
    assert!(app.get("secrets").is_none_or(|s| s.as_array().is_some_and(Vec::is_empty)), "the secret is a file, not a variable: {app}");
    assert!(db["volumes"].as_array().expect("volumes").iter().any(|v| v["name"] == "berth-files-0"));

    // The proxy's nginx.conf arrives as a config file.
    let proxy = task_definition(&render, "proxy");
    let pinit = container(proxy, "berth-init");
    assert!(pinit["environment"][0]["value"].as_str().is_some_and(|v| v.contains("proxy_pass http://backend:8000")), "{pinit}");
    assert!(pinit["command"][2].as_str().is_some_and(|s| s.contains("> '/etc/nginx/conf.d/default.conf'")));
    assert!(container(proxy, "proxy")["mountPoints"]
        .as_array()
        .expect("mounts")
        .contains(&serde_json::json!({ "sourceVolume": "berth-files-0", "containerPath": "/etc/nginx/conf.d", "readOnly": true })));

    // Deploys on the sim, then plans no changes; berth never uploads a secret value.
    ok(&project(&account).args(["apply", "--yes"]).run());
    let out = project(&account).args(["plan", "--detailed-exitcode"]).run();
    assert_eq!(out.code, 0, "{}", out.stdout);
}

#[test]
fn a_file_secret_without_a_mapping_is_an_error_with_the_hint() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("compose.yaml"),
        "name: s\nservices:\n  web:\n    image: nginx\n    secrets: [pw]\nsecrets:\n  pw:\n    file: pw.txt\n",
    )
    .expect("write");
    let out = Berth::new(dir.path()).args(["validate"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("compose.yaml:8:5: secrets.pw.file: file secrets cannot be used on ECS"), "{}", out.stderr);
    assert!(out.stderr.contains("x-berth: { secrets: { pw: <secret ARN> } }"), "{}", out.stderr);
}

#[test]
fn secret_env_injects_variables_when_asked() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("compose.yaml"),
        "name: s\nservices:\n  web:\n    image: nginx\n    secrets: [db-password]\n    x-berth: { secret_env: true }\nsecrets:\n  db-password: { external: true, name: \"arn:aws:secretsmanager:us-east-1:1:secret:x\" }\n",
    )
    .expect("write");
    let out = Berth::new(dir.path()).args(["render"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("\"DB_PASSWORD\"") && !out.stdout.contains("berth-init"), "{}", out.stdout);
}

#[test]
fn a_failing_init_container_fails_the_task_with_its_reason() {
    let account = SimAccount::new();
    let berth = project(&account);
    let overlay = format!("{OVERLAY}  init_image: busybox:1.36.1-crashloop\n");
    std::fs::write(account.dir().join("overlay.yaml"), overlay).expect("write");
    let out = berth.args(["apply", "--yes"]).run();
    assert_ne!(out.code, 0, "{}", out.stderr);
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(all.contains("container berth-init exited with code 1"), "{all}");
}
