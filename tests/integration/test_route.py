"""The route and spike agents in a real Faust worker on the real broker.

The worker runs in a subprocess with only the routing agents registered
(enrichment needs the sentiment model; the e2e test runs the whole app), fed
with EnrichedMentions produced straight to ``mentions.enriched.v1``.
"""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer

from common.topics import ensure_topics
from devkit.events import example_enriched
from devkit.worker import ROOT, Worker
from schemas.codec import decode, encode
from schemas.ids import alert_id
from schemas.models import Alert, CodedArea, DeadLetter, EnrichedMention, Span, Topic


@pytest.fixture
def routing(
    kafka_bootstrap: str, es_url: str, unique_prefix: str, tmp_path: Path
) -> Iterator[tuple[Worker, Path]]:
    ensure_topics(
        kafka_bootstrap,
        prefix=unique_prefix,
        names=["mentions.enriched.v1", "mentions.enriched.v1.dlq", "alerts.v1", "alerts.v1.dlq"],
    )
    rules = tmp_path / "departments.yaml"
    shutil.copy(ROOT / "deploy" / "config" / "departments.yaml", rules)
    worker = Worker(
        kafka_bootstrap,
        es_url,
        unique_prefix,
        tmp_path,
        app="tests.integration.route_app",
        EARSHOT_DEPARTMENTS_FILE=str(rules),
        EARSHOT_RULES_POLL_SECONDS="0.5",
        EARSHOT_ROUTE_BATCH_SECONDS="0.2",
    )
    worker.start()
    yield worker, rules
    worker.stop()


def produce(
    bootstrap: str, prefix: str, mentions: list[EnrichedMention], raw: list[bytes] = ()
) -> None:  # type: ignore[assignment]
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for m in mentions:
        producer.send(f"{prefix}mentions.enriched.v1", key=m.mention_id.encode(), value=encode(m))
    for value in raw:
        producer.send(f"{prefix}mentions.enriched.v1", key=b"poison", value=value)
    producer.flush()
    producer.close()


def variant(n: int, text: str, topic: str, word: str, **changes: object) -> EnrichedMention:
    start = text.index(word)
    return example_enriched().model_copy(
        update={
            "mention_id": f"{n:032x}",
            "text": text,
            "topics": (
                Topic(id=topic, spans=(Span(start=start, end=start + len(word), text=word),)),
            ),
            "created_at": datetime.now(UTC) - timedelta(minutes=1),
            **changes,
        }
    )


