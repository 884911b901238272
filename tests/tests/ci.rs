//! CI and GitOps: the templates `berth init` writes, `--images-from`,
//! `berth images`, JSON event lines, markdown plans for pull requests.

use berth_tests::{ok, repo_root, shared_dir, Berth, SimAccount};
use clap::Parser;

/// The shell commands of a CI file: the strings under `commands` (CodeBuild)
/// and `run` (GitHub Actions) keys.
fn shell_commands(v: &serde_yaml::Value, under_command_key: bool, out: &mut Vec<String>) {
    match v {
        serde_yaml::Value::String(s) if under_command_key => out.push(s.clone()),
        serde_yaml::Value::Sequence(items) => items.iter().for_each(|i| shell_commands(i, under_command_key, out)),
        serde_yaml::Value::Mapping(m) => {
            for (k, val) in m {
                let is_command_key = matches!(k.as_str(), Some("commands" | "run"));
                shell_commands(val, is_command_key, out);
            }
        }
        _ => {}
    }
}

/// The `berth ...` command lines in a shell command, up to a pipe,
/// redirection or list operator.
fn berth_invocations(command: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for line in command.lines() {
        let Ok(words) = shell_words::split(line) else { continue };
        let mut i = 0;
        while i < words.len() {
            if words[i] == "berth" {
                let end = words[i..]
                    .iter()
                    .position(|w| ["|", ">", ">>", "&&", "||", ";", "<"].contains(&w.as_str()))
                    .map_or(words.len(), |p| i + p);
                out.push(words[i..end].to_vec());
                i = end;
            }
            i += 1;
        }
    }
    out
}

#[test]
fn every_berth_invocation_in_the_templates_is_a_real_command() {
    let mut checked = 0;
    for (file, at_least) in [("buildspec.yml", 3), ("github/berth.yml", 2)] {
        let text = std::fs::read_to_string(repo_root().join("templates").join(file)).expect("template");
        let doc: serde_yaml::Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{file} is YAML: {e}"));
        let mut all = Vec::new();
        shell_commands(&doc, false, &mut all);
        let invocations: Vec<Vec<String>> = all.iter().flat_map(|s| berth_invocations(s)).collect();
        assert!(invocations.len() >= at_least, "{file}: found {invocations:?}");
        for argv in invocations {
            if let Err(e) = berth::cli::Cli::try_parse_from(&argv) {
                panic!("{file}: `{}` is not a valid berth command line:\n{e}", argv.join(" "));
            }
            checked += 1;
        }
    }
    assert!(checked >= 5);
    // A made-up flag is caught the same way.
    assert!(berth::cli::Cli::try_parse_from(["berth", "plan", "--no-such-flag"]).is_err());
    assert!(berth::cli::Cli::try_parse_from(["berth", "deploy"]).is_err());
}

#[test]
fn init_writes_the_templates_and_never_overwrites_without_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = dir.path().join("shop");
    std::fs::create_dir(&app).expect("mkdir");
    let out = Berth::new(&app).args(["init"]).run();
    ok(&out);
    for f in ["compose.berth.yaml", "buildspec.yml", ".github/workflows/berth.yml", "berth-iam-policy.json"] {
        assert!(app.join(f).is_file(), "{f} written");
    }
    let policy: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(app.join("berth-iam-policy.json")).expect("read")).expect("policy is JSON");
    assert_eq!(policy["Version"], "2012-10-17");
    let buildspec: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(app.join("buildspec.yml")).expect("read")).expect("YAML");
    assert_eq!(buildspec["version"], serde_yaml::Value::from(0.2));
    std::fs::write(app.join("buildspec.yml"), "mine\n").expect("write");
    let again = Berth::new(&app).args(["init"]).run();
    assert_eq!(again.code, 1);
    assert!(
        again
            .stderr
            .contains("these files exist already: compose.berth.yaml, buildspec.yml, .github/workflows/berth.yml, berth-iam-policy.json; nothing was written"),
        "{}",
        again.stderr
    );
    assert_eq!(std::fs::read_to_string(app.join("buildspec.yml")).expect("read"), "mine\n");
    ok(&Berth::new(&app).args(["init", "--force"]).run());
    assert_ne!(std::fs::read_to_string(app.join("buildspec.yml")).expect("read"), "mine\n");
}

