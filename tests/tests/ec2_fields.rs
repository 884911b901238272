//! Compose service keys as ECS container definition fields, per launch type
//! and network mode: with `x-berth.launch_type: ec2` they render the ECS
//! fields; on Fargate the keys ECS refuses there are errors naming
//! `file:line:col` and the key. And the README's table of every Compose
//! service key against the code (berth_spec::service_keys), the vendored
//! Compose JSON Schema, and what the validator does with each key.

use berth_spec::service_keys::{self, Behaviour, SERVICE_KEYS};
use berth_tests::aws_models::{Models, Side};
use berth_tests::{repo_root, Berth, Output};
use serde_json::{json, Value};

const EC2: &str = "x-berth:\n  launch_type: ec2\n  network: { mode: bridge }\n";
const EC2_AWSVPC: &str = "x-berth:\n  launch_type: ec2\n";

/// `name: app`, the app's x-berth (`head`), and one service `web` with `body`
/// (service keys, indented by four spaces).
fn spec(head: &str, body: &str) -> String {
    format!("name: app\n{head}services:\n  web:\n    image: nginx\n{body}")
}

fn run(yaml: &str, args: &[&str]) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("compose.yaml"), yaml).expect("write spec");
    Berth::new(dir.path()).args(args.iter().copied()).run()
}

/// The task definition of `web`, as `berth render` prints it.
fn task_definition(yaml: &str) -> Value {
    let out = run(yaml, &["render", "--format", "json"]);
    assert_eq!(out.code, 0, "render failed:\n{}", out.stderr);
    let all: Value = serde_json::from_str(&out.stdout).expect("render JSON");
    all["resources"].as_array().expect("resources").iter().find(|r| r["kind"] == "task_definition").expect("a task definition")["spec"]
        .clone()
}

/// `berth validate` of an invalid spec, asserting the error line.
fn assert_error(yaml: &str, expected: &str) -> Output {
    let out = run(yaml, &["validate"]);
    assert_eq!(out.code, 1, "expected an invalid spec:\n{}", out.stderr);
    assert!(out.stderr.lines().any(|l| l == expected), "expected the line\n  {expected}\nin stderr:\n{}", out.stderr);
    out
}

/// The rendered task definition fits ECS's RegisterTaskDefinition input
/// (member names, types, enum values), per the vendored service model.
fn assert_fits_ecs_model(td: &Value) {
    let problems = Models::load().check("ecs:RegisterTaskDefinition", Side::Request, 200, &td.to_string());
    assert!(problems.is_empty(), "the rendered task definition does not fit ECS's model: {problems:#?}\n{td:#}");
}

// ---------------------------------------------------------- host bind mounts

#[test]
fn ec2_host_bind_mount_renders_host_source_path() {
    let td = task_definition(&spec(
        EC2_AWSVPC,
        "    volumes:\n      - /var/log/app:/logs\n      - type: bind\n        source: /etc/ssl/certs\n        target: /certs\n        read_only: true\n",
    ));
    assert_eq!(
        td["volumes"],
        json!([
            {"name": "web-host-0", "host": {"sourcePath": "/var/log/app"}},
            {"name": "web-host-1", "host": {"sourcePath": "/etc/ssl/certs"}},
        ]),
        "{td:#}"
    );
    assert_eq!(
        td["containerDefinitions"][0]["mountPoints"],
        json!([
            {"sourceVolume": "web-host-0", "containerPath": "/logs", "readOnly": false},
            {"sourceVolume": "web-host-1", "containerPath": "/certs", "readOnly": true},
        ])
    );
    assert_fits_ecs_model(&td);
}

#[test]
fn ec2_bind_mount_of_an_absolute_file_is_the_instances_not_a_config() {
    // /etc/hosts exists here too: on EC2 it is still the instance's file.
    let td = task_definition(&spec(EC2_AWSVPC, "    volumes: [\"/etc/hosts:/etc/hosts:ro\"]\n"));
    assert_eq!(td["volumes"], json!([{"name": "web-host-0", "host": {"sourcePath": "/etc/hosts"}}]), "{td:#}");
    assert_eq!(td["containerDefinitions"].as_array().map(Vec::len), Some(1), "no init container writing a copy: {td:#}");
}

