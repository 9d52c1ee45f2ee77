//! `gaform lsp` as a separate process, over real stdio framing: for every example, every
//! fixture and a corpus of fuzzed files, the diagnostics it publishes are exactly `gaform
//! check --format json`'s for the same file (codes, severities, messages, help, every
//! label's range, converted to UTF-16 positions); and pytest-lsp, a real client with the
//! recorded capabilities of VS Code and Neovim, drives it through an editing session.

use crate::support::{gaf_files, root};
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

/// A client of a `gaform lsp` process.
struct Lsp {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    next_id: i64,
    /// Every `publishDiagnostics` received, the latest per URI.
    published: BTreeMap<String, Value>,
}

impl Lsp {
    fn start() -> Lsp {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gaform"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("gaform lsp starts");
        let input = child.stdin.take().unwrap();
        let output = BufReader::new(child.stdout.take().unwrap());
        let mut lsp = Lsp { child, input, output, next_id: 0, published: BTreeMap::new() };
        let init = lsp.request("initialize", json!({ "capabilities": {} }));
        assert_eq!(init["capabilities"]["positionEncoding"], "utf-16", "{init}");
        lsp.send(json!({ "jsonrpc": "2.0", "method": "initialized", "params": {} }));
        lsp
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.input, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.input.flush().unwrap();
    }

    fn receive(&mut self) -> Value {
        let mut length = 0;
        loop {
            let mut line = String::new();
            assert!(self.output.read_line(&mut line).unwrap() > 0, "the server closed its output");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(n) = line.strip_prefix("Content-Length: ") {
                length = n.parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        self.output.read_exact(&mut body).unwrap();
        let message: Value = serde_json::from_slice(&body).unwrap();
        if message["method"] == "textDocument/publishDiagnostics" {
            let uri = message["params"]["uri"].as_str().unwrap().to_string();
            self.published.insert(uri, message["params"].clone());
        }
        message
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let message = self.receive();
            if message["id"] == id {
                assert!(message["error"].is_null(), "{message}");
                return message["result"].clone();
            }
        }
    }

    fn open(&mut self, path: &Path, text: &str) -> String {
        let uri = format!("file://{}", path.display());
        let doc = json!({ "uri": uri, "languageId": "gaform", "version": 1, "text": text });
        self.send(
            json!({ "jsonrpc": "2.0", "method": "textDocument/didOpen", "params": { "textDocument": doc } }),
        );
        uri
    }

    /// The diagnostics published for `uri`, waiting for them.
    fn diagnostics_of(&mut self, uri: &str) -> Value {
        while !self.published.contains_key(uri) {
            self.receive();
        }
        self.published[uri]["diagnostics"].clone()
    }

    fn stop(mut self) {
        self.request("shutdown", Value::Null);
        self.send(json!({ "jsonrpc": "2.0", "method": "exit" }));
        assert!(self.child.wait().unwrap().success(), "the server ends cleanly on exit");
    }
}

/// The UTF-16 position of byte `offset` of `text`, counted independently of the server.
fn utf16(text: &str, offset: usize) -> Value {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    json!({ "line": line, "character": text[start..offset].encode_utf16().count() })
}

fn range(text: &str, label: &Value) -> Value {
    let offset = label["offset"].as_u64().unwrap() as usize;
    let end = offset + label["length"].as_u64().unwrap() as usize;
    json!({ "start": utf16(text, offset), "end": utf16(text, end) })
}

/// What `gaform check --format json` says of `path`, as the server should say it.
fn expected(path: &Path, text: &str) -> Vec<Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_gaform"))
        .args(["check", "--format", "json"])
        .arg(path)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    json["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let labels = d["labels"].as_array().unwrap();
            let primary = labels.iter().find(|l| l["primary"] == true).unwrap_or(&labels[0]);
            let message = match d["help"].as_str() {
                Some(help) => format!("{}\nhelp: {help}", d["message"].as_str().unwrap()),
                None => d["message"].as_str().unwrap().to_string(),
            };
            let related: Vec<Value> = labels
                .iter()
                .filter(|l| l["primary"] != true)
                .map(|l| json!({ "message": l["message"], "range": range(text, l) }))
                .collect();
            json!({
                "code": d["code"],
                "severity": if d["severity"] == "error" { 1 } else { 2 },
                "message": message,
                "help": d["help"],
                "label": primary["message"],
                "range": range(text, primary),
                "related": related,
            })
        })
        .collect()
}

