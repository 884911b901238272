//! Connecting: region, credentials (the standard chain: environment,
//! profiles with SSO and credential_process, web identity, the CodeBuild/ECS
//! container role, IMDS), one HTTP client (rustls with ring), retries, and
//! the endpoint override for emulators.

use std::collections::HashMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_ecs::config::retry::{RetryPartition, TokenBucket};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use berth_provider::ProviderError;

use crate::stats::{ApiStats, CountCalls};
use crate::Aws;

#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// `--region`, else the spec's `x-berth.region`.
    pub region: Option<String>,
    pub profile: Option<String>,
    /// `--endpoint-url` (an emulator); `AWS_ENDPOINT_URL` and the
    /// per-service variables are honoured by aws-config too.
    pub endpoint_url: Option<String>,
    /// Attempts per call for throttling, 5xx and transient (timeout,
    /// connection) errors; other errors are never retried. `None`:
    /// [`DEFAULT_MAX_ATTEMPTS`].
    pub max_attempts: Option<u32>,
    /// The environment berth runs in (for static credentials and region).
    pub env: HashMap<String, String>,
}

/// Attempts per call when throttled or answered 5xx. Each attempt fails
/// independently with probability p at worst, so a call gives up with p^n:
/// at p = 0.5 (half the requests throttled), 20 attempts fail one call in a
/// million; an apply of a few hundred calls then fails about once in 3,000
/// runs (5 attempts: one call in 32, i.e. nearly every run).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 20;

/// Backoff before the first retry (doubling with each retry, with full
/// jitter) and the most any retry waits. A call throttled now and then
/// waits a fraction of a second; one that takes all 20 attempts waits
/// about 17 s on average, 33 s at most. The waits of a level of concurrent
/// reads are those of its unluckiest call, so a short cap keeps a run
/// throttled throughout to seconds (the SDK's default, 20 s, made it minutes).
pub const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
pub const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// The retry configuration: the SDK's standard mode (exponential backoff
/// with jitter), or with `AWS_RETRY_MODE=adaptive` (the SDK's variable) its
/// adaptive mode, which adds a client-side rate limiter that slows every
/// request down after a throttle. Not the default: measured through a proxy
/// that throttles half of all requests whatever the rate, the limiter falls
/// to its floor of 0.5 requests a second and stays there: an apply of 24
/// calls took 78 s instead of 8 s. AWS throttles by rate, so adaptive mode
/// suits a client that causes its own throttling (many runs at once).
fn retry_config(opts: &AwsOptions) -> RetryConfig {
    let attempts = opts.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS).max(1);
    let base = match env_nonempty(&opts.env, "AWS_RETRY_MODE") {
        Some("adaptive") => RetryConfig::adaptive(),
        _ => RetryConfig::standard(),
    };
    base.with_max_attempts(attempts).with_initial_backoff(INITIAL_BACKOFF).with_max_backoff(MAX_BACKOFF)
}

/// A retry partition for one client of one connection: its own rate
/// limiter (adaptive mode only; each service throttles on its own) and no
/// retry quota beyond the attempts per call. The SDK's default partition is
/// shared by every client in the process and caps retries with a 500-token
/// bucket: a retry takes 5 tokens, which come back only if that retry
/// succeeds, and a first attempt that succeeds returns 1. At 50 %
/// throttling a call loses about 2 tokens on average, so after some 250
/// calls every throttled call would fail at its first attempt.
fn retry_partition(service: &'static str) -> RetryPartition {
    RetryPartition::custom(service).token_bucket(TokenBucket::unlimited()).build()
}

fn env_nonempty<'a>(env: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    env.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

pub async fn connect(opts: &AwsOptions) -> Result<Aws, ProviderError> {
    let http = aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
    // AWS's documented rate limits, kept client side (`BERTH_AWS_RATE_LIMITS=off` for emulators and benchmarks).
    let limits = env_nonempty(&opts.env, "BERTH_AWS_RATE_LIMITS") != Some("off");
    connect_with(opts, aws_smithy_runtime_api::client::http::SharedHttpClient::new(crate::limits::Paced::new(http, limits))).await
}

