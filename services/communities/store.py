"""Reading community records from ``<prefix>-communities``: filters, one record, suggestions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elasticsearch import Elasticsearch, NotFoundError

from common.communities import CommunitiesFile, Space
from common.elastic import alias
from services.communities.sources import followed
from services.ingest.registry import SourcesFile

Doc = dict[str, Any]
KIND = "communities"


@dataclass(frozen=True)
class Filters:
    """What ``earshot communities list`` narrows by; every field left out does not constrain."""

    council: str | None = None
    ward: str | None = None
    topic: str | None = None
    stage: str | None = None
    department: str | None = None
    kind: str | None = None
    new: bool = False
    growing: bool = False

    def query(self) -> dict[str, Any]:
        """The Elasticsearch bool query for these filters."""
        must: list[dict[str, Any]] = []

        def either(value: str, *fields: str) -> None:
            must.append({"bool": {"should": [{"term": {f: value}} for f in fields]}})

        if self.council:
            either(self.council, "council_codes", "footprint.councils.name")
        if self.ward:
            either(self.ward, "ward_codes", "footprint.wards.name")
        if self.topic:
            must.append({"term": {"topic_ids": self.topic}})
        if self.stage:
            must.append({"term": {"register.stage": self.stage}})
        if self.department:
            must.append({"term": {"register.department": self.department}})
        if self.kind:
            must.append({"term": {"kind": self.kind}})
        if self.new:
            must.append({"term": {"new_this_week": True}})
        if self.growing:
            must.append({"term": {"growing": True}})
        return {"bool": {"filter": must}} if must else {"match_all": {}}


class CommunityStore:
    """Queries over the communities alias of one deployment."""

    def __init__(self, es: Elasticsearch, index_prefix: str) -> None:
        self.es = es
        self.index = alias(index_prefix, KIND)

    def search(
        self, query: dict[str, Any], size: int = 200, sort: str = "week.authors"
    ) -> list[Doc]:
        """Records matching ``query``, biggest first (none when the index does not exist yet)."""
        try:
            hits = self.es.search(
                index=self.index, query=query, size=size, sort=[{sort: "desc"}, {"key": "asc"}]
            )["hits"]["hits"]
        except NotFoundError:
            return []
        return [h["_source"] for h in hits]

    def matching(self, filters: Filters, size: int = 200) -> list[Doc]:
        """Communities matching ``filters``."""
        return self.search(filters.query(), size)

    def get(self, key: str) -> Doc | None:
        """The record of one community, or None (not a community, or below k this week)."""
        try:
            found = self.es.get(index=self.index, id=Space.parse(key).key)
        except NotFoundError:
            return None
        source: Doc = found["_source"]
        return source

    def suggestions(
        self, sources: SourcesFile, register: CommunitiesFile, filters: Filters, size: int = 50
    ) -> list[Doc]:
        """Communities worth following: followable, not followed, not rejected, best first."""
        query = filters.query()
        scored = {"range": {"suggestion_score": {"gt": 0}}}
        if "bool" in query:
            query["bool"]["filter"].append(scored)
        else:
            query = {"bool": {"filter": [scored]}}
        out = []
        for doc in self.search(query, size=500, sort="suggestion_score"):
            space = Space.parse(doc["key"])
            if followed(space, sources) or register.is_rejected(space.key):
                continue
            out.append(doc)
        return out[:size]
