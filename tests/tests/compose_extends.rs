//! `extends`, `include`, `profiles` and services' `env_file`, as the Compose
//! Specification defines them ("Extends", "Include", "Profiles",
//! "env_file") and compose-go implements them (loader/extends.go,
//! loader/include.go, types.Project.WithProfiles, loader/environment.go).
//! Each row is a small project on disk and the services it resolves to.

use std::path::Path;

use berth_compose::node::Node;
use berth_compose::project::{self, Options, SourceFile};
use serde_yaml::Value;

fn write(dir: &Path, files: &[(&str, &str)]) {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
}

fn load_in(dir: &Path, profiles: &[&str], env: &[(&str, &str)]) -> Result<project::Project, String> {
    let text = std::fs::read_to_string(dir.join("compose.yaml")).expect("compose.yaml");
    let opts = Options {
        files: vec![SourceFile { shown: "compose.yaml".into(), read: dir.join("compose.yaml"), text }],
        dir: dir.to_path_buf(),
        profiles: profiles.iter().map(|p| p.to_string()).collect(),
        process_env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        default_name: "demo".into(),
        ..Default::default()
    };
    project::load(&opts).map_err(|d| d.to_string())
}

type Row =
    (&'static str, &'static [(&'static str, &'static str)], &'static [&'static str], &'static [(&'static str, &'static str)], &'static str);

