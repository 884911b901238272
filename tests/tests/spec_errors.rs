//! Bad input: each case gives an error naming `file:line:col`, the key, and
//! what is wrong. One test per case, asserting the message.

use berth_tests::{Berth, Output};

fn validate(yaml: &str) -> Output {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("compose.yaml"), yaml).expect("write spec");
    let out = Berth::new(dir.path()).args(["validate"]).run();
    assert_eq!(out.code, 1, "expected an invalid spec:\n{}", out.stderr);
    out
}

fn assert_error(out: &Output, expected: &str) {
    assert!(out.stderr.lines().any(|l| l == expected), "expected the line\n  {expected}\nin stderr:\n{}", out.stderr);
}

#[test]
fn malformed_yaml() {
    let out = validate("name: app\nservices:\n  web:\n    image: nginx\n    ports: [\"80\"\n");
    assert!(out.stderr.starts_with("error: compose.yaml:6:1: invalid YAML:"), "{}", out.stderr);
}

#[test]
fn malformed_yaml_bad_indentation() {
    let out = validate("name: app\nservices:\n  web:\n    image: nginx\n   ports: [\"80\"]\n");
    assert!(out.stderr.starts_with("error: compose.yaml:5:"), "{}", out.stderr);
    assert!(out.stderr.contains("invalid YAML"), "{}", out.stderr);
}

#[test]
fn duplicate_key() {
    let out = validate("name: app\nservices:\n  web:\n    image: nginx\n    image: httpd\n");
    assert_error(&out, "error: compose.yaml:5:5: image: duplicate key in the same mapping");
}

#[test]
fn wrong_type_replicas_four() {
    let out = validate("name: app\nservices:\n  web:\n    image: nginx\n    deploy:\n      replicas: four\n");
    assert_error(&out, "error: compose.yaml:6:7: services.web.deploy.replicas: invalid type: string \"four\", expected a whole number");
}

#[test]
fn wrong_type_ports_mapping() {
    let out = validate("name: app\nservices:\n  web:\n    image: nginx\n    ports: {http: 80}\n");
    assert_error(&out, "error: compose.yaml:5:5: services.web.ports: invalid type: map, expected a list");
}

#[test]
fn unknown_depends_on_target() {
    let out = validate("name: app\nservices:\n  web:\n    image: nginx\n    depends_on: [db]\n");
    assert_error(&out, "error: compose.yaml:5:18: services.web.depends_on.db: depends on unknown service \"db\"");
    assert!(out.stderr.contains("hint: known services: web"), "{}", out.stderr);
}

#[test]
fn unknown_depends_on_target_long_form() {
    let out =
        validate("name: app\nservices:\n  web:\n    image: nginx\n    depends_on:\n      cache:\n        condition: service_started\n");
    assert_error(&out, "error: compose.yaml:6:7: services.web.depends_on.cache: depends on unknown service \"cache\"");
}

#[test]
fn dependency_cycle() {
    let out = validate(
        "name: app\nservices:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [c]\n  c:\n    image: x\n    depends_on: [a]\n",
    );
    assert_error(&out, "error: compose.yaml:5:5: services.a.depends_on: dependency cycle: a -> b -> c -> a");
}

#[test]
fn duplicate_container_ports_in_a_task() {
    let out = validate(
        "name: app\nservices:\n  web:\n    image: nginx\n    ports: [\"80\"]\n  proxy:\n    image: envoy\n    ports: [\"8080:80\"]\n    x-berth: { task: web }\n",
    );
    assert_error(&out, "error: compose.yaml:8:5: services.proxy.ports: container port 80/tcp is used twice in one task");
}

#[test]
fn duplicate_ports_in_one_service() {
    let out = validate("name: app\nservices:\n  web:\n    image: nginx\n    ports: [\"80\", \"8080:80\"]\n");
    assert_error(&out, "error: compose.yaml:5:5: services.web.ports: container port 80/tcp is used twice in one task");
}

