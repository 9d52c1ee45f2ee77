//! Latency from `didChange` to `publishDiagnostics`, in process (lsp-server's in-memory
//! connection, so no pipe is timed): each example, and a generated file of about 1 MB edited
//! at its end, in its middle (a misspelt attribute) and with a syntax error in its middle.
//! Every change makes or undoes a diagnostic, so that each one is published.
//! `cargo bench -p gaform-lsp --bench latency`; figures in BENCHMARKS.md.

use gaform_compiler::Host;
use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

const ROUNDS: usize = 200;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files: Vec<(String, String)> = std::fs::read_dir(root.join("examples"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "gaf"))
        .map(|p| {
            (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort();
    let big = generated(1 << 20);
    let jobs = big.matches("\njob search").count();
    let middle =
        big.find(&format!("seed        = {}\n", jobs / 2)).expect("the generated file has a middle job");
    let rows = files.into_iter().map(|(name, text)| (name, text, Edit::AppendBlock)).chain([
        ("1 MB: block at the end".to_string(), big.clone(), Edit::AppendBlock),
        ("1 MB: typo in middle".to_string(), big.clone(), Edit::Typo(middle)),
        ("1 MB: syntax error, mid".to_string(), big, Edit::Brace(middle)),
    ]);
    for (name, text, edit) in rows {
        let mut samples = latencies(&text, edit);
        samples.sort();
        let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
        println!(
            "{name:<24} {:>8} bytes  p50 {:>7.2} ms  p95 {:>7.2} ms  max {:>7.2} ms",
            text.len(),
            at(0.5).as_secs_f64() * 1e3,
            at(0.95).as_secs_f64() * 1e3,
            samples.last().unwrap().as_secs_f64() * 1e3
        );
    }
}

/// The change made and undone, round after round.
#[derive(Clone, Copy)]
enum Edit {
    /// A block of an unknown kind appended at the end (E0002).
    AppendBlock,
    /// `seed` at this offset misspelt `sed` (E0003).
    Typo(usize),
    /// A `{` typed before the attribute at this offset: a syntax error (E0001).
    Brace(usize),
}

/// A valid file of at least `bytes`: clouds, computes and jobs that reference each other.
fn generated(bytes: usize) -> String {
    let mut out = String::from("cloud c {\n  provider = aws\n  region   = \"us-west-2\"\n}\n");
    let mut i = 0;
    while out.len() < bytes {
        out.push_str(&format!(
            "compute evo{i} {{\n  cloud = c\n  head {{\n    instance_type = \"m5.large\"\n  }}\n  workers cpu {{\n    instance_type = \"c5.large\"\n    min           = 1\n    max           = 4\n  }}\n}}\njob search{i} {{\n  compute     = evo{i}\n  data        = \"data/GOOG_wiki.csv\"\n  strategy    = sma_crossover(fast = 2..50, slow = 10..200)\n  population  = 200\n  generations = 40\n  seed        = {i}\n}}\n"
        ));
        i += 1;
    }
    out
}

fn latencies(text: &str, edit: Edit) -> Vec<Duration> {
    let (server, client) = Connection::memory();
    let thread = std::thread::spawn(move || {
        let hosts = |_: &Path| -> Box<dyn Host> { Box::new(gaform_compiler::NoHost) };
        gaform_lsp::run(&server, &hosts).unwrap();
    });
    let send = |m: Message| client.sender.send(m).unwrap();
    let wait_publish = || loop {
        if let Message::Notification(n) = client.receiver.recv().unwrap() {
            if n.method == "textDocument/publishDiagnostics" {
                return n.params;
            }
        }
    };
    let uri = "file:///bench/file.gaf";
    send(Message::Request(Request::new(
        RequestId::from(1),
        "initialize".into(),
        json!({ "capabilities": {} }),
    )));
    let _ = client.receiver.recv().unwrap();
    send(Message::Notification(Notification::new("initialized".into(), json!({}))));
    let doc = json!({ "uri": uri, "languageId": "gaform", "version": 1, "text": text });
    send(Message::Notification(Notification::new(
        "textDocument/didOpen".into(),
        json!({ "textDocument": doc }),
    )));
    let _: Value = wait_publish();
    let position = |offset: usize| {
        let before = &text[..offset];
        let line = before.matches('\n').count() as u32;
        let character = before.rsplit('\n').next().unwrap_or("").encode_utf16().count() as u32;
        json!({ "line": line, "character": character })
    };
    let lines = text.split('\n').count() as u32;
    let end = position(text.len());
    let after = json!({ "line": lines, "character": 10 });
    let mut samples = Vec::with_capacity(ROUNDS);
    for round in 0..ROUNDS {
        let undo = round % 2 == 1;
        let (range, new_text) = match (edit, undo) {
            (Edit::AppendBlock, false) => (json!({ "start": end, "end": end }), "\nbogus x {}"),
            (Edit::AppendBlock, true) => (json!({ "start": end, "end": after.clone() }), ""),
            (Edit::Typo(at), false) => (json!({ "start": position(at + 1), "end": position(at + 2) }), ""),
            (Edit::Typo(at), true) => (json!({ "start": position(at + 1), "end": position(at + 1) }), "e"),
            (Edit::Brace(at), false) => (json!({ "start": position(at), "end": position(at) }), "{"),
            (Edit::Brace(at), true) => (json!({ "start": position(at), "end": position(at + 1) }), ""),
        };
        let change = json!({
            "textDocument": { "uri": uri, "version": round + 2 },
            "contentChanges": [{ "range": range, "text": new_text }],
        });
        let started = Instant::now();
        send(Message::Notification(Notification::new("textDocument/didChange".into(), change)));
        wait_publish();
        samples.push(started.elapsed());
    }
    send(Message::Request(Request::new(RequestId::from(2), "shutdown".into(), Value::Null)));
    let _ = client.receiver.recv();
    send(Message::Notification(Notification::new("exit".into(), Value::Null)));
    thread.join().unwrap();
    samples
}
