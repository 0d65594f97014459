"""Reddit listings in the recorded shapes (t3 posts, t1 comments, an HTML block page) → Mentions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devkit.replay.kit import context, drain, files
from schemas.codec import decode, encode
from schemas.ids import mention_id
from schemas.models import Mention
from services.ingest.reddit.source import ListingStream, RedditConfig, RedditSource
from services.ingest.runtime.errors import PayloadError
from services.ingest.runtime.seen import SeenSet, digest_key

PAYLOADS = Path(__file__).parent / "payloads" / "reddit"


def roundtrip(m: Mention) -> Mention:
    return decode(encode(m), Mention)


def stream_for(path: str, body: bytes, **config: object) -> ListingStream:
    settings = RedditConfig.model_validate(
        {"name": "reddit", "kind": "reddit", "subreddits": ["haringey"], **config}
    )
    streams = RedditSource(settings, context(files({path: body}))).streams()
    stream = next(s for s in streams if s.path == path)  # type: ignore[attr-defined]
    assert isinstance(stream, ListingStream)
    return stream


async def test_new_posts_map_oldest_first_and_broken_things_are_rejected() -> None:
    body = (PAYLOADS / "new.json").read_bytes()
    (page,) = await drain(stream_for("/r/haringey/new.json", body))
    damp, library, flytip = (roundtrip(m) for m in page.mentions)
    assert flytip.source.native_id == "t3_1h2kq9z"
    assert flytip.mention_id == mention_id("reddit", "t3_1h2kq9z")
    assert flytip.source.url == (
        "https://www.reddit.com/r/haringey/comments/1h2kq9z/"
        "flytipping_behind_the_shops_on_west_green_road/"
    )
    assert flytip.title == "Fly-tipping behind the shops on West Green Road again"
    # raw_json text: "&" and "<twice>" are the author's own characters, not HTML.
    assert flytip.text.startswith(flytip.title + "\n\nMattresses & bags everywhere")
    assert "<twice>" in flytip.text
    assert flytip.edited_at is not None and flytip.author is not None
    assert [(m.kind, m.value) for m in flytip.matched_by] == [("subreddit", "haringey")]
    assert library.text == library.title  # a link post: the title is the text
    assert damp.text == damp.title and damp.author is None  # [removed] body, [deleted] author
    assert damp.created_at.isoformat() == "2026-11-20T08:40:00+00:00"
    assert len(page.rejects) == 2  # no created_utc; no data at all
    assert page.cursor is not None and page.cursor["before"] == "t3_1h2kq9z"
    assert page.fetched == 5


async def test_comments_carry_their_thread_and_deleted_ones_are_skipped() -> None:
    body = (PAYLOADS / "comments.json").read_bytes()
    stream = stream_for(
        "/r/Monmouthshire/comments.json", body, subreddits=["Monmouthshire"], comments=True
    )
    (page,) = await drain(stream)
    (comment,) = (roundtrip(m) for m in page.mentions)
    assert comment.source.native_id == "t1_m0a77kd"
    assert comment.text == "Same on Cross Street. The new rota started and nobody told us."
    assert comment.title == "Abergavenny bins not collected for two weeks"
    assert comment.thread is not None and comment.thread.root_id == "t3_1h2k0ab"
    assert comment.matched_by[0].value == "Monmouthshire"
    assert page.cursor is not None
    assert SeenSet.load(page.cursor).keys() == [digest_key("t1_m0a7800"), digest_key("t1_m0a77kd")]


async def test_search_adds_the_query_to_matched_by() -> None:
    body = (PAYLOADS / "new.json").read_bytes()
    stream = stream_for(
        "/r/haringey/search.json", body, search=[{"q": "fly-tipping", "subreddit": "r/haringey"}]
    )
    (page,) = await drain(stream)
    assert [(m.kind, m.value) for m in page.mentions[-1].matched_by] == [
        ("subreddit", "haringey"),
        ("query", "fly-tipping"),
    ]


async def test_the_html_block_page_is_a_payload_error() -> None:
    body = (PAYLOADS / "blocked.html").read_bytes()
    with pytest.raises(PayloadError, match="not JSON") as info:
        await drain(stream_for("/r/haringey/new.json", body))
    assert info.value.raw == body
    with pytest.raises(PayloadError, match="Listing"):
        await drain(stream_for("/r/haringey/new.json", json.dumps({"kind": "t3"}).encode()))
