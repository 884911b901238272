//! Normalization: both sides of a comparison are brought to one canonical
//! form first, so that a difference always means a real change. AWS fills
//! defaults, reorders lists and returns ARNs where berth wrote names; each
//! rule here undoes one such difference.

use std::collections::HashMap;

use berth_provider::Kind;
use serde_json::{Map, Value};

/// Keys AWS returns that are not part of what berth sets.
const READ_ONLY_KEYS: &[&str] = &[
    // Live settings berth does not model (berth-aws's observe lists them).
    "unmodelled",
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "registeredBy",
    "deregisteredAt",
    "serviceArn",
    "clusterArn",
    "createdAt",
    "createdBy",
    "runningCount",
    "pendingCount",
    "deployments",
    "events",
    "roleArn",
    "repositoryArn",
    "repositoryUri",
    "registryId",
    "targetGroupArn",
    "loadBalancerArns",
    "ruleArn",
    "isDefault",
    "arn",
    "id",
    // Observed only: a service's Application Auto Scaling target (the plan
    // keeps the count it chose, see diff.rs `keep_scaled_counts`).
    "scalableTarget",
];

/// Keys AWS does not return (create-only values, berth's own settings): not compared.
const CREATE_ONLY_KEYS: &[(Kind, &str)] = &[
    // A namespace's VPC is set at creation and not returned by Cloud Map.
    (Kind::Namespace, "vpc"),
    // How berth shifts traffic is read at deploy time, not stored in AWS.
    (Kind::Service, "blueGreen"),
    // Observed only: what a delete would take with it.
    (Kind::EcrRepository, "imageCount"),
];

/// Drops what cannot be compared (create-only keys) from a normalized value.
pub fn comparable(kind: Kind, normalized: &Value) -> Value {
    let mut v = normalized.clone();
    if let Some(obj) = v.as_object_mut() {
        for (k, key) in CREATE_ONLY_KEYS {
            if *k == kind {
                obj.remove(*key);
            }
        }
    }
    v
}

/// Maps ARNs of live resources back to plan addresses (`tg.web`), so a
/// reference compares equal whichever side it comes from.
pub type ArnMap = HashMap<String, String>;

/// Whether two revisions define the same task (AWS defaults filled, lists
/// ordered): a registered one identical to the one to register is reused.
pub fn same_task_definition(a: &berth_model::resources::TaskDefinition, b: &berth_model::resources::TaskDefinition) -> bool {
    let none = ArnMap::new();
    let n =
        |t: &berth_model::resources::TaskDefinition| normalize(Kind::TaskDefinition, &serde_json::to_value(t).unwrap_or_default(), &none);
    n(a) == n(b)
}

pub fn normalize(kind: Kind, spec: &Value, arns: &ArnMap) -> Value {
    let mut v = spec.clone();
    strip(&mut v);
    if let Some(obj) = v.as_object_mut() {
        for key in READ_ONLY_KEYS {
            obj.remove(*key);
        }
        match kind {
            Kind::TaskDefinition => task_definition(obj),
            Kind::Service => service(obj, arns),
            Kind::TargetGroup => target_group(obj),
            Kind::ListenerRule => listener_rule(obj, arns),
            Kind::Listener => listener(obj, arns),
            Kind::EcrRepository => ecr(obj),
            Kind::Cluster => {
                if let Some(Value::Array(cps)) = obj.get_mut("capacityProviders") {
                    cps.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                }
            }
            Kind::LoadBalancer => {
                // Observed only, for resolving `listener.http`.
                obj.remove("listenerArn");
            }
            Kind::ScalableTarget => scalable_target(obj, arns),
            _ => {}
        }
        sort_tags(obj);
    }
    strip(&mut v);
    v
}

