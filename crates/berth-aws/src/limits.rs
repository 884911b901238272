//! AWS's API rate limits, kept on the client side: one token bucket per API
//! family as AWS documents it, shared by every request of one connection
//! (one berth process), so a 200-service apply paces itself instead of
//! collecting ThrottlingExceptions; and one bound on requests in flight. The
//! SDK's retries with backoff stay for whatever is throttled anyway.
//!
//! The figures are data, here only, with their sources:
//! - ECS: <https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html>
//!   ("All API actions in a category share the same token bucket").
//! - ELBv2: <https://docs.aws.amazon.com/elasticloadbalancing/latest/userguide/elb-api-throttling.html>
//!   (mutating 20/3, non-mutating 40/10, resource-intensive 10/0.2, and an
//!   account-level bucket of 40/10 shared by every ELB action).
//! - Cloud Map and ECR publish no figure for the calls berth makes (only for
//!   DiscoverInstances and image pulls): conservative buckets of our own.
//! - CloudWatch Logs: <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html>
//!   (transactions per second; no burst given: a burst of one second's worth).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::sync::Semaphore;

/// A documented bucket: its name, capacity (burst) and refill per second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub name: &'static str,
    pub capacity: f64,
    pub refill_per_sec: f64,
}

const fn b(name: &'static str, capacity: f64, refill_per_sec: f64) -> Bucket {
    Bucket { name, capacity, refill_per_sec }
}

pub const ECS_TASK_DEFINITION_MODIFY: Bucket = b("ecs: task definition modify", 20.0, 1.0);
pub const ECS_TASK_DEFINITION_READ: Bucket = b("ecs: task definition read", 50.0, 20.0);
pub const ECS_SERVICE_MODIFY: Bucket = b("ecs: service modify", 50.0, 5.0);
pub const ECS_SERVICE_READ: Bucket = b("ecs: service read", 100.0, 20.0);
pub const ECS_CLUSTER_MODIFY: Bucket = b("ecs: cluster modify", 20.0, 1.0);
pub const ECS_CLUSTER_READ: Bucket = b("ecs: cluster read", 50.0, 20.0);
pub const ECS_TAG_MODIFY: Bucket = b("ecs: tag modify", 20.0, 10.0);
pub const ECS_TAG_READ: Bucket = b("ecs: tag read", 50.0, 20.0);
pub const ECS_CLUSTER_RESOURCE_MODIFY: Bucket = b("ecs: cluster resource modify", 100.0, 40.0);
pub const ECS_CLUSTER_RESOURCE_READ: Bucket = b("ecs: cluster resource read", 100.0, 20.0);
pub const ELB_ACCOUNT: Bucket = b("elasticloadbalancing: account", 40.0, 10.0);
pub const ELB_MUTATING: Bucket = b("elasticloadbalancing: mutating", 20.0, 3.0);
pub const ELB_NON_MUTATING: Bucket = b("elasticloadbalancing: non-mutating", 40.0, 10.0);
pub const ELB_REGISTRATION: Bucket = b("elasticloadbalancing: registration", 20.0, 4.0);
pub const ELB_RESOURCE_INTENSIVE: Bucket = b("elasticloadbalancing: resource-intensive", 10.0, 0.2);
/// Not published: conservative.
pub const CLOUD_MAP: Bucket = b("servicediscovery (not published; conservative)", 20.0, 10.0);
/// Not published: conservative.
pub const ECR: Bucket = b("ecr (not published; conservative)", 20.0, 10.0);
pub const LOGS_WRITE: Bucket = b("logs: create/delete log group", 10.0, 10.0);
pub const LOGS_SLOW_WRITE: Bucket = b("logs: retention and tags", 5.0, 5.0);
pub const LOGS_READ: Bucket = b("logs: describe and filter", 10.0, 10.0);

