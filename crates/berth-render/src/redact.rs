//! Redaction: the one place that decides what output may show of a value.
//! Every view (human and markdown plans, the JSON plan on stdout, apply's
//! event lines, `render`, `status`) goes through it; only the saved plan
//! file keeps the real values, because apply sends them.
//!
//! Hidden: the `value` of every `{name, value}` entry whose name looks like
//! a secret ([`berth_spec::resolve::looks_secret`]), and the password of every
//! URL with credentials (`scheme://user:pass@host`) in any string. The mask is
//! a fixed marker that says whether the value differs from the other side of
//! its change, computed here from the real values; it never carries a digest
//! of the value (a digest lets anyone confirm a guessed password offline).

use std::borrow::Cow;
use std::ops::Range;

use berth_plan::Plan;
use serde_json::Value;

/// What a hidden value shows as.
pub const MARKER: &str = "(sensitive)";
/// What a hidden value shows as on the `after` side when it differs from `before`.
pub const MARKER_CHANGED: &str = "(sensitive, changed)";

/// The plan as every view shows it: sensitive values masked in each
/// change's `before` and `after` (the `after` side says `changed` where the
/// real values differ), credentials in URLs masked in reasons and warnings,
/// and the digests that cover a masked value (`spec_digest`, the
/// fingerprint of a masked `before`) replaced by the marker, since a digest
/// of a whole resource confirms a guessed password as well as one of the
/// value alone.
pub fn redacted(plan: &Plan) -> Plan {
    let mut out = plan.clone();
    // The resolved app of a saved plan is never displayed.
    out.target = None;
    let mut desired_hidden = false;
    for (c, original) in out.changes.iter_mut().zip(&plan.changes) {
        if let Some(before) = &mut c.before {
            if mask(before, original.after.as_ref(), false) {
                for address in [original.address.as_str(), original.address.trim_end_matches("~old")] {
                    if let Some(print) = out.fingerprints.get_mut(address) {
                        *print = MARKER.to_string();
                    }
                }
            }
        }
        if let Some(after) = &mut c.after {
            desired_hidden |= mask(after, original.before.as_ref(), true);
        }
        c.reason = text(&c.reason).into_owned();
    }
    if desired_hidden {
        out.spec_digest = MARKER.to_string();
    }
    for w in &mut out.warnings {
        *w = text(w).into_owned();
    }
    out
}

/// A value with nothing to compare against (`render`, `status`, events):
/// every sensitive value shows as [`MARKER`].
pub fn value(v: &Value) -> Value {
    let mut v = v.clone();
    mask(&mut v, None, false);
    v
}

/// Free text (a message, an error, a reason): URL passwords masked.
pub fn text(s: &str) -> Cow<'_, str> {
    let spans = url_passwords(s);
    if spans.is_empty() {
        return Cow::Borrowed(s);
    }
    Cow::Owned(replace(s, &spans, |_| MARKER))
}

/// True when a plan holds a masked value: it came from a view, not from
/// `plan -o`, and applying it would send the marker instead of the value.
pub fn is_redacted(plan: &Plan) -> bool {
    fn holds(v: &Value) -> bool {
        match v {
            Value::String(s) => s.contains(MARKER) || s.contains(MARKER_CHANGED),
            Value::Array(a) => a.iter().any(holds),
            Value::Object(m) => m.values().any(holds),
            _ => false,
        }
    }
    plan.spec_digest == MARKER || plan.changes.iter().any(|c| c.after.as_ref().is_some_and(holds))
}

/// Masks `v` in place, comparing each hidden value with the same one in
/// `other` (the real other side of the change; arrays of named entries are
/// matched by name, other arrays by index). With `mark`, a value that
/// differs from its counterpart shows as [`MARKER_CHANGED`]. Returns whether
/// anything was hidden.
fn mask(v: &mut Value, other: Option<&Value>, mark: bool) -> bool {
    match v {
        Value::Object(m) => {
            let secret = m.get("name").and_then(Value::as_str).is_some_and(berth_spec::resolve::looks_secret);
            let mut hid = false;
            for (k, child) in m.iter_mut() {
                let counterpart = other.and_then(|o| o.get(k));
                hid |= if secret && k == "value" { hide(child, counterpart, mark) } else { mask(child, counterpart, mark) };
            }
            hid
        }
        Value::Array(a) => {
            let named = !a.is_empty() && a.iter().all(|e| e.get("name").is_some_and(Value::is_string));
            let others = other.and_then(Value::as_array);
            let mut hid = false;
            for (i, e) in a.iter_mut().enumerate() {
                let counterpart = others.and_then(|o| {
                    if named {
                        let name = e.get("name").cloned();
                        o.iter().find(|x| x.get("name") == name.as_ref())
                    } else {
                        o.get(i)
                    }
                });
                hid |= mask(e, counterpart, mark);
            }
            hid
        }
        Value::String(s) => {
            let spans = url_passwords(s);
            if spans.is_empty() {
                return false;
            }
            // The i-th password of this string against the i-th of its counterpart.
            let theirs: Option<Vec<String>> =
                other.map(|o| o.as_str().map(|t| url_passwords(t).into_iter().map(|r| t[r].to_string()).collect()).unwrap_or_default());
            let ours: Vec<String> = spans.iter().map(|r| s[r.clone()].to_string()).collect();
            *s = replace(s, &spans, |i| {
                let changed = mark && theirs.as_ref().is_some_and(|t| t.get(i) != Some(&ours[i]));
                if changed {
                    MARKER_CHANGED
                } else {
                    MARKER
                }
            });
            true
        }
        _ => false,
    }
}

