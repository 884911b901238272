//! One-off tasks on the sim (RunTask, DescribeTasks, StopTask): what
//! `berth run` and a plan's `before_deploy` migration start.
//!
//! The sim runs no image. It plays the command a container is given: a
//! small shell subset — statements separated by `;`, `&&`, `||` or new
//! lines; `echo WORDS` writes a log line, `sleep N` takes N seconds,
//! `exit N` ends with code N, `false` with 1, `true` does nothing, and any
//! other statement succeeds silently. `sh -c SCRIPT` / `bash -c SCRIPT`
//! play SCRIPT; a command in exec form that is none of these (`bundle exec
//! rails db:migrate`) logs `ran: <command>` and succeeds. A container with no command runs its
//! image's server: it never exits by itself. The image fault markers apply:
//! `crashloop` exits 1 right after starting, `hang` never leaves PENDING,
//! and a missing awslogs group stops the task before any container starts,
//! as on ECS.

use berth_provider::{ContainerExit, ProviderError, Result, RunTaskRequest, TaskStatus};
use serde::{Deserialize, Serialize};

use crate::faults::Behaviour;
use crate::scheduler::{self, CRASH_MS, START_MS};
use crate::state::SimState;

/// Stopped one-off tasks stay visible this long (ECS: at least an hour).
const KEEP_STOPPED_MS: u64 = 60 * 60 * 1000;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SimRunTask {
    pub id: String,
    pub arn: String,
    pub cluster: String,
    pub request: RunTaskRequest,
    /// `PENDING`, `RUNNING` or `STOPPED`.
    pub last_status: String,
    pub running_at_ms: u64,
    /// When the task stops (known once it runs and an essential container will exit).
    pub stop_at_ms: Option<u64>,
    pub stopped_at_ms: Option<u64>,
    pub stopped_reason: Option<String>,
    pub stop_code: Option<String>,
    /// Each container's exit code once stopped, by name.
    pub exit_codes: Vec<(String, Option<i32>)>,
    /// The container whose exit ends the task, with its code, when one will.
    pub ending: Option<(String, i32)>,
}

/// What a container's command does, played by the sim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub lines: Vec<String>,
    pub duration_ms: u64,
    /// `None`: it runs until stopped (a server).
    pub exit_code: Option<i32>,
}

/// Plays a container's command (see the module docs).
pub fn play(command: Option<&[String]>) -> Script {
    let Some(command) = command.filter(|c| !c.is_empty()) else {
        return Script { lines: Vec::new(), duration_ms: 0, exit_code: None };
    };
    let shell = matches!(command[0].as_str(), "sh" | "bash" | "/bin/sh" | "/bin/bash");
    let script = if shell && command.len() >= 3 && command[1] == "-c" { command[2].clone() } else { shell_words::join(command) };
    let mut out = Script { lines: Vec::new(), duration_ms: 0, exit_code: Some(0) };
    for statement in statements(&script) {
        let words = shell_words::split(&statement).unwrap_or_else(|_| statement.split_whitespace().map(str::to_string).collect());
        let Some(first) = words.first() else { continue };
        match first.as_str() {
            "echo" => out.lines.push(words[1..].join(" ")),
            "sleep" => {
                let secs = words.get(1).and_then(|w| w.parse::<f64>().ok()).unwrap_or(0.0).max(0.0);
                out.duration_ms += (secs.min(1e9) * 1000.0) as u64;
            }
            "exit" => {
                out.exit_code = Some(words.get(1).and_then(|w| w.parse::<i32>().ok()).unwrap_or(0) & 0xff);
                return out;
            }
            "false" => {
                out.exit_code = Some(1);
                return out;
            }
            "true" => {}
            _ if !shell => out.lines.push(format!("ran: {statement}")),
            _ => {}
        }
    }
    out
}

/// `a; b && c || d\ne` → `a`, `b`, `c`, `d`, `e`, outside quotes.
fn statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut chars = script.chars().peekable();
    while let Some(ch) = chars.next() {
        match (quote, ch) {
            (Some(q), c) if c == q => {
                quote = None;
                current.push(c);
            }
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => {
                quote = Some(ch);
                current.push(ch);
            }
            (None, ';' | '\n') => out.push(std::mem::take(&mut current)),
            (None, '&' | '|') if chars.peek() == Some(&ch) => {
                chars.next();
                out.push(std::mem::take(&mut current));
            }
            (None, c) => current.push(c),
        }
    }
    out.push(current);
    out.into_iter().map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect()
}

