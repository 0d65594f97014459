"""A space's records → its community record (the ``earshot-communities`` document), or nothing.

Windows are relative to now: the *day* (last 24 hours), the *week* (last 7 days)
and the *baseline* (the weeks before, up to the horizon), by event time.

* **k threshold** — a space is a community only with at least ``k`` distinct
  authors in the week; below that there is no document at all, so a single
  account (or a handful) is never listed. Counts of authors are all that leaves
  the worker: no pseudonym or hash is ever written to the document.
* **Footprint** — the councils and wards its located mentions are about, with
  shares. A ward or council is *in* the footprint with at least ``FOOTPRINT_SHARE``
  of them (or ``FOOTPRINT_MENTIONS`` mentions); two or more wards (councils) in the
  footprint mark it as crossing ward (council) lines.
* **Growth** — the week's mentions against the baseline weeks' mean; *new* when the
  space has no mention before this week (within the horizon), *growing* when the
  week is at least ``GROWTH_RATIO`` times its usual week and has ``MIN_GROWING`` mentions.
* **Sentiment shift** — the week's negative share of scored mentions minus the
  baseline's, when both have ``MIN_SCORED`` scored mentions.
* **Purpose** and **suggestion score**: :mod:`pipelines.steps.communities_purpose`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final

from common.communities import Entry, Space
from pipelines.steps.communities import Record
from pipelines.steps.communities_book import DAY
from pipelines.steps.communities_purpose import purpose, suggestion_score

WEEK: Final = 7 * DAY
FOOTPRINT_SHARE: Final = 0.1
FOOTPRINT_MENTIONS: Final = 3
GROWTH_RATIO: Final = 2.0
MIN_GROWING: Final = 5
MIN_SCORED: Final = 5
TOP: Final = 10


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()


def _share(n: int, total: int) -> float:
    return round(n / total, 3) if total else 0.0


def footprint(week: list[Record]) -> dict[str, Any]:
    """Councils and wards the week's located mentions are about, with shares and crossings."""
    located = [r for r in week if r.council is not None]
    councils = Counter(r.council for r in located if r.council)
    wards = Counter((r.ward, r.council[0]) for r in located if r.ward and r.council)
    n = len(located)

    def counts(count: int) -> bool:
        return count >= FOOTPRINT_MENTIONS or _share(count, n) >= FOOTPRINT_SHARE

    return {
        "councils": [
            {"code": c[0], "name": c[1], "mentions": m, "share": _share(m, n)}
            for c, m in councils.most_common(TOP)
        ],
        "wards": [
            {"code": w[0], "name": w[1], "council_code": c, "mentions": m, "share": _share(m, n)}
            for (w, c), m in wards.most_common(TOP)
        ],
        "located_share": _share(n, len(week)),
        "ward_count": sum(1 for m in wards.values() if counts(m)),
        "council_count": sum(1 for m in councils.values() if counts(m)),
        "crosses_wards": sum(1 for m in wards.values() if counts(m)) >= 2,
        "crosses_councils": sum(1 for m in councils.values() if counts(m)) >= 2,
    }


def _negative_share(records: list[Record]) -> float | None:
    scored = [r.sentiment for r in records if r.sentiment]
    if len(scored) < MIN_SCORED:
        return None
    return scored.count("negative") / len(scored)


def community_doc(
    space: Space,
    records: Iterable[Record],
    *,
    now: float,
    k: int,
    horizon_days: int,
    labels: Mapping[str, str],
    entry: Entry | None = None,
) -> dict[str, Any] | None:
    """The community record of ``space``, or None when fewer than ``k`` authors spoke this week."""
    held = [r for r in records if r.at <= now]
    week = [r for r in held if r.at > now - WEEK]
    authors = {r.author for r in week if r.author is not None}
    if len(authors) < k or not week:
        return None
    day = [r for r in week if r.at > now - DAY]
    base = [r for r in held if r.at <= now - WEEK]
    base_weeks = max(1, (horizon_days * DAY - WEEK) // WEEK)
    baseline = len(base) / base_weeks
    new = not base
    growth = round(len(week) / max(baseline, 1.0), 3)
    topics = Counter(t for r in week for t in r.topics)
    sentiment = Counter(r.sentiment or "unscored" for r in week)
    week_negative, base_negative = _negative_share(week), _negative_share(base)
    foot = footprint(week)
    alongside = Counter(v for r in week for v in r.via if v != space.key)
    heard_via = sum(1 for r in week if space.key in r.via)
    what = purpose(topics, sentiment, len(week), sum(1 for r in week if r.topics), labels)
    return {
        "key": space.key,
        "kind": space.kind,
        "network": space.network,
        "name": space.name,
        "label": space.label,
        "first_seen": _iso(min(r.at for r in held)),
        "last_seen": _iso(max(r.at for r in held)),
        "updated_at": _iso(now),
        "new_this_week": new,
        "day": {
            "mentions": len(day),
            "authors": len({r.author for r in day if r.author is not None}),
        },
        "week": {"mentions": len(week), "authors": len(authors)},
        "baseline_week_mentions": round(baseline, 2),
        "growth": growth,
        "growing": not new and len(week) >= MIN_GROWING and growth >= GROWTH_RATIO,
        "sentiment": {
            "negative": sentiment["negative"],
            "neutral": sentiment["neutral"],
            "positive": sentiment["positive"],
            "unscored": sentiment["unscored"],
            "negative_share": None if week_negative is None else round(week_negative, 3),
            "baseline_negative_share": None if base_negative is None else round(base_negative, 3),
            "shift": (
                None
                if week_negative is None or base_negative is None
                else round(week_negative - base_negative, 3)
            ),
        },
        "topics": [
            {"id": t, "label": labels.get(t, t), "mentions": n, "share": _share(n, len(week))}
            for t, n in topics.most_common(TOP)
        ],
        "topic_ids": sorted(topics),
        "phrases": [p for p, _ in Counter(p for r in week for p in r.phrases).most_common(TOP)],
        "footprint": foot,
        "council_codes": [c["code"] for c in foot["councils"]],
        "ward_codes": [w["code"] for w in foot["wards"]],
        "purpose": what,
        "alongside": [{"key": key, "mentions": n} for key, n in alongside.most_common(5)],
        "heard_via": heard_via,
        "suggestion_score": suggestion_score(
            space,
            authors=len(authors),
            mentions=len(week),
            located_share=foot["located_share"],
            growth=growth,
            new=new,
        ),
        "register": (
            {"department": entry.department, "stage": entry.stage, "note": entry.note}
            if entry
            else None
        ),
        "k": k,
        "horizon_days": horizon_days,
    }
