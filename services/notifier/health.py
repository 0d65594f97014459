"""Metrics (Prometheus) and health of the notifier, served with aiohttp on ``/metrics`` and ``/healthz``.

``/healthz`` answers 503 while the SMTP server has been failing for longer than
``unhealthy_after_s`` or the departments file could not be reloaded, so an
orchestrator or a dashboard sees the outage; alerts wait meanwhile.
"""

from __future__ import annotations

import time
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
class SmtpState:
    failing_since: float | None = None
    last_error: str | None = None


class Metrics:
    """Counters of one notifier process (own registry: tests run several in one interpreter)."""

    def __init__(self, unhealthy_after_s: float = 300.0) -> None:
        self.registry = CollectorRegistry()
        self.alerts = Counter(
            "earshot_notifier_alerts",
            "Alerts handled, by outcome (sent, held, duplicate, dead_lettered)",
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
        self.smtp = SmtpState()
        self.config_error: str | None = None
        self.unhealthy_after_s = unhealthy_after_s

    def set_held(self, count: int) -> None:
        """Alerts now waiting for a digest."""
        self.held_count = count
        self.held.set(count)

    def smtp_failed(self, error: str) -> None:
        """An SMTP attempt failed and will be retried."""
        if self.smtp.failing_since is None:
            self.smtp.failing_since = time.time()
        self.smtp.last_error = error[:500]
        self.smtp_retries.inc()

    def smtp_ok(self) -> None:
        """The SMTP server accepted an email."""
        self.smtp = SmtpState()
        self.last_sent.set(time.time())

    def healthy(self) -> bool:
        """False while SMTP has failed for too long or the departments file is broken."""
        since = self.smtp.failing_since
        smtp_ok = since is None or time.time() - since < self.unhealthy_after_s
        return smtp_ok and self.config_error is None


def routes(metrics: Metrics) -> list[web.RouteDef]:
    """The ``/healthz`` and ``/metrics`` routes."""

    async def healthz(_: web.Request) -> web.Response:
        body = {
            "status": "ok" if metrics.healthy() else "unhealthy",
            "smtp": {
                "failing_since": metrics.smtp.failing_since,
                "last_error": metrics.smtp.last_error,
            },
            "config_error": metrics.config_error,
            "held_alerts": metrics.held_count,
        }
        return web.json_response(body, status=200 if metrics.healthy() else 503)

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
