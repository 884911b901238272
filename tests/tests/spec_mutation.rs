//! Mutation testing of spec loading on stable Rust (the cargo-fuzz target in
//! fuzz/ is its nightly counterpart). Seeds: every file of
//! ../shared/corpus/compose and examples/. Each case mutates a seed a few
//! times with a deterministic PRNG (byte flips, inserted YAML and
//! interpolation tokens, duplicated, deleted and spliced spans, deep
//! nesting, anchors and aliases, huge repeats) and loads it through
//! `berth_spec::load_str`. It fails on any panic, any case over 2 s, peak
//! memory over 200 MB, or a failed load without an error.
//!
//! `BERTH_MUTATION_CASES` and `BERTH_MUTATION_SEED` run more cases or other
//! ones; a failing case is written to target/spec-mutation-failure.yaml.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use berth_tests::{repo_root, shared_dir};
use peak_alloc::PeakAlloc;

#[global_allocator]
static PEAK: PeakAlloc = PeakAlloc;

const DEFAULT_CASES: usize = 10_000;
const DEFAULT_SEED: u64 = 0x6265_7274_685f_6d75;
const MAX_CASE_TIME: Duration = Duration::from_secs(2);
const MAX_PEAK_BYTES: usize = 200 << 20;
/// No case for this long: a hang (the worker is left behind; the test fails).
const WATCHDOG: Duration = Duration::from_secs(30);

/// xorshift64*: small, fast, and the same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

/// Tokens that matter to YAML, to Compose and to interpolation.
const TOKENS: &[&str] = &[
    "&a ",
    "&b ",
    "*a",
    "*b",
    "<<: *a",
    "<<: [*a, *b]",
    "[",
    "]",
    "{",
    "}",
    "{a: ",
    ", ",
    ": ",
    "- ",
    "? ",
    "\n",
    "\n  ",
    "\n    - ",
    "\t",
    "\"",
    "'",
    "\\",
    "#",
    " #",
    "|\n",
    ">-\n",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "!!str ",
    "!!int ",
    "!!binary ",
    "!custom ",
    "~",
    "null",
    "true",
    "0x1F",
    "1e999",
    "-.inf",
    ".nan",
    "${",
    "${A",
    "${A:-",
    "${A:?",
    "${A:+",
    "${A-",
    "${UNSET:-${B}}",
    "$$",
    "$",
    "}",
    "${TAG}",
    "$TAG",
    "\u{feff}",
    "\u{0}",
    "\u{85}",
    "\u{2028}",
    "é",
    "services:",
    "image: ",
    "ports:",
    "- \"80:80\"",
    "- 53:53/udp",
    "environment:",
    "x-berth:",
    "deploy:",
    "replicas: ",
    "depends_on:",
    "condition: service_healthy",
    "healthcheck:",
    "test: [CMD]",
    "secrets:",
    "volumes:",
    "command: ",
    "entrypoint: ",
    "build: .",
    "name: app",
    "x-berth:\n  environments:\n    prod:\n      x: 1\n",
];

/// Depths around every limit: serde_yaml's and ours (128), yaml-rust2's
/// flow limit (255), interpolation's (32), and far beyond.
const DEPTHS: &[usize] = &[2, 31, 32, 33, 127, 128, 129, 255, 256, 1_000];
/// Far beyond, less often (long texts are slow to build and to refuse).
const HUGE_DEPTHS: &[usize] = &[20_000, 100_000, 1_000_000];

/// Nesting openers, and what closes them.
const NESTS: &[(&str, &str)] =
    &[("[", "]"), ("{a: ", "}"), ("[{a: ", "}]"), ("${A:-", "}"), ("${A:+x", "}"), ("- ", ""), ("&x [", "]"), ("!!seq [", "]")];

const REPEATS: &[usize] = &[2, 10, 100, 1_000];
const HUGE_REPEATS: &[usize] = &[10_000, 100_000, 1_000_000];

/// Most cases stay small (fast, and where the branches are); one in this
/// many repeats or nestings goes huge.
const HUGE_ONE_IN: usize = 12;

fn depth(rng: &mut Rng) -> usize {
    let from = if rng.below(HUGE_ONE_IN) == 0 { HUGE_DEPTHS } else { DEPTHS };
    *rng.pick(from)
}

fn repeats(rng: &mut Rng) -> usize {
    let from = if rng.below(HUGE_ONE_IN) == 0 { HUGE_REPEATS } else { REPEATS };
    *rng.pick(from)
}

/// The largest mutated text: past the 1 MiB limit, not by much (building and
/// loading huge texts costs time without reaching new code).
const MAX_LEN: usize = 1_200_000;

