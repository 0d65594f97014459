"""One incident, one email: alerts whose posts are near-copies of one already emailed (or held) fold into it.

Cross-posts, reposts with a prefix and re-worded copies reach a department as
separate mentions, so separate alerts. The notifier sees every alert of a
department, so it keeps, per department, the incidents it emailed or holds in
the last :attr:`IncidentRule.window` — each as a :class:`~common.nearcopy.Sketch`
of its text, with its ward — and an alert whose sketch matches one is *folded*
into it: recorded in the ledger and the audit as a copy of that email, not
emailed again.

Thresholds (chosen on ``devkit/crossposts/dev.yaml``, measured on ``check.yaml``
by ``bench/bench_incidents.py``): both posts have at least 6 words; neither names
a place, route or number the other lacks while lacking one the other has; the
wards are not known to differ; at least 92 % of the smaller post's 5-character
shingles are in the other, and the shingle sets' Jaccard similarity is at least
0.4; the two were posted within 72 hours of each other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from common.nearcopy import Sketch, containment, jaccard, sketch, swapped
from schemas.models import Alert


@dataclass(frozen=True)
class IncidentRule:
    """When two posts are one incident (see the module docstring)."""

    min_words: int = 6
    min_containment: float = 0.92
    min_jaccard: float = 0.4
    window: timedelta = timedelta(hours=72)


RULE = IncidentRule()


def same_incident(a: Sketch, b: Sketch, rule: IncidentRule = RULE) -> bool:
    """True when the posts sketched as ``a`` and ``b`` report one incident (text only)."""
    if min(a.word_count, b.word_count) < rule.min_words or swapped(a, b):
        return False
    return containment(a, b) >= rule.min_containment and jaccard(a, b) >= rule.min_jaccard


def alert_text(alert: Alert) -> str | None:
    """The words an alert's post says (title and text), or None for alerts without a post."""
    m = alert.mention
    if alert.kind != "rule" or m is None:
        return None
    return f"{m.title}\n{m.text}" if m.title and m.title not in m.text else m.text


@dataclass(frozen=True)
class Incident:
    """An alert that was emailed (``message_id``) or is held for a digest (``message_id`` None)."""

    alert_id: str
    department: str
    sketch: Sketch
    posted_at: datetime
    ward: str | None
    message_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """What the ledger keeps of an emailed incident (no readable text)."""
        return {
            "sketch": self.sketch.to_json(),
            "posted_at": self.posted_at.isoformat(),
            "ward": self.ward,
        }


@dataclass(frozen=True)
class Match:
    """``alert`` folds into ``incident``; the similarity is kept for the audit."""

    incident: Incident
    containment: float
    jaccard: float


class Incidents:
    """The recent incidents of every department, newest last; :meth:`match` finds an alert's."""

    def __init__(self, rule: IncidentRule = RULE, max_per_department: int = 5000) -> None:
        self.rule = rule
        self._max = max_per_department
        self._by_dept: dict[str, dict[str, Incident]] = {}

    def of(self, alert: Alert) -> Incident | None:
        """The incident ``alert`` would open (None when it has no post long enough to compare)."""
        text = alert_text(alert)
        if text is None or alert.mention is None:
            return None
        s = sketch(text)
        if s.word_count < self.rule.min_words:
            return None
        ward = alert.mention.ward.code if alert.mention.ward else None
        return Incident(alert.alert_id, alert.department, s, alert.mention.created_at, ward)

    def match(self, incident: Incident) -> Match | None:
        """The most similar recent incident of the same department that ``incident`` copies."""
        best: Match | None = None
        for other in reversed(self._by_dept.get(incident.department, {}).values()):
            if other.alert_id == incident.alert_id:
                continue
            if abs(other.posted_at - incident.posted_at) > self.rule.window:
                continue
            if incident.ward and other.ward and incident.ward != other.ward:
                continue
            shared = len(incident.sketch.hashes & other.sketch.hashes)
            if shared < min(len(incident.sketch.hashes), len(other.sketch.hashes)) / 2:
                continue  # cheap: far from the containment threshold
            if not same_incident(incident.sketch, other.sketch, self.rule):
                continue
            c = containment(incident.sketch, other.sketch)
            if best is None or c > best.containment:
                best = Match(other, c, jaccard(incident.sketch, other.sketch))
        return best

    def add(self, incident: Incident) -> None:
        """Remember ``incident`` (emailed or held) so later copies fold into it."""
        items = self._by_dept.setdefault(incident.department, {})
        items.pop(incident.alert_id, None)
        items[incident.alert_id] = incident
        while len(items) > self._max:
            del items[next(iter(items))]

    def forget(self, alert_ids: Iterable[str]) -> None:
        """Drop held incidents whose alerts this process no longer owns."""
        gone = set(alert_ids)
        for items in self._by_dept.values():
            for alert_id in gone & items.keys():
                del items[alert_id]

    def expire(self, now: datetime) -> None:
        """Forget incidents posted longer than twice the window ago (nothing can copy them now)."""
        horizon = now - 2 * self.rule.window
        for items in self._by_dept.values():
            for alert_id in [a for a, i in items.items() if i.posted_at < horizon]:
                del items[alert_id]

    def restore(self, alert_id: str, entry: dict[str, Any]) -> None:
        """Re-learn an emailed incident from its ledger entry (at start)."""
        data = entry.get("incident")
        if not isinstance(data, dict):
            return
        self.add(
            Incident(
                alert_id,
                str(entry["department"]),
                Sketch.from_json(data["sketch"]),
                datetime.fromisoformat(data["posted_at"]),
                data.get("ward"),
                str(entry["message_id"]),
            )
        )

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_dept.values())