/// A connection whose every request is answered from recorded responses
/// (see [`crate::replay`]), with static credentials and no retries.
pub async fn connect_replay(region: &str, replay: crate::replay::Replay) -> Result<Aws, ProviderError> {
    let env = [("AWS_ACCESS_KEY_ID", "recorded"), ("AWS_SECRET_ACCESS_KEY", "recorded")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let opts = AwsOptions { region: Some(region.into()), max_attempts: Some(1), env, ..AwsOptions::default() };
    connect_with(&opts, aws_smithy_runtime_api::client::http::SharedHttpClient::new(replay)).await
}

async fn connect_with(opts: &AwsOptions, http: aws_smithy_runtime_api::client::http::SharedHttpClient) -> Result<Aws, ProviderError> {
    // IMDS is the last credential source; on a laptop or in CI without it,
    // fail in a second or two instead of hanging on retries.
    let region = opts
        .region
        .clone()
        .or_else(|| env_nonempty(&opts.env, "AWS_REGION").map(str::to_string))
        .or_else(|| env_nonempty(&opts.env, "AWS_DEFAULT_REGION").map(str::to_string));
    // Every credential source uses the same HTTP client.
    let provider_config =
        aws_config::provider_config::ProviderConfig::default().with_http_client(http.clone()).with_region(region.clone().map(Region::new));
    let imds = aws_config::imds::Client::builder()
        .configure(&provider_config)
        .connect_timeout(Duration::from_secs(1))
        .read_timeout(Duration::from_secs(1))
        .max_attempts(1)
        .build();
    // A request paced by the rate limits (crate::limits) waits inside the
    // HTTP client before it is sent: the timeouts start once it goes out (a
    // read timeout, not a whole-attempt one), and the SDK's stalled-stream
    // check, which would take that wait for a stalled upload, is off (berth's
    // requests and responses are small; the read timeout covers a hung one).
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(retry_config(opts))
        .stalled_stream_protection(aws_config::stalled_stream_protection::StalledStreamProtectionConfig::disabled())
        .timeout_config(TimeoutConfig::builder().connect_timeout(Duration::from_secs(5)).read_timeout(Duration::from_secs(30)).build());
    if let Some(p) = &opts.profile {
        loader = loader.profile_name(p);
    }
    if let Some(url) = &opts.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(r) = &region {
        loader = loader.region(Region::new(r.clone()));
    }
    let chain = {
        let mut b =
            aws_config::default_provider::credentials::DefaultCredentialsChain::builder().configure(provider_config).imds_client(imds);
        if let Some(p) = &opts.profile {
            b = b.profile_name(p);
        }
        if let Some(r) = &region {
            b = b.region(Region::new(r.clone()));
        }
        b.build().await
    };
    // Static keys in berth's environment are the chain's first source anyway;
    // reading them here keeps in-process runs (tests) self-contained.
    match (env_nonempty(&opts.env, "AWS_ACCESS_KEY_ID"), env_nonempty(&opts.env, "AWS_SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => {
            let creds = aws_sdk_ecs::config::Credentials::new(
                id,
                secret,
                env_nonempty(&opts.env, "AWS_SESSION_TOKEN").map(str::to_string),
                None,
                "berth-env",
            );
            loader = loader.credentials_provider(creds);
        }
        _ => loader = loader.credentials_provider(chain),
    }
    let shared = loader.load().await;
    let Some(region) = shared.region().map(|r| r.to_string()) else {
        return Err(ProviderError::Invalid(
            "no AWS region: pass --region, set x-berth.region in the spec, set AWS_REGION, or set region in your AWS profile".into(),
        ));
    };
    let stats = ApiStats::default();
    let ecs = aws_sdk_ecs::config::Builder::from(&shared)
        .interceptor(CountCalls { stats: stats.clone(), service: "ecs" })
        .retry_partition(retry_partition("berth-ecs"))
        .build();
    let ecr = aws_sdk_ecr::config::Builder::from(&shared)
        .interceptor(CountCalls { stats: stats.clone(), service: "ecr" })
        .retry_partition(retry_partition("berth-ecr"))
        .build();
    let elb = aws_sdk_elasticloadbalancingv2::config::Builder::from(&shared)
        .interceptor(CountCalls { stats: stats.clone(), service: "elasticloadbalancing" })
        .retry_partition(retry_partition("berth-elasticloadbalancing"))
        .build();
    let sd = aws_sdk_servicediscovery::config::Builder::from(&shared)
        .interceptor(CountCalls { stats: stats.clone(), service: "servicediscovery" })
        .retry_partition(retry_partition("berth-servicediscovery"))
        .build();
    let logs = aws_sdk_cloudwatchlogs::config::Builder::from(&shared)
        .interceptor(CountCalls { stats: stats.clone(), service: "logs" })
        .retry_partition(retry_partition("berth-logs"))
        .build();
    let autoscaling = aws_sdk_applicationautoscaling::config::Builder::from(&shared)
        .interceptor(CountCalls { stats: stats.clone(), service: "application-autoscaling" })
        .retry_partition(retry_partition("berth-application-autoscaling"))
        .build();
    Ok(Aws {
        logs: aws_sdk_cloudwatchlogs::Client::from_conf(logs),
        autoscaling: aws_sdk_applicationautoscaling::Client::from_conf(autoscaling),
        ecs: aws_sdk_ecs::Client::from_conf(ecs),
        ecr: aws_sdk_ecr::Client::from_conf(ecr),
        elb: aws_sdk_elasticloadbalancingv2::Client::from_conf(elb),
        sd: aws_sdk_servicediscovery::Client::from_conf(sd),
        region,
        stats,
        seen_tags: Default::default(),
        container_logs: Default::default(),
        clock: (
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
            tokio::time::Instant::now(),
        ),
    })
}
