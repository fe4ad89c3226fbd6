"""Every per-client check of `dot-setup doctor`, each on a broken state built for real.

Each test writes the client's file (by `dot-setup install` where it can write that state, by hand
where only a person or an old tool would), runs the real command with `--json`, and asserts the
status, the summary and the remediation the user sees. For the fixable ones, `--fix --yes`
repairs it: the file is right afterwards, everything else in it is kept byte for byte, a backup
is in the state dir, and the re-check in the same run's envelope passes.

Tests that need no server point the Dot regions at a closed port on 127.0.0.1 (`offline`): the
checks they select never connect, and nothing can leave the machine if one did.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from tests.doctor.conftest import Regions, check, doctor, install, write

from dot_setup.paths import Paths
from dot_setup.secrets import REDACT

# A closed port on 127.0.0.1: the Dot regions as far as the offline tests are concerned.
US = "http://127.0.0.1:9/ai/mcp"
US_SSE = "http://127.0.0.1:9/ai/sse"
EU = "http://127.0.0.1:9/eu/ai/mcp"
MCP_REMOTE = "mcp-remote@0.15.1"  # what dot-setup writes (render: {{mcp_remote}})

# The real mcp-remote, if tests/realclients/install_clients.sh put it there. Resolved from the
# real environment at import, before tests/conftest.py fakes HOME.
CLIENTS_DIR = Path(
    os.environ.get("DOT_SETUP_CLIENTS_DIR")
    or Path(os.environ.get("HOME") or Path.home()) / ".cache" / "dot-setup" / "test-clients"
).expanduser()
REALCLIENTS = Path(__file__).resolve().parents[1] / "realclients"


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOT_SETUP_REGION_URLS", f"us={US},eu={EU}")


@pytest.fixture
def token() -> str:
    """A well-formed MCP token for files that are never sent anywhere."""
    return "dot_mcp_us_" + secrets.token_urlsafe(24)


def new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget the tokens `install` registered for redaction, as a fresh `dot-setup` would."""
    monkeypatch.setattr(REDACT, "secrets", set())


def fix(*ids: str) -> tuple[int, dict[str, Any], str]:
    return doctor("--fix", "--yes", *ids)


def fixes(envelope: dict[str, Any]) -> dict[str, str]:
    return {f["id"]: f["status"] for f in envelope["data"]["fixes"]}


def cursor_json(home: Path) -> Path:
    return home / ".cursor" / "mcp.json"


def backups() -> list[Path]:
    folder = Paths.from_env().backups_dir
    return sorted(p for p in folder.iterdir() if p.name != "index.jsonl") if folder.is_dir() else []


def assert_backup_of(before: bytes, name: str) -> None:
    found = [p for p in backups() if p.name.endswith("-" + name)]
    assert any(p.read_bytes() == before for p in found), (found, backups())