#[test]
fn ec2_bind_mount_of_a_repository_folder_is_an_error_saying_it_is_not_on_the_instance() {
    let out = assert_error(
        &spec(EC2_AWSVPC, "    volumes:\n      - ./data:/data\n"),
        "error: compose.yaml:8:9: services.web.volumes[0]: bind mount of \"./data\": a path of your repository (or home folder) does not exist on the ECS instance the task runs on",
    );
    assert!(out.stderr.contains("hint: mount an absolute path of the instance"), "{}", out.stderr);
}

#[test]
fn fargate_host_bind_mount_is_an_error_at_the_key() {
    let out = assert_error(
        &spec("", "    volumes:\n      - /var/log/app:/logs\n"),
        "error: compose.yaml:6:9: services.web.volumes[0]: bind mount of \"/var/log/app\": host paths do not exist on Fargate",
    );
    assert!(
        out.stderr
            .contains("set `x-berth.launch_type: ec2` at the top level of the file (the app's x-berth) to mount a path of the instance"),
        "{}",
        out.stderr
    );
}

// ------------------------------------------------------------------ sysctls

#[test]
fn ec2_sysctls_render_system_controls() {
    let td = task_definition(&spec(EC2, "    sysctls:\n      net.core.somaxconn: 1024\n      kernel.shmmax: \"68719476736\"\n"));
    assert_eq!(
        td["containerDefinitions"][0]["systemControls"],
        json!([
            {"namespace": "net.core.somaxconn", "value": "1024"},
            {"namespace": "kernel.shmmax", "value": "68719476736"},
        ]),
        "{td:#}"
    );
    assert_fits_ecs_model(&td);
}

#[test]
fn fargate_namespaced_sysctls_in_list_syntax_render_system_controls() {
    // ECS sets net.* and the IPC ones on Fargate too (platform 1.4.0).
    let td = task_definition(&spec("", "    sysctls:\n      - net.ipv4.tcp_keepalive_time=200\n"));
    assert_eq!(td["containerDefinitions"][0]["systemControls"], json!([{"namespace": "net.ipv4.tcp_keepalive_time", "value": "200"}]));
}

#[test]
fn fargate_host_wide_sysctl_is_an_error_at_the_key() {
    let out = assert_error(
        &spec("", "    sysctls:\n      vm.overcommit_memory: 1\n"),
        "error: compose.yaml:6:7: services.web.sysctls.vm.overcommit_memory: vm.overcommit_memory is not a namespaced kernel parameter: ECS sets only net.*, fs.mqueue.* and the IPC kernel.* ones in a container",
    );
    assert!(out.stderr.contains("hint: Fargate hosts cannot be tuned"), "{}", out.stderr);
}

#[test]
fn host_network_mode_refuses_network_sysctls() {
    assert_error(
        &spec("x-berth:\n  launch_type: ec2\n  network: { mode: host }\n", "    sysctls: [net.core.somaxconn=1024]\n"),
        "error: compose.yaml:8:15: services.web.sysctls[0]: net.core.somaxconn: ECS does not set network kernel parameters for tasks in the host network mode",
    );
}

// ------------------------------------------------------------- capabilities

#[test]
fn ec2_cap_add_renders_linux_parameters_capabilities_add() {
    let td = task_definition(&spec(EC2_AWSVPC, "    cap_add: [NET_ADMIN, CAP_SYS_TIME]\n    cap_drop: [MKNOD]\n"));
    assert_eq!(
        td["containerDefinitions"][0]["linuxParameters"]["capabilities"],
        json!({"add": ["NET_ADMIN", "SYS_TIME"], "drop": ["MKNOD"]}),
        "ECS names capabilities without CAP_: {td:#}"
    );
    assert_fits_ecs_model(&td);
}

