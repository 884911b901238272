//! Hostile specs (the four of issue 11 — the alias bomb, 1,000,000 nested
//! `[`, 1,000,000 nested `{a: …}`, 20,000 nested `${A:-…}` — and their
//! neighbours): each gives a located error (`compose.yaml:LINE:COL`) in
//! under 2 s and 100 MB, loaded through `berth_spec::load` as the CLI loads a
//! spec. Time and peak memory are measured (a peak-tracking global allocator
//! in this test binary); the cases run one after another in one test, so the
//! process-wide peak is each case's own.

use std::time::{Duration, Instant};

use peak_alloc::PeakAlloc;

#[global_allocator]
static PEAK: PeakAlloc = PeakAlloc;

const MAX_TIME: Duration = Duration::from_secs(2);
const MAX_PEAK_BYTES: usize = 100 << 20;

/// The classic "billion laughs": nine levels of nine aliases each, 9^9
/// strings once expanded, in a few hundred bytes.
fn billion_laughs() -> String {
    let mut s = String::from("services:\n  web:\n    image: nginx\n");
    s.push_str("x-a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for level in 1..9u8 {
        let (name, prev) = ((b'a' + level) as char, (b'a' + level - 1) as char);
        let refs = vec![format!("*{prev}"); 9].join(",");
        s.push_str(&format!("x-{name}: &{name} [{refs}]\n"));
    }
    s
}

fn service_with(value: &str) -> String {
    format!("services:\n  web:\n    image: nginx\n    environment:\n      X: {value}\n")
}

struct Measured {
    result: Result<berth_spec::Loaded, berth_spec::Diagnostics>,
    time: Duration,
    peak: usize,
}

/// Writes `text` as `compose.yaml` in a fresh folder and loads it, timing the
/// load and tracking the peak memory during it (the text is held before and
/// after, so it counts in the peak too).
fn measure(text: &str) -> Measured {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("compose.yaml"), text).expect("write spec");
    let opts = berth_spec::LoadOptions {
        dir: dir.path().to_path_buf(),
        // A commit id from CI, so loading runs no `git`.
        process_env: [("CODEBUILD_RESOLVED_SOURCE_VERSION".to_string(), "0123456789abcdef".to_string())].into(),
        ..Default::default()
    };
    PEAK.reset_peak_usage();
    let start = Instant::now();
    let result = berth_spec::load(&opts);
    let time = start.elapsed();
    let peak = PEAK.peak_usage();
    Measured { result, time, peak }
}

#[test]
fn hostile_specs_give_located_errors_within_time_and_memory() {
    let deep_interpolation = format!("\"{}x{}\"", "${A:-".repeat(20_000), "}".repeat(20_000));
    let cases: Vec<(&str, String, &str)> = vec![
        ("alias bomb (billion laughs)", billion_laughs(), "excessive aliasing"),
        ("1,000,000 nested [", format!("services:\n  web:\n    image: {}", "[".repeat(1_000_000)), "nest deeper"),
        (
            "1,000,000 nested [ ]",
            format!("services:\n  web:\n    image: {}{}\n", "[".repeat(1_000_000), "]".repeat(1_000_000)),
            "larger than 1 MiB",
        ),
        ("1,000,000 nested {a: }", format!("x: {}1{}\n", "{a: ".repeat(1_000_000), "}".repeat(1_000_000)), "larger than 1 MiB"),
        ("200,000 nested {a: }", format!("x: {}1{}\n", "{a: ".repeat(200_000), "}".repeat(200_000)), "nest deeper"),
        ("20,000 nested ${A:-", service_with(&deep_interpolation), "nests deeper than 32 levels"),
        ("20,000 unclosed ${A:-", service_with(&format!("\"{}\"", "${A:-".repeat(20_000))), "never closed"),
        ("300 nested block mappings", (0..300).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect(), "nest deeper"),
        (
            "aliases deeper than 128",
            format!("x: &x {}{}\ny: {}*x{}\n", "[".repeat(100), "]".repeat(100), "[".repeat(60), "]".repeat(60)),
            "nest deeper",
        ),
        ("200,000 values", format!("x: [{}]\n", "1,".repeat(200_000)), "more than 100000 values"),
        (
            "6,000 services",
            format!("services:\n{}", (0..6_000).map(|i| format!("  s{i}: {{image: nginx}}\n")).collect::<String>()),
            "at most 5000",
        ),
        (
            "a depends_on chain of 2,000",
            format!(
                "name: app\nservices:\n{}",
                (0..2_000).map(|i| format!("  s{i}: {{image: nginx, depends_on: [s{}]}}\n", (i + 1) % 2_000)).collect::<String>()
            ),
            "dependency cycle: s0 -> s1 -> s2 -> s3 -> s4 -> s5 -> s6 -> s7 -> (1990 more) -> s1998 -> s1999 -> s0",
        ),
        // (A trailing `$` is text, as in compose-go; an unclosed `${` is not.)
        ("a secret in a bad interpolation", service_with("\"pw-s3cret-${\""), "invalid interpolation"),
    ];
    let mut report = Vec::new();
    for (name, text, expected) in &cases {
        let m = measure(text);
        let diags = match m.result {
            Ok(_) => panic!("{name}: loaded, expected an error"),
            Err(d) => d,
        };
        let first = diags.errors().next().unwrap_or_else(|| panic!("{name}: no error in {diags}"));
        let shown = diags.to_string();
        report.push(format!(
            "{name:34} {:>8.1?} {:>7.1} MB  {}",
            m.time,
            m.peak as f64 / 1e6,
            shown.lines().next().unwrap_or_default().chars().take(150).collect::<String>()
        ));
        let pos = first.pos.as_ref().unwrap_or_else(|| panic!("{name}: the error has no position: {shown}"));
        assert!(pos.file.ends_with("compose.yaml") && pos.line >= 1 && pos.col >= 1, "{name}: {shown}");
        assert!(shown.contains(&format!("compose.yaml:{}:{}", pos.line, pos.col)), "{name}: {shown}");
        assert!(shown.contains(expected), "{name}: expected {expected:?} in {shown}");
        assert!(first.hint.is_some(), "{name}: the error says what to do: {shown}");
        assert!(!shown.contains("s3cret"), "{name}: the error echoes the value: {shown}");
        assert!(m.time < MAX_TIME, "{name}: took {:?}", m.time);
        assert!(m.peak < MAX_PEAK_BYTES, "{name}: peak {} bytes", m.peak);
    }

    // At the limits, a spec still loads (and every pass over its tree stays
    // within the stack of a test thread).
    let deep_ok = format!(
        "name: app\nservices:\n  web:\n    image: nginx\n    x-nested: {}{}\nx-deep: {}{}\nx-laughs: &l [{}]\nx-more: [{}]\n",
        "[".repeat(125),
        "]".repeat(125),
        "[".repeat(127),
        "]".repeat(127),
        vec!["lol"; 100].join(","),
        vec!["*l"; 500].join(",")
    );
    let m = measure(&deep_ok);
    report.push(format!("{:34} {:>8.1?} {:>7.1} MB  loads", "at the limits (loads)", m.time, m.peak as f64 / 1e6));
    if let Err(d) = &m.result {
        panic!("a spec at the limits is refused: {d}");
    }
    assert!(m.time < MAX_TIME && m.peak < MAX_PEAK_BYTES, "at the limits: {:?}, {} bytes", m.time, m.peak);

    println!("{:34} {:>8} {:>10}  first line", "case", "time", "peak");
    for line in &report {
        println!("{line}");
    }
}
