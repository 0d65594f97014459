"""Reconnect storms are folded into one first line and one summary per outage."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from common.logsummary import Outage, OutageFolder, is_connection_error
from services.ingest.runtime.health import Metrics


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


@pytest.fixture
def wired() -> Iterator[tuple[OutageFolder, Collect, Clock, logging.Logger]]:
    """A folder on a private 'kafkatest' logger, root output collected."""
    clock = Clock()
    collect = Collect()
    root = logging.getLogger()
    root.addHandler(collect)
    library = logging.getLogger("kafkatest")
    folder = OutageFolder(
        "kafka",
        quiet_s=15,
        report_every_s=60,
        clock=clock,
        sink=logging.getLogger("summarytest"),
    )
    library.addHandler(folder)
    library.propagate = False
    library.setLevel(logging.INFO)
    try:
        yield folder, collect, clock, library
    finally:
        root.removeHandler(collect)
        library.removeHandler(folder)
        library.propagate = True


def test_a_ten_second_storm_writes_its_first_line_and_one_summary(
    wired: tuple[OutageFolder, Collect, Clock, logging.Logger],
) -> None:
    folder, collect, clock, _ = wired
    child = logging.getLogger("kafkatest.conn")
    for i in range(2700):  # ~10 s of reconnect attempts every few milliseconds
        clock.now += 10 / 2700
        child.error(
            "<BrokerConnection node_id=1 host=127.0.0.1:19092>: connect attempt %d "
            "returned error 111. Disconnecting.",
            i,
        )
        folder.tick()
    assert len(collect.lines) == 1
    assert "repeats folded" in collect.lines[0]
    clock.now += 14
    folder.tick()
    assert len(collect.lines) == 1  # not quiet long enough yet
    clock.now += 2
    folder.tick()
    assert len(collect.lines) == 2
    summary = collect.lines[1]
    assert summary.startswith("summarytest: kafka outage: connection errors stopped; 2700 errors")
    assert "over 10.0s" in summary and "2699 lines folded" in summary
    assert "kafkatest.conn" in summary


def test_other_records_of_the_library_pass_unchanged_even_during_an_outage(
    wired: tuple[OutageFolder, Collect, Clock, logging.Logger],
) -> None:
    _, collect, _, library = wired
    library.warning("Connection refused by 127.0.0.1:19092")
    library.warning("Connection refused by 127.0.0.1:19092")
    library.info("Joined group earshot-notifier with generation 7")
    library.error("Commit of offsets rejected: group rebalanced, partitions reassigned")
    assert collect.lines[1:] == [
        "kafkatest: Joined group earshot-notifier with generation 7",
        "kafkatest: Commit of offsets rejected: group rebalanced, partitions reassigned",
    ]


def test_a_long_outage_reports_progress_and_a_second_outage_starts_afresh(
    wired: tuple[OutageFolder, Collect, Clock, logging.Logger],
) -> None:
    folder, collect, clock, library = wired
    for _ in range(150):  # 150 s, an error a second
        clock.now += 1
        library.warning("Unable to connect to node 1: [Errno 111] Connection refused")
        folder.tick()
    still = [line for line in collect.lines if "still going" in line]
    assert len(still) == 2  # at 60 s and 120 s
    clock.now += 20
    folder.tick()
    library.warning("Unable to connect to node 1: [Errno 111] Connection refused")
    assert folder.outages == 2
    assert len(collect.lines) == 1 + 2 + 1 + 1


def test_what_counts_as_a_connection_error() -> None:
    def record(level: int, msg: str, exc: BaseException | None = None) -> logging.LogRecord:
        exc_info = (type(exc), exc, None) if exc else None
        return logging.LogRecord("kafka.conn", level, __file__, 1, msg, (), exc_info)

    assert is_connection_error(record(logging.WARNING, "Node 1 connection failed -- refreshing"))
    assert is_connection_error(record(logging.ERROR, "Heartbeat failed", OSError("Errno 111")))
    assert is_connection_error(record(logging.ERROR, "Unable to update metadata from [1]"))
    assert is_connection_error(
        record(logging.ERROR, "Unable connect to node with id 1: [Errno 111]")
    )
    assert not is_connection_error(record(logging.INFO, "Connection complete."))
    assert is_connection_error(record(logging.INFO, "Connection complete."), any_level=True)
    assert not is_connection_error(record(logging.ERROR, "Invalid message: bad magic byte"))
    slow = "Task <Task> ran for 0.363s (>0.100s threshold). Other pollers will time out."
    assert not is_connection_error(record(logging.WARNING, slow))
    assert not is_connection_error(record(logging.WARNING, "No partition metadata for topic t"))


def test_reconnect_chatter_below_warning_folds_only_during_an_outage(
    wired: tuple[OutageFolder, Collect, Clock, logging.Logger],
) -> None:
    _, collect, _, library = wired
    library.info("Initializing connection for node_id 1 at 127.0.0.1:19092")
    library.error("Failed fetch messages from 1: KafkaConnectionError: Connection closed")
    for _ in range(20):
        library.info("Initializing connection for node_id 1 at 127.0.0.1:19092")
    assert len(collect.lines) == 2  # the INFO line before the outage, and its first error


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
