"""Settings → Integrations shows, for every client profile and each way it signs in, exactly
what `dot-setup show` prints: the same block (per OS), command, install links, steps and
fields, from the same guide. A link never carries a token; a generated token fills the
API-token blocks of that one response and is not shown again.
"""

from __future__ import annotations

import base64
import html
import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from tests.helpers import run
from tests.server.live import ANALYST, PASSWORD, LiveServer

from dot_setup.engine.auth import allowed_auth
from dot_setup.profiles.loader import get_service, load_clients
from dot_setup.server.headless import HeadlessBrowser

MCP_TOKEN = re.compile(r"dot_mcp_us_[A-Za-z0-9_-]{20,}")


@pytest.fixture(scope="module")
def analyst(server: LiveServer) -> Iterator[HeadlessBrowser]:
    with HeadlessBrowser(ANALYST, PASSWORD) as browser:
        browser.login(server.origin + "/settings/integrations")
        yield browser


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def shown_on_page(page: str) -> dict[str, Any]:
    section = re.search(r"<section id=client .*?</section>", page, re.S)
    assert section, page[:500]
    s = section.group(0)
    blocks = {
        os_name: html.unescape(body)
        for os_name, body in re.findall(
            r"<pre id=block-\w+ data-block data-os=(\w+)>(.*?)</pre>", s, re.S
        )
    }
    command = re.search(r"<pre id=command data-command>(.*?)</pre>", s, re.S)
    steps = re.search(r"<ol data-steps>(.*?)</ol>", s, re.S)
    fields = re.findall(
        r"<dt>(.*?)</dt><dd><div class=copyable><(?:pre|code) id=field-\d+ >(.*?)</(?:pre|code)>",
        s,
        re.S,
    )
    return {
        "client": re.search(r"data-client='([^']*)'", s).group(1),  # type: ignore[union-attr]
        "auth": re.search(r"data-auth='([^']*)'", s).group(1),  # type: ignore[union-attr]
        "blocks": blocks,
        "command": html.unescape(command.group(1)) if command else "",
        "links": [
            {"label": _text(label), "url": html.unescape(url)}
            for url, label in re.findall(r"<a class=button data-link href='([^']*)'>(.*?)</a>", s)
        ],
        "steps": [_text(li) for li in re.findall(r"<li>(.*?)</li>", steps.group(1), re.S)]
        if steps
        else [],
        "fields": [{"label": _text(k), "value": html.unescape(v)} for k, v in fields],
        "next_step": _text(re.search(r"<b>Then:</b> (.*?)</p>", s, re.S).group(1)),  # type: ignore[union-attr]
    }


def shown_by_cli(
    live: LiveServer, client: str, auth: str, os_name: str, monkeypatch: Any
) -> dict[str, Any]:
    from dot_setup.engine.guide import default_target

    monkeypatch.setenv("DOT_SETUP_OS", os_name)
    target = default_target(load_clients()[client])
    scope = ("--scope", target.scope) if target else ()
    args = ("-c", client, "--auth", auth, "--server-url", live.mcp_url, *scope)
    r = run("show", *args, "--json", "--no-clipboard")
    assert r.code == 0, r.err
    data: dict[str, Any] = r.json()["data"]
    return data


def _cases() -> list[tuple[str, str]]:
    service = get_service("dot")
    return [
        (cid, auth)
        for cid, profile in sorted(load_clients().items())
        for auth in allowed_auth(profile, service)
    ]


