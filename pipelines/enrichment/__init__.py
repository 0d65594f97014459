"""The enrichment chain, declared once: adding a step is one module here and one line in CHAIN.

Each module holds one step (see :class:`pipelines.steps.enrich.EnrichmentStep`)
and a ``build(settings)`` that loads what the step needs (models, tables,
config), offline. Steps run in CHAIN order on every batch, inside the
enrichment processes (:mod:`pipelines.enrich_process`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from pipelines.enrichment import language, locality, sentiment, topics
from pipelines.settings import PipelineSettings
from pipelines.steps.enrich import Enricher, EnrichmentStep

log = logging.getLogger(__name__)

StepFactory = Callable[[PipelineSettings], EnrichmentStep]

CHAIN: tuple[StepFactory, ...] = (
    language.build,  # first: the sentiment step reads its verdict
    sentiment.build,
    locality.build,
    topics.build,
)


def build_enricher(settings: PipelineSettings) -> Enricher:
    """The chain for this deployment; raises saying what to run when a model is not built."""
    started = time.monotonic()
    enricher = Enricher([build(settings) for build in CHAIN])
    log.info("enrichment chain of %d steps loaded in %.1fs", len(CHAIN), time.monotonic() - started)
    return enricher
