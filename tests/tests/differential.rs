//! The sim against moto, differentially (issue 19, point 4): each scenario
//! runs the same berth commands and the same out-of-band changes on both
//! backends — the sim (`--sim-state`, changes through `SimState`) and moto
//! through the AWS backend (changes with the AWS SDK) — and asserts that
//! what moto emulates agrees.
//!
//! What is compared, and why not more:
//! - a plan (`plan --format json`): the exit code, the summary counts and,
//!   per change, `(address, kind, action, sorted changed paths)`, plus the
//!   image pins `(container, from)`. Not the `before`/`after` documents:
//!   they carry ARNs, account ids, registry hosts and digests that differ by
//!   construction, and `reason` is prose; a field that reads back
//!   differently shows up in `changed` anyway;
//! - an apply or destroy: the exit code and the set of `(address, verb)` it
//!   started (the order of independent changes is concurrent, so a set);
//! - a failure: the exit code and berth's `error:` lines with ARNs, ids,
//!   registry hosts and digests masked;
//! - `status --format json`: per service the address, name, desired count,
//!   revision, images (masked) and the primary deployment's status and
//!   rollout state, and the weights. Not running/pending counts, events or
//!   target health: moto never runs tasks (tests/README.md);
//! - a provider call (`berth_provider::Provider`, the API berth's engine
//!   uses) that must fail: the error's variant and the AWS error code in
//!   it (`ResourceInUse`, `PriorityInUse`, `DuplicateTargetGroupName`,
//!   `RepositoryNotEmpty`, `ServiceNotFound`...).
//!
//! moto's known quirk is handled the way `moto.rs` does: CreateService drops
//! the deployment configuration, so every "create" is `apply --wait none`
//! then `apply` on both backends (on the sim the second changes nothing),
//! and the sim's clock then runs five minutes, so its deployments finish as
//! moto's do at once. The sim's `auto_push` (a tag never pushed resolves as
//! if CI had pushed it) is off: images are pushed on both sides.
//! Every scenario deploys into a VPC and load balancer of its own in
//! [`REGION`], used by no other test file.

use std::collections::{BTreeMap, BTreeSet};

use berth_provider::{Provider, ProviderError};
use berth_tests::moto::{block_on, moto, Moto, Network};
use berth_tests::{plan_json, started_changes, Berth, Output, SimAccount};

/// moto keeps state per region; no other test uses this one.
const REGION: &str = "ap-southeast-7";

/// What the spec of a scenario looks like; the default is the create.
#[derive(Clone)]
struct Spec {
    web_tag: &'static str,
    api: bool,
    web_priority: Option<u32>,
}

impl Default for Spec {
    fn default() -> Self {
        Spec { web_tag: "1.27", api: true, web_priority: None }
    }
}

/// One scenario's two accounts: the sim and a moto network, and the spec
/// file both deploy (with moto's VPC, subnets and listener ARN on both).
struct Pair {
    app: String,
    moto: Moto,
    net: Network,
    sim: SimAccount,
    dir: tempfile::TempDir,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Sim,
    Moto,
}

const SIDES: [Side; 2] = [Side::Sim, Side::Moto];

fn tag(xml: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = xml.find(&open).unwrap_or_else(|| panic!("<{name}> in {xml}")) + open.len();
    let end = xml[start..].find('<').expect("close") + start;
    xml[start..end].to_string()
}

impl Pair {
    /// `None` when moto is not running (outside `tests/run`).
    fn new(app: &str) -> Option<Pair> {
        let moto = moto()?;
        let net = network(&moto, app);
        let pair = Pair { app: app.into(), moto, net, sim: SimAccount::new(), dir: tempfile::tempdir().expect("tempdir") };
        pair.write(&Spec::default());
        // The sim plays CI's part by default (a tag never pushed resolves as
        // if it had been); here images are pushed on both sides, as on AWS.
        pair.sim.edit(|s| s.auto_push = false);
        Some(pair)
    }