/// Replaces `range` of `text` with `with` (by copying slices: splicing
/// byte by byte is slow in a debug build).
fn replace(text: &mut Vec<u8>, range: std::ops::Range<usize>, with: &[u8]) {
    let mut out = Vec::with_capacity(text.len() - range.len() + with.len());
    out.extend_from_slice(&text[..range.start]);
    out.extend_from_slice(with);
    out.extend_from_slice(&text[range.end..]);
    *text = out;
}

/// A position: any byte, or (half the time) the start of a line, where YAML
/// structure begins.
fn position(rng: &mut Rng, text: &[u8]) -> usize {
    if text.is_empty() {
        return 0;
    }
    let at = rng.below(text.len() + 1);
    if rng.chance(50) {
        text[..at].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)
    } else {
        at
    }
}

fn span(rng: &mut Rng, text: &[u8]) -> (usize, usize) {
    let start = position(rng, text);
    let max = (text.len() - start).min(if rng.chance(80) { 64 } else { 4096 });
    let len = if max == 0 { 0 } else { rng.below(max + 1) };
    (start, start + len)
}

fn nest(rng: &mut Rng) -> Vec<u8> {
    let &(open, close) = rng.pick(NESTS);
    let depth = depth(rng);
    let closed = rng.chance(60);
    let mut out = Vec::new();
    if open == "- " {
        // Block sequences nest by indentation.
        for i in 0..depth.min(2_000) {
            out.extend_from_slice(&vec![b' '; i]);
            out.extend_from_slice(b"- \n");
        }
        return out;
    }
    out.extend_from_slice(open.repeat(depth).as_bytes());
    out.extend_from_slice(b"x");
    if closed {
        out.extend_from_slice(close.repeat(depth).as_bytes());
    }
    out
}

/// One mutation of `text`, in place.
fn mutate(rng: &mut Rng, text: &mut Vec<u8>, seeds: &[Vec<u8>]) -> &'static str {
    match rng.below(11) {
        0 => {
            if !text.is_empty() {
                let i = rng.below(text.len());
                text[i] ^= 1 << rng.below(8);
            }
            "flip a bit"
        }
        1 => {
            if !text.is_empty() {
                let i = rng.below(text.len());
                text[i] = *rng.pick(b"[]{}:,-?&*!|>'\"#%@`$ \n\t0aZ");
            }
            "replace a byte"
        }
        2 | 3 => {
            let at = position(rng, text);
            let token = rng.pick(TOKENS).as_bytes();
            replace(text, at..at, token);
            "insert a token"
        }
        4 => {
            let (a, b) = span(rng, text);
            replace(text, a..b, b"");
            "delete a span"
        }
        5 => {
            let (a, b) = span(rng, text);
            let copy = text[a..b].to_vec();
            let at = position(rng, text);
            replace(text, at..at, &copy);
            "duplicate a span"
        }
        6 => {
            let other = rng.pick(seeds);
            let (a, b) = span(rng, other);
            let (c, d) = span(rng, text);
            replace(text, c..d, &other[a..b]);
            "splice from another seed"
        }
        7 => {
            let at = position(rng, text);
            let n = nest(rng);
            replace(text, at..at, &n);
            "deep nesting"
        }
        8 => {
            // Anchor a value, then alias it many times (or build laughs).
            let at = position(rng, text);
            let refs = repeats(rng);
            let bomb = if rng.chance(50) {
                let mut s = String::from("x-l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
                for level in 1..=rng.below(9) + 1 {
                    s.push_str(&format!("x-l{level}: &l{level} [{}]\n", vec![format!("*l{}", level - 1); 9].join(", ")));
                }
                s
            } else {
                format!("x-a: &a {{k: v, l: [1, 2, 3]}}\nx-b: [{}]\n", vec!["*a"; refs.min(20_000)].join(", "))
            };
            replace(text, at..at, bomb.as_bytes());
            "anchors and aliases"
        }
        9 => {
            let (a, b) = span(rng, text);
            let times = repeats(rng);
            let piece = if b > a && rng.chance(50) { text[a..b].to_vec() } else { rng.pick(TOKENS).as_bytes().to_vec() };
            let times = times.min(MAX_LEN / piece.len().max(1));
            let repeated = piece.repeat(times);
            replace(text, a..a, &repeated);
            "huge repeat"
        }
        _ => {
            // Indent or dedent a line.
            let at = position(rng, text);
            let line_start = text[..at].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
            if rng.chance(50) {
                let n = rng.below(8) + 1;
                replace(text, line_start..line_start, &vec![b' '; n]);
            } else {
                let spaces = text[line_start..].iter().take_while(|&&b| b == b' ').count();
                let n = spaces.min(rng.below(4) + 1);
                replace(text, line_start..line_start + n, b"");
            }
            "indent a line"
        }
    }
}

fn seed_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&shared_dir().join("corpus").join("compose"), &mut files);
    walk(&repo_root().join("examples"), &mut files);
    files.sort();
    files
}

