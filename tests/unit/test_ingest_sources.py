"""Source streams over httpx.MockTransport: conditional GET, seen ids, paging, SSE, errors."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from devkit.replay.kit import context, drain
from services.ingest.mastodon.client import MastodonClient
from services.ingest.mastodon.source import MastodonConfig, MastodonSource
from services.ingest.rss.source import RssConfig, RssSource
from services.ingest.runtime.errors import HttpPermanent, PayloadError

PAYLOADS = Path(__file__).resolve().parents[1] / "contract" / "payloads"
GEORSS = (PAYLOADS / "rss" / "georss.xml").read_bytes()


def rss_stream(transport: httpx.MockTransport):  # type: ignore[no-untyped-def]
    config = RssConfig(name="n", kind="rss", feeds=["https://feeds.example/geo.xml"])
    (stream,) = RssSource(config, context(transport)).streams()
    return stream


async def test_conditional_get_and_seen_ids() -> None:
    sent: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(dict(request.headers))
        if request.headers.get("if-none-match") == '"v1"' and len(sent) == 2:
            return httpx.Response(304)
        return httpx.Response(
            200,
            content=GEORSS,
            headers={"ETag": '"v1"', "Last-Modified": "Fri, 20 Nov 2026 10:00:00 GMT"},
        )

    stream = rss_stream(httpx.MockTransport(handler))
    (page,) = await drain(stream)
    assert len(page.mentions) == 2 and page.cursor and page.cursor["etag"] == '"v1"'
    assert await drain(stream, page.cursor) == []  # 304: nothing, cursor untouched
    assert sent[1]["if-modified-since"] == "Fri, 20 Nov 2026 10:00:00 GMT"
    (again,) = await drain(stream, page.cursor)  # 200 with the same entries: all already seen
    assert again.mentions == [] and again.fetched == 2


@pytest.mark.parametrize("status", [404, 410])
async def test_gone_feed_is_permanent(status: int) -> None:
    with pytest.raises(HttpPermanent):
        await drain(rss_stream(httpx.MockTransport(lambda r: httpx.Response(status))))


async def test_mastodon_backfills_first_then_walks_forward_dropping_edge_duplicates() -> None:
    statuses = {
        str(i): {
            "id": str(i),
            "uri": f"https://m.example/s/{i}",
            "created_at": "2026-11-20T08:00:00Z",
            "content": f"<p>pothole {i}</p>",
            "visibility": "public",
            "account": {"acct": "a"},
        }
        for i in range(100, 111)
    }
    asked: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        min_id, max_id = request.url.params.get("min_id"), request.url.params.get("max_id")
        asked.append(min_id or (f"max:{max_id}" if max_id else None))
        ids = sorted(statuses, key=int)
        if max_id is not None:
            chosen = [i for i in ids if int(i) < int(max_id)][-4:]
        elif min_id is None:
            chosen = ids[-4:]
        else:
            chosen = [i for i in ids if int(i) >= int(min_id)][:5]
        return httpx.Response(200, json=[statuses[i] for i in reversed(chosen)])

    config = MastodonConfig(
        name="m", kind="mastodon", servers=["https://m.example"], hashtags=["x"]
    )
    (stream,) = MastodonSource(config, context(httpx.MockTransport(handler))).streams()
    first = await drain(stream)  # first run: the newest page, then back with max_id
    assert [len(p.mentions) for p in first] == [11] and first[0].cursor == {"min_id": "110"}
    assert asked[:4] == [None, "max:107", "max:103", "max:100"]
    backfilled = [m.source.native_id.rsplit("/", 1)[1] for m in first[0].mentions]
    assert backfilled == [str(i) for i in range(100, 111)]  # oldest first
    statuses.update(
        {
            str(i): {**statuses["100"], "id": str(i), "uri": f"https://m.example/s/{i}"}
            for i in range(111, 120)
        }
    )
    later = await drain(stream, first[-1].cursor)
    ids = [m.source.native_id.rsplit("/", 1)[1] for p in later for m in p.mentions]
    assert ids == [str(i) for i in range(111, 120)]  # min_id's own status, repeated, is dropped
    assert asked[-1] == "119"


async def test_mastodon_bad_body_is_a_payload_error() -> None:
    client = MastodonClient(
        context(httpx.MockTransport(lambda r: httpx.Response(200, content=b"<html>"))).http,
        "https://m.example",
    )
    with pytest.raises(PayloadError, match="not JSON"):
        await client.tag_timeline("x", min_id=None)
    client = MastodonClient(
        context(httpx.MockTransport(lambda r: httpx.Response(200, json={"error": 1}))).http,
        "https://m.example",
    )
    with pytest.raises(PayloadError, match="list of status"):
        await client.tag_timeline("x", min_id=None)


async def test_sse_events_are_parsed() -> None:
    body = (PAYLOADS / "mastodon" / "stream.sse").read_bytes()
    client = MastodonClient(
        context(httpx.MockTransport(lambda r: httpx.Response(200, content=body))).http,
        "https://m.example",
    )
    events = [(e.event, e.data[:10]) async for e in client.stream_hashtag("haringey")]
    assert [e for e, _ in events] == ["update", "delete", "status.update", "update"]
    assert events[-1][1] == "not json"