/// Policies and scheduled actions by name (AWS lists them in its own
/// order); a request policy's target group as its address.
fn scalable_target(obj: &mut Map<String, Value>, arns: &ArnMap) {
    for (list, key) in [("scalingPolicies", "policyName"), ("scheduledActions", "scheduledActionName")] {
        if let Some(Value::Array(items)) = obj.get_mut(list) {
            items.sort_by(|a, b| a[key].as_str().cmp(&b[key].as_str()));
        }
    }
    if let Some(Value::Array(policies)) = obj.get_mut("scalingPolicies") {
        for p in policies.iter_mut() {
            let label = p.pointer_mut("/targetTrackingScalingPolicyConfiguration/predefinedMetricSpecification/resourceLabel");
            if let Some(l) = label {
                if let Some(address) = l.as_str().and_then(|arn| arns.get(arn)) {
                    *l = Value::String(address.clone());
                }
            }
        }
    }
}

/// Removes nulls, empty lists and empty objects: "absent" and "empty" are the same.
fn strip(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for x in m.values_mut() {
                strip(x);
            }
            m.retain(|_, x| !is_empty(x));
        }
        Value::Array(a) => {
            for x in a.iter_mut() {
                strip(x);
            }
        }
        _ => {}
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

fn sort_tags(obj: &mut Map<String, Value>) {
    if let Some(Value::Array(tags)) = obj.get_mut("tags") {
        // AWS adds its own `aws:` tags; they are not ours to compare.
        tags.retain(|t| !t["key"].as_str().unwrap_or_default().starts_with("aws:"));
        sort_by_str(tags, "key");
    }
}

fn sort_by_str(items: &mut [Value], key: &str) {
    items.sort_by(|a, b| a[key].as_str().unwrap_or_default().cmp(b[key].as_str().unwrap_or_default()));
}

/// Numbers AWS sometimes returns as strings and sometimes as numbers.
fn as_string(v: &mut Value) {
    if let Value::Number(n) = v {
        *v = Value::String(n.to_string());
    }
}

fn task_definition(td: &mut Map<String, Value>) {
    let awsvpc = td.get("networkMode").and_then(Value::as_str).unwrap_or("bridge") == "awsvpc";
    for key in ["cpu", "memory"] {
        if let Some(v) = td.get_mut(key) {
            as_string(v);
        }
    }
    if let Some(Value::Array(containers)) = td.get_mut("containerDefinitions") {
        for c in containers.iter_mut() {
            let Some(c) = c.as_object_mut() else { continue };
            c.entry("essential").or_insert(Value::Bool(true));
            // AWS reports `cpu: 0` for containers given none.
            if c.get("cpu").and_then(Value::as_u64) == Some(0) {
                c.remove("cpu");
            }
            // Docker's default; berth sends `privileged` only when true.
            if c.get("privileged") == Some(&Value::Bool(false)) {
                c.remove("privileged");
            }
            for key in ["environment", "secrets"] {
                if let Some(Value::Array(items)) = c.get_mut(key) {
                    sort_by_str(items, "name");
                }
            }
            if let Some(Value::Array(ports)) = c.get_mut("portMappings") {
                for p in ports.iter_mut() {
                    let Some(p) = p.as_object_mut() else { continue };
                    p.entry("protocol").or_insert(Value::String("tcp".into()));
                    if awsvpc {
                        if let Some(cp) = p.get("containerPort").cloned() {
                            p.entry("hostPort").or_insert(cp);
                        }
                    }
                }
                ports.sort_by_key(|p| {
                    (p["containerPort"].as_u64().unwrap_or_default(), p["protocol"].as_str().unwrap_or_default().to_string())
                });
            }
            if let Some(Value::Array(mounts)) = c.get_mut("mountPoints") {
                mounts.sort_by(|a, b| a["containerPath"].as_str().cmp(&b["containerPath"].as_str()));
                for m in mounts.iter_mut() {
                    if let Some(m) = m.as_object_mut() {
                        m.entry("readOnly").or_insert(Value::Bool(false));
                    }
                }
            }
        }
        sort_by_str(containers, "name");
    }
    if let Some(Value::Array(vols)) = td.get_mut("volumes") {
        for v in vols.iter_mut() {
            // EFS mounts the file system's root when no directory is given.
            if let Some(Value::Object(efs)) = v.get_mut("efsVolumeConfiguration") {
                efs.entry("rootDirectory").or_insert("/".into());
            }
        }
        sort_by_str(vols, "name");
    }
}

