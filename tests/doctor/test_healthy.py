"""A healthy setup passes cleanly: every check passes or is skipped, and the exit code is 0."""

from __future__ import annotations

from pathlib import Path

from tests.doctor.conftest import Regions, check, doctor, human, install, write


def test_healthy_token_and_oauth_setup_passes(regions: Regions, fake_home: Path) -> None:
    token = regions.us.mcp_token()
    write(fake_home / ".cursor" / "mcp.json", '{"mcpServers": {}}\n')
    write(fake_home / ".codex" / "config.toml", 'model = "o5"\n')
    install("--client", "cursor", "--region", "us", "--token-stdin", stdin=token)
    install("--client", "codex", "--region", "us", "--auth", "oauth")

    code, env, err = doctor()

    assert code == 0, err
    statuses = {c["id"]: c["status"] for c in env["data"]["checks"]}
    assert not [i for i, s in statuses.items() if s in ("fail", "error", "warn")], statuses
    assert check(env, "client.cursor.token")["summary"].startswith("MCP token dot_mcp_us_")
    assert "5 tools" in check(env, "client.cursor.live")["summary"]
    assert token not in str(env) and token not in err
    assert env["status"] == "ok" and env["exit_code"] == 0

    shown = human()
    assert shown.code == 0
    assert (
        shown.out.strip()
        .splitlines()[-1]
        .startswith(f"{env['data']['counts']['pass']} passed, 0 warnings, 0 failed")
    )
    assert token not in shown.out + shown.err
