//! Variable interpolation exactly as the Compose specification defines it:
//! `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?message}`,
//! `${VAR?message}`, `${VAR:+alt}`, `${VAR+alt}`, `$$` for a literal `$`,
//! with defaults and messages that may themselves hold `${...}`.

use std::collections::HashMap;

/// Where variable values come from, first match wins: `--var`, then the
/// process environment, then the `.env` file.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    layers: Vec<HashMap<String, String>>,
    /// What a required variable (`${X:?}`) that is unset becomes, instead
    /// of an error: for commands that do not use such values (`destroy`
    /// needs no image tags).
    required_placeholder: Option<String>,
}

impl Vars {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a layer consulted after the ones already added.
    pub fn with_layer(mut self, layer: HashMap<String, String>) -> Self {
        self.layers.push(layer);
        self
    }

    /// Unset required variables (`${X:?}`) become `placeholder` (and are
    /// reported as unset) instead of failing the interpolation.
    pub fn with_required_placeholder(mut self, placeholder: impl Into<String>) -> Self {
        self.required_placeholder = Some(placeholder.into());
        self
    }

    /// Adds a layer consulted before the ones already added.
    pub fn with_first_layer(mut self, layer: HashMap<String, String>) -> Self {
        self.layers.insert(0, layer);
        self
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.layers.iter().find_map(|l| l.get(name)).map(String::as_str)
    }
}

/// Where interpolation finds a variable's value.
pub trait Lookup {
    fn lookup(&self, name: &str) -> Option<&str>;

    /// See [`Vars::with_required_placeholder`].
    fn required_placeholder(&self) -> Option<&str> {
        None
    }
}

impl Lookup for Vars {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.get(name)
    }

    fn required_placeholder(&self) -> Option<&str> {
        self.required_placeholder.as_deref()
    }
}

impl Lookup for HashMap<String, String> {
    fn lookup(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

/// The deepest `${...}` may nest in a default, alternative or message
/// (`${A:-${B:-x}}` is two levels). Specs nest two or three.
pub const MAX_NESTING: usize = 32;

/// The most bytes a `.env` file may hold.
pub const MAX_DOTENV_BYTES: usize = 1 << 20;

/// Why a string could not be interpolated. No variant holds the value being
/// interpolated or a variable's value (either may be a secret): the
/// diagnostic names the key, and these name the variable or the character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterpolationError {
    /// `${VAR:?msg}` or `${VAR?msg}` with the variable missing; `message`
    /// is the spec's own text, as written (not interpolated).
    Required { name: String, message: String },
    /// A `$` that starts nothing valid, or an unclosed `${`, at character
    /// `at` (1-based) of the value.
    Invalid { at: usize, reason: String },
}

impl InterpolationError {
    /// What to do about it.
    pub fn hint(&self) -> String {
        match self {
            InterpolationError::Required { name, .. } => format!("pass --var {name}=..., export it, or add it to .env"),
            InterpolationError::Invalid { .. } => {
                "write `$$` for a literal `$`; a variable is `$NAME` or `${NAME}`, with `:-`, `-`, `:?`, `?`, `:+` or `+` and a closing `}`"
                    .to_string()
            }
        }
    }
}

impl std::fmt::Display for InterpolationError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InterpolationError::Required { name, message } if message.is_empty() => {
                write!(f, "required variable {name} is not set")
            }
            InterpolationError::Required { name, message } => {
                write!(f, "required variable {name} is not set: {message}")
            }
            InterpolationError::Invalid { at, reason } => {
                write!(f, "invalid interpolation at character {at} of the value: {reason}")
            }
        }
    }
}

/// The result of interpolating one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpolated {
    pub value: String,
    /// Variables that were referenced without a default and are unset
    /// (each is a warning; they became empty strings).
    pub unset: Vec<String>,
}

pub fn interpolate(template: &str, vars: &Vars) -> Result<Interpolated, InterpolationError> {
    interpolate_with(template, vars)
}

/// [`interpolate`] with variables from any [`Lookup`].
pub fn interpolate_with(template: &str, vars: &dyn Lookup) -> Result<Interpolated, InterpolationError> {
    let mut unset = Vec::new();
    let value = Interp { template, vars, unset: &mut unset }.run(template, 0)?;
    Ok(Interpolated { value, unset })
}

struct Interp<'a> {
    template: &'a str,
    vars: &'a dyn Lookup,
    unset: &'a mut Vec<String>,
}

fn is_name_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic()
}

fn is_name_char(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric()
}

