//! Saved plan files: written readable by the owner only (they hold the
//! environment values apply sends, as Terraform's plan files do), signed
//! with `BERTH_PLAN_KEY` when it is set, and never trusted as written: apply
//! re-derives the plan and refuses a file that differs from it.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use berth_plan::Plan;
use hmac::{KeyInit, Mac};
use serde_json::Value;

/// The environment variable holding the key that signs saved plans.
pub const KEY_VAR: &str = "BERTH_PLAN_KEY";

const SIGNATURE_PREFIX: &str = "hmac-sha256:";

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// The bytes of a saved plan, as berth writes them (the signature, when
/// there is one, is a field of the plan; it signs these bytes without it).
fn text(plan: &Plan) -> String {
    serde_json::to_string_pretty(plan).unwrap_or_default() + "\n"
}

fn mac(key: &str, bytes: &[u8]) -> String {
    let mut m = HmacSha256::new_from_slice(key.as_bytes()).unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    m.update(bytes);
    m.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `bytes` to `path`, readable and writable by the owner only.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut file = opts.open(path)?;
    // An existing file keeps its mode on open: tighten it too.
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Saves a plan (signed when a key is given).
pub fn save(path: &Path, plan: &Plan, key: Option<&str>) -> anyhow::Result<()> {
    let mut plan = plan.clone();
    plan.signature = None;
    if let Some(key) = key {
        plan.signature = Some(format!("{SIGNATURE_PREFIX}{}", mac(key, text(&plan).as_bytes())));
    }
    write_private(path, text(&plan).as_bytes()).with_context(|| format!("writing the plan to {}", path.display()))
}

/// Reads a saved plan and checks its signature: with a key, the file must be
/// signed with it and unchanged since, byte for byte.
pub fn read(path: &Path, shown: &Path, key: Option<&str>) -> anyhow::Result<Plan> {
    const LIMIT: u64 = 64 << 20;
    let size = std::fs::metadata(path).with_context(|| format!("reading the plan {}", shown.display()))?.len();
    if size > LIMIT {
        anyhow::bail!("{} is {size} bytes, more than any berth plan ({LIMIT} bytes); it is not a berth plan", shown.display());
    }
    let raw = std::fs::read_to_string(path).with_context(|| format!("reading the plan {}", shown.display()))?;
    // serde's message may quote a value of the file: name the place only.
    let plan: Plan = serde_json::from_str(&raw).map_err(|e| {
        anyhow::anyhow!(
            "{} is not a berth plan (at line {}, column {}); save plans with `berth plan -o FILE`",
            shown.display(),
            e.line(),
            e.column()
        )
    })?;
    if berth_render::redact::is_redacted(&plan) {
        anyhow::bail!(
            "{} is a plan printed for display, with its sensitive values masked: apply cannot send them; save plans with `berth plan -o FILE`",
            shown.display()
        );
    }
    let Some(key) = key else { return Ok(plan) };
    let Some(signature) = plan.signature.clone() else {
        anyhow::bail!(
            "{} is not signed, and {KEY_VAR} is set: only plans signed with that key are applied; make it with `berth plan -o` where {KEY_VAR} is set",
            shown.display()
        );
    };
    let mut unsigned = plan.clone();
    unsigned.signature = None;
    let expected = format!("{SIGNATURE_PREFIX}{}", mac(key, text(&unsigned).as_bytes()));
    // Every byte counts: the file must be exactly what berth wrote.
    if signature != expected || raw != text(&plan) {
        anyhow::bail!(
            "{} does not match its signature: it was modified after `berth plan -o` wrote it, or signed with another {KEY_VAR}; nothing was changed",
            shown.display()
        );
    }
    Ok(plan)
}

/// The first difference between a saved plan and the one derived again from
/// the spec and the live account, as a path into the plan and both values.
pub fn first_difference(saved: &Plan, fresh: &Plan) -> Option<String> {
    let strip = |p: &Plan| {
        let mut p = p.clone();
        p.signature = None;
        // Display only (apply acts on none), and they depend on flags such as --allow-mutable-tags.
        p.warnings.clear();
        serde_json::to_value(p).unwrap_or_default()
    };
    let (saved, fresh) = (strip(saved), strip(fresh));
    let mut path = String::new();
    differ(&saved, &fresh, &mut path).then(|| path)
}

/// Whether `a` and `b` differ; if so `path` ends up naming where, with the
/// two values (short, and never a value berth masks).
fn differ(a: &Value, b: &Value, path: &mut String) -> bool {
    if a == b {
        return false;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let label = format!(".{k}");
                match y.get(k) {
                    Some(vb) => {
                        let len = path.len();
                        path.push_str(&label);
                        if differ(va, vb, path) {
                            return true;
                        }
                        path.truncate(len);
                    }
                    None => {
                        path.push_str(&format!("{label}: in the file only"));
                        return true;
                    }
                }
            }
            if let Some(k) = y.keys().find(|k| !x.contains_key(*k)) {
                path.push_str(&format!(".{k}: missing from the file"));
                return true;
            }
            false
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                let len = path.len();
                path.push_str(&item_label(i, va, vb));
                if differ(va, vb, path) {
                    return true;
                }
                path.truncate(len);
            }
            let what = |v: Option<&Value>| v.map(|v| item_label(x.len().min(y.len()), v, v)).unwrap_or_default();
            if x.len() > y.len() {
                path.push_str(&format!("{}: in the file only ({} entries, {} derived now)", what(x.get(y.len())), x.len(), y.len()));
            } else {
                path.push_str(&format!("{}: missing from the file ({} entries, {} derived now)", what(y.get(x.len())), x.len(), y.len()));
            }
            true
        }
        _ => {
            let show = |v: &Value| match v {
                Value::String(s) if s.len() <= 80 && !looks_sensitive(path) => format!("{s:?}"),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Null => "null".into(),
                _ => "(a different value)".into(),
            };
            path.push_str(&format!(": {} in the file, {} derived now", show(a), show(b)));
            true
        }
    }
}

