//! The server in process, driven through `lsp-server`'s in-memory connection as a client
//! would: every reply and notification it sends is snapshotted as JSON.

use super::*;
use lsp_server::{Connection, Message, Notification, Request, RequestId};
use serde_json::{json, Value};
use std::time::Duration;

const URI: &str = "file:///work/evo.gaf";

const TYPO: &str = "cloud c {\n  provider = aws\n  region   = \"us-wset-2\"\n}\n";

/// A client talking to a server thread.
struct Client {
    connection: Connection,
    server: Option<std::thread::JoinHandle<Result<(), String>>>,
    next_id: i32,
}

impl Client {
    /// Starts a server and initializes it, offering `encodings`.
    fn start(encodings: &[&str]) -> (Client, Value) {
        let (server, client) = Connection::memory();
        let handle = std::thread::spawn(move || {
            let no_host = |_: &Path| -> Box<dyn Host> { Box::new(gaform_compiler::NoHost) };
            run(&server, &no_host)
        });
        let mut c = Client { connection: client, server: Some(handle), next_id: 0 };
        let init = c.request(
            "initialize",
            json!({ "capabilities": { "general": { "positionEncodings": encodings } } }),
        );
        c.notify("initialized", json!({}));
        (c, init)
    }

    fn notify(&self, method: &str, params: Value) {
        self.connection.sender.send(Message::Notification(Notification::new(method.into(), params))).unwrap();
    }

    /// Sends a request and waits for its response (as JSON: `result` or `error`).
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = RequestId::from(self.next_id);
        let request = Request::new(id.clone(), method.into(), params);
        self.connection.sender.send(Message::Request(request)).unwrap();
        loop {
            match self.connection.receiver.recv_timeout(Duration::from_secs(10)).expect("a reply") {
                Message::Response(r) if r.id == id => return serde_json::to_value(r).unwrap(),
                _ => {}
            }
        }
    }

    /// The next `publishDiagnostics`, if one comes within `wait`.
    fn diagnostics(&self, wait: Duration) -> Option<Value> {
        loop {
            match self.connection.receiver.recv_timeout(wait).ok()? {
                Message::Notification(n) if n.method == "textDocument/publishDiagnostics" => {
                    return Some(n.params)
                }
                _ => {}
            }
        }
    }

    fn open(&self, text: &str) {
        let doc = json!({ "uri": URI, "languageId": "gaform", "version": 1, "text": text });
        self.notify("textDocument/didOpen", json!({ "textDocument": doc }));
    }

    fn change(&self, version: i32, changes: Value) {
        let doc = json!({ "uri": URI, "version": version });
        self.notify("textDocument/didChange", json!({ "textDocument": doc, "contentChanges": changes }));
    }

    fn stop(mut self) {
        let reply = self.request("shutdown", Value::Null);
        assert_eq!(reply["result"], Value::Null);
        self.notify("exit", Value::Null);
        let ended = self.server.take().unwrap().join().unwrap();
        assert_eq!(ended, Ok(()));
    }
}

/// Request parameters naming a position in the test document.
fn at(line: u32, character: u32) -> Value {
    json!({ "textDocument": { "uri": URI }, "position": { "line": line, "character": character } })
}

fn range(l1: u32, c1: u32, l2: u32, c2: u32) -> Value {
    json!({ "start": { "line": l1, "character": c1 }, "end": { "line": l2, "character": c2 } })
}

#[test]
fn utf8_is_chosen_when_offered_and_utf16_otherwise() {
    let (c, init) = Client::start(&["utf-16", "utf-8"]);
    assert_eq!(init["result"]["capabilities"]["positionEncoding"], "utf-8");
    c.stop();
    let (c, init) = Client::start(&[]);
    assert_eq!(init["result"]["capabilities"]["positionEncoding"], "utf-16");
    insta::assert_json_snapshot!("capabilities", init["result"]["capabilities"]);
    c.stop();
}

