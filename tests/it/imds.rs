//! A loopback stand-in for one instance's metadata service (IMDSv2): a session token by
//! `PUT /latest/api/token` (with its TTL header, as EC2 answers), then `instance-id`,
//! `spot/instance-action` and `events/recommendations/rebalance` for requests that carry
//! it; 401 without. The SDK's metadata client in a gaform process reaches it through
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT`; the test gives the notices.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

const TOKEN: &str = "stand-in-token";

#[derive(Default)]
struct State {
    interruption: Option<String>,
    rebalance: Option<String>,
    /// Requests answered, by path.
    asked: Vec<String>,
}

/// One instance's metadata service, serving until the test ends.
pub struct Imds {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

impl Imds {
    /// Serves instance `id` on a free loopback port.
    pub fn start(id: &str) -> Imds {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State::default()));
        let (shared, id) = (state.clone(), id.to_string());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (state, id) = (shared.clone(), id.clone());
                std::thread::spawn(move || serve(stream, &state, &id));
            }
        });
        Imds { endpoint, state }
    }

    /// The environment a gaform process on this "instance" gets.
    pub fn env(&self) -> (&'static str, &str) {
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &self.endpoint)
    }

    /// EC2's two-minute warning, as `spot/instance-action` gives it.
    pub fn interrupt(&self, time: &str) {
        self.state.lock().unwrap().interruption =
            Some(format!(r#"{{"action": "terminate", "time": "{time}"}}"#));
    }

    /// A rebalance recommendation.
    pub fn recommend_rebalance(&self, time: &str) {
        self.state.lock().unwrap().rebalance = Some(format!(r#"{{"noticeTime": "{time}"}}"#));
    }

    /// How many requests for `path` were answered.
    pub fn asked(&self, path: &str) -> usize {
        self.state.lock().unwrap().asked.iter().filter(|p| *p == path).count()
    }
}

/// Answers one connection's requests (HTTP/1.1 keep-alive) until the client closes it.
fn serve(stream: TcpStream, state: &Mutex<State>, id: &str) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
        let mut headers = Vec::new();
        let mut length = 0;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end().to_string();
            if header.is_empty() {
                break;
            }
            if let Some((k, v)) = header.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let (status, extra, text) = if method == "PUT" && path == "/latest/api/token" {
            match header("x-aws-ec2-metadata-token-ttl-seconds") {
                Some(ttl) => {
                    (200, format!("x-aws-ec2-metadata-token-ttl-seconds: {ttl}\r\n"), TOKEN.to_string())
                }
                None => (400, String::new(), String::new()),
            }
        } else if header("x-aws-ec2-metadata-token") != Some(TOKEN) {
            (401, String::new(), String::new())
        } else {
            let mut s = state.lock().unwrap();
            s.asked.push(path.clone());
            let found = match path.as_str() {
                "/latest/meta-data/instance-id" => Some(id.to_string()),
                "/latest/meta-data/spot/instance-action" => s.interruption.clone(),
                "/latest/meta-data/events/recommendations/rebalance" => s.rebalance.clone(),
                _ => None,
            };
            match found {
                Some(text) => (200, String::new(), text),
                None => (404, String::new(), String::new()),
            }
        };
        let reply = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n{extra}\r\n{text}",
            if status == 200 { "OK" } else { "Error" },
            text.len()
        );
        if out.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}
