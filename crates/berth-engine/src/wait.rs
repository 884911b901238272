//! Waiting on the deployment berth started — by its id, not on "services
//! stable" — until it completes or fails, reporting progress; with the
//! circuit breaker's rollback, waiting for the rollback too.

use std::time::Duration;

use berth_provider::{DeploymentStatus, Provider, ProviderError};

use crate::events::{Event, EventKind, Reporter};

/// How a deployment ended when it did not complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeployFailure {
    #[error("deployment {deployment} of {service} failed: {reason}; {state}")]
    Failed { service: String, deployment: String, reason: String, state: String },
    #[error("timed out after {waited_secs}s waiting for deployment {deployment} of {service} to complete ({progress}); {state}")]
    Timeout { service: String, deployment: String, waited_secs: u64, progress: String, state: String },
    #[error("{0}")]
    Provider(#[from] ProviderError),
}

/// Polling: quick at first, backing off to a ceiling the API sustains
/// (DescribeServices is cheap but shared with every other caller).
#[derive(Debug, Clone, Copy)]
pub struct PollPolicy {
    pub first: Duration,
    pub max: Duration,
    pub factor: f64,
    /// ± fraction of jitter, so many berth runs do not poll in lockstep.
    pub jitter: f64,
}

impl Default for PollPolicy {
    fn default() -> Self {
        PollPolicy { first: Duration::from_secs(2), max: Duration::from_secs(15), factor: 1.5, jitter: 0.1 }
    }
}

/// A small deterministic generator: jitter must not make sim runs differ.
struct Jitter(u64);

impl Jitter {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % 10_000) as f64 / 10_000.0
    }
}

pub struct Wait<'a> {
    pub provider: &'a dyn Provider,
    pub reporter: &'a dyn Reporter,
    pub cluster: &'a str,
    /// The ECS service name.
    pub service: &'a str,
    pub timeout: Duration,
    pub poll: PollPolicy,
    /// The service's circuit breaker rolls back: after a failure, wait for
    /// the rollback deployment ECS starts.
    pub rollback: bool,
    /// Set by an interrupt: stop waiting (ECS carries on).
    pub cancel: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Poll in the rounds apply shares between its waits, instead of alone.
    pub poller: Option<&'a crate::poll::Poller>,
}

impl<'a> Wait<'a> {
    /// Waiting on `svc` with the run's timeout, polling and interrupt.
    pub fn for_service(
        provider: &'a dyn Provider,
        reporter: &'a dyn Reporter,
        opts: &crate::ApplyOptions,
        svc: &'a berth_model::resources::Service,
        rollback: bool,
    ) -> Self {
        Wait {
            provider,
            reporter,
            cluster: &svc.cluster,
            service: &svc.service_name,
            timeout: opts.timeout,
            poll: opts.poll,
            rollback,
            cancel: opts.cancel.clone(),
            poller: None,
        }
    }

    /// The same wait, polling in `poller`'s shared rounds.
    pub fn in_rounds(mut self, poller: &'a crate::poll::Poller) -> Self {
        self.poller = Some(poller);
        self
    }

    fn emit(&self, kind: EventKind) {
        self.emit_at(self.provider.now_ms(), kind);
    }

    fn emit_at(&self, at_ms: u64, kind: EventKind) {
        self.reporter.event(&Event { at_ms, kind });
    }

    /// Waits for `deployment` to complete. On failure with a rollback under
    /// way, waits for that as well, then reports the failure.
    pub async fn deployment(&self, deployment: &str) -> Result<(), DeployFailure> {
        let result = self.follow(deployment).await;
        if let Some(p) = self.poller {
            p.forget(self.cluster, self.service);
        }
        result
    }

