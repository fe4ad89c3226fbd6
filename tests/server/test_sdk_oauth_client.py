"""The `mcp` SDK's own OAuth client against the live server, end to end.

`OAuthClientProvider` discovers the server (401 → protected resource metadata → authorization
server metadata), registers itself, sends the person's browser (here the scripted one) to the
consent page, checks `state` and `iss`, exchanges the code, and then refreshes on its own when
the access token runs out. The test then replays the rotated-away refresh token, as a thief
would, and checks the server revokes the sign-in the SDK holds.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import anyio
import anyio.to_thread
import httpx2
import pytest
from mcp.client import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from pydantic import AnyUrl
from tests.server.live import ANALYST, PASSWORD, LiveServer

from dot_setup.server.headless import HeadlessBrowser

TOOLS = {"list_data_sources", "total_sales", "top_customers", "compare_periods", "query"}
REDIRECT_URI = "http://127.0.0.1:9/callback"  # nobody listens: the code is read off the redirect


class MemoryStorage:
    """The SDK's TokenStorage protocol, keeping every token set it was given."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None
        self.history: list[OAuthToken] = []

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens
        self.history.append(tokens)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class PersonAtTheBrowser:
    """redirect_handler + callback_handler: the person signs in and presses Allow."""

    def __init__(self, browser: HeadlessBrowser) -> None:
        self.browser = browser
        self.urls: list[str] = []

    async def redirect(self, url: str) -> None:
        self.urls.append(url)

    async def callback(self) -> AuthorizationCodeResult:
        outcome = await anyio.to_thread.run_sync(self.browser.authorize, self.urls[-1])
        params = outcome.params
        assert outcome.location.startswith(REDIRECT_URI + "?"), outcome.location
        return AuthorizationCodeResult(
            code=params["code"], state=params.get("state"), iss=params.get("iss")
        )


@pytest.fixture(scope="module")
def browser() -> Iterator[HeadlessBrowser]:
    with HeadlessBrowser(ANALYST, PASSWORD) as b:
        yield b


def make_provider(
    server_url: str, person: PersonAtTheBrowser, storage: MemoryStorage
) -> OAuthClientProvider:
    return OAuthClientProvider(
        server_url=server_url,
        client_metadata=OAuthClientMetadata(
            client_name="SDK OAuth test",
            redirect_uris=[AnyUrl(REDIRECT_URI)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
        storage=storage,
        redirect_handler=person.redirect,
        callback_handler=person.callback,
    )


async def tool_names(server: LiveServer, provider: OAuthClientProvider) -> set[str]:
    async with httpx2.AsyncClient(auth=provider, timeout=httpx2.Timeout(30, read=60)) as http:
        with anyio.fail_after(30):
            async with Client(streamable_http_client(server.mcp_url, http_client=http)) as client:
                return {t.name for t in (await client.list_tools()).tools}


def mcp_status(server: LiveServer, token: str) -> int:
    with httpx2.Client(timeout=15) as http:
        return http.post(
            server.mcp_url,
            json={
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {
                    "protocolVersion": "2025-06-18",
                    "capabilities": {},
                    "clientInfo": {"name": "sdk-test-probe", "version": "1"},
                },
            },
            headers={
                "Accept": "application/json, text/event-stream",
                "Authorization": f"Bearer {token}",
            },
        ).status_code


def test_sdk_client_signs_in_refreshes_and_loses_the_grant_on_replay(
    server: LiveServer, browser: HeadlessBrowser
) -> None:
    storage = MemoryStorage()
    person = PersonAtTheBrowser(browser)
    provider = make_provider(server.mcp_url, person, storage)

    # 1. First connection: the whole OAuth flow, then tools/list.
    assert anyio.run(tool_names, server, provider) == TOOLS
    assert len(person.urls) == 1
    authorize = httpx2.URL(person.urls[0])
    assert str(authorize).startswith(server.origin + "/authorize?")
    assert authorize.params["code_challenge_method"] == "S256"
    assert authorize.params["resource"] == server.origin  # from the protected resource metadata
    assert authorize.params["scope"] == "mcp"  # from the 401 challenge
    assert storage.client_info is not None
    assert storage.client_info.client_id.startswith("dcr_")
    first = storage.tokens
    assert first is not None and first.refresh_token
    assert first.expires_in == 3600
    assert first.token_type.lower() == "bearer"

    # 2. The access token "expires" on the client's side: the SDK refreshes by itself.
    provider.context.token_expiry_time = time.time() - 1
    assert anyio.run(tool_names, server, provider) == TOOLS
    assert len(person.urls) == 1  # no second trip to the browser
    second = storage.tokens
    assert second is not None and second.refresh_token
    assert second.refresh_token != first.refresh_token  # rotated
    assert second.access_token != first.access_token
    assert len(storage.history) == 2
    assert mcp_status(server, second.access_token) == 200

    # 3. Someone replays the old refresh token: refused, and the sign-in is revoked.
    with httpx2.Client(timeout=15) as http:
        replay = http.post(
            server.origin + "/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": first.refresh_token,
                "client_id": storage.client_info.client_id,
                "resource": server.origin,
            },
        )
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert mcp_status(server, second.access_token) == 401

    # 4. The SDK meets the 401, tries its (revoked) refresh token... and ends up asking the
    #    person again, which works: the same registration, a new sign-in.
    assert anyio.run(tool_names, server, provider) == TOOLS
    assert len(person.urls) == 2
    third = storage.tokens
    assert third is not None
    assert third.access_token not in (first.access_token, second.access_token)
    assert mcp_status(server, third.access_token) == 200
    assert storage.client_info.client_id == httpx2.URL(person.urls[1]).params["client_id"]


def test_sdk_client_over_legacy_sse(server: LiveServer, browser: HeadlessBrowser) -> None:
    storage = MemoryStorage()
    person = PersonAtTheBrowser(browser)
    provider = make_provider(server.sse_url, person, storage)

    async def main() -> tuple[set[str], str]:
        with anyio.fail_after(30):
            async with Client(
                sse_client(server.sse_url, auth=provider, timeout=30, sse_read_timeout=30),
                mode="legacy",
            ) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                result = await client.call_tool("list_data_sources", {})
                assert not result.is_error, result
                return names, str(result.structured_content)

    names, sources = anyio.run(main)
    assert names == TOOLS
    assert len(person.urls) == 1
    # The token the legacy endpoint got is bound to the origin, and so serves /ai/mcp too.
    assert httpx2.URL(person.urls[0]).params["resource"] == server.origin
    assert storage.tokens is not None
    assert mcp_status(server, storage.tokens.access_token) == 200
    # The analyst's own sources, not the finance one.
    assert "sales" in sources and "marketing" in sources
    assert "finance" not in sources


def test_sdk_client_reuses_a_stored_sign_in(server: LiveServer, browser: HeadlessBrowser) -> None:
    """A second process with the same storage connects without the browser."""
    storage = MemoryStorage()
    person = PersonAtTheBrowser(browser)
    assert anyio.run(tool_names, server, make_provider(server.mcp_url, person, storage)) == TOOLS
    assert len(person.urls) == 1
    restarted = PersonAtTheBrowser(browser)
    assert anyio.run(tool_names, server, make_provider(server.mcp_url, restarted, storage)) == TOOLS
    assert restarted.urls == []
    assert len(storage.history) == 1
