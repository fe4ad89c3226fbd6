"""Settings → Integrations in real Chromium, as a person uses it: pick the client, pick how it
signs in, read the block, command or steps, press Copy. What the page shows is compared with
what `dot-setup show` prints for the same client.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from tests.helpers import run
from tests.server.live import ANALYST, PASSWORD, LiveServer

from .conftest import Browser


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveServer]:
    with LiveServer(tmp_path / "dot-server") as server:
        yield server


def _cli(live: LiveServer, client: str, auth: str) -> dict[str, Any]:
    r = run(
        "show",
        "-c",
        client,
        "--auth",
        auth,
        "--server-url",
        live.mcp_url,
        "--json",
        "--no-clipboard",
    )
    assert r.code == 0, r.err
    data: dict[str, Any] = r.json()["data"]
    return data


def _open_client(browser: Browser, live: LiveServer, name: str, tab: str) -> None:
    browser.open(live.origin + "/login")
    if "Sign in" in browser.title():
        browser.sign_in(ANALYST, PASSWORD)
        browser.wait_for(lambda: "Settings" in browser.title())
    browser.click(name)  # in the client picker
    browser.wait_for(lambda: browser.by_css("#client-title").text == name)
    if tab:
        browser.click(tab)
        browser.wait_for(lambda: browser.by_css(".tabs [aria-current=page]").text == tab)


def _visible(browser: Browser, selector: str) -> str:
    """What a person sees in that element (the last line break of a <pre> aside)."""
    script = f"return document.querySelector({json.dumps(selector)}).innerText"
    return str(browser.driver.execute_script(script)).rstrip("\n")


@pytest.mark.parametrize(
    ("client", "name", "tab", "auth"),
    [
        ("cursor", "Cursor", "OAuth", "oauth"),
        ("claude-code", "Claude Code", "API token", "token"),
        ("claude-desktop", "Claude Desktop", "API token", "token"),
        ("chatgpt", "ChatGPT", "API token", "token"),
        ("raycast", "Raycast AI", "API token", "token"),
    ],
)
def test_a_client_as_dot_setup_show_prints_it(
    chromium: Browser, live: LiveServer, client: str, name: str, tab: str, auth: str
) -> None:
    _open_client(chromium, live, name, tab)
    chromium.shot(f"{client}-{auth}")
    cli = _cli(live, client, auth)
    if "block" in cli:
        assert _visible(chromium, "pre[data-block][data-os=linux]") == cli["block"].rstrip("\n")
    else:
        steps = [li.text for li in chromium.all_css("ol[data-steps] li")]
        assert steps == cli["steps"]
        values = [_visible(chromium, f"#field-{i}") for i in range(len(cli["fields"]))]
        assert values == [f["value"].rstrip("\n") for f in cli["fields"]]
    if cli["command"]:
        assert _visible(chromium, "pre[data-command]") == cli["command"]
    shown_links = [(a.text, a.get_attribute("href")) for a in chromium.all_css("a[data-link]")]
    assert shown_links == [(link["label"], link["url"]) for link in cli["links"]]


def test_add_to_cursor_and_copy(chromium: Browser, live: LiveServer) -> None:
    _open_client(chromium, live, "Cursor", "OAuth")
    link = chromium.by_css("a[data-link]")
    assert link.text == "Add to Cursor"
    query = parse_qs(urlsplit(link.get_attribute("href")).query)
    assert json.loads(base64.b64decode(query["config"][0])) == {"url": live.mcp_url}
    chromium.driver.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": live.origin, "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    button = chromium.by_css("button[data-copy=block-linux]")
    assert button.get_attribute("aria-label") == "Copy the Cursor configuration"
    button.click()
    chromium.wait_for(lambda: button.text == "Copied")
    chromium.shot("copied")
    copied = chromium.driver.execute_async_script(
        "const done = arguments[0]; navigator.clipboard.readText().then(done, e => done('ERR ' + e));"
    )
    assert copied.rstrip("\n") == _visible(chromium, "pre[data-block][data-os=linux]")


def test_generate_fills_the_blocks_once(chromium: Browser, live: LiveServer) -> None:
    _open_client(chromium, live, "Claude Code", "API token")
    assert "<YOUR_MCP_TOKEN>" in _visible(chromium, "pre[data-command]")
    chromium.click("Generate MCP Token")
    chromium.wait_for(lambda: "Your new MCP token" in chromium.title())
    chromium.shot("generated")
    token = _visible(chromium, "#new-token").strip()
    assert token.startswith("dot_mcp_us_")
    assert f"Bearer {token}" in _visible(chromium, "pre[data-block][data-os=linux]")
    assert token in _visible(chromium, "pre[data-command]")
    chromium.open(live.origin + "/settings/integrations?client=claude-code&auth=token")
    assert token not in chromium.driver.page_source


def test_readable_at_phone_width(tmp_path: Path, live: LiveServer) -> None:
    phone = Browser(tmp_path / "phone", phone=True)
    try:
        _open_client(phone, live, "Claude Desktop", "API token")
        phone.shot("phone")
        width = phone.driver.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert width[0] <= width[1], f"the page scrolls sideways at phone width: {width}"
        labels = phone.driver.execute_script(
            "return [...document.querySelectorAll('button.copy')].map(b => b.getAttribute('aria-label'))"
        )
        assert labels and all(label and label.startswith("Copy ") for label in labels)
        navs = phone.driver.execute_script(
            "return [...document.querySelectorAll('nav')].map(n => n.getAttribute('aria-label'))"
        )
        assert "Clients" in navs and "How the client signs in" in navs
    finally:
        phone.close()