/// (citation, files, --profile, environment, expected `services:`).
#[rustfmt::skip]
const ROWS: &[Row] = &[
    ("spec Extends: same file, local keys win", &[("compose.yaml", "services:\n  base: {image: a, user: u}\n  web: {extends: {service: base}, image: b}\n")], &[], &[], "{base: {image: a, user: u}, web: {image: b, user: u}}"),
    ("spec Extends: the short form names a service of the same file", &[("compose.yaml", "services:\n  base: {image: a}\n  web: {extends: base}\n")], &[], &[], "{base: {image: a}, web: {image: a}}"),
    ("spec Extends: file: another file", &[("compose.yaml", "services:\n  web: {extends: {file: common.yaml, service: app}, environment: {B: \"2\"}}\n"), ("common.yaml", "services:\n  app: {image: c, environment: {A: \"1\"}}\n")], &[], &[], "{web: {image: c, environment: {A: \"1\", B: \"2\"}}}"),
    ("spec Extends: a chain of extends", &[("compose.yaml", "services:\n  a: {image: x, user: ua}\n  b: {extends: a, user: ub}\n  c: {extends: b, working_dir: /w}\n")], &[], &[], "{a: {image: x, user: ua}, b: {image: x, user: ub}, c: {image: x, user: ub, working_dir: /w}}"),
    ("spec Extends: merge rules apply (command replaced, ports appended)", &[("compose.yaml", "services:\n  base: {image: a, command: [x], ports: [\"80\"]}\n  web: {extends: base, command: [y], ports: [\"81\"]}\n")], &[], &[], "{base: {image: a, command: [x], ports: [\"80\"]}, web: {image: a, command: [y], ports: [\"80\", \"81\"]}}"),
    ("compose-go extends/reset.yaml: !reset drops an inherited key", &[("compose.yaml", "services:\n  base: {image: a, user: u}\n  web: {extends: base, user: !reset null}\n")], &[], &[], "{base: {image: a, user: u}, web: {image: a}}"),
    ("spec Extends: file: in a folder, its own extends relative to it", &[("compose.yaml", "services:\n  web: {extends: {file: dir/one.yaml, service: one}}\n"), ("dir/one.yaml", "services:\n  one: {extends: {file: two.yaml, service: two}, user: one}\n"), ("dir/two.yaml", "services:\n  two: {image: two}\n")], &[], &[], "{web: {image: two, user: one}}"),
    ("spec Include: the short form adds the included services", &[("compose.yaml", "include: [sub/compose.yaml]\nservices:\n  web: {image: w}\n"), ("sub/compose.yaml", "services:\n  db: {image: d}\n")], &[], &[], "{web: {image: w}, db: {image: d}}"),
    ("spec Include: the long form with path", &[("compose.yaml", "include:\n  - path: sub/compose.yaml\nservices:\n  web: {image: w}\n"), ("sub/compose.yaml", "services:\n  db: {image: d}\n")], &[], &[], "{web: {image: w}, db: {image: d}}"),
    ("spec Include: path as a list merges those files first", &[("compose.yaml", "include:\n  - path: [a.yaml, b.yaml]\nservices: {}\n"), ("a.yaml", "services:\n  db: {image: a}\n"), ("b.yaml", "services:\n  db: {image: b}\n")], &[], &[], "{db: {image: b}}"),
    ("spec Include: an included file includes another", &[("compose.yaml", "include: [a/compose.yaml]\nservices: {}\n"), ("a/compose.yaml", "include: [b/compose.yaml]\nservices:\n  a: {image: a}\n"), ("a/b/compose.yaml", "services:\n  b: {image: b}\n")], &[], &[], "{a: {image: a}, b: {image: b}}"),
    ("spec Include: included files are interpolated", &[("compose.yaml", "include: [sub.yaml]\nservices: {}\n"), ("sub.yaml", "services:\n  db: {image: \"postgres:${PG}\"}\n")], &[], &[("PG", "16")], "{db: {image: \"postgres:16\"}}"),
    ("compose-go: an included file's build context is relative to it", &[("compose.yaml", "include: [sub/compose.yaml]\nservices: {}\n"), ("sub/compose.yaml", "services:\n  api: {build: ./api}\n  web: {build: {context: ., dockerfile: W}}\n")], &[], &[], "{api: {build: sub/api}, web: {build: {context: sub, dockerfile: W}}}"),
    ("compose-go: an extended file's build context is relative to it", &[("compose.yaml", "services:\n  web: {extends: {file: base/common.yaml, service: app}}\n"), ("base/common.yaml", "services:\n  app: {build: ../src}\n")], &[], &[], "{web: {build: src}}"),
    ("spec Profiles: a service without profiles is always active", &[("compose.yaml", "services:\n  web: {image: w}\n  debug: {image: d, profiles: [debug]}\n")], &[], &[], "{web: {image: w}}"),
    ("spec Profiles: --profile activates its services", &[("compose.yaml", "services:\n  web: {image: w}\n  debug: {image: d, profiles: [debug]}\n")], &["debug"], &[], "{web: {image: w}, debug: {image: d, profiles: [debug]}}"),
    ("spec Profiles: COMPOSE_PROFILES activates (comma-separated)", &[("compose.yaml", "services:\n  a: {image: a, profiles: [x]}\n  b: {image: b, profiles: [y]}\n  c: {image: c, profiles: [z]}\n")], &[], &[("COMPOSE_PROFILES", "x,y")], "{a: {image: a, profiles: [x]}, b: {image: b, profiles: [y]}}"),
    ("compose-go: profile `*` activates every service", &[("compose.yaml", "services:\n  a: {image: a, profiles: [x]}\n  b: {image: b, profiles: [y]}\n")], &["*"], &[], "{a: {image: a, profiles: [x]}, b: {image: b, profiles: [y]}}"),
    ("spec Profiles: one active profile of several is enough", &[("compose.yaml", "services:\n  a: {image: a, profiles: [x, y]}\n")], &["y"], &[], "{a: {image: a, profiles: [x, y]}}"),
    ("spec env_file: variables from the file, environment: wins", &[("compose.yaml", "services:\n  web: {image: w, env_file: app.env, environment: {B: own}}\n"), ("app.env", "A=1\nB=file\n")], &[], &[], "{web: {image: w, environment: {A: \"1\", B: own}}}"),
    ("spec env_file: files in order, the later wins", &[("compose.yaml", "services:\n  web: {image: w, env_file: [a.env, b.env]}\n"), ("a.env", "A=1\nB=1\n"), ("b.env", "B=2\n")], &[], &[], "{web: {image: w, environment: {A: \"1\", B: \"2\"}}}"),
    ("spec env_file: required: false and missing is nothing", &[("compose.yaml", "services:\n  web:\n    image: w\n    env_file:\n      - path: missing.env\n        required: false\n")], &[], &[], "{web: {image: w, environment: {}}}"),
    ("docker compose env_file format: raw takes values as written", &[("compose.yaml", "services:\n  web:\n    image: w\n    env_file: [{path: raw.env, format: raw}]\n"), ("raw.env", "Q='quoted' # kept\n")], &[], &[], "{web: {image: w, environment: {Q: \"'quoted' # kept\"}}}"),
    ("spec env_file: relative to the compose file that names it", &[("compose.yaml", "include: [sub/compose.yaml]\nservices: {}\n"), ("sub/compose.yaml", "services:\n  db: {image: d, env_file: db.env}\n"), ("sub/db.env", "PW_FILE=/run/secrets/pw\n")], &[], &[], "{db: {image: d, environment: {PW_FILE: /run/secrets/pw}}}"),
    ("spec env_file: values are strings, never re-typed", &[("compose.yaml", "services:\n  web: {image: w, env_file: a.env}\n"), ("a.env", "ZIP=01234\nT=True\n")], &[], &[], "{web: {image: w, environment: {ZIP: \"01234\", T: \"True\"}}}"),
];

#[test]
fn extends_include_profiles_env_file_table() {
    assert!(ROWS.len() >= 15, "{} rows", ROWS.len());
    for (cite, files, profiles, env, want) in ROWS {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), files);
        let project = load_in(dir.path(), profiles, env).unwrap_or_else(|e| panic!("{cite}: {e}"));
        let got = project.tree.get("services").map(|s| s.to_yaml()).unwrap_or(Value::Null);
        let want: Value = serde_yaml::from_str(want).expect("expected value");
        assert_eq!(got, want, "{cite}");
    }
}

