//! Network load balancers on the sim: an NLB has no listener of its own;
//! each network route's listener (protocol, port, one target group) is a
//! `SimListener` with a spec, on the load balancer it names. A listener
//! port is held by one listener at a time, as ELB allows.

use berth_model::resources::{Listener, Tag};
use berth_provider::{Kind, LiveResource, ProviderError, Result};

use crate::state::{SimListener, SimState};

fn conflict(operation: &str, message: String) -> ProviderError {
    ProviderError::Conflict { operation: operation.into(), message }
}

pub(crate) fn create_listener(s: &mut SimState, l: &Listener) -> Result<String> {
    let lb = s.load_balancers.values().find(|lb| lb.arn == l.load_balancer_arn).cloned();
    let lb = lb.ok_or_else(|| ProviderError::NotFound { what: format!("load balancer {}", l.load_balancer_arn) })?;
    check(s, l, None)?;
    if s.listeners.values().any(|x| x.load_balancer_arn == lb.arn && x.spec.as_ref().is_some_and(|x| x.port == l.port)) {
        return Err(conflict("CreateListener", format!("DuplicateListener: port {} is in use on {}", l.port, lb.arn)));
    }
    let arn = format!("{}/{}", lb.arn.replacen(":loadbalancer/", ":listener/", 1), s.next_id());
    s.listeners
        .insert(arn.clone(), SimListener { arn: arn.clone(), rules: Vec::new(), load_balancer_arn: lb.arn.clone(), spec: Some(l.clone()) });
    Ok(arn)
}

pub(crate) fn modify_listener(s: &mut SimState, arn: &str, l: &Listener) -> Result<()> {
    check(s, l, Some(arn))?;
    let lb = s.listeners.get(arn).map(|x| x.load_balancer_arn.clone()).ok_or_else(|| ProviderError::NotFound { what: arn.into() })?;
    if s.listeners.values().any(|x| x.arn != arn && x.load_balancer_arn == lb && x.spec.as_ref().is_some_and(|x| x.port == l.port)) {
        return Err(conflict("ModifyListener", format!("DuplicateListener: port {} is in use on {lb}", l.port)));
    }
    let tags = s.listeners.get(arn).and_then(|x| x.spec.as_ref()).map(|x| x.tags.clone()).unwrap_or_default();
    if let Some(x) = s.listeners.get_mut(arn) {
        x.spec = Some(Listener { tags, load_balancer_arn: lb, ..l.clone() });
    }
    Ok(())
}

/// ELB's rules for an NLB listener: a target group that exists, of the
/// listener's protocol (TCP behind TLS), and a certificate for TLS.
fn check(s: &SimState, l: &Listener, _arn: Option<&str>) -> Result<()> {
    let operation = "CreateListener";
    if l.protocol == "TLS" && l.certificates.is_empty() {
        return Err(ProviderError::Invalid(format!("{operation}: CertificateNotFound: a TLS listener needs a certificate")));
    }
    for t in l.default_actions.iter().flat_map(|a| &a.forward_config.target_groups) {
        let tg = s
            .target_groups
            .get(&t.target_group_arn)
            .ok_or_else(|| ProviderError::NotFound { what: format!("target group {}", t.target_group_arn) })?;
        let fits = tg.spec.protocol == l.protocol || (l.protocol == "TLS" && matches!(tg.spec.protocol.as_str(), "TCP" | "TLS"));
        if !fits {
            return Err(ProviderError::Invalid(format!(
                "{operation}: IncompatibleProtocols: a {} listener cannot forward to the {} target group {}",
                l.protocol, tg.spec.protocol, tg.spec.name
            )));
        }
    }
    Ok(())
}

pub(crate) fn delete_listener(s: &mut SimState, arn: &str) -> Result<()> {
    s.listeners.remove(arn).map(|_| ()).ok_or_else(|| ProviderError::NotFound { what: arn.into() })
}

/// The VPC of the load balancer a listener is on.
pub(crate) fn listener_vpc(s: &SimState, arn: &str) -> Option<String> {
    let lb = &s.listeners.get(arn)?.load_balancer_arn;
    s.load_balancers.values().find(|l| &l.arn == lb)?.vpc_id.clone()
}

/// Whether a listener forwards to the target group (it cannot be deleted then).
pub(crate) fn forwards_to(s: &SimState, tg: &str) -> bool {
    s.listeners
        .values()
        .filter_map(|l| l.spec.as_ref())
        .flat_map(|l| &l.default_actions)
        .flat_map(|a| &a.forward_config.target_groups)
        .any(|t| t.target_group_arn == tg)
}

pub(crate) fn tags(s: &SimState, arn: &str) -> Option<Vec<Tag>> {
    s.listeners.get(arn).and_then(|l| l.spec.as_ref()).map(|l| l.tags.clone())
}

/// Every listener of the load balancer, whoever made it.
pub(crate) fn observe(s: &SimState, lb_arn: &str, scope: &berth_provider::Scope) -> Vec<LiveResource> {
    s.listeners
        .values()
        .filter(|l| l.load_balancer_arn == lb_arn)
        .filter_map(|l| {
            let spec = l.spec.as_ref()?;
            Some(LiveResource {
                address: berth_provider::address_for(Kind::Listener, &l.arn, scope, &spec.tags),
                kind: Kind::Listener,
                name: l.arn.clone(),
                arn: l.arn.clone(),
                tags: spec.tags.clone(),
                spec: serde_json::to_value(spec).unwrap_or_default(),
            })
        })
        .collect()
}
