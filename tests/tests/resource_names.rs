//! `x-berth.names`: live names other than berth's `<app>-<service>` for a
//! service, its task definition family and its target group (resources
//! made before berth, which `berth import` reads back).

use berth_tests::{ok, Berth, SimAccount};

const LISTENER: &str = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:listener/app/shared/50dc6c495c0c9188/f2f7dc8efc522ab2";

fn spec(names: &str, strategy: &str) -> String {
    format!(
        "name: legacy
x-berth:
  network: {{ vpc_id: vpc-0abc, subnets: [subnet-a] }}
  load_balancer: {{ listener: {LISTENER} }}
services:
  orders:
    image: nginx:1.27
    ports: [\"80\"]
    x-berth:
      route: {{ paths: [\"/orders/*\"] }}
      names: {names}
      {strategy}
  worker:
    image: busybox:1.37
    command: [sleep, infinity]
"
    )
}

#[test]
fn a_service_with_names_is_created_under_them_and_its_neighbours_keep_berths() {
    let account = SimAccount::new();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("compose.yaml"), spec("{ service: orders-svc, family: orders-td, target_group: orders-tg }", ""))
        .expect("write");
    ok(&account.berth_in(dir.path()).args(["apply", "--yes"]).run());
    let (services, families, tgs) = account.read(|s| {
        (
            s.services.keys().cloned().collect::<Vec<_>>(),
            s.task_definitions.keys().cloned().collect::<Vec<_>>(),
            s.target_groups.values().map(|t| t.spec.name.clone()).collect::<Vec<_>>(),
        )
    });
    assert_eq!(services, ["legacy-worker", "orders-svc"]);
    assert_eq!(families, ["legacy-worker", "orders-td"]);
    assert_eq!(tgs, ["orders-tg"]);
    let task_definition = account.read(|s| s.services["orders-svc"].spec.task_definition.clone());
    assert!(task_definition.contains("orders-td:1"), "{task_definition}");
    let out = account.berth_in(dir.path()).args(["plan"]).run();
    ok(&out);
    assert!(out.stdout.starts_with("No changes."), "{}", out.stdout);
}

#[test]
fn a_blue_green_service_with_names_adds_its_colors_to_them() {
    let account = SimAccount::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let bg = "strategy: { blue_green: { traffic: all_at_once } }";
    std::fs::write(dir.path().join("compose.yaml"), spec("{ service: orders-svc, target_group: orders-tg }", bg)).expect("write");
    ok(&account.berth_in(dir.path()).args(["apply", "--yes"]).run());
    let (services, mut tgs) = account.read(|s| {
        (s.services.keys().cloned().collect::<Vec<_>>(), s.target_groups.values().map(|t| t.spec.name.clone()).collect::<Vec<_>>())
    });
    tgs.sort();
    assert_eq!(services, ["legacy-worker", "orders-svc-blue"]);
    assert_eq!(tgs, ["orders-tg-blue", "orders-tg-green"]);
    // A new image goes to the green color, under the same names.
    let text = std::fs::read_to_string(dir.path().join("compose.yaml")).expect("read").replace("nginx:1.27", "nginx:1.28");
    std::fs::write(dir.path().join("compose.yaml"), text).expect("write");
    ok(&account.berth_in(dir.path()).args(["apply", "--yes"]).run());
    assert!(account.read(|s| s.services.contains_key("orders-svc-green")), "deployed to orders-svc-green");
}

fn invalid(names: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("compose.yaml"), spec(names, "")).expect("write");
    let out = Berth::new(dir.path()).args(["validate"]).run();
    assert_eq!(out.code, 1, "expected an invalid spec:\n{}", out.stderr);
    out.stderr
}

#[test]
fn names_aws_would_refuse_are_errors_naming_the_key() {
    let err = invalid("{ target_group: orders-target-group-of-the-shop }");
    assert!(
        err.contains("compose.yaml:11:16: services.orders.x-berth.names.target_group: target group name \"orders-target-group-of-the-shop\" is 31 characters; berth allows 29"),
        "{err}"
    );
    let err = invalid("{ service: orders.svc }");
    assert!(
        err.contains("services.orders.x-berth.names.service: service name \"orders.svc\" may only hold letters, digits, - and _"),
        "{err}"
    );
    let err = invalid("{ family: \"\" }");
    assert!(err.contains("services.orders.x-berth.names.family: task definition family name \"\" is 0 characters"), "{err}");
    let err = invalid("{ target_group: -orders }");
    assert!(err.contains("may not begin or end with a hyphen"), "{err}");
    // Another service's name, taken twice.
    let err = invalid("{ service: legacy-worker }");
    assert!(err.contains("services.orders.x-berth.names.service: orders and worker would both be named \"legacy-worker\""), "{err}");
}

#[test]
fn a_target_group_name_on_a_service_without_a_route_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("compose.yaml"),
        "name: legacy\nservices:\n  worker:\n    image: busybox\n    x-berth:\n      names: { target_group: worker-tg }\n",
    )
    .expect("write");
    let out = Berth::new(dir.path()).args(["validate"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("services.worker.x-berth.names.target_group: a target group name is given, but the service has no route"),
        "{}",
        out.stderr
    );
}

fn validate_service(x_berth: &str, top: &str) -> berth_tests::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!("name: legacy\n{top}services:\n  api:\n    image: busybox\n    expose: [\"9000\"]\n    x-berth: {x_berth}\n"),
    )
    .expect("write");
    Berth::new(dir.path()).args(["validate"]).run()
}

