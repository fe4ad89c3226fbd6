"""Time as the server sees it: injectable, so expiry rules are tested without waiting."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    def now(self) -> float:
        return time.time()


@dataclass
class FakeClock:
    """A clock the tests move by hand; starts at the real time so dates look sensible."""

    current: float = 0.0

    def __post_init__(self) -> None:
        if not self.current:
            self.current = time.time()

    def now(self) -> float:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += seconds
