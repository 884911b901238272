//! Routing and discovery on the sim: listener rules, target group
//! replacement, delete order, Cloud Map and Service Connect.

use berth_tests::{ok, plan_changes, plan_json, repo_root, shared_dir, started_changes as started, Berth, Output, SimAccount};

/// `(address, action, changed paths)` of a successful JSON plan.
fn changes(out: &Output) -> Vec<(String, String, Vec<String>)> {
    ok(out);
    plan_changes(&plan_json(out))
}

/// A sim account plus a spec file in a temporary directory that tests rewrite.
struct App {
    account: SimAccount,
}

const LISTENER: &str = "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:listener/app/shared/50dc6c495c0c9188/f2f7dc8efc522ab2";

impl App {
    fn new() -> Self {
        App { account: SimAccount::new() }
    }

    /// Writes the spec: `front` routed on `port` at `paths`, `back`
    /// discoverable through Cloud Map, and `admin` (routed) when asked.
    fn write(&self, port: u16, paths: &str, with_admin: bool, with_back: bool) {
        let mut yaml = format!(
            "name: routes\n\
             x-berth:\n  region: ap-northeast-2\n\
             \x20 network: {{ vpc_id: vpc-0r, subnets: [subnet-0a], security_groups: [sg-0r] }}\n\
             \x20 load_balancer: {{ listener: \"{LISTENER}\", priority_range: [200, 299] }}\n\
             \x20 discovery: {{ namespace: routes.local }}\n\
             services:\n\
             \x20 front:\n    image: nginx:1.27\n    ports: [\"{port}\"]\n\
             \x20   x-berth: {{ route: {{ paths: {paths}, health_path: / }} }}\n"
        );
        if with_back {
            yaml.push_str("  back:\n    image: redis:7\n    expose: [\"6379\"]\n    x-berth: { discovery: true }\n");
        }
        if with_admin {
            yaml.push_str("  admin:\n    image: nginx:1.27\n    ports: [\"8081\"]\n    x-berth: { route: { paths: [\"/admin/*\"] } }\n");
        }
        std::fs::write(self.spec(), yaml).expect("write spec");
    }

    fn spec(&self) -> std::path::PathBuf {
        self.account.dir().join("compose.yaml")
    }

    fn berth(&self) -> Berth {
        Berth::new(repo_root()).args([
            "--sim-state".to_string(),
            self.account.state_path().display().to_string(),
            "-f".into(),
            self.spec().display().to_string(),
        ])
    }

    fn apply(&self) -> Output {
        let out = self.berth().args(["apply", "--yes"]).run();
        ok(&out);
        let again = self.berth().args(["plan", "--detailed-exitcode"]).run();
        assert_eq!(again.code, 0, "re-plan after apply must be empty:\n{}\n{}", again.stdout, again.stderr);
        out
    }

    /// `(priority, path patterns, forwarded target group names)` of every rule.
    fn rules(&self) -> Vec<(u32, Vec<String>, Vec<String>)> {
        self.account.read(|s| {
            let mut out: Vec<_> = s
                .listeners
                .values()
                .flat_map(|l| &l.rules)
                .map(|r| {
                    let paths = r.spec.conditions.iter().filter(|c| c.field == "path-pattern").flat_map(|c| c.values.clone()).collect();
                    let tgs = r
                        .spec
                        .actions
                        .iter()
                        .flat_map(|a| &a.forward_config.target_groups)
                        .map(|t| {
                            s.target_groups.get(&t.target_group_arn).map(|g| g.spec.name.clone()).unwrap_or_else(|| "<deleted>".into())
                        })
                        .collect();
                    (r.priority, paths, tgs)
                })
                .collect();
            out.sort();
            out
        })
    }
}