fn service(svc: &mut Map<String, Value>, arns: &ArnMap) {
    // A service's task definition compares as `family:revision`.
    if let Some(Value::String(td)) = svc.get_mut("taskDefinition") {
        if let Some(rest) = td.rsplit_once("task-definition/").map(|(_, r)| r.to_string()) {
            *td = rest;
        }
    }
    let dc = svc.entry("deploymentConfiguration").or_insert_with(|| Value::Object(Map::new()));
    if let Some(dc) = dc.as_object_mut() {
        dc.entry("minimumHealthyPercent").or_insert(100.into());
        dc.entry("maximumPercent").or_insert(200.into());
        let breaker = dc.entry("deploymentCircuitBreaker").or_insert(serde_json::json!({"enable": false, "rollback": false}));
        // Rollback is the circuit breaker's: without it, nothing rolls back.
        if breaker.get("enable") == Some(&Value::Bool(false)) {
            breaker["rollback"] = false.into();
        }
    }
    svc.entry("deploymentController").or_insert(serde_json::json!({"type": "ECS"}));
    // A service with a capacity provider strategy has no launch type.
    if let Some(Value::Array(items)) = svc.get("capacityProviderStrategy") {
        if !items.is_empty() {
            svc.remove("launchType");
        }
    }
    if let Some(Value::Array(items)) = svc.get_mut("capacityProviderStrategy") {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            item.entry("base").or_insert(0.into());
            item.entry("weight").or_insert(0.into());
        }
        // The order of a strategy means nothing to ECS.
        sort_by_str(items, "capacityProvider");
    }
    svc.entry("schedulingStrategy").or_insert("REPLICA".into());
    svc.entry("propagateTags").or_insert("NONE".into());
    svc.entry("enableECSManagedTags").or_insert(false.into());
    if let Some(cluster) = svc.get_mut("cluster") {
        if let Some(name) = cluster.as_str().and_then(|c| c.rsplit_once(":cluster/")).map(|(_, n)| n.to_string()) {
            *cluster = Value::String(name);
        }
    }
    if let Some(Value::Object(nc)) = svc.get_mut("networkConfiguration") {
        if let Some(Value::Object(vpc)) = nc.get_mut("awsvpcConfiguration") {
            vpc.entry("assignPublicIp").or_insert("DISABLED".into());
            for key in ["subnets", "securityGroups"] {
                if let Some(Value::Array(items)) = vpc.get_mut(key) {
                    items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                }
            }
        }
    }
    for (list, key) in [("loadBalancers", "targetGroupArn"), ("serviceRegistries", "registryArn")] {
        if let Some(Value::Array(items)) = svc.get_mut(list) {
            for item in items.iter_mut() {
                if let Some(Value::String(arn)) = item.get_mut(key) {
                    if let Some(address) = arns.get(arn.as_str()) {
                        *arn = address.clone();
                    }
                }
            }
            sort_by_str(items, key);
        }
    }
}

fn target_group(tg: &mut Map<String, Value>) {
    if let Some(Value::Array(attrs)) = tg.get_mut("attributes") {
        sort_by_str(attrs, "key");
    }
}

/// An NLB listener: its load balancer and target group as addresses.
fn listener(l: &mut Map<String, Value>, arns: &ArnMap) {
    if let Some(Value::String(lb)) = l.get_mut("loadBalancerArn") {
        if let Some(address) = arns.get(lb.as_str()) {
            *lb = address.clone();
        }
    }
    if let Some(actions) = l.remove("defaultActions") {
        let mut as_rule = Map::new();
        as_rule.insert("actions".into(), actions);
        listener_rule(&mut as_rule, arns);
        if let Some(actions) = as_rule.remove("actions") {
            l.insert("defaultActions".into(), actions);
        }
    }
}

