"""The notifier's decisions: send now, hold for the digest, or drop a duplicate; and send digests.

Transport-free: the SMTP client, the ledger, the audit and the clock are
injected, so throttling and digests are tested with a fake clock and the same
code runs against a real server. Contract of :meth:`Dispatcher.handle`: when it
returns True the alert is done (its email was accepted by the SMTP server and
recorded in the ledger, or it was a duplicate, or a copy of an incident already
emailed and recorded as folded into it, or a newer edit of an alert already
emailed, audited as ``edited`` and never emailed again, or it was
dead-lettered); when it returns
False the alert is held for a digest (or folded into a held incident) and
:meth:`Dispatcher.held_floor` keeps its offset from being committed until that
digest is done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from common.retry import Permanent, Retryable, RetryPolicy, retry_async
from common.routing.config import Department
from schemas.models import Alert
from services.notifier.audit import audit_doc, edit_doc, edited_at, edited_at_of, fold_doc
from services.notifier.digest import Held, HeldWhy, copies_in, render_digest
from services.notifier.health import Metrics
from services.notifier.incidents import Incidents, Match
from services.notifier.policy import ThrottleWindow, last_slot, may_send_now
from services.notifier.render import Email, Renderer
from services.notifier.text import local_time

log = logging.getLogger(__name__)


class UnknownDepartment(Permanent):
    """The alert names a department the departments file does not have (any more)."""


class Mailer(Protocol):
    def send(self, email: Email) -> Mapping[str, tuple[int, bytes]]:
        """Hand ``email`` to the server; return refused recipients; raise Retryable/Permanent."""
        ...


class Ledger(Protocol):
    def has(self, alert_id: str) -> bool: ...

    def record(
        self,
        email: Email,
        sent_at: datetime,
        audit: dict[str, Any],
        notes: Mapping[str, Mapping[str, Any]],
    ) -> None:
        """Durably record every alert id of a sent email, with ``notes`` per alert id
        (its incident, or what it was folded into); raise Retryable while that fails."""
        ...

    def fold(self, alert_id: str, department: str, into: str, audit: dict[str, Any]) -> None:
        """Durably record that ``alert_id`` was a copy of the email ``into`` (raise Retryable)."""
        ...

    def carried(self, alert_id: str) -> tuple[str, datetime | None] | None:
        """(Message-ID that carried ``alert_id``, edit time of that version), or None if unrecorded."""
        ...

    def edit(self, alert_id: str, audit: dict[str, Any]) -> None:
        """Durably record the edit audited by ``audit`` as ``alert_id``'s version (raise Retryable)."""
        ...

    def immediate_sends(self, since: datetime) -> Iterable[tuple[str, datetime]]:
        """(department, sent_at) of immediate emails sent since ``since``."""
        ...


class Auditor(Protocol):
    def submit(self, doc: dict[str, Any]) -> None: ...


DeadLetter = Callable[[Alert, int, int, BaseException], Awaitable[None]]


def newer_edit(alert: Alert, known: datetime | None) -> datetime | None:
    """``alert``'s edit time when it is an edit newer than the version edited at ``known``."""
    edited = edited_at(alert)
    return edited if edited is not None and (known is None or edited > known) else None


