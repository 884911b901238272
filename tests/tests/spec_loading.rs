//! Loading through the CLI: variable sources and their order, `.env`,
//! several `-f` files, `--env` overlays, and Fargate sizing at every tier.

use berth_tests::{Berth, Output};

struct Dir(tempfile::TempDir);

impl Dir {
    fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        Dir(dir)
    }

    fn berth(&self) -> Berth {
        Berth::new(self.0.path())
    }
}

fn render(out: &Output) -> serde_json::Value {
    assert_eq!(out.code, 0, "{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("render prints JSON")
}

fn resource<'a>(r: &'a serde_json::Value, address: &str) -> &'a serde_json::Value {
    r["resources"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["address"] == address))
        .map(|x| &x["spec"])
        .unwrap_or_else(|| panic!("no {address} in {r:#}"))
}

fn image(r: &serde_json::Value) -> String {
    resource(r, "taskdef.web")["containerDefinitions"][0]["image"].as_str().expect("image").to_string()
}

const SPEC: &str = "name: app\nservices:\n  web:\n    image: nginx:${TAG:-none}\n";

#[test]
fn var_beats_environment_beats_dotenv() {
    let dir = Dir::new(&[("compose.yaml", SPEC), (".env", "TAG=from-dotenv\n")]);
    assert_eq!(image(&render(&dir.berth().args(["render"]).run())), "nginx:from-dotenv");
    assert_eq!(image(&render(&dir.berth().env("TAG", "from-env").args(["render"]).run())), "nginx:from-env");
    assert_eq!(image(&render(&dir.berth().env("TAG", "from-env").args(["--var", "TAG=from-var", "render"]).run())), "nginx:from-var");
    let bare = Dir::new(&[("compose.yaml", SPEC)]);
    assert_eq!(image(&render(&bare.berth().args(["render"]).run())), "nginx:none");
}

#[test]
fn dotenv_is_read_beside_the_first_file() {
    let dir = Dir::new(&[("compose.yaml", SPEC), ("other.yaml", "services: {web: {user: \"${WHO}\"}}\n"), (".env", "WHO=app\nTAG=t\n")]);
    std::fs::create_dir(dir.0.path().join("sub")).expect("mkdir");
    std::fs::write(dir.0.path().join("sub/.env"), "WHO=wrong\n").expect("write");
    std::fs::rename(dir.0.path().join("other.yaml"), dir.0.path().join("sub/other.yaml")).expect("mv");
    let r = render(&dir.berth().args(["-f", "compose.yaml", "-f", "sub/other.yaml", "render"]).run());
    assert_eq!(resource(&r, "taskdef.web")["containerDefinitions"][0]["user"], "app");
}

#[test]
fn unset_variable_is_a_warning_and_empty() {
    let dir = Dir::new(&[("compose.yaml", "name: app\nservices:\n  web:\n    image: nginx\n    environment: { A: \"x${MISSING}y\" }\n")]);
    let out = dir.berth().args(["render"]).run();
    let r = render(&out);
    assert_eq!(resource(&r, "taskdef.web")["containerDefinitions"][0]["environment"][0]["value"], "xy");
    assert!(
        out.stderr.contains("warning: compose.yaml:5:23: services.web.environment.A: variable MISSING is not set; using an empty string"),
        "{}",
        out.stderr
    );
}

#[test]
fn interpolated_number_becomes_a_number() {
    let dir = Dir::new(&[("compose.yaml", "name: app\nservices:\n  web:\n    image: nginx\n    deploy:\n      replicas: ${N:-3}\n")]);
    let r = render(&dir.berth().args(["render"]).run());
    assert_eq!(resource(&r, "service.web")["desiredCount"], 3);
}

