"""Raw mentions in → enriched mentions out → searchable documents, on the real stack.

The real pipelines worker runs as a subprocess; poison messages must end in the DLQ
with reasons, and a worker killed mid-stream must leave exactly N documents.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from common.topics import ensure_topics
from devkit import corpus
from devkit.waiting import es_count, read_topic, topic_records, wait_for
from devkit.worker import Worker
from schemas.codec import decode, encode
from schemas.models import DeadLetter, EnrichedMention, Mention

POISON = (
    b"{not json at all",
    json.dumps({"mention_id": "zz", "text": "missing most fields"}).encode(),
    b"\xff\xfe binary junk",
)


@pytest.fixture
def es(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=60)
    yield client
    client.close()


def _produce(
    bootstrap: str,
    topic: str,
    mentions: list[Mention],
    poison: tuple[bytes, ...] = (),
    per_second: float | None = None,
) -> None:
    """Send the mentions (then the poison); ``per_second`` paces them as a steady stream."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        for m in mentions:
            producer.send(topic, key=m.mention_id.encode(), value=encode(m))
            if per_second:
                time.sleep(1 / per_second)
        for i, raw in enumerate(poison):
            producer.send(topic, key=f"poison-{i}".encode(), value=raw)
        producer.flush()
    finally:
        producer.close()


def test_raw_mentions_become_searchable_and_poison_is_dead_lettered(
    kafka_bootstrap: str, es_url: str, es: Elasticsearch, unique_prefix: str, tmp_path: Path
) -> None:
    ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    mentions = corpus.mentions(60)
    _produce(kafka_bootstrap, f"{unique_prefix}mentions.raw.v1", mentions, POISON)
    alias = f"{unique_prefix}earshot-mentions"
    worker = Worker(kafka_bootstrap, es_url, unique_prefix, tmp_path)
    worker.start()
    try:
        wait_for(
            lambda: es_count(es, alias),
            lambda n: n >= len(mentions),
            300,
            lambda: f"{len(mentions)} docs\n{worker.log_tail()}",
        )
        letters = wait_for(
            lambda: read_topic(kafka_bootstrap, f"{unique_prefix}mentions.raw.v1.dlq", 2000),
            lambda r: len(r) >= len(POISON),
            60,
            "dead letters",
        )
        enriched = read_topic(kafka_bootstrap, f"{unique_prefix}mentions.enriched.v1", 3000)
    finally:
        worker.stop()

    assert es_count(es, alias) == len(mentions)
    dead = [decode(value, DeadLetter) for _, value, _ in letters]
    assert len({(d.original_partition, d.original_offset) for d in dead}) == len(POISON)
    assert all(d.stage == "enrich" and "field" in d.error_message for d in dead), dead
    assert {key for key, _, _ in letters} == {f"poison-{i}".encode() for i in range(len(POISON))}
    assert all(headers.get("earshot.error.class") == b"ContractError" for _, _, headers in letters)
    out = {decode(v, EnrichedMention).mention_id for _, v, _ in enriched}
    assert out == {m.mention_id for m in mentions}

    for i, post in enumerate(corpus.POSTS):
        hits = es.search(index=alias, query={"ids": {"values": [mentions[i].mention_id]}})["hits"][
            "hits"
        ]
        doc = hits[0]["_source"]
        topics = [t["id"] for t in doc["topics"]]
        if post.topic:
            assert post.topic in topics, (post.text, topics)
        council = (doc["locality"].get("council") or {}).get("code")
        assert council == post.council, (post.text, doc["locality"])
        assert doc["sentiment"] is not None and doc["sentiment"]["label"] in {
            "negative",
            "neutral",
            "positive",
        }

    by_topic = es.search(index=alias, query={"term": {"topics.id": "highways"}}, size=0)
    assert by_topic["hits"]["total"]["value"] >= 2
    negative_in_haringey = es.search(
        index=alias,
        query={
            "bool": {
                "filter": [
                    {"term": {"locality.council.code": corpus.HARINGEY}},
                    {"term": {"sentiment.label": "negative"}},
                ]
            }
        },
        size=0,
    )
    assert negative_in_haringey["hits"]["total"]["value"] >= 1
    by_ward = es.search(index=alias, query={"exists": {"field": "locality.ward.code"}}, size=0)
    assert by_ward["hits"]["total"]["value"] >= 1


def _where_missing(bootstrap: str, es: Elasticsearch, prefix: str, mentions: list[Mention]) -> str:
    """Which stage the mentions missing from the index last reached, for a failure message."""
    wanted = {m.mention_id for m in mentions}
    found = es.search(index=f"{prefix}earshot-mentions", size=len(mentions), source=False)
    missing = wanted - {hit["_id"] for hit in found["hits"]["hits"]}
    stages = []
    for topic in ("mentions.enriched.v1",):
        records = topic_records(bootstrap, f"{prefix}{topic}", 2000)
        at = {
            f"{r.partition}:{r.offset}"
            for r in records
            if json.loads(r.value).get("mention_id") in missing
        }
        stages.append(f"{topic}: {len(records)} records, the missing at {sorted(at)[:20]}")
    for topic in ("mentions.raw.v1.dlq", "mentions.enriched.v1.dlq"):
        stages.append(f"{topic}: {len(read_topic(bootstrap, f'{prefix}{topic}', 2000))} records")
    return f"{len(missing)} missing from the index; " + "; ".join(stages)


def test_worker_killed_mid_stream_leaves_exactly_n_documents(
    kafka_bootstrap: str, es_url: str, es: Elasticsearch, unique_prefix: str, tmp_path: Path
) -> None:
    ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    mentions = corpus.mentions(400)
    head, rest = mentions[:100], mentions[100:]
    _produce(kafka_bootstrap, f"{unique_prefix}mentions.raw.v1", head)
    stream = threading.Thread(
        target=_produce,
        args=(kafka_bootstrap, f"{unique_prefix}mentions.raw.v1", rest),
        kwargs={"per_second": 25.0},
        daemon=True,
    )
    alias = f"{unique_prefix}earshot-mentions"
    worker = Worker(kafka_bootstrap, es_url, unique_prefix, tmp_path)
    worker.start()
    try:
        wait_for(
            lambda: es_count(es, alias),
            lambda n: n >= 40,
            300,
            lambda: f"first docs\n{worker.log_tail()}",
        )
        stream.start()
        seen = wait_for(
            lambda: es_count(es, alias),
            lambda n: n > len(head),
            120,
            lambda: f"streamed docs\n{worker.log_tail()}",
        )
        worker.kill()
        assert stream.is_alive(), "the stream ended before the worker could be killed mid-stream"
        assert seen < len(mentions)
        worker.start()
        stream.join(timeout=120)
        assert not stream.is_alive(), "the producer did not finish"
        wait_for(
            lambda: es_count(es, alias),
            lambda n: n >= len(mentions),
            300,
            lambda: (
                f"all docs\n{_where_missing(kafka_bootstrap, es, unique_prefix, mentions)}"
                f"\n{worker.log_tail()}"
            ),
        )
    finally:
        worker.stop()
    assert es_count(es, alias) == len(mentions)
    ids = es.search(
        index=alias,
        size=0,
        aggs={"ids": {"cardinality": {"field": "mention_id", "precision_threshold": 1000}}},
    )
    assert ids["aggregations"]["ids"]["value"] == len(mentions)
