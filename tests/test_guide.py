"""The guide behind `dot-setup show` and Settings → Integrations: install links, commands and
the client picker's categories are profile data, checked by the schema; links never carry a
token."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from tests.conftest import REPO
from tests.helpers import TOKEN, run

from dot_setup.engine.guide import default_target, shown_paths
from dot_setup.errors import ProfileError
from dot_setup.profiles import loader
from dot_setup.profiles.loader import get_client, load_clients

US = "https://app.getdot.ai/ai/mcp"


def test_show_link_prints_the_install_link_of_the_oauth_entry(fake_home: Path) -> None:
    r = run("show", "-c", "cursor", "--link")
    assert r.code == 0, r.err
    (line,) = r.out.splitlines()
    query = parse_qs(urlsplit(line).query)
    assert line.startswith("cursor://anysphere.cursor-deeplink/mcp/install?name=dot&config=")
    assert json.loads(base64.b64decode(query["config"][0])) == {"url": US}
    vscode = run("show", "-c", "vscode", "--link").out.splitlines()
    assert [u.split(":", 1)[0] for u in vscode] == ["vscode", "vscode-insiders"]
    assert json.loads(unquote(vscode[0].split("?", 1)[1])) == {
        "name": "dot",
        "type": "http",
        "url": US,
    }
    as_json = run("show", "-c", "goose", "--link", "--json")
    (link,) = as_json.json()["data"]["links"]
    assert link["label"] == "Add to goose" and "type=streamable_http" in link["url"]


def test_a_link_never_carries_a_token(fake_home: Path) -> None:
    r = run("show", "-c", "cursor", "--link", "--auth", "token", "--token-stdin", stdin=TOKEN)
    assert r.code == 2 and "install links carry no token" in r.err
    assert TOKEN not in r.out + r.err
    shown = run("show", "-c", "cursor", "--token-stdin", "--json", "--no-clipboard", stdin=TOKEN)
    assert shown.json()["data"]["links"] == [] and shown.json()["data"]["auth"] == "token"
    none = run("show", "-c", "codex", "--link")
    assert none.code == 2 and "Codex CLI has no install link" in none.err


def test_show_prints_the_clients_own_command(fake_home: Path) -> None:
    r = run("show", "-c", "claude-code", "--auth", "oauth", "--no-clipboard")
    assert f"claude mcp add --transport http --scope user dot {US}" in r.out
    r = run("show", "-c", "codex", "--auth", "token", "--no-clipboard", "--json")
    assert r.json()["data"]["command"] == (
        f"codex mcp add dot --url {US} --bearer-token-env-var DOT_MCP_TOKEN"
    )


def test_paths_as_a_person_reads_them() -> None:
    target = default_target(get_client("claude-desktop"))
    assert target is not None
    assert dict(shown_paths(target)) == {
        "macOS": "~/Library/Application Support/Claude/claude_desktop_config.json",
        "Linux": "~/.config/Claude/claude_desktop_config.json",
        "Windows": "%APPDATA%\\Claude\\claude_desktop_config.json",
    }
    librechat = default_target(get_client("librechat"))
    assert librechat is not None and librechat.scope == "project"


def test_every_client_has_a_category() -> None:
    from dot_setup.profiles.schema import CATEGORIES

    assert {p.category for p in load_clients().values()} == set(CATEGORIES)


CURSOR = (REPO / "client_profiles" / "cursor.toml").read_text()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (CURSOR.replace("{{entry|json|base64|url}}", "{{token}}"), "cannot go in a link"),
        (CURSOR.replace("{{entry|json|base64|url}}", "{{authorization}}"), "cannot go in a link"),
        (CURSOR.replace("{{entry|json|base64|url}}", "{{entry|rot13}}"), "unknown filter |rot13"),
        (CURSOR.replace('category = "ide"\n', ""), "category: missing required field"),
        (CURSOR.replace('category = "ide"', 'category = "toy"'), "'toy' is not one of"),
        (CURSOR.replace("oauth = true", "oauth = false"), "install links carry the OAuth entry"),
    ],
)
def test_link_and_category_rules(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str
) -> None:
    root = tmp_path / "profiles"
    shutil.copytree(REPO / "service_profiles", root / "service_profiles")
    (root / "client_profiles").mkdir(parents=True)
    (root / "client_profiles" / "cursor.toml").write_text(text)
    monkeypatch.setenv("DOT_SETUP_PROFILES_DIR", str(root))
    loader.load_clients.cache_clear()
    loader._one_client.cache_clear()
    with pytest.raises(ProfileError) as info:
        load_clients()
    assert message in info.value.message and "cursor.toml" in info.value.message
