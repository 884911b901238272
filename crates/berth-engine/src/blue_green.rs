//! Blue/green deployments, driven by berth over the load balancer.
//!
//! Mechanism: one ECS service per color (`<name>-blue`, `<name>-green`),
//! each registered with its own target group, and the listener rules'
//! weighted forward deciding which color serves. Chosen over the EXTERNAL
//! deployment controller with task sets because each color stays an
//! ordinary ECS service: it rolls, reports deployments and trips its
//! circuit breaker like any other, `berth status` and the console show it
//! plainly, and the only new moving part is the weights berth sets. (ECS's
//! built-in BLUE_GREEN strategy would hide the gates berth runs itself.)
//!
//! A deployment: start the new revision on the idle color at full count;
//! wait until its deployment completes and every target is healthy; run the
//! optional verification; shift weights (all at once, canary, or linear),
//! watching the new color's health between steps; bake; scale the old color
//! to zero. Any failed gate — unhealthy targets, a failed verification, a
//! timeout, an interrupt — puts 100 % back on the old color, scales the new
//! one to zero, and fails the deployment.

use std::sync::atomic::Ordering;
use std::time::Duration;

use berth_model::resources::{BlueGreenDeploy, Service};
use berth_provider::Weight;

use crate::apply::{Ctx, Failure};
use crate::events::{EventKind, TrafficWeight};
use crate::wait::Wait;

/// The traffic percentages the new color receives, step by step.
pub fn schedule(bg: &BlueGreenDeploy) -> Vec<u32> {
    let step = bg.step_percent.clamp(1, 100);
    match bg.traffic.as_str() {
        "canary" if step < 100 => vec![step, 100],
        "linear" => {
            let mut v: Vec<u32> = (1..).map(|i| i * step).take_while(|p| *p < 100).collect();
            v.push(100);
            v
        }
        _ => vec![100],
    }
}

fn other(color: &str) -> &'static str {
    if color == "blue" {
        "green"
    } else {
        "blue"
    }
}

struct Sides<'a> {
    cx: &'a Ctx<'a>,
    bg: &'a BlueGreenDeploy,
    /// The compose service (`web`): addresses are `tg.web-blue`, `rule.web/0`.
    short: String,
    live: &'static str,
    idle: &'static str,
    desired: u32,
}

