"""When email may go out: throttle windows, quiet hours and digest slots. Pure; time is passed in.

Digest rule: a department's held alerts go out as soon as any of them is older
than the department's most recent digest slot. In steady running that is "at
each slot"; after a restart it also sends at once whatever a missed slot should
have carried. Slots that fall in quiet hours move to the end of quiet hours.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from common.routing.config import Department, QuietHours, Throttle


class ThrottleWindow:
    """Sliding window of immediate emails sent per department."""

    def __init__(self) -> None:
        self._sent: dict[str, deque[datetime]] = {}

    def _recent(self, department: str, limit: Throttle, now: datetime) -> deque[datetime]:
        sent = self._sent.setdefault(department, deque())
        start = now - timedelta(minutes=limit.window_minutes)
        while sent and sent[0] <= start:
            sent.popleft()
        return sent

    def allows(self, department: str, limit: Throttle, now: datetime) -> bool:
        """True when one more immediate email fits in the window ending ``now``."""
        return len(self._recent(department, limit, now)) < limit.max_immediate

    def record(self, department: str, at: datetime) -> None:
        """Count an immediate email sent ``at`` (times may arrive out of order at start-up)."""
        sent = self._sent.setdefault(department, deque())
        sent.append(at)
        if len(sent) > 1 and sent[-2] > at:
            self._sent[department] = deque(sorted(sent))

    def left(self, department: str, limit: Throttle, now: datetime) -> int:
        """How many more immediate emails fit now."""
        return limit.max_immediate - len(self._recent(department, limit, now))

    def reopens_at(self, department: str, limit: Throttle, now: datetime) -> datetime:
        """When the oldest email in the window leaves it (``now`` if the window has room)."""
        sent = self._recent(department, limit, now)
        if len(sent) < limit.max_immediate:
            return now
        return sent[-limit.max_immediate] + timedelta(minutes=limit.window_minutes)


def in_quiet_hours(dept: Department, zone: ZoneInfo, now: datetime) -> bool:
    """True when ``now`` is inside the department's quiet hours."""
    q = dept.quiet_hours
    return q is not None and q.contains(now.astimezone(zone).time())


def may_send_now(dept: Department, severity: str, zone: ZoneInfo, now: datetime) -> bool:
    """Quiet hours hold every severity except the ones the department allows."""
    q = dept.quiet_hours
    return not in_quiet_hours(dept, zone, now) or (q is not None and severity in q.allow)


def _out_of_quiet(slot: datetime, quiet: QuietHours | None, zone: ZoneInfo) -> datetime:
    """``slot`` (aware, local) moved to the end of quiet hours when it falls inside them."""
    if quiet is None or not quiet.contains(slot.time()):
        return slot
    end = datetime.combine(slot.date(), quiet.end, tzinfo=zone)
    if end <= slot:
        end = datetime.combine(slot.date() + timedelta(days=1), quiet.end, tzinfo=zone)
    return end


def last_slot(dept: Department, zone: ZoneInfo, now: datetime) -> datetime:
    """The most recent digest time at or before ``now`` (UTC-aware result)."""
    local = now.astimezone(zone)
    schedule = dept.digest
    candidates: list[datetime] = []
    if schedule.every == "daily":
        for days in range(3):
            day = local.date() - timedelta(days=days)
            candidates.append(datetime.combine(day, schedule.at, tzinfo=zone))
    else:
        top = local.replace(minute=0, second=0, microsecond=0, tzinfo=None)
        for hours in range(49):
            hour = top - timedelta(hours=hours)
            candidates.append(
                datetime.combine(hour.date(), time(hour.hour, schedule.minute), tzinfo=zone)
            )
    moved = (_out_of_quiet(c, dept.quiet_hours, zone) for c in candidates)
    return max(m for m in moved if m <= now)
