"""Settings of one region's server: where it listens, what it calls itself, its lifetimes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dot_setup.errors import UsageError

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR

REGIONS = ("us", "eu")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
MCP_PATH = "/ai/mcp"
SSE_PATH = "/ai/sse"
MESSAGES_PATH = "/ai/messages/"
MCP_SCOPE = "mcp"


@dataclass(frozen=True)
class Lifetimes:
    """The connect guide's rules, in seconds."""

    access_token: int = HOUR
    refresh_grant: int = 365 * DAY  # refresh tokens rotate, the sign-in lasts a year
    mcp_token: int = 365 * DAY
    consent_page: int = 10 * MINUTE
    auth_code: int = 5 * MINUTE
    device_code: int = 10 * MINUTE
    device_interval: int = 5
    web_session: int = 12 * HOUR  # a browser sign-in ends 12 h after it began at the latest
    # ... and after 30 min without a request. The cookie also reaches every other port on this
    # host (cookies ignore ports: an OAuth client's loopback callback receives it), so a copy
    # that leaked there is worth little for long.
    web_session_idle: int = 30 * MINUTE


@dataclass(frozen=True)
class Limits:
    """Rate limits (requests per window, per key) and body sizes."""

    window: float = 60.0
    login: int = 10
    token: int = 120
    register: int = 30
    mcp_token_create: int = 10
    form_body: int = 64 * 1024
    mcp_body: int = 1024 * 1024
    request: float = 15.0  # seconds for a request to arrive whole, from its first byte


@dataclass(frozen=True)
class RegionConfig:
    """One region's server. `origin` is both the OAuth issuer and the protected resource."""

    region: str
    host: str
    port: int
    db_url: str
    data_dir: Path
    public_url: str = ""
    auth: bool = True
    lifetimes: Lifetimes = field(default_factory=Lifetimes)
    limits: Limits = field(default_factory=Limits)
    # Client ID metadata documents must be https; loopback http is allowed only for local tests.
    allow_http_cimd: bool = False

    @property
    def origin(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def issuer(self) -> str:
        return self.origin

    @property
    def resource(self) -> str:
        # The origin, not /ai/mcp: one token then serves /ai/mcp and the legacy /ai/sse alike,
        # and a token of the other region (another origin) is refused.
        return self.origin

    @property
    def mcp_url(self) -> str:
        return self.origin + MCP_PATH

    @property
    def sse_url(self) -> str:
        return self.origin + SSE_PATH

    @property
    def loopback(self) -> bool:
        return self.host in LOOPBACK_HOSTS

    def allowed_hosts(self) -> list[str]:
        """Host header values accepted (DNS-rebinding protection)."""
        hosts = {urlsplit(self.origin).netloc}
        if self.loopback:
            hosts |= {f"127.0.0.1:{self.port}", f"localhost:{self.port}", f"[::1]:{self.port}"}
        return sorted(hosts)

    def allowed_origins(self) -> list[str]:
        return sorted({f"{urlsplit(self.origin).scheme}://{h}" for h in self.allowed_hosts()})


def normalise_db_url(url: str) -> str:
    """Accept plain `sqlite:///x.db` / `postgresql://...` and pick the async driver."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise UsageError(
            f"--db {url!r} is not a database URL",
            "use sqlite:///PATH or postgresql://USER@HOST:PORT/DB",
        )
    base = scheme.split("+", 1)[0]
    if base == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    if base in ("postgresql", "postgres"):
        return f"postgresql+asyncpg://{rest}"
    raise UsageError(
        f"--db {url!r}: unsupported database {scheme!r}",
        "use sqlite:///PATH or postgresql://USER@HOST:PORT/DB",
    )