#[test]
fn three_files_merge_in_order() {
    let dir = Dir::new(&[
        ("base.yaml", "name: app\nservices:\n  web:\n    image: nginx:1\n    command: [serve, --slow]\n    ports: [\"80\"]\n    environment: { A: \"1\", B: \"1\" }\n"),
        ("mid.yaml", "services:\n  web:\n    image: nginx:2\n    command: [serve]\n    environment: [B=2, C=2]\n"),
        ("top.yaml", "services:\n  web:\n    ports: [\"80\", \"81\"]\n    environment: { C: \"3\" }\n"),
    ]);
    let r = render(&dir.berth().args(["-f", "base.yaml", "-f", "mid.yaml", "-f", "top.yaml", "render"]).run());
    let c = &resource(&r, "taskdef.web")["containerDefinitions"][0];
    assert_eq!(c["image"], "nginx:2");
    assert_eq!(c["command"], serde_json::json!(["serve"]));
    let ports: Vec<u64> = c["portMappings"].as_array().expect("ports").iter().map(|p| p["containerPort"].as_u64().expect("port")).collect();
    assert_eq!(ports, vec![80, 81]);
    let env: Vec<(String, String)> = c["environment"]
        .as_array()
        .expect("env")
        .iter()
        .map(|e| (e["name"].as_str().expect("n").to_string(), e["value"].as_str().expect("v").to_string()))
        .collect();
    assert_eq!(env, vec![("A".into(), "1".into()), ("B".into(), "2".into()), ("C".into(), "3".into())]);
}

