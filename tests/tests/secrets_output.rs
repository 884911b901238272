//! No secret in any output: every command and output format, on a spec with
//! secret-looking environment values, passwords in URLs and external
//! secrets, with all of stdout and stderr searched for each value. Only the
//! saved plan file holds them (apply sends them), and it is mode 0600.

use std::path::{Path, PathBuf};

use berth_tests::{ok, plan_json, Berth, Output};

/// The values no output may show, whatever the command or format.
const DB_PASSWORD_1: &str = "Pw-db-71Qx";
const DB_PASSWORD_2: &str = "Pw-db-82Ry";
const API_TOKEN: &str = "tok_5Jm9Wz3cVb";
const AWS_SECRET: &str = "wJalrXUtnFEMIK7MDENGbPxRfiCYzz";
const URL_PASSWORD: &str = "s3cr3tpw";
const COMMAND_URL_PASSWORD: &str = "c4ch3pw-Lk2";
const SECRETS: [&str; 6] = [DB_PASSWORD_1, DB_PASSWORD_2, API_TOKEN, AWS_SECRET, URL_PASSWORD, COMMAND_URL_PASSWORD];

const SPEC: &str = r#"name: vault
x-berth:
  region: ap-northeast-2
  network:
    vpc_id: vpc-0vault
    subnets: [subnet-0a, subnet-0b]
    security_groups: [sg-0vault]
  load_balancer:
    listener: arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:listener/app/vault/50dc6c495c0c9188/f2f7dc8efc522ab2
  execution_role_arn: arn:aws:iam::123456789012:role/vault-execution
services:
  api:
    image: nginx:${TAG:-1.27}
    command: ["serve", "--cache", "redis://:c4ch3pw-Lk2@cache.internal:6379/0"]
    ports: ["80"]
    environment:
      DB_PASSWORD: ${DB_PASSWORD:?set DB_PASSWORD from the vault}
      API_TOKEN: tok_5Jm9Wz3cVb
      AWS_SECRET_ACCESS_KEY: wJalrXUtnFEMIK7MDENGbPxRfiCYzz
      DATABASE_URL: postgres://app:s3cr3tpw@db/app
      LOG_LEVEL: info
    secrets: [db-admin]
    deploy:
      replicas: 2
      resources: { limits: { cpus: "0.25", memory: 512M } }
    x-berth:
      route: { paths: ["/*"], health_path: / }
secrets:
  db-admin:
    external: true
    name: arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:vault/db-admin-AbCdEf
"#;

struct Vault {
    dir: tempfile::TempDir,
    /// Every output so far, labelled by its command line.
    seen: Vec<(String, Output)>,
}

impl Vault {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("compose.yaml"), SPEC).expect("write spec");
        Vault { dir, seen: Vec::new() }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn berth(&self, spec: &str, password: Option<&str>) -> Berth {
        let b = Berth::new(self.dir.path()).args(["--sim-state", &self.path("sim.json").display().to_string(), "-f", spec]);
        match password {
            Some(p) => b.env("DB_PASSWORD", p),
            None => b,
        }
    }

    /// Runs `berth -f <spec> <args>` with DB_PASSWORD in the environment, and keeps the output.
    fn run(&mut self, spec: &str, password: Option<&str>, args: &[&str]) -> Output {
        let out = self.berth(spec, password).args(args.iter().copied()).run();
        self.seen.push((format!("{spec} {password:?} {}", args.join(" ")), out.clone()));
        out
    }

    fn ok(&mut self, args: &[&str]) -> Output {
        let out = self.run("compose.yaml", Some(DB_PASSWORD_1), args);
        ok(&out);
        out
    }

    /// No output so far shows a secret, or a digest in its mask.
    fn assert_nothing_leaked(&self) {
        let mut leaks = Vec::new();
        for (label, out) in &self.seen {
            for (stream, text) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
                for secret in SECRETS {
                    if text.contains(secret) {
                        leaks.push(format!("`{label}` {stream} shows {secret}:\n{text}"));
                    }
                }
                if text.contains("sha256 ") {
                    leaks.push(format!("`{label}` {stream} shows a digest in a mask:\n{text}"));
                }
                for (i, _) in text.match_indices("(sensitive") {
                    let rest = &text[i + "(sensitive".len()..];
                    if !(rest.starts_with(')') || rest.starts_with(", changed)")) {
                        leaks.push(format!(
                            "`{label}` {stream}: a mask that is not the fixed marker: {}",
                            &text[i..(i + 60).min(text.len())]
                        ));
                    }
                }
            }
        }
        assert!(leaks.is_empty(), "{} leaks:\n{}", leaks.len(), leaks.join("\n\n"));
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

/// The value a JSON plan shows for one environment variable of the API's task definition, before and after.
fn shown_env(plan: &serde_json::Value, name: &str) -> (serde_json::Value, serde_json::Value) {
    let change = plan["changes"].as_array().expect("changes").iter().find(|c| c["address"] == "taskdef.api").expect("taskdef.api change");
    let value = |side: &str| {
        change[side]["containerDefinitions"][0]["environment"]
            .as_array()
            .and_then(|env| env.iter().find(|e| e["name"] == name))
            .map(|e| e["value"].clone())
            .unwrap_or_default()
    };
    (value("before"), value("after"))
}

