"""The doctor's one way to repair an entry: write it again as dot-setup would, through the same
planner and atomic, backed-up writer as `install`, keeping the entry's URL region, auth mode,
token (or variable) and any settings of the user's own (a timeout, say) that dot-setup does not
write."""

from __future__ import annotations

from typing import Any

from dot_setup.doctor.context import ClientState, Context
from dot_setup.doctor.wiring import HEADER_KEYS, URL_KEYS, VAR_KEYS
from dot_setup.engine.changes import Change, apply, plan
from dot_setup.engine.render import Connection, render_entry, shape_order
from dot_setup.errors import DotSetupError

# How an entry connects: replaced by the rewrite, never kept as a user's own setting (a `url`
# left beside the new `command` would make the entry ambiguous to the client).
CONNECTION_KEYS = {*URL_KEYS, *HEADER_KEYS, *VAR_KEYS, "command", "cmd", "args", "type"}


def _known_keys(state: ClientState) -> set[str]:
    keys: set[str] = set(CONNECTION_KEYS)
    for shape in state.profile.shapes.values():
        if isinstance(shape.entry, dict):
            keys.update(shape.entry)
    return keys


def desired_entry(
    ctx: Context, state: ClientState, url: str | None = None
) -> tuple[dict[str, Any], str, bool]:
    wiring = state.wiring
    assert wiring is not None and state.entry is not None
    if url is None:
        region, _ = ctx.region_of(wiring.base_url)
        url = region.url if region else wiring.base_url
    token = wiring.token if wiring.token and not wiring.token_var else None
    auth = "token" if (token or wiring.token_var) else "oauth"
    conn = Connection(
        service=ctx.service,
        url=url,
        auth=auth,
        name=ctx.name,
        token=token,
        token_env=wiring.token_var,
    )
    stdio = wiring.transport in ("mcp-remote", "stdio")
    transport = "stdio" if stdio else "http"
    if not shape_order(state.profile, Connection(**{**conn.__dict__, "transport": transport})):
        transport = "auto"
    conn = Connection(**{**conn.__dict__, "transport": transport})
    rendered = render_entry(state.profile, conn, ctx.paths.os_name)
    known = _known_keys(state)
    entry = dict(rendered.entry)
    for key, value in state.entry.items():
        if key not in known:
            entry[key] = value  # a setting of the user's own (a timeout)
        elif isinstance(value, dict) and isinstance(entry.get(key), dict):
            entry[key] = {**value, **entry[key]}  # their own headers (X-Dot-Team) stay
    return entry, rendered.shape, rendered.holds_secret


def _moved(value: Any, old: str, new: str) -> Any:
    """`value` with the URL `old` replaced by `new` wherever it is (a `url`, an mcp-remote
    argument, a `?token=` URL), and nothing else changed."""
    if isinstance(value, dict):
        return {k: _moved(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_moved(v, old, new) for v in value]
    if isinstance(value, str) and (value == old or value.startswith((old + "?", old + "#"))):
        return new + value[len(old) :]
    return value


def rewrite(ctx: Context, state: ClientState, url: str | None = None) -> str:
    """Repair the entry. With `url` (a region or SSE fix) only the URL changes: every other key
    and value of the entry is the user's and stays as it is. Without, the entry is written in
    the shape the client reads, keeping the user's own settings and extra headers."""
    if state.target is None or state.path is None or state.entry is None:
        raise DotSetupError(f"{state.profile.name} has no entry to rewrite", "")
    if url is not None and state.wiring is not None and state.wiring.url:
        entry = _moved(state.entry, state.wiring.base_url, url)
        shape, holds_secret = "url", bool(state.wiring.token) and not state.wiring.token_var
    else:
        entry, shape, holds_secret = desired_entry(ctx, state, url)
    change = Change(
        client=state.profile,
        target=state.target,
        path=state.path,
        name=ctx.name,
        entry=entry,
        holds_secret=holds_secret,
        shape=shape,
        force=True,
    )
    done = apply(plan([change], ctx.paths), ctx.paths)[0]
    backup = f" (backup {done.backup.id})" if done.backup else ""
    return f"rewrote the '{ctx.name}' entry in {state.path}{backup}"
