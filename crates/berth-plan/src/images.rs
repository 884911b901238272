//! Digest pinning: every image in ECR is resolved from its tag to the
//! digest it points to at plan time, and the task definition deploys that
//! digest — so apply deploys exactly what was planned even if the tag moves.

use std::collections::{BTreeMap, BTreeSet};

use berth_model::Desired;
use berth_provider::ImageLookup;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// An image reference that names an ECR repository.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EcrImage {
    /// The full reference as written (`…amazonaws.com/shop/web:v1`, `shop/api:v1`).
    pub reference: String,
    /// The registry (account id) and region of a reference with a host.
    pub registry: Option<String>,
    pub region: Option<String>,
    pub repository: String,
    pub tag: String,
}

/// One image the plan pinned: `from` (a tag) → `to` (a digest).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Pin {
    /// `taskdef.web/web`: the task definition and container.
    pub container: String,
    pub from: String,
    pub to: String,
}

/// Parses `<account>.dkr.ecr.<region>.amazonaws.com/<repo>:<tag>`, or a
/// repository-relative `<repo>:<tag>` of a repository the spec owns.
pub fn parse_ecr(reference: &str, owned: &BTreeSet<String>) -> Option<EcrImage> {
    if reference.contains('@') {
        return None; // already a digest
    }
    let (name, tag) = reference.rsplit_once(':').filter(|(n, t)| !t.contains('/') && !n.is_empty())?;
    match name.split_once('/') {
        Some((host, repository)) if host.contains(".dkr.ecr.") && host.contains(".amazonaws.com") => {
            let mut parts = host.split('.');
            let registry = parts.next()?.to_string();
            let region = host.split(".dkr.ecr.").nth(1)?.split('.').next()?.to_string();
            Some(EcrImage { reference: reference.into(), registry: Some(registry), region: Some(region), repository: repository.into(), tag: tag.into() })
        }
        _ if owned.contains(name) => Some(EcrImage { reference: reference.into(), registry: None, region: None, repository: name.into(), tag: tag.into() }),
        _ => None,
    }
}

/// Every distinct ECR image of the desired task definitions.
pub fn ecr_images(desired: &Desired) -> Vec<EcrImage> {
    let owned: BTreeSet<String> = desired.ecr_repositories.iter().map(|r| r.repository_name.clone()).collect();
    let found: BTreeSet<EcrImage> =
        desired.task_definitions.iter().flat_map(|t| &t.container_definitions).filter_map(|c| parse_ecr(&c.image, &owned)).collect();
    found.into_iter().collect()
}

/// Why an image cannot be pinned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("image {reference} is not in ECR repository {repository}: the build has not been pushed yet (push it, then plan again)")]
    NotPushed { reference: String, repository: String },
    #[error("image {reference} names ECR repository {repository}, which does not exist (and the spec does not create it)")]
    NoRepository { reference: String, repository: String },
}

/// What pinning did: the pins, and warnings for images left unpinned.
#[derive(Debug, Default)]
pub struct Pinned {
    pub pins: Vec<Pin>,
    pub warnings: Vec<String>,
    /// `image:<reference>` → digest, for a saved plan's staleness check.
    pub fingerprints: BTreeMap<String, String>,
}

/// Rewrites every ECR image of `desired` to its digest. `lookups` holds what
/// ECR said of each image; `creating` the repositories this plan creates
/// (their images cannot exist yet). Images outside ECR keep their tag, with
/// a warning unless `allow_mutable_tags`.
pub fn pin(desired: &mut Desired, lookups: &BTreeMap<String, ImageLookup>, creating: &BTreeSet<String>, allow_mutable_tags: bool) -> Result<Pinned, PinError> {
    let owned: BTreeSet<String> = desired.ecr_repositories.iter().map(|r| r.repository_name.clone()).collect();
    let mut out = Pinned::default();
    for td in desired.task_definitions.iter_mut() {
        let short = td.family.clone();
        for c in td.container_definitions.iter_mut() {
            let Some(image) = parse_ecr(&c.image, &owned) else {
                if !c.image.contains('@') && !allow_mutable_tags {
                    out.warnings.push(format!(
                        "image {} of {short}/{} is not in ECR: its tag can move, so this deploy is not reproducible (use a digest, or pass --allow-mutable-tags)",
                        c.image, c.name
                    ));
                }
                continue;
            };
            match lookups.get(&image.reference) {
                Some(ImageLookup::Found { digest, registry }) => {
                    let to = format!("{registry}/{}@{digest}", image.repository);
                    out.fingerprints.insert(format!("image:{}", image.reference), digest.clone());
                    out.pins.push(Pin { container: format!("{short}/{}", c.name), from: c.image.clone(), to: to.clone() });
                    c.image = to;
                }
                Some(ImageLookup::NoRepository) if creating.contains(&image.repository) => out.warnings.push(format!(
                    "image {} is not pinned: repository {} does not exist yet (this plan creates it); push the build, then plan again",
                    image.reference, image.repository
                )),
                Some(ImageLookup::NoRepository) => {
                    return Err(PinError::NoRepository { reference: image.reference.clone(), repository: image.repository.clone() })
                }
                Some(ImageLookup::NoTag) | None => {
                    return Err(PinError::NotPushed { reference: image.reference.clone(), repository: image.repository.clone() })
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_references() {
        let owned: BTreeSet<String> = ["shop/api".to_string()].into();
        let full = parse_ecr("123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/shop/web:v1", &owned).expect("ecr");
        assert_eq!((full.registry.as_deref(), full.region.as_deref(), full.repository.as_str(), full.tag.as_str()), (Some("123456789012"), Some("ap-northeast-2"), "shop/web", "v1"));
        let relative = parse_ecr("shop/api:abc", &owned).expect("owned repository");
        assert_eq!((relative.registry, relative.repository.as_str()), (None, "shop/api"));
        assert!(parse_ecr("nginx:1.27", &owned).is_none());
        assert!(parse_ecr("registry.example.com:5000/app", &owned).is_none());
        assert!(parse_ecr("123456789012.dkr.ecr.us-east-1.amazonaws.com/x@sha256:00", &owned).is_none());
    }
}
