"""Helpers shared by the HTML pages and the JSON endpoints: sessions, CSRF, responses."""

from __future__ import annotations

import html
import secrets
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from dot_setup.server import accounts
from dot_setup.server.accounts import WebSession
from dot_setup.server.security import same
from dot_setup.server.state import ServerState

SESSION_COOKIE = "dot_session"
LOGIN_CSRF_COOKIE = "dot_login_csrf"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
PAGE_HEADERS = {
    **NO_STORE,
    "X-Frame-Options": "DENY",
    # script-src 'self': the one script is /static/copy.js (copy buttons); nothing inline.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; form-action 'self' http: https: cursor:; frame-ancestors 'none'",
    # Fetch, "serializing a request origin": for a POST, the Origin header is "null" when the
    # page's referrer policy is no-referrer, even for a form on the same origin (Chromium does
    # exactly that, and every sign-in failed). same-origin keeps the Origin (and a Referer) on
    # requests to this server and sends no Referer anywhere else, so consent URLs and codes
    # still never leak to other sites.
    "Referrer-Policy": "same-origin",
}


def state_of(request: Request) -> ServerState:
    st: ServerState = request.app.state.dot
    return st


def esc(value: object) -> str:
    return html.escape(str(value), quote=True)


STYLE = """
body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1b1b1f;line-height:1.45}
h1{font-size:1.4rem} h2{font-size:1.15rem;margin-top:2rem} h3{font-size:1rem;margin:1.2rem 0 .4rem}
.muted{color:#555} .warn{display:block;background:#fff4e5;padding:.6rem;border-radius:6px}
.error{background:#fdecea;padding:.6rem;border-radius:6px} code,pre,.token{font-family:ui-monospace,monospace}
pre{background:#f3f3f5;padding:.6rem;border-radius:6px;white-space:pre-wrap;overflow-wrap:anywhere;margin:0}
code{overflow-wrap:anywhere} .token{display:block;background:#f3f3f5;padding:.6rem;overflow-wrap:anywhere}
button,.button{font-size:1rem;padding:.5rem 1rem;margin:.2rem .5rem .2rem 0;display:inline-block}
.button{border:1px solid #1a5fb4;border-radius:6px;color:#fff;background:#1a5fb4;text-decoration:none}
:focus-visible{outline:3px solid #1a5fb4;outline-offset:2px}
table{border-collapse:collapse} td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left;vertical-align:top}
.copyable{display:flex;gap:.4rem;align-items:flex-start;margin:.3rem 0} .copyable>pre,.copyable>code{flex:1;min-width:0}
.copy{font-size:.85rem;padding:.3rem .6rem;margin:0}
.lead{background:#eef4fb;padding:.4rem .8rem;border-radius:6px} .once{border:2px solid #e5a50a;padding:.6rem;border-radius:6px}
.picker{display:flex;flex-wrap:wrap;gap:0 1.5rem} .picker .group{min-width:12rem} .picker ul{padding-left:1.1rem;margin:.2rem 0}
[aria-current=page]{font-weight:bold}
.tabs{display:flex;gap:.5rem;border-bottom:2px solid #ddd;margin:.6rem 0}
.tabs a{padding:.4rem .8rem;text-decoration:none;border-radius:6px 6px 0 0}
.tabs a[aria-current=page]{background:#1a5fb4;color:#fff}
dl dt{font-weight:bold;margin-top:.5rem} dl dd{margin:0}
#client{border:1px solid #ddd;border-radius:8px;padding:0 1rem 1rem;margin-top:1rem}
"""


def page(
    title: str, body: str, status: int = 200, region: str = "", script: str = ""
) -> HTMLResponse:
    label = f"Dot ({region.upper()})" if region else "Dot"
    tag = f"<script src='{esc(script)}' defer></script>" if script else ""
    text = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width, initial-scale=1'><title>{esc(title)} · {esc(label)}</title>"
        f"<style>{STYLE}</style>{tag}</head><body><p class=muted>{esc(label)}</p>"
        f"<h1>{esc(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(text, status_code=status, headers=PAGE_HEADERS)


def error_page(state: ServerState, title: str, detail: str, status: int = 400) -> HTMLResponse:
    return page(title, f"<p class=error>{esc(detail)}</p>", status, state.region)


def oauth_error(error: str, description: str, status: int = 400, **extra: str) -> JSONResponse:
    return JSONResponse(
        {"error": error, "error_description": description},
        status_code=status,
        headers={**NO_STORE, **extra},
    )


def api_error(status: int, error: str, message: str, hint: str = "") -> JSONResponse:
    body: dict[str, Any] = {"error": error, "message": message}
    if hint:
        body["hint"] = hint
    return JSONResponse(body, status_code=status, headers=NO_STORE)


