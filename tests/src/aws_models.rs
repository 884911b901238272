//! AWS's service models (botocore's `service-2.json`, the operations and
//! shapes berth uses, vendored in `tests/aws-models/`) and a checker that
//! validates a request or response body against an operation's input or
//! output shape: unknown member names, wrong types, wrong enum values,
//! missing required members and out-of-range lengths and values fail,
//! naming the operation and the path.
//!
//! Protocols: ECS, ECR, Cloud Map and CloudWatch Logs speak awsJson1_1
//! (a JSON body whose member names are the shapes' member names,
//! timestamps as epoch seconds); ELBv2 speaks the query protocol (a
//! form-encoded request, `Names.member.1=...`; an XML response wrapped in
//! `<OpResponse><OpResult>`, lists as `<member>` elements, timestamps in
//! ISO 8601). Both are read into the same tree and checked by one walker.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::Value;

/// The services berth calls: IAM action prefix and botocore's name.
pub const SERVICES: &[(&str, &str)] = &[
    ("ecs", "ecs"),
    ("ecr", "ecr"),
    ("elasticloadbalancing", "elbv2"),
    ("servicediscovery", "servicediscovery"),
    ("logs", "logs"),
    ("application-autoscaling", "application-autoscaling"),
];

/// Errors every AWS API can return without its model listing them
/// ("Common Errors" of each API reference).
const COMMON_ERRORS: &[&str] = &[
    "AccessDeniedException",
    "IncompleteSignature",
    "InternalFailure",
    "InvalidAction",
    "InvalidClientTokenId",
    "NotAuthorized",
    "OptInRequired",
    "RequestExpired",
    "ServiceUnavailable",
    "ThrottlingException",
    "ValidationError",
    "ValidationException",
    "UnrecognizedClientException",
];

pub fn models_dir() -> PathBuf {
    crate::repo_root().join("tests").join("aws-models")
}

/// One service's vendored model.
pub struct Model {
    pub prefix: String,
    pub service: String,
    pub doc: Value,
}

impl Model {
    pub fn query(&self) -> bool {
        self.doc["metadata"]["protocol"] == "query"
    }

    pub fn botocore_version(&self) -> &str {
        self.doc["vendored"]["botocore"].as_str().unwrap_or("?")
    }

    pub fn operations(&self) -> Vec<String> {
        self.doc["operations"].as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
    }

    fn shape(&self, name: &str) -> Option<&Value> {
        self.doc["shapes"].get(name)
    }
}

/// All vendored models, by IAM prefix.
pub struct Models {
    pub by_prefix: BTreeMap<String, Model>,
}

/// Which side of an operation a body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Request,
    Response,
}

/// A body read into a tree: JSON as it is; XML and query strings as named
/// nodes (see [`Node`]).
enum Tree<'a> {
    Json(&'a Value),
    Node(&'a Node),
}

/// An XML element or a query-string key component: a name, child nodes in
/// order, and text.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Node {
    pub name: String,
    pub children: Vec<Node>,
    pub text: String,
}

impl Models {
    pub fn load() -> Models {
        let by_prefix = SERVICES
            .iter()
            .map(|(prefix, service)| {
                let path = models_dir().join(format!("{service}.json"));
                let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                let doc = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                (prefix.to_string(), Model { prefix: prefix.to_string(), service: service.to_string(), doc })
            })
            .collect();
        Models { by_prefix }
    }

    /// The model and the operation's definition for `ecs:DescribeServices`.
    pub fn operation(&self, operation: &str) -> Result<(&Model, &Value), String> {
        let (prefix, op) = operation.split_once(':').ok_or_else(|| format!("{operation}: not service:Operation"))?;
        let model = self.by_prefix.get(prefix).ok_or_else(|| format!("{operation}: no vendored model for {prefix}"))?;
        let def = model.doc["operations"].get(op).ok_or_else(|| format!("{operation}: not in the vendored {} model", model.service))?;
        Ok((model, def))
    }