#[test]
fn diagnostics_come_on_open_and_change_and_only_when_they_change() {
    let (mut c, _) = Client::start(&[]);
    c.open(TYPO);
    let first = c.diagnostics(Duration::from_secs(10)).unwrap();
    insta::assert_json_snapshot!("typo-diagnostics", first);
    // An edit that keeps the same diagnostics publishes nothing new.
    c.change(2, json!([{ "range": range(3, 1, 3, 1), "text": "\n" }]));
    assert_eq!(c.diagnostics(Duration::from_millis(300)), None);
    // The quick fix, applied as the client would, clears them.
    let actions = c.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": URI }, "range": range(2, 13, 2, 13), "context": { "diagnostics": [] } }),
    );
    insta::assert_json_snapshot!("typo-quick-fix", actions["result"]);
    let edit = &actions["result"][0]["edit"]["changes"][URI][0];
    c.change(3, json!([{ "range": edit["range"], "text": edit["newText"] }]));
    let fixed = c.diagnostics(Duration::from_secs(10)).unwrap();
    assert_eq!(fixed["diagnostics"], json!([]), "{fixed}");
    assert_eq!(fixed["version"], 3);
    // Closing clears a file's diagnostics.
    c.notify("textDocument/didClose", json!({ "textDocument": { "uri": URI } }));
    assert_eq!(c.diagnostics(Duration::from_secs(10)).unwrap()["diagnostics"], json!([]));
    c.stop();
}

#[test]
fn a_burst_of_changes_is_checked_once_on_its_last_text() {
    let (c, _) = Client::start(&[]);
    c.open(TYPO);
    c.diagnostics(Duration::from_secs(10)).unwrap();
    // Typing `us-wset-2` away and back, keystroke by keystroke, queued before the server runs.
    for (v, ch) in "abc".chars().enumerate() {
        c.change(10 + v as i32, json!([{ "range": range(2, 14, 2, 14), "text": ch.to_string() }]));
    }
    let got = c.diagnostics(Duration::from_secs(10)).unwrap();
    assert_eq!(got["version"], 12, "one check, of the last text: {got}");
    c.stop();
}

#[test]
fn formatting_is_gaform_fmt_and_unknown_files_get_an_error_not_a_crash() {
    let (mut c, _) = Client::start(&[]);
    c.open("cloud   c {\nprovider=local\n}\n");
    let formatted = c.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": URI }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    insta::assert_json_snapshot!("formatting", formatted["result"]);
    let unknown = c.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": "file:///never/opened.gaf" }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    assert!(unknown["error"]["message"].as_str().unwrap().contains("is not open"), "{unknown}");
    let bad = c.request("textDocument/hover", json!({ "nonsense": true }));
    let unknown_method = c.request("textDocument/inlayHint", json!({}));
    assert_eq!(unknown_method["error"]["code"], -32601, "{unknown_method}");
    assert!(bad["error"].is_object(), "{bad}");
    c.stop();
}

#[test]
fn random_incremental_edits_give_the_text_a_full_sync_would() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let pieces = ["a", "é", "😊", "\r\n", "\n", "cloud", "{", "\"", " "];
    for encoding in [Encoding::Utf8, Encoding::Utf16] {
        let mut text = Text::new("cloud c {\r\n  provider = \"é😊\"\n}\n".into());
        let mut plain: Vec<char> = text.as_str().chars().collect();
        let mut applied = 0;
        for _ in 0..2_000 {
            // A random range of chars, replaced with random pieces.
            let a = rng.random_range(0..=plain.len());
            let b = rng.random_range(a..=plain.len().min(a + 5));
            let inserted: String =
                (0..rng.random_range(0..3)).map(|_| pieces[rng.random_range(0..pieces.len())]).collect();
            let byte = |chars: &[char], i: usize| chars[..i].iter().map(|c| c.len_utf8()).sum::<usize>();
            let (start, end) = (byte(&plain, a), byte(&plain, b));
            let range =
                lsp_types::Range { start: text.position(start, encoding), end: text.position(end, encoding) };
            // A range that splits a CRLF cannot be expressed exactly; skip those.
            if text.offset(range.start, encoding) != start || text.offset(range.end, encoding) != end {
                continue;
            }
            applied += 1;
            let change = lsp_types::TextDocumentContentChangeEvent {
                range: Some(range),
                range_length: None,
                text: inserted.clone(),
            };
            text.apply(&change, encoding);
            plain.splice(a..b, inserted.chars());
            assert_eq!(text.as_str(), plain.iter().collect::<String>());
        }
        assert!(applied > 1_500, "most edits were applied, not skipped: {applied}");
    }
}

#[test]
fn the_outline_lists_blocks_lets_and_nested_blocks() {
    let (mut c, _) = Client::start(&[]);
    c.open("let n = 2\ncloud c { provider = local }\ncompute evo {\n  cloud = c\n  head { instance_type = \"m5.large\" }\n  workers cpu { instance_type = \"c5.large\"  max = n }\n}\n");
    let outline = c.request("textDocument/documentSymbol", json!({ "textDocument": { "uri": URI } }));
    insta::assert_json_snapshot!("outline", outline["result"]);
    c.stop();
}