def redirect(url: str, status: int = 303) -> RedirectResponse:
    return RedirectResponse(url, status_code=status, headers=NO_STORE)


def with_params(url: str, params: dict[str, str]) -> str:
    sep = "&" if urlsplit(url).query else "?"
    return url + sep + urlencode(params)


def safe_next(value: str | None) -> str:
    """Only a path on this server (never `//host` or `https://...`) may be a login's next page."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/settings/integrations"


def session_life(state: ServerState) -> accounts.SessionLife:
    lifetimes = state.config.lifetimes
    return accounts.SessionLife(idle=lifetimes.web_session_idle, limit=lifetimes.web_session)


async def current_session(request: Request) -> WebSession | None:
    sid = request.cookies.get(SESSION_COOKIE)
    if not sid:
        return None
    state = state_of(request)
    async with state.db.tx() as conn:
        return await accounts.load_session(conn, sid, state.now(), session_life(state))


def origin_ok(request: Request) -> bool:
    """A browser's form POST must come from our own pages.

    Browsers send Origin on every POST (Fetch). Our pages' referrer policy (same-origin) makes
    it our origin; a post from another site carries that site's origin, or "null" (an opaque
    origin: a sandboxed frame, a data: URL, a page with no-referrer), and both are refused. A
    request with no Origin at all is not a browser's form post (a script, a CLI); the CSRF
    token, which only our pages hold, still has to match.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin in state_of(request).config.allowed_origins()


def password_attempt_wait(request: Request, email: str) -> float:
    """Seconds to wait before this password may be checked (0: go ahead).

    Every place that checks a password (the login form, and the current password of a password
    change, in the page and the API) counts against the same limits, per account and per
    address: otherwise a year-long OAuth grant would allow guessing without the login's limit.
    """
    state = state_of(request)
    limit = state.config.limits.login
    return state.limiter.hit(f"login-ip:{client_ip(request)}", limit * 3) or state.limiter.hit(
        f"login:{email.strip().lower()}", limit
    )


def too_many_attempts(state: ServerState, wait: float) -> HTMLResponse:
    resp = page(
        "Too many attempts",
        f"<p class=error>Too many sign-in attempts. Try again in {int(wait) + 1} s.</p>",
        429,
        state.region,
    )
    resp.headers["Retry-After"] = str(int(wait) + 1)
    return resp


def csrf_ok(session: WebSession, submitted: object) -> bool:
    return isinstance(submitted, str) and bool(submitted) and same(submitted, session.csrf)


def login_csrf(request: Request) -> tuple[str, bool]:
    """The pre-login CSRF value (double-submit cookie) and whether it must be set."""
    existing = request.cookies.get(LOGIN_CSRF_COOKIE)
    if existing:
        return existing, False
    return secrets.token_urlsafe(24), True


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form's text fields (a file upload is not a field anyone here expects)."""
    data = await request.form()
    return {k: v for k, v in data.items() if isinstance(v, str)}


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "?"


def too_many_requests(wait: float) -> JSONResponse:
    return oauth_error(
        "temporarily_unavailable",
        "too many requests; try again later",
        429,
        **{"Retry-After": str(int(wait) + 1)},
    )


def hidden_fields(session: WebSession, **fields: str) -> str:
    """A signed-in form's hidden inputs: its CSRF value, and the fields given."""
    items = {"csrf": session.csrf, **fields}
    return "".join(
        f"<input type=hidden name='{esc(k)}' value='{esc(v)}'>" for k, v in items.items()
    )


async def require_session(request: Request) -> WebSession | Response:
    """The signed-in user, or the way to the login page (and back)."""
    session = await current_session(request)
    if session is None:
        # After signing in, a GET comes back to its page; a form post to the page with the
        # form (its own URL answers only POST).
        back = request.url.path if request.method == "GET" else "/settings/integrations"
        return redirect(f"/login?next={quote(back, safe='')}")
    return session


async def require_admin(request: Request) -> WebSession | Response:
    session = await require_session(request)
    if isinstance(session, WebSession) and not session.user.is_admin:
        return error_page(state_of(request), "Admins only", "This page is for Dot admins.", 403)
    return session


async def posted_form(
    request: Request, *, admin: bool = False
) -> tuple[WebSession, dict[str, str]] | Response:
    """A signed-in user's form POST that came from our own page (CSRF token and Origin)."""
    session = await (require_admin(request) if admin else require_session(request))
    if not isinstance(session, WebSession):
        return session
    data = await form_fields(request)
    if not origin_ok(request) or not csrf_ok(session, data.get("csrf")):
        return error_page(
            state_of(request), "Request refused", "Reload the page and try again.", 403
        )
    return session, data
