//! berth-aws: the AWS backend. The only crate that knows the AWS SDK; it
//! implements the provider seam over ECS, ECR, ELBv2 and Cloud Map, mapping
//! between the SDK's types and berth's model on the way in and out.

mod config;
mod convert;
mod ecr;
mod errors;
pub mod limits;
mod lock;
mod logs;
mod nlb;
mod observe;
mod ownership;
pub mod policy;
mod progress;
pub mod replay;
mod scaling;
mod stats;
mod tasks;
mod unmodelled;
mod write;

use std::time::Duration;

use async_trait::async_trait;
use berth_model::resources::{
    CloudMapService, Cluster, EcrRepository, ListenerRule, LoadBalancer, Namespace, Service, TargetGroup, TaskDefinition,
};
use berth_provider::{LoadBalancerArns, Observed, Provider, Result, Scope, ServiceProgress, Weight};

pub use config::{connect, connect_replay, AwsOptions};
pub use stats::ApiStats;

/// A connection to one AWS account and region.
pub struct Aws {
    pub(crate) ecs: aws_sdk_ecs::Client,
    pub(crate) ecr: aws_sdk_ecr::Client,
    pub(crate) elb: aws_sdk_elasticloadbalancingv2::Client,
    pub(crate) sd: aws_sdk_servicediscovery::Client,
    pub(crate) logs: aws_sdk_cloudwatchlogs::Client,
    pub(crate) autoscaling: aws_sdk_applicationautoscaling::Client,
    pub(crate) region: String,
    stats: ApiStats,
    /// Wall-clock time at connect and the monotonic instant it corresponds
    /// to: `now_ms` follows tokio's clock, so paused time in tests holds.
    clock: (u64, tokio::time::Instant),
    /// Tags read by the ownership check right before a write (by ARN): an
    /// update whose tags are the same sends no TagResource.
    pub(crate) seen_tags: std::sync::Mutex<std::collections::HashMap<String, Vec<berth_model::resources::Tag>>>,
    /// Per revision (ARN): each container's name, whether it is essential,
    /// and its awslogs group and stream prefix — what DescribeTasks does not say.
    pub(crate) container_logs: std::sync::Mutex<std::collections::HashMap<String, Vec<logs::ContainerLog>>>,
}

/// Independent reads run concurrently, this many at a time.
pub(crate) const CONCURRENCY: usize = 8;

impl Aws {
    /// Calls made so far, per `service:Operation`.
    pub fn stats(&self) -> &ApiStats {
        &self.stats
    }

    pub fn region(&self) -> &str {
        &self.region
    }
}

#[async_trait]
impl Provider for Aws {
    fn name(&self) -> String {
        format!("aws:{}", self.region)
    }

    async fn observe(&self, scope: &Scope) -> Result<Observed> {
        observe::observe(self, scope).await
    }

    async fn create_cluster(&self, cluster: &Cluster) -> Result<String> {
        write::create_cluster(self, cluster).await
    }

    async fn delete_cluster(&self, arn: &str) -> Result<()> {
        write::delete_cluster(self, arn).await
    }

    async fn put_repository(&self, repo: &EcrRepository, existing_arn: Option<&str>) -> Result<String> {
        write::put_repository(self, repo, existing_arn).await
    }

    async fn delete_repository(&self, name: &str, force: bool) -> Result<()> {
        write::delete_repository(self, name, force).await
    }

    async fn lifecycle_preview(&self, repository: &str) -> Result<Vec<berth_provider::ExpiringImage>> {
        ecr::lifecycle_preview(self, repository).await
    }

    async fn resolve_image(
        &self,
        registry: Option<&str>,
        region: Option<&str>,
        repository: &str,
        tag: &str,
    ) -> Result<berth_provider::ImageLookup> {
        ecr::resolve_image(self, registry, region, repository, tag).await
    }

    async fn register_task_definition(&self, td: &TaskDefinition) -> Result<String> {
        write::register_task_definition(self, td).await
    }

    async fn deregister_task_definitions(&self, family: &str) -> Result<()> {
        write::deregister_task_definitions(self, family).await
    }

    async fn previous_task_definition(&self, arn: &str) -> Result<Option<String>> {
        write::previous_task_definition(self, arn).await
    }

    async fn latest_task_definition(&self, family: &str) -> Result<Option<(String, TaskDefinition)>> {
        ownership::latest_task_definition(self, family).await
    }

    async fn live_tags(&self, kind: berth_provider::Kind, arn: &str) -> Result<Option<Vec<berth_model::resources::Tag>>> {
        ownership::live_tags(self, kind, arn).await
    }

    async fn tag_resource(&self, kind: berth_provider::Kind, arn: &str, tags: &[berth_model::resources::Tag]) -> Result<()> {
        ownership::tag_resource(self, kind, arn, tags).await
    }

    async fn create_load_balancer(&self, lb: &LoadBalancer) -> Result<LoadBalancerArns> {
        write::create_load_balancer(self, lb).await
    }

    async fn delete_load_balancer(&self, arn: &str) -> Result<()> {
        write::delete_load_balancer(self, arn).await
    }

    async fn create_listener(&self, listener: &berth_model::resources::Listener) -> Result<String> {
        nlb::create_listener(self, listener).await
    }

    async fn modify_listener(&self, arn: &str, listener: &berth_model::resources::Listener) -> Result<()> {
        nlb::modify_listener(self, arn, listener).await
    }

