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
    // A cluster that exists gets the capacity providers of `x-berth.capacity`.
    ("ecs:PutClusterCapacityProviders", "arn:aws:ecs:{region}:*:cluster/{cluster}"),
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
    // One-off tasks: `berth run` and `before_deploy` migrations (of the app's families).
    ("ecs:RunTask", "arn:aws:ecs:{region}:*:task-definition/{app}-*"),
    ("ecs:StopTask", "arn:aws:ecs:{region}:*:task/{cluster}/*"),
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
    // A network load balancer berth creates, and its routes' listeners.
    ("elasticloadbalancing:CreateLoadBalancer", "arn:aws:elasticloadbalancing:{region}:*:loadbalancer/net/{app}/*"),
    ("elasticloadbalancing:DeleteLoadBalancer", "arn:aws:elasticloadbalancing:{region}:*:loadbalancer/net/{app}/*"),
    ("elasticloadbalancing:CreateListener", "arn:aws:elasticloadbalancing:{region}:*:loadbalancer/net/{app}/*"),
    ("elasticloadbalancing:ModifyListener", "arn:aws:elasticloadbalancing:{region}:*:listener/net/{app}/*"),
    ("elasticloadbalancing:DeleteListener", "arn:aws:elasticloadbalancing:{region}:*:listener/net/{app}/*"),
    // A service's scalable target (anyone's): the plan keeps the count it chose.
    ("application-autoscaling:DescribeScalableTargets", "*"),
    // x-berth.autoscaling: the app's own scalable targets, their target
    // tracking policies (whose alarms CloudWatch holds) and scheduled actions.
    ("application-autoscaling:RegisterScalableTarget", "*"),
    ("application-autoscaling:DeregisterScalableTarget", "*"),
    ("application-autoscaling:PutScalingPolicy", "*"),
    ("application-autoscaling:DeleteScalingPolicy", "*"),
    ("application-autoscaling:DescribeScalingPolicies", "*"),
    ("application-autoscaling:PutScheduledAction", "*"),
    ("application-autoscaling:DeleteScheduledAction", "*"),
    ("application-autoscaling:DescribeScheduledActions", "*"),
    ("application-autoscaling:ListTagsForResource", "*"),
    ("application-autoscaling:TagResource", "*"),
    ("servicediscovery:ListNamespaces", "*"),
    ("servicediscovery:ListServices", "*"),
    ("servicediscovery:ListTagsForResource", "*"),
    // Adoption (`--adopt`) of a Cloud Map service made before berth.
    ("servicediscovery:TagResource", "*"),
    ("servicediscovery:GetNamespace", "*"),
    ("servicediscovery:GetOperation", "*"),
    ("servicediscovery:CreatePrivateDnsNamespace", "*"),
    ("servicediscovery:DeleteNamespace", "*"),
    ("servicediscovery:CreateService", "*"),
    ("servicediscovery:DeleteService", "*"),
    // The app's log group (CloudWatch Logs), and reading its lines (`berth logs`, failure diagnostics).
    ("logs:DescribeLogGroups", "*"),
    ("logs:CreateLogGroup", "arn:aws:logs:{region}:*:log-group:{log_group}"),
    ("logs:TagResource", "arn:aws:logs:{region}:*:log-group:{log_group}"),
    ("logs:ListTagsForResource", "arn:aws:logs:{region}:*:log-group:{log_group}"),
    ("logs:PutRetentionPolicy", "arn:aws:logs:{region}:*:log-group:{log_group}"),
    ("logs:DeleteLogGroup", "arn:aws:logs:{region}:*:log-group:{log_group}"),
    ("logs:FilterLogEvents", "arn:aws:logs:{region}:*:log-group:{log_group}"),
];

/// What the caller of PutScalingPolicy needs besides Application Auto
/// Scaling's own actions: target tracking makes CloudWatch alarms in the
/// caller's name (AWS's "IAM permissions required for Amazon ECS service
/// auto scaling"). berth never calls these itself.
pub const SCALING_ON_BERTHS_BEHALF: &[&str] = &["cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm"];

