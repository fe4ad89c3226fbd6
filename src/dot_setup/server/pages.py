"""The sign-in pages: login, consent and device sign-in (account_pages: password and admin;
integrations: Settings → Integrations).

The consent page follows the connect guide: it expires after 10 minutes ("Authorization session
expired"), asks a signed-out visitor to "Sign in to continue" (Open Dot Login, then Continue),
and shows the client, where the browser will be sent, and the permissions asked for.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from sqlalchemy import select, update
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dot_setup.server import accounts, clients, credentials
from dot_setup.server import schema as s
from dot_setup.server.accounts import User
from dot_setup.server.oauth_authorize import AlreadyAnswered, complete_authorization
from dot_setup.server.security import digest
from dot_setup.server.state import ServerState
from dot_setup.server.web import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    csrf_ok,
    current_session,
    error_page,
    esc,
    form_fields,
    hidden_fields,
    login_csrf,
    origin_ok,
    page,
    password_attempt_wait,
    redirect,
    safe_next,
    session_life,
    set_cookie,
    state_of,
    too_many_attempts,
)

EXPIRED_TITLE = "Authorization session expired"
EXPIRED_TEXT = (
    "The consent page expires after 10 minutes. Restart the connection from your AI client."
)


def _sign_in_to_continue(state: ServerState, here: str) -> Response:
    body = (
        "<p>You need to be signed into Dot first.</p>"
        f"<p><a class=button href='/login?next={esc(quote(here, safe=''))}' target=_blank>Open Dot Login</a></p>"
        "<p class=muted>Sign in (password or SSO), then click Continue.</p>"
        f"<form method=get action='{esc(here.split('?')[0])}'>"
        + "".join(
            f"<input type=hidden name='{esc(k)}' value='{esc(v)}'>" for k, v in _query_pairs(here)
        )
        + "<button>Continue</button></form>"
    )
    # 200, not 401: a 401 must carry a WWW-Authenticate challenge (RFC 9110, 15.5.2), and this
    # is a page for a person, not an HTTP authentication scheme.
    return page("Sign in to continue", body, 200, state.region)


def _query_pairs(url: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl, urlsplit

    return parse_qsl(urlsplit(url).query)


async def _permissions(state: ServerState, user: User) -> str:
    async with state.db.tx() as conn:
        sources = await accounts.granted_sources(conn, user)
    items = [
        f"Use Dot's MCP tools as <b>{esc(user.email)}</b>, with your Dot permissions",
        f"Read the data sources you can access: {esc(', '.join(sources) or 'none')}",
        "Stay connected for up to a year (access tokens last 1 hour and refresh automatically)",
    ]
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _redirect_note(uri: str) -> str:
    host, local = clients.redirect_label(uri)
    known = clients.KNOWN_REDIRECT_HOSTS.get(host)
    text = f"After you choose, your browser goes to <b>{esc(host)}</b>"
    if known:
        text += f" ({esc(known)})"
    text += "."
    warning = ""
    if local:
        warning = "That address is on this computer: approve only if you just started the sign-in from an app here."
    elif not known:
        warning = "Dot does not know this site: approve only if you trust it."
    # The warning is a block of its own: as an inline box it overlapped the line above.
    return f"<p>{text}</p>" + (f"<p class=warn role=note>{esc(warning)}</p>" if warning else "")


# -- login -----------------------------------------------------------------------------------


def _login_form(state: ServerState, nxt: str, csrf: str, message: str = "") -> str:
    note = f"<p class=error>{esc(message)}</p>" if message else ""
    return (
        f"{note}<form method=post action='/login'>"
        f"<input type=hidden name='csrf' value='{esc(csrf)}'><input type=hidden name='next' value='{esc(nxt)}'>"
        "<p><label>E-mail<br><input name=email type=email autocomplete=username required></label></p>"
        "<p><label>Password<br><input name=password type=password autocomplete=current-password required></label></p>"
        "<button>Sign in</button></form>"
    )


async def login_page(request: Request) -> Response:
    state = state_of(request)
    nxt = safe_next(request.query_params.get("next"))
    if await current_session(request):
        return redirect(nxt)
    csrf, fresh = login_csrf(request)
    resp = page("Sign in to Dot", _login_form(state, nxt, csrf), region=state.region)
    if fresh:
        set_cookie(resp, request, LOGIN_CSRF_COOKIE, csrf, 3600)
    return resp


async def login_submit(request: Request) -> Response:
    state = state_of(request)
    data = await form_fields(request)
    nxt = safe_next(data.get("next"))
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not origin_ok(request) or not cookie or data.get("csrf") != cookie:
        return error_page(
            state, "Sign-in failed", "The sign-in form expired. Open the login page again.", 403
        )
    email = data.get("email", "").strip().lower()
    if wait := password_attempt_wait(request, email):
        return too_many_attempts(state, wait)
    async with state.db.tx() as conn:
        user = await accounts.authenticate(conn, email, data.get("password", ""))
        if user is None:
            return page(
                "Sign in to Dot",
                _login_form(state, nxt, cookie, "Wrong e-mail or password."),
                401,
                state.region,
            )
        # A new sign-in always gets a new session id, and the one this browser held (if
        # any) ends: a copy of the old cookie is worth nothing from here on.
        if previous := request.cookies.get(SESSION_COOKIE):
            await accounts.close_session(conn, previous, state.now())
        sid, _ = await accounts.open_session(conn, user, state.now(), session_life(state))
    done = redirect(nxt)
    set_cookie(done, request, SESSION_COOKIE, sid, state.config.lifetimes.web_session)
    done.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return done


async def logout(request: Request) -> Response:
    state = state_of(request)
    session = await current_session(request)
    data = await form_fields(request)
    if session and csrf_ok(session, data.get("csrf")) and origin_ok(request):
        async with state.db.tx() as conn:
            await accounts.close_session(conn, request.cookies[SESSION_COOKIE], state.now())
    resp = redirect("/login")
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


# -- consent ---------------------------------------------------------------------------------


async def _pending(state: ServerState, rid: str) -> tuple[Any, Response | None]:
    async with state.db.tx() as conn:
        row = (
            await conn.execute(
                select(s.auth_requests).where(s.auth_requests.c.id_hash == digest(rid))
            )
        ).first()
    if row is None:
        return None, error_page(
            state, "Unknown authorization request", "Restart the connection from your AI client."
        )
    if row.created_at + state.config.lifetimes.consent_page <= state.now():
        return None, error_page(state, EXPIRED_TITLE, EXPIRED_TEXT)
    if row.used_at is not None:
        return None, _already_completed(state)
    return row, None


def _already_completed(state: ServerState) -> Response:
    return error_page(
        state,
        "Authorization already completed",
        "Restart the connection from your AI client if it did not connect.",
    )


async def consent_page(request: Request) -> Response:
    state = state_of(request)
    rid = request.query_params.get("r", "")
    row, problem = await _pending(state, rid)
    if problem:
        return problem
    session = await current_session(request)
    if session is None:
        return _sign_in_to_continue(state, f"/consent?r={rid}")
    client = await clients.get_client(state, row.client_id)
    params = json.loads(row.params)
    name = client.name if client else row.client_id
    deny = f"<form method=post action='/consent'>{hidden_fields(session, r=rid)}<button name=action value=deny>Deny</button></form>"
    if not session.user.mcp_access:
        body = (
            f"<p class=error>Your Dot account ({esc(session.user.email)}) does not have MCP access. "
            "Ask a Dot admin to enable it.</p>" + deny
        )
        return page("No MCP access", body, 403, state.region)
    body = (
        f"<p><b>{esc(name)}</b> wants to connect to Dot.</p>"
        + await _permissions(state, session.user)
        + _redirect_note(params["redirect_uri"])
        + f"<form method=post action='/consent'>{hidden_fields(session, r=rid)}"
        "<button name=action value=allow>Allow</button><button name=action value=deny>Deny</button></form>"
    )
    return page("Allow access to Dot?", body, region=state.region)


async def consent_submit(request: Request) -> Response:
    state = state_of(request)
    data = await form_fields(request)
    rid = data.get("r", "")
    session = await current_session(request)
    if session is None:
        return _sign_in_to_continue(state, f"/consent?r={rid}")
    if not origin_ok(request) or not csrf_ok(session, data.get("csrf")):
        return error_page(
            state,
            "Request refused",
            "The form did not come from this Dot page. Reload it and try again.",
            403,
        )
    _row, problem = await _pending(state, rid)
    if problem:
        return problem
    allow = data.get("action") == "allow" and session.user.mcp_access
    try:
        return redirect(await complete_authorization(state, rid, session.user.id, allow))
    except AlreadyAnswered:
        return _already_completed(state)


# -- device sign-in (RFC 8628) ----------------------------------------------------------------


async def device_page(request: Request) -> Response:
    state = state_of(request)
    code = request.query_params.get("user_code", "").strip().upper()
    here = f"/device?user_code={code}" if code else "/device"
    session = await current_session(request)
    if session is None:
        return _sign_in_to_continue(state, here)
    if not code:
        body = (
            "<form method=get action='/device'><p><label>Code shown in your terminal<br>"
            "<input name=user_code autocomplete=off required></label></p><button>Continue</button></form>"
        )
        return page("Connect a device", body, region=state.region)
    row = await _device_row(state, code)
    if row is None:
        return error_page(
            state,
            "Unknown or expired code",
            "Check the code, or start the sign-in again in your terminal.",
        )
    client = await clients.get_client(state, row.client_id)
    body = (
        f"<p><b>{esc(client.name if client else row.client_id)}</b> in a terminal wants to connect to Dot. "
        f"Check that it shows the code <code>{esc(code)}</code>.</p>"
        + await _permissions(state, session.user)
        + f"<form method=post action='/device'>{hidden_fields(session, user_code=code)}"
        "<button name=action value=allow>Allow</button><button name=action value=deny>Deny</button></form>"
    )
    return page("Allow access to Dot?", body, region=state.region)


async def _device_row(state: ServerState, code: str) -> Any:
    async with state.db.tx() as conn:
        row = (
            await conn.execute(select(s.device_codes).where(s.device_codes.c.user_code == code))
        ).first()
    if row is None or row.status != "pending" or row.expires_at <= state.now():
        return None
    return row


async def device_submit(request: Request) -> Response:
    state = state_of(request)
    data = await form_fields(request)
    code = data.get("user_code", "").strip().upper()
    session = await current_session(request)
    if session is None:
        return _sign_in_to_continue(state, f"/device?user_code={code}")
    if not origin_ok(request) or not csrf_ok(session, data.get("csrf")):
        return error_page(state, "Request refused", "Reload the page and try again.", 403)
    row = await _device_row(state, code)
    if row is None:
        return error_page(
            state, "Unknown or expired code", "Start the sign-in again in your terminal."
        )
    allow = data.get("action") == "allow" and session.user.mcp_access
    now = state.now()
    codes = s.device_codes
    async with state.db.tx() as conn:
        # Claimed by one conditional UPDATE first: of concurrent answers only one counts.
        claimed = await conn.execute(
            update(codes)
            .where(codes.c.device_hash == row.device_hash, codes.c.status == "pending")
            .values(status="approved" if allow else "denied", user_id=session.user.id)
        )
        if claimed.rowcount != 1:
            return error_page(
                state, "Already answered", "This code was already approved or denied."
            )
        if allow:
            grant_id = await credentials.create_grant(
                conn,
                session.user,
                row.client_id,
                row.scope,
                row.resource,
                now,
                state.config.lifetimes.refresh_grant,
            )
            await conn.execute(
                update(codes)
                .where(codes.c.device_hash == row.device_hash)
                .values(grant_id=grant_id)
            )
    title, text = (
        ("Device connected", "You can return to your terminal.")
        if allow
        else ("Access denied", "The terminal was not connected.")
    )
    return page(title, f"<p>{esc(text)}</p>", region=state.region)


async def home(request: Request) -> Response:
    return redirect("/settings/integrations", 302)


def routes() -> list[Route]:
    return [
        Route("/", home, methods=["GET"]),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login_submit, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/consent", consent_page, methods=["GET"]),
        Route("/consent", consent_submit, methods=["POST"]),
        Route("/device", device_page, methods=["GET"]),
        Route("/device", device_submit, methods=["POST"]),
    ]
