"""The OAuth 2.1 authorization server's routes, from discovery to revocation.

Per the MCP authorization spec (2026-07-28): RFC 9728 protected resource metadata at the root
and path-inserted, RFC 8414 metadata with an exact issuer, PKCE S256 only, dynamic client
registration and client ID metadata documents, resource indicators, `iss` on every
authorization response (errors included), refresh rotation, RFC 7009 revocation and the RFC 8628
device authorization grant. `oauth_authorize` serves discovery, registration and /authorize;
`oauth_token` the token, revocation and device endpoints.
"""

from __future__ import annotations

from starlette.routing import Route

from dot_setup.server.config import MCP_PATH, SSE_PATH
from dot_setup.server.oauth_authorize import as_metadata, authorize, prm, register
from dot_setup.server.oauth_token import device_authorization, revoke, token


def routes() -> list[Route]:
    wk_prm = "/.well-known/oauth-protected-resource"
    return [
        Route(wk_prm, prm, methods=["GET"]),
        Route(wk_prm + MCP_PATH, prm, methods=["GET"]),
        Route(wk_prm + SSE_PATH, prm, methods=["GET"]),
        Route("/.well-known/oauth-authorization-server", as_metadata, methods=["GET"]),
        Route("/register", register, methods=["POST"]),
        Route("/authorize", authorize, methods=["GET", "POST"]),
        Route("/token", token, methods=["POST"]),
        Route("/revoke", revoke, methods=["POST"]),
        Route("/device_authorization", device_authorization, methods=["POST"]),
    ]