    /// Problems of one body of `operation` (empty when it fits the model).
    /// A response with an error status is checked against the error it
    /// names (`__type`, or ELB's `<Error><Code>`).
    pub fn check(&self, operation: &str, side: Side, status: u16, body: &str) -> Vec<String> {
        let (model, def) = match self.operation(operation) {
            Ok(x) => x,
            Err(e) => return vec![e],
        };
        let what = match side {
            Side::Request => "request",
            Side::Response => "response",
        };
        let mut problems = Vec::new();
        let mut c = Checker { model, problems: &mut problems, op: format!("{operation} {what}") };
        if side == Side::Response && status >= 300 {
            c.error_body(def, body);
        } else if model.query() {
            match side {
                Side::Request => match parse_query(body) {
                    Ok((action, version, tree)) => {
                        let op = operation.split_once(':').map(|x| x.1).unwrap_or_default();
                        if action != op {
                            c.fail("Action", &format!("is {action:?}, not {op:?}"));
                        }
                        let api = model.doc["metadata"]["apiVersion"].as_str().unwrap_or_default();
                        if version != api {
                            c.fail("Version", &format!("is {version:?}, not {api:?}"));
                        }
                        if let Some(input) = def["input"]["shape"].as_str() {
                            c.shape(input, &Tree::Node(&tree), "");
                        }
                    }
                    Err(e) => c.fail("", &e),
                },
                Side::Response => match parse_xml(body) {
                    Ok(root) => c.xml_response(def, &root),
                    Err(e) => c.fail("", &format!("not XML: {e}")),
                },
            }
        } else {
            let shape = match side {
                Side::Request => def["input"]["shape"].as_str(),
                Side::Response => def["output"]["shape"].as_str(),
            };
            match (serde_json::from_str::<Value>(body), shape) {
                (Ok(v), Some(shape)) => c.shape(shape, &Tree::Json(&v), "$"),
                // An operation without an output answers `{}` (or nothing).
                (Ok(v), None) if v.as_object().is_some_and(|o| o.is_empty()) => {}
                (Ok(_), None) => c.fail("$", "the operation has no output, but the body has members"),
                (Err(_), None) if body.trim().is_empty() => {}
                (Err(e), _) => c.fail("$", &format!("not JSON: {e}")),
            }
        }
        problems
    }
}