    fn write(&self, spec: &Spec) {
        let priority = spec.web_priority.map(|p| format!(", priority: {p}")).unwrap_or_default();
        let api =
            if spec.api { "  api:\n    build: .\n    ports: [\"8080\"]\n    x-berth: { route: { paths: [\"/api/*\"] } }\n" } else { "" };
        let yaml = format!(
            "name: {app}
x-berth:
  execution_role_arn: arn:aws:iam::123456789012:role/{app}-exec
  network: {network}
  load_balancer: {{ listener: \"{listener}\", priority_range: [100, 199] }}
  registry: {{ tag_mutability: MUTABLE }}
services:
  web:
    image: nginx:{web_tag}
    ports: [\"80\"]
    deploy: {{ replicas: 2 }}
    x-berth: {{ route: {{ paths: [\"/*\"], health_path: /{priority} }} }}
{api}",
            app = self.app,
            network = self.net.yaml(),
            listener = self.net.listener,
            web_tag = spec.web_tag,
        );
        std::fs::write(self.dir.path().join("compose.yaml"), yaml).expect("write spec");
    }

    /// `berth` on one side, with the scenario's spec and `TAG` for the api image.
    fn berth(&self, side: Side, api_tag: &str) -> Berth {
        let b = Berth::new(self.dir.path()).args(["--var".to_string(), format!("TAG={api_tag}")]);
        match side {
            Side::Sim => b.args(["--sim-state".to_string(), self.sim.state_path().display().to_string()]),
            Side::Moto => b
                .env("AWS_ACCESS_KEY_ID", "test")
                .env("AWS_SECRET_ACCESS_KEY", "test")
                .env("BERTH_AWS_MAX_ATTEMPTS", "1")
                .env("BERTH_AWS_RATE_LIMITS", "off")
                .args(["--backend", "aws", "--endpoint-url", self.moto.endpoint.as_str(), "--region", REGION]),
        }
    }

    /// The same command on both sides: (sim, moto).
    fn both(&self, api_tag: &str, args: &[&str]) -> (Output, Output) {
        let run = |side| self.berth(side, api_tag).args(args.iter().copied()).run();
        (run(Side::Sim), run(Side::Moto))
    }

    /// What a bootstrap does before the first deploy, on both sides: the
    /// api's repository, tagged for the app, with `tag` pushed to it.
    fn push_api(&self, tag: &str, build: u32) {
        let repo = format!("{}/api", self.app);
        block_on(async { self.moto.sdk(REGION).await.push_image_for(Some(&self.app), &repo, tag, build).await });
        let app = self.app.clone();
        self.sim.edit(|s| {
            s.repositories.entry(repo.clone()).or_insert_with(|| berth_sim::state::SimRepository {
                arn: berth_sim::SimState::arn("ecr", &format!("repository/{repo}")),
                uri: format!("{}/{repo}", berth_sim::SimState::registry()),
                // CreateRepository's defaults, as the SDK call above gets them.
                spec: serde_json::from_value(serde_json::json!({
                    "repositoryName": repo,
                    "imageTagMutability": "MUTABLE",
                    "imageScanningConfiguration": { "scanOnPush": false },
                    "encryptionConfiguration": { "encryptionType": "AES256" },
                    "tags": [{ "key": "berth:app", "value": app }, { "key": "berth:managed", "value": "true" }],
                }))
                .expect("repository spec"),
                images: Vec::new(),
            });
        });
        let sim = berth_sim::Sim::open(&self.sim.state_path()).expect("open sim");
        sim.push_image(&repo, &[tag], sim.now_ms()).expect("push");
        sim.save().expect("save sim");
    }

    /// Create: a bootstrap, then apply twice on both sides (see the module
    /// comment); both end with an empty plan.
    fn create(&self) {
        self.push_api("1", 0);
        for args in [&["apply", "--yes", "--wait", "none"][..], &["apply", "--yes"]] {
            let (sim, moto) = self.both("1", args);
            assert_eq!((sim.code, moto.code), (0, 0), "{args:?}\nsim:\n{}\nmoto:\n{}", sim.stderr, moto.stderr);
            self.minutes_pass();
        }
        let (sim, moto) = self.both("1", &["plan", "--detailed-exitcode", "--format", "json"]);
        same_plan("after create", &sim, &moto);
        assert_eq!(sim.code, 0, "a plan after create is empty: {}", sim.stdout);
    }

    /// Time passes: the sim's deployments started by `--wait none` finish
    /// (moto's complete at once, tests/README.md).
    fn minutes_pass(&self) {
        let sim = berth_sim::Sim::open(&self.sim.state_path()).expect("open sim");
        sim.advance(5 * 60 * 1000);
        sim.save().expect("save sim");
    }

    fn target_group_arn(&self, side: Side, name: &str) -> String {
        match side {
            Side::Sim => self.sim.read(|s| {
                s.target_groups.values().find(|t| t.spec.name == name).map(|t| t.arn.clone()).unwrap_or_else(|| panic!("sim: tg {name}"))
            }),
            Side::Moto => block_on(async {
                let sdk = self.moto.sdk(REGION).await;
                let out = sdk.elb.describe_target_groups().names(name).send().await.expect("target group");
                out.target_groups()[0].target_group_arn().expect("arn").to_string()
            }),
        }
    }

    /// The listener rule that forwards to target group `tg` (an ARN).
    fn rule_arn(&self, side: Side, tg: &str) -> String {
        match side {
            Side::Sim => self.sim.read(|s| {
                s.listeners[&self.net.listener]
                    .rules
                    .iter()
                    .find(|r| r.spec.actions.iter().flat_map(|a| &a.forward_config.target_groups).any(|t| t.target_group_arn == tg))
                    .map(|r| r.arn.clone())
                    .expect("sim: rule")
            }),
            Side::Moto => block_on(async {
                let sdk = self.moto.sdk(REGION).await;
                let rules = sdk.elb.describe_rules().listener_arn(&self.net.listener).send().await.expect("rules");
                rules
                    .rules()
                    .iter()
                    .find(|r| {
                        r.actions().iter().any(|a| {
                            a.target_group_arn() == Some(tg)
                                || a.forward_config().is_some_and(|f| f.target_groups().iter().any(|t| t.target_group_arn() == Some(tg)))
                        })
                    })
                    .and_then(|r| r.rule_arn())
                    .expect("moto: rule")
                    .to_string()
            }),
        }
    }

    fn rule_priority(&self, side: Side, rule: &str) -> u32 {
        match side {
            Side::Sim => {
                self.sim.read(|s| s.listeners[&self.net.listener].rules.iter().find(|r| r.arn == rule).expect("sim: rule").priority)
            }
            Side::Moto => block_on(async {
                let sdk = self.moto.sdk(REGION).await;
                let out = sdk.elb.describe_rules().rule_arns(rule).send().await.expect("rule");
                out.rules()[0].priority().expect("priority").parse().expect("a number")
            }),
        }
    }

    fn provider(&self, side: Side) -> ProviderHandle {
        match side {
            Side::Sim => ProviderHandle::Sim(Box::new(berth_sim::Sim::open(&self.sim.state_path()).expect("open sim"))),
            Side::Moto => {
                let env = [("AWS_ACCESS_KEY_ID", "test"), ("AWS_SECRET_ACCESS_KEY", "test"), ("BERTH_AWS_RATE_LIMITS", "off")]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                let opts = berth_aws::AwsOptions {
                    region: Some(REGION.into()),
                    endpoint_url: Some(self.moto.endpoint.clone()),
                    max_attempts: Some(1),
                    env,
                    ..Default::default()
                };
                ProviderHandle::Aws(Box::new(block_on(berth_aws::connect(&opts)).expect("connect to moto")))
            }
        }
    }

    /// Runs one provider call on each side (the sim's state saved after),
    /// with what that side needs passed in.
    fn call_both<T: std::fmt::Debug>(
        &self,
        what: &str,
        f: impl Fn(Side, &dyn Provider) -> std::pin::Pin<Box<dyn std::future::Future<Output = berth_provider::Result<T>> + '_>>,
    ) -> (berth_provider::Result<T>, berth_provider::Result<T>) {
        let mut out = Vec::new();
        for side in SIDES {
            let p = self.provider(side);
            let r = block_on(f(side, p.get()));
            if let ProviderHandle::Sim(sim) = &p {
                sim.save().expect("save sim");
            }
            eprintln!("{what} on {side:?}: {r:?}");
            out.push(r);
        }
        let moto = out.pop().expect("moto");
        (out.pop().expect("sim"), moto)
    }
}

enum ProviderHandle {
    Sim(Box<berth_sim::Sim>),
    Aws(Box<berth_aws::Aws>),
}

impl ProviderHandle {
    fn get(&self) -> &dyn Provider {
        match self {
            ProviderHandle::Sim(s) => s.as_ref(),
            ProviderHandle::Aws(a) => a.as_ref(),
        }
    }
}

/// A VPC with two subnets, a security group and a load balancer named for
/// the scenario with an HTTP listener (moto.rs's `Moto::network` names its
/// load balancer `shared`, one per region; the scenarios share a region).
fn network(moto: &Moto, app: &str) -> Network {
    let ec2 = |body: &str| moto.query(REGION, "ec2", &format!("{body}&Version=2016-11-15"));
    let vpc = tag(&ec2("Action=CreateVpc&CidrBlock=10.9.0.0/16"), "vpcId");
    let subnet = |cidr: &str, az: &str| {
        tag(&ec2(&format!("Action=CreateSubnet&VpcId={vpc}&CidrBlock={cidr}&AvailabilityZone={REGION}{az}")), "subnetId")
    };
    let (subnet_a, subnet_b) = (subnet("10.9.1.0/24", "a"), subnet("10.9.2.0/24", "b"));
    let security_group = tag(&ec2(&format!("Action=CreateSecurityGroup&GroupName={app}&GroupDescription={app}&VpcId={vpc}")), "groupId");
    let elb = |body: &str| moto.query(REGION, "elasticloadbalancing", &format!("{body}&Version=2015-12-01"));
    let lb = tag(
        &elb(&format!(
            "Action=CreateLoadBalancer&Name=lb-{app}&Subnets.member.1={subnet_a}&Subnets.member.2={subnet_b}&SecurityGroups.member.1={security_group}"
        )),
        "LoadBalancerArn",
    );
    let listener = tag(
        &elb(&format!(
            "Action=CreateListener&LoadBalancerArn={lb}&Protocol=HTTP&Port=80&DefaultActions.member.1.Type=fixed-response&DefaultActions.member.1.FixedResponseConfig.StatusCode=404"
        )),
        "ListenerArn",
    );
    Network { region: REGION.into(), vpc, subnet_a, subnet_b, security_group, listener }
}

// ---- normalization -------------------------------------------------------

/// A word with an ARN, a digest, an account's registry host, a moto id
/// (`vpc-…`, `subnet-…`) or a sim id masked; the rest as is.
fn mask_word(w: &str) -> String {
    let trimmed = w.trim_matches(|c: char| "()[],;:'\"`".contains(c));
    if trimmed.contains("arn:aws:") {
        // `arn:<service>:<resource>`, the resource's id-like segments masked
        // (names berth chose are the same on both sides; ids are not).
        let rest = trimmed.split("arn:aws:").nth(1).unwrap_or_default();
        let mut parts = rest.splitn(4, ':');
        let service = parts.next().unwrap_or_default();
        let resource = parts.nth(2).unwrap_or_default();
        let id_like = |seg: &str| seg.len() >= 6 && seg.chars().all(|c| c.is_ascii_hexdigit()) && seg.chars().any(|c| c.is_ascii_digit());
        let resource: Vec<&str> = resource.split('/').map(|seg| if id_like(seg) { "<id>" } else { seg }).collect();
        return w.replace(trimmed, &format!("<arn:{service}:{}>", resource.join("/")));
    }
    if trimmed.contains(".dkr.ecr.") || trimmed.contains("sha256:") {
        let repo = trimmed.split_once(".amazonaws.com/").map_or(trimmed, |(_, r)| r);
        let repo = repo.split('@').next().unwrap_or(repo);
        return w.replace(trimmed, &format!("<image:{repo}>"));
    }
    if ["vpc-", "subnet-", "sg-"].iter().any(|p| trimmed.starts_with(p)) {
        return w.replace(trimmed, "<id>");
    }
    w.to_string()
}

fn mask(text: &str) -> String {
    text.split(' ').map(mask_word).collect::<Vec<_>>().join(" ")
}

/// What of a plan is compared (see the module comment).
#[derive(Debug, PartialEq, Eq)]
struct PlanView {
    code: i32,
    summary: serde_json::Value,
    changes: BTreeSet<(String, String, String, Vec<String>)>,
    pins: BTreeSet<(String, String)>,
}

fn plan_view(out: &Output) -> PlanView {
    let plan = plan_json(out);
    let changes = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            let mut changed: Vec<String> =
                c["changed"].as_array().into_iter().flatten().filter_map(|p| p.as_str()).map(str::to_string).collect();
            changed.sort();
            let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (s("address"), s("kind"), s("action"), changed)
        })
        .collect();
    let pins = plan["images"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| (p["container"].as_str().unwrap_or_default().to_string(), p["from"].as_str().unwrap_or_default().to_string()))
        .collect();
    PlanView { code: out.code, summary: plan["summary"].clone(), changes, pins }
}

/// Asserts the two plans agree; returns the sim's view.
#[track_caller]
fn same_plan(step: &str, sim: &Output, moto: &Output) -> PlanView {
    let (s, m) = (plan_view(sim), plan_view(moto));
    assert_eq!(s, m, "{step}: the plans differ\nsim:\n{}\n{}\nmoto:\n{}\n{}", sim.stdout, sim.stderr, moto.stdout, moto.stderr);
    s
}

/// berth's `error:` lines, or the failure summary of an apply or destroy
/// (`Apply FAILED.` and the lines after it), masked.
fn errors(out: &Output) -> Vec<String> {
    out.stderr
        .lines()
        .skip_while(|l| !l.starts_with("error") && !l.ends_with(" FAILED."))
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let l = mask(l.trim());
            // What finished, in the order the concurrent changes did: as a set.
            match l.split_once(":   ").or_else(|| l.split_once(": ")) {
                Some((label @ ("done" | "not done"), items)) => {
                    let mut items: Vec<&str> = items.trim().split(", ").collect();
                    items.sort();
                    format!("{label}: {}", items.join(", "))
                }
                _ => l,
            }
        })
        .collect()
}

#[track_caller]
fn same_failure(step: &str, sim: &Output, moto: &Output) -> Vec<String> {
    assert_ne!(sim.code, 0, "{step}: the sim succeeded:\n{}", sim.stderr);
    assert_eq!(sim.code, moto.code, "{step}: exit codes\nsim:\n{}\nmoto:\n{}", sim.stderr, moto.stderr);
    let e = errors(sim);
    assert!(!e.is_empty(), "{step}: no error line:\n{}", sim.stderr);
    assert_eq!(e, errors(moto), "{step}: the errors differ");
    e
}

/// An apply or destroy: exit codes and the changes it started, as sets.
#[track_caller]
fn same_run(step: &str, sim: &Output, moto: &Output) -> BTreeSet<(String, String)> {
    assert_eq!(sim.code, moto.code, "{step}: exit codes\nsim:\n{}\nmoto:\n{}", sim.stderr, moto.stderr);
    let (s, m): (BTreeSet<_>, BTreeSet<_>) = (started_changes(sim).into_iter().collect(), started_changes(moto).into_iter().collect());
    assert_eq!(s, m, "{step}: the started changes differ\nsim:\n{}\nmoto:\n{}", sim.stderr, moto.stderr);
    s
}

/// What of `status --format json` is compared (see the module comment).
fn status_view(out: &Output) -> Vec<serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("status JSON: {e}\n{}\n{}", out.stdout, out.stderr));
    v.as_array()
        .expect("services")
        .iter()
        .map(|s| {
            let primary = s["deployments"].as_array().into_iter().flatten().find(|d| d["status"] == "PRIMARY");
            serde_json::json!({
                "address": s["address"],
                "service": s["service"],
                "desired": s["desired"],
                "task_definition": s["task_definition"],
                "images": s["images"].as_array().into_iter().flatten().map(|i| mask(i.as_str().unwrap_or_default())).collect::<Vec<_>>(),
                // Not the deployment's revision and desired count: moto keeps
                // those of CreateService (tests/README.md); the sim's are
                // checked against the service's in `same_status`.
                "primary": primary.map(|d| d["rollout_state"].clone()),
                "deployments": s["deployments"].as_array().map_or(0, Vec::len),
                "weights": s["weights"],
            })
        })
        .collect()
}

#[track_caller]
fn same_status(step: &str, pair: &Pair, api_tag: &str) -> Vec<serde_json::Value> {
    let (sim, moto) = pair.both(api_tag, &["status", "--format", "json"]);
    assert_eq!((sim.code, moto.code), (0, 0), "{step}\nsim:\n{}\nmoto:\n{}", sim.stderr, moto.stderr);
    let s = status_view(&sim);
    assert_eq!(s, status_view(&moto), "{step}: status differs\nsim:\n{}\nmoto:\n{}", sim.stdout, moto.stdout);
    // As ECS does (UpdateService starts a deployment of the new revision,
    // with the service's desired count), which moto does not.
    let full: serde_json::Value = serde_json::from_str(&sim.stdout).expect("status");
    for svc in full.as_array().expect("services") {
        let primary = svc["deployments"].as_array().into_iter().flatten().find(|d| d["status"] == "PRIMARY").expect("a primary");
        let revision = primary["task_definition"].as_str().and_then(|t| t.rsplit_once("task-definition/")).map(|(_, r)| r);
        assert_eq!(revision, svc["task_definition"].as_str(), "{step}: the sim's primary deployment runs the service's revision");
        assert_eq!(primary["desired"], svc["desired"], "{step}: the sim's primary deployment wants the service's count");
    }
    s
}

/// An error's kind: its variant and the AWS error code named in it.
fn error_kind(e: &ProviderError) -> (String, Option<String>) {
    const CODES: &[&str] = &[
        "DuplicateTargetGroupName",
        "PriorityInUse",
        "ResourceInUse",
        "RepositoryNotEmpty",
        "ServiceNotFound",
        "TargetGroupNotFound",
        "RuleNotFound",
        "RepositoryNotFound",
    ];
    let text = format!("{e:?}");
    let variant = text.split([' ', '{', '(']).next().unwrap_or_default().to_string();
    (variant, CODES.iter().find(|c| text.contains(*c)).map(|c| c.to_string()))
}

#[track_caller]
fn same_error<T: std::fmt::Debug>(
    what: &str,
    (sim, moto): (berth_provider::Result<T>, berth_provider::Result<T>),
) -> (String, Option<String>) {
    let sim = sim.expect_err(&format!("{what} fails on the sim"));
    let moto = moto.expect_err(&format!("{what} fails on moto"));
    let kind = error_kind(&sim);
    assert_eq!(kind, error_kind(&moto), "{what}: sim {sim:?}, moto {moto:?}");
    kind
}

fn set(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
}

fn change(address: &str, kind: &str, action: &str, changed: &[&str]) -> (String, String, String, Vec<String>) {
    (address.into(), kind.into(), action.into(), changed.iter().map(|c| c.to_string()).collect())
}

// ---- scenarios -----------------------------------------------------------

/// 1. Create: the first plan (with the bootstrapped repository), the
///    changes the apply starts, the empty plan after, and the status.
#[test]
fn create_plans_applies_and_reports_the_same() {
    let Some(pair) = Pair::new("df-create") else { return };
    pair.push_api("1", 0);
    let (sim, moto) = pair.both("1", &["plan", "--detailed-exitcode", "--format", "json"]);
    let plan = same_plan("first plan", &sim, &moto);
    assert_eq!(plan.code, 2);
    assert!(plan.changes.contains(&change("service.web", "service", "create", &[])), "{plan:#?}");
    assert!(plan.pins.contains(&("df-create-api/api".to_string(), "df-create/api:1".to_string())), "{plan:#?}");
    let (sim, moto) = pair.both("1", &["apply", "--yes", "--wait", "none"]);
    let started = same_run("first apply", &sim, &moto);
    assert!(started.contains(&("rule.web/0".to_string(), "create".to_string())), "{started:?}");
    pair.minutes_pass();
    let (sim, moto) = pair.both("1", &["apply", "--yes"]);
    assert_eq!((sim.code, moto.code), (0, 0), "sim:\n{}\nmoto:\n{}", sim.stderr, moto.stderr);
    let (sim, moto) = pair.both("1", &["plan", "--detailed-exitcode", "--format", "json"]);
    assert_eq!(same_plan("after create", &sim, &moto).code, 0);
    let status = same_status("after create", &pair, "1");
    assert_eq!(status.len(), 2, "{status:#?}");
}

/// 2. An image change: a new nginx tag and a new api build.
#[test]
fn image_change_plans_and_rolls_out_the_same() {
    let Some(pair) = Pair::new("df-image") else { return };
    pair.create();
    pair.push_api("2", 1);
    pair.write(&Spec { web_tag: "1.28", ..Spec::default() });
    let (sim, moto) = pair.both("2", &["plan", "--detailed-exitcode", "--format", "json"]);
    let plan = same_plan("image change", &sim, &moto);
    assert_eq!(plan.code, 2);
    assert!(plan.changes.iter().any(|c| c.0 == "service.web" && c.3.contains(&"taskDefinition".to_string())), "{plan:#?}");
    let (sim, moto) = pair.both("2", &["apply", "--yes"]);
    same_run("image change", &sim, &moto);
    assert_eq!(sim.code, 0, "{}", sim.stderr);
    let status = same_status("after the image change", &pair, "2");
    assert!(status.iter().any(|s| s["task_definition"] == "df-image-web:2"), "{status:#?}");
}

/// 3. desiredCount changed out of band: the plan names the field; apply repairs it.
#[test]
fn desired_count_drift_is_the_same_change() {
    let Some(pair) = Pair::new("df-count") else { return };
    pair.create();
    pair.sim.edit(|s| s.services.get_mut("df-count-web").expect("service").spec.desired_count = Some(5));
    block_on(async {
        let sdk = pair.moto.sdk(REGION).await;
        sdk.ecs.update_service().cluster("df-count").service("df-count-web").desired_count(5).send().await.expect("update");
    });
    let (sim, moto) = pair.both("1", &["plan", "--detailed-exitcode", "--format", "json"]);
    let plan = same_plan("desiredCount drift", &sim, &moto);
    assert!(plan.changes.contains(&change("service.web", "service", "update", &["desiredCount"])), "{plan:#?}");
    let status = same_status("drifted", &pair, "1");
    assert!(status.iter().any(|s| s["desired"] == 5), "{status:#?}");
    let (sim, moto) = pair.both("1", &["apply", "--yes"]);
    assert_eq!(same_run("repair", &sim, &moto), set(&[("service.web", "update")]));
    let (sim, moto) = pair.both("1", &["plan", "--detailed-exitcode", "--format", "json"]);
    assert_eq!(same_plan("repaired", &sim, &moto).code, 0);
}

/// 4. A target group's health check changed out of band.
#[test]
fn health_check_drift_is_the_same_change() {
    let Some(pair) = Pair::new("df-health") else { return };
    pair.create();
    pair.sim.edit(|s| {
        let tg = s.target_groups.values_mut().find(|t| t.spec.name == "df-health-web").expect("tg");
        tg.spec.health_check_path = "/drift".into();
        tg.spec.healthy_threshold_count = 7;
    });
    let arn = pair.target_group_arn(Side::Moto, "df-health-web");
    block_on(async {
        let sdk = pair.moto.sdk(REGION).await;
        sdk.elb
            .modify_target_group()
            .target_group_arn(arn)
            .health_check_path("/drift")
            .healthy_threshold_count(7)
            .send()
            .await
            .expect("modify");
    });
    let (sim, moto) = pair.both("1", &["plan", "--detailed-exitcode", "--format", "json"]);
    let plan = same_plan("health check drift", &sim, &moto);
    assert!(plan.changes.contains(&change("tg.web", "target_group", "update", &["healthCheckPath", "healthyThresholdCount"])), "{plan:#?}");
    let (sim, moto) = pair.both("1", &["apply", "--yes"]);
    assert_eq!(same_run("repair", &sim, &moto), set(&[("tg.web", "update")]));
    let (sim, moto) = pair.both("1", &["plan", "--detailed-exitcode", "--format", "json"]);
    assert_eq!(same_plan("repaired", &sim, &moto).code, 0);
}

/// 5. A listener rule deleted out of band is created again.
#[test]
fn a_deleted_rule_is_created_again_the_same() {
    let Some(pair) = Pair::new("df-rule") else { return };
    pair.create();
    for side in SIDES {
        let tg = pair.target_group_arn(side, "df-rule-web");
        let rule = pair.rule_arn(side, &tg);
        match side {
            Side::Sim => pair.sim.edit(|s| s.listeners.values_mut().for_each(|l| l.rules.retain(|r| r.arn != rule))),
            Side::Moto => block_on(async {
                pair.moto.sdk(REGION).await.elb.delete_rule().rule_arn(rule).send().await.expect("delete rule");
            }),
        }
    }
    let (sim, moto) = pair.both("1", &["plan", "--detailed-exitcode", "--format", "json"]);
    let plan = same_plan("a deleted rule", &sim, &moto);
    assert!(plan.changes.contains(&change("rule.web/0", "listener_rule", "create", &[])), "{plan:#?}");
    let (sim, moto) = pair.both("1", &["apply", "--yes"]);
    assert_eq!(same_run("repair", &sim, &moto), set(&[("rule.web/0", "create")]));
    let (sim, moto) = pair.both("1", &["plan", "--detailed-exitcode", "--format", "json"]);
    assert_eq!(same_plan("repaired", &sim, &moto).code, 0);
}

/// 6. A same-named target group without berth's tags: the same refusal on
///    plan and apply, and nothing created.
#[test]
fn a_foreign_same_named_target_group_is_the_same_conflict() {
    let Some(pair) = Pair::new("df-foreign") else { return };
    pair.push_api("1", 0);
    let vpc = pair.net.vpc.clone();
    pair.sim.edit(|s| {
        let arn = berth_sim::SimState::arn("elasticloadbalancing", "targetgroup/df-foreign-web/0123456789abcdef");
        let spec = serde_json::from_value(serde_json::json!({
            "name": "df-foreign-web", "protocol": "HTTP", "port": 8080, "targetType": "ip", "vpcId": vpc,
            "healthCheckProtocol": "HTTP", "healthCheckPath": "/legacy", "healthCheckIntervalSeconds": 30,
            "healthyThresholdCount": 5, "unhealthyThresholdCount": 2, "matcher": { "httpCode": "200" },
        }))
        .expect("tg spec");
        s.target_groups.insert(arn.clone(), berth_sim::state::SimTargetGroup { arn, spec, targets: Default::default() });
    });
    block_on(async {
        use aws_sdk_elasticloadbalancingv2::types::{ProtocolEnum, TargetTypeEnum};
        let sdk = pair.moto.sdk(REGION).await;
        sdk.elb
            .create_target_group()
            .name("df-foreign-web")
            .protocol(ProtocolEnum::Http)
            .port(8080)
            .vpc_id(&pair.net.vpc)
            .target_type(TargetTypeEnum::Ip)
            .health_check_path("/legacy")
            .send()
            .await
            .expect("foreign target group");
    });
    for args in [&["plan"][..], &["apply", "--yes"]] {
        let (sim, moto) = pair.both("1", args);
        let e = same_failure(&format!("{args:?}"), &sim, &moto);
        assert!(e.iter().any(|l| l.contains("tg.web") && l.contains("not managed by berth")), "{e:#?}");
    }
    // The provider call berth would make refuses the same way.
    let (sim, _) = pair.both("1", &["render"]);
    let rendered: serde_json::Value = serde_json::from_str(&sim.stdout).expect("render");
    let tg =
        rendered["resources"].as_array().expect("resources").iter().find(|r| r["address"] == "tg.web").expect("tg.web")["spec"].clone();
    let tg: berth_model::resources::TargetGroup = serde_json::from_value(tg).expect("target group");
    let r = pair.call_both("CreateTargetGroup", |_, p| {
        let tg = tg.clone();
        Box::pin(async move { p.create_target_group(&tg).await })
    });
    assert_eq!(same_error("CreateTargetGroup of a foreign name", r), ("NotOwned".to_string(), None));
    let path = block_on(async {
        let sdk = pair.moto.sdk(REGION).await;
        let out = sdk.elb.describe_target_groups().names("df-foreign-web").send().await.expect("still there");
        out.target_groups()[0].health_check_path().map(str::to_string)
    });
    assert_eq!(path.as_deref(), Some("/legacy"), "moto: untouched");
    let path =
        pair.sim.read(|s| s.target_groups.values().find(|t| t.spec.name == "df-foreign-web").map(|t| t.spec.health_check_path.clone()));
    assert_eq!(path.as_deref(), Some("/legacy"), "sim: untouched");
    let clusters = block_on(async { pair.moto.sdk(REGION).await.ecs.list_clusters().send().await.expect("clusters") });
    assert!(!clusters.cluster_arns().iter().any(|c| c.ends_with("/df-foreign")), "moto: nothing created");
    assert!(pair.sim.read(|s| !s.clusters.contains_key("df-foreign")), "sim: nothing created");
}

/// 7. Deleting a target group a rule forwards to fails with ResourceInUse
///    (berth's order never does it; the provider call berth makes does).
#[test]
fn deleting_a_target_group_in_use_is_resource_in_use_on_both() {
    let Some(pair) = Pair::new("df-inuse") else { return };
    pair.create();
    let arns: BTreeMap<&str, String> =
        [("sim", pair.target_group_arn(Side::Sim, "df-inuse-web")), ("moto", pair.target_group_arn(Side::Moto, "df-inuse-web"))].into();
    let arn = |side| arns[if side == Side::Sim { "sim" } else { "moto" }].clone();
    let r = pair.call_both("DeleteTargetGroup", |side, p| {
        let arn = arn(side);
        Box::pin(async move { p.delete_target_group(&arn).await })
    });
    assert_eq!(same_error("DeleteTargetGroup of a group in use", r), ("Conflict".to_string(), Some("ResourceInUse".to_string())));
    // Still there, still served: an empty plan on both.
    let (sim, moto) = pair.both("1", &["plan", "--detailed-exitcode", "--format", "json"]);
    assert_eq!(same_plan("after the refused delete", &sim, &moto).code, 0);
}

/// 8. Listener rule priorities: one rule per priority (PriorityInUse), and
///    a target group name once per account (DuplicateTargetGroupName).
#[test]
fn taken_priorities_and_names_are_the_same_errors() {
    let Some(pair) = Pair::new("df-taken") else { return };
    pair.create();
    // Per side: the api's rule, and the priority the web rule holds.
    let mut rules = BTreeMap::new();
    for side in SIDES {
        let api = pair.rule_arn(side, &pair.target_group_arn(side, "df-taken-api"));
        let web = pair.rule_arn(side, &pair.target_group_arn(side, "df-taken-web"));
        rules.insert(format!("{side:?}"), (api, pair.rule_priority(side, &web)));
    }
    assert_eq!(rules["Sim"].1, rules["Moto"].1, "the same priorities were allocated");
    let (sim, _) = pair.both("1", &["render"]);
    let rendered: serde_json::Value = serde_json::from_str(&sim.stdout).expect("render");
    let r = pair.call_both("SetRulePriorities", |side, p| {
        let (rule, taken) = rules[&format!("{side:?}")].clone();
        Box::pin(async move { p.set_rule_priority(&rule, taken).await })
    });
    assert_eq!(same_error("SetRulePriorities to a taken priority", r), ("Conflict".to_string(), Some("PriorityInUse".to_string())));
    let tg =
        rendered["resources"].as_array().expect("resources").iter().find(|r| r["address"] == "tg.web").expect("tg.web")["spec"].clone();
    let mut tg: berth_model::resources::TargetGroup = serde_json::from_value(tg).expect("target group");
    // CreateTargetGroup of a name the app already has (as an apply cut short
    // would retry it): ELB answers DuplicateTargetGroupName and the AWS
    // backend adopts the group with the settings asked for (ModifyTargetGroup,
    // so not the port); the sim's provider does the same.
    tg.health_check_path = "/adopted".into();
    tg.port = 9090;
    let (sim, moto) = pair.call_both("CreateTargetGroup", |_, p| {
        let tg = tg.clone();
        Box::pin(async move { p.create_target_group(&tg).await })
    });
    let (sim, moto) = (sim.expect("sim adopts"), moto.expect("moto adopts"));
    assert_eq!(sim, pair.target_group_arn(Side::Sim, "df-taken-web"), "the sim answers the existing group");
    assert_eq!(moto, pair.target_group_arn(Side::Moto, "df-taken-web"), "moto answers the existing group");
    let (sim, moto) = pair.both("1", &["plan", "--detailed-exitcode", "--format", "json"]);
    let plan = same_plan("after the adoption", &sim, &moto);
    assert_eq!(
        plan.changes.into_iter().collect::<Vec<_>>(),
        vec![change("tg.web", "target_group", "update", &["healthCheckPath"])],
        "the adopted group has the asked-for health check and its old port"
    );
}

/// 9. A changed route priority.
#[test]
fn a_changed_route_priority_is_the_same_change() {
    let Some(pair) = Pair::new("df-prio") else { return };
    pair.create();
    pair.write(&Spec { web_priority: Some(150), ..Spec::default() });
    let (sim, moto) = pair.both("1", &["plan", "--detailed-exitcode", "--format", "json"]);
    let plan = same_plan("priority change", &sim, &moto);
    assert!(plan.changes.iter().any(|c| c.0 == "rule.web/0" && c.3.contains(&"priority".to_string())), "{plan:#?}");
    let (sim, moto) = pair.both("1", &["apply", "--yes"]);
    same_run("priority change", &sim, &moto);
    assert_eq!(sim.code, 0, "{}", sim.stderr);
    let (sim, moto) = pair.both("1", &["plan", "--detailed-exitcode", "--format", "json"]);
    assert_eq!(same_plan("after the priority change", &sim, &moto).code, 0);
}

/// 10. A service removed from the spec: its rule, target group, service and
///     revisions go, in the same steps; its repository still holds images.
#[test]
fn a_removed_service_is_deleted_the_same() {
    let Some(pair) = Pair::new("df-removed") else { return };
    pair.create();
    pair.write(&Spec { api: false, ..Spec::default() });
    let (sim, moto) = pair.both("1", &["plan", "--detailed-exitcode", "--format", "json"]);
    let plan = same_plan("a removed service", &sim, &moto);
    for address in ["service.api", "rule.api/0", "tg.api"] {
        assert!(plan.changes.iter().any(|c| c.0 == address && c.2 == "delete"), "{address}: {plan:#?}");
    }
    let (sim, moto) = pair.both("1", &["apply", "--yes"]);
    same_run("a removed service", &sim, &moto);
    if sim.code != 0 {
        same_failure("a removed service", &sim, &moto);
    }
    let (sim, moto) = pair.both("1", &["plan", "--detailed-exitcode", "--format", "json"]);
    same_plan("after the removal", &sim, &moto);
    let status = same_status("after the removal", &pair, "1");
    assert_eq!(status.len(), 1, "{status:#?}");
    // The service is gone: NotFound on both. (Only the variant: moto still
    // describes the deleted service, as ECS does for a while with INACTIVE
    // ones, and the AWS backend's NotFound then names the service's deleted
    // target group, from DescribeTargetHealth.)
    let r = pair.call_both("DescribeServices", |_, p| Box::pin(async move { p.service_progress("df-removed", "df-removed-api", 0).await }));
    assert_eq!(same_error("DescribeServices of a deleted service", r).0, "NotFound");
}

/// 11. Destroy: a repository with images stops it the same way; with
///     `--delete-images` everything goes, and the provider refuses a
///     non-forced delete of a repository with images (RepositoryNotEmpty).
#[test]
fn destroy_and_a_repository_with_images_are_the_same() {
    let Some(pair) = Pair::new("df-destroy") else { return };
    pair.create();
    let r = pair.call_both("DeleteRepository", |_, p| Box::pin(async move { p.delete_repository("df-destroy/api", false).await }));
    assert_eq!(same_error("DeleteRepository with images", r), ("Other".to_string(), Some("RepositoryNotEmpty".to_string())));
    let (sim, moto) = pair.both("1", &["destroy", "--yes"]);
    same_run("destroy with images", &sim, &moto);
    let e = same_failure("destroy with images", &sim, &moto);
    assert!(e.iter().any(|l| l.contains("images")), "{e:#?}");
    let (sim, moto) = pair.both("1", &["destroy", "--yes", "--delete-images"]);
    same_run("destroy --delete-images", &sim, &moto);
    assert_eq!(sim.code, 0, "{}", sim.stderr);
    let (sim, moto) = pair.both("1", &["plan", "--detailed-exitcode", "--format", "json"]);
    let plan = same_plan("after destroy", &sim, &moto);
    assert!(plan.changes.iter().all(|c| c.2 == "create"), "{plan:#?}");
    // A second destroy has nothing to do, on both.
    let (sim, moto) = pair.both("1", &["destroy", "--yes"]);
    assert_eq!(same_run("destroy again", &sim, &moto), BTreeSet::new());
}
