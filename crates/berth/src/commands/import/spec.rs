//! The spec import writes, gathered service by service, and what it
//! warns and notes on the way.

use berth_provider::{Kind, Observed};
use serde_json::{json, Map, Value};

use super::{find, Place};

pub(super) struct Spec<'a> {
    pub place: &'a Place<'a>,
    pub observed: &'a Observed,
    /// What the spec cannot say.
    pub warnings: Vec<String>,
    /// What the spec says that AWS does not hold (so import could not read it).
    pub notes: Vec<String>,
    /// The app's x-berth.
    pub x: Map<String, Value>,
    pub services: Map<String, Value>,
    pub secrets: Map<String, Value>,
    pub volumes: Map<String, Value>,
    /// The first service's network, log settings and region: the app's.
    pub network: Option<Value>,
    pub region: Option<String>,
    pub logs: Map<String, Value>,
    pub uses_listener: bool,
    /// Cloud Map's TTL, or the Service Connect namespace.
    pub ttl: Option<u64>,
    pub connect_namespace: Option<String>,
    /// Task definitions without a role, and services outside Service
    /// Connect: the app's role and discovery would give them one.
    pub roleless: Vec<(String, &'static str, &'static str)>,
    pub unconnected: Vec<String>,
    /// The compose service each live service became.
    pub keys: Vec<(String, String)>,
}

/// The written spec, with how many services it has.
pub(super) struct Written {
    pub spec: Value,
    pub services: usize,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

impl<'a> Spec<'a> {
    pub fn new(place: &'a Place<'a>, observed: &'a Observed) -> Self {
        let mut x = Map::new();
        if place.cluster != place.app {
            x.insert("cluster".into(), place.cluster.into());
        }
        Spec {
            place,
            observed,
            warnings: Vec::new(),
            notes: Vec::new(),
            x,
            services: Map::new(),
            secrets: Map::new(),
            volumes: Map::new(),
            network: None,
            region: None,
            logs: Map::new(),
            uses_listener: false,
            ttl: None,
            connect_namespace: None,
            roleless: Vec::new(),
            unconnected: Vec::new(),
            keys: Vec::new(),
        }
    }

    /// The app-wide keys, from what the services gave.
    pub fn finish(mut self) -> Result<Written, String> {
        let Place { app, listener, namespace, .. } = *self.place;
        let observed = self.observed;
        if let Some(r) = self.region.take() {
            self.x.insert("region".into(), r.into());
        }
        if let Some(mut n) = self.network.take() {
            // The VPC of the target groups (berth creates them in x-berth.network.vpc_id).
            if let Some(vpc) = observed.resources.iter().filter(|r| r.kind == Kind::TargetGroup).find_map(|r| r.spec["vpcId"].as_str()) {
                n["vpc_id"] = vpc.into();
            }
            self.x.insert("network".into(), n);
        }
        if self.uses_listener {
            let l = listener.ok_or("the services have load balancers: pass the listener whose rules route to them with --listener ARN")?;
            self.x.insert("load_balancer".into(), json!({"listener": l}));
        }
        if self.logs.get("group").and_then(Value::as_str) == Some(&format!("/berth/{app}")) {
            self.logs.remove("group");
        }
        if self.logs.get("stream_prefix").and_then(Value::as_str) == Some(app) {
            self.logs.remove("stream_prefix");
        }
        // The app's group keeps the retention it has.
        let group = self.logs.get("group").and_then(Value::as_str).map_or_else(|| format!("/berth/{app}"), str::to_string);
        if let Some(live) = find(observed, Kind::LogGroup, |g| g.name == group) {
            match live.spec["retentionInDays"].as_u64() {
            Some(days) if days == u64::from(berth_spec::logging::DEFAULT_RETENTION_DAYS) => {}
            Some(days) => {
                self.logs.insert("retention_days".into(), days.into());
            }
            None => self.warnings.push(format!(
                "log group {group} keeps its logs forever, which berth's spec cannot say: x-berth.logs.retention_days sets a retention (30 days unless given)"
            )),
        }
        }
        if !self.logs.is_empty() {
            self.x.insert("logs".into(), Value::Object(std::mem::take(&mut self.logs)));
        }
        if let Some(ns) = namespace {
            let mut d = json!({"namespace": ns});
            if let Some(t) = self.ttl.filter(|t| *t != 10) {
                d["ttl"] = t.into();
            }
            self.x.insert("discovery".into(), d);
            // A private DNS namespace is in a VPC (Cloud Map returns it on the sim only).
            let vpc = find(observed, Kind::Namespace, |n| n.name == ns).and_then(|n| n.spec["vpc"].as_str());
            match (self.x.get_mut("network").and_then(Value::as_object_mut), vpc) {
                (Some(n), Some(vpc)) if !n.contains_key("vpc_id") => {
                    n.insert("vpc_id".into(), vpc.into());
                }
                (Some(n), _) if n.contains_key("vpc_id") => {}
                _ => self.warnings.push(format!("namespace {ns}: its VPC is not known here: set x-berth.network.vpc_id to it")),
            }
        }
        for (tat, live, key) in std::mem::take(&mut self.roleless) {
            if let Some(r) = self.x.get(key) {
                self.warnings.push(format!("{tat} has no {live}, and berth gives every task the app's x-berth.{key} ({r}): not imported"));
            }
        }
        if self.connect_namespace.is_some() {
            for at in std::mem::take(&mut self.unconnected) {
                self.warnings.push(format!(
                    "{at} is not in Service Connect, and berth makes every service of a Service Connect app its client: not imported"
                ));
            }
        }
        if let Some(ns) = self.connect_namespace.take() {
            if self.x.contains_key("discovery") {
                self.warnings.push(format!("Service Connect in namespace {ns}: the app also registers in Cloud Map DNS (--namespace), and berth does one or the other: not imported"));
            } else {
                self.x.insert("discovery".into(), json!({"mode": "connect", "namespace": ns}));
            }
        }
        let mut spec = json!({"name": app, "x-berth": Value::Object(std::mem::take(&mut self.x)), "services": Value::Object(std::mem::take(&mut self.services))});
        if !self.secrets.is_empty() {
            spec["secrets"] = Value::Object(std::mem::take(&mut self.secrets));
        }
        if !self.volumes.is_empty() {
            spec["volumes"] = Value::Object(std::mem::take(&mut self.volumes));
        }
        Ok(Written { spec, services: self.keys.len(), warnings: self.warnings, notes: self.notes })
    }
}
