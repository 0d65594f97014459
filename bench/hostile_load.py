"""Hostile load for ``bench_ingest``: /healthz latency while a 10 MB feed and a 1 GiB gzip bomb
are fetched again and again, the process's peak memory, and HTML extraction on pathological
markup.

The service runs as a real ``python -m services.ingest`` process against the real Kafka; the
probe runs in this process, so its timings are not skewed by the service's own event loop.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from pathlib import Path
from typing import Any

from aiohttp import web

from common.topics import ensure_topics
from devkit.replay.kit import SECRET
from devkit.replay.server import ReplayServer
from services.ingest.runtime.settings import IngestSettings
from services.ingest.runtime.text import html_to_text

ROOT = Path(__file__).resolve().parents[1]
ENTRY = (
    "<item><guid>big-{n}</guid><title>Report {n}: potholes on Green Lanes</title>"
    "<link>https://news.example/{n}</link><description><![CDATA[<p>{body}</p>]]></description></item>"
)


def big_feed(target_bytes: int) -> bytes:
    body = "Residents report a deep pothole near the junction; the council says it will act. " * 12
    parts = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>big</title>']
    size, n = 0, 0
    while size < target_bytes:
        entry = ENTRY.format(n=n, body=body)
        parts.append(entry)
        size += len(entry)
        n += 1
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def gzip_bomb(decoded_bytes: int) -> bytes:
    """gzip of ``decoded_bytes`` zero bytes, built a MiB at a time (about 1 MB per GiB)."""
    out = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    chunk = b"\0" * (1 << 20)
    parts = [out.compress(chunk) for _ in range(decoded_bytes // len(chunk))]
    parts.append(out.flush())
    return b"".join(parts)


def _app(feed: bytes, bomb: bytes) -> web.Application:
    async def big(_: web.Request) -> web.Response:
        return web.Response(body=feed, content_type="application/rss+xml")

    async def boom(_: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})

    app = web.Application()
    app.add_routes([web.get("/big.xml", big), web.get("/bomb.xml", boom)])
    return app


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _probe(url: str, seconds: float) -> tuple[list[float], int]:
    latencies: list[float] = []
    failures = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                response.read()
            latencies.append(time.perf_counter() - started)
        except OSError:
            failures += 1
        time.sleep(0.05)
    return latencies, failures


def bench_health_under_load(
    bootstrap: str, seconds: float, feed_mb: int, bomb_gib: int
) -> dict[str, Any]:
    """/healthz p50/p99/max while both hostile feeds are polled every second; peak RSS."""
    prefix = f"benchh{os.getpid()}-"
    ensure_topics(bootstrap, prefix=prefix)
    feed = big_feed(feed_mb * 1024 * 1024)
    bomb = gzip_bomb(bomb_gib * 1024 * 1024 * 1024)
    settings = IngestSettings(pseudonym_secret=SECRET)
    with ReplayServer(_app(feed, bomb)) as base, tempfile.TemporaryDirectory() as tmp:
        sources = Path(tmp) / "sources.yaml"
        sources.write_text(
            "sources:\n  - name: hostile\n    kind: rss\n    poll_interval_s: 1\n    feeds:\n"
            f"      - {{url: '{base}/big.xml', name: big}}\n"
            f"      - {{url: '{base}/bomb.xml', name: bomb}}\n"
        )
        port = _free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "EARSHOT_KAFKA_BOOTSTRAP": bootstrap,
            "EARSHOT_TOPIC_PREFIX": prefix,
            "EARSHOT_SOURCES_FILE": str(sources),
            "EARSHOT_PSEUDONYM_SECRET": SECRET.get_secret_value(),
            "EARSHOT_HTTP_PORT": str(port),
            "EARSHOT_LOG_LEVEL": "WARNING",
        }
        log = Path(tmp) / "ingest.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "services.ingest"], cwd=ROOT, env=env, stdout=out, stderr=out
            )
        try:
            url = f"http://127.0.0.1:{port}/healthz"
            _wait_up(url, proc)
            baseline_mb = _peak_rss_mb(proc.pid)
            latencies, failures = _probe(url, seconds)
            peak_mb = _peak_rss_mb(proc.pid)
            final = json.loads(urllib.request.urlopen(url, timeout=10).read())
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    latencies.sort()
    return {
        "feed_mb": round(len(feed) / 1e6, 1),
        "bomb_wire_mb": round(len(bomb) / 1e6, 2),
        "bomb_decoded_gib": bomb_gib,
        "decoded_cap_mb": settings.max_decoded_bytes // (1024 * 1024),
        "wire_cap_mb": settings.max_response_bytes // (1024 * 1024),
        "probes": len(latencies),
        "probe_failures": failures,
        "healthz_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "healthz_p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))] * 1000, 1),
        "healthz_max_ms": round(latencies[-1] * 1000, 1),
        "rss_after_start_mb": round(baseline_mb, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "streams": {k: v["state"] for k, v in final["streams"].items()},
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_up(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"ingest exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("ingest did not answer /healthz in 120 s")


PATHOLOGICAL = ("<a ", "<ul>", "<dl><dd>", "<div>", "<b><i>", "&#", "<!--")


def bench_html(chars: int) -> dict[str, Any]:
    """Seconds to extract text from ``chars`` characters of each pathological pattern, and
    from an ordinary article of the same size (linear time means they are alike)."""
    out: dict[str, Any] = {"chars": chars}
    article = (
        "<p>Residents say the <b>pothole</b> on <a href='/x'>Green Lanes</a> is back.</p>" * chars
    )[:chars]
    for label, text in [("article", article), *((u, u * (chars // len(u))) for u in PATHOLOGICAL)]:
        started = time.perf_counter()
        html_to_text(text)
        out[label] = round(time.perf_counter() - started, 3)
    return out
