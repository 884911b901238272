//! Digests: of the desired resources (the spec digest) and of each observed
//! resource (so a saved plan can tell when the live state moved).

use std::collections::BTreeMap;

use berth_provider::Observed;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// JSON with object keys sorted, so equal data always hashes equal.
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), canonical(&m[k]))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

pub fn sha256_hex(v: &Value) -> String {
    let text = serde_json::to_string(&canonical(v)).unwrap_or_default();
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// One digest per observed resource, by address. Several resources at one
/// address (an interrupted replace) each count: the digest is of them all,
/// in ARN order, so none can appear or change unnoticed.
pub fn fingerprints(observed: &Observed) -> BTreeMap<String, String> {
    let mut by_address: BTreeMap<String, Vec<&berth_provider::LiveResource>> = BTreeMap::new();
    for r in &observed.resources {
        by_address.entry(r.address.clone()).or_default().push(r);
    }
    by_address
        .into_iter()
        .map(|(address, mut rs)| {
            let value = if rs.len() == 1 {
                serde_json::to_value(rs[0]).unwrap_or_default()
            } else {
                rs.sort_by(|a, b| a.arn.cmp(&b.arn));
                serde_json::to_value(rs).unwrap_or_default()
            };
            (address, sha256_hex(&value))
        })
        .collect()
}