struct Checker<'a> {
    model: &'a Model,
    problems: &'a mut Vec<String>,
    op: String,
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl Checker<'_> {
    fn fail(&mut self, path: &str, what: &str) {
        let path = if path.is_empty() { "(top)" } else { path };
        self.problems.push(format!("{}: {path}: {what}", self.op));
    }

    fn error_body(&mut self, def: &Value, body: &str) {
        let declared: Vec<&str> =
            def["errors"].as_array().map(|e| e.iter().filter_map(|e| e["shape"].as_str()).collect()).unwrap_or_default();
        let (code, members): (String, Option<Value>) = if self.model.query() {
            match parse_xml(body) {
                Ok(root) if root.name == "ErrorResponse" => {
                    let error = root.children.iter().find(|n| n.name == "Error");
                    let code = error.and_then(|e| e.children.iter().find(|n| n.name == "Code")).map(|n| n.text.clone()).unwrap_or_default();
                    (code, None)
                }
                Ok(root) => {
                    self.fail(&root.name, "an error response is <ErrorResponse>");
                    return;
                }
                Err(e) => {
                    self.fail("", &format!("not XML: {e}"));
                    return;
                }
            }
        } else {
            match serde_json::from_str::<Value>(body) {
                Ok(Value::Object(mut o)) => {
                    let code = o.remove("__type").and_then(|t| t.as_str().map(str::to_string)).unwrap_or_default();
                    (code.rsplit('#').next().unwrap_or_default().to_string(), Some(Value::Object(o)))
                }
                _ => {
                    self.fail("$", "an error body is a JSON object with __type");
                    return;
                }
            }
        };
        // ELB's error codes are the shapes' `error.code` (TargetGroupNotFound).
        let shape = declared
            .iter()
            .find(|s| **s == code || self.model.shape(s).and_then(|d| d["error"]["code"].as_str()).is_some_and(|c| c == code));
        match (shape, members) {
            (Some(shape), Some(members)) => self.shape(shape, &Tree::Json(&members), "$"),
            (Some(_), None) => {}
            (None, members) if COMMON_ERRORS.contains(&code.as_str()) => {
                if let Some(Value::Object(o)) = members {
                    for k in o.keys().filter(|k| !matches!(k.as_str(), "message" | "Message")) {
                        self.fail(&format!("$.{k}"), &format!("unknown member of the common error {code}"));
                    }
                }
            }
            (None, _) => {
                self.fail("__type", &format!("{code:?} is neither an error of this operation ({declared:?}) nor a common AWS error"))
            }
        }
    }

    fn xml_response(&mut self, def: &Value, root: &Node) {
        let op = self.op.split([':', ' ']).nth(1).unwrap_or_default().to_string();
        if root.name != format!("{op}Response") {
            self.fail(&root.name, &format!("the root element is {op}Response"));
            return;
        }
        let mut result = None;
        for child in &root.children {
            match child.name.as_str() {
                "ResponseMetadata" => {
                    if !child.children.iter().any(|n| n.name == "RequestId") {
                        self.fail("ResponseMetadata", "has no RequestId");
                    }
                }
                n if Some(n) == def["output"]["resultWrapper"].as_str() => result = Some(child),
                n => self.fail(n, &format!("unknown element of {op}Response")),
            }
        }
        match (def["output"]["shape"].as_str(), result) {
            (Some(shape), Some(result)) => self.shape(shape, &Tree::Node(result), ""),
            (Some(_), None) => self.fail("", &format!("no {} element", def["output"]["resultWrapper"].as_str().unwrap_or("?"))),
            (None, _) => {}
        }
    }

    fn shape(&mut self, name: &str, v: &Tree, path: &str) {
        let Some(shape) = self.model.shape(name).cloned() else {
            self.fail(path, &format!("shape {name} is not in the vendored model"));
            return;
        };
        let ty = shape["type"].as_str().unwrap_or_default();
        if let Tree::Json(Value::Null) = v {
            self.fail(path, &format!("null for {name}: AWS leaves an absent member out"));
            return;
        }
        match ty {
            "structure" => self.structure(name, &shape, v, path),
            "list" => {
                let member = shape["member"]["shape"].as_str().unwrap_or_default();
                let items: Vec<Tree> = match v {
                    Tree::Json(Value::Array(a)) => a.iter().map(Tree::Json).collect(),
                    Tree::Json(other) => return self.fail(path, &format!("{} for the list {name}", json_type(other))),
                    Tree::Node(n) => {
                        // Query/XML lists: <member> elements (or a shape's locationName).
                        let item = shape["member"]["locationName"].as_str().unwrap_or("member");
                        if !n.text.trim().is_empty() {
                            self.fail(path, &format!("text {:?} in the list {name}", n.text));
                        }
                        for c in n.children.iter().filter(|c| c.name != item) {
                            self.fail(&format!("{path}.{}", c.name), &format!("a list {name} holds <{item}> elements"));
                        }
                        n.children.iter().filter(|c| c.name == item).map(Tree::Node).collect()
                    }
                };
                self.range(name, &shape, items.len() as f64, path, "items");
                for (i, item) in items.iter().enumerate() {
                    let p = match v {
                        Tree::Json(_) => format!("{path}[{i}]"),
                        Tree::Node(_) => format!("{path}.member[{i}]"),
                    };
                    self.shape(member, item, &p);
                }
            }
            "map" => {
                let key = shape["key"]["shape"].as_str().unwrap_or_default().to_string();
                let value = shape["value"]["shape"].as_str().unwrap_or_default().to_string();
                match v {
                    Tree::Json(Value::Object(o)) => {
                        self.range(name, &shape, o.len() as f64, path, "entries");
                        for (k, item) in o {
                            let kv = Value::String(k.clone());
                            self.shape(&key, &Tree::Json(&kv), &format!("{path}{{key {k:?}}}"));
                            self.shape(&value, &Tree::Json(item), &format!("{path}.{k}"));
                        }
                    }
                    Tree::Json(other) => self.fail(path, &format!("{} for the map {name}", json_type(other))),
                    Tree::Node(n) => {
                        for (i, entry) in n.children.iter().enumerate() {
                            let p = format!("{path}.entry[{i}]");
                            if entry.name != "entry" {
                                self.fail(&p, &format!("a map {name} holds <entry> elements, not <{}>", entry.name));
                                continue;
                            }
                            for part in &entry.children {
                                match part.name.as_str() {
                                    "key" => self.shape(&key, &Tree::Node(part), &format!("{p}.key")),
                                    "value" => self.shape(&value, &Tree::Node(part), &format!("{p}.value")),
                                    other => self.fail(&format!("{p}.{other}"), "a map entry holds key and value"),
                                }
                            }
                        }
                    }
                }
            }
            scalar => self.scalar(name, scalar, &shape, v, path),
        }
    }

    fn structure(&mut self, name: &str, shape: &Value, v: &Tree, path: &str) {
        let members = shape["members"].as_object().cloned().unwrap_or_default();
        // Wire name → member: a member's locationName, else its name.
        let wire =
            |m: &str| members.iter().find(|(k, d)| d["locationName"].as_str().unwrap_or(k) == m).map(|(k, d)| (k.clone(), d.clone()));
        let mut present = Vec::new();
        match v {
            Tree::Json(Value::Object(o)) => {
                for (k, item) in o {
                    let p = format!("{path}.{k}");
                    match wire(k) {
                        Some((m, d)) => {
                            present.push(m);
                            self.member(&d, &Tree::Json(item), &p);
                        }
                        None => self.unknown(name, &members, k, &p),
                    }
                }
            }
            Tree::Json(other) => return self.fail(path, &format!("{} for the structure {name}", json_type(other))),
            Tree::Node(n) => {
                if !n.text.trim().is_empty() {
                    self.fail(path, &format!("text {:?} in the structure {name}", n.text));
                }
                for c in &n.children {
                    let p = if path.is_empty() { c.name.clone() } else { format!("{path}.{}", c.name) };
                    match wire(&c.name) {
                        Some((m, d)) => {
                            if present.contains(&m) {
                                self.fail(&p, "appears twice");
                            }
                            present.push(m);
                            self.member(&d, &Tree::Node(c), &p);
                        }
                        None => self.unknown(name, &members, &c.name, &p),
                    }
                }
            }
        }
        for req in shape["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !present.iter().any(|p| p == req) {
                let p = if path.is_empty() { req.to_string() } else { format!("{path}.{req}") };
                self.fail(&p, &format!("required member of {name} missing"));
            }
        }
        if shape["union"] == true && present.len() > 1 {
            self.fail(path, &format!("the union {name} has {} members set: {present:?}", present.len()));
        }
    }

    fn member(&mut self, def: &Value, v: &Tree, path: &str) {
        let target = def["shape"].as_str().unwrap_or_default().to_string();
        // A member's own timestamp format overrides the protocol's.
        if let (Some(fmt), Some(shape)) = (def["timestampFormat"].as_str(), self.model.shape(&target).cloned()) {
            let mut shape = shape;
            shape["timestampFormat"] = Value::String(fmt.to_string());
            return self.scalar(&target, shape["type"].as_str().unwrap_or_default(), &shape, v, path);
        }
        self.shape(&target, v, path);
    }

    fn unknown(&mut self, name: &str, members: &serde_json::Map<String, Value>, key: &str, path: &str) {
        let near: Vec<&String> = members.keys().filter(|m| m.eq_ignore_ascii_case(key) || edit_distance(m, key) <= 2).collect();
        let hint = if near.is_empty() { String::new() } else { format!(" (did you mean {near:?}?)") };
        self.fail(path, &format!("unknown member {key:?} of {name}{hint}"));
    }

    fn range(&mut self, name: &str, shape: &Value, n: f64, path: &str, unit: &str) {
        if let Some(min) = shape["min"].as_f64() {
            if n < min {
                self.fail(path, &format!("{n} {unit}, {name} has at least {min}"));
            }
        }
        if let Some(max) = shape["max"].as_f64() {
            if n > max {
                self.fail(path, &format!("{n} {unit}, {name} has at most {max}"));
            }
        }
    }

    fn scalar(&mut self, name: &str, ty: &str, shape: &Value, v: &Tree, path: &str) {
        let xml = matches!(v, Tree::Node(_));
        if let Tree::Node(n) = v {
            if !n.children.is_empty() {
                return self.fail(path, &format!("elements inside the {ty} {name}"));
            }
        }
        let text = match v {
            Tree::Node(n) => Some(n.text.as_str()),
            Tree::Json(Value::String(s)) => Some(s.as_str()),
            Tree::Json(_) => None,
        };
        let json = match v {
            Tree::Json(j) => Some(*j),
            Tree::Node(_) => None,
        };
        let wrong = |c: &mut Self, what: &str| {
            let got = json.map(json_type).map(str::to_string).unwrap_or_else(|| format!("{:?}", text.unwrap_or_default()));
            c.fail(path, &format!("{got} is not {what} ({name})"))
        };
        match ty {
            "string" => {
                let Some(s) = (if xml { text } else { json.and_then(Value::as_str) }) else { return wrong(self, "a string") };
                if let Some(values) = shape["enum"].as_array() {
                    if !values.iter().any(|e| e.as_str() == Some(s)) {
                        let allowed: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
                        self.fail(path, &format!("{s:?} is not a value of the enum {name} {allowed:?}"));
                    }
                }
                self.range(name, shape, s.chars().count() as f64, path, "characters");
            }
            "integer" | "long" => {
                let n = if xml { text.and_then(|t| t.trim().parse::<i64>().ok()) } else { json.and_then(Value::as_i64) };
                match n {
                    Some(n) => {
                        if ty == "integer" && i32::try_from(n).is_err() {
                            self.fail(path, &format!("{n} does not fit the 32-bit integer {name}"));
                        }
                        self.range(name, shape, n as f64, path, "(value)");
                    }
                    None => wrong(self, &format!("an {ty}")),
                }
            }
            "double" | "float" => {
                let ok = if xml { text.is_some_and(|t| t.trim().parse::<f64>().is_ok()) } else { json.is_some_and(Value::is_number) };
                if !ok {
                    wrong(self, "a number");
                }
            }
            "boolean" => {
                let ok = if xml { matches!(text.map(str::trim), Some("true" | "false")) } else { json.is_some_and(Value::is_boolean) };
                if !ok {
                    wrong(self, "a boolean");
                }
            }
            "timestamp" => {
                // awsJson: epoch seconds (a number); query/XML: ISO 8601.
                let fmt = shape["timestampFormat"].as_str().unwrap_or(if xml { "iso8601" } else { "unixTimestamp" });
                let ok = match (fmt, json, text) {
                    ("unixTimestamp", Some(j), _) => j.is_number(),
                    ("unixTimestamp", None, Some(t)) => t.trim().parse::<f64>().is_ok(),
                    ("iso8601", _, Some(t)) => iso8601(t.trim()),
                    _ => false,
                };
                if !ok {
                    wrong(self, &format!("a timestamp ({fmt})"));
                }
            }
            "blob" => {
                let ok = text.is_some_and(|t| t.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=\n".contains(&b)));
                if !ok {
                    wrong(self, "a base64 blob");
                }
            }
            _ => {} // document: anything
        }
    }
}

