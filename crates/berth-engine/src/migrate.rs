//! A plan's `before_deploy` step: the migration runs as a one-off task of
//! the revision this apply registered, its log lines become events, and a
//! non-zero exit is a failed deployment (exit 3) that stops every change
//! waiting on it — which is everything that touches what serves.

use berth_model::resources::{NetworkConfiguration, Tag, TAG_APP, TAG_MANAGED};
use berth_provider::{ContainerOverride, LogLine, RunTaskRequest, TaskStatus};
use serde::Deserialize;

use crate::apply::{fail, Ctx, Failure};
use crate::events::EventKind;
use crate::oneoff::{self, LogSource, OneOff, Outcome, Watch};

/// The step as the plan holds it (`Change::after`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Step {
    service: String,
    cluster: String,
    /// The plan address of the revision (`taskdef.web`), resolved here.
    task_definition: String,
    container: String,
    command: Vec<String>,
    launch_type: String,
    #[serde(default)]
    network_configuration: Option<NetworkConfiguration>,
    #[serde(default)]
    logs: Vec<LogSource>,
}

struct Events<'a, 'b> {
    cx: &'a Ctx<'b>,
    service: String,
    task: String,
    command: Vec<String>,
}

impl Watch for Events<'_, '_> {
    fn started(&mut self, task: &TaskStatus) {
        self.task = task.id().to_string();
        self.cx.emit(EventKind::MigrationStarted { service: self.service.clone(), task: self.task.clone(), command: self.command.clone() });
    }

    fn line(&mut self, line: &LogLine) {
        let (container, task) = line.container_and_task();
        self.cx.emit(EventKind::TaskLog {
            service: self.service.clone(),
            task: task.to_string(),
            container: container.to_string(),
            message: line.message.clone(),
        });
    }
}

pub(crate) async fn run(cx: &Ctx<'_>, c: &berth_plan::Change) -> Result<(), Failure> {
    let a = c.address.as_str();
    let step: Step = serde_json::from_value(c.after.clone().ok_or_else(|| fail(a, "the plan has no migration to run"))?)
        .map_err(|e| fail(a, format!("the plan's migration {a} is not valid: {e}")))?;
    let td = cx.arn(&step.task_definition).ok_or_else(|| fail(a, format!("no revision of {} was registered", step.task_definition)))?;
    let tags = vec![
        Tag { key: TAG_APP.into(), value: cx.app.clone() },
        Tag { key: TAG_MANAGED.into(), value: "true".into() },
        Tag { key: "berth:step".into(), value: a.to_string() },
    ];
    let job = OneOff {
        request: RunTaskRequest {
            cluster: step.cluster.clone(),
            task_definition: td.clone(),
            launch_type: step.launch_type.clone(),
            network_configuration: step.network_configuration.clone(),
            container_overrides: vec![ContainerOverride {
                name: step.container.clone(),
                command: Some(step.command.clone()),
                environment: Vec::new(),
            }],
            cpu: None,
            memory: None,
            started_by: "berth-migrate".into(),
            tags,
        },
        container: step.container.clone(),
        logs: step.logs.clone(),
        timeout: cx.opts.timeout,
        cancel: cx.opts.cancel.clone(),
    };
    let mut events = Events { cx, service: step.service.clone(), task: String::new(), command: step.command.clone() };
    let finished = oneoff::run(cx.provider, &job, &mut events).await.map_err(|e| fail(a, e))?;
    let task = events.task.clone();
    let exit_code = match &finished.outcome {
        Outcome::Exited(code) => Some(*code),
        _ => None,
    };
    cx.emit(EventKind::MigrationFinished { service: step.service.clone(), task: task.clone(), exit_code });
    let what = match &finished.outcome {
        Outcome::Exited(0) => return Ok(()),
        Outcome::Exited(code) => format!("exited with code {code}"),
        Outcome::NotStarted(reason) => format!("could not start: {reason}"),
        Outcome::TimedOut => format!("did not finish within --timeout ({}s); berth stopped it", cx.opts.timeout.as_secs()),
        Outcome::Interrupted => "was interrupted; berth stopped it".into(),
    };
    let reason = finished.task.as_ref().and_then(|t| t.stopped_reason.clone()).unwrap_or_else(|| what.clone());
    cx.emit(EventKind::TaskFailed {
        service: format!("{} (before_deploy)", step.service),
        task: task.clone(),
        task_definition: td,
        reason,
        container: Some(step.container.clone()),
        exit_code,
        log_tail: finished.tail.clone(),
    });
    Err(Failure {
        address: a.into(),
        message: format!(
            "the before_deploy of {} {what}{}; no service was updated",
            step.service,
            if task.is_empty() { String::new() } else { format!(" (task {task})") }
        ),
        deployment: true,
    })
}
