"""An erasure survives a replay: re-sending the same mentions through the real worker does not index them.

The real pipelines worker (enrichment, its tombstone check, indexing) runs as a
subprocess on the local stack; the erasure runs in between two deliveries of
the same raw mentions, as a replay from Kafka would deliver them again.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaProducer
from pydantic import SecretStr

from common.dedupe import partition_key
from common.elastic import alias
from common.privacy import Pseudonymiser
from common.topics import declarations, ensure_topics
from devkit.events import example_mention
from devkit.waiting import es_count, wait_for
from devkit.worker import Worker
from schemas.codec import encode
from schemas.models import Author, Mention
from services.privacy.audit import AuditLog
from services.privacy.erasure import Eraser, ErasureRequest
from services.privacy.tombstones import TombstoneWriter

SECRET = "replay-test-pseudonym-secret"
P = Pseudonymiser(SecretStr(SECRET))
ALICE = Author(id=P.pseudonym("mastodon", "1001"), scheme="hmac-sha256")
BOB = Author(id=P.pseudonym("mastodon", "2002"), scheme="hmac-sha256")
PARTITIONS = declarations()["mentions.raw.v1"].partitions


def by(n: int, author: Author) -> Mention:
    return example_mention().model_copy(
        update={"mention_id": f"{n:032x}", "author": author, "text": f"Pothole report number {n}"}
    )


def produce(bootstrap: str, topic: str, mentions: list[Mention]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for m in mentions:
        producer.send(topic, key=partition_key(m), value=encode(m))
    producer.flush()
    producer.close()


def produce_markers(bootstrap: str, topic: str, partitions: int, first_n: int) -> int:
    """New mentions by Bob until every partition has one after the replay; returns how many.

    Order holds within a partition only, so a marker indexed from each partition
    shows that everything sent before it there has been through the worker.
    """
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    seen: set[int] = set()
    n = first_n
    while len(seen) < partitions:
        m = by(n, BOB)
        meta = producer.send(topic, key=partition_key(m), value=encode(m)).get(timeout=30)
        seen.add(meta.partition)
        n += 1
    producer.close()
    return n - first_n


@pytest.fixture
def es(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=60)
    yield client
    client.close()


def test_erased_author_stays_erased_when_kafka_is_replayed(
    kafka_bootstrap: str, es_url: str, es: Elasticsearch, unique_prefix: str, tmp_path: Path
) -> None:
    prefix = f"{unique_prefix}earshot"
    mentions_alias = alias(prefix, "mentions")
    topic = f"{unique_prefix}mentions.raw.v1"
    ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    first = [by(1, ALICE), by(2, ALICE), by(3, ALICE), by(4, BOB), by(5, BOB)]
    produce(kafka_bootstrap, topic, first)
    worker = Worker(
        kafka_bootstrap,
        es_url,
        unique_prefix,
        tmp_path,
        EARSHOT_PSEUDONYM_SECRET=SECRET,
        EARSHOT_TOMBSTONE_REFRESH_SECONDS="0.5",
    )
    worker.start()
    try:
        wait_for(
            lambda: es_count(es, mentions_alias),
            lambda n: n == 5,
            300,
            "the first delivery indexed",
        )

        writer = TombstoneWriter(kafka_bootstrap, unique_prefix)
        try:
            report = Eraser(es, prefix, P, writer, AuditLog(es, prefix), settle_s=2.0).erase(
                ErasureRequest("mastodon", "1001")
            )
        finally:
            writer.close()
        assert report.mentions_deleted + report.late_deleted == 3
        assert es_count(es, mentions_alias) == 2

        # The replay: the same five mentions again, then markers behind them in every partition.
        produce(kafka_bootstrap, topic, first)
        markers = produce_markers(kafka_bootstrap, topic, PARTITIONS, first_n=100)
        wait_for(
            lambda: es_count(es, mentions_alias),
            lambda n: n >= 2 + markers,
            120,
            "the markers indexed",
        )
        es.indices.refresh(index=mentions_alias)
        found = es.search(index=mentions_alias, query={"term": {"author.id": ALICE.id}})
        assert found["hits"]["total"]["value"] == 0, "a replay brought an erased author back"
        assert es_count(es, mentions_alias) == 2 + markers
    finally:
        worker.stop()
        es.indices.delete(index=f"{prefix}-*", ignore_unavailable=True)
    assert "erased authors" in worker.log_path.read_text(errors="replace"), worker.log_tail()
