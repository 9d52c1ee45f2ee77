//! `gaform lsp`: the language server. A synchronous loop over `lsp-server` (as
//! rust-analyzer's): every message waiting is handled in order, then each document whose
//! text changed is checked once, with no debounce (reparsing only the items an edit
//! touched), and its diagnostics are published when they differ from the last ones sent. Diagnostics are the compiler's, converted without
//! loss (`diagnostics`); quick fixes apply their did-you-mean; formatting is `gaform fmt`;
//! the outline and hovers come from the parse (`outline`, `hover`); completions from the
//! text before the cursor and the compiler's schema (`context`, `complete`).

mod complete;
mod context;
mod diagnostics;
mod hover;
mod names;
mod outline;
mod text;

use text::{Encoding, Text};

use gaform_compiler::ast::File;
use gaform_compiler::source::SourceFile;
use gaform_compiler::{CheckOptions, Host};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, Notification as _, PublishDiagnostics,
};
use lsp_types::request::{
    CodeActionRequest, Completion, DocumentSymbolRequest, Formatting, GotoDefinition, HoverRequest,
    PrepareRenameRequest, References, Rename, Request as _,
};
use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionProviderCapability,
    CompletionOptions, CompletionParams, DocumentFormattingParams, DocumentSymbolParams,
    GotoDefinitionParams, HoverParams, HoverProviderCapability, InitializeParams, Location, OneOf,
    PositionEncodingKind, PublishDiagnosticsParams, ReferenceParams, RenameOptions, RenameParams,
    ServerCapabilities, TextDocumentPositionParams, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextEdit, Uri, WorkspaceEdit,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Makes the compiler's host for a document at a path (data files are relative to it).
pub type Hosts<'a> = &'a dyn Fn(&Path) -> Box<dyn Host>;

/// One open document.
struct Document {
    text: Text,
    version: i32,
    /// The diagnostics of the current text, once it has been checked.
    checked: Option<Vec<lsp_types::Diagnostic>>,
    /// What was last published for it.
    published: Option<Vec<lsp_types::Diagnostic>>,
    /// The last check's parse, which the next check reparses from and every request reads.
    parsed: Option<gaform_compiler::parse::Parsed>,
}

/// What a document's parse is before it has one (never seen: a check always leaves one).
static NO_FILE: File = File { items: Vec::new() };

impl Document {
    /// The current text's diagnostics, checked at most once per text: publishing and quick
    /// fixes share them.
    fn diagnostics(&mut self, uri: &Uri, hosts: Hosts<'_>, encoding: Encoding) -> &[lsp_types::Diagnostic] {
        self.checked.get_or_insert_with(|| check(uri, &self.text, &mut self.parsed, hosts, encoding))
    }

    /// The current text and its parse, checking the text first if it changed: requests read
    /// the parse the diagnostics came from instead of parsing again.
    fn parsed(&mut self, uri: &Uri, hosts: Hosts<'_>, encoding: Encoding) -> (&Text, &File) {
        self.diagnostics(uri, hosts, encoding);
        (&self.text, self.parsed.as_ref().map_or(&NO_FILE, |p| p.file()))
    }
}

/// The server's state between messages.
struct Server<'a> {
    connection: &'a Connection,
    hosts: Hosts<'a>,
    encoding: Encoding,
    documents: HashMap<String, (Uri, Document)>,
}

/// Serves a client on standard input and output until its `exit` (`gaform lsp`).
pub fn serve_stdio(hosts: Hosts<'_>) -> Result<(), String> {
    let (connection, threads) = Connection::stdio();
    run(&connection, hosts)?;
    drop(connection);
    threads.join().map_err(|e| format!("the server's input or output failed: {e}"))
}