#[test]
fn fargate_cap_add_net_admin_is_an_error_at_the_key() {
    let out = assert_error(
        &spec("", "    cap_add: [NET_ADMIN]\n"),
        "error: compose.yaml:5:15: services.web.cap_add[0]: Fargate only allows adding SYS_PTRACE, not NET_ADMIN",
    );
    assert!(
        out.stderr.contains("hint: remove it, or set `x-berth.launch_type: ec2` at the top level of the file (the app's x-berth)"),
        "the hint names the app-level key and where it goes: {}",
        out.stderr
    );
}

#[test]
fn fargate_cap_add_sys_ptrace_renders() {
    let td = task_definition(&spec("", "    cap_add: [SYS_PTRACE]\n"));
    assert_eq!(td["containerDefinitions"][0]["linuxParameters"]["capabilities"], json!({"add": ["SYS_PTRACE"]}));
}

#[test]
fn an_unknown_capability_is_an_error_at_the_key() {
    assert_error(
        &spec(EC2, "    cap_drop: [NET_ADMINN]\n"),
        "error: compose.yaml:8:16: services.web.cap_drop[0]: \"NET_ADMINN\" is not a Linux capability ECS knows",
    );
}

// ----------------------------------------- the other kernel and host settings

#[test]
fn ec2_bridge_renders_every_other_host_setting() {
    let td = task_definition(&spec(
        EC2,
        concat!(
            "    privileged: true\n",
            "    devices: [\"/dev/fuse:/dev/fuse:rwm\", { source: /dev/snd }]\n",
            "    shm_size: 256m\n",
            "    tmpfs: [\"/run:size=64m,mode=1777,noexec\"]\n",
            "    ulimits:\n      nofile: { soft: 20000, hard: 40000 }\n      nproc: 65535\n",
            "    init: true\n",
            "    user: \"1000:1000\"\n",
            "    working_dir: /app\n",
            "    read_only: true\n",
            "    stop_grace_period: 45s\n",
            "    extra_hosts: [\"db.local=10.0.0.5\", \"cache:10.0.0.6\"]\n",
            "    dns: 10.0.0.2\n",
            "    dns_search: [corp.example]\n",
        ),
    ));
    let c = &td["containerDefinitions"][0];
    assert_eq!(c["privileged"], json!(true));
    assert_eq!(
        c["linuxParameters"],
        json!({
            "initProcessEnabled": true,
            "devices": [
                {"hostPath": "/dev/fuse", "containerPath": "/dev/fuse", "permissions": ["read", "write", "mknod"]},
                {"hostPath": "/dev/snd"},
            ],
            "sharedMemorySize": 256,
            "tmpfs": [{"containerPath": "/run", "size": 64, "mountOptions": ["mode=1777", "noexec"]}],
        }),
        "{c:#}"
    );
    assert_eq!(
        c["ulimits"],
        json!([
            {"name": "nofile", "softLimit": 20000, "hardLimit": 40000},
            {"name": "nproc", "softLimit": 65535, "hardLimit": 65535},
        ])
    );
    assert_eq!((&c["user"], &c["workingDirectory"], &c["readonlyRootFilesystem"]), (&json!("1000:1000"), &json!("/app"), &json!(true)));
    assert_eq!(c["stopTimeout"], json!(45));
    assert_eq!(c["extraHosts"], json!([{"hostname": "db.local", "ipAddress": "10.0.0.5"}, {"hostname": "cache", "ipAddress": "10.0.0.6"}]));
    assert_eq!((&c["dnsServers"], &c["dnsSearchDomains"]), (&json!(["10.0.0.2"]), &json!(["corp.example"])));
    assert_fits_ecs_model(&td);
}

