"""Metrics (Prometheus) and health of an ingestion process, served with aiohttp.

``/healthz`` answers 200 while the process can make progress (at least one stream
not parked, or an intake route) and 503 otherwise. Its ``status`` is ``ok`` only when
every stream has succeeded since it last failed; while any stream is starting or
retrying it is ``degraded``. The body lists every stream's state so an operator sees
which feed is retrying or parked, and why. The handler only reads in-memory state, so it
answers at once whatever the streams are doing. ``/metrics`` is the
Prometheus text format from a per-process registry (tests run several at once).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)

State = Literal["starting", "ok", "retrying", "parked", "stopped"]


@dataclass
class StreamHealth:
    state: State = "starting"
    last_success: float | None = None
    last_error: str | None = None


class Metrics:
    """Counters and gauges labelled by source instance and stream."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        labels = ("kind", "instance", "stream")
        self.fetched = Counter(
            "earshot_ingest_fetched", "API items fetched", labels, registry=self.registry
        )
        self.produced = Counter(
            "earshot_ingest_produced", "Mentions committed to Kafka", labels, registry=self.registry
        )
        self.dead_lettered = Counter(
            "earshot_ingest_dead_lettered", "Payloads dead-lettered", labels, registry=self.registry
        )
        self.retries = Counter(
            "earshot_ingest_retries",
            "Retries after a Retryable error",
            labels,
            registry=self.registry,
        )
        self.reconnects = Counter(
            "earshot_ingest_reconnects",
            "Long-lived streams re-entered after the server closed them normally",
            labels,
            registry=self.registry,
        )
        self.last_success = Gauge(
            "earshot_ingest_last_success_timestamp_seconds",
            "Unix time of the last successful pass",
            labels,
            registry=self.registry,
        )
        self.parked = Gauge(
            "earshot_ingest_parked",
            "1 when a stream is parked on a permanent error",
            labels,
            registry=self.registry,
        )
        self.streams: dict[str, StreamHealth] = {}
        self.intake_routes = 0

    def health(self, key: str) -> StreamHealth:
        return self.streams.setdefault(key, StreamHealth())

    def mark(self, key: str, labels: Sequence[str], state: State, error: str | None = None) -> None:
        """Record a stream's new state; 'ok' also stamps the last-success time."""
        h = self.health(key)
        h.state = state
        if state == "ok":
            h.last_success = time.time()
            h.last_error = None
            self.last_success.labels(*labels).set(h.last_success)
        elif error is not None:
            h.last_error = error[:500]
        self.parked.labels(*labels).set(1 if state == "parked" else 0)

    def healthy(self) -> bool:
        """The process can make progress: an intake route, or a stream that is not parked."""
        if self.intake_routes:
            return True
        return any(h.state != "parked" for h in self.streams.values())

    def status(self) -> str:
        """``ok``, ``degraded`` (a stream starting, retrying or parked) or ``unhealthy``."""
        if not self.healthy():
            return "unhealthy"
        return "ok" if all(h.state == "ok" for h in self.streams.values()) else "degraded"


def health_routes(metrics: Metrics) -> list[web.RouteDef]:
    """The ``/healthz`` and ``/metrics`` routes for one process."""

    async def healthz(_: web.Request) -> web.Response:
        body = {
            "status": metrics.status(),
            "streams": {
                key: {"state": h.state, "last_success": h.last_success, "last_error": h.last_error}
                for key, h in sorted(metrics.streams.items())
            },
        }
        return web.json_response(body, status=200 if metrics.healthy() else 503)

    async def prometheus(_: web.Request) -> web.Response:
        body = generate_latest(metrics.registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return [web.get("/healthz", healthz), web.get("/metrics", prometheus)]