#[test]
fn the_tag_settings_of_a_service_made_before_berth_are_keys_and_checked() {
    let out = validate_service("{ propagate_tags: task_definition, ecs_managed_tags: false }", "");
    ok(&out);
    let out = validate_service("{ propagate_tags: tasks }", "");
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("services.api.x-berth.propagate_tags: \"tasks\" is not a way ECS propagates tags"), "{}", out.stderr);
    assert!(out.stderr.contains("hint: use SERVICE (the service's tags), TASK_DEFINITION or NONE"), "{}", out.stderr);
}

#[test]
fn unnamed_ports_are_refused_where_service_connect_needs_the_names() {
    ok(&validate_service("{ unnamed_ports: true }", ""));
    let connect = "x-berth:\n  network: { vpc_id: vpc-1, subnets: [subnet-a] }\n  discovery: connect\n";
    let out = validate_service("{ unnamed_ports: true, discovery: true }", connect);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "services.api.x-berth.unnamed_ports: Service Connect reaches a service by its port's name, and this service's ports are unnamed"
        ),
        "{}",
        out.stderr
    );
}

/// What `berth render` gives for the resources of the Compose file `yaml`, by address.
fn rendered(yaml: &str) -> impl Fn(&str) -> serde_json::Value {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("compose.yaml"), yaml).expect("write");
    let out = Berth::new(dir.path()).args(["render"]).run();
    ok(&out);
    let rendered: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    move |address: &str| {
        let resource = rendered["resources"].as_array().expect("resources").iter().find(|r| r["address"] == address);
        resource.unwrap_or_else(|| panic!("{address} in {rendered}"))["spec"].clone()
    }
}

#[test]
fn unnamed_ports_leave_the_port_mappings_without_a_name() {
    let spec = rendered(
        "name: legacy\nservices:\n  api:\n    image: busybox\n    expose: [\"9000\"]\n    x-berth: { unnamed_ports: true }\n  cache:\n    image: redis\n    expose: [\"6379\"]\n",
    );
    let ports = |address: &str| spec(address)["containerDefinitions"][0]["portMappings"][0]["name"].clone();
    assert_eq!(ports("taskdef.api"), "", "unnamed");
    assert_eq!(ports("taskdef.cache"), "cache-6379", "berth's name");
}

#[test]
fn a_renamed_service_of_an_inactive_profile_is_left_alone_and_logs_know_it() {
    let account = SimAccount::new();
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("compose.yaml"),
        "name: legacy
x-berth:
  network: { subnets: [subnet-a] }
services:
  web:
    image: nginx:1.27
  orders:
    image: busybox:1.37
    command: [sleep, infinity]
    profiles: [batch]
    x-berth:
      names: { service: orders-svc, family: orders-td }
",
    )
    .expect("write");
    ok(&account.berth_in(dir.path()).args(["--compose-profile", "batch", "apply", "--yes"]).run());
    let out = account.berth_in(dir.path()).args(["--compose-profile", "batch", "logs", "orders"]).run();
    ok(&out);
    assert!(!out.stderr.contains("no service"), "{}", out.stderr);
    // Without the profile, nothing of orders is deleted.
    let out = account.berth_in(dir.path()).args(["plan", "--format", "json"]).run();
    ok(&out);
    let changes = berth_tests::plan_changes(&berth_tests::plan_json(&out));
    assert!(changes.is_empty(), "left alone: {changes:?}");
    assert!(account.read(|s| s.services.contains_key("orders-svc")));
}

#[test]
fn a_name_that_is_a_blue_green_services_color_is_taken() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("compose.yaml"),
        format!(
            "name: legacy
x-berth:
  network: {{ vpc_id: vpc-0abc, subnets: [subnet-a] }}
  load_balancer: {{ listener: {LISTENER} }}
services:
  orders:
    image: nginx:1.27
    ports: [\"80\"]
    x-berth:
      route: {{ paths: [\"/orders/*\"] }}
      strategy: {{ blue_green: {{ traffic: all_at_once }} }}
  api:
    image: busybox:1.37
    x-berth: {{ names: {{ service: legacy-orders-green }} }}
"
        ),
    )
    .expect("write");
    let out = Berth::new(dir.path()).args(["validate"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("services.api.x-berth.names.service: api and orders would both be named \"legacy-orders-green\""),
        "{}",
        out.stderr
    );
}

#[test]
fn a_renamed_services_scaling_policies_are_named_after_the_service() {
    // berth-aws knows its own policies by the service's name as prefix.
    let target = rendered(
        "name: legacy\nx-berth:\n  network: { subnets: [subnet-a] }\nservices:\n  orders:\n    image: busybox\n    x-berth:\n      names: { service: orders-svc, family: orders-td }\n      autoscaling: { min: 1, max: 4, cpu: 60%, schedule: [{ name: night, cron: \"0 22 * * ? *\", min: 1, max: 1 }] }\n",
    )("scaling.orders");
    assert_eq!(target["resourceId"], "service/legacy/orders-svc");
    assert_eq!(target["scalingPolicies"][0]["policyName"], "orders-svc-cpu");
    assert_eq!(target["scheduledActions"][0]["scheduledActionName"], "orders-svc-night");
}