#[test]
fn ec2_host_settings_apply_on_the_sim_and_replan_clean() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("compose.yaml"),
        spec(EC2, "    volumes: [\"/var/log/app:/logs\"]\n    sysctls: [net.core.somaxconn=1024]\n    cap_add: [NET_ADMIN]\n    ulimits: { nofile: 4096 }\n"),
    )
    .expect("write spec");
    let state = dir.path().join("sim.json").display().to_string();
    let berth = |args: &[&str]| {
        Berth::new(dir.path())
            .args(["--sim-state", state.as_str(), "--region", "eu-north-1", "--allow-mutable-tags"])
            .args(args.iter().copied())
            .run()
    };
    let out = berth(&["apply", "--yes"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let out = berth(&["plan"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("No changes."), "{}", out.stdout);
}

#[test]
fn fargate_refuses_the_keys_it_has_no_field_for_each_at_its_line() {
    let out = run(
        &spec(
            "",
            concat!(
                "    privileged: true\n",
                "    devices: [\"/dev/fuse\"]\n",
                "    shm_size: 256m\n",
                "    tmpfs: /run:size=64m\n",
                "    extra_hosts: [\"db.local=10.0.0.5\"]\n",
                "    dns: [10.0.0.2]\n",
                "    dns_search: [corp.example]\n",
            ),
        ),
        &["validate"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    for expected in [
        "error: compose.yaml:5:5: services.web.privileged: privileged containers are not available on Fargate",
        "error: compose.yaml:6:5: services.web.devices: linuxParameters.devices (devices) is not available on Fargate",
        "error: compose.yaml:7:5: services.web.shm_size: linuxParameters.sharedMemorySize (shm_size) is not available on Fargate",
        "error: compose.yaml:8:5: services.web.tmpfs: linuxParameters.tmpfs (tmpfs) is not available on Fargate",
        "error: compose.yaml:9:5: services.web.extra_hosts: extraHosts (extra_hosts) is not available on Fargate",
        "error: compose.yaml:10:5: services.web.dns: dnsServers (dns) is not available on Fargate",
        "error: compose.yaml:11:5: services.web.dns_search: dnsSearchDomains (dns_search) is not available on Fargate",
    ] {
        assert!(out.stderr.lines().any(|l| l == expected), "expected the line\n  {expected}\nin stderr:\n{}", out.stderr);
    }
    assert_eq!(out.stderr.matches("hint: ").count(), 7, "every error says what to do: {}", out.stderr);
    assert_eq!(
        out.stderr.matches("with `x-berth.network.mode: bridge` (or host)").count(),
        3,
        "extra_hosts and dns need the network mode too: {}",
        out.stderr
    );
}

#[test]
fn ec2_awsvpc_refuses_extra_hosts_and_dns() {
    let out = assert_error(
        &spec(EC2_AWSVPC, "    extra_hosts: { db.local: 10.0.0.5 }\n    dns: [10.0.0.2]\n"),
        "error: compose.yaml:7:5: services.web.extra_hosts: ECS does not support extraHosts (extra_hosts) for tasks in the awsvpc network mode (berth's default)",
    );
    assert!(
        out.stderr.contains("services.web.dns: ECS does not support dnsServers (dns) for tasks in the awsvpc network mode"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("hint: set `x-berth.network.mode: bridge` (or host) at the top level of the file"), "{}", out.stderr);
}

#[test]
fn a_tmpfs_mount_without_a_size_is_an_error() {
    assert_error(
        &spec(EC2, "    tmpfs: [/run]\n"),
        "error: compose.yaml:8:13: services.web.tmpfs[0]: ECS needs the size of the tmpfs mount at /run",
    );
}

#[test]
fn stop_signal_is_a_named_warning() {
    let out = run(&spec("", "    stop_signal: SIGQUIT\n"), &["validate"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("warning: compose.yaml:5:5: services.web.stop_signal: ignored on ECS"), "{}", out.stderr);
    assert!(out.stderr.contains("set STOPSIGNAL in the image"), "{}", out.stderr);
}

#[test]
fn hints_that_name_the_launch_type_say_it_is_the_apps_key() {
    // A service-level error whose fix is an app-level key.
    let out = assert_error(
        &spec("", "    deploy:\n      mode: global\n"),
        "error: compose.yaml:6:7: services.web.deploy.mode: global services (one task per instance) need EC2 instances",
    );
    assert!(
        out.stderr.contains("hint: remove the key, or set `x-berth.launch_type: ec2` at the top level of the file (the app's x-berth)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("hint: remove the key, or set x-berth.launch_type: ec2\n"), "{}", out.stderr);
}

// --------------------------------------------------------- the README table

const BEGIN: &str = "<!-- service-keys:begin (generated: BERTH_UPDATE_README=1 cargo test -p berth-tests --test ec2_fields) -->\n";
const END: &str = "<!-- service-keys:end -->";

#[test]
fn the_readme_table_of_service_keys_is_the_codes() {
    let path = repo_root().join("README.md");
    let readme = std::fs::read_to_string(&path).expect("README.md");
    let (Some(start), Some(end)) = (readme.find(BEGIN), readme.find(END)) else {
        panic!("README.md has no section between\n{BEGIN}and\n{END}")
    };
    let current = &readme[start + BEGIN.len()..end];
    let generated = service_keys::markdown();
    if current != generated {
        if std::env::var_os("BERTH_UPDATE_README").is_some() {
            let updated = format!("{}{generated}{}", &readme[..start + BEGIN.len()], &readme[end..]);
            std::fs::write(&path, updated).expect("write README.md");
            return;
        }
        panic!(
            "README.md's table of service keys is not berth_spec::service_keys::SERVICE_KEYS; regenerate it with\n  BERTH_UPDATE_README=1 cargo test -p berth-tests --test ec2_fields the_readme_table\n--- README\n{current}--- code\n{generated}"
        );
    }
}

#[test]
fn every_service_key_of_the_compose_schema_is_in_the_table() {
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(repo_root().join("tests/schema/compose-spec.json")).expect("schema"))
        .expect("schema JSON");
    let keys: Vec<&str> =
        schema["definitions"]["service"]["properties"].as_object().expect("service properties").keys().map(String::as_str).collect();
    assert!(keys.len() > 80, "{} keys", keys.len());
    let missing: Vec<&&str> = keys.iter().filter(|k| service_keys::get(k).is_none()).collect();
    assert!(missing.is_empty(), "Compose service keys missing from berth_spec::service_keys::SERVICE_KEYS: {missing:?}");
    let extra: Vec<&str> = SERVICE_KEYS.iter().map(|k| k.key).filter(|k| !keys.contains(k)).collect();
    assert!(extra.is_empty(), "keys in the table that the Compose schema does not define: {extra:?}");
}

/// What one key's example did: an error at the key, an "ignored on ECS"
/// warning at it, or neither (advice, like an unrouted port's, may remain).
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Outcome {
    Clean,
    Ignored,
    Error,
}

/// A spec whose service `web` sets `key: example`, with what the examples
/// refer to (a service `db`, a secret, a config, a volume on EFS).
fn example_spec(head: &str, key: &str, example: &str) -> String {
    format!(
        "name: app\n{head}services:\n  db:\n    image: postgres\n  web:\n    image: nginx\n    {key}: {example}\nsecrets:\n  token: {{ external: true, name: \"arn:aws:secretsmanager:eu-west-1:123456789012:secret:token\" }}\nconfigs:\n  site: {{ content: hello }}\nvolumes:\n  data: {{ x-berth: {{ efs: fs-0123 }} }}\n"
    )
}

fn outcome(yaml: &str, key: &str) -> (Outcome, String) {
    let out = run(yaml, &["--var", "TAG=abc1234", "--compose-profile", "web", "validate"]);
    // `error: compose.yaml:7:5: services.web.cap_add[0]: ...`: the key, or one inside it.
    let path = format!("services.web.{key}");
    let at_key = |k: &str| k.strip_prefix(path.as_str()).is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']));
    let lines: Vec<&str> = out.stderr.lines().filter(|l| l.split(": ").nth(2).is_some_and(at_key)).collect();
    let o = if lines.iter().any(|l| l.starts_with("error: ")) {
        Outcome::Error
    } else if lines.iter().any(|l| l.starts_with("warning: ") && l.contains(": ignored on ECS")) {
        Outcome::Ignored
    } else {
        Outcome::Clean
    };
    (o, out.stderr)
}

#[test]
fn each_key_does_what_the_table_says() {
    let mut wrong = Vec::new();
    for k in SERVICE_KEYS {
        let want = match k.behaviour {
            Behaviour::Mapped => (Outcome::Clean, Outcome::Clean),
            Behaviour::Ec2Only => (Outcome::Error, Outcome::Clean),
            Behaviour::Ec2Warned => (Outcome::Error, Outcome::Ignored),
            Behaviour::Warned => (Outcome::Ignored, Outcome::Ignored),
        };
        let (fargate, f_err) = outcome(&example_spec("", k.key, k.example), k.key);
        let (ec2, e_err) = outcome(&example_spec(EC2, k.key, k.example), k.key);
        if (fargate, ec2) != want {
            wrong.push(format!(
                "{}: {} ({want:?}), but Fargate gave {fargate:?} and EC2 {ec2:?}\n--- Fargate\n{f_err}--- EC2\n{e_err}",
                k.key,
                k.behaviour.label()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

// --------------------------------------------------------------- on moto

/// Over the wire: RegisterTaskDefinition carries the EC2 fields, and
/// DescribeTaskDefinition reads them back as berth sent them (SDK, not berth).
#[test]
fn moto_ec2_fields_round_trip() {
    let Some(moto) = berth_tests::moto::moto() else { return };
    let region = "ap-northeast-2";
    let net = moto.network(region);
    let dir = tempfile::tempdir().expect("tempdir");
    let head = format!("x-berth:\n  launch_type: ec2\n  network: {{ mode: bridge, vpc_id: {} }}\n", net.vpc);
    let body = "    volumes: [\"/var/log/app:/logs\"]\n    sysctls: [net.core.somaxconn=1024]\n    cap_add: [NET_ADMIN]\n    ulimits: { nofile: 4096 }\n    extra_hosts: [\"db.local=10.0.0.5\"]\n";
    std::fs::write(dir.path().join("compose.yaml"), spec(&head, body).replace("name: app", "name: hosted")).expect("write spec");
    let berth = || {
        Berth::new(dir.path())
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("BERTH_AWS_MAX_ATTEMPTS", "1")
            .args(["--backend", "aws", "--endpoint-url", &moto.endpoint, "--region", region, "--allow-mutable-tags"])
    };
    let out = berth().args(["apply", "--yes", "--wait", "none"]).run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    berth_tests::moto::block_on(async {
        let sdk = moto.sdk(region).await;
        let out = sdk.ecs.describe_task_definition().task_definition("hosted-web").send().await.expect("describe task definition");
        let td = out.task_definition().expect("the task definition");
        let volume = td.volumes().first().expect("a volume");
        assert_eq!(volume.host().and_then(|h| h.source_path()), Some("/var/log/app"));
        let c = td.container_definitions().first().expect("a container");
        let sysctls: Vec<(Option<&str>, Option<&str>)> = c.system_controls().iter().map(|s| (s.namespace(), s.value())).collect();
        assert_eq!(sysctls, [(Some("net.core.somaxconn"), Some("1024"))]);
        let add = c.linux_parameters().and_then(|l| l.capabilities()).map(|k| k.add().to_vec());
        assert_eq!(add, Some(vec!["NET_ADMIN".to_string()]));
        let ulimits: Vec<(&str, i32, i32)> = c.ulimits().iter().map(|u| (u.name().as_str(), u.soft_limit(), u.hard_limit())).collect();
        assert_eq!(ulimits, [("nofile", 4096, 4096)]);
        let hosts: Vec<(&str, &str)> = c.extra_hosts().iter().map(|h| (h.hostname(), h.ip_address())).collect();
        assert_eq!(hosts, [("db.local", "10.0.0.5")]);
    });
    let again = berth().args(["plan", "--format", "json"]).run();
    assert_eq!(again.code, 0, "{}", again.stderr);
    let changes = berth_tests::plan_changes(&berth_tests::plan_json(&again));
    assert!(!changes.iter().any(|c| c.0 == "taskdef.web"), "the task definition re-plans clean: {changes:?}");
}
