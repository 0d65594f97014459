"""Loading what enrichment needs — models, gazetteer, taxonomy — once per worker, offline."""

from __future__ import annotations

import logging
import time

from common.taxonomy import Taxonomy
from pipelines.sentiment import default_model_dir
from pipelines.sentiment.classifier import SentimentClassifier
from pipelines.settings import PipelineSettings
from pipelines.steps.enrich import Enricher
from pipelines.steps.language import detect_language, sentiment_policy
from pipelines.steps.locality import LocalityTagger
from pipelines.steps.topics import TopicTagger

log = logging.getLogger(__name__)


def build_enricher(settings: PipelineSettings) -> Enricher:
    """The Enricher for this deployment; raises with what to run when a model is not built."""
    started = time.monotonic()
    model_dir = settings.sentiment_model_dir or default_model_dir()
    enricher = Enricher(
        sentiment=SentimentClassifier.load(
            model_dir, threads=settings.threads_per_enrichment_process()
        ),
        locality=LocalityTagger.from_config(settings.config_dir / "councils"),
        topics=TopicTagger(Taxonomy.load(settings.config_dir / "topics.yaml")),
        detect_language=detect_language,
        sentiment_skip_reason=sentiment_policy,
    )
    log.info(
        "enrichment resources loaded in %.1fs (sentiment model %s)",
        time.monotonic() - started,
        model_dir,
    )
    return enricher
