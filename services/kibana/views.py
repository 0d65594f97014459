"""Every Kibana view Earshot ships, generated from ``departments.yaml``.

The default space holds the council overview (all mentions) and the alerts
audit ("what was sent to whom"). Each department gets its own space with the
same dashboard scoped to its topics and places, a saved search of its mentions,
its latest negative mentions and the alerts sent to it. Adding a department to
the config adds its space and views; nothing here is written by hand.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from common.elastic import alias
from common.routing.config import RoutingConfig
from services.kibana import charts
from services.kibana import objects as o
from services.kibana.communities import community_views
from services.kibana.ids import DEFAULT_SPACE, data_view_id, object_id
from services.search.filters import NEGATIVE, Query, Scope, department_scope, one_of, scope_query
from services.search.questions import (
    ALERT_COLUMNS,
    ALERTS_TIME_FIELD,
    LATEST_COLUMNS,
    SENTIMENT,
    TIME_FIELD,
    TOPICS,
    WARDS,
)

MENTION_FORMATS = {
    "sentiment.score": {"id": "number", "params": {"pattern": "0.00"}},
    "locality.confidence": {"id": "number", "params": {"pattern": "0.00"}},
    "source.url": {
        "id": "url",
        "params": {
            "labelTemplate": "Open the post",
            "openLinkInCurrentTab": False,
            "type": "a",
            "urlTemplate": "",
        },
    },
}
MENTION_LABELS = {
    "created_at": "Posted",
    "sentiment.label": "Sentiment",
    "sentiment.score": "Sentiment confidence",
    "sentiment.mixed": "Mixed feelings",
    "locality.council.name": "Council",
    "locality.ward.name": "Ward",
    "topics.id": "Topic",
    "source.kind": "Source",
    "source.url": "Link",
}
ALERT_LABELS = {
    "sent_at": "Sent",
    "recipients": "Sent to",
    "rule_ids": "Rules",
    "kind": "Email kind",
}
MAP_LAYERS = (
    ("locality.point", "Mentions (resolved place)"),
    ("geo", "Mentions (source coordinates)"),
)


@dataclass(frozen=True)
class SpaceViews:
    """One Kibana space: its creation body (None for the default space) and its saved objects."""

    space_id: str
    body: dict[str, object] | None
    objects: list[o.Obj]
    scope: Scope | None

    def find(self, kind: str, logical: str) -> o.Obj:
        oid = object_id(self.space_id, logical)
        return next(obj for obj in self.objects if obj["type"] == kind and obj["id"] == oid)


def space_body(scope: Scope) -> dict[str, object]:
    """The Spaces API body of a department's space (colour and initials derived, so stable)."""
    words = [w for w in scope.name.replace("(", " ").split() if w[:1].isalpha() and w[0].isupper()]
    initials = "".join(w[0] for w in words[:2]) or scope.department[:2].upper()
    color = "#" + hashlib.sha256(scope.department.encode()).hexdigest()[:6].upper()
    return {
        "id": scope.department,
        "name": scope.name,
        "description": f"Earshot views for {scope.describe()}",
        "color": color,
        "initials": initials,
        "disabledFeatures": [],
    }


