"""Throttling, quiet hours, digests and retries of the notifier, with a fake clock and fake transports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from common.retry import Permanent, Retryable, RetryPolicy
from common.routing.config import Department, DigestSchedule, QuietHours, Throttle
from common.routing.load import load_routing
from schemas.ids import alert_id
from schemas.models import Alert, CodedArea, MentionSnapshot, Reason
from services.notifier.dispatcher import Dispatcher, UnknownDepartment
from services.notifier.health import Metrics
from services.notifier.policy import ThrottleWindow, in_quiet_hours, last_slot
from services.notifier.render import Email, Renderer, Style
from services.notifier.smtp import SmtpConfigError

LONDON = ZoneInfo("Europe/London")
CONFIG = """
departments:
  - id: roads
    name: Roads
    council: E09000014
    addresses: [roads@haringey.example, duty@haringey.example]
    digest: {every: daily, at: '08:30'}
    quiet_hours: {start: '20:00', end: '07:00', allow: [critical]}
    throttle: {max_immediate: 3, window_minutes: 60}
    kibana_link: "{kibana}/app/discover#/?_a=(query:(language:kuery,query:'{query}'))"
  - id: bins
    name: Bins
    addresses: [bins@haringey.example]
    digest: {every: hourly, minute: 5}
    kibana_link: "{kibana}/x?q={query}"
