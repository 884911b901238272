//! Every example in examples/ validates, renders (snapshot), and passes the
//! JSON Schema `berth schema` prints.

use berth_tests::{repo_root, Berth};

fn examples() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo_root().join("examples"))
        .expect("examples/ exists")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("compose.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 3, "expected at least three examples, found {names:?}");
    names
}

fn berth(example: &str) -> Berth {
    Berth::new(repo_root()).args(["-f".to_string(), format!("examples/{example}/compose.yaml"), "--var".into(), "TAG=abc1234".into()])
}

#[test]
fn examples_validate_without_errors() {
    for example in examples() {
        let out = berth(&example).args(["validate"]).run();
        assert_eq!(out.code, 0, "{example}:\n{}", out.stderr);
        assert!(out.stderr.contains("is valid"), "{example}:\n{}", out.stderr);
    }
}

#[test]
fn render_snapshots() {
    for example in examples() {
        let out = berth(&example).args(["render"]).run();
        assert_eq!(out.code, 0, "{example}:\n{}", out.stderr);
        let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{example}: stdout is JSON only: {e}"));
        insta::assert_json_snapshot!(format!("render_{example}"), json);
    }
}

#[test]
fn render_yaml_is_the_same_data_as_json() {
    let json: serde_json::Value = serde_json::from_str(&berth("shop").args(["render"]).run().stdout).expect("json");
    let yaml: serde_json::Value = serde_yaml::from_str(&berth("shop").args(["render", "--format", "yaml"]).run().stdout).expect("yaml");
    assert_eq!(json, yaml);
}

#[test]
fn schema_validates_every_example() {
    let out = Berth::new(repo_root()).args(["schema"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let schema: serde_json::Value = serde_json::from_str(&out.stdout).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema");
    for example in examples() {
        let text = std::fs::read_to_string(repo_root().join("examples").join(&example).join("compose.yaml")).expect("read");
        let instance: serde_json::Value = serde_yaml::from_str(&text).expect("example is YAML");
        let errors: Vec<String> = validator.iter_errors(&instance).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        assert!(errors.is_empty(), "{example} fails the schema: {errors:#?}");
    }
    // And the schema does reject what the spec rejects.
    let bad: serde_json::Value = serde_yaml::from_str("services: {web: {image: nginx, deploy: {replicas: four}}}").expect("yaml");
    assert!(!validator.is_valid(&bad), "replicas: four must fail the schema");
}
