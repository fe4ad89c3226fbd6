"""A profile that says a real program verified it names the version the tests install.

The real-client suite installs programs pinned (tests/realclients/package.json for npm,
tests/realclients/py-clients.txt for PyPI); each `real-client` profile's [verified] block
names the package, the command and that exact version, and `dot-setup list` and the client
docs show it. When a pin moves, this test says which profile to update.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from dot_setup.profiles.loader import load_clients

REALCLIENTS = Path(__file__).resolve().parent / "realclients"


def pinned() -> dict[str, str]:
    """Package name -> pinned version, npm and PyPI."""
    pins = dict(json.loads((REALCLIENTS / "package.json").read_text("utf-8"))["dependencies"])
    py = REALCLIENTS / "py-clients.txt"
    if py.exists():
        for line in py.read_text("utf-8").splitlines():
            m = re.search(r"([A-Za-z0-9_.\[\]-]+)==([0-9][^\s,;]*)", line.split("#")[0])
            if m:
                pins[re.sub(r"\[.*\]", "", m.group(1))] = m.group(2)
    return pins


def test_real_client_profiles_name_the_pinned_version() -> None:
    pins = pinned()
    real = [p for p in load_clients().values() if p.verified.method == "real-client"]
    assert len(real) >= 5
    for profile in real:
        v = profile.verified
        assert v.source in pins, f"{profile.id}: {v.source} is not pinned in tests/realclients"
        assert v.version == pins[v.source], (
            f"{profile.id}: [verified] version {v.version}, the tests install {pins[v.source]}"
        )
        assert v.program and v.proof in ("connects", "lists"), profile.id


def test_list_shows_the_verified_program_and_version() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "dot_setup", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    rows = {row["id"]: row for row in json.loads(out)["data"]["clients"]}
    assert rows["codex"]["verified"] == f"real-client: codex {pinned()['@openai/codex']} (connects)"
    assert rows["cursor"]["verified"].startswith("docs: https://")
