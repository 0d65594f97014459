"""Bluesky: prefilter, facets, times, config errors, search paging and firehose batching."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from common.yamlconfig import ConfigError
from devkit.replay.kit import FETCHED_AT, context, drain
from services.ingest.bluesky.firehose import FirehoseStream, Prefilter
from services.ingest.bluesky.mapping import expand_links, map_post, parse_time
from services.ingest.bluesky.source import BlueskyConfig, BlueskySource, SearchStream
from services.ingest.registry import load_sources
from services.ingest.runtime.errors import HttpRetryable

DID = "did:plc:abcdefghijklmnopqrstuvwx"


def test_prefilter_finds_whole_words_and_phrases_in_any_case() -> None:
    pre = Prefilter(["Usk", "wood green", "#Haringey", "haringey", " "])
    assert pre.find("Usk bridge closed") == ["usk"]
    assert pre.find("Lovely dusk, my husky agrees") == []
    assert pre.find("Traffic on WOOD GREEN high road, #haringey") == [
        "wood green",
        "#haringey",
        "haringey",
    ]
    assert pre.find("Woodgreen") == [] and pre.find("haringeycouncil") == []
    assert pre.find("(Usk).") == ["usk"] and pre.find("") == []


def facet(text: str, shown: str, uri: str) -> dict[str, Any]:
    start = text.encode().index(shown.encode())
    return {
        "index": {"byteStart": start, "byteEnd": start + len(shown.encode())},
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
    }


def test_link_facets_expand_shortened_links_by_byte_offsets() -> None:
    text = "Café ☕ update: monmouthshire.gov.uk/bins/co... and example.org"
    facets = [
        facet(
            text,
            "monmouthshire.gov.uk/bins/co...",
            "https://www.monmouthshire.gov.uk/bins/collections",
        ),
        facet(text, "example.org", "https://tracker.example/?u=1"),  # display differs: kept
        {"index": {"byteStart": 900, "byteEnd": 990}, "features": []},  # out of range
        {"index": "broken"},
    ]
    assert expand_links(text, facets) == (
        "Café ☕ update: https://www.monmouthshire.gov.uk/bins/collections and example.org"
    )
    assert expand_links(text, None) == text


def test_at_protocol_times() -> None:
    assert parse_time("2026-11-20T08:14:03.512Z") == datetime(2026, 11, 20, 8, 14, 3, 512000, UTC)
    assert parse_time("2026-11-20T09:14:03.123456789+01:00").microsecond == 123456
    assert parse_time("2026-11-20T08:14:03").tzinfo is not None  # naive: taken as UTC
    for bad in ("yesterday", None, 17):
        with pytest.raises(ValueError):
            parse_time(bad)


def test_map_post_refuses_non_posts_and_skips_empty_ones() -> None:
    kwargs: dict[str, Any] = {
        "handle": None,
        "instance": "b",
        "matched_by": (),
        "fetched_at": FETCHED_AT,
        "pseudonymiser": context().pseudonymiser,
    }
    record = {"text": "", "createdAt": "2026-11-20T08:00:00Z"}
    assert map_post(record, uri=f"at://{DID}/app.bsky.feed.post/3k", **kwargs) is None
    with pytest.raises(ValueError, match="not a post"):
        map_post(record, uri=f"at://{DID}/app.bsky.feed.like/3k", **kwargs)
    with pytest.raises(ValueError, match="at://"):
        map_post(record, uri="https://bsky.app/profile/x/post/3k", **kwargs)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "search queries, jetstream_url, or both"),
        ({"jetstream_url": "wss://j.example"}, "needs terms"),
        ({"search": ["x"], "page_limit": 101}, "less than or equal to 100"),
        ({"search": ["x"], "jetstream_url": "https://j.example", "terms": ["a"]}, "pattern"),
        ({"search": ["x"], "lang": "English"}, "pattern"),
    ],
)
def test_config_errors(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        BlueskyConfig.model_validate({"name": "b", "kind": "bluesky", **fields})


def test_a_named_token_must_be_set_and_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  - name: b\n    kind: bluesky\n    search: [bins]\n    token_env: BSKY_T\n"
    )
    with pytest.raises(ConfigError, match=r":5: sources\.0\.token_env: env var BSKY_T"):
        load_sources(path, {})
    assert load_sources(path, {"BSKY_T": "jwt"})[0].kind == "bluesky"
    path.write_text("sources:\n  - name: b\n    kind: bluesky\n    search: [bins]\n    limit: 5\n")
    with pytest.raises(ConfigError, match=r":5: sources\.0\.limit: "):
        load_sources(path, {})


def view(n: int, minute: int) -> dict[str, Any]:
    when = f"2026-11-20T08:{minute:02d}:00.000Z"
    return {
        "uri": f"at://{DID}/app.bsky.feed.post/3k{n:04d}",
        "author": {"did": DID, "handle": "someone.bsky.social"},
        "record": {"text": f"pothole {n} #Haringey", "createdAt": when},
        "indexedAt": when,
    }


async def test_search_walks_the_cursor_drops_repeats_and_resumes_from_any_page() -> None:
    # Newest first, three pages; the second repeats a post from the first (offset shift).
    pages = {None: [view(9, 59), view(8, 58)], "2": [view(8, 58), view(7, 57)], "4": [view(6, 56)]}
    nxt = {None: "2", "2": "4", "4": None}
    asked: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(dict(request.url.params))
        key = request.url.params.get("cursor")
        body: dict[str, Any] = {"posts": pages[key]}
        if nxt[key]:
            body["cursor"] = nxt[key]
        return httpx.Response(200, json=body)

    config = BlueskyConfig(
        name="b", kind="bluesky", search=["bins"], page_limit=2, lang="en", overlap_s=0
    )
    (stream,) = BlueskySource(config, context(httpx.MockTransport(handler))).streams()
    assert isinstance(stream, SearchStream)
    cursor = {"since": "2026-11-20T08:56:00Z", "seen": []}
    first, second = await drain(stream, cursor)
    got = [m.source.native_id[-4:] for p in (first, second) for m in p.mentions]
    assert got == ["0006", "0007", "0008", "0009"]  # oldest first, each once
    assert asked[0]["since"] == "2026-11-20T08:56:00Z" and asked[0]["lang"] == "en"
    assert first.cursor is not None and first.cursor["since"] == "2026-11-20T08:57:00Z"
    # A restart after the first page was committed produces only the second page's posts.
    again = await drain(stream, first.cursor)
    assert [m.source.native_id[-4:] for p in again for m in p.mentions] == ["0008", "0009"]


async def test_search_walk_interrupted_by_a_5xx_goes_on_from_the_failed_page() -> None:
    asked: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        key = request.url.params.get("cursor")
        asked.append(key)
        if key is None:
            return httpx.Response(200, json={"posts": [view(9, 59)], "cursor": "1"})
        if asked.count("1") == 1:
            return httpx.Response(502)
        return httpx.Response(200, json={"posts": [view(8, 58)]})

    config = BlueskyConfig(name="b", kind="bluesky", search=["bins"], overlap_s=0)
    (stream,) = BlueskySource(config, context(httpx.MockTransport(handler))).streams()
    cursor = {"since": "2026-11-20T08:00:00Z"}
    with pytest.raises(HttpRetryable):
        await drain(stream, cursor)
    (page,) = await drain(stream, cursor)
    assert asked == [None, "1", "1"]
    assert [m.source.native_id[-4:] for m in page.mentions] == ["0008", "0009"]


async def test_search_rate_limit_wait_comes_from_the_ratelimit_reset_header() -> None:
    reset = str(int(datetime.now(UTC).timestamp()) + 30)
    transport = httpx.MockTransport(
        lambda r: httpx.Response(
            429, json={"error": "RateLimitExceeded"}, headers={"RateLimit-Reset": reset}
        )
    )
    config = BlueskyConfig(name="b", kind="bluesky", search=["bins"])
    (stream,) = BlueskySource(config, context(transport)).streams()
    with pytest.raises(HttpRetryable) as info:
        await drain(stream)
    assert info.value.retry_after is not None and 25 <= info.value.retry_after <= 31
    # The same headers on a 200 pace the next requests once the quota runs low.
    low = {"RateLimit-Remaining": "2", "RateLimit-Reset": reset}
    ctx = context(
        httpx.MockTransport(lambda r: httpx.Response(200, json={"posts": []}, headers=low))
    )
    (stream,) = BlueskySource(config, ctx).streams()
    await drain(stream)
    assert 8 <= ctx.http.pacer.wait_for("public.api.bsky.app") <= 11


def event(n: int, text: str = "Usk bridge closed", op: str = "create") -> str:
    commit = {"operation": op, "collection": "app.bsky.feed.post", "rkey": f"3k{n}"}
    commit["record"] = {"text": text, "createdAt": "2026-11-20T08:00:00Z", "langs": ["en"]}
    return json.dumps({"did": DID, "time_us": n, "kind": "commit", "commit": commit})


def firehose(frames: list[str | BaseException | None], **kwargs: Any) -> FirehoseStream:
    async def fake(
        base_url: str, cursor: int | None, *, tick_s: float, user_agent: str | None = None
    ) -> AsyncGenerator[str | None, None]:
        for frame in frames:
            if isinstance(frame, BaseException):
                raise frame
            if frame is None:
                await asyncio.sleep(0.06)
            yield frame

    return FirehoseStream("b", "wss://j.example", context(), terms=["usk"], frames=fake, **kwargs)


async def test_firehose_batches_by_size_and_by_time_and_skips_the_replayed_cursor() -> None:
    frames: list[str | BaseException | None] = [event(n) for n in range(100, 106)]
    frames[1] = event(101, "nothing to see")
    frames += [None, event(107, "dusk"), None, HttpRetryable("wss://j.example", 0, "closed")]
    stream = firehose(frames, batch_max=2, flush_s=0.05)
    pages = []
    with pytest.raises(HttpRetryable):
        async for page in stream.pages({"time_us": 100}):  # 100 is the committed event
            pages.append(page)
    sizes = [len(p.mentions) for p in pages]
    assert sizes[:2] == [2, 2] and sum(sizes) == 4  # 102..105; 101 did not match
    assert [p.cursor for p in pages][:2] == [{"time_us": 103}, {"time_us": 105}]
    assert pages[-1].cursor == {"time_us": 107} and pages[-1].mentions == []  # quiet: cursor moves


async def test_firehose_yields_what_it_holds_when_the_connection_drops() -> None:
    frames: list[str | BaseException | None] = [
        event(5),
        event(6, op="delete"),
        "{not json",
        HttpRetryable("wss://j.example", 0, "closed"),
    ]
    stream = firehose(frames, batch_max=50, flush_s=60)
    pages = []
    with pytest.raises(HttpRetryable):
        async for page in stream.pages(None):
            pages.append(page)
    (page,) = pages
    assert len(page.mentions) == 1 and len(page.rejects) == 1 and page.fetched == 2
    assert page.cursor == {"time_us": 6}


def test_the_source_builds_one_stream_per_query_plus_the_firehose() -> None:
    config = BlueskyConfig(
        name="b",
        kind="bluesky",
        search=["bins", "potholes"],
        jetstream_url="wss://j.example",
        terms=["usk"],
    )
    streams = BlueskySource(config, context()).streams()
    assert [s.interval_s for s in streams] == [300.0, 300.0, None]
    assert streams[-1].key == "bluesky/b/jetstream" and streams[0].key.startswith(
        "bluesky/b/search/"
    )
