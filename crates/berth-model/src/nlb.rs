//! Lowering of network load balancer routes: each TCP/UDP/TLS route is a
//! listener of its own on the NLB berth creates (`nlb_listener.<service>`),
//! forwarding to the service's target group, whose protocol matches the
//! listener's (TCP behind a TLS listener: the NLB ends TLS) and whose
//! health check is TCP unless the route names an HTTP `health_path`.

use berth_spec::app::{self, App, RouteProtocol};

use crate::resources::*;

/// The plan address of a service's NLB listener.
pub fn listener_address(service: &str) -> String {
    format!("nlb_listener.{service}")
}

/// The listeners of the app's network routes.
pub fn listeners(app: &App, tags: &[Tag]) -> Vec<Listener> {
    app.tasks
        .iter()
        .filter_map(|task| {
            let route = task.route.as_ref().filter(|r| r.protocol != RouteProtocol::Http)?;
            let address = listener_address(&task.name);
            Some(Listener {
                service: task.name.clone(),
                load_balancer_arn: "lb.main".into(),
                protocol: route.protocol.listener().into(),
                port: route.listener_port,
                certificates: route.certificate_arn.iter().map(|c| Certificate { certificate_arn: c.clone() }).collect(),
                default_actions: vec![RuleAction {
                    kind: "forward".into(),
                    forward_config: ForwardConfig {
                        target_groups: vec![WeightedTargetGroup { target_group_arn: format!("tg.{}", task.name), weight: 100 }],
                    },
                }],
                tags: tags.iter().cloned().chain([Tag { key: TAG_ADDRESS.into(), value: address }]).collect(),
            })
        })
        .collect()
}

/// A network route's target group fields: protocol, health check protocol,
/// path and matcher (empty for a TCP check, which takes neither).
pub fn target_group_protocols(route: &app::Route) -> (String, String, String, Matcher) {
    let protocol = route.protocol.target_group().to_string();
    if route.http_health_check {
        (protocol, "HTTP".into(), route.health_path.clone(), Matcher { http_code: route.health_matcher.clone() })
    } else {
        (protocol, "TCP".into(), String::new(), Matcher::default())
    }
}
