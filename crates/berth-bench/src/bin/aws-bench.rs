//! `bash crates/berth-bench/aws-bench.sh [N...]`: berth against moto behind
//! a proxy that adds 40 ms to every request (a model of a regional
//! endpoint), for apps of N routed, discoverable services (default 10 50
//! 200). For each N it prints the wall time of `plan` (empty account),
//! `apply` from empty, `plan` of the applied app, an image change on every
//! service, and a concurrent minimal read of the same resources with the
//! SDK; then, with the proxy enforcing AWS's documented token buckets (and
//! berth pacing itself by the same table), both applies again with the
//! throttling errors seen and the least time the buckets allow. API calls
//! per operation are printed for each step. See BENCHMARKS.md.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use berth_tests::fault_proxy::{Fault, FaultProxy};
use berth_tests::moto::{block_on, Moto, Network};

/// An app of `n` services, each routed on the shared listener and
/// discoverable in a private namespace; `tag` is every image's tag.
fn spec(n: usize, net: &Network, tag: &str) -> String {
    let mut s = format!(
        "name: bench\nx-berth:\n  region: {}\n  network: {}\n  load_balancer: {{ listener: \"{}\", priority_range: [1, 49999] }}\n  discovery: {{ namespace: bench.local }}\nservices:\n",
        net.region,
        net.yaml(),
        net.listener
    );
    for i in 0..n {
        s.push_str(&format!(
            "  s{i}:\n    image: public.ecr.aws/nginx/nginx:{tag}\n    ports: [\"8080\"]\n    expose: [\"8080\"]\n    logging: {{ driver: none }}\n    x-berth: {{ route: {{ paths: [\"/s{i}/*\"] }}, discovery: true }}\n"
        ));
    }
    s
}

struct Run {
    took: Duration,
    code: i32,
    stderr: String,
}