/// `2016-08-29T16:25:52.130Z` (fractional seconds and an offset optional).
fn iso8601(t: &str) -> bool {
    let b = t.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.clone().all(|i| b.get(i).is_some_and(u8::is_ascii_digit));
    b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && (t.ends_with('Z') || t[19..].contains(['+', '-']))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push((prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

fn percent_decode(s: &str) -> Result<String, String> {
    let mut out = Vec::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3).ok_or_else(|| format!("bad escape in {s:?}"))?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("bad escape in {s:?}"))?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|e| e.to_string())
}

/// A query-protocol request body: its Action, Version and the other keys
/// as a tree (`Names.member.1=a` → Names → member → text `a`; members of a
/// list in index order).
pub fn parse_query(body: &str) -> Result<(String, String, Node), String> {
    let mut action = String::new();
    let mut version = String::new();
    let mut root = Node::default();
    for pair in body.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (percent_decode(k)?, percent_decode(v)?);
        match k.as_str() {
            "Action" => action = v,
            "Version" => version = v,
            _ => {
                // `member.N` becomes the N-th <member> node.
                let parts: Vec<&str> = k.split('.').collect();
                let mut node = &mut root;
                let mut i = 0;
                while i < parts.len() {
                    let (name, index) = match parts.get(i + 1).and_then(|n| n.parse::<usize>().ok()) {
                        Some(n) => (parts[i], Some(n)),
                        None => (parts[i], None),
                    };
                    let pos = match index {
                        // The N-th node of that name.
                        Some(n) => {
                            let same: Vec<usize> =
                                node.children.iter().enumerate().filter(|(_, c)| c.name == name).map(|(j, _)| j).collect();
                            if n == 0 || n > same.len() + 1 {
                                return Err(format!("{k}: index {n} after {} items", same.len()));
                            }
                            if n == same.len() + 1 {
                                node.children.push(Node { name: name.into(), ..Node::default() });
                                node.children.len() - 1
                            } else {
                                same[n - 1]
                            }
                        }
                        None => match node.children.iter().position(|c| c.name == name) {
                            Some(j) if i + 1 < parts.len() => j,
                            _ => {
                                node.children.push(Node { name: name.into(), ..Node::default() });
                                node.children.len() - 1
                            }
                        },
                    };
                    node = &mut node.children[pos];
                    i += if index.is_some() { 2 } else { 1 };
                }
                node.text = v;
            }
        }
    }
    Ok((action, version, root))
}

