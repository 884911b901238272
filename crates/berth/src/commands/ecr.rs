//! `berth ecr preview`: which images a repository's lifecycle policy would
//! expire now (ECR's lifecycle policy preview; the sim evaluates the same
//! rules over its images).

use serde::Serialize;

use crate::cli::{Cli, PreviewArgs, StatusFormat};
use crate::commands::{backend, load_target, Backend};
use crate::{ExitStatus, Io};

#[derive(Serialize)]
struct Preview {
    repository: String,
    expiring: Vec<berth_provider::ExpiringImage>,
}

pub fn preview(cli: &Cli, args: &PreviewArgs, io: &mut Io) -> anyhow::Result<ExitStatus> {
    let Some(target) = load_target(cli, io)? else { return Ok(ExitStatus::Error) };
    let repos: Vec<String> = target.desired.ecr_repositories.iter().map(|r| r.repository_name.clone()).collect();
    let chosen: Vec<String> = match &args.repository {
        Some(r) if repos.contains(r) => vec![r.clone()],
        Some(r) => {
            writeln!(
                io.stderr,
                "error: {r} is not a repository of app {}\n  hint: its repositories are: {}",
                target.desired.app,
                repos.join(", ")
            )?;
            return Ok(ExitStatus::Error);
        }
        None => repos,
    };
    let rt = backend::runtime()?;
    let backend = rt.block_on(Backend::open(cli, io, &target))?;
    let previews = rt.block_on(async {
        let mut out = Vec::new();
        for repository in chosen {
            let expiring = backend.provider().lifecycle_preview(&repository).await?;
            out.push(Preview { repository, expiring });
        }
        anyhow::Ok(out)
    });
    backend.finish(cli, io)?;
    let previews = previews?;
    match args.format {
        StatusFormat::Json => {
            serde_json::to_writer_pretty(&mut *io.stdout, &previews)?;
            writeln!(io.stdout)?;
        }
        StatusFormat::Human => {
            for p in &previews {
                writeln!(io.stdout, "{}: {} images would expire", p.repository, p.expiring.len())?;
                for e in &p.expiring {
                    let tags = if e.tags.is_empty() { "(untagged)".to_string() } else { e.tags.join(",") };
                    writeln!(
                        io.stdout,
                        "  rule {:>3}  {}  pushed {}  {tags}",
                        e.rule_priority,
                        &e.digest,
                        berth_render::time::rfc3339(e.pushed_at_ms)
                    )?;
                }
            }
        }
    }
    Ok(ExitStatus::Success)
}
