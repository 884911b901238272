//! berth-spec: the app spec. A Compose file plus the `x-berth` extension is
//! parsed with positions, interpolated, merged across `-f` files, typed and
//! validated into an [`App`]; every problem is a [`Diagnostic`] naming the
//! key and its `file:line:col`.

pub mod app;
pub mod autoscaling;
pub mod container_fields;
// The Compose layer, from berth-compose (these paths are kept for users of berth-spec).
pub use berth_compose::{diag, interpolate, merge, node, ports};
pub mod deploy_checks;
pub mod fargate;
pub mod files;
pub mod images;
pub mod load;
pub mod logging;
mod names;
mod nlb;
pub mod placeholders;
pub mod resolve;
pub mod service_keys;
mod service_tags;
mod suggest;
pub mod types;
pub mod units;

pub use app::App;
pub use deploy_checks::deploy_checks;
pub use diag::{Diagnostic, Diagnostics, Pos, Severity};
pub use load::{load, load_str, LoadOptions, Loaded};

/// The JSON Schema of the spec, for editors' YAML language servers.
pub fn schema() -> serde_json::Value {
    let schema = schemars::schema_for!(types::ComposeFile);
    serde_json::to_value(schema).unwrap_or_default()
}