/// A small XML reader for AWS's query-protocol responses: elements,
/// attributes (ignored), text with the five entities and character
/// references, `<?xml?>` declarations and comments.
pub fn parse_xml(text: &str) -> Result<Node, String> {
    let mut stack: Vec<Node> = vec![Node::default()];
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("<?") {
            rest = r.split_once("?>").ok_or("unterminated <?")?.1;
        } else if let Some(r) = rest.strip_prefix("<!--") {
            rest = r.split_once("-->").ok_or("unterminated comment")?.1;
        } else if let Some(r) = rest.strip_prefix("</") {
            let (name, r) = r.split_once('>').ok_or("unterminated end tag")?;
            let node = stack.pop().ok_or("unbalanced")?;
            if node.name != name.trim() {
                return Err(format!("</{name}> closes <{}>", node.name));
            }
            stack.last_mut().ok_or(format!("</{name}> closes nothing"))?.children.push(node);
            rest = r;
        } else if let Some(r) = rest.strip_prefix('<') {
            let (tag, r) = r.split_once('>').ok_or("unterminated tag")?;
            let (tag, empty) = match tag.strip_suffix('/') {
                Some(t) => (t, true),
                None => (tag, false),
            };
            let name = tag.split_whitespace().next().ok_or("empty tag")?.to_string();
            let node = Node { name, ..Node::default() };
            if empty {
                stack.last_mut().ok_or("unbalanced")?.children.push(node);
            } else {
                stack.push(node);
            }
            rest = r;
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            let raw = &rest[..end];
            let top = stack.last_mut().ok_or("unbalanced")?;
            top.text.push_str(&unescape(raw)?);
            rest = &rest[end..];
        }
    }
    let mut doc = stack.pop().ok_or("unbalanced")?;
    if !stack.is_empty() {
        return Err(format!("<{}> is not closed", doc.name));
    }
    if !doc.text.trim().is_empty() {
        return Err("text outside the root element".into());
    }
    match doc.children.len() {
        1 => Ok(doc.children.remove(0)),
        n => Err(format!("{n} root elements")),
    }
}

