//! How apply's events look: one timestamped line each when not at a
//! terminal (CI logs, CloudWatch), progress bars at a terminal. The only
//! file that knows indicatif.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;

use berth_engine::{Event, EventKind, Reporter};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// One line per event, no ANSI codes.
pub struct Lines<'a> {
    out: Mutex<&'a mut (dyn Write + Send)>,
}

impl<'a> Lines<'a> {
    pub fn new(out: &'a mut (dyn Write + Send)) -> Self {
        Lines { out: Mutex::new(out) }
    }
}

impl Reporter for Lines<'_> {
    fn event(&self, e: &Event) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(out, "{}", berth_render::event_line(e));
    }

    fn command_output(&self, line: &str) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(out, "{}", berth_render::redact::text(line));
    }
}

/// One JSON object per event on stdout (JSON lines), shaped as
/// `berth schema --events` documents, sensitive values masked.
pub struct JsonLines<'a> {
    out: Mutex<&'a mut (dyn Write + Send)>,
}

impl<'a> JsonLines<'a> {
    pub fn new(out: &'a mut (dyn Write + Send)) -> Self {
        JsonLines { out: Mutex::new(out) }
    }
}

impl Reporter for JsonLines<'_> {
    fn event(&self, e: &Event) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(out, "{}", berth_render::event_json(e));
    }

    /// Not on stdout, which has one JSON object a line: on stderr.
    fn command_output(&self, line: &str) {
        let _ = writeln!(std::io::stderr(), "{}", berth_render::redact::text(line));
    }
}

/// A spinner per service with its rollout progress; other events print above the bars.
pub struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    pub fn new() -> Self {
        Bars { multi: MultiProgress::new(), bars: Mutex::new(HashMap::new()) }
    }

    fn bar(&self, service: &str) -> ProgressBar {
        let mut bars = self.bars.lock().unwrap_or_else(|e| e.into_inner());
        bars.entry(service.to_string())
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new_spinner());
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.set_prefix(service.to_string());
                bar.enable_steady_tick(std::time::Duration::from_millis(120));
                bar
            })
            .clone()
    }
}

impl Reporter for Bars {
    fn event(&self, e: &Event) {
        match &e.kind {
            EventKind::Progress { service, running, pending, desired, old_running, targets } => {
                let mut msg = format!("{running}/{desired} running, {pending} pending, {old_running} old");
                if let Some(t) = targets {
                    msg.push_str(&format!(", {} healthy targets", t.healthy));
                }
                self.bar(service).set_message(msg);
            }
            EventKind::DeploymentCompleted { service, .. } | EventKind::RollbackCompleted { service, .. } => {
                let bar = self.bar(service);
                bar.finish_with_message(berth_render::event_line(e));
            }
            _ => {
                let _ = self.multi.println(berth_render::event_line(e));
            }
        }
    }

    fn command_output(&self, line: &str) {
        let _ = self.multi.println(berth_render::redact::text(line));
    }
}
