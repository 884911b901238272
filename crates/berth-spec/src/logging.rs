//! Logs by default: every container logs to the app's CloudWatch Logs group
//! through awslogs unless its Compose `logging` says otherwise.

use crate::app::{ContainerLogging, LaunchType, Logs};
use crate::types::{self, Logging};

/// The log group of an app that names none.
pub fn default_group(app: &str) -> String {
    format!("/berth/{app}")
}

/// Days CloudWatch keeps log lines unless `x-berth.logs.retention_days` says otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 30;

/// The retention periods CloudWatch Logs accepts (PutRetentionPolicy).
pub const RETENTION_DAYS: &[u32] =
    &[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/// Log drivers ECS knows; Fargate takes only the first three.
const FARGATE_DRIVERS: &[&str] = &["awslogs", "splunk", "awsfirelens"];
const EC2_DRIVERS: &[&str] = &["fluentd", "gelf", "json-file", "journald", "logentries", "syslog"];

/// A problem found: `(key path under the service or x-berth, is an error, message, hint)`.
pub type Note = (Vec<&'static str>, bool, String, Option<String>);

/// The app's log settings from `x-berth.logs`.
pub fn resolve_logs(x: Option<&types::LogsConfig>, app: &str) -> (Logs, Vec<Note>) {
    let mut notes = Vec::new();
    let retention_days = x.and_then(|l| l.retention_days).unwrap_or(DEFAULT_RETENTION_DAYS);
    if !RETENTION_DAYS.contains(&retention_days) {
        notes.push((
            vec!["x-berth", "logs", "retention_days"],
            true,
            format!("CloudWatch Logs cannot keep logs for {retention_days} days"),
            Some(format!("use one of {}", RETENTION_DAYS.iter().map(u32::to_string).collect::<Vec<_>>().join(", "))),
        ));
    }
    let group = x.and_then(|l| l.group.clone()).filter(|g| !g.is_empty()).unwrap_or_else(|| default_group(app));
    let logs = Logs {
        group,
        region: x.and_then(|l| l.region.clone()),
        stream_prefix: x.and_then(|l| l.stream_prefix.clone()).unwrap_or_else(|| app.to_string()),
        retention_days,
    };
    (logs, notes)
}

/// A container's logging from its Compose `logging` section.
pub fn resolve_logging(logging: Option<&Logging>, launch: LaunchType) -> (ContainerLogging, Vec<Note>) {
    let mut notes = Vec::new();
    let Some(l) = logging else { return (ContainerLogging::Awslogs { options: Vec::new() }, notes) };
    let options: Vec<(String, String)> = l.options.iter().map(|(k, v)| (k.clone(), v.text())).collect();
    let driver = l.driver.as_deref().unwrap_or("awslogs");
    let out = match driver {
        "awslogs" => ContainerLogging::Awslogs { options },
        "none" => ContainerLogging::None,
        // Docker's local defaults mean nothing on ECS: the logs go to CloudWatch.
        "json-file" | "local" if launch == LaunchType::Fargate => {
            notes.push((
                vec!["logging", "driver"],
                false,
                format!("log driver {driver} is not available on Fargate; this container logs to CloudWatch (awslogs) instead"),
                Some("remove `logging:`, or set `driver: none` for no logs".into()),
            ));
            ContainerLogging::Awslogs { options: Vec::new() }
        }
        d if FARGATE_DRIVERS.contains(&d) || (launch == LaunchType::Ec2 && EC2_DRIVERS.contains(&d)) => {
            ContainerLogging::Other { name: d.to_string(), options }
        }
        d => {
            let allowed = if launch == LaunchType::Fargate { FARGATE_DRIVERS.to_vec() } else { [FARGATE_DRIVERS, EC2_DRIVERS].concat() };
            notes.push((
                vec!["logging", "driver"],
                true,
                format!("log driver {d:?} is not available on ECS{}", if launch == LaunchType::Fargate { " Fargate" } else { "" }),
                Some(format!("use one of {}, or none", allowed.join(", "))),
            ));
            ContainerLogging::None
        }
    };
    (out, notes)
}