/// `berth init --from` on real Compose files: once the placeholders are
/// filled, the spec validates.
#[test]
fn init_from_corpus_files_validates_once_placeholders_are_filled() {
    for sample in ["wordpress-mysql", "nextcloud-postgres", "postgresql-pgadmin"] {
        let dir = tempfile::tempdir().expect("tempdir");
        let app = dir.path().join(sample);
        std::fs::create_dir(&app).expect("mkdir");
        std::fs::copy(shared_dir().join("corpus/compose").join(sample).join("compose.yaml"), app.join("compose.yaml")).expect("copy");
        let out = Berth::new(&app).args(["init", "--from", "compose.yaml"]).run();
        ok(&out);
        let spec = std::fs::read_to_string(app.join("compose.berth.yaml")).expect("spec written");
        let original = std::fs::read_to_string(app.join("compose.yaml")).expect("original");
        assert_eq!(
            original,
            std::fs::read_to_string(shared_dir().join("corpus/compose").join(sample).join("compose.yaml")).expect("read"),
            "the original is untouched"
        );
        assert!(spec.contains("REPLACE_ME"), "{sample}: placeholders to fill");
        let filled = spec
            .replace("REPLACE_ME_REGION", "ap-northeast-2")
            .replace("REPLACE_ME_VPC_ID", "vpc-0123")
            .replace("REPLACE_ME_SUBNET_A", "subnet-a")
            .replace("REPLACE_ME_SUBNET_B", "subnet-b")
            .replace("REPLACE_ME_SECURITY_GROUP", "sg-0123")
            .replace("REPLACE_ME_LISTENER_ARN", "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:listener/app/x/1/2")
            .replace("REPLACE_ME_EXECUTION_ROLE_ARN", "arn:aws:iam::123456789012:role/app-execution")
            .replace("REPLACE_ME_ACCOUNT", "123456789012");
        assert!(!filled.contains("REPLACE_ME"), "{sample}: every placeholder is one of the documented ones");
        std::fs::write(app.join("compose.berth.yaml"), filled).expect("write");
        let out = Berth::new(&app).args(["validate"]).run();
        assert_eq!(out.code, 0, "{sample}:\n{}", out.stderr);
        // And it plans and applies on the sim.
        ok(&Berth::new(&app).args(["apply", "--yes"]).run());
        assert_eq!(Berth::new(&app).args(["plan", "--detailed-exitcode"]).run().code, 0, "{sample}");
    }
}

fn imagedefinitions(account: &SimAccount, body: &str) -> String {
    let path = account.dir().join("imagedefinitions.json");
    std::fs::write(&path, body).expect("write");
    path.display().to_string()
}

#[test]
fn images_from_imagedefinitions_changes_exactly_the_named_containers() {
    let account = SimAccount::new();
    ok(&account.berth("shop", "v1").args(["apply", "--yes"]).run());
    // As CodePipeline's build stage writes it.
    let file = imagedefinitions(
        &account,
        r#"[{"name":"web","imageUri":"123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/shop/web:4f9c2e1"},{"name":"worker","imageUri":"123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/shop/worker:4f9c2e1"}]"#,
    );
    let out = account
        .berth("shop", "v1")
        .args(["--images-from".to_string(), file.clone(), "plan".into(), "--format".into(), "json".into()])
        .run();
    ok(&out);
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let changes: Vec<(String, Vec<String>)> = plan["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["address"].as_str().unwrap_or_default().into(),
                c["changed"].as_array().map(|a| a.iter().filter_map(|p| p.as_str().map(str::to_string)).collect()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            ("taskdef.web".to_string(), vec!["containerDefinitions[web].image".to_string()]),
            ("taskdef.worker".to_string(), vec!["containerDefinitions[worker].image".to_string()]),
            ("service.web".to_string(), vec!["taskDefinition".to_string()]),
            ("service.worker".to_string(), vec!["taskDefinition".to_string()]),
        ]
    );
    let human = account.berth("shop", "v1").args(["--images-from".to_string(), file, "plan".into()]).run();
    insta::assert_snapshot!("images_from_plan", human.stdout);

    let bad = imagedefinitions(
        &account,
        "[\n  {\"name\": \"web\", \"imageUri\": \"x/web:1\"},\n  {\"name\": \"frontend\", \"imageUri\": \"x/frontend:1\"}\n]\n",
    );
    let out = account.berth("shop", "v1").args(["--images-from".to_string(), bad, "plan".into()]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("imagedefinitions.json:3:1: frontend: names no container of app shop"), "{}", out.stderr);
    assert!(out.stderr.contains("hint: the containers are: web, api, worker"), "{}", out.stderr);
}

#[test]
fn image_detail_json_sets_the_one_built_image() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("compose.yaml"), "name: app\nservices:\n  web:\n    build: .\n  db:\n    image: postgres:16\n")
        .expect("write");
    std::fs::write(
        dir.path().join("imageDetail.json"),
        r#"{"ImageURI":"123456789012.dkr.ecr.eu-west-1.amazonaws.com/app/web@sha256:0123456789abcdef"}"#,
    )
    .expect("write");
    let out = Berth::new(dir.path()).args(["--images-from", "imageDetail.json", "render"]).run();
    ok(&out);
    let r: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    let web = r["resources"].as_array().expect("resources").iter().find(|x| x["address"] == "taskdef.web").expect("taskdef.web");
    assert_eq!(
        web["spec"]["containerDefinitions"][0]["image"],
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app/web@sha256:0123456789abcdef"
    );
}