def space_views(space: str, index_prefix: str, title: str, scope: Scope | None) -> list[o.Obj]:
    """The saved objects of one space; ``scope`` None means the whole council (default space)."""
    mentions, alerts = alias(index_prefix, "mentions"), alias(index_prefix, "alerts")
    dv, dva = data_view_id(space, mentions), data_view_id(space, alerts)
    scoped: list[tuple[Query, str]] = [(scope_query(scope), scope.describe())] if scope else []
    alert_filters: list[tuple[Query, str]] = (
        [(one_of("department", [scope.department]), f"Department: {scope.department}")]
        if scope
        else []
    )
    everything = o.saved_search(
        object_id(space, "search/mentions"),
        f"{title} — mentions",
        description="Every mention in this view's scope, newest first.",
        data_view_id=dv,
        columns=LATEST_COLUMNS,
        sort_field=TIME_FIELD,
        filters=scoped,
    )
    negative = o.saved_search(
        object_id(space, "search/negative"),
        f"{title} — latest negative mentions",
        description="Mentions the sentiment model scored negative, newest first.",
        data_view_id=dv,
        columns=LATEST_COLUMNS,
        sort_field=TIME_FIELD,
        filters=[*scoped, (NEGATIVE, "Sentiment: negative")],
    )
    sent = o.saved_search(
        object_id(space, "search/alerts"),
        f"{title} — alerts sent (what was sent to whom)",
        description="Audit of every alert email: team, recipients, rules and mentions; no resident text.",
        data_view_id=dva,
        columns=ALERT_COLUMNS,
        sort_field=ALERTS_TIME_FIELD,
        filters=alert_filters,
    )
    volume = charts.volume_chart(space, dv, SENTIMENT)
    wards = charts.top_chart(space, dv, WARDS)
    topics = charts.top_chart(space, dv, TOPICS)
    points = charts.points_map(space, dv, MAP_LAYERS)
    panels: list[tuple[o.Obj, tuple[int, int, int, int]]] = [
        (volume, (0, 0, 28, 15)),
        (points, (28, 0, 20, 15)),
        (wards, (0, 15, 24, 14)),
        (topics, (24, 15, 24, 14)),
        (negative, (0, 29, 48, 18)),
    ]
    if scope is None:
        # The department filter of a scoped dashboard names mention fields, which would
        # blank an alerts panel; the alerts audit goes on the overview only.
        panels.append((sent, (0, 47, 48, 14)))
    board = o.dashboard(
        object_id(space, "dashboard/overview"),
        f"{title} — overview",
        description="Volume by sentiment, where mentions are, top wards and topics, latest negative mentions.",
        panels=panels,
        filters=scoped,
        data_view_id=dv,
    )
    views = [
        o.data_view(
            dv,
            f"{mentions}*",
            name="Earshot mentions",
            time_field=TIME_FIELD,
            formats=MENTION_FORMATS,
            labels=MENTION_LABELS,
        ),
        o.data_view(
            dva,
            f"{alerts}*",
            name="Earshot alerts sent",
            time_field=ALERTS_TIME_FIELD,
            labels=ALERT_LABELS,
        ),
    ]
    communities = community_views(space, index_prefix, title, scope)
    return [*views, everything, negative, sent, volume, wards, topics, points, board, *communities]


def all_views(config: RoutingConfig, index_prefix: str) -> list[SpaceViews]:
    """The default space first, then one space per department in config order."""
    default = SpaceViews(
        DEFAULT_SPACE, None, space_views(DEFAULT_SPACE, index_prefix, "Earshot council", None), None
    )
    spaces = [default]
    for dept in config.departments:
        if dept.id == DEFAULT_SPACE:
            raise ValueError("a department cannot be called 'default': that is Kibana's own space")
        scope = department_scope(config, dept.id)
        spaces.append(
            SpaceViews(
                dept.id,
                space_body(scope),
                space_views(dept.id, index_prefix, dept.name, scope),
                scope,
            )
        )
    return spaces


def space_path(space: str) -> str:
    """URL path prefix of a space (the default space has none)."""
    return "" if space == DEFAULT_SPACE else f"/s/{space}"


def links(spaces: Sequence[SpaceViews]) -> dict[str, dict[str, str]]:
    """Per space, the paths of its views, and a ``kibana_link`` template for departments.yaml."""
    out: dict[str, dict[str, str]] = {}
    for view in spaces:
        base = space_path(view.space_id)
        search = object_id(view.space_id, "search/mentions")
        out[view.space_id] = {
            "dashboard": f"{base}/app/dashboards#/view/{object_id(view.space_id, 'dashboard/overview')}",
            "discover": f"{base}/app/discover#/view/{search}",
            "kibana_link": (
                f"{{kibana}}{base}/app/discover#/view/{search}"
                "?_g=(time:(from:now-30d,to:now))&_a=(query:(language:kuery,query:'{query}'))"
            ),
        }
    return out