/// Hides a whole value (of a secret-looking name). Empty values show as they are.
fn hide(v: &mut Value, other: Option<&Value>, mark: bool) -> bool {
    if v.is_null() || v.as_str().is_some_and(str::is_empty) {
        return false;
    }
    let changed = mark && other.is_some_and(|o| o != v);
    *v = Value::String(if changed { MARKER_CHANGED } else { MARKER }.to_string());
    true
}

fn replace(s: &str, spans: &[Range<usize>], marker: impl Fn(usize) -> &'static str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut at = 0;
    for (i, r) in spans.iter().enumerate() {
        out.push_str(&s[at..r.start]);
        out.push_str(marker(i));
        at = r.end;
    }
    out.push_str(&s[at..]);
    out
}

/// The byte ranges of the passwords of URLs with credentials in `s`
/// (`scheme://user:password@host`, user possibly empty). A URL runs to the
/// next whitespace, quote or `://`; its credentials end at its last `@`, so
/// a password with a raw `@`, `/` or `?` is hidden whole (at worst a path
/// with `:` and `@` is hidden too: too much rather than too little).
fn url_passwords(s: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = s[from..].find("://") {
        let sep = from + i;
        let start = sep + 3;
        let scheme = s[..sep].chars().next_back().is_some_and(|c| c.is_ascii_alphanumeric());
        let rest = &s[start..];
        // One pass to the first end, so the whole scan stays linear in `s`.
        let b = rest.as_bytes();
        let end = (0..b.len())
            .find(|&j| b[j].is_ascii_whitespace() || matches!(b[j], b'"' | b'\'' | b'`' | b'<' | b'>') || b[j..].starts_with(b"://"))
            .unwrap_or(b.len());
        let url = &rest[..end];
        if scheme {
            if let Some(at) = url.rfind('@') {
                if let Some(colon) = url[..at].find(':') {
                    if colon + 1 < at {
                        out.push(start + colon + 1..start + at);
                    }
                }
            }
        }
        // Past this `://` in any case, so the loop ends.
        from = start + end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn url_passwords_are_found_wherever_they_are() {
        let cases = [
            ("postgres://app:s3cr3tpw@db/app", "postgres://app:(sensitive)@db/app"),
            ("redis://:pw@cache:6379/0", "redis://:(sensitive)@cache:6379/0"),
            ("--db=mysql://u:p%40ss@h/x --other", "--db=mysql://u:(sensitive)@h/x --other"),
            ("postgres://app:pa/ss@db/app", "postgres://app:(sensitive)@db/app"),
            ("postgres://app:p@ss@db/app", "postgres://app:(sensitive)@db/app"),
            ("a=postgres://u:one@h/d,b=redis://:two@r", "a=postgres://u:(sensitive)@h/d,b=redis://:(sensitive)@r"),
            ("http://localhost:8080/healthz", "http://localhost:8080/healthz"),
            ("ssh://git@github.com/x", "ssh://git@github.com/x"),
            ("https://u:@host/", "https://u:@host/"),
            ("://u:p@h", "://u:p@h"),
            ("no url here", "no url here"),
            ("ends with ://", "ends with ://"),
        ];
        for (input, want) in cases {
            assert_eq!(text(input), want, "{input}");
        }
    }

    #[test]
    fn a_hostile_string_is_scanned_in_linear_time() {
        let hostile = "a://".repeat(250_000) + &"b:c@".repeat(250_000);
        let started = std::time::Instant::now();
        let _ = text(&hostile);
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "{:?}", started.elapsed());
    }

    #[test]
    fn secret_names_and_url_passwords_are_masked_with_changed_against_the_other_side() {
        let before = json!({"containerDefinitions": [{"name": "web", "environment": [
            {"name": "DB_PASSWORD", "value": "old-pw"},
            {"name": "API_TOKEN", "value": "same-token"},
            {"name": "DATABASE_URL", "value": "postgres://app:old@db/app"},
            {"name": "CACHE_URL", "value": "redis://:same@cache"},
            {"name": "LOG_LEVEL", "value": "info"},
        ]}]});
        let after = json!({"containerDefinitions": [{"name": "web", "environment": [
            {"name": "API_TOKEN", "value": "same-token"},
            {"name": "CACHE_URL", "value": "redis://:same@cache"},
            {"name": "DATABASE_URL", "value": "postgres://app:new@db/app"},
            {"name": "DB_PASSWORD", "value": "new-pw"},
            {"name": "LOG_LEVEL", "value": "debug"},
        ]}]});
        let mut b = before.clone();
        let mut a = after.clone();
        assert!(mask(&mut b, Some(&after), false));
        assert!(mask(&mut a, Some(&before), true));
        let env = |v: &Value, name: &str| {
            v["containerDefinitions"][0]["environment"].as_array().unwrap().iter().find(|e| e["name"] == name).unwrap()["value"].clone()
        };
        assert_eq!(env(&b, "DB_PASSWORD"), "(sensitive)");
        assert_eq!(env(&a, "DB_PASSWORD"), "(sensitive, changed)");
        assert_eq!(env(&a, "API_TOKEN"), "(sensitive)");
        assert_eq!(env(&a, "DATABASE_URL"), "postgres://app:(sensitive, changed)@db/app");
        assert_eq!(env(&b, "DATABASE_URL"), "postgres://app:(sensitive)@db/app");
        assert_eq!(env(&a, "CACHE_URL"), "redis://:(sensitive)@cache");
        assert_eq!(env(&a, "LOG_LEVEL"), "debug");
        for v in [&a, &b] {
            let text = v.to_string();
            for secret in ["old-pw", "new-pw", "same-token", ":old@", ":new@", ":same@"] {
                assert!(!text.contains(secret), "{secret} in {text}");
            }
        }
    }

    #[test]
    fn a_plain_value_is_untouched() {
        let v = json!({"name": "MODE", "value": "blue", "command": ["run", "http://x:80/"]});
        assert_eq!(value(&v), v);
        let mut w = v.clone();
        assert!(!mask(&mut w, None, true));
    }

    fn plan(before_pw: &str, after_pw: &str) -> Plan {
        let td = |pw: &str| json!({"family": "a-web", "containerDefinitions": [{"name": "web", "environment": [{"name": "DB_PASSWORD", "value": pw}]}]});
        serde_json::from_value(json!({
            "format_version": berth_plan::FORMAT_VERSION, "berth_version": "0", "app": "a", "backend": "sim",
            "spec_digest": "0123abcd", "summary": {"create": 0, "update": 1, "replace": 0, "delete": 0, "unchanged": 0},
            "changes": [{"address": "taskdef.web", "kind": "task_definition", "action": "update",
                         "reason": "changed: postgres://u:reason-pw@h", "before": td(before_pw), "after": td(after_pw), "arn": "arn:1"}],
            "unchanged": [], "fingerprints": {"taskdef.web": "feedbeef", "service.web": "cafe0123"},
            "warnings": ["warning: DSN redis://:warn-pw@cache is not used"]
        }))
        .expect("plan")
    }

    #[test]
    fn a_redacted_plan_hides_values_and_the_digests_over_them() {
        let p = redacted(&plan("old-pw", "new-pw"));
        let text = serde_json::to_string(&p).expect("json");
        for secret in ["old-pw", "new-pw", "reason-pw", "warn-pw", "feedbeef", "0123abcd"] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
        assert_eq!(p.changes[0].before.as_ref().unwrap().pointer("/containerDefinitions/0/environment/0/value").unwrap(), MARKER);
        assert_eq!(p.changes[0].after.as_ref().unwrap().pointer("/containerDefinitions/0/environment/0/value").unwrap(), MARKER_CHANGED);
        assert_eq!(p.fingerprints["service.web"], "cafe0123", "a digest over nothing hidden stays");
        assert!(is_redacted(&p) && !is_redacted(&plan("old-pw", "new-pw")));
        let same = redacted(&plan("pw", "pw"));
        assert_eq!(same.changes[0].after.as_ref().unwrap().pointer("/containerDefinitions/0/environment/0/value").unwrap(), MARKER);
        // The human diff still shows that the value changes, and only then.
        let diff = crate::unified(&p.changes[0]);
        assert!(
            diff.contains("-          \"value\": \"(sensitive)\"") && diff.contains("+          \"value\": \"(sensitive, changed)\""),
            "{diff}"
        );
        assert!(crate::unified(&same.changes[0]).is_empty());
    }
}
