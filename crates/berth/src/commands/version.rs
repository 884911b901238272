//! `berth version`: the version and the git commit berth was built from.

use crate::{ExitStatus, Io};

/// `0.1.0 (commit 1a2b3c4)`, as `berth version` and `berth --version` print
/// it: the commit `build.rs` found (`BERTH_BUILD_COMMIT`, else git), or `unknown`.
pub const LONG: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("BERTH_COMMIT"), ")");

pub fn run(io: &mut Io) -> anyhow::Result<ExitStatus> {
    writeln!(io.stdout, "berth {LONG}")?;
    Ok(ExitStatus::Success)
}