impl Sides<'_> {
    fn name(&self, color: &str) -> String {
        format!("{}-{color}", self.bg.base_name)
    }

    fn tg(&self, color: &str) -> Option<String> {
        self.cx.arn(&format!("tg.{}-{color}", self.short))
    }

    fn rules(&self) -> Vec<String> {
        self.cx.arns_with_prefix(&format!("rule.{}/", self.short))
    }

    /// Sets every rule of the service to `percent` on the idle (new) color.
    async fn shift(&self, percent: u32) -> Result<(), String> {
        let (Some(live_tg), Some(idle_tg)) = (self.tg(self.live), self.tg(self.idle)) else {
            return Err(format!("the target groups of {} are unknown", self.bg.base_name));
        };
        let weights = [Weight { target_group_arn: live_tg, weight: 100 - percent }, Weight { target_group_arn: idle_tg, weight: percent }];
        for rule in self.rules() {
            self.cx.provider.set_rule_weights(&rule, &weights).await.map_err(|e| e.to_string())?;
        }
        self.cx.emit(EventKind::TrafficShifted {
            service: self.bg.base_name.clone(),
            weights: vec![
                TrafficWeight { color: self.live.into(), percent: 100 - percent },
                TrafficWeight { color: self.idle.into(), percent },
            ],
        });
        Ok(())
    }

    /// Watches the new color for `d`: every desired task running, no
    /// unhealthy target, no failed deployment; and no interrupt. When
    /// baking, says so with the time left at the start and once a minute.
    async fn watch(&self, d: Duration, baking: bool) -> Result<(), String> {
        const REPORT_EVERY_MS: u64 = 60_000;
        let start = self.cx.provider.now_ms();
        let end = start + d.as_millis() as u64;
        let mut next_report = start;
        loop {
            self.check().await?;
            let now = self.cx.provider.now_ms();
            if now >= end {
                return Ok(());
            }
            let mut wake = end.min(now + self.cx.opts.poll.max.as_millis() as u64);
            if baking {
                if now >= next_report {
                    self.cx.emit(EventKind::Baking {
                        service: self.bg.base_name.clone(),
                        color: self.idle.into(),
                        seconds_left: (end - now).div_ceil(1000),
                    });
                    while next_report <= now {
                        next_report += REPORT_EVERY_MS;
                    }
                }
                wake = wake.min(next_report);
            }
            self.cx.provider.sleep(Duration::from_millis(wake - now)).await;
        }
    }

    async fn check(&self) -> Result<(), String> {
        if self.cx.opts.cancel.as_ref().is_some_and(|c| c.load(Ordering::SeqCst)) {
            return Err("interrupted".into());
        }
        let cluster = self.cx.cluster_of_service.clone();
        let p = self.cx.provider.service_progress(&cluster, &self.name(self.idle), 0).await.map_err(|e| e.to_string())?;
        let primary = p.deployments.iter().find(|d| d.status == "PRIMARY");
        if let Some(d) = primary.filter(|d| d.rollout_state == "FAILED") {
            return Err(format!("the {} deployment failed: {}", self.idle, d.rollout_state_reason.clone().unwrap_or_default()));
        }
        let running = primary.map_or(0, |d| d.running);
        let targets = p.targets.unwrap_or_default();
        if targets.unhealthy > 0 {
            return Err(format!("{} of the {} targets are unhealthy", targets.unhealthy, self.idle));
        }
        if running < self.desired || targets.healthy < self.desired {
            return Err(format!("only {} of {} {} tasks are running and healthy", running.min(targets.healthy), self.desired, self.idle));
        }
        Ok(())
    }

    /// Waits until the new color's targets are all healthy (after its deployment completed).
    async fn healthy(&self) -> Result<(), String> {
        let deadline = self.cx.provider.now_ms() + self.cx.opts.timeout.as_millis() as u64;
        loop {
            match self.check().await {
                Ok(()) => return Ok(()),
                Err(e) if e == "interrupted" || e.contains("deployment failed") => return Err(e),
                Err(e) if self.cx.provider.now_ms() >= deadline => return Err(format!("timed out waiting for healthy targets: {e}")),
                Err(_) => self.cx.provider.sleep(self.cx.opts.poll.first).await,
            }
        }
    }

    /// Serves the new color on the test listener (a rule with the route's
    /// conditions, all traffic to the new color); returns the rule to remove.
    async fn serve_on_test_listener(&self) -> Result<Option<String>, String> {
        let Some(listener) = &self.bg.test_listener else { return Ok(None) };
        let idle_tg = self.tg(self.idle).ok_or("the idle target group is unknown")?;
        let rule = berth_model::resources::ListenerRule {
            address: String::new(),
            listener_arn: listener.clone(),
            priority: None,
            conditions: self.bg.test_conditions.clone(),
            actions: vec![berth_model::resources::RuleAction {
                kind: "forward".into(),
                forward_config: berth_model::resources::ForwardConfig {
                    target_groups: vec![berth_model::resources::WeightedTargetGroup { target_group_arn: idle_tg, weight: 100 }],
                },
            }],
            tags: Vec::new(),
        };
        // The test listener is berth's to use for the deployment: take the first free priority.
        let mut last = String::new();
        for priority in 1..=100 {
            match self.cx.provider.create_rule(&rule, priority).await {
                Ok(arn) => return Ok(Some(arn)),
                Err(berth_provider::ProviderError::Conflict { message, .. }) => last = message,
                Err(e) => return Err(e.to_string()),
            }
        }
        Err(format!("no free rule priority on the test listener {listener}: {last}"))
    }

    /// Runs the `verify` command. What it prints, on stdout or stderr, goes
    /// to the reporter line by line as `verify: <line>` (berth's stderr):
    /// berth's stdout carries only data (`apply --format json`'s events).
    fn verify(&self) -> Result<(), String> {
        let Some(command) = &self.bg.verify else { return Ok(()) };
        let mut child = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .env("BERTH_SERVICE", &self.bg.base_name)
            .env("BERTH_COLOR", self.idle)
            .env("BERTH_TARGET_GROUP_ARN", self.tg(self.idle).unwrap_or_default())
            .env("BERTH_TEST_LISTENER", self.bg.test_listener.clone().unwrap_or_default())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run the verification command: {e}"))?;
        let pipes: [Option<Box<dyn std::io::Read + Send>>; 2] = [
            child.stdout.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
            child.stderr.take().map(|p| Box::new(p) as Box<dyn std::io::Read + Send>),
        ];
        let reporter = self.cx.reporter;
        let status = std::thread::scope(|scope| {
            for pipe in pipes.into_iter().flatten() {
                scope.spawn(move || {
                    use std::io::BufRead;
                    for line in std::io::BufReader::new(pipe).split(b'\n') {
                        let Ok(line) = line else { break };
                        let line = String::from_utf8_lossy(&line);
                        reporter.command_output(&format!("verify: {}", line.trim_end_matches('\r')));
                    }
                });
            }
            child.wait()
        })
        .map_err(|e| format!("cannot run the verification command: {e}"))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("the verification command `{command}` failed ({status})"))
        }
    }
}

