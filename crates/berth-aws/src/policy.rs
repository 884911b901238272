//! The least-privilege IAM policy the deployer role needs for one app:
//! exactly the actions berth calls, scoped to the app's resource names where
//! the API supports resource-level permissions.

use berth_model::Desired;
use serde_json::{json, Value};

/// Every AWS action berth calls, with the resource it is scoped to.
/// `{region}`, `{app}` and `{cluster}` are filled in per spec; `*` where
/// the action has no resource-level permissions (lists and describes).
pub const ACTIONS: &[(&str, &str)] = &[
    ("ecs:CreateCluster", "*"),
    ("ecs:DescribeClusters", "arn:aws:ecs:{region}:*:cluster/{cluster}"),
    ("ecs:DeleteCluster", "arn:aws:ecs:{region}:*:cluster/{cluster}"),
    ("ecs:ListServices", "*"),
    ("ecs:DescribeServices", "arn:aws:ecs:{region}:*:service/{cluster}/{app}-*"),
    ("ecs:CreateService", "arn:aws:ecs:{region}:*:service/{cluster}/{app}-*"),
    ("ecs:UpdateService", "arn:aws:ecs:{region}:*:service/{cluster}/{app}-*"),
    ("ecs:DeleteService", "arn:aws:ecs:{region}:*:service/{cluster}/{app}-*"),
    ("ecs:TagResource", "*"),
    // Ownership re-checks read a live resource's tags right before changing it.
    ("ecs:ListTagsForResource", "*"),
    ("ecs:ListTasks", "*"),
    ("ecs:DescribeTasks", "arn:aws:ecs:{region}:*:task/{cluster}/*"),
    ("ecs:RegisterTaskDefinition", "*"),
    ("ecs:DeregisterTaskDefinition", "*"),
    ("ecs:DescribeTaskDefinition", "*"),
    ("ecs:ListTaskDefinitions", "*"),
    ("ecs:ListTaskDefinitionFamilies", "*"),
    ("ecr:DescribeRepositories", "*"),
    ("ecr:CreateRepository", "arn:aws:ecr:{region}:*:repository/{app}/*"),
    ("ecr:DeleteRepository", "arn:aws:ecr:{region}:*:repository/{app}/*"),
    ("ecr:ListTagsForResource", "arn:aws:ecr:{region}:*:repository/{app}/*"),
    ("ecr:TagResource", "arn:aws:ecr:{region}:*:repository/{app}/*"),
    ("ecr:GetLifecyclePolicy", "arn:aws:ecr:{region}:*:repository/{app}/*"),
    ("ecr:PutLifecyclePolicy", "arn:aws:ecr:{region}:*:repository/{app}/*"),
    ("ecr:DeleteLifecyclePolicy", "arn:aws:ecr:{region}:*:repository/{app}/*"),
    ("ecr:PutImageTagMutability", "arn:aws:ecr:{region}:*:repository/{app}/*"),
    ("ecr:PutImageScanningConfiguration", "arn:aws:ecr:{region}:*:repository/{app}/*"),
    ("ecr:ListImages", "arn:aws:ecr:{region}:*:repository/{app}/*"),
    ("ecr:StartLifecyclePolicyPreview", "arn:aws:ecr:{region}:*:repository/{app}/*"),
    ("ecr:GetLifecyclePolicyPreview", "arn:aws:ecr:{region}:*:repository/{app}/*"),
    // The app's lock (berth_engine::lock): repositories berth_lock/<app>/g<n>.
    ("ecr:CreateRepository", "arn:aws:ecr:{region}:*:repository/berth_lock/{app}/*"),
    ("ecr:DeleteRepository", "arn:aws:ecr:{region}:*:repository/berth_lock/{app}/*"),
    ("ecr:ListTagsForResource", "arn:aws:ecr:{region}:*:repository/berth_lock/{app}/*"),
    ("ecr:TagResource", "arn:aws:ecr:{region}:*:repository/berth_lock/{app}/*"),
    // Digest pinning reads images of any repository the spec's images name.
    ("ecr:DescribeImages", "*"),
    ("elasticloadbalancing:DescribeTargetGroups", "*"),
    ("elasticloadbalancing:DescribeTargetGroupAttributes", "*"),
    ("elasticloadbalancing:DescribeTags", "*"),
    ("elasticloadbalancing:DescribeRules", "*"),
    ("elasticloadbalancing:DescribeLoadBalancers", "*"),
    ("elasticloadbalancing:DescribeListeners", "*"),
    ("elasticloadbalancing:DescribeTargetHealth", "*"),
    ("elasticloadbalancing:CreateTargetGroup", "arn:aws:elasticloadbalancing:{region}:*:targetgroup/{app}-*/*"),
    ("elasticloadbalancing:ModifyTargetGroup", "arn:aws:elasticloadbalancing:{region}:*:targetgroup/{app}-*/*"),
    ("elasticloadbalancing:ModifyTargetGroupAttributes", "arn:aws:elasticloadbalancing:{region}:*:targetgroup/{app}-*/*"),
    ("elasticloadbalancing:DeleteTargetGroup", "arn:aws:elasticloadbalancing:{region}:*:targetgroup/{app}-*/*"),
    ("elasticloadbalancing:AddTags", "*"),
    ("elasticloadbalancing:CreateRule", "*"),
    ("elasticloadbalancing:ModifyRule", "arn:aws:elasticloadbalancing:{region}:*:listener-rule/app/*"),
    ("elasticloadbalancing:SetRulePriorities", "arn:aws:elasticloadbalancing:{region}:*:listener-rule/app/*"),
    ("elasticloadbalancing:DeleteRule", "arn:aws:elasticloadbalancing:{region}:*:listener-rule/app/*"),
    ("elasticloadbalancing:CreateLoadBalancer", "arn:aws:elasticloadbalancing:{region}:*:loadbalancer/app/{app}/*"),
    ("elasticloadbalancing:DeleteLoadBalancer", "arn:aws:elasticloadbalancing:{region}:*:loadbalancer/app/{app}/*"),
    ("elasticloadbalancing:CreateListener", "arn:aws:elasticloadbalancing:{region}:*:loadbalancer/app/{app}/*"),
    ("servicediscovery:ListNamespaces", "*"),
    ("servicediscovery:ListServices", "*"),
    ("servicediscovery:ListTagsForResource", "*"),
    ("servicediscovery:GetNamespace", "*"),
    ("servicediscovery:GetOperation", "*"),
    ("servicediscovery:CreatePrivateDnsNamespace", "*"),
    ("servicediscovery:DeleteNamespace", "*"),
    ("servicediscovery:CreateService", "*"),
    ("servicediscovery:DeleteService", "*"),
];

