//! `berth init --from` on every Compose file of the corpus
//! (../shared/corpus/compose): it routes the service a person would route,
//! or nothing, and what it writes validates once the placeholders are
//! filled.

use berth_tests::{ok, shared_dir, Berth};

/// Which service, and which container port, a person would put behind the
/// load balancer, read by hand from each corpus file: the web front end or
/// the proxy in front of the others, on its HTTP port; never a database.
const ROUTES: &[(&str, Option<(&str, u16)>)] = &[
    ("angular", Some(("web", 4200))),
    ("apache-php", Some(("web", 80))),
    ("aspnet-mssql", Some(("web", 80))), // not db (azure-sql-edge)
    ("django", Some(("web", 8000))),
    ("flask", Some(("web", 8000))),
    ("flask-redis", Some(("web", 8000))),        // not redis:6379
    ("minecraft", None),                         // 25565 is the game's own protocol
    ("nextcloud-postgres", Some(("nc", 80))),    // nextcloud:apache; db only exposes 5432
    ("nginx-aspnet-mysql", Some(("proxy", 80))), // the nginx in front of backend
    ("nginx-flask-mongo", Some(("web", 80))),    // `web` is the nginx
    ("nginx-flask-mysql", Some(("proxy", 80))),  // backend:8000 is behind it
    ("nginx-golang", Some(("proxy", 80))),
    ("nginx-golang-mysql", Some(("proxy", 80))),
    ("nginx-nodejs-redis", Some(("nginx", 80))),     // web1/web2:5000 are behind it
    ("nginx-wsgi-flask", Some(("nginx-proxy", 80))), // flask-app:8000 is behind it
    ("portainer", Some(("portainer", 9000))),        // its web UI
    ("postgresql-pgadmin", Some(("pgadmin", 80))),   // published as 5050; not postgres:5432
    ("react-express-mongodb", Some(("frontend", 3000))),
    ("react-express-mysql", Some(("frontend", 3000))), // not backend:80 (nor its debug ports 9229/9230)
    ("react-nginx", Some(("frontend", 80))),
    ("react-rust-postgres", Some(("frontend", 3000))), // not db:5432
    ("sparkjava", Some(("sparkjava", 8080))),
    ("sparkjava-mysql", Some(("backend", 8080))), // the only service serving HTTP
    ("vuejs", Some(("web", 8080))),
    ("wasmedge-mysql-nginx", Some(("frontend", 80))), // nginx:alpine, published as 8090
    ("wordpress-mysql", Some(("wordpress", 80))),
];

/// Valid fakes for every placeholder `berth init` writes.
fn fill(spec: &str) -> String {
    spec.replace("REPLACE_ME_REGION", "ap-northeast-2")
        .replace("REPLACE_ME_VPC_ID", "vpc-0123")
        .replace("REPLACE_ME_SUBNET_A", "subnet-a")
        .replace("REPLACE_ME_SUBNET_B", "subnet-b")
        .replace("REPLACE_ME_SECURITY_GROUP", "sg-0123")
        .replace("REPLACE_ME_LISTENER_ARN", "arn:aws:elasticloadbalancing:ap-northeast-2:123456789012:listener/app/x/1/2")
        .replace("REPLACE_ME_EXECUTION_ROLE_ARN", "arn:aws:iam::123456789012:role/app-execution")
        .replace("REPLACE_ME_SECRET_ARN", "arn:aws:secretsmanager:ap-northeast-2:123456789012:secret:app/secret-AbCdEf")
        .replace("REPLACE_ME_ACCOUNT", "123456789012")
}

/// `(container, container port)` behind every target group of a rendered spec.
fn routes(app: &std::path::Path) -> Vec<(String, u16)> {
    let out = Berth::new(app).args(["render", "--format", "json"]).run();
    ok(&out);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).expect("render JSON");
    let mut found = Vec::new();
    for r in v["resources"].as_array().expect("resources") {
        for lb in r["spec"]["loadBalancers"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let port = lb["containerPort"].as_u64().and_then(|p| u16::try_from(p).ok()).expect("containerPort");
            found.push((lb["containerName"].as_str().expect("containerName").to_string(), port));
        }
    }
    found
}

fn corpus_file(sample: &str) -> std::path::PathBuf {
    let dir = shared_dir().join("corpus/compose").join(sample);
    ["compose.yaml", "compose.yml"].iter().map(|f| dir.join(f)).find(|p| p.is_file()).unwrap_or_else(|| panic!("{sample}: no compose file"))
}

