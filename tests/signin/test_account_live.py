"""`Account` against the real reference server: sign-in, the device grant, refresh across a
restart, revocation, logout. Each test has a server of its own (FakeClock, fresh database).
"""

from __future__ import annotations

import json
import sqlite3
import stat
from pathlib import Path

import pytest
from tests.server.live import ANALYST, PASSWORD, LiveServer

from dot_setup.errors import AuthError
from dot_setup.paths import Paths
from dot_setup.signin import oauth
from dot_setup.signin.account import REFRESH_MARGIN, Account, SignInOptions
from dot_setup.signin.store import FileStore, Session

from .conftest import ScriptedBrowser, assert_no_secret, dcr_count

pytestmark = [pytest.mark.server, pytest.mark.slow]
HOUR = 3600


def account(live: LiveServer) -> Account:
    """A new Account, as a new dot-setup process would build it; on the server's clock."""
    acct = Account(Paths.from_env(), live.mcp_url, "us")
    acct.clock = live.clock.now
    return acct


def stored(live: LiveServer) -> Session | None:
    return account(live).current()


def refresh_with(live: LiveServer, session: Session, refresh_token: str) -> oauth.Tokens | None:
    disc = account(live).discovery()
    with oauth.client() as http:
        return oauth.refresh(http, disc, session.client_id, refresh_token, clock=live.clock.now)


