//! berth's library steps without the CLI, for tests that drive the engine
//! on the sim themselves: a spec's desired resources, and its plan.

use berth_provider::Provider;
use berth_sim::Sim;

/// The desired resources of the Compose file `yaml`.
pub fn desired(yaml: &str) -> berth_model::Desired {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("compose.yaml"), yaml).expect("write");
    let loaded = berth_spec::load(&berth_spec::LoadOptions { dir: dir.path().to_path_buf(), ..Default::default() })
        .unwrap_or_else(|d| panic!("{d}"));
    berth_model::lower(&loaded.app)
}

/// The plan of `desired` against the sim's account, without adoption.
pub fn plan(sim: &Sim, desired: &berth_model::Desired) -> berth_plan::Plan {
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    rt.block_on(async {
        let observed = sim.observe(&berth_plan::scope(desired)).await.expect("observe");
        let ctx =
            berth_plan::PlanContext { berth_version: "test".into(), backend: "sim".into(), priority_range: (1000, 1999), adopt: false };
        berth_plan::diff(desired, &observed, &ctx).expect("plan")
    })
}