#[test]
fn hovers_price_instance_types_in_their_clouds_region_and_name_what_a_reference_is() {
    let (mut c, _) = Client::start(&[]);
    let text = "cloud west {\n  provider = aws\n  region   = \"eu-west-1\"\n}\ncompute evo {\n  cloud = west\n  head { instance_type = \"m5.large\" }\n  workers gpu { instance_types = [\"c5.large\", \"p3.2xlarge\"]  max = 2 }\n}\n";
    c.open(text);
    let head = c.request("textDocument/hover", at(6, 27));
    let gpu = c.request("textDocument/hover", at(7, 48));
    let cloud = c.request("textDocument/hover", at(5, 11));
    let nothing = c.request("textDocument/hover", at(1, 3));
    assert_eq!(nothing["result"], Value::Null);
    insta::assert_json_snapshot!("hovers", json!([head["result"], gpu["result"], cloud["result"]]));
    c.stop();
}

#[test]
fn definition_references_and_rename_follow_a_name_and_refuse_a_bad_or_taken_one() {
    let (mut c, _) = Client::start(&[]);
    let text = "cloud c { provider = local }\ncloud d { provider = local }\ncompute evo {\n  cloud = c\n  head { instance_type = \"m5.large\" }\n  workers cpu { instance_type = \"c5.large\"  max = 2 }\n}\njob j {\n  compute = evo\n  workers = cpu\n}\n";
    c.open(text);
    // `cloud = c` on line 3 goes to `cloud c` on line 0.
    let definition = c.request("textDocument/definition", at(3, 10));
    assert_eq!(definition["result"]["range"], range(0, 6, 0, 7), "{definition}");
    let mut with_context = at(5, 11);
    with_context["context"] = json!({ "includeDeclaration": true });
    let references = c.request("textDocument/references", with_context);
    insta::assert_json_snapshot!("worker-group-references", references["result"]);
    let prepared = c.request("textDocument/prepareRename", at(8, 12));
    assert_eq!(prepared["result"], range(8, 12, 8, 15), "{prepared}");
    let mut rename = at(8, 12);
    rename["newName"] = json!("search");
    let renamed = c.request("textDocument/rename", rename.clone());
    insta::assert_json_snapshot!("rename-compute", renamed["result"]);
    rename["newName"] = json!("2fast");
    assert!(c.request("textDocument/rename", rename.clone())["error"]["message"]
        .as_str()
        .unwrap()
        .contains("is not a name"));
    let mut taken = at(3, 10);
    taken["newName"] = json!("d");
    let refused = c.request("textDocument/rename", taken);
    assert!(refused["error"]["message"].as_str().unwrap().contains("already taken"), "{refused}");
    let nothing = c.request("textDocument/prepareRename", at(4, 3));
    assert!(nothing["error"].is_object(), "{nothing}");
    c.stop();
}

#[test]
fn a_file_uri_names_its_decoded_path_and_other_schemes_none() {
    let uri: Uri = "file:///tmp/my%20stack/evo.gaf".parse().unwrap();
    assert_eq!(file_path(&uri), Some(std::path::PathBuf::from("/tmp/my stack/evo.gaf")));
    let untitled: Uri = "untitled:Untitled-1".parse().unwrap();
    assert_eq!(file_path(&untitled), None);
}

/// `text` with the cursor marks `|` taken out, and the cursors' positions (UTF-16, one line).
fn cursors(marked: &str) -> (String, Vec<Value>) {
    let mut text = String::new();
    let mut at = Vec::new();
    for (i, piece) in marked.split('|').enumerate() {
        if i > 0 {
            let line = text.matches('\n').count();
            let character = text.rsplit('\n').next().unwrap().encode_utf16().count();
            at.push(json!({ "line": line, "character": character }));
        }
        text.push_str(piece);
    }
    (text, at)
}

