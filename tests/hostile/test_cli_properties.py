"""Random and adversarial config files, through the real commands, for all four formats.

Each example writes a file for one client (strict JSON: Claude Code; JSONC: Cursor; TOML:
Codex; YAML: goose), built from a random document serialised in the client's format and then,
usually, damaged (cut short, bytes inserted, a byte that is not UTF-8, a BOM, CRLF, a duplicated
line, deep nesting, or plain noise). The file holds another server's secret under the keys
secrets stand under. Then one command runs in-process: install (OAuth or an MCP token on
stdin), install --dry-run, remove, list --json or doctor. Whatever the file:

- the exit code is 0, 1 or 2 (never 3, a crash);
- the file is unchanged unless the command succeeded and writes (install/remove, exit 0);
- neither the file's secret nor the token appears in any output, raw or JSON-escaped.

DOT_SETUP_PROPERTY_EXAMPLES sets the examples per format (default 25).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from tests.helpers import TOKEN, run

EXAMPLES = int(os.environ.get("DOT_SETUP_PROPERTY_EXAMPLES", "25"))
FILE_SECRET = "sk_live_Zq8PRoPeRtYsEcReT0a1b2c3d4"
CLOSED = "http://127.0.0.1:9/ai/mcp"  # the doctor's network checks fail at once

CLIENTS = {
    "json": ("claude-code", ".claude.json", ("mcpServers",)),
    "jsonc": ("cursor", ".cursor/mcp.json", ("mcpServers",)),
    "toml": ("codex", ".codex/config.toml", ("mcp_servers",)),
    "yaml": ("goose", ".config/goose/config.yaml", ("extensions",)),
}

_KEYS = st.sampled_from(["a", "model", "theme", "dot", "name", "url", "x y", "ü", "0", "k-1"])
_SCALARS = st.one_of(
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.text(st.characters(min_codepoint=32, max_codepoint=0x2FF), max_size=12),
    st.sampled_from(["https://example.com/mcp", "npx", "Bearer x", "${HOME}", "é\\n"]),
)


def _values(depth: int) -> st.SearchStrategy[Any]:
    if depth == 0:
        return _SCALARS
    inner = _values(depth - 1)
    return st.one_of(
        _SCALARS,
        st.lists(_SCALARS, max_size=3),
        st.dictionaries(_KEYS, inner, max_size=3),
    )


@st.composite
def documents(draw: st.DrawFn, fmt: str) -> dict[str, Any]:
    doc: dict[str, Any] = draw(st.dictionaries(_KEYS, _values(2), max_size=4))
    container = CLIENTS[fmt][2][0]
    if draw(st.booleans()):
        servers: dict[str, Any] = {
            "other": {
                "url": "https://other.example/mcp",
                "headers": {"Authorization": f"Bearer {FILE_SECRET}"},
            },
            "keyed": {"command": "srv", "env": {"API_KEY": FILE_SECRET}},
        }
        if draw(st.booleans()):
            servers["dot"] = draw(st.dictionaries(_KEYS, _SCALARS, max_size=3))
        doc[container] = servers
    else:
        doc["api_key"] = FILE_SECRET
    return doc


def _serialise(fmt: str, doc: dict[str, Any], indent: int) -> str:
    if fmt in ("json", "jsonc"):
        return json.dumps(doc, indent=indent or None, ensure_ascii=indent % 2 == 0) + "\n"
    if fmt == "toml":
        return tomlkit.dumps(doc)
    from ruamel.yaml import YAML

    yaml = YAML()
    buf = io.StringIO()
    yaml.dump(doc, buf)
    return buf.getvalue()


@st.composite
def damaged(draw: st.DrawFn, fmt: str) -> bytes:
    text = _serialise(fmt, draw(documents(fmt)), draw(st.sampled_from([0, 2, 4])))
    data = text.encode("utf-8")
    how = draw(
        st.sampled_from(
            ["none", "cut", "insert", "not-utf8", "bom", "crlf", "dup-line", "deep", "noise"]
        )
    )
    note(f"damage: {how}")
    at = draw(st.integers(0, len(data)))
    if how == "cut":
        data = data[:at]
    elif how == "insert":
        junk = draw(
            st.sampled_from(
                [b"{", b"}", b"[", b'"', b"\\", b"#", b":", b"\n  - ", b"\x00", b"\t", b"=", b"&"]
            )
        )
        data = data[:at] + junk + data[at:]
    elif how == "not-utf8":
        data = data[:at] + b"\xff\xfe" + data[at:]
    elif how == "bom":
        data = b"\xef\xbb\xbf" + data
    elif how == "crlf":
        data = data.replace(b"\n", b"\r\n")
    elif how == "dup-line":
        lines = data.splitlines(keepends=True)
        if lines:
            k = draw(st.integers(0, len(lines) - 1))
            data = b"".join([*lines[: k + 1], lines[k], *lines[k + 1 :]])
    elif how == "deep":
        data = b"[" * 5000 + data
    elif how == "noise":
        data = draw(st.binary(max_size=200)) + FILE_SECRET.encode()
    return data


COMMANDS = {
    "install-oauth": ("install", "--auth", "oauth", "--region", "us", "--yes"),
    "install-token": ("install", "--auth", "token", "--token-stdin", "--region", "us", "--yes"),
    "dry-run": ("install", "--auth", "token", "--token-stdin", "--region", "us", "--dry-run"),
    "remove": ("remove", "--yes"),
    "list": ("list", "--json"),
    "doctor": ("doctor", "--timeout", "1", "--json"),
}
WRITES = {"install-oauth", "install-token", "remove"}


def _secret_forms() -> list[str]:
    forms = []
    for secret in (FILE_SECRET, TOKEN):
        forms += [secret, json.dumps(secret)[1:-1], secret[8:]]
    return forms


@pytest.mark.parametrize("fmt", list(CLIENTS))
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_file_any_command(
    fake_home: Path, monkeypatch: pytest.MonkeyPatch, fmt: str, data: st.DataObject
) -> None:
    monkeypatch.setenv("DOT_SETUP_REGION_URLS", f"us={CLOSED},eu={CLOSED}")
    client, relative, _ = CLIENTS[fmt]
    path = fake_home / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    content = data.draw(damaged(fmt), label="file")
    path.write_bytes(content)
    command = data.draw(st.sampled_from(list(COMMANDS)), label="command")
    args = [*COMMANDS[command], "--client", client]
    if command == "list":
        args = list(COMMANDS[command])
    if command == "doctor":
        args += [f"client.{client}.*"]
    result = run(*args, stdin=TOKEN if "--token-stdin" in args else "")
    note(f"exit {result.code}\nstdout: {result.out[-2000:]}\nstderr: {result.err[-2000:]}")
    assert result.code in (0, 1, 2), result.err
    assert "Traceback" not in result.err and "internal error" not in result.err
    output = result.out + result.err
    for form in _secret_forms():
        assert form not in output, f"a secret appeared in the output of {command}"
    if not (command in WRITES and result.code == 0):
        assert path.read_bytes() == content, f"{command} exited {result.code} but changed the file"
