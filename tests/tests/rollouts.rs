//! Rollouts on the sim, watched at every simulated instant.

use berth_engine::{ApplyOptions, Collect};
use berth_provider::Provider;
use berth_sim::{Sample, Sim};

fn desired(yaml: &str) -> (berth_model::Desired, (u32, u32)) {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("compose.yaml"), yaml).expect("write");
    let loaded = berth_spec::load(&berth_spec::LoadOptions { dir: dir.path().to_path_buf(), ..Default::default() })
        .unwrap_or_else(|d| panic!("spec: {d}"));
    (berth_model::lower(&loaded.app), berth_spec::resolve::DEFAULT_PRIORITY_RANGE)
}

/// Plans and applies `yaml` on `sim`; returns whether apply succeeded.
fn apply(sim: &Sim, yaml: &str) -> bool {
    let (desired, priority_range) = desired(yaml);
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("runtime");
    rt.block_on(async {
        let observed = sim.observe(&berth_plan::scope(&desired)).await.expect("observe");
        let ctx = berth_plan::PlanContext { berth_version: "test".into(), backend: "sim".into(), priority_range, adopt: false };
        let plan = berth_plan::diff(&desired, &observed, &ctx).expect("plan");
        berth_engine::apply(&plan, sim, &ApplyOptions::default(), &Collect::default()).await.ok()
    })
}

fn web(image: &str, update_config: &str) -> String {
    format!("name: r\nservices:\n  web:\n    image: {image}\n    deploy:\n      replicas: 4\n      update_config: {update_config}\n")
}

fn revision_healthy(s: &Sample, rev: &str) -> u32 {
    s.healthy_by_revision.iter().find(|(r, _)| r.ends_with(rev)).map_or(0, |(_, n)| *n)
}

/// The seeds' example: 4 tasks, minimum healthy 50 %, maximum 100 %. ECS
/// stops 2 old tasks, starts 2 new, and when they are healthy replaces the
/// other 2. At no instant fewer than 2 healthy or more than 4 in all.
#[test]
fn rolling_4_tasks_50_100_stays_within_its_bounds() {
    let sim = Sim::new();
    assert!(apply(&sim, &web("app:v1", "{ parallelism: 2, order: stop-first }")));
    let svc = sim.state().services["r-web"].spec.deployment_configuration.clone();
    assert_eq!((svc.minimum_healthy_percent, svc.maximum_percent), (50, 100));
    sim.record_history();
    assert!(apply(&sim, &web("app:v2", "{ parallelism: 2, order: stop-first }")));
    let samples: Vec<Sample> = sim.history().into_iter().filter(|s| s.service == "r-web").collect();
    assert!(samples.len() > 10, "the rollout was observed at many instants");
    for s in &samples {
        assert!(s.healthy >= 2, "below 2 healthy at {}: {s:?}", s.at_ms);
        assert!(s.total <= 4, "above 4 tasks at {}: {s:?}", s.at_ms);
    }
    // It did happen in two steps of two.
    // (Stopped tasks leave and their replacements are launched in the same instant.)
    assert!(samples.iter().any(|s| s.healthy == 2 && revision_healthy(s, ":1") == 2 && s.total == 4), "2 old stopped, 2 new starting");
    // Healthy (old, new) over time: two steps of two.
    let mut steps: Vec<(u32, u32)> = samples.iter().map(|s| (revision_healthy(s, ":1"), revision_healthy(s, ":2"))).collect();
    steps.dedup();
    assert_eq!(steps, vec![(4, 0), (2, 0), (0, 2), (0, 4)]);
    let last = samples.last().expect("samples");
    assert_eq!((revision_healthy(last, ":2"), last.total), (4, 4));
}

/// With ECS's defaults (100/200) the old tasks stay until the new ones are healthy.
#[test]
fn rolling_100_200_never_drops_below_desired() {
    let sim = Sim::new();
    let spec = |img: &str| format!("name: r\nservices:\n  web:\n    image: {img}\n    deploy:\n      replicas: 4\n");
    assert!(apply(&sim, &spec("app:v1")));
    sim.record_history();
    assert!(apply(&sim, &spec("app:v2")));
    let samples: Vec<Sample> = sim.history().into_iter().filter(|s| s.service == "r-web").collect();
    assert!(samples.iter().all(|s| s.healthy >= 4 && s.total <= 8), "{samples:?}");
    assert!(samples.iter().any(|s| s.total == 8), "start-first: up to 8 at once");
}

/// A crash-looping image: the circuit breaker fails the deployment and
/// rolls back; the previous revision serves at every instant.
#[test]
fn crash_loop_rolls_back_and_the_old_revision_serves_throughout() {
    let sim = Sim::new();
    let spec = |img: &str| format!("name: r\nservices:\n  web:\n    image: {img}\n    deploy:\n      replicas: 2\n");
    assert!(apply(&sim, &spec("app:v1")));
    sim.record_history();
    assert!(!apply(&sim, &spec("app:crashloop")), "the apply fails");
    let samples: Vec<Sample> = sim.history().into_iter().filter(|s| s.service == "r-web").collect();
    assert!(samples.iter().all(|s| s.healthy >= 2), "{samples:?}");
    let state = sim.state();
    let d = state.services["r-web"].deployments.last().expect("deployment").clone();
    assert!(d.task_definition.ends_with(":1") && d.rollout_state == "COMPLETED", "{d:?}");
}
