"""Connect the way each client will: HTTP with its credentials, or its mcp-remote command run
exactly as written, and list the tools. Runs only what cannot open a browser: an OAuth entry
is tried with the sign-in mcp-remote cached, never by starting a new sign-in."""

from __future__ import annotations

import os
from collections.abc import Callable

from dot_setup.doctor.checks.auth import judge_token
from dot_setup.doctor.checks.mcp_remote import cache_files, read_cache_file
from dot_setup.doctor.checks.network import timeout_settings
from dot_setup.doctor.context import ClientState, Context
from dot_setup.doctor.model import Check, Remediation, Result, Status, failed, passed, skipped
from dot_setup.doctor.probe import probe_of
from dot_setup.secrets import REDACT

STDIO_TIMEOUT = 30.0  # npx may need to fetch mcp-remote on its first run


def _report(
    ctx: Context, state: ClientState, how: str, ok: bool, tools: tuple[str, ...], reason: str
) -> Result:
    if ok:
        listed = ", ".join(tools[:4]) + (", ..." if len(tools) > 4 else "")
        return passed(f"connected {how}: {len(tools)} tools ({listed})", tools=list(tools))
    name = ctx.service.name
    text = f"check the network connection to {name} and the {name} URL"
    if "in time" in reason or "Timeout" in reason:
        settings = [s for s in timeout_settings(ctx) if s.startswith(state.profile.name + ":")]
        text = "the server did not answer in time; some clients have a tool timeout setting, adjust it accordingly"
        if settings:
            text += f" ({settings[0]})"
    return failed(
        f"could not connect {how}: {reason}",
        Remediation(text, (f"dot-setup doctor --client {state.profile.id}",)),
    )


def check_live(ctx: Context, state: ClientState) -> Result:
    from dot_setup.engine import connect as mcp_check

    wiring = state.wiring
    if state.profile.kind != "file" or state.entry is None or wiring is None or not wiring.url:
        return skipped(f"no {ctx.service.name} entry to try")
    if not probe_of(ctx, wiring.base_url).reachable:
        return skipped("the server was not reached (see the network checks)")
    token = wiring.token
    if token is not None:
        verdict = judge_token(ctx, token, wiring.base_url, state.profile.id)
        if verdict.status is Status.FAIL:
            return skipped("the token is refused (see the token check)")
    if wiring.transport == "http":
        if token is None and wiring.token_var:
            return skipped(f"${wiring.token_var} is not set here")
        if token is None:
            return skipped("OAuth: the client signs in itself on first use")
        if wiring.token_where == "URL":
            result = mcp_check.list_tools(wiring.url, None, ctx.timeout)
        else:
            result = mcp_check.list_tools(wiring.base_url, token, ctx.timeout)
        return _report(
            ctx, state, "over HTTP with the client's token", result.ok, result.tools, result.reason
        )
    if wiring.transport == "mcp-remote":
        return _mcp_remote(ctx, state)
    return skipped("runs a command that is not mcp-remote")


def _mcp_remote(ctx: Context, state: ClientState) -> Result:
    from dot_setup.engine import connect as mc

    wiring = state.wiring
    assert wiring is not None
    argv = wiring.argv
    if argv and argv[0].lower() in ("cmd", "cmd.exe") and os.name != "nt":
        return skipped("a Windows command line (cmd /c): not run on this system")
    if wiring.token is None:
        tokens = [p for p in cache_files(ctx, state) if p.name.endswith("_tokens.json")]
        if not tokens:
            return skipped(
                "OAuth through mcp-remote: signs in on first use (not started here: it would open a browser)"
            )
        access = str(read_cache_file(tokens[0]).get("access_token", ""))
        REDACT.add(access)
        result = mc.list_tools(wiring.base_url, access, ctx.timeout)
        return _report(
            ctx, state, "with mcp-remote's cached sign-in", result.ok, result.tools, result.reason
        )
    command = ctx.paths.which(argv[0]) or argv[0]
    env = {**ctx.env, **wiring.env}
    result = mc.list_tools_stdio(str(command), argv[1:], env, max(ctx.timeout, STDIO_TIMEOUT))
    return _report(
        ctx, state, "by running its mcp-remote command", result.ok, result.tools, result.reason
    )


def _stdio(state: ClientState) -> bool:
    return state.wiring is not None and state.wiring.transport == "mcp-remote"


def bind(client_id: str) -> Callable[[Context], Result]:
    return lambda ctx: check_live(ctx, ctx.client(client_id))


def checks(ctx: Context) -> list[Check]:
    return [
        Check(
            f"client.{s.profile.id}.live",
            f"{s.profile.name}: connects and lists tools",
            f"client:{s.profile.id}",
            bind(s.profile.id),
            timeout=max(ctx.timeout, STDIO_TIMEOUT) + 2 if _stdio(s) else None,
        )
        for s in ctx.clients
    ]
