//! A fault-injecting HTTP proxy in front of moto: it answers a chosen
//! fraction of AWS API requests with a throttling error (or, in the second
//! mode, HTTP 503) in the wire form of the request's protocol, forwards the
//! rest, and counts both.
//!
//! - awsJson 1.1 (ECS, ECR, Cloud Map), told by its `X-Amz-Target` header:
//!   HTTP 400 `{"__type":"ThrottlingException","message":"Rate exceeded"}`,
//!   or HTTP 503 `{"__type":"ServiceUnavailableException",...}`.
//! - awsQuery (ELBv2), a form POST with `Action=`: HTTP 400
//!   `<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>...`,
//!   or HTTP 503 with `<Type>Receiver</Type><Code>ServiceUnavailable</Code>`.
//!
//! For benchmarks it also adds a latency to every API request (a model of a
//! regional endpoint), counts requests per operation, and can enforce AWS's
//! documented token buckets (`berth_aws::limits`, the table berth paces
//! itself by), answering a request past them with the throttling error.
//!
//! Anything else (moto's own API) is always forwarded; `FAULT_PROXY_LOG=1`
//! prints each request. Which requests fail
//! is decided by a seeded PRNG over the order requests arrive in. Listens on
//! 127.0.0.1 only; HTTP/1.1 with `Content-Length` bodies, keep-alive towards
//! the client, one plain connection to moto per forwarded request.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What an injected failure looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 400 with the protocol's throttling error.
    Throttle,
    /// HTTP 503, ServiceUnavailable.
    Unavailable,
}

/// What the proxy did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// AWS API requests answered with a fault.
    pub injected: u64,
    /// Requests passed on to moto.
    pub forwarded: u64,
}

