"""Communities: CPU per mention of the aggregation, and the agent's memory for 100,000 mentions.

    python -m bench.bench_communities --out bench/results/communities.json

Three measurements in one run:

* **steps** — the pure work per mention, in this process: find its spaces and group
  a batch (``deltas_of``), apply the deltas to the book, build every community record
  once. This is what the communities aggregation adds to a worker that already holds
  the decoded batch (the in-path design: the fused agent emitting per-batch deltas).
* **worker** — the real separate consumer on the real stack: a Faust worker running
  only the community agents reads ``mentions.enriched.v1``, produces deltas, applies
  them to its changelogged table and writes the records to Elasticsearch. CPU of the
  worker process per mention, from the first produce until every mention is counted
  in Elasticsearch.
* **faust_consume_only** — the same worker setup with one agent that reads the topic in
  batches and does nothing: the floor a separate consumer pays before any work.
* **memory** — 100,000 mentions across 2,000 communities held in the book (tracemalloc),
  and the bytes of the table entries (the changelog values) that hold them.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from kafka import KafkaAdminClient, KafkaProducer

from bench.bench_pipeline import cpu_seconds
from common.communities import Space
from common.topics import ensure_topics
from devkit.communities import WARDS, in_space
from devkit.stack import stack_env
from devkit.waiting import wait_for
from devkit.worker import Worker
from pipelines.settings import PipelineSettings
from pipelines.steps.communities import deltas_of, read_delta
from pipelines.steps.communities_book import CommunityBook
from pipelines.steps.communities_doc import community_doc
from schemas.codec import encode
from schemas.models import Match

ROOT = Path(__file__).resolve().parents[1]
BATCH = 500
PARTITIONS = 4


def corpus(n: int, communities: int, start: datetime) -> list[bytes]:
    """``n`` enriched mentions (JSON) over ``communities`` spaces: each is a post in one of
    ``communities / 2`` subreddits that links that subreddit's local website (2 spaces per
    mention), 25 authors per subreddit."""
    wards = sorted(WARDS)
    subreddits = communities // 2
    out = []
    for i in range(n):
        s = i % subreddits
        m = in_space(
            i,
            who=s * 25 + (i // subreddits) % 25,
            kind="reddit",
            matched=(Match(kind="subreddit", value=f"sub{s}"),),
            text=f"Bins not collected again on the High Road, see https://site{s}.example/n/{i}",
            ward=wards[i % len(wards)],
            at=start + timedelta(seconds=i % 86_400),
        )
        out.append(encode(m))
    return out


def steps(values: list[bytes]) -> dict[str, Any]:
    """CPU per mention of the pure steps (extraction + book + one record per community)."""
    book = CommunityBook(28)
    now = time.time()
    started = time.process_time()
    offset = 0
    for i in range(0, len(values), BATCH):
        batch = deltas_of(values[i : i + BATCH], now=now, horizon_s=28 * 86_400, erased=set())
        for p, message in batch.messages(PARTITIONS).items():
            for space, records in read_delta(message).items():  # as the book agent does
                book.apply(space, p, f"{p}|{offset}", records)
            offset += 1
    extracted = time.process_time()
    docs = 0
    for key, state in book.take_dirty():
        assert state is not None
        made = community_doc(
            Space.parse(key), state.records.values(), now=now, k=5, horizon_days=28, labels={}
        )
        docs += made is not None
    done = time.process_time()
    n = len(values)
    return {
        "mentions": n,
        "communities": docs,
        "extract_and_apply_ms_per_mention": round((extracted - started) * 1000 / n, 4),
        "records_ms_per_mention": round((done - extracted) * 1000 / n, 4),
        "total_ms_per_mention": round((done - started) * 1000 / n, 4),
    }


def memory(values: list[bytes]) -> dict[str, Any]:
    """Book memory and table bytes for ``values`` (the 100,000 mentions)."""
    now = time.time()
    batches = [
        deltas_of(values[i : i + BATCH], now=now, horizon_s=28 * 86_400, erased=set())
        for i in range(0, len(values), BATCH)
    ]
    table_bytes = 0
    decoded = []
    for batch in batches:
        for p, raw in batch.messages(PARTITIONS).items():
            table_bytes += len(raw)
            decoded.append((p, read_delta(raw)))
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    book = CommunityBook(28)
    for offset, (p, spaces) in enumerate(decoded):
        for space, records in spaces.items():
            book.apply(space, p, f"{p}|{offset}", records)
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    held_records = sum(len(s.records) for s in book.spaces.values())
    return {
        "mentions": len(values),
        "spaces": len(book),
        "records": held_records,
        "book_mb": round(held / 1e6, 1),
        "book_bytes_per_record": round(held / held_records),
        "table_values_mb": round(table_bytes / 1e6, 1),
        "bound": "records of the last horizon_days (28) only: older ones expire hourly",
    }


WARM = 1000


def timed_worker(
    values: list[bytes], app: str, progress: Callable[[str, str], Callable[[], int]], **env: str
) -> dict[str, Any]:
    """Run a worker of ``app`` on the real stack: warm it with the first ``WARM`` mentions,
    then time the rest until ``progress(prefix, es_url)()`` counts every mention."""
    stack = stack_env()
    kafka, es_url = stack["EARSHOT_KAFKA_BOOTSTRAP"], stack["EARSHOT_ES_URL"]
    prefix = f"bench{uuid.uuid4().hex[:8]}-"
    ensure_topics(kafka, prefix=prefix, names=["mentions.enriched.v1", "mentions.enriched.v1.dlq"])
    producer = KafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=5)
    done = progress(prefix, es_url)
    topic = f"{prefix}mentions.enriched.v1"
    with tempfile.TemporaryDirectory() as tmp:
        w = Worker(kafka, es_url, prefix, Path(tmp), app=app, **env)
        w.start()
        try:
            for v in values[:WARM]:
                producer.send(topic, value=v)
            producer.flush()
            wait_for(done, lambda c: c >= WARM, 300, w.log_tail)
            before = cpu_seconds(w.pid)
            started = time.perf_counter()
            for v in values[WARM:]:
                producer.send(topic, value=v)
            producer.flush()
            wait_for(done, lambda c: c >= len(values), 600, w.log_tail)
            seconds = time.perf_counter() - started
            cpu = cpu_seconds(w.pid) - before
        finally:
            w.stop()
            producer.close()
    n = len(values) - WARM
    return {
        "mentions": n,
        "seconds": round(seconds, 2),
        "mentions_per_s": round(n / seconds, 1),
        "cpu_ms_per_mention": round(cpu * 1000 / n, 3),
    }


def counted_in_records(prefix: str, es_url: str) -> Callable[[], int]:
    """Mentions counted in the subreddit community records (one subreddit per mention)."""
    es = Elasticsearch(es_url, request_timeout=60)
    index = f"{prefix}earshot-communities"

    def counted() -> int:
        try:
            es.indices.refresh(index=index)
            hits = es.search(index=index, size=10_000, query={"prefix": {"key": "subreddit"}})
        except Exception:  # the index appears with the first flush
            return 0
        return sum(h["_source"]["week"]["mentions"] for h in hits["hits"]["hits"])

    return counted


def committed_offsets(prefix: str, es_url: str) -> Callable[[], int]:
    """Offsets the worker's group committed on mentions.enriched.v1 (all it has read)."""
    del es_url
    admin = KafkaAdminClient(bootstrap_servers=stack_env()["EARSHOT_KAFKA_BOOTSTRAP"])
    group = f"{prefix}{PipelineSettings().app_id}"

    def committed() -> int:
        offsets = admin.list_group_offsets(group).get(group, {})
        return sum(o.offset for tp, o in offsets.items() if tp.topic.endswith("enriched.v1"))

    return committed


