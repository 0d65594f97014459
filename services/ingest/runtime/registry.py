"""The typed registry of source kinds and the sources YAML that instantiates them.

Adding a kind = one :class:`SourceSpec` in :data:`REGISTRY` and its config model in
:data:`AnySourceConfig` (a test checks the two agree).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from common.yamlconfig import ConfigError, read_yaml
from schemas.models import SourceKind
from services.ingest.bluesky.source import BlueskyConfig, BlueskySource
from services.ingest.mastodon.source import MastodonConfig, MastodonSource
from services.ingest.reddit.source import RedditConfig, RedditSource
from services.ingest.rss.source import RssConfig, RssSource
from services.ingest.runtime.api import Source, SourceContext
from services.ingest.runtime.config import InstanceConfig
from services.ingest.webhook.source import WebhookConfig, WebhookSource
from services.ingest.x.source import XConfig, XSource

C = TypeVar("C", bound=InstanceConfig)

AnySourceConfig = Annotated[
    RssConfig | MastodonConfig | BlueskyConfig | RedditConfig | XConfig | WebhookConfig,
    Field(discriminator="kind"),
]


@dataclass(frozen=True)
class SourceSpec(Generic[C]):
    """How to configure and build one source kind."""

    config: type[C]
    factory: Callable[[C, SourceContext], Source]


REGISTRY: Final[Mapping[SourceKind, SourceSpec[Any]]] = {
    "rss": SourceSpec(RssConfig, RssSource),
    "mastodon": SourceSpec(MastodonConfig, MastodonSource),
    "bluesky": SourceSpec(BlueskyConfig, BlueskySource),
    "reddit": SourceSpec(RedditConfig, RedditSource),
    "x": SourceSpec(XConfig, XSource),
    "webhook": SourceSpec(WebhookConfig, WebhookSource),
}


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
