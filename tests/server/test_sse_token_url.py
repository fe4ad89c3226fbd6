"""Legacy HTTP+SSE with the token in the URL (`/ai/sse?token=...`), the single-URL form.

The client POSTs its messages to the endpoint the server announced, without the token; the
server takes the open stream's token and checks it again on every POST, so a token revoked
while the stream is open stops working at once.
"""

from __future__ import annotations

import asyncio

import anyio
import httpx2
from mcp.client import Client
from mcp.client.sse import sse_client
from mcp.shared._httpx_utils import create_mcp_http_client
from tests.server.live import ANALYST, LiveServer


async def _session(
    url: str, revoke: object = None, seen: list[tuple[str, int]] | None = None
) -> tuple[list[str], BaseException | None]:
    """Connect, list tools, optionally revoke and call; record (path, status) of each answer."""
    names: list[str] = []
    failure: BaseException | None = None

    async def record(response: httpx2.Response) -> None:
        if seen is not None:
            seen.append((response.request.url.path, response.status_code))

    def factory(
        headers: dict[str, str] | None = None,
        timeout: httpx2.Timeout | None = None,
        auth: httpx2.Auth | None = None,
    ) -> httpx2.AsyncClient:
        client = create_mcp_http_client(headers, timeout, auth)
        client.event_hooks["response"].append(record)
        return client

    try:
        # The SDK's SSE client does not surface a refused POST; it waits. Bound it.
        with anyio.fail_after(5 if callable(revoke) else 20):
            async with Client(
                sse_client(url, httpx_client_factory=factory), mode="legacy"
            ) as client:
                names = [t.name for t in (await client.list_tools()).tools]
                if callable(revoke):
                    revoke()
                    await client.call_tool("total_sales", {})
    except BaseException as exc:  # the SDK wraps transport failures in exception groups
        failure = exc
    return names, failure


def test_sse_with_the_token_in_the_url_lists_tools(server: LiveServer) -> None:
    token = server.mcp_token(ANALYST)
    names, failure = asyncio.run(_session(f"{server.sse_url}?token={token}"))
    assert failure is None, repr(failure)
    assert {"total_sales", "query"} <= set(names)


def test_a_token_revoked_while_the_stream_is_open_stops_working(server: LiveServer) -> None:
    access = server.sign_in(ANALYST)["access_token"]
    token = server.api("POST", "/api/mcp-token", access).json()["token"]

    def revoke() -> None:
        assert server.api("DELETE", "/api/mcp-token", access).json()["revoked"] == 1

    seen: list[tuple[str, int]] = []
    names, failure = asyncio.run(_session(f"{server.sse_url}?token={token}", revoke, seen))
    assert "total_sales" in names  # worked before the revocation
    assert failure is not None  # and the next message was refused:
    posts = [status for path, status in seen if path.startswith("/ai/messages")]
    assert posts[0] == 202 and posts[-1] == 401, seen


def test_messages_without_a_token_for_an_unknown_stream_are_refused(server: LiveServer) -> None:
    resp = httpx2.post(server.origin + "/ai/messages/?session_id=" + "0" * 32, json={})
    assert resp.status_code == 401
