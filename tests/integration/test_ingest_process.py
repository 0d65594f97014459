"""The ingestion process as an operator runs it: refuses to start without its topics, stops on
SIGTERM in every state, follows edits of the sources file (and SIGHUP), keeps running on a
broken edit, and tells the truth on /healthz."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from common.topics import ensure_topics
from devkit.replay import rss
from devkit.replay.kit import ingest_process, read_committed
from devkit.replay.server import ReplayServer

pytestmark = pytest.mark.integration
GRACE_S = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def feed_source(name: str, base: str, feed: str) -> str:
    return (
        f"  - name: {name}\n    kind: rss\n    poll_interval_s: 0.3\n    feeds:\n"
        f"      - {{url: '{base}/feeds/{feed}', name: {feed.split('.', maxsplit=1)[0]}}}\n"
    )


def log_of(sources: Path, prefix: str) -> str:
    return Path(f"{sources}.{prefix}.log").read_text(errors="replace")


def stop_within_grace(proc: subprocess.Popen[bytes]) -> float:
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=GRACE_S + 5)
    took = time.monotonic() - started
    assert took < GRACE_S, f"SIGTERM took {took:.1f}s"
    return took


def instances(bootstrap: str, prefix: str) -> set[str]:
    values = [json.loads(v) for _, v, _ in read_committed(bootstrap, f"{prefix}mentions.raw.v1")]
    return {v["source"]["instance"] for v in values}


def wait_for(check, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s")
        time.sleep(0.3)


def test_refuses_to_start_when_its_topics_are_missing(
    kafka_bootstrap: str, unique_prefix: str, tmp_path: Path
) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n" + feed_source("news", "http://127.0.0.1:9", "a.xml"))
    proc = ingest_process(kafka_bootstrap, unique_prefix, str(sources))
    assert proc.wait(timeout=60) == 2
    log = log_of(sources, unique_prefix)
    assert f"{unique_prefix}mentions.raw.v1 is missing" in log and "earshot topics" in log


def test_sigterm_while_waiting_for_an_unreachable_kafka(unique_prefix: str, tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text("sources:\n" + feed_source("news", "http://127.0.0.1:9", "a.xml"))
    proc = ingest_process(f"127.0.0.1:{free_port()}", unique_prefix, str(sources))
    time.sleep(4)  # it is now waiting for the broker
    assert proc.poll() is None
    stop_within_grace(proc)
    assert proc.returncode == 0


def test_follows_edits_of_the_sources_file_and_keeps_running_on_a_broken_one(
    kafka_bootstrap: str, unique_prefix: str, tmp_path: Path
) -> None:
    ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    state = rss.RssReplay(seed=3, total=12, initial=12, per_request=12)
    port = free_port()
    with ReplayServer(rss.make_app(state)) as base:
        sources = tmp_path / "sources.yaml"
        sources.write_text("sources:\n" + feed_source("first", base, "council-news.xml"))
        extra = {"EARSHOT_SOURCES_POLL_S": "0.5", "EARSHOT_HTTP_PORT": str(port)}
        proc = ingest_process(kafka_bootstrap, unique_prefix, str(sources), extra)
        try:
            wait_for(lambda: instances(kafka_bootstrap, unique_prefix) == {"first"}, 60)
            health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz").read())
            assert health["status"] == "ok"
            # Added by an operator (or `earshot communities accept`): heard without a restart.
            sources.write_text(
                "sources:\n"
                + feed_source("first", base, "council-news.xml")
                + feed_source("second", base, "georss.xml")
            )
            wait_for(lambda: "second" in instances(kafka_bootstrap, unique_prefix), 30)
            # A broken edit changes nothing; the error names the file and line.
            sources.write_text("sources:\n  - name: third\n    kind: telegraph\n")
            wait_for(lambda: "sources file not applied" in log_of(sources, unique_prefix), 30)
            assert "sources.yaml:2" in log_of(sources, unique_prefix)
            assert proc.poll() is None
            # SIGHUP re-reads at once, even when the file looks unchanged.
            sources.write_text("sources:\n" + feed_source("second", base, "georss.xml"))
            proc.send_signal(signal.SIGHUP)
            wait_for(lambda: "instance first stopped" in log_of(sources, unique_prefix), 30)
        finally:
            stop_within_grace(proc)
    assert proc.returncode == 0
