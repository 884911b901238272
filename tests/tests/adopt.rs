//! Adoption: resources at the spec's addresses that carry no berth tags
//! (made by hand, Terraform, Copilot) become the app's with `--adopt`
//! (or `x-berth.adopt: true`), as `adopt` changes that tag them and change
//! nothing else; another app's resources never do.

use berth_engine::{ApplyOptions, Collect, WaitMode};
use berth_tests::moto::block_on;
use berth_tests::{adopt_only, ok, plan_changes, plan_json, SimAccount};
use serde_json::json;

/// What a redeploy or a new revision would change: each service's
/// deployments, each family's revisions, each rule's priority.
fn live_shape(account: &SimAccount) -> serde_json::Value {
    account.read(|s| {
        json!({
            "deployments": s.services.iter().map(|(n, svc)| (n.clone(), svc.deployments.iter().map(|d| d.id.clone()).collect::<Vec<_>>())).collect::<std::collections::BTreeMap<_, _>>(),
            "revisions": s.task_definitions.iter().map(|(f, r)| (f.clone(), r.len())).collect::<std::collections::BTreeMap<_, _>>(),
            "priorities": s.listeners.values().flat_map(|l| l.rules.iter().map(|r| (r.arn.clone(), r.priority))).collect::<std::collections::BTreeMap<_, _>>(),
        })
    })
}

