"""This machine: Node.js and npx for mcp-remote, proxy variables, the clock, a browser."""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

from dot_setup.doctor.context import Context
from dot_setup.doctor.model import (
    Check,
    Remediation,
    Result,
    failed,
    passed,
    skipped,
    warned,
)
from dot_setup.doctor.probe import probe_of, proxy_for

NODE_MIN = 20  # mcp-remote 0.15 needs Node.js 20+ (older ones die with "File is not defined")
SKEW_WARN, SKEW_FAIL = 60, 300
INSTALL_NODE = Remediation(
    "install Node.js 20 or newer (https://nodejs.org), then restart the clients that use it",
    ("node --version",),
)


def uses_mcp_remote(ctx: Context) -> list[str]:
    return [c.profile.name for c in ctx.clients if c.wiring and c.wiring.transport == "mcp-remote"]


def node_version(node: Path, timeout: float) -> tuple[int, int, int] | None:
    """`node --version` of one binary, or None if it does not run."""
    try:
        out = subprocess.run(
            [str(node), "--version"], capture_output=True, text=True, timeout=timeout, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"v?(\d+)\.(\d+)\.(\d+)", out)
    return (int(match[1]), int(match[2]), int(match[3])) if match else None


def check_node(ctx: Context) -> Result:
    needed_by = uses_mcp_remote(ctx)
    node = ctx.paths.which("node")
    missing = failed if needed_by else warned
    users = f"; {', '.join(needed_by)} run mcp-remote with it" if needed_by else ""
    if node is None:
        return missing(f"Node.js is not on PATH{users}", INSTALL_NODE)
    version = node_version(node, ctx.timeout)
    if version is None:
        return missing(f"{node} does not run (`node --version` failed){users}", INSTALL_NODE)
    shown = ".".join(map(str, version))
    if version[0] < NODE_MIN:
        return missing(
            f"Node.js {shown} at {node} is too old for mcp-remote (needs {NODE_MIN}+){users}",
            INSTALL_NODE,
            "GUI clients can pick an old Node.js that comes first on their PATH (nvm);"
            " check which one: `which -a node`",
            version=shown,
            path=str(node),
        )
    return passed(f"Node.js {shown} ({node})", version=shown, path=str(node))


def check_npx(ctx: Context) -> Result:
    needed_by = uses_mcp_remote(ctx)
    npx = ctx.paths.which("npx")
    if npx is None:
        fix = Remediation("npx comes with Node.js: install Node.js 20 or newer", ("npx --version",))
        if needed_by:
            return failed(
                f"npx is not on PATH; {', '.join(needed_by)} start mcp-remote with it", fix
            )
        return warned("npx is not on PATH (needed only for clients that use mcp-remote)", fix)
    return passed(f"npx found ({npx})", path=str(npx))


PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def check_proxy(ctx: Context) -> Result:
    env = ctx.env
    used = {name: env[name] for name in PROXY_VARS if env.get(name)}
    if not used:
        return passed("no proxy variables set")
    url = ctx.endpoints()[0]
    proxy = proxy_for(url, env)
    shown = ", ".join(f"{k}={_hide_userinfo(v)}" for k, v in used.items())
    if not proxy:
        return passed(f"proxy set ({shown}) but NO_PROXY covers {urlsplit(url).hostname}")
    p = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    try:
        socket.create_connection((p.hostname or "", p.port or 8080), timeout=ctx.timeout).close()
    except OSError as exc:
        return failed(
            f"the proxy {p.hostname}:{p.port or 8080} does not answer ({exc.strerror or exc})",
            Remediation(
                f"fix or unset the proxy variable, or add the {ctx.service.name} host to NO_PROXY",
                (f"export NO_PROXY={urlsplit(url).hostname}",),
            ),
            shown,
        )
    bridges = [c for c in ctx.clients if c.wiring and c.wiring.transport == "mcp-remote"]
    blind = [c.profile.name for c in bridges if "--enable-proxy" not in c.wiring.argv]  # type: ignore[union-attr]
    if blind:
        return warned(
            f"a proxy is set, but mcp-remote ignores it without --enable-proxy ({', '.join(blind)})",
            Remediation("add --enable-proxy after the URL in those clients' mcp-remote arguments"),
            shown,
        )
    return passed(f"proxy {p.hostname}:{p.port or 8080} answers", shown)


def _hide_userinfo(value: str) -> str:
    parts = urlsplit(value if "://" in value else f"http://{value}")
    if parts.password:
        return value.replace(parts.password, "****")
    return value


def check_clock(ctx: Context) -> Result:
    url = ctx.endpoints()[0]
    probe = probe_of(ctx, url)
    if probe.server_time is None:
        return skipped(f"no Date header from {probe.host} (server not reached)")
    skew = probe.local_time - probe.server_time
    where = "ahead of" if skew > 0 else "behind"
    text = f"this machine's clock is {abs(skew):.0f} s {where} {probe.host}"
    fix = Remediation(
        "turn on automatic time sync (NTP) in the system settings",
        ("timedatectl set-ntp true",) if ctx.paths.os_name == "linux" else (),
    )
    why = (
        "sign-in pages expire after 10 minutes and access tokens after 1 hour: a wrong clock"
        " makes them look expired ('Authorization session expired')"
    )
    if abs(skew) > SKEW_FAIL:
        return failed(text, fix, why, skew_seconds=round(skew))
    if abs(skew) > SKEW_WARN:
        return warned(text, fix, why, skew_seconds=round(skew))
    return passed(
        f"clock within {max(abs(skew), 1):.0f} s of {probe.host}", skew_seconds=round(skew)
    )


def check_browser(ctx: Context) -> Result:
    from dot_setup.signin.account import browser_available, ssh_session

    env = ctx.env
    if browser_available(env, ctx.paths.os_name):
        how = f"BROWSER={env['BROWSER']}" if env.get("BROWSER") else ctx.paths.os_name
        return passed(f"a browser can open for OAuth sign-in ({how})")
    why = (
        "this is an SSH session"
        if ssh_session(env)
        else "there is no display (DISPLAY/WAYLAND_DISPLAY)"
    )
    return warned(
        f"no browser can open here: {why}",
        Remediation(
            'OAuth clients open a browser to sign in ("Browser doesn\'t open"): sign dot-setup in'
            " with a code instead, or use an MCP token; keep the client up to date and allow"
            f" pop-ups from {ctx.service.name}",
            (
                "dot-setup login --no-browser",
                "dot-setup install --client ID --auth token --token-stdin",
            ),
        ),
    )


def checks(ctx: Context) -> list[Check]:
    return [
        Check("env.node", "Node.js for mcp-remote", "environment", check_node),
        Check("env.npx", "npx on PATH", "environment", check_npx),
        Check("env.proxy", "Proxy variables", "environment", check_proxy),
        Check("env.clock", "Clock matches the server", "environment", check_clock),
        Check("env.browser", "A browser for OAuth", "environment", check_browser),
    ]