#[test]
fn no_command_or_format_shows_a_secret() {
    let mut v = Vault::new();
    v.ok(&["validate"]);
    let render = v.ok(&["render"]);
    assert!(render.stdout.contains("\"name\": \"DB_PASSWORD\"") && render.stdout.contains("(sensitive)"), "{}", render.stdout);
    assert!(render.stdout.contains("postgres://app:(sensitive)@db/app"), "the rest of a URL is shown:\n{}", render.stdout);
    assert!(
        render.stdout.contains("secretsmanager:ap-northeast-2:123456789012:secret:vault/db-admin"),
        "an external secret is a reference, shown"
    );
    v.ok(&["render", "--format", "yaml"]);
    v.ok(&["iam-policy"]);
    v.ok(&["images"]);

    // Plans against an empty account, every format; then a saved one.
    v.ok(&["plan"]);
    v.ok(&["plan", "--format", "markdown"]);
    let json = v.ok(&["plan", "--format", "json"]);
    let (_, after) = shown_env(&plan_json(&json), "DB_PASSWORD");
    assert_eq!(after, "(sensitive)", "a create has nothing to compare with");
    assert!(json.stdout.contains("\"info\""), "other values are shown");
    assert_eq!(v.run("compose.yaml", Some(DB_PASSWORD_1), &["plan", "--detailed-exitcode"]).code, 2);

    // The saved plan: readable by its owner only, even over a file that was readable by all.
    let saved = v.path("plan.json");
    std::fs::write(&saved, "{}").expect("write");
    #[cfg(unix)]
    std::fs::set_permissions(&saved, std::os::unix::fs::PermissionsExt::from_mode(0o644)).expect("chmod");
    v.ok(&["plan", "-o", "plan.json"]);
    #[cfg(unix)]
    assert_eq!(mode(&saved), 0o600, "the saved plan holds the secrets: owner only");
    let text = std::fs::read_to_string(&saved).expect("read plan");
    assert!(text.contains(DB_PASSWORD_1) && text.contains(URL_PASSWORD), "the saved plan keeps what apply sends");
    v.ok(&["apply", "plan.json", "--yes"]);
    let sent = serde_json::to_string(&berth_sim::Sim::open(&v.path("sim.json")).expect("sim").state().task_definitions).expect("json");
    assert!(sent.contains(DB_PASSWORD_1) && sent.contains(URL_PASSWORD) && !sent.contains("(sensitive"), "apply sent the real values");

    v.ok(&["status"]);
    v.ok(&["status", "--format", "json"]);
    assert_eq!(v.run("compose.yaml", Some(DB_PASSWORD_1), &["plan", "--detailed-exitcode"]).code, 0);

    // A changed secret shows as changed; the unchanged ones do not.
    let changed = v.run("compose.yaml", Some(DB_PASSWORD_2), &["plan", "--format", "json"]);
    ok(&changed);
    let plan = plan_json(&changed);
    assert_eq!(shown_env(&plan, "DB_PASSWORD"), ("(sensitive)".into(), "(sensitive, changed)".into()));
    assert_eq!(shown_env(&plan, "API_TOKEN"), ("(sensitive)".into(), "(sensitive)".into()));
    assert_eq!(shown_env(&plan, "DATABASE_URL"), ("postgres://app:(sensitive)@db/app".into(), "postgres://app:(sensitive)@db/app".into()));
    let human = v.run("compose.yaml", Some(DB_PASSWORD_2), &["plan"]);
    assert_eq!(human.stdout.matches("(sensitive, changed)").count(), 1, "only DB_PASSWORD changed:\n{}", human.stdout);
    assert!(human.stdout.contains("+          \"value\": \"(sensitive, changed)\""), "{}", human.stdout);
    let markdown = v.run("compose.yaml", Some(DB_PASSWORD_2), &["plan", "--format", "markdown"]);
    assert_eq!(markdown.stdout.matches("(sensitive, changed)").count(), 1, "{}", markdown.stdout);

    // A plan that changes a secret, saved, then made stale by that change
    // applied meanwhile; and applied with the secret changed back in the spec.
    ok(&v.run("compose.yaml", Some(DB_PASSWORD_2), &["plan", "-o", "stale.json"]));
    ok(&v.run("compose.yaml", Some(DB_PASSWORD_2), &["apply", "--yes"]));
    for password in [DB_PASSWORD_2, DB_PASSWORD_1] {
        let stale = v.run("compose.yaml", Some(password), &["apply", "stale.json", "--yes"]);
        assert_eq!(stale.code, 1, "{}", stale.stderr);
        assert!(stale.stderr.contains("stale") || stale.stderr.contains("the spec changed"), "{}", stale.stderr);
    }
    // A JSON plan from stdout is not a plan to apply: it holds masks, not values.
    let shown = v.ok(&["plan", "--format", "json"]);
    std::fs::write(v.path("shown.json"), &shown.stdout).expect("write");
    let shown = v.run("compose.yaml", Some(DB_PASSWORD_1), &["apply", "shown.json", "--yes"]);
    assert_eq!(shown.code, 1, "a redacted plan is refused:\n{}", shown.stderr);
    assert!(shown.stderr.contains("is a plan printed for display, with its sensitive values masked"), "{}", shown.stderr);

    // Apply with JSON events, a failing deployment, a rollback, then destroy.
    v.ok(&["apply", "--yes", "--format", "json"]);
    let failed = v.run("compose.yaml", Some(DB_PASSWORD_1), &["--var", "TAG=crashloop", "apply", "--yes"]);
    assert_eq!(failed.code, 3, "{}", failed.stderr);
    let failed = v.run("compose.yaml", Some(DB_PASSWORD_2), &["--var", "TAG=crashloop", "apply", "--yes", "--format", "json"]);
    assert_eq!(failed.code, 3, "{}", failed.stderr);
    v.run("compose.yaml", Some(DB_PASSWORD_1), &["rollback", "--yes"]);
    v.run("compose.yaml", Some(DB_PASSWORD_1), &["rollback", "--yes", "--format", "json"]);
    v.ok(&["status"]);
    v.ok(&["status", "--format", "json"]);
    v.ok(&["destroy", "--yes"]);
    v.ok(&["destroy", "--yes", "--format", "json"]);
    v.assert_nothing_leaked();
}

