"""The interface a source implements; everything else (loop, Kafka, cursors) is the runtime's.

A source kind provides, in ``services/ingest/<kind>/``:

* a config model (subclass of :class:`InstanceConfig`, ``kind: Literal["<kind>"]``);
* a :class:`Source` whose :meth:`Source.streams` are the things to poll or follow and
  whose :meth:`Source.routes` are any HTTP intake endpoints;
* ``SPEC = SourceSpec("<kind>", Config, Source)`` in its ``source.py``, which
  ``services.ingest.registry`` picks up for every kind named in ``SourceKind``.

The runtime never imports a source: the registry sits above both.

A :class:`Stream` yields :class:`Page` objects. The runtime writes each page's
mentions, its rejects (dead letters) and its cursor in ONE Kafka transaction, so
a cursor is never visible before the mentions it covers, and a crash between
pages re-fetches at most the page that was not committed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from aiohttp import web

from common.privacy import Pseudonymiser
from schemas.models import Mention, SourceKind
from services.ingest.runtime.config import InstanceConfig
from services.ingest.runtime.http import ApiClient

Cursor = dict[str, Any]
"""A stream's resume state as JSON-ready data (since_id, min_id, ETag, seen ids...)."""


@dataclass(frozen=True)
class Reject:
    """A payload that could not become a Mention: dead-lettered with ``error`` as the reason."""

    raw: bytes
    error: BaseException


@dataclass(frozen=True)
class Page:
    """One unit of progress: mentions, rejects and the cursor that covers both.

    ``cursor=None`` leaves the stored cursor unchanged. ``fetched`` counts API items
    seen (for metrics), including duplicates the source skipped.
    """

    mentions: Sequence[Mention] = ()
    rejects: Sequence[Reject] = ()
    cursor: Cursor | None = None
    fetched: int = 0


class Stream(ABC):
    """One feed / hashtag / query the runtime follows, with its own cursor.

    ``interval_s`` is the pause between passes; ``None`` means the stream is
    long-lived (a streaming connection) and the runtime re-enters it at once when
    it ends. :meth:`pages` may raise Retryable (runtime backs off and re-enters
    from the last committed cursor), PayloadError (dead-lettered, next pass) or
    Permanent (the stream is parked and reported).
    """

    def __init__(
        self, kind: SourceKind, instance: str, name: str, interval_s: float | None
    ) -> None:
        self.kind = kind
        self.instance = instance
        self.name = name
        self.interval_s = interval_s

    @property
    def key(self) -> str:
        """The cursor key: ``<kind>/<instance>/<stream>``."""
        return f"{self.kind}/{self.instance}/{self.name}"

    @abstractmethod
    def pages(self, cursor: Cursor | None) -> AsyncGenerator[Page, None]:
        """Yield pages from ``cursor`` (None = first run) onwards; return when caught up."""


Deliver = Callable[[Sequence[Mention]], Awaitable[None]]


@dataclass(frozen=True)
class SourceContext:
    """What the runtime hands a source factory."""

    pseudonymiser: Pseudonymiser
    http: ApiClient
    deliver: Deliver
    """Durably produce mentions now (transaction committed); raises Retryable on failure."""
    now: Callable[[], datetime]
    environ: dict[str, str] = field(default_factory=dict)


class Source(ABC):
    """A configured instance of a source kind."""

    @abstractmethod
    def streams(self) -> Sequence[Stream]:
        """The streams the runtime follows for this instance."""

    def routes(self) -> Sequence[web.RouteDef]:
        """HTTP intake routes mounted on the service's HTTP server (none by default)."""
        return ()

    async def aclose(self) -> None:  # noqa: B027 - optional hook, most sources hold nothing
        """Release what the source opened (the shared HTTP client is the runtime's)."""


C = TypeVar("C", bound=InstanceConfig)


@dataclass(frozen=True)
class SourceSpec(Generic[C]):
    """How to configure and build one source kind: what its package exports as ``SPEC``."""

    kind: SourceKind
    config: type[C]
    factory: Callable[[C, SourceContext], Source]
