//! Records the git commit berth is built from, for `berth version`.
//!
//! `BERTH_BUILD_COMMIT` wins (a Docker build has no `.git`); else
//! `git rev-parse --short HEAD` in this crate's directory; else `unknown`
//! (a source archive, or no git installed).

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).current_dir(env!("CARGO_MANIFEST_DIR")).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-env-changed=BERTH_BUILD_COMMIT");
    let from_env = std::env::var("BERTH_BUILD_COMMIT").ok().map(|c| c.trim().to_string()).filter(|c| !c.is_empty());
    let commit = match from_env {
        Some(commit) => commit,
        None => {
            // Built again when HEAD moves: HEAD itself, the branch it names, packed refs.
            for path in ["HEAD", "packed-refs"]
                .into_iter()
                .map(String::from)
                .chain(git(&["symbolic-ref", "-q", "HEAD"]))
                .filter_map(|p| git(&["rev-parse", "--path-format=absolute", "--git-path", &p]))
            {
                if Path::new(&path).exists() {
                    println!("cargo:rerun-if-changed={path}");
                }
            }
            git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".to_string())
        }
    };
    println!("cargo:rustc-env=BERTH_COMMIT={commit}");
}
