"""A minimal Faust app for the foundation test: relays Mentions, decoding and re-encoding them."""

from __future__ import annotations

import os

import faust

from pipelines.delivery import AtLeastOnceApp
from schemas.codec import decode, encode
from schemas.models import Mention

PREFIX = os.environ["EARSHOT_TOPIC_PREFIX"]
app = AtLeastOnceApp(
    f"{PREFIX}relay",
    broker=f"kafka://{os.environ['EARSHOT_KAFKA_BOOTSTRAP']}",
    datadir=os.environ["RELAY_DATADIR"],
    web_enabled=False,
    topic_partitions=4,
    producer_acks=-1,
)
source = app.topic(f"{PREFIX}mentions.raw.v1", value_serializer="raw", key_serializer="raw")
sink = app.topic(f"{PREFIX}relayed", value_serializer="raw", key_serializer="raw")


@app.agent(source)
async def relay(stream: faust.StreamT[bytes]) -> None:
    async for event in stream.events():
        mention = decode(event.value, Mention)
        await sink.send(key=mention.mention_id.encode(), value=encode(mention))