/// Deploys `svc` (the live color's spec, with the new task definition)
/// blue/green. `live_arn` is the live color's service.
pub(crate) async fn deploy(
    cx: &Ctx<'_>,
    address: &str,
    mut svc: Service,
    live_arn: &str,
    live_task_definition: &str,
) -> Result<(), Failure> {
    let bg = svc.blue_green.clone().ok_or_else(|| crate::apply::fail(address, "not a blue/green service"))?;
    let live: &'static str = if svc.service_name.ends_with("-green") { "green" } else { "blue" };
    let cluster = cx.cluster_of_service.clone();
    let live_scaling = bg.scaling.as_ref().map(|_| crate::scaling::resource_id(&cluster, &format!("{}-{live}", bg.base_name)));
    // With a scaler, the new color starts at the live color's count now
    // (which may have grown since the plan), and the live color stops
    // scaling in until the shift is over.
    if let Some(id) = &live_scaling {
        let now = cx.provider.now_ms();
        let progress = cx.provider.service_progress(&cluster, &format!("{}-{live}", bg.base_name), now).await;
        let current = progress.ok().and_then(|p| p.deployments.iter().find(|d| d.status == "PRIMARY").map(|d| d.desired));
        svc.desired_count = svc.desired_count.max(current);
        crate::scaling::suspend(cx, &bg.base_name, id, true).await.map_err(|e| crate::apply::fail(address, e))?;
    }
    let sides = Sides {
        cx,
        bg: &bg,
        short: address.trim_start_matches("service.").to_string(),
        live,
        idle: other(live),
        desired: svc.desired_count.unwrap_or(0),
    };
    let idle_scaling = bg.scaling.as_ref().map(|_| crate::scaling::resource_id(&cluster, &sides.name(sides.idle)));
    let deployment_failed = |stage: &str, reason: String| Failure {
        address: address.into(),
        deployment: true,
        message: format!(
            "blue/green deployment of {} failed while {stage}: {reason}; traffic is back on {} ({}) and {} was scaled to zero",
            bg.base_name,
            sides.live,
            crate::wait::short(live_task_definition),
            sides.idle
        ),
    };

    // 1. The new revision on the idle color, at full count.
    svc.service_name = sides.name(sides.idle);
    let idle_tg = sides.tg(sides.idle).ok_or_else(|| crate::apply::fail(address, "the idle target group is unknown"))?;
    for lb in svc.load_balancers.iter_mut() {
        lb.target_group_arn = idle_tg.clone();
    }
    let idle_arn = cx.arn(&format!("{address}-{}", sides.idle));
    let started = match &idle_arn {
        Some(arn) => cx.provider.update_service(arn, &svc).await.map(|d| (arn.clone(), d)),
        None => cx.provider.create_service(&svc).await,
    };
    let (idle_arn, deployment) = started.map_err(|e| crate::apply::fail(address, e))?;
    cx.set_arn(&format!("{address}-{}", sides.idle), idle_arn.clone());
    cx.emit(EventKind::DeploymentStarted {
        service: svc.service_name.clone(),
        deployment: deployment.clone(),
        task_definition: svc.task_definition.clone(),
    });

    let result = async {
        // The new color is scalable from the start, without scale-in until the shift is over.
        if let (Some(target), Some(id)) = (&bg.scaling, &idle_scaling) {
            let t = crate::scaling::for_color(target, &svc.service_name, &cluster, &idle_tg);
            let put = cx.provider.put_scalable_target(&t).await.map_err(|e| e.to_string());
            put.map_err(|e| ("registering autoscaling on the new color", e))?;
            crate::scaling::suspend(cx, &bg.base_name, id, true).await.map_err(|e| ("registering autoscaling on the new color", e))?;
        }
        let wait = Wait::for_service(cx.provider, cx.reporter, cx.opts, &svc, false).in_rounds(&cx.poller);
        wait.deployment(&deployment).await.map_err(|e| ("starting the new revision", e.to_string()))?;
        sides.healthy().await.map_err(|e| ("waiting for healthy targets", e))?;
        let test_rule = sides.serve_on_test_listener().await.map_err(|e| ("serving the new revision on the test listener", e))?;
        if bg.verify.is_some() {
            cx.emit(EventKind::VerifyStarted {
                service: bg.base_name.clone(),
                color: sides.idle.into(),
                test_listener: test_rule.as_ref().and(bg.test_listener.clone()),
            });
        }
        let verified = sides.verify();
        if let Some(rule) = &test_rule {
            cx.provider.delete_rule(rule).await.map_err(|e| ("removing the test listener rule", e.to_string()))?;
        }
        verified.map_err(|e| ("verifying the new revision", e))?;
        if bg.verify.is_some() {
            cx.emit(EventKind::VerifyPassed { service: bg.base_name.clone(), color: sides.idle.into() });
        }
        let steps = schedule(&bg);
        for (i, percent) in steps.iter().enumerate() {
            sides.shift(*percent).await.map_err(|e| ("shifting traffic", e))?;
            if i + 1 < steps.len() {
                sides.watch(Duration::from_secs(bg.interval_secs), false).await.map_err(|e| ("shifting traffic", e))?;
            }
        }
        sides.watch(Duration::from_secs(bg.bake_secs), true).await.map_err(|e| ("baking", e))?;
        Ok::<(), (&str, String)>(())
    }
    .await;

    match result {
        Ok(()) => {
            // 3. Retire the old color.
            let mut old = svc.clone();
            old.service_name = sides.name(sides.live);
            old.task_definition = live_task_definition.to_string();
            old.desired_count = Some(0);
            if let Some(tg) = sides.tg(sides.live) {
                for lb in old.load_balancers.iter_mut() {
                    lb.target_group_arn = tg.clone();
                }
            }
            // The old color's scaler goes first, or it would hold the old color at its minimum.
            if let (Some(old_id), Some(new_id)) = (&live_scaling, &idle_scaling) {
                cx.provider.delete_scalable_target(old_id).await.map_err(|e| crate::apply::fail(address, e))?;
                crate::scaling::suspend(cx, &bg.base_name, new_id, false).await.map_err(|e| crate::apply::fail(address, e))?;
            }
            cx.set_live_color(address, sides.idle);
            cx.emit(EventKind::ScalingDown { service: bg.base_name.clone(), color: sides.live.into() });
            cx.provider.update_service(live_arn, &old).await.map_err(|e| crate::apply::fail(address, e))?;
            cx.emit(EventKind::DeploymentCompleted { service: bg.base_name.clone(), deployment });
            Ok(())
        }
        Err((stage, reason)) => {
            cx.emit(EventKind::DeploymentFailed { service: bg.base_name.clone(), deployment, reason: reason.clone() });
            // Old side first: it still has its full count.
            let mut restored = sides.shift(0).await;
            // The new color's scaler goes before its tasks; the old color scales in again.
            if let (Some(old_id), Some(new_id)) = (&live_scaling, &idle_scaling) {
                let dropped = cx.provider.delete_scalable_target(new_id).await.map_err(|e| e.to_string());
                let resumed = crate::scaling::suspend(cx, &bg.base_name, old_id, false).await;
                restored = restored.and(dropped).and(resumed);
            }
            let mut idle = svc.clone();
            idle.desired_count = Some(0);
            cx.emit(EventKind::ScalingDown { service: bg.base_name.clone(), color: sides.idle.into() });
            let scaled = cx.provider.update_service(&idle_arn, &idle).await;
            cx.emit(EventKind::RollbackCompleted { service: bg.base_name.clone(), task_definition: live_task_definition.to_string() });
            match (restored, scaled) {
                (Ok(()), Ok(_)) => Err(deployment_failed(stage, reason)),
                (r, s) => Err(crate::apply::fail(
                    address,
                    format!(
                        "blue/green deployment of {} failed while {stage} ({reason}) and restoring it failed too: {}; check the listener weights and {} now",
                        bg.base_name,
                        [r.err(), s.err().map(|e| e.to_string())].into_iter().flatten().collect::<Vec<_>>().join("; "),
                        sides.idle
                    ),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bg(traffic: &str, step: u32) -> BlueGreenDeploy {
        BlueGreenDeploy {
            base_name: "a-web".into(),
            traffic: traffic.into(),
            step_percent: step,
            interval_secs: 60,
            bake_secs: 0,
            verify: None,
            test_listener: None,
            test_conditions: vec![],
            scaling: None,
        }
    }

    #[test]
    fn schedules() {
        assert_eq!(schedule(&bg("all_at_once", 10)), vec![100]);
        assert_eq!(schedule(&bg("canary", 10)), vec![10, 100]);
        assert_eq!(schedule(&bg("canary", 100)), vec![100]);
        assert_eq!(schedule(&bg("linear", 25)), vec![25, 50, 75, 100]);
        assert_eq!(schedule(&bg("linear", 30)), vec![30, 60, 90, 100]);
    }
}
