//! Interpolation as the Compose Specification defines it ("Interpolation")
//! and compose-go implements it (template/template.go; the type casts of
//! loader/interpolate.go). One row per rule: the YAML value of a service
//! key, the variables, and the value the project holds afterwards.

use std::collections::HashMap;
use std::path::PathBuf;

use berth_compose::node::{Node, Seg};
use berth_compose::project::{self, Options, SourceFile};
use serde_yaml::Value;

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn load(text: &str, env: &[(&str, &str)]) -> Result<project::Project, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = Options {
        files: vec![SourceFile { shown: "compose.yaml".into(), read: dir.path().join("compose.yaml"), text: text.to_string() }],
        dir: dir.path().to_path_buf(),
        process_env: vars(env),
        default_name: "demo".into(),
        ..Default::default()
    };
    project::load(&opts).map_err(|d| d.to_string())
}

fn at<'a>(tree: &'a Node, path: &[&str]) -> Option<&'a Node> {
    let segs: Vec<Seg> = path.iter().map(|s| s.parse::<usize>().map(Seg::Index).unwrap_or_else(|_| Seg::Key(s.to_string()))).collect();
    tree.lookup(&segs)
}

const BASE: &[(&str, &str)] = &[
    ("ZIP", "01234"),
    ("VER", "1.10"),
    ("EMPTY", ""),
    ("TRUE", "True"),
    ("EXP", "1e3"),
    ("JSON", "{\"b\":2}"),
    ("TAG", "v1"),
    ("N", "3"),
    ("YES", "yes"),
    ("OFF", "off"),
    ("HALF", "0.5"),
    ("PORT", "8080"),
    ("NUL", "null"),
    ("OCT", "0o17"),
    ("lower", "lc"),
];

