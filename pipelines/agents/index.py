"""Index agent: mentions.enriched.v1 → Elasticsearch monthly indices behind the alias.

A batch is acknowledged only when every document in it is indexed (``_id`` =
mention_id) or dead-lettered with the reason Elasticsearch gave; while the
cluster is unreachable the agent waits and retries, holding the batch.
"""

from __future__ import annotations

import faust

from common.bulk import BulkIndexer, Doc
from common.elastic import async_es_client, install_templates_async, monthly_index
from common.retry import FOREVER, retry_async
from common.settings import load_settings
from pipelines.agents.deadletters import DeadLetterer
from pipelines.agents.streams import event_batches
from pipelines.settings import PipelineSettings
from pipelines.steps.erasure import TombstoneSettings, tombstone_guard
from pipelines.topology import Topics
from schemas.codec import decode, to_json
from schemas.models import EnrichedMention


class IndexingRejected(Exception):
    """Elasticsearch will never accept this document as it is."""


def register(app: faust.App, topics: Topics, settings: PipelineSettings) -> None:
    """Declare the index agent on ``app``."""
    dlq = DeadLetterer(topics.enriched_dlq, "index", settings.dead_letter_limit)
    client = async_es_client(settings)
    indexer = BulkIndexer(client)
    erased = tombstone_guard(load_settings(TombstoneSettings))

    @app.agent(topics.enriched, name="index")
    async def index(stream: faust.StreamT[bytes]) -> None:
        await retry_async(lambda: install_templates_async(client, settings.index_prefix), FOREVER)
        # Erased authors are known before the first document is indexed, and kept current.
        await retry_async(lambda: erased.refresh(force=True), FOREVER)
        async for events in event_batches(
            stream, settings.index_batch_max, settings.index_batch_seconds
        ):
            await retry_async(erased.refresh, FOREVER)
            docs = []
            for event in events:
                try:
                    mention = decode(event.value, EnrichedMention)
                except Exception as exc:
                    await dlq.send(event, exc)
                    continue
                if erased.erased(mention.author):
                    continue  # privacy.tombstones.v1: acknowledged, never stored again
                target = monthly_index(settings.index_prefix, "mentions", mention.created_at)
                docs.append(Doc(target, mention.mention_id, to_json(mention), event))
            outcome = await indexer.write(docs)
            for event, reason in outcome.rejected:
                await dlq.send(event, IndexingRejected(reason))
            dlq.succeeded(outcome.indexed)

    del index
