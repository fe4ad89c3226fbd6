"""The live-server harness itself: starts, signs in, stops."""

from __future__ import annotations

import httpx2
from tests.server.live import LiveServer


def test_live_server_answers_and_signs_in(server: LiveServer) -> None:
    assert httpx2.get(server.origin + "/healthz").json()["ok"] is True
    tokens = server.sign_in()
    assert tokens["access_token"].startswith("dot_oat_us_")
    assert (
        server.api("GET", "/api/me", tokens["access_token"]).json()["email"].startswith("analyst@")
    )