    async fn delete_listener(&self, arn: &str) -> Result<()> {
        nlb::delete_listener(self, arn).await
    }

    async fn listener_vpc(&self, listener_arn: &str) -> Result<Option<String>> {
        nlb::listener_vpc(self, listener_arn).await
    }

    async fn create_target_group(&self, tg: &TargetGroup) -> Result<String> {
        write::create_target_group(self, tg).await
    }

    async fn modify_target_group(&self, arn: &str, tg: &TargetGroup) -> Result<()> {
        write::modify_target_group(self, arn, tg).await
    }

    async fn delete_target_group(&self, arn: &str) -> Result<()> {
        write::delete_target_group(self, arn).await
    }

    async fn create_rule(&self, rule: &ListenerRule, priority: u32) -> Result<String> {
        write::create_rule(self, rule, priority).await
    }

    async fn modify_rule(&self, arn: &str, rule: &ListenerRule) -> Result<()> {
        write::modify_rule(self, arn, rule).await
    }

    async fn set_rule_priority(&self, arn: &str, priority: u32) -> Result<()> {
        write::set_rule_priority(self, arn, priority).await
    }

    async fn delete_rule(&self, arn: &str) -> Result<()> {
        write::delete_rule(self, arn).await
    }

    async fn set_rule_weights(&self, arn: &str, weights: &[Weight]) -> Result<()> {
        write::set_rule_weights(self, arn, weights).await
    }

    async fn create_namespace(&self, ns: &Namespace) -> Result<String> {
        write::create_namespace(self, ns).await
    }

    async fn delete_namespace(&self, arn: &str) -> Result<()> {
        write::delete_namespace(self, arn).await
    }

    async fn create_cloud_map_service(&self, svc: &CloudMapService, namespace_arn: &str) -> Result<String> {
        write::create_cloud_map_service(self, svc, namespace_arn).await
    }

    async fn delete_cloud_map_service(&self, arn: &str) -> Result<()> {
        write::delete_cloud_map_service(self, arn).await
    }

    async fn create_service(&self, svc: &Service) -> Result<(String, String)> {
        write::create_service(self, svc).await
    }

    async fn update_service(&self, arn: &str, svc: &Service) -> Result<String> {
        write::update_service(self, arn, svc).await
    }

    async fn delete_service(&self, cluster: &str, arn: &str) -> Result<()> {
        write::delete_service(self, cluster, arn).await
    }

    async fn set_service_count(&self, cluster: &str, service: &str, count: u32) -> Result<()> {
        write::set_service_count(self, cluster, service, count).await
    }

    async fn put_scalable_target(&self, target: &berth_model::resources::ScalableTarget) -> Result<String> {
        scaling::put(self, target).await
    }

    async fn delete_scalable_target(&self, resource_id: &str) -> Result<()> {
        scaling::delete(self, resource_id).await
    }

    async fn suspend_scale_in(&self, resource_id: &str, suspended: bool) -> Result<()> {
        scaling::suspend_scale_in(self, resource_id, suspended).await
    }

    async fn service_progress(&self, cluster: &str, service: &str, cursor_ms: u64) -> Result<ServiceProgress> {
        progress::service_progress(self, cluster, service, cursor_ms).await
    }

    async fn services_progress(&self, cluster: &str, services: &[(String, u64)]) -> Vec<Result<ServiceProgress>> {
        progress::services_progress(self, cluster, services).await
    }

    async fn create_log_group(&self, group: &berth_model::resources::LogGroup) -> Result<String> {
        logs::create_log_group(self, group).await
    }

    async fn put_log_retention(&self, name: &str, days: u32) -> Result<()> {
        logs::put_retention(self, name, days).await
    }

    async fn delete_log_group(&self, name: &str) -> Result<()> {
        logs::delete_log_group(self, name).await
    }

    async fn log_lines(&self, filter: &berth_provider::LogFilter) -> Result<Vec<berth_provider::LogLine>> {
        logs::log_lines(self, filter).await
    }

    async fn run_task(&self, request: &berth_provider::RunTaskRequest) -> Result<berth_provider::TaskStatus> {
        tasks::run_task(self, request).await
    }

    async fn describe_task(&self, cluster: &str, task_arn: &str) -> Result<berth_provider::TaskStatus> {
        tasks::describe_task(self, cluster, task_arn).await
    }

    async fn stop_task(&self, cluster: &str, task_arn: &str, reason: &str) -> Result<()> {
        tasks::stop_task(self, cluster, task_arn, reason).await
    }

    fn now_ms(&self) -> u64 {
        self.clock.0 + self.clock.1.elapsed().as_millis() as u64
    }

    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }

    // The app lock: ECR repositories `berth_lock/<app>/g<n>` (lock.rs).

    async fn lock_list(&self, app: &str) -> Result<Vec<berth_provider::LockRecord>> {
        lock::list(self, app).await
    }

    async fn lock_create(&self, lock: &berth_provider::LockRecord) -> Result<bool> {
        lock::create(self, lock).await
    }

    async fn lock_refresh(&self, lock: &berth_provider::LockRecord) -> Result<()> {
        lock::refresh(self, lock).await
    }

    async fn lock_delete(&self, lock: &berth_provider::LockRecord) -> Result<()> {
        lock::delete(self, lock).await
    }
}
