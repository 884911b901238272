fn main() -> std::process::ExitCode {
    berth::main_from_env()
}
