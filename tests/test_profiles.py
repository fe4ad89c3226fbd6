"""Every shipped profile validates and renders; bad profiles fail with the file and key named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.conftest import REPO

from dot_setup.engine.render import Connection, render_entry, render_manual
from dot_setup.errors import ProfileError
from dot_setup.paths import OS_NAMES, Paths
from dot_setup.profiles import loader
from dot_setup.profiles.docs import generate
from dot_setup.profiles.loader import load_clients, load_services

REQUIRED_IDS = {
    "cursor",
    "claude-desktop",
    "claude-code",
    "windsurf",
    "raycast",
    "chatgpt",
    "claude-ai",
    "vscode",
    "zed",
    "codex",
    "gemini-cli",
    "copilot-cli",
    "opencode",
    "qwen-code",
    "cline",
    "roo-code",
    "goose",
    "continue",
    "kiro",
    "amazon-q",
    "lm-studio",
    "generic",
}


def test_all_required_clients_ship() -> None:
    clients = load_clients()
    assert set(clients) >= REQUIRED_IDS
    assert len(clients) > 22  # a superset of the best peer installer's 22


def test_services() -> None:
    services = load_services()
    assert set(services) >= {"dot", "doit"}
    dot = services["dot"]
    assert dot.regions["us"].url == "https://app.getdot.ai/ai/mcp"
    assert dot.regions["eu"].url == "https://eu.getdot.ai/ai/mcp"
    assert services["doit"].auth == ("oauth",)


@pytest.mark.parametrize("client_id", sorted(load_clients()))
def test_every_shape_renders_on_every_os(client_id: str) -> None:
    profile = load_clients()[client_id]
    service = load_services()["dot"]
    for auth in ("oauth", "token"):
        conn = Connection(
            service=service,
            url="https://h/ai/mcp",
            auth=auth,
            name="dot",
            token="dot_mcp_us_x" * 3 if auth == "token" else None,
        )
        if profile.kind == "manual":
            if auth in profile.manual.steps:  # type: ignore[union-attr]
                shown = render_manual(profile, conn)
                assert shown.steps and "{{" not in repr(shown)
            continue
        for os_name in OS_NAMES:
            for transport in ("http", "stdio"):
                conn2 = Connection(**{**conn.__dict__, "transport": transport})
                try:
                    rendered = render_entry(profile, conn2, os_name)
                except Exception:
                    continue
                assert "{{" not in repr(rendered.entry)
                assert rendered.holds_secret == (
                    auth == "token" and "bearer_env" not in rendered.shape
                )


@pytest.mark.parametrize("client_id", sorted(load_clients()))
def test_every_file_client_has_a_user_path_on_some_os(client_id: str, fake_home: Path) -> None:
    profile = load_clients()[client_id]
    if profile.kind == "manual":
        assert profile.manual is not None
        return
    from dot_setup.engine.detect import target_path

    found = []
    for os_name in OS_NAMES:
        paths = Paths.from_env({"HOME": str(fake_home), "DOT_SETUP_OS": os_name})
        for target in profile.targets:
            path = target_path(target, paths)
            if path is not None:
                assert str(path).startswith(str(fake_home)) or target.scope == "project"
                found.append(path)
    assert found


def _broken(tmp_path: Path, name: str, text: str) -> Path:
    root = tmp_path / "profiles"
    shutil.copytree(REPO / "service_profiles", root / "service_profiles")
    (root / "client_profiles").mkdir(parents=True)
    shutil.copy(REPO / "client_profiles" / "cursor.toml", root / "client_profiles" / "cursor.toml")
    (root / "client_profiles" / name).write_text(text)
    return root


CURSOR = (REPO / "client_profiles" / "cursor.toml").read_text()


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "x.toml",
            CURSOR.replace('id = "cursor"', 'id = "x"').replace(
                "oauth = true", "oauth = true\nbogus = 1"
            ),
            "bogus: unknown field",
        ),
        (
            "x.toml",
            CURSOR.replace('id = "cursor"', 'id = "x"').replace('name = "Cursor"\n', ""),
            "name: missing required field",
        ),
        (
            "x.toml",
            CURSOR.replace('id = "cursor"', 'id = "x"').replace("{{url}}", "{{uri}}"),
            "unknown placeholder {{uri}}",
        ),
        ("cursor2.toml", CURSOR, "must match the file name"),
        (
            "x.toml",
            CURSOR.replace('id = "cursor"', 'id = "x"').replace(
                'format = "jsonc"', 'format = "ini"', 1
            ),
            "'ini' is not one of",
        ),
        ("x.toml", "schema = 1\nid = \n", "Invalid value (at line 2, column 6)"),
    ],
)
def test_invalid_profiles_fail_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, text: str, message: str
) -> None:
    monkeypatch.setenv("DOT_SETUP_PROFILES_DIR", str(_broken(tmp_path, name, text)))
    loader.load_clients.cache_clear()
    loader._one_client.cache_clear()
    with pytest.raises(ProfileError) as info:
        load_clients()
    assert message in info.value.message
    assert name in info.value.message


def test_client_docs_are_current() -> None:
    stale = generate(REPO / "docs" / "clients", check=True)
    assert not stale, f"run `dot-setup profiles docs`: stale {stale}"