/// The server's diagnostic in the shape of `expected`.
fn served(d: &Value) -> Value {
    let related: Vec<Value> = d["relatedInformation"]
        .as_array()
        .map(|r| {
            r.iter().map(|i| json!({ "message": i["message"], "range": i["location"]["range"] })).collect()
        })
        .unwrap_or_default();
    json!({
        "code": d["code"],
        "severity": d["severity"],
        "message": d["message"],
        "help": d["data"]["help"],
        "label": d["data"]["label"],
        "range": d["range"],
        "related": related,
    })
}

#[test]
fn the_servers_diagnostics_are_checks_for_every_example_fixture_and_fuzzed_file() {
    let mut files: Vec<PathBuf> = gaf_files("examples");
    for dir in
        ["tests/fixtures/valid", "tests/fixtures/invalid", "tests/fixtures/warnings", "tests/fixtures/fmt"]
    {
        files.extend(gaf_files(dir));
    }
    let files: Vec<PathBuf> = files.into_iter().map(|f| root().join(f)).collect();
    // Fuzzed files: the fixtures mutated (non-ASCII, CRLF and NUL among the tokens).
    let scratch = std::env::temp_dir().join(format!("gaform-lsp-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x15b);
    let mut corpus: Vec<(PathBuf, String)> =
        files.iter().map(|f| (f.clone(), std::fs::read_to_string(f).unwrap())).collect();
    for i in 0..80 {
        let (_, base) = &corpus[rng.random_range(0..files.len())];
        let text = crate::fuzz::mutate(&mut rng, base);
        let path = scratch.join(format!("fuzzed-{i}.gaf"));
        std::fs::write(&path, &text).unwrap();
        corpus.push((path, text));
    }
    let mut lsp = Lsp::start();
    let uris: Vec<String> = corpus.iter().map(|(path, text)| lsp.open(path, text)).collect();
    let mut compared = 0;
    for ((path, text), uri) in corpus.iter().zip(&uris) {
        let want = expected(path, text);
        let got: Vec<Value> = lsp.diagnostics_of(uri).as_array().unwrap().iter().map(served).collect();
        assert_eq!(got, want, "{}", path.display());
        compared += want.len();
    }
    assert!(compared > 100, "the corpus has diagnostics to compare: {compared}");
    lsp.stop();
    let _ = std::fs::remove_dir_all(&scratch);
}

/// What the editor test's venv holds, pinned: pytest-lsp with the clients' recorded
/// capabilities, and what it runs on. A change here reinstalls the venv.
const EDITOR_REQUIREMENTS: [&str; 5] =
    ["pytest-lsp==1.0.1", "pygls==2.1.1", "lsprotocol==2025.0.0", "pytest==9.2.0", "pytest-asyncio==1.5.0"];

/// The editor test's venv, installed into target/pytest-lsp on first use.
pub fn editor_venv() -> std::path::PathBuf {
    crate::provision::component("pytest-lsp", &EDITOR_REQUIREMENTS.join("\n"), |dir| {
        crate::provision::python_venv(dir, &EDITOR_REQUIREMENTS)
    })
    .unwrap_or_else(|e| panic!("the editor test needs pytest-lsp: {e}"))
}

/// A real LSP client drives the server end to end: pytest-lsp, with VS Code's capabilities
/// (UTF-16) and Neovim 0.11's (UTF-8), opens a file, gets its diagnostics, applies the quick
/// fix, completes, hovers, renames and formats (tests/editor/test_editors.py).
#[test]
fn editors_capabilities_drive_open_fix_complete_hover_rename_and_format() {
    let venv = editor_venv();
    let run = Command::new(venv.join("bin/python"))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/editor"])
        .current_dir(root())
        .env("GAFORM_BIN", env!("CARGO_BIN_EXE_gaform"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("pytest starts");
    let out = format!("{}{}", String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "{out}");
    assert!(out.contains("2 passed"), "both clients ran: {out}");
}
