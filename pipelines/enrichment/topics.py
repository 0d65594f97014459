"""Topics step: what a mention is about (taxonomy topics with spans) and who owns that."""

from __future__ import annotations

from collections.abc import Sequence

from common.taxonomy import Taxonomy
from pipelines.settings import PipelineSettings
from pipelines.steps.enrich import Draft, EnrichmentStep
from pipelines.steps.topics import TopicTagger


class TopicsStep:
    """Sets ``topics`` and ``departments`` on every draft."""

    def __init__(self, tagger: TopicTagger) -> None:
        self._tagger = tagger

    def __call__(self, drafts: Sequence[Draft]) -> None:
        for draft in drafts:
            draft.topics = self._tagger.tag(draft.mention.text)
            draft.departments = self._tagger.departments(draft.topics)


def build(settings: PipelineSettings) -> EnrichmentStep:
    """The step over ``<config_dir>/topics.yaml``."""
    return TopicsStep(TopicTagger(Taxonomy.load(settings.config_dir / "topics.yaml")))
