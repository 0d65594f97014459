"""The Jetstream firehose → Mentions, prefiltered by configured terms and batched into pages.

Contract: one long-lived stream per instance (cursor key ``bluesky/<instance>/jetstream``).
:meth:`FirehoseStream.pages` connects at the committed ``time_us`` (first run: live)
and skips events at or before it, since Jetstream replays its cursor inclusively.
Only ``create``/``update`` commits of posts whose text holds a configured term as a
whole word (and, with ``langs``, declare one of them) are mapped; everything else is
counted and dropped first, because the firehose is the whole network. A page goes out
every ``batch_max`` mentions or ``flush_s`` seconds, whichever comes first, with cursor
``{"time_us": <last event seen>}``: one transaction per batch, not per post, and a
restart resumes right after the last committed event. When the connection ends the
pending batch is yielded; a normal close ends the pass (the runtime reconnects after a
short pause), a dropped connection raises HttpRetryable (the runtime backs off and
reconnects from the committed cursor).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import ahocorasick

from schemas.models import Match, Mention
from services.ingest.bluesky.client import POST_COLLECTION, jetstream_frames
from services.ingest.bluesky.mapping import map_post
from services.ingest.runtime.api import Cursor, Page, Reject, SourceContext, Stream
from services.ingest.runtime.body import parse_json
from services.ingest.runtime.errors import HttpRetryable
from services.ingest.runtime.items import item_bytes

POST_OPERATIONS = frozenset({"create", "update"})
FUTURE_SKEW_S = 600.0


class Frames(Protocol):
    """How the stream reads Jetstream: :func:`jetstream_frames`'s signature."""

    def __call__(
        self, base_url: str, cursor: int | None, *, tick_s: float, user_agent: str | None = None
    ) -> AsyncGenerator[str | None, None]: ...


class Prefilter:
    """Case-insensitive whole-word search for many terms in one pass (Aho-Corasick)."""

    def __init__(self, terms: Iterable[str]) -> None:
        self._automaton = ahocorasick.Automaton()
        for term in {t.strip().lower() for t in terms if t.strip()}:
            self._automaton.add_word(term, term)
        self._automaton.make_automaton()

    def find(self, text: str) -> list[str]:
        """The terms found in ``text`` as whole words ("Usk" is not in "dusk"), in order seen."""
        low = text.lower()
        found: list[str] = []
        for end, term in self._automaton.iter(low):
            start = end - len(term) + 1
            whole = (start == 0 or not low[start - 1].isalnum()) and (
                end + 1 == len(low) or not low[end + 1].isalnum()
            )
            if whole and term not in found:
                found.append(term)
        return found


@dataclass
class _Batch:
    time_us: int
    mentions: list[Mention] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    fetched: int = 0

    def page(self) -> Page:
        return Page(self.mentions, self.rejects, {"time_us": self.time_us}, self.fetched)


class FirehoseStream(Stream):
    """Follows Jetstream's post collection (see module doc)."""

    def __init__(
        self,
        instance: str,
        url: str,
        ctx: SourceContext,
        *,
        terms: Iterable[str],
        langs: Iterable[str] = (),
        batch_max: int = 200,
        flush_s: float = 5.0,
        frames: Frames = jetstream_frames,
    ) -> None:
        super().__init__("bluesky", instance, "jetstream", None)
        self.url = url
        self.prefilter = Prefilter(terms)
        self._langs = frozenset(lang.lower() for lang in langs)
        self._ctx = ctx
        self._batch_max = batch_max
        self._flush_s = flush_s
        self._frames = frames  # injectable, so tests feed frames without a socket

    def take(self, frame: str, after: int, batch: _Batch) -> None:
        """Count one frame into ``batch``: a mention if it is a matching post, a reject if broken."""
        try:
            self._take(frame, after, batch)
        except Exception as exc:  # one broken frame is that frame's problem, never the stream's
            batch.rejects.append(Reject(item_bytes(frame), exc))

    def _take(self, frame: str, after: int, batch: _Batch) -> None:
        event = parse_json(self.url, frame.encode("utf-8", "surrogatepass"))
        time_us = _time_us(event, self._ctx.now())
        if time_us <= after:
            return  # replayed by the inclusive cursor: already committed
        batch.fetched += 1
        batch.time_us = max(batch.time_us, time_us)
        commit = event.get("commit")
        if (
            event.get("kind") != "commit"
            or not isinstance(commit, dict)
            or commit.get("collection") != POST_COLLECTION
            or commit.get("operation") not in POST_OPERATIONS
        ):
            return  # deletes, likes, identity and account events: nothing to hear
        record = commit.get("record")
        text = record.get("text") if isinstance(record, dict) else None
        terms = self.prefilter.find(text) if isinstance(text, str) else []
        if not terms or (self._langs and not self._langs & _langs(record)):
            return
        update = commit["operation"] == "update"
        mention = map_post(
            record,
            uri=f"at://{event['did']}/{POST_COLLECTION}/{commit['rkey']}",
            handle=None,
            instance=self.instance,
            matched_by=tuple(Match(kind="firehose", value=t) for t in terms),
            fetched_at=self._ctx.now(),
            pseudonymiser=self._ctx.pseudonymiser,
            edited_at=datetime.fromtimestamp(time_us / 1e6, UTC) if update else None,
        )
        if mention is not None:
            batch.mentions.append(mention)

    async def pages(self, cursor: Cursor | None) -> AsyncGenerator[Page, None]:
        after = int((cursor or {}).get("time_us") or 0)
        batch = _Batch(after)
        loop = asyncio.get_running_loop()
        flush_at = loop.time() + self._flush_s
        agent = self._ctx.http.http.headers.get("User-Agent")
        frames = self._frames(
            self.url, after or None, tick_s=min(1.0, self._flush_s), user_agent=agent
        )
        try:
            async with aclosing(frames):  # closing the pass closes the socket at once
                async for frame in frames:
                    if frame is not None:
                        self.take(frame, after, batch)
                    due = loop.time() >= flush_at
                    if len(batch.mentions) >= self._batch_max or (due and _pending(batch, after)):
                        yield batch.page()
                        after, batch = batch.time_us, _Batch(batch.time_us)
                    if due:
                        flush_at = loop.time() + self._flush_s
        except HttpRetryable:
            if _pending(batch, after):
                yield batch.page()  # keep what was heard before the drop
            raise
        if _pending(batch, after):
            yield batch.page()  # a normal close: keep what was heard, then reconnect


def _time_us(event: object, now: datetime) -> int:
    """The event's ``time_us`` when it is a whole number of microseconds no later than a few
    minutes from now; ValueError otherwise, so a bogus time never becomes the cursor."""
    value = event.get("time_us") if isinstance(event, dict) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"time_us is not an integer: {str(value)[:40]!r}")
    if not 0 < value <= int((now.timestamp() + FUTURE_SKEW_S) * 1e6):
        raise ValueError(f"time_us {value} is not a time Jetstream can have sent")
    return value


def _pending(batch: _Batch, committed: int) -> bool:
    return batch.time_us > committed or bool(batch.rejects)


def _langs(record: object) -> frozenset[str]:
    langs = record.get("langs") if isinstance(record, dict) else None
    if not isinstance(langs, list):
        return frozenset()
    return frozenset(str(lang).split("-")[0].lower() for lang in langs)
