//! ECR: lifecycle policies (compiled from the spec, previewed on the sim
//! with ECR's documented semantics), digest pinning, and the guards around
//! repositories.

use std::collections::BTreeMap;

use berth_tests::{ok, Berth, SimAccount};

const DAY: u64 = 86_400_000;

/// The seeds' four lifecycle examples, in one policy.
const SEEDS: &str = "
      - { tag_status: untagged, expire_after_days: 90 }
      - { tag_prefix: [dev], expire_after_days: 90 }
      - { tag_prefix: [staging], expire_after_days: 180 }
      - { tag_prefix: [prod], expire_after_days: 365 }
      - { tag_status: any, keep_last: 30 }";

fn spec(rules: &str) -> String {
    format!(
        "name: lc\nx-berth:\n  network: {{ subnets: [subnet-0a] }}\n  registry:\n    lifecycle:{rules}\nservices:\n  api:\n    build: .\n"
    )
}

#[test]
fn the_seeds_lifecycle_examples_compile_to_ecr_policy_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("compose.yaml"), spec(SEEDS)).expect("write");
    let out = Berth::new(dir.path()).args(["--var", "TAG=1", "render"]).run();
    ok(&out);
    let r: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let repo = r["resources"].as_array().expect("resources").iter().find(|x| x["address"] == "ecr.lc/api").expect("repository");
    insta::assert_json_snapshot!("seeds_lifecycle_policy", repo["spec"]["lifecyclePolicy"]);
}

