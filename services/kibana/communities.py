"""The Kibana "Communities" views: a data view over ``<prefix>-communities``, a saved search and a dashboard.

In the default space they cover every community; in a department's space, the
communities of its council that talk about its topics or whose relationship it
owns (the register's department) — the same scope as its weekly communities email.
"""

from __future__ import annotations

from common.elastic import alias
from services.kibana import charts
from services.kibana import objects as o
from services.kibana.ids import data_view_id, object_id
from services.search.filters import Query, Scope, one_of
from services.search.questions import Breakdown

KIND = "communities"
TIME_FIELD = "last_seen"
COLUMNS = (
    "label",
    "kind",
    "week.mentions",
    "week.authors",
    "purpose.summary",
    "footprint.crosses_wards",
    "new_this_week",
    "growing",
    "register.stage",
)
LABELS = {
    "label": "Community",
    "week.mentions": "Mentions (7 days)",
    "week.authors": "People (7 days)",
    "purpose.summary": "What it is for",
    "footprint.crosses_wards": "Crosses ward lines",
    "register.stage": "Stage",
    "register.department": "Owned by",
    "last_seen": "Last seen",
}
WARDS = Breakdown("community-wards", "Communities by ward", "footprint.wards.name", 10, "Ward")
PURPOSES = Breakdown("community-purposes", "Communities by purpose", "purpose.label", 6, "Purpose")


def scope_filter(scope: Scope) -> Query:
    """Communities in the department's councils about its topics, or owned by it."""
    about: list[Query] = [{"term": {"register.department": scope.department}}]
    if scope.topics:
        about.append(one_of("topic_ids", scope.topics))
    query: Query = {"bool": {"should": about, "minimum_should_match": 1}}
    if scope.councils:
        query["bool"]["filter"] = [one_of("council_codes", scope.councils)]
    return query


def community_views(space: str, index_prefix: str, title: str, scope: Scope | None) -> list[o.Obj]:
    """The data view, saved search and dashboard of communities in one space."""
    name = alias(index_prefix, KIND)
    dv = data_view_id(space, name)
    scoped: list[tuple[Query, str]] = (
        [(scope_filter(scope), f"{scope.name}: its council, topics and relationships")]
        if scope
        else []
    )
    search = o.saved_search(
        object_id(space, "search/communities"),
        f"{title} — communities",
        description="Online communities (k or more people this week), biggest first.",
        data_view_id=dv,
        columns=COLUMNS,
        sort_field="week.authors",
        filters=scoped,
    )
    wards = charts.top_chart(space, dv, WARDS, count_label="Communities")
    purposes = charts.top_chart(space, dv, PURPOSES, count_label="Communities")
    board = o.dashboard(
        object_id(space, "dashboard/communities"),
        f"{title} — communities",
        description="Which online communities talk about the area, where, and what they are for.",
        panels=[(wards, (0, 0, 24, 14)), (purposes, (24, 0, 24, 14)), (search, (0, 14, 48, 22))],
        filters=scoped,
        data_view_id=dv,
    )
    view = o.data_view(
        dv, f"{name}*", name="Earshot communities", time_field=TIME_FIELD, labels=LABELS
    )
    return [view, search, wards, purposes, board]