def test_login_with_a_browser_keeps_the_session_in_a_0600_file(
    live: LiveServer,
    browser: ScriptedBrowser,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DOT_SETUP_CREDENTIAL_STORE", "file")
    acct = account(live)
    session = acct.login(SignInOptions(browser=browser))

    assert len(browser.urls) == 1 and browser.urls[0].startswith(live.origin + "/authorize?")
    assert session.issuer == live.origin
    assert session.account == ANALYST
    assert session.region == "us"
    assert session.resource == live.origin
    assert session.expires_at == int(live.clock.now()) + HOUR
    assert session.access_token and session.refresh_token

    path = Paths.from_env().state_dir / "credentials.json"
    assert acct.store.kind == "file" and acct.store.location == str(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    record = json.loads(path.read_text())["sessions"][live.origin]
    assert record["access_token"] == session.access_token
    assert record["expires_at"] == session.expires_at  # absolute, not expires_in
    assert "expires_in" not in record

    # The stored token works, and a new process reuses it without signing in again.
    assert live.api("GET", "/api/me", session.access_token).json()["email"] == ANALYST
    assert account(live).access_token() == session.access_token

    out = capsys.readouterr()
    assert "Open this URL in your browser" in out.err
    assert "warning" not in out.err  # the file store was chosen: no "no keyring" warning
    assert_no_secret(out.out + out.err, session.access_token, session.refresh_token)


def test_file_store_fallback_warns_once(
    live: LiveServer, browser: ScriptedBrowser, capsys: pytest.CaptureFixture[str]
) -> None:
    # Automatic choice, no usable keyring (the conftest's `fail` backend): file + one warning.
    first = account(live).login(SignInOptions(browser=browser))
    second = account(live).login(SignInOptions(browser=browser))
    err = capsys.readouterr().err
    assert err.count("no system keyring is available") == 1
    path = Paths.from_env().state_dir / "credentials.json"
    assert f"kept in {path}" in err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stored(live) == second
    assert_no_secret(err, first.access_token, first.refresh_token, second.access_token)


def test_the_client_registration_is_cached(
    live: LiveServer, browser: ScriptedBrowser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOT_SETUP_CREDENTIAL_STORE", "file")
    assert dcr_count(live) == 0
    first = account(live).login(SignInOptions(browser=browser))
    assert dcr_count(live) == 1
    cache = Paths.from_env().state_dir / "oauth-clients.json"
    assert json.loads(cache.read_text()) == {live.origin: first.client_id}

    second = account(live).login(SignInOptions(browser=browser))
    assert second.client_id == first.client_id
    assert dcr_count(live) == 1

    # Logout forgets the session, not the registration.
    account(live).logout()
    third = account(live).login(SignInOptions(browser=browser))
    assert third.client_id == first.client_id
    assert dcr_count(live) == 1
    assert len(browser.urls) == 3


def test_login_into_the_keyring_writes_no_credentials_file(
    live: LiveServer, browser: ScriptedBrowser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOT_SETUP_CREDENTIAL_STORE", "keyring")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    acct = account(live)
    session = acct.login(SignInOptions(browser=browser))
    assert acct.store.kind == "keyring"
    assert acct.store.issuers() == [live.origin]
    assert stored(live) == session
    assert not (Paths.from_env().state_dir / "credentials.json").exists()


def test_denied_on_the_consent_page(live: LiveServer) -> None:
    deny = ScriptedBrowser(action="deny")
    with pytest.raises(AuthError, match="access was denied on the consent page"):
        account(live).login(SignInOptions(browser=deny))
    assert stored(live) is None


def test_device_grant(
    live: LiveServer,
    browser: ScriptedBrowser,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DOT_SETUP_CREDENTIAL_STORE", "file")
    session = account(live).login(SignInOptions(no_browser=True, browser=browser))
    (url,) = browser.urls
    assert url.startswith(live.origin + "/device?user_code=")
    user_code = url.split("user_code=", 1)[1]
    assert session.account == ANALYST
    assert stored(live) == session
    assert live.api("GET", "/api/me", session.access_token).status_code == 200
    err = capsys.readouterr().err
    assert f"check that it shows the code  {user_code}" in err
    assert_no_secret(err, session.access_token, session.refresh_token)


def test_device_grant_is_chosen_without_a_display(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No browser callable, Linux without DISPLAY: the device grant, never webbrowser."""
    monkeypatch.setenv("DOT_SETUP_CREDENTIAL_STORE", "file")
    monkeypatch.setenv("DOT_SETUP_OS", "linux")
    approver = ScriptedBrowser()
    acct = account(live)

    # The device URL is only printed; approve it from the "other device" as it is printed.
    from dot_setup.signin import account as account_mod

    real_start = oauth.start_device

    def start_and_approve(*a: object, **kw: object) -> oauth.DeviceStart:
        start = real_start(*a, **kw)  # type: ignore[arg-type]
        approver(start.verification_uri_complete)
        return start

    monkeypatch.setattr(account_mod.oauth, "start_device", start_and_approve)
    session = acct.login(SignInOptions())
    assert session.account == ANALYST


def test_device_grant_denied(live: LiveServer) -> None:
    deny = ScriptedBrowser(action="deny")
    with pytest.raises(AuthError, match="access was denied on the device page") as info:
        account(live).login(SignInOptions(no_browser=True, browser=deny))
    assert "Allow" in info.value.hint
    assert len(deny.urls) == 1
    assert stored(live) is None


def test_refresh_across_a_restart(
    live: LiveServer, browser: ScriptedBrowser, capsys: pytest.CaptureFixture[str]
) -> None:
    """The SDK 2.3 bug: a reloaded token forgot its expiry. Ours is stored as absolute time."""
    first = account(live).login(SignInOptions(browser=browser))
    assert browser.urls  # signed in once

    # Two hours later, in a new process: the access token has expired on both sides.
    live.clock.advance(2 * HOUR)
    assert live.api("GET", "/api/me", first.access_token).status_code == 401
    browser.urls.clear()
    later = Account(Paths.from_env(), live.mcp_url, "us")
    later.clock = lambda: first.signed_in_at + 2 * HOUR  # its own clock, 2 h after sign-in
    token = later.access_token()

    assert token and token != first.access_token
    assert browser.urls == []  # silently: no browser
    now = stored(live)
    assert now is not None
    assert now.access_token == token
    assert now.refresh_token != first.refresh_token  # rotated
    assert now.expires_at == first.signed_in_at + 2 * HOUR + HOUR  # absolute, from `later`
    assert now.client_id == first.client_id
    assert live.api("GET", "/api/me", token).json()["email"] == ANALYST

    # Yet another process, a minute later: the new token is still valid, nothing is refreshed.
    live.clock.advance(60)
    assert account(live).access_token() == token
    assert stored(live) == now

    # Just inside the margin before expiry: refreshed again.
    live.clock.advance(HOUR - 60 - REFRESH_MARGIN + 1)
    third = account(live).access_token()
    assert third and third != token
    assert browser.urls == []

    out = capsys.readouterr()
    assert_no_secret(
        out.out + out.err,
        first.access_token,
        first.refresh_token,
        token,
        now.refresh_token,
        third,
    )


def test_password_change_ends_the_session(live: LiveServer, browser: ScriptedBrowser) -> None:
    first = account(live).login(SignInOptions(browser=browser))
    resp = live.api(
        "POST",
        "/api/account/password",
        first.access_token,
        json={"current_password": PASSWORD, "new_password": "a-new-password-2"},
    )
    assert resp.status_code == 200, resp.text

    live.clock.advance(2 * HOUR)
    assert account(live).access_token() is None
    assert stored(live) is None  # the session was deleted
    assert account(live).store.issuers() == []
    assert len(browser.urls) == 1


def test_reused_refresh_token_ends_the_session(live: LiveServer, browser: ScriptedBrowser) -> None:
    first = account(live).login(SignInOptions(browser=browser))
    live.clock.advance(2 * HOUR)
    assert account(live).access_token()  # rotates: first.refresh_token is now used up

    # Somebody replays the old refresh token: the server revokes the whole sign-in.
    assert refresh_with(live, first, first.refresh_token) is None

    live.clock.advance(2 * HOUR)
    assert account(live).access_token() is None
    assert stored(live) is None


def test_ensure_signs_in_only_when_needed(live: LiveServer, browser: ScriptedBrowser) -> None:
    options = SignInOptions(browser=browser)
    token = account(live).ensure(options)
    assert len(browser.urls) == 1
    assert account(live).ensure(options) == token
    assert len(browser.urls) == 1


def test_logout_revokes_the_refresh_token(
    live: LiveServer, browser: ScriptedBrowser, capsys: pytest.CaptureFixture[str]
) -> None:
    session = account(live).login(SignInOptions(browser=browser))
    acct = account(live)
    gone = acct.logout()
    assert gone == session
    assert acct.revoked is True
    assert stored(live) is None
    assert refresh_with(live, session, session.refresh_token) is None
    assert live.api("GET", "/api/me", session.access_token).status_code == 401
    assert account(live).logout() is None  # nothing left to do
    out = capsys.readouterr()
    assert_no_secret(out.out + out.err, session.access_token, session.refresh_token)


def test_logout_offline_still_forgets_the_session(
    live: LiveServer,
    browser: ScriptedBrowser,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    session = account(live).login(SignInOptions(browser=browser))
    live.stop()
    acct = account(live)
    assert acct.logout() == session
    assert acct.revoked is False
    assert acct.current() is None
    assert "the server was not told" in capsys.readouterr().err
    assert isinstance(acct.store, FileStore)


def test_a_client_the_server_forgot_is_registered_again(
    live: LiveServer, browser: ScriptedBrowser, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOT_SETUP_CREDENTIAL_STORE", "file")
    first = account(live).login(SignInOptions(browser=browser))
    account(live).logout()
    # The server loses its registrations (a new database behind the same origin).
    with sqlite3.connect(live.db_path) as db:
        db.execute("DELETE FROM oauth_clients WHERE client_id = ?", (first.client_id,))
    # Both ways of signing in notice it and register again, once, instead of failing
    # ("invalid_client") or waiting out the timeout on an "Unknown client" page.
    again = account(live).login(SignInOptions(no_browser=True, browser=browser))
    assert again.client_id != first.client_id
    account(live).logout()
    with sqlite3.connect(live.db_path) as db:
        db.execute("DELETE FROM oauth_clients WHERE client_id = ?", (again.client_id,))
    third = account(live).login(SignInOptions(browser=browser))
    assert third.client_id not in (first.client_id, again.client_id)
