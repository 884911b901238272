//! `berth images`: what CI must build and push, so a buildspec builds
//! exactly the images the spec deploys.

use serde::Serialize;

use crate::cli::{Cli, ImagesArgs, StatusFormat};
use crate::commands::load_target;
use crate::{ExitStatus, Io};

#[derive(Serialize)]
struct ToBuild {
    service: String,
    context: String,
    dockerfile: Option<String>,
    target: Option<String>,
    /// The build arguments (`docker build --build-arg NAME=VALUE`), interpolated.
    args: serde_json::Map<String, serde_json::Value>,
    repository: String,
    tag: String,
    /// The full reference when the registry is known (x-berth.registry.url).
    image: String,
}

pub fn run(cli: &Cli, args: &ImagesArgs, io: &mut Io) -> anyhow::Result<ExitStatus> {
    let Some(target) = load_target(cli, io)? else { return Ok(ExitStatus::Error) };
    let images: Vec<ToBuild> = target
        .spec()?
        .app
        .tasks
        .iter()
        .flat_map(|t| &t.containers)
        .filter_map(|c| {
            let build = c.build.as_ref()?;
            let berth_spec::app::Image::Ecr { repository, tag, .. } = &c.image else { return None };
            Some(ToBuild {
                service: c.name.clone(),
                context: build.context.clone(),
                dockerfile: build.dockerfile.clone(),
                target: build.target.clone(),
                args: build.args.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect(),
                repository: repository.clone(),
                tag: tag.clone(),
                image: c.image.reference(),
            })
        })
        .collect();
    match args.format {
        StatusFormat::Json => {
            serde_json::to_writer_pretty(&mut *io.stdout, &images)?;
            writeln!(io.stdout)?;
        }
        StatusFormat::Human => {
            // One line per image, tab-separated: easy to read and to `while read` in a buildspec.
            for i in &images {
                writeln!(io.stdout, "{}\t{}\t{}\t{}", i.service, i.context, i.repository, i.tag)?;
            }
        }
    }
    Ok(ExitStatus::Success)
}
