//! The Compose short port syntax: `"80"`, `"8080:80"`, `"127.0.0.1:8080:80"`,
//! `"9090-9091:8080-8081"`, `"53:53/udp"`, `"[::1]:6001:6001"`.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortSpec {
    pub target: u16,
    pub published: Option<u16>,
    pub host_ip: Option<String>,
    pub protocol: String,
}

fn parse_port(s: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("{s:?} is not a port number (1-65535)")),
        Ok(p) => Ok(p),
    }
}

fn parse_range(s: &str) -> Result<(u16, u16), String> {
    match s.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (parse_port(a)?, parse_port(b)?);
            if b < a {
                return Err(format!("port range {s:?} ends before it starts"));
            }
            Ok((a, b))
        }
        None => {
            let p = parse_port(s)?;
            Ok((p, p))
        }
    }
}

/// Parses one short-syntax port entry; a range gives one spec per port.
pub fn parse_short(text: &str) -> Result<Vec<PortSpec>, String> {
    let (spec, protocol) = match text.rsplit_once('/') {
        Some((s, p)) => (s, p.to_ascii_lowercase()),
        None => (text, "tcp".to_string()),
    };
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("unknown protocol {protocol:?} (expected tcp or udp)"));
    }
    // An IPv6 host address is bracketed: [::1]:8080:80.
    let (host_ip, rest) = if let Some(r) = spec.strip_prefix('[') {
        let (ip, r) = r.split_once("]:").ok_or_else(|| format!("{text:?}: unclosed `[` in host address"))?;
        (Some(ip.to_string()), r)
    } else {
        (None, spec)
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let (host_ip, published, target) = match (host_ip, parts.as_slice()) {
        (None, [t]) => (None, None, *t),
        (None, [p, t]) => (None, Some(*p), *t),
        (None, [ip, p, t]) => (Some(ip.to_string()), Some(*p), *t),
        (Some(ip), [p, t]) => (Some(ip), Some(*p), *t),
        _ => return Err(format!("{text:?} is not [HOST:][PUBLISHED:]TARGET[/PROTOCOL]")),
    };
    let published = published.filter(|p| !p.is_empty());
    let (t0, t1) = parse_range(target)?;
    let pub_range = published.map(parse_range).transpose()?;
    if let Some((p0, p1)) = pub_range {
        if p1 - p0 != t1 - t0 && p0 != p1 {
            return Err(format!("{text:?}: published and target ranges differ in length"));
        }
    }
    Ok((t0..=t1)
        .enumerate()
        .map(|(i, target)| PortSpec {
            target,
            published: pub_range.map(|(p0, p1)| if p0 == p1 { p0 } else { p0 + i as u16 }),
            host_ip: host_ip.clone(),
            protocol: protocol.clone(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(text: &str) -> (u16, Option<u16>, Option<String>, String) {
        let mut v = parse_short(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        assert_eq!(v.len(), 1, "{text}");
        let p = v.remove(0);
        (p.target, p.published, p.host_ip, p.protocol)
    }

    #[test]
    fn short_forms() {
        assert_eq!(one("80"), (80, None, None, "tcp".into()));
        assert_eq!(one("8080:80"), (80, Some(8080), None, "tcp".into()));
        assert_eq!(one("127.0.0.1:8080:80"), (80, Some(8080), Some("127.0.0.1".into()), "tcp".into()));
        assert_eq!(one("127.0.0.1::80"), (80, None, Some("127.0.0.1".into()), "tcp".into()));
        assert_eq!(one("53:53/udp"), (53, Some(53), None, "udp".into()));
        assert_eq!(one("[::1]:6001:6001"), (6001, Some(6001), Some("::1".into()), "tcp".into()));
        let r = parse_short("9090-9091:8080-8081").expect("range");
        assert_eq!(r.iter().map(|p| (p.target, p.published)).collect::<Vec<_>>(), vec![(8080, Some(9090)), (8081, Some(9091))]);
    }

    #[test]
    fn bad_forms() {
        for t in ["0", "70000", "a:b", "1:2:3:4", "80/quic", "90-80", "1-3:1-2"] {
            assert!(parse_short(t).is_err(), "{t}");
        }
    }
}
