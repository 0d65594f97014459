"""A Mention round-trips through the real broker with kafka-python, via the one codec."""

from __future__ import annotations

from kafka import KafkaConsumer, KafkaProducer

from common.topics import declarations, ensure_topics
from devkit.events import example_mention
from schemas.codec import decode, encode
from schemas.models import Mention


def test_topics_command_is_idempotent(kafka_bootstrap: str, unique_prefix: str) -> None:
    first = ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    assert len([c for c in first if c.startswith("created")]) == len(declarations())
    assert ensure_topics(kafka_bootstrap, prefix=unique_prefix) == []


def test_mention_round_trips_through_kafka(kafka_bootstrap: str, unique_prefix: str) -> None:
    topic = f"{unique_prefix}mentions.raw.v1"
    ensure_topics(kafka_bootstrap, prefix=unique_prefix, names=["mentions.raw.v1"])
    mention = example_mention()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    producer.send(topic, key=mention.mention_id.encode(), value=encode(mention)).get(timeout=30)
    producer.close()

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=f"{unique_prefix}reader",
        auto_offset_reset="earliest",
        consumer_timeout_ms=20000,
    )
    records = []
    for record in consumer:
        records.append(record)
        break
    consumer.close()
    assert len(records) == 1
    assert records[0].key == mention.mention_id.encode()
    assert decode(records[0].value, Mention) == mention
