"""Typed access to Faust's micro-batching, shared by every agent."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import cast

import faust
from faust.types import EventT


def event_batches(
    stream: faust.StreamT[bytes], size: int, within: float
) -> AsyncIterator[Sequence[EventT[bytes]]]:
    """Batches of up to ``size`` events, waiting at most ``within`` seconds for a batch to fill.

    Faust acknowledges a batch's events when the loop body that received the batch
    finishes, so the body must make its output durable before it ends.
    """
    # take_events lives on the concrete Stream class, not on the StreamT protocol.
    return cast(faust.Stream[bytes], stream).take_events(size, within)


def unacked_batches(
    stream: faust.StreamT[bytes], size: int, within: float
) -> AsyncIterator[Sequence[EventT[bytes]]]:
    """Batches like :func:`event_batches`, but nothing is acknowledged for the caller: it
    acknowledges each event itself (``stream.ack``) once the event's output is durable."""
    # noack_take yields the events themselves, though Faust types them as values.
    return cast(
        AsyncIterator[Sequence[EventT[bytes]]],
        cast(faust.Stream[bytes], stream).noack_take(size, within),
    )


def bytes_topic(
    app: faust.App, name: str, *, internal: bool = False, partitions: int | None = None
) -> faust.TopicT:
    """A topic of raw key/value bytes: the one codec (schemas.codec) decodes and validates them."""
    return app.topic(
        name,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        internal=internal,
        partitions=partitions,
    )