#[test]
fn errors_do_not_show_a_secret() {
    let mut v = Vault::new();
    // A required variable unset: the message names it, and no other value.
    let out = v.run("compose.yaml", None, &["plan"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("DB_PASSWORD"), "{}", out.stderr);
    // An invalid spec holding secrets: every error and warning, no value.
    let broken = SPEC
        .replace("ports: [\"80\"]", "ports: [\"80\"]\n    cpu_shares: lots")
        .replace("secrets: [db-admin]", "secrets: [db-admin, nope]");
    std::fs::write(v.path("broken.yaml"), broken).expect("write");
    for args in [&["validate"][..], &["render"], &["plan", "--format", "json"], &["apply", "--yes"]] {
        assert_eq!(v.run("broken.yaml", Some(DB_PASSWORD_1), args).code, 1, "{args:?}");
    }
    // An interpolation error in a URL with a password: the error quotes the URL, masked.
    std::fs::write(v.path("url.yaml"), SPEC.replace("postgres://app:s3cr3tpw@db/app", "postgres://app:s3cr3tpw@db/${DB_NAME"))
        .expect("write");
    let out = v.run("url.yaml", Some(DB_PASSWORD_1), &["validate"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("url.yaml:") && out.stderr.contains("DATABASE_URL"), "located: {}", out.stderr);
    // A saved plan that is not a plan, one for another spec, and throttling that runs out.
    std::fs::write(v.path("garbage.json"), format!("{{\"app\": \"{API_TOKEN}\", \"spec_digest\": {AWS_SECRET}}}")).expect("write");
    assert_eq!(v.run("compose.yaml", Some(DB_PASSWORD_1), &["apply", "garbage.json", "--yes"]).code, 1);
    let out = v.berth("compose.yaml", Some(DB_PASSWORD_1)).env("BERTH_SIM_FAULTS", "throttle=9").args(["apply", "--yes"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    v.seen.push(("apply --yes (throttled)".into(), out));
    v.assert_nothing_leaked();
}

/// The outputs of `validate` and `plan --format json` of the spec with
/// API_TOKEN's value replaced, and any that shows a piece of that value.
fn leaks_of_token(file: &str, token: &str) -> Vec<String> {
    let mut v = Vault::new();
    std::fs::write(v.path(file), SPEC.replace("API_TOKEN: tok_5Jm9Wz3cVb", &format!("API_TOKEN: {token}"))).expect("write");
    let out = v.run(file, Some(DB_PASSWORD_1), &["validate"]);
    assert!(out.stderr.contains(&format!("{file}:")), "located: {}", out.stderr);
    v.run(file, Some(DB_PASSWORD_1), &["plan", "--format", "json"]);
    v.assert_nothing_leaked();
    let mut leaks = Vec::new();
    for (label, out) in &v.seen {
        for part in ["tok_5Jm9", "Wz3cVb"] {
            if out.stderr.contains(part) || out.stdout.contains(part) {
                leaks.push(format!("`{label}` shows {part}:\n{}", out.stderr));
            }
        }
    }
    leaks
}

/// A `$` in a secret value (a password written without `$$`) that starts
/// nothing valid is an error: it names where, never the value.
#[test]
fn an_interpolation_error_in_a_secret_value_does_not_show_it() {
    let leaks = leaks_of_token("invalid.yaml", "tok_5Jm9$-Wz3cVb!");
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}

/// `$Wz3cVb` in a secret value reads an unset variable: the warning should
/// not name it, since the name is a piece of the password.
#[test]
fn an_unset_variable_in_a_secret_value_is_not_named() {
    let leaks = leaks_of_token("unset.yaml", "tok_5Jm9$Wz3cVb!");
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
}
