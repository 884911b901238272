//! Merging several Compose files as the Compose Specification defines it
//! ("Merge and override", with "Reset value" `!reset` and "Replace value"
//! `!override`) and compose-go implements it (override/merge.go, the
//! `mergeSpecials` rules; override/uncity.go, uniqueness after every file;
//! loader/reset.go). One row per rule: the files in `-f` order and the
//! services the project holds afterwards.

use berth_compose::project::{self, Options, SourceFile};
use serde_yaml::Value;

fn load(files: &[&str]) -> Result<project::Project, String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = Options {
        files: files
            .iter()
            .enumerate()
            .map(|(i, text)| SourceFile {
                shown: format!("f{i}.yaml").into(),
                read: dir.path().join(format!("f{i}.yaml")),
                text: text.to_string(),
            })
            .collect(),
        dir: dir.path().to_path_buf(),
        // Every profile active: this table is about merging.
        profiles: vec!["*".into()],
        default_name: "demo".into(),
        ..Default::default()
    };
    project::load(&opts).map_err(|d| d.to_string())
}

/// (citation, files, expected `services:`).
#[rustfmt::skip]
const ROWS: &[(&str, &[&str], &str)] = &[
    ("spec merge: a scalar of the later file wins", &["services: {web: {image: a}}", "services: {web: {image: b}}"], "{web: {image: b}}"),
    ("spec merge: mappings merge key by key", &["services: {web: {image: a, user: u}}", "services: {web: {image: b}, api: {image: c}}"], "{web: {image: b, user: u}, api: {image: c}}"),
    ("spec merge: command is replaced", &["services: {web: {command: [a, b]}}", "services: {web: {command: [c]}}"], "{web: {command: [c]}}"),
    ("spec merge: entrypoint is replaced", &["services: {web: {entrypoint: [a]}}", "services: {web: {entrypoint: [b, c]}}"], "{web: {entrypoint: [b, c]}}"),
    ("spec merge: healthcheck.test is replaced, the rest merges", &["services: {web: {healthcheck: {test: [CMD, a], interval: 5s}}}", "services: {web: {healthcheck: {test: [CMD, b]}}}"], "{web: {healthcheck: {test: [CMD, b], interval: 5s}}}"),
    ("compose-go mergeToSequence: environment list and map merge by key", &["services: {web: {environment: [A=1, B=2]}}", "services: {web: {environment: {B: \"3\", C: \"4\"}}}"], "{web: {environment: {A: \"1\", B: \"3\", C: \"4\"}}}"),
    ("compose-go uncity: duplicate environment keys in one file, the later wins", &["services: {web: {environment: [FOO=a, BAR=b, FOO=c]}}"], "{web: {environment: {FOO: c, BAR: b}}}"),
    ("compose-go uncity Test_EnvironmentUnicity", &["services: {web: {environment: [FOO=BAR, BAR=QIX, QIX=, ZOT, FOO=ZOT, QIX, ZOT=]}}"], "{web: {environment: {FOO: ZOT, BAR: QIX, QIX: null, ZOT: \"\"}}}"),
    ("spec environment: KEY alone has no value (taken from the shell)", &["services: {web: {environment: [FOO]}}"], "{web: {environment: {FOO: null}}}"),
    ("compose-go Test_mergeYamlLabelsSequence: a label KEY alone is \"\"", &["services: {web: {labels: [FOO=BAR]}}", "services: {web: {labels: [QIX=ZOT, EMPTY=, NIL]}}"], "{web: {labels: {FOO: BAR, QIX: ZOT, EMPTY: \"\", NIL: \"\"}}}"),
    ("compose-go Test_mergeYamlLabelsMapping: a null label is \"\"", &["services: {web: {labels: {FOO: BAR}}}", "services: {web: {labels: {EMPTY: \"\", NIL: null}}}"], "{web: {labels: {FOO: BAR, EMPTY: \"\", NIL: \"\"}}}"),
    ("compose-go Test_mergeYamlLabelsMixed", &["services: {web: {labels: {FOO: BAR}}}", "services: {web: {labels: [QIX=ZOT]}}"], "{web: {labels: {FOO: BAR, QIX: ZOT}}}"),
    ("compose-go: deploy.labels merge by key", &["services: {web: {deploy: {labels: [A=1]}}}", "services: {web: {deploy: {labels: {A: \"2\"}}}}"], "{web: {deploy: {labels: {A: \"2\"}}}}"),
    ("compose-go: build.args merge by key", &["services: {web: {build: {context: ., args: [A=1, B=2]}}}", "services: {web: {build: {args: {B: \"3\"}}}}"], "{web: {build: {context: ., args: {A: \"1\", B: \"3\"}}}}"),
    ("compose-go mergeBuild: build: dir over a mapping keeps its other keys", &["services: {web: {build: {context: a, dockerfile: D}}}", "services: {web: {build: b}}"], "{web: {build: {context: b, dockerfile: D}}}"),
    ("compose-go mergeBuild: a mapping over build: dir", &["services: {web: {build: a}}", "services: {web: {build: {dockerfile: D}}}"], "{web: {build: {context: a, dockerfile: D}}}"),
    ("compose-go Test_VolumeUnicity: volumes unique by target in one file", &["services: {web: {volumes: [\".:/foo\", \"foo:/bar\", \"src:/foo\"]}}"], "{web: {volumes: [\"src:/foo\", \"foo:/bar\"]}}"),
    ("spec merge: volumes keyed by target across files", &["services: {web: {volumes: [\"a:/data\", \"b:/logs\"]}}", "services: {web: {volumes: [\"c:/data\"]}}"], "{web: {volumes: [\"c:/data\", \"b:/logs\"]}}"),
    ("compose-go: a long-form volume replaces the short one with its target", &["services: {web: {volumes: [\"a:/data\"]}}", "services: {web: {volumes: [{type: volume, source: b, target: /data}]}}"], "{web: {volumes: [{type: volume, source: b, target: /data}]}}"),
    ("compose-go Test_PortsShortUnicity", &["services: {web: {ports: [\"9080:80\", \"9081:81\", \"9080:80\", \"5000\", \"6060:6060/udp\", \"9080:6060/udp\"]}}"], "{web: {ports: [\"9080:80\", \"9081:81\", \"5000\", \"6060:6060/udp\", \"9080:6060/udp\"]}}"),
    ("spec merge: ports of both files, the same port once", &["services: {web: {ports: [\"8080:80\"]}}", "services: {web: {ports: [\"8080:80\", \"9090:90\"]}}"], "{web: {ports: [\"8080:80\", \"9090:90\"]}}"),
    ("spec merge: a different published port is another port", &["services: {web: {ports: [\"8080:80\"]}}", "services: {web: {ports: [\"8081:80\"]}}"], "{web: {ports: [\"8080:80\", \"8081:80\"]}}"),
    ("compose-go mountIndexer: secrets keyed by target (/run/secrets/<source> by default)", &["services: {web: {secrets: [a, {source: b, target: /x}]}}", "services: {web: {secrets: [{source: a}, {source: c, target: /x}]}}"], "{web: {secrets: [{source: a}, {source: c, target: /x}]}}"),
    ("compose-go mountIndexer: the same source at two targets is two secrets", &["services: {web: {secrets: [{source: a, target: /one}]}}", "services: {web: {secrets: [{source: a, target: /two}]}}"], "{web: {secrets: [{source: a, target: /one}, {source: a, target: /two}]}}"),
    ("compose-go mountIndexer: configs keyed by target", &["services: {web: {configs: [{source: a, target: /etc/a}]}}", "services: {web: {configs: [{source: b, target: /etc/a}]}}"], "{web: {configs: [{source: b, target: /etc/a}]}}"),
    ("compose-go exposeIndexer: expose unique", &["services: {web: {expose: [\"80\", \"81\"]}}", "services: {web: {expose: [\"81\", \"82\"]}}"], "{web: {expose: [\"80\", \"81\", \"82\"]}}"),
    ("compose-go keyValueIndexer: cap_add unique", &["services: {web: {cap_add: [NET_ADMIN, SYS_TIME, NET_ADMIN]}}"], "{web: {cap_add: [NET_ADMIN, SYS_TIME]}}"),
    ("compose-go mergeDependsOn: list and map merge by service", &["services: {web: {depends_on: [db]}, db: {image: d}}", "services: {web: {depends_on: {db: {condition: service_healthy}}}}"], "{web: {depends_on: {db: {condition: service_healthy}}}, db: {image: d}}"),
    ("compose-go: profiles unique", &["services: {web: {profiles: [a, b]}}", "services: {web: {profiles: [b, c]}}"], "{web: {profiles: [a, b, c]}}"),
    ("spec Reset value: !reset removes a scalar", &["services: {web: {image: a, user: u}}", "services: {web: {user: !reset null}}"], "{web: {image: a}}"),
    ("spec Reset value: !reset [] empties a list", &["services: {web: {image: a, ports: [\"80\"]}}", "services: {web: {ports: !reset []}}"], "{web: {image: a}}"),
    ("spec Reset value: !reset removes one environment key", &["services: {web: {environment: {A: \"1\", B: \"2\"}}}", "services: {web: {environment: {A: !reset null}}}"], "{web: {environment: {B: \"2\"}}}"),
    ("spec Reset value: !reset removes a whole mapping", &["services: {web: {image: a, healthcheck: {test: [CMD, x]}}}", "services: {web: {healthcheck: !reset {}}}"], "{web: {image: a}}"),
    ("loader/reset.go: !reset with nothing to reset is dropped", &["services: {web: {image: a, user: !reset u}}"], "{web: {image: a}}"),
    ("spec Replace value: !override replaces a list instead of appending", &["services: {web: {ports: [\"80\", \"81\"]}}", "services: {web: {ports: !override [\"82\"]}}"], "{web: {ports: [\"82\"]}}"),
    ("spec Replace value: !override replaces a mapping instead of merging", &["services: {web: {environment: {A: \"1\", B: \"2\"}}}", "services: {web: {environment: !override {C: \"3\"}}}"], "{web: {environment: {C: \"3\"}}}"),
    ("spec Replace value: !override where there was nothing sets the value", &["services: {web: {image: a}}", "services: {web: {volumes: !override [\"v:/d\"]}}"], "{web: {image: a, volumes: [\"v:/d\"]}}"),
    ("spec merge: three files, each wins over the ones before", &["services: {web: {image: a, environment: {A: \"1\"}, deploy: {replicas: 1}}}", "services: {web: {image: b, environment: {B: \"2\"}}}", "services: {web: {environment: {A: \"3\"}, deploy: {replicas: 3}}}"], "{web: {image: b, environment: {A: \"3\", B: \"2\"}, deploy: {replicas: 3}}}"),
];

