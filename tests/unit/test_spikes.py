"""Spike maths: the Poisson tail, the three thresholds, what is counted, the alert per window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from scipy.stats import poisson

from common.routing.config import Department, DigestSchedule, SpikeSettings
from devkit.events import example_enriched
from pipelines.steps.spikes import (
    HOUR,
    SpikeTick,
    assess,
    merge_ticks,
    poisson_tail,
    spike_alert,
    ticks,
    window_of,
)
from schemas.codec import decode, encode
from schemas.models import Alert, Topic

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
SETTINGS = SpikeSettings()
WASTE = Department(
    id="haringey-waste",
    name="Waste",
    council="E09000014",
    addresses=("waste@haringey.example",),
    owns_topics=("waste",),
    digest=DigestSchedule(every="hourly"),
    kibana_link="{kibana}/?q={query}",
)


@pytest.mark.parametrize(
    ("k", "mean"),
    [(0, 1.0), (1, 1.0), (6, 1.0), (14, 1.8), (30, 2.0), (3, 10.0), (200, 150.0), (60, 0.5)],
)
def test_poisson_tail_matches_scipy(k: int, mean: float) -> None:
    expected = poisson.sf(k - 1, mean)
    assert poisson_tail(k, mean) == pytest.approx(expected, rel=1e-9, abs=1e-300)


def test_poisson_tail_edges() -> None:
    assert poisson_tail(0, 0.0) == 1.0
    assert poisson_tail(3, 0.0) == 0.0
    assert 0 < poisson_tail(40, 1.0) < 1e-40  # tiny tails keep their precision


def test_a_quiet_ward_needs_a_handful_before_it_is_a_spike() -> None:
    quiet = [0] * 168
    assert not assess(5, quiet, SETTINGS).spike  # P(X>=5 | 1.0) = 0.0037 > 0.001
    verdict = assess(6, quiet, SETTINGS)
    assert verdict.spike and verdict.baseline == 0 and verdict.expected == SETTINGS.min_baseline
    assert verdict.p_value == pytest.approx(poisson.sf(5, 1.0))


def test_a_busy_ward_is_judged_against_its_own_baseline() -> None:
    busy = [4] * 168  # four an hour, every hour
    assert not assess(10, busy, SETTINGS).spike  # ratio 2.5 < 3
    assert not assess(11, busy, SETTINGS).spike  # p = 0.0028 > 0.001
    assert assess(12, busy, SETTINGS).spike
    assert assess(12, busy, SETTINGS).baseline == 4.0


def test_each_threshold_is_configurable() -> None:
    history = [1] * 24
    assert assess(6, history, SETTINGS).spike
    assert not assess(6, history, SETTINGS.model_copy(update={"min_count": 7})).spike
    assert not assess(6, history, SETTINGS.model_copy(update={"min_ratio": 6.5})).spike
    assert not assess(6, history, SETTINGS.model_copy(update={"max_p_value": 1e-5})).spike
    assert not assess(6, history, SETTINGS.model_copy(update={"min_baseline": 2.5})).spike


def test_no_history_uses_the_floor() -> None:
    assert assess(6, [], SETTINGS).expected == SETTINGS.min_baseline


def test_ticks_one_per_topic_for_a_well_located_fresh_original() -> None:
    m = example_enriched().model_copy(
        update={
            "created_at": NOW - timedelta(minutes=10),
            "topics": (Topic(id="highways"), Topic(id="waste")),
        }
    )
    found = ticks(m, SETTINGS, NOW)
    assert [(t.key, t.at) for t in found] == [
        ("E09000014|E05013602|highways", (NOW - timedelta(minutes=10)).timestamp()),
        ("E09000014|E05013602|waste", (NOW - timedelta(minutes=10)).timestamp()),
    ]
    assert SpikeTick.decode(found[0].encode()) == found[0]


def test_what_is_not_counted() -> None:
    fresh = example_enriched().model_copy(update={"created_at": NOW})
    assert ticks(fresh.model_copy(update={"duplicate_of": "f" * 32}), SETTINGS, NOW) == []
    weak = fresh.locality.model_copy(update={"confidence": 0.4})
    assert ticks(fresh.model_copy(update={"locality": weak}), SETTINGS, NOW) == []
    no_ward = fresh.locality.model_copy(update={"ward": None})
    assert ticks(fresh.model_copy(update={"locality": no_ward}), SETTINGS, NOW) == []
    late = fresh.model_copy(update={"created_at": NOW - timedelta(hours=3, seconds=1)})
    assert ticks(late, SETTINGS, NOW) == []
    assert ticks(fresh, SETTINGS.model_copy(update={"enabled": False}), NOW) == []
    future = fresh.model_copy(update={"created_at": NOW + timedelta(hours=2)})
    assert [t.at for t in ticks(future, SETTINGS, NOW)] == [NOW.timestamp()]  # clock skew clamped


def test_window_of_is_the_utc_hour() -> None:
    start, end = window_of(NOW.timestamp())
    assert (start, end) == (
        datetime(2026, 11, 20, 9, tzinfo=UTC),
        datetime(2026, 11, 20, 10, tzinfo=UTC),
    )


def test_one_alert_id_per_ward_topic_and_hour() -> None:
    tick = SpikeTick(
        council="E09000014",
        ward_code="E05013602",
        ward_name="Tottenham Hale",
        topic="waste",
        at=NOW.timestamp(),
    )
    verdict = assess(14, [2] * 168, SETTINGS)
    alert = spike_alert(tick, verdict, WASTE, SETTINGS, NOW)
    assert decode(encode(alert), Alert) == alert
    assert (alert.kind, alert.rule_id, alert.department, alert.severity) == (
        "spike",
        "spike.waste",
        "haringey-waste",
        "high",
    )
    assert alert.spike is not None and (alert.spike.count, alert.spike.baseline) == (14, 2.0)
    assert "14 mentions about waste in Tottenham Hale" in alert.reasons[0].detail
    later_same_hour = tick.model_copy(update={"at": NOW.timestamp() + 1200})
    assert (
        spike_alert(later_same_hour, assess(20, [2] * 168, SETTINGS), WASTE, SETTINGS, NOW).alert_id
        == alert.alert_id
    )
    next_hour = tick.model_copy(update={"at": NOW.timestamp() + 3600})
    assert spike_alert(next_hour, verdict, WASTE, SETTINGS, NOW).alert_id != alert.alert_id
    other_ward = tick.model_copy(update={"ward_code": "E05013603"})
    assert spike_alert(other_ward, verdict, WASTE, SETTINGS, NOW).alert_id != alert.alert_id


def test_a_batch_sends_one_tick_per_ward_topic_and_hour_counting_the_rest() -> None:
    hour = 1_800_000_000.0 - 1_800_000_000.0 % HOUR
    a = SpikeTick(council="E09000014", ward_code="E05013602", topic="waste", at=hour + 10)
    b = SpikeTick(council="E09000014", ward_code="E05013602", topic="parks", at=hour + 20)
    later = a.model_copy(update={"at": hour + HOUR + 5})
    merged = merge_ticks([a, b, a.model_copy(update={"at": hour + 900}), later, a])
    assert [(t.topic, t.at, t.count) for t in merged] == [
        ("waste", hour + 10, 3),
        ("parks", hour + 20, 1),
        ("waste", hour + HOUR + 5, 1),
    ]
    assert SpikeTick.decode(merged[0].encode()).count == 3
