//! A loopback HTTP proxy between the SDK and moto that counts EC2 actions and injects
//! chosen faults: throttling bursts, spot capacity errors, a cut connection. moto has no
//! fault injection of its own; the SDK under test is the real one, unchanged.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What the proxy does to requests.
#[derive(Default)]
pub struct Faults {
    /// Answer this many requests (of any action) with RequestLimitExceeded first.
    pub throttle: u32,
    /// Answer every spot CreateFleet with an InsufficientInstanceCapacity error, no instances.
    pub no_spot: bool,
    /// Forward the Nth mutating request (1-based) but drop its answer, and every request
    /// after it: the network is cut just as EC2 did the work.
    pub cut_at_write: Option<u32>,
}

/// Counts and the faults still to inject.
#[derive(Default)]
pub struct State {
    pub faults: Faults,
    /// Requests forwarded or answered, by EC2 action.
    pub actions: BTreeMap<String, u32>,
    pub throttled: u32,
    writes: u32,
    cut: bool,
}

/// A running proxy; it lives as long as the test process.
pub struct Proxy {
    pub port: u16,
    pub state: Arc<Mutex<State>>,
}

impl Proxy {
    pub fn start(upstream: u16, faults: Faults) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State { faults, ..State::default() }));
        let shared = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || serve(client, upstream, &state));
            }
        });
        Proxy { port, state }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Requests of `action` seen so far.
    pub fn count(&self, action: &str) -> u32 {
        self.state.lock().unwrap().actions.get(action).copied().unwrap_or(0)
    }

    /// All requests seen so far.
    pub fn total(&self) -> u32 {
        self.state.lock().unwrap().actions.values().sum()
    }

    pub fn reset_counts(&self) {
        self.state.lock().unwrap().actions.clear();
    }
}

/// One HTTP/1.1 message: head lines and body.
struct Message {
    head: Vec<String>,
    body: Vec<u8>,
}

fn read_message(reader: &mut BufReader<TcpStream>) -> Option<Message> {
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']).to_string();
        if line.is_empty() {
            break;
        }
        head.push(line);
    }
    let length = head
        .iter()
        .find_map(|h| {
            h.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.trim().parse::<usize>())
        })
        .and_then(Result::ok)
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Message { head, body })
}

fn serve(client: TcpStream, upstream: u16, state: &Mutex<State>) {
    let mut reader = BufReader::new(client.try_clone().unwrap());
    let mut client = client;
    while let Some(request) = read_message(&mut reader) {
        let body = String::from_utf8_lossy(&request.body).into_owned();
        // EC2 speaks the query protocol (`Action=` in the body); Service Quotas speaks JSON
        // with the action in `X-Amz-Target`.
        let target = request.head.iter().find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.eq_ignore_ascii_case("x-amz-target")
                .then(|| v.trim().rsplit('.').next().unwrap_or("").to_string())
        });
        // S3 speaks REST: the method says what it does.
        let method =
            request.head.first().and_then(|l| l.split_whitespace().next()).unwrap_or("?").to_string();
        let action = target
            .or_else(|| body.split('&').find_map(|p| p.strip_prefix("Action=")).map(str::to_string))
            .unwrap_or_else(|| match method.as_str() {
                "GET" | "HEAD" => format!("GetS3 {method}"),
                _ => format!("S3 {method}"),
            });
        let spot_fleet = action == "CreateFleet" && body.contains("DefaultTargetCapacityType=spot");
        let mutating = !["Describe", "Get", "List"].iter().any(|p| action.starts_with(p));
        let reply = {
            let mut s = state.lock().unwrap();
            if s.cut {
                return;
            }
            *s.actions.entry(action.clone()).or_insert(0) += 1;
            if mutating {
                s.writes += 1;
            }
            if s.faults.throttle > 0 {
                s.faults.throttle -= 1;
                s.throttled += 1;
                Some(error(503, "RequestLimitExceeded", "Request limit exceeded."))
            } else if s.faults.cut_at_write.is_some_and(|n| mutating && s.writes == n) {
                s.cut = true;
                drop(s);
                let _ = forward(&request, upstream);
                return;
            } else if spot_fleet && s.faults.no_spot {
                Some(no_capacity())
            } else {
                None
            }
        };
        let response = match reply {
            Some(r) => r,
            None => match forward(&request, upstream) {
                Some(r) => r,
                None => return,
            },
        };
        if client.write_all(&response).is_err() {
            return;
        }
    }
}

/// Sends the request to moto on a fresh connection and returns its answer, re-framed so
/// the client's connection stays open.
fn forward(request: &Message, upstream: u16) -> Option<Vec<u8>> {
    let mut up = TcpStream::connect(("127.0.0.1", upstream)).ok()?;
    let mut out = Vec::new();
    for line in &request.head {
        if line.to_ascii_lowercase().starts_with("connection:") {
            continue;
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(&request.body);
    up.write_all(&out).ok()?;
    let mut reader = BufReader::new(up);
    let response = read_message(&mut reader)?;
    let mut bytes = Vec::new();
    for line in &response.head {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") || lower.starts_with("content-length:") {
            continue;
        }
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(format!("Content-Length: {}\r\n\r\n", response.body.len()).as_bytes());
    bytes.extend_from_slice(&response.body);
    Some(bytes)
}

fn respond(status: u16, reason: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn error(status: u16, code: &str, message: &str) -> Vec<u8> {
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>fault-proxy</RequestID></Response>"#
    );
    respond(status, "Error", &body)
}

/// An instant fleet that got nothing, as EC2 answers when spot capacity is short.
fn no_capacity() -> Vec<u8> {
    let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<CreateFleetResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>fault-proxy</requestId><fleetId>fleet-00000000-0000-0000-0000-000000000000</fleetId><errorSet><item><lifecycle>spot</lifecycle><errorCode>InsufficientInstanceCapacity</errorCode><errorMessage>There is no Spot capacity available that matches your request.</errorMessage></item></errorSet><fleetInstanceSet/></CreateFleetResponse>"#;
    respond(200, "OK", body)
}
