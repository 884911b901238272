//! The app lock on AWS: generation `n` of app `a`'s lock is the ECR
//! repository `berth_lock/a/gn`, tagged with its holder and expiry.
//! CreateRepository is the exclusive step: for one name, exactly one caller
//! gets the repository and every other gets RepositoryAlreadyExistsException
//! (ECR repository names are unique per account and region, and creation is
//! strongly consistent). An empty repository costs nothing. Its tags are set
//! in the same CreateRepository call, so a lock is never seen without its
//! holder. It carries no `berth:app` tag and its name is outside every
//! app's `<app>/` prefix, so observing an app never plans it.
//! The algorithm over these calls is `berth_engine::lock`.

use aws_sdk_ecr::types::Tag;
use berth_provider::{
    parse_lock_name, LockRecord, ProviderError, Result, LOCK_PREFIX, TAG_LOCK, TAG_LOCK_EXPIRES, TAG_LOCK_HOLDER, TAG_LOCK_SINCE,
    TAG_LOCK_TOKEN,
};

use crate::errors::{build_error, code, map, Context};
use crate::Aws;

/// A repository whose expiry tag cannot be read holds for this long after it was created.
const UNTAGGED_TTL_SECS: u64 = 600;

/// ECR tag values allow letters, digits, spaces and `_ . : / = + - @`, at most 256 of them.
fn tag_value(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c) { c } else { '_' }).take(256).collect()
}

fn tag(key: &str, value: &str) -> Result<Tag> {
    Tag::builder().key(key).value(tag_value(value)).build().map_err(build_error)
}

fn tags(lock: &LockRecord) -> Result<Vec<Tag>> {
    Ok(vec![
        tag(TAG_LOCK, &lock.app)?,
        tag(TAG_LOCK_HOLDER, &lock.holder)?,
        tag(TAG_LOCK_SINCE, &lock.since.to_string())?,
        tag(TAG_LOCK_EXPIRES, &lock.expires.to_string())?,
        tag(TAG_LOCK_TOKEN, &lock.token)?,
    ])
}

pub async fn list(aws: &Aws, app: &str) -> Result<Vec<LockRecord>> {
    let repos = crate::ecr::all_repositories(aws).await?;
    let mut out = Vec::new();
    for r in repos {
        let Some(generation) = r.repository_name().and_then(|n| parse_lock_name(app, n)) else { continue };
        let arn = r.repository_arn().unwrap_or_default();
        let created = r.created_at().and_then(|t| u64::try_from(t.secs()).ok()).unwrap_or(0);
        let tags = match aws.ecr.list_tags_for_resource().resource_arn(arn).send().await {
            Ok(t) => t.tags().to_vec(),
            // Released between the listing and the read.
            Err(e) if code(&e).as_deref() == Some("RepositoryNotFoundException") => continue,
            Err(e) => return Err(map("ecr:ListTagsForResource", arn, e)),
        };
        let get = |key: &str| tags.iter().find(|t| t.key() == key).map(|t| t.value().to_string());
        let number = |key: &str| get(key).and_then(|v| v.parse::<u64>().ok());
        out.push(LockRecord {
            app: app.to_string(),
            generation,
            holder: get(TAG_LOCK_HOLDER).unwrap_or_else(|| format!("unknown (untagged repository {LOCK_PREFIX}/{app}/g{generation})")),
            since: number(TAG_LOCK_SINCE).unwrap_or(created),
            expires: number(TAG_LOCK_EXPIRES).unwrap_or(created + UNTAGGED_TTL_SECS),
            token: get(TAG_LOCK_TOKEN).unwrap_or_default(),
        });
    }
    out.sort_by_key(|r| r.generation);
    Ok(out)
}

pub async fn create(aws: &Aws, lock: &LockRecord) -> Result<bool> {
    let name = lock.resource_name();
    let created = aws.ecr.create_repository().repository_name(&name).set_tags(Some(tags(lock)?)).send().await;
    match created {
        Ok(_) => Ok(true),
        Err(e) if code(&e).as_deref() == Some("RepositoryAlreadyExistsException") => Ok(false),
        Err(e) => Err(map("ecr:CreateRepository", &name, e)),
    }
}

pub async fn refresh(aws: &Aws, lock: &LockRecord) -> Result<()> {
    let name = lock.resource_name();
    let found = aws.ecr.describe_repositories().repository_names(&name).send().await;
    let arn = match found {
        Ok(o) => o.repositories().first().and_then(|r| r.repository_arn()).unwrap_or_default().to_string(),
        Err(e) if code(&e).as_deref() == Some("RepositoryNotFoundException") => {
            return Err(ProviderError::NotFound { what: format!("the lock {name}") })
        }
        Err(e) => return Err(map("ecr:DescribeRepositories", &name, e)),
    };
    aws.ecr
        .tag_resource()
        .resource_arn(&arn)
        .tags(tag(TAG_LOCK_EXPIRES, &lock.expires.to_string())?)
        .send()
        .await
        .ctx("ecr:TagResource", &arn)?;
    Ok(())
}

pub async fn delete(aws: &Aws, lock: &LockRecord) -> Result<()> {
    let name = lock.resource_name();
    // force: a lock repository holds no images, unless someone pushed one to keep it.
    match aws.ecr.delete_repository().repository_name(&name).force(true).send().await {
        Ok(_) => Ok(()),
        Err(e) if code(&e).as_deref() == Some("RepositoryNotFoundException") => Ok(()),
        Err(e) => Err(map("ecr:DeleteRepository", &name, e)),
    }
}
