//! The plan: plain data. Apply reads only this; rendering never computes.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Bumped whenever the plan's JSON shape changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
    /// A step that changes no resource: a `before_deploy` one-off task.
    Run,
    /// A live resource at the spec's address that carries no berth tags
    /// (made by hand, Terraform, Copilot...): tagged as this app's
    /// (`--adopt`, `x-berth.adopt: true`). `changed` lists what the spec
    /// changes on it besides, applied as an update after the tagging.
    Adopt,
}

impl Action {
    /// The symbol the human plan shows (Terraform's).
    pub fn symbol(self) -> &'static str {
        match self {
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::Run => ">",
            Action::Adopt => "&",
        }
    }

    pub fn verb(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
            Action::Run => "run",
            Action::Adopt => "adopt",
        }
    }
}

/// One change to one resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Change {
    /// `taskdef.web`, `service.web`, `tg.web`, `rule.web/0`, `cloudmap.api`, `ecr.shop/api`.
    pub address: String,
    /// `cluster`, `ecr_repository`, `task_definition`, `load_balancer`,
    /// `target_group`, `listener_rule`, `namespace`, `cloud_map_service`,
    /// `service`, `log_group`; or `migration`, a step (`run`) that changes no resource.
    pub kind: String,
    pub action: Action,
    /// Why, for display only.
    pub reason: String,
    /// The live resource, normalized (absent for a create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    /// What apply will send, normalized (absent for a delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
    /// The leaf paths that differ, e.g. `containerDefinitions[web].image`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    /// The live resource's ARN (updates, replaces, deletes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    /// Addresses that must be applied before this one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub unchanged: usize,
    /// Steps to run (`before_deploy` migrations).
    #[serde(default)]
    pub run: usize,
    /// Resources without berth's tags that become this app's (`--adopt`);
    /// one the spec also changes counts in `update` too.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub adopt: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// A resource the plan leaves as it is, with its ARN (apply needs it to
/// resolve references).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Unchanged {
    pub address: String,
    pub arn: String,
}

/// A plan, as `berth plan --format json` prints it and `-o` saves it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Plan {
    pub format_version: u32,
    pub berth_version: String,
    pub app: String,
    /// The backend the plan was computed against (`sim`, `aws:<region>`).
    pub backend: String,
    /// SHA-256 of the desired resources.
    pub spec_digest: String,
    pub summary: Summary,
    /// Changes in apply order (no-ops are listed in `unchanged`).
    pub changes: Vec<Change>,
    pub unchanged: Vec<Unchanged>,
    /// SHA-256 of every observed resource the plan was computed from.
    pub fingerprints: BTreeMap<String, String>,
    /// Warnings about the spec, for display (`file:line:col: key: message`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Images pinned from a tag to a digest.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<crate::images::Pin>,
    /// What apply needs besides the changes — the resolved app — so a saved
    /// plan applies without the spec or its variables. Only in saved plan
    /// files (`berth plan -o`), never in displayed plans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<SavedTarget>,
    /// `hmac-sha256:<hex>` of the saved plan file without this field, when
    /// `BERTH_PLAN_KEY` was set at `berth plan -o`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// The app a saved plan was made for, as apply needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SavedTarget {
    /// The resolved app (`berth_model::SavedDesired`): its digest is the plan's `spec_digest`.
    #[schemars(with = "serde_json::Value")]
    pub app: Value,
    /// Services of inactive Compose profiles, whose live resources are left alone.
    #[serde(default)]
    pub disabled_services: Vec<String>,
    /// The live names (`x-berth.names`) of those services.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disabled_live_names: Vec<String>,
    /// The spec's warnings when the plan was made.
    #[serde(default)]
    pub spec_warnings: Vec<String>,
    /// `x-berth.load_balancer.priority_range`.
    pub priority_range: (u32, u32),
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    pub fn change(&self, address: &str) -> Option<&Change> {
        self.changes.iter().find(|c| c.address == address)
    }

    /// The JSON Schema of the plan format.
    pub fn json_schema() -> Value {
        serde_json::to_value(schemars::schema_for!(Plan)).unwrap_or_default()
    }
}

/// Why a saved plan cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SavedPlanError {
    #[error("the plan was made by berth {found}, this is berth {expected}; plan again with this version")]
    Version { found: String, expected: String },
    #[error("the plan file format {found} is not supported (this berth reads {FORMAT_VERSION})")]
    Format { found: u32 },
    #[error("the plan was made against backend {found}, not {expected}")]
    Backend { found: String, expected: String },
    #[error("the plan is stale: the live state changed since it was made ({}); run `berth plan` again", .changed.join("; "))]
    Stale { changed: Vec<String> },
}

/// Checks that a saved plan may be applied here and now: same berth, same
/// backend, and every resource it read still as it was.
pub fn check_saved(plan: &Plan, berth_version: &str, backend: &str, fresh: &BTreeMap<String, String>) -> Result<(), SavedPlanError> {
    if plan.format_version != FORMAT_VERSION {
        return Err(SavedPlanError::Format { found: plan.format_version });
    }
    if plan.berth_version != berth_version {
        return Err(SavedPlanError::Version { found: plan.berth_version.clone(), expected: berth_version.to_string() });
    }
    if plan.backend != backend {
        return Err(SavedPlanError::Backend { found: plan.backend.clone(), expected: backend.to_string() });
    }
    let mut changed = Vec::new();
    for (address, hash) in &plan.fingerprints {
        match fresh.get(address) {
            None => changed.push(format!("{address} was deleted")),
            Some(h) if h != hash => changed.push(format!("{address} was modified")),
            Some(_) => {}
        }
    }
    for address in fresh.keys() {
        if !plan.fingerprints.contains_key(address) {
            changed.push(format!("{address} appeared"));
        }
    }
    if changed.is_empty() {
        Ok(())
    } else {
        Err(SavedPlanError::Stale { changed })
    }
}
