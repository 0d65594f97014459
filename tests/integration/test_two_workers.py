"""Two workers in one group on the real stack: the partitions are shared, and a copy of a
mention that arrives in a partition the other worker holds is still marked a duplicate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from common.dedupe import partition_key, partition_of
from common.topics import ensure_topics
from devkit.events import example_mention
from devkit.waiting import wait_for
from devkit.worker import Worker, group_assignment
from schemas.codec import encode

PARTITIONS = 4


@pytest.fixture
def es(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=60)
    yield client
    client.close()


def stored(es: Elasticsearch, alias: str, ids: list[str]) -> dict[str, dict[str, Any]]:
    if not es.indices.exists_alias(name=alias):
        return {}
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, query={"ids": {"values": ids}}, size=len(ids))["hits"]["hits"]
    return {h["_id"]: h["_source"] for h in hits}


def test_a_copy_in_the_other_workers_partition_is_still_marked(
    kafka_bootstrap: str, es_url: str, es: Elasticsearch, unique_prefix: str, tmp_path: Path
) -> None:
    ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    raw = f"{unique_prefix}mentions.raw.v1"
    workers = [Worker(kafka_bootstrap, es_url, unique_prefix, tmp_path / f"w{i}") for i in (0, 1)]
    for worker in workers:
        Path(worker.log_path.parent).mkdir()
        worker.start()
    try:
        held = wait_for(
            lambda: group_assignment(kafka_bootstrap, f"{unique_prefix}earshot-pipelines", raw),
            lambda h: len(h) == 2 and all(len(p) == PARTITIONS // 2 for p in h.values()),
            240,
            lambda: f"two workers sharing {raw}\n{workers[0].log_tail()}\n{workers[1].log_tail()}",
        )
        original = example_mention()
        home = partition_of(partition_key(original), PARTITIONS)
        owner = next(name for name, parts in held.items() if home in parts)
        elsewhere = sorted(p for name, parts in held.items() if name != owner for p in parts)
        # A producer that keys by mention id (not by dedupe key) puts copies anywhere: here,
        # explicitly, in each partition of the worker that does not hold the original's.
        copies = [
            original.model_copy(update={"mention_id": f"{i:032x}"}) for i in range(len(elsewhere))
        ]
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        producer.send(raw, key=partition_key(original), value=encode(original)).get(timeout=30)
        alias = f"{unique_prefix}earshot-mentions"
        wait_for(
            lambda: stored(es, alias, [original.mention_id]),
            bool,
            240,
            lambda: f"the original indexed\n{workers[0].log_tail()}",
        )
        for copy, partition in zip(copies, elsewhere, strict=True):
            producer.send(
                raw, key=copy.mention_id.encode(), value=encode(copy), partition=partition
            )
        producer.flush()
        producer.close()
        docs = wait_for(
            lambda: stored(es, alias, [c.mention_id for c in copies]),
            lambda found: len(found) == len(copies),
            240,
            "the copies indexed",
        )
    finally:
        for worker in workers:
            worker.stop()
    assert {doc["duplicate_of"] for doc in docs.values()} == {original.mention_id}