#[test]
fn rules_get_priorities_from_the_range_and_keep_them() {
    let app = App::new();
    app.write(80, r#"["/*"]"#, true, true);
    app.apply();
    let rules = app.rules();
    assert_eq!(
        rules,
        vec![
            (200, vec!["/admin/*".to_string()], vec!["routes-admin".to_string()]),
            (201, vec!["/*".to_string()], vec!["routes-front".to_string()]),
        ],
        "the more specific path gets the lower priority, both from the range"
    );
    // Removing `admin` frees 200, but `front` keeps 201: no churn.
    app.write(80, r#"["/*"]"#, false, true);
    app.apply();
    assert_eq!(app.rules(), vec![(201, vec!["/*".to_string()], vec!["routes-front".to_string()])]);
}

#[test]
fn moving_a_route_to_another_path_is_one_rule_update() {
    let app = App::new();
    app.write(80, r#"["/*"]"#, false, true);
    app.apply();
    app.write(80, r#"["/v2/*"]"#, false, true);
    let plan = changes(&app.berth().args(["plan", "--format", "json"]).run());
    assert_eq!(plan, vec![("rule.front/0".to_string(), "update".to_string(), vec!["conditions".to_string()])]);
    app.apply();
    assert_eq!(app.rules(), vec![(200, vec!["/v2/*".to_string()], vec!["routes-front".to_string()])]);
}

#[test]
fn a_target_group_port_change_is_create_before_delete_with_the_rule_moved_first() {
    let app = App::new();
    app.write(80, r#"["/*"]"#, false, false);
    app.apply();
    app.write(8080, r#"["/*"]"#, false, false);
    let plan = changes(&app.berth().args(["plan", "--format", "json"]).run());
    let actions: Vec<(&str, &str)> = plan.iter().map(|(a, v, _)| (a.as_str(), v.as_str())).collect();
    assert_eq!(
        actions,
        vec![
            ("taskdef.front", "update"),
            ("tg.front", "replace"),
            ("rule.front/0", "update"),
            ("service.front", "update"),
            ("tg.front~old", "delete"),
        ]
    );
    let out = app.apply();
    // The sim, like ELB, refuses to delete a target group a rule still
    // forwards to, so a successful apply already shows the rule had moved;
    // the event order shows it step by step.
    let order = started(&out);
    let pos = |address: &str| order.iter().position(|(a, _)| a == address).unwrap_or_else(|| panic!("{address} in {order:?}"));
    assert!(pos("tg.front") < pos("rule.front/0"), "{order:?}");
    assert!(pos("rule.front/0") < pos("tg.front~old"), "{order:?}");
    assert!(pos("service.front") < pos("tg.front~old"), "{order:?}");
    assert_eq!(app.rules(), vec![(200, vec!["/*".to_string()], vec!["routes-front-r1".to_string()])]);
    app.account.read(|s| {
        let tgs: Vec<(String, u16)> = s.target_groups.values().map(|t| (t.spec.name.clone(), t.spec.port)).collect();
        assert_eq!(tgs, vec![("routes-front-r1".to_string(), 8080)], "the old target group is gone");
    });
    // A second port change alternates back to the base name.
    app.write(8081, r#"["/*"]"#, false, false);
    app.apply();
    assert_eq!(app.rules(), vec![(200, vec!["/*".to_string()], vec!["routes-front".to_string()])]);
}

#[test]
fn removing_a_routed_service_deletes_rule_then_target_group_then_service() {
    // `admin` is routed and (with a namespace, by default) discoverable.
    let app = App::new();
    app.write(80, r#"["/*"]"#, true, true);
    app.apply();
    app.write(80, r#"["/*"]"#, false, true);
    let out = app.apply();
    assert_eq!(
        started(&out),
        vec![
            ("rule.admin/0".to_string(), "delete".to_string()),
            ("tg.admin".to_string(), "delete".to_string()),
            ("service.admin".to_string(), "delete".to_string()),
            ("cloudmap.admin".to_string(), "delete".to_string()),
            ("taskdef.admin".to_string(), "delete".to_string()),
        ]
    );
}

#[test]
fn removing_a_discoverable_service_deletes_its_cloud_map_service_after_the_ecs_service() {
    let app = App::new();
    app.write(80, r#"["/*"]"#, false, true);
    app.apply();
    // A records for awsvpc and SRV with the exposed port, wired into the
    // ECS service's serviceRegistries.
    app.account.read(|s| {
        let cm = s.cloud_map_services.values().find(|c| c.spec.name == "back").expect("cloud map service back");
        let records: Vec<&str> = cm.spec.dns_config.dns_records.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(records, vec!["A", "SRV"]);
        let svc = s.services.values().find(|v| v.spec.service_name == "routes-back").expect("service routes-back");
        assert_eq!(svc.spec.service_registries.len(), 1);
        assert_eq!(svc.spec.service_registries[0].registry_arn, cm.arn);
        assert_eq!(svc.spec.service_registries[0].container_port, Some(6379));
    });
    app.write(80, r#"["/*"]"#, false, false);
    let out = app.apply();
    let order: Vec<String> = started(&out).into_iter().map(|(a, _)| a).collect();
    assert_eq!(order, vec!["service.back", "cloudmap.back", "taskdef.back"]);
    app.account.read(|s| assert!(s.cloud_map_services.values().all(|c| c.spec.name != "back")));
}

#[test]
fn a_priority_held_by_another_owner_is_never_taken() {
    let app = App::new();
    app.write(80, r#"["/*"]"#, false, false);
    app.apply();
    // Another team's rule sits at 200 on the shared listener; berth's rule
    // already there moves nowhere, and a new rule skips the taken priority.
    app.account.edit(|s| {
        let listener = s.listeners.values_mut().next().expect("listener");
        let mut other = listener.rules[0].clone();
        other.arn.push_str("-other");
        other.priority = 201;
        other.spec.tags = vec![berth_model::resources::Tag { key: "owner".into(), value: "platform-team".into() }];
        listener.rules.push(other);
    });
    app.write(80, r#"["/*"]"#, true, false);
    app.apply();
    let priorities: Vec<u32> = app.rules().iter().map(|r| r.0).collect();
    assert_eq!(priorities, vec![200, 201, 202], "admin takes 202, not the other owner's 201");
    app.account.read(|s| {
        let other = s.listeners.values().flat_map(|l| &l.rules).find(|r| r.arn.ends_with("-other")).expect("other rule");
        assert_eq!(other.priority, 201);
        assert_eq!(other.spec.tags[0].value, "platform-team");
    });
    // A spec that insists on the other owner's priority is a clear error,
    // and nothing changes.
    let spec = app.spec();
    let yaml = std::fs::read_to_string(&spec).expect("spec");
    std::fs::write(&spec, yaml.replace("health_path: / }", "health_path: /, priority: 201 }")).expect("write");
    let out = app.berth().args(["apply", "--yes"]).run();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("listener rule priority 201 wanted by rule.front/0 is held by rule"), "{}", out.stderr);
    assert!(out.stderr.contains("-other (not managed by berth)"), "{}", out.stderr);
    assert_eq!(app.rules().iter().map(|r| r.0).collect::<Vec<_>>(), vec![200, 201, 202]);
}

/// Acceptance: the corpus's wordpress-mysql file, unchanged, plus an
/// overlay with only `x-berth` keys, deploys with Service Connect, and the
/// plan shows the client aliases that make `WORDPRESS_DB_HOST=db` resolve.
#[test]
fn corpus_wordpress_deploys_with_service_connect_and_the_plan_shows_aliases() {
    let account = SimAccount::new();
    let overlay = account.dir().join("berth.yaml");
    std::fs::write(
        &overlay,
        format!(
            "name: wordpress\n\
             x-berth:\n  region: ap-northeast-2\n\
             \x20 network: {{ vpc_id: vpc-0wp, subnets: [subnet-0a, subnet-0b], security_groups: [sg-0wp] }}\n\
             \x20 load_balancer: {{ listener: \"{LISTENER}\" }}\n\
             \x20 discovery: connect\n\
             services:\n  wordpress:\n    x-berth: {{ route: {{ paths: [\"/*\"], health_matcher: \"200-399\" }} }}\n\
             volumes:\n  db_data:\n    x-berth: {{ efs: fs-0123456789abcdef0 }}\n"
        ),
    )
    .expect("write overlay");
    let berth = || {
        Berth::new(repo_root()).args([
            "--sim-state".to_string(),
            account.state_path().display().to_string(),
            "-f".into(),
            shared_dir().join("corpus/compose/wordpress-mysql/compose.yaml").display().to_string(),
            "-f".into(),
            overlay.display().to_string(),
        ])
    };
    let plan = berth().args(["plan"]).run();
    ok(&plan);
    let db = plan.stdout.split("service.db").nth(1).expect("service.db in the plan");
    assert!(db.contains("\"clientAliases\""), "{}", plan.stdout);
    assert!(db.contains("\"dnsName\": \"db\""), "{}", plan.stdout);
    assert!(db.contains("\"port\": 3306"), "{}", plan.stdout);
    assert!(db.contains("\"port\": 33060"), "{}", plan.stdout);
    ok(&berth().args(["apply", "--yes"]).run());
    assert_eq!(berth().args(["plan", "--detailed-exitcode"]).run().code, 0);
    account.read(|s| {
        let db = s.services.values().find(|v| v.spec.service_name == "wordpress-db").expect("db service");
        let sc = db.spec.service_connect_configuration.as_ref().expect("service connect on db");
        assert!(sc.enabled);
        assert_eq!(sc.namespace, "wordpress.local");
        // Both of mariadb's exposed ports, each under the compose name `db`.
        let aliases: Vec<(&str, &str, u16)> = sc
            .services
            .iter()
            .flat_map(|s| s.client_aliases.iter().map(move |a| (s.discovery_name.as_str(), a.dns_name.as_str(), a.port)))
            .collect();
        assert_eq!(aliases, vec![("db", "db", 3306), ("db-33060", "db", 33060)]);
        let wp = s.services.values().find(|v| v.spec.service_name == "wordpress-wordpress").expect("wordpress service");
        assert!(wp.spec.service_connect_configuration.as_ref().is_some_and(|c| c.enabled), "the client side joins the mesh too");
        assert!(s.namespaces.values().any(|n| n.spec.name == "wordpress.local"));
    });
}

/// `validate` accepts a bare compose file, but `plan` needs to know where
/// tasks run and which VPC target groups and the namespace live in (with an
/// existing listener, the VPC is its load balancer's: nlb.rs).
#[test]
fn deploying_without_subnets_or_a_vpc_names_the_key_to_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("compose.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: bare\nx-berth:\n  load_balancer: {{ create: {{ subnets: [subnet-a, subnet-b] }} }}\n  discovery: {{ namespace: bare.local }}\n\
             services:\n  web:\n    image: nginx\n    ports: [\"80\"]\n    x-berth: {{ route: {{ paths: [\"/*\"] }} }}\n"
        ),
    )
    .expect("write");
    let berth = || Berth::new(dir.path()).args(["--sim-state", "sim.json"]);
    ok(&berth().args(["validate"]).run());
    let out = berth().args(["plan"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    for line in [
        "error: compose.yaml:2:1: x-berth.network.subnets: tasks in awsvpc mode need subnets to run in",
        "error: compose.yaml:2:1: x-berth.network.vpc_id: service \"web\" is routed, and its target group needs the VPC id",
        "error: compose.yaml:2:1: x-berth.network.vpc_id: the private DNS namespace \"bare.local\" needs the VPC id",
    ] {
        assert!(out.stderr.lines().any(|l| l == line), "expected\n  {line}\nin:\n{}", out.stderr);
    }
    assert!(out.stderr.contains("hint: set x-berth.network.vpc_id"), "{}", out.stderr);
    assert!(out.stderr.contains("error: the spec is valid but cannot be deployed yet (3 keys to set)"), "{}", out.stderr);
    let applied = berth().args(["apply", "--yes"]).run();
    assert_eq!(applied.code, 1, "apply refuses too:\n{}", applied.stderr);
    assert!(!dir.path().join("sim.json").exists(), "refused before touching the account");
    // A compose file with no x-berth at all: the error points at its first line.
    let corpus = shared_dir().join("corpus/compose/wordpress-mysql/compose.yaml");
    let out = berth().args(["-f".to_string(), corpus.display().to_string(), "plan".into()]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let expected = format!("error: {}:1:1: x-berth.network.subnets: tasks in awsvpc mode need subnets to run in", corpus.display());
    assert!(out.stderr.lines().any(|l| l == expected), "expected\n  {expected}\nin:\n{}", out.stderr);
}

/// A specific route added after the app's catch-all gets a higher priority
/// (priorities are kept), so ELB would never use it: the plan says so.
#[test]
fn a_new_rule_behind_the_apps_catch_all_is_warned_about() {
    let app = App::new();
    app.write(80, r#"["/*"]"#, false, false);
    app.apply();
    app.write(80, r#"["/*"]"#, true, false);
    let out = app.berth().args(["plan"]).run();
    ok(&out);
    let expected = "warning: rule.admin/0 gets priority 201 after rule.front/0 (priority 200), which matches all of its requests first, so it would never receive traffic; set its x-berth.route.priority below 200";
    assert!(out.stderr.lines().any(|l| l == expected), "{}", out.stderr);
    let json = app.berth().args(["plan", "--format", "json"]).run();
    assert!(json.stdout.contains("rule.admin/0 gets priority 201 after rule.front/0"), "{}", json.stdout);
    // Created together, the specific rule goes first and nothing is shadowed.
    let fresh = App::new();
    fresh.write(80, r#"["/*"]"#, true, false);
    let out = fresh.berth().args(["plan"]).run();
    assert!(!out.stderr.contains("would never receive traffic"), "{}", out.stderr);
}