@pytest.mark.parametrize(("client", "auth"), _cases())
def test_the_page_shows_what_dot_setup_show_prints(
    server: LiveServer,
    analyst: HeadlessBrowser,
    client: str,
    auth: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    page = analyst.http.get(
        server.origin + "/settings/integrations", params={"client": client, "auth": auth}
    )
    assert page.status_code == 200
    web = shown_on_page(page.text)
    assert (web["client"], web["auth"]) == (client, auth)
    cli = shown_by_cli(server, client, auth, "linux", monkeypatch)
    assert web["command"] == cli["command"]
    assert web["links"] == cli["links"]
    assert web["next_step"] == cli["next_step"]
    if "block" in cli:
        assert web["blocks"]["linux"] == cli["block"]
        windows = shown_by_cli(server, client, auth, "windows", monkeypatch)["block"]
        assert web["blocks"].get("windows", web["blocks"]["linux"]) == windows
    else:
        assert web["steps"] == cli["steps"]
        assert web["fields"] == cli["fields"]
    if auth == "token":
        assert web["links"] == []  # a link never carries a token
        assert "<YOUR_MCP_TOKEN>" in json.dumps(web)


def test_every_client_is_in_the_picker_in_its_group(
    server: LiveServer, analyst: HeadlessBrowser
) -> None:
    page = analyst.http.get(server.origin + "/settings/integrations").text
    picker = re.search(r"<nav aria-label='Clients' class=picker>(.*?)</nav>", page, re.S)
    assert picker
    groups = dict(re.findall(r"<h3>(.*?)</h3><ul>(.*?)</ul>", picker.group(1), re.S))
    assert list(groups) == [
        "Desktop apps",
        "IDEs and editors",
        "Command-line agents",
        "In-app connectors",
        "Other",
    ]
    for cid, profile in load_clients().items():
        assert f"client={cid}&amp;" in groups[html.escape(_group(profile.category))], cid


def _group(category: str) -> str:
    from dot_setup.server.integrations import GROUPS

    return GROUPS[category]


def test_add_to_cursor_decodes_to_the_entry_install_writes(
    server: LiveServer, analyst: HeadlessBrowser, fake_home: Any
) -> None:
    page = analyst.http.get(
        server.origin + "/settings/integrations", params={"client": "cursor", "auth": "oauth"}
    )
    (link,) = shown_on_page(page.text)["links"]
    assert link["label"] == "Add to Cursor"
    parts = urlsplit(link["url"])
    assert (parts.scheme, parts.netloc, parts.path) == (
        "cursor",
        "anysphere.cursor-deeplink",
        "/mcp/install",
    )
    query = parse_qs(parts.query)
    assert query["name"] == ["dot"]
    entry = json.loads(base64.b64decode(query["config"][0]))
    r = run("install", "-c", "cursor", "--auth", "oauth", "--server-url", server.mcp_url, "--yes")
    assert r.code == 0, r.err
    written = json.loads((fake_home / ".cursor" / "mcp.json").read_text())["mcpServers"]["dot"]
    assert entry == written == {"url": server.mcp_url}


def test_vscode_and_goose_links(server: LiveServer, analyst: HeadlessBrowser) -> None:
    vscode = shown_on_page(
        analyst.http.get(server.origin + "/settings/integrations?client=vscode&auth=oauth").text
    )
    assert json.loads(unquote(vscode["links"][0]["url"].split("?", 1)[1])) == {
        "name": "dot",
        "type": "http",
        "url": server.mcp_url,
    }
    goose = shown_on_page(
        analyst.http.get(server.origin + "/settings/integrations?client=goose&auth=oauth").text
    )
    query = parse_qs(urlsplit(goose["links"][0]["url"]).query)
    assert query["type"] == ["streamable_http"] and query["url"] == [server.mcp_url]


def test_generate_fills_the_token_into_that_response_only(fresh_server: LiveServer) -> None:
    live = fresh_server
    with HeadlessBrowser(ANALYST, PASSWORD) as browser:
        url = live.origin + "/settings/integrations"
        browser.login(url)
        page = browser.http.get(url, params={"client": "claude-code", "auth": "token"})
        csrf = re.search(r"name='csrf' value='([^']*)'", page.text).group(1)  # type: ignore[union-attr]
        made = browser.http.post(url + "/mcp-token", data={"csrf": csrf, "client": "claude-code"})
        assert made.status_code == 201
        tokens = set(MCP_TOKEN.findall(made.text))
        assert len(tokens) == 1
        token = tokens.pop()
        shown = shown_on_page(made.text)
        assert (shown["client"], shown["auth"]) == ("claude-code", "token")
        assert f"Bearer {token}" in shown["blocks"]["linux"] and token in shown["command"]
        assert "<YOUR_MCP_TOKEN>" not in json.dumps(shown)
        again = browser.http.get(url, params={"client": "claude-code", "auth": "token"})
        assert token not in again.text and "&lt;YOUR_MCP_TOKEN&gt;" in again.text
