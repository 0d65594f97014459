"""Which offsets of alerts.v1 the notifier may commit, and the rebalance notes that change that.

The commit position of a partition is the next offset that is done, but never
past the lowest offset still held for a digest: a restart then replays held
alerts (the ledger skips those already sent) instead of losing them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping

from kafka import ConsumerRebalanceListener, TopicPartition
from kafka.structs import OffsetAndMetadata


class Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """Notes partition changes for the main loop.

    kafka-python 3 calls these on its IO thread, where anything that waits for
    the broker (a commit, another client's poll) would deadlock: so only note.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._revoked: set[int] = set()
        self._assigned = False

    def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        with self._lock:
            self._revoked |= {tp.partition for tp in revoked}

    def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        with self._lock:
            self._assigned = True

    def take(self) -> tuple[set[int], bool]:
        """What changed since the last call: revoked partitions, and whether any were assigned."""
        with self._lock:
            revoked, assigned = self._revoked, self._assigned
            self._revoked, self._assigned = set(), False
        return revoked, assigned


class Offsets:
    """Per partition of one topic: the next offset that is done, and the last one committed."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self._next: dict[int, int] = {}
        self._committed: dict[int, int] = {}

    def done(self, partition: int, offset: int) -> None:
        """The record at ``offset`` needs nothing more from this process (sent, held or skipped)."""
        self._next[partition] = offset + 1

    def to_commit(self, held_floor: Mapping[int, int]) -> dict[TopicPartition, OffsetAndMetadata]:
        """Positions that moved since the last commit, each kept below the lowest held offset."""
        offsets = {}
        for partition, nxt in self._next.items():
            position = min(nxt, held_floor.get(partition, nxt))
            if self._committed.get(partition) != position:
                offsets[TopicPartition(self.topic, partition)] = OffsetAndMetadata(position, "", -1)
        return offsets

    def committed(self, offsets: Mapping[TopicPartition, OffsetAndMetadata]) -> None:
        """The broker accepted ``offsets``."""
        for tp, meta in offsets.items():
            self._committed[tp.partition] = meta.offset

    def forget(self, partitions: Iterable[int]) -> None:
        """Partitions were revoked: their positions are the new owner's business."""
        for p in partitions:
            self._next.pop(p, None)
            self._committed.pop(p, None)
