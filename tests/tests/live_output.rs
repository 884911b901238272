//! What a person sees at a terminal during a canary blue/green deploy on
//! the sim: the berth binary runs in a pseudo-terminal (python3's `pty`
//! support: stdin and stderr are the terminal, so berth is interactive and
//! draws its in-place status lines), the raw bytes are replayed through a
//! tiny terminal emulator, and the final screen is checked: every event line
//! once, timestamps in order, the phases named, and the same lines a CI log
//! (no TTY) shows.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use berth_tests::{ok, SimAccount};

const BIN: &str = env!("CARGO_BIN_EXE_berth-under-test");
const COLUMNS: usize = 100;
const TEST_LISTENER: &str = "arn:aws:elasticloadbalancing:sim-1:000000000000:listener/app/shared/1/9";

/// Runs argv[1:] with stdin and stderr on a new pseudo-terminal of 40 rows
/// and 100 columns (stdout to /dev/null), and writes what the terminal
/// received to stdout once the command has exited; exits with its code.
const PTY: &str = r#"
import fcntl, os, struct, subprocess, sys, termios
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
child = subprocess.Popen(sys.argv[1:], stdin=slave, stdout=subprocess.DEVNULL, stderr=slave, close_fds=True)
os.close(slave)
out = bytearray()
while True:
    try:
        data = os.read(master, 65536)
    except OSError:
        break
    if not data:
        break
    out += data
code = child.wait()
sys.stdout.buffer.write(out)
sys.exit(code)
"#;