def servers(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data["mcpServers"]  # type: ignore[no-any-return]


def no_secret(token: str, *texts: object) -> None:
    for text in texts:
        assert token not in str(text)


# -- client.X.config ---------------------------------------------------------------------------


def test_config_syntax_error_names_line_and_column_and_fix_leaves_it(
    offline: None, fake_home: Path
) -> None:
    text = (
        "{\n"
        '  "mcpServers": {\n'
        '    "other": {"command": "uvx", "args": ["other-server"]},\n'
        f'    "dot": {{"url": "{US}"  "headers": {{}}}}\n'
        "  }\n"
        "}\n"
    )
    path = write(cursor_json(fake_home), text)
    # The missing comma: line 4, and "headers" starts at column 49 (1-based).
    line, column = 4, 49
    assert text.splitlines()[line - 1].index('"headers"') + 1 == column
    before = path.read_bytes()

    code, env, err = doctor("--client", "cursor", "client.cursor")

    config = check(env, "client.cursor.config")
    assert code == 1, err
    assert config["status"] == "fail"
    assert config["summary"].startswith(f"{path}:{line}:{column}:"), config["summary"]
    assert config["remediation"]["commands"] == ["dot-setup restore --client cursor"]
    assert config["remediation"]["auto_fixable"] is False
    assert check(env, "client.cursor.entry")["status"] == "skip"

    code, env, err = fix("--client", "cursor", "client.cursor")

    assert path.read_bytes() == before
    assert check(env, "client.cursor.config")["status"] == "fail"
    assert env["data"]["fixes"] == []
    assert backups() == []


# -- client.X.entry ----------------------------------------------------------------------------


def test_entry_absent_warns_with_install_command(offline: None, fake_home: Path) -> None:
    write(cursor_json(fake_home), '{"mcpServers": {"other": {"url": "http://127.0.0.1:9/x"}}}\n')

    code, env, err = doctor("--client", "cursor", "client.cursor")

    entry = check(env, "client.cursor.entry")
    assert entry["status"] == "warn", entry
    assert entry["summary"] == "Dot is not configured in Cursor"
    assert "dot-setup install --client cursor" in entry["remediation"]["commands"]
    assert check(env, "client.cursor.config")["status"] == "pass"
    assert code == 0, err  # a warning alone is not a failure (without --strict)
    code, env, err = doctor("--client", "cursor", "client.cursor", "--strict")
    assert code == 1


def test_claude_desktop_url_entry_fails_and_fix_writes_mcp_remote_keeping_the_rest(
    offline: None, fake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOT_SETUP_OS", "linux")
    path = fake_home / ".config" / "Claude" / "claude_desktop_config.json"
    text = (
        "{\n"
        '  "globalShortcut": "Ctrl+Space",\n'
        '  "mcpServers": {\n'
        '    "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]},\n'
        f'    "dot": {{"url": "{US}"}}\n'
        "  }\n"
        "}\n"
    )
    write(path, text)
    before = path.read_bytes()

    code, env, err = doctor("--client", "claude-desktop", "client.claude-desktop.entry")

    entry = check(env, "client.claude-desktop.entry")
    assert code == 1, err
    assert entry["status"] == "fail", entry
    assert entry["summary"] == (
        "the 'dot' entry is not in a shape Claude Desktop reads (missing args, command)"
    )
    assert entry["remediation"]["commands"] == [
        "dot-setup doctor --fix client.claude-desktop.entry"
    ]
    assert entry["remediation"]["auto_fixable"] is True

    code, env, err = fix("--client", "claude-desktop", "client.claude-desktop.entry")

    assert code == 0, err
    assert fixes(env) == {"client.claude-desktop.entry": "applied"}
    assert check(env, "client.claude-desktop.entry")["status"] == "pass"
    after = path.read_text(encoding="utf-8")
    data = json.loads(after)
    assert data["mcpServers"]["dot"] == {"command": "npx", "args": ["-y", MCP_REMOTE, US]}
    assert data["globalShortcut"] == "Ctrl+Space"
    # Everything before the entry is kept byte for byte, the other server included.
    assert after.startswith(text[: text.index('"dot"')]), after
    assert_backup_of(before, path.name)


def test_codex_extra_setting_passes_and_survives_the_url_fix(
    regions: Regions, fake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A live server: the SSE URL is fixed only where Streamable HTTP answers.
    us, us_sse = regions.us.mcp_url, regions.us.sse_url
    path = fake_home / ".codex" / "config.toml"
    write(path, 'model = "o5"\n')
    install("--client", "codex", "--region", "us", "--token-ref", "env:DOT_MCP_TOKEN")
    text = path.read_text(encoding="utf-8")
    assert 'bearer_token_env_var = "DOT_MCP_TOKEN"\n' in text, text
    text = text.replace(
        'bearer_token_env_var = "DOT_MCP_TOKEN"\n',
        'bearer_token_env_var = "DOT_MCP_TOKEN"\ntool_timeout_sec = 120\n',
    )
    text += '\n[mcp_servers.other]\ncommand = "uvx"\nargs = ["other-server"]\n'
    write(path, text)

    code, env, err = doctor("client.codex.entry")

    entry = check(env, "client.codex.entry")
    assert entry["status"] == "pass", entry
    assert entry["summary"].startswith("'dot' entry as Codex CLI reads it"), entry

    # The same entry on the legacy SSE URL: --fix rewrites it and keeps the setting.
    write(path, text.replace(f'url = "{us}"', f'url = "{us_sse}"'))
    before = path.read_bytes()
    code, env, err = doctor("client.codex.url")
    assert check(env, "client.codex.url")["status"] == "fail"

    code, env, err = fix("client.codex.url")

    assert code == 0, err
    assert fixes(env) == {"client.codex.url": "applied"}, env["data"]["fixes"]
    assert check(env, "client.codex.url")["status"] == "pass"
    assert path.read_text(encoding="utf-8") == text  # back to the /ai/mcp entry, byte for byte
    assert "tool_timeout_sec = 120" in text
    assert_backup_of(before, path.name)
    _code, env, _err = doctor("client.codex.entry")
    assert check(env, "client.codex.entry")["status"] == "pass"


# -- client.X.url ------------------------------------------------------------------------------


def test_legacy_sse_url_fails_and_fix_points_at_streamable_http(
    regions: Regions, fake_home: Path, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A live server: the SSE URL is fixed only where Streamable HTTP answers.
    us, us_sse = regions.us.mcp_url, regions.us.sse_url
    path = cursor_json(fake_home)
    write(path, '{"mcpServers": {"other": {"command": "uvx", "args": ["other-server"]}}}\n')
    install("--client", "cursor", "--region", "us", "--token-stdin", stdin=token)
    text = path.read_text(encoding="utf-8")
    write(path, text.replace(f'"{us}"', f'"{us_sse}"'))
    before = path.read_bytes()
    new_process(monkeypatch)

    code, env, err = doctor("--client", "cursor", "client.cursor.url")

    url = check(env, "client.cursor.url")
    assert code == 1, err
    assert url["status"] == "fail", url
    assert url["summary"] == (
        f"{us_sse} is the legacy SSE endpoint; the US Streamable HTTP URL is {us}"
    )
    assert url["remediation"]["commands"] == ["dot-setup doctor --fix client.cursor.url"]
    assert url["remediation"]["auto_fixable"] is True

    code, env, err = fix("--client", "cursor", "client.cursor.url")

    assert code == 0, err
    assert fixes(env) == {"client.cursor.url": "applied"}
    assert check(env, "client.cursor.url")["status"] == "pass"
    assert path.read_text(encoding="utf-8") == text
    assert servers(path)["other"] == {"command": "uvx", "args": ["other-server"]}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert_backup_of(before, path.name)
    no_secret(token, env, err)


def test_non_dot_url_warns(offline: None, fake_home: Path) -> None:
    elsewhere = "http://127.0.0.1:9/other/mcp"
    write(cursor_json(fake_home), json.dumps({"mcpServers": {"dot": {"url": elsewhere}}}))

    _code, env, _err = doctor("--client", "cursor", "client.cursor.url")

    url = check(env, "client.cursor.url")
    assert url["status"] == "warn", url
    assert url["summary"] == f"{elsewhere} is not a Dot URL ({US} (US), {EU} (EU))"
    assert url["remediation"]["commands"] == [
        "dot-setup install --client cursor --region us|eu --force"
    ]
    assert url["remediation"]["auto_fixable"] is False


# -- client.X.duplicates -----------------------------------------------------------------------


def test_second_entry_for_the_same_server_warns(
    offline: None, fake_home: Path, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(cursor_json(fake_home), '{"mcpServers": {}}\n')
    install("--client", "cursor", "--region", "us", "--token-stdin", stdin=token)
    install("--client", "cursor", "--region", "us", "--name", "dot-old", "--auth", "oauth")
    new_process(monkeypatch)

    _code, env, err = doctor("--client", "cursor", "client.cursor.duplicates")

    dupes = check(env, "client.cursor.duplicates")
    assert dupes["status"] == "warn", dupes
    assert dupes["summary"].startswith("Dot is also configured as 'dot-old': Cursor starts each")
    assert dupes["remediation"]["commands"] == ["dot-setup remove --client cursor --name dot-old"]
    assert dupes["data"]["names"] == ["dot-old"]
    no_secret(token, env, err)


def test_one_entry_has_no_duplicates(offline: None, fake_home: Path) -> None:
    write(cursor_json(fake_home), '{"mcpServers": {"other": {"url": "http://127.0.0.1:9/x"}}}\n')
    install("--client", "cursor", "--region", "us", "--auth", "oauth")

    _code, env, _err = doctor("--client", "cursor", "client.cursor.duplicates")

    assert check(env, "client.cursor.duplicates")["status"] == "pass"


# -- client.X.secret ---------------------------------------------------------------------------


def test_token_variable_unset_fails_set_passes(
    offline: None, fake_home: Path, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(cursor_json(fake_home), '{"mcpServers": {}}\n')
    install("--client", "cursor", "--region", "us", "--token-ref", "env:DOT_MCP_TOKEN")
    assert "${env:DOT_MCP_TOKEN}" in path.read_text(encoding="utf-8")
    monkeypatch.delenv("DOT_MCP_TOKEN", raising=False)

    code, env, err = doctor("--client", "cursor", "client.cursor.secret")

    secret = check(env, "client.cursor.secret")
    assert code == 1, err
    assert secret["status"] == "fail", secret
    assert secret["summary"] == (
        "the entry reads the token from $DOT_MCP_TOKEN, which is not set here"
    )
    assert secret["remediation"]["commands"] == [
        "dot-setup install --client cursor --token-stdin --force"
    ]

    monkeypatch.setenv("DOT_MCP_TOKEN", token)
    code, env, err = doctor("--client", "cursor", "client.cursor.secret")

    secret = check(env, "client.cursor.secret")
    assert code == 0, err
    assert secret["status"] == "pass", secret
    assert secret["summary"].startswith("token read from $DOT_MCP_TOKEN (set here")
    no_secret(token, env, err)


# -- client.X.permissions ----------------------------------------------------------------------


def test_token_in_world_readable_file_fails_and_fix_chmods_only(
    offline: None, fake_home: Path, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(cursor_json(fake_home), '{"mcpServers": {}}\n')
    install("--client", "cursor", "--region", "us", "--token-stdin", stdin=token)
    path.chmod(0o644)
    before = path.read_bytes()
    assert token.encode() in before
    new_process(monkeypatch)

    code, env, err = doctor("--client", "cursor", "client.cursor.permissions")

    perms = check(env, "client.cursor.permissions")
    assert code == 1, err
    assert perms["status"] == "fail", perms
    assert perms["summary"] == f"{path} holds a token and is readable by other users (0644)"
    assert perms["remediation"]["commands"] == [f"chmod 600 {path}"]
    assert perms["remediation"]["auto_fixable"] is True

    code, env, err = fix("--client", "cursor", "client.cursor.permissions")

    assert code == 0, err
    assert fixes(env) == {"client.cursor.permissions": "applied"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == before
    perms = check(env, "client.cursor.permissions")
    assert perms["status"] == "pass" and perms["data"]["mode"] == "0600", perms
    no_secret(token, env, err)


# -- client.X.launcher -------------------------------------------------------------------------


def _script(path: Path, body: str) -> Path:
    write(path, "#!/bin/sh\n" + body + "\n", 0o755)
    return path


def test_npx_running_old_node_fails_naming_the_version(
    offline: None, fake_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(cursor_json(fake_home), '{"mcpServers": {}}\n')
    install("--client", "cursor", "--region", "us", "--transport", "stdio", "--auth", "oauth")
    bin_dir = tmp_path / "bin"
    npx = _script(bin_dir / "npx", "exit 0")
    _script(bin_dir / "node", "echo v18.19.0")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    code, env, err = doctor("--client", "cursor", "client.cursor.launcher")

    launcher = check(env, "client.cursor.launcher")
    assert code == 1, err
    assert launcher["status"] == "fail", launcher
    assert launcher["summary"] == (f"npx at {npx} runs Node.js 18.19.0; mcp-remote needs 20+")
    assert launcher["data"] == {"node": str(bin_dir / "node"), "version": "18.19.0"}
    assert launcher["remediation"]["commands"] == ["which -a node", "node --version"]

    _script(bin_dir / "node", "echo v22.3.1")
    code, env, err = doctor("--client", "cursor", "client.cursor.launcher")
    launcher = check(env, "client.cursor.launcher")
    assert launcher["status"] == "pass", launcher
    assert launcher["summary"] == f"npx found ({npx}, Node.js 22.3.1)"


def test_no_npx_on_path_fails_with_enoent(
    offline: None, fake_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(cursor_json(fake_home), '{"mcpServers": {}}\n')
    install("--client", "cursor", "--region", "us", "--transport", "stdio", "--auth", "oauth")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    code, env, err = doctor("--client", "cursor", "client.cursor.launcher")

    launcher = check(env, "client.cursor.launcher")
    assert code == 1, err
    assert launcher["status"] == "fail", launcher
    assert launcher["summary"] == "npx is not on PATH: Cursor fails with 'spawn npx ENOENT'"
    assert "ENOENT" in launcher["summary"]
    assert launcher["remediation"]["commands"] == ["which npx"]


def test_http_entry_has_no_launcher(offline: None, fake_home: Path) -> None:
    write(cursor_json(fake_home), '{"mcpServers": {}}\n')
    install("--client", "cursor", "--region", "us", "--auth", "oauth")

    _code, env, _err = doctor("--client", "cursor", "client.cursor.launcher")

    assert check(env, "client.cursor.launcher")["status"] == "skip"


# -- client.X.windows --------------------------------------------------------------------------


def test_windows_bare_npx_fails_and_fix_wraps_it_in_cmd(
    offline: None, fake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOT_SETUP_OS", "windows")
    path = cursor_json(fake_home)
    other = {"command": "cmd", "args": ["/c", "uvx", "other-server"]}
    entry = {"command": "npx", "args": ["-y", MCP_REMOTE, US]}
    write(path, json.dumps({"mcpServers": {"other": other, "dot": entry}}, indent=2) + "\n")
    before = path.read_bytes()

    code, env, err = doctor("--client", "cursor", "client.cursor.windows")

    windows = check(env, "client.cursor.windows")
    assert code == 1, err
    assert windows["status"] == "fail", windows
    assert windows["summary"].startswith("Windows cannot start npx directly (it is a .cmd shim)")
    assert "spawn npx ENOENT" in windows["summary"] and "cmd /c" in windows["summary"]
    assert windows["remediation"]["commands"] == ["dot-setup doctor --fix client.cursor.windows"]
    assert windows["remediation"]["auto_fixable"] is True

    code, env, err = fix("--client", "cursor", "client.cursor.windows")

    assert code == 0, err
    assert fixes(env) == {"client.cursor.windows": "applied"}
    windows = check(env, "client.cursor.windows")
    assert windows["status"] == "pass", windows
    assert servers(path) == {
        "other": other,
        "dot": {"command": "cmd", "args": ["/c", "npx", "-y", MCP_REMOTE, US]},
    }
    assert_backup_of(before, path.name)
    # The backup went to the Windows state dir, under LOCALAPPDATA.
    assert str(Paths.from_env().backups_dir).startswith(os.environ["LOCALAPPDATA"])


@pytest.mark.parametrize(("os_name", "status"), [("windows", "fail"), ("linux", "warn")])
def test_header_with_space_and_fix_moves_the_token_to_env(
    offline: None,
    fake_home: Path,
    token: str,
    monkeypatch: pytest.MonkeyPatch,
    os_name: str,
    status: str,
) -> None:
    monkeypatch.setenv("DOT_SETUP_OS", os_name)
    path = cursor_json(fake_home)
    launcher = ["cmd", "/c", "npx"] if os_name == "windows" else ["npx"]
    entry = {
        "command": launcher[0],
        "args": [*launcher[1:], "-y", MCP_REMOTE, US, "--header", f"Authorization: Bearer {token}"],
    }
    write(
        path, json.dumps({"mcpServers": {"dot": entry, "other": {"url": "http://127.0.0.1:9/x"}}})
    )
    before = path.read_bytes()

    code, env, err = doctor("--client", "cursor", "client.cursor.windows")

    windows = check(env, "client.cursor.windows")
    assert code == (1 if status == "fail" else 0), err
    assert windows["status"] == status, windows
    assert windows["summary"].startswith(
        "the header argument 'Authorization: Bearer …' contains a space"
    ), windows
    assert windows["remediation"]["auto_fixable"] is True
    no_secret(token, env, err)

    _code, env, err = fix("--client", "cursor", "client.cursor.windows")

    assert fixes(env) == {"client.cursor.windows": "applied"}, env["data"]["fixes"]
    windows = check(env, "client.cursor.windows")
    assert windows["status"] == ("pass" if os_name == "windows" else "skip"), windows
    assert servers(path) == {
        "dot": {
            "command": launcher[0],
            "args": [
                *launcher[1:],
                "-y",
                MCP_REMOTE,
                US,
                "--header",
                "Authorization:${AUTH_HEADER}",
            ],
            "env": {"AUTH_HEADER": f"Bearer {token}"},
        },
        "other": {"url": "http://127.0.0.1:9/x"},
    }
    assert_backup_of(before, path.name)
    no_secret(token, env, err)


# -- client.X.mcp-remote-cache -----------------------------------------------------------------


def _oauth_mcp_remote(home: Path) -> None:
    write(cursor_json(home), '{"mcpServers": {}}\n')
    install("--client", "cursor", "--region", "us", "--transport", "stdio", "--auth", "oauth")


def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    base = tmp_path / "mcp-auth"
    monkeypatch.setenv("MCP_REMOTE_CONFIG_DIR", str(base))
    return base / "mcp-remote-v1"


def url_hash(url: str) -> str:
    """mcp-remote 0.15's getServerUrlHash for a command with no headers: md5 of the URL."""
    return hashlib.md5(url.encode(), usedforsecurity=False).hexdigest()


def _registration(client_id: str) -> dict[str, Any]:
    """A client_info.json as mcp-remote 0.15.1 writes it after dynamic client registration."""
    return {
        "redirect_uris": ["http://localhost:3334/oauth/callback"],
        "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "client_name": "MCP CLI Proxy",
        "client_uri": "https://github.com/modelcontextprotocol/mcp-remote",
        "software_id": "2e6dc280-f3c3-4e01-99a7-8181dbd1d23d",
        "software_version": "0.15.1",
        "client_id": client_id,
        "client_id_issued_at": int(time.time()),
    }


def test_mcp_remote_empty_cache_passes(
    offline: None, fake_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _oauth_mcp_remote(fake_home)
    folder = _cache(tmp_path, monkeypatch)

    _code, env, _err = doctor("--client", "cursor", "client.cursor.mcp-remote-cache")

    cache = check(env, "client.cursor.mcp-remote-cache")
    assert cache["status"] == "pass", cache
    assert cache["summary"] == (
        f"no cached sign-in in {folder} yet: Cursor opens the browser on first use"
    )


def test_mcp_remote_unknown_registration_fails_and_fix_moves_it_to_backups(
    regions: Regions, fake_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _oauth_mcp_remote(fake_home)
    folder = _cache(tmp_path, monkeypatch)
    digest = url_hash(regions.us.mcp_url)
    info = write(folder / f"{digest}_client_info.json", json.dumps(_registration("dcr-unknown-1")))
    other = write(folder / f"{url_hash('http://127.0.0.1:9/other')}_client_info.json", "{}")

    code, env, err = doctor("--client", "cursor", "client.cursor.mcp-remote-cache")

    cache = check(env, "client.cursor.mcp-remote-cache")
    assert code == 1, err
    assert cache["status"] == "fail", cache
    assert cache["summary"] == (
        f"mcp-remote's cached registration ({info.name}) is unknown to the server:"
        " Cursor fails with invalid_client until it is cleared"
    )
    assert cache["remediation"]["commands"] == [
        "dot-setup doctor --fix client.cursor.mcp-remote-cache"
    ]
    assert cache["remediation"]["auto_fixable"] is True
    content = info.read_bytes()

    code, env, err = fix("--client", "cursor", "client.cursor.mcp-remote-cache")

    assert code == 0, err
    assert fixes(env) == {"client.cursor.mcp-remote-cache": "applied"}
    assert check(env, "client.cursor.mcp-remote-cache")["status"] == "pass"
    assert not info.exists()
    assert other.exists()  # another server's cache is not touched
    moved = list((Paths.from_env().backups_dir / "mcp-auth").glob(f"*/{info.name}"))
    assert [p.read_bytes() for p in moved] == [content], moved


def test_mcp_remote_known_registration_passes(
    regions: Regions, fake_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The control for the test above: a registration the server made is not flagged."""
    _oauth_mcp_remote(fake_home)
    folder = _cache(tmp_path, monkeypatch)
    body = {k: v for k, v in _registration("").items() if not k.startswith("client_id")}
    with httpx2.Client(timeout=10, trust_env=False) as http:
        resp = http.post(regions.us.origin + "/register", json=body)
    assert resp.status_code == 201, resp.text
    write(folder / f"{url_hash(regions.us.mcp_url)}_client_info.json", resp.text)

    _code, env, _err = doctor("--client", "cursor", "client.cursor.mcp-remote-cache")

    cache = check(env, "client.cursor.mcp-remote-cache")
    assert cache["status"] == "pass", cache
    assert cache["summary"] == f"registered with the server; not signed in yet ({folder})"


def test_mcp_remote_expired_sign_in_warns(
    offline: None, fake_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _oauth_mcp_remote(fake_home)
    folder = _cache(tmp_path, monkeypatch)
    verifier = write(folder / f"{url_hash(US)}_code_verifier_Zq3x-state.txt", "v" * 43)
    old = time.time() - 11 * 60
    os.utime(verifier, (old, old))

    code, env, err = doctor("--client", "cursor", "client.cursor.mcp-remote-cache")

    cache = check(env, "client.cursor.mcp-remote-cache")
    assert code == 0, err  # a warning
    assert cache["status"] == "warn", cache
    started = time.strftime("%H:%M", time.localtime(old))
    assert cache["summary"] == (
        f"a sign-in started at {started} never finished: its consent page expired after"
        ' 10 minutes ("Authorization session expired")'
    )
    assert cache["details"] == [str(verifier)]

    # A verifier of a sign-in still in progress (5 minutes old) is left alone.
    recent = time.time() - 5 * 60
    os.utime(verifier, (recent, recent))
    _code, env, _err = doctor("--client", "cursor", "client.cursor.mcp-remote-cache")
    assert check(env, "client.cursor.mcp-remote-cache")["status"] == "pass"


@pytest.mark.realclients
@pytest.mark.slow
def test_real_mcp_remote_registration_forgotten_by_server_fails(
    regions: Regions, fake_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real mcp-remote registers and starts a sign-in; then the server forgets the client."""
    if not (CLIENTS_DIR / "node_modules" / ".bin" / "mcp-remote").exists():
        pytest.skip(
            f"no real mcp-remote in {CLIENTS_DIR}: run tests/realclients/install_clients.sh"
        )
    monkeypatch.setenv("DOT_SETUP_CLIENTS_DIR", str(CLIENTS_DIR))
    monkeypatch.syspath_prepend(str(REALCLIENTS))
    import clients  # type: ignore[import-not-found]
    import oauth_driver  # type: ignore[import-not-found]

    _oauth_mcp_remote(fake_home)
    folder = _cache(tmp_path, monkeypatch)
    run = oauth_driver.run_mcp_remote(
        clients.Sandbox(tmp_path / "sb"), regions.us.mcp_url, folder.parent, timeout=30
    )
    assert run.auth_url is not None, run.describe()
    (info,) = folder.glob("*_client_info.json")
    assert info.name == f"{url_hash(regions.us.mcp_url)}_client_info.json"
    client_id = json.loads(info.read_text(encoding="utf-8"))["client_id"]

    code, env, err = doctor("--client", "cursor", "client.cursor.mcp-remote-cache")
    cache = check(env, "client.cursor.mcp-remote-cache")
    assert cache["status"] == "pass", cache  # the server knows it
    assert cache["summary"].startswith("registered with the server; not signed in yet")

    async def forget() -> None:
        from sqlalchemy import delete

        from dot_setup.server import schema

        async with regions.us.state.db.tx() as conn:
            await conn.execute(
                delete(schema.oauth_clients).where(schema.oauth_clients.c.client_id == client_id)
            )

    regions.us.call(forget)

    code, env, err = doctor("--client", "cursor", "client.cursor.mcp-remote-cache")
    cache = check(env, "client.cursor.mcp-remote-cache")
    assert code == 1, err
    assert cache["status"] == "fail", cache
    assert "invalid_client" in cache["summary"]

    _code, env, _err = fix("--client", "cursor", "client.cursor.mcp-remote-cache")
    assert fixes(env) == {"client.cursor.mcp-remote-cache": "applied"}
    assert list(folder.iterdir()) == []
    kept = Paths.from_env().backups_dir / "mcp-auth"
    assert {p.name for p in kept.glob("*/*")} >= {info.name}


# -- client.X.restart --------------------------------------------------------------------------


@pytest.fixture
def running_cursor(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real process whose name is `cursor` (sleep, started through a symlink of that name)."""
    # A copy, not a symlink: the tripwire in tests/conftest.py reads os.symlink's *target* as
    # the path written, so a link to /bin/sleep trips it. The process name is the same.
    link = tmp_path / "fake-apps" / "cursor"
    link.parent.mkdir()
    shutil.copy2("/bin/sleep", link)
    proc = subprocess.Popen([str(link), "30"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(5)


def test_client_running_since_before_the_change_warns(
    offline: None, fake_home: Path, running_cursor: subprocess.Popen[bytes]
) -> None:
    path = write(cursor_json(fake_home), '{"mcpServers": {}}\n')
    install("--client", "cursor", "--region", "us", "--auth", "oauth")
    # ps counts whole seconds: change the file well after the process started.
    time.sleep(1.2)
    path.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    assert running_cursor.poll() is None

    _code, env, _err = doctor("--client", "cursor", "client.cursor.restart")

    restart = check(env, "client.cursor.restart")
    assert restart["status"] == "warn", restart
    assert restart["summary"].startswith("Cursor has been running since ")
    assert restart["summary"].endswith(": it has not loaded the change")
    assert restart["remediation"]["text"] == (
        "Restart Cursor, or toggle the server in Settings > Tools & Integrations > MCP Tools."
    )


def test_client_not_running_passes(offline: None, fake_home: Path) -> None:
    write(cursor_json(fake_home), '{"mcpServers": {}}\n')
    install("--client", "cursor", "--region", "us", "--auth", "oauth")

    _code, env, _err = doctor("--client", "cursor", "client.cursor.restart")

    restart = check(env, "client.cursor.restart")
    assert restart["status"] == "pass", restart
    assert restart["summary"] == "Cursor is not running: it reads the config when it starts"


# -- --client ----------------------------------------------------------------------------------


def test_client_option_limits_client_checks_to_that_client(
    regions: Regions, fake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = regions.us.mcp_token()
    write(cursor_json(fake_home), '{"mcpServers": {}}\n')
    write(fake_home / ".codex" / "config.toml", 'model = "o5"\n')
    install("--client", "cursor", "--region", "us", "--token-stdin", stdin=token)
    install("--client", "codex", "--region", "us", "--auth", "oauth")
    new_process(monkeypatch)

    code, env, err = doctor()
    everyone = {c["category"] for c in env["data"]["checks"]}
    assert {"client:cursor", "client:codex"} <= everyone, everyone

    code, env, err = doctor("--client", "cursor")

    assert code == 0, err
    ids = [c["id"] for c in env["data"]["checks"]]
    per_client = [i for i in ids if i.startswith("client.")]
    assert per_client, ids
    assert all(i.startswith("client.cursor.") for i in per_client), per_client
    assert {c["category"] for c in env["data"]["checks"]} & {"client:codex"} == set()
    assert "client.cursor.live" in per_client and "env.node" in ids
    assert check(env, "client.cursor.live")["status"] == "pass"
    no_secret(token, env, err)


def test_legacy_sse_url_is_kept_while_streamable_http_does_not_answer(
    offline: None, fake_home: Path, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = cursor_json(fake_home)
    install("--client", "cursor", "--region", "us", "--token-stdin", stdin=token)
    write(path, path.read_text(encoding="utf-8").replace(f'"{US}"', f'"{US_SSE}"'))
    before = path.read_bytes()
    new_process(monkeypatch)

    code, env, err = doctor("client.cursor.url", "--timeout", "2")

    url = check(env, "client.cursor.url")
    assert code == 0, err
    assert url["status"] == "warn", url
    assert "did not answer here: keep SSE until it does" in url["summary"]
    assert url["remediation"]["auto_fixable"] is False
    _code, env, _err = fix("client.cursor.url")
    assert env["data"]["fixes"] == []
    assert path.read_bytes() == before


def test_sandbox_home_skips_the_restart_check(
    offline: None, fake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With DOT_SETUP_HOME (the demo's sandbox) a running Cursor does not read these files."""
    monkeypatch.setenv("DOT_SETUP_HOME", str(fake_home))
    write(cursor_json(fake_home), '{"mcpServers": {}}\n')

    _code, env, _err = doctor("--client", "cursor", "client.cursor.restart")

    restart = check(env, "client.cursor.restart")
    assert restart["status"] == "skip", restart
    assert "sandbox home" in restart["summary"]