/// The buckets one request takes a token from, by `service:Operation`.
pub fn buckets_of(operation: &str) -> Vec<Bucket> {
    let (service, op) = operation.split_once(':').unwrap_or(("", operation));
    match service {
        "ecs" => vec![match op {
            "RegisterTaskDefinition" | "DeregisterTaskDefinition" => ECS_TASK_DEFINITION_MODIFY,
            "DescribeTaskDefinition" | "ListTaskDefinitions" | "ListTaskDefinitionFamilies" => ECS_TASK_DEFINITION_READ,
            "CreateService" | "UpdateService" | "DeleteService" => ECS_SERVICE_MODIFY,
            "DescribeServices" | "ListServices" => ECS_SERVICE_READ,
            "CreateCluster" | "DeleteCluster" | "UpdateCluster" | "PutClusterCapacityProviders" => ECS_CLUSTER_MODIFY,
            "DescribeClusters" | "ListClusters" => ECS_CLUSTER_READ,
            "TagResource" | "UntagResource" => ECS_TAG_MODIFY,
            "ListTagsForResource" => ECS_TAG_READ,
            "RunTask" | "StopTask" | "StartTask" => ECS_CLUSTER_RESOURCE_MODIFY,
            _ => ECS_CLUSTER_RESOURCE_READ,
        }],
        "elasticloadbalancing" => {
            let family = if op.starts_with("Describe") {
                ELB_NON_MUTATING
            } else if op == "CreateLoadBalancer" || op == "SetSubnets" {
                ELB_RESOURCE_INTENSIVE
            } else if op == "RegisterTargets" || op == "DeregisterTargets" {
                ELB_REGISTRATION
            } else {
                ELB_MUTATING
            };
            vec![ELB_ACCOUNT, family]
        }
        "servicediscovery" => vec![CLOUD_MAP],
        "ecr" => vec![ECR],
        "logs" => vec![match op {
            "CreateLogGroup" | "DeleteLogGroup" => LOGS_WRITE,
            "PutRetentionPolicy" | "TagResource" | "TagLogGroup" | "UntagResource" | "ListTagsForResource" => LOGS_SLOW_WRITE,
            _ => LOGS_READ,
        }],
        _ => vec![],
    }
}

/// `service:Operation` of a request, from its wire form: the JSON protocols
/// name it in `X-Amz-Target`, ELB's query protocol in the form body.
pub fn operation_of(request: &HttpRequest) -> String {
    operation_from(request.headers().get("x-amz-target"), request.body().bytes().unwrap_or_default())
}

/// [`operation_of`] from the two parts of a request it reads (for proxies).
pub fn operation_from(target: Option<&str>, body: &[u8]) -> String {
    if let Some(target) = target {
        let (prefix, op) = target.split_once('.').unwrap_or(("", target));
        let service = match prefix {
            p if p.starts_with("AmazonEC2ContainerServiceV") => "ecs",
            p if p.starts_with("AmazonEC2ContainerRegistry") => "ecr",
            p if p.starts_with("Route53AutoNaming") => "servicediscovery",
            p if p.starts_with("Logs_") => "logs",
            "AnyScaleFrontendService" => "application-autoscaling",
            _ => "unknown",
        };
        return format!("{service}:{op}");
    }
    let body = String::from_utf8_lossy(body);
    match body.split('&').find_map(|kv| kv.strip_prefix("Action=")) {
        Some(action) if body.contains("Version=2015-12-01") => format!("elasticloadbalancing:{action}"),
        Some(action) => format!("unknown:{action}"),
        None => "unknown:".into(),
    }
}

/// The share of a documented refill rate berth uses.
pub const MARGIN: f64 = 0.9;

/// Requests in flight at once, at most, per connection.
pub const MAX_IN_FLIGHT: usize = 64;

#[derive(Debug)]
struct Level {
    tokens: f64,
    at: tokio::time::Instant,
}

/// The token buckets of one connection.
#[derive(Debug, Default)]
pub struct Limiter {
    levels: Mutex<HashMap<&'static str, Level>>,
}