#[test]
fn untagged_resources_are_refused_with_a_hint_then_adopted_with_adopt_and_nothing_is_redeployed() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    account.retag(None);
    let before = live_shape(&account);

    // Without --adopt: today's error, which now names the way forward.
    let out = account.berth("web", "1.27").args(["plan"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("service.web (") && out.stderr.contains("exists and is not managed by berth for app hello"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--adopt"), "the hint names --adopt: {}", out.stderr);

    // With it: one adopt per resource, nothing else.
    let out = account.berth("web", "1.27").args(["plan", "--adopt", "--format", "json"]).run();
    ok(&out);
    let plan = plan_json(&out);
    let changes = plan_changes(&plan);
    let addresses: Vec<&str> = changes.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(addresses, ["taskdef.web", "tg.web", "rule.web/0", "service.web"], "{changes:?}");
    assert!(changes.iter().all(|(_, action, changed)| action == "adopt" && changed.is_empty()), "{changes:?}");
    assert_eq!(plan["summary"]["adopt"], 4);
    assert_eq!(plan["summary"]["update"], 0);
    let human = account.berth("web", "1.27").args(["plan", "--adopt"]).run();
    ok(&human);
    assert!(human.stdout.contains("& service.web") && human.stdout.contains("4 to adopt"), "{}", human.stdout);

    // apply without --adopt refuses too; with it, tags and changes nothing else.
    let out = account.berth("web", "1.27").args(["apply", "--yes"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let out = account.berth("web", "1.27").args(["apply", "--adopt", "--yes"]).run();
    ok(&out);
    assert!(out.stderr.contains("4 adopted"), "{}", out.stderr);
    assert_eq!(live_shape(&account), before, "no deployment, no new revision, the rule kept its priority");
    let owned = account.read(|s| {
        let rule = s.listeners.values().flat_map(|l| &l.rules).next().expect("rule").spec.tags.clone();
        (s.services["hello-web"].spec.tags.clone(), rule)
    });
    for tags in [&owned.0, &owned.1] {
        assert!(tags.iter().any(|t| t.key == "berth:app" && t.value == "hello"), "{tags:?}");
        assert!(tags.iter().any(|t| t.key == "berth:managed" && t.value == "true"), "{tags:?}");
    }
    assert!(owned.1.iter().any(|t| t.key == "berth:address" && t.value == "rule.web/0"), "{:?}", owned.1);
    let out = account.berth("web", "1.27").args(["plan"]).run();
    ok(&out);
    assert!(out.stdout.starts_with("No changes."), "{}", out.stdout);
}

#[test]
fn an_adopted_resource_the_spec_also_changes_is_adopted_then_updated_and_its_family_keeps_numbering() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    // Someone registered revisions by hand meanwhile (revision 2 and 3 of the family).
    account.edit(|s| {
        let revs = s.task_definitions.get_mut("hello-web").expect("family");
        for n in [2, 3] {
            let mut r = revs[0].clone();
            r.revision = n;
            r.arn = r.arn.replace(":1", &format!(":{n}"));
            r.status = "INACTIVE".into();
            revs.push(r);
        }
    });
    account.retag(None);
    let out = account.berth("web", "1.28").args(["plan", "--adopt", "--format", "json"]).run();
    ok(&out);
    let plan = plan_json(&out);
    let changes = plan_changes(&plan);
    let taskdef = changes.iter().find(|(a, _, _)| a == "taskdef.web").expect("taskdef");
    assert_eq!(taskdef.1, "adopt");
    assert!(taskdef.2.iter().any(|p| p.contains("image")), "{taskdef:?}");
    let service = changes.iter().find(|(a, _, _)| a == "service.web").expect("service");
    assert_eq!((service.1.as_str(), service.2.clone()), ("adopt", vec!["taskDefinition".to_string()]));
    assert_eq!(plan["summary"]["adopt"], 4);
    assert_eq!(plan["summary"]["update"], 2, "what the spec changes counts as updates too");
    let human = account.berth("web", "1.28").args(["plan", "--adopt"]).run();
    assert!(human.stdout.contains("  ~ service.web  (service) then changed: taskDefinition"), "{}", human.stdout);

    ok(&account.berth("web", "1.28").args(["apply", "--adopt", "--yes"]).run());
    let (revisions, running) = account.read(|s| {
        let revs: Vec<u32> = s.task_definitions["hello-web"].iter().map(|r| r.revision).collect();
        (revs, s.services["hello-web"].deployments.last().expect("deployment").task_definition.clone())
    });
    assert_eq!(revisions, [1, 2, 3, 4], "berth continues the family's numbering");
    assert!(running.ends_with("hello-web:4"), "{running}");
    let out = account.berth("web", "1.28").args(["plan"]).run();
    ok(&out);
    assert!(out.stdout.starts_with("No changes."), "{}", out.stdout);
}

#[test]
fn another_apps_resources_are_never_adopted_and_the_error_names_that_app() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    account.retag(Some("billing"));
    let before = account.read(|s| serde_json::to_string(&s.services).expect("json"));
    for args in [vec!["plan", "--adopt"], vec!["apply", "--adopt", "--yes"]] {
        let out = account.berth("web", "1.27").args(args.clone()).run();
        assert_eq!(out.code, 1, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("service.web (") && out.stderr.contains("belongs to berth app billing"), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("never adopts"), "{}", out.stderr);
    }
    assert_eq!(before, account.read(|s| serde_json::to_string(&s.services).expect("json")), "nothing was written");
}

#[test]
fn x_berth_adopt_in_the_spec_adopts_as_the_flag_does() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    account.retag(None);
    let dir = tempfile::tempdir().expect("tempdir");
    let overlay = dir.path().join("adopt.yaml");
    std::fs::write(&overlay, "x-berth:\n  adopt: true\n").expect("write");
    let base = account.berth("web", "1.27").args(["-f".to_string(), overlay.display().to_string()]);
    let out = base.clone().args(["plan", "--format", "json"]).run();
    ok(&out);
    assert!(plan_changes(&plan_json(&out)).iter().all(|(_, a, _)| a == "adopt"), "{}", out.stdout);
    ok(&base.clone().args(["apply", "--yes"]).run());
    let out = account.berth("web", "1.27").args(["plan"]).run();
    ok(&out);
    assert!(out.stdout.starts_with("No changes."), "{}", out.stdout);
}

#[test]
fn a_saved_plan_that_adopts_needs_adopt_at_apply() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    account.retag(None);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("adopt.plan.json");
    ok(&account.berth("web", "1.27").args(["plan".to_string(), "--adopt".into(), "-o".into(), file.display().to_string()]).run());
    let out = account.berth("web", "1.27").args(["apply".to_string(), file.display().to_string(), "--yes".into()]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("--adopt"), "{}", out.stderr);
    ok(&account.berth("web", "1.27").args(["apply".to_string(), file.display().to_string(), "--adopt".into(), "--yes".into()]).run());
    assert!(account.read(|s| s.services["hello-web"].spec.tags.iter().any(|t| t.key == "berth:app" && t.value == "hello")));
}

