//! One-off tasks (ECS RunTask): what `berth run` and a plan's
//! `before_deploy` migrations start, and how such a task is followed until
//! it stops.

use berth_model::resources::{NetworkConfiguration, Tag};
use serde::{Deserialize, Serialize};

use crate::logs::ContainerExit;

/// ECS's limit on `startedBy` (up to 36 letters, numbers, hyphens and underscores).
pub const STARTED_BY_MAX: usize = 36;

/// A RunTask request, references resolved to ARNs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunTaskRequest {
    pub cluster: String,
    /// The revision to run (an ARN, or `family:revision`).
    pub task_definition: String,
    /// `FARGATE` or `EC2`.
    pub launch_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_configuration: Option<NetworkConfiguration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub container_overrides: Vec<ContainerOverride>,
    /// Task-level size overrides, in cpu units and MiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<u32>,
    /// Who started it (`berth-run`, `berth-migrate`), as ECS shows it.
    pub started_by: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerOverride {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Added to (and overriding) the container's environment.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment: Vec<(String, String)>,
}

/// A task as DescribeTasks shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskStatus {
    pub task_arn: String,
    /// `PROVISIONING`, `PENDING`, `RUNNING`, ..., `STOPPED`.
    pub last_status: String,
    pub stopped_reason: Option<String>,
    /// `EssentialContainerExited`, `TaskFailedToStart`, `UserInitiated`, ...
    pub stop_code: Option<String>,
    pub containers: Vec<ContainerExit>,
}

impl TaskStatus {
    /// The task id: the last part of its ARN.
    pub fn id(&self) -> &str {
        self.task_arn.rsplit('/').next().unwrap_or(&self.task_arn)
    }

    pub fn stopped(&self) -> bool {
        self.last_status == "STOPPED"
    }
}