struct Case {
    name: &'static str,
    rules: &'static str,
    /// (tags, age in days)
    images: Vec<(Vec<&'static str>, u64)>,
    /// The first tag (or `untagged-<age>`) of each image expected to expire → rule priority.
    expired: Vec<(&'static str, u32)>,
}

fn label(tags: &[String], age_days: u64) -> String {
    tags.first().cloned().unwrap_or_else(|| format!("untagged-{age_days}"))
}

/// `berth ecr preview` on the sim expires exactly what ECR's rules would.
#[test]
fn lifecycle_preview_on_the_sim_follows_ecr_rules() {
    let many: Vec<(Vec<&'static str>, u64)> =
        (0..35).map(|i| (vec![Box::leak(format!("v{i}").into_boxed_str()) as &'static str], 35 - i)).collect();
    let cases = vec![
        Case {
            name: "keep the last 30",
            rules: "\n      - { tag_status: any, keep_last: 30 }",
            images: many,
            expired: vec![("v0", 1), ("v1", 1), ("v2", 1), ("v3", 1), ("v4", 1)],
        },
        Case {
            name: "untagged after 90 days",
            rules: "\n      - { tag_status: untagged, expire_after_days: 90 }",
            images: vec![(vec![], 100), (vec![], 91), (vec![], 89), (vec![], 10), (vec!["old-release"], 200)],
            expired: vec![("untagged-100", 1), ("untagged-91", 1)],
        },
        Case {
            name: "the seeds' four examples",
            rules: SEEDS,
            images: vec![
                (vec!["dev-1"], 100),
                (vec!["dev-2"], 30),
                (vec!["staging-1"], 200),
                (vec!["staging-2"], 100),
                (vec!["prod-1"], 400),
                (vec!["prod-2"], 300),
                (vec!["release-1"], 1000),
                (vec![], 95),
            ],
            expired: vec![("dev-1", 2), ("prod-1", 4), ("staging-1", 3), ("untagged-95", 1)],
        },
        Case {
            name: "a higher rule's images are counted but not expired by a lower one",
            rules: "\n      - { tag_prefix: [prod], keep_last: 2 }\n      - { tag_status: any, keep_last: 3 }",
            images: vec![
                (vec!["x1"], 0),
                (vec!["prod-a"], 1),
                (vec!["prod-b"], 2),
                (vec!["prod-c"], 3),
                (vec!["prod-d"], 4),
                (vec!["x2"], 5),
            ],
            expired: vec![("prod-c", 1), ("prod-d", 1), ("x2", 2)],
        },
        Case {
            name: "images kept by a higher rule are safe from the any rule",
            rules: "\n      - { tag_prefix: [prod], keep_last: 10 }\n      - { tag_status: any, keep_last: 2 }",
            images: vec![(vec!["x1"], 0), (vec!["prod-a"], 1), (vec!["prod-b"], 2), (vec!["prod-c"], 3), (vec!["x2"], 5)],
            expired: vec![("x2", 2)],
        },
        Case {
            name: "untagged first, then any",
            rules: "\n      - { tag_status: untagged, expire_after_days: 14 }\n      - { tag_status: any, keep_last: 3 }",
            images: vec![(vec![], 20), (vec![], 5), (vec!["t1"], 1), (vec!["t2"], 2), (vec!["t3"], 3)],
            expired: vec![("untagged-20", 1)],
        },
        Case {
            name: "several prefixes must all match",
            rules: "\n      - { tag_prefix: [prod, eu], expire_after_days: 1 }",
            images: vec![(vec!["prod-1", "eu-1"], 10), (vec!["prod-2"], 10), (vec!["eu-2"], 10)],
            expired: vec![("prod-1", 1)],
        },
    ];
    for case in cases {
        let account = SimAccount::new();
        let path = account.dir().join("compose.yaml");
        std::fs::write(&path, spec(case.rules)).expect("write");
        let berth = || {
            Berth::new(account.dir()).args([
                "--sim-state".to_string(),
                account.state_path().display().to_string(),
                "--var".into(),
                "TAG=1".into(),
            ])
        };
        ok(&berth().args(["apply", "--yes", "--wait", "none"]).run());
        let sim = berth_sim::Sim::open(&account.state_path()).expect("sim");
        let now = sim.state().now_ms;
        let mut labels: BTreeMap<String, String> = BTreeMap::new();
        for (tags, age) in &case.images {
            let digest = sim.push_image("lc/api", tags, now - age * DAY).expect("repository");
            labels.insert(digest, label(&tags.iter().map(|t| t.to_string()).collect::<Vec<_>>(), *age));
        }
        sim.save().expect("save");
        let out = berth().args(["ecr", "preview", "lc/api", "--format", "json"]).run();
        ok(&out);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
        let mut got: Vec<(String, u32)> = v[0]["expiring"]
            .as_array()
            .expect("expiring")
            .iter()
            .map(|e| (labels[e["digest"].as_str().expect("digest")].clone(), e["rule_priority"].as_u64().expect("priority") as u32))
            .collect();
        got.sort();
        let mut want: Vec<(String, u32)> = case.expired.iter().map(|(l, p)| (l.to_string(), *p)).collect();
        want.sort();
        assert_eq!(got, want, "{}", case.name);
    }
}

fn shop(account: &SimAccount, tag: &str) -> Berth {
    account.berth("shop", tag)
}

#[test]
fn a_tag_that_was_not_pushed_is_a_plan_error_and_a_pushed_one_is_pinned() {
    let account = SimAccount::new();
    // The sim plays no CI here: only what is pushed exists.
    ok(&shop(&account, "v1").args(["plan"]).run());
    account.edit(|s| s.auto_push = false);
    let first = shop(&account, "v1").args(["apply", "--yes"]).run();
    assert_eq!(first.code, 1, "the web image lives in another account's repository that does not exist");
    assert!(
        first.stderr.contains(
            "image 123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/shop/web:v1 names ECR repository shop/web, which does not exist"
        ),
        "{}",
        first.stderr
    );
    account.edit(|s| s.auto_push = true);
    ok(&shop(&account, "v1").args(["apply", "--yes"]).run());
    account.edit(|s| s.auto_push = false);
    // The web image's repository (another team's, in their account) has the build.
    let sim = berth_sim::Sim::open(&account.state_path()).expect("sim");
    let spec = berth_model::resources::EcrRepository {
        repository_name: "shop/web".into(),
        tags: vec![],
        ..sim.state().repositories["shop/api"].spec.clone()
    };
    sim.state().repositories.insert(
        "shop/web".into(),
        berth_sim::state::SimRepository {
            arn: "arn:aws:ecr:sim-1:123456789012:repository/shop/web".into(),
            uri: "123456789012.dkr.ecr.sim-1.amazonaws.com/shop/web".into(),
            spec,
            images: vec![],
        },
    );
    let now = sim.state().now_ms;
    let web = sim.push_image("shop/web", &["v2"], now).expect("repo");
    sim.save().expect("save");
    let out = shop(&account, "v2").args(["plan"]).run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(
            "error: image shop/api:v2 is not in ECR repository shop/api: the build has not been pushed yet (push it, then plan again)"
        ),
        "{}",
        out.stderr
    );
    let sim = berth_sim::Sim::open(&account.state_path()).expect("sim");
    let api = sim.push_image("shop/api", &["v2"], now).expect("repo");
    let worker = sim.push_image("shop/worker", &["v2"], now).expect("repo");
    sim.save().expect("save");
    let out = shop(&account, "v2").args(["plan", "--format", "json"]).run();
    ok(&out);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let pins: Vec<(String, String)> = plan["images"]
        .as_array()
        .expect("pins")
        .iter()
        .map(|p| (p["container"].as_str().unwrap_or_default().into(), p["to"].as_str().unwrap_or_default().into()))
        .collect();
    assert!(pins.contains(&("shop-api/api".into(), format!("000000000000.dkr.ecr.sim-1.amazonaws.com/shop/api@{api}"))), "{pins:?}");
    assert!(
        pins.contains(&("shop-worker/worker".into(), format!("000000000000.dkr.ecr.sim-1.amazonaws.com/shop/worker@{worker}"))),
        "{pins:?}"
    );
    assert!(pins.iter().any(|(c, to)| c == "shop-web/web" && to.ends_with(&web)), "{pins:?}");
    let human = shop(&account, "v2").args(["plan"]).run();
    assert!(
        human.stdout.contains(&format!("shop-api/api: shop/api:v2 → 000000000000.dkr.ecr.sim-1.amazonaws.com/shop/api@{api}")),
        "{}",
        human.stdout
    );
    ok(&shop(&account, "v2").args(["apply", "--yes"]).run());
    account.read(|s| {
        let td = s.task_definitions["shop-api"].last().expect("revision");
        assert_eq!(
            td.spec.container_definitions[0].image,
            format!("000000000000.dkr.ecr.sim-1.amazonaws.com/shop/api@{api}"),
            "the task definition deploys the digest"
        );
    });
}

#[test]
fn a_saved_plan_is_stale_when_a_tag_moves() {
    let account = SimAccount::new();
    ok(&shop(&account, "v1").args(["apply", "--yes"]).run());
    account.edit(|s| s.auto_push = false);
    let sim = berth_sim::Sim::open(&account.state_path()).expect("sim");
    let now = sim.state().now_ms;
    sim.push_image("shop/api", &["v2"], now).expect("repo");
    sim.push_image("shop/worker", &["v2"], now).expect("repo");
    sim.save().expect("save");
    account.edit(|s| s.auto_push = true);
    let plan = account.dir().join("plan.json");
    ok(&shop(&account, "v2").args(["plan".to_string(), "-o".into(), plan.display().to_string()]).run());
    // CI pushes another build under the same tag.
    let sim = berth_sim::Sim::open(&account.state_path()).expect("sim");
    sim.push_image("shop/api", &["v2"], now + 1).expect("repo");
    sim.save().expect("save");
    let out = shop(&account, "v2").args(["apply".to_string(), plan.display().to_string(), "--yes".into()]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("the plan is stale") && out.stderr.contains("image:shop/api:v2 was modified"), "{}", out.stderr);
}

#[test]
fn a_repository_of_someone_else_is_refused() {
    let account = SimAccount::new();
    account.edit(|s| {
        s.repositories.insert(
            "shop/api".into(),
            berth_sim::state::SimRepository {
                arn: "arn:aws:ecr:sim-1:000000000000:repository/shop/api".into(),
                uri: "000000000000.dkr.ecr.sim-1.amazonaws.com/shop/api".into(),
                spec: berth_model::resources::EcrRepository {
                    repository_name: "shop/api".into(),
                    image_tag_mutability: "MUTABLE".into(),
                    image_scanning_configuration: berth_model::resources::ImageScanningConfiguration { scan_on_push: false },
                    encryption_configuration: berth_model::resources::EncryptionConfiguration { encryption_type: "AES256".into() },
                    lifecycle_policy: None,
                    tags: vec![],
                },
                images: vec![],
            },
        );
    });
    let out = shop(&account, "v1").args(["plan"]).run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("ecr.shop/api (arn:aws:ecr:sim-1:000000000000:repository/shop/api) exists and is not managed by berth for app shop"),
        "{}",
        out.stderr
    );
}

#[test]
fn deleting_a_repository_that_holds_images_needs_the_flag() {
    let account = SimAccount::new();
    ok(&shop(&account, "v1").args(["apply", "--yes"]).run());
    let sim = berth_sim::Sim::open(&account.state_path()).expect("sim");
    let now = sim.state().now_ms;
    sim.push_image("shop/worker", &["v1"], now).expect("repo");
    sim.save().expect("save");
    let plan = shop(&account, "v1").args(["destroy"]).run();
    assert!(plan.stderr.contains("- ecr.shop/worker  (ecr_repository) destroy: owned by berth for this app; it holds 1 images, which apply deletes only with --delete-images"), "{}", plan.stderr);
    let out = shop(&account, "v1").args(["destroy", "--yes"]).run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("failed:   ecr.shop/worker: still holds 1 images; berth deletes them only with --delete-images"),
        "{}",
        out.stderr
    );
    assert!(account.read(|s| s.repositories.contains_key("shop/worker")), "the repository and its image are still there");
    ok(&shop(&account, "v1").args(["destroy", "--yes", "--delete-images"]).run());
    assert!(account.read(|s| s.repositories.is_empty()));
}
