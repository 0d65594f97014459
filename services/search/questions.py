"""The questions the dashboards answer, defined once for Kibana panels and ``earshot search --stats``.

Each :class:`Breakdown` names the field, size and label of one panel; the Kibana
generator turns it into a Lens column and the CLI into a ``terms`` aggregation,
so "top wards" means the same thing in both places.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

TIME_FIELD = "created_at"
"""Time field of the mentions data view and of every time filter."""
ALERTS_TIME_FIELD = "sent_at"


@dataclass(frozen=True)
class Breakdown:
    """Counts of mentions per value of ``field`` (the top ``size`` values)."""

    key: str
    title: str
    field: str
    size: int
    label: str


SENTIMENT = Breakdown(
    "sentiment", "Mentions over time by sentiment", "sentiment.label", 3, "Sentiment"
)
WARDS = Breakdown("wards", "Top wards", "locality.ward.name", 10, "Ward")
TOPICS = Breakdown("topics", "Top topics", "topics.id", 10, "Topic")
BREAKDOWNS = (SENTIMENT, WARDS, TOPICS)

LATEST_COLUMNS = (
    "sentiment.label",
    "locality.council.name",
    "locality.ward.name",
    "topics.id",
    "source.kind",
    "text",
    "source.url",
)
"""Columns of the saved searches (Discover tables) and of the CLI's JSON hits."""
ALERT_COLUMNS = ("department", "kind", "recipients", "rule_ids", "alert_count", "subject")
MAP_POINT_FIELDS = ("locality.point", "geo")
"""Geo fields of the map: the point locality resolved, and the source's own coordinates."""
MAP_TOOLTIP = ("locality.ward.name", "sentiment.label", "topics.id", "created_at")


def histogram_interval(since: datetime | None, until: datetime | None) -> str:
    """Hourly buckets for up to two days, daily up to four months, weekly beyond."""
    if since is None or until is None:
        return "day"
    span = until - since
    if span <= timedelta(days=2):
        return "hour"
    return "day" if span <= timedelta(days=120) else "week"


def stats_aggregations(interval: str) -> dict[str, Any]:
    """The dashboard panels as aggregations: volume per interval by sentiment, top wards, top topics."""
    return {
        "volume": {
            "date_histogram": {"field": TIME_FIELD, "calendar_interval": interval},
            "aggs": {
                "sentiment": {
                    "terms": {
                        "field": SENTIMENT.field,
                        "size": SENTIMENT.size,
                        "missing": "unscored",
                    }
                }
            },
        },
        WARDS.key: {"terms": {"field": WARDS.field, "size": WARDS.size}},
        TOPICS.key: {"terms": {"field": TOPICS.field, "size": TOPICS.size}},
    }
