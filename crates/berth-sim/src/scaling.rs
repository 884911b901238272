//! Application Auto Scaling of ECS services, simulated: scalable targets
//! with target-tracking policies on a simulated load signal, and the calls
//! that register, change and deregister them.
//!
//! A service's load is its whole demand ([`SimLoad`]); spread over its
//! running tasks it is the average utilization the policy tracks. Like
//! target tracking on AWS, the scaler sets the desired count to
//! `ceil(demand / target)` within the bounds, evaluating once a minute,
//! scaling in only after the scale-in cooldown (and never while scale-in is
//! suspended) and out after the scale-out cooldown. Scheduled actions are
//! stored, not run.

use berth_model::resources::{ScalableTarget, SCALABLE_DIMENSION_ECS_COUNT};
use serde::{Deserialize, Serialize};

use crate::state::{SimScalableTarget, SimState, TaskState};

/// How often the simulated alarms evaluate.
pub const EVALUATION_MS: u64 = 60_000;

/// A service's simulated demand, in percent of one task's capacity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct SimLoad {
    pub cpu: f64,
    #[serde(default)]
    pub memory: f64,
}

/// The ECS service name of a resource id `service/<cluster>/<service>`.
fn service_of(resource_id: &str) -> Option<&str> {
    resource_id.strip_prefix("service/")?.split_once('/').map(|(_, s)| s)
}

/// One evaluation of every scalable target's policies.
pub fn tick(state: &mut SimState) {
    let now = state.now_ms;
    let ids: Vec<String> = state.scalable_targets.keys().cloned().collect();
    for id in ids {
        let Some(service) = service_of(&id).map(str::to_string) else { continue };
        let Some(target) = state.scalable_targets.get_mut(&id) else { continue };
        if now < target.last_evaluated_ms + EVALUATION_MS {
            continue;
        }
        target.last_evaluated_ms = now;
        let target = target.clone();
        let Some(svc) = state.services.get(&service) else { continue };
        let load = state.load.get(&service).copied().unwrap_or_default();
        let current = svc.spec.desired_count.unwrap_or(0);
        let running = svc.tasks.iter().filter(|t| t.state == TaskState::Running).count();
        // Each policy asks for a count; the largest wins (as on AWS).
        let wanted = target
            .policies
            .iter()
            .filter_map(|p| {
                let c = &p.target_tracking_scaling_policy_configuration;
                let demand = match c.predefined_metric_specification.predefined_metric_type.as_str() {
                    "ECSServiceAverageCPUUtilization" => load.cpu,
                    "ECSServiceAverageMemoryUtilization" => load.memory,
                    _ => return None,
                };
                // No data while nothing runs: the alarm stays where it is.
                if running == 0 || c.target_value <= 0.0 {
                    return None;
                }
                Some(((demand / c.target_value) - 1e-9).ceil().max(0.0) as u32)
            })
            .max();
        let Some(wanted) = wanted else { continue };
        let wanted = wanted.clamp(target.min_capacity, target.max_capacity.max(target.min_capacity));
        let cooldown = |p: fn(&berth_model::resources::TargetTrackingConfiguration) -> u32| {
            target.policies.iter().map(|x| u64::from(p(&x.target_tracking_scaling_policy_configuration)) * 1000).max().unwrap_or(0)
        };
        let Some(t) = state.scalable_targets.get_mut(&id) else { continue };
        let next = if wanted > current && now >= t.last_scale_out_ms + cooldown(|c| c.scale_out_cooldown) {
            t.last_scale_out_ms = now;
            wanted
        } else if wanted < current && !t.scale_in_suspended && now >= t.last_scale_in_ms + cooldown(|c| c.scale_in_cooldown) {
            t.last_scale_in_ms = now;
            wanted
        } else {
            continue;
        };
        if let Some(svc) = state.services.get_mut(&service) {
            svc.spec.desired_count = Some(next);
        }
    }
}

