//! Profiles on a live account (Compose Specification, "Profiles"): a service
//! whose profiles are all inactive is not deployed, and — as `docker compose
//! up` leaves the containers of inactive profiles running — berth leaves its
//! live resources alone instead of deleting them.

use berth_tests::{ok, plan_changes, plan_json, Berth, SimAccount};

const SPEC: &str = "name: prof\nx-berth:\n  region: ap-northeast-2\n  network: { subnets: [subnet-1], security_groups: [sg-1] }\nservices:\n  web:\n    image: nginx:1.27\n  debug:\n    image: busybox:1.36\n    profiles: [debug]\n";

fn berth(account: &SimAccount) -> Berth {
    std::fs::write(account.dir().join("compose.yaml"), SPEC).expect("write");
    Berth::new(account.dir()).args(["--sim-state".to_string(), account.state_path().display().to_string()])
}

#[test]
fn inactive_profile_services_are_not_deployed_and_their_live_resources_stay() {
    let account = SimAccount::new();
    // Without the profile: only web.
    let json = plan_json(&berth(&account).args(["plan", "--format", "json"]).run());
    let addresses: Vec<String> = plan_changes(&json).into_iter().map(|(a, _, _)| a).collect();
    assert!(addresses.contains(&"service.web".to_string()) && !addresses.iter().any(|a| a.contains("debug")), "{addresses:?}");

    // With it (flag or COMPOSE_PROFILES): both are deployed.
    ok(&berth(&account).args(["--compose-profile", "debug", "apply", "--yes"]).run());
    let out = berth(&account).env("COMPOSE_PROFILES", "debug").args(["plan", "--detailed-exitcode"]).run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);

    // Profile off again: nothing to delete, debug keeps running; the warning says so.
    let out = berth(&account).args(["plan", "--detailed-exitcode"]).run();
    assert_eq!(out.code, 0, "no changes expected:\n{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("services.debug: none of this service's profiles is active"), "{}", out.stderr);
    let running = account.read(|s| serde_json::to_string(s).unwrap_or_default());
    assert!(running.contains("prof-debug"), "debug's service is still live");
}
