"""The registry of source kinds and the sources YAML that instantiates them.

It sits ABOVE the runtime and the sources: every kind named in ``schemas.models.SourceKind``
is the package ``services.ingest.<kind>``, whose ``source.SPEC`` (a :class:`SourceSpec`) says
which config model and Source class it has. So registering a kind is naming it in
``SourceKind`` (and the mention schema's enum); nothing here changes. The sources file's
discriminated union is built from the specs.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from functools import reduce
from importlib import import_module
from operator import or_
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, model_validator

from common.yamlconfig import ConfigError, read_yaml
from schemas.models import SourceKind
from services.ingest.runtime.api import Source, SourceContext, SourceSpec
from services.ingest.runtime.config import InstanceConfig


def _spec(kind: str) -> SourceSpec[Any]:
    """The SPEC of ``services.ingest.<kind>``; ImportError/TypeError say what is missing."""
    spec = getattr(import_module(f"services.ingest.{kind}.source"), "SPEC", None)
    if not isinstance(spec, SourceSpec) or spec.kind != kind:
        raise TypeError(
            f"services.ingest.{kind}.source must define SPEC = SourceSpec({kind!r}, ...)"
        )
    return spec


REGISTRY: Final[Mapping[SourceKind, SourceSpec[Any]]] = {
    kind: _spec(kind) for kind in typing.get_args(SourceKind)
}

if TYPE_CHECKING:
    AnySourceConfig = InstanceConfig
else:
    AnySourceConfig = Annotated[
        reduce(or_, (spec.config for spec in REGISTRY.values())), Field(discriminator="kind")
    ]


class SourcesFile(BaseModel):
    """Top level of ``sources.yaml``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sources: tuple[AnySourceConfig, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> SourcesFile:
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"instance names must be unique, repeated: {', '.join(dupes)}")
        return self


def load_sources(
    path: Path | str, environ: Mapping[str, str], selected: frozenset[str] | None = None
) -> list[InstanceConfig]:
    """Validate the sources file and return the enabled instances this process runs.

    Raises ConfigError naming file:line:field for schema errors, unknown selected
    names, and env vars (tokens, secrets) that a selected instance needs but are unset.
    """
    loaded = read_yaml(path, SourcesFile)
    config = loaded.value
    known = {s.name for s in config.sources}
    unknown = sorted((selected or frozenset()) - known)
    if unknown:
        raise ConfigError(
            loaded.path,
            None,
            "EARSHOT_SOURCE_INSTANCE",
            f"unknown instance(s) {unknown}; known: {sorted(known)}",
        )
    chosen: list[InstanceConfig] = []
    for index, instance in enumerate(config.sources):
        if not instance.enabled or (selected is not None and instance.name not in selected):
            continue
        for field in instance.required_env():
            env_name = getattr(instance, field)
            if not environ.get(env_name):
                raise loaded.error(("sources", index, field), f"env var {env_name} is not set")
        chosen.append(instance)
    return chosen


def build_source(config: InstanceConfig, ctx: SourceContext) -> Source:
    """The Source for one validated instance, via the registry."""
    kind: SourceKind = getattr(config, "kind")  # noqa: B009 - every registered model has it
    spec = REGISTRY[kind]
    if not isinstance(config, spec.config):
        raise TypeError(
            f"{config.name}: config is {type(config).__name__}, not {spec.config.__name__}"
        )
    return spec.factory(config, ctx)