#[test]
fn merge_table() {
    assert!(ROWS.len() >= 30, "{} rows", ROWS.len());
    for (cite, files, want) in ROWS {
        let project = load(files).unwrap_or_else(|e| panic!("{cite}: {e}"));
        let got = project.tree.get("services").map(|s| s.to_yaml()).unwrap_or(Value::Null);
        let want: Value = serde_yaml::from_str(want).expect("expected value");
        assert_eq!(got, want, "{cite}");
    }
}

#[test]
fn merged_values_keep_the_position_of_the_file_that_set_them() {
    let p = load(&["services:\n  web:\n    image: a\n", "services:\n  web:\n    user: u\n    image: b\n"]).expect("loads");
    let image = p.tree.get("services").and_then(|s| s.get("web")).and_then(|w| w.get("image")).expect("image");
    assert_eq!((image.pos.file.display().to_string(), image.pos.line, image.pos.col), ("f1.yaml".into(), 4, 12));
}

#[test]
fn port_name_and_app_protocol_reach_the_container_port_mapping() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("compose.yaml"),
        "name: demo\nservices:\n  web:\n    image: nginx\n    ports:\n      - { target: 80, name: web, app_protocol: http }\n",
    )
    .expect("write");
    let out = berth_tests::Berth::new(dir.path()).args(["render"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("\"name\": \"web\"") && out.stdout.contains("\"appProtocol\": \"http\""), "{}", out.stdout);
}
