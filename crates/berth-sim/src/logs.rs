//! CloudWatch Logs on the sim: log groups (a resource berth owns) and the
//! lines tasks write to them.

use berth_model::resources::LogGroup;
use berth_provider::{ProviderError, Result};
use serde::{Deserialize, Serialize};

use crate::state::SimState;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimLogGroup {
    pub arn: String,
    pub spec: LogGroup,
}

impl SimState {
    pub fn create_log_group(&mut self, g: &LogGroup) -> Result<String> {
        if self.log_groups.contains_key(&g.log_group_name) {
            return Err(ProviderError::Conflict {
                operation: "CreateLogGroup".into(),
                message: format!("ResourceAlreadyExistsException: log group {} exists", g.log_group_name),
            });
        }
        let arn = SimState::arn("logs", &format!("log-group:{}", g.log_group_name));
        self.log_groups.insert(g.log_group_name.clone(), SimLogGroup { arn: arn.clone(), spec: g.clone() });
        Ok(arn)
    }

    pub fn put_log_retention(&mut self, name: &str, days: u32) -> Result<()> {
        let g = self.log_groups.get_mut(name).ok_or_else(|| ProviderError::NotFound { what: format!("log group {name}") })?;
        g.spec.retention_in_days = days;
        Ok(())
    }

    /// Deletes the group and every line in it, as CloudWatch does.
    pub fn delete_log_group(&mut self, name: &str) -> Result<()> {
        self.log_groups.remove(name).ok_or_else(|| ProviderError::NotFound { what: format!("log group {name}") })?;
        self.log_events.remove(name);
        Ok(())
    }
}
