//! Network load balancers (issue 17): TCP, UDP and TLS routes through a
//! listener of their own on an NLB berth creates, on the sim and on moto;
//! UDP ports that are not routed are a warning; what an NLB cannot do is an
//! error naming the key; and a spec naming an existing listener but no VPC
//! gets the VPC of the listener's load balancer.

use berth_tests::moto::{block_on, moto, Vpc};
use berth_tests::{ok, plan_changes, plan_json, shared_dir, Berth, Output};

/// The x-berth overlay of ../shared/corpus/compose/minecraft: a TCP route
/// and a network load balancer. The compose file's `~/minecraft_data` bind
/// mount is a path of the developer's home folder, which no ECS host has
/// (berth refuses it on Fargate and on EC2), so the overlay also replaces
/// it with a named volume.
fn minecraft_overlay(app: &str, network: &str, lb_subnets: &str) -> String {
    format!(
        "name: {app}
x-berth:
  network: {network}
  load_balancer:
    create: {{ type: network, subnets: {lb_subnets} }}
services:
  minecraft:
    x-berth:
      route: {{ protocol: tcp }}
    volumes: !override [\"minecraft_data:/data\"]
volumes:
  minecraft_data: {{}}
"
    )
}

/// A DNS server answering on 53/udp, routed through an NLB (or not).
fn dns_spec(app: &str, network: &str, lb_subnets: &str, routed: bool) -> String {
    let route = if routed { "\n    x-berth:\n      route: { protocol: udp }" } else { "" };
    format!(
        "name: {app}
x-berth:
  network: {network}
  load_balancer:
    create: {{ type: network, subnets: {lb_subnets} }}
services:
  dns:
    image: coredns/coredns:1.11.1
    ports:
      - \"53:53/udp\"{route}
"
    )
}

struct Sim {
    dir: tempfile::TempDir,
}

impl Sim {
    fn new(files: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("write");
        }
        Sim { dir }
    }

    fn berth(&self, files: &[&str]) -> Berth {
        let mut b = Berth::new(self.dir.path()).args(["--sim-state", "sim.json"]);
        for f in files {
            b = b.args(["-f".to_string(), f.to_string()]);
        }
        b
    }

    fn read<T>(&self, f: impl FnOnce(&berth_sim::SimState) -> T) -> T {
        let sim = berth_sim::Sim::open(&self.dir.path().join("sim.json")).expect("open sim");
        let state = sim.state();
        f(&state)
    }

    fn edit(&self, f: impl FnOnce(&mut berth_sim::SimState)) {
        let sim = berth_sim::Sim::open(&self.dir.path().join("sim.json")).expect("open sim");
        f(&mut sim.state());
        sim.save().expect("save sim");
    }
}

fn minecraft() -> String {
    shared_dir().join("corpus/compose/minecraft/compose.yaml").display().to_string()
}

const SIM_NETWORK: &str = "{ vpc_id: vpc-0sim, subnets: [subnet-a], security_groups: [sg-1] }";

#[track_caller]
fn no_changes(out: &Output) {
    ok(out);
    let plan = plan_json(out);
    assert_eq!(plan_changes(&plan), vec![], "re-plan is clean:\n{}", out.stdout);
}

