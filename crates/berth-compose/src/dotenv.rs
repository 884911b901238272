//! `.env` files (and `--env-file`, and services' `env_file:`) in the syntax
//! of compose-go's `dotenv` package, which `docker compose` reads them with:
//!
//! - blank lines and lines starting with `#` are skipped; a UTF-8 BOM is ignored;
//! - `KEY=VALUE`, `KEY: VALUE`, `export KEY=VALUE`; a key holds letters,
//!   digits and `_ . - [ ]`; spaces around the `=` are dropped;
//! - `KEY` alone on its line takes its value from the environment (and is
//!   left unset when the environment has none);
//! - unquoted values end at the line's end or at ` #` (an inline comment),
//!   trailing blanks dropped, `${VAR}` interpolated;
//! - `'single'` quotes are literal; `"double"` quotes expand `\n \t \r \" \\ \$`
//!   (and `\a \b \f \v \0ooo`) and then interpolate; both may span lines;
//! - interpolation sees the environment first, then the keys read before
//!   (in this file and the env files before it);
//! - an unterminated quote is an error at the quote's line and column.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use indexmap::IndexMap;

use crate::diag::{Diagnostic, Pos};
use crate::interpolate::{interpolate_with, Lookup};

/// A variable read from an env file, and where its key is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvEntry {
    pub value: String,
    pub pos: Pos,
}

/// What one env file defines, in order, and the variables its values named
/// that were set nowhere (each became an empty string).
#[derive(Debug, Clone, Default)]
pub struct EnvFile {
    pub entries: IndexMap<String, EnvEntry>,
    pub unset: Vec<(String, Pos)>,
}

/// How a service's `env_file` is read: `format: raw` takes each
/// `KEY=VALUE` line as it stands (no quotes, escapes or interpolation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Dotenv,
    Raw,
}

/// Parses env-file text. `outer` is the environment (consulted before the
/// keys already in `earlier`, as compose-go's lookup does); `earlier` holds the
/// keys of the env files read before this one.
pub fn parse(
    file: &Arc<PathBuf>,
    text: &str,
    format: Format,
    outer: &dyn Lookup,
    earlier: &HashMap<String, String>,
) -> Result<EnvFile, Diagnostic> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut p = Parser { file, text, lines: line_starts(text), out: EnvFile::default(), outer, earlier, local: HashMap::new() };
    match format {
        Format::Dotenv => p.run()?,
        Format::Raw => p.raw(),
    }
    Ok(p.out)
}

fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect()
}

struct Parser<'a> {
    file: &'a Arc<PathBuf>,
    text: &'a str,
    lines: Vec<usize>,
    out: EnvFile,
    outer: &'a dyn Lookup,
    earlier: &'a HashMap<String, String>,
    /// This file's keys so far (for interpolation).
    local: HashMap<String, String>,
}

/// Lookup order of a value's interpolation: the environment, then the keys
/// read before (this file's, then earlier files').
struct Scope<'a> {
    outer: &'a dyn Lookup,
    local: &'a HashMap<String, String>,
    earlier: &'a HashMap<String, String>,
}

impl Lookup for Scope<'_> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.outer.lookup(name).or_else(|| self.local.get(name).map(String::as_str)).or_else(|| self.earlier.get(name).map(String::as_str))
    }
}

/// compose-go's `isSpace`: blanks, not line breaks.
fn is_space(c: char) -> bool {
    matches!(c, '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}')
}

