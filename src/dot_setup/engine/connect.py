"""Connect to an MCP endpoint with a credential and list its tools (the wizard's verify step).

Uses the real `mcp` SDK client over Streamable HTTP; imported only here because the SDK costs
about a second of import time. Failures come back as a short reason, never as a traceback,
and never with the token in them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    tools: tuple[str, ...] = ()
    reason: str = ""


def list_tools(url: str, token: str | None, timeout: float = 20.0) -> CheckResult:
    import anyio

    try:
        return anyio.run(_list_tools, url, token, timeout)
    except Exception as exc:  # reported, not raised: verification must not undo a write
        return CheckResult(False, reason=_reason(exc))


async def _list_tools(url: str, token: str | None, timeout: float) -> CheckResult:
    import anyio
    import httpx2
    from mcp.client import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    statuses: list[int] = []

    async def record(response: httpx2.Response) -> None:
        statuses.append(response.status_code)

    http = httpx2.AsyncClient(
        headers=headers,
        timeout=httpx2.Timeout(timeout, read=timeout),
        event_hooks={"response": [record]},
    )
    try:
        with anyio.fail_after(timeout):
            async with http, Client(streamable_http_client(url, http_client=http)) as client:
                tools = (await client.list_tools()).tools
    except Exception as exc:
        if 401 in statuses:
            return CheckResult(False, reason="the server refused the credential (401)")
        if 403 in statuses:
            return CheckResult(False, reason="the account has no MCP access (403)")
        return CheckResult(False, reason=_reason(exc))
    return CheckResult(True, tools=tuple(sorted(t.name for t in tools)))


def _reason(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    from dot_setup.secrets import REDACT

    return REDACT(f"{type(exc).__name__}: {text}"[:200])


def list_tools_stdio(
    command: str, args: list[str], env: dict[str, str], timeout: float = 30.0
) -> CheckResult:
    """Start a stdio MCP server (a client's mcp-remote command, as written) and list its tools."""
    import anyio

    try:
        return anyio.run(_list_tools_stdio, command, args, env, timeout)
    except Exception as exc:
        return CheckResult(False, reason=_reason(exc))


async def _list_tools_stdio(
    command: str, args: list[str], env: dict[str, str], timeout: float
) -> CheckResult:
    import tempfile

    import anyio
    from mcp.client import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    params = StdioServerParameters(command=command, args=args, env=env)
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errlog:
        try:
            with anyio.fail_after(timeout):
                async with Client(stdio_client(params, errlog=errlog)) as client:
                    tools = (await client.list_tools()).tools
        except Exception as exc:
            errlog.seek(0)
            tail = [line.strip() for line in errlog.read().splitlines() if line.strip()][-3:]
            reason = _reason(exc)
            if tail:
                from dot_setup.secrets import REDACT

                reason += " | " + REDACT(" / ".join(tail))[:300]
            return CheckResult(False, reason=reason)
    return CheckResult(True, tools=tuple(sorted(t.name for t in tools)))