fn unescape(raw: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let (entity, r) = rest[i + 1..].split_once(';').ok_or("unterminated entity")?;
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16).ok().and_then(char::from_u32).ok_or(format!("&{e};"))?,
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32).ok_or(format!("&{e};"))?,
            e => return Err(format!("unknown entity &{e};")),
        };
        out.push(c);
        rest = r;
    }
    out.push_str(rest);
    Ok(out)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Serializes a value in botocore's form (an example's `output`: member
/// names as in the model, timestamps as ISO 8601 strings) into the body
/// AWS sends for it: awsJson (timestamps as epoch seconds) or, for the
/// query protocol, `<OpResponse><OpResult>` XML.
pub fn wire_response(models: &Models, operation: &str, output: &Value) -> Result<String, String> {
    let (model, def) = models.operation(operation)?;
    let shape = def["output"]["shape"].as_str().ok_or_else(|| format!("{operation} has no output"))?;
    // An example without an output is an empty one.
    let empty = Value::Object(serde_json::Map::new());
    let output = if output.is_null() { &empty } else { output };
    if model.query() {
        let op = operation.split_once(':').map(|x| x.1).unwrap_or_default();
        let wrapper = def["output"]["resultWrapper"].as_str().unwrap_or_default();
        let ns = model.doc["metadata"]["xmlNamespace"].as_str().unwrap_or_default();
        let mut body = String::new();
        xml_value(model, shape, output, &mut body)?;
        Ok(format!(
            r#"<{op}Response xmlns="{ns}"><{wrapper}>{body}</{wrapper}><ResponseMetadata><RequestId>example</RequestId></ResponseMetadata></{op}Response>"#
        ))
    } else {
        Ok(json_value(model, shape, output)?.to_string())
    }
}

