"""Bluesky over real HTTP and WebSocket (replay server on loopback) into the real Kafka."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest

from common.topics import ensure_topics
from devkit.replay.bluesky import BlueskyReplay, make_app, uri_of
from devkit.replay.faults import FaultPlan
from devkit.replay.kit import Harness
from devkit.replay.server import ReplayServer
from schemas.codec import decode
from schemas.models import Mention
from services.ingest.bluesky.source import BlueskyConfig
from tests.integration.test_ingest_restart import kill_restart_finish

pytestmark = pytest.mark.integration
SINCE = "2026-11-01T00:00:00Z"


async def test_search_paging_rate_limits_retries_and_dead_letters(
    kafka_bootstrap: str, unique_prefix: str
) -> None:
    # 429 first (RateLimit-Reset ~1 s ahead), a 502 every 6th request, every 5th body cut
    # short; pages of 4 with an offset cursor, so posts released mid-walk repeat across pages.
    plan = FaultPlan(
        rate_limit_first=1, retry_after_s=1.0, burst_every=6, burst_len=1, malformed_every=5
    )
    state = BlueskyReplay(seed=31, total=40, initial=6, per_request=5, faults=plan)
    harness = Harness(kafka_bootstrap, unique_prefix)
    with ReplayServer(make_app(state)) as base:
        config = BlueskyConfig(
            name="bsky",
            kind="bluesky",
            api_url=base,
            search=["haringey", "monmouthshire"],
            since=SINCE,
            page_limit=4,
            poll_interval_s=0.05,
        )
        await harness.start([config])
        try:
            keys = await harness.wait_for_keys(state.total, within_s=50)
            dead = await harness.records(harness.topics.dead_letters)
            records = await harness.records(harness.topics.mentions)
        finally:
            await harness.stop()
    assert len(keys) == state.total and max(Counter(keys).values()) == 1
    mentions = [decode(v, Mention) for _, v, _ in records]
    assert {m.source.native_id for m in mentions} == {uri_of(p) for p in state.items}
    by_query = Counter(m.matched_by[0].value for m in mentions)
    assert by_query == {c: len(state.expected(c)) for c in ("haringey", "monmouthshire")}
    assert plan.served["rate_limited"] == 1 and plan.served["unavailable"] > 0
    assert any(w >= 0.9 for w in harness.waits), "RateLimit-Reset of the 429 was not honoured"
    letters = [json.loads(v) for _, v, _ in dead]
    assert letters and all("not JSON" in d["error_message"] for d in letters)


async def test_firehose_prefilters_batches_edits_and_reconnects(
    kafka_bootstrap: str, unique_prefix: str
) -> None:
    state = BlueskyReplay(seed=32, total=40, per_connection=30, edit_every=7, malformed_every=11)
    harness = Harness(kafka_bootstrap, unique_prefix)
    with ReplayServer(make_app(state)) as base:
        config = BlueskyConfig(
            name="bsky",
            kind="bluesky",
            jetstream_url=base.replace("http://", "ws://"),
            terms=["Haringey", "Monmouthshire", "Usk"],
            batch_max=8,
            flush_s=0.3,
        )
        await harness.start([config])
        edits = sum(1 for p in state.items if p.index % 7 == 2)
        try:
            await harness.wait_for_keys(state.total, within_s=50)
            records = await harness.records(harness.topics.mentions)
            for _ in range(50):  # an edit is the same key again: wait for the records
                if len(records) >= state.total + edits:
                    break
                await asyncio.sleep(0.3)
                records = await harness.records(harness.topics.mentions)
            dead = await harness.records(harness.topics.dead_letters)
            cursors = await harness.records(harness.topics.cursors)
            metrics = harness.service.metrics
        finally:
            await harness.stop()
    mentions = [decode(v, Mention) for _, v, _ in records]
    originals = [m for m in mentions if m.edited_at is None]
    assert sorted(m.source.native_id for m in originals) == sorted(uri_of(p) for p in state.items)
    assert len({m.mention_id for m in originals}) == state.total  # each post once
    updated = [m for m in mentions if m.edited_at is not None]
    assert len(updated) == edits and {m.mention_id for m in updated} <= {
        m.mention_id for m in originals
    }
    assert all("edit:" in m.text for m in updated)
    assert all(m.matched_by[0].kind == "firehose" for m in mentions)
    # Network chatter (incl. "dusk", "husky") never matched; likes were filtered by the server.
    assert not any("husky" in m.text or "dusk" in m.text for m in mentions)
    fetched = metrics.fetched.labels("bluesky", "bsky", "jetstream")._value.get()
    assert fetched >= 2 * state.total + edits  # every post plus its chatter was read...
    # ...and written in batches: far fewer cursor commits than mentions.
    assert 2 <= len(cursors) < len(mentions)
    # The server closes each connection normally: a reconnect, never a retry with backoff.
    assert metrics.reconnects.labels("bluesky", "bsky", "jetstream")._value.get() >= 2
    assert metrics.retries.labels("bluesky", "bsky", "jetstream")._value.get() == 0
    letters = [json.loads(v) for _, v, _ in dead]
    assert len(letters) == sum(1 for p in state.items if p.index % 11 == 10)
    assert all(d["error_class"] == "PayloadError" for d in letters)
    assert all("not JSON" in d["error_message"] for d in letters)


def test_search_and_firehose_killed_and_restarted_are_exactly_once(
    kafka_bootstrap: str, unique_prefix: str, tmp_path: Path
) -> None:
    ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    search = BlueskyReplay(
        seed=33, total=40, initial=3, per_request=1, faults=FaultPlan(burst_every=7)
    )
    jet = BlueskyReplay(seed=34, total=50, per_connection=40, edit_every=0, event_delay_s=0.04)
    with ReplayServer(make_app(search)) as api, ReplayServer(make_app(jet)) as firehose:
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            "sources:\n"
            f"  - {{name: bsky-search, kind: bluesky, api_url: '{api}', poll_interval_s: 0.2,\n"
            f"     search: [haringey, monmouthshire], since: '{SINCE}', page_limit: 3}}\n"
            f"  - {{name: bsky-firehose, kind: bluesky, jetstream_url: '{firehose.replace('http', 'ws')}',\n"
            "     terms: [haringey, monmouthshire], batch_max: 4, flush_s: 0.3}\n"
        )
        expected = search.total + jet.total
        keys = kill_restart_finish(kafka_bootstrap, unique_prefix, sources, expected, kill_after=20)
    assert len(keys) == expected and max(Counter(keys).values()) == 1
