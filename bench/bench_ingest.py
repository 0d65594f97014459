"""Ingestion throughput: replay server → runtime → real Kafka, for rss and mastodon, plus the
producer alone — in one run; and hostile load (``bench.hostile_load``): /healthz latency while
a 10 MB feed and a 1 GiB gzip bomb are fetched, peak memory, pathological HTML; and log lines
across a 10 s outage of a private broker (``bench.kafka_outage``).

    python -m bench.bench_ingest --out bench/results/ingest.json [--bootstrap HOST:PORT]

The Kafka address comes from --bootstrap, else EARSHOT_KAFKA_BOOTSTRAP, else
``deploy/local/stack.sh env``. Every run uses fresh, uniquely prefixed topics.
Figures are end-to-end: HTTP fetch, feedparser/JSON, mapping, schema validation,
and transactional, acks=all produce of each page with its cursor.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.hostile_load import bench_health_under_load, bench_html
from bench.kafka_outage import bench_kafka_outage
from common.privacy import Pseudonymiser
from common.retry import RetryPolicy
from common.settings import KafkaSettings
from common.topics import ensure_topics
from devkit.events import example_mention
from devkit.replay import mastodon, rss
from devkit.replay.kit import SECRET
from devkit.replay.server import ReplayServer
from devkit.stack import stack_env
from schemas.ids import mention_id
from schemas.models import Source
from services.ingest.mastodon.source import MastodonConfig
from services.ingest.registry import build_source
from services.ingest.rss.source import RssConfig
from services.ingest.runtime.api import Cursor, SourceContext
from services.ingest.runtime.config import InstanceConfig
from services.ingest.runtime.http import ApiClient, make_client
from services.ingest.runtime.producer import MentionProducer, Topics
from services.ingest.runtime.service import IngestService

ROOT = Path(__file__).resolve().parents[1]


def bootstrap_address(given: str | None) -> str:
    address = given or stack_env().get("EARSHOT_KAFKA_BOOTSTRAP")
    if not address:
        raise SystemExit("no Kafka: pass --bootstrap or start deploy/local/stack.sh")
    return address


def topics_for(bootstrap: str) -> Topics:
    prefix = f"bench{uuid.uuid4().hex[:8]}-"
    ensure_topics(bootstrap, prefix=prefix)
    return Topics.of(KafkaSettings(kafka_bootstrap=bootstrap, topic_prefix=prefix))


def bench_producer(bootstrap: str, count: int) -> dict[str, Any]:
    """Mentions/s through MentionProducer alone: one flush at the end, and pages of 100."""
    base = example_mention()
    mentions = [
        base.model_copy(
            update={
                "mention_id": mention_id("rss", f"bench-{i}"),
                "source": Source(kind="rss", instance="bench", native_id=f"bench-{i}"),
            }
        )
        for i in range(count)
    ]
    results: dict[str, Any] = {"mentions": count}
    for label, transactional in (("plain_flush_once", False), ("transaction_per_100", True)):
        topics = topics_for(bootstrap)
        tx = f"bench-{uuid.uuid4().hex[:8]}" if transactional else None
        producer = MentionProducer(bootstrap, topics, transactional_id=tx)
        started = time.perf_counter()
        for i in range(0, count, 100 if transactional else count):
            with producer.transaction():
                for m in mentions[i : i + (100 if transactional else count)]:
                    producer.send_mention(m)
        seconds = time.perf_counter() - started
        producer.close()
        results[label] = {"seconds": round(seconds, 3), "mentions_per_s": round(count / seconds, 1)}
    return results


async def bench_source(
    bootstrap: str, configs: list[InstanceConfig], expected: int, cursors: dict[str, Cursor]
) -> dict[str, Any]:
    topics = topics_for(bootstrap)
    producer = await asyncio.to_thread(
        MentionProducer, bootstrap, topics, transactional_id=f"bench-{uuid.uuid4().hex[:8]}"
    )
    service = IngestService(
        producer, cursors, policy=RetryPolicy(base=0.05, cap=1, max_attempts=None)
    )
    api = ApiClient(make_client(contact="bench@earshot.example"))
    ctx = SourceContext(Pseudonymiser(SECRET), api, service.deliver, lambda: datetime.now(UTC))
    sources = [build_source(c, ctx) for c in configs]
    started = time.perf_counter()
    task = asyncio.create_task(service.run(sources))
    produced, last_change = 0.0, started
    # Up to ``expected`` (every item served); a replay feed repeats some items and the
    # service writes each once, so it also ends when nothing new came for 3 s.
    while produced < expected:
        await asyncio.sleep(0.05)
        now_produced = sum(
            s.value
            for f in service.metrics.produced.collect()
            for s in f.samples
            if s.name.endswith("_total")
        )
        now = time.perf_counter()
        if now_produced != produced:
            produced, last_change = now_produced, now
        elif produced and now - last_change > 3.0:
            break
        if now - started > 600:
            raise SystemExit(f"bench stalled at {produced} of {expected}")
    seconds = last_change - started
    service.request_stop()
    await task
    await api.aclose()
    return {
        "mentions": int(produced),
        "items_served": expected,
        "seconds": round(seconds, 3),
        "mentions_per_s": round(produced / seconds, 1),
    }


async def bench_rss(bootstrap: str, per_feed: int) -> dict[str, Any]:
    state = rss.RssReplay(seed=3, total=per_feed, initial=per_feed, per_request=0, window=per_feed)
    with ReplayServer(rss.make_app(state)) as base:
        feeds = [{"url": f"{base}/feeds/{n}", "name": n.replace(".", "-")} for n in rss.GROWING]
        config = RssConfig(name="bench-rss", kind="rss", poll_interval_s=3600, feeds=feeds)
        result = await bench_source(bootstrap, [config], per_feed * len(rss.GROWING), {})
    return {**result, "feeds": len(rss.GROWING), "entries_per_feed": per_feed}


async def bench_mastodon(bootstrap: str, total: int) -> dict[str, Any]:
    state = mastodon.MastodonReplay(
        seed=4, total=total, initial=total, per_request=0, quota=10**9, duplicate_edges=True
    )
    expected = len(state.expected("haringey")) + len(state.expected("monmouthshire"))
    with ReplayServer(mastodon.make_app(state)) as base:
        config = MastodonConfig(
            name="bench-masto",
            kind="mastodon",
            poll_interval_s=3600,
            servers=[base],
            hashtags=["haringey", "monmouthshire"],
            max_pages_per_pass=10_000,
        )
        host = base.split("://", 1)[1]
        start = {"min_id": str(mastodon.BASE_ID - 1)}  # walk the whole timeline forward
        cursors = {f"mastodon/bench-masto/{host}/tag/{t}": dict(start) for t in config.hashtags}
        result = await bench_source(bootstrap, [config], expected, cursors)
    return {**result, "page_limit": config.page_limit}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", default="bench/results/ingest.json")
    parser.add_argument("--bootstrap")
    parser.add_argument("--producer-mentions", type=int, default=20_000)
    parser.add_argument("--rss-entries-per-feed", type=int, default=1_000)
    parser.add_argument("--mastodon-statuses", type=int, default=4_000)
    parser.add_argument("--hostile-seconds", type=float, default=30.0)
    parser.add_argument("--hostile-feed-mb", type=int, default=10)
    parser.add_argument("--hostile-bomb-gib", type=int, default=1)
    parser.add_argument("--only-hostile", action="store_true", help="skip the throughput parts")
    parser.add_argument("--outage-s", type=float, default=10.0)
    parser.add_argument("--skip-outage", action="store_true", help="skip the private-broker outage")
    args = parser.parse_args()
    bootstrap = bootstrap_address(args.bootstrap)
    report: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "kafka": bootstrap,
        "load_before": os.getloadavg(),
    }
    if not args.only_hostile:
        report["producer"] = bench_producer(bootstrap, args.producer_mentions)
        report["rss"] = asyncio.run(bench_rss(bootstrap, args.rss_entries_per_feed))
        report["mastodon"] = asyncio.run(bench_mastodon(bootstrap, args.mastodon_statuses))
    report["hostile"] = {
        "healthz_under_load": bench_health_under_load(
            bootstrap, args.hostile_seconds, args.hostile_feed_mb, args.hostile_bomb_gib
        ),
        "html_to_text_seconds": bench_html(400_000),
    }
    if not args.skip_outage:
        report["hostile"]["kafka_outage"] = bench_kafka_outage(args.outage_s)
    report["load_after"] = os.getloadavg()
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
