"""A Mention goes through a Faust agent (aiokafka) on the real broker and comes out intact."""

from __future__ import annotations

from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from common.topics import ensure_topics
from devkit.events import numbered_mentions
from devkit.waiting import wait_for_topics
from devkit.worker import Worker
from schemas.codec import decode, encode
from schemas.models import Mention


def test_mentions_pass_through_a_faust_agent(
    kafka_bootstrap: str, unique_prefix: str, tmp_path: Path
) -> None:
    ensure_topics(kafka_bootstrap, prefix=unique_prefix, names=["mentions.raw.v1"])
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(f"{unique_prefix}relayed", 4, 1)])
    admin.close()
    wait_for_topics(kafka_bootstrap, [f"{unique_prefix}relayed"])
    mentions = numbered_mentions(20)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    for m in mentions:
        producer.send(f"{unique_prefix}mentions.raw.v1", key=m.mention_id.encode(), value=encode(m))
    producer.flush()
    producer.close()

    worker = Worker(
        kafka_bootstrap,
        "",
        unique_prefix,
        tmp_path,
        app="tests.integration.faust_relay_app",
        RELAY_DATADIR=str(tmp_path / "faust"),
    )
    worker.start()
    try:
        consumer = KafkaConsumer(
            f"{unique_prefix}relayed",
            bootstrap_servers=kafka_bootstrap,
            group_id=f"{unique_prefix}check",
            auto_offset_reset="earliest",
            consumer_timeout_ms=90000,
        )
        seen: dict[str, Mention] = {}
        for record in consumer:
            m = decode(record.value, Mention)
            seen[m.mention_id] = m
            if len(seen) == len(mentions):
                break
        consumer.close()
    finally:
        worker.stop()
    output = worker.log_path.read_text(errors="replace")
    assert seen == {m.mention_id: m for m in mentions}, output[-3000:]