/// RegisterScalableTarget with tags, then the policies and scheduled
/// actions made exactly the given ones.
pub fn put(state: &mut SimState, target: &ScalableTarget) -> Result<String, String> {
    if target.service_namespace != "ecs" || target.scalable_dimension != SCALABLE_DIMENSION_ECS_COUNT {
        return Err(format!("ValidationException: unsupported {}/{}", target.service_namespace, target.scalable_dimension));
    }
    if target.min_capacity > target.max_capacity {
        return Err("ValidationException: Minimum capacity cannot be greater than maximum capacity".into());
    }
    let Some(service) = service_of(&target.resource_id) else {
        return Err(format!("ValidationException: {} is not an ECS service resource id", target.resource_id));
    };
    if !state.services.contains_key(service) {
        return Err(format!("ValidationException: ECS service doesn't exist: {}", target.resource_id));
    }
    for p in &target.scaling_policies {
        let label = p.target_tracking_scaling_policy_configuration.predefined_metric_specification.resource_label.as_deref();
        if let Some(tg) = label {
            if !state.target_groups.contains_key(tg) {
                return Err(format!("ValidationException: target group {tg} of policy {} does not exist", p.policy_name));
            }
        }
    }
    let id = target.resource_id.clone();
    let arn = match state.scalable_targets.get(&id) {
        Some(t) if !t.arn.is_empty() => t.arn.clone(),
        _ => crate::state::SimState::arn("application-autoscaling", &format!("scalable-target/{}", state.next_id())),
    };
    let entry = state.scalable_targets.entry(id).or_default();
    *entry = SimScalableTarget {
        min_capacity: target.min_capacity,
        max_capacity: target.max_capacity,
        arn: arn.clone(),
        tags: target.tags.clone(),
        policies: target.scaling_policies.clone(),
        scheduled_actions: target.scheduled_actions.clone(),
        scale_in_suspended: false,
        last_scale_out_ms: entry.last_scale_out_ms,
        last_scale_in_ms: entry.last_scale_in_ms,
        last_evaluated_ms: entry.last_evaluated_ms,
    };
    // New bounds move the count into them at once (as RegisterScalableTarget does).
    if let Some(svc) = state.services.get_mut(service) {
        let count = svc.spec.desired_count.unwrap_or(0);
        svc.spec.desired_count = Some(count.clamp(target.min_capacity, target.max_capacity));
    }
    Ok(arn)
}

/// A target as DescribeScalableTargets (plus its policies and scheduled
/// actions) shows it, in the desired shape.
pub fn describe(resource_id: &str, t: &SimScalableTarget) -> serde_json::Value {
    let mut v = serde_json::json!({
        "serviceNamespace": "ecs",
        "resourceId": resource_id,
        "scalableDimension": SCALABLE_DIMENSION_ECS_COUNT,
        "minCapacity": t.min_capacity,
        "maxCapacity": t.max_capacity,
        "tags": t.tags,
    });
    if !t.policies.is_empty() {
        v["scalingPolicies"] = serde_json::to_value(&t.policies).unwrap_or_default();
    }
    if !t.scheduled_actions.is_empty() {
        v["scheduledActions"] = serde_json::to_value(&t.scheduled_actions).unwrap_or_default();
    }
    if t.scale_in_suspended {
        v["suspendedState"] = serde_json::json!({"dynamicScalingInSuspended": true});
    }
    v
}

/// Runs the scheduled actions due since the last tick: each sets the
/// target's bounds (and so moves the count into them). `at(…)` and
/// `cron(…)` times are UTC (a `timezone` is not applied: a gap of the sim);
/// `rate(…)` fires on multiples of its period since the epoch.
pub fn run_schedules(state: &mut SimState, from_ms: u64) {
    let now = state.now_ms;
    if now <= from_ms {
        return;
    }
    let ids: Vec<String> = state.scalable_targets.keys().cloned().collect();
    for id in ids {
        let Some(t) = state.scalable_targets.get_mut(&id) else { continue };
        let mut changed = false;
        for a in t.scheduled_actions.clone() {
            if !due(&a.schedule, from_ms, now) {
                continue;
            }
            if let Some(min) = a.scalable_target_action.min_capacity {
                t.min_capacity = min;
            }
            if let Some(max) = a.scalable_target_action.max_capacity {
                t.max_capacity = max;
            }
            changed = true;
        }
        if !changed {
            continue;
        }
        let (min, max) = (t.min_capacity, t.max_capacity.max(t.min_capacity));
        if let Some(svc) = service_of(&id).and_then(|s| state.services.get_mut(s)) {
            let count = svc.spec.desired_count.unwrap_or(0);
            svc.spec.desired_count = Some(count.clamp(min, max));
        }
    }
}