struct Summary {
    cases: usize,
    loaded: usize,
    slowest: (Duration, usize, String),
    peak: usize,
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Saves a failing input and fails the test.
fn fail(case: usize, ops: &[&str], text: &str, why: String) -> ! {
    let path = repo_root().join("target").join("spec-mutation-failure.yaml");
    let _ = std::fs::write(&path, text);
    panic!("case {case} ({}) {why}; the input is in {}", ops.join(", "), path.display());
}

fn run(cases: usize, seed: u64, progress: mpsc::Sender<usize>) -> Summary {
    let files = seed_files();
    let seeds: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()))).collect();
    assert!(seeds.len() >= 29, "expected the 26 corpus files and the examples as seeds, found {}", seeds.len());

    // A folder with a compose.yaml (the app name comes from the folder) and
    // no .env; each case is loaded as if it were that file.
    let dir = tempfile::tempdir().expect("tempdir");
    let app = dir.path().join("app");
    std::fs::create_dir(&app).expect("app folder");
    let spec = app.join("compose.yaml");
    std::fs::write(&spec, "services: {}\n").expect("placeholder spec");
    let opts = berth_spec::LoadOptions {
        dir: app.clone(),
        vars: [("TAG", "v1"), ("EMPTY", ""), ("B", "b")].into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        // A commit id from CI, so loading runs no `git`.
        process_env: [("CODEBUILD_RESOLVED_SOURCE_VERSION".to_string(), "0123456789abcdef".to_string())].into(),
        ..Default::default()
    };

    let mut rng = Rng(seed | 1);
    let mut summary = Summary { cases: 0, loaded: 0, slowest: (Duration::ZERO, 0, String::new()), peak: 0 };
    for case in 0..cases {
        let _ = progress.send(case);
        let mut text = rng.pick(&seeds).clone();
        let mut ops = Vec::new();
        // Mostly one or two mutations: more cases stay close enough to a
        // valid spec to reach the later passes.
        for _ in 0..*rng.pick(&[1, 1, 1, 1, 2, 2, 2, 3, 3, 4]) {
            ops.push(mutate(&mut rng, &mut text, &seeds));
            text.truncate(MAX_LEN);
        }
        let text = String::from_utf8_lossy(&text).into_owned();

        PEAK.reset_peak_usage();
        let start = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let result = berth_spec::load_str(&spec, &text, &opts);
            // Rendering the diagnostics is part of loading as the CLI does it.
            let shown = result.as_ref().err().map(ToString::to_string);
            (result.is_ok(), result.err().map(|d| d.errors().count()), shown)
        }));
        let time = start.elapsed();
        let peak = PEAK.peak_usage();

        let (ok, errors, _shown) = match outcome {
            Ok(o) => o,
            Err(p) => {
                let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                fail(case, &ops, &text, format!("panicked: {}", msg.unwrap_or_default()))
            }
        };
        if errors == Some(0) {
            fail(case, &ops, &text, "failed to load without an error".into());
        }
        if time > MAX_CASE_TIME {
            fail(case, &ops, &text, format!("took {time:?}"));
        }
        if peak > MAX_PEAK_BYTES {
            fail(case, &ops, &text, format!("peaked at {} MB", peak >> 20));
        }
        summary.cases += 1;
        summary.loaded += usize::from(ok);
        summary.peak = summary.peak.max(peak);
        if time > summary.slowest.0 {
            summary.slowest = (time, case, ops.join(", "));
        }
    }
    summary
}

#[test]
fn mutated_specs_never_panic_hang_or_blow_up() {
    let cases = env_number("BERTH_MUTATION_CASES", DEFAULT_CASES as u64) as usize;
    let seed = env_number("BERTH_MUTATION_SEED", DEFAULT_SEED);
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    // The default 2 MiB stack of a thread, as test threads have (the CLI's
    // main thread has more).
    let worker = std::thread::Builder::new().name("spec-mutation".into()).spawn(move || run(cases, seed, tx)).expect("spawn");
    let mut last = 0;
    loop {
        match rx.recv_timeout(WATCHDOG) {
            Ok(case) => last = case,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => panic!("case {last} has run for over {WATCHDOG:?}: a hang"),
        }
    }
    let summary = match worker.join() {
        Ok(s) => s,
        Err(p) => std::panic::resume_unwind(p),
    };
    let total = start.elapsed();
    println!(
        "spec mutation: {} cases (seed {seed:#x}) in {total:.1?}, {} loaded, the rest refused with errors; \
         slowest case {} at {:.1?} ({}); highest peak {:.1} MB",
        summary.cases,
        summary.loaded,
        summary.slowest.1,
        summary.slowest.0,
        summary.slowest.2,
        summary.peak as f64 / 1e6
    );
    assert!(summary.cases >= cases.min(DEFAULT_CASES));
}
