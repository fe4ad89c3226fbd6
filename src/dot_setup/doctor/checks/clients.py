"""Every detected client, from its profile: its file, the Dot entry, the token in it, and what
the client needs around it (a launcher, Windows wrapping, mcp-remote's cache, a restart).

Checks are generated per client, so a new profile gets them all with no code.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dot_setup.doctor.checks.auth import judge_token
from dot_setup.doctor.checks.environment import NODE_MIN, node_version
from dot_setup.doctor.context import ClientState, Context
from dot_setup.doctor.model import Check, Remediation, Result, failed, passed, skipped, warned
from dot_setup.doctor.rewrite import desired_entry, rewrite
from dot_setup.doctor.wiring import read_wiring
from dot_setup.engine.render import entry_matches
from dot_setup.engine.status import SENTINEL, expected_entries
from dot_setup.errors import ConfigParseError, FileAccessError

WINDOWS_SHIMS = ("npx", "npx.cmd", "npm", "npm.cmd", "node")


def _needs_entry(state: ClientState) -> Result | None:
    if state.profile.kind != "file":
        return skipped("set up inside the app: dot-setup cannot read it")
    if state.error is not None:
        return skipped("the config file does not parse (see its config check)")
    if state.entry is None or state.wiring is None:
        return skipped("no entry for the service")
    return None


def check_config(ctx: Context, state: ClientState) -> Result:
    if state.profile.kind != "file":
        return skipped(f"{state.profile.name} is set up inside the app")
    if state.error is not None:
        err = state.error
        where = str(err) if not isinstance(err, ConfigParseError) else err.message
        if isinstance(err, FileAccessError):  # a FIFO, a device, a loop: nothing to restore
            return failed(where, Remediation(err.hint, ()), path=str(state.path))
        fix = Remediation(
            f"{state.profile.name} cannot read this file either: fix it by hand at that"
            " position, or put back the copy dot-setup saved before its last change",
            (f"dot-setup restore --client {state.profile.id}",),
        )
        # The error's own hint speaks of install's --force; here the remediation says it all.
        return failed(where, fix, path=str(state.path))
    if not state.exists:
        return skipped(f"no config file yet ({state.path})")
    return passed(f"{state.path} parses", path=str(state.path))


def _fits(existing: dict[str, Any], desired: dict[str, Any]) -> bool:
    """The entry holds everything dot-setup would write. Extra settings of the user's (a
    timeout, another header such as X-Dot-Team: the real Claude Code connects with it) are
    fine; an extra way to connect (headers beside an OAuth url) is another shape."""
    from dot_setup.doctor.rewrite import CONNECTION_KEYS

    if any(k in CONNECTION_KEYS and k not in desired for k in existing):
        return False
    return all(k in existing and _covers(existing[k], desired[k]) for k in desired)


def _covers(existing: Any, desired: Any) -> bool:
    """Like entry_matches, but a map may hold more keys than dot-setup writes."""
    if isinstance(desired, dict) and isinstance(existing, dict):
        return all(k in existing and _covers(existing[k], v) for k, v in desired.items())
    return entry_matches(existing, desired, SENTINEL)


def _match(ctx: Context, state: ClientState) -> str:
    """How dot-setup would have written this entry, or "". A legacy SSE URL in an entry of the
    right shape counts as the right shape: the URL check reports (and fixes) the URL."""
    assert state.entry is not None
    regions = ctx.service.regions.values()
    for urls in ({r.id: r.url for r in regions}, {r.id: r.sse_url for r in regions if r.sse_url}):
        for region, how, entry in expected_entries(
            state.profile, ctx.service, ctx.name, ctx.paths.os_name, urls
        ):
            if _fits(state.entry, entry):
                return f"{region}, {how}"
    return ""


def region_flag(ctx: Context) -> str:
    """` --region us|eu` for a service with regions to choose from; nothing for one region."""
    regions = list(ctx.service.regions)
    return f" --region {'|'.join(regions)}" if len(regions) > 1 else ""


def check_entry(ctx: Context, state: ClientState) -> Result:
    pid, name = state.profile.id, state.profile.name
    if state.profile.kind != "file" or state.error is not None:
        return skipped("see the config check")
    if state.entry is None:
        return warned(
            f"{ctx.service.name} is not configured in {name}",
            Remediation(
                "add it", (f"dot-setup install --client {pid}", f"dot-setup --client {pid}")
            ),
        )
    assert state.wiring is not None
    how = _match(ctx, state)
    if how:
        return passed(f"'{ctx.name}' entry as {name} reads it ({how})")
    if state.wiring.transport == "unknown" or not state.wiring.url:
        return failed(
            f"the '{ctx.name}' entry has no URL or command {name} can use",
            Remediation("write it again", (f"dot-setup install --client {pid} --force",)),
        )
    try:
        desired, shape, _ = desired_entry(ctx, state)
    except Exception:
        desired, shape = {}, ""
    if desired and _fits(state.entry, desired):
        return passed(f"'{ctx.name}' entry as {name} reads it")
    missing = sorted(set(desired) - set(state.entry))
    return failed(
        f"the '{ctx.name}' entry is not in a shape {name} reads"
        + (f" (missing {', '.join(missing)})" if missing else ""),
        Remediation(
            f"rewrite it as {name} expects ({shape}), keeping its URL, token and other settings",
            (f"dot-setup doctor --fix client.{pid}.entry",),
            auto_fixable=bool(desired),
        ),
        f"{name} docs: {state.profile.docs_url}",
    )


def check_url(ctx: Context, state: ClientState) -> Result:
    if (skip := _needs_entry(state)) is not None:
        return skip
    assert state.wiring is not None
    url = state.wiring.base_url
    region, sse = ctx.region_of(url)
    urls = ", ".join(f"{r.url} ({r.id.upper()})" for r in ctx.service.regions.values())
    if region is None:
        return warned(
            f"{url} is not a {ctx.service.name} URL ({urls})",
            Remediation(
                f"use the URL of the host you sign in to {ctx.service.name} with"
                + (f" ({ctx.service.token_page} shows it)" if ctx.service.token_page else ""),
                (f"dot-setup install --client {state.profile.id}{region_flag(ctx)} --force",),
            ),
        )
    if sse:
        from dot_setup.doctor.probe import probe_of

        modern = probe_of(ctx, region.url)
        if not (modern.reachable and modern.status == 401):
            return warned(
                f"{url} is the legacy SSE endpoint, and Streamable HTTP at {region.url} did not"
                " answer here: keep SSE until it does",
                Remediation("run the doctor again once the server answers", ("dot-setup doctor",)),
            )
        return failed(
            f"{url} is the legacy SSE endpoint; the {region.id.upper()} Streamable HTTP URL is {region.url}",
            Remediation(
                "point the client at the Streamable HTTP URL",
                (f"dot-setup doctor --fix client.{state.profile.id}.url",),
                auto_fixable=True,
            ),
        )
    return passed(f"{region.name} ({region.id.upper()}) URL, Streamable HTTP")


def fix_url(ctx: Context, state: ClientState) -> str:
    assert state.wiring is not None
    region, _ = ctx.region_of(state.wiring.base_url)
    assert region is not None
    return rewrite(ctx, state, region.url)


def check_duplicates(ctx: Context, state: ClientState) -> Result:
    if state.profile.kind != "file" or state.error is not None:
        return skipped("see the config check")
    ours = {r.url.rstrip("/") for r in ctx.service.regions.values()}
    ours |= {r.sse_url.rstrip("/") for r in ctx.service.regions.values() if r.sse_url}
    ours |= {u.rstrip("/") for u in ctx.endpoints()}
    dupes = []
    for other, entry in state.entries.items():
        if other == ctx.name or not isinstance(entry, dict):
            continue
        wiring = read_wiring(entry, {})
        if wiring.url and wiring.base_url.rstrip("/") in ours:
            dupes.append(other)
    if not dupes:
        return passed(f"no other entry points at {ctx.service.name}")
    names = ", ".join(f"'{d}'" for d in dupes)
    return warned(
        f"{ctx.service.name} is also configured as {names}: {state.profile.name} starts each one"
        f" and shows {ctx.service.name}'s tools more than once, possibly with an old token",
        Remediation(
            "keep one entry",
            tuple(f"dot-setup remove --client {state.profile.id} --name {d}" for d in dupes),
        ),
        names=dupes,
    )


def check_token(ctx: Context, state: ClientState) -> Result:
    if (skip := _needs_entry(state)) is not None:
        return skip
    wiring = state.wiring
    assert wiring is not None
    if wiring.token is None:
        if wiring.token_var:
            return skipped(f"${wiring.token_var} is not set here (see the secret check)")
        return skipped("no token: the client signs in with OAuth")
    return judge_token(ctx, wiring.token, wiring.base_url, state.profile.id)


def fix_token(ctx: Context, state: ClientState) -> str:
    """The one safe token fix: the token is for the other region, so use that region's URL."""
    result = judge_token(ctx, state.wiring.token or "", state.wiring.base_url)  # type: ignore[union-attr]
    region_id = result.data.get("token_region", "")
    if not region_id:
        raise RuntimeError("nothing safe to fix: the token itself must be replaced")
    return rewrite(ctx, state, ctx.service.regions[region_id].url)


