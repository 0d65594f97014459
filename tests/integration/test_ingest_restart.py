"""A real ingestion process SIGKILLed mid-run and restarted produces every item exactly once.

Cursors are written in the same Kafka transaction as the mentions they cover, so a
kill at any point leaves either both or neither; read_committed readers (and the
restarted process reading its cursors) never see half a page.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from common.topics import ensure_topics
from devkit.replay import mastodon, rss
from devkit.replay.faults import FaultPlan
from devkit.replay.kit import ingest_process, mention_ids, read_committed
from devkit.replay.server import ReplayServer

pytestmark = pytest.mark.integration


def mention_keys(bootstrap: str, prefix: str) -> list[bytes]:
    """The mention id of every committed raw record (the Kafka key is the dedupe key)."""
    return mention_ids(read_committed(bootstrap, f"{prefix}mentions.raw.v1"))


def wait_keys(bootstrap: str, prefix: str, count: int, timeout: float) -> list[bytes]:
    deadline = time.monotonic() + timeout
    keys: list[bytes] = []
    while time.monotonic() < deadline:
        keys = mention_keys(bootstrap, prefix)
        if len(set(keys)) >= count:
            return keys
        time.sleep(0.3)
    raise AssertionError(f"{len(set(keys))} of {count} mentions after {timeout}s")


def kill_restart_finish(
    bootstrap: str, prefix: str, sources: Path, expected: int, kill_after: int
) -> list[bytes | None]:
    first = ingest_process(bootstrap, prefix, str(sources))
    assert isinstance(first, subprocess.Popen)
    try:
        wait_keys(bootstrap, prefix, kill_after, timeout=90)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    partial = len(set(mention_keys(bootstrap, prefix)))
    assert partial < expected, "killed too late to prove anything"
    second = ingest_process(bootstrap, prefix, str(sources))
    assert isinstance(second, subprocess.Popen)
    try:
        wait_keys(bootstrap, prefix, expected, timeout=120)
        time.sleep(1.0)  # give a wrongly re-sent page the chance to show up
    finally:
        second.send_signal(signal.SIGTERM)
        code = second.wait(timeout=30)
    assert code == 0, "SIGTERM must stop cleanly with exit 0"
    return mention_keys(bootstrap, prefix)


def test_rss_killed_and_restarted_is_exactly_once(
    kafka_bootstrap: str, unique_prefix: str, tmp_path: Path
) -> None:
    ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    state = rss.RssReplay(
        seed=11, total=30, initial=2, per_request=1, faults=FaultPlan(burst_every=9)
    )
    with ReplayServer(rss.make_app(state)) as base:
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            "sources:\n  - name: news\n    kind: rss\n    poll_interval_s: 0.4\n    feeds:\n"
            f"      - {{url: '{base}/feeds/council-news.xml', name: council}}\n"
            f"      - {{url: '{base}/feeds/google-alerts.atom', name: alerts}}\n"
        )
        keys = kill_restart_finish(kafka_bootstrap, unique_prefix, sources, 60, kill_after=12)
    assert len(keys) == 60 and max(Counter(keys).values()) == 1


def test_mastodon_killed_and_restarted_is_exactly_once(
    kafka_bootstrap: str, unique_prefix: str, tmp_path: Path
) -> None:
    ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    state = mastodon.MastodonReplay(
        seed=12, total=120, initial=4, per_request=2, faults=FaultPlan(burst_every=7)
    )
    expected = len(state.expected("haringey")) + len(state.expected("monmouthshire"))
    with ReplayServer(mastodon.make_app(state)) as base:
        sources = tmp_path / "sources.yaml"
        sources.write_text(
            "sources:\n  - name: social\n    kind: mastodon\n    poll_interval_s: 0.1\n"
            f"    servers: ['{base}']\n    hashtags: [haringey, monmouthshire]\n    page_limit: 5\n"
        )
        keys = kill_restart_finish(kafka_bootstrap, unique_prefix, sources, expected, kill_after=20)
    assert len(keys) == expected and max(Counter(keys).values()) == 1
