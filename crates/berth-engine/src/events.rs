//! What apply reports while it works. The engine emits events; the CLI
//! decides how they look (progress bars on a TTY, one line each otherwise,
//! JSON lines for machines).

use berth_provider::TargetCounts;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Event {
    /// Milliseconds since the epoch, on the provider's clock.
    pub at_ms: u64,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    ChangeStarted {
        address: String,
        action: String,
    },
    ChangeDone {
        address: String,
        action: String,
    },
    ChangeFailed {
        address: String,
        error: String,
    },
    DeploymentStarted {
        service: String,
        deployment: String,
        task_definition: String,
    },
    Progress {
        service: String,
        running: u32,
        pending: u32,
        desired: u32,
        old_running: u32,
        targets: Option<TargetCounts>,
    },
    ServiceEvent {
        service: String,
        message: String,
    },
    TaskStopped {
        service: String,
        task: String,
        reason: String,
    },
    /// A task stopped unexpectedly: why, how its essential container
    /// exited, and the last lines of that container's log (once per
    /// distinct failure).
    TaskFailed {
        service: String,
        task: String,
        task_definition: String,
        reason: String,
        container: Option<String>,
        exit_code: Option<i32>,
        log_tail: Vec<String>,
    },
    /// A `before_deploy` migration started as a one-off task.
    MigrationStarted {
        service: String,
        task: String,
        command: Vec<String>,
    },
    /// A line a one-off task's container wrote.
    TaskLog {
        service: String,
        task: String,
        container: String,
        message: String,
    },
    /// The migration's task stopped: its container's exit code (`None`: it
    /// never ran, or was stopped).
    MigrationFinished {
        service: String,
        task: String,
        exit_code: Option<i32>,
    },
    DeploymentCompleted {
        service: String,
        deployment: String,
    },
    DeploymentFailed {
        service: String,
        deployment: String,
        reason: String,
    },
    RollbackStarted {
        service: String,
        deployment: String,
        task_definition: String,
    },
    RollbackCompleted {
        service: String,
        task_definition: String,
    },
    Skipped {
        address: String,
        reason: String,
    },
    /// Blue/green: the listener rules of `service` now send these shares of traffic.
    TrafficShifted {
        service: String,
        weights: Vec<TrafficWeight>,
    },
    /// Blue/green: the new color's `verify` command is running, with the
    /// new color served on `test_listener` when the spec names one.
    VerifyStarted {
        service: String,
        color: String,
        test_listener: Option<String>,
    },
    /// Blue/green: the `verify` command succeeded.
    VerifyPassed {
        service: String,
        color: String,
    },
    /// Blue/green: all traffic is on `color`, which is watched for
    /// `seconds_left` more before the old color goes (at the start of the
    /// bake, then once a minute).
    Baking {
        service: String,
        color: String,
        seconds_left: u64,
    },
    /// Blue/green: `color` (the old one after a deployment, the new one
    /// after a failed one) is being scaled to zero tasks.
    ScalingDown {
        service: String,
        color: String,
    },
    /// Application Auto Scaling's scale-in of `service` is suspended for a
    /// deployment (so its new tasks are not scaled in under it), or resumed.
    ScaleIn {
        service: String,
        suspended: bool,
    },
    /// The last event of an apply: what was and was not done.
    ApplyFinished {
        ok: bool,
        done: Vec<String>,
        failed: Vec<String>,
        not_done: Vec<String>,
    },
}

/// A target group's share of a service's traffic, in percent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct TrafficWeight {
    /// `blue` or `green`.
    pub color: String,
    pub percent: u32,
}

impl Event {
    /// The JSON Schema of one event (one line of `--format json` output).
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Event)).unwrap_or_default()
    }
}

/// Receives events as they happen.
pub trait Reporter: Send + Sync {
    fn event(&self, event: &Event);

    /// A line printed by a command berth runs (a blue/green `verify`, on its
    /// stdout or its stderr), already prefixed: for the person reading
    /// berth's stderr, never for stdout, which carries only data.
    fn command_output(&self, line: &str) {
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

/// A reporter that keeps every event (tests, JSON output).
#[derive(Default)]
pub struct Collect(pub std::sync::Mutex<Vec<Event>>);

impl Reporter for Collect {
    fn event(&self, event: &Event) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(event.clone());
    }
}

impl Collect {
    pub fn events(&self) -> Vec<Event> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}
