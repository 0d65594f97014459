"""Mastodon streaming (SSE) for one hashtag, with backfill from the last seen id.

Contract: each time the runtime enters :meth:`StreamingHashtag.pages` it first
walks the REST timeline forward from the stored ``min_id`` (so nothing posted
while disconnected is missed), then follows ``/api/v1/streaming/hashtag``;
``update`` and ``status.update`` (an edit: same mention_id, new ``edited_at``)
each become a one-mention Page. When the server closes the stream the pass simply
ends: a normal close is not a failure, and the runtime reconnects (then backfills)
after a short pause with no growing backoff. A broken connection raises HttpRetryable.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Protocol

from schemas.models import Match, SourceKind
from services.ingest.mastodon.client import MastodonClient, Status, newest, status_id
from services.ingest.runtime.api import Cursor, Page, Reject, Stream
from services.ingest.runtime.body import parse_json
from services.ingest.runtime.errors import PayloadError

STATUS_EVENTS = frozenset({"update", "status.update"})


class Timeline(Protocol):
    """What the stream needs of ``source.TimelineStream`` (kept abstract to avoid a cycle)."""

    kind: SourceKind
    instance: str
    name: str
    match: Match

    def pages(self, cursor: Cursor | None) -> AsyncGenerator[Page, None]: ...

    def page_of(self, statuses: Sequence[Status], min_id: str | None) -> Page: ...


class StreamingHashtag(Stream):
    """Long-lived stream sharing the timeline's name, hence its cursor key."""

    def __init__(self, timeline: Timeline, client: MastodonClient) -> None:
        super().__init__(timeline.kind, timeline.instance, timeline.name, None)
        self._timeline = timeline
        self._client = client

    async def pages(self, cursor: Cursor | None) -> AsyncGenerator[Page, None]:
        min_id = status_id({"id": (cursor or {}).get("min_id")})
        async for page in self._timeline.pages(cursor):
            min_id = newest(min_id, (page.cursor or {}).get("min_id"))
            yield page
        yield Page()  # caught up over REST: the stream is healthy before any event arrives
        match = self._timeline.match
        async for event in self._client.stream_hashtag(match.value):
            if event.event not in STATUS_EVENTS:
                continue  # delete, notification...: nothing to ingest
            raw = event.data.encode("utf-8", "backslashreplace")
            try:
                status = parse_json(self._client.server, raw)
                if not isinstance(status, dict):
                    raise ValueError("stream payload is not a status object")
            except (PayloadError, ValueError) as exc:
                yield Page(rejects=[Reject(raw, exc)], fetched=1)
                continue
            page = self._timeline.page_of([status], min_id)
            min_id = newest(min_id, (page.cursor or {}).get("min_id"))
            yield page
