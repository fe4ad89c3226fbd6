"""Helpers shared by the HTML pages and the JSON endpoints: sessions, CSRF, responses."""

from __future__ import annotations

import html
import secrets
from typing import Any
from urllib.parse import urlencode, urlsplit

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
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' http: https: cursor:; frame-ancestors 'none'",
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
body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1b1b1f}
h1{font-size:1.4rem} .muted{color:#666} .warn{background:#fff4e5;padding:.6rem;border-radius:6px}
.error{background:#fdecea;padding:.6rem;border-radius:6px} code,.token{font-family:ui-monospace,monospace}
.token{display:block;background:#f3f3f5;padding:.6rem;word-break:break-all}
button,.button{font-size:1rem;padding:.5rem 1rem;margin-right:.5rem}
table{border-collapse:collapse} td,th{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:left}
"""


def page(title: str, body: str, status: int = 200, region: str = "") -> HTMLResponse:
    label = f"Dot ({region.upper()})" if region else "Dot"
    text = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width'><title>{esc(title)} · {esc(label)}</title>"
        f"<style>{STYLE}</style></head><body><p class=muted>{esc(label)}</p>"
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
    ip = request.client.host if request.client else "?"
    return state.limiter.hit(f"login-ip:{ip}", limit * 3) or state.limiter.hit(
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


async def form(request: Request) -> dict[str, str]:
    data = await request.form()
    return {k: v for k, v in data.items() if isinstance(v, str)}
