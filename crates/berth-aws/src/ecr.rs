//! ECR reads beyond observing: digest lookups for pinning, and the
//! lifecycle policy preview.

use std::time::Duration;

use aws_config::Region;
use berth_provider::{ExpiringImage, ImageLookup, ProviderError, Result};

use crate::errors::{code, map, Context};
use crate::Aws;

fn ms(t: Option<&aws_smithy_types::DateTime>) -> u64 {
    t.and_then(|t| t.to_millis().ok()).map_or(0, |x| u64::try_from(x).unwrap_or(0))
}

/// Every repository of the account and region (DescribeRepositories to its last page).
pub async fn all_repositories(aws: &Aws) -> Result<Vec<aws_sdk_ecr::types::Repository>> {
    aws.ecr
        .describe_repositories()
        .max_results(1000)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ctx("ecr:DescribeRepositories", "*")
}

pub async fn resolve_image(aws: &Aws, registry: Option<&str>, region: Option<&str>, repository: &str, tag: &str) -> Result<ImageLookup> {
    let region = region.unwrap_or(&aws.region).to_string();
    let mut call = aws
        .ecr
        .describe_images()
        .repository_name(repository)
        .set_registry_id(registry.map(str::to_string))
        .image_ids(aws_sdk_ecr::types::ImageIdentifier::builder().image_tag(tag).build())
        .customize();
    if region != aws.region {
        // An image in another region is looked up there.
        call = call.config_override(aws_sdk_ecr::config::Builder::default().region(Region::new(region.clone())));
    }
    match call.send().await {
        Ok(out) => match out.image_details().first() {
            Some(d) => Ok(ImageLookup::Found {
                digest: d.image_digest().unwrap_or_default().into(),
                registry: format!("{}.dkr.ecr.{region}.amazonaws.com", d.registry_id().unwrap_or_default()),
            }),
            None => Ok(ImageLookup::NoTag),
        },
        Err(e) if code(&e).as_deref() == Some("RepositoryNotFoundException") => Ok(ImageLookup::NoRepository),
        Err(e) if code(&e).as_deref() == Some("ImageNotFoundException") => Ok(ImageLookup::NoTag),
        Err(e) => Err(map("ecr:DescribeImages", &format!("{repository}:{tag}"), e)),
    }
}

pub async fn lifecycle_preview(aws: &Aws, repository: &str) -> Result<Vec<ExpiringImage>> {
    aws.ecr.start_lifecycle_policy_preview().repository_name(repository).send().await.ctx("ecr:StartLifecyclePolicyPreview", repository)?;
    let mut delay = Duration::from_secs(1);
    for _ in 0..60 {
        let mut results = Vec::new();
        let mut token: Option<String> = None;
        let mut status = None;
        loop {
            let page = aws
                .ecr
                .get_lifecycle_policy_preview()
                .repository_name(repository)
                .set_next_token(token.clone())
                .send()
                .await
                .ctx("ecr:GetLifecyclePolicyPreview", repository)?;
            status = page.status().map(|s| s.as_str().to_string()).or(status);
            results.extend(page.preview_results().iter().map(|r| ExpiringImage {
                digest: r.image_digest().unwrap_or_default().into(),
                tags: r.image_tags().to_vec(),
                pushed_at_ms: ms(r.image_pushed_at()),
                rule_priority: r.applied_rule_priority().map_or(0, |p| u32::try_from(p).unwrap_or(0)),
            }));
            token = page.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        match status.as_deref() {
            Some("COMPLETE") => {
                results.sort_by_key(|r| (r.pushed_at_ms, r.digest.clone()));
                return Ok(results);
            }
            Some("FAILED" | "EXPIRED") => {
                return Err(ProviderError::Other(format!("ECR's lifecycle preview of {repository} ended {}", status.unwrap_or_default())))
            }
            _ => {}
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
    Err(ProviderError::Other(format!("ECR's lifecycle preview of {repository} did not finish in time")))
}
