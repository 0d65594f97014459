"""Elasticsearch filters shared by ``earshot search`` and the generated Kibana views.

This module is the only place that turns "a department's mentions", "a ward",
"negative mentions"... into query DSL. The CLI sends the DSL as its query; the
Kibana generator stores the very same DSL as custom filters in saved searches
and dashboards. Change a filter here and both change together, so they cannot
drift apart.

A department's *scope* is derived from ``departments.yaml``: the topics it owns
or routes on, the phrases of its phrase-only rules (which catch posts no topic
tags), and its places (its council, plus any councils, wards or community areas
its rules name). Rule exclusions are not applied: a view shows everything the
department could be routed, so people can see what the rules left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from common.routing.config import RoutingConfig

Query = dict[str, Any]
SENTIMENT_LABELS = ("negative", "neutral", "positive")
UNSCORED = "unscored"
"""Pseudo-label for mentions the sentiment model skipped (e.g. Welsh text)."""
TEXT_FIELDS = ("text", "title")


@dataclass(frozen=True)
class Scope:
    """What one department sees: its topics and places, from its rules and ``owns_topics``."""

    department: str
    name: str
    topics: tuple[str, ...]
    phrases: tuple[str, ...]
    councils: tuple[str, ...]
    wards: tuple[str, ...]
    community_areas: tuple[str, ...]

    def describe(self) -> str:
        """A one-line human label (Kibana shows it on the filter pill)."""
        what = ", ".join(self.topics) or "no topics"
        if self.phrases:
            what += f" (+{len(self.phrases)} phrases)"
        where = ", ".join((*self.councils, *self.wards, *self.community_areas)) or "everywhere"
        return f"{self.name}: {what} in {where}"


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(values))


def department_scope(config: RoutingConfig, department_id: str) -> Scope:
    """The scope of ``department_id``; raises KeyError for a department the config lacks."""
    dept = config.department(department_id)
    if dept is None:
        known = ", ".join(d.id for d in config.departments)
        raise KeyError(f"unknown department {department_id!r} (known: {known})")
    rules = [r for r in config.rules if r.department == dept.id and r.enabled]
    topics = list(dept.owns_topics)
    phrases: list[str] = []
    councils = [dept.council] if dept.council else []
    wards: list[str] = []
    areas: list[str] = []
    for rule in rules:
        if rule.topics is not None:
            topics += [*rule.topics.any, *rule.topics.all]
        else:
            # Phrase-only rules route posts that carry no topic: show those posts too.
            phrases += rule.phrases
        councils += rule.councils
        wards += rule.wards
        areas += rule.community_areas
    return Scope(
        department=dept.id,
        name=dept.name,
        topics=_unique(topics),
        phrases=_unique(phrases),
        councils=_unique(councils),
        wards=_unique(wards),
        community_areas=_unique(areas),
    )


def one_of(field_name: str, values: Sequence[str]) -> Query:
    """``term`` for one value, ``terms`` for several (Kibana shows both as readable pills)."""
    if len(values) == 1:
        return {"term": {field_name: values[0]}}
    return {"terms": {field_name: list(values)}}


def any_of(clauses: Sequence[Query]) -> Query:
    """At least one clause matches (a single clause is returned as it is)."""
    if len(clauses) == 1:
        return clauses[0]
    return {"bool": {"should": list(clauses), "minimum_should_match": 1}}


def all_of(clauses: Sequence[Query]) -> Query:
    """Every clause matches, as non-scoring filters; no clause matches everything."""
    if not clauses:
        return {"match_all": {}}
    if len(clauses) == 1:
        return clauses[0]
    return {"bool": {"filter": list(clauses)}}


def scope_query(scope: Scope) -> Query:
    """Mentions inside a department's scope: (its topics or phrases) and (its places)."""
    what: list[Query] = []
    if scope.topics:
        what.append(one_of("topics.id", scope.topics))
    what += [{"match_phrase": {"text": phrase}} for phrase in scope.phrases]
    where: list[Query] = []
    if scope.councils:
        where.append(one_of("locality.council.code", scope.councils))
    if scope.wards:
        where.append(one_of("locality.ward.code", scope.wards))
    if scope.community_areas:
        where.append(one_of("locality.community_areas", scope.community_areas))
    clauses = [any_of(part) for part in (what, where) if part]
    return all_of(clauses)