#[test]
fn completion_offers_what_each_place_takes() {
    let (mut c, _) = Client::start(&[]);
    let (text, at) = cursors(concat!(
        "cloud west {\n  provider = aws\n  region = \"eu-west-1\"\n}\n",
        "spot_policy cheap { market = spot }\n",
        "compute evo {\n  cloud = west|\n  |\n  head { instance_type = \"|\" }\n",
        "  workers cpu {\n    instance_types = [|]\n    max = 2\n    spot = |\n    market = |\n  }\n}\n",
        "job j {\n  compute = evo\n  workers = |\n  strategy = |\n",
        "  selection = tournament(|)\n  fitness = sharpe * (1 - |)\n}\n",
        "monitor m {\n  job = j\n  metrics = [generation, |]\n  alert { when = | }\n}\n",
        "|\n",
    ));
    c.open(&text);
    let places = [
        "cloud =",
        "compute body",
        "head instance_type",
        "workers instance_types",
        "spot =",
        "market =",
        "job workers =",
        "strategy =",
        "tournament(",
        "fitness (",
        "monitor metrics",
        "alert when",
        "top level",
    ];
    assert_eq!(places.len(), at.len());
    let mut shown = serde_json::Map::new();
    for (place, position) in places.iter().zip(&at) {
        let reply = c.request(
            "textDocument/completion",
            json!({ "textDocument": { "uri": URI }, "position": position }),
        );
        let items = reply["result"].as_array().unwrap_or_else(|| panic!("{place}: {reply}"));
        assert!(!items.is_empty(), "{place}: nothing offered");
        // Instance types are a long list: its cheapest few show the order and the details.
        let lines: Vec<Value> = items
            .iter()
            .take(6)
            .map(|i| {
                json!(format!(
                    "{} | {} | {}",
                    i["label"].as_str().unwrap(),
                    i["detail"].as_str().unwrap_or(""),
                    i["textEdit"]["newText"].as_str().unwrap()
                ))
            })
            .collect();
        shown.insert(format!("{place} ({} items)", items.len()), json!(lines));
    }
    insta::assert_json_snapshot!("completions", shown);
    // One item whole: a strategy call with its meaning, replacing nothing typed yet.
    let strategy_at = at[7].clone();
    let reply = c.request(
        "textDocument/completion",
        json!({ "textDocument": { "uri": URI }, "position": strategy_at }),
    );
    insta::assert_json_snapshot!("completion-strategy-item", reply["result"][0]);
    c.stop();
}

#[test]
fn hovers_explain_metrics_strategies_and_operators() {
    let (mut c, _) = Client::start(&[]);
    let text = "job j {\n  strategy = rsi_reversion(period = 5..30, lower = 10..40, upper = 60..90)\n  fitness = sortino - max_drawdown\n  mutation = gaussian(sigma = 0.1)\n  selection = rank\n}\nmonitor m {\n  job = j\n  alert { when = cluster_utilization < 50%  action = notify }\n}\n";
    c.open(text);
    let hovers: Vec<Value> = [at(1, 15), at(2, 13), at(2, 25), at(3, 15), at(4, 15), at(8, 20)]
        .into_iter()
        .map(|p| c.request("textDocument/hover", p)["result"].clone())
        .collect();
    assert!(hovers.iter().all(|h| h.is_object()), "{hovers:?}");
    insta::assert_json_snapshot!("hovers-meanings", hovers);
    c.stop();
}

/// Any sequence of edits and requests at any position (past line ends, inside characters,
/// on lines that do not exist) gets a reply, and the server ends cleanly after it.
#[test]
fn random_edits_and_requests_anywhere_always_get_a_reply() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(13);
    let pieces =
        ["{", "}", "[", "(", "\"", "=", " ", "\n", "é", "😊", "market", "c5.", ",", "#", "\r\n", "rank("];
    let example =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/seed-production.gaf"))
            .expect("the example");
    let methods = [
        "textDocument/completion",
        "textDocument/hover",
        "textDocument/definition",
        "textDocument/references",
        "textDocument/prepareRename",
        "textDocument/rename",
        "textDocument/codeAction",
        "textDocument/documentSymbol",
        "textDocument/formatting",
    ];
    let (mut c, _) = Client::start(&[]);
    c.open(&example);
    let lines = example.lines().count() as u32;
    for version in 2..400 {
        let at = |rng: &mut rand::rngs::StdRng| json!({ "line": rng.random_range(0..lines + 2), "character": rng.random_range(0..90) });
        let (start, end) = (at(&mut rng), at(&mut rng));
        let (start, end) = if (start["line"].as_u64(), start["character"].as_u64())
            <= (end["line"].as_u64(), end["character"].as_u64())
        {
            (start, end)
        } else {
            (end, start)
        };
        let text: String =
            (0..rng.random_range(0..3)).map(|_| pieces[rng.random_range(0..pieces.len())]).collect();
        c.change(version, json!([{ "range": { "start": start, "end": end }, "text": text }]));
        let method = methods[rng.random_range(0..methods.len())];
        let position = at(&mut rng);
        let params = json!({
            "textDocument": { "uri": URI },
            "position": position,
            "newName": "renamed",
            "context": { "includeDeclaration": true, "diagnostics": [] },
            "range": { "start": position, "end": position },
            "options": { "tabSize": 2, "insertSpaces": true },
        });
        let reply = c.request(method, params);
        assert!(reply.get("result").is_some() || reply["error"].is_object(), "{method}: {reply}");
    }
    c.stop();
}

