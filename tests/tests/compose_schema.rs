//! Every file of the corpus (../shared/corpus/compose) against the official
//! Compose JSON Schema, vendored at tests/schema/compose-spec.json (from
//! github.com/compose-spec/compose-spec, schema/compose-spec.json at commit
//! 170098ba07d9f53c383a41bfd4c5166b0a4529a6, 2026-06-23; draft-07).
//!
//! berth accepts every file the schema accepts, warnings allowed, except
//! where ECS cannot do what the file asks: each such refusal names the key
//! and its line, and is listed here with its reason.

use berth_tests::{repo_root, shared_dir, Berth};

/// What ECS cannot do, by the text of berth's error: (pattern, reason).
const ECS_REFUSALS: &[(&str, &str)] = &[
    (
        "host paths do not exist on Fargate",
        "a bind mount of a host path: Fargate tasks have no host file system to mount from (a small file of the repository becomes a config; the corpus holds only the compose files)",
    ),
    (
        "file secrets cannot be used on ECS",
        "a `file:` secret with no ARN: ECS reads secrets from Secrets Manager or SSM only, and berth never uploads secret values (map it with x-berth.secrets)",
    ),
    ("is not available on ECS", "a platform ECS does not run (wasi/wasm)"),
];

fn corpus_files() -> Vec<String> {
    let corpus = shared_dir().join("corpus").join("compose");
    let mut files: Vec<String> = std::fs::read_dir(&corpus)
        .expect("corpus")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let dir = e.file_name().to_string_lossy().into_owned();
            ["compose.yaml", "compose.yml"].iter().find(|f| e.path().join(f).is_file()).map(|f| format!("{dir}/{f}"))
        })
        .collect();
    files.sort();
    files
}

#[test]
fn berth_accepts_what_the_compose_schema_accepts() {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_root().join("tests/schema/compose-spec.json")).expect("vendored schema"))
            .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("a valid JSON Schema");
    let corpus = shared_dir().join("corpus").join("compose");
    let files = corpus_files();
    assert!(files.len() >= 26, "{} corpus files", files.len());
    let mut report = String::new();
    for file in &files {
        let text = std::fs::read_to_string(corpus.join(file)).expect("read");
        let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("corpus YAML");
        let json = serde_json::to_value(&yaml).expect("YAML as JSON");
        let schema_errors: Vec<String> = validator.iter_errors(&json).map(|e| format!("{} at {}", e, e.instance_path())).collect();
        let out = Berth::new(&corpus).args(["-f", file, "validate"]).run();
        let errors: Vec<&str> =
            out.stderr.lines().filter(|l| l.starts_with("error: ") && !l.starts_with("error: the spec is invalid")).collect();
        if !schema_errors.is_empty() {
            report.push_str(&format!("{file}: refused by the schema: {}\n", schema_errors.join("; ")));
            continue;
        }
        if errors.is_empty() {
            assert_eq!(out.code, 0, "{file}: {}", out.stderr);
            report.push_str(&format!("{file}: accepted\n"));
            continue;
        }
        for e in errors {
            let reason = ECS_REFUSALS
                .iter()
                .find(|(pattern, _)| e.contains(pattern))
                .map(|(_, reason)| *reason)
                .unwrap_or_else(|| panic!("{file}: the schema accepts it, and berth refuses it for no ECS reason: {e}"));
            // `error: FILE:LINE:COL: KEY: ...`
            let place = e.trim_start_matches("error: ").split(": ").take(2).collect::<Vec<_>>().join(" ");
            report.push_str(&format!("{file}: ECS refusal at {place}: {reason}\n"));
        }
    }
    insta::assert_snapshot!(report);
}