impl Parser<'_> {
    fn pos(&self, offset: usize) -> Pos {
        let line = self.lines.partition_point(|&s| s <= offset).max(1);
        let start = self.lines[line - 1];
        let col = 1 + self.text[start..offset.min(self.text.len())].chars().count();
        Pos { file: self.file.clone(), line, col }
    }

    fn error(&self, offset: usize, message: impl Into<String>, hint: &str) -> Diagnostic {
        Diagnostic::error("", message).at(Some(self.pos(offset))).hint(hint)
    }

    fn set(&mut self, key: &str, value: String, at: usize) {
        let pos = self.pos(at);
        self.local.insert(key.to_string(), value.clone());
        self.out.entries.shift_remove(key);
        self.out.entries.insert(key.to_string(), EnvEntry { value, pos });
    }

    fn inherit(&mut self, key: &str, at: usize) {
        let scope = Scope { outer: self.outer, local: &self.local, earlier: self.earlier };
        if let Some(v) = scope.lookup(key).map(str::to_string) {
            self.set(key, v, at);
        }
    }

    /// Interpolates `value` (which starts at `at`) as Compose does.
    fn expand(&mut self, value: &str, at: usize) -> Result<String, Diagnostic> {
        let scope = Scope { outer: self.outer, local: &self.local, earlier: self.earlier };
        match interpolate_with(value, &scope) {
            Ok(out) => {
                for name in out.unset {
                    let pos = self.pos(at);
                    self.out.unset.push((name, pos));
                }
                Ok(out.value)
            }
            Err(e) => Err(self.error(at, e.to_string(), &e.hint())),
        }
    }

    fn run(&mut self) -> Result<(), Diagnostic> {
        let text = self.text;
        let mut i = 0;
        loop {
            // The start of the next statement: past blanks, line breaks and comment lines.
            loop {
                match text[i..].find(|c: char| !c.is_whitespace()) {
                    None => return Ok(()),
                    Some(j) => i += j,
                }
                if text[i..].starts_with('#') {
                    match text[i..].find('\n') {
                        Some(j) => i += j,
                        None => return Ok(()),
                    }
                } else {
                    break;
                }
            }
            // `export KEY=...`
            if let Some(rest) = text[i..].strip_prefix("export") {
                if rest.starts_with(char::is_whitespace) {
                    i += "export".len();
                    i += text[i..].find(|c: char| !is_space(c)).unwrap_or(text.len() - i);
                }
            }
            let key_start = i;
            let mut end = None;
            for (j, c) in text[i..].char_indices() {
                match c {
                    '=' | ':' | '\n' => {
                        end = Some((i + j, c));
                        break;
                    }
                    '_' | '.' | '-' | '[' | ']' => {}
                    c if is_space(c) || c.is_alphanumeric() => {}
                    c => {
                        let line = text[key_start..].lines().next().unwrap_or_default();
                        return Err(self.error(
                            i + j,
                            format!("unexpected character {c:?} in variable name {:?}", truncate(line)),
                            "a line of an env file is KEY=VALUE; a key holds letters, digits and `_ . - [ ]`",
                        ));
                    }
                }
            }
            // A last line without a line break is a key alone, as a line
            // with one is.
            let (key_end, sep) = end.unwrap_or((text.len(), '\n'));
            let key = text[key_start..key_end].trim_end_matches(char::is_whitespace).to_string();
            if key.contains(' ') {
                return Err(self.error(key_start, "a key cannot contain a space", "write KEY=VALUE, with the key in one word"));
            }
            if key.is_empty() {
                return Err(self.error(key_start, "a line starts with `=` or `:` but has no key", "write KEY=VALUE"));
            }
            if sep == '\n' {
                self.inherit(&key, key_start);
                i = (key_end + 1).min(text.len());
                continue;
            }
            let mut v = key_end + 1;
            v += text[v..].find(|c: char| !is_space(c)).unwrap_or(text.len() - v);
            i = self.value(&key, key_start, v)?;
        }
    }

    /// Reads the value at `v`; returns where the next statement may start.
    fn value(&mut self, key: &str, key_start: usize, v: usize) -> Result<usize, Diagnostic> {
        let text = self.text;
        let quote = text[v..].chars().next().filter(|c| *c == '"' || *c == '\'');
        let Some(quote) = quote else {
            let line_end = text[v..].find('\n').map_or(text.len(), |j| v + j);
            let mut raw = &text[v..line_end];
            if let Some(j) = raw.find(" #") {
                raw = &raw[..j];
            }
            let raw = raw.trim_end_matches(char::is_whitespace);
            let value = self.expand(raw, v)?;
            self.set(key, value, key_start);
            return Ok((line_end + 1).min(text.len()));
        };
        let mut chars = String::new();
        let mut escaped = false;
        for (j, c) in text[v + 1..].char_indices() {
            if c != quote {
                if !escaped && c == '\\' {
                    escaped = true;
                    continue;
                }
                if escaped {
                    escaped = false;
                    chars.push('\\');
                }
                chars.push(c);
                continue;
            }
            if escaped {
                escaped = false;
                chars.push(c);
                continue;
            }
            let value = if quote == '"' { self.expand(&expand_escapes(&chars), v)? } else { chars };
            self.set(key, value, key_start);
            return Ok(v + 1 + j + 1);
        }
        Err(self.error(
            v,
            format!("unterminated quoted value: the {} quote is never closed", if quote == '"' { "double" } else { "single" }),
            "close the quote; a quoted value may span lines, up to its closing quote",
        ))
    }

    /// `format: raw`: `KEY=VALUE` lines taken as they stand.
    fn raw(&mut self) {
        let text = self.text;
        for (n, line) in text.split('\n').enumerate() {
            let start = self.lines[n];
            let line = line.strip_suffix('\r').unwrap_or(line);
            if line.trim().is_empty() {
                continue;
            }
            match line.split_once('=') {
                Some((k, v)) => self.set(k, v.to_string(), start),
                None => self.inherit(line, start),
            }
        }
    }
}

/// The first 40 characters of a line, for a message.
fn truncate(line: &str) -> String {
    let mut s: String = line.chars().take(40).collect();
    if s.len() < line.len() {
        s.push('…');
    }
    s
}

/// compose-go's `expandEscapes`: `\a \b \f \n \r \t \v \" \\`, `\0ooo` octal,
/// and `\$` as `$$` (a literal `$` once interpolated); any other backslash stays.
fn expand_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(&n) = chars.peek() else {
            out.push('\\');
            break;
        };
        let mapped = match n {
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            '"' => Some('"'),
            '\\' => Some('\\'),
            _ => None,
        };
        if let Some(m) = mapped {
            chars.next();
            out.push(m);
        } else if n == '$' {
            chars.next();
            out.push_str("$$");
        } else if n == '0' {
            chars.next();
            let mut digits = String::new();
            while digits.len() < 3 && chars.peek().is_some_and(char::is_ascii_digit) {
                digits.extend(chars.next());
            }
            match u32::from_str_radix(if digits.is_empty() { "0" } else { &digits }, 8).ok().and_then(char::from_u32) {
                Some(ch) if digits.bytes().all(|b| b < b'8') => out.push(ch),
                _ => {
                    out.push_str("\\0");
                    out.push_str(&digits);
                }
            }
        } else {
            out.push('\\');
        }
    }
    out
}