def check_secret(ctx: Context, state: ClientState) -> Result:
    if (skip := _needs_entry(state)) is not None:
        return skip
    wiring = state.wiring
    assert wiring is not None
    if wiring.token_var:
        if not wiring.token_var_set:
            return failed(
                f"the entry reads the token from ${wiring.token_var}, which is not set here",
                Remediation(
                    f"set {wiring.token_var} in the environment {state.profile.name} starts in"
                    " (your shell profile; for a GUI app, the session environment), or write the"
                    " token into the file instead",
                    (f"dot-setup install --client {state.profile.id} --token-stdin --force",),
                ),
            )
        return passed(
            f"token read from ${wiring.token_var} (set here: make sure {state.profile.name} sees it too)"
        )
    if wiring.token:
        return passed(f"token stored in the config ({wiring.token_where})")
    return skipped("no token: the client signs in with OAuth")


def check_permissions(ctx: Context, state: ClientState) -> Result:
    if (skip := _needs_entry(state)) is not None:
        return skip
    wiring = state.wiring
    assert wiring is not None and state.path is not None
    if not wiring.token or wiring.token_var:
        return skipped("the file holds no token")
    if ctx.paths.os_name == "windows" or os.name == "nt":
        return skipped("Windows files are protected by the user profile's ACLs")
    mode = stat.S_IMODE(state.path.stat().st_mode)
    if mode & 0o077:
        return failed(
            f"{state.path} holds a token and is readable by other users ({mode:04o})",
            Remediation(
                "make it readable by you only",
                (f"chmod 600 {state.path}",),
                auto_fixable=True,
            ),
            mode=f"{mode:04o}",
        )
    return passed(f"{state.path} is private ({mode:04o})", mode=f"{mode:04o}")


