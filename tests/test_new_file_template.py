"""A target's `new_file`: the top-level keys a file starts with when dot-setup creates it.

The Continue CLI refuses a config.yaml without `name` and `version`, so Continue's target has
`new_file = { name = "Local Config", version = "1.0.0", schema = "v1" }`. These tests pin:
created files start with those keys and then hold the entry; files that exist never get them;
remove takes out only the entry (a created file keeps its `new_file` keys and the empty
container, as every created file keeps its container); the profile validator refuses a
`new_file` that could not be written as it is, or could carry a token.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import TOKEN, run

from dot_setup.engine.changes import new_document
from dot_setup.errors import ProfileError
from dot_setup.formats import get_format
from dot_setup.profiles.loader import load_clients
from dot_setup.profiles.schema import Target
from dot_setup.profiles.validate import parse_client

TEMPLATE = {"name": "Local Config", "version": "1.0.0", "schema": "v1"}
CREATED = "name: Local Config\nversion: 1.0.0\nschema: v1\n"


def _install(*extra: str) -> None:
    r = run(
        "install",
        "-c",
        "continue",
        "--auth",
        "token",
        "--token-stdin",
        "--region",
        "us",
        "--yes",
        *extra,
        stdin=TOKEN,
    )
    assert r.code == 0, r.err


def _config(home: Path) -> Path:
    return home / ".continue" / "config.yaml"


def test_continue_declares_the_keys_cn_requires() -> None:
    target = load_clients()["continue"].target("user")
    assert target is not None
    assert dict(target.new_file) == TEMPLATE


def test_a_created_file_starts_with_the_keys_then_the_entry(fake_home: Path) -> None:
    _install()
    text = _config(fake_home).read_text()
    assert text.startswith(CREATED)
    from ruamel.yaml import YAML

    doc = YAML(typ="safe").load(text)
    assert {k: doc[k] for k in TEMPLATE} == TEMPLATE
    assert [e["name"] for e in doc["mcpServers"]] == ["dot"]
    assert doc["mcpServers"][0]["requestOptions"]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert "models" not in doc  # nothing the user did not ask for


def test_the_dry_run_shows_the_created_file_with_the_keys(fake_home: Path) -> None:
    r = run(
        "install",
        "-c",
        "continue",
        "--auth",
        "token",
        "--token-stdin",
        "--region",
        "us",
        "--dry-run",
        stdin=TOKEN,
    )
    assert r.code == 0, r.err
    assert "+name: Local Config" in r.out + r.err
    assert not _config(fake_home).exists()


def test_install_again_changes_nothing(fake_home: Path) -> None:
    _install()
    first = _config(fake_home).read_bytes()
    _install()
    assert _config(fake_home).read_bytes() == first


def test_an_existing_file_never_gets_the_keys(fake_home: Path) -> None:
    path = _config(fake_home)
    path.parent.mkdir()
    original = "# mine\nmodels: []\n"
    path.write_text(original)
    _install()
    text = path.read_text()
    assert text.startswith(original)
    assert "Local Config" not in text and "version:" not in text
    assert run("remove", "-c", "continue", "--yes").code == 0
    assert path.read_text() == original


def test_remove_leaves_the_created_file_with_its_keys_and_empty_container(
    fake_home: Path,
) -> None:
    """As for any file dot-setup created (see the cursor case): the file stays, without the
    entry; only containers recorded as created inside an existing file are taken away."""
    _install()
    assert run("remove", "-c", "continue", "--yes").code == 0
    assert _config(fake_home).read_text() == CREATED + "mcpServers: []\n"

    r = run(
        "install", "-c", "cursor", "--auth", "token", "--token-stdin", "--region", "us", "--yes",
        stdin=TOKEN,
    )  # fmt: skip
    assert r.code == 0, r.err
    assert run("remove", "-c", "cursor", "--yes").code == 0
    assert json.loads((fake_home / ".cursor" / "mcp.json").read_text()) == {"mcpServers": {}}


def test_force_over_a_broken_file_writes_the_keys_too(fake_home: Path) -> None:
    path = _config(fake_home)
    path.parent.mkdir()
    path.write_text("name: [unclosed\n")
    _install("--force")
    assert path.read_text().startswith(CREATED)


@pytest.mark.parametrize("fmt", ["json", "jsonc", "toml", "yaml"])
def test_every_format_writes_the_keys_first(fmt: str) -> None:
    target = Target(
        scope="user",
        format=fmt,
        container=("mcpServers",),
        paths={"all": "{home}/x"},
        new_file={**TEMPLATE, "flags": {"on": True, "n": 2}},
    )
    text = get_format(fmt).set_entry(
        new_document(target), ("mcpServers",), "", "dot", {"url": "https://h/mcp"}
    )
    doc: dict[str, Any]
    if fmt == "toml":
        doc = tomllib.loads(text)
    elif fmt == "yaml":
        from ruamel.yaml import YAML

        doc = YAML(typ="safe").load(text)
    else:
        doc = json.loads(text)
    assert list(doc) == [*TEMPLATE, "flags", "mcpServers"]
    assert doc["flags"] == {"on": True, "n": 2}
    assert doc["mcpServers"] == {"dot": {"url": "https://h/mcp"}}


def test_no_new_file_means_an_empty_start() -> None:
    target = Target(scope="user", format="json", container=("mcpServers",), paths={"all": "x"})
    assert new_document(target) == ""


# ---- validation ------------------------------------------------------------------------------


def _profile(new_file: Any) -> dict[str, Any]:
    return {
        "schema": 1,
        "id": "t",
        "name": "T",
        "kind": "file",
        "category": "cli",
        "docs_url": "https://example.invalid/docs",
        "next_step": "x",
        "oauth": False,
        "verified": {"method": "docs", "source": "https://example.invalid", "date": "2026-12-03"},
        "targets": [
            {
                "scope": "user",
                "format": "yaml",
                "container": ["mcpServers"],
                "paths": {"all": "{home}/t.yaml"},
                "new_file": new_file,
            }
        ],
        "shapes": {"http_bearer": {"entry": {"url": "{{url}}"}}},
    }


def test_a_plain_table_validates() -> None:
    profile = parse_client(_profile({**TEMPLATE, "tags": ["a", 1, 2.5, False]}), "t.toml")
    assert profile.targets[0].new_file["version"] == "1.0.0"


@pytest.mark.parametrize(
    ("new_file", "says"),
    [
        ("name: x", "expected dict"),
        ({"mcpServers": {}}, "is the container"),
        ({"token": "{{token}}"}, "no {{placeholders}}"),
        ({"nested": {"auth": ["{{authorization}}"]}}, "no {{placeholders}}"),
        ({"created": tomllib.loads("d = 2026-12-03")["d"]}, "cannot be written"),
    ],
)
def test_a_bad_new_file_is_refused_with_the_key_named(new_file: Any, says: str) -> None:
    with pytest.raises(ProfileError) as info:
        parse_client(_profile(new_file), "t.toml")
    assert "targets[0].new_file" in str(info.value)
    assert says in str(info.value)