def coded_area(prefix: str, values: Sequence[str]) -> Query:
    """A council or ward given by ONS code or by name (``locality.<prefix>.code|name``)."""
    return any_of([one_of(f"{prefix}.code", values), one_of(f"{prefix}.name", values)])


def sentiment_query(labels: Sequence[str]) -> Query:
    """Mentions with one of ``labels``; ``unscored`` matches mentions without a sentiment."""
    scored = [label for label in labels if label != UNSCORED]
    clauses: list[Query] = []
    if scored:
        clauses.append(one_of("sentiment.label", scored))
    if UNSCORED in labels:
        clauses.append({"bool": {"must_not": [{"exists": {"field": "sentiment.label"}}]}})
    return any_of(clauses)


def source_query(sources: Sequence[str]) -> Query:
    """Mentions from a source kind (``mastodon``, ``rss``...) or a configured instance name."""
    return any_of([one_of("source.kind", sources), one_of("source.instance", sources)])


def time_query(since: datetime | None, until: datetime | None, field_name: str) -> Query:
    """``since <= field < until`` (either end may be open)."""
    bounds: dict[str, str] = {}
    if since is not None:
        bounds["gte"] = since.isoformat()
    if until is not None:
        bounds["lt"] = until.isoformat()
    return {"range": {field_name: bounds}}


def text_query(text: str) -> Query:
    """Free text the way people type it: words (all of them), "quoted phrases", -exclusions."""
    return {
        "simple_query_string": {
            "query": text,
            "fields": list(TEXT_FIELDS),
            "default_operator": "and",
        }
    }


NEGATIVE = sentiment_query(("negative",))
"""The "latest negative mentions" panels and ``earshot search --sentiment negative``."""


@dataclass(frozen=True)
class SearchFilters:
    """Every filter ``earshot search`` offers; empty fields do not constrain."""

    department: str | None = None
    councils: tuple[str, ...] = ()
    wards: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    sentiments: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    text: str | None = None
    extra: tuple[Query, ...] = field(default=())


def build_query(filters: SearchFilters, config: RoutingConfig | None = None) -> Query:
    """The query for ``filters``; a department filter needs the routing ``config``."""
    clauses: list[Query] = []
    if filters.department is not None:
        if config is None:
            raise ValueError("a department filter needs the departments config")
        clauses.append(scope_query(department_scope(config, filters.department)))
    if filters.councils:
        clauses.append(coded_area("locality.council", filters.councils))
    if filters.wards:
        clauses.append(coded_area("locality.ward", filters.wards))
    if filters.topics:
        clauses.append(one_of("topics.id", filters.topics))
    if filters.sentiments:
        clauses.append(sentiment_query(filters.sentiments))
    if filters.sources:
        clauses.append(source_query(filters.sources))
    if filters.since is not None or filters.until is not None:
        clauses.append(time_query(filters.since, filters.until, "created_at"))
    clauses += filters.extra
    query = all_of(clauses)
    if filters.text:
        return {"bool": {"must": [text_query(filters.text)], "filter": [query]}}
    return query


_FIELD_KEYS = ("term", "terms", "match_phrase", "match", "range", "prefix", "wildcard")


def query_fields(query: Any) -> Iterator[str]:
    """Every document field a query DSL names (for checking views against the mapping)."""
    if isinstance(query, dict):
        for key, value in query.items():
            if key in _FIELD_KEYS and isinstance(value, dict):
                yield from value.keys()
            elif key == "exists" and isinstance(value, dict):
                yield str(value["field"])
            elif key == "simple_query_string" and isinstance(value, dict):
                yield from (str(f) for f in value.get("fields", ()))
            else:
                yield from query_fields(value)
    elif isinstance(query, list):
        for item in query:
            yield from query_fields(item)
