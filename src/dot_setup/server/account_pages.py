"""The signed-in user's password page and the admin's pages (active MCP tokens, query log).

Every form here is a POST with the session's CSRF value and a same-origin check; a password
check counts against the sign-in rate limits (web.password_attempt_wait).
"""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dot_setup.server import accounts, credentials
from dot_setup.server.accounts import WebSession
from dot_setup.server.web import (
    SESSION_COOKIE,
    csrf_ok,
    error_page,
    esc,
    form_fields,
    hidden_fields,
    origin_ok,
    page,
    password_attempt_wait,
    posted_form,
    redirect,
    require_admin,
    require_session,
    state_of,
    too_many_attempts,
)


def _when(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


async def password_page(request: Request) -> Response:
    state = state_of(request)
    session = await require_session(request)
    if not isinstance(session, WebSession):
        return session
    message = ""
    if request.method == "POST":
        data = await form_fields(request)
        if not origin_ok(request) or not csrf_ok(session, data.get("csrf")):
            return error_page(state, "Request refused", "Reload the page and try again.", 403)
        if wait := password_attempt_wait(request, session.user.email):
            return too_many_attempts(state, wait)
        new = data.get("new_password", "")
        async with state.db.tx() as conn:
            ok = await accounts.authenticate(
                conn, session.user.email, data.get("current_password", "")
            )
            if ok and len(new) >= 8:
                await accounts.change_password(conn, session.user, new, state.now())
        if ok and len(new) >= 8:
            resp = page(
                "Password changed",
                "<p>Every session and token was revoked. <a href='/login'>Sign in again</a>.</p>",
                region=state.region,
            )
            resp.delete_cookie(SESSION_COOKIE, path="/")
            return resp
        message = "<p class=error>Wrong current password, or the new one is shorter than 8 characters.</p>"
    body = (
        f"{message}<form method=post action='/settings/password'>{hidden_fields(session)}"
        "<p><label>Current password<br><input name=current_password type=password required></label></p>"
        "<p><label>New password<br><input name=new_password type=password minlength=8 required></label></p>"
        "<p class=warn>Changing your password signs out every session and revokes every MCP and OAuth token.</p>"
        "<button>Change password</button></form>"
    )
    return page("Change password", body, region=state.region)


async def admin_tokens(request: Request) -> Response:
    state = state_of(request)
    session = await require_admin(request)
    if not isinstance(session, WebSession):
        return session
    async with state.db.tx() as conn:
        active = await credentials.active_mcp_tokens(conn, state.now())
    rows = "".join(
        f"<tr><td>{esc(t.email)}</td><td><code>{esc(t.display)}</code></td><td>{_when(t.created_at)}</td>"
        f"<td>{_when(t.expires_at)}</td><td><form method=post action='/admin/tokens/{esc(t.id)}/delete'>"
        f"{hidden_fields(session)}<button>Delete</button></form></td></tr>"
        for t in active
    )
    body = f"<table><tr><th>User</th><th>Token</th><th>Created</th><th>Expires</th><th></th></tr>{rows}</table>"
    return page(
        "MCP tokens", body if active else "<p>No active MCP tokens.</p>", region=state.region
    )


async def admin_delete_token(request: Request) -> Response:
    state = state_of(request)
    posted = await posted_form(request, admin=True)
    if not isinstance(posted, tuple):
        return posted
    async with state.db.tx() as conn:
        await credentials.revoke_mcp_token(
            conn, state.now(), token_id=request.path_params["token_id"]
        )
    return redirect("/admin/tokens")


async def admin_query_log(request: Request) -> Response:
    state = state_of(request)
    session = await require_admin(request)
    if not isinstance(session, WebSession):
        return session
    from dot_setup.server.querylog import recent

    async with state.db.tx() as conn:
        entries = await recent(conn, 200)
    rows = "".join(
        f"<tr><td>{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(e['ts']))}</td><td>{esc(e['email'])}</td>"
        f"<td>{esc(e['client_id'])}</td><td>{esc(e['tool'])}</td><td><code>{esc(e['arguments'])}</code></td>"
        f"<td>{'allowed' if e['allowed'] else 'denied'}</td><td>{e['rows']}</td><td>{e['duration_ms']:.1f} ms</td></tr>"
        for e in entries
    )
    body = (
        "<table><tr><th>Time (UTC)</th><th>User</th><th>Client</th><th>Tool</th><th>Arguments</th>"
        f"<th>Result</th><th>Rows</th><th>Duration</th></tr>{rows}</table>"
    )
    return page("Query log", body, region=state.region)


def routes() -> list[Route]:
    return [
        Route("/settings/password", password_page, methods=["GET", "POST"]),
        Route("/admin/tokens", admin_tokens, methods=["GET"]),
        Route("/admin/tokens/{token_id}/delete", admin_delete_token, methods=["POST"]),
        Route("/admin/query-log", admin_query_log, methods=["GET"]),
    ]