class Dispatcher:
    """Per-department throttle, quiet hours and digest buffers over one mailer and ledger."""

    def __init__(
        self,
        renderer: Callable[[], Renderer],
        *,
        mailer: Mailer,
        ledger: Ledger,
        auditor: Auditor,
        dead_letter: DeadLetter,
        metrics: Metrics,
        clock: Callable[[], datetime],
        policy: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        incidents: Incidents | None = None,
    ) -> None:
        self._renderer = renderer
        self._mailer = mailer
        self._ledger = ledger
        self._auditor = auditor
        self._dead_letter = dead_letter
        self._metrics = metrics
        self._clock = clock
        self._policy = policy
        self._sleep = sleep
        self.throttle = ThrottleWindow()
        self.held: dict[str, dict[str, Held]] = {}
        self.incidents = incidents or Incidents()

    def restore_throttle(self) -> None:
        """Count the immediate emails the ledger says went out in the last day (after a restart)."""
        for department, at in self._ledger.immediate_sends(self._clock() - timedelta(days=1)):
            self.throttle.record(department, at)

    # -- alerts ----------------------------------------------------------------------------------
    async def handle(self, alert: Alert, partition: int, offset: int) -> bool:
        """Decide and act on one alert; True when done, False when held for a digest."""
        r = self._renderer()
        dept = r.config.department(alert.department)
        if dept is None:
            await self._dead(
                alert,
                partition,
                offset,
                UnknownDepartment(f"no department {alert.department!r} in the departments file"),
            )
            return True
        carried = self._ledger.carried(alert.alert_id)
        if carried is not None and await self._edited(alert, *carried):
            return True
        waiting = self.held.get(dept.id, {}).get(alert.alert_id)
        if waiting is not None and newer_edit(alert, edited_at(waiting.alert)):
            # Not emailed yet: the digest carries the newest version (the offset floor stays
            # the held one's, so a replay from there still brings this edit).
            self.held[dept.id][alert.alert_id] = replace(waiting, alert=alert)
            self._metrics.alerts.labels("edited").inc()
            return True
        if carried is not None or waiting is not None:
            self._metrics.alerts.labels("duplicate").inc()
            return True
        incident = self.incidents.of(alert)
        match = self.incidents.match(incident) if incident is not None else None
        if match is not None:
            return await self._fold(alert, match, partition, offset)
        now = self._clock()
        limit = r.config.throttle_of(dept)
        why: HeldWhy | None = None
        if alert.delivery == "digest":
            why = "digest"
        elif not may_send_now(dept, alert.severity, r.zone, now):
            why = "quiet_hours"
        elif not self.throttle.allows(dept.id, limit, now):
            why = "throttled"
        if why is not None:
            self.held.setdefault(dept.id, {})[alert.alert_id] = Held(alert, why, partition, offset)
            if incident is not None:
                self.incidents.add(incident)  # copies arriving before the digest fold into it
            self._metrics.alerts.labels("held").inc()
            self._metrics.set_held(self.held_count())
            return False
        self.throttle.record(dept.id, now)
        notes = []
        if self.throttle.left(dept.id, limit, now) == 0:
            reopen = self.throttle.reopens_at(dept.id, limit, now)
            notes.append(
                f"This is the last immediate email {dept.name} gets until {local_time(reopen, r.zone)} "
                f"(at most {limit.max_immediate} per {limit.window_minutes} minutes). Alerts until "
                "then roll into the next digest, which will say how many."
            )
        email = r.immediate(alert, dept, now, notes)
        held = [Held(alert, "immediate", partition, offset)]
        if await self._deliver(email, held):
            self._metrics.alerts.labels("sent").inc()
        return True

    async def _fold(self, alert: Alert, match: Match, partition: int, offset: int) -> bool:
        """Record ``alert`` as a copy of an emailed incident (True), or hold it with a held one."""
        head = match.incident
        if head.message_id is None:
            held = Held(alert, "folded", partition, offset, folded_into=head.alert_id)
            self.held.setdefault(head.department, {})[alert.alert_id] = held
            self._metrics.alerts.labels("held").inc()
            self._metrics.set_held(self.held_count())
            return False
        into = head.message_id
        doc = fold_doc(alert, match, into, self._clock())
        await self._durably(lambda: self._ledger.fold(alert.alert_id, head.department, into, doc))
        self._auditor.submit(doc)
        self._metrics.alerts.labels("folded").inc()
        log.info(
            "alert %s folded into %s (incident %s, %.0f%% shared)",
            alert.alert_id,
            into,
            head.alert_id,
            100 * match.containment,
        )
        return True

    async def _edited(self, alert: Alert, edit_of: str, known: datetime | None) -> bool:
        """Audit ``alert`` as an edit of the email ``edit_of`` when it is newer than ``known``."""
        edited = newer_edit(alert, known)
        if edited is None:
            return False  # a redelivery, or an older version than the one recorded
        doc = edit_doc(alert, edited, edit_of, self._clock())
        await self._durably(lambda: self._ledger.edit(alert.alert_id, doc))
        self._auditor.submit(doc)
        self._metrics.alerts.labels("edited").inc()
        log.info(
            "alert %s: mention edited at %s, audited (not emailed again)", alert.alert_id, edited
        )
        return True

    async def _durably(self, write: Callable[[], None]) -> None:
        """Run one ledger write in a thread, retrying while the ledger topic is not writable."""
        await retry_async(
            lambda: asyncio.to_thread(write),
            self._policy,
            sleep=self._sleep,
            on_retry=lambda n, exc, wait: log.warning(
                "ledger write failed (%s); retrying in %.1fs", exc, wait
            ),
        )

    # -- digests ---------------------------------------------------------------------------------
    async def flush_due(self) -> int:
        """Send every department's digest that is due; return how many alerts went out."""
        r = self._renderer()
        now = self._clock()
        sent = 0
        for dept_id in list(self.held):
            items = self.held[dept_id]
            dept = r.config.department(dept_id)
            if dept is None:
                for h in list(items.values()):
                    await self._dead(
                        h.alert,
                        h.partition,
                        h.offset,
                        UnknownDepartment(
                            f"department {dept_id!r} was removed from the departments file"
                        ),
                    )
                self.held.pop(dept_id, None)
                continue
            sent_elsewhere = [a for a in items if self._ledger.has(a)]
            for alert_id in sent_elsewhere:
                del items[alert_id]  # another instance (or an earlier run) already sent it
            self.incidents.forget(sent_elsewhere)
            if not items:
                self.held.pop(dept_id, None)
                continue
            fresh = list(items.values())
            if not self._due(dept, r, fresh, now):
                continue
            if await self._deliver(render_digest(r, dept, fresh, now), fresh):
                sent += len(fresh)
                self._metrics.alerts.labels("sent").inc(len(fresh))
            for h in fresh:
                items.pop(h.alert.alert_id, None)
            if not items:
                self.held.pop(dept_id, None)
        self._metrics.set_held(self.held_count())
        return sent

    @staticmethod
    def _due(dept: Department, r: Renderer, held: Sequence[Held], now: datetime) -> bool:
        slot = last_slot(dept, r.zone, now)
        return any(h.alert.created_at <= slot for h in held)

    def held_count(self) -> int:
        """How many alerts wait for a digest."""
        return sum(len(v) for v in self.held.values())

    def held_floor(self) -> dict[int, int]:
        """Per partition, the lowest offset still held: commits must stay below it."""
        floor: dict[int, int] = {}
        for items in self.held.values():
            for h in items.values():
                floor[h.partition] = min(h.offset, floor.get(h.partition, h.offset))
        return floor

    def drop_partitions(self, partitions: Iterable[int]) -> None:
        """Forget held alerts of partitions this process no longer owns (the new owner replays them)."""
        gone = set(partitions)
        for dept_id in list(self.held):
            dropped = [k for k, h in self.held[dept_id].items() if h.partition in gone]
            self.incidents.forget(dropped)
            kept = {k: h for k, h in self.held[dept_id].items() if h.partition not in gone}
            if kept:
                self.held[dept_id] = kept
            else:
                del self.held[dept_id]
        self._metrics.set_held(self.held_count())

    # -- sending ---------------------------------------------------------------------------------
    async def _deliver(self, email: Email, held: Sequence[Held]) -> bool:
        """Send, then record in the ledger, then queue the audit; False if it was dead-lettered."""
        try:
            refused = await retry_async(
                lambda: asyncio.to_thread(self._mailer.send, email),
                self._policy,
                sleep=self._sleep,
                on_retry=self._smtp_retry,
            )
        except Permanent as exc:
            log.error(
                "SMTP server refused %s email %s for good: %s", email.kind, email.message_id, exc
            )
            self.incidents.forget(h.alert.alert_id for h in held)
            for h in held:
                await self._dead(h.alert, h.partition, h.offset, exc)
            return False
        self._metrics.smtp_ok()
        self._metrics.emails.labels(email.kind).inc()
        if refused:
            log.warning("%s: server refused recipients %s", email.message_id, sorted(refused))
        sent_at = self._clock()
        doc = audit_doc(email, sent_at, refused, held)
        notes = self._incident_notes(email, held)
        await self._durably(lambda: self._ledger.record(email, sent_at, doc, notes))
        self._auditor.submit(doc)
        log.info(
            "sent %s email %s to %s (%d alerts)",
            email.kind,
            email.message_id,
            email.department,
            len(email.alert_ids),
        )
        return True

    def _incident_notes(self, email: Email, held: Sequence[Held]) -> dict[str, dict[str, Any]]:
        """Per alert of a sent email: the version's edit time, and the incident it opens
        (learnt here too) or its incident."""
        copies = copies_in(held)
        notes: dict[str, dict[str, Any]] = {}
        for h in held:
            alert_id = h.alert.alert_id
            notes[alert_id] = {"edited_at": edited_at_of(h.alert)}
            if alert_id in copies:
                notes[alert_id]["incident_of"] = copies[alert_id]
                continue
            incident = self.incidents.of(h.alert)
            if incident is not None:
                incident = replace(incident, message_id=email.message_id)
                self.incidents.add(incident)
                notes[alert_id]["incident"] = incident.to_json()
        return notes

    def _smtp_retry(self, attempt: int, exc: Retryable, wait: float) -> None:
        self._metrics.smtp_failed(str(exc))
        log.warning(
            "SMTP not available (%s); retrying in %.1fs (attempt %d)", exc, wait, attempt + 1
        )

    async def _dead(self, alert: Alert, partition: int, offset: int, exc: BaseException) -> None:
        self._metrics.alerts.labels("dead_lettered").inc()
        await self._dead_letter(alert, partition, offset, exc)