fn invalid(message: impl Into<String>) -> ProviderError {
    ProviderError::Invalid(message.into())
}

impl SimState {
    /// RunTask: the checks ECS makes before it accepts a task.
    pub fn run_task(&mut self, req: &RunTaskRequest) -> Result<TaskStatus> {
        let cluster = req.cluster.rsplit('/').next().unwrap_or(&req.cluster).to_string();
        if !self.clusters.contains_key(&cluster) {
            return Err(ProviderError::NotFound { what: format!("cluster {cluster} (ClusterNotFoundException)") });
        }
        let td = scheduler::task_definition_revision(self, &req.task_definition)
            .ok_or_else(|| invalid(format!("ClientException: unable to find task definition {}", req.task_definition)))?;
        if td.status != "ACTIVE" {
            return Err(invalid(format!("ClientException: TaskDefinition {} is inactive", td.arn)));
        }
        let spec = td.spec.clone();
        let td_arn = td.arn.clone();
        for o in &req.container_overrides {
            if !spec.container_definitions.iter().any(|c| c.name == o.name) {
                return Err(invalid(format!(
                    "InvalidParameterException: Override for container named {} is not a container in the TaskDefinition.",
                    o.name
                )));
            }
        }
        if spec.network_mode == "awsvpc" && req.network_configuration.is_none() {
            return Err(invalid(
                "InvalidParameterException: Network Configuration must be provided when networkMode 'awsvpc' is specified.",
            ));
        }
        if req.started_by.len() > berth_provider::tasks::STARTED_BY_MAX {
            return Err(invalid("InvalidParameterException: startedBy may be at most 36 characters"));
        }
        let id = self.next_id();
        let arn = SimState::arn("ecs", &format!("task/{cluster}/{id}"));
        let task = SimRunTask {
            id: id.clone(),
            arn,
            cluster,
            request: RunTaskRequest { task_definition: td_arn, ..req.clone() },
            last_status: "PENDING".into(),
            running_at_ms: self.now_ms + START_MS,
            stop_at_ms: None,
            stopped_at_ms: None,
            stopped_reason: None,
            stop_code: None,
            exit_codes: Vec::new(),
            ending: None,
        };
        let status = self.task_status(&task);
        self.run_tasks.insert(id, task);
        Ok(status)
    }

    pub fn describe_task(&self, task_arn: &str) -> Result<TaskStatus> {
        let task = self
            .run_tasks
            .values()
            .find(|t| t.arn == task_arn)
            .ok_or_else(|| ProviderError::NotFound { what: format!("task {task_arn} (MISSING)") })?;
        Ok(self.task_status(task))
    }

    /// StopTask: the containers get SIGTERM (exit 143) and the task stops.
    pub fn stop_task(&mut self, task_arn: &str, reason: &str) -> Result<()> {
        let now = self.now_ms;
        let task = self
            .run_tasks
            .values_mut()
            .find(|t| t.arn == task_arn)
            .ok_or_else(|| ProviderError::NotFound { what: format!("task {task_arn}") })?;
        if task.last_status != "STOPPED" {
            task.ending = None;
            task.stop_at_ms = Some(now);
            task.stopped_reason = Some(format!("Task stopped by user: {reason}"));
            task.stop_code = Some("UserInitiated".into());
        }
        Ok(())
    }

    fn task_status(&self, t: &SimRunTask) -> TaskStatus {
        let containers = scheduler::log_streams(self, &t.request.task_definition, &t.id)
            .into_iter()
            .map(|(name, essential, log)| ContainerExit {
                exit_code: t.exit_codes.iter().find(|(n, _)| *n == name).and_then(|(_, c)| *c),
                name,
                essential,
                reason: None,
                log_group: log.as_ref().map(|(g, _)| g.clone()),
                log_stream: log.map(|(_, s)| s),
            })
            .collect();
        TaskStatus {
            task_arn: t.arn.clone(),
            last_status: t.last_status.clone(),
            stopped_reason: t.stopped_reason.clone(),
            stop_code: t.stop_code.clone(),
            containers,
        }
    }
}

/// Moves every one-off task along at the current instant.
pub(crate) fn tick(state: &mut SimState) {
    let now = state.now_ms;
    let ids: Vec<String> = state.run_tasks.keys().cloned().collect();
    for id in ids {
        let Some(mut t) = state.run_tasks.remove(&id) else { continue };
        step(state, &mut t, now);
        let forget = t.stopped_at_ms.is_some_and(|at| now.saturating_sub(at) > KEEP_STOPPED_MS);
        if !forget {
            state.run_tasks.insert(id, t);
        }
    }
}

