"""The worker's own lifecycle on the real stack: it refuses to start without its topics, and
SIGTERM ends it within 10 s even while a dependency holds a batch — losing nothing."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from common.dedupe import partition_key
from common.topics import ensure_topics
from devkit import corpus
from devkit.waiting import es_count, wait_for
from devkit.worker import Worker, free_port
from pipelines.settings import PipelineSettings
from pipelines.topology import DECLARED, TopologyError, check_topics
from schemas.codec import encode


@pytest.fixture
def es(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=60)
    yield client
    client.close()


def exit_code(worker: Worker, timeout: float) -> int:
    assert worker.process is not None
    return worker.process.wait(timeout=timeout)


def refused_start(worker: Worker) -> str:
    """Start ``worker``, assert it exits with an error within 120 s, and return its log."""
    worker.start()
    try:
        code = exit_code(worker, 120)
    finally:
        worker.stop()
    assert code != 0
    return worker.log_path.read_text(errors="replace")


def test_the_worker_refuses_to_start_when_a_topic_is_missing(
    kafka_bootstrap: str, es_url: str, unique_prefix: str, tmp_path: Path
) -> None:
    log = refused_start(Worker(kafka_bootstrap, es_url, unique_prefix, tmp_path))
    assert f"{unique_prefix}mentions.raw.v1 is missing" in log, log[-2000:]
    assert "earshot topics" in log


def test_the_worker_refuses_a_raw_topic_with_the_wrong_partition_count(
    kafka_bootstrap: str, es_url: str, unique_prefix: str, tmp_path: Path
) -> None:
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        admin.create_topics([NewTopic(f"{unique_prefix}mentions.raw.v1", 1, 1)])
    finally:
        admin.close()
    others = [name for name in DECLARED if name != "mentions.raw.v1"]
    ensure_topics(kafka_bootstrap, prefix=unique_prefix, names=others)
    log = refused_start(Worker(kafka_bootstrap, es_url, unique_prefix, tmp_path))
    assert f"{unique_prefix}mentions.raw.v1 has 1 partitions, declared 4" in log, log[-2000:]


def test_a_worker_partitioned_unlike_the_raw_topic_is_refused_before_it_connects() -> None:
    with pytest.raises(TopologyError, match="EARSHOT_PARTITIONS=2"):
        check_topics(PipelineSettings(partitions=2, kafka_bootstrap="127.0.0.1:1"))


def test_sigterm_ends_a_worker_held_by_a_down_elasticsearch_and_nothing_is_lost(
    kafka_bootstrap: str, es_url: str, es: Elasticsearch, unique_prefix: str, tmp_path: Path
) -> None:
    ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    mentions = corpus.mentions(50)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    for m in mentions:
        producer.send(f"{unique_prefix}mentions.raw.v1", key=partition_key(m), value=encode(m))
    producer.flush()
    producer.close()
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens: every bulk write fails
    held = Worker(kafka_bootstrap, nowhere, unique_prefix, tmp_path / "held")
    (tmp_path / "held").mkdir()
    held.start()
    try:
        wait_for(
            lambda: "Elasticsearch unreachable" in held.log_tail(20000),
            bool,
            180,
            lambda: f"the worker to wait for Elasticsearch\n{held.log_tail()}",
        )
        assert held.process is not None
        started = time.monotonic()
        held.process.send_signal(signal.SIGTERM)
        held.process.wait(timeout=30)
        took = time.monotonic() - started
    finally:
        held.stop()
    assert took < 10.0, f"SIGTERM took {took:.1f}s\n{held.log_tail()}"

    alias = f"{unique_prefix}earshot-mentions"
    assert es_count(es, alias) == 0
    worker = Worker(kafka_bootstrap, es_url, unique_prefix, tmp_path / "next")
    (tmp_path / "next").mkdir()
    worker.start()
    try:
        wait_for(
            lambda: es_count(es, alias),
            lambda n: n >= len(mentions),
            300,
            lambda: f"all mentions after the restart\n{worker.log_tail()}",
        )
    finally:
        worker.stop()
    assert es_count(es, alias) == len(mentions)
    assert "Unclosed client session" not in worker.log_path.read_text(errors="replace")
