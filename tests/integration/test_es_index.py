"""An EnrichedMention is indexed under our template and found by queries in the real Elasticsearch."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from common.elastic import alias, install_templates, monthly_index
from devkit.events import example_enriched
from schemas.codec import to_json
from schemas.models import SentimentProbabilities


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


def test_sentiment_probabilities_and_mixed_flag_are_mapped_and_queryable(
    es: Elasticsearch, unique_prefix: str
) -> None:
    prefix = f"{unique_prefix}earshot"
    install_templates(es, prefix)
    example = example_enriched()
    assert example.sentiment is not None
    mixed = example.model_copy(
        update={
            "mention_id": "b" * 32,
            "sentiment": example.sentiment.model_copy(
                update={
                    "label": "negative",
                    "score": 0.55,
                    "probabilities": SentimentProbabilities(
                        negative=0.55, neutral=0.05, positive=0.4
                    ),
                    "mixed": True,
                }
            ),
        }
    )
    index = monthly_index(prefix, "mentions", mixed.created_at)
    # The older shape (no probabilities, no flag) still indexes under the strict mapping.
    for mention in (example, mixed):
        es.index(index=index, id=mention.mention_id, document=to_json(mention), refresh="wait_for")
    found = es.search(
        index=alias(prefix, "mentions"),
        query={
            "bool": {
                "filter": [
                    {"term": {"sentiment.mixed": True}},
                    {"range": {"sentiment.probabilities.positive": {"gte": 0.3}}},
                ]
            }
        },
    )
    assert [h["_id"] for h in found["hits"]["hits"]] == [mixed.mention_id]
    mapping = es.indices.get_mapping(index=index)[index]["mappings"]["properties"]["sentiment"]
    assert mapping["properties"]["mixed"]["type"] == "boolean"
    assert mapping["properties"]["probabilities"]["properties"]["negative"]["type"] == "float"