/// `[3 service.web]` for a change, `[2]` for anything else.
fn item_label(i: usize, a: &Value, b: &Value) -> String {
    let name = |v: &Value| v.get("address").or_else(|| v.get("name")).and_then(Value::as_str).map(str::to_string);
    match name(a).or_else(|| name(b)) {
        Some(n) => format!("[{i} {n}]"),
        None => format!("[{i}]"),
    }
}

/// Environment entries and secrets: their values are never echoed.
fn looks_sensitive(path: &str) -> bool {
    path.contains("environment") || path.contains("secrets") || path.contains("value")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> Plan {
        serde_json::from_value(serde_json::json!({
            "format_version": berth_plan::FORMAT_VERSION, "berth_version": "0", "app": "shop", "backend": "sim",
            "spec_digest": "d", "summary": {"create": 0, "update": 1, "replace": 0, "delete": 0, "unchanged": 0},
            "changes": [{"address": "service.web", "kind": "service", "action": "update", "reason": "r",
                         "before": {"desiredCount": 3}, "after": {"desiredCount": 3}, "arn": "arn:1"}],
            "unchanged": [], "fingerprints": {}
        }))
        .expect("plan")
    }

    #[test]
    fn names_the_first_difference() {
        let mut edited = plan();
        edited.changes[0].action = berth_plan::Action::Delete;
        let d = first_difference(&edited, &plan()).expect("differs");
        assert_eq!(d, ".changes[0 service.web].action: \"delete\" in the file, \"update\" derived now");
        let mut edited = plan();
        edited.changes[0].after = Some(serde_json::json!({"desiredCount": 50}));
        assert_eq!(
            first_difference(&edited, &plan()).expect("differs"),
            ".changes[0 service.web].after.desiredCount: 50 in the file, 3 derived now"
        );
        let mut edited = plan();
        edited.changes.clear();
        assert!(first_difference(&edited, &plan()).expect("differs").contains("missing from the file"));
        assert_eq!(first_difference(&plan(), &plan()), None);
    }

    #[test]
    fn a_signed_plan_with_any_byte_changed_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("plan.json");
        save(&path, &plan(), Some("k1")).expect("save");
        assert!(read(&path, &path, Some("k1")).is_ok());
        let err = read(&path, &path, Some("k2")).expect_err("other key").to_string();
        assert!(err.contains("does not match its signature"), "{err}");
        let bytes = std::fs::read(&path).expect("read");
        for i in [0, bytes.len() / 3, bytes.len() / 2, bytes.len() - 2] {
            let mut b = bytes.clone();
            b[i] = if b[i] == b' ' { b'\t' } else { b' ' };
            std::fs::write(&path, &b).expect("write");
            assert!(read(&path, &path, Some("k1")).is_err(), "byte {i} changed and accepted");
        }
        save(&path, &plan(), None).expect("save unsigned");
        let err = read(&path, &path, Some("k1")).expect_err("unsigned").to_string();
        assert!(err.contains("is not signed"), "{err}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
        }
    }
}
