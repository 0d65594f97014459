"""AtLeastOnceApp: what a stream was handed survives the flow pause/resume of a rebalance."""

from __future__ import annotations

import faust

from pipelines.delivery import AtLeastOnceApp, _SeekEveryPartitionConsumer


async def _buffered_after_rebalance(app: faust.App) -> int:
    # Exactly how Faust builds a stream's and a channel's buffer.
    queue = app.FlowControlQueue(maxsize=10, clear_on_resume=True)
    queue.put_nowait("fetched before the seek")
    app.flow_control.suspend()  # partitions revoked / being assigned
    app.flow_control.clear()
    app.flow_control.resume()  # recovery done, worker ready
    return queue.qsize()


async def test_stream_buffers_keep_their_records_across_a_rebalance() -> None:
    app = AtLeastOnceApp("t-delivery", broker="kafka://127.0.0.1:1", store="memory://")
    assert await _buffered_after_rebalance(app) == 1


async def test_plain_faust_app_empties_them_which_is_the_loss_being_fixed() -> None:
    app = faust.App("t-delivery-plain", broker="kafka://127.0.0.1:1", store="memory://")
    assert await _buffered_after_rebalance(app) == 0


def test_the_consumer_is_the_one_that_seeks_uncommitted_partitions() -> None:
    app = AtLeastOnceApp("t-delivery-seek", broker="kafka://127.0.0.1:1", store="memory://")
    assert type(app.transport).Consumer is _SeekEveryPartitionConsumer