"""


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class FakeMailer:
    sent: list[Email] = field(default_factory=list)
    failures: list[Exception] = field(default_factory=list)

    def send(self, email: Email) -> Mapping[str, tuple[int, bytes]]:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(email)
        return {}


@dataclass
class FakeLedger:
    ids: dict[str, str] = field(default_factory=dict)
    immediate: list[tuple[str, datetime]] = field(default_factory=list)
    edited: dict[str, str | None] = field(default_factory=dict)
    """Per alert id, the edit time (ISO) of the version recorded, as the Kafka ledger keeps it."""

    def has(self, alert_id: str) -> bool:
        return alert_id in self.ids

    def carried(self, alert_id: str) -> tuple[str, datetime | None] | None:
        if alert_id not in self.ids:
            return None
        edited = self.edited.get(alert_id)
        return self.ids[alert_id], datetime.fromisoformat(edited) if edited else None

    def edit(self, alert_id: str, audit: dict[str, Any]) -> None:
        self.edited[alert_id] = audit["edited_at"]

    notes: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def record(
        self,
        email: Email,
        sent_at: datetime,
        audit: dict[str, Any],
        notes: Mapping[str, Mapping[str, Any]],
    ) -> None:
        for a in email.alert_ids:
            self.ids[a] = email.message_id
            self.edited[a] = notes[a]["edited_at"]
        self.notes.update(notes)
        if email.kind == "immediate":
            self.immediate.append((email.department, sent_at))

    def fold(self, alert_id: str, department: str, into: str, audit: dict[str, Any]) -> None:
        self.ids[alert_id] = into
        self.edited[alert_id] = audit["edited_at"]

    def immediate_sends(self, since: datetime) -> Iterable[tuple[str, datetime]]:
        return [(d, at) for d, at in self.immediate if at >= since]


@dataclass
class Rig:
    dispatcher: Dispatcher
    clock: Clock
    mailer: FakeMailer
    ledger: FakeLedger
    audits: list[dict[str, Any]]
    dead: list[tuple[str, BaseException]]
    sleeps: list[float]
    metrics: Metrics


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return make_rig(tmp_path)


def make_rig(tmp_path: Path) -> Rig:
    """A dispatcher over fake mailer, ledger and auditor, with a fake clock at Fri 10:00 GMT."""
    path = tmp_path / "departments.yaml"
    path.write_text(CONFIG)
    renderer = Renderer(load_routing(path), {}, Style("Earshot <e@council.example>", "t.local"))
    clock = Clock(datetime(2026, 11, 20, 10, 0, tzinfo=UTC))  # 10:00 GMT, a Friday
    mailer, ledger = FakeMailer(), FakeLedger()
    audits: list[dict[str, Any]] = []
    dead: list[tuple[str, BaseException]] = []
    sleeps: list[float] = []

    class Auditor:
        def submit(self, doc: dict[str, Any]) -> None:
            audits.append(doc)

    async def dead_letter(alert: Alert, partition: int, offset: int, exc: BaseException) -> None:
        dead.append((alert.alert_id, exc))

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    metrics = Metrics()
    dispatcher = Dispatcher(
        lambda: renderer,
        mailer=mailer,
        ledger=ledger,
        auditor=Auditor(),
        dead_letter=dead_letter,
        metrics=metrics,
        clock=clock,
        policy=RetryPolicy(base=0.5, cap=5, max_attempts=None),
        sleep=sleep,
    )
    return Rig(dispatcher, clock, mailer, ledger, audits, dead, sleeps, metrics)


def alert(
    n: int,
    clock: Clock,
    department: str = "roads",
    delivery: str = "immediate",
    severity: str = "medium",
) -> Alert:
    mention_id = f"{n:032x}"
    return Alert(
        alert_id=alert_id(mention_id, "r"),
        kind="rule",
        rule_id="r",
        department=department,
        severity=severity,  # type: ignore[arg-type]
        delivery=delivery,  # type: ignore[arg-type]
        reasons=(Reason(clause="topics.any", detail="highways"),),
        created_at=clock.now,
        mention=MentionSnapshot(
            mention_id=mention_id,
            source_kind="mastodon",
            text=f"Pothole number {n}",
            created_at=clock.now,
            ward=CodedArea(code="E05013602", name="Tottenham Hale"),
            topics=("highways",),
        ),
    )


async def test_an_immediate_alert_is_sent_recorded_and_audited(rig: Rig) -> None:
    a = alert(1, rig.clock)
    assert await rig.dispatcher.handle(a, 0, 10)
    (mail,) = rig.mailer.sent
    assert mail.recipients == ("roads@haringey.example", "duty@haringey.example")
    assert rig.ledger.ids == {a.alert_id: mail.message_id}
    (doc,) = rig.audits
    assert (
        doc["alert_ids"] == [a.alert_id]
        and doc["department"] == "roads"
        and doc["kind"] == "immediate"
    )
    assert doc["recipients"] == list(mail.recipients) and doc["message_id"] == mail.message_id
    assert doc["sent_at"] == rig.clock.now.isoformat()
    assert rig.dispatcher.held_floor() == {}


async def test_a_redelivered_alert_is_not_sent_twice(rig: Rig) -> None:
    a = alert(1, rig.clock)
    assert await rig.dispatcher.handle(a, 0, 10)
    assert await rig.dispatcher.handle(a, 0, 10)
    assert len(rig.mailer.sent) == 1


async def test_a_burst_is_throttled_into_the_next_digest_and_both_emails_say_so(rig: Rig) -> None:
    burst = [alert(i, rig.clock) for i in range(5)]
    done = [await rig.dispatcher.handle(a, 0, i) for i, a in enumerate(burst)]
    assert done == [True, True, True, False, False]
    assert len(rig.mailer.sent) == 3
    last_plain = rig.mailer.sent[2].message.get_body(("plain",))
    assert last_plain is not None
    assert (
        "This is the last immediate email Roads gets until Fri 20 Nov 2026, 11:00 GMT"
        in last_plain.get_content()
    )
    assert rig.dispatcher.held_floor() == {0: 3}  # offsets 3 and 4 wait for the digest
    rig.clock.advance(hours=5)  # 15:00: the daily digest (08:30) already went today
    assert await rig.dispatcher.flush_due() == 0
    rig.clock.now = datetime(2026, 11, 21, 8, 30, tzinfo=UTC)  # Saturday 08:30 GMT
    assert await rig.dispatcher.flush_due() == 2
    digest = rig.mailer.sent[-1]
    assert digest.kind == "digest" and set(digest.alert_ids) == {
        burst[3].alert_id,
        burst[4].alert_id,
    }
    body = digest.message.get_body(("plain",))
    assert (
        body is not None
        and "2 of these were held back from immediate email: 2 by the throttle"
        in body.get_content()
    )
    assert rig.audits[-1]["held_throttled"] == 2
    assert rig.dispatcher.held_floor() == {} and rig.metrics.held_count == 0


async def test_the_throttle_window_slides(rig: Rig) -> None:
    for i in range(3):
        assert await rig.dispatcher.handle(alert(i, rig.clock), 0, i)
        rig.clock.advance(minutes=20)
    # 11:00: the first email (10:00) left the window
    assert await rig.dispatcher.handle(alert(3, rig.clock), 0, 3)
    assert not await rig.dispatcher.handle(alert(4, rig.clock), 0, 4)


async def test_digest_alerts_wait_for_the_slot(rig: Rig) -> None:
    a = alert(1, rig.clock, department="bins", delivery="digest")  # hourly at :05
    assert not await rig.dispatcher.handle(a, 2, 7)
    assert rig.dispatcher.held_floor() == {2: 7}
    rig.clock.advance(minutes=4)
    assert await rig.dispatcher.flush_due() == 0
    rig.clock.advance(minutes=1)
    assert await rig.dispatcher.flush_due() == 1
    assert rig.mailer.sent[0].kind == "digest" and rig.ledger.has(a.alert_id)


async def test_quiet_hours_hold_all_but_critical_until_the_next_digest(rig: Rig) -> None:
    rig.clock.now = datetime(2026, 11, 20, 22, 0, tzinfo=UTC)
    assert not await rig.dispatcher.handle(alert(1, rig.clock), 0, 1)
    assert await rig.dispatcher.handle(alert(2, rig.clock, severity="critical"), 0, 2)
    assert len(rig.mailer.sent) == 1
    rig.clock.now = datetime(2026, 11, 21, 8, 29, tzinfo=UTC)
    assert await rig.dispatcher.flush_due() == 0
    rig.clock.now = datetime(2026, 11, 21, 8, 30, tzinfo=UTC)  # the next digest carries it
    assert await rig.dispatcher.flush_due() == 1
    body = rig.mailer.sent[-1].message.get_body(("plain",))
    assert body is not None and "1 during quiet hours" in body.get_content()


async def test_after_a_restart_a_missed_digest_goes_at_once(rig: Rig) -> None:
    stale = alert(1, rig.clock, delivery="digest")  # created Fri 10:00
    rig.clock.now = datetime(
        2026, 11, 21, 9, 0, tzinfo=UTC
    )  # replayed Sat 09:00, slot 08:30 passed
    assert not await rig.dispatcher.handle(stale, 0, 1)
    assert await rig.dispatcher.flush_due() == 1


async def test_smtp_outage_retries_with_backoff_then_sends_once(rig: Rig) -> None:
    rig.mailer.failures = [Retryable("connection refused"), Retryable("451 try later")]
    a = alert(1, rig.clock)
    assert await rig.dispatcher.handle(a, 0, 1)
    assert len(rig.mailer.sent) == 1 and len(rig.sleeps) == 2
    assert all(0 <= s <= 5 for s in rig.sleeps)
    assert rig.metrics.smtp.failing_since is None  # healthy again


async def test_a_permanent_refusal_is_dead_lettered_not_retried(rig: Rig) -> None:
    rig.mailer.failures = [Permanent("552 message too big")]
    a = alert(1, rig.clock)
    assert await rig.dispatcher.handle(a, 0, 1)
    assert rig.dead == [(a.alert_id, rig.dead[0][1])] and "552" in str(rig.dead[0][1])
    assert not rig.ledger.has(a.alert_id) and rig.mailer.sent == []


async def test_bad_smtp_settings_stop_the_dispatcher(rig: Rig) -> None:
    rig.mailer.failures = [SmtpConfigError("SMTP login refused (535)")]
    with pytest.raises(SmtpConfigError):
        await rig.dispatcher.handle(alert(1, rig.clock), 0, 1)


async def test_an_unknown_department_is_dead_lettered(rig: Rig) -> None:
    a = alert(1, rig.clock, department="nobody")
    assert await rig.dispatcher.handle(a, 0, 1)
    assert isinstance(rig.dead[0][1], UnknownDepartment)


async def test_throttle_state_is_restored_from_the_ledger(rig: Rig) -> None:
    rig.ledger.immediate = [("roads", rig.clock.now - timedelta(minutes=m)) for m in (5, 10, 15)]
    rig.dispatcher.restore_throttle()
    assert not await rig.dispatcher.handle(alert(1, rig.clock), 0, 1)


async def test_revoked_partitions_drop_their_held_alerts(rig: Rig) -> None:
    await rig.dispatcher.handle(alert(1, rig.clock, delivery="digest"), 0, 1)
    await rig.dispatcher.handle(alert(2, rig.clock, delivery="digest"), 1, 5)
    rig.dispatcher.drop_partitions([0])
    assert rig.dispatcher.held_floor() == {1: 5}


def dept(**changes: Any) -> Department:
    base = Department(
        id="d",
        name="D",
        addresses=("d@x.example",),
        digest=DigestSchedule(every="daily", at=datetime(2026, 1, 1, 8, 30).time()),
        kibana_link="{kibana}/?q={query}",
    )
    return base.model_copy(update=changes)


def test_daily_slots_follow_london_time_across_the_clock_change() -> None:
    summer = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert last_slot(dept(), LONDON, summer) == datetime(2026, 7, 1, 7, 30, tzinfo=UTC)  # 08:30 BST
    winter = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    assert last_slot(dept(), LONDON, winter) == datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
    after_change = datetime(
        2026, 3, 30, 7, 0, tzinfo=UTC
    )  # Monday after the spring change, 08:00 BST
    assert last_slot(dept(), LONDON, after_change) == datetime(2026, 3, 29, 7, 30, tzinfo=UTC)


def test_hourly_slots_skip_quiet_hours() -> None:
    d = dept(
        digest=DigestSchedule(every="hourly", minute=15),
        quiet_hours=QuietHours(
            start=datetime(2026, 1, 1, 22).time(), end=datetime(2026, 1, 1, 7).time()
        ),
    )
    assert last_slot(d, LONDON, datetime(2026, 12, 1, 13, 20, tzinfo=UTC)) == datetime(
        2026, 12, 1, 13, 15, tzinfo=UTC
    )
    assert last_slot(d, LONDON, datetime(2026, 12, 2, 3, 0, tzinfo=UTC)) == datetime(
        2026, 12, 1, 21, 15, tzinfo=UTC
    )
    assert last_slot(d, LONDON, datetime(2026, 12, 2, 7, 0, tzinfo=UTC)) == datetime(
        2026, 12, 2, 7, 0, tzinfo=UTC
    )
    assert in_quiet_hours(d, LONDON, datetime(2026, 12, 2, 23, 0, tzinfo=UTC))
    assert not in_quiet_hours(d, LONDON, datetime(2026, 12, 2, 7, 0, tzinfo=UTC))


def test_throttle_window_counts() -> None:
    window = ThrottleWindow()
    limit = Throttle(max_immediate=2, window_minutes=10)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert window.allows("d", limit, t0)
    window.record("d", t0)
    window.record("d", t0 + timedelta(minutes=1))
    assert not window.allows("d", limit, t0 + timedelta(minutes=5))
    assert window.reopens_at("d", limit, t0 + timedelta(minutes=5)) == t0 + timedelta(minutes=10)
    assert window.allows("d", limit, t0 + timedelta(minutes=10))


async def test_a_held_alert_sent_by_another_instance_is_dropped_not_sent(rig: Rig) -> None:
    a = alert(1, rig.clock, delivery="digest")
    assert not await rig.dispatcher.handle(a, 0, 4)
    rig.ledger.ids[a.alert_id] = "elsewhere@t.local"  # seen in the ledger after a rebalance
    assert await rig.dispatcher.flush_due() == 0
    assert rig.mailer.sent == [] and rig.dispatcher.held_floor() == {}