fn spec(tag: &str) -> String {
    format!(
        "name: bg
x-berth:
  network: {{ vpc_id: vpc-1, subnets: [subnet-a], security_groups: [sg-1] }}
  load_balancer: {{ listener: arn:aws:elasticloadbalancing:sim-1:000000000000:listener/app/shared/1/2, test_listener: {TEST_LISTENER} }}
services:
  web:
    image: nginx:{tag}
    ports: [\"8080\"]
    deploy:
      replicas: 3
    x-berth:
      route: {{ paths: [\"/*\"] }}
      strategy: {{ blue_green: {{ traffic: canary, step: 10%, interval: 5m, bake: 10m, verify: \"echo checking $$BERTH_COLOR\" }} }}
"
    )
}

/// An account with `nginx:1.27` live on blue, and the spec of `nginx:1.28` written.
fn canary_account() -> (SimAccount, Vec<String>) {
    let account = SimAccount::new();
    let path = account.dir().join("canary.yaml");
    let args = vec!["--sim-state".to_string(), account.state_path().display().to_string(), "-f".into(), path.display().to_string()];
    std::fs::write(&path, spec("1.27")).expect("write");
    ok(&berth_tests::Berth::new(account.dir()).args(args.clone()).args(["apply", "--yes"]).run());
    std::fs::write(&path, spec("1.28")).expect("write");
    (account, args)
}

/// Runs the berth binary in a pseudo-terminal; (exit code, raw terminal output).
fn in_pty(dir: &std::path::Path, args: &[String]) -> (i32, String) {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(PTY)
        .arg(BIN)
        .args(args)
        .current_dir(dir)
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs (it drives the pseudo-terminal)");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut raw = Vec::new();
        let _ = stdout.read_to_end(&mut raw);
        let _ = tx.send(raw);
    });
    let Ok(raw) = rx.recv_timeout(Duration::from_secs(60)) else {
        let _ = child.kill();
        panic!("berth in the pseudo-terminal did not finish within 60 s");
    };
    let status = child.wait().expect("wait");
    (status.code().unwrap_or(-1), String::from_utf8_lossy(&raw).into_owned())
}

/// The final screen (scrollback included) of a terminal `columns` wide that
/// received `raw`: printable characters with auto-wrap, `\r`, `\n`,
/// backspace, and the CSI sequences indicatif and console use (cursor
/// up/down/left/right/column, erase in line, erase below); colors ignored.
/// A row filled to its last column that wrapped is joined with the next
/// (a long line); a row padded with spaces is not (indicatif pads each line
/// it prints to the width and lets the terminal wrap).
fn screen(raw: &str, columns: usize) -> Vec<String> {
    let (rows, wrapped) = rows(raw, columns);
    let mut lines: Vec<String> = Vec::new();
    let mut joining = false;
    for (i, row) in rows.into_iter().enumerate() {
        let text: String = row.into_iter().collect::<String>().trim_end().to_string();
        let full = text.chars().count() == columns;
        match lines.last_mut() {
            Some(last) if joining => last.push_str(&text),
            _ => lines.push(text),
        }
        joining = full && wrapped.contains(&i);
    }
    lines
}

/// The rows of the screen, and which rows the terminal wrapped.
fn rows(raw: &str, columns: usize) -> (Vec<Vec<char>>, std::collections::HashSet<usize>) {
    let mut wrapped = std::collections::HashSet::new();
    let mut rows: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = raw.chars().peekable();
    let ensure = |rows: &mut Vec<Vec<char>>, row: usize| {
        while rows.len() <= row {
            rows.push(Vec::new());
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            '\n' => {
                row += 1;
                ensure(&mut rows, row);
            }
            '\x08' => col = col.saturating_sub(1),
            '\x1b' => {
                if chars.peek() != Some(&'[') {
                    chars.next(); // a two-character escape: ignored
                    continue;
                }
                chars.next();
                let mut params = String::new();
                let mut fin = '\0';
                for c in chars.by_ref() {
                    if c.is_ascii_digit() || c == ';' || c == '?' {
                        params.push(c);
                    } else {
                        fin = c;
                        break;
                    }
                }
                let n = params.trim_start_matches('?').split(';').next().and_then(|p| p.parse::<usize>().ok());
                match fin {
                    'A' => row = row.saturating_sub(n.unwrap_or(1).max(1)),
                    'B' => {
                        row += n.unwrap_or(1).max(1);
                        ensure(&mut rows, row);
                    }
                    'C' => col = (col + n.unwrap_or(1).max(1)).min(columns),
                    'D' => col = col.saturating_sub(n.unwrap_or(1).max(1)),
                    'G' => col = n.unwrap_or(1).max(1) - 1,
                    'K' => match n.unwrap_or(0) {
                        0 => rows[row].truncate(col),
                        1 => rows[row].iter_mut().take(col + 1).for_each(|c| *c = ' '),
                        _ => rows[row].clear(),
                    },
                    'J' if n.unwrap_or(0) == 0 => {
                        rows[row].truncate(col);
                        rows.truncate(row + 1);
                    }
                    _ => {} // colors, cursor visibility, ...
                }
            }
            c if c.is_control() => {}
            c => {
                if col >= columns {
                    wrapped.insert(row);
                    row += 1;
                    col = 0;
                    ensure(&mut rows, row);
                }
                let line = &mut rows[row];
                while line.len() <= col {
                    line.push(' ');
                }
                line[col] = c;
                col += 1;
            }
        }
    }
    (rows, wrapped)
}

/// `2026-01-01T00:00:41Z ...`: an event line, as opposed to a status line,
/// a verify output line or a message.
fn timestamp(line: &str) -> Option<&str> {
    let ts = line.get(..20)?;
    (ts.starts_with("20") && ts.as_bytes()[10] == b'T' && ts.ends_with('Z') && line[20..].starts_with(' ')).then_some(ts)
}

/// The event lines of a finished apply's screen, checked: between the first
/// event line and the summary only event lines and the `extra` lines (each
/// once; the status lines went away at the end), no line twice, timestamps
/// in order.
fn checked_events(raw: &str, summary: &str, extra: &[&str]) -> Vec<String> {
    let screen = screen(raw, COLUMNS);
    let from = screen.iter().position(|l| timestamp(l).is_some()).expect("event lines");
    let to = screen.iter().position(|l| l.starts_with(summary)).unwrap_or_else(|| panic!("no {summary:?}:\n{}", screen.join("\n")));
    let shown = &screen[from..to];
    let text = shown.join("\n");
    for line in shown {
        assert!(timestamp(line).is_some() || extra.contains(&line.as_str()), "unexpected line {line:?} on the screen:\n{text}");
    }
    for line in extra {
        assert_eq!(shown.iter().filter(|l| l == line).count(), 1, "{line:?} once:\n{text}");
    }
    let events: Vec<String> = shown.iter().filter(|l| timestamp(l).is_some()).cloned().collect();
    let mut seen = std::collections::HashSet::new();
    for line in &events {
        assert!(seen.insert(line), "{line:?} is shown twice:\n{text}");
    }
    for pair in events.windows(2) {
        assert!(timestamp(&pair[0]) <= timestamp(&pair[1]), "the time goes back from {:?} to {:?}:\n{text}", pair[0], pair[1]);
    }
    events
}

/// The event lines of a CI log (no TTY) less the progress counts, which
/// the status line shows at a terminal.
fn ci_events(out: &berth_tests::Output) -> Vec<String> {
    out.stderr
        .lines()
        .filter(|l| timestamp(l).is_some() && !(l.contains(" running, ") && l.contains(" pending, ")))
        .map(str::to_string)
        .collect()
}

/// Each line at its event's own time: a late event (`<shown at> ... (at
/// <its time>)`) is shown at the time of the line above it, which in a CI
/// log may be a progress line a terminal does not print.
fn own_times(lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .map(|l| match l.strip_suffix(')').and_then(|l| l.rsplit_once(" (at ")) {
            Some((line, at)) if timestamp(&format!("{at} ")).is_some() => format!("{at}{}", &line[20..]),
            _ => l.clone(),
        })
        .collect()
}

#[test]
fn a_canary_at_a_terminal_shows_each_event_once_in_order_with_its_phases() {
    let (account, mut args) = canary_account();
    args.extend(["apply".to_string(), "--yes".to_string()]);
    let start = Instant::now();
    let (code, raw) = in_pty(account.dir(), &args);
    let took = start.elapsed();
    assert_eq!(code, 0, "{raw}");
    // It was interactive: status lines drawn and redrawn in place.
    assert!(raw.contains("\x1b[2K") && raw.contains("bg-web\x1b[0m baking green with all traffic, 10m left"), "{raw:?}");
    let events = checked_events(&raw, "Apply complete: 0 created, 2 updated", &["verify: checking green"]);
    let text = events.join("\n");

    // The phases, in order, with their times (virtual: a 16-minute deploy).
    let mut phases = vec![
        format!("2026-01-01T00:01:22Z bg-web: verifying green, served on the test listener {TEST_LISTENER}"),
        "2026-01-01T00:01:22Z bg-web: verification of green passed".into(),
        "2026-01-01T00:01:22Z bg-web: traffic blue 90%, green 10%".into(),
        "2026-01-01T00:06:22Z bg-web: traffic blue 0%, green 100%".into(),
    ];
    for left in (1..=10).rev() {
        phases.push(format!("2026-01-01T00:{:02}:22Z bg-web: baking green with all traffic, {left}m left", 16 - left));
    }
    phases.push("2026-01-01T00:16:22Z bg-web: scaling blue to 0".into());
    phases.push("2026-01-01T00:16:22Z bg-web: deployment ecs-svc/00000000000b completed".into());
    let positions: Vec<usize> = phases
        .iter()
        .map(|p| events.iter().position(|l| l == p).unwrap_or_else(|| panic!("no line {p:?} on the screen:\n{text}")))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "the phases are out of order:\n{text}");
    assert_eq!(events.iter().filter(|l| l.contains("baking")).count(), 10, "{text}");

    // The same lines as a CI log of the same deploy.
    let (ci_account, mut ci_args) = canary_account();
    ci_args.extend(["apply".to_string(), "--yes".to_string()]);
    let ci = berth_tests::Berth::new(ci_account.dir()).args(ci_args).run();
    ok(&ci);
    assert_eq!(events, ci_events(&ci), "the terminal and the CI log differ");
    eprintln!("pty run: {took:?}, {} event lines, {} bytes of terminal output", events.len(), raw.len());
}

/// examples/shop: three services deploying at once (web blue/green, api
/// and worker rolling), whose ECS events arrive out of order across
/// services: at a terminal each line still comes once and in time order, a
/// late event at the time of the line above with its own time in
/// parentheses, as in the CI log.
#[test]
fn concurrent_services_at_a_terminal_keep_their_lines_in_order() {
    let account = SimAccount::new();
    let args = |tag: &str| {
        ["--sim-state".to_string(), account.state_path().display().to_string(), "-f".into(), "examples/shop/compose.yaml".into()]
            .into_iter()
            .chain(["--var".into(), format!("TAG={tag}"), "apply".into(), "--yes".into()])
            .collect::<Vec<String>>()
    };
    ok(&account.berth("shop", "v1").args(["apply", "--yes"]).run());
    let (code, raw) = in_pty(&berth_tests::repo_root(), &args("v2"));
    assert_eq!(code, 0, "{raw}");
    let events = checked_events(&raw, "Apply complete: 0 created, 6 updated", &[]);
    let text = events.join("\n");
    for service in ["shop-api", "shop-worker", "shop-web"] {
        let completed = |l: &&String| l.contains(&format!(" {service}: deployment ")) && l.ends_with(" completed");
        assert!(events.iter().any(|l| completed(&l)), "{service}:\n{text}");
    }
    assert!(events.iter().any(|l| l.ends_with(" shop-web: scaling blue to 0")), "{text}");
    assert!(events.iter().any(|l| l.contains(" (at 2026-")), "no late event this time: the out-of-order case is not exercised:\n{text}");

    let ci_account = SimAccount::new();
    ok(&ci_account.berth("shop", "v1").args(["apply", "--yes"]).run());
    let ci = ci_account.berth("shop", "v2").args(["apply", "--yes"]).run();
    ok(&ci);
    assert_eq!(own_times(&events), own_times(&ci_events(&ci)), "the terminal and the CI log differ");
}

#[test]
fn the_emulated_terminal_redraws_in_place() {
    let raw =
        "one\r\n\u{2801} web 0/3\r\x1b[2K\u{2801} web 1/3\r\x1b[2Ktwo\n\r\u{2801} web 1/3\x1b[1A\r\x1b[2K\x1b[1B\r\x1b[2K\x1b[1Athree";
    assert_eq!(screen(raw, 80), vec!["one", "three", ""]);
    assert_eq!(screen(&format!("{}x\r\nnext", "a".repeat(10)), 10), vec![format!("{}x", "a".repeat(10)), "next".into()]);
    assert_eq!(screen("short     next", 10), vec!["short", "next"]);
    assert_eq!(screen(&format!("{}\r\nnext", "a".repeat(10)), 10), vec!["a".repeat(10), "next".to_string()]);
}
