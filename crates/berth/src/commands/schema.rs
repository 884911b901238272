use crate::{ExitStatus, Io};

pub fn run(io: &mut Io) -> anyhow::Result<ExitStatus> {
    serde_json::to_writer_pretty(&mut *io.stdout, &berth_spec::schema())?;
    writeln!(io.stdout)?;
    Ok(ExitStatus::Success)
}
