"""Settings → Integrations: the MCP URL, the MCP token, and every client's setup.

The client part is not written here: it is the guide of each client profile (guide.py), the
same one `dot-setup show` prints, so the page and the CLI cannot disagree. The page offers the
client picker (grouped as on Dot's page), per client an OAuth and an API-token tab, the config
file's place per OS, the block, the client's own command, install links (OAuth only: a link
never carries a token), or the steps in its app. "Generate MCP Token" shows the new token once
and fills it into the API-token blocks of that one response; no page shows it again.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dot_setup.engine import guide
from dot_setup.server import credentials
from dot_setup.server.accounts import WebSession
from dot_setup.server.state import ServerState
from dot_setup.server.web import (
    error_page,
    esc,
    hidden_fields,
    page,
    posted_form,
    require_session,
    state_of,
)

GROUPS = {
    "desktop": "Desktop apps",
    "ide": "IDEs and editors",
    "cli": "Command-line agents",
    "connector": "In-app connectors",
    "other": "Other",
}
TABS = {"oauth": "OAuth", "token": "API token"}
# Copy buttons: the one script the pages run (CSP script-src 'self').
COPY_JS = """document.addEventListener('click', function (e) {
  var b = e.target.closest('button.copy'); if (!b) return;
  var el = document.getElementById(b.getAttribute('data-copy'));
  var done = function () { var t = b.textContent; b.textContent = 'Copied';
    setTimeout(function () { b.textContent = t; }, 1500); };
  if (navigator.clipboard) navigator.clipboard.writeText(el.innerText).then(done);
});
"""


def _service_and_clients() -> tuple[Any, dict[str, Any]]:
    from dot_setup.profiles.loader import get_service, load_clients

    return get_service("dot"), load_clients()


def _modes(profile: Any, service: Any) -> list[str]:
    from dot_setup.engine.auth import allowed_auth

    return allowed_auth(profile, service)


def _guide(state: ServerState, profile: Any, auth: str, token: str | None, os_name: str) -> Any:
    from dot_setup.engine.render import Connection

    service, _ = _service_and_clients()
    conn = Connection(
        service=service,
        url=state.config.mcp_url,
        auth=auth,
        name=service.default_server_name,
        token=(token or guide.PLACEHOLDER_TOKEN) if auth == "token" else None,
    )
    target = guide.default_target(profile) if profile.kind == "file" else None
    return guide.build(profile, conn, os_name, target)


def client_guides(
    state: ServerState, client_id: str, auth: str, token: str | None
) -> dict[str, Any]:
    """What the page shows for one client and tab: {os: guide} (Windows only if it differs)."""
    _, clients = _service_and_clients()
    profile = clients[client_id]
    shown = {"linux": _guide(state, profile, auth, token, "linux")}
    windows = _guide(state, profile, auth, token, "windows")
    if windows.block != shown["linux"].block:
        shown["windows"] = windows
    return shown


# -- HTML -------------------------------------------------------------------------------------


def _copyable(id_: str, text: str, label: str, tag: str = "pre", attrs: str = "") -> str:
    return (
        f"<div class=copyable><{tag} id={id_} {attrs}>{esc(text)}</{tag}>"
        f"<button type=button class=copy data-copy={id_} aria-label='Copy {esc(label)}'>Copy</button></div>"
    )


def _picker(clients: dict[str, Any], current: str, auth: str) -> str:
    groups = []
    for category, title in GROUPS.items():
        members = sorted(
            (p for p in clients.values() if p.category == category), key=lambda p: p.name.lower()
        )
        items = "".join(
            f"<li><a href='?{esc(urlencode({'client': p.id, 'auth': auth}))}#client'"
            + (" aria-current=page" if p.id == current else "")
            + f">{esc(p.name)}</a></li>"
            for p in members
        )
        groups.append(f"<div class=group><h3>{esc(title)}</h3><ul>{items}</ul></div>")
    return f"<nav aria-label='Clients' class=picker>{''.join(groups)}</nav>"


def _tabs(client_id: str, modes: list[str], auth: str) -> str:
    links = "".join(
        f"<a href='?{esc(urlencode({'client': client_id, 'auth': m}))}#client'"
        + (" aria-current=page" if m == auth else "")
        + f">{TABS[m]}</a>"
        for m in modes
    )
    return f"<nav aria-label='How the client signs in' class=tabs>{links}</nav>"


def _file_part(shown: dict[str, Any], profile: Any) -> str:
    base = shown["linux"]
    target = guide.default_target(profile)
    assert target is not None
    rows = "".join(
        f"<tr><th scope=row>{esc(os_label)}</th><td><code>{esc(path)}</code></td></tr>"
        for os_label, path in guide.shown_paths(target)
    )
    html = (
        f"<h3>Add this to its config file</h3><table class=paths data-paths>{rows}</table>"
        "<p class=muted>Keep what the file already holds: add only the "
        f"<code>{esc(base.name)}</code> entry. <code>dot-setup</code> does this for you.</p>"
    )
    for os_name, item in shown.items():
        label = "macOS and Linux" if os_name == "linux" and "windows" in shown else ""
        label = "Windows" if os_name == "windows" else label
        heading = f"<p><b>{label}</b></p>" if label else ""
        html += heading + _copyable(
            f"block-{os_name}",
            item.block,
            f"the {profile.name} configuration",
            attrs=f"data-block data-os={os_name}",
        )
    return html


def _manual_part(item: Any) -> str:
    steps = "".join(f"<li>{esc(step)}</li>" for step in item.steps)
    fields = "".join(
        f"<dt>{esc(label)}</dt><dd>"
        + _copyable(f"field-{i}", value, label, tag="pre" if "\n" in value else "code")
        + "</dd>"
        for i, (label, value) in enumerate(item.fields)
    )
    return f"<ol data-steps>{steps}</ol><dl data-fields>{fields}</dl>"


def client_section(state: ServerState, client_id: str, auth: str, token: str | None) -> str:
    service, clients = _service_and_clients()
    profile = clients[client_id]
    modes = _modes(profile, service) or ["token"]
    auth = auth if auth in modes else modes[0]
    shown = client_guides(state, client_id, auth, token)
    item = shown["linux"]
    parts = [f"<h2 id=client-title>{esc(profile.name)}</h2>", _tabs(client_id, modes, auth)]
    if auth == "token" and token is None:
        parts.append(
            "<p class=muted>Generate an MCP token below: it is filled into these blocks once. "
            f"Until then they show <code>{esc(guide.PLACEHOLDER_TOKEN)}</code>.</p>"
        )
    if item.links:
        buttons = "".join(
            f"<a class=button data-link href='{esc(url)}'>{esc(label)}</a>"
            for label, url in item.links
        )
        parts.append(f"<p class=links>{buttons}</p>")
    if item.command:
        parts.append(
            f"<h3>Run {esc(profile.name)}'s own command</h3>"
            + _copyable(
                "command", item.command, f"the {profile.name} command", attrs="data-command"
            )
        )
    parts.append(_file_part(shown, profile) if profile.kind == "file" else _manual_part(item))
    rule = service.clients.get(profile.id)
    notes = [n for n in (rule.note if rule else "", profile.notes) if n]
    parts.append(f"<p><b>Then:</b> {esc(item.next_step)}</p>")
    parts += [f"<p class=muted>{esc(note)}</p>" for note in notes]
    parts.append(f"<p><a href='{esc(profile.docs_url)}'>{esc(profile.name)} documentation</a></p>")
    return (
        f"<section id=client aria-labelledby=client-title data-client='{esc(profile.id)}'"
        f" data-auth='{esc(auth)}'>{''.join(parts)}</section>"
    )


def _dot_setup_line(state: ServerState) -> str:
    service, _ = _service_and_clients()
    region = service.regions.get(state.region)
    how = (
        f"--region {state.region}"
        if region and region.url == state.config.mcp_url
        else f"--server-url {state.config.mcp_url}"
    )
    command = f"dot-setup {how}"
    return (
        "<div class=lead><p><b>Let dot-setup do all of it.</b> It finds the AI clients on your "
        "computer, signs you in and writes their settings without touching anything else:</p>"
        + _copyable("dot-setup", command, "the dot-setup command", tag="code")
        + "</div>"
    )


def _token_part(session: WebSession, active: list[Any], client_id: str) -> str:
    status = (
        f"<p>Your MCP token: <code>{esc(active[0].display)}</code>, expires "
        f"{time.strftime('%Y-%m-%d', time.gmtime(active[0].expires_at))}.</p>"
        if active
        else "<p>You have no MCP token.</p>"
    )
    if not session.user.mcp_access:
        return status + "<p class=error>Your account does not have MCP access.</p>"
    return (
        status
        + "<form method=post action='/settings/integrations/mcp-token'>"
        + hidden_fields(session, client=client_id)
        + "<p class=warn>One active token per user: generating a new token revokes the previous one.</p>"
        "<button>Generate MCP Token</button></form>"
    )


async def _page(
    request: Request, session: WebSession, client_id: str, auth: str, new: Any = None
) -> Response:
    state = state_of(request)
    cfg = state.config
    service, clients = _service_and_clients()
    if client_id not in clients:
        client_id = service.integrations_client if service.integrations_client in clients else ""
        client_id = client_id or min(clients)
    async with state.db.tx() as conn:
        active = await credentials.active_mcp_tokens(conn, state.now(), session.user.id)
    token = new.token if new is not None else None
    once = ""
    if new is not None:
        auth = "token"
        once = (
            "<div class=once role=status><p class=warn>Your new MCP token. Copy it now: you won't "
            "see it again. It is filled into the API-token blocks below.</p>"
            + _copyable("new-token", new.token, "the new MCP token", attrs="class=token")
            + ("<p>Your previous MCP token was revoked.</p>" if new.replaced else "")
            + "<p>URL for ChatGPT and single-URL clients:</p>"
            + _copyable(
                "new-token-url", f"{cfg.mcp_url}?token={new.token}", "the URL with the token"
            )
            + "</div>"
        )
    admin = (
        "<p><a href='/admin/tokens'>Admin: MCP tokens</a> · <a href='/admin/query-log'>Admin: query log</a></p>"
        if session.user.is_admin
        else ""
    )
    body = (
        once
        + f"<p>Signed in as {esc(session.user.email)}.</p>"
        + _dot_setup_line(state)
        + "<h2>Your Dot MCP URL</h2>"
        + _copyable("mcp-url", cfg.mcp_url, "the MCP URL", tag="code")
        + f"<p class=muted>Legacy SSE clients: <code>{esc(cfg.sse_url)}</code>. "
        f"ChatGPT and single-URL clients: <code>{esc(cfg.mcp_url)}?token=YOUR_MCP_TOKEN</code></p>"
        + "<h2>Connect a client</h2>"
        + _picker(clients, client_id, auth)
        + client_section(state, client_id, auth, token)
        + "<h2>MCP token</h2>"
        + _token_part(session, active, client_id)
        + "<h2>Regular API tokens</h2><p class=muted>For Dot's REST API. They do not work for MCP.</p>"
        f"<form method=post action='/settings/api-tokens'>{hidden_fields(session)}<button>Create API token</button></form>"
        "<h2>Account</h2><p><a href='/settings/password'>Change password</a> (signs out every session and revokes every token)</p>"
        f"<form method=post action='/logout'>{hidden_fields(session)}<button>Sign out</button></form>"
        + admin
    )
    title = "Your new MCP token" if new is not None else "Settings · Integrations"
    return page(
        title, body, 201 if new is not None else 200, state.region, script="/static/copy.js"
    )


async def integrations(request: Request) -> Response:
    session = await require_session(request)
    if not isinstance(session, WebSession):
        return session
    params = request.query_params
    return await _page(request, session, params.get("client", ""), params.get("auth", "oauth"))


async def create_mcp_token_page(request: Request) -> Response:
    state = state_of(request)
    posted = await posted_form(request)
    if not isinstance(posted, tuple):
        return posted
    session, data = posted
    if not session.user.mcp_access:
        return error_page(
            state, "No MCP access", "Ask a Dot admin to enable MCP for your account.", 403
        )
    if wait := state.limiter.hit(f"pat:{session.user.id}", state.config.limits.mcp_token_create):
        return error_page(state, "Too many tokens", f"Try again in {int(wait) + 1} s.", 429)
    new = await credentials.issue_for(state, session.user, "pat")
    return await _page(request, session, data.get("client", ""), "token", new)


async def create_api_token_page(request: Request) -> Response:
    state = state_of(request)
    posted = await posted_form(request)
    if not isinstance(posted, tuple):
        return posted
    session, _data = posted
    new = await credentials.issue_for(state, session.user, "api")
    body = (
        "<p class=warn>Copy it now: you won't see it again.</p>"
        + _copyable("new-api-token", new.token, "the new API token", attrs="class=token")
        + "<p class=muted>This is not an MCP token.</p>"
        "<p><a href='/settings/integrations'>Back to Integrations</a></p>"
    )
    return page("Your new API token", body, 201, state.region, script="/static/copy.js")


async def copy_js(request: Request) -> Response:
    return Response(
        COPY_JS,
        media_type="text/javascript",
        headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


def routes() -> list[Route]:
    return [
        Route("/settings/integrations", integrations, methods=["GET"]),
        Route("/settings/integrations/mcp-token", create_mcp_token_page, methods=["POST"]),
        Route("/settings/api-tokens", create_api_token_page, methods=["POST"]),
        Route("/static/copy.js", copy_js, methods=["GET"]),
    ]