#[test]
fn minecraft_deploys_through_a_created_nlb_on_the_sim_and_destroy_removes_it() {
    let sim = Sim::new(&[("overlay.yaml", &minecraft_overlay("mc", SIM_NETWORK, "[subnet-a]"))]);
    let mc = minecraft();
    let berth = || sim.berth(&[&mc, "overlay.yaml"]).args(["--allow-mutable-tags"]);
    let plan = berth().args(["plan", "--format", "json"]).run();
    ok(&plan);
    let changes: Vec<String> = plan_changes(&plan_json(&plan)).into_iter().map(|(a, action, _)| format!("{action} {a}")).collect();
    for want in ["create lb.main", "create tg.minecraft", "create nlb_listener.minecraft", "create service.minecraft"] {
        assert!(changes.contains(&want.to_string()), "{want} in {changes:?}");
    }
    assert!(!changes.iter().any(|c| c.contains("rule.")), "an NLB has no rules: {changes:?}");
    ok(&berth().args(["apply", "--yes"]).run());

    sim.read(|s| {
        let lb = s.load_balancers.get("mc").expect("the NLB");
        assert!(lb.spec.is_network(), "{:?}", lb.spec);
        assert!(lb.arn.contains(":loadbalancer/net/mc/"), "{}", lb.arn);
        let listeners: Vec<_> = s.listeners.values().filter(|l| l.load_balancer_arn == lb.arn).collect();
        assert_eq!(listeners.len(), 1, "one listener, the route's");
        let l = listeners[0].spec.as_ref().expect("an NLB listener");
        assert_eq!((l.protocol.as_str(), l.port), ("TCP", 25565));
        let forward = &l.default_actions[0].forward_config.target_groups;
        assert_eq!(forward.len(), 1);
        let tg = &s.target_groups[&forward[0].target_group_arn].spec;
        assert_eq!((tg.name.as_str(), tg.protocol.as_str(), tg.port, tg.target_type.as_str()), ("mc-minecraft", "TCP", 25565, "ip"));
        assert_eq!(tg.health_check_protocol, "TCP");
        assert!(tg.health_check_path.is_empty() && tg.matcher.http_code.is_empty(), "a TCP check has no path or matcher: {tg:?}");
        let svc = s.services.values().find(|v| v.spec.service_name == "mc-minecraft").expect("service");
        assert_eq!(svc.spec.load_balancers[0].container_port, 25565);
        assert_eq!(svc.spec.load_balancers[0].target_group_arn, forward[0].target_group_arn);
    });
    no_changes(&berth().args(["plan", "--format", "json"]).run());

    // Someone else's target group in the same account stays.
    sim.edit(|s| {
        let mut other = s.target_groups.values().next().expect("tg").clone();
        other.arn.push_str("-other");
        other.spec.name = "other-app-web".into();
        other.spec.tags = berth_model::resources::ownership_tags("other");
        s.target_groups.insert(other.arn.clone(), other);
    });
    let destroy = berth().args(["destroy", "--yes"]).run();
    ok(&destroy);
    let deleted: Vec<String> = berth_tests::started_changes(&destroy).into_iter().map(|(a, _)| a).collect();
    for gone in ["nlb_listener.minecraft", "tg.minecraft", "lb.main"] {
        assert!(deleted.contains(&gone.to_string()), "{gone} deleted: {deleted:?}");
    }
    // Traffic first: the listener before its target group, both before the NLB.
    let at = |a: &str| deleted.iter().position(|d| d == a).unwrap_or(usize::MAX);
    assert!(at("nlb_listener.minecraft") < at("tg.minecraft") && at("tg.minecraft") < at("lb.main"), "{deleted:?}");
    sim.read(|s| {
        assert!(s.load_balancers.is_empty() && s.listeners.is_empty(), "the NLB and its listener are gone");
        let left: Vec<&str> = s.target_groups.values().map(|t| t.spec.name.as_str()).collect();
        assert_eq!(left, vec!["other-app-web"], "only another owner's target group is left");
    });
}

#[test]
fn a_dns_server_on_udp_is_routed_through_the_nlb_on_the_sim() {
    let sim = Sim::new(&[("compose.yaml", &dns_spec("dns", SIM_NETWORK, "[subnet-a]", true))]);
    let berth = || sim.berth(&["compose.yaml"]).args(["--allow-mutable-tags"]);
    ok(&berth().args(["apply", "--yes"]).run());
    sim.read(|s| {
        let l = s.listeners.values().find_map(|l| l.spec.as_ref()).expect("listener");
        assert_eq!((l.protocol.as_str(), l.port), ("UDP", 53));
        let tg = s.target_groups.values().next().expect("tg");
        // ELB checks a UDP target over TCP (UDP is no health check protocol).
        assert_eq!((tg.spec.protocol.as_str(), tg.spec.port, tg.spec.health_check_protocol.as_str()), ("UDP", 53, "TCP"));
        let td = s.task_definitions["dns-dns"].last().expect("revision");
        let pm = &td.spec.container_definitions[0].port_mappings[0];
        assert_eq!((pm.container_port, pm.protocol.as_str()), (53, "udp"));
    });
    no_changes(&berth().args(["plan", "--format", "json"]).run());
}

