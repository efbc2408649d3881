"""A batch request's wall-clock budget, checked between units of work.

Batch work (allocation, sufficiency) must not hold a worker for unbounded time. The adapter
starts the clock when it takes the request; the work checks it between units (a referral
ranked, a sufficiency unit evaluated) and gives solver stages what remains. Past the limit
with no answer to give, `check` raises `TimeLimitExceededError` (503), naming the limit.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from matcher.vocabulary.errors import TimeLimitExceededError


@dataclass(frozen=True, slots=True)
class Deadline:
    """`limit_s` seconds of wall-clock time from `started` (a `time.monotonic()` reading)."""

    limit_s: float
    started: float
    work: str  # what is bounded, for messages: "allocation", "sufficiency"

    @classmethod
    def start(cls, limit_s: float, work: str, started: float | None = None) -> Deadline:
        """A deadline `limit_s` from `started` (default: now)."""
        return cls(limit_s, time.monotonic() if started is None else started, work)

    def elapsed_s(self) -> float:
        """Seconds since the clock started."""
        return time.monotonic() - self.started

    def remaining_s(self) -> float:
        """Seconds left (negative once past the limit)."""
        return self.limit_s - self.elapsed_s()

    def check(self, stage: str, progress: str = "") -> None:
        """Raise `TimeLimitExceededError` if the limit has passed.

        `stage` names the unit of work that was running ("ranking bids"), `progress` how far
        it got ("120 of 500 referrals ranked"); both go in the message.
        """
        if self.remaining_s() > 0:
            return
        done = f" ({progress})" if progress else ""
        raise TimeLimitExceededError(
            f"{self.work} did not finish within its time limit of {self.limit_s:g} s: "
            f"stopped while {stage}{done}",
            limit_s=self.limit_s,
            stage=stage,
        )
