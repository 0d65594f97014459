"""The weekly communities email of one department: what changed in the communities about its area.

Sections, each a table with a caption and header cells (the same accessible HTML
as the alert digests: one ``h1``, an ``h2`` per section, no meaning carried by
colour, every value escaped): new communities this week, fast-growing ones,
sentiment shifts, the relationships the department owns, and suggestions waiting
for a decision. Community records hold counts only, so no resident text and no
person appears here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from common.routing.config import Department
from services.notifier.render import Email, Renderer, page
from services.notifier.text import esc

Doc = dict[str, Any]
SHIFT = 0.2
"""A change of at least this much in the negative share of scored mentions is reported."""


@dataclass(frozen=True)
class CommunityWeek:
    """What one department's weekly email is about (already filtered to its area and topics)."""

    new: Sequence[Doc]
    growing: Sequence[Doc]
    shifted: Sequence[Doc]
    owned: Sequence[Doc]
    suggestions: Sequence[Doc]

    def empty(self) -> bool:
        return not (self.new or self.growing or self.shifted or self.owned or self.suggestions)


def _wards(doc: Doc) -> str:
    wards = doc["footprint"]["wards"][:3]
    text = ", ".join(f"{w['name']} ({w['share']:.0%})" for w in wards) or "not located"
    return text + (" — crosses ward lines" if doc["footprint"]["crosses_wards"] else "")


def _rows(section: str, docs: Sequence[Doc]) -> list[list[str]]:
    rows = []
    for d in docs:
        week = f"{d['week']['mentions']} by {d['week']['authors']} people"
        if section == "growing":
            extra = f"×{d['growth']:.1f} its usual week ({d['baseline_week_mentions']:.1f})"
        elif section == "shifted":
            shift = d["sentiment"]["shift"]
            extra = f"negative share {'up' if shift > 0 else 'down'} {abs(shift):.0%}"
        elif section == "owned":
            extra = f"stage: {(d.get('register') or {}).get('stage', 'identified')}"
        elif section == "suggestions":
            alongside = ", ".join(a["key"] for a in d["alongside"][:2]) or "nothing followed"
            extra = f"seen alongside {alongside}; accept: earshot communities accept {d['key']}"
        else:
            extra = d["purpose"]["summary"]
        rows.append([d["label"], week, _wards(d), extra])
    return rows


SECTIONS = (
    ("new", "New communities this week", "Why it matters"),
    ("growing", "Growing fast", "Growth"),
    ("shifted", "Sentiment shifts", "Change"),
    ("owned", "Relationships you own", "Stage"),
    ("suggestions", "Suggestions waiting for a decision", "Evidence"),
)


def render_communities_digest(
    r: Renderer, dept: Department, week: CommunityWeek, now: datetime, iso_week: str
) -> Email:
    """One weekly email for ``dept`` (``week`` must not be empty)."""
    counts = {name: len(getattr(week, name)) for name, _, _ in SECTIONS}
    subject = (
        f"[Earshot communities] {dept.name}, week {iso_week}: {counts['new']} new, "
        f"{counts['growing']} growing, {counts['suggestions']} suggestions"
    )
    text = [subject, ""]
    html = [f"<h1>{esc(subject)}</h1>"]
    intro = (
        "Online communities (subreddits, hashtags, local sites and feeds) that talk about "
        "your area and topics. Counts are for the last 7 days; a space is only listed once "
        "enough different people take part in it."
    )
    text += [intro, ""]
    html.append(f"<p>{esc(intro)}</p>")
    headers = ["Community", "Mentions this week", "Wards"]
    for name, title, last in SECTIONS:
        docs = getattr(week, name)
        if not docs:
            continue
        rows = _rows(name, docs)
        text += [f"{title} ({len(docs)})", "-" * len(title)]
        text += [f"* {' | '.join(row)}" for row in rows] + [""]
        cells = "\n".join(
            "<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows
        )
        heads = "".join(f'<th scope="col">{esc(h)}</th>' for h in [*headers, last])
        html.append(
            f"<section>\n<h2>{esc(title)}</h2>\n<table>\n<caption>{esc(title)}</caption>\n"
            f"<thead><tr>{heads}</tr></thead>\n<tbody>\n{cells}\n</tbody>\n</table>\n</section>"
        )
    keys = sorted(d["key"] for name, _, _ in SECTIONS for d in getattr(week, name))
    digest = hashlib.sha256("\x1f".join([dept.id, iso_week, *keys]).encode()).hexdigest()[:24]
    return r.message(
        kind="digest",
        dept=dept,
        subject=subject,
        message_id=f"communities.{iso_week}.{digest}@{r.style.message_id_domain}",
        text="\n".join(text) + "\n",
        html_doc=page(subject, "\n".join(html)),
        alert_ids=[],
        now=now,
    )
