"""Newest wins in the real Elasticsearch: the bulk writer's external versions keep a newer
document against an older write, take the same version again, and count the refusal as superseded."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from elasticsearch import AsyncElasticsearch

from common.bulk import BulkIndexer, Doc
from common.elastic import install_templates_async, monthly_index
from devkit.events import example_enriched
from schemas.codec import encode


@pytest.fixture
async def es(es_url: str) -> AsyncIterator[AsyncElasticsearch]:
    client = AsyncElasticsearch(es_url, request_timeout=60)
    yield client
    await client.close()


async def test_an_older_version_never_replaces_a_newer_one(
    es: AsyncElasticsearch, unique_prefix: str
) -> None:
    prefix = f"{unique_prefix}earshot"
    await install_templates_async(es, prefix)
    first = example_enriched()
    edit = first.model_copy(update={"text": f"{first.text} (edited)"})
    index = monthly_index(prefix, "mentions", first.created_at)
    indexer = BulkIndexer(es, refresh=True)

    def doc(text_of: object, version: int) -> Doc[str]:
        return Doc(index, first.mention_id, encode(text_of), "origin", version=version)  # type: ignore[arg-type]

    newer = await indexer.write([doc(edit, 2000)])
    older = await indexer.write([doc(first, 1000)])
    again = await indexer.write([doc(edit, 2000)])

    stored = await es.get(index=index, id=first.mention_id)
    assert (newer.indexed, newer.superseded, newer.rejected) == (1, 0, [])
    assert (older.indexed, older.superseded, older.rejected) == (0, 1, [])
    assert (again.indexed, again.superseded, again.rejected) == (1, 0, [])  # a redelivery rewrites
    assert stored["_source"]["text"] == edit.text
    assert stored["_version"] == 2000


async def test_a_document_it_will_never_take_is_rejected_with_the_reason(
    es: AsyncElasticsearch, unique_prefix: str
) -> None:
    prefix = f"{unique_prefix}earshot"
    await install_templates_async(es, prefix)
    index = monthly_index(prefix, "mentions", example_enriched().created_at)
    outcome = await BulkIndexer(es).write(
        [Doc(index, "x", b'{"created_at": "not a date"}', "bad", version=1)]
    )
    assert outcome.indexed == 0 and outcome.superseded == 0
    ((origin, reason),) = outcome.rejected
    assert origin == "bad" and reason.startswith("400 ")