/// `berth` in this process (no time limit: a paced apply of 200 services
/// takes minutes).
fn berth(args: &[String], env: &[(&str, &str)]) -> Run {
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut io = berth::Io {
        stdout: &mut stdout,
        stderr: &mut stderr,
        env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        cwd: std::env::current_dir().expect("cwd"),
        interactive: false,
        stdout_tty: false,
    };
    let start = Instant::now();
    let code = i32::from(berth::run(std::iter::once("berth".to_string()).chain(args.iter().cloned()), &mut io).code());
    Run { took: start.elapsed(), code, stderr: String::from_utf8_lossy(&stderr).into_owned() }
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// The least time a workload of these calls takes within AWS's buckets
/// (starting full): per bucket, the calls past its capacity at its refill rate.
fn bucket_minimum(calls: &BTreeMap<String, u64>) -> Duration {
    let mut per_bucket: BTreeMap<&'static str, (u64, berth_aws::limits::Bucket)> = BTreeMap::new();
    for (op, n) in calls {
        for b in berth_aws::limits::buckets_of(op) {
            per_bucket.entry(b.name).or_insert((0, b)).0 += n;
        }
    }
    per_bucket
        .values()
        .map(|(n, b)| Duration::from_secs_f64(((*n as f64 - b.capacity).max(0.0)) / b.refill_per_sec))
        .max()
        .unwrap_or_default()
}

fn show_calls(calls: &BTreeMap<String, u64>) -> String {
    let total: u64 = calls.values().sum();
    let mut by_count: Vec<(&String, &u64)> = calls.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let top: Vec<String> = by_count.iter().map(|(op, n)| format!("{op} {n}")).collect();
    format!("{total} calls: {}", top.join(", "))
}

/// What a careful hand-written reader would fetch for the same app, all at
/// once (8 in flight per kind, as berth reads): the plan's floor.
fn minimal_read(sdk: &berth_tests::moto::Sdk, listener: &str) -> Duration {
    use futures::{stream, StreamExt};
    let start = Instant::now();
    block_on(async {
        let services = async {
            let arns: Vec<String> = sdk
                .ecs
                .list_services()
                .cluster("bench")
                .max_results(100)
                .into_paginator()
                .items()
                .send()
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .filter_map(Result::ok)
                .collect();
            stream::iter(arns.chunks(10).map(<[String]>::to_vec))
                .map(|c| sdk.ecs.describe_services().cluster("bench").set_services(Some(c)).send())
                .buffer_unordered(8)
                .collect::<Vec<_>>()
                .await;
        };
        let task_definitions = async {
            let families: Vec<String> = sdk
                .ecs
                .list_task_definition_families()
                .family_prefix("bench-")
                .into_paginator()
                .items()
                .send()
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .filter_map(Result::ok)
                .collect();
            stream::iter(families)
                .map(|f| sdk.ecs.describe_task_definition().task_definition(f).send())
                .buffer_unordered(8)
                .collect::<Vec<_>>()
                .await;
        };
        let target_groups = async {
            let tgs: Vec<String> = sdk
                .elb
                .describe_target_groups()
                .into_paginator()
                .send()
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .filter_map(Result::ok)
                .flat_map(|p| p.target_groups().iter().filter_map(|t| t.target_group_arn().map(str::to_string)).collect::<Vec<_>>())
                .collect();
            let tags = stream::iter(tgs.chunks(20).map(<[String]>::to_vec))
                .map(|c| sdk.elb.describe_tags().set_resource_arns(Some(c)).send())
                .buffer_unordered(8)
                .collect::<Vec<_>>();
            // The attributes (deregistration delay, stickiness) are part of what berth manages.
            let attributes = stream::iter(tgs.iter().cloned())
                .map(|tg| sdk.elb.describe_target_group_attributes().target_group_arn(tg).send())
                .buffer_unordered(8)
                .collect::<Vec<_>>();
            futures::join!(tags, attributes);
        };
        let rules = async {
            let rules: Vec<String> = sdk
                .elb
                .describe_rules()
                .listener_arn(listener)
                .send()
                .await
                .map(|o| o.rules().iter().filter_map(|r| r.rule_arn().map(str::to_string)).collect())
                .unwrap_or_default();
            stream::iter(rules.chunks(20).map(<[String]>::to_vec))
                .map(|c| sdk.elb.describe_tags().set_resource_arns(Some(c)).send())
                .buffer_unordered(8)
                .collect::<Vec<_>>()
                .await;
        };
        let cloud_map = async {
            let namespaces = sdk.sd.list_namespaces().send();
            let services = async {
                let arns: Vec<String> = sdk
                    .sd
                    .list_services()
                    .send()
                    .await
                    .map(|o| o.services().iter().filter_map(|s| s.arn().map(str::to_string)).collect())
                    .unwrap_or_default();
                // Whose each one is: its tags.
                stream::iter(arns)
                    .map(|arn| sdk.sd.list_tags_for_resource().resource_arn(arn).send())
                    .buffer_unordered(8)
                    .collect::<Vec<_>>()
                    .await;
            };
            let _ = futures::join!(namespaces, services);
        };
        let cluster = sdk.ecs.describe_clusters().clusters("bench").send();
        let _ = futures::join!(services, task_definitions, target_groups, rules, cloud_map, cluster);
    });
    start.elapsed()
}

fn main() {
    let endpoint = std::env::var("BERTH_MOTO_ENDPOINT").expect("BERTH_MOTO_ENDPOINT (aws-bench.sh starts moto and sets it)");
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![10, 50, 200] } else { sizes };
    let moto = Moto { endpoint: endpoint.clone() };
    let dir = tempfile::tempdir().expect("tempdir");
    let regions = ["eu-west-1", "eu-west-2", "eu-west-3", "eu-north-1", "eu-central-1", "us-east-2", "us-west-1", "us-west-2"];
    for (i, n) in sizes.iter().copied().enumerate() {
        let modes = std::env::var("BENCH_MODES").unwrap_or_default();
        for (mode, buckets) in [("latency 40 ms", false), ("latency 40 ms + AWS token buckets", true)] {
            if (modes == "latency" && buckets) || (modes == "buckets" && !buckets) {
                continue;
            }
            let region = regions[(2 * i + usize::from(buckets)) % regions.len()];
            let net = moto.network(region);
            let proxy = FaultProxy::start(&endpoint, Fault::Throttle, 0.0, 1);
            proxy.set_latency(Duration::from_millis(40));
            let files: Vec<std::path::PathBuf> = ["v1", "v2"]
                .iter()
                .map(|tag| {
                    let path = dir.path().join(format!("{region}-{tag}.yaml"));
                    std::fs::write(&path, spec(n, &net, if *tag == "v1" { "1.27" } else { "1.28" })).expect("write spec");
                    path
                })
                .collect();
            let limits = if buckets { "on" } else { "off" };
            let env = [
                ("AWS_ACCESS_KEY_ID", "bench"),
                ("AWS_SECRET_ACCESS_KEY", "bench"),
                ("BERTH_AWS_RATE_LIMITS", limits),
                ("BERTH_LOCK_HOLDER", "aws-bench"),
            ];
            let args = |file: &std::path::Path, extra: &[&str]| -> Vec<String> {
                let mut a =
                    vec!["--backend".into(), "aws".into(), "--endpoint-url".into(), proxy.endpoint(), "--region".into(), region.into()];
                a.extend(["--allow-mutable-tags".to_string(), "-f".into(), file.display().to_string()]);
                a.extend(extra.iter().map(|s| s.to_string()));
                a
            };
            let step = |name: &str, file: &std::path::Path, extra: &[&str], expect: &[i32]| {
                proxy.take_over_limit();
                proxy.take_operations();
                if buckets {
                    proxy.enforce_buckets(true); // the account was idle before this step
                }
                let run = berth(&args(file, extra), &env);
                let calls = proxy.take_operations();
                let throttled = proxy.take_over_limit();
                assert!(expect.contains(&run.code), "{name} exited {}:\n{}", run.code, run.stderr);
                println!(
                    "  {name:<28} {:>9}   throttled {throttled:>3}   minimum by the buckets {:>9}   {}",
                    secs(run.took),
                    secs(bucket_minimum(&calls)),
                    show_calls(&calls)
                );
                run.took
            };
            println!("N = {n} ({mode}; region {region})");
            let plan_empty = step("plan (empty account)", &files[0], &["plan", "--detailed-exitcode"], &[2]);
            let apply = step("apply from empty", &files[0], &["apply", "--yes", "--wait", "none"], &[0]);
            // moto drops some service fields on create: one more apply settles them (not timed as a step of interest).
            step("(settle moto's dropped fields)", &files[0], &["apply", "--yes", "--wait", "none"], &[0]);
            let plan = step("plan (applied, no changes)", &files[0], &["plan", "--detailed-exitcode"], &[0]);
            let change = step("image change on every service", &files[1], &["apply", "--yes", "--wait", "none"], &[0]);
            let read = {
                let proxied = Moto { endpoint: proxy.endpoint() };
                let sdk = block_on(proxied.sdk(region));
                proxy.take_operations();
                let took = minimal_read(&sdk, &net.listener);
                println!("  {:<28} {:>9}   {}", "concurrent minimal read", secs(took), show_calls(&proxy.take_operations()));
                took
            };
            let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
            println!(
                "  ratios: apply from empty / plan {:.2}, image change / plan {:.2}, plan / minimal read {:.2} (empty-account plan {:.2} s)\n",
                ratio(apply, plan),
                ratio(change, plan),
                ratio(plan, read),
                plan_empty.as_secs_f64()
            );
        }
    }
}
