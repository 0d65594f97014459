"""RSS over real HTTP (replay server on loopback) into the real Kafka."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import httpx
import pytest

from devkit.replay.faults import FaultPlan
from devkit.replay.kit import Harness
from devkit.replay.rss import RssReplay, make_app
from devkit.replay.server import ReplayServer
from services.ingest.rss.source import RssConfig

pytestmark = pytest.mark.integration

GOOD = ("council-news.xml", "google-alerts.atom", "georss.xml", "rdf.xml")


def rss_config(base: str, names: tuple[str, ...], interval: float = 0.1) -> RssConfig:
    feeds = [{"url": f"{base}/feeds/{n}", "name": n.replace(".", "-")} for n in names]
    return RssConfig(name="replay-news", kind="rss", poll_interval_s=interval, feeds=feeds)


async def test_feeds_grow_with_retries_rate_limits_dead_letters_and_parking(
    kafka_bootstrap: str, unique_prefix: str
) -> None:
    plan = FaultPlan(rate_limit_first=1, retry_after_s=1.0, burst_every=4, burst_len=2)
    state = RssReplay(seed=5, total=24, initial=4, per_request=4, faults=plan)
    harness = Harness(kafka_bootstrap, unique_prefix)
    with ReplayServer(make_app(state)) as base:
        await harness.start([rss_config(base, (*GOOD, "malformed.xml", "gone.xml"))])
        try:
            keys = await harness.wait_for_mention_ids(24 * len(GOOD))
            dead = await harness.records(harness.topics.dead_letters)
            metrics = harness.service.metrics
            port = harness.service.bound_port
            async with httpx.AsyncClient() as client:
                health = await client.get(f"http://127.0.0.1:{port}/healthz")
                prom = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
        finally:
            await harness.stop()
    assert max(Counter(keys).values()) == 1, "a mention was produced twice"
    assert len(keys) == 24 * len(GOOD)
    # 429 + Retry-After: 1 on each feed's first request: the runtime waited at least that long.
    assert sum(1 for w in harness.waits if w >= 1.0) >= len(GOOD)
    assert plan.served["unavailable"] > 0 and plan.served["rate_limited"] > 0
    # The malformed feed is dead-lettered once with the parser's reason; the service went on.
    letters = [json.loads(v) for _, v, _ in dead]
    assert len(letters) == 1
    assert (
        letters[0]["error_class"] == "PayloadError"
        and "malformed feed" in letters[0]["error_message"]
    )
    assert dead[0][2]["earshot.stage"] == b"ingest"
    assert metrics.streams["rss/replay-news/gone-xml"].state == "parked"
    assert health.status_code == 200
    assert health.json()["streams"]["rss/replay-news/gone-xml"]["state"] == "parked"
    for name in ("fetched", "produced", "dead_lettered", "retries"):
        assert f"earshot_ingest_{name}_total{{" in prom
    assert 'earshot_ingest_parked{instance="replay-news",kind="rss",stream="gone-xml"} 1.0' in prom
    assert "earshot_ingest_last_success_timestamp_seconds{" in prom
    assert "410" in (metrics.streams["rss/replay-news/gone-xml"].last_error or "")


async def test_conditional_get_sends_validators_and_304_produces_nothing(
    kafka_bootstrap: str, unique_prefix: str
) -> None:
    state = RssReplay(seed=6, total=6, initial=6, per_request=0)
    harness = Harness(kafka_bootstrap, unique_prefix)
    with ReplayServer(make_app(state)) as base:
        await harness.start([rss_config(base, ("georss.xml",), interval=0.05)])
        try:
            await harness.wait_for_mention_ids(6)
            before = state.faults.counts["georss.xml"]
            await asyncio.sleep(1.0)
            keys = [k for k, _, _ in await harness.records(harness.topics.mentions)]
        finally:
            await harness.stop()
    assert state.faults.counts["georss.xml"] > before  # it kept polling, answered 304
    assert len(keys) == 6
