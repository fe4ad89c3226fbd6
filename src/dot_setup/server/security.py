"""Secrets: minting, digests, password hashing, rate limits.

Every token has a prefix that says what it is and, for MCP tokens, which region issued it
(`dot_mcp_us_...`), so that dot-setup and support can tell a token's kind and region without
ever seeing the rest of it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from functools import cache
from typing import Any

TOKEN_PREFIXES = {
    "access": "dot_oat_",
    "refresh": "dot_ort_",
    "pat": "dot_mcp_",
    "api": "dot_api_",
}


def mint(kind: str, region: str) -> str:
    """A new opaque token of this kind; 256 bits of randomness."""
    return f"{TOKEN_PREFIXES[kind]}{region}_{secrets.token_urlsafe(32)}"


def digest(secret: str) -> str:
    """How a token, code or session id is stored and looked up."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def display(token: str) -> str:
    """What may be shown of a token: its kind and region prefix and its last four characters."""
    for prefix in TOKEN_PREFIXES.values():
        if token.startswith(prefix):
            region = token[len(prefix) :].split("_", 1)[0]
            return f"{prefix}{region}_…{token[-4:]}"
    return f"{token[:4]}…{token[-4:]}" if len(token) >= 16 else "…"


def region_of(token: str) -> str | None:
    """The region named in a dot-setup token prefix, if any."""
    for prefix in TOKEN_PREFIXES.values():
        if token.startswith(prefix):
            region = token[len(prefix) :].split("_", 1)[0]
            return region or None
    return None


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def user_code() -> str:
    """RFC 8628 user code: 8 letters without vowels or look-alikes, shown as XXXX-XXXX."""
    alphabet = "BCDFGHJKLMNPQRSTVWXZ"
    raw = "".join(secrets.choice(alphabet) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


@cache
def _hasher() -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id with the library's current defaults


def hash_password(password: str) -> str:
    return str(_hasher().hash(password))


def check_password(stored: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH: list[str] = []


def burn_password_check(password: str) -> None:
    """Spend the time of a real check, so an unknown e-mail answers as slowly as a known one."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password(secrets.token_hex(8)))
    check_password(_DUMMY_HASH[0], password)


@dataclass
class RateLimiter:
    """A sliding-window limiter per key, in this process.

    Several processes serving one database each keep their own counts; the limits are a guard
    against brute force and runaway clients, not an accounting system.
    """

    window: float
    clock: Any  # a Clock; Any keeps this module free of server imports
    _hits: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, key: str, limit: int) -> float:
        """Record a request; 0 if allowed, else the seconds until the next one may pass."""
        now = self.clock.now()
        with self._lock:
            q = self._hits.setdefault(key, deque())
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= limit:
                return float(max(0.1, q[0] + self.window - now))
            q.append(now)
            if len(self._hits) > 50_000:  # bound memory under a flood of distinct keys
                self._hits = {k: v for k, v in self._hits.items() if v}
            return 0.0