fn step(state: &mut SimState, t: &mut SimRunTask, now: u64) {
    let td = t.request.task_definition.clone();
    if t.last_status == "PENDING" && t.stop_at_ms.is_none() && now >= t.running_at_ms {
        start(state, t, now, &td);
    }
    if t.last_status != "STOPPED" && t.stop_at_ms.is_some_and(|at| now >= at) {
        let ran = t.last_status == "RUNNING";
        t.last_status = "STOPPED".into();
        t.stopped_at_ms = Some(now);
        let streams = scheduler::log_streams(state, &td, &t.id);
        t.exit_codes = streams
            .iter()
            .map(|(name, _, _)| {
                let code = match &t.ending {
                    _ if !ran => None,
                    Some((ending, code)) if ending == name => Some(*code),
                    // Stopped by the user or by another container's exit: SIGTERM.
                    _ => Some(143),
                };
                (name.clone(), code)
            })
            .collect();
    }
}

/// PENDING → RUNNING (or stopped before any container starts).
fn start(state: &mut SimState, t: &mut SimRunTask, now: u64, td: &str) {
    let streams = scheduler::log_streams(state, td, &t.id);
    if let Some(group) = streams.iter().filter_map(|(_, _, l)| l.as_ref()).map(|(g, _)| g).find(|g| !state.log_groups.contains_key(*g)) {
        t.stop_at_ms = Some(now);
        t.stopped_reason = Some(format!("{}{group}", scheduler::NO_LOG_GROUP));
        t.stop_code = Some("TaskFailedToStart".into());
        return;
    }
    let image = scheduler::image_of(state, td);
    let behaviour = state.faults.behaviour(&image);
    if behaviour == Behaviour::Hang {
        return;
    }
    t.last_status = "RUNNING".into();
    let Some(spec) = scheduler::task_definition(state, td).cloned() else { return };
    // The first essential container to exit ends the task.
    let mut ending: Option<(String, i32, u64)> = None;
    for c in &spec.container_definitions {
        let Some((group, stream)) = streams.iter().find(|(n, _, _)| *n == c.name).and_then(|(_, _, l)| l.clone()) else {
            continue;
        };
        let overridden = t.request.container_overrides.iter().find(|o| o.name == c.name).and_then(|o| o.command.clone());
        let command = overridden.or_else(|| c.command.clone());
        let mut script = play(command.as_deref());
        if behaviour == Behaviour::CrashLoop && c.essential {
            script = Script {
                lines: vec![
                    format!("{}: fatal: the process crashed during startup (the sim's crashloop fault)", c.name),
                    format!("{}: exiting with code 1", c.name),
                ],
                duration_ms: CRASH_MS,
                exit_code: Some(1),
            };
        }
        for line in &script.lines {
            scheduler::write_log(state, &group, &stream, line.clone());
        }
        if let (true, Some(code)) = (c.essential, script.exit_code) {
            let at = now + script.duration_ms.max(1_000);
            if ending.as_ref().is_none_or(|(_, _, e)| at < *e) {
                ending = Some((c.name.clone(), code, at));
            }
        }
    }
    if let Some((name, code, at)) = ending {
        t.stop_at_ms = Some(at);
        t.stopped_reason = Some("Essential container in task exited".into());
        t.stop_code = Some("EssentialContainerExited".into());
        t.ending = Some((name, code));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &[&str]) -> Vec<String> {
        s.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn plays_the_shell_subset() {
        let s = play(Some(&words(&["sh", "-c", "echo 'migrating; 3 tables' && sleep 2; exit 7; echo never"])));
        assert_eq!(s, Script { lines: vec!["migrating; 3 tables".into()], duration_ms: 2000, exit_code: Some(7) });
        let s = play(Some(&words(&["bundle", "exec", "rails", "db:migrate"])));
        assert_eq!(s.lines, vec!["ran: bundle exec rails db:migrate".to_string()]);
        assert_eq!(s.exit_code, Some(0));
        assert_eq!(play(Some(&words(&["false"]))).exit_code, Some(1));
        assert!(play(Some(&words(&["sh", "-c", "set -e; umask 022"]))).lines.is_empty(), "a script's own statements print nothing");
        assert_eq!(play(None).exit_code, None, "no command: the image's server runs until stopped");
        assert_eq!(play(Some(&words(&["exit", "300"]))).exit_code, Some(300 & 0xff));
    }
}