/// (citation, key path under services.web, YAML of that key's value, expected value).
#[rustfmt::skip]
const ROWS: &[(&str, &str, &str, &str)] = &[
    // Substituted values are strings, never re-read by YAML.
    ("spec Interpolation: values are strings; compose-go keeps \"01234\"", "environment.ZIP", "${ZIP}", "\"01234\""),
    ("spec Interpolation: \"1.10\" stays text", "environment.V", "${VER}", "\"1.10\""),
    ("compose-go: an empty value is kept as \"\"", "environment.E", "${EMPTY}", "\"\""),
    ("compose-go: True is not re-typed", "environment.T", "${TRUE}", "\"True\""),
    ("compose-go: 1e3 is not re-typed", "environment.X", "${EXP}", "\"1e3\""),
    ("compose-go: null is the text null", "environment.U", "${NUL}", "\"null\""),
    ("compose-go: 0o17 is the text 0o17", "environment.O", "${OCT}", "\"0o17\""),
    ("compose-go: text around a variable", "environment.A", "zip-${ZIP}", "\"zip-01234\""),
    ("a plain YAML value with no variable is YAML's", "environment.P", "5", "5"),
    ("a quoted value with no variable stays a string", "environment.Q", "\"5\"", "\"5\""),
    // Forms of the spec.
    ("spec: $VAR", "image", "img:$TAG", "\"img:v1\""),
    ("spec: ${VAR}", "image", "img:${TAG}", "\"img:v1\""),
    ("spec: ${VAR:-default} when unset", "image", "${NOPE:-dflt}", "\"dflt\""),
    ("spec: ${VAR:-default} when empty", "image", "${EMPTY:-dflt}", "\"dflt\""),
    ("spec: ${VAR-default} when empty keeps empty", "image", "x${EMPTY-dflt}", "\"x\""),
    ("spec: ${VAR-default} when unset", "image", "${NOPE-dflt}", "\"dflt\""),
    ("spec: ${VAR:+alt} when set", "image", "${TAG:+alt}", "\"alt\""),
    ("spec: ${VAR:+alt} when empty", "image", "x${EMPTY:+alt}", "\"x\""),
    ("spec: ${VAR+alt} when empty (set)", "image", "${EMPTY+alt}", "\"alt\""),
    ("spec: ${VAR+alt} when unset", "image", "x${NOPE+alt}", "\"x\""),
    ("spec: ${VAR:?err} when set", "image", "${TAG:?need TAG}", "\"v1\""),
    ("spec: nested default", "image", "${NOPE:-${TAG}}", "\"v1\""),
    ("spec: nested twice", "image", "${NOPE:-${NONE:-deep}}", "\"deep\""),
    ("spec: $$ is a literal $", "command", "echo $$HOME", "\"echo $HOME\""),
    ("spec: $${VAR} is literal", "command", "echo $${TAG}", "\"echo ${TAG}\""),
    ("compose-go: lowercase names", "image", "${lower}", "\"lc\""),
    ("compose-go: unset is empty (with a warning)", "image", "a${NOPE}b", "\"ab\""),
    // A `$` that starts no variable is text (compose-go's pattern does not match it).
    ("compose-go: `cost $5` keeps its $", "environment.PRICE", "\"cost $5\"", "\"cost $5\""),
    ("compose-go: a trailing $ is text", "environment.T2", "\"a$\"", "\"a$\""),
    ("compose-go: `$-` is text", "environment.T3", "\"$-x\"", "\"$-x\""),
    ("compose-go: `$ ` is text", "environment.T4", "\"a $ b\"", "\"a $ b\""),
    // Braces in defaults (compose-go getFirstBraceClosingIndex).
    ("compose-go: braces in a default, variable set", "environment.J", "'${JSON:-{\"a\":1}}'", "'{\"b\":2}'"),
    ("compose-go: braces in a default, variable unset", "environment.J", "'${NOPE:-{\"a\":1}}'", "'{\"a\":1}'"),
    ("compose-go: a `}` after the variable is text", "environment.J", "'${TAG}}'", "'v1}'"),
    ("compose-go: braces in an alternative", "environment.J", "'${TAG:+{x}}'", "'{x}'"),
    // Casts where the schema wants a number or boolean (compose-go interpolateTypeCastMapping).
    ("cast toInt: deploy.replicas", "deploy.replicas", "${N}", "3"),
    ("cast toInt: a quoted replicas", "deploy.replicas", "\"4\"", "4"),
    ("cast toFloat32: cpus", "cpus", "${HALF}", "0.5"),
    ("cast toBoolean: init yes", "init", "${YES}", "true"),
    ("cast toBoolean: tty off", "tty", "${OFF}", "false"),
    ("cast toBoolean: read_only \"True\"", "read_only", "${TRUE}", "true"),
    ("cast toInt: ports[].target", "ports.0.target", "${PORT}", "8080"),
    ("cast toInt: healthcheck.retries", "healthcheck.retries", "\"${N}\"", "3"),
    ("cast toInt: deploy.update_config.parallelism", "deploy.update_config.parallelism", "${N}", "3"),
    ("cast toBoolean: depends_on.*.required", "depends_on.db.required", "\"false\"", "false"),
    ("no cast: ports[].published stays text", "ports.0.published", "${PORT}", "\"8080\""),
    ("no cast: mem_limit stays text", "mem_limit", "${N}g", "\"3g\""),
    ("project name: COMPOSE_PROJECT_NAME is the project's", "environment.P", "${COMPOSE_PROJECT_NAME}", "\"demo\""),
];

fn service_yaml(path: &str, value: &str) -> String {
    // Nest `a.b.c: value` under services.web (numbers are list indexes).
    let parts: Vec<&str> = path.split('.').collect();
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        let indent = "  ".repeat(i + 2);
        let is_last = i == parts.len() - 1;
        let next_is_index = parts.get(i + 1).is_some_and(|n| n.parse::<usize>().is_ok());
        if p.parse::<usize>().is_ok() {
            continue;
        }
        let prefix = if i > 0 && parts[i - 1].parse::<usize>().is_ok() { format!("{}- ", "  ".repeat(i + 1)) } else { indent };
        if is_last {
            out.push_str(&format!("{prefix}{p}: {value}\n"));
        } else if next_is_index {
            out.push_str(&format!("{prefix}{p}:\n"));
        } else {
            out.push_str(&format!("{prefix}{p}:\n"));
        }
    }
    format!("services:\n  web:\n{out}")
}

