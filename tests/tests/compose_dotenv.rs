//! `.env` syntax as Compose reads it: the Compose Specification ("Interpolation",
//! ".env file"; "env_file" format) and compose-go's dotenv package
//! (dotenv/parser.go, godotenv_test.go, parser_test.go). One row per rule:
//! the file's text, the environment, and every variable it defines.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use berth_compose::dotenv::{self, Format};
use berth_tests::Berth;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn parse(text: &str, outer: &[(&str, &str)], format: Format) -> Result<Vec<(String, String)>, String> {
    let file = Arc::new(PathBuf::from(".env"));
    dotenv::parse(&file, text, format, &env(outer), &HashMap::new())
        .map(|f| f.entries.into_iter().map(|(k, v)| (k, v.value)).collect())
        .map_err(|d| d.to_string())
}

const OUTER: &[(&str, &str)] = &[("HOME_DIR", "/home/u"), ("SHELL_ONLY", "from-shell")];

/// (citation, text, expected `KEY=VALUE` pairs joined with `|`).
#[rustfmt::skip]
const ROWS: &[(&str, &str, &str)] = &[
    ("godotenv plain", "A=1\nB=2\n", "A=1|B=2"),
    ("no trailing newline", "A=1", "A=1"),
    ("blank lines skipped", "\n\nA=1\n\n", "A=1"),
    ("comment lines skipped", "# c\nA=1\n  # indented\n", "A=1"),
    ("spaces around = dropped", "A = 1\n", "A=1"),
    ("leading blanks before key", "   A=1\n", "A=1"),
    ("export prefix", "export A=1\n", "A=1"),
    ("export with tabs", "export\tA=1\n", "A=1"),
    ("a key named export_x is a key", "export_x=1\n", "export_x=1"),
    ("yaml-style colon", "A: 1\n", "A=1"),
    ("empty value", "A=\n", "A="),
    ("empty quoted value", "A=\"\"\n", "A="),
    ("trailing blanks of unquoted value dropped", "A=x   \n", "A=x"),
    ("inline comment after a blank", "A=val # note\n", "A=val"),
    ("# without blank before is part of the value", "A=val#not\n", "A=val#not"),
    ("# in double quotes is text", "A=\"bar#baz\" # comment\n", "A=bar#baz"),
    ("# in single quotes is text", "A='x # y'\n", "A=x # y"),
    ("single quotes are literal", "A='$HOME_DIR \\n'\n", "A=$HOME_DIR \\n"),
    ("double quotes expand \\n", "A=\"a\\nb\"\n", "A=a\nb"),
    ("double quotes expand \\t", "A=\"a\\tb\"\n", "A=a\tb"),
    ("double quotes expand \\\"", "A=\"say \\\"hi\\\"\"\n", "A=say \"hi\""),
    ("double quotes expand \\\\", "A=\"a\\\\b\"\n", "A=a\\b"),
    ("double quotes: \\$ is a literal $", "A=\"\\$HOME_DIR\"\n", "A=$HOME_DIR"),
    ("double quotes: unknown escape kept", "A=\"a\\qb\"\n", "A=a\\qb"),
    ("double quotes: octal escape", "A=\"\\0101\"\n", "A=A"),
    ("single quotes: escaped single quote", "A='it\\'s'\n", "A=it's"),
    ("multi-line double quoted", "A=\"line1\nline2\"\nB=2\n", "A=line1\nline2|B=2"),
    ("multi-line single quoted", "A='l1\nl2'\n", "A=l1\nl2"),
    ("unquoted: interpolation of the environment", "A=${HOME_DIR}/x\n", "A=/home/u/x"),
    ("unquoted: $VAR form", "A=$HOME_DIR\n", "A=/home/u"),
    ("interpolation of an earlier key", "A=1\nB=${A}2\n", "A=1|B=12"),
    ("double quotes interpolate", "A=1\nB=\"${A}-x\"\n", "A=1|B=1-x"),
    ("default when unset", "B=${NOPE:-dflt}\n", "B=dflt"),
    ("environment wins over an earlier key", "SHELL_ONLY=file\nB=${SHELL_ONLY}\n", "SHELL_ONLY=file|B=from-shell"),
    ("$$ is a literal $", "A=a$$b\n", "A=a$b"),
    ("lone $ is text", "A=cost $5\n", "A=cost $5"),
    ("KEY alone takes the environment's value", "SHELL_ONLY\n", "SHELL_ONLY=from-shell"),
    ("KEY alone, unset, is left out", "NOPE\nA=1\n", "A=1"),
    ("KEY alone on the last line", "A=1\nSHELL_ONLY", "A=1|SHELL_ONLY=from-shell"),
    ("key characters . - [ ]", "a.b-c[0]=1\n", "a.b-c[0]=1"),
    ("unicode letters in keys", "ÜBER=1\n", "ÜBER=1"),
    ("digits first in a key", "1A=1\n", "1A=1"),
    ("later duplicate wins", "A=1\nA=2\n", "A=2"),
    ("UTF-8 BOM ignored", "\u{feff}A=1\n", "A=1"),
    ("CRLF line ends", "A=1\r\nB=2\r\n", "A=1|B=2"),
    ("= in the value", "A=b=c\n", "A=b=c"),
    ("text after the closing quote starts a statement (comment)", "A=\"x\"   # c\nB=1\n", "A=x|B=1"),
    ("value starting with a blank then a quote is quoted", "A=  'x y'\n", "A=x y"),
];

