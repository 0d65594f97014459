"""The notifier's health says ok only after Kafka and SMTP answered, and degraded while either fails."""

from __future__ import annotations

import time

from services.notifier.health import Metrics


def test_starting_until_both_answered_then_ok() -> None:
    m = Metrics()
    assert m.status() == "starting" and not m.healthy()
    m.kafka.ok()
    assert m.status() == "starting"
    m.smtp_ok(sent=False)
    assert m.status() == "ok" and m.healthy()


def test_degraded_while_kafka_or_smtp_fails_then_ok_after_a_success() -> None:
    m = Metrics()
    m.kafka.ok()
    m.smtp_ok()
    m.kafka.failed("offset commit failed: NodeNotReadyError")
    assert m.status() == "degraded"
    m.kafka.ok()
    m.smtp_failed("SMTP server unreachable: ConnectionRefusedError")
    assert m.status() == "degraded"
    m.smtp_ok()
    assert m.status() == "ok"
    m.kafka_outage = lambda: "12 connection errors since 10:00:01: connect attempt failed"
    assert m.status() == "degraded"


def test_unhealthy_when_a_person_is_needed() -> None:
    m = Metrics(unhealthy_after_s=300)
    m.kafka.ok()
    m.smtp_ok()
    m.config_error = "departments.yaml line 3: addresses: field required"
    assert m.status() == "unhealthy"
    m.config_error = None
    m.smtp_failed("SMTP 421 try later")
    assert m.smtp.failing_since is not None
    m.smtp.failing_since = time.time() - 301
    assert m.status() == "unhealthy"
