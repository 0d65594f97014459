"""The topic taxonomy contract (``deploy/config/topics.yaml``): topics, phrases and owners."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from common.yamlconfig import load_yaml

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