#[test]
fn in_a_strategy_rule_the_genes_series_and_indicators_are_offered_and_explained() {
    let (mut c, _) = Client::start(&[]);
    // The second block is being written: its genes are read off the text.
    let (text, cursor) = cursors(concat!(
        "strategy cross {\n  genes {\n    fast = 5..50\n    ma   = [sma, ema]\n  }\n  entry = crosses_above(ma(close, fast), |)\n}\n",
        "strategy draft {\n  genes {\n    n = 10..40\n  }\n  exit = close < sma(|",
    ));
    c.open(&text);
    let mut labels = |position: &Value| -> Vec<String> {
        let reply = c.request(
            "textDocument/completion",
            json!({ "textDocument": { "uri": URI }, "position": position }),
        );
        reply["result"].as_array().unwrap().iter().map(|i| i["label"].as_str().unwrap().to_string()).collect()
    };
    let in_rule = labels(&cursor[0]);
    for word in ["fast", "ma", "close", "volume", "sma", "macd", "vwap", "crosses_below", "lag", "not"] {
        assert!(in_rule.contains(&word.to_string()), "{word} not offered in a rule: {in_rule:?}");
    }
    assert!(
        in_rule.iter().position(|l| l == "fast") < in_rule.iter().position(|l| l == "close"),
        "genes first"
    );
    let in_call = labels(&cursor[1]);
    assert_eq!(in_call[..3], ["x", "n", "n"], "sma's parameters, then the draft's gene: {in_call:?}");
    assert!(in_call.contains(&"close".to_string()), "{in_call:?}");
    c.stop();
    let (mut c, _) = Client::start(&[]);
    let text = "strategy cross {\n  genes {\n    fast = 5..50\n  }\n  entry = bollinger(close, fast, 2.0).upper < close\n}\n";
    c.open(text);
    let mut hover = |line: u32, character: u32| {
        c.request("textDocument/hover", at(line, character))["result"]["contents"]["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let indicator = hover(4, 12);
    assert!(
        indicator.contains("bollinger(x, n, k)")
            && indicator.contains("rolling(n).std(ddof=0)")
            && indicator.contains(".upper"),
        "{indicator}"
    );
    let gene = hover(4, 28);
    assert!(gene.contains("fast = 5..50") && gene.contains("strategy `cross`"), "{gene}");
    let series = hover(4, 22);
    assert!(series.contains("price series"), "{series}");
    c.stop();
}

#[test]
fn rename_follows_a_gene_through_its_rules_and_jobs_and_a_strategy_into_its_jobs() {
    let (mut c, _) = Client::start(&[]);
    let text = concat!(
        "strategy cross {\n",
        "  genes {\n    fast = 5..50\n    ma = [sma, ema]\n  }\n",
        "  entry = crosses_above(ma(close, fast), sma(close, 60)) and fast < 40\n",
        "}\n",
        "job j {\n  strategy = cross(fast = 10..20)\n}\n",
    );
    c.open(text);
    let rename = |c: &mut Client, line: u32, character: u32, new: &str| -> Value {
        let mut r = at(line, character);
        r["newName"] = json!(new);
        c.request("textDocument/rename", r)
    };
    // `fast` where declared: the declaration, both uses in the rule and the job's narrowing.
    let renamed = rename(&mut c, 2, 5, "quick");
    let edits = renamed["result"]["changes"][URI].as_array().unwrap().clone();
    let ranges: Vec<Value> = edits.iter().map(|e| e["range"].clone()).collect();
    assert_eq!(
        ranges,
        [range(2, 4, 2, 8), range(5, 34, 5, 38), range(5, 61, 5, 65), range(8, 19, 8, 23)],
        "{renamed}"
    );
    // The gene that picks an indicator, from its call in the rule.
    let ma = rename(&mut c, 5, 24, "average");
    assert_eq!(ma["result"]["changes"][URI].as_array().unwrap().len(), 2, "{ma}");
    // The strategy, from the job that names it.
    let strategy = rename(&mut c, 8, 14, "crossing");
    let ranges: Vec<Value> =
        strategy["result"]["changes"][URI].as_array().unwrap().iter().map(|e| e["range"].clone()).collect();
    assert_eq!(ranges, [range(0, 9, 0, 14), range(8, 13, 8, 18)], "{strategy}");
    // Not to a price series, nor to a reserved word.
    let refused = rename(&mut c, 2, 5, "close");
    assert!(refused["error"]["message"].as_str().unwrap_or_default().contains("already taken"), "{refused}");
    let refused = rename(&mut c, 2, 5, "and");
    assert!(refused["error"]["message"].as_str().unwrap_or_default().contains("is not a name"), "{refused}");
    c.stop();
}
