"""Reddit over real HTTP (replay server on loopback, app-only OAuth) into the real Kafka."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from common.topics import ensure_topics
from devkit.replay.faults import FaultPlan
from devkit.replay.kit import Harness
from devkit.replay.reddit import RedditReplay, make_app
from devkit.replay.server import ReplayServer
from schemas.codec import decode
from schemas.models import Mention
from services.ingest.reddit.source import RedditConfig
from tests.integration.test_ingest_restart import kill_restart_finish

pytestmark = pytest.mark.integration
ENV = {"R_ID": "earshot-app", "R_SECRET": "replay-secret"}


async def test_listings_oauth_paging_rate_limits_retries_and_a_deleted_anchor(
    kafka_bootstrap: str, unique_prefix: str
) -> None:
    # 429 first per path (X-Ratelimit-Reset: 1 s), a 503 every 9th request, Reddit's HTML
    # error page every 6th; tokens die after 5 uses (401 → renewed); pages of 4 walked with
    # before=, each repeating its anchor.
    plan = FaultPlan(
        rate_limit_first=1, retry_after_s=1.0, burst_every=9, burst_len=1, malformed_every=6
    )
    state = RedditReplay(
        seed=41,
        total=40,
        initial=6,
        per_request=4,
        client_id="earshot-app",
        token_uses=5,
        delete_anchor_at=6,
        faults=plan,
    )
    comments = sum(1 for p in state.items if p.index % 3 == 0)
    harness = Harness(kafka_bootstrap, unique_prefix, environ=ENV)
    with ReplayServer(make_app(state)) as base:
        config = RedditConfig(
            name="reddit",
            kind="reddit",
            base_url=base,
            oauth_url=base,
            token_url=f"{base}/api/v1/access_token",
            client_id_env="R_ID",
            client_secret_env="R_SECRET",
            subreddits=["haringey", "r/Monmouthshire"],
            comments=True,
            page_limit=4,
            poll_interval_s=0.05,
        )
        await harness.start([config])
        try:
            keys = await harness.wait_for_mention_ids(state.total + comments, within_s=50)
            dead = await harness.records(harness.topics.dead_letters)
            records = await harness.records(harness.topics.mentions)
        finally:
            await harness.stop()
    assert len(keys) == state.total + comments and max(Counter(keys).values()) == 1
    mentions = [decode(v, Mention) for _, v, _ in records]
    subs = Counter((m.source.native_id[:2], m.matched_by[0].value) for m in mentions)
    assert subs["t3", "haringey"] == len(state.expected("haringey"))
    assert subs["t3", "Monmouthshire"] == len(state.expected("monmouthshire"))
    assert all(m.thread and m.thread.root_id for m in mentions if m.source.native_id[:2] == "t1")
    assert state.dead_anchors >= 1, "the deleted anchor was never asked for"
    assert state.issued >= 2, "an expired token must be renewed"
    assert plan.served["rate_limited"] >= 3 and plan.served["unavailable"] > 0
    assert any(w >= 0.9 for w in harness.waits), "X-Ratelimit-Reset of the 429 was not honoured"
    letters = [json.loads(v) for _, v, _ in dead]
    assert letters and all("not JSON" in d["error_message"] for d in letters)


def test_reddit_killed_and_restarted_is_exactly_once(
    kafka_bootstrap: str, unique_prefix: str, tmp_path: Path
) -> None:
    ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    state = RedditReplay(
        seed=42, total=60, initial=3, per_request=1, faults=FaultPlan(burst_every=9)
    )
    comments = sum(1 for p in state.items if p.index % 3 == 0)
    with ReplayServer(make_app(state)) as base:
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            "sources:\n  - name: reddit\n    kind: reddit\n    poll_interval_s: 0.1\n"
            f"    base_url: '{base}'\n    subreddits: [haringey, Monmouthshire]\n"
            "    comments: true\n    page_limit: 3\n"
        )
        expected = state.total + comments
        keys = kill_restart_finish(kafka_bootstrap, unique_prefix, sources, expected, kill_after=20)
    assert len(keys) == expected and max(Counter(keys).values()) == 1
