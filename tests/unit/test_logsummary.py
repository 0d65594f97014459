"""Outage summaries and repeat filtering: a storm of failures is two lines, not thousands."""

from __future__ import annotations

import logging

import pytest

from common.logsummary import Outage, RepeatFilter
from services.ingest.runtime.health import Metrics


def test_an_outage_is_one_line_when_it_starts_and_one_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = [100.0]
    outage = Outage(logging.getLogger("t.outage"), "Kafka", clock=lambda: clock[0])
    with caplog.at_level(logging.WARNING, logger="t.outage"):
        assert outage.failed("connection refused", kind="failed writes")
        for _ in range(2_000):
            clock[0] += 0.005
            assert not outage.failed("connection refused", kind="failed writes")
        outage.failed("timed out", kind="timeouts")
        assert outage.active and outage.failures == 2_002
        assert outage.recovered()
        assert not outage.recovered()  # nothing to summarise twice
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("Kafka unavailable: connection refused")
    assert lines[1] == "Kafka back after 10.0s (2001 failed writes, 1 timeouts)"


def test_repeat_filter_lets_one_of_each_message_through_per_window() -> None:
    clock = [0.0]
    flt = RepeatFilter(("kafka",), window_s=60, clock=lambda: clock[0])

    def record(name: str, msg: str) -> logging.LogRecord:
        return logging.LogRecord(name, logging.WARNING, __file__, 1, msg, ("node-1",), None)

    passed = []
    for _ in range(500):  # a 10 s storm of reconnect warnings from two modules
        clock[0] += 0.02
        for name in ("kafka.conn", "kafka.client"):
            rec = record(name, "%s: connection refused")
            if flt.filter(rec):
                passed.append(rec)
    assert len(passed) == 2
    clock[0] += 61
    later = record("kafka.conn", "%s: connection refused")
    assert flt.filter(later) and "[499 more like this in the last 60s]" in later.getMessage()
    assert flt.filter(record("services.ingest", "%s: anything")) is True  # not watched


def test_health_is_ok_only_when_every_stream_succeeded_since_its_last_failure() -> None:
    metrics = Metrics()
    labels = ("rss", "n", "a")
    metrics.mark("rss/n/a", labels, "starting")
    metrics.mark("rss/n/b", labels, "ok")
    assert metrics.status() == "degraded" and metrics.healthy()
    metrics.mark("rss/n/a", labels, "ok")
    assert metrics.status() == "ok"
    metrics.mark("rss/n/b", labels, "retrying", "503")
    assert metrics.status() == "degraded"
    metrics.mark("rss/n/a", labels, "parked", "404")
    metrics.mark("rss/n/b", labels, "parked", "410")
    assert metrics.status() == "unhealthy" and not metrics.healthy()
