"""The community agents in a real Faust worker on the real Kafka and Elasticsearch.

EnrichedMentions are produced straight to ``mentions.enriched.v1``; the worker runs
only the community agents (enrichment needs the sentiment model) and writes the
``earshot-communities`` records that these tests read back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import ApiError, Elasticsearch, NotFoundError
from kafka import KafkaProducer

from common.bulk import BulkIndexer, Doc
from common.elastic import alias, async_es_client, install_templates, single_index
from common.settings import ElasticsearchSettings
from common.topics import ensure_topics
from devkit.communities import PSEUDONYMS, in_space
from devkit.waiting import wait_for
from devkit.worker import Worker
from schemas.codec import encode
from schemas.models import EnrichedMention, Match
from services.privacy import retention
from services.privacy.tombstones import TombstoneWriter

REDDIT = (Match(kind="subreddit", value="haringey"),)
TOPICS = ["mentions.enriched.v1", "mentions.enriched.v1.dlq", "privacy.tombstones.v1"]


def community_worker(kafka: str, es_url: str, prefix: str, workdir: Path) -> Worker:
    """A worker of the community agents only, flushing every second."""
    workdir.mkdir(exist_ok=True)
    register = workdir / "communities.yaml"
    register.write_text("version: 1\nk: 5\n")
    return Worker(
        kafka,
        es_url,
        prefix,
        workdir,
        app="tests.integration.communities_app",
        EARSHOT_COMMUNITIES_FILE=str(register),
        EARSHOT_COMMUNITY_FLUSH_SECONDS="1",
        EARSHOT_COMMUNITY_BATCH_SECONDS="0.2",
        EARSHOT_TOMBSTONE_REFRESH_SECONDS="0.5",
        EARSHOT_PSEUDONYM_SECRET="communities-test-pseudonym-secret",
    )


@pytest.fixture
def worker(
    kafka_bootstrap: str, es_url: str, unique_prefix: str, tmp_path: Path
) -> Iterator[Worker]:
    ensure_topics(kafka_bootstrap, prefix=unique_prefix, names=TOPICS)
    w = community_worker(kafka_bootstrap, es_url, unique_prefix, tmp_path)
    w.start()
    yield w
    w.stop()


def produce(bootstrap: str, prefix: str, mentions: list[EnrichedMention]) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for m in mentions:
        producer.send(f"{prefix}mentions.enriched.v1", key=m.mention_id.encode(), value=encode(m))
    producer.flush()
    producer.close()


def communities(es: Elasticsearch, prefix: str, worker: Worker) -> dict[str, dict[str, Any]]:
    if worker.process is not None and worker.process.poll() is not None:
        raise AssertionError(f"the worker exited:\n{worker.log_tail()}")
    index = alias(f"{prefix}earshot", "communities")
    try:
        es.indices.refresh(index=index)
        hits = es.search(index=index, size=1000, query={"match_all": {}})["hits"]["hits"]
    except NotFoundError:
        return {}
    except ApiError as exc:  # the first flush created the index; its shard may still be starting
        if exc.meta.status == 503:
            return {}
        raise
    return {h["_id"]: h["_source"] for h in hits}


def counts(docs: dict[str, dict[str, Any]]) -> dict[str, tuple[int, int]]:
    return {key: (d["week"]["mentions"], d["week"]["authors"]) for key, d in docs.items()}


def test_a_stream_of_mentions_produces_the_expected_community_records(
    worker: Worker, es: Elasticsearch, kafka_bootstrap: str, unique_prefix: str
) -> None:
    wards = ["tottenham-hale", "bruce-castle", "northumberland-park"]
    reddit = [
        in_space(i, who=i % 6, kind="reddit", matched=REDDIT, text=f"Fly-tipping again ({i})",
                 ward=wards[i % 3])
        for i in range(12)
    ]  # fmt: skip
    tagged = [
        in_space(100 + i, who=10 + i, text=f"Litter pick Saturday #Haringey #Tottenham ({i})")
        for i in range(5)
    ]
    lonely = [in_space(200 + i, who=99, text=f"My own tag #JustMe ({i})") for i in range(8)]
    produce(kafka_bootstrap, unique_prefix, [*reddit, *tagged, *lonely, reddit[0]])

    docs = wait_for(
        lambda: communities(es, unique_prefix, worker),
        lambda d: (
            counts(d).get("subreddit:reddit:haringey") == (12, 6)
            and "hashtag:mastodon:tottenham" in d
        ),
        120,
        worker.log_tail,
    )
    sub = docs["subreddit:reddit:haringey"]
    assert sub["label"] == "r/haringey" and sub["heard_via"] == 12
    assert sub["footprint"]["crosses_wards"] is True
    assert {w["code"] for w in sub["footprint"]["wards"]} == {
        "E05013602",
        "E05013587",
        "E05013596",
    }
    assert sub["footprint"]["crosses_councils"] is False
    assert sub["topic_ids"] == ["waste"] and sub["purpose"]["label"] == "single_issue"
    tag = docs["hashtag:mastodon:tottenham"]
    assert counts(docs)["hashtag:mastodon:tottenham"] == (5, 5)
    assert tag["alongside"] == [{"key": "hashtag:mastodon:haringey", "mentions": 5}]
    assert tag["heard_via"] == 0 and tag["suggestion_score"] > 0
    # The lone account's hashtag is no community; its 8 posts do not reach k on any space alone.
    assert "hashtag:mastodon:justme" not in docs
    assert counts(docs)["hashtag:mastodon:haringey"] == (13, 6)
    text = str(docs)
    assert "p1:" not in text and "user" not in text  # no pseudonym, no handle


def test_killing_the_worker_mid_stream_and_restarting_gives_the_same_counts(
    worker: Worker, es: Elasticsearch, kafka_bootstrap: str, unique_prefix: str
) -> None:
    mentions = [
        in_space(
            i,
            who=i % 9,
            kind="reddit",
            matched=(Match(kind="subreddit", value=f"sub{i % 4}"),),
            text=f"Pothole on the High Road ({i})",
        )
        for i in range(1200)
    ]
    produce(kafka_bootstrap, unique_prefix, mentions[:600])
    wait_for(
        lambda: communities(es, unique_prefix, worker), lambda d: len(d) >= 1, 120, worker.log_tail
    )
    produce(kafka_bootstrap, unique_prefix, mentions[600:])
    worker.kill()  # mid-stream: no final commit, no flush
    produce(kafka_bootstrap, unique_prefix, mentions[:300])  # redelivered copies, too
    worker.start()
    expected = {f"subreddit:reddit:sub{s}": (300, 9) for s in range(4)}
    wait_for(
        lambda: counts(communities(es, unique_prefix, worker)),
        lambda c: {k: v for k, v in c.items() if k in expected} == expected,
        180,
        worker.log_tail,
    )


def test_two_workers_share_the_communities_without_splitting_or_clobbering_them(
    worker: Worker,
    es: Elasticsearch,
    es_url: str,
    kafka_bootstrap: str,
    unique_prefix: str,
    tmp_path: Path,
) -> None:
    second = community_worker(kafka_bootstrap, es_url, unique_prefix, tmp_path / "second")
    second.start()
    try:

        def batch(start: int, count: int) -> list[EnrichedMention]:
            return [
                in_space(
                    i,
                    who=i % 7,
                    kind="reddit",
                    matched=(Match(kind="subreddit", value=f"area{i % 8}"),),
                    text=f"Street lights out ({i})",
                )
                for i in range(start, start + count)
            ]

        produce(kafka_bootstrap, unique_prefix, batch(0, 400))
        expected = {f"subreddit:reddit:area{s}": (50, 7) for s in range(8)}

        def settled(want: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
            return wait_for(
                lambda: counts(communities(es, unique_prefix, worker)),
                lambda c: {k: v for k, v in c.items() if k in want} == want,
                180,
                lambda: worker.log_tail() + second.log_tail(),
            )

        settled(expected)
        second.kill()  # its partitions move to the first worker, which rebuilds them
        produce(kafka_bootstrap, unique_prefix, batch(400, 400))
        settled({key: (100, 7) for key in expected})
    finally:
        second.stop()


def test_an_erased_authors_mentions_stop_counting_and_never_count_again(
    worker: Worker, es: Elasticsearch, kafka_bootstrap: str, unique_prefix: str
) -> None:
    first = [
        in_space(i, who=i % 7, kind="reddit", matched=REDDIT, text=f"Library hours ({i})")
        for i in range(14)
    ]
    produce(kafka_bootstrap, unique_prefix, first)
    key = "subreddit:reddit:haringey"
    wait_for(
        lambda: counts(communities(es, unique_prefix, worker)).get(key),
        lambda c: c == (14, 7),
        120,
        worker.log_tail,
    )
    writer = TombstoneWriter(kafka_bootstrap, unique_prefix)
    try:
        writer.write(PSEUDONYMS.pseudonym("reddit", "user0"), {"erased_at": "now"})
    finally:
        writer.close()
    wait_for(
        lambda: counts(communities(es, unique_prefix, worker)).get(key),
        lambda c: c == (12, 6),
        120,
        worker.log_tail,
    )
    later = [
        in_space(100 + i, who=0 if i < 3 else 20, kind="reddit", matched=REDDIT, text=f"x ({i})")
        for i in range(4)
    ]
    produce(kafka_bootstrap, unique_prefix, later)
    wait_for(
        lambda: counts(communities(es, unique_prefix, worker)).get(key),
        lambda c: c == (13, 7),
        120,
        worker.log_tail,
    )


def test_retention_deletes_records_a_stopped_worker_left_behind(
    es: Elasticsearch, unique_prefix: str
) -> None:
    prefix = f"{unique_prefix}earshot"
    install_templates(es, prefix)
    index = single_index(prefix, "communities")
    for key, updated in (
        ("subreddit:reddit:old", "2026-01-03"),
        ("subreddit:reddit:new", "2026-11-19"),
    ):
        es.index(index=index, id=key, document={"key": key, "updated_at": updated}, refresh=True)
    stale = retention.stale_communities(es, prefix, 1, date(2026, 11, 20))
    assert stale == ["subreddit:reddit:old"]
    assert retention.delete_communities(es, prefix, stale) == 1
    es.indices.refresh(index=index)
    assert [h["_id"] for h in es.search(index=index)["hits"]["hits"]] == ["subreddit:reddit:new"]


async def test_community_writes_are_versioned_and_deletes_of_missing_records_are_done(
    es_url: str, es: Elasticsearch, unique_prefix: str
) -> None:
    prefix = f"{unique_prefix}earshot"
    install_templates(es, prefix)
    index = single_index(prefix, "communities")
    client = async_es_client(ElasticsearchSettings(es_url=es_url))
    try:
        indexer = BulkIndexer(client, refresh=True)
        key = "subreddit:reddit:n17"
        newer = await indexer.write([Doc(index, key, {"key": key, "k": 6}, key, 2000)])
        stale = await indexer.write([Doc(index, key, {"key": key, "k": 5}, key, 1000)])
        assert (newer.indexed, stale.indexed, stale.superseded, stale.rejected) == (1, 0, 1, [])
        assert es.get(index=index, id=key)["_source"]["k"] == 6  # the stale writer lost
        gone = await indexer.write(
            [Doc(index, key, None, key, 3000), Doc(index, "hashtag:x:none", None, "x", 3000)]
        )
        assert (gone.indexed, gone.rejected) == (2, [])
        assert not es.exists(index=index, id=key)
    finally:
        await client.close()
