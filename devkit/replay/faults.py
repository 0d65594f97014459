"""Fault plans for replay servers: rate limits, 5xx bursts and malformed bodies, by request count.

Counting requests (not drawing random numbers) keeps a run deterministic: the
same plan and the same request sequence give the same faults.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

Fault = Literal["ok", "rate_limited", "unavailable", "malformed"]


@dataclass
class FaultPlan:
    """What goes wrong, per request path (each path counts its own requests, 1-based).

    rate_limit_first: the first N requests of a path answer 429 with Retry-After.
    burst_every / burst_len: request k*burst_every and the next burst_len-1 answer 503.
    malformed_every: every Nth request that would succeed gets a broken body instead.
    """

    rate_limit_first: int = 0
    retry_after_s: float = 1.0
    burst_every: int = 0
    burst_len: int = 2
    malformed_every: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    served: Counter[Fault] = field(default_factory=Counter)

    def next(self, path: str) -> Fault:
        """Count one request to ``path`` and say how to answer it."""
        self.counts[path] += 1
        n = self.counts[path]
        fault: Fault = "ok"
        if n <= self.rate_limit_first:
            fault = "rate_limited"
        elif (
            self.burst_every
            and (n - self.rate_limit_first) % self.burst_every < self.burst_len
            and (n - self.rate_limit_first) >= self.burst_every
        ):
            fault = "unavailable"
        elif self.malformed_every and n % self.malformed_every == 0:
            fault = "malformed"
        self.served[fault] += 1
        return fault