impl Interp<'_> {
    /// An error at the start of `at`, a slice of the template.
    fn invalid(&self, at: &str, reason: &str) -> InterpolationError {
        let offset = (at.as_ptr() as usize).saturating_sub(self.template.as_ptr() as usize).min(self.template.len());
        let chars = self.template.get(..offset).map_or(0, |s| s.chars().count());
        InterpolationError::Invalid { at: chars + 1, reason: reason.to_string() }
    }

    /// Interpolates `s`, a slice of the template nested `depth` levels in `${...}`.
    fn run(&mut self, s: &str, depth: usize) -> Result<String, InterpolationError> {
        let mut out = String::with_capacity(s.len());
        let mut rest = s;
        while let Some(i) = rest.find('$') {
            out.push_str(&rest[..i]);
            let dollar = &rest[i..];
            let after = &rest[i + 1..];
            let next = after.chars().next();
            match next {
                Some('$') => {
                    out.push('$');
                    rest = &after[1..];
                }
                Some('{') => {
                    if depth >= MAX_NESTING {
                        return Err(self.invalid(dollar, &format!("`${{...}}` nests deeper than {MAX_NESTING} levels")));
                    }
                    let body_start = &after[1..];
                    let end = matching_brace(body_start).ok_or_else(|| self.invalid(dollar, "`${` is never closed with `}`"))?;
                    out.push_str(&self.braced(&body_start[..end], depth + 1)?);
                    rest = &body_start[end + 1..];
                }
                Some(c) if is_name_start(c) => {
                    let len = after.find(|c: char| !is_name_char(c)).unwrap_or(after.len());
                    let name = &after[..len];
                    out.push_str(&self.lookup_or_warn(name));
                    rest = &after[len..];
                }
                // compose-go's pattern matches `$$`, `$NAME` and `${...}` only: any
                // other `$` is text (`cost $5`, a trailing `$`).
                _ => {
                    out.push('$');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    fn lookup_or_warn(&mut self, name: &str) -> String {
        match self.vars.lookup(name) {
            Some(v) => v.to_string(),
            None => {
                if !self.unset.iter().any(|n| n == name) {
                    self.unset.push(name.to_string());
                }
                String::new()
            }
        }
    }

    /// The inside of `${...}`, at nesting `depth` (1 for the outermost).
    fn braced(&mut self, body: &str, depth: usize) -> Result<String, InterpolationError> {
        let name_len = body.find(|c: char| !is_name_char(c)).unwrap_or(body.len());
        let name = &body[..name_len];
        if name.is_empty() || !name.starts_with(is_name_start) {
            return Err(self.invalid(body, "`${` must be followed by a variable name"));
        }
        let op = &body[name_len..];
        let value = self.vars.lookup(name);
        let set_nonempty = value.is_some_and(|v| !v.is_empty());
        let (op, word) = [":-", ":?", ":+", "-", "?", "+"]
            .iter()
            .find_map(|p| op.strip_prefix(p).map(|w| (*p, w)))
            .map(|(p, w)| (Some(p), w))
            .unwrap_or((None, op));
        match op {
            None if word.is_empty() => Ok(self.lookup_or_warn(name)),
            None => Err(self.invalid(word, &format!("unexpected text after the name {name}; use :-, -, :?, ?, :+ or +"))),
            Some(":-") if set_nonempty => Ok(value.unwrap_or_default().to_string()),
            Some("-") if value.is_some() => Ok(value.unwrap_or_default().to_string()),
            Some(":-" | "-") => self.run(word, depth),
            Some(":?") if set_nonempty => Ok(value.unwrap_or_default().to_string()),
            Some("?") if value.is_some() => Ok(value.unwrap_or_default().to_string()),
            Some(":?" | "?") => match self.vars.required_placeholder() {
                Some(placeholder) => {
                    if !self.unset.iter().any(|n| n == name) {
                        self.unset.push(name.to_string());
                    }
                    Ok(placeholder.to_string())
                }
                None => Err(InterpolationError::Required { name: name.to_string(), message: word.to_string() }),
            },
            Some(":+") if set_nonempty => self.run(word, depth),
            Some("+") if value.is_some() => self.run(word, depth),
            Some(_) => Ok(String::new()),
        }
    }
}

/// Index of the `}` closing a `${` whose body starts `s`. As compose-go
/// (`getFirstBraceClosingIndex`), every `{` inside opens a level and every
/// `}` closes one, so a default may hold braces: `${JSON:-{"a":1}}`.
fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        let layer: HashMap<String, String> = [("TAG", "v1"), ("EMPTY", ""), ("REG", "r.example"), ("PORT", "8080")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Vars::new().with_layer(layer)
    }

    /// Every form of the Compose spec, one row each: template, expected value, unset vars.
    #[test]
    fn every_form() {
        let cases: &[(&str, &str, &[&str])] = &[
            ("plain text", "plain text", &[]),
            ("$TAG", "v1", &[]),
            ("${TAG}", "v1", &[]),
            ("img:$TAG-x", "img:v1-x", &[]),
            ("${TAG}x", "v1x", &[]),
            ("$UNSET", "", &["UNSET"]),
            ("${UNSET}", "", &["UNSET"]),
            ("${UNSET:-d}", "d", &[]),
            ("${EMPTY:-d}", "d", &[]),
            ("${UNSET-d}", "d", &[]),
            ("${EMPTY-d}", "", &[]),
            ("${TAG:-d}", "v1", &[]),
            ("${TAG-d}", "v1", &[]),
            ("${TAG:?must}", "v1", &[]),
            ("${EMPTY?must}", "", &[]),
            ("${TAG:+alt}", "alt", &[]),
            ("${EMPTY:+alt}", "", &[]),
            ("${EMPTY+alt}", "alt", &[]),
            ("${UNSET+alt}", "", &[]),
            ("$$", "$", &[]),
            ("$$TAG", "$TAG", &[]),
            ("$${TAG}", "${TAG}", &[]),
            ("a$$b$$$TAG", "a$b$v1", &[]),
            ("${UNSET:-${TAG}}", "v1", &[]),
            ("${UNSET:-${ALSO:-${REG}/x}}", "r.example/x", &[]),
            ("${UNSET:-${MISSING}}", "", &["MISSING"]),
            ("${UNSET:-a}}", "a}", &[]),
            ("${REG}/shop/web:${TAG:?set TAG}", "r.example/shop/web:v1", &[]),
            ("${UNSET:-$$}", "$", &[]),
            ("${PORT:-80}:${PORT}", "8080:8080", &[]),
        ];
        for (template, want, unset) in cases {
            let got = interpolate(template, &vars()).unwrap_or_else(|e| panic!("{template}: {e}"));
            assert_eq!(got.value, *want, "template {template:?}");
            assert_eq!(got.unset, *unset, "unset vars of {template:?}");
        }
    }

    #[test]
    fn a_required_placeholder_stands_for_unset_required_variables_only() {
        let v = vars().with_required_placeholder("unset");
        let out = interpolate("app:${UNSET:?set it}", &v).expect("placeholder");
        assert_eq!((out.value.as_str(), out.unset.clone()), ("app:unset", vec!["UNSET".to_string()]));
        // Defaults and set values are as they were.
        assert_eq!(interpolate("${UNSET:-shop}", &v).expect("default").value, "shop");
        assert_eq!(interpolate("${UNSET}", &v).expect("empty").value, "");
    }

    #[test]
    fn required_messages() {
        let cases: &[(&str, &str)] = &[
            ("${UNSET:?set TAG}", "required variable UNSET is not set: set TAG"),
            ("${EMPTY:?cannot be empty}", "required variable EMPTY is not set: cannot be empty"),
            ("${UNSET?}", "required variable UNSET is not set"),
            // The message as written: an interpolated one could show a secret.
            ("${UNSET?need ${TAG}}", "required variable UNSET is not set: need ${TAG}"),
        ];
        for (template, want) in cases {
            let err = interpolate(template, &vars()).expect_err(template);
            assert_eq!(err.to_string(), *want, "{template}");
        }
    }

    #[test]
    fn invalid_templates() {
        for template in ["${TAG", "${}", "${TAG!x}", "${-x}"] {
            let err = interpolate(template, &vars()).expect_err(template);
            assert!(matches!(err, InterpolationError::Invalid { .. }), "{template}: {err}");
        }
    }

    #[test]
    fn errors_name_the_character_never_the_value() {
        let cases: &[(&str, usize)] =
            &[("pw-s3cret-${TAG", 11), ("pw-s3cret ${TAG!s3cret}", 16), ("pw-s3cret${}", 12), ("${UNSET:-s3cret ${!}}", 19)];
        for (template, at) in cases {
            let err = interpolate(template, &vars()).expect_err(template);
            assert!(matches!(err, InterpolationError::Invalid { at: a, .. } if a == *at), "{template}: {err:?}");
            assert!(!err.to_string().contains("s3cret"), "{template}: {err}");
        }
    }

    #[test]
    fn nesting_is_bounded_without_recursing_deeply() {
        let ok = format!("{}x{}", "${UNSET:-".repeat(MAX_NESTING), "}".repeat(MAX_NESTING));
        assert_eq!(interpolate(&ok, &vars()).expect("at the limit").value, "x");
        for depth in [MAX_NESTING + 1, 20_000, 200_000] {
            let deep = format!("{}x{}", "${A:-".repeat(depth), "}".repeat(depth));
            let err = interpolate(&deep, &vars()).expect_err("too deep");
            assert!(err.to_string().contains("nests deeper than 32 levels"), "{err}");
            let unclosed = "${A:-".repeat(depth);
            assert!(interpolate(&unclosed, &vars()).is_err());
        }
    }

    #[test]
    fn layers_first_match_wins() {
        let first: HashMap<_, _> = [("A".to_string(), "cli".to_string())].into();
        let second: HashMap<_, _> = [("A".to_string(), "env".to_string()), ("B".to_string(), "env".to_string())].into();
        let v = Vars::new().with_layer(first).with_layer(second);
        assert_eq!(interpolate("$A-$B", &v).expect("ok").value, "cli-env");
    }
}
