"""`gaform lsp` driven by pytest-lsp with the capabilities of VS Code (UTF-16 positions) and
of Neovim 0.11 (which offers UTF-8): open a file, receive its diagnostics, apply the quick
fix, complete, hover, rename and format, each reply checked by pytest-lsp against what that
client accepts.

Run by `cargo test` (tests/it/lsp.rs), which installs the pinned packages into
target/pytest-lsp and passes the binary in GAFORM_BIN."""

import os
import subprocess
import tempfile
from pathlib import Path

import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

GAFORM = os.environ["GAFORM_BIN"]
FOLDER = Path(tempfile.mkdtemp(prefix="gaform-editor-"))
PATH = FOLDER / "evo.gaf"
URI = PATH.as_uri()

# Non-ASCII before the typo on its line: its columns differ in UTF-8, UTF-16 and characters.
TEXT = (
    "cloud lab {  provider = aws  profile = \"é😊\"  region = \"us-wset-2\" }\n"
    "compute evo {\n"
    "  cloud = lab\n"
    "  head { instance_type = \"m5.large\" }\n"
    "  workers cpu {   instance_type = \"c5.large\"\n"
    "     max = 2\n"
    "     market = spot }\n"
    "}\n"
    "job search {\n"
    "  compute = evo\n"
    "  data = \"data/GOOG.csv\"\n"
    "  strategy = sma_crossover(fast = 2..20, slow = 20..100)\n"
    "  population = 20\n"
    "  generations = 5\n"
    "}\n"
)


# The client under test, and the position encoding the server must choose for it.
CLIENTS = {"visual-studio-code": "utf-16", "neovim@v0.11.0": "utf-8"}
encoding = "utf-16"


def units(text: str) -> int:
    """The length of `text` in the negotiated encoding's code units."""
    return len(text.encode("utf-16-le")) // 2 if encoding == "utf-16" else len(text.encode("utf-8"))


def offset(text: str, position: types.Position) -> int:
    """The character index of an LSP position."""
    lines = text.split("\n")
    start = sum(len(line) + 1 for line in lines[: position.line])
    line = lines[position.line]
    counted = 0
    for i, ch in enumerate(line):
        if counted >= position.character:
            return start + i
        counted += units(ch)
    return start + len(line)


def apply(text: str, edits) -> str:
    """Applies text edits as an editor does: from the last to the first."""
    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: offset(text, edit.range.start)] + edit.new_text + text[offset(text, edit.range.end) :]
    return text


def position_of(text: str, needle: str, after: int = 0) -> types.Position:
    index = text.index(needle) + after
    line = text.count("\n", 0, index)
    column = index - (text.rfind("\n", 0, index) + 1)
    return types.Position(line=line, character=units(text.split("\n")[line][:column]))


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[GAFORM, "lsp"]), params=list(CLIENTS))
async def client(lsp_client: LanguageClient, request):
    global encoding
    result = await lsp_client.initialize_session(
        types.InitializeParams(capabilities=client_capabilities(request.param), root_uri=FOLDER.as_uri())
    )
    encoding = CLIENTS[request.param]
    assert result.capabilities.position_encoding == encoding
    yield
    await lsp_client.shutdown_session()


async def test_open_fix_complete_hover_rename_format(client: LanguageClient):
    text = TEXT
    doc = types.VersionedTextDocumentIdentifier(uri=URI, version=1)
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=URI, language_id="gaform", version=1, text=text)
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    errors = [d for d in client.diagnostics[URI] if d.severity == types.DiagnosticSeverity.Error]
    assert [d.code for d in errors] == ["E0009"], client.diagnostics[URI]
    typo = errors[0]
    # The range is the string, counted in the negotiated units: é and 😊 differ in each.
    assert typo.range.start == position_of(text, '"us-wset-2"')
    assert typo.range.end == position_of(text, '"us-wset-2"', len('"us-wset-2"'))

    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=doc,
            range=typo.range,
            context=types.CodeActionContext(diagnostics=[typo]),
        )
    )
    fixes = [a for a in actions if isinstance(a, types.CodeAction) and a.kind == types.CodeActionKind.QuickFix]
    assert len(fixes) == 1, actions
    edits = fixes[0].edit.changes[URI]
    text = apply(text, edits)
    assert '"us-west-2"' in text
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=2),
            content_changes=[types.TextDocumentContentChangePartial(range=e.range, text=e.new_text) for e in edits],
        )
    )
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert [d for d in client.diagnostics[URI] if d.severity == types.DiagnosticSeverity.Error] == []

    completions = await client.text_document_completion_async(
        types.CompletionParams(text_document=doc, position=position_of(text, "market = ", len("market = ")))
    )
    items = completions.items if isinstance(completions, types.CompletionList) else completions
    assert [i.label for i in items] == ["spot", "on_demand"], items

    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=doc, position=position_of(text, "c5.large", 2))
    )
    assert "us-west-2" in hover.contents.value and "vCPUs" in hover.contents.value, hover

    renamed = await client.text_document_rename_async(
        types.RenameParams(text_document=doc, position=position_of(text, "compute evo", 9), new_name="research")
    )
    rename_edits = renamed.changes[URI]
    assert len(rename_edits) == 2, rename_edits
    text = apply(text, rename_edits)
    assert "compute research {" in text and "compute = research" in text
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=3),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )

    formatted = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=doc, options=types.FormattingOptions(tab_size=2, insert_spaces=True)
        )
    )
    text = apply(text, formatted)
    expected = subprocess.run([GAFORM, "fmt", "-"], input=text, capture_output=True, text=True, check=True)
    assert text == expected.stdout
    assert "  workers cpu {\n    instance_type = \"c5.large\"\n" in text, text
