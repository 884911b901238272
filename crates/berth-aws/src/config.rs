//! Connecting: region, credentials (the standard chain: environment,
//! profiles with SSO and credential_process, web identity, the CodeBuild/ECS
//! container role, IMDS), one HTTP client (rustls with ring), retries, and
//! the endpoint override for emulators.

use std::collections::HashMap;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region};
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
    /// Attempts per call for throttling and 5xx (the SDK's standard mode).
    pub max_attempts: u32,
    /// The environment berth runs in (for static credentials and region).
    pub env: HashMap<String, String>,
}

fn env_nonempty<'a>(env: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    env.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

pub async fn connect(opts: &AwsOptions) -> Result<Aws, ProviderError> {
    let http = aws_smithy_http_client::Builder::new().tls_provider(tls::Provider::Rustls(CryptoMode::Ring)).build_https();
    connect_with(opts, http).await
}

/// A connection whose every request is answered from recorded responses
/// (see [`crate::replay`]), with static credentials and no retries.
pub async fn connect_replay(region: &str, replay: crate::replay::Replay) -> Result<Aws, ProviderError> {
    let env = [("AWS_ACCESS_KEY_ID", "recorded"), ("AWS_SECRET_ACCESS_KEY", "recorded")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let opts = AwsOptions { region: Some(region.into()), max_attempts: 1, env, ..AwsOptions::default() };
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
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(RetryConfig::standard().with_max_attempts(opts.max_attempts.max(1)))
        .timeout_config(
            TimeoutConfig::builder().connect_timeout(Duration::from_secs(5)).operation_attempt_timeout(Duration::from_secs(30)).build(),
        );
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
    let ecs = aws_sdk_ecs::config::Builder::from(&shared).interceptor(CountCalls { stats: stats.clone(), service: "ecs" }).build();
    let ecr = aws_sdk_ecr::config::Builder::from(&shared).interceptor(CountCalls { stats: stats.clone(), service: "ecr" }).build();
    let elb = aws_sdk_elasticloadbalancingv2::config::Builder::from(&shared)
        .interceptor(CountCalls { stats: stats.clone(), service: "elasticloadbalancing" })
        .build();
    let sd = aws_sdk_servicediscovery::config::Builder::from(&shared)
        .interceptor(CountCalls { stats: stats.clone(), service: "servicediscovery" })
        .build();
    Ok(Aws {
        ecs: aws_sdk_ecs::Client::from_conf(ecs),
        ecr: aws_sdk_ecr::Client::from_conf(ecr),
        elb: aws_sdk_elasticloadbalancingv2::Client::from_conf(elb),
        sd: aws_sdk_servicediscovery::Client::from_conf(sd),
        region,
        stats,
        clock: (
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64),
            tokio::time::Instant::now(),
        ),
    })
}
