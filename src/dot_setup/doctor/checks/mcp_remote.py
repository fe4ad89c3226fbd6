"""mcp-remote's OAuth cache (`~/.mcp-auth`, or $MCP_REMOTE_CONFIG_DIR) for a client's entry.

mcp-remote keeps, per server, `<hash>_client_info.json` (its registration), `<hash>_tokens.json`
and `<hash>_code_verifier_*` (a sign-in in progress), where hash = md5 of the server URL and,
when the command passes headers, their JSON. A registration the server no longer knows gives
`invalid_client` on every start; a verifier left older than the consent page's 10 minutes is a
sign-in that ended in "Authorization session expired". Clearing this server's files is safe: the
next start signs in again. They are moved to dot-setup's backups, not deleted.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
import time
from pathlib import Path
from urllib.parse import urlencode

from dot_setup.doctor.context import ClientState, Context
from dot_setup.doctor.model import Remediation, Result, failed, passed, skipped, warned
from dot_setup.doctor.probe import probe_of
from dot_setup.fs.fsio import read_json

CONSENT_MINUTES = 10


def cache_dir(ctx: Context) -> Path:
    base = ctx.env.get("MCP_REMOTE_CONFIG_DIR")
    return (Path(base) if base else ctx.paths.home / ".mcp-auth") / "mcp-remote-v1"


def server_hash(state: ClientState) -> str:
    """mcp-remote's getServerUrlHash for the URL and headers the entry passes."""
    wiring = state.wiring
    assert wiring is not None
    parts = [wiring.url]
    if wiring.headers:
        parts.append(
            json.dumps(
                dict(sorted(wiring.headers.items())), separators=(",", ":"), ensure_ascii=False
            )
        )
    return hashlib.md5("|".join(parts).encode(), usedforsecurity=False).hexdigest()


def cache_files(ctx: Context, state: ClientState) -> list[Path]:
    folder = cache_dir(ctx)
    if not folder.is_dir():
        return []
    prefix = server_hash(state) + "_"
    return sorted(p for p in folder.iterdir() if p.name.startswith(prefix))


def read_cache_file(path: Path) -> dict[str, object]:
    data = read_json(path)  # bounded: a FIFO or a huge file in ~/.mcp-auth is not read
    return data if isinstance(data, dict) else {}


def _clear_fix(ctx: Context, state: ClientState) -> Remediation:
    return Remediation(
        f"clear mcp-remote's cache for this server (moved to dot-setup's backups), then restart"
        f" {state.profile.name}: it signs in again in the browser",
        (f"dot-setup doctor --fix client.{state.profile.id}.mcp-remote-cache",),
        auto_fixable=True,
    )


def _registration_known(ctx: Context, state: ClientState, info: dict[str, object]) -> bool | None:
    """Ask the authorization endpoint about the cached client_id, as a browser would."""
    import httpx2

    from dot_setup.doctor.checks.server import discovery
    from dot_setup.errors import DotSetupError

    assert state.wiring is not None
    try:
        disc = discovery(ctx, state.wiring.url)
    except DotSetupError:
        return None
    redirects = info.get("redirect_uris") or []
    query = {
        "response_type": "code",
        "client_id": str(info.get("client_id", "")),
        "redirect_uri": str(redirects[0]) if isinstance(redirects, list) and redirects else "",
        "code_challenge": secrets.token_urlsafe(32),
        "code_challenge_method": "S256",
        "state": secrets.token_urlsafe(8),
        "resource": disc.resource,
    }
    url = f"{disc.server.authorization_endpoint}?{urlencode(query)}"
    with httpx2.Client(timeout=ctx.timeout, follow_redirects=False) as http:
        resp = http.get(url, headers={"Accept": "text/html"})
    # A known client is sent on (to consent or sign-in); an unknown one gets an error page.
    return resp.status_code in (302, 303, 307)


def check_cache(ctx: Context, state: ClientState) -> Result:
    wiring = state.wiring
    if state.entry is None or wiring is None or wiring.transport != "mcp-remote":
        return skipped("does not use mcp-remote")
    if wiring.token:
        return skipped("mcp-remote sends the MCP token: no OAuth cache")
    files = cache_files(ctx, state)
    folder = cache_dir(ctx)
    if not files:
        return passed(
            f"no cached sign-in in {folder} yet: {state.profile.name} opens the browser on first use"
        )
    by_kind = {p.name.split("_", 1)[1]: p for p in files}
    tokens = by_kind.get("tokens.json")
    verifiers = [p for p in files if "_code_verifier" in p.name]
    stale = [p for p in verifiers if time.time() - p.stat().st_mtime > CONSENT_MINUTES * 60]
    if stale and tokens is None:
        started = time.strftime("%H:%M", time.localtime(min(p.stat().st_mtime for p in stale)))
        return warned(
            f"a sign-in started at {started} never finished: its consent page expired after"
            f' {CONSENT_MINUTES} minutes ("Authorization session expired")',
            _clear_fix(ctx, state),
            *(str(p) for p in stale),
        )
    info_path = by_kind.get("client_info.json")
    if info_path is not None and probe_of(ctx, wiring.url).reachable:
        info = read_cache_file(info_path)
        known = _registration_known(ctx, state, info) if info.get("client_id") else False
        if known is False:
            return failed(
                f"mcp-remote's cached registration ({info_path.name}) is unknown to the server:"
                f" {state.profile.name} fails with invalid_client until it is cleared",
                _clear_fix(ctx, state),
                str(info_path),
            )
    if tokens is None:
        return passed(f"registered with the server; not signed in yet ({folder})")
    return passed(f"signed in through mcp-remote (cache in {folder})")


def fix_cache(ctx: Context, state: ClientState) -> str:
    files = cache_files(ctx, state)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    keep = ctx.paths.backups_dir / "mcp-auth" / stamp
    keep.mkdir(parents=True, exist_ok=True, mode=0o700)
    for path in files:
        shutil.move(str(path), keep / path.name)
    return f"moved {len(files)} mcp-remote cache file(s) for this server to {keep}"
