//! Compose's units: durations (`1m30s`), byte sizes (`1.5G`), cpus (`"0.5"`).

/// A Compose duration (`10s`, `1m30s`, `500ms`, `2h`) in milliseconds.
pub fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    // A bare number is seconds.
    if let Ok(secs) = s.parse::<f64>() {
        return Ok((secs * 1000.0).round() as u64);
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!("{text:?} is not a duration like 30s, 1m30s or 500ms"));
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| format!("{text:?} is not a duration"))?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ns" => 1e-6,
            "us" | "µs" => 1e-3,
            "ms" => 1.0,
            "s" => 1000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            "d" => 86_400_000.0,
            unit => return Err(format!("{text:?}: unknown unit {unit:?} (use ms, s, m or h)")),
        };
        total += n * factor;
        rest = &rest[unit_len..];
    }
    Ok(total.round() as u64)
}

/// A Compose duration in whole seconds, rounded up (ECS takes seconds).
pub fn parse_duration_secs(text: &str) -> Result<u64, String> {
    parse_duration_ms(text).map(|ms| ms.div_ceil(1000))
}

/// A Compose byte size (`512m`, `1.5G`, `1gb`, `1073741824`) in MiB, rounded up.
pub fn parse_memory_mib(text: &str) -> Result<u64, String> {
    let s = text.trim().to_ascii_lowercase();
    let num_len = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let n: f64 = s[..num_len].parse().map_err(|_| format!("{text:?} is not a size like 512M or 1.5G"))?;
    let factor: f64 = match s[num_len..].trim() {
        "" | "b" => 1.0 / 1_048_576.0,
        "k" | "kb" | "kib" => 1.0 / 1024.0,
        "m" | "mb" | "mib" => 1.0,
        "g" | "gb" | "gib" => 1024.0,
        "t" | "tb" | "tib" => 1_048_576.0,
        unit => return Err(format!("{text:?}: unknown unit {unit:?} (use M or G)")),
    };
    Ok((n * factor).ceil() as u64)
}

/// Compose `cpus` (`"0.5"`, `2`) in ECS cpu units (1 vCPU = 1024), rounded up.
pub fn parse_cpus_units(text: &str) -> Result<u64, String> {
    let n: f64 = text.trim().parse().map_err(|_| format!("{text:?} is not a number of CPUs like \"0.5\" or 2"))?;
    if !(n.is_finite() && n > 0.0) {
        return Err(format!("{text:?} must be a positive number of CPUs"));
    }
    Ok((n * 1024.0).ceil() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        for (t, ms) in [("10s", 10_000), ("1m30s", 90_000), ("500ms", 500), ("2h", 7_200_000), ("1.5s", 1500), ("30", 30_000)] {
            assert_eq!(parse_duration_ms(t), Ok(ms), "{t}");
        }
        assert_eq!(parse_duration_secs("1500ms"), Ok(2));
        for t in ["", "s", "10x", "ten seconds"] {
            assert!(parse_duration_ms(t).is_err(), "{t}");
        }
    }

    #[test]
    fn memory() {
        for (t, mib) in [("1G", 1024), ("1.5G", 1536), ("512m", 512), ("512M", 512), ("1gb", 1024), ("1073741824", 1024), ("2048k", 2)] {
            assert_eq!(parse_memory_mib(t), Ok(mib), "{t}");
        }
        assert!(parse_memory_mib("lots").is_err());
        assert!(parse_memory_mib("1Q").is_err());
    }

    #[test]
    fn cpus() {
        assert_eq!(parse_cpus_units("0.5"), Ok(512));
        assert_eq!(parse_cpus_units("0.25"), Ok(256));
        assert_eq!(parse_cpus_units("2"), Ok(2048));
        assert_eq!(parse_cpus_units("0.1"), Ok(103));
        assert!(parse_cpus_units("0").is_err());
        assert!(parse_cpus_units("half").is_err());
    }
}
