//! The real-world corpus (../shared/corpus/compose): every file either
//! validates (warnings allowed) or fails with errors that each name
//! `file:line:col` and the key. Outcomes are snapshot-tested.

use berth_tests::{shared_dir, Berth};

fn corpus_files() -> Vec<String> {
    let corpus = shared_dir().join("corpus").join("compose");
    let mut files: Vec<String> = std::fs::read_dir(&corpus)
        .unwrap_or_else(|e| panic!("the corpus must be at {}: {e}", corpus.display()))
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let dir = e.file_name().to_string_lossy().into_owned();
            ["compose.yaml", "compose.yml"].iter().find(|f| e.path().join(f).is_file()).map(|f| format!("{dir}/{f}"))
        })
        .collect();
    files.sort();
    files
}

/// `error: <file>:<line>:<col>: <key>: <message>`
fn names_place_and_key(line: &str, file: &str) -> bool {
    let Some(rest) = line.strip_prefix("error: ") else { return false };
    let Some(rest) = rest.strip_prefix(file).and_then(|r| r.strip_prefix(':')) else { return false };
    let mut parts = rest.splitn(4, ':');
    let line_no = parts.next().is_some_and(|p| p.parse::<usize>().is_ok_and(|n| n > 0));
    let col_no = parts.next().is_some_and(|p| p.parse::<usize>().is_ok_and(|n| n > 0));
    let key = parts.next().is_some_and(|k| !k.trim().is_empty() && !k.trim().contains(' '));
    line_no && col_no && key
}

#[test]
fn every_corpus_file_validates_or_names_the_key_and_line() {
    let corpus = shared_dir().join("corpus").join("compose");
    let files = corpus_files();
    assert!(files.len() >= 26, "expected the 26 corpus files, found {}", files.len());
    let mut report = String::new();
    for file in &files {
        let out = Berth::new(&corpus).args(["-f", file, "validate"]).run();
        assert!(out.code == 0 || out.code == 1, "{file}: exit {} \n{}", out.code, out.stderr);
        assert!(out.stdout.is_empty(), "{file}: validate prints nothing on stdout");
        if out.code == 1 {
            let errors: Vec<&str> =
                out.stderr.lines().filter(|l| l.starts_with("error: ") && !l.starts_with("error: the spec is invalid")).collect();
            assert!(!errors.is_empty(), "{file}: exit 1 without an error line:\n{}", out.stderr);
            for e in errors {
                assert!(names_place_and_key(e, file), "{file}: error does not name file:line:col and key: {e}");
            }
        }
        report.push_str(&format!("## {file}: exit {}\n{}\n", out.code, out.stderr));
    }
    insta::assert_snapshot!(report);
}