#[test]
fn more_than_ten_containers() {
    let mut yaml = String::from("name: app\nservices:\n  main:\n    image: app\n");
    for i in 0..10 {
        yaml.push_str(&format!("  side{i}:\n    image: sidecar\n    x-berth: {{ task: main }}\n"));
    }
    let out = validate(&yaml);
    assert_error(&out, "error: compose.yaml:3:3: services.main: the task of main has 11 containers; ECS allows at most 10 per task");
}

/// A UDP port alone is a warning (nlb.rs); routed, it needs an NLB.
#[test]
fn udp_route_needs_an_nlb() {
    let out = validate(
        "name: app\nservices:\n  dns:\n    image: coredns\n    ports: [\"53:53/udp\"]\n    x-berth: { route: { protocol: udp } }\n",
    );
    assert_error(
        &out,
        "error: compose.yaml:6:16: services.dns.x-berth.route: a udp route needs a network load balancer, and the app has no load balancer",
    );
    assert!(out.stderr.contains("hint: set `x-berth.load_balancer.create: { type: network, subnets: [...] }`"), "{}", out.stderr);
}

#[test]
fn bind_mount_on_fargate() {
    let out = validate("name: app\nservices:\n  web:\n    image: nginx\n    volumes:\n      - ./conf:/etc/nginx/conf.d\n");
    assert_error(&out, "error: compose.yaml:6:9: services.web.volumes[0]: bind mount of \"./conf\": host paths do not exist on Fargate");
}

#[test]
fn file_secret() {
    let out = validate("name: app\nservices:\n  web:\n    image: nginx\n    secrets: [pw]\nsecrets:\n  pw:\n    file: ./pw.txt\n");
    assert_error(&out, "error: compose.yaml:8:5: secrets.pw.file: file secrets cannot be used on ECS: berth does not upload secret values");
    assert!(out.stderr.contains("`x-berth: { secrets: { pw: <secret ARN> } }`"), "{}", out.stderr);
}

#[test]
fn above_the_largest_fargate_size() {
    let out = validate(
        "name: app\nservices:\n  big:\n    image: x\n    deploy:\n      resources:\n        limits: { cpus: \"17\", memory: 8G }\n",
    );
    assert_error(
        &out,
        "error: compose.yaml:6:7: services.big.deploy.resources: the task needs 17 vCPU and 8 GiB, above the largest Fargate size (16 vCPU, 120 GiB)",
    );
    let out = validate(
        "name: app\nservices:\n  big:\n    image: x\n    deploy:\n      resources:\n        limits: { cpus: \"16\", memory: 121G }\n",
    );
    assert!(out.stderr.contains("services.big.deploy.resources: the task needs 16 vCPU and 121 GiB"), "{}", out.stderr);
}

#[test]
fn network_mode_host_on_fargate() {
    let out = validate("name: app\nservices:\n  web:\n    image: nginx\n    network_mode: host\n");
    assert!(
        out.stderr.contains("error: compose.yaml:5:5: services.web.network_mode: network_mode \"host\" is not available on Fargate"),
        "{}",
        out.stderr
    );
}

#[test]
fn target_group_name_too_long() {
    let out = validate(
        "name: a-very-long-application-name\nx-berth:\n  load_balancer: { listener: arn:l }\nservices:\n  frontend:\n    image: nginx\n    ports: [\"80\"]\n    x-berth:\n      route: { paths: [\"/*\"] }\n",
    );
    assert_error(
        &out,
        "error: compose.yaml:9:7: services.frontend.x-berth.route: target group name \"a-very-long-application-name-frontend\" is 37 characters; berth allows 29 (AWS's 32, less the `-r1` of a replacement)",
    );
}

#[test]
fn invalid_app_name() {
    let out = validate("name: My_App\nservices:\n  web:\n    image: nginx\n");
    assert_error(&out, "error: compose.yaml:1:1: name: app name \"My_App\" cannot prefix AWS resource names");
}

#[test]
fn required_variable_message() {
    let out = validate("name: app\nservices:\n  web:\n    image: nginx:${TAG:?set TAG to the release}\n");
    assert_error(&out, "error: compose.yaml:4:12: services.web.image: required variable TAG is not set: set TAG to the release");
}