fn listener_rule(rule: &mut Map<String, Value>, arns: &ArnMap) {
    if let Some(Value::String(l)) = rule.get_mut("listenerArn") {
        if let Some(address) = arns.get(l.as_str()) {
            *l = address.clone();
        }
    }
    if let Some(Value::Array(conds)) = rule.get_mut("conditions") {
        for c in conds.iter_mut() {
            if let Some(Value::Array(values)) = c.get_mut("values") {
                values.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            }
        }
        sort_by_str(conds, "field");
    }
    if let Some(Value::Array(actions)) = rule.get_mut("actions") {
        for a in actions.iter_mut() {
            if let Some(Value::Array(tgs)) = a.pointer_mut("/forwardConfig/targetGroups") {
                for t in tgs.iter_mut() {
                    if let Some(Value::String(arn)) = t.get_mut("targetGroupArn") {
                        if let Some(address) = arns.get(arn.as_str()) {
                            *arn = address.clone();
                        }
                    }
                }
                sort_by_str(tgs, "targetGroupArn");
                // A sole target group takes all the traffic whatever its
                // weight (the console writes 1, berth 100): it compares as 100.
                if let [only] = tgs.as_mut_slice() {
                    if only.get("weight").and_then(Value::as_u64).is_some_and(|w| w > 0) {
                        only["weight"] = 100.into();
                    }
                }
            }
        }
    }
}

fn ecr(repo: &mut Map<String, Value>) {
    // A lifecycle policy read back from AWS is a JSON string.
    if let Some(Value::String(text)) = repo.get("lifecyclePolicy").cloned() {
        if let Ok(parsed) = serde_json::from_str::<Value>(&text) {
            repo.insert("lifecyclePolicy".into(), parsed);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn aws_defaults_and_order_do_not_make_a_difference() {
        let ours = json!({
            "family": "app-web", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
            "containerDefinitions": [{"name": "web", "image": "nginx", "essential": true,
                "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp", "name": "web-80"}],
                "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}]}],
            "tags": [{"key": "berth:managed", "value": "true"}, {"key": "berth:app", "value": "app"}]
        });
        let theirs = json!({
            "family": "app-web", "networkMode": "awsvpc", "cpu": 256, "memory": "512", "revision": 3,
            "taskDefinitionArn": "arn:aws:ecs:r:1:task-definition/app-web:3", "status": "ACTIVE",
            "volumes": [], "requiresAttributes": [{"name": "x"}],
            "containerDefinitions": [{"name": "web", "image": "nginx", "cpu": 0, "mountPoints": [], "privileged": false,
                "portMappings": [{"containerPort": 80, "name": "web-80"}],
                "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}],
            "tags": [{"key": "berth:app", "value": "app"}, {"key": "aws:cloudformation:x", "value": "y"}, {"key": "berth:managed", "value": "true"}]
        });
        let arns = ArnMap::new();
        assert_eq!(normalize(Kind::TaskDefinition, &ours, &arns), normalize(Kind::TaskDefinition, &theirs, &arns));
    }

    #[test]
    fn service_references_compare_by_address() {
        let arns: ArnMap = [("arn:aws:elasticloadbalancing:r:1:targetgroup/app-web/abc".to_string(), "tg.web".to_string())].into();
        let ours = json!({"serviceName": "app-web", "cluster": "app", "taskDefinition": "app-web:3",
            "loadBalancers": [{"targetGroupArn": "tg.web", "containerName": "web", "containerPort": 80}],
            "deploymentConfiguration": {"minimumHealthyPercent": 100, "maximumPercent": 200}});
        let theirs = json!({"serviceName": "app-web", "cluster": "arn:aws:ecs:r:1:cluster/app",
            "taskDefinition": "arn:aws:ecs:r:1:task-definition/app-web:3",
            "loadBalancers": [{"targetGroupArn": "arn:aws:elasticloadbalancing:r:1:targetgroup/app-web/abc", "containerName": "web", "containerPort": 80}],
            "runningCount": 2});
        assert_eq!(normalize(Kind::Service, &ours, &arns), normalize(Kind::Service, &theirs, &arns));
    }

    #[test]
    fn a_real_difference_stays() {
        let a = json!({"family": "f", "containerDefinitions": [{"name": "web", "image": "nginx:1"}]});
        let b = json!({"family": "f", "containerDefinitions": [{"name": "web", "image": "nginx:2"}]});
        let arns = ArnMap::new();
        assert_ne!(normalize(Kind::TaskDefinition, &a, &arns), normalize(Kind::TaskDefinition, &b, &arns));
    }
}