def worker(values: list[bytes], communities: int) -> dict[str, Any]:
    """CPU of a worker running only the community agents, per mention, on the real stack."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as register:
        register.write("version: 1\nk: 5\n")
        register.flush()
        result = timed_worker(
            values,
            "tests.integration.communities_app",
            counted_in_records,
            EARSHOT_COMMUNITIES_FILE=register.name,
            EARSHOT_COMMUNITY_FLUSH_SECONDS="2",
        )
    return {**result, "spaces_per_mention": 2, "communities": communities}


def consume_only(values: list[bytes]) -> dict[str, Any]:
    """CPU per mention of a Faust worker that only reads the topic (``bench/consume_app.py``)."""
    return timed_worker(values, "bench.consume_app", committed_offsets)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "communities.json")
    parser.add_argument("--worker-mentions", type=int, default=20_000)
    args = parser.parse_args()
    start = datetime.now(UTC) - timedelta(days=1)
    big = corpus(100_000, 2_000, start)
    result = {
        "machine": {"arch": platform.machine(), "python": platform.python_version()},
        "target_ms_per_mention": 0.1,
        "steps": steps(big[:20_000]),
        "memory_100k_mentions_2000_communities": memory(big),
        "worker": worker(corpus(args.worker_mentions, 400, start), 400),
        "faust_consume_only": consume_only(corpus(args.worker_mentions, 400, start)),
        "note": "CPU shared with other processes on a 2-core machine; figures are indicative",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
