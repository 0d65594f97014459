"""Spike detection per (ward, topic) per hour: the maths, Faust-free.

Method. Each hour's count of distinct mentions about a topic in a ward is
compared with that same (ward, topic)'s own recent past: the mean hourly count
over the previous ``baseline_hours`` (a week by default; hours with no mention
count as zero), floored at ``min_baseline`` so a quiet ward does not alarm on
two posts. Mentions arrive independently at a steady rate in a normal hour, so
the count is modelled as Poisson with that mean. The hour is a spike when all
three hold:

* ``count >= min_count`` (a handful of posts is never a spike),
* ``count >= min_ratio * expected`` (a big relative jump, not just busy-ness),
* ``P(X >= count | Poisson(expected)) <= max_p_value`` (unlikely by chance).

The count is checked as it grows, so a spike is raised during the hour it
happens, once per (council, ward, topic, hour): the alert id is a hash of that
window. Duplicated content (``duplicate_of``) and weakly located mentions are
not counted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from common.routing.config import Department, SpikeSettings
from schemas.ids import alert_id
from schemas.models import Alert, EnrichedMention, Reason, Spike

HOUR = 3600.0


class SpikeTick(BaseModel):
    """One mention about one topic in one ward: what the spike counter counts (internal topic)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    council: str
    ward_code: str
    ward_name: str | None = None
    topic: str = Field(pattern=r"^[a-z0-9_-]+$")
    at: float
    """Event time (the mention's created_at), seconds since the epoch."""
    count: int = Field(default=1, ge=1)
    """Mentions this tick stands for: the worker sends one tick per (key, hour) per batch."""

    @property
    def key(self) -> str:
        """Counter key; also the Kafka key, so one (ward, topic) is counted in one partition."""
        return f"{self.council}|{self.ward_code}|{self.topic}"

    def encode(self) -> bytes:
        """Compact JSON for the internal topic."""
        return self.model_dump_json().encode()

    @classmethod
    def decode(cls, raw: bytes) -> SpikeTick:
        """Parse and validate one tick (raises on a malformed one)."""
        return cls.model_validate(json.loads(raw))


def ticks(m: EnrichedMention, settings: SpikeSettings, now: datetime) -> list[SpikeTick]:
    """The ticks one mention contributes: one per topic, if it is countable at all.

    Event time is the mention's ``created_at``, clamped to ``now`` (clock skew); a
    mention older than ``max_lateness_hours`` is history, not news, and is not counted.
    """
    loc = m.locality
    at = min(m.created_at, now).timestamp()
    if (
        now.timestamp() - at > settings.max_lateness_hours * HOUR
        or not settings.enabled
        or m.duplicate_of
        or loc.council is None
        or loc.ward is None
        or loc.confidence < settings.min_locality_confidence
    ):
        return []
    return [
        SpikeTick(
            council=loc.council.code,
            ward_code=loc.ward.code,
            ward_name=loc.ward.name,
            topic=t.id,
            at=at,
        )
        for t in m.topics
    ]


def merge_ticks(ticks: Sequence[SpikeTick]) -> list[SpikeTick]:
    """One tick per (council, ward, topic, hour), counting the ticks it stands for, in first-seen order."""
    merged: dict[tuple[str, float], SpikeTick] = {}
    for tick in ticks:
        slot = (tick.key, tick.at - tick.at % HOUR)
        seen = merged.get(slot)
        merged[slot] = (
            tick if seen is None else seen.model_copy(update={"count": seen.count + tick.count})
        )
    return list(merged.values())


def poisson_tail(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean), summed upward so tiny tails keep their precision."""
    if k <= 0:
        return 1.0
    if mean <= 0:
        return 0.0
    total = 0.0
    i = k
    term = math.exp(-mean + k * math.log(mean) - math.lgamma(k + 1))
    while term > 0 and (term > total * 1e-17 or i < mean):
        total += term
        i += 1
        term *= mean / i
    return min(total, 1.0)


@dataclass(frozen=True)
class Verdict:
    """Why an hour is (or is not) a spike."""

    count: int
    baseline: float
    expected: float
    p_value: float
    spike: bool


def assess(count: int, history: Sequence[int], settings: SpikeSettings) -> Verdict:
    """Judge ``count`` against ``history`` (the previous hours' counts, any order)."""
    baseline = sum(history) / len(history) if history else 0.0
    expected = max(baseline, settings.min_baseline)
    p_value = poisson_tail(count, expected)
    spike = (
        count >= settings.min_count
        and count >= settings.min_ratio * expected
        and p_value <= settings.max_p_value
    )
    return Verdict(count, baseline, expected, p_value, spike)


def window_of(at: float) -> tuple[datetime, datetime]:
    """The UTC hour containing ``at``."""
    start = datetime.fromtimestamp(at - at % HOUR, UTC)
    return start, start + timedelta(hours=1)


def spike_alert(
    tick: SpikeTick,
    verdict: Verdict,
    department: Department,
    settings: SpikeSettings,
    now: datetime,
) -> Alert:
    """The one alert for ``tick``'s (council, ward, topic, hour)."""
    start, end = window_of(tick.at)
    window = f"spike|{tick.council}|{tick.ward_code}|{tick.topic}|{start:%Y-%m-%dT%H}"
    rule_id = f"spike.{tick.topic}"
    place = tick.ward_name or tick.ward_code
    detail = (
        f"{verdict.count} mentions about {tick.topic} in {place} in the hour from "
        f"{start:%H:%M} UTC vs a baseline of {verdict.baseline:.1f} per hour "
        f"(expected at least {verdict.expected:.1f}; chance p = {verdict.p_value:.1e})"
    )
    return Alert(
        alert_id=alert_id(window, rule_id),
        kind="spike",
        rule_id=rule_id,
        department=department.id,
        severity=settings.severity,
        delivery=settings.delivery,
        reasons=(Reason(clause="spike", detail=detail),),
        created_at=now,
        spike=Spike(
            ward_code=tick.ward_code,
            ward_name=tick.ward_name,
            topic=tick.topic,
            count=verdict.count,
            baseline=round(verdict.baseline, 3),
            window_start=start,
            window_end=end,
        ),
    )
