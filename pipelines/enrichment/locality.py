"""Locality step: the council, ward and places a mention is about, with evidence."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pipelines.settings import PipelineSettings
from pipelines.steps.enrich import Draft, EnrichmentStep
from pipelines.steps.locality import LocalityTagger
from schemas.models import Locality, Mention, PlaceHint, Point


class LocalityFinder(Protocol):
    """What enrichment needs of the locality tagger."""

    def tag(
        self,
        text: str,
        geo: Point | None = None,
        place_hint: PlaceHint | None = None,
        context: Sequence[str] = (),
    ) -> Locality: ...


def locality_context(mention: Mention) -> tuple[str, ...]:
    """Source hints that say where a post comes from: the hashtag, subreddit, feed or instance."""
    hints = [m.value for m in mention.matched_by]
    hints.append(mention.source.instance)
    return tuple(hints)


class LocalityStep:
    """Sets ``locality`` on every draft."""

    def __init__(self, tagger: LocalityFinder) -> None:
        self._tagger = tagger

    def __call__(self, drafts: Sequence[Draft]) -> None:
        for draft in drafts:
            m = draft.mention
            draft.locality = self._tagger.tag(m.text, m.geo, m.place_hint, locality_context(m))


def build(settings: PipelineSettings) -> EnrichmentStep:
    """The step over the councils configured in ``<config_dir>/councils``."""
    return LocalityStep(LocalityTagger.from_config(settings.config_dir / "councils"))