#[test]
fn images_lists_what_ci_must_build() {
    let out = Berth::new(repo_root()).args(["-f", "examples/shop/compose.yaml", "--var", "TAG=4f9c2e1", "images"]).run();
    ok(&out);
    assert_eq!(out.stdout, "api\t./api\tshop/api\t4f9c2e1\nworker\t./worker\tshop/worker\t4f9c2e1\n");
    let json =
        Berth::new(repo_root()).args(["-f", "examples/shop/compose.yaml", "--var", "TAG=4f9c2e1", "images", "--format", "json"]).run();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).expect("json");
    assert_eq!(v[0]["repository"], "shop/api");
    assert_eq!(v[0]["context"], "./api");
}

#[test]
fn commit_id_comes_from_codebuild() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("compose.yaml"), "name: app\nservices:\n  web:\n    image: registry.example.com/web:${COMMIT_ID}\n")
        .expect("write");
    let out = Berth::new(dir.path()).env("CODEBUILD_RESOLVED_SOURCE_VERSION", "4f9c2e1d8a7b6c5d4e3f").args(["render"]).run();
    ok(&out);
    assert!(out.stdout.contains("registry.example.com/web:4f9c2e1\""), "{}", out.stdout);
}

#[test]
fn json_events_validate_against_the_documented_schema() {
    let documented: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_root().join("docs/events.schema.json")).expect("docs/events.schema.json"))
            .expect("json");
    assert_eq!(documented, berth_engine::Event::json_schema(), "docs/events.schema.json is out of date: `berth schema --events`");
    let validator = jsonschema::validator_for(&documented).expect("schema");
    let account = SimAccount::new();
    let mut kinds = std::collections::BTreeSet::new();
    for (tag, args) in [
        ("1.27", vec!["apply", "--yes", "--format", "json"]),
        ("crashloop", vec!["apply", "--yes", "--format", "json"]),
        ("1.27", vec!["destroy", "--yes", "--format", "json"]),
    ] {
        let out = account.berth("web", tag).args(args).run();
        assert!(out.code == 0 || out.code == 3, "{}", out.stderr);
        assert!(!out.stdout.is_empty());
        for line in out.stdout.lines() {
            let event: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("each stdout line is one JSON object: {e}: {line}"));
            let errors: Vec<String> = validator.iter_errors(&event).map(|e| e.to_string()).collect();
            assert!(errors.is_empty(), "{line}: {errors:?}");
            kinds.insert(event["event"].as_str().unwrap_or_default().to_string());
        }
        assert!(out.stdout.lines().last().is_some_and(|l| l.contains("\"event\":\"apply_finished\"")), "the last line says how it ended");
    }
    for k in [
        "change_started",
        "change_done",
        "deployment_started",
        "progress",
        "service_event",
        "task_stopped",
        "deployment_completed",
        "deployment_failed",
        "rollback_started",
        "rollback_completed",
        "apply_finished",
    ] {
        assert!(kinds.contains(k), "no {k} event in {kinds:?}");
    }
}

#[test]
fn markdown_plan_of_a_200_service_change_fits_a_pull_request_comment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = String::from("name: big\nx-berth: { network: { subnets: [subnet-0a] } }\nservices:\n");
    for i in 0..200 {
        spec.push_str(&format!("  svc{i}:\n    image: registry.example.com/big/svc{i}:${{TAG}}\n    environment: {{ INDEX: \"{i}\", DATABASE_URL: postgres://db.internal:5432/app, FEATURE_FLAGS: \"a,b,c,d,e,f\" }}\n"));
    }
    std::fs::write(dir.path().join("compose.yaml"), spec).expect("write");
    let state = dir.path().join("sim.json");
    let state = state.display().to_string();
    ok(&Berth::new(dir.path()).args(["--sim-state", &state, "--var", "TAG=v1", "apply", "--yes", "--wait", "none"]).run());
    let out = Berth::new(dir.path()).args(["--sim-state", &state, "--var", "TAG=v2", "plan", "--format", "markdown"]).run();
    ok(&out);
    let md = out.stdout;
    assert!(md.len() < 65_000, "{} characters", md.len());
    assert!(md.contains("**Plan: 0 to create, 400 to update, 0 to replace, 0 to delete.**"), "{}", &md[..400]);
    assert_eq!(md.matches("\n| `~` |").count(), 400, "the table lists every change");
    assert!(md.contains("more diffs left out to stay within the comment size limit"), "long plans say what they left out");
    // 200 images outside ECR, each warned about, none silently.
    assert!(md.contains("<details><summary>200 warnings</summary>"), "{}", &md[..400]);
    assert!(md.contains("more warnings left out; run `berth plan` for all of them."));
}
