"""What every route of one region's server shares: settings, database, clock, rate limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dot_setup.server.clock import Clock
from dot_setup.server.config import RegionConfig
from dot_setup.server.db import Database
from dot_setup.server.security import RateLimiter


@dataclass
class ServerState:
    config: RegionConfig
    db: Database
    clock: Clock
    limiter: RateLimiter = field(init=False)
    # Client ID metadata documents fetched recently: url -> (fetched_at, document).
    cimd_cache: dict[str, tuple[float, dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.config.limits.window, self.clock)

    def now(self) -> float:
        return self.clock.now()

    @property
    def region(self) -> str:
        return self.config.region