/// A plan file is data: an `adopt` change forged for a resource another
/// app's tags name, or applied without `--adopt`, is refused by the engine.
#[test]
fn the_engine_adopts_only_untagged_resources_and_only_when_asked_whatever_a_plan_says() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    let arn = account.read(|s| s.services["hello-web"].arn.clone());
    let forged = |app: &str| -> berth_plan::Plan {
        serde_json::from_value(json!({
            "format_version": berth_plan::FORMAT_VERSION, "berth_version": "0.1.0", "app": app, "backend": "sim",
            "spec_digest": "", "summary": {"create": 0, "update": 0, "replace": 0, "delete": 0, "unchanged": 0, "adopt": 1},
            "changes": [{"address": "service.web", "kind": "service", "action": "adopt", "reason": "forged",
                         "before": {}, "after": {"tags": [{"key": "berth:app", "value": app}]}, "arn": arn}],
            "unchanged": [], "fingerprints": {}
        }))
        .expect("plan")
    };
    let apply = |plan: &berth_plan::Plan, adopt: bool| {
        let sim = berth_sim::Sim::open(&account.state_path()).expect("sim");
        let opts = ApplyOptions { wait: WaitMode::None, adopt, ..ApplyOptions::default() };
        let result = block_on(berth_engine::apply(plan, &sim, &opts, &Collect::default()));
        sim.save().expect("save");
        result
    };
    // Tagged as app hello's: another app's plan may not adopt it.
    let result = apply(&forged("billing"), true);
    assert!(
        !result.ok() && result.failed[0].message.contains("refusing to adopt") && result.failed[0].message.contains("app hello's"),
        "{:?}",
        result.failed
    );
    // Untagged: only with adopt.
    account.retag(None);
    let result = apply(&forged("billing"), false);
    assert!(!result.ok() && result.failed[0].message.contains("without --adopt"), "{:?}", result.failed);
    assert!(account.read(|s| !s.services["hello-web"].spec.tags.iter().any(|t| t.key == "berth:app")), "nothing was tagged");
    // And what it tags is the plan's app's ownership, whatever tags the plan lists.
    let result = apply(&forged("billing"), true);
    assert!(result.ok(), "{:?}", result.failed);
    let tags = account.read(|s| s.services["hello-web"].spec.tags.clone());
    assert!(tags.iter().any(|t| t.key == "berth:app" && t.value == "billing") && tags.iter().any(|t| t.key == "berth:managed"), "{tags:?}");
}

