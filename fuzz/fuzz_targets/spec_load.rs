//! Loads arbitrary bytes as a spec, through the same steps as the CLI after
//! reading the file. Any panic, or a run past libFuzzer's `-timeout` or
//! `-rss_limit_mb`, is a finding; an error (a `Diagnostics`) is the expected
//! answer to most inputs, and must name a place in the file.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

/// A folder holding a `compose.yaml` (so the app name can come from the
/// folder) and no `.env`, kept for the whole run.
fn spec_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("berth-fuzz-{}", std::process::id())).join("app");
        std::fs::create_dir_all(&dir).expect("create the fuzz folder");
        let path = dir.join("compose.yaml");
        std::fs::write(&path, "services: {}\n").expect("write the placeholder spec");
        path
    })
}

fn options() -> &'static berth_spec::LoadOptions {
    static OPTS: OnceLock<berth_spec::LoadOptions> = OnceLock::new();
    OPTS.get_or_init(|| berth_spec::LoadOptions {
        dir: spec_path().parent().map(PathBuf::from).unwrap_or_default(),
        vars: [("TAG", "v1"), ("EMPTY", ""), ("A", "a")].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        // A commit id from CI, so loading runs no `git`.
        process_env: [("CODEBUILD_RESOLVED_SOURCE_VERSION".to_string(), "0123456789abcdef".to_string())].into(),
        ..Default::default()
    })
}

fuzz_target!(|data: &[u8]| {
    // The CLI refuses a file that is not UTF-8 before parsing; replacing the
    // bad bytes keeps the rest of the input reaching the parser.
    let text = String::from_utf8_lossy(data);
    if let Err(diags) = berth_spec::load_str(spec_path(), &text, options()) {
        assert!(diags.errors().next().is_some(), "a failed load holds an error");
    }
});
