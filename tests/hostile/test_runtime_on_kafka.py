"""Hostile feeds through the real service and the real Kafka: nothing stalls, every rejected
item leaves a dead letter, a broken feed leaves ONE letter however often it is polled, and a
restart produces nothing twice."""

from __future__ import annotations

import asyncio
import gzip
import json

from aiohttp import web

from devkit.replay.kit import Harness
from devkit.replay.server import ReplayServer
from schemas.codec import decode
from schemas.models import DeadLetter, Mention
from services.ingest.mastodon.source import MastodonConfig
from services.ingest.rss.source import RssConfig
from tests.hostile.corpus import check_mention, deep_json, dumps

GOOD = "<item><guid>good-{n}</guid><title>Pothole {n}</title><description>On Green Lanes &amp; more</description></item>"
BAD = [  # each one a rejected item: a dead letter each, and the good ones still delivered
    "<item><guid>" + "g" * 5000 + "</guid><title>id too long</title></item>",
    "<item><guid>no-text</guid></item>",
    "<item><guid>ctl\x01id</guid><title>control character in the id</title></item>",
]
SURVIVE = [  # hostile but readable: delivered clean
    "<item><guid>ref</guid><title>bad &#xD800; &#x110000; ref</title></item>",
    "<item><guid>markup</guid><title>t</title><description><![CDATA[<img/src=x/onerror=alert(1)>x]]></description></item>",
]


def status(n: int, **changes: object) -> dict[str, object]:
    return {
        "id": str(100 + n),
        "uri": f"https://m.example/s/{n}",
        "created_at": "2026-11-20T08:00:00Z",
        "content": f"<p>pothole {n}</p>",
        "visibility": "public",
        "account": {"acct": "a"},
        **changes,
    }


def app() -> web.Application:
    items = [GOOD.format(n=n) for n in range(5)] + BAD + SURVIVE
    feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{"".join(items)}</channel></rss>'
    bomb = gzip.compress(b"<" * (48 * 1024 * 1024), compresslevel=9)
    statuses = [
        status(1),
        status(2, created_at=1e30),
        status(3, id="\ud800"),
        status(4, content="<svg/onload=alert(1)>text \u202e"),
        status(5, uri=["not", "a", "string"]),
        status(6),
    ]

    async def poisoned(_: web.Request) -> web.Response:
        return web.Response(body=feed.encode(), content_type="application/rss+xml")

    async def gzip_bomb(_: web.Request) -> web.Response:
        return web.Response(body=bomb, headers={"Content-Encoding": "gzip"})

    async def timeline(request: web.Request) -> web.Response:
        if request.match_info["tag"] == "deep":
            return web.Response(body=deep_json(4000), content_type="application/json")
        min_id = request.query.get("min_id")
        fresh = statuses if not min_id else [s for s in statuses if str(s["id"]) > min_id]
        return web.Response(body=dumps(fresh[::-1]), content_type="application/json")

    application = web.Application()
    application.add_routes(
        [
            web.get("/feeds/poisoned.xml", poisoned),
            web.get("/feeds/bomb.xml", gzip_bomb),
            web.get("/api/v1/timelines/tag/{tag}", timeline),
        ]
    )
    return application


def configs(base: str) -> list[RssConfig | MastodonConfig]:
    feeds = [
        {"url": f"{base}/feeds/poisoned.xml", "name": "poisoned"},
        {"url": f"{base}/feeds/bomb.xml", "name": "bomb"},
    ]
    return [
        RssConfig(name="hostile-rss", kind="rss", poll_interval_s=0.3, feeds=feeds),
        MastodonConfig(
            name="hostile-m",
            kind="mastodon",
            poll_interval_s=0.3,
            servers=[base],
            hashtags=["x", "deep"],
            backfill_pages=1,
        ),
    ]


async def test_hostile_feeds_never_stall_and_leave_exactly_their_dead_letters(
    kafka_bootstrap: str, unique_prefix: str
) -> None:
    expected = 5 + len(SURVIVE) + 3  # good RSS items, readable hostile ones, 3 statuses
    with ReplayServer(app()) as base:
        harness = Harness(kafka_bootstrap, unique_prefix)
        await harness.start(configs(base))
        try:
            await harness.wait_for_keys(expected, within_s=60)
            await asyncio.sleep(3)  # ten more polls of every feed: nothing may repeat
            records = await harness.records(harness.topics.mentions)
            dead = await harness.records(harness.topics.dead_letters)
            health = {k: h.state for k, h in harness.service.metrics.streams.items()}
        finally:
            await harness.stop()
        mentions = [decode(v, Mention) for _, v, _ in records]
        assert len(mentions) == expected == len({m.mention_id for m in mentions})
        for mention in mentions:
            check_mention(mention, html_source=True)
        letters = [decode(v, DeadLetter) for _, v, _ in dead]
        by_source: dict[str, list[DeadLetter]] = {}
        for letter in letters:
            by_source.setdefault(letter.source or "", []).append(letter)
        assert len(by_source["rss/hostile-rss/poisoned"]) == len(BAD)
        (bomb,) = by_source["rss/hostile-rss/bomb"]  # once, not once per poll
        assert bomb.error_class == "BodyTooLarge" and "once decoded" in bomb.error_message
        (deep,) = by_source[f"mastodon/hostile-m/{base[7:]}/tag/deep"]
        assert "nested" in deep.error_message
        assert len(by_source[f"mastodon/hostile-m/{base[7:]}/tag/x"]) == 3  # time, id, uri
        assert health["rss/hostile-rss/poisoned"] == "ok"
        assert health[f"mastodon/hostile-m/{base[7:]}/tag/x"] == "ok"
        assert health["rss/hostile-rss/bomb"] == "retrying"

        again = Harness(kafka_bootstrap, unique_prefix)  # a restart on the stored cursors
        await again.start(configs(base))
        try:
            await asyncio.sleep(2)
            after = await again.records(again.topics.mentions)
        finally:
            await again.stop()
        assert len(after) == len(records), "a restart produced something twice"
        assert json.loads(dead[0][1])  # the letters are plain JSON for any reader
