//! How a service is found by the others: Cloud Map DNS in the namespace
//! import is given, or ECS Service Connect, each as berth makes it.

use std::collections::BTreeSet;

use berth_provider::{Kind, LiveResource};
use serde_json::{json, Map, Value};

use super::find;
use super::spec::Spec;

impl Spec<'_> {
    /// The service's `x-berth.discovery` (`None`: not imported, with a
    /// warning); what it reads is removed from the service's fields.
    pub(super) fn discovery(&mut self, s: &mut Map<String, Value>, containers: &[Value], main: usize, key: &str, at: &str) -> Option<bool> {
        let observed = self.observed;
        let namespace = self.place.namespace;
        let mut discovery = None;
        // Cloud Map DNS discovery in the namespace given.
        if let Some(ns) = namespace {
            let registries = s.get("serviceRegistries").and_then(Value::as_array).cloned().unwrap_or_default();
            let found = registries
                .iter()
                .filter_map(|r| r["registryArn"].as_str())
                .find_map(|arn| find(observed, Kind::CloudMapService, |c| c.arn == arn));
            match (registries.len(), found) {
                (0, _) => discovery = Some(false),
                (1, Some(cm)) if cm.name == key => match cloud_map_difference(cm, &registries[0], &containers, main, ns) {
                    Some(why) => self.warnings.push(format!("{at}.serviceRegistries: Cloud Map service {key} {why}: not imported")),
                    None => {
                        let this = cm.spec.pointer("/dnsConfig/dnsRecords/0/TTL").and_then(Value::as_u64);
                        match (self.ttl, this) {
                            (Some(first), Some(t)) if first != t => self.warnings.push(format!(
                                "{at}.serviceRegistries: Cloud Map service {key}'s TTL {t} differs from the first service's ({first}), and berth's TTL is the app's: not imported"
                            )),
                            _ => {
                                self.ttl = this.or(self.ttl);
                                discovery = Some(true);
                                s.remove("serviceRegistries");
                            }
                        }
                    }
                },
                (1, Some(cm)) => self.warnings.push(format!(
                    "{at}.serviceRegistries: Cloud Map service {} is not named after the service's container ({key}), as berth names it: not imported",
                    cm.name
                )),
                _ => self.warnings.push(format!("{at}.serviceRegistries: not a registration in namespace {ns} that import reads")),
            }
        }
        // ECS Service Connect in a namespace, as berth makes it: the service
        // serves its TCP ports under its name, or is a client only.
        if s.get("serviceConnectConfiguration").is_none_or(|c| c["enabled"] != json!(true)) {
            self.unconnected.push(at.to_string());
        }
        if let Some(sc) = s.get("serviceConnectConfiguration").filter(|c| c["enabled"] == json!(true)).cloned() {
            let ns = sc["namespace"].as_str().unwrap_or_default();
            let ns = find(observed, Kind::Namespace, |n| n.arn == ns).map_or(ns.to_string(), |n| n.name.clone());
            let served = sc["services"].as_array().cloned().unwrap_or_default();
            let shape_ok = sc.as_object().is_some_and(|o| o.keys().all(|k| ["enabled", "namespace", "services"].contains(&k.as_str())));
            if shape_ok && (served.is_empty() || served == connect_services(&containers, main, &key)) {
                match &self.connect_namespace {
                    Some(first) if *first != ns => self.warnings.push(format!(
                        "{at}.serviceConnectConfiguration namespace {ns} differs from the first service's ({first}): not imported"
                    )),
                    _ => {
                        self.connect_namespace = Some(ns);
                        discovery = Some(!served.is_empty());
                        s.remove("serviceConnectConfiguration");
                    }
                }
            } else {
                self.warnings.push(format!(
                    "{at}.serviceConnectConfiguration = {sc} is not imported: berth serves a service's TCP ports under its name (`<service>`, then `<service>-<port>`)"
                ));
            }
        }
        discovery
    }
}

/// How a Cloud Map registration differs from what berth makes (MULTIVALUE
/// A records, plus SRV records and the registry's container and port when
/// the task has a TCP port, one TTL, in the namespace given), if it does.
fn cloud_map_difference(cm: &LiveResource, registry: &Value, containers: &[Value], main: usize, ns: &str) -> Option<String> {
    let port = std::iter::once(main).chain((0..containers.len()).filter(|i| *i != main)).find_map(|i| {
        let c = &containers[i];
        c["portMappings"]
            .as_array()?
            .iter()
            .find(|p| p["protocol"].as_str().unwrap_or("tcp") == "tcp")
            .map(|p| (c["name"].clone(), p["containerPort"].clone()))
    });
    let records: Vec<&str> = cm
        .spec
        .pointer("/dnsConfig/dnsRecords")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r["Type"].as_str())
        .collect();
    let ttls: BTreeSet<u64> = cm
        .spec
        .pointer("/dnsConfig/dnsRecords")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r["TTL"].as_u64())
        .collect();
    let want: &[&str] = if port.is_some() { &["A", "SRV"] } else { &["A"] };
    if cm.spec["namespace"].as_str().is_some_and(|n| n != ns) {
        return Some(format!("is in namespace {}, not {ns}", cm.spec["namespace"]));
    }
    if cm.spec.pointer("/dnsConfig/routingPolicy").and_then(Value::as_str) != Some("MULTIVALUE") {
        return Some("does not route MULTIVALUE, as berth's do".into());
    }
    if records != want {
        return Some(format!("has {records:?} records; berth makes {want:?}"));
    }
    if ttls.len() > 1 {
        return Some(format!("has records of different TTLs ({ttls:?}); berth gives them one"));
    }
    let (container, container_port) = port.unwrap_or((Value::Null, Value::Null));
    let given =
        (registry.get("containerName").cloned().unwrap_or(Value::Null), registry.get("containerPort").cloned().unwrap_or(Value::Null));
    if given != (container.clone(), container_port.clone()) {
        return Some(format!(
            "is registered for container {} port {}; berth registers {container} port {container_port}",
            given.0, given.1
        ));
    }
    None
}

/// The Service Connect services berth gives a task whose main container is
/// `containers[main]`, served as `key`: every TCP port, the first under
/// `key`, the others under `key-<port>`.
fn connect_services(containers: &[Value], main: usize, key: &str) -> Vec<Value> {
    let order = std::iter::once(main).chain((0..containers.len()).filter(|i| *i != main));
    let ports = order.flat_map(|i| {
        let c = &containers[i];
        let name = c["name"].as_str().unwrap_or_default().to_string();
        c["portMappings"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p["protocol"].as_str().unwrap_or("tcp") == "tcp")
            .map(move |p| {
                let port = p["containerPort"].as_u64().unwrap_or(0);
                let port_name = p["name"].as_str().filter(|n| !n.is_empty()).map_or(format!("{name}-{port}"), str::to_string);
                (port, port_name)
            })
    });
    ports
        .enumerate()
        .map(|(i, (port, port_name))| {
            let discovery_name = if i == 0 { key.to_string() } else { format!("{key}-{port}") };
            json!({"portName": port_name, "discoveryName": discovery_name, "clientAliases": [{"port": port, "dnsName": key}]})
        })
        .collect()
}