#[test]
fn an_unrouted_udp_port_is_a_warning_not_an_error() {
    let sim = Sim::new(&[("compose.yaml", &dns_spec("dns", SIM_NETWORK, "[subnet-a]", false))]);
    let out = sim.berth(&["compose.yaml"]).args(["validate"]).run();
    ok(&out);
    let line = "warning: compose.yaml:10:9: services.dns.ports[0]: published port 53/udp is not routed: on ECS it is unreachable from outside the VPC";
    assert!(out.stderr.lines().any(|l| l == line), "expected\n  {line}\nin:\n{}", out.stderr);
    assert!(out.stderr.contains("route: { protocol: udp, port: 53 }"), "the hint shows the route: {}", out.stderr);
    assert!(!out.stderr.contains("error:"), "{}", out.stderr);
}

/// What an NLB cannot do is refused before any plan, at the key.
#[test]
fn what_a_network_load_balancer_cannot_do_is_an_error_at_the_key() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "  web:\n    image: nginx\n    ports: [\"8443:8443\"]\n    x-berth:\n      route: { protocol: tcp }\n      strategy: { blue_green: {} }\n",
            "compose.yaml:12:19: services.web.x-berth.strategy.blue_green: blue/green shifts the weights of a listener rule, and a network load balancer has no rules",
            "remove strategy.blue_green",
        ),
        (
            "  web:\n    image: nginx\n    ports: [\"443:8443\"]\n    x-berth:\n      route: { protocol: tls }\n",
            "compose.yaml:11:16: services.web.x-berth.route.protocol: a TLS listener needs a server certificate",
            "certificate_arn",
        ),
        (
            "  web:\n    image: nginx\n    ports: [\"80:80\"]\n    x-berth:\n      route: { paths: [\"/*\"] }\n",
            "compose.yaml:11:7: services.web.x-berth.route: an HTTP route needs an application load balancer",
            "protocol: tcp",
        ),
        (
            "  web:\n    image: nginx\n    ports: [\"80:80\"]\n    x-berth:\n      route: { protocol: tcp, paths: [\"/a\"] }\n",
            "compose.yaml:11:31: services.web.x-berth.route.paths: `paths` selects HTTP requests",
            "remove the key",
        ),
        (
            "  web:\n    image: nginx\n    ports: [\"80:80\"]\n    x-berth:\n      route: { protocol: udp }\n",
            "compose.yaml:11:7: services.web.x-berth.route: a udp route needs a port of that protocol",
            "53:53/udp",
        ),
        (
            "  web:\n    image: nginx\n    ports: [\"80:80\"]\n    x-berth:\n      route: { protocol: quic }\n",
            "compose.yaml:11:16: services.web.x-berth.route.protocol: unknown route protocol \"quic\"",
            "tcp_udp",
        ),
    ];
    for (service, error, hint) in cases {
        let spec = format!(
            "name: bad\nx-berth:\n  network: {SIM_NETWORK}\n  load_balancer:\n    create: {{ type: network, subnets: [subnet-a] }}\nservices:\n{service}"
        );
        let sim = Sim::new(&[("compose.yaml", &spec)]);
        let out = sim.berth(&["compose.yaml"]).args(["validate"]).run();
        assert_eq!(out.code, 1, "{spec}\n{}", out.stderr);
        let want = format!("error: {error}");
        assert!(out.stderr.lines().any(|l| l.starts_with(&want)), "expected\n  {want}\nin:\n{}", out.stderr);
        assert!(out.stderr.contains(hint), "hint {hint:?} in {}", out.stderr);
    }
    // A TCP route needs a network load balancer: an ALB listener is not one.
    let spec = "name: bad\nx-berth:\n  network: { vpc_id: vpc-1, subnets: [subnet-a] }\n  load_balancer: { listener: arn:aws:elasticloadbalancing:sim-1:000000000000:listener/app/x/1/2 }\nservices:\n  db:\n    image: postgres\n    ports: [\"5432:5432\"]\n    x-berth:\n      route: { protocol: tcp }\n";
    let sim = Sim::new(&[("compose.yaml", spec)]);
    let out = sim.berth(&["compose.yaml"]).args(["validate"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    let want = "error: compose.yaml:10:16: services.db.x-berth.route.protocol: a tcp route needs a network load balancer";
    assert!(out.stderr.lines().any(|l| l.starts_with(want)), "expected\n  {want}\nin:\n{}", out.stderr);
    assert!(out.stderr.contains("create: { type: network"), "{}", out.stderr);
}

#[test]
fn a_listener_port_another_owner_holds_is_never_taken() {
    let sim = Sim::new(&[("overlay.yaml", &minecraft_overlay("mc", SIM_NETWORK, "[subnet-a]"))]);
    let mc = minecraft();
    let berth = || sim.berth(&[&mc, "overlay.yaml"]).args(["--allow-mutable-tags"]);
    ok(&berth().args(["apply", "--yes"]).run());
    // The listener on 25565 becomes another team's (as if they had made it).
    sim.edit(|s| {
        for l in s.listeners.values_mut().filter_map(|l| l.spec.as_mut()) {
            l.tags = berth_model::resources::ownership_tags("other");
        }
    });
    let out = berth().args(["plan"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("nlb_listener.minecraft wants port 25565 of the load balancer, which listener"), "{}", out.stderr);
    assert!(out.stderr.contains("berth leaves it untouched"), "{}", out.stderr);
    let applied = berth().args(["apply", "--yes"]).run();
    assert_eq!(applied.code, 1, "{}", applied.stderr);
    sim.read(|s| {
        let l = s.listeners.values().find_map(|l| l.spec.as_ref()).expect("listener");
        assert!(l.tags.iter().any(|t| t.value == "other"), "still theirs");
    });
}

const SIM_LISTENER: &str = "arn:aws:elasticloadbalancing:sim-1:000000000000:listener/app/shared/00000000abcd/00000000ef01";

fn listener_spec(app: &str, listener: &str, subnet: &str) -> String {
    format!(
        "name: {app}
x-berth:
  network: {{ subnets: [{subnet}] }}
  load_balancer: {{ listener: \"{listener}\" }}
services:
  web:
    image: nginx:1.27
    ports: [\"80\"]
    x-berth:
      route: {{ paths: [\"/*\"] }}
"
    )
}

#[test]
fn without_vpc_id_the_vpc_is_read_from_the_listeners_load_balancer_on_the_sim() {
    let sim = Sim::new(&[("compose.yaml", &listener_spec("vpcread", SIM_LISTENER, "subnet-a"))]);
    let berth = || sim.berth(&["compose.yaml"]);
    // The listener does not exist: plan says which key to set.
    let out = berth().args(["plan"]).run();
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("x-berth.network.vpc_id is not set, and the VPC cannot be read from listener"), "{}", out.stderr);
    // Another team's ALB in vpc-0shared, and its listener.
    sim.edit(|s| {
        let lb_arn = "arn:aws:elasticloadbalancing:sim-1:000000000000:loadbalancer/app/shared/00000000abcd".to_string();
        s.load_balancers.insert(
            "shared".into(),
            berth_sim::state::SimLoadBalancer {
                arn: lb_arn.clone(),
                listener_arn: SIM_LISTENER.into(),
                dns_name: "shared.elb".into(),
                spec: berth_model::resources::LoadBalancer {
                    name: "shared".into(),
                    subnets: vec!["subnet-a".into(), "subnet-b".into()],
                    security_groups: vec![],
                    scheme: "internet-facing".into(),
                    certificate_arn: None,
                    kind: None,
                    tags: vec![],
                },
                vpc_id: Some("vpc-0shared".into()),
            },
        );
        s.listeners.insert(
            SIM_LISTENER.into(),
            berth_sim::state::SimListener { arn: SIM_LISTENER.into(), rules: vec![], load_balancer_arn: lb_arn, spec: None },
        );
    });
    let plan = berth().args(["plan", "--format", "json"]).run();
    ok(&plan);
    let plan = plan_json(&plan);
    let tg = plan["changes"].as_array().expect("changes").iter().find(|c| c["address"] == "tg.web").expect("tg.web");
    assert_eq!(tg["after"]["vpcId"], "vpc-0shared", "{tg}");
    ok(&berth().args(["apply", "--yes"]).run());
    sim.read(|s| assert_eq!(s.target_groups.values().next().and_then(|t| t.spec.vpc_id.clone()).as_deref(), Some("vpc-0shared")));
    no_changes(&berth().args(["plan", "--format", "json"]).run());
}

// ------------------------------------------------------------------ moto

/// moto keeps state per region; this region's other test (throttling.rs)
/// makes its own names, and these tests make their own VPCs.
const MOTO_REGION: &str = "ap-southeast-3";

#[test]
fn on_moto_minecraft_and_dns_deploy_through_nlbs_and_read_back() {
    let Some(moto) = moto() else { return };
    let Vpc { vpc, subnet_a: a, subnet_b: b, .. } = moto.vpc(MOTO_REGION, 71, "nlb");
    let dir = tempfile::tempdir().expect("tempdir");
    let network = format!("{{ vpc_id: {vpc}, subnets: [{a}, {b}] }}");
    let overlay = dir.path().join("overlay.yaml");
    std::fs::write(&overlay, minecraft_overlay("mcnlb", &network, &format!("[{a}, {b}]"))).expect("write");
    let dns = dir.path().join("dns.yaml");
    std::fs::write(&dns, dns_spec("dnsnlb", &network, &format!("[{a}]"), true)).expect("write");
    let mc = || {
        moto.berth_in(MOTO_REGION).args([
            "-f".to_string(),
            minecraft(),
            "-f".into(),
            overlay.display().to_string(),
            "--allow-mutable-tags".into(),
        ])
    };
    let dnsb = || moto.berth_in(MOTO_REGION).args(["-f".to_string(), dns.display().to_string(), "--allow-mutable-tags".into()]);
    for berth in [&mc as &dyn Fn() -> Berth, &dnsb] {
        // moto's CreateService drops fields its UpdateService keeps
        // (tests/README.md): the second apply sets them.
        ok(&berth().args(["apply", "--yes", "--wait", "none"]).run());
        ok(&berth().args(["apply", "--yes"]).run());
        no_changes(&berth().args(["plan", "--format", "json"]).run());
    }

    // Read back with the SDK, not with berth.
    let read = |name: &'static str| {
        block_on(async {
            let sdk = moto.sdk(MOTO_REGION).await;
            let lbs = sdk.elb.describe_load_balancers().names(name).send().await.expect("describe load balancers");
            let lb = lbs.load_balancers()[0].clone();
            let arn = lb.load_balancer_arn().expect("arn").to_string();
            let listeners = sdk.elb.describe_listeners().load_balancer_arn(&arn).send().await.expect("listeners");
            let tgs = sdk.elb.describe_target_groups().load_balancer_arn(&arn).send().await.expect("target groups");
            (lb, listeners.listeners().to_vec(), tgs.target_groups().to_vec())
        })
    };
    use aws_sdk_elasticloadbalancingv2::types::{LoadBalancerTypeEnum, ProtocolEnum, TargetTypeEnum};
    for (name, protocol, port) in [("mcnlb", ProtocolEnum::Tcp, 25565), ("dnsnlb", ProtocolEnum::Udp, 53)] {
        let (lb, listeners, tgs) = read(name);
        assert_eq!(lb.r#type(), Some(&LoadBalancerTypeEnum::Network), "{name}");
        assert_eq!(lb.vpc_id(), Some(vpc.as_str()));
        assert_eq!(listeners.len(), 1, "{name}: {listeners:?}");
        let l = &listeners[0];
        assert_eq!((l.protocol(), l.port()), (Some(&protocol), Some(port)), "{name}");
        let forward = l.default_actions()[0].target_group_arn().map(str::to_string).or_else(|| {
            l.default_actions()[0]
                .forward_config()
                .and_then(|f| f.target_groups().first())
                .and_then(|t| t.target_group_arn())
                .map(str::to_string)
        });
        assert_eq!(tgs.len(), 1, "{name}: {tgs:?}");
        let tg = &tgs[0];
        assert_eq!(forward.as_deref(), tg.target_group_arn());
        assert_eq!((tg.protocol(), tg.port(), tg.target_type()), (Some(&protocol), Some(port), Some(&TargetTypeEnum::Ip)), "{name}");
        assert_eq!(tg.health_check_protocol(), Some(&ProtocolEnum::Tcp), "{name}");
    }

    let destroy = mc().args(["destroy", "--yes"]).run();
    ok(&destroy);
    block_on(async {
        let sdk = moto.sdk(MOTO_REGION).await;
        let gone = sdk.elb.describe_load_balancers().names("mcnlb").send().await;
        assert!(gone.map(|o| o.load_balancers().is_empty()).unwrap_or(true), "the NLB is gone");
        let tgs = sdk.elb.describe_target_groups().names("mcnlb-minecraft").send().await;
        assert!(tgs.map(|o| o.target_groups().is_empty()).unwrap_or(true), "its target group is gone");
        // The other app's NLB is untouched.
        let dns = sdk.elb.describe_load_balancers().names("dnsnlb").send().await.expect("dnsnlb");
        assert_eq!(dns.load_balancers().len(), 1);
    });
    ok(&dnsb().args(["destroy", "--yes"]).run());
}

#[test]
fn on_moto_without_vpc_id_the_vpc_is_read_from_the_listeners_load_balancer() {
    let Some(moto) = moto() else { return };
    let Vpc { vpc, subnet_a: a, subnet_b: b, security_group } = moto.vpc(MOTO_REGION, 72, "vpcread");
    let listener = moto.listener(MOTO_REGION, &[&a, &b], &security_group, "vpcread-shared");
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("compose.yaml");
    std::fs::write(&spec, listener_spec("vpcread", &listener, &a)).expect("write");
    let berth = || moto.berth_in(MOTO_REGION).args(["-f".to_string(), spec.display().to_string(), "--allow-mutable-tags".into()]);
    let plan = berth().args(["plan", "--format", "json"]).run();
    ok(&plan);
    let plan = plan_json(&plan);
    let tg = plan["changes"].as_array().expect("changes").iter().find(|c| c["address"] == "tg.web").expect("tg.web");
    assert_eq!(tg["after"]["vpcId"], vpc.as_str(), "{tg}");
    ok(&berth().args(["apply", "--yes", "--wait", "none"]).run());
    ok(&berth().args(["apply", "--yes"]).run());
    no_changes(&berth().args(["plan", "--format", "json"]).run());
    ok(&berth().args(["destroy", "--yes"]).run());
}

#[test]
fn tls_and_tcp_udp_routes_get_their_listeners_on_the_sim() {
    let spec = format!(
        "name: edge
x-berth:
  network: {SIM_NETWORK}
  load_balancer:
    create: {{ type: network, subnets: [subnet-a], certificate_arn: arn:aws:acm:sim-1:000000000000:certificate/app }}
services:
  api:
    image: nginx:1.27
    ports: [\"443:8080\"]
    x-berth:
      route: {{ protocol: tls }}
  dns:
    image: coredns/coredns:1.11.1
    ports: [\"53:53/tcp\", \"53:53/udp\"]
    x-berth:
      route: {{ protocol: tcp_udp, health_path: /health }}
"
    );
    let sim = Sim::new(&[("compose.yaml", &spec)]);
    let berth = || sim.berth(&["compose.yaml"]);
    ok(&berth().args(["apply", "--yes"]).run());
    sim.read(|s| {
        let listener = |port: u16| s.listeners.values().filter_map(|l| l.spec.as_ref()).find(|l| l.port == port).expect("listener").clone();
        let tg_of = |l: &berth_model::resources::Listener| {
            s.target_groups[&l.default_actions[0].forward_config.target_groups[0].target_group_arn].spec.clone()
        };
        let tls = listener(443);
        assert_eq!(tls.protocol, "TLS");
        assert_eq!(tls.certificates[0].certificate_arn, "arn:aws:acm:sim-1:000000000000:certificate/app");
        // The NLB ends TLS: the task gets TCP on its container port.
        let tg = tg_of(&tls);
        assert_eq!((tg.protocol.as_str(), tg.port, tg.health_check_protocol.as_str()), ("TCP", 8080, "TCP"));
        let both = listener(53);
        assert_eq!(both.protocol, "TCP_UDP");
        let tg = tg_of(&both);
        // A health_path asks for an HTTP check.
        assert_eq!(
            (tg.protocol.as_str(), tg.health_check_protocol.as_str(), tg.health_check_path.as_str()),
            ("TCP_UDP", "HTTP", "/health")
        );
    });
    no_changes(&berth().args(["plan", "--format", "json"]).run());
}

/// A new container port is a target group ELB cannot change in place:
/// the replacement first, the listener moves to it (and to the new
/// published port in place), then the old group goes.
#[test]
fn a_port_change_replaces_the_target_group_and_moves_the_listener() {
    let v0 = minecraft_overlay("mc", SIM_NETWORK, "[subnet-a]");
    let sim = Sim::new(&[("overlay.yaml", &v0)]);
    let mc = minecraft();
    let berth = || sim.berth(&[&mc, "overlay.yaml"]).args(["--allow-mutable-tags"]);
    ok(&berth().args(["apply", "--yes"]).run());
    let v1 = v0.replace("route: { protocol: tcp }", "route: { protocol: tcp }\n    ports: !override [\"25566:25566\"]");
    std::fs::write(sim.dir.path().join("overlay.yaml"), v1).expect("write");
    let plan = berth().args(["plan", "--format", "json"]).run();
    ok(&plan);
    let changes: Vec<(String, String)> = plan_changes(&plan_json(&plan)).into_iter().map(|(a, action, _)| (a, action)).collect();
    for want in [("tg.minecraft", "replace"), ("nlb_listener.minecraft", "update"), ("tg.minecraft~old", "delete")] {
        assert!(changes.contains(&(want.0.to_string(), want.1.to_string())), "{want:?} in {changes:?}");
    }
    let applied = berth().args(["apply", "--yes"]).run();
    ok(&applied);
    let order: Vec<String> = berth_tests::started_changes(&applied).into_iter().map(|(a, _)| a).collect();
    let at = |a: &str| order.iter().position(|d| d == a).unwrap_or(usize::MAX);
    assert!(at("tg.minecraft") < at("nlb_listener.minecraft"), "{order:?}");
    assert!(at("nlb_listener.minecraft") < at("tg.minecraft~old"), "{order:?}");
    sim.read(|s| {
        let l = s.listeners.values().find_map(|l| l.spec.as_ref()).expect("listener");
        assert_eq!(l.port, 25566);
        let tg = &s.target_groups[&l.default_actions[0].forward_config.target_groups[0].target_group_arn].spec;
        assert_eq!(tg.port, 25566);
        assert_eq!(s.target_groups.len(), 1, "the old target group is gone");
    });
    no_changes(&berth().args(["plan", "--format", "json"]).run());
}
