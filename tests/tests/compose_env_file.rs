//! Services' `env_file` end to end (Compose Specification, "env_file"): the
//! files are read at plan time, relative to the compose file, into the
//! container's environment, with `environment:` winning; a value that looks
//! like a secret gets the same warning and masking as one in `environment:`.

use berth_tests::{Berth, SimAccount};

const SPEC: &str = "name: envf\nx-berth:\n  region: ap-northeast-2\n  network: { subnets: [subnet-1], security_groups: [sg-1] }\nservices:\n  web:\n    image: nginx:1.27\n    env_file: [config/app.env, { path: config/local.env, required: false }]\n    environment: { MODE: own }\n";

#[test]
fn env_file_values_reach_the_container_and_secrets_are_masked() {
    let account = SimAccount::new();
    std::fs::create_dir_all(account.dir().join("config")).expect("mkdir");
    std::fs::write(account.dir().join("compose.yaml"), SPEC).expect("write");
    std::fs::write(account.dir().join("config/app.env"), "MODE=file\nZIP=01234\nDB_PASSWORD=hunter2-s3cret\n").expect("write");
    let berth = || Berth::new(account.dir()).args(["--sim-state".to_string(), account.state_path().display().to_string()]);

    let out = berth().args(["render"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("\"01234\""), "{}", out.stdout);
    assert!(out.stdout.contains("\"own\"") && !out.stdout.contains("\"file\""), "environment: wins: {}", out.stdout);
    assert!(out.stderr.contains("DB_PASSWORD looks like a secret"), "{}", out.stderr);

    let out = berth().args(["plan"]).run();
    assert!(!out.stdout.contains("hunter2") && !out.stderr.contains("hunter2"), "masked in plans:\n{}", out.stdout);

    // A missing required file names the key and line.
    std::fs::remove_file(account.dir().join("config/app.env")).expect("rm");
    let out = berth().args(["validate"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("compose.yaml:8:16: services.web.env_file[0]: env file config/app.env not found"), "{}", out.stderr);
}