/// The policy document for `desired` in `region` (`*` when unknown).
pub fn policy(desired: &Desired, region: Option<&str>) -> Value {
    let region = region.unwrap_or("*");
    let log_group = log_group_of(desired);
    let fill = |r: &str| {
        r.replace("{region}", region)
            .replace("{app}", &desired.app)
            .replace("{cluster}", &desired.cluster.cluster_name)
            .replace("{log_group}", &log_group)
    };
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
    if !desired.scalable_targets.is_empty() {
        statements.push(json!({
            "Sid": "BerthAutoscaling",
            "Effect": "Allow",
            "Action": SCALING_ON_BERTHS_BEHALF,
            "Resource": "*"
        }));
        // The first RegisterScalableTarget of an account creates Application
        // Auto Scaling's role for ECS.
        statements.push(json!({
            "Sid": "BerthAutoscalingRole",
            "Effect": "Allow",
            "Action": ["iam:CreateServiceLinkedRole"],
            "Resource": "arn:aws:iam::*:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService",
            "Condition": { "StringLike": { "iam:AWSServiceName": "ecs.application-autoscaling.amazonaws.com" } }
        }));
    }
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

/// The app's log group: the one berth manages, else the one its containers
/// name, else the default name.
fn log_group_of(desired: &Desired) -> String {
    desired
        .log_group
        .as_ref()
        .map(|g| g.log_group_name.clone())
        .or_else(|| awslogs_groups(desired).into_iter().next())
        .unwrap_or_else(|| format!("/berth/{}", desired.app))
}

/// Every awslogs group a container of the app writes to.
fn awslogs_groups(desired: &Desired) -> Vec<String> {
    let set: std::collections::BTreeSet<String> = desired
        .task_definitions
        .iter()
        .flat_map(|t| &t.container_definitions)
        .filter_map(|c| c.log_configuration.as_ref())
        .filter(|l| l.log_driver == "awslogs")
        .filter_map(|l| l.options.get("awslogs-group").cloned())
        .collect();
    set.into_iter().collect()
}

/// Whether an image reference is in a private ECR registry.
fn ecr_repository(image: &str) -> Option<(String, String, String)> {
    let (host, rest) = image.split_once('/')?;
    if !(host.contains(".dkr.ecr.") && host.ends_with(".amazonaws.com")) {
        return None;
    }
    let account = host.split('.').next()?.to_string();
    let region = host.split(".dkr.ecr.").nth(1)?.split('.').next()?.to_string();
    let repo = rest.split(['@', ':']).next()?.to_string();
    Some((account, region, repo))
}

/// The trust policy of the task execution role: ECS tasks may assume it.
pub fn execution_role_trust_policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": { "Service": "ecs-tasks.amazonaws.com" },
            "Action": "sts:AssumeRole"
        }]
    })
}

/// What the task execution role needs for this spec: pull its private ECR
/// images (`own_repositories` are the app's own, `{registry}/<repo>` until
/// pinned), read the secrets it names, and write to its log groups.
pub fn execution_role_policy(desired: &Desired, region: Option<&str>) -> Value {
    let region = region.unwrap_or("*");
    let mut repos: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let own: std::collections::BTreeSet<&str> = desired.ecr_repositories.iter().map(|r| r.repository_name.as_str()).collect();
    let mut secrets: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    for c in desired.task_definitions.iter().flat_map(|t| &t.container_definitions) {
        if let Some((account, r, repo)) = ecr_repository(&c.image) {
            repos.insert(format!("arn:aws:ecr:{r}:{account}:repository/{repo}"));
        } else if let Some(repo) = c.image.split(['@', ':']).next().filter(|r| own.contains(r)) {
            repos.insert(format!("arn:aws:ecr:{region}:*:repository/{repo}"));
        }
        for s in &c.secrets {
            secrets.insert(s.value_from.clone());
        }
    }
    let mut statements = Vec::new();
    if !repos.is_empty() {
        // GetAuthorizationToken has no resource-level permissions.
        statements.push(json!({ "Sid": "PullAuth", "Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*" }));
        statements.push(json!({
            "Sid": "PullImages",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": repos.into_iter().collect::<Vec<_>>()
        }));
    }
    let (sm, ssm): (Vec<String>, Vec<String>) = secrets.into_iter().partition(|a| !a.contains(":ssm:"));
    if !sm.is_empty() {
        statements.push(json!({ "Sid": "ReadSecrets", "Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": sm }));
    }
    if !ssm.is_empty() {
        statements.push(json!({ "Sid": "ReadParameters", "Effect": "Allow", "Action": ["ssm:GetParameters"], "Resource": ssm }));
    }
    let groups = awslogs_groups(desired);
    if !groups.is_empty() {
        let resources: Vec<String> = groups.iter().map(|g| format!("arn:aws:logs:{region}:*:log-group:{g}:*")).collect();
        statements.push(json!({
            "Sid": "WriteLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": resources
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
