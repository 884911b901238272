use crate::cli::SchemaArgs;
use crate::{ExitStatus, Io};

pub fn run(args: &SchemaArgs, io: &mut Io) -> anyhow::Result<ExitStatus> {
    let schema = if args.plan {
        berth_plan::Plan::json_schema()
    } else if args.events {
        berth_engine::Event::json_schema()
    } else {
        berth_spec::schema()
    };
    serde_json::to_writer_pretty(&mut *io.stdout, &schema)?;
    writeln!(io.stdout)?;
    Ok(ExitStatus::Success)
}
