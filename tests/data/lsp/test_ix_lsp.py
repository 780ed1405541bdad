"""`ix lsp` driven by pytest-lsp (a real LSP client library), run by tests/it/lsp_editors.rs.

IX_BIN is the `ix` binary, IX_FILE a copy of sweeps/demo.ix in a scratch folder.
"""

import os
import pathlib

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

IX = os.environ["IX_BIN"]
FILE = pathlib.Path(os.environ["IX_FILE"])
URI = FILE.as_uri()
TEXT = FILE.read_text()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[IX, "lsp", "--root", str(FILE.parent)]))
async def client(lsp_client: LanguageClient):
    params = types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=FILE.parent.as_uri()
    )
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


def pos(needle: str, offset: int = 0) -> types.Position:
    for line, text in enumerate(TEXT.splitlines()):
        if needle in text:
            return types.Position(line=line, character=text.index(needle) + offset)
    raise AssertionError(needle)


async def diagnostics_after(client: LanguageClient, notify) -> list:
    notify()
    await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return list(client.diagnostics.get(URI, []))


@pytest.mark.asyncio
async def test_type_an_error_see_it_fix_it_see_it_cleared(client: LanguageClient):
    open_params = types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=URI, language_id="ix", version=1, text=TEXT)
    )
    assert await diagnostics_after(client, lambda: client.text_document_did_open(open_params)) == []
    at = pos("framework sim-fast", 10)
    end = types.Position(line=at.line, character=at.character + 8)

    def edit(version: int, new: str, start=at, stop=end):
        return lambda: client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=URI, version=version),
                content_changes=[
                    types.TextDocumentContentChangePartial(range=types.Range(start=start, end=stop), text=new)
                ],
            )
        )

    diags = await diagnostics_after(client, edit(2, "sim-fsat"))
    assert len(diags) == 1
    assert diags[0].code == "ix::dsl::unknown-enum-value"
    assert diags[0].range == types.Range(start=at, end=end)
    assert "did you mean `sim-fast`?" in diags[0].message
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            range=diags[0].range,
            context=types.CodeActionContext(diagnostics=diags),
        )
    )
    assert actions[0].edit.changes[URI][0].new_text == "sim-fast"
    assert await diagnostics_after(client, edit(3, "sim-fast")) == []

    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=URI), position=pos("sweep tiny-fp32-local-sim-fast", 8))
    )
    assert "**3 job(s)**" in hover.contents.value
    definition = await client.text_document_definition_async(
        types.DefinitionParams(text_document=types.TextDocumentIdentifier(uri=URI), position=pos(": tiny {", 3))
    )
    assert definition.range.start.line == pos("template tiny").line
    completion = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=URI), position=pos("  precision fp32", 12))
    )
    items = completion.items if hasattr(completion, "items") else completion
    assert "fp32" in [item.label for item in items]
    symbols = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(text_document=types.TextDocumentIdentifier(uri=URI))
    )
    assert [s.name for s in symbols if s.detail == "sweep"] == [
        "tiny-fp32-local-sim",
        "tiny-fp32-local-sim-fast",
        "tiny-fp32-local-sim-slow",
    ]
    formatting = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=types.TextDocumentIdentifier(uri=URI),
            options=types.FormattingOptions(tab_size=2, insert_spaces=True),
        )
    )
    assert not formatting, formatting
