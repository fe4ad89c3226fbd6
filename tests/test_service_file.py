"""A vendor's own service profile, outside the package: `--service PATH` and
DOT_SETUP_SERVICE_PROFILES, with the minimal example of docs/service-format.md as it is written."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

from helpers import run

DOCS = Path(__file__).resolve().parents[1] / "docs" / "service-format.md"


def example() -> str:
    text = DOCS.read_text("utf-8")
    block = text.split("<!-- service example -->", 1)[1]
    m = re.search(r"```toml\n(.*?)```", block, re.S)
    assert m, "docs/service-format.md lost its example"
    return m.group(1)


@pytest.fixture
def acme(fake_home: Path, tmp_path: Path) -> Path:
    (fake_home / ".cursor").mkdir()
    path = tmp_path / "vendor" / "acme.toml"
    path.parent.mkdir()
    path.write_text(example(), "utf-8")
    return path


def entry(home: Path) -> dict[str, object]:
    data = json.loads((home / ".cursor" / "mcp.json").read_text("utf-8"))
    assert isinstance(data["mcpServers"]["acme"], dict)
    return data["mcpServers"]["acme"]


def test_the_documented_minimal_file_works_with_install_and_show(
    acme: Path, fake_home: Path
) -> None:
    res = run("install", "--service", str(acme), "--client", "cursor", "--yes")
    assert res.code == 0, res.err
    assert entry(fake_home) == {"url": "https://mcp.acme.example/mcp"}
    shown = run("show", "--service", str(acme), "--client", "chatgpt")
    assert shown.code == 0, shown.err
    assert "Acme Metrics" in shown.out and "https://mcp.acme.example/mcp" in shown.out
    assert "Dot" not in shown.out + res.out + res.err


def closed_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/mcp"


def test_the_wizard_by_flags_with_a_vendor_file(
    acme: Path, fake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The wizard verifies by connecting: to a closed local port, never to the example's host.
    url = closed_url()
    monkeypatch.setenv("DOT_SETUP_REGION_URLS", f"global={url}")
    res = run("--service", str(acme), "--client", "cursor", "--yes", "--no-input")
    assert entry(fake_home)["url"] == url
    assert "has the 'acme' entry" in res.err
    assert res.code == 1 and f"{url}: could not reach" in res.err, res.err


def test_doctor_with_a_vendor_file(acme: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOT_SETUP_REGION_URLS", f"global={closed_url()}")
    assert run("install", "--service", str(acme), "--client", "cursor", "--yes").code == 0
    res = run("doctor", "--service", str(acme), "--timeout", "1", "--json")
    checks = {c["id"]: c for c in res.json()["data"]["checks"]}
    assert checks["client.cursor.entry"]["status"] == "pass", checks["client.cursor.entry"]
    assert checks["client.cursor.entry"]["title"] == "Cursor: Acme Metrics entry"
    assert checks["net.tcp"]["status"] == "fail"
    assert "Acme Metrics" in checks["net.tcp"]["remediation"]["text"]


def test_a_folder_of_vendor_files_names_them_by_id(
    acme: Path, fake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOT_SETUP_SERVICE_PROFILES", str(acme.parent))
    res = run("install", "--service", "acme", "--client", "cursor", "--yes")
    assert res.code == 0, res.err
    assert entry(fake_home)["url"] == "https://mcp.acme.example/mcp"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda t: t.replace('url = "https://mcp.acme.example/mcp"\n', ""), "regions.global.url"),
        (lambda t: t + 'colour = "blue"\n', "colour"),
        (lambda t: t.replace('auth = ["oauth"]', 'auth = ["password"]'), "auth"),
        (lambda t: t.replace("[regions.global]", "[regions.global"), "acme.toml"),
    ],
    ids=["missing url", "unknown key", "bad auth", "not TOML"],
)
def test_a_broken_vendor_file_is_named_with_its_key(
    acme: Path, fake_home: Path, change: object, expected: str
) -> None:
    acme.write_text(change(example()), "utf-8")  # type: ignore[operator]
    res = run("install", "--service", str(acme), "--client", "cursor", "--yes")
    assert res.code != 0
    lines = [line for line in res.err.splitlines() if line.startswith("error")]
    assert len(lines) == 1 and str(acme.name) in lines[0] and expected in lines[0], res.err
    assert "Traceback" not in res.err
    assert not (fake_home / ".cursor" / "mcp.json").exists()


def test_a_missing_or_odd_vendor_file_is_refused(acme: Path, tmp_path: Path) -> None:
    missing = run(
        "install", "--service", str(tmp_path / "nope.toml"), "--client", "cursor", "--yes"
    )
    assert missing.code == 2 and "no such file" in missing.err
    folder = run("install", "--service", str(tmp_path) + "/", "--client", "cursor", "--yes")
    assert folder.code != 0 and "not a regular file" in folder.err, folder.err


def test_a_fifo_among_vendor_files_is_refused_not_waited_on(
    acme: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    fifo = acme.parent / "stuck.toml"
    os.mkfifo(fifo)
    res = run("install", "--service", str(fifo), "--client", "cursor", "--yes")
    assert res.code != 0 and "not a regular file" in res.err, res.err
    monkeypatch.setenv("DOT_SETUP_SERVICE_PROFILES", str(acme.parent))
    res = run("install", "--service", "acme", "--client", "cursor", "--yes")
    assert res.code != 0 and "stuck.toml" in res.err and "not a regular file" in res.err, res.err