fn json_value(model: &Model, shape: &str, v: &Value) -> Result<Value, String> {
    let def = model.shape(shape).ok_or_else(|| format!("no shape {shape}"))?;
    Ok(match (def["type"].as_str().unwrap_or_default(), v) {
        ("structure", Value::Object(o)) => {
            let mut out = serde_json::Map::new();
            for (k, item) in o {
                // Unknown members pass through unchanged (the shape check names them).
                let out_v = match def["members"][k]["shape"].as_str() {
                    Some(s) => json_value(model, s, item)?,
                    None => item.clone(),
                };
                out.insert(k.clone(), out_v);
            }
            Value::Object(out)
        }
        ("list", Value::Array(a)) => {
            let m = def["member"]["shape"].as_str().unwrap_or_default();
            Value::Array(a.iter().map(|x| json_value(model, m, x)).collect::<Result<_, _>>()?)
        }
        ("map", Value::Object(o)) => {
            let m = def["value"]["shape"].as_str().unwrap_or_default();
            Value::Object(o.iter().map(|(k, x)| Ok((k.clone(), json_value(model, m, x)?))).collect::<Result<_, String>>()?)
        }
        ("timestamp", Value::String(s)) => serde_json::json!(epoch_seconds(s).ok_or_else(|| format!("timestamp {s:?}"))?),
        _ => v.clone(),
    })
}

fn xml_value(model: &Model, shape: &str, v: &Value, out: &mut String) -> Result<(), String> {
    let def = model.shape(shape).ok_or_else(|| format!("no shape {shape}"))?;
    match (def["type"].as_str().unwrap_or_default(), v) {
        ("structure", Value::Object(o)) => {
            for (k, item) in o {
                let name = def["members"][k]["locationName"].as_str().unwrap_or(k);
                out.push_str(&format!("<{name}>"));
                match def["members"][k]["shape"].as_str() {
                    Some(s) => xml_value(model, s, item, out)?,
                    None => out.push_str(&xml_escape(&item.to_string())),
                }
                out.push_str(&format!("</{name}>"));
            }
        }
        ("list", Value::Array(a)) => {
            let m = def["member"]["shape"].as_str().unwrap_or_default();
            let item = def["member"]["locationName"].as_str().unwrap_or("member");
            for x in a {
                out.push_str(&format!("<{item}>"));
                xml_value(model, m, x, out)?;
                out.push_str(&format!("</{item}>"));
            }
        }
        ("map", Value::Object(o)) => {
            let m = def["value"]["shape"].as_str().unwrap_or_default();
            for (k, x) in o {
                out.push_str(&format!("<entry><key>{}</key><value>", xml_escape(k)));
                xml_value(model, m, x, out)?;
                out.push_str("</value></entry>");
            }
        }
        (_, Value::String(s)) => out.push_str(&xml_escape(s)),
        (_, other) => out.push_str(&xml_escape(&other.to_string())),
    }
    Ok(())
}

/// Seconds since the epoch of `2016-08-29T16:25:52.130Z` (UTC, or with an
/// offset `+01:00`), or of a number already.
pub fn epoch_seconds(t: &str) -> Option<f64> {
    if let Ok(n) = t.parse::<f64>() {
        return Some(n);
    }
    // ISO 8601's basic format (20181118T211712Z), as one Cloud Map example writes it.
    let b = t.as_bytes();
    if b.len() == 16 && b[8] == b'T' && t.ends_with('Z') && t[..8].bytes().chain(t[9..15].bytes()).all(|c| c.is_ascii_digit()) {
        let extended = format!("{}-{}-{}T{}:{}:{}Z", &t[0..4], &t[4..6], &t[6..8], &t[9..11], &t[11..13], &t[13..15]);
        return epoch_seconds(&extended);
    }
    if !iso8601(t) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| t.get(r).and_then(|s| s.parse::<i64>().ok());
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let rest = &t[19..];
    let (frac, zone) = match rest.strip_prefix('.') {
        Some(r) => {
            let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            (format!("0.{}", &r[..end]).parse::<f64>().ok()?, &r[end..])
        }
        None => (0.0, rest),
    };
    let offset = match zone {
        "Z" | "" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let hh = z.get(1..3)?.parse::<i64>().ok()?;
            let mm = z.get(4..6).and_then(|m| m.parse::<i64>().ok()).unwrap_or(0);
            sign * (hh * 3600 + mm * 60)
        }
    };
    // Days from civil (Howard Hinnant's algorithm).
    let (y2, m2) = if mo <= 2 { (y - 1, mo + 9) } else { (y, mo - 3) };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let doy = (153 * m2 + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    Some((days * 86400 + h * 3600 + mi * 60 + s - offset) as f64 + frac)
}