#[test]
fn init_from_every_corpus_file_routes_what_a_person_would_and_validates_once_filled() {
    let mut samples: Vec<String> = std::fs::read_dir(shared_dir().join("corpus/compose"))
        .expect("corpus")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    samples.sort();
    let listed: Vec<&str> = ROUTES.iter().map(|(s, _)| *s).collect();
    assert_eq!(samples, listed, "the table has one row per corpus file");
    for (sample, expected) in ROUTES {
        let dir = tempfile::tempdir().expect("tempdir");
        let app = dir.path().join(sample);
        std::fs::create_dir(&app).expect("mkdir");
        let source = corpus_file(sample);
        let name = source.file_name().expect("file name").to_string_lossy().into_owned();
        std::fs::copy(&source, app.join(&name)).expect("copy");
        let out = Berth::new(&app).args(["init", "--from", &name]).run();
        ok(&out);
        // It says what it routed, or that it routed nothing and how to.
        match expected {
            Some((service, port)) => assert!(out.stderr.contains(&format!("routed {service}:{port} at /*")), "{sample}:\n{}", out.stderr),
            None => assert!(
                out.stderr.contains("routed nothing: ") && out.stderr.contains("to route a service, add under it `x-berth: { route:"),
                "{sample}:\n{}",
                out.stderr
            ),
        }
        let spec = std::fs::read_to_string(app.join("compose.berth.yaml")).expect("spec written");
        assert!(spec.contains("REPLACE_ME"), "{sample}: placeholders to fill");
        let filled = fill(&spec);
        std::fs::write(app.join("compose.berth.yaml"), &filled).expect("write");
        let validate = Berth::new(&app).args(["validate"]).run();
        assert_eq!(validate.code, 0, "{sample} does not validate:\n{}\n--- spec:\n{filled}", validate.stderr);
        let want: Vec<(String, u16)> = expected.iter().map(|(s, p)| (s.to_string(), *p)).collect();
        assert_eq!(routes(&app), want, "{sample}");
    }
}

#[test]
fn a_name_too_long_for_the_routed_service_gets_a_shorter_prefix() {
    let dir = tempfile::tempdir().expect("tempdir");
    // `<folder>-frontend` would be 39 characters; berth allows 29.
    let app = dir.path().join("customer-analytics-dashboard");
    std::fs::create_dir(&app).expect("mkdir");
    std::fs::write(app.join("compose.yaml"), "services:\n  frontend:\n    image: nginx\n    ports: [\"8080:80\"]\n").expect("write");
    let out = Berth::new(&app).args(["init", "--from", "compose.yaml"]).run();
    ok(&out);
    assert!(out.stderr.contains("app name customer-analytics (from \"customer-analytics-dashboard\""), "{}", out.stderr);
    let spec = fill(&std::fs::read_to_string(app.join("compose.berth.yaml")).expect("spec"));
    assert!(spec.starts_with("name: customer-analytics  # berth init:"), "{spec}");
    std::fs::write(app.join("compose.berth.yaml"), &spec).expect("write");
    ok(&Berth::new(&app).args(["validate"]).run());
    assert_eq!(routes(&app), [("frontend".to_string(), 80)]);

    // A `name:` in the file that is too long is shortened in the copy too.
    let other = dir.path().join("x");
    std::fs::create_dir(&other).expect("mkdir");
    std::fs::write(
        other.join("compose.yaml"),
        "name: Big_Company_Storefront_Service\nservices:\n  web:\n    build: .\n    ports: [\"3000\"]\n",
    )
    .expect("write");
    let out = Berth::new(&other).args(["init", "--from", "compose.yaml"]).run();
    ok(&out);
    let spec = fill(&std::fs::read_to_string(other.join("compose.berth.yaml")).expect("spec"));
    assert!(spec.starts_with("name: big-company-storefront  # berth init:"), "{spec}");
    std::fs::write(other.join("compose.berth.yaml"), &spec).expect("write");
    ok(&Berth::new(&other).args(["validate"]).run());
}

#[test]
fn when_it_cannot_tell_it_routes_nothing_and_says_how() {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = dir.path().join("two");
    std::fs::create_dir(&app).expect("mkdir");
    // Two services alike: neither is the front end more than the other.
    std::fs::write(
        app.join("compose.yaml"),
        "services:\n  orders:\n    build: ./orders\n    ports: [\"8080\"]\n  billing:\n    build: ./billing\n    ports: [\"8080\"]\n  cache:\n    image: redis\n    ports: [\"6379:6379\"]\n",
    )
    .expect("write");
    let out = Berth::new(&app).args(["init", "--from", "compose.yaml"]).run();
    ok(&out);
    assert!(out.stderr.contains("routed nothing: cannot tell which of orders:8080, billing:8080 to route"), "{}", out.stderr);
    let spec = std::fs::read_to_string(app.join("compose.berth.yaml")).expect("spec");
    assert!(!spec.contains("route: {"), "{spec}");
    std::fs::write(app.join("compose.berth.yaml"), fill(&spec)).expect("write");
    ok(&Berth::new(&app).args(["validate"]).run());
    assert!(routes(&app).is_empty());
}

#[test]
fn init_lists_every_file_it_would_not_overwrite() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("buildspec.yml"), "mine\n").expect("write");
    std::fs::write(dir.path().join("berth-iam-policy.json"), "{}\n").expect("write");
    let out = Berth::new(dir.path()).args(["init"]).run();
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("error: these files exist already: buildspec.yml, berth-iam-policy.json; nothing was written"),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("compose.berth.yaml").exists(), "nothing was written");
    assert_eq!(std::fs::read_to_string(dir.path().join("berth-iam-policy.json")).expect("read"), "{}\n");
}