/// The policy document for `desired` in `region` (`*` when unknown).
pub fn policy(desired: &Desired, region: Option<&str>) -> Value {
    let region = region.unwrap_or("*");
    let fill = |r: &str| r.replace("{region}", region).replace("{app}", &desired.app).replace("{cluster}", &desired.cluster.cluster_name);
    // One statement per resource pattern, actions sorted: stable and readable.
    let mut by_resource: std::collections::BTreeMap<String, Vec<&str>> = std::collections::BTreeMap::new();
    for (action, resource) in ACTIONS {
        by_resource.entry(fill(resource)).or_default().push(action);
    }
    let mut statements: Vec<Value> = by_resource
        .into_iter()
        .enumerate()
        .map(|(i, (resource, mut actions))| {
            actions.sort_unstable();
            json!({ "Sid": format!("Berth{i}"), "Effect": "Allow", "Action": actions, "Resource": resource })
        })
        .collect();
    // Registering a task definition passes its roles to ECS.
    let roles: Vec<&str> = desired
        .task_definitions
        .iter()
        .flat_map(|t| [t.execution_role_arn.as_deref(), t.task_role_arn.as_deref()])
        .flatten()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !roles.is_empty() {
        statements.push(json!({
            "Sid": "BerthPassRoles",
            "Effect": "Allow",
            "Action": ["iam:PassRole"],
            "Resource": roles,
            "Condition": { "StringEquals": { "iam:PassedToService": "ecs-tasks.amazonaws.com" } }
        }));
    }
    json!({ "Version": "2012-10-17", "Statement": statements })
}

/// The actions a policy allows.
pub fn allowed_actions(policy: &Value) -> Vec<String> {
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| s["Action"].as_array().into_iter().flatten().filter_map(|a| a.as_str().map(str::to_string)))
        .collect()
}