/// Serves `connection` until the client's `exit`. `hosts` gives each document's compiler host.
pub fn run(connection: &Connection, hosts: Hosts<'_>) -> Result<(), String> {
    let (id, params) = connection.initialize_start().map_err(|e| e.to_string())?;
    let params: InitializeParams = serde_json::from_value(params).map_err(|e| e.to_string())?;
    let offered = params.capabilities.general.and_then(|g| g.position_encodings).unwrap_or_default();
    let encoding =
        if offered.contains(&PositionEncodingKind::UTF8) { Encoding::Utf8 } else { Encoding::Utf16 };
    let capabilities = ServerCapabilities {
        position_encoding: Some(match encoding {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
        }),
        text_document_sync: Some(TextDocumentSyncCapability::Kind(TextDocumentSyncKind::INCREMENTAL)),
        code_action_provider: Some(CodeActionProviderCapability::Simple(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        document_symbol_provider: Some(OneOf::Left(true)),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            // Values start after `=`, `[`, `,` or `(`, and instance types inside a string.
            trigger_characters: Some(["=", "\"", "[", ",", "("].map(String::from).to_vec()),
            ..CompletionOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        references_provider: Some(OneOf::Left(true)),
        rename_provider: Some(OneOf::Right(RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        ..ServerCapabilities::default()
    };
    let result = serde_json::json!({
        "capabilities": capabilities,
        "serverInfo": { "name": "gaform", "version": env!("CARGO_PKG_VERSION") },
    });
    connection.initialize_finish(id, result).map_err(|e| e.to_string())?;
    let mut server = Server { connection, hosts, encoding, documents: HashMap::new() };
    server.serve()
}

impl Server<'_> {
    fn serve(&mut self) -> Result<(), String> {
        while let Ok(first) = self.connection.receiver.recv() {
            // Everything already queued is handled before checking: a burst of keystrokes
            // is checked once, on its last text.
            let mut batch = vec![first];
            batch.extend(self.connection.receiver.try_iter());
            let mut dirty = Vec::new();
            for message in batch {
                match message {
                    Message::Request(request) => {
                        if self.connection.handle_shutdown(&request).map_err(|e| e.to_string())? {
                            return Ok(());
                        }
                        self.reply(request)?;
                    }
                    Message::Notification(n) => dirty.extend(self.notified(n)),
                    Message::Response(_) => {}
                }
            }
            dirty.sort();
            dirty.dedup();
            for key in dirty {
                self.publish(&key)?;
            }
        }
        Ok(())
    }

    /// Takes in a notification; the document it changed, if any.
    fn notified(&mut self, n: Notification) -> Option<String> {
        match n.method.as_str() {
            DidOpenTextDocument::METHOD => {
                let p: lsp_types::DidOpenTextDocumentParams = serde_json::from_value(n.params).ok()?;
                let key = p.text_document.uri.as_str().to_string();
                let document = Document {
                    text: Text::new(p.text_document.text),
                    version: p.text_document.version,
                    checked: None,
                    published: None,
                    parsed: None,
                };
                self.documents.insert(key.clone(), (p.text_document.uri, document));
                Some(key)
            }
            DidChangeTextDocument::METHOD => {
                let p: lsp_types::DidChangeTextDocumentParams = serde_json::from_value(n.params).ok()?;
                let key = p.text_document.uri.as_str().to_string();
                let (_, document) = self.documents.get_mut(&key)?;
                for change in &p.content_changes {
                    document.text.apply(change, self.encoding);
                }
                document.version = p.text_document.version;
                document.checked = None;
                Some(key)
            }
            DidCloseTextDocument::METHOD => {
                let p: lsp_types::DidCloseTextDocumentParams = serde_json::from_value(n.params).ok()?;
                let uri = p.text_document.uri;
                if self.documents.remove(uri.as_str()).is_some() {
                    let _ = self.send_diagnostics(uri, Vec::new(), None);
                }
                None
            }
            _ => None,
        }
    }

    /// Checks the document at `key` and publishes its diagnostics if they changed.
    fn publish(&mut self, key: &str) -> Result<(), String> {
        let encoding = self.encoding;
        let hosts = self.hosts;
        let Some((uri, document)) = self.documents.get_mut(key) else { return Ok(()) };
        let found = document.diagnostics(uri, hosts, encoding).to_vec();
        if document.published.as_ref() == Some(&found) {
            return Ok(());
        }
        document.published = Some(found.clone());
        let (uri, version) = (uri.clone(), document.version);
        self.send_diagnostics(uri, found, Some(version))
    }

    fn send_diagnostics(
        &self,
        uri: Uri,
        diagnostics: Vec<lsp_types::Diagnostic>,
        version: Option<i32>,
    ) -> Result<(), String> {
        let params = PublishDiagnosticsParams { uri, diagnostics, version };
        let n = Notification::new(PublishDiagnostics::METHOD.to_string(), params);
        self.connection.sender.send(Message::Notification(n)).map_err(|e| e.to_string())
    }

    fn reply(&mut self, request: Request) -> Result<(), String> {
        let id = request.id.clone();
        let response = match request.method.as_str() {
            CodeActionRequest::METHOD => {
                self.with_params(request, |s, p: CodeActionParams| s.code_actions(&p))
            }
            Formatting::METHOD => self.with_params(request, |s, p: DocumentFormattingParams| s.format(&p)),
            HoverRequest::METHOD => self.with_params(request, |s, p: HoverParams| {
                let at = p.text_document_position_params;
                let encoding = s.encoding;
                let (text, file) = s.parsed(&at.text_document.uri)?;
                to_json(hover::hover(text, file, at.position, encoding))
            }),
            Completion::METHOD => self.with_params(request, |s, p: CompletionParams| {
                let at = p.text_document_position;
                let encoding = s.encoding;
                let (text, file) = s.parsed(&at.text_document.uri)?;
                to_json(complete::complete(text, file, at.position, encoding))
            }),
            GotoDefinition::METHOD => self.with_params(request, |s, p: GotoDefinitionParams| {
                let found = s.occurrences(&p.text_document_position_params)?;
                let first = found.and_then(|(uri, all)| {
                    all.into_iter().find(|(_, d)| *d).map(|(r, _)| Location { uri, range: r })
                });
                to_json(first)
            }),
            References::METHOD => self.with_params(request, |s, p: ReferenceParams| {
                let found = s.occurrences(&p.text_document_position)?;
                let with_definition = p.context.include_declaration;
                let locations: Vec<Location> = found.map_or_else(Vec::new, |(uri, all)| {
                    all.into_iter()
                        .filter(|(_, d)| with_definition || !d)
                        .map(|(range, _)| Location { uri: uri.clone(), range })
                        .collect()
                });
                to_json(locations)
            }),
            PrepareRenameRequest::METHOD => self.with_params(request, |s, p: TextDocumentPositionParams| {
                let encoding = s.encoding;
                let (text, file) = s.parsed(&p.text_document.uri)?;
                let offset = text.offset(p.position, encoding);
                let under = names::index(file)
                    .into_iter()
                    .find(|(_, o)| o.start <= offset && offset <= o.end)
                    .map(|(_, o)| text.range(o.start, o.end, encoding));
                match under {
                    Some(range) => to_json(range),
                    None => {
                        Err((ErrorCode::RequestFailed, "there is no block or let name here to rename".into()))
                    }
                }
            }),
            Rename::METHOD => self.with_params(request, |s, p: RenameParams| s.rename(&p)),
            DocumentSymbolRequest::METHOD => self.with_params(request, |s, p: DocumentSymbolParams| {
                let encoding = s.encoding;
                let (text, file) = s.parsed(&p.text_document.uri)?;
                to_json(outline::symbols(text, file, encoding))
            }),
            other => Err((ErrorCode::MethodNotFound, format!("gaform's server does not answer `{other}`"))),
        };
        let response = match response {
            Ok(result) => Response { id, result: Some(result), error: None },
            Err((code, message)) => Response::new_err(id, code as i32, message),
        };
        self.connection.sender.send(Message::Response(response)).map_err(|e| e.to_string())
    }

    fn with_params<P: serde::de::DeserializeOwned>(
        &mut self,
        request: Request,
        answer: impl FnOnce(&mut Self, P) -> Result<serde_json::Value, (ErrorCode, String)>,
    ) -> Result<serde_json::Value, (ErrorCode, String)> {
        let params =
            serde_json::from_value(request.params).map_err(|e| (ErrorCode::InvalidParams, e.to_string()))?;
        answer(self, params)
    }

    fn document(&self, uri: &Uri) -> Result<&(Uri, Document), (ErrorCode, String)> {
        self.documents
            .get(uri.as_str())
            .ok_or_else(|| (ErrorCode::InvalidParams, format!("{} is not open", uri.as_str())))
    }

    /// The document's text and parse (see `Document::parsed`).
    fn parsed(&mut self, uri: &Uri) -> Result<(&Text, &File), (ErrorCode, String)> {
        let (hosts, encoding) = (self.hosts, self.encoding);
        let (stored, document) = self
            .documents
            .get_mut(uri.as_str())
            .ok_or_else(|| (ErrorCode::InvalidParams, format!("{} is not open", uri.as_str())))?;
        Ok(document.parsed(stored, hosts, encoding))
    }

    /// Every occurrence (range, and whether it is the definition) of the name at a position.
    #[allow(clippy::type_complexity)]
    fn occurrences(
        &mut self,
        at: &TextDocumentPositionParams,
    ) -> Result<Option<(Uri, Vec<(lsp_types::Range, bool)>)>, (ErrorCode, String)> {
        let encoding = self.encoding;
        let (text, file) = self.parsed(&at.text_document.uri)?;
        let offset = text.offset(at.position, encoding);
        Ok(names::occurrences(&names::index(file), offset).map(|(_, all)| {
            let ranges =
                all.into_iter().map(|o| (text.range(o.start, o.end, encoding), o.definition)).collect();
            (at.text_document.uri.clone(), ranges)
        }))
    }

    /// Renames the name at a position everywhere it is written, refusing a name that is
    /// not one or is taken by another of its kind.
    // `WorkspaceEdit` keys its changes by `Uri`, whose parsed form clippy takes for
    // interior mutability; nothing mutates a key here.
    #[allow(clippy::mutable_key_type)]
    fn rename(&mut self, p: &RenameParams) -> Result<serde_json::Value, (ErrorCode, String)> {
        let at = &p.text_document_position;
        let new = &p.new_name;
        if !names::is_valid_name(new) {
            return Err((
                ErrorCode::RequestFailed,
                format!("`{new}` is not a name (letters, digits, `_` and `-`, not first a digit)"),
            ));
        }
        let encoding = self.encoding;
        let (text, file) = self.parsed(&at.text_document.uri)?;
        let offset = text.offset(at.position, encoding);
        let index = names::index(file);
        let Some((target, all)) = names::occurrences(&index, offset) else {
            return Err((ErrorCode::RequestFailed, "there is no block or let name here to rename".into()));
        };
        if names::taken(&index, &target, new) {
            return Err((
                ErrorCode::RequestFailed,
                format!("`{new}` is already taken by another of its kind"),
            ));
        }
        let edits: Vec<TextEdit> = all
            .into_iter()
            .map(|o| TextEdit { range: text.range(o.start, o.end, encoding), new_text: new.clone() })
            .collect();
        let changes = std::iter::once((at.text_document.uri.clone(), edits)).collect();
        to_json(WorkspaceEdit { changes: Some(changes), ..WorkspaceEdit::default() })
    }

    /// The did-you-mean fixes of the diagnostics in the requested range.
    fn code_actions(&mut self, p: &CodeActionParams) -> Result<serde_json::Value, (ErrorCode, String)> {
        let (hosts, encoding) = (self.hosts, self.encoding);
        let key = p.text_document.uri.as_str();
        let (uri, document) = self
            .documents
            .get_mut(key)
            .ok_or_else(|| (ErrorCode::InvalidParams, format!("{key} is not open")))?;
        let found = document.diagnostics(uri, hosts, encoding).to_vec();
        let touches = |r: &lsp_types::Range| r.start <= p.range.end && p.range.start <= r.end;
        let actions: Vec<CodeActionOrCommand> = found
            .into_iter()
            .filter(|d| touches(&d.range))
            .filter_map(|d| {
                let data: diagnostics::Data = serde_json::from_value(d.data.clone()?).ok()?;
                let (range, new_text) = data.suggestion?;
                let edit = WorkspaceEdit {
                    changes: Some(
                        std::iter::once((uri.clone(), vec![TextEdit { range, new_text: new_text.clone() }]))
                            .collect(),
                    ),
                    ..WorkspaceEdit::default()
                };
                Some(CodeActionOrCommand::CodeAction(CodeAction {
                    title: format!("Replace with {new_text}"),
                    kind: Some(CodeActionKind::QUICKFIX),
                    diagnostics: Some(vec![d]),
                    edit: Some(edit),
                    is_preferred: Some(true),
                    ..CodeAction::default()
                }))
            })
            .collect();
        serde_json::to_value(actions).map_err(|e| (ErrorCode::InternalError, e.to_string()))
    }

    /// `gaform fmt` of the document as one edit; nothing for a file that does not parse.
    fn format(&mut self, p: &DocumentFormattingParams) -> Result<serde_json::Value, (ErrorCode, String)> {
        let (uri, document) = self.document(&p.text_document.uri)?;
        let source = SourceFile::new(uri.as_str(), document.text.as_str());
        let Ok(formatted) = gaform_compiler::fmt::format(&source) else { return Ok(serde_json::Value::Null) };
        if formatted == document.text.as_str() {
            return Ok(serde_json::json!([]));
        }
        let all = document.text.range(0, document.text.as_str().len(), self.encoding);
        serde_json::to_value(vec![TextEdit { range: all, new_text: formatted }])
            .map_err(|e| (ErrorCode::InternalError, e.to_string()))
    }
}

fn to_json(value: impl serde::Serialize) -> Result<serde_json::Value, (ErrorCode, String)> {
    serde_json::to_value(value).map_err(|e| (ErrorCode::InternalError, e.to_string()))
}

/// The document's diagnostics, as `gaform check` finds them for the same text at its path
/// (reparsing only what changed since `parsed`).
fn check(
    uri: &Uri,
    text: &Text,
    parsed: &mut Option<gaform_compiler::parse::Parsed>,
    hosts: Hosts<'_>,
    encoding: Encoding,
) -> Vec<lsp_types::Diagnostic> {
    let path = file_path(uri);
    let name = path.as_ref().map_or_else(|| uri.as_str().to_string(), |p| p.display().to_string());
    let source = SourceFile::new(name, text.as_str());
    let base = path.as_deref().and_then(Path::parent).map(Path::to_path_buf).unwrap_or_default();
    let host = hosts(&base);
    let checked = gaform_compiler::check_again(&source, host.as_ref(), &CheckOptions::default(), parsed);
    diagnostics::convert(&checked.diagnostics, text, uri, encoding)
}

/// The file a `file://` URI names (percent-escapes decoded by the URI's own parser);
/// `None` for other schemes.
pub fn file_path(uri: &Uri) -> Option<PathBuf> {
    if uri.scheme().map(|s| s.as_str()) != Some("file") {
        return None;
    }
    let path = uri.path().as_estr().decode().into_bytes();
    Some(PathBuf::from(String::from_utf8_lossy(&path).into_owned()))
}

#[cfg(test)]
mod tests;
