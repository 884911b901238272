//! `x-berth.autoscaling` → [`Autoscaling`]: the bounds, target-tracking
//! metrics and scheduled actions of a service's Application Auto Scaling.
//! The limits are Application Auto Scaling's and ECS's: a service runs at
//! most 5000 tasks; schedules are `cron(…)` (six fields), `rate(…)` or
//! `at(…)` expressions.

use crate::app::{Autoscaling, ScalingMetric, ScheduledScaling};
use crate::node::Seg;
use crate::types::{self, StringOrNumber};
use crate::units;

/// ECS's quota of tasks per service.
pub const MAX_TASKS_PER_SERVICE: u32 = 5000;
/// Application Auto Scaling's default cooldown, in seconds.
pub const DEFAULT_COOLDOWN_SECS: u64 = 300;

/// A problem with the key it is at (below `services.<name>.x-berth.autoscaling`).
pub struct Problem {
    pub path: Vec<Seg>,
    pub message: String,
    pub hint: Option<&'static str>,
}

/// The service's scaling, or the problems that keep it from being one.
/// `routed`: the service has `x-berth.route` (requests per target needs it).
pub fn resolve(base: &[Seg], a: &types::Autoscaling, routed: bool) -> (Option<Autoscaling>, Vec<Problem>) {
    let mut problems = Vec::new();
    let at = |key: &str| {
        let mut v = base.to_vec();
        v.push(Seg::Key(key.to_string()));
        v
    };
    let mut problem = |path: Vec<Seg>, message: String, hint: Option<&'static str>| problems.push(Problem { path, message, hint });

    let (Some(min), Some(max)) = (a.min, a.max) else {
        let missing = if a.min.is_none() { "min" } else { "max" };
        problem(
            base.to_vec(),
            format!("autoscaling needs `{missing}`: the bounds of the task count"),
            Some("e.g. `{ min: 2, max: 10, cpu: 70% }`"),
        );
        return (None, problems);
    };
    if min > max {
        problem(at("min"), format!("min {min} is above max {max}"), None);
    }
    if max == 0 {
        problem(at("max"), "max is 0: the service could never run a task".into(), None);
    }
    if max > MAX_TASKS_PER_SERVICE {
        problem(at("max"), format!("max {max} is above ECS's {MAX_TASKS_PER_SERVICE} tasks per service"), None);
    }

    let mut targets = Vec::new();
    for (key, value, metric) in
        [("cpu", &a.cpu, ScalingMetric::Cpu as fn(f64) -> ScalingMetric), ("memory", &a.memory, ScalingMetric::Memory)]
    {
        let Some(v) = value else { continue };
        match percent(v) {
            Some(n) => targets.push(metric(n)),
            None => problem(at(key), format!("{:?} is not a utilization between 1% and 100%", v.text()), Some("e.g. `70%`")),
        }
    }
    if let Some(n) = a.requests_per_target {
        if n == 0 {
            problem(at("requests_per_target"), "requests_per_target must be at least 1".into(), None);
        } else if !routed {
            problem(
                at("requests_per_target"),
                "requests_per_target tracks the load balancer's requests, so the service needs x-berth.route".into(),
                Some("add `x-berth.route` to this service, or track `cpu` or `memory` instead"),
            );
        } else {
            targets.push(ScalingMetric::RequestsPerTarget(f64::from(n)));
        }
    }
    let mut secs = |key: &str, v: &Option<String>| match v {
        None => DEFAULT_COOLDOWN_SECS,
        Some(t) => units::parse_duration_secs(t).unwrap_or_else(|e| {
            problem(at(key), e, Some("e.g. `5m`"));
            DEFAULT_COOLDOWN_SECS
        }),
    };
    let scale_in_cooldown_secs = secs("scale_in_cooldown", &a.scale_in_cooldown);
    let scale_out_cooldown_secs = secs("scale_out_cooldown", &a.scale_out_cooldown);

    let mut schedule = Vec::new();
    for (i, s) in a.schedule.iter().enumerate() {
        let mut path = at("schedule");
        path.push(Seg::Index(i));
        let key = |k: &str| {
            let mut v = path.clone();
            v.push(Seg::Key(k.to_string()));
            v
        };
        let name = s.name.clone().unwrap_or_else(|| format!("schedule-{i}"));
        if name.is_empty() || name.len() > 200 || name.contains([':', '/', '|']) {
            problem(key("name"), format!("{name:?} is not a scheduled action name: 1 to 200 characters, without `:`, `/` or `|`"), None);
        }
        if schedule.iter().any(|o: &ScheduledScaling| o.name == name) {
            problem(key("name"), format!("two schedules are named {name:?}"), Some("give each schedule its own `name`"));
        }
        let Some(cron) = s.cron.as_deref() else {
            problem(
                path.clone(),
                "a schedule needs `cron`".into(),
                Some("e.g. `cron: \"0 22 * * ? *\"` (minutes hours day month weekday year, UTC unless `timezone`)"),
            );
            continue;
        };
        let expression = match schedule_expression(cron) {
            Ok(e) => e,
            Err(e) => {
                problem(key("cron"), e, Some("six fields: minutes hours day-of-month month day-of-week year, e.g. `0 22 * * ? *`"));
                continue;
            }
        };
        if s.min.is_none() && s.max.is_none() {
            problem(path.clone(), "a schedule sets `min`, `max` or both".into(), None);
        }
        if let (Some(lo), Some(hi)) = (s.min, s.max) {
            if lo > hi {
                problem(key("min"), format!("min {lo} is above max {hi}"), None);
            }
        }
        for (k, v) in [("min", s.min), ("max", s.max)] {
            if v.is_some_and(|n| n > MAX_TASKS_PER_SERVICE) {
                problem(key(k), format!("{k} is above ECS's {MAX_TASKS_PER_SERVICE} tasks per service"), None);
            }
        }
        if let Some(tz) = &s.timezone {
            let valid = tz == "UTC" || (tz.contains('/') && tz.chars().all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c)));
            if !valid {
                problem(key("timezone"), format!("{tz:?} is not an IANA time zone"), Some("e.g. `Europe/Berlin` or `UTC`"));
            }
        }
        schedule.push(ScheduledScaling { name, expression, min: s.min, max: s.max, timezone: s.timezone.clone() });
    }
    if targets.is_empty() && schedule.is_empty() {
        problem(
            base.to_vec(),
            "autoscaling tracks nothing: set `cpu`, `memory`, `requests_per_target` or a `schedule`".into(),
            Some("e.g. `cpu: 70%`"),
        );
    }
    if !problems.is_empty() {
        return (None, problems);
    }
    (Some(Autoscaling { min, max, targets, scale_in_cooldown_secs, scale_out_cooldown_secs, schedule }), problems)
}

