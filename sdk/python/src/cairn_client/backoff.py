"""Capped exponential backoff with jitter between retry attempts."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """50 ms doubling up to 1 s, as in every Cairn SDK."""

    base: float = 0.05
    cap: float = 1.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number `attempt` (1-based); full jitter in the upper
        half keeps clients that failed together from retrying in lockstep."""
        ceiling = min(self.cap, self.base * (1 << max(0, attempt - 1)))
        return ceiling / 2 + random.random() * ceiling / 2