#[test]
fn errors_name_the_file_that_holds_the_key() {
    let dir = Dir::new(&[
        ("base.yaml", "name: app\nservices:\n  web:\n    image: nginx\n"),
        ("override.yaml", "services:\n  web:\n    deploy:\n      replicas: many\n"),
    ]);
    let out = dir.berth().args(["-f", "base.yaml", "-f", "override.yaml", "validate"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("error: override.yaml:4:7: services.web.deploy.replicas:"), "{}", out.stderr);
}

#[test]
fn env_overlay_applies_and_unknown_env_is_an_error() {
    let spec = "name: app\nx-berth:\n  environments:\n    prod:\n      services: { web: { deploy: { replicas: 6 } } }\nservices:\n  web:\n    image: nginx\n    deploy: { replicas: 2 }\n";
    let dir = Dir::new(&[("compose.yaml", spec)]);
    assert_eq!(resource(&render(&dir.berth().args(["render"]).run()), "service.web")["desiredCount"], 2);
    assert_eq!(resource(&render(&dir.berth().args(["--env", "prod", "render"]).run()), "service.web")["desiredCount"], 6);
    let out = dir.berth().args(["--env", "staging", "render"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("--env staging: no such environment"), "{}", out.stderr);
    assert!(out.stderr.contains("known environments: prod"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}

#[test]
fn app_name_defaults_to_the_folder() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app_dir = dir.path().join("My-Shop");
    std::fs::create_dir(&app_dir).expect("mkdir");
    std::fs::write(app_dir.join("compose.yaml"), "services:\n  web:\n    image: nginx\n").expect("write");
    let r = render(&Berth::new(&app_dir).args(["render"]).run());
    assert_eq!(r["app"], "my-shop");
    assert_eq!(resource(&r, "service.web")["serviceName"], "my-shop-web");
}

/// Fargate sizing through the CLI: compose limits at each tier boundary
/// pick the smallest valid size.
#[test]
fn fargate_size_from_compose_limits_at_every_tier() {
    let cases: &[(&str, &str, &str, &str)] = &[
        ("0.25", "512M", "256", "512"),
        ("0.25", "2G", "256", "2048"),
        ("0.25", "2.5G", "512", "3072"),
        ("0.5", "1G", "512", "1024"),
        ("0.5", "4G", "512", "4096"),
        ("0.75", "1G", "1024", "2048"),
        ("1", "8G", "1024", "8192"),
        ("1", "8.5G", "2048", "9216"),
        ("2", "16G", "2048", "16384"),
        ("2.5", "4G", "4096", "8192"),
        ("4", "30G", "4096", "30720"),
        ("4", "31G", "8192", "32768"),
        ("8", "60G", "8192", "61440"),
        ("8.5", "16G", "16384", "32768"),
        ("16", "120G", "16384", "122880"),
    ];
    for (cpus, memory, want_cpu, want_mem) in cases {
        let spec = format!("name: app\nservices:\n  web:\n    image: nginx\n    deploy:\n      resources:\n        limits: {{ cpus: \"{cpus}\", memory: {memory} }}\n");
        let dir = Dir::new(&[("compose.yaml", &spec)]);
        let r = render(&dir.berth().args(["render"]).run());
        let td = resource(&r, "taskdef.web");
        assert_eq!((td["cpu"].as_str(), td["memory"].as_str()), (Some(*want_cpu), Some(*want_mem)), "cpus {cpus} memory {memory}");
    }
}

#[test]
fn reservations_are_used_when_there_are_no_limits() {
    let spec = "name: app\nservices:\n  web:\n    image: nginx\n    deploy:\n      resources:\n        reservations: { cpus: \"1\", memory: 3G }\n";
    let dir = Dir::new(&[("compose.yaml", spec)]);
    let td = resource(&render(&dir.berth().args(["render"]).run()), "taskdef.web").clone();
    assert_eq!((td["cpu"].as_str(), td["memory"].as_str()), (Some("1024"), Some("3072")));
}

#[test]
fn rolling_parameters_from_update_config() {
    // (replicas, update_config, min, max): the seeds' example is 4 tasks, 50/100.
    let cases: &[(u32, &str, u64, u64)] = &[
        (4, "{ parallelism: 2, order: stop-first }", 50, 100),
        (4, "{ parallelism: 2, order: start-first }", 100, 150),
        (4, "{ parallelism: 1 }", 75, 100),
        (3, "{ parallelism: 1, order: start-first }", 100, 134),
        (2, "{ parallelism: 5, order: stop-first }", 0, 100),
    ];
    for (replicas, uc, min, max) in cases {
        let spec =
            format!("name: app\nservices:\n  web:\n    image: nginx\n    deploy:\n      replicas: {replicas}\n      update_config: {uc}\n");
        let dir = Dir::new(&[("compose.yaml", &spec)]);
        let svc = resource(&render(&dir.berth().args(["render"]).run()), "service.web").clone();
        let dc = &svc["deploymentConfiguration"];
        assert_eq!((dc["minimumHealthyPercent"].as_u64(), dc["maximumPercent"].as_u64()), (Some(*min), Some(*max)), "{replicas} {uc}");
        assert_eq!(dc["deploymentCircuitBreaker"], serde_json::json!({"enable": true, "rollback": true}));
    }
    let dir = Dir::new(&[("compose.yaml", "name: app\nservices:\n  web:\n    image: nginx\n")]);
    let dc = resource(&render(&dir.berth().args(["render"]).run()), "service.web")["deploymentConfiguration"].clone();
    assert_eq!((dc["minimumHealthyPercent"].as_u64(), dc["maximumPercent"].as_u64()), (Some(100), Some(200)));
}

#[test]
fn every_resource_carries_the_ownership_tags() {
    let r = render(&Berth::new(berth_tests::repo_root()).args(["-f", "examples/shop/compose.yaml", "--var", "TAG=x", "render"]).run());
    for res in r["resources"].as_array().expect("resources") {
        let tags = res["spec"]["tags"].as_array().unwrap_or_else(|| panic!("{} has tags", res["address"]));
        assert!(tags.contains(&serde_json::json!({"key": "berth:app", "value": "shop"})), "{}", res["address"]);
        assert!(tags.contains(&serde_json::json!({"key": "berth:managed", "value": "true"})), "{}", res["address"]);
    }
}

#[test]
fn render_keeps_stdout_for_data_only() {
    let dir = Dir::new(&[("compose.yaml", "name: app\nservices:\n  web:\n    image: nginx\n    restart: always\n")]);
    let out = dir.berth().args(["render"]).run();
    assert!(out.stderr.contains("ignored on ECS"));
    assert!(serde_json::from_str::<serde_json::Value>(&out.stdout).is_ok(), "stdout: {}", out.stdout);
}