#[test]
fn empty_file() {
    let out = validate("");
    assert!(out.stderr.starts_with("error: compose.yaml:1:1: the file is empty"), "{}", out.stderr);
}

#[test]
fn no_image_no_build() {
    let out = validate("name: app\nservices:\n  web:\n    ports: [\"80\"]\n");
    assert_error(&out, "error: compose.yaml:3:3: services.web: needs `image` or `build`");
}

#[test]
fn lifecycle_any_rule_not_last() {
    let out = validate(
        "name: app\nx-berth:\n  registry:\n    lifecycle:\n      - { tag_status: any, keep_last: 30 }\n      - { tag_status: untagged, expire_after_days: 14 }\nservices:\n  web:\n    image: nginx\n",
    );
    assert_error(&out, "error: compose.yaml:5:9: x-berth.registry.lifecycle[0]: a tag_status: any rule must be the last rule");
}

#[test]
fn unknown_keys_and_ignored_keys_are_warnings() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("compose.yaml"),
        "name: app\nservices:\n  web:\n    image: nginx\n    restart: always\n    container_name: w\n    imagee: typo\n    x-custom: fine\nx-anchors: &a {}\n",
    )
    .expect("write");
    let out = Berth::new(dir.path()).args(["validate"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expected = [
        "warning: compose.yaml:5:5: services.web.restart: ignored on ECS",
        "warning: compose.yaml:6:5: services.web.container_name: ignored on ECS",
        "warning: compose.yaml:7:5: services.web.imagee: unknown key; berth ignores it",
    ];
    for e in expected {
        assert!(out.stderr.lines().any(|l| l == e), "missing {e:?} in:\n{}", out.stderr);
    }
    assert!(!out.stderr.contains("x-custom") && !out.stderr.contains("x-anchors"), "{}", out.stderr);
}

#[test]
fn a_misspelt_key_under_x_berth_is_named_with_its_line() {
    // Other tools' x- extensions stay theirs; x-berth is berth's own.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("compose.yaml"),
        "name: app\nx-berth:\n  regoin: eu-west-1\nx-other: { anything: 1 }\nservices:\n  web:\n    image: nginx\n    x-berth:\n      secrets_env: true\n    x-tool: { whatever: 2 }\n",
    )
    .expect("write spec");
    let out = Berth::new(dir.path()).args(["validate"]).run();
    assert_eq!(out.code, 0, "warnings only:\n{}", out.stderr);
    assert!(out.stderr.contains("warning: compose.yaml:3:3: x-berth.regoin: unknown key; berth ignores it"), "{}", out.stderr);
    assert!(
        out.stderr.contains("warning: compose.yaml:9:7: services.web.x-berth.secrets_env: unknown key; berth ignores it"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("anything") && !out.stderr.contains("whatever"), "{}", out.stderr);
    // The closest known key at that place, from the schema.
    assert!(out.stderr.contains("hint: did you mean `region`? (see `berth schema`)"), "{}", out.stderr);
    assert!(out.stderr.contains("hint: did you mean `secret_env`? (see `berth schema`)"), "{}", out.stderr);
}

#[test]
fn an_unknown_key_is_told_the_closest_known_one_at_its_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("compose.yaml"),
        "name: app\nservices:\n  web:\n    image: nginx\n    ports: [\"80\"]\n    helthcheck: { test: [CMD, true] }\n    x-berth:\n      route: { pahts: [\"/x\"] }\n      frobnicate: 1\n",
    )
    .expect("write spec");
    let out = Berth::new(dir.path()).args(["validate"]).run();
    for (key, hint) in [
        ("services.web.helthcheck", "did you mean `healthcheck`?"),
        ("services.web.x-berth.route.pahts", "did you mean `paths`?"),
        ("services.web.x-berth.frobnicate", "check the spelling against `berth schema`"),
    ] {
        let at = out.stderr.find(&format!("{key}: unknown key")).unwrap_or_else(|| panic!("{key} in:\n{}", out.stderr));
        let next = &out.stderr[at..];
        let hint_line = next.lines().nth(1).unwrap_or_default();
        assert!(hint_line.contains(hint), "{key}: {hint_line:?} in:\n{}", out.stderr);
    }
}
