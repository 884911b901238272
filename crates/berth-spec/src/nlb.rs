//! Network load balancer routes: `x-berth.route: { protocol: tcp | udp |
//! tcp_udp | tls }` on a service, and `x-berth.load_balancer.create: { type:
//! network }` at the top level. Each such route becomes a listener of its
//! own on the NLB (the port's published port), forwarding to a target group
//! of the matching protocol; ELB has no rules on an NLB, so paths, hosts,
//! priorities and blue/green (which shifts rule weights) do not apply.

use crate::app::{ContainerPort, LoadBalancer, LoadBalancerKind, RouteProtocol};
use crate::node::Seg;
use crate::resolve::{p, Ctx};
use crate::types;

const NLB_HINT: &str =
    "set `x-berth.load_balancer.create: { type: network, subnets: [...] }` at the top level of the file (the app's x-berth)";

/// `x-berth.load_balancer.create.type`.
pub(crate) fn load_balancer_kind(cx: &mut Ctx, c: &types::CreateLoadBalancer) -> LoadBalancerKind {
    match c.kind.as_deref() {
        None | Some("application") => LoadBalancerKind::Application,
        Some("network") => LoadBalancerKind::Network,
        Some(other) => {
            cx.error(
                &p(&["x-berth", "load_balancer", "create", "type"]),
                format!("unknown load balancer type {other:?}"),
                Some("use application (HTTP routes) or network (TCP, UDP and TLS routes)"),
            );
            LoadBalancerKind::Application
        }
    }
}

/// `x-berth.route.protocol` of service `name`.
pub(crate) fn route_protocol(cx: &mut Ctx, name: &str, r: &types::Route) -> RouteProtocol {
    match r.protocol.as_deref() {
        None | Some("http") => RouteProtocol::Http,
        Some("tcp") => RouteProtocol::Tcp,
        Some("udp") => RouteProtocol::Udp,
        Some("tcp_udp") => RouteProtocol::TcpUdp,
        Some("tls") => RouteProtocol::Tls,
        Some(other) => {
            cx.error(
                &p(&["services", name, "x-berth", "route", "protocol"]),
                format!("unknown route protocol {other:?}"),
                Some("use http (an application load balancer rule), or tcp, udp, tcp_udp or tls (a network load balancer listener)"),
            );
            RouteProtocol::Http
        }
    }
}

/// The container ports a route of `protocol` may use: TCP ports for HTTP,
/// TCP and TLS; UDP ports for UDP; ports listed for both for TCP_UDP.
pub(crate) fn routable_ports(ports: &[ContainerPort], protocol: RouteProtocol) -> Vec<u16> {
    let has = |port: u16, proto: &str| ports.iter().any(|p| p.container_port == port && p.protocol == proto);
    let mut out: Vec<u16> = Vec::new();
    for port in ports {
        let ok = match protocol {
            RouteProtocol::Http | RouteProtocol::Tcp | RouteProtocol::Tls => port.protocol == "tcp",
            RouteProtocol::Udp => port.protocol == "udp",
            RouteProtocol::TcpUdp => has(port.container_port, "tcp") && has(port.container_port, "udp"),
        };
        if ok && !out.contains(&port.container_port) {
            out.push(port.container_port);
        }
    }
    out
}

/// What a port of `protocol` needs listed, for the error of a route without one.
pub(crate) fn port_hint(protocol: RouteProtocol) -> &'static str {
    match protocol {
        RouteProtocol::Udp => "list it under `ports:` as UDP, e.g. \"53:53/udp\"",
        RouteProtocol::TcpUdp => "list the port twice under `ports:`, e.g. \"53:53/tcp\" and \"53:53/udp\"",
        _ => "list it under `ports:` or `expose:`",
    }
}

/// Checks a route against the app's load balancer, and a network route's
/// keys; returns the certificate of a TLS listener.
pub(crate) fn check_route(
    cx: &mut Ctx,
    name: &str,
    r: &types::Route,
    protocol: RouteProtocol,
    lb: Option<&LoadBalancer>,
) -> Option<String> {
    let at = |k: &str| p(&["services", name, "x-berth", "route", k]);
    let base = p(&["services", name, "x-berth", "route"]);
    let network = lb.and_then(|lb| lb.create.as_ref()).is_some_and(|c| c.kind == LoadBalancerKind::Network);
    if protocol == RouteProtocol::Http {
        if network {
            cx.error(
                &base,
                "an HTTP route needs an application load balancer, but x-berth.load_balancer.create is a network load balancer",
                Some(&format!(
                    "set `protocol: tcp` (or udp, tcp_udp, tls) under `services.{name}.x-berth.route`, or create an application load balancer"
                )),
            );
        }
        return None;
    }
    let proto = r.protocol.as_deref().unwrap_or_default();
    if lb.is_none() {
        cx.error(&base, format!("a {proto} route needs a network load balancer, and the app has no load balancer"), Some(NLB_HINT));
    } else if !network {
        cx.error(
            &at("protocol"),
            format!("a {proto} route needs a network load balancer; the app's load balancer routes HTTP only"),
            Some(NLB_HINT),
        );
    }
    // Keys of HTTP rules: an NLB listener forwards every connection.
    for (key, set) in [("paths", !r.paths.is_empty()), ("hosts", !r.hosts.is_empty()), ("priority", r.priority.is_some())] {
        if set {
            cx.error(
                &at(key),
                format!(
                    "`{key}` selects HTTP requests, but a {} route is a network load balancer listener that forwards every connection",
                    protocol.listener().to_ascii_lowercase()
                ),
                Some("remove the key; each network route gets a listener on its own port"),
            );
        }
    }
    if r.health_matcher.is_some() && r.health_path.is_none() {
        cx.error(
            &at("health_matcher"),
            "a network route's health check is TCP unless `health_path` asks for HTTP; a matcher needs the path",
            Some("set health_path too, or remove health_matcher"),
        );
    }
    let certificate = r.certificate_arn.clone().or_else(|| lb.and_then(|lb| lb.create.as_ref()).and_then(|c| c.certificate_arn.clone()));
    match protocol {
        RouteProtocol::Tls if certificate.is_none() => {
            cx.error(
                &at("protocol"),
                "a TLS listener needs a server certificate",
                Some(&format!(
                    "set `certificate_arn: <ACM certificate ARN>` under `services.{name}.x-berth.route`, or under `x-berth.load_balancer.create`"
                )),
            );
            None
        }
        RouteProtocol::Tls => certificate,
        _ => {
            if r.certificate_arn.is_some() {
                cx.error(
                    &at("certificate_arn"),
                    "only a tls route's listener takes a certificate",
                    Some("set `protocol: tls`, or remove the key"),
                );
            }
            None
        }
    }
}

/// Blue/green shifts a listener rule's weights; an NLB listener forwards
/// to one target group, so it is refused (DESIGN: blue/green needs an ALB).
pub(crate) fn check_blue_green(cx: &mut Ctx, name: &str, svc: &types::Service, protocol: RouteProtocol) {
    let has = svc.x_berth.as_ref().and_then(|x| x.strategy.as_ref()).and_then(|s| s.blue_green.as_ref()).is_some();
    if has && protocol != RouteProtocol::Http {
        cx.error(
            &[p(&["services", name, "x-berth", "strategy"]), vec![Seg::Key("blue_green".into())]].concat(),
            "blue/green shifts the weights of a listener rule, and a network load balancer has no rules: its listener forwards to one target group",
            Some("remove strategy.blue_green (rolling deploys work through the network load balancer), or route HTTP through an application load balancer"),
        );
    }
}