/// On moto: a service berth made, its berth tags removed with the SDK (as
/// if made by hand), imported; the imported spec plans only adopt changes;
/// `apply --adopt` tags them without a deployment; the next plan is clean.
#[test]
fn on_moto_an_untagged_service_is_imported_adopted_and_never_redeployed() {
    use berth_tests::moto::{moto, Vpc};
    let Some(moto) = moto() else { return };
    // Shared with declared_scaling.rs and autoscaling.rs's moto tests, which
    // have their own apps and clusters and make no load balancer.
    let region = "ap-southeast-6";
    let Vpc { vpc, subnet_a: subnet, .. } = moto.vpc(region, 18, "adopted");
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("compose.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: adopted
x-berth:
  network: {{ vpc_id: {vpc}, subnets: [{subnet}] }}
services:
  worker:
    image: public.ecr.aws/docker/library/busybox:1.37
    command: [sleep, infinity]
    environment: {{ MODE: batch }}
    deploy: {{ replicas: 2 }}
"
        ),
    )
    .expect("write");
    // Twice: moto's CreateService drops the deployment configuration, which
    // the second apply's UpdateService sets (tests/README.md's moto table).
    for _ in 0..2 {
        let apply = ["apply", "--yes", "--wait", "none"].map(String::from);
        ok(&moto.berth_in(region).args(["-f".to_string(), spec.display().to_string()]).args(apply).run());
    }
    let read = || {
        block_on(async {
            let sdk = moto.sdk(region).await;
            let out = sdk.ecs.describe_services().cluster("adopted").services("adopted-worker").send().await.expect("describe");
            let s = out.services()[0].clone();
            let deployments: Vec<String> = s.deployments().iter().filter_map(|d| d.id().map(str::to_string)).collect();
            (s.service_arn().unwrap_or_default().to_string(), s.task_definition().unwrap_or_default().to_string(), deployments)
        })
    };
    let (service_arn, td_arn, deployments) = read();
    block_on(async {
        let sdk = moto.sdk(region).await;
        for arn in [&service_arn, &td_arn] {
            sdk.ecs.untag_resource().resource_arn(arn).tag_keys("berth:app").tag_keys("berth:managed").send().await.expect("untag");
        }
    });
    let out = moto.berth_in(region).args(["-f".to_string(), spec.display().to_string(), "plan".into()]).run();
    assert_eq!(out.code, 1, "untagged now: {}", out.stderr);
    assert!(out.stderr.contains("--adopt"), "{}", out.stderr);

    // Imported from the live service, in a directory of its own.
    let import_dir = tempfile::tempdir().expect("tempdir");
    let berth = || moto.berth_in(region).args(["-f".to_string(), import_dir.path().join("compose.berth.yaml").display().to_string()]);
    let out = moto
        .berth_in(region)
        .args(["import", "--cluster", "adopted", "--service", "adopted-worker", "-o"])
        .args([import_dir.path().join("compose.berth.yaml").display().to_string()])
        .run();
    ok(&out);
    assert_eq!(adopt_only(berth(), ""), ["taskdef.worker", "service.worker"]);
    ok(&berth().args(["apply", "--adopt", "--yes", "--wait", "none"]).run());
    let out = berth().args(["plan"]).run();
    ok(&out);
    assert!(out.stdout.starts_with("No changes."), "{}", out.stdout);
    let (_, td_after, deployments_after) = read();
    assert_eq!((td_after, deployments_after), (td_arn.clone(), deployments), "the service was never redeployed");
    let tags = block_on(async {
        let sdk = moto.sdk(region).await;
        sdk.ecs.list_tags_for_resource().resource_arn(&service_arn).send().await.expect("tags").tags().to_vec()
    });
    assert!(tags.iter().any(|t| t.key() == Some("berth:app") && t.value() == Some("adopted")), "{tags:?}");
}