impl Limiter {
    /// How long to wait before a request of `operation` may go; takes its
    /// tokens (a bucket may go below zero: that is the queue of the ones
    /// waiting already, so they go in order and never all at once).
    pub fn reserve(&self, operation: &str) -> Duration {
        let now = tokio::time::Instant::now();
        let mut levels = self.levels.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = Duration::ZERO;
        for bucket in buckets_of(operation) {
            // A margin below the documented figures: requests reach AWS a
            // little later or earlier than they leave, and other callers
            // share the account's buckets.
            let (capacity, rate) = (bucket.capacity - 1.0, bucket.refill_per_sec * MARGIN);
            let level = levels.entry(bucket.name).or_insert(Level { tokens: capacity, at: now });
            let refill = now.saturating_duration_since(level.at).as_secs_f64() * rate;
            level.tokens = (level.tokens + refill).min(capacity);
            level.at = now;
            level.tokens -= 1.0;
            if level.tokens < 0.0 {
                wait = wait.max(Duration::from_secs_f64(-level.tokens / rate));
            }
        }
        wait
    }
}

/// An HTTP client that paces requests by the buckets (when `limits` is on)
/// and bounds requests in flight, in front of the real one.
#[derive(Debug, Clone)]
pub struct Paced {
    inner: SharedHttpClient,
    limiter: Option<Arc<Limiter>>,
    in_flight: Arc<Semaphore>,
}

impl Paced {
    pub fn new(inner: SharedHttpClient, limits: bool) -> Self {
        Paced { inner, limiter: limits.then(|| Arc::new(Limiter::default())), in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)) }
    }
}

#[derive(Debug)]
struct PacedConnector {
    inner: SharedHttpConnector,
    limiter: Option<Arc<Limiter>>,
    in_flight: Arc<Semaphore>,
}

impl HttpConnector for PacedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let wait = self.limiter.as_ref().map_or(Duration::ZERO, |l| l.reserve(&operation_of(&request)));
        let (inner, in_flight) = (self.inner.clone(), self.in_flight.clone());
        HttpConnectorFuture::new(async move {
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            let _permit = in_flight.acquire_owned().await.ok();
            inner.call(request).await
        })
    }
}

impl HttpClient for Paced {
    fn http_connector(&self, settings: &HttpConnectorSettings, components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(PacedConnector {
            inner: self.inner.http_connector(settings, components),
            limiter: self.limiter.clone(),
            in_flight: self.in_flight.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_call_berth_makes_has_its_documented_bucket() {
        assert_eq!(buckets_of("ecs:RegisterTaskDefinition"), vec![ECS_TASK_DEFINITION_MODIFY]);
        assert_eq!(buckets_of("ecs:UpdateService"), vec![ECS_SERVICE_MODIFY]);
        assert_eq!(buckets_of("elasticloadbalancing:CreateRule"), vec![ELB_ACCOUNT, ELB_MUTATING]);
        assert_eq!(buckets_of("elasticloadbalancing:DescribeTags"), vec![ELB_ACCOUNT, ELB_NON_MUTATING]);
        assert!(buckets_of("sts:AssumeRole").is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_goes_at_once_and_the_rest_at_the_refill_rate() {
        let l = Limiter::default();
        let waits: Vec<Duration> = (0..25).map(|_| l.reserve("ecs:RegisterTaskDefinition")).collect();
        // A burst of 19 (20, less one of margin), then 0.9/s (1/s, less a tenth).
        assert!(waits[..19].iter().all(Duration::is_zero), "{waits:?}");
        let secs = |d: Duration| (d.as_secs_f64() * 1000.0).round() / 1000.0;
        assert_eq!(secs(waits[19]), secs(Duration::from_secs_f64(1.0 / 0.9)));
        assert_eq!(secs(waits[24]), secs(Duration::from_secs_f64(6.0 / 0.9)));
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(l.reserve("ecs:RegisterTaskDefinition"), Duration::ZERO, "refilled");
    }
}
