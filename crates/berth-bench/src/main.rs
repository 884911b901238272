//! `cargo run --release -p berth-bench [SERVICES]`: times the CPU-bound
//! steps of a plan for an app of SERVICES services (default 1000) — spec
//! load (parse, interpolate, validate), lowering, diff against an empty and
//! against a matching account — and an apply on the sim. Each step runs
//! several times; the median is printed. See BENCHMARKS.md.

use std::time::{Duration, Instant};

use berth_engine::{ApplyOptions, Collect, WaitMode};
use berth_provider::Provider;

fn spec(services: usize) -> String {
    let mut s = String::from(
        "name: big\nx-berth:\n  network: { vpc_id: vpc-1, subnets: [subnet-a, subnet-b], security_groups: [sg-1] }\n  load_balancer: { listener: arn:aws:elasticloadbalancing:r:1:listener/app/big/1/2, priority_range: [1, 49999] }\n  discovery: { namespace: big.local }\nservices:\n",
    );
    for i in 0..services {
        s.push_str(&format!(
            "  svc{i}:\n    image: registry.example.com/big/svc{i}:${{TAG:-v1}}\n    ports: [\"8080\"]\n    environment:\n      INDEX: \"{i}\"\n      LOG_LEVEL: info\n      PEER: http://svc{}.big.local:8080\n    healthcheck: {{ test: [CMD, curl, -f, http://localhost:8080/health], interval: 10s }}\n    deploy:\n      replicas: 2\n      resources: {{ limits: {{ cpus: \"0.5\", memory: 1G }} }}\n      update_config: {{ parallelism: 1, order: start-first }}\n    x-berth:\n      route: {{ paths: [\"/svc{i}/*\"] }}\n",
            (i + 1) % services
        ));
    }
    s
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        last = Some(f());
        times.push(start.elapsed());
    }
    (median(times), last.expect("at least one run"))
}

fn main() {
    let services: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let runs = 5;
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("compose.yaml"), spec(services)).expect("write spec");
    let opts = berth_spec::LoadOptions { dir: dir.path().to_path_buf(), ..Default::default() };

    let (load, loaded) = time(runs, || berth_spec::load(&opts).unwrap_or_else(|d| panic!("{d}")));
    let (lower, desired) = time(runs, || berth_model::lower(&loaded.app));
    let ctx = berth_plan::PlanContext { berth_version: "bench".into(), backend: "sim".into(), priority_range: (1, 49_999), adopt: false };
    let (diff_empty, plan) = time(runs, || berth_plan::diff(&desired, &berth_provider::Observed::default(), &ctx).expect("plan"));

    let sim = berth_sim::Sim::new();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let opts_apply = ApplyOptions { wait: WaitMode::None, ..ApplyOptions::default() };
    let start = Instant::now();
    let result = rt.block_on(berth_engine::apply(&plan, &sim, &opts_apply, &Collect::default()));
    let apply = start.elapsed();
    assert!(result.ok(), "{:?}", result.failed);
    let scope = berth_plan::scope(&desired);
    let (observe, observed) = time(runs, || rt.block_on(sim.observe(&scope)).expect("observe"));
    let (diff_same, same) = time(runs, || berth_plan::diff(&desired, &observed, &ctx).expect("plan"));
    assert!(!same.has_changes(), "a re-plan after apply is empty");

    println!("berth-bench: {services} services ({} resources), median of {runs} runs", desired.rendered().len());
    println!("  load spec (parse, interpolate, validate)  {:>9.1} ms", load.as_secs_f64() * 1e3);
    println!("  lower to resources                        {:>9.1} ms", lower.as_secs_f64() * 1e3);
    println!("  diff against an empty account             {:>9.1} ms", diff_empty.as_secs_f64() * 1e3);
    println!("  apply on the sim (no waiting, 1 run)      {:>9.1} ms", apply.as_secs_f64() * 1e3);
    println!("  observe the sim                           {:>9.1} ms", observe.as_secs_f64() * 1e3);
    println!("  diff against the matching account         {:>9.1} ms", diff_same.as_secs_f64() * 1e3);
    println!("  plan = load + lower + diff                {:>9.1} ms", (load + lower + diff_same).as_secs_f64() * 1e3);
}
