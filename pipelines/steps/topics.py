"""Topics a post is about, with the spans that say so, and the departments that own them."""

from __future__ import annotations

from collections.abc import Sequence

from common.taxonomy import Taxonomy
from pipelines.steps.textmatch import PhraseMatcher
from schemas.models import Span, Topic

_MASK = "\x00mask"


class TopicTagger:
    """Tags text with taxonomy topics; built once, then pure and fast."""

    def __init__(self, taxonomy: Taxonomy) -> None:
        self._owner = {t.id: t.department for t in taxonomy.topics}
        pairs = [(p, t.id) for t in taxonomy.topics for p in t.phrases]
        pairs += [(p, _MASK) for t in taxonomy.topics for p in t.except_in]
        self._matcher: PhraseMatcher[str] = PhraseMatcher(pairs)
        self.topic_ids: tuple[str, ...] = tuple(self._owner)

    def tag(self, text: str) -> tuple[Topic, ...]:
        """Topics found in ``text`` in taxonomy order, each with its matched spans."""
        spans: dict[str, list[Span]] = {}
        for hit in self._matcher.find(text):
            if hit.payload != _MASK:
                span = Span(start=hit.start, end=hit.end, text=text[hit.start : hit.end])
                spans.setdefault(hit.payload, []).append(span)
        return tuple(Topic(id=t, spans=tuple(spans[t])) for t in self._owner if t in spans)

    def departments(self, topics: Sequence[Topic]) -> tuple[str, ...]:
        """Owning departments of ``topics``, each once, in topic order."""
        return tuple(dict.fromkeys(self._owner[t.id] for t in topics if t.id in self._owner))
