"""What every check reads: the paths, the service, each detected client's entry, shared facts.

Built once per run. Reading the clients' files happens here (once), so a check never parses a
file itself; network facts (a probe of the server, discovery) are computed by whichever check
asks first and shared with the others (`Context.once`), so an unreachable server costs one
timeout, not one per check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from dot_setup.doctor.wiring import Wiring, read_wiring
from dot_setup.engine.changes import current_entry
from dot_setup.engine.detect import detect, target_path
from dot_setup.errors import DotSetupError
from dot_setup.formats.base import MISSING
from dot_setup.paths import Paths
from dot_setup.profiles.schema import ClientProfile, Region, ServiceProfile, Target

T = TypeVar("T")


@dataclass
class ClientState:
    """One client as found: its file, whether it parses, and the Dot entry in it."""

    profile: ClientProfile
    evidence: tuple[str, ...] = ()
    target: Target | None = None
    path: Path | None = None
    error: DotSetupError | None = None  # the file does not parse / has the wrong shape
    exists: bool = False
    entries: dict[str, Any] = field(default_factory=dict)
    entry: dict[str, Any] | None = None
    wiring: Wiring | None = None


@dataclass
class Context:
    paths: Paths
    service: ServiceProfile
    name: str
    clients: list[ClientState]
    timeout: float
    server_url: str  # the endpoint checked when no client names one
    started: float = field(default_factory=time.monotonic)
    _facts: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pending: dict[str, threading.Event] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return dict(self.paths.env)

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """Compute a shared fact once; concurrent callers wait for the first one's answer."""
        with self._lock:
            if key in self._facts:
                return self._facts[key]  # type: ignore[no-any-return]
            event = self._pending.get(key)
            owner = event is None
            if owner:
                event = self._pending[key] = threading.Event()
        assert event is not None
        if not owner:
            event.wait()
            value = self._facts[key]
            if isinstance(value, _Raised):
                raise value.exc
            return value  # type: ignore[no-any-return]
        try:
            result: Any = compute()
        except BaseException as exc:
            result = _Raised(exc)
        with self._lock:
            self._facts[key] = result
        event.set()
        if isinstance(result, _Raised):
            raise result.exc
        return result  # type: ignore[no-any-return]

    def client(self, client_id: str) -> ClientState:
        return next(c for c in self.clients if c.profile.id == client_id)

    def endpoints(self) -> list[str]:
        """Every Dot endpoint in use (from the clients' entries), else the default one."""
        urls = [c.wiring.base_url for c in self.clients if c.wiring and c.wiring.url]
        unique = list(dict.fromkeys(urls))
        return unique or [self.server_url]

    def region_of(self, url: str) -> tuple[Region | None, bool]:
        """(region, is_legacy_sse) for a Dot URL, or (None, False) for one of no region."""
        clean = url.rstrip("/")
        for region in self.service.regions.values():
            if clean == region.url.rstrip("/"):
                return region, False
            if region.sse_url and clean == region.sse_url.rstrip("/"):
                return region, True
        return None, False


@dataclass(frozen=True)
class _Raised:
    exc: BaseException


def load_client(profile: ClientProfile, paths: Paths, name: str) -> ClientState:
    found = detect(profile, paths)
    state = ClientState(profile=profile, evidence=tuple(found.evidence))
    state.target = profile.target("user")
    if state.target is None:
        return state
    state.path = target_path(state.target, paths)
    if state.path is None:
        return state
    try:
        entries = current_entry(state.target, state.path)
    except DotSetupError as exc:
        state.error, state.exists = exc, True
        return state
    if entries is MISSING:
        return state
    state.exists = True
    state.entries = dict(entries)
    entry = state.entries.get(name)
    if isinstance(entry, dict):
        state.entry = entry
        state.wiring = read_wiring(entry, paths.env)
    return state


def select_clients(
    profiles: list[ClientProfile], paths: Paths, name: str, wanted: list[str]
) -> list[ClientState]:
    """The clients to check: the ones named, else every detected one (or one holding Dot)."""
    states = []
    for profile in profiles:
        if wanted and profile.id not in wanted:
            continue
        state = load_client(profile, paths, name)
        if wanted or state.evidence or state.entry is not None:
            states.append(state)
    return states