    async fn follow(&self, deployment: &str) -> Result<(), DeployFailure> {
        let start = self.provider.now_ms();
        let deadline = start + self.timeout.as_millis() as u64;
        // Events are shown from when the deployment started (by AWS's clock,
        // which a local clock may not agree with), each once.
        let mut cursor = 0;
        let mut since: Option<u64> = None;
        let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
        let mut delay = self.poll.first;
        let mut jitter = Jitter(deployment.bytes().fold(0x9e37_79b9_7f4a_7c15_u64, |h, b| h.rotate_left(5) ^ u64::from(b)) | 1);
        let mut last_progress = None;
        let mut watching = deployment.to_string();
        let mut failure: Option<(String, String)> = None; // (failed deployment, reason)
        let mut failures_seen = std::collections::HashSet::new();
        loop {
            let progress = match self.poller {
                Some(p) => p.next(self.cluster, self.service, cursor, deadline).await?,
                None => self.provider.service_progress(self.cluster, self.service, cursor).await?,
            };
            let from = *since.get_or_insert_with(|| {
                progress.deployments.iter().find(|d| d.id == watching).map_or(start, |d| d.created_ms.min(start)).saturating_sub(1)
            });
            for e in progress.events.iter().filter(|e| e.at_ms >= from) {
                if seen.insert(format!("event:{}", e.id)) {
                    self.emit_at(e.at_ms, EventKind::ServiceEvent { service: self.service.into(), message: e.message.clone() });
                }
                cursor = cursor.max(e.at_ms);
            }
            for t in progress.stopped_tasks.iter().filter(|t| t.at_ms >= from) {
                if seen.insert(format!("task:{}", t.task_id)) {
                    let kind =
                        EventKind::TaskStopped { service: self.service.into(), task: t.task_id.clone(), reason: t.stopped_reason.clone() };
                    self.emit_at(t.at_ms, kind);
                    if let Some(k) = crate::diagnose::task_failure(self.provider, self.service, t, &mut failures_seen).await {
                        self.emit_at(t.at_ms, k);
                    }
                }
                cursor = cursor.max(t.at_ms);
            }
            let current = progress.deployments.iter().find(|d| d.id == watching).cloned();
            let old_running: u32 = progress.deployments.iter().filter(|d| d.id != watching).map(|d| d.running).sum();
            if let Some(d) = &current {
                let p = (d.running, d.pending, d.desired, old_running, progress.targets);
                if last_progress != Some(p) {
                    last_progress = Some(p);
                    self.emit(EventKind::Progress {
                        service: self.service.into(),
                        running: d.running,
                        pending: d.pending,
                        desired: d.desired,
                        old_running,
                        targets: progress.targets,
                    });
                }
            }
            match current {
                Some(d) if d.rollout_state == "COMPLETED" && d.running >= d.desired && old_running == 0 => {
                    return match failure {
                        None => {
                            self.emit(EventKind::DeploymentCompleted { service: self.service.into(), deployment: d.id.clone() });
                            Ok(())
                        }
                        Some((failed, reason)) => {
                            self.emit(EventKind::RollbackCompleted {
                                service: self.service.into(),
                                task_definition: d.task_definition.clone(),
                            });
                            Err(DeployFailure::Failed {
                                service: self.service.into(),
                                deployment: failed,
                                reason,
                                state: format!("the circuit breaker rolled the service back to {}", short(&d.task_definition)),
                            })
                        }
                    };
                }
                Some(d) if d.rollout_state == "FAILED" && failure.as_ref().is_none_or(|(id, _)| *id == d.id) => {
                    let reason = d.rollout_state_reason.clone().unwrap_or_else(|| "the deployment failed".into());
                    if failure.is_none() {
                        self.emit(EventKind::DeploymentFailed {
                            service: self.service.into(),
                            deployment: d.id.clone(),
                            reason: reason.clone(),
                        });
                        failure = Some((d.id.clone(), reason.clone()));
                    }
                    match rollback_of(&progress.deployments, &d) {
                        Some(r) => {
                            self.emit(EventKind::RollbackStarted {
                                service: self.service.into(),
                                deployment: r.id.clone(),
                                task_definition: r.task_definition.clone(),
                            });
                            watching = r.id.clone();
                            last_progress = None;
                        }
                        // ECS starts the rollback deployment shortly after the failure.
                        None if self.rollback => {}
                        None => {
                            return Err(DeployFailure::Failed {
                                service: self.service.into(),
                                deployment: d.id.clone(),
                                reason,
                                state: format!("no rollback: the service stays on {}", short(&d.task_definition)),
                            })
                        }
                    }
                }
                Some(d) if d.rollout_state == "FAILED" => {
                    let (failed, reason) = failure.unwrap_or_default();
                    return Err(DeployFailure::Failed {
                        service: self.service.into(),
                        deployment: failed,
                        reason,
                        state: format!("the rollback to {} failed too; the service needs attention", short(&d.task_definition)),
                    });
                }
                None => {
                    // Replaced by a newer deployment (someone else deployed, or a rollback).
                    if let Some(newest) = progress.deployments.first().filter(|n| n.id != watching) {
                        watching = newest.id.clone();
                        last_progress = None;
                        continue;
                    }
                    return Err(DeployFailure::Provider(ProviderError::NotFound {
                        what: format!("deployment {watching} of {}", self.service),
                    }));
                }
                _ => {}
            }
            if self.cancel.as_ref().is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst)) {
                return Err(DeployFailure::Failed {
                    service: self.service.into(),
                    deployment: watching,
                    reason: "interrupted".into(),
                    state: "berth stopped waiting; ECS carries on with the deployment".into(),
                });
            }
            let now = self.provider.now_ms();
            if now >= deadline {
                let progress = last_progress.map_or_else(
                    || "no progress reported".to_string(),
                    |(r, p, d, o, _)| format!("{r}/{d} new tasks running, {p} pending, {o} old tasks still running"),
                );
                return Err(DeployFailure::Timeout {
                    service: self.service.into(),
                    deployment: watching,
                    waited_secs: (now - start) / 1000,
                    progress,
                    state: "berth stopped waiting; ECS carries on with the deployment".into(),
                });
            }
            if self.poller.is_some() {
                continue; // the next round is the wait
            }
            let j = 1.0 + self.poll.jitter * (2.0 * jitter.next() - 1.0);
            let sleep = delay.mul_f64(j).min(Duration::from_millis(deadline - now));
            self.provider.sleep(sleep).await;
            delay = delay.mul_f64(self.poll.factor).min(self.poll.max);
        }
    }
}

/// The deployment the circuit breaker started to roll `failed` back.
fn rollback_of<'a>(deployments: &'a [DeploymentStatus], failed: &DeploymentStatus) -> Option<&'a DeploymentStatus> {
    deployments.iter().find(|d| d.id != failed.id && d.status == "PRIMARY" && d.rollout_state == "IN_PROGRESS")
}

/// `arn:...:task-definition/shop-web:3` → `shop-web:3`.
pub fn short(task_definition: &str) -> &str {
    task_definition.rsplit_once("task-definition/").map_or(task_definition, |(_, r)| r)
}
