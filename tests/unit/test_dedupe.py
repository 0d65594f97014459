"""Dedupe keys: the same link or the same words meet; short or different posts do not."""

from __future__ import annotations

from common.dedupe import canonical_link, dedupe_key, is_dedupe_key, partition_key, partition_of
from devkit.events import example_mention
from schemas.models import Source


def _post(text: str, kind: str = "mastodon", url: str | None = None) -> object:
    base = example_mention()
    return base.model_copy(
        update={
            "text": text,
            "source": Source(kind=kind, instance="i", native_id=text[:20] or "x", url=url),
        }  # type: ignore[arg-type]
    )


def test_canonical_link_drops_tracking_and_www() -> None:
    a = canonical_link("https://www.example.co.uk/news/bins/?utm_source=x&id=3#top")
    b = canonical_link("http://example.co.uk/news/bins?id=3&fbclid=abc")
    assert a == b == "example.co.uk/news/bins?id=3"


def test_same_article_shared_on_two_platforms_meets() -> None:
    toot = _post(
        "Council to cut bin collections https://www.localnews.example/bins?utm_medium=social"
    )
    skeet = _post("Wow: https://localnews.example/bins", kind="bluesky")
    article = _post("Full story text", kind="rss", url="https://localnews.example/bins/")
    assert dedupe_key(toot) == dedupe_key(skeet) == dedupe_key(article)  # type: ignore[arg-type]


def test_copied_text_meets_but_short_or_different_text_does_not() -> None:
    a = _post("RT @someone: Huge pothole on Philip Lane near the school gates! #Haringey")
    b = _post("Huge pothole on Philip Lane near the school gates #tottenham")
    assert dedupe_key(a) == dedupe_key(b)  # type: ignore[arg-type]
    assert dedupe_key(_post("Bins not collected")) is None  # type: ignore[arg-type]
    c = _post("Huge pothole on Lordship Lane near the school gates")
    assert dedupe_key(c) != dedupe_key(a)  # type: ignore[arg-type]


def test_copies_share_a_partition_key_and_keyless_mentions_keep_their_id() -> None:
    a = _post("RT @someone: Huge pothole on Philip Lane near the school gates! #Haringey")
    b = _post("Huge pothole on Philip Lane near the school gates #tottenham")
    short = _post("Bins not collected")
    assert partition_key(a) == partition_key(b) and is_dedupe_key(partition_key(a))  # type: ignore[arg-type]
    assert partition_key(short) == short.mention_id.encode()  # type: ignore[attr-defined, arg-type]
    assert not is_dedupe_key(partition_key(short))  # type: ignore[arg-type]


def test_partition_of_is_what_the_kafka_clients_choose() -> None:
    """aiokafka (the worker's producer) and kafka-python (ingestion's) pick the same partition."""
    from aiokafka.partitioner import DefaultPartitioner as AioPartitioner  # noqa: PLC0415
    from kafka.partitioner import DefaultPartitioner  # noqa: PLC0415

    class Cluster:
        def topics(self) -> set[str]:
            return {"raw"}

        def partitions_for_topic(self, topic: str) -> set[int]:
            return {0, 1, 2, 3}

        available_partitions_for_topic = partitions_for_topic

    aio, python = AioPartitioner(), DefaultPartitioner()
    for i in range(200):
        key = f"text:{i:024x}".encode()
        ours = partition_of(key, 4)
        assert ours == python.partition("raw", key, key, b"", b"", Cluster())
        assert ours == aio(key, [0, 1, 2, 3], [0, 1, 2, 3])
