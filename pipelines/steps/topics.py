"""Topics a post is about, with the spans that say so, and the departments that own them."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipelines.steps.textmatch import PhraseMatcher
from schemas.models import Span, Topic
from schemas.yamlconfig import load_yaml

_MASK = "\x00mask"
IdPattern = r"^[a-z0-9_-]+$"


class TopicDefinition(BaseModel):
    """One topic of the taxonomy (``deploy/config/topics.yaml``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=IdPattern)
    label: str
    department: str = Field(pattern=IdPattern)
    phrases: tuple[str, ...] = Field(min_length=1)
    except_in: tuple[str, ...] = ()


class Taxonomy(BaseModel):
    """The whole taxonomy file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = 1
    topics: tuple[TopicDefinition, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Taxonomy:
        seen: set[str] = set()
        for topic in self.topics:
            if topic.id in seen:
                raise ValueError(f"topic id {topic.id!r} is defined twice")
            seen.add(topic.id)
        return self

    @classmethod
    def load(cls, path: Path) -> Taxonomy:
        """Read and validate a taxonomy file; errors name file, line and field."""
        return load_yaml(path, cls)


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
