"""Topic declarations: one YAML file per topic in ``schemas/topics/`` and the model they follow.

A declaration names the topic, its key, partitions, retention and owner, and the
schema its messages follow. ``common.topics`` reads them and creates the topics.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.codec import SCHEMA_NAMES


def declarations_dir() -> Path:
    """The folder of topic declaration files shipped with ``schemas``."""
    return Path(str(resources.files("schemas").joinpath("topics")))


class TopicDeclaration(BaseModel):
    """One topic as declared in YAML."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9._-]+$")
    description: str
    owner: Literal["ingest", "pipelines", "notifier", "ops"]
    schema_: str | None = Field(alias="schema")
    key: str
    partitions: int = Field(ge=1, le=64)
    config: dict[str, str | int]

    def check_schema(self) -> None:
        if self.schema_ is not None and self.schema_ not in SCHEMA_NAMES:
            raise ValueError(f"topic {self.name}: unknown schema {self.schema_!r}")
