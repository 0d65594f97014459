"""Digest emails: a department's held alerts grouped by topic and ward, with counts and top items.

The HTML is semantic and accessible: one ``h1``, an ``h2`` per topic, tables
with captions and header cells, severity written as words (never colour alone),
no images. Resident text is escaped and cut exactly as in immediate emails.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from common.routing.config import Department
from schemas.models import Alert
from services.notifier.render import Email, Renderer, digest_message_id, page
from services.notifier.text import esc, kql_value, local_time

HeldWhy = Literal["immediate", "digest", "throttled", "quiet_hours", "folded"]
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3}
WHY_WORDS = {
    "throttled": "by the throttle (too many immediate emails in the window)",
    "quiet_hours": "during quiet hours",
}


@dataclass(frozen=True)
class Held:
    """An alert on its way to an email (``why`` it waits, if it does), and where it sits in Kafka."""

    alert: Alert
    why: HeldWhy
    partition: int
    offset: int
    folded_into: str | None = None
    """Alert id of the held incident this alert copies ("folded"): one item in the digest."""


def _rank(alert: Alert) -> tuple[int, float, float]:
    m = alert.mention
    negativity = (m.sentiment_score or 0.0) if m and m.sentiment_label == "negative" else 0.0
    return (SEVERITY_RANK[alert.severity], -negativity, -alert.created_at.timestamp())


def held_note(held: Sequence[Held]) -> str:
    """E.g. '3 of these were held back from immediate email: 2 by the throttle…, 1 during quiet hours.'"""
    counts = Counter(h.why for h in held if h.why in WHY_WORDS)
    if not counts:
        return ""
    parts = [f"{n} {WHY_WORDS[why]}" for why, n in sorted(counts.items())]
    total = sum(counts.values())
    verb = "was" if total == 1 else "were"
    return f"{total} of these {verb} held back from immediate email: {', '.join(parts)}."


def copies_in(held: Sequence[Held]) -> dict[str, str]:
    """Alert id → incident alert id, for held copies whose incident is in ``held`` too."""
    ids = {h.alert.alert_id for h in held}
    return {
        h.alert.alert_id: h.folded_into
        for h in held
        if h.folded_into is not None and h.folded_into in ids
    }


def render_digest(r: Renderer, dept: Department, held: Sequence[Held], now: datetime) -> Email:
    """One digest email for ``held`` (non-empty), newest facts first; copies only counted."""
    copies = copies_in(held)
    alerts = [h.alert for h in held if h.alert.alert_id not in copies]
    by_topic: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts:
        by_topic[r.topic_of(alert, dept)].append(alert)
    topics = sorted(by_topic, key=lambda t: (-len(by_topic[t]), r.label(t)))
    since = min(a.created_at for a in alerts)
    n = len(alerts)
    subject = f"[Earshot digest] {dept.name}: {n} alert{'s' if n != 1 else ''} - " + ", ".join(
        r.label(t) for t in topics[:3]
    )
    intro = f"{n} alert{'s' if n != 1 else ''} since {local_time(since, r.zone)}."
    note = held_note(held)
    if copies:
        copied = "alert was a copy" if len(copies) == 1 else "alerts were copies"
        folded = f"{len(copies)} more {copied} (cross-posts or reposts) of these, folded in."
        note = f"{note} {folded}".strip()
    rows = [
        (r.label(t), ward, count)
        for t in topics
        for ward, count in Counter(r.place_of(a) for a in by_topic[t]).most_common()
    ]
    text = [subject, "", intro]
    html = [f"<h1>{esc(subject)}</h1>", f"<p>{esc(intro)}</p>"]
    if note:
        text.append(note)
        html.append(f'<p role="note"><strong>Note:</strong> {esc(note)}</p>')
    text += ["", "Alerts by topic and ward:"] + [f"  {t} / {w}: {c}" for t, w, c in rows] + [""]
    html.append(
        "<table>\n<caption>Alerts by topic and ward</caption>\n<thead><tr>"
        '<th scope="col">Topic</th><th scope="col">Ward</th><th scope="col">Alerts</th>'
        "</tr></thead>\n<tbody>\n"
        + "\n".join(f"<tr><td>{esc(t)}</td><td>{esc(w)}</td><td>{c}</td></tr>" for t, w, c in rows)
        + "\n</tbody>\n</table>"
    )
    for topic in topics:
        t, h = _topic_section(r, dept, topic, by_topic[topic])
        text.append(t)
        html.append(h)
    ids = [h.alert.alert_id for h in held]
    return r.message(
        kind="digest",
        dept=dept,
        subject=subject,
        message_id=digest_message_id(dept.id, ids, r.style.message_id_domain),
        text="\n".join(text) + "\n",
        html_doc=page(subject, "\n".join(html)),
        alert_ids=ids,
        now=now,
    )


def _topic_section(
    r: Renderer, dept: Department, topic: str, alerts: list[Alert]
) -> tuple[str, str]:
    label = r.label(topic)
    top = sorted(alerts, key=_rank)[: r.style.top_items]
    heading = f"{label}: {len(alerts)} alert{'s' if len(alerts) != 1 else ''}"
    text = [heading, "-" * len(heading)]
    html = [f"<section>\n<h2>{esc(heading)}</h2>", f"<h3>Top {len(top)}</h3>", "<ol>"]
    for alert in top:
        link = r.alert_link(alert, dept)
        facts = f"{alert.severity} severity · {r.place_of(alert)}"
        if alert.mention is not None:
            facts += f" · posted {local_time(alert.mention.created_at, r.zone)}"
            t, h = r.mention_block(alert.mention, level=4)
        else:
            t, h = "", ""
        t2, h2 = r.why_block(alert, level=4)
        text += [f"* {facts}", t, t2, f"  Open in Kibana: {link}", ""]
        html.append(
            f"<li>\n<p><strong>{esc(facts)}</strong></p>\n{h}\n{h2}\n"
            f'<p><a href="{esc(link)}">Open in Kibana</a></p>\n</li>'
        )
    html.append("</ol>")
    rest = len(alerts) - len(top)
    if rest > 0:
        council = dept.council
        kql = f"topics.id:{kql_value(topic)}"
        if council:
            kql += f" and locality.council.code:{kql_value(council)}"
        link = r.link(dept, kql)
        text.append(f"…and {rest} more: {link}")
        html.append(
            f'<p>…and {rest} more: <a href="{esc(link)}">see all {esc(label)} in Kibana</a>.</p>'
        )
    html.append("</section>")
    return "\n".join(text) + "\n", "\n".join(html)
