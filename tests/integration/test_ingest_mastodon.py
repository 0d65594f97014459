"""Mastodon over real HTTP (replay server on loopback) into the real Kafka."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from devkit.replay.faults import FaultPlan
from devkit.replay.kit import Harness
from devkit.replay.mastodon import MastodonReplay, make_app
from devkit.replay.server import ReplayServer
from schemas.codec import decode
from schemas.models import Mention
from services.ingest.mastodon.source import MastodonConfig

pytestmark = pytest.mark.integration


async def test_timeline_paging_quota_waits_retries_and_dead_letters(
    kafka_bootstrap: str, unique_prefix: str
) -> None:
    # Quota of 12 requests per 2 s window; 429 on the first request of each tag (with
    # X-RateLimit-Reset 1 s ahead); 503 bursts; every 5th body is malformed JSON.
    plan = FaultPlan(
        rate_limit_first=1, retry_after_s=1.0, burst_every=6, burst_len=1, malformed_every=5
    )
    state = MastodonReplay(
        seed=21, total=80, initial=4, per_request=6, quota=12, quota_window_s=2.0, faults=plan
    )
    expected = {t: len(state.expected(t)) for t in ("haringey", "monmouthshire")}
    harness = Harness(kafka_bootstrap, unique_prefix)
    config = MastodonConfig(
        name="social",
        kind="mastodon",
        poll_interval_s=0.05,
        servers=["http://placeholder"],
        hashtags=["Haringey", "#monmouthshire"],
        page_limit=4,
    )
    with ReplayServer(make_app(state)) as base:
        await harness.start([config.model_copy(update={"servers": (base,)})])
        try:
            keys = await harness.wait_for_keys(sum(expected.values()), within_s=120)
            dead = await harness.records(harness.topics.dead_letters)
            records = await harness.records(harness.topics.mentions)
        finally:
            await harness.stop()
    assert max(Counter(keys).values()) == 1 and len(keys) == sum(expected.values())
    mentions = [decode(v, Mention) for _, v, _ in records]
    by_tag = Counter(m.matched_by[0].value for m in mentions)
    assert by_tag == expected
    assert all(m.source.native_id.startswith("https://social.example/users/") for m in mentions)
    assert plan.served["rate_limited"] >= 2 and plan.served["unavailable"] > 0
    assert any(w >= 0.9 for w in harness.waits), "the 429's X-RateLimit-Reset was not honoured"
    letters = [json.loads(v) for _, v, _ in dead]
    assert letters and all(d["error_class"] == "PayloadError" for d in letters)
    assert all("not JSON" in d["error_message"] for d in letters)


async def test_streaming_reconnects_backfills_and_edits_update_the_same_mention(
    kafka_bootstrap: str, unique_prefix: str
) -> None:
    state = MastodonReplay(seed=22, total=40, initial=3, per_request=0, stream_events=3)
    harness = Harness(kafka_bootstrap, unique_prefix, environ={"MASTO_TOKEN": state.token})
    with ReplayServer(make_app(state)) as base:
        config = MastodonConfig(
            name="social",
            kind="mastodon",
            servers=[base],
            hashtags=["haringey"],
            streaming=True,
            token_env="MASTO_TOKEN",
        )
        await harness.start([config])
        try:
            keys = await harness.wait_for_keys(len(state.expected("haringey")), within_s=90)
            records = await harness.records(harness.topics.mentions)
            metrics = harness.service.metrics
        finally:
            await harness.stop()
    mentions = [decode(v, Mention) for _, v, _ in records]
    assert {k.decode() for k in keys if k} == {m.mention_id for m in mentions}
    edits = [m for m in mentions if m.edited_at is not None]
    assert edits, "status.update events must be produced"
    originals = {m.mention_id for m in mentions if m.edited_at is None}
    assert {e.mention_id for e in edits} <= originals  # an edit is the same mention, updated
    assert Counter((m.mention_id, m.edited_at) for m in mentions).most_common(1)[0][1] == 1
    labels = ("mastodon", "social", f"{base[7:]}/tag/haringey")
    # The server closed the stream normally: reconnected (and backfilled) each time, and a
    # normal close is not a failure, so it never counts as a retry (no growing backoff).
    assert metrics.reconnects.labels(*labels)._value.get() >= 2
    assert metrics.retries.labels(*labels)._value.get() == 0