/// The count of a service's first deploy: `replicas` clamped to the bounds, else `min`.
pub fn initial_count(a: &Autoscaling, replicas: Option<u32>) -> u32 {
    replicas.map_or(a.min, |r| r.clamp(a.min, a.max.max(a.min)))
}

fn percent(v: &StringOrNumber) -> Option<f64> {
    let text = v.text();
    let n: f64 = text.trim().trim_end_matches('%').trim().parse().ok()?;
    (1.0..=100.0).contains(&n).then_some(n)
}

/// `0 22 * * ? *` → `cron(0 22 * * ? *)`; whole `cron(…)`, `rate(…)` and
/// `at(…)` expressions are kept (their fields checked for count only).
fn schedule_expression(text: &str) -> Result<String, String> {
    let t = text.trim();
    let inner = |prefix: &str| t.strip_prefix(prefix).and_then(|r| r.strip_suffix(')'));
    if let Some(fields) = inner("cron(") {
        return cron_fields(fields).map(|()| t.to_string());
    }
    if let Some(r) = inner("rate(") {
        let mut parts = r.split_whitespace();
        let ok = parts.next().and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| n > 0)
            && parts.next().is_some_and(|u| ["minute", "minutes", "hour", "hours", "day", "days"].contains(&u))
            && parts.next().is_none();
        return if ok { Ok(t.to_string()) } else { Err(format!("{t:?} is not a rate: `rate(5 minutes)`")) };
    }
    if let Some(when) = inner("at(") {
        let ok = when.len() == 19 && when.as_bytes()[10] == b'T';
        return if ok { Ok(t.to_string()) } else { Err(format!("{t:?} is not an at expression: `at(2027-01-31T22:00:00)`")) };
    }
    cron_fields(t).map(|()| format!("cron({t})"))
}

fn cron_fields(fields: &str) -> Result<(), String> {
    let n = fields.split_whitespace().count();
    if n != 6 {
        return Err(format!("{fields:?} has {n} fields; Application Auto Scaling's cron has 6"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_expressions() {
        assert_eq!(schedule_expression("0 22 * * ? *").as_deref(), Ok("cron(0 22 * * ? *)"));
        assert_eq!(schedule_expression("rate(5 minutes)").as_deref(), Ok("rate(5 minutes)"));
        assert_eq!(schedule_expression("at(2027-01-31T22:00:00)").as_deref(), Ok("at(2027-01-31T22:00:00)"));
        assert!(schedule_expression("0 22 * * *").is_err(), "five fields are Unix cron, not AWS's");
        assert!(schedule_expression("rate(0 minutes)").is_err());
    }

    #[test]
    fn first_count_is_clamped_replicas_or_min() {
        let a =
            Autoscaling { min: 2, max: 10, targets: vec![], scale_in_cooldown_secs: 300, scale_out_cooldown_secs: 300, schedule: vec![] };
        assert_eq!(initial_count(&a, None), 2);
        assert_eq!(initial_count(&a, Some(1)), 2);
        assert_eq!(initial_count(&a, Some(4)), 4);
        assert_eq!(initial_count(&a, Some(40)), 10);
    }
}
