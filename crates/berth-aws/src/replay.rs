//! Recorded AWS responses: an HTTP transport that answers each request with
//! the next response recorded for its operation. Tests use it for what the
//! moto emulator does not emulate (deployment progress, Cloud Map operation
//! failures, fields moto drops); the rest of berth-aws runs unchanged.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

/// One recorded response: for `operation` (an IAM action such as
/// `ecs:DescribeServices`), the HTTP status and body AWS sent.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub operation: String,
    pub status: u16,
    pub body: String,
}

impl Recorded {
    pub fn ok(operation: &str, body: impl Into<String>) -> Self {
        Recorded { operation: operation.into(), status: 200, body: body.into() }
    }

    pub fn status(operation: &str, status: u16, body: impl Into<String>) -> Self {
        Recorded { operation: operation.into(), status, body: body.into() }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Replay {
    queue: Arc<Mutex<VecDeque<Recorded>>>,
    /// Operations asked for, in order (including ones with nothing recorded).
    calls: Arc<Mutex<Vec<String>>>,
    /// The body of each request, with its operation, in order.
    sent: Arc<Mutex<Vec<(String, String)>>>,
}

impl Replay {
    pub fn new(responses: Vec<Recorded>) -> Self {
        for r in &responses {
            log(serde_json::json!({"recorded": r.operation, "status": r.status, "body": r.body}));
        }
        Replay { queue: Arc::new(Mutex::new(responses.into())), calls: Arc::default(), sent: Arc::default() }
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The bodies berth sent for `operation`, in order.
    pub fn sent(&self, operation: &str) -> Vec<String> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).iter().filter(|(op, _)| op == operation).map(|(_, b)| b.clone()).collect()
    }

    /// Responses recorded but never asked for.
    pub fn unused(&self) -> Vec<String> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|r| r.operation.clone()).collect()
    }
}

/// `ecs:DescribeServices` from a JSON protocol's target header, or from a
/// query protocol's `Action=` (ELBv2).
impl HttpConnector for Replay {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let op = crate::limits::operation_of(&request);
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).push(op.clone());
        let body = String::from_utf8_lossy(request.body().bytes().unwrap_or_default()).into_owned();
        log(serde_json::json!({"sent": op, "body": body}));
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).push((op.clone(), body));
        let next = {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            queue.iter().position(|r| r.operation == op).and_then(|i| queue.remove(i))
        };
        let recorded = next.unwrap_or_else(|| Recorded {
            operation: op.clone(),
            status: 400,
            body: format!(r#"{{"__type":"NoRecordedResponse","message":"no recorded response for {op}"}}"#),
        });
        let json = !op.starts_with("elasticloadbalancing:");
        let mut response = HttpResponse::new(
            StatusCode::try_from(recorded.status).unwrap_or_else(|_| StatusCode::try_from(500).expect("500")),
            SdkBody::from(recorded.body),
        );
        response.headers_mut().insert("content-type", if json { "application/x-amz-json-1.1" } else { "text/xml" });
        HttpConnectorFuture::ready(Ok(response))
    }
}

/// With `BERTH_REPLAY_LOG=<file>` set, every response a test records and
/// every request berth sends is appended to that file as one JSON line
/// (`{"recorded": operation, "status", "body"}` when a Replay is made,
/// `{"sent": operation, "body"}` when a request arrives). The shape check
/// (tests/tests/shapes.rs) validates them against AWS's service models.
fn log(line: serde_json::Value) {
    static LOCK: Mutex<()> = Mutex::new(());
    let Some(path) = std::env::var_os("BERTH_REPLAY_LOG") else { return };
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&path).expect("BERTH_REPLAY_LOG is writable");
    std::io::Write::write_all(&mut file, format!("{line}\n").as_bytes()).expect("BERTH_REPLAY_LOG is writable");
}

impl HttpClient for Replay {
    fn http_connector(&self, _settings: &HttpConnectorSettings, _components: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}