def fix_permissions(ctx: Context, state: ClientState) -> str:
    assert state.path is not None
    state.path.chmod(0o600)
    return f"chmod 600 {state.path}"


def _launcher(state: ClientState) -> tuple[str, list[str]]:
    argv = state.wiring.argv if state.wiring else []
    if len(argv) >= 3 and argv[0].lower() in ("cmd", "cmd.exe") and argv[1].lower() == "/c":
        return argv[2], argv[3:]
    return (argv[0], argv[1:]) if argv else ("", [])


def check_launcher(ctx: Context, state: ClientState) -> Result:
    if (skip := _needs_entry(state)) is not None:
        return skip
    wiring = state.wiring
    assert wiring is not None
    if wiring.transport not in ("mcp-remote", "stdio"):
        return skipped("connects over HTTP: no local command")
    command, _ = _launcher(state)
    if os.sep in command:
        found: Path | None = Path(command) if Path(command).is_file() else None
    else:
        found = ctx.paths.which(command)
    if found is None:
        return failed(
            f"{command} is not on PATH: {state.profile.name} fails with 'spawn {command} ENOENT'",
            Remediation(
                "install Node.js 20+ (it brings npx); a GUI app may not see your shell's PATH:"
                " then put the absolute path of npx in the entry's command",
                ("which npx",),
            ),
        )
    node = found.parent / ("node.exe" if ctx.paths.os_name == "windows" else "node")
    if not node.exists():
        node = ctx.paths.which("node") or node
    version = node_version(node, ctx.timeout) if node.exists() else None
    if wiring.transport == "mcp-remote" and version is not None and version[0] < NODE_MIN:
        shown = ".".join(map(str, version))
        return failed(
            f"{command} at {found} runs Node.js {shown}; mcp-remote needs {NODE_MIN}+",
            Remediation(
                f"install Node.js {NODE_MIN}+ and make it the first on PATH (nvm: `nvm alias default {NODE_MIN}`),"
                " or put the absolute path of a newer npx in the entry's command",
                ("which -a node", "node --version"),
            ),
            node=str(node),
            version=shown,
        )
    extra = f", Node.js {'.'.join(map(str, version))}" if version else ""
    return passed(f"{command} found ({found}{extra})")


