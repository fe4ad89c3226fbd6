"""`read_wiring` on every entry form the client profiles write, and `ps` elapsed times. No server."""

from __future__ import annotations

import pytest

from dot_setup.doctor.procs import _seconds
from dot_setup.doctor.wiring import read_wiring, var_ref

URL = "https://app.getdot.ai/ai/mcp"
TOKEN = "dot_mcp_us_t0k3nSECRETvalue9876543210"


def test_http_header_token() -> None:
    w = read_wiring({"url": URL, "headers": {"Authorization": f"Bearer {TOKEN}"}}, {})
    assert (w.transport, w.url, w.token, w.token_where) == (
        "http",
        URL,
        TOKEN,
        "Authorization header",
    )
    assert (w.token_var, w.token_var_set, w.header_with_space) == ("", False, False)


def test_codex_http_headers_key() -> None:
    w = read_wiring({"url": URL, "http_headers": {"authorization": f"Bearer {TOKEN}"}}, {})
    assert (w.transport, w.token) == ("http", TOKEN)


def test_cursor_env_reference_in_header() -> None:
    entry = {"url": URL, "headers": {"Authorization": "Bearer ${env:DOT_MCP_TOKEN}"}}
    unset = read_wiring(entry, {})
    assert (unset.token, unset.token_var, unset.token_var_set) == (None, "DOT_MCP_TOKEN", False)
    assert unset.token_where == "variable DOT_MCP_TOKEN"
    found = read_wiring(entry, {"DOT_MCP_TOKEN": TOKEN})
    assert (found.token, found.token_var, found.token_var_set) == (TOKEN, "DOT_MCP_TOKEN", True)


def test_opencode_brace_env_reference() -> None:
    entry = {"type": "remote", "url": URL, "headers": {"Authorization": "Bearer {env:DOT_TOKEN}"}}
    w = read_wiring(entry, {"DOT_TOKEN": TOKEN})
    assert (w.transport, w.token, w.token_var, w.token_var_set) == (
        "http",
        TOKEN,
        "DOT_TOKEN",
        True,
    )


def test_whole_header_from_variable() -> None:
    w = read_wiring(
        {"url": URL, "headers": {"Authorization": "${AUTH}"}}, {"AUTH": f"Bearer {TOKEN}"}
    )
    assert (w.token, w.token_var, w.token_where) == (TOKEN, "AUTH", "variable AUTH")


def test_codex_bearer_token_env_var() -> None:
    entry = {"url": URL, "bearer_token_env_var": "DOT_MCP_TOKEN", "tool_timeout_sec": 120}
    unset = read_wiring(entry, {})
    assert (unset.transport, unset.token, unset.token_var_set) == ("http", None, False)
    assert unset.token_where == "variable DOT_MCP_TOKEN"
    found = read_wiring(entry, {"DOT_MCP_TOKEN": TOKEN})
    assert (found.token, found.token_var, found.token_var_set) == (TOKEN, "DOT_MCP_TOKEN", True)


def test_mcp_remote_with_env_block() -> None:
    entry = {
        "command": "npx",
        "args": ["-y", "mcp-remote@0.15.1", URL, "--header", "Authorization:${AUTH_HEADER}"],
        "env": {"AUTH_HEADER": f"Bearer {TOKEN}"},
    }
    w = read_wiring(entry, {"AUTH_HEADER": "Bearer not-this-one"})
    assert (w.transport, w.url, w.token, w.token_where) == ("mcp-remote", URL, TOKEN, "env block")
    assert w.argv[:2] == ["npx", "-y"] and w.headers == {"Authorization": "${AUTH_HEADER}"}
    assert (w.token_var, w.header_with_space) == ("", False)


def test_mcp_remote_through_cmd_with_space_in_header() -> None:
    entry = {
        "command": "cmd",
        "args": [
            "/c",
            "npx",
            "-y",
            "mcp-remote@0.15.1",
            URL,
            "--header",
            f"Authorization: Bearer {TOKEN}",
        ],
    }
    w = read_wiring(entry, {})
    assert (w.transport, w.url, w.token, w.header_with_space) == ("mcp-remote", URL, TOKEN, True)


def test_mcp_remote_oauth_has_no_token() -> None:
    w = read_wiring({"command": "npx", "args": ["-y", "mcp-remote@0.15.1", URL]}, {})
    assert (w.transport, w.url, w.token, w.token_where, w.headers) == (
        "mcp-remote",
        URL,
        None,
        "",
        {},
    )


def test_other_command_is_stdio() -> None:
    w = read_wiring({"command": ["uvx", "dot-local"]}, {})
    assert (w.transport, w.argv, w.url) == ("stdio", ["uvx", "dot-local"], "")


def test_token_in_url_query() -> None:
    w = read_wiring({"serverUrl": f"{URL}?token={TOKEN}"}, {})
    assert (w.transport, w.token, w.token_where, w.base_url) == ("http", TOKEN, "URL", URL)
    assert w.query_token == TOKEN


def test_nothing_usable() -> None:
    w = read_wiring({"disabled": True}, {})
    assert (w.transport, w.url, w.token) == ("unknown", "", None)


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ("${env:A_1}", "A_1"),
        ("${B}", "B"),
        ("{env:C}", "C"),
        ("$D", "D"),
        ("Bearer x", ""),
        ("${1X}", ""),
    ],
)
def test_var_ref(value: str, name: str) -> None:
    assert var_ref(value) == name


@pytest.mark.parametrize(
    ("etime", "seconds"),
    [
        ("00:07", 7),
        ("  05:09", 309),
        ("01:02:03", 3723),
        ("2-03:04:05", 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
        ("12-00:00:00", 12 * 86400),
        ("", None),
        ("abc", None),
        ("1:2:3:4", None),
    ],
)
def test_ps_elapsed_seconds(etime: str, seconds: int | None) -> None:
    assert _seconds(etime) == seconds
