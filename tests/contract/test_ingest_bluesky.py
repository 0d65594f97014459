"""Bluesky payloads in the recorded shapes (searchPosts, Jetstream frames) → schema-valid Mentions."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from devkit.replay.kit import context, drain
from schemas.codec import decode, encode
from schemas.ids import mention_id
from schemas.models import Mention
from services.ingest.bluesky.firehose import FirehoseStream, _Batch
from services.ingest.bluesky.source import BlueskyConfig, BlueskySource, SearchStream
from services.ingest.runtime.seen import SeenSet, digest_key

PAYLOADS = Path(__file__).parent / "payloads" / "bluesky"
SEARCH = (PAYLOADS / "search_posts.json").read_bytes()


def roundtrip(m: Mention) -> Mention:
    return decode(encode(m), Mention)


def search_stream(handler: httpx.MockTransport) -> SearchStream:
    config = BlueskyConfig(
        name="bsky", kind="bluesky", search=["haringey"], since="2026-11-20T00:00:00Z"
    )
    (stream,) = BlueskySource(config, context(handler)).streams()
    assert isinstance(stream, SearchStream)
    return stream


async def test_search_posts_map_oldest_first_with_facets_replies_and_alt_text() -> None:
    asked: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(dict(request.url.params))
        assert request.url.path == "/xrpc/app.bsky.feed.searchPosts"
        if request.url.params.get("cursor") == "3":
            return httpx.Response(200, json={"posts": []})
        return httpx.Response(200, content=SEARCH)

    (page,) = await drain(search_stream(httpx.MockTransport(handler)))
    assert asked[0] == {
        "q": "haringey",
        "sort": "latest",
        "since": "2026-11-19T23:58:00Z",  # the stored since minus the overlap
        "limit": "100",
    }
    assert asked[1]["cursor"] == "3"
    pothole, library, dumped = (roundtrip(m) for m in page.mentions)
    assert (
        pothole.source.native_id
        == "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3lbqeel6fr22u"
    )
    assert pothole.mention_id == mention_id("bluesky", pothole.source.native_id)
    assert pothole.source.url == (
        "https://bsky.app/profile/did:plc:z72i7hdynmk6r22z27h6tvur/post/3lbqeel6fr22u"
    )
    # The shortened link (after a 4-byte emoji: offsets are bytes) is expanded from its facet.
    assert pothole.text == (
        "🚧 Philip Lane pothole is back – report it: "
        "https://www.haringey.gov.uk/report-it/roads-and-pavements #Haringey"
    )
    assert pothole.created_at.isoformat() == "2026-11-20T08:14:03.512000+00:00"
    assert pothole.author is not None and pothole.author.scheme == "hmac-sha256"
    assert pothole.matched_by[0].kind == "query" and pothole.matched_by[0].value == "haringey"
    assert library.lang == "en-GB" and library.created_at.microsecond == 0  # ns clipped
    assert library.thread is not None and library.thread.parent_id.endswith("3lbqd3zq6ps2b")  # type: ignore[union-attr]
    assert library.thread.root_id.endswith("3lbqd2xwwbk2a")  # type: ignore[union-attr]
    assert dumped.text == "Mattresses dumped on Lordship Lane, Tottenham"  # image alt text
    (reject,) = page.rejects
    assert json.loads(reject.raw)["uri"].endswith("3lbqe7broken")
    assert page.cursor is not None and page.cursor["since"] == "2026-11-20T08:31:09.004000Z"
    seen = SeenSet.load(page.cursor).keys()
    newest_uri = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3lbqf4ntn3c2k"
    assert seen[0] == digest_key(newest_uri) and len(seen) == 4


async def test_search_next_pass_skips_what_was_seen() -> None:
    stream = search_stream(
        httpx.MockTransport(
            lambda r: (
                httpx.Response(200, json={"posts": []})
                if r.url.params.get("cursor")
                else httpx.Response(200, content=SEARCH)
            )
        )
    )
    (first,) = await drain(stream)
    assert await drain(stream, first.cursor) == []  # same answer again: nothing new


def test_jetstream_frames_prefiltered_mapped_and_rejected() -> None:
    config = BlueskyConfig(
        name="bsky",
        kind="bluesky",
        jetstream_url="wss://jetstream.example",
        terms=["Philip Lane", "Abergavenny", "Usk"],
    )
    (stream,) = BlueskySource(config, context()).streams()
    assert isinstance(stream, FirehoseStream)
    batch = _Batch(0)
    for line in (PAYLOADS / "jetstream.jsonl").read_text().splitlines():
        stream.take(line, 0, batch)
    created, edited, welsh = (roundtrip(m) for m in batch.mentions)
    assert created.mention_id == edited.mention_id and edited.edited_at is not None
    assert created.edited_at is None and created.author is not None
    assert "roads-and-pavements" in created.text
    assert [m.value for m in created.matched_by] == ["philip lane"]
    assert edited.text.startswith("🚧 Philip Lane pothole is back (edit:")
    assert welsh.lang == "cy" and welsh.matched_by[0].value == "abergavenny"
    # "dusk over Husky Bay" holds "usk" only inside words; the delete, identity and account
    # events are dropped; the cut frame and the post with a bad createdAt are rejected.
    assert [type(r.error).__name__ for r in batch.rejects] == ["PayloadError", "ValueError"]
    assert "not JSON" in str(batch.rejects[0].error)
    assert batch.fetched == 8 and batch.time_us == 1795162500200000
