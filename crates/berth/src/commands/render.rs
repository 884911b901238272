use serde::Serialize;

use crate::cli::{Cli, RenderArgs, RenderFormat};
use crate::{ExitStatus, Io};

/// What `berth render` prints: every resource with its address (sensitive values masked).
#[derive(Serialize)]
struct Rendering {
    app: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    resources: Vec<berth_model::Rendered>,
}

pub fn run(cli: &Cli, args: &RenderArgs, io: &mut Io) -> anyhow::Result<ExitStatus> {
    let Some(loaded) = super::load_spec(cli, io)? else { return Ok(ExitStatus::Error) };
    let desired = berth_model::lower(&loaded.app);
    // What the resources look like, not what they hold: secret-looking values are masked.
    let mut resources = desired.rendered();
    for r in &mut resources {
        r.spec = berth_render::redact::value(&r.spec);
    }
    let rendering = Rendering { app: desired.app.clone(), region: desired.region.clone(), resources };
    match args.format {
        RenderFormat::Json => {
            serde_json::to_writer_pretty(&mut *io.stdout, &rendering)?;
            writeln!(io.stdout)?;
        }
        RenderFormat::Yaml => serde_yaml::to_writer(&mut *io.stdout, &rendering)?,
    }
    Ok(ExitStatus::Success)
}