fn pairs(s: &str) -> Vec<(String, String)> {
    s.split('|').filter(|p| !p.is_empty()).map(|p| p.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())).expect("K=V")).collect()
}

#[test]
fn dotenv_table() {
    assert!(ROWS.len() >= 40, "{} rows", ROWS.len());
    for (cite, text, want) in ROWS {
        let got = parse(text, OUTER, Format::Dotenv).unwrap_or_else(|e| panic!("{cite}: {e}"));
        assert_eq!(got, pairs(want), "{cite}: {text:?}");
    }
}

/// (citation, text, error text: place and message).
#[rustfmt::skip]
const ERRORS: &[(&str, &str, &str)] = &[
    ("compose-go: unterminated double quote", "A=1\nB=\"abc\n", ".env:2:3: unterminated quoted value"),
    ("compose-go: unterminated single quote", "A='abc", ".env:1:3: unterminated quoted value"),
    ("compose-go: unexpected character in a key", "A B!=1\n", "unexpected character '!'"),
    ("compose-go: a key cannot contain a space", "A B=1\n", ".env:1:1: a key cannot contain a space"),
    ("compose-go: ${VAR:?msg} in .env", "A=${NOPE:?must be set}\n", ".env:1:3: required variable NOPE is not set: must be set"),
    ("compose-go: invalid template", "A=\"${\"\n", ".env:1:3: invalid interpolation"),
];

#[test]
fn dotenv_errors_table() {
    for (cite, text, want) in ERRORS {
        let err = parse(text, OUTER, Format::Dotenv).err().unwrap_or_else(|| panic!("{cite}: parses"));
        assert!(err.contains(want), "{cite}: {err}");
    }
}

#[test]
fn raw_format_takes_lines_as_they_stand() {
    let got = parse("A='q' # x\nB=${HOME_DIR}\n\nSHELL_ONLY\n", OUTER, Format::Raw).expect("raw");
    assert_eq!(got, pairs("A='q' # x|B=${HOME_DIR}|SHELL_ONLY=from-shell"));
}

fn project(dir: &std::path::Path, compose: &str) {
    std::fs::write(dir.join("compose.yaml"), compose).expect("write");
}

#[test]
fn dotenv_and_env_file_flags_feed_interpolation() {
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), "name: demo\nservices:\n  web:\n    image: nginx:${TAG}\n    environment: { B: \"${B}\" }\n");
    std::fs::write(dir.path().join(".env"), "TAG=from-dotenv\nA=1\nB=${A}2\n").expect("env");
    let out = Berth::new(dir.path()).args(["render"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("nginx:from-dotenv") && out.stdout.contains("\"12\""), "{}", out.stdout);

    // --env-file replaces .env; repeated, later files win and see earlier keys.
    std::fs::write(dir.path().join("one.env"), "TAG=one\nA=5\n").expect("env");
    std::fs::write(dir.path().join("two.env"), "TAG=two\nB=${A}6\n").expect("env");
    let out = Berth::new(dir.path()).args(["--env-file", "one.env", "--env-file", "two.env", "render"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("nginx:two") && out.stdout.contains("\"56\""), "{}", out.stdout);

    // A missing --env-file is an error.
    let out = Berth::new(dir.path()).args(["--env-file", "nope.env", "validate"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("nope.env"), "{}", out.stderr);
}

#[test]
fn dotenv_errors_name_the_env_file_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    project(dir.path(), "name: demo\nservices:\n  web:\n    image: nginx\n");
    std::fs::write(dir.path().join(".env"), "A=1\nB=\"open\n").expect("env");
    let out = Berth::new(dir.path()).args(["validate"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains(".env:2:3: unterminated quoted value"), "{}", out.stderr);

    std::fs::write(dir.path().join(".env"), "A=1\nB=${NOPE:?set NOPE}\n").expect("env");
    let out = Berth::new(dir.path()).args(["validate"]).run();
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains(".env:2:3: required variable NOPE is not set: set NOPE"), "{}", out.stderr);
}
