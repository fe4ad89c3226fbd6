"""`dot-setup login | logout | token create|revoke|status` in-process through `cli.run`, against
the real reference server. The person at the browser is scripted (SignInOptions.browser).

Every test also checks that no access, refresh or MCP token it saw ever reached stdout/stderr.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from tests.server.live import ANALYST, LiveServer

from dot_setup.paths import Paths
from dot_setup.secrets import mask
from dot_setup.signin import oauth
from dot_setup.signin.account import Account

from .conftest import Cli, ScriptedBrowser

pytestmark = [pytest.mark.server, pytest.mark.slow]


def info(live: LiveServer, token: str) -> int:
    return live.api("GET", "/api/token-info", token).status_code


def test_login(run: Cli, live: LiveServer, browser: ScriptedBrowser) -> None:
    code, out, err = run("login")
    assert code == 0, err
    assert len(browser.urls) == 1
    assert f"Signed in to {live.origin} as {ANALYST} (US)." in err
    assert "credentials.json" in err and "`dot-setup logout` removes it" in err
    session = run.session()
    assert session is not None and session.account == ANALYST
    path = Paths.from_env().state_dir / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600

    code, out, err = run("login", "--json")
    assert code == 0, err
    envelope = json.loads(out)
    assert envelope["status"] == "ok"
    assert envelope["data"] == {
        "issuer": live.origin,
        "account": ANALYST,
        "region": "us",
        "store": "file",
    }
    run.check_no_secret()


def test_login_with_no_browser_uses_the_device_grant(run: Cli, browser: ScriptedBrowser) -> None:
    code, _, err = run("login", "--no-browser")
    assert code == 0, err
    assert "/device?user_code=" in browser.urls[0]
    assert "check that it shows the code" in err
    run.check_no_secret()


def test_token_create_status_revoke(signed_in: Cli, live: LiveServer, tmp_path: Path) -> None:
    run = signed_in
    first_file = tmp_path / "out" / "first.token"

    # create: no active token yet, so no question and no warning.
    code, out, err = run("token", "create", "--output", str(first_file))
    assert code == 0, err
    assert stat.S_IMODE(first_file.stat().st_mode) == 0o600
    first = run.read_token(first_file)
    assert first.startswith("dot_mcp_us_")
    assert first_file.read_text() == first + "\n"
    body = live.api("GET", "/api/token-info", first).json()
    assert (body["kind"], body["owner"], body["mcp_access"]) == ("mcp_token", ANALYST, True)
    # The region is the server's, also with --server-url (it used to say "(CUSTOM)").
    assert f"Created MCP token {mask(first)} for {ANALYST} (US), valid until " in err
    assert f"written to {first_file} (mode 0600)" in err
    assert mask(first).startswith("dot_mcp_us_…") and mask(first).endswith(first[-4:])
    assert "revokes your current one" not in err
    assert out == ""

    # status of the account's token: masked form, owner, region, expiry; never the token.
    code, out, err = run("token", "status")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("token    dot_mcp_us_") and lines[0].endswith(first[-4:])
    assert f"owner    {ANALYST}" in lines
    assert "region   US" in lines
    assert any(line.startswith("expires  ") and "(in 36" in line for line in lines)

    code, out, err = run("token", "status", "--json")
    assert code == 0, err
    envelope = json.loads(out)
    assert envelope["command"] == "token status" and envelope["exit_code"] == 0
    data = envelope["data"]
    assert data["active"] is True and data["owner"] == ANALYST and data["region"] == "us"
    assert data["display"].endswith(first[-4:]) and data["expires_at"] > 0
    assert "token" not in data

    # create again without --yes and without a terminal: refused, nothing changed.
    second_file = tmp_path / "second.token"
    code, out, err = run("token", "create", "--output", str(second_file))
    assert code == 2
    assert "revokes your current one" in err and "--yes" in err
    assert not second_file.exists()
    assert info(live, first) == 200

    # ... with --yes: warns about the previous token, which then stops working.
    code, out, err = run("token", "create", "--output", str(second_file), "--yes", "--json")
    assert code == 0, err
    second = run.read_token(second_file)
    assert "revokes your current one (dot_mcp_us_" in err
    data = json.loads(out)["data"]
    assert data["created"] is True and data["replaced_previous"] is True
    assert data["display"] == mask(second) and data["file"] == str(second_file)
    assert info(live, first) == 401
    assert info(live, second) == 200

    # revoke: needs --yes without a terminal, then the token is refused.
    code, out, err = run("token", "revoke")
    assert code == 2 and "--yes" in err
    assert info(live, second) == 200
    code, out, err = run("token", "revoke", "--yes")
    assert code == 0, err
    assert "Revoked 1 MCP token(s)." in err
    assert info(live, second) == 401
    code, out, err = run("token", "revoke", "--yes")
    assert code == 0 and "You had no active MCP token." in err

    code, out, err = run("token", "status")
    assert code == 0, err
    assert out.strip() == f"{ANALYST} (US) has no active MCP token."
    run.check_no_secret()


def test_token_status_of_a_given_token(signed_in: Cli, live: LiveServer, tmp_path: Path) -> None:
    run = signed_in
    api_token = live.api_token()
    run.secrets.add(api_token)
    api_file = tmp_path / "api.token"
    api_file.write_text(api_token + "\n")
    api_file.chmod(0o600)
    code, out, err = run("token", "status", "--token-file", str(api_file))
    assert code == 0, err
    assert "kind     api_token  (no MCP access)" in out
    assert f"owner    {ANALYST}" in out and "region   US" in out

    code, out, err = run("token", "status", "--token-file", str(api_file), "--json")
    assert code == 0, err
    data = json.loads(out)["data"]
    assert data["kind"] == "api_token" and data["mcp_access"] is False
    assert data["source"] == f"file {api_file}"
    assert "token" not in data

    mcp_file = tmp_path / "mcp.token"
    assert run("token", "create", "--output", str(mcp_file))[0] == 0
    run.read_token(mcp_file)
    code, out, err = run("token", "status", "--token-file", str(mcp_file))
    assert code == 0, err
    assert "kind     mcp_token\n" in out

    # A refused token: exit 4 with the server's words, and still not echoed.
    assert run("token", "revoke", "--yes")[0] == 0
    code, out, err = run("token", "status", "--token-file", str(mcp_file))
    assert code == 4
    assert "Invalid API token" in err
    run.check_no_secret()


def test_a_readable_token_file_is_flagged(signed_in: Cli, live: LiveServer, tmp_path: Path) -> None:
    token = live.api_token()
    signed_in.secrets.add(token)
    path = tmp_path / "loose.token"
    path.write_text(token)
    path.chmod(0o644)
    code, _, err = signed_in("token", "status", "--token-file", str(path))
    assert code == 0
    assert "readable by other users" in err
    signed_in.check_no_secret()


def test_logout(signed_in: Cli, live: LiveServer) -> None:
    run = signed_in
    session = run.session()
    assert session is not None
    code, _, err = run("logout")
    assert code == 0, err
    assert f"Signed out of {live.origin} ({ANALYST}); its refresh token was revoked." in err
    assert run.session() is None
    disc = Account(Paths.from_env(), live.mcp_url, "us").discovery()
    with oauth.client() as http:
        assert oauth.refresh(http, disc, session.client_id, session.refresh_token) is None

    code, _, err = run("logout")
    assert code == 0 and "Not signed in" in err
    code, _, err = run("token", "status")
    assert code == 4 and "dot-setup login" in err
    run.check_no_secret()


def test_logout_all(signed_in: Cli, live: LiveServer) -> None:
    code, out, err = signed_in("logout", "--all", "--json", server=False)
    assert code == 0, err
    assert json.loads(out)["data"] == {"signed_out": [live.origin]}
    assert signed_in.session() is None
    signed_in.check_no_secret()


def test_not_signed_in(run: Cli, browser: ScriptedBrowser, tmp_path: Path) -> None:
    out_file = tmp_path / "t.token"
    for argv in (
        ("token", "create", "--output", str(out_file), "--no-input"),
        ("token", "create", "--output", str(out_file), "--yes"),  # no terminal under pytest
        ("token", "revoke", "--yes"),
        ("token", "status"),
    ):
        code, _, err = run(*argv)
        assert code == 4, (argv, err)
        assert "dot-setup login" in err
    code, out, _ = run("token", "create", "--output", str(out_file), "--json")
    assert code == 4
    envelope = json.loads(out)
    assert envelope["status"] == "error" and envelope["errors"][0]["code"] == "auth"
    assert "dot-setup login" in envelope["errors"][0]["hint"]
    assert not out_file.exists()
    assert browser.urls == []


def test_the_remembered_server_is_used(signed_in: Cli, live: LiveServer, tmp_path: Path) -> None:
    """After `login --server-url`, later commands need no --server-url."""
    code, out, err = signed_in("token", "status", server=False)
    assert code == 0, err
    assert "has no active MCP token" in out
    signed_in.check_no_secret()


def test_logout_offline_does_not_claim_a_revocation(signed_in: Cli, live: LiveServer) -> None:
    live.stop()
    code, _, err = signed_in("logout")
    assert code == 0, err
    assert "the server was not told" in err
    assert "was revoked" not in err  # it was not: the server could not be reached
    assert f"Signed out of {live.origin} ({ANALYST})" in err
    assert signed_in.session() is None
    signed_in.check_no_secret()
