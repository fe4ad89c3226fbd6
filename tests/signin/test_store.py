"""Where the sign-in is kept: the keyring store, the 0600 file store, and the automatic choice."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import keyring
import keyring.backend
import pytest

from dot_setup.errors import UsageError
from dot_setup.paths import Paths
from dot_setup.signin.store import (
    KEYRING_SERVICE,
    ClientCache,
    FileStore,
    KeyringStore,
    Session,
    open_store,
)

PLAINTEXT = "keyrings.alt.file.PlaintextKeyring"


def session(issuer: str = "http://127.0.0.1:1234", n: int = 1) -> Session:
    return Session(
        issuer=issuer,
        resource=issuer,
        mcp_url=issuer + "/ai/mcp",
        region="us",
        client_id=f"client-{n}",
        access_token=f"access-token-{n}-" + "a" * 30,
        refresh_token=f"refresh-token-{n}-" + "r" * 30,
        expires_at=1_900_000_000 + n,
        scope="mcp",
        account="analyst@demo.dot.local",
        signed_in_at=1_899_990_000,
    )


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that counts as a real OS store (priority >= 1), kept in memory."""

    priority = 5  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        del self.items[(service, username)]


class LockedKeyring(MemoryKeyring):
    """A real-looking keyring that is locked (as D-Bus ones are in a headless session)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringLocked("locked")


def credentials_file() -> Path:
    return Paths.from_env().state_dir / "credentials.json"


def test_keyring_store_round_trip(monkeypatch: pytest.MonkeyPatch, fake_home: Path) -> None:
    monkeypatch.setenv("DOT_SETUP_CREDENTIAL_STORE", "keyring")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", PLAINTEXT)
    store = open_store(Paths.from_env())
    assert isinstance(store, KeyringStore)
    assert store.kind == "keyring"
    assert "PlaintextKeyring" in store.location

    one, two = session("http://127.0.0.1:1111", 1), session("http://127.0.0.1:2222", 2)
    assert store.load(one.issuer) is None
    assert store.issuers() == []
    store.save(one)
    store.save(two)
    assert store.load(one.issuer) == one
    assert store.load(two.issuer) == two
    assert store.issuers() == [one.issuer, two.issuer]

    # A new process (a new store over the same keyring) sees the same sessions.
    again = open_store(Paths.from_env())
    assert again.load(two.issuer) == two

    assert store.delete(one.issuer) is True
    assert store.delete(one.issuer) is False
    assert store.load(one.issuer) is None
    assert store.issuers() == [two.issuer]

    # The keyring file lives in the fake home; no credentials.json was written.
    keyring_file = Path(keyring.get_keyring().file_path)  # type: ignore[attr-defined]
    assert fake_home in keyring_file.parents
    assert "[dot_2Dsetup]" in keyring_file.read_text()  # the section of KEYRING_SERVICE
    assert not credentials_file().exists()


def test_keyring_store_saving_again_replaces_the_session(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOT_SETUP_CREDENTIAL_STORE", "keyring")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", PLAINTEXT)
    store = open_store(Paths.from_env())
    first = session()
    store.save(first)
    second = session()
    second.access_token, second.expires_at = "rotated-access-" + "b" * 30, 1_900_009_999
    store.save(second)
    assert store.load(first.issuer) == second
    assert store.issuers() == [first.issuer]


def test_keyring_store_ignores_a_corrupt_item() -> None:
    backend = MemoryKeyring()
    store = KeyringStore(backend)
    backend.set_password(KEYRING_SERVICE, "http://x", "{not json")
    assert store.load("http://x") is None
    backend.set_password(KEYRING_SERVICE, "__index__", "{not json")
    assert store.issuers() == []


def test_automatic_choice_ignores_a_plaintext_keyring(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", PLAINTEXT)
    assert keyring.get_keyring().priority < 1  # type: ignore[operator]
    store = open_store(Paths.from_env())
    assert isinstance(store, FileStore)
    assert store.path == credentials_file()
    store.save(session())
    assert "no system keyring is available" in capsys.readouterr().err
    assert stat.S_IMODE(credentials_file().stat().st_mode) == 0o600


def test_automatic_choice_takes_a_real_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    backend = MemoryKeyring()
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    store = open_store(Paths.from_env())
    assert isinstance(store, KeyringStore)
    store.save(session())
    assert (KEYRING_SERVICE, session().issuer) in backend.items
    assert not credentials_file().exists()


def test_automatic_choice_skips_a_locked_keyring(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyring.core, "_keyring_backend", LockedKeyring())
    assert isinstance(open_store(Paths.from_env()), FileStore)


def test_forced_file_store_even_with_a_real_keyring(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    backend = MemoryKeyring()
    monkeypatch.setattr(keyring.core, "_keyring_backend", backend)
    monkeypatch.setenv("DOT_SETUP_CREDENTIAL_STORE", "file")
    store = open_store(Paths.from_env())
    assert isinstance(store, FileStore)
    store.save(session())
    assert backend.items == {}
    # Chosen by the user: no "no system keyring" warning.
    assert "warning" not in capsys.readouterr().err


def test_forced_keyring_that_is_broken_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOT_SETUP_CREDENTIAL_STORE", "keyring")

    def broken() -> None:
        raise RuntimeError("no backend")

    monkeypatch.setattr(keyring, "get_keyring", broken)
    with pytest.raises(UsageError, match="keyring is not usable"):
        open_store(Paths.from_env())


def test_unknown_store_choice_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOT_SETUP_CREDENTIAL_STORE", "vault")
    with pytest.raises(UsageError, match="not auto, file or keyring"):
        open_store(Paths.from_env())


def test_file_store_round_trip_and_mode(capsys: pytest.CaptureFixture[str]) -> None:
    path = credentials_file()
    store = FileStore(path, warn=True)
    one, two = session("http://127.0.0.1:1111", 1), session("http://127.0.0.1:2222", 2)
    store.save(one)
    store.save(two)
    err = capsys.readouterr().err
    assert err.count("no system keyring is available") == 1  # once per process
    assert "0600" in err
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.load(one.issuer) == one
    assert store.issuers() == [one.issuer, two.issuer]
    assert json.loads(path.read_text())["sessions"][one.issuer]["expires_at"] == one.expires_at
    assert store.delete(one.issuer) is True
    assert store.delete(one.issuer) is False
    assert store.issuers() == [two.issuer]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_file_store_ignores_an_unreadable_file(capsys: pytest.CaptureFixture[str]) -> None:
    path = credentials_file()
    path.parent.mkdir(parents=True)
    path.write_text("{oops")
    store = FileStore(path)
    assert store.load("http://x") is None
    assert "not readable JSON" in capsys.readouterr().err
    store.save(session())  # replaces the broken file
    assert store.issuers() == [session().issuer]


def test_loaded_sessions_are_registered_for_redaction() -> None:
    from dot_setup.secrets import REDACT

    FileStore(credentials_file()).save(session())
    REDACT.secrets.clear()
    loaded = FileStore(credentials_file()).load(session().issuer)
    assert loaded is not None
    assert REDACT(f"x {loaded.access_token} {loaded.refresh_token}").count("…") == 2


def test_client_cache(fake_home: Path) -> None:
    cache = ClientCache(Paths.from_env())
    assert cache.get("http://a") == ""
    cache.put("http://a", "client-a")
    cache.put("http://b", "client-b")
    assert cache.get("http://a") == "client-a"
    assert json.loads(cache.path.read_text()) == {"http://a": "client-a", "http://b": "client-b"}
    cache.drop("http://a")
    assert cache.get("http://a") == ""
    assert cache.get("http://b") == "client-b"