#[derive(Debug)]
struct Shared {
    upstream: String,
    fault: Fault,
    /// The fraction of API requests to fail, as `f64` bits (changeable while running).
    fraction: AtomicU64,
    seed: u64,
    /// API requests from this one on all fail (`u64::MAX`: none).
    fail_from: AtomicU64,
    /// API requests seen (the PRNG's position).
    seen: AtomicU64,
    injected: AtomicU64,
    forwarded: AtomicU64,
    stop: AtomicBool,
    /// Added before every API request is answered, in milliseconds.
    latency_ms: AtomicU64,
    /// API requests per `service:Operation`.
    operations: Mutex<BTreeMap<String, u64>>,
    /// AWS's token buckets, when enforced: tokens and when last refilled.
    buckets: Mutex<Option<HashMap<&'static str, (f64, Instant)>>>,
    /// Requests answered with throttling because a bucket was empty.
    over_limit: AtomicU64,
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    shared: Arc<Shared>,
    addr: std::net::SocketAddr,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (`http://127.0.0.1:PORT`) that fails
    /// `fraction` (0.0..=1.0) of API requests with `fault`, chosen by `seed`.
    pub fn start(upstream: &str, fault: Fault, fraction: f64, seed: u64) -> FaultProxy {
        let upstream = upstream.trim_start_matches("http://").trim_end_matches('/').to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy on 127.0.0.1");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared {
            upstream,
            fault,
            fraction: AtomicU64::new(fraction.to_bits()),
            seed,
            fail_from: AtomicU64::new(u64::MAX),
            seen: AtomicU64::new(0),
            injected: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            stop: AtomicBool::new(false),
            latency_ms: AtomicU64::new(0),
            operations: Mutex::default(),
            buckets: Mutex::new(None),
            over_limit: AtomicU64::new(0),
        });
        let s = shared.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let s = s.clone();
                std::thread::spawn(move || {
                    let _ = serve(&s, conn);
                });
            }
        });
        FaultProxy { shared, addr }
    }

    /// Where to point berth (`--endpoint-url`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_fraction(&self, fraction: f64) {
        self.shared.fraction.store(fraction.to_bits(), Ordering::SeqCst);
    }

    /// Fails every API request from the `n`th (counting from 0) on, as a
    /// service that starts throttling in the middle of a run.
    pub fn fail_from(&self, n: u64) {
        self.shared.fail_from.store(n, Ordering::SeqCst);
    }

    /// Adds `latency` to every API request from now on.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.latency_ms.store(latency.as_millis() as u64, Ordering::SeqCst);
    }

    /// Enforces AWS's documented token buckets from now on (full buckets),
    /// or stops enforcing them.
    pub fn enforce_buckets(&self, on: bool) {
        *self.shared.buckets.lock().unwrap_or_else(|e| e.into_inner()) = on.then(HashMap::new);
    }

    /// Requests per `service:Operation` so far, and resets the counts.
    pub fn take_operations(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.shared.operations.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Requests throttled because a bucket was empty so far, and resets it.
    pub fn take_over_limit(&self) -> u64 {
        self.shared.over_limit.swap(0, Ordering::SeqCst)
    }

    pub fn counts(&self) -> Counts {
        Counts { injected: self.shared.injected.load(Ordering::SeqCst), forwarded: self.shared.forwarded.load(Ordering::SeqCst) }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

/// SplitMix64: a uniform value in [0, 1) for the `n`th API request.
fn uniform(seed: u64, n: u64) -> f64 {
    let mut z = seed.wrapping_add(n.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// One HTTP/1.1 request as read from the client.
struct Request {
    /// The request line and headers, as received (without the blank line).
    head: Vec<String>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.iter().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn wants_close(&self) -> bool {
        self.header("connection").is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Protocol {
    AwsJson,
    AwsQuery,
}

impl Request {
    fn protocol(&self) -> Option<Protocol> {
        if self.header("x-amz-target").is_some() {
            return Some(Protocol::AwsJson);
        }
        let form = self.header("content-type").is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
        let body = String::from_utf8_lossy(&self.body);
        (form && (body.starts_with("Action=") || body.contains("&Action="))).then_some(Protocol::AwsQuery)
    }
}

/// Reads the head (up to the blank line) of a request or response.
fn read_head(r: &mut impl BufRead) -> std::io::Result<Option<Vec<String>>> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            // EOF: clean between requests, else a truncated message.
            return if head.is_empty() { Ok(None) } else { Err(std::io::ErrorKind::UnexpectedEof.into()) };
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            if head.is_empty() {
                continue;
            }
            return Ok(Some(head));
        }
        head.push(line);
    }
}

fn content_length(head: &[String]) -> usize {
    head.iter()
        .skip(1)
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim().eq_ignore_ascii_case("content-length").then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0)
}

fn read_request(r: &mut impl BufRead) -> std::io::Result<Option<Request>> {
    let Some(head) = read_head(r)? else { return Ok(None) };
    let mut body = vec![0; content_length(&head)];
    r.read_exact(&mut body)?;
    Ok(Some(Request { head, body }))
}

fn serve(s: &Shared, client: TcpStream) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut writer = client;
    while let Some(req) = read_request(&mut reader)? {
        if s.stop.load(Ordering::SeqCst) {
            break;
        }
        let close = req.wants_close();
        if std::env::var_os("FAULT_PROXY_LOG").is_some() {
            eprintln!(
                "proxy: {} {:?} {}",
                req.head[0],
                req.header("x-amz-target"),
                String::from_utf8_lossy(&req.body).chars().take(60).collect::<String>()
            );
        }
        let response = match req.protocol() {
            Some(protocol) => {
                let n = s.seen.fetch_add(1, Ordering::SeqCst);
                let latency = s.latency_ms.load(Ordering::SeqCst);
                if latency > 0 {
                    std::thread::sleep(Duration::from_millis(latency));
                }
                let operation = berth_aws::limits::operation_from(req.header("x-amz-target"), &req.body);
                *s.operations.lock().unwrap_or_else(|e| e.into_inner()).entry(operation.clone()).or_default() += 1;
                let fail = n >= s.fail_from.load(Ordering::SeqCst);
                if fail || uniform(s.seed, n) < f64::from_bits(s.fraction.load(Ordering::SeqCst)) {
                    s.injected.fetch_add(1, Ordering::SeqCst);
                    fault_response(s.fault, protocol, n)
                } else if !take_token(s, &operation) {
                    s.over_limit.fetch_add(1, Ordering::SeqCst);
                    fault_response(Fault::Throttle, protocol, n)
                } else {
                    forward(s, &req)?
                }
            }
            None => forward(s, &req)?,
        };
        writer.write_all(&response)?;
        writer.flush()?;
        if close {
            break;
        }
    }
    let _ = writer.shutdown(Shutdown::Both);
    Ok(())
}

/// Takes one token from each of the operation's buckets, as AWS would:
/// false (and nothing taken) when one of them is empty.
fn take_token(s: &Shared, operation: &str) -> bool {
    let mut guard = s.buckets.lock().unwrap_or_else(|e| e.into_inner());
    let Some(levels) = guard.as_mut() else { return true };
    let now = Instant::now();
    let buckets = berth_aws::limits::buckets_of(operation);
    for b in &buckets {
        let level = levels.entry(b.name).or_insert((b.capacity, now));
        level.0 = (level.0 + now.duration_since(level.1).as_secs_f64() * b.refill_per_sec).min(b.capacity);
        level.1 = now;
    }
    if buckets.iter().any(|b| levels[b.name].0 < 1.0) {
        return false;
    }
    for b in &buckets {
        if let Some(level) = levels.get_mut(b.name) {
            level.0 -= 1.0;
        }
    }
    true
}

fn fault_response(fault: Fault, protocol: Protocol, n: u64) -> Vec<u8> {
    let request_id = format!("00000000-0000-4000-8000-{n:012x}");
    let (status, content_type, body) = match (fault, protocol) {
        (Fault::Throttle, Protocol::AwsJson) => {
            ("400 Bad Request", "application/x-amz-json-1.1", r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_string())
        }
        (Fault::Unavailable, Protocol::AwsJson) => (
            "503 Service Unavailable",
            "application/x-amz-json-1.1",
            r#"{"__type":"ServiceUnavailableException","message":"Service Unavailable"}"#.to_string(),
        ),
        (Fault::Throttle, Protocol::AwsQuery) => (
            "400 Bad Request",
            "text/xml",
            format!(
                "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            ),
        ),
        (Fault::Unavailable, Protocol::AwsQuery) => (
            "503 Service Unavailable",
            "text/xml",
            format!(
                "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>Service Unavailable</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
            ),
        ),
    };
    format!(
        "HTTP/1.1 {status}\r\nx-amzn-RequestId: {request_id}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Sends `req` to moto on a connection of its own and returns moto's
/// response re-framed with a `Content-Length`, so the client's connection
/// to the proxy stays open.
fn forward(s: &Shared, req: &Request) -> std::io::Result<Vec<u8>> {
    s.forwarded.fetch_add(1, Ordering::SeqCst);
    let mut up = TcpStream::connect(&s.upstream)?;
    up.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut out = Vec::with_capacity(req.body.len() + 512);
    out.extend_from_slice(req.head[0].as_bytes());
    out.extend_from_slice(b"\r\n");
    for h in req.head.iter().skip(1) {
        let name = h.split_once(':').map_or("", |(k, _)| k.trim());
        if name.eq_ignore_ascii_case("connection") || name.eq_ignore_ascii_case("keep-alive") {
            continue;
        }
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(&req.body);
    up.write_all(&out)?;

    let mut reader = BufReader::new(up);
    let head = read_head(&mut reader)?.ok_or(std::io::ErrorKind::UnexpectedEof)?;
    let chunked = head
        .iter()
        .skip(1)
        .any(|l| l.split_once(':').is_some_and(|(k, v)| k.trim().eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked")));
    let has_length = head.iter().skip(1).any(|l| l.split_once(':').is_some_and(|(k, _)| k.trim().eq_ignore_ascii_case("content-length")));
    let body = if chunked {
        read_chunked(&mut reader)?
    } else if has_length {
        let mut b = vec![0; content_length(&head)];
        reader.read_exact(&mut b)?;
        b
    } else {
        let mut b = Vec::new();
        reader.read_to_end(&mut b)?;
        b
    };
    let mut resp = Vec::with_capacity(body.len() + 512);
    resp.extend_from_slice(head[0].as_bytes());
    resp.extend_from_slice(b"\r\n");
    for h in head.iter().skip(1) {
        let name = h.split_once(':').map_or("", |(k, _)| k.trim());
        if ["connection", "keep-alive", "content-length", "transfer-encoding"].iter().any(|n| name.eq_ignore_ascii_case(n)) {
            continue;
        }
        resp.extend_from_slice(h.as_bytes());
        resp.extend_from_slice(b"\r\n");
    }
    resp.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    resp.extend_from_slice(&body);
    Ok(resp)
}

fn read_chunked(r: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line)?;
        let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        if size == 0 {
            // Trailers up to the blank line.
            loop {
                let mut t = String::new();
                if r.read_line(&mut t)? == 0 || t.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])?;
        let mut crlf = [0; 2];
        r.read_exact(&mut crlf)?;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_prng_fails_about_the_fraction_asked() {
        let failed = (0..10_000).filter(|&n| super::uniform(7, n) < 0.5).count();
        assert!((4_800..5_200).contains(&failed), "{failed}");
        let failed = (0..10_000).filter(|&n| super::uniform(7, n) < 0.3).count();
        assert!((2_800..3_200).contains(&failed), "{failed}");
    }
}
