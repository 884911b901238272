//! How diagnostics are shown: one block per finding on stderr, then a summary.

use std::io::Write;

use berth_spec::Diagnostics;

/// Each diagnostic as berth prints it: credentials in a URL it quotes are masked.
pub fn diagnostics(out: &mut (dyn Write + Send), diags: &Diagnostics) -> std::io::Result<()> {
    for d in diags.iter() {
        writeln!(out, "{}", berth_render::redact::text(&d.to_string()))?;
    }
    Ok(())
}

pub fn invalid_summary(out: &mut (dyn Write + Send), diags: &Diagnostics) -> std::io::Result<()> {
    let errors = diags.errors().count();
    let warnings = diags.warnings().count();
    writeln!(
        out,
        "error: the spec is invalid ({errors} error{}, {warnings} warning{})",
        if errors == 1 { "" } else { "s" },
        if warnings == 1 { "" } else { "s" }
    )
}
