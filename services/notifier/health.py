"""Metrics (Prometheus) and health of the notifier, served with aiohttp on ``/metrics`` and ``/healthz``.

``/healthz`` says ``ok`` (200) only once the notifier has reached Kafka and the
SMTP server and while neither is failing; otherwise 503 with ``starting``
(neither reached yet), ``degraded`` (Kafka or SMTP failing now: alerts wait,
nothing is lost) or ``unhealthy`` (the departments file is broken, or SMTP has
failed for longer than ``unhealthy_after_s``: a person is needed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
)


@dataclass
class LinkState:
    """One dependency as last seen: reached at least once, and failing since when (if it is)."""

    reached: bool = False
    failing_since: float | None = None
    last_error: str | None = None

    def failed(self, error: str) -> None:
        if self.failing_since is None:
            self.failing_since = time.time()
        self.last_error = error[:500]

    def ok(self) -> None:
        self.reached = True
        self.failing_since = None
        self.last_error = None

    def as_json(self) -> dict[str, object]:
        return {
            "reached": self.reached,
            "failing_since": self.failing_since,
            "last_error": self.last_error,
        }


class Metrics:
    """Counters of one notifier process (own registry: tests run several in one interpreter)."""

    def __init__(self, unhealthy_after_s: float = 300.0) -> None:
        self.registry = CollectorRegistry()
        self.alerts = Counter(
            "earshot_notifier_alerts",
            "Alerts handled, by outcome (sent, held, duplicate, folded, edited, dead_lettered)",
            ["outcome"],
            registry=self.registry,
        )
        self.emails = Counter(
            "earshot_notifier_emails",
            "Emails the SMTP server accepted, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.smtp_retries = Counter(
            "earshot_notifier_smtp_retries",
            "SMTP attempts that will be retried",
            registry=self.registry,
        )
        self.held = Gauge(
            "earshot_notifier_held_alerts", "Alerts waiting for a digest", registry=self.registry
        )
        self.last_sent = Gauge(
            "earshot_notifier_last_sent_timestamp_seconds",
            "Unix time the SMTP server last accepted an email",
            registry=self.registry,
        )
        self.held_count = 0
        self.smtp = LinkState()
        self.kafka = LinkState()
        self.kafka_outage: Callable[[], str | None] = lambda: None
        """The Kafka client's own connection errors right now (from the log summary), if any."""
        self.config_error: str | None = None
        self.unhealthy_after_s = unhealthy_after_s

    def set_held(self, count: int) -> None:
        """Alerts now waiting for a digest."""
        self.held_count = count
        self.held.set(count)

    def smtp_failed(self, error: str) -> None:
        """An SMTP attempt failed and will be retried."""
        self.smtp.failed(error)
        self.smtp_retries.inc()

    def smtp_ok(self, sent: bool = True) -> None:
        """The SMTP server answered (``sent``: it accepted an email)."""
        self.smtp.ok()
        if sent:
            self.last_sent.set(time.time())

    def status(self) -> str:
        """``ok``, ``starting``, ``degraded`` or ``unhealthy`` (see the module docstring)."""
        since = self.smtp.failing_since
        if self.config_error is not None or (
            since is not None and time.time() - since >= self.unhealthy_after_s
        ):
            return "unhealthy"
        if self.kafka.failing_since is not None or since is not None or self.kafka_outage():
            return "degraded"
        if not (self.kafka.reached and self.smtp.reached):
            return "starting"
        return "ok"

    def healthy(self) -> bool:
        """True only when :meth:`status` is ``ok``."""
        return self.status() == "ok"


def routes(metrics: Metrics) -> list[web.RouteDef]:
    """The ``/healthz`` and ``/metrics`` routes."""

    async def healthz(_: web.Request) -> web.Response:
        status = metrics.status()
        kafka = metrics.kafka.as_json()
        outage = metrics.kafka_outage()
        if outage and kafka["last_error"] is None:
            kafka["last_error"] = outage
        body = {
            "status": status,
            "kafka": kafka,
            "smtp": metrics.smtp.as_json(),
            "config_error": metrics.config_error,
            "held_alerts": metrics.held_count,
        }
        return web.json_response(body, status=200 if status == "ok" else 503)

    async def prometheus(_: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(metrics.registry), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    return [web.get("/healthz", healthz), web.get("/metrics", prometheus)]


async def serve(metrics: Metrics, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start the HTTP endpoints; return the runner (to clean up) and the bound port."""
    app = web.Application()
    app.add_routes(routes(metrics))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner, int(runner.addresses[0][1])
