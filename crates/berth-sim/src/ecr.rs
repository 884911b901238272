//! ECR's lifecycle policy evaluation, as AWS documents it, over the sim's
//! images:
//! - rules are evaluated in priority order, lowest number first;
//! - an image is expired by at most one rule;
//! - an image that matches the tag selection of a higher-priority rule
//!   cannot be expired by a lower-priority one (it still counts, as if not
//!   expired, when a later rule ranks images);
//! - `tagStatus`: `untagged` selects images without tags, `tagged` those
//!   with tags where every prefix of `tagPrefixList` starts one of the
//!   image's tags, `any` all images;
//! - `imageCountMoreThan N`: images sorted newest first by push time, all
//!   after the first N expire; `sinceImagePushed N days`: images pushed more
//!   than N days ago expire; older images always go before newer ones.

use berth_provider::ExpiringImage;
use serde_json::Value;

use crate::state::SimImage;

const DAY_MS: u64 = 86_400_000;

fn selects(selection: &Value, image: &SimImage) -> bool {
    match selection["tagStatus"].as_str().unwrap_or("any") {
        "untagged" => image.tags.is_empty(),
        "tagged" => {
            let prefixes: Vec<&str> = selection["tagPrefixList"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            !image.tags.is_empty() && prefixes.iter().all(|p| image.tags.iter().any(|t| t.starts_with(p)))
        }
        _ => true,
    }
}

/// The images `policy` would expire at `now_ms`, oldest first.
pub fn evaluate(policy: &Value, images: &[SimImage], now_ms: u64) -> Vec<ExpiringImage> {
    let mut rules: Vec<&Value> = policy["rules"].as_array().map(|r| r.iter().collect()).unwrap_or_default();
    rules.sort_by_key(|r| r["rulePriority"].as_u64().unwrap_or(u64::MAX));
    // Per image: the priority of the rule that expires it.
    let mut expired: Vec<Option<u32>> = vec![None; images.len()];
    // Images already selected by a higher-priority rule.
    let mut claimed: Vec<bool> = vec![false; images.len()];
    for rule in rules {
        let priority = rule["rulePriority"].as_u64().unwrap_or(0) as u32;
        let selection = &rule["selection"];
        let count = selection["countNumber"].as_u64().unwrap_or(0);
        let mut candidates: Vec<usize> = (0..images.len()).filter(|&i| selects(selection, &images[i])).collect();
        // Newest first.
        candidates.sort_by(|&a, &b| images[b].pushed_at_ms.cmp(&images[a].pushed_at_ms).then_with(|| images[b].digest.cmp(&images[a].digest)));
        for (rank, &i) in candidates.iter().enumerate() {
            let too_many = selection["countType"] == "imageCountMoreThan" && rank as u64 >= count;
            let too_old = selection["countType"] == "sinceImagePushed" && now_ms.saturating_sub(images[i].pushed_at_ms) > count * DAY_MS;
            if (too_many || too_old) && !claimed[i] && expired[i].is_none() {
                expired[i] = Some(priority);
            }
        }
        for &i in &candidates {
            claimed[i] = true;
        }
    }
    let mut out: Vec<ExpiringImage> = images
        .iter()
        .zip(expired)
        .filter_map(|(img, p)| {
            p.map(|rule_priority| ExpiringImage { digest: img.digest.clone(), tags: img.tags.clone(), pushed_at_ms: img.pushed_at_ms, rule_priority })
        })
        .collect();
    out.sort_by_key(|e| (e.pushed_at_ms, e.digest.clone()));
    out
}