/// (citation, files, error text with file:line:col).
#[rustfmt::skip]
const ERRORS: &[(&str, &[(&str, &str)], &str)] = &[
    ("extends: a YAML error in the extended file names that file", &[("compose.yaml", "services:\n  web: {extends: {file: base.yaml, service: b}}\n"), ("base.yaml", "services:\n  b:\n    image: [x\n")], "base.yaml:"),
    ("extends: an interpolation error in the extended file names it", &[("compose.yaml", "services:\n  web: {extends: {file: base.yaml, service: b}}\n"), ("base.yaml", "services:\n  b:\n    image: ${NOPE:?set NOPE}\n")], "base.yaml:3:12: services.b.image: required variable NOPE is not set"),
    ("extends: an unknown service", &[("compose.yaml", "services:\n  web:\n    extends: nope\n")], "compose.yaml:3:14: services.web.extends: cannot extend service nope"),
    ("extends: a cycle", &[("compose.yaml", "services:\n  a: {extends: b}\n  b: {extends: a}\n")], "extends cycle"),
    ("extends: a missing file", &[("compose.yaml", "services:\n  web:\n    extends: {file: nope.yaml, service: x}\n")], "compose.yaml:3:21: services.web.extends: cannot read nope.yaml"),
    ("include: an error in the included file names that file", &[("compose.yaml", "include: [sub/compose.yaml]\nservices: {}\n"), ("sub/compose.yaml", "services:\n  db:\n    image: ${NOPE:?set NOPE}\n")], "sub/compose.yaml:3:12: services.db.image: required variable NOPE is not set"),
    ("include: a YAML error in the included file", &[("compose.yaml", "include: [sub.yaml]\nservices: {}\n"), ("sub.yaml", "services:\n  db: {image: [x\n")], "sub.yaml:"),
    ("include: a service also defined differently is a conflict", &[("compose.yaml", "include: [sub.yaml]\nservices:\n  db: {image: mine}\n"), ("sub.yaml", "services:\n  db: {image: theirs}\n")], "compose.yaml:3:3: services.db: services.db is also defined, differently, by the file included"),
    ("include: a cycle", &[("compose.yaml", "include: [a.yaml]\nservices: {}\n"), ("a.yaml", "include: [compose.yaml]\nservices: {}\n")], "include cycle"),
    ("env_file: a missing required file", &[("compose.yaml", "services:\n  web:\n    image: w\n    env_file: nope.env\n")], "compose.yaml:4:15: services.web.env_file[0]: env file nope.env not found"),
    ("env_file: an unterminated quote names the env file", &[("compose.yaml", "services:\n  web: {image: w, env_file: app.env}\n"), ("app.env", "A=1\nB='x\n")], "app.env:2:3: unterminated quoted value"),
];

#[test]
fn errors_name_the_file_they_are_in() {
    for (cite, files, want) in ERRORS {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), files);
        let err = load_in(dir.path(), &[], &[]).err().unwrap_or_else(|| panic!("{cite}: loads"));
        assert!(err.contains(want), "{cite}: {err}");
    }
}

#[test]
fn disabled_services_are_listed_with_their_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), &[("compose.yaml", "services:\n  web: {image: w}\n  debug: {image: d, profiles: [debug]}\n")]);
    let p = load_in(dir.path(), &[], &[]).expect("loads");
    assert_eq!(p.disabled_services.iter().map(|(n, pos)| (n.as_str(), pos.line)).collect::<Vec<_>>(), vec![("debug", 3)]);
}

#[test]
fn long_extends_chains_and_deep_includes_are_bounded() {
    let dir = tempfile::tempdir().expect("tempdir");
    // In either order of definition.
    for reverse in [false, true] {
        let mut lines: Vec<String> = (1..2000).map(|i| format!("  s{i}: {{extends: s{}}}\n", i - 1)).collect();
        if reverse {
            lines.reverse();
        }
        let text = format!("services:\n  s0: {{image: x}}\n{}", lines.concat());
        write(dir.path(), &[("compose.yaml", &text)]);
        let start = std::time::Instant::now();
        let err = load_in(dir.path(), &[], &[]).err().expect("refused");
        assert!(err.contains("extends chains longer than 32 services"), "{}", &err[..err.len().min(400)]);
        assert!(start.elapsed() < std::time::Duration::from_secs(10));
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for i in 0..40 {
        files.push((format!("f{i}.yaml"), format!("include: [f{}.yaml]\nservices:\n  s{i}: {{image: x}}\n", i + 1)));
    }
    files.push(("f40.yaml".into(), "services: {}\n".into()));
    files.push(("compose.yaml".into(), "include: [f0.yaml]\nservices: {}\n".into()));
    let refs: Vec<(&str, &str)> = files.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    write(dir.path(), &refs);
    let err = load_in(dir.path(), &[], &[]).err().expect("refused");
    assert!(err.contains("includes nest deeper than 32 files"), "{err}");
}

#[test]
fn many_services_extending_one_file_read_it_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = "services:\n".to_string();
    for i in 0..400 {
        text.push_str(&format!("  s{i}: {{extends: {{file: base.yaml, service: b}}}}\n"));
    }
    write(dir.path(), &[("compose.yaml", &text), ("base.yaml", "services:\n  b: {image: x}\n")]);
    let p = load_in(dir.path(), &[], &[]).expect("loads");
    assert_eq!(p.tree.get("services").and_then(Node::as_map).map(|m| m.len()), Some(400));
}
