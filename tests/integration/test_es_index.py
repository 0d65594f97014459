"""An EnrichedMention is indexed under our template and found by queries in the real Elasticsearch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from common.elastic import alias, install_templates, monthly_index
from devkit.events import example_enriched
from schemas.codec import to_json


@pytest.fixture
def es(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=60)
    yield client
    client.close()


def test_enriched_mention_is_indexed_and_found(es: Elasticsearch, unique_prefix: str) -> None:
    prefix = f"{unique_prefix}earshot"
    install_templates(es, prefix)
    mention = example_enriched()
    index = monthly_index(prefix, "mentions", mention.created_at)
    es.index(index=index, id=mention.mention_id, document=to_json(mention), refresh="wait_for")
    es.index(index=index, id=mention.mention_id, document=to_json(mention), refresh="wait_for")

    found = es.search(
        index=alias(prefix, "mentions"),
        query={
            "bool": {
                "must": [{"match": {"text": "potholes"}}],
                "filter": [
                    {"term": {"locality.ward.code": "E05013602"}},
                    {"term": {"sentiment.label": "negative"}},
                    {"term": {"topics.id": "highways"}},
                ],
            }
        },
    )
    hits = found["hits"]["hits"]
    assert [h["_id"] for h in hits] == [mention.mention_id]
    assert found["hits"]["total"]["value"] == 1
    mapping = es.indices.get_mapping(index=index)[index]["mappings"]
    assert mapping["properties"]["sentiment"]["properties"]["score"]["type"] == "float"
    assert mapping["properties"]["locality"]["properties"]["point"]["type"] == "geo_point"