def check_windows(ctx: Context, state: ClientState) -> Result:
    if (skip := _needs_entry(state)) is not None:
        return skip
    wiring = state.wiring
    assert wiring is not None
    windows = ctx.paths.os_name == "windows"
    problems = []
    if windows and wiring.argv and wiring.argv[0].lower() in WINDOWS_SHIMS:
        problems.append(
            f"Windows cannot start {wiring.argv[0]} directly (it is a .cmd shim): the client"
            " fails with 'spawn npx ENOENT'; it needs `cmd /c`"
        )
    if wiring.header_with_space:
        problems.append(
            "the header argument 'Authorization: Bearer …' contains a space, which Cursor and"
            " Claude Desktop on Windows split into two arguments (the header is lost)"
        )
    if not problems:
        if not windows:
            return skipped("not Windows")
        return passed("the command runs through cmd /c, with no space in its arguments")
    fix = Remediation(
        "rewrite the entry: `cmd /c npx …`, and the header as Authorization:${AUTH_HEADER} with the"
        " token in env",
        (f"dot-setup doctor --fix client.{state.profile.id}.windows",),
        auto_fixable=True,
    )
    report = failed if windows else warned
    return report(problems[0], fix, *problems[1:])


def _rewrite(ctx: Context, state: ClientState) -> str:
    return rewrite(ctx, state)


def check_restart(ctx: Context, state: ClientState) -> Result:
    from dot_setup.doctor.procs import running_since

    if not state.profile.processes:
        return skipped(f"{state.profile.name} reloads its config by itself or per session")
    if ctx.env.get("DOT_SETUP_HOME"):
        return skipped("a sandbox home (DOT_SETUP_HOME): running clients do not read these files")
    if state.path is None or not state.path.exists():
        return skipped("no config file")
    started = running_since(state.profile.processes)
    if started is None:
        return passed(f"{state.profile.name} is not running: it reads the config when it starts")
    changed = state.path.stat().st_mtime
    if started < changed:
        from datetime import datetime

        def at(t: float) -> str:
            return datetime.fromtimestamp(t).strftime("%H:%M:%S")

        return warned(
            f"{state.profile.name} has been running since {at(started)}, before its config"
            f" changed at {at(changed)}: it has not loaded the change",
            Remediation(state.profile.next_step),
        )
    return passed(f"{state.profile.name} started after the last config change")


ClientRun = Callable[[Context, ClientState], Result]
ClientFix = Callable[[Context, ClientState], str]

PER_CLIENT: list[tuple[str, str, ClientRun, ClientFix | None]] = [
    ("config", "config file parses", check_config, None),
    ("entry", "{service} entry", check_entry, _rewrite),
    ("url", "{service} URL", check_url, fix_url),
    ("duplicates", "no duplicate entries", check_duplicates, None),
    ("token", "MCP token", check_token, fix_token),
    ("secret", "token source", check_secret, None),
    ("permissions", "file permissions", check_permissions, fix_permissions),
    ("launcher", "command and Node.js", check_launcher, None),
    ("windows", "Windows command line", check_windows, _rewrite),
]


def bind(client_id: str, fn: ClientRun) -> Callable[[Context], Result]:
    return lambda ctx: fn(ctx, ctx.client(client_id))


def bind_fix(client_id: str, fn: ClientFix) -> Callable[[Context], str]:
    return lambda ctx: fn(ctx, ctx.client(client_id))


def client_checks(ctx: Context, state: ClientState) -> list[Check]:
    from dot_setup.doctor.checks.mcp_remote import check_cache, fix_cache

    pid = state.profile.id
    table = [
        *PER_CLIENT,
        ("mcp-remote-cache", "mcp-remote sign-in cache", check_cache, fix_cache),
        ("restart", "running client loaded the config", check_restart, None),
    ]
    return [
        Check(
            f"client.{pid}.{suffix}",
            f"{state.profile.name}: {title.format(service=ctx.service.name)}",
            f"client:{pid}",
            bind(pid, run),
            bind_fix(pid, fix) if fix else None,
        )
        for suffix, title, run, fix in table
    ]


def checks(ctx: Context) -> list[Check]:
    return [check for state in ctx.clients for check in client_checks(ctx, state)]