#[test]
fn interpolation_table() {
    assert!(ROWS.len() >= 40, "{} rows", ROWS.len());
    for (cite, path, value, want) in ROWS {
        let text = service_yaml(path, value);
        let project = load(&text, BASE).unwrap_or_else(|e| panic!("{cite}: {text}\n{e}"));
        let mut full = vec!["services", "web"];
        full.extend(path.split('.'));
        let got = at(&project.tree, &full).unwrap_or_else(|| panic!("{cite}: no value at {path}\n{text}")).to_yaml();
        let want: Value = serde_yaml::from_str(want).expect("expected value");
        assert_eq!(got, want, "{cite}: {path}: {value}");
    }
}

/// (citation, YAML of services.web, error text the load must hold).
#[rustfmt::skip]
const ERRORS: &[(&str, &str, &str)] = &[
    ("spec: ${VAR:?err} when unset", "image: ${NOPE:?set NOPE}", "compose.yaml:3:12: services.web.image: required variable NOPE is not set: set NOPE"),
    ("spec: ${VAR?err} when unset", "image: ${NOPE?}", "required variable NOPE is not set"),
    ("spec: ${VAR:?err} when empty", "image: ${EMPTY:?empty}", "required variable EMPTY is not set: empty"),
    ("compose-go: an unclosed ${ is an invalid template", "image: \"${TAG\"", "services.web.image: invalid interpolation"),
    ("compose-go: ${} is an invalid template", "image: \"a${}\"", "invalid interpolation"),
    ("compose-go: cast failure names the key", "deploy: {replicas: \"${TAG}\"}", "services.web.deploy.replicas: the interpolated value is not valid here: expected a whole number"),
    ("compose-go toBoolean: invalid boolean", "init: \"${TAG}\"", "services.web.init: the interpolated value is not valid here: expected a boolean"),
];

#[test]
fn interpolation_errors_table() {
    for (cite, svc, want) in ERRORS {
        let text = format!("services:\n  web:\n    {svc}\n");
        let err = load(&text, BASE).err().unwrap_or_else(|| panic!("{cite}: loads"));
        assert!(err.contains(want), "{cite}: {err}");
        assert!(!err.contains("01234"), "no variable value in errors");
    }
}

#[test]
fn unset_variables_warn_once_with_the_place() {
    let p = load("services:\n  web:\n    image: ${NOPE}\n    command: ${NOPE}\n", &[]).expect("loads");
    let w = p.warnings.to_string();
    assert_eq!(w.matches("variable NOPE is not set").count(), 1, "{w}");
    assert!(w.contains("compose.yaml:3:12"), "{w}");
}

#[test]
fn full_berth_load_keeps_environment_strings() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("compose.yaml"),
        "name: shop\nservices:\n  web:\n    image: nginx\n    environment: { ZIP: \"${ZIP}\", V: \"${VER}\", E: \"${EMPTY}\", PRICE: \"cost $5\", T: \"${TRUE}\", APP: \"${COMPOSE_PROJECT_NAME}\" }\n",
    )
    .expect("write");
    let opts = berth_spec::LoadOptions { dir: dir.path().to_path_buf(), process_env: vars(BASE), ..Default::default() };
    let loaded = berth_spec::load(&opts).unwrap_or_else(|d| panic!("{d}"));
    let env = serde_json::to_value(&loaded.app).expect("json").to_string();
    for want in ["\"01234\"", "\"1.10\"", "\"cost $5\"", "\"True\"", "\"shop\""] {
        assert!(env.contains(want), "{want} in {env}");
    }
    let _ = PathBuf::new();
}
