"""`dot-setup install/remove/list/show/restore` as a user or a script calls them."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from tests.helpers import EU_TOKEN, TOKEN, run

US_URL = "https://app.getdot.ai/ai/mcp"
EU_URL = "https://eu.getdot.ai/ai/mcp"


def _no_secret(result: object) -> None:
    text = result.out + result.err  # type: ignore[attr-defined]
    assert TOKEN not in text and EU_TOKEN not in text


def test_install_writes_each_clients_own_shape(fake_home: Path) -> None:
    r = run(
        "install",
        "-c",
        "claude-code",
        "-c",
        "codex",
        "-c",
        "cursor",
        "--auth",
        "token",
        "--token-stdin",
        "--region",
        "us",
        "--yes",
        stdin=TOKEN + "\n",
    )
    assert r.code == 0, r.err
    _no_secret(r)
    claude = json.loads((fake_home / ".claude.json").read_text())
    assert claude["mcpServers"]["dot"] == {
        "type": "http",
        "url": US_URL,
        "headers": {"Authorization": f"Bearer {TOKEN}"},
    }
    codex = (fake_home / ".codex" / "config.toml").read_text()
    assert f'url = "{US_URL}"' in codex and f"Bearer {TOKEN}" in codex and "type" not in codex
    cursor = json.loads((fake_home / ".cursor" / "mcp.json").read_text())
    assert cursor["mcpServers"]["dot"] == {
        "url": US_URL,
        "headers": {"Authorization": f"Bearer {TOKEN}"},
    }
    for path in (fake_home / ".claude.json", fake_home / ".codex" / "config.toml"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert "Restart Cursor" in r.out


def test_region_comes_from_the_token(fake_home: Path) -> None:
    r = run("install", "-c", "claude-code", "--token-stdin", "--yes", stdin=EU_TOKEN)
    assert r.code == 0, r.err
    assert (
        json.loads((fake_home / ".claude.json").read_text())["mcpServers"]["dot"]["url"] == EU_URL
    )


def test_token_for_another_region_is_refused(fake_home: Path) -> None:
    r = run(
        "install", "-c", "claude-code", "--token-stdin", "--region", "us", "--yes", stdin=EU_TOKEN
    )
    assert r.code == 2
    assert "region eu" in r.err and "--region eu" in r.err
    assert not (fake_home / ".claude.json").exists()
    _no_secret(r)


def test_second_identical_run_writes_nothing(fake_home: Path) -> None:
    args = ("install", "-c", "claude-code", "--token-stdin", "--region", "us", "--yes")
    assert run(*args, stdin=TOKEN).code == 0
    path = fake_home / ".claude.json"
    before = path.stat()
    r = run(*args, stdin=TOKEN)
    assert r.code == 0
    assert "unchanged" in r.err and "nothing to write" in r.err
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_dry_run_shows_a_redacted_diff_and_writes_nothing(fake_home: Path) -> None:
    r = run("install", "-c", "cursor", "--token-stdin", "--region", "us", "--dry-run", stdin=TOKEN)
    assert r.code == 0, r.err
    assert "+++ " in r.out and '"Authorization": "Bearer dot_mcp_' in r.out
    _no_secret(r)
    assert not (fake_home / ".cursor").exists()


def test_json_envelope_is_the_only_stdout(fake_home: Path) -> None:
    r = run(
        "install",
        "-c",
        "codex",
        "-c",
        "chatgpt",
        "--token-stdin",
        "--region",
        "us",
        "--json",
        "--yes",
        stdin=TOKEN,
    )
    assert r.code == 0, r.err
    body = r.json()
    assert body["schema_version"] == 1 and body["status"] == "ok" and body["command"] == "install"
    assert body["data"]["changes"][0]["client"] == "codex"
    assert body["data"]["changes"][0]["status"] == "create"
    assert body["data"]["manual"][0]["client"] == "chatgpt"
    _no_secret(r)


def test_json_error_envelope(fake_home: Path) -> None:
    r = run("install", "-c", "nope", "--json", "--yes")
    assert r.code == 2
    body = r.json()
    assert body["status"] == "error" and body["errors"][0]["code"] == "usage"
    assert "unknown client 'nope'" in body["errors"][0]["message"]


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (("install",), "--client"),
        (("install", "-c", "claude-code", "--auth", "oauth"), "--region"),
        (("install", "-c", "claude-code", "--auth", "oauth", "--region", "us"), "--yes"),
    ],
)
def test_missing_input_without_a_terminal_names_the_flag(args: tuple[str, ...], flag: str) -> None:
    r = run(*args)
    assert r.code == 2
    assert flag in r.err
    assert len([line for line in r.err.splitlines() if line.startswith("error:")]) == 1


def test_token_is_never_taken_from_argv(fake_home: Path) -> None:
    r = run("install", "-c", "claude-code", "--token", TOKEN, "--region", "us", "--yes")
    assert r.code == 2
    assert "never taken as command-line arguments" in r.err
    _no_secret(r)
    assert not (fake_home / ".claude.json").exists()


def test_token_from_file_and_env(
    fake_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_file = tmp_path / "tok"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    r = run("install", "-c", "claude-code", "--token-file", str(token_file), "--yes")
    assert r.code == 0, r.err
    monkeypatch.setenv("DOT_MCP_TOKEN", EU_TOKEN)
    r = run("install", "-c", "codex", "--yes")
    assert r.code == 0, r.err
    assert EU_URL in (fake_home / ".codex" / "config.toml").read_text()


def test_token_needed_for_a_token_only_client(fake_home: Path) -> None:
    r = run("install", "-c", "claude-desktop", "--auth", "token", "--region", "us", "--yes")
    assert r.code == 2
    assert "needs an MCP token" in r.err and "DOT_MCP_TOKEN" in r.err


def test_token_ref_writes_a_reference(fake_home: Path) -> None:
    r = run(
        "install",
        "-c",
        "claude-code",
        "-c",
        "codex",
        "--auth",
        "token",
        "--token-ref",
        "env:MY_DOT_TOKEN",
        "--region",
        "us",
        "--yes",
    )
    assert r.code == 0, r.err
    claude = json.loads((fake_home / ".claude.json").read_text())
    assert claude["mcpServers"]["dot"]["headers"]["Authorization"] == "Bearer ${MY_DOT_TOKEN}"
    codex = (fake_home / ".codex" / "config.toml").read_text()
    assert 'bearer_token_env_var = "MY_DOT_TOKEN"' in codex
    # no secret in the file, so the usual mode applies
    assert stat.S_IMODE((fake_home / ".claude.json").stat().st_mode) & 0o600 == 0o600


def test_token_ref_refused_where_the_client_cannot_expand(fake_home: Path) -> None:
    r = run(
        "install",
        "-c",
        "claude-desktop",
        "--auth",
        "token",
        "--token-ref",
        "env:X",
        "--region",
        "us",
        "--yes",
    )
    assert r.code == 2
    assert "cannot read the token from an environment variable" in r.err


def test_stdio_fallback_for_claude_desktop(fake_home: Path) -> None:
    r = run(
        "install", "-c", "claude-desktop", "--token-stdin", "--region", "us", "--yes", stdin=TOKEN
    )
    assert r.code == 0, r.err
    path = fake_home / ".config" / "Claude" / "claude_desktop_config.json"
    entry = json.loads(path.read_text())["mcpServers"]["dot"]
    assert entry["command"] == "npx"
    assert entry["args"][-2:] == ["--header", "Authorization:${AUTH_HEADER}"]
    assert all(" " not in a for a in entry["args"])  # Windows/Cursor split args on spaces
    assert entry["env"] == {"AUTH_HEADER": f"Bearer {TOKEN}"}


def test_windows_wraps_npx_in_cmd(fake_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOT_SETUP_OS", "windows")
    r = run(
        "install", "-c", "claude-desktop", "--token-stdin", "--region", "us", "--yes", stdin=TOKEN
    )
    assert r.code == 0, r.err
    path = fake_home / "AppData" / "Roaming" / "Claude" / "claude_desktop_config.json"
    entry = json.loads(path.read_text())["mcpServers"]["dot"]
    assert entry["command"] == "cmd" and entry["args"][:3] == ["/c", "npx", "-y"]


def test_client_env_override_for_the_config_path(
    fake_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codexhome"))
    r = run("install", "-c", "codex", "--auth", "oauth", "--region", "eu", "--yes")
    assert r.code == 0, r.err
    assert EU_URL in (tmp_path / "codexhome" / "config.toml").read_text()
    assert not (fake_home / ".codex").exists()


def test_project_scope(project: Path) -> None:
    r = run(
        "install",
        "-c",
        "claude-code",
        "--scope",
        "project",
        "--auth",
        "oauth",
        "--region",
        "us",
        "--yes",
    )
    assert r.code == 0, r.err
    assert json.loads((project / ".mcp.json").read_text())["mcpServers"]["dot"] == {
        "type": "http",
        "url": US_URL,
    }


def test_unparseable_file_is_refused_and_untouched(fake_home: Path) -> None:
    path = fake_home / ".cursor" / "mcp.json"
    path.parent.mkdir()
    original = '{\n  "mcpServers": {\n    "x": {"url": "u"}\n  \n'
    path.write_text(original)
    r = run("install", "-c", "cursor", "--auth", "oauth", "--region", "us", "--yes")
    assert r.code == 1
    assert f"{path}:5:1: " in r.err
    assert path.read_text() == original


def test_force_replaces_an_unparseable_file_after_a_backup(fake_home: Path) -> None:
    path = fake_home / ".cursor" / "mcp.json"
    path.parent.mkdir()
    path.write_text("{ not json")
    r = run("install", "-c", "cursor", "--auth", "oauth", "--region", "us", "--yes", "--force")
    assert r.code == 0, r.err
    assert json.loads(path.read_text())["mcpServers"]["dot"]["url"] == US_URL
    r = run("restore", "--list")
    assert str(path) in r.out
    backup_id = r.out.split()[0]
    assert run("restore", backup_id, "--yes").code == 0
    assert path.read_text() == "{ not json"


def test_read_only_file_is_refused(fake_home: Path) -> None:
    path = fake_home / ".claude.json"
    path.write_text("{}\n")
    path.chmod(0o444)
    r = run("install", "-c", "claude-code", "--auth", "oauth", "--region", "us", "--yes")
    assert r.code == 1
    assert "read-only" in r.err
    assert path.read_text() == "{}\n"


def test_symlinked_config_is_written_through(fake_home: Path, tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    real = dotfiles / "claude.json"
    real.write_text('{"theme": "dark"}\n')
    (fake_home / ".claude.json").symlink_to(real)
    r = run("install", "-c", "claude-code", "--auth", "oauth", "--region", "us", "--yes")
    assert r.code == 0, r.err
    assert (fake_home / ".claude.json").is_symlink()
    assert json.loads(real.read_text()) == {
        "theme": "dark",
        "mcpServers": {"dot": {"type": "http", "url": US_URL}},
    }


def test_existing_mode_is_kept(fake_home: Path) -> None:
    path = fake_home / ".claude.json"
    path.write_text("{}\n")
    path.chmod(0o640)
    r = run("install", "-c", "claude-code", "--token-stdin", "--yes", stdin=TOKEN)
    assert r.code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert "readable by other users" in r.err


def test_remove_takes_only_our_entry(fake_home: Path) -> None:
    path = fake_home / ".cursor" / "mcp.json"
    path.parent.mkdir()
    original = '{\n  // mine\n  "mcpServers": {\n    "x": {"url": "u"}\n  }\n}\n'
    path.write_text(original)
    assert run("install", "-c", "cursor", "--auth", "oauth", "--region", "us", "--yes").code == 0
    assert path.read_text() != original
    r = run("remove", "-c", "cursor", "--yes")
    assert r.code == 0, r.err
    assert path.read_text() == original
    r = run("remove", "-c", "cursor", "--yes")
    assert r.code == 0 and "nothing to remove" in r.err


def test_list_reports_configured_absent_and_differs(fake_home: Path) -> None:
    run("install", "-c", "claude-code", "--token-stdin", "--yes", stdin=EU_TOKEN)
    cursor = fake_home / ".cursor" / "mcp.json"
    cursor.parent.mkdir()
    cursor.write_text('{"mcpServers": {"dot": {"url": "https://old.example/mcp"}}}')
    body = run("list", "--json").json()
    rows = {row["id"]: row for row in body["data"]["clients"]}
    assert rows["claude-code"]["status"] == "configured"
    assert rows["claude-code"]["detail"].startswith("eu, token")
    assert rows["cursor"]["status"] == "differs" and rows["cursor"]["detected"]
    assert rows["codex"]["status"] == "absent" and not rows["codex"]["detected"]
    assert rows["chatgpt"]["status"] == "manual"
    assert EU_TOKEN not in json.dumps(body)


def test_show_prints_the_block_with_the_token_masked(fake_home: Path) -> None:
    r = run("show", "-c", "codex", "--token-stdin", "--no-clipboard", stdin=TOKEN)
    assert r.code == 0, r.err
    assert "[mcp_servers.dot]" in r.out and "Bearer dot_mcp_" in r.out
    _no_secret(r)
    r = run("show", "-c", "chatgpt", "--token-stdin", "--no-clipboard", "--json", stdin=TOKEN)
    fields = {f["label"]: f["value"] for f in r.json()["data"]["fields"]}
    assert fields["MCP Server URL"].startswith(US_URL + "?token=dot_mcp_")
    assert fields["Authentication"].startswith("No Auth")
    _no_secret(r)


def test_show_for_a_token_only_client_without_a_token_uses_a_placeholder(fake_home: Path) -> None:
    r = run("show", "-c", "raycast", "--no-clipboard")
    assert r.code == 0, r.err
    assert "<YOUR_MCP_TOKEN>" in r.out


def test_doit_service_is_one_more_data_file(fake_home: Path) -> None:
    r = run("install", "-c", "claude-code", "--service", "doit", "--yes")
    assert r.code == 0, r.err
    entry = json.loads((fake_home / ".claude.json").read_text())["mcpServers"]["doit"]
    assert entry == {"type": "http", "url": "https://mcp.doit.com/mcp"}
    r = run("install", "-c", "claude-code", "--service", "doit", "--auth", "token", "--yes")
    assert r.code == 2 and "cannot use --auth token" in r.err


def test_all_detected(fake_home: Path) -> None:
    (fake_home / ".codex").mkdir()
    (fake_home / ".cursor").mkdir()
    r = run("install", "--all-detected", "--auth", "oauth", "--region", "us", "--yes", "--json")
    assert r.code == 0, r.err
    clients = sorted(c["client"] for c in r.json()["data"]["changes"])
    assert clients == ["codex", "cursor"]


def test_backups_are_private(fake_home: Path) -> None:
    path = fake_home / ".claude.json"
    path.write_text('{"a": 1}')
    assert run("install", "-c", "claude-code", "--token-stdin", "--yes", stdin=TOKEN).code == 0
    backups = [p for p in (fake_home / ".local" / "state" / "dot-setup" / "backups").iterdir()]
    assert backups
    for p in backups:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert stat.S_IMODE(backups[0].parent.stat().st_mode) == 0o700


def test_failure_in_a_later_file_rolls_back_earlier_ones(
    fake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    from dot_setup.fs import fsio

    claude = fake_home / ".claude.json"
    claude.write_text('{"keep": true}\n')
    real_write = fsio.write_atomic

    def disk_full_for_codex(real: Path, data: bytes, mode: int, owner: object) -> None:
        if real.name == "config.toml":
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(real, data, mode, owner)  # type: ignore[arg-type]

    monkeypatch.setattr(fsio, "write_atomic", disk_full_for_codex)
    r = run(
        "install", "-c", "claude-code", "-c", "codex", "--auth", "oauth", "--region", "us", "--yes"
    )
    assert r.code == 1
    assert "No space left on device" in r.err
    assert claude.read_text() == '{"keep": true}\n'
    assert not (fake_home / ".codex" / "config.toml").exists()


def test_version_and_help() -> None:
    from dot_setup import __version__

    r = run("--version")
    assert r.code == 0 and r.out.strip() == f"dot-setup {__version__}"
    r = run("--help")
    assert r.code == 0 and "Exit codes" in r.out and "install" in r.out


@pytest.mark.parametrize(
    "args",
    [("install", "--bogus"), ("install", "--scope", "nope"), ("nosuchcommand",), ("show",)],
)
def test_usage_errors_exit_2_without_a_crash_report(fake_home: Path, args: tuple[str, ...]) -> None:
    r = run(*args)
    assert r.code == 2, r.err
    assert "internal error" not in r.err
    assert not (fake_home / ".local" / "state" / "dot-setup" / "logs").exists()
