//! How apply's events look: one timestamped line each when not at a
//! terminal (CI logs, CloudWatch), progress bars at a terminal. The only
//! file that knows indicatif.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;

use berth_engine::{Event, EventKind, Reporter};
use berth_render::Timeline;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// One line per event, no ANSI codes, timestamps in order.
pub struct Lines<'a> {
    out: Mutex<(&'a mut (dyn Write + Send), Timeline)>,
}

impl<'a> Lines<'a> {
    pub fn new(out: &'a mut (dyn Write + Send)) -> Self {
        Lines { out: Mutex::new((out, Timeline::default())) }
    }
}

impl Reporter for Lines<'_> {
    fn event(&self, e: &Event) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let (out, timeline) = &mut *out;
        let _ = writeln!(out, "{}", timeline.line(e));
    }

    fn command_output(&self, line: &str) {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(out.0, "{}", berth_render::redact::text(line));
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

/// At a terminal: one status line per service, updated in place (a
/// blue/green service's line follows its new color, then its phases);
/// every event except the progress counts printed once above them, in
/// order, as `Lines` prints it. The status lines go away when the apply
/// ends (dropped), leaving the event lines.
pub struct Bars {
    multi: MultiProgress,
    /// Held while an event is printed: lines come out in timestamp order.
    state: Mutex<(HashMap<String, ProgressBar>, Timeline)>,
}

impl Default for Bars {
    fn default() -> Self {
        Self::new()
    }
}

impl Bars {
    pub fn new() -> Self {
        Bars { multi: MultiProgress::new(), state: Mutex::new((HashMap::new(), Timeline::default())) }
    }

    /// The status line of `service`: its own, or the one of its new color
    /// (`<service>-green`, `<service>-blue`) for blue/green phases.
    fn bar(&self, bars: &mut HashMap<String, ProgressBar>, service: &str) -> ProgressBar {
        if let Some(bar) = bars.get(service) {
            return bar.clone();
        }
        for color in ["green", "blue"] {
            if let Some(bar) = bars.get(&format!("{service}-{color}")).cloned() {
                bar.set_prefix(service.to_string());
                bars.insert(service.to_string(), bar.clone());
                return bar;
            }
        }
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:.bold} {wide_msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(service.to_string());
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bars.insert(service.to_string(), bar.clone());
        bar
    }
}

/// The service an event is about, for its status line.
fn service_of(kind: &EventKind) -> Option<&str> {
    match kind {
        EventKind::DeploymentStarted { service, .. }
        | EventKind::Progress { service, .. }
        | EventKind::DeploymentCompleted { service, .. }
        | EventKind::DeploymentFailed { service, .. }
        | EventKind::RollbackStarted { service, .. }
        | EventKind::RollbackCompleted { service, .. }
        | EventKind::MigrationStarted { service, .. }
        | EventKind::MigrationFinished { service, .. }
        | EventKind::TrafficShifted { service, .. }
        | EventKind::VerifyStarted { service, .. }
        | EventKind::VerifyPassed { service, .. }
        | EventKind::Baking { service, .. }
        | EventKind::ScalingDown { service, .. }
        | EventKind::ScaleIn { service, .. } => Some(service),
        _ => None,
    }
}

impl Reporter for Bars {
    fn event(&self, e: &Event) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (bars, timeline) = &mut *state;
        if let Some(service) = service_of(&e.kind) {
            let bar = self.bar(bars, service);
            let text = match &e.kind {
                EventKind::Progress { running, pending, desired, old_running, targets, .. } => {
                    let mut msg = format!("{running}/{desired} running, {pending} pending, {old_running} old");
                    if let Some(t) = targets {
                        msg.push_str(&format!(", {} healthy targets", t.healthy));
                    }
                    msg
                }
                _ => {
                    let text = berth_render::event_text(e);
                    text.strip_prefix(&format!("{service}: ")).map(str::to_string).unwrap_or(text)
                }
            };
            bar.set_message(text);
        }
        if !matches!(e.kind, EventKind::Progress { .. }) {
            let _ = self.multi.println(timeline.line(e));
        }
    }

    fn command_output(&self, line: &str) {
        let _state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let _ = self.multi.println(berth_render::redact::text(line));
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        for bar in state.0.values() {
            bar.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}
