"""At-least-once delivery around Faust's rebalances: nothing fetched is thrown away unprocessed.

Faust 0.15.3 loses records in two windows around a rebalance (seen here as a
worker killed mid-stream, restarted, and short of documents for good):

* Records fetched and handed to a stream before its partitions are seeked to
  the committed offset sit in the stream's buffer; when the flow resumes, that
  buffer is emptied. Faust counts on the seek to fetch them again, but its
  consumer had already marked them read, so the re-fetched copies are dropped.
* A partition with no committed offset (a new group, or one the previous
  worker died before committing) is not seeked at all, so what was emptied
  from the buffer is never fetched again.

``AtLeastOnceApp`` closes both: buffers keep what they were handed (a record
may then be processed twice, which every agent tolerates: documents are keyed
by mention_id, dedupe recognises its own mention, alerts are keyed by their
id), and a partition with no committed offset is seeked to where the group's
``auto_offset_reset`` says it starts, exactly as one with an offset is.
"""

from __future__ import annotations

from typing import Any, cast

import faust
from faust.tables.manager import TableManager
from faust.transport.drivers import aiokafka as aiokafka_driver
from faust.types import TP, TransportT
from mode.utils.queues import ThrowableQueue


class _SeekEveryPartitionConsumer(aiokafka_driver.Consumer):
    async def perform_seek(self) -> None:
        await super().perform_seek()
        changelogs = self.app.tables.changelog_topics  # table recovery positions these itself
        uncommitted: list[TP] = [
            tp
            for tp in self.assignment()
            if tp.topic not in changelogs and self._read_offset.get(tp) is None
        ]
        if not uncommitted:
            return
        if self.app.conf.consumer_auto_offset_reset == "earliest":
            starts = await self.earliest_offsets(*uncommitted)
        else:
            starts = await self.highwaters(*uncommitted)
        # In the consumer's own thread: Faust's plain seek() changes aiokafka's fetcher from
        # this thread while that one is draining it (seen as a KeyError crash in the fetcher
        # of a worker restarted mid-stream).
        await self._thread.seek_wait(dict(starts))


class _Transport(aiokafka_driver.Transport):
    Consumer = _SeekEveryPartitionConsumer


class _TableManager(TableManager):
    """Faust's table manager whose changelog queue is cleared on resume, as Faust made it.

    The queue is recovery's own (recovery re-reads changelogs from the offsets it builds);
    with the streams' keep-on-resume rule applied to it too, a worker taking over a dead
    peer's partitions could wait forever for changelog events.
    """

    @property
    def changelog_queue(self) -> ThrowableQueue[Any]:
        if self._changelog_queue is None:
            app = cast(faust.App, self.app)
            self._changelog_queue = faust.App.FlowControlQueue(
                app, maxsize=app.conf.stream_buffer_maxsize, clear_on_resume=True
            )
        return self._changelog_queue


class AtLeastOnceApp(faust.App):
    """``faust.App`` whose streams never drop a record they were handed, across rebalances."""

    def __init__(self, id: str, **options: Any) -> None:
        options.setdefault("TableManager", _TableManager)
        super().__init__(id, **options)

    def FlowControlQueue(  # noqa: N802  (Faust's name)
        self, maxsize: int | None = None, *, clear_on_resume: bool = False
    ) -> ThrowableQueue[Any]:
        del clear_on_resume  # emptying a stream's buffer on resume is what loses records
        return super().FlowControlQueue(maxsize, clear_on_resume=False)

    def _new_transport(self) -> TransportT:
        return _Transport(self.conf.broker_consumer, self)