/// On moto: a routed service (target group, a listener rule at a fixed
/// priority on a load balancer of its own) without berth's tags is
/// imported and adopted: the rule keeps its priority, ELB tags it.
#[test]
fn on_moto_an_untagged_routed_service_keeps_its_rule_priority_when_adopted() {
    use berth_tests::moto::{moto, Vpc};
    let Some(moto) = moto() else { return };
    // As above: this region's other tests use other names (their ALB is `shared`).
    let region = "ap-southeast-6";
    let Vpc { vpc, subnet_a: a, subnet_b: b, security_group: sg } = moto.vpc(region, 19, "routed");
    let listener = moto.listener(region, &[&a, &b], &sg, "routed-alb");
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("compose.yaml");
    std::fs::write(
        &spec,
        format!(
            "name: routed
x-berth:
  network: {{ vpc_id: {vpc}, subnets: [{a}, {b}], security_groups: [{sg}] }}
  load_balancer: {{ listener: {listener} }}
services:
  web:
    image: public.ecr.aws/nginx/nginx:1.27
    ports: [\"80\"]
    deploy: {{ replicas: 1 }}
    x-berth:
      route: {{ paths: [\"/shop/*\"], health_path: /health, priority: 77 }}
"
        ),
    )
    .expect("write");
    for _ in 0..2 {
        let apply = ["apply", "--yes", "--wait", "none"].map(String::from);
        ok(&moto.berth_in(region).args(["-f".to_string(), spec.display().to_string()]).args(apply).run());
    }
    let (service_arn, td_arn, tg_arn, rule_arn) = block_on(async {
        let sdk = moto.sdk(region).await;
        let s = sdk.ecs.describe_services().cluster("routed").services("routed-web").send().await.expect("describe").services()[0].clone();
        let tg = s.load_balancers()[0].target_group_arn().unwrap_or_default().to_string();
        let rules = sdk.elb.describe_rules().listener_arn(&listener).send().await.expect("rules");
        let rule =
            rules.rules().iter().find(|r| r.priority() == Some("77")).expect("rule at 77").rule_arn().unwrap_or_default().to_string();
        (s.service_arn().unwrap_or_default().to_string(), s.task_definition().unwrap_or_default().to_string(), tg, rule)
    });
    block_on(async {
        let sdk = moto.sdk(region).await;
        for arn in [&service_arn, &td_arn] {
            sdk.ecs.untag_resource().resource_arn(arn).tag_keys("berth:app").tag_keys("berth:managed").send().await.expect("untag");
        }
        for arn in [&tg_arn, &rule_arn] {
            let keys = ["berth:app", "berth:managed", "berth:address"].map(String::from);
            sdk.elb.remove_tags().resource_arns(arn).set_tag_keys(Some(keys.to_vec())).send().await.expect("remove tags");
        }
    });
    let out_file = dir.path().join("imported.yaml");
    let import = ["import", "--cluster", "routed", "--service", "routed-web", "--listener", &listener, "-o"].map(String::from);
    ok(&moto.berth_in(region).args(import).args([out_file.display().to_string()]).run());
    let imported = std::fs::read_to_string(&out_file).expect("written");
    assert!(imported.contains("priority: 77") && imported.contains("health_path: /health"), "{imported}");
    let berth = || moto.berth_in(region).args(["-f".to_string(), out_file.display().to_string()]);
    assert_eq!(adopt_only(berth(), ""), ["taskdef.web", "tg.web", "rule.web/0", "service.web"]);
    ok(&berth().args(["apply", "--adopt", "--yes", "--wait", "none"]).run());
    let out = berth().args(["plan"]).run();
    ok(&out);
    assert!(out.stdout.starts_with("No changes."), "{}", out.stdout);
    let (priority, tags) = block_on(async {
        let sdk = moto.sdk(region).await;
        let rules = sdk.elb.describe_rules().rule_arns(&rule_arn).send().await.expect("rule");
        let tags = sdk.elb.describe_tags().resource_arns(&rule_arn).send().await.expect("tags");
        (rules.rules()[0].priority().map(str::to_string), tags.tag_descriptions()[0].tags().to_vec())
    });
    assert_eq!(priority.as_deref(), Some("77"), "the rule kept its priority");
    assert!(tags.iter().any(|t| t.key() == Some("berth:address") && t.value() == Some("rule.web/0")), "{tags:?}");
}

#[test]
fn an_untagged_resource_that_would_need_a_replace_is_not_adopted() {
    let account = SimAccount::new();
    ok(&account.berth("web", "1.27").args(["apply", "--yes"]).run());
    account.retag(None);
    // Made by hand on another port: ELB cannot change a target group's port in place.
    account.edit(|s| s.target_groups.values_mut().for_each(|tg| tg.spec.port = 8080));
    let out = account.berth("web", "1.27").args(["plan", "--adopt"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(
        out.stderr.contains("tg.web (") && out.stderr.contains("would be adopted and replaced at once (port cannot change in place)"),
        "{}",
        out.stderr
    );
}