/// Whether a schedule fires in `(from_ms, to_ms]`.
fn due(schedule: &str, from_ms: u64, to_ms: u64) -> bool {
    let inner = |p: &str| schedule.strip_prefix(p).and_then(|r| r.strip_suffix(')'));
    if let Some(when) = inner("at(") {
        return parse_utc(when).is_some_and(|t| from_ms < t && t <= to_ms);
    }
    if let Some(rate) = inner("rate(") {
        let mut parts = rate.split_whitespace();
        let n: u64 = parts.next().and_then(|n| n.parse().ok()).unwrap_or(0);
        let unit = match parts.next().unwrap_or_default().trim_end_matches('s') {
            "minute" => 60_000,
            "hour" => 3_600_000,
            "day" => 86_400_000,
            _ => 0,
        };
        let period = n * unit;
        return period > 0 && from_ms / period != to_ms / period;
    }
    if let Some(fields) = inner("cron(") {
        let f: Vec<&str> = fields.split_whitespace().collect();
        if f.len() != 6 {
            return false;
        }
        // Each whole minute in the window (at most a week of them).
        let first = from_ms / 60_000 + 1;
        let last = to_ms / 60_000;
        return (first..=last.min(first + 7 * 24 * 60)).any(|minute| cron_matches(&f, minute * 60_000));
    }
    false
}

/// `YYYY-MM-DDTHH:MM:SS` (UTC) → epoch milliseconds.
fn parse_utc(text: &str) -> Option<u64> {
    let n = |r: std::ops::Range<usize>| text.get(r).and_then(|s| s.parse::<i64>().ok());
    let (y, mo, d, h, mi, s) = (n(0..4)?, n(5..7)?, n(8..10)?, n(11..13)?, n(14..16)?, n(17..19)?);
    let days = days_from_civil(y, mo, d);
    u64::try_from(((days * 24 + h) * 60 + mi) * 60 + s).ok().map(|secs| secs * 1000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse: (year, month, day) of days since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Whether AWS's six-field cron (minutes hours day-of-month month
/// day-of-week year) matches the minute starting at `at_ms` (UTC). Fields
/// take `*`, `?`, numbers, lists, ranges and `/` steps; day-of-week is
/// 1-7 from Sunday (names and `L`/`W`/`#` are not modelled).
fn cron_matches(f: &[&str], at_ms: u64) -> bool {
    let secs = (at_ms / 1000) as i64;
    let days = secs.div_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let minute = secs.rem_euclid(3600) / 60;
    let hour = secs.rem_euclid(86_400) / 3600;
    // 1970-01-01 was a Thursday (5 in AWS's Sunday-first numbering).
    let weekday = (days + 4).rem_euclid(7) + 1;
    let field = |text: &str, value: i64, low: i64, high: i64| -> bool {
        text.split(',').any(|part| {
            let (range, step) = part.split_once('/').map_or((part, 1), |(r, s)| (r, s.parse::<i64>().unwrap_or(1).max(1)));
            let (from, to) = match range {
                "*" | "?" => (low, high),
                r => match r.split_once('-') {
                    Some((a, b)) => (a.parse().unwrap_or(low), b.parse().unwrap_or(high)),
                    None => {
                        let n = r.parse().unwrap_or(-1);
                        (n, if part.contains('/') { high } else { n })
                    }
                },
            };
            (from..=to).contains(&value) && (value - from) % step == 0
        })
    };
    field(f[0], minute, 0, 59)
        && field(f[1], hour, 0, 23)
        && field(f[2], day, 1, 31)
        && field(f[3], month, 1, 12)
        && field(f[4], weekday, 1, 7)
        && field(f[5], year, 1970, 2199)
}

#[cfg(test)]
mod schedule_tests {
    use super::*;

    const DAY: u64 = 86_400_000;

    #[test]
    fn dates_round_trip() {
        assert_eq!(parse_utc("1970-01-02T00:00:00"), Some(DAY));
        let t = parse_utc("2027-01-31T22:00:00").expect("date");
        assert_eq!(civil_from_days((t / DAY) as i64), (2027, 1, 31));
    }

    #[test]
    fn schedules_fire_in_their_window() {
        let at = parse_utc("2027-01-31T22:00:00").expect("date");
        assert!(due("at(2027-01-31T22:00:00)", at - 1000, at));
        assert!(!due("at(2027-01-31T22:00:00)", at, at + 1000), "once");
        assert!(due("cron(0 22 * * ? *)", at - 1000, at));
        assert!(!due("cron(0 22 * * ? *)", at, at + 3_600_000));
        assert!(due("cron(*/15 * * * ? *)", at + 14 * 60_000, at + 15 * 60_000));
        // 2027-01-31 is a Sunday (1).
        assert!(due("cron(0 22 ? * 1 *)", at - 1000, at));
        assert!(!due("cron(0 22 ? * 2-7 *)", at - 1000, at));
        assert!(due("rate(5 minutes)", at + 4 * 60_000 + 1, at + 5 * 60_000));
    }
}
