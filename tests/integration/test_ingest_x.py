"""X recent search over real HTTP (replay server on loopback) into the real Kafka."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from common.topics import ensure_topics
from devkit.replay.faults import FaultPlan
from devkit.replay.kit import Harness
from devkit.replay.server import ReplayServer
from devkit.replay.x import XReplay, make_app, tweet_id
from schemas.codec import decode
from schemas.models import Mention
from services.ingest.x.source import XConfig
from tests.integration.test_ingest_restart import kill_restart_finish

pytestmark = pytest.mark.integration


async def test_recent_search_paging_quota_waits_retries_and_dead_letters(
    kafka_bootstrap: str, unique_prefix: str
) -> None:
    # 429 on the first request (x-rate-limit-reset ~1 s ahead, epoch seconds), a quota of
    # 14 requests per 2 s window, a 503 every 6th request, every 5th body cut short; pages
    # of 10 walked with next_token, each repeating the last tweet of the one before.
    plan = FaultPlan(
        rate_limit_first=1, retry_after_s=1.0, burst_every=6, burst_len=1, malformed_every=5
    )
    state = XReplay(
        seed=51, total=60, initial=30, per_request=5, quota=14, quota_window_s=2.0, faults=plan
    )
    expected = state.expected()
    harness = Harness(kafka_bootstrap, unique_prefix, environ={"X_BEARER": state.token})
    with ReplayServer(make_app(state)) as base:
        config = XConfig(
            name="x",
            kind="x",
            base_url=base,
            token_env="X_BEARER",
            queries=["haringey", "monmouthshire -is:retweet"],
            max_results=10,
            poll_interval_s=0.05,
        )
        await harness.start([config])
        try:
            keys = await harness.wait_for_mention_ids(len(expected), within_s=50)
            dead = await harness.records(harness.topics.dead_letters)
            records = await harness.records(harness.topics.mentions)
        finally:
            await harness.stop()
    assert len(keys) == len(expected) and max(Counter(keys).values()) == 1
    mentions = [decode(v, Mention) for _, v, _ in records]
    assert {m.source.native_id for m in mentions} == {str(tweet_id(p)) for p in expected}
    by_id = {m.source.native_id: m for m in mentions}
    for p in expected:
        m = by_id[str(tweet_id(p))]
        assert (m.geo is not None) == (p.index % 4 == 0)
        assert (m.place_hint is not None) == (p.index % 4 in (0, 1))
        if m.geo is not None:
            assert (m.geo.lat, m.geo.lon) == (p.lat, p.lon)
        if m.place_hint is not None:
            assert m.place_hint.name.startswith(p.place) and m.place_hint.country_code == "GB"
    assert not any("&amp;" in m.text for m in mentions)
    assert plan.served["rate_limited"] >= 1 and plan.served["unavailable"] > 0
    assert any(w >= 0.9 for w in harness.waits), "x-rate-limit-reset of the 429 was not honoured"
    letters = [json.loads(v) for _, v, _ in dead]
    assert letters and all("not JSON" in d["error_message"] for d in letters)


def test_x_killed_and_restarted_is_exactly_once(
    kafka_bootstrap: str, unique_prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    state = XReplay(seed=52, total=70, initial=3, per_request=1, faults=FaultPlan(burst_every=9))
    monkeypatch.setenv("X_BEARER", state.token)  # the ingest subprocess inherits it
    with ReplayServer(make_app(state)) as base:
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            "sources:\n  - name: x\n    kind: x\n    poll_interval_s: 0.1\n"
            f"    base_url: '{base}'\n    token_env: X_BEARER\n"
            "    queries: [haringey, monmouthshire]\n    max_results: 10\n"
        )
        expected = len(state.expected())
        keys = kill_restart_finish(kafka_bootstrap, unique_prefix, sources, expected, kill_after=15)
    assert len(keys) == expected and max(Counter(keys).values()) == 1
