//! The `berth` command as a separate process, for tests that must kill it
//! (the crash-safety tests: `BERTH_CRASH_AT` aborts the process mid-apply).

fn main() -> std::process::ExitCode {
    berth::main_from_env()
}
