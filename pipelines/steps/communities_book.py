"""The community agent's working state: each space's records over the horizon, Faust-free.

The durable state is the Faust table (one entry per applied delta, changelogged);
this book is what the worker derives from it to build community records quickly:
per space, its records by mention id (so a mention redelivered after a crash, or
heard twice, counts once), which table entries hold them, and the partition the
space lives in. It is rebuilt from the table after every recovery, and it only
ever holds the spaces of the partitions this worker owns.

Bounds: records older than ``horizon_days`` are dropped (their table entries
deleted), so memory is proportional to the mentions of the last ``horizon_days``
times their spaces per mention (``bench/bench_communities.py`` measures it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from pipelines.steps.communities import Record

DAY = 86_400


@dataclass
class SpaceState:
    """One space's records (by mention id) and the table entries that hold them."""

    partition: int
    records: dict[str, Record] = field(default_factory=dict)
    entries: set[str] = field(default_factory=set)
    """Table keys of the deltas that hold records of this space."""


@dataclass
class Expired:
    """What :meth:`CommunityBook.expire` took out: table entries to delete, spaces now empty."""

    entries: list[tuple[int, str]]
    emptied: list[str]


class CommunityBook:
    """Records per space over a sliding horizon; spaces touched since the last flush are dirty."""

    def __init__(self, horizon_days: int) -> None:
        self.horizon = horizon_days * DAY
        self.spaces: dict[str, SpaceState] = {}
        self.dirty: set[str] = set()
        self.erased: set[int] = set()
        """Author hashes of erased people: never counted again."""
        self.entries: dict[str, tuple[int, int]] = {}
        """Table key -> (its partition, newest event time of its records): it expires after."""

    def apply(self, space: str, partition: int, entry: str, records: Iterable[Record]) -> int:
        """Add one delta's records to ``space``; returns how many were new."""
        state = self.spaces.get(space)
        if state is None:
            state = self.spaces[space] = SpaceState(partition)
        added = 0
        newest = self.entries.get(entry, (partition, 0))[1]
        for record in records:
            if record.author is not None and record.author in self.erased:
                continue
            newest = max(newest, record.at)
            if record.mention_id not in state.records:
                state.records[record.mention_id] = record
                added += 1
        state.entries.add(entry)
        self.entries[entry] = (partition, newest)
        self.dirty.add(space)
        return added

    def expire(self, now: float) -> Expired:
        """Drop records older than the horizon; say which table entries to delete."""
        cutoff = now - self.horizon
        gone = {e for e, (_, newest) in self.entries.items() if newest < cutoff}
        out = Expired([(self.entries.pop(e)[0], e) for e in sorted(gone)], [])
        for key, state in list(self.spaces.items()):
            old = [mid for mid, r in state.records.items() if r.at < cutoff]
            for mid in old:
                del state.records[mid]
            if old or state.entries & gone:
                state.entries -= gone
                self.dirty.add(key)
            if not state.records and not state.entries:
                del self.spaces[key]
                out.emptied.append(key)
        return out

    def erase(self, authors: Iterable[int]) -> dict[str, SpaceState]:
        """Stop counting ``authors`` from now on; returns the spaces whose records changed."""
        new = set(authors) - self.erased
        self.erased |= new
        changed: dict[str, SpaceState] = {}
        if not new:
            return changed
        for key, state in self.spaces.items():
            theirs = [mid for mid, r in state.records.items() if r.author in new]
            for mid in theirs:
                del state.records[mid]
            if theirs:
                changed[key] = state
                self.dirty.add(key)
        return changed

    def take_dirty(self) -> list[tuple[str, SpaceState | None]]:
        """The spaces touched since the last call (None: the space is gone) and forget them."""
        out = [(key, self.spaces.get(key)) for key in sorted(self.dirty)]
        self.dirty.clear()
        return out

    def drop_entry(self, entry: str) -> None:
        """A table entry is gone (all its records erased)."""
        self.entries.pop(entry, None)
        for state in self.spaces.values():
            state.entries.discard(entry)

    def clear(self) -> None:
        """Forget everything but the erased authors (before a rebuild from the table)."""
        self.spaces.clear()
        self.dirty.clear()
        self.entries.clear()

    def __len__(self) -> int:
        return len(self.spaces)

    def records(self) -> Iterator[Record]:
        """Every record held (one per space it belongs to)."""
        for state in self.spaces.values():
            yield from state.records.values()
