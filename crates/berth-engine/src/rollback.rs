//! `berth rollback`: back to the revision that ran before.
//!
//! A rolling service redeploys the previous active revision of its family
//! and waits for it. A blue/green service puts all traffic back on the color
//! that runs the older revision — at once when that color still runs (in the
//! middle of a shift), else after scaling it back up and waiting for its
//! targets — and scales the newer color to zero.

use std::time::Duration;

use berth_model::resources::Service;
use berth_provider::{LiveResource, Observed, Weight};

use crate::apply::{ApplyOptions, Failure};
use crate::events::{Event, EventKind, Reporter, TrafficWeight};
use crate::wait::{short, Wait};

fn revision(td: &str) -> u32 {
    td.rsplit(':').next().and_then(|r| r.parse().ok()).unwrap_or(0)
}

fn service(live: &LiveResource) -> Result<Service, Failure> {
    serde_json::from_value(live.spec.clone()).map_err(|e| crate::apply::fail(&live.address, format!("cannot read the live service: {e}")))
}

/// Rolls back the compose service `name` of the app. `blue_green` says
/// whether the spec deploys it blue/green.
pub async fn rollback(
    provider: &dyn berth_provider::Provider,
    observed: &Observed,
    name: &str,
    blue_green: bool,
    opts: &ApplyOptions,
    reporter: &dyn Reporter,
) -> Result<String, Failure> {
    let emit = |kind| reporter.event(&Event { at_ms: provider.now_ms(), kind });
    let address = format!("service.{name}");

    if !blue_green {
        let live = observed.get(&address).ok_or_else(|| crate::apply::fail(&address, "is not deployed"))?;
        let mut svc = service(live)?;
        let previous = provider
            .previous_task_definition(&svc.task_definition)
            .await
            .map_err(|e| crate::apply::fail(&address, e))?
            .ok_or_else(|| {
                crate::apply::fail(&address, format!("runs {}, and its family has no earlier active revision", short(&svc.task_definition)))
            })?;
        emit(EventKind::RollbackStarted {
            service: svc.service_name.clone(),
            deployment: String::new(),
            task_definition: previous.clone(),
        });
        svc.task_definition = previous.clone();
        let deployment = provider.update_service(&live.arn, &svc).await.map_err(|e| crate::apply::fail(&address, e))?;
        Wait::for_service(provider, reporter, opts, &svc, false).deployment(&deployment).await.map_err(|e| Failure {
            address: address.clone(),
            message: e.to_string(),
            deployment: true,
        })?;
        emit(EventKind::RollbackCompleted { service: svc.service_name.clone(), task_definition: previous.clone() });
        return Ok(format!("{} runs {} again", svc.service_name, short(&previous)));
    }

    let color = |c: &str| observed.get(&format!("{address}-{c}"));
    let (Some(blue), Some(green)) = (color("blue"), color("green")) else {
        return Err(crate::apply::fail(&address, "has only one color deployed: there is no earlier revision to go back to"));
    };
    let (blue_svc, green_svc) = (service(blue)?, service(green)?);
    let ((old, old_live), (new, new_live)) = if revision(&blue_svc.task_definition) <= revision(&green_svc.task_definition) {
        ((blue_svc, blue), (green_svc, green))
    } else {
        ((green_svc, green), (blue_svc, blue))
    };
    let old_color = if old.service_name.ends_with("-blue") { "blue" } else { "green" };
    let new_color = if old_color == "blue" { "green" } else { "blue" };
    let tg = |c: &str| observed.get(&format!("tg.{name}-{c}")).map(|t| t.arn.clone());
    let (Some(old_tg), Some(new_tg)) = (tg(old_color), tg(new_color)) else {
        return Err(crate::apply::fail(&address, "its target groups are not both there"));
    };
    let desired = new.desired_count.unwrap_or(0).max(old.desired_count.unwrap_or(0));
    emit(EventKind::RollbackStarted { service: name.into(), deployment: String::new(), task_definition: old.task_definition.clone() });

    // The old color needs its full count before it takes the traffic back.
    if old.desired_count.unwrap_or(0) < desired {
        let mut up = old.clone();
        up.desired_count = Some(desired);
        let deployment = provider.update_service(&old_live.arn, &up).await.map_err(|e| crate::apply::fail(&address, e))?;
        Wait::for_service(provider, reporter, opts, &up, false).deployment(&deployment).await.map_err(|e| Failure {
            address: address.clone(),
            message: e.to_string(),
            deployment: true,
        })?;
        let deadline = provider.now_ms() + opts.timeout.as_millis() as u64;
        loop {
            let p = provider.service_progress(&up.cluster, &up.service_name, 0).await.map_err(|e| crate::apply::fail(&address, e))?;
            let t = p.targets.unwrap_or_default();
            if t.healthy >= desired && t.unhealthy == 0 {
                break;
            }
            if provider.now_ms() >= deadline {
                return Err(Failure {
                    address: address.clone(),
                    deployment: true,
                    message: format!("{} did not get {desired} healthy targets in time", up.service_name),
                });
            }
            provider.sleep(Duration::from_secs(5)).await;
        }
    }
    let weights = [Weight { target_group_arn: old_tg, weight: 100 }, Weight { target_group_arn: new_tg, weight: 0 }];
    let rules: Vec<&LiveResource> = observed.resources.iter().filter(|r| r.address.starts_with(&format!("rule.{name}/"))).collect();
    for r in rules {
        provider.set_rule_weights(&r.arn, &weights).await.map_err(|e| crate::apply::fail(&address, e))?;
    }
    emit(EventKind::TrafficShifted {
        service: name.into(),
        weights: vec![TrafficWeight { color: old_color.into(), percent: 100 }, TrafficWeight { color: new_color.into(), percent: 0 }],
    });
    let mut down = new.clone();
    down.desired_count = Some(0);
    emit(EventKind::ScalingDown { service: name.into(), color: new_color.into() });
    provider.update_service(&new_live.arn, &down).await.map_err(|e| crate::apply::fail(&address, e))?;
    emit(EventKind::RollbackCompleted { service: name.into(), task_definition: old.task_definition.clone() });
    Ok(format!("{name}: all traffic on {old_color} ({}), {new_color} scaled to zero", short(&old.task_definition)))
}