class Alerts:
    """Everything the worker produced to alerts.v1, read as it arrives."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self._consumer = KafkaConsumer(
            f"{prefix}alerts.v1",
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            group_id=f"{prefix}check",
        )
        self.seen: list[Alert] = []

    def until(self, done: object, worker: Worker, timeout: float = 120) -> list[Alert]:
        deadline = time.monotonic() + timeout
        while not done(self.seen):  # type: ignore[operator]
            if time.monotonic() > deadline or worker.process.poll() is not None:
                raise AssertionError(
                    f"alerts so far: {[(a.rule_id, a.department) for a in self.seen]}\n{worker.log_tail()}"
                )
            for records in self._consumer.poll(timeout_ms=500).values():
                self.seen += [decode(r.value, Alert) for r in records]
        return self.seen

    def close(self) -> None:
        self._consumer.close()


def test_mentions_are_routed_with_reasons_duplicates_share_ids_and_spikes_fire(
    routing: tuple[Worker, Path], kafka_bootstrap: str, unique_prefix: str
) -> None:
    worker, _ = routing
    pothole = example_enriched().model_copy(update={"created_at": datetime.now(UTC)})
    copy = pothole.model_copy(update={"mention_id": "c" * 32, "duplicate_of": pothole.mention_id})
    library = variant(
        1,
        "Does anyone know if the ESOL course at Wood Green library is still running?",
        "libraries",
        "ESOL",
        locality=pothole.locality.model_copy(
            update={"ward": CodedArea(code="E05013605", name="Woodside")}
        ),
    )
    unrelated = variant(
        2, "Lovely sunset over Alexandra Palace tonight", "parks", "Palace", topics=()
    )
    bins = [
        variant(10 + i, f"Bins not collected on Philip Lane for two weeks ({i})", "waste", "Bins")
        for i in range(8)
    ]
    produce(
        kafka_bootstrap,
        unique_prefix,
        [pothole, copy, library, unrelated, *bins],
        raw=[b"not json"],
    )

    alerts = Alerts(kafka_bootstrap, unique_prefix)
    try:
        seen = alerts.until(
            lambda s: (
                len([a for a in s if a.kind == "rule"]) >= 11 and any(a.kind == "spike" for a in s)
            ),
            worker,
        )
    finally:
        alerts.close()
    rule_alerts = [a for a in seen if a.kind == "rule"]
    by_mention = {a.mention.mention_id: a for a in rule_alerts if a.mention}
    highways = by_mention[pothole.mention_id]
    assert (highways.department, highways.rule_id) == (
        "haringey-highways",
        "haringey.highways.defects",
    )
    assert highways.alert_id == alert_id(pothole.mention_id, "haringey.highways.defects")
    assert highways.reasons[0].spans[0].text == "pothole"
    assert by_mention["c" * 32].alert_id == highways.alert_id  # the duplicate: same id, one email
    assert by_mention[library.mention_id].department == "haringey-libraries"
    assert unrelated.mention_id not in by_mention
    assert {by_mention[b.mention_id].rule_id for b in bins} == {"haringey.waste.missed-collections"}
    (spike,) = {a.alert_id: a for a in seen if a.kind == "spike"}.values()
    assert (spike.department, spike.rule_id) == ("haringey-waste", "spike.waste")
    assert (
        spike.spike is not None and spike.spike.ward_code == "E05013602" and spike.spike.count >= 6
    )

    dlq = KafkaConsumer(
        f"{unique_prefix}mentions.enriched.v1.dlq",
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=10000,
    )
    letters = [decode(r.value, DeadLetter) for r in dlq]
    dlq.close()
    assert [(d.stage, d.error_class) for d in letters] == [("route", "ContractError")]


def test_rules_reload_on_change_and_a_broken_file_keeps_the_previous_rules(
    routing: tuple[Worker, Path], kafka_bootstrap: str, unique_prefix: str
) -> None:
    worker, rules = routing
    alerts = Alerts(kafka_bootstrap, unique_prefix)
    try:
        first = variant(1, "Pothole on Philip Lane", "highways", "Pothole")
        produce(kafka_bootstrap, unique_prefix, [first])
        (a,) = alerts.until(lambda s: len(s) >= 1, worker)
        assert (a.rule_id, a.severity) == ("haringey.highways.defects", "medium")

        text = rules.read_text()
        rules.write_text(
            text.replace("id: haringey.highways.defects\n", "id: haringey.highways.defects-v2\n", 1)
        )
        time.sleep(3)  # the worker polls every 0.5 s
        produce(
            kafka_bootstrap,
            unique_prefix,
            [variant(2, "Pothole on Philip Lane again", "highways", "Pothole")],
        )
        assert (
            alerts.until(lambda s: len(s) >= 2, worker)[1].rule_id == "haringey.highways.defects-v2"
        )

        rules.write_text(
            text.replace("department: haringey-highways\n", "department: haringey-highway\n", 1)
        )
        time.sleep(3)
        produce(
            kafka_bootstrap,
            unique_prefix,
            [variant(3, "Pothole on Philip Lane, third time", "highways", "Pothole")],
        )
        assert (
            alerts.until(lambda s: len(s) >= 3, worker)[2].rule_id == "haringey.highways.defects-v2"
        )
        assert "not reloaded, keeping the previous version" in worker.log_path.read_text(
            errors="replace"
        )
        assert "unknown department 'haringey-highway'" in worker.log_path.read_text(
            errors="replace"
        )

        rules.write_text(text)  # fixed again: SIGHUP applies it at once
        worker.process.send_signal(signal.SIGHUP)
        time.sleep(2)
        produce(
            kafka_bootstrap,
            unique_prefix,
            [variant(4, "Pothole on Philip Lane, fourth", "highways", "Pothole")],
        )
        assert alerts.until(lambda s: len(s) >= 4, worker)[3].rule_id == "haringey.highways.defects"
        assert worker.process.poll() is None
    finally:
        alerts.close()
