"""Where dot-setup keeps its own sign-in: the OS keyring where one works, else a 0600 file.

One record per authorization server (issuer): the client id it registered, the access and
refresh tokens and their *absolute* expiry, the account and region. The record is JSON in one
keyring item (service "dot-setup", user = issuer) or one entry of `credentials.json` in the
state dir. Client registrations (not secret) are cached separately in `oauth-clients.json`, so
`logout` does not force a new registration.

`DOT_SETUP_CREDENTIAL_STORE=file|keyring` forces one store. Automatic choice takes the keyring
only when its backend is a real OS store (priority >= 1): the plaintext fallbacks some systems
install are no safer than our 0600 file and print no warning.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from dot_setup.errors import UsageError
from dot_setup.fs.fsio import write_atomic
from dot_setup.paths import Paths
from dot_setup.secrets import REDACT
from dot_setup.ui.console import OUT

KEYRING_SERVICE = "dot-setup"
_warned = False
_INDEX_USER = "__index__"


@dataclass
class Session:
    issuer: str
    resource: str
    mcp_url: str
    region: str
    client_id: str
    access_token: str
    refresh_token: str
    expires_at: int
    scope: str = ""
    account: str = ""
    signed_in_at: int = 0

    def register_secrets(self) -> None:
        REDACT.add(self.access_token)
        REDACT.add(self.refresh_token)


class Store(Protocol):
    kind: str
    location: str

    def load(self, issuer: str) -> Session | None: ...

    def save(self, session: Session) -> None: ...

    def delete(self, issuer: str) -> bool: ...

    def issuers(self) -> list[str]: ...


def _session(raw: Any) -> Session | None:
    if not isinstance(raw, dict):
        return None
    try:
        session = Session(**{k: raw[k] for k in Session.__dataclass_fields__ if k in raw})
    except TypeError:
        return None
    session.register_secrets()
    return session


class FileStore:
    kind = "file"

    def __init__(self, path: Path, warn: bool = False) -> None:
        self.path = path
        self.location = str(path)
        self.warn = warn

    def _read(self) -> dict[str, Any]:
        from dot_setup.errors import FileAccessError
        from dot_setup.fs.fsio import read_bytes

        try:
            raw = read_bytes(self.path, limit=4 * 1024 * 1024)
            data = json.loads(raw.decode("utf-8")) if raw is not None else {}
        except (FileAccessError, ValueError, RecursionError):
            OUT.warn(f"{self.path} is not readable JSON; it is ignored (sign in again)")
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, data: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        write_atomic(self.path, text.encode(), 0o600, None)

    def load(self, issuer: str) -> Session | None:
        return _session(self._read().get("sessions", {}).get(issuer))

    def save(self, session: Session) -> None:
        global _warned
        if self.warn and not _warned:
            _warned = True
            OUT.warn(
                f"no system keyring is available; the sign-in is kept in {self.path} "
                "(mode 0600, readable only by you)"
            )
        data = self._read()
        data.setdefault("sessions", {})[session.issuer] = asdict(session)
        self._write(data)

    def delete(self, issuer: str) -> bool:
        data = self._read()
        if issuer not in data.get("sessions", {}):
            return False
        del data["sessions"][issuer]
        self._write(data)
        return True

    def issuers(self) -> list[str]:
        return sorted(self._read().get("sessions", {}))


class KeyringStore:
    kind = "keyring"

    def __init__(self, backend: Any) -> None:
        self.backend = backend
        self.location = f"the system keyring ({type(backend).__name__})"

    def load(self, issuer: str) -> Session | None:
        raw = self.backend.get_password(KEYRING_SERVICE, issuer)
        if not raw:
            return None
        try:
            return _session(json.loads(raw))
        except ValueError:
            return None

    def save(self, session: Session) -> None:
        self.backend.set_password(KEYRING_SERVICE, session.issuer, json.dumps(asdict(session)))
        self._index(add=session.issuer)

    def delete(self, issuer: str) -> bool:
        if self.backend.get_password(KEYRING_SERVICE, issuer) is None:
            return False
        self.backend.delete_password(KEYRING_SERVICE, issuer)
        self._index(remove=issuer)
        return True

    def issuers(self) -> list[str]:
        raw = self.backend.get_password(KEYRING_SERVICE, _INDEX_USER) or "[]"
        try:
            return sorted(str(i) for i in json.loads(raw))
        except ValueError:
            return []

    def _index(self, add: str = "", remove: str = "") -> None:
        # Keyrings cannot list items portably; a small index item names the issuers we hold.
        items = set(self.issuers())
        items.add(add) if add else items.discard(remove)
        self.backend.set_password(KEYRING_SERVICE, _INDEX_USER, json.dumps(sorted(items)))


def _keyring_backend(required: bool) -> Any | None:
    try:
        import keyring
        from keyring.errors import KeyringError

        backend = keyring.get_keyring()
        priority = float(getattr(backend, "priority", 0))
    except Exception as exc:  # a broken keyring install must not stop sign-in
        if required:
            raise UsageError(f"the system keyring is not usable: {exc}", "") from exc
        return None
    if required:
        return backend
    if priority < 1:
        return None
    try:  # D-Bus keyrings can exist yet be locked or absent in a headless session
        backend.get_password(KEYRING_SERVICE, _INDEX_USER)
    except (KeyringError, Exception):
        return None
    return backend


def open_store(paths: Paths) -> Store:
    choice = paths.env.get("DOT_SETUP_CREDENTIAL_STORE", "auto")
    if choice not in ("auto", "file", "keyring"):
        raise UsageError(
            f"DOT_SETUP_CREDENTIAL_STORE={choice!r} is not auto, file or keyring",
            "unset it, or set it to file or keyring",
        )
    if choice != "file":
        backend = _keyring_backend(required=choice == "keyring")
        if backend is not None:
            return KeyringStore(backend)
    return FileStore(paths.state_dir / "credentials.json", warn=choice == "auto")


class ClientCache:
    """Registered client ids per issuer (public clients: nothing secret in here)."""

    def __init__(self, paths: Paths) -> None:
        self.path = paths.state_dir / "oauth-clients.json"

    def _read(self) -> dict[str, Any]:
        from dot_setup.fs.fsio import read_json

        data = read_json(self.path)
        return data if isinstance(data, dict) else {}

    def get(self, issuer: str) -> str:
        return str(self._read().get(issuer, ""))

    def put(self, issuer: str, client_id: str) -> None:
        data = self._read()
        data[issuer] = client_id
        self.path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        write_atomic(self.path, text.encode(), 0o600, None)

    def drop(self, issuer: str) -> None:
        self.put(issuer, "") if self.get(issuer) else None


def env_flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0", "false")
