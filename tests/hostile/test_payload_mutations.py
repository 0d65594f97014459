"""Every polled source over systematic mutations of its recorded API payloads (~8,000 passes).

For each mutated body the pass must end with pages or a typed whole-body error
(PayloadError: one dead letter, the feed retried on schedule) — never another exception;
every page passes ``check_page``; and the items that were NOT mutated are still delivered:
one bad item never costs the rest of the page.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from devkit.replay.kit import context, drain
from services.ingest.bluesky.source import BlueskyConfig, BlueskySource
from services.ingest.mastodon.source import MastodonConfig, MastodonSource
from services.ingest.reddit.source import RedditConfig, RedditSource
from services.ingest.runtime.api import Page, Stream
from services.ingest.runtime.errors import PayloadError
from services.ingest.x.source import XConfig, XSource
from tests.hostile.corpus import PAYLOADS, check_page, deep_json, dumps, mutations

Build = Callable[[httpx.MockTransport], Stream]


def _serve(body: bytes) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.params.get("next_token") or request.url.params.get("cursor"):
            return httpx.Response(200, content=b'{"data": [], "meta": {}, "posts": []}')
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})

    return httpx.MockTransport(handler)


def mastodon(transport: httpx.MockTransport) -> Stream:
    config = MastodonConfig(
        name="m", kind="mastodon", servers=["https://m.example"], hashtags=["x"]
    )
    return MastodonSource(config, context(transport)).streams()[0]


def bluesky(transport: httpx.MockTransport) -> Stream:
    config = BlueskyConfig(name="b", kind="bluesky", search=["q"], since="2026-11-01T00:00:00Z")
    return BlueskySource(config, context(transport)).streams()[0]


def reddit(transport: httpx.MockTransport) -> Stream:
    config = RedditConfig(name="r", kind="reddit", subreddits=["haringey"])
    return RedditSource(config, context(transport)).streams()[0]


def x(transport: httpx.MockTransport) -> Stream:
    config = XConfig(name="x", kind="x", queries=["q"], token_env="T")
    return XSource(config, context(transport, environ={"T": "t"})).streams()[0]


# (build, recorded body, where the items are, cursor for one forward pass, HTML source?)
SOURCES: dict[str, tuple[Build, str, tuple[Any, ...], dict[str, Any] | None, bool]] = {
    "mastodon": (mastodon, "mastodon/tag_timeline.json", (), {"min_id": "1"}, True),
    "bluesky": (bluesky, "bluesky/search_posts.json", ("posts",), None, False),
    "reddit": (reddit, "reddit/new.json", ("data", "children"), None, False),
    "x": (x, "x/search_recent.json", ("data",), None, False),
}


async def one_pass(build: Build, body: bytes, cursor: dict[str, Any] | None) -> list[Page] | None:
    """The pages of one pass, or None when the whole body was refused as a PayloadError."""
    try:
        return await drain(build(_serve(body)), cursor)
    except PayloadError:
        return None


def delivered(pages: list[Page] | None) -> set[str]:
    return {m.source.native_id for p in pages or [] for m in p.mentions}


@pytest.mark.parametrize("kind", sorted(SOURCES))
async def test_every_mutation_of_every_field_is_isolated_to_its_item(kind: str) -> None:
    build, name, under, cursor, html_source = SOURCES[kind]
    doc = json.loads((PAYLOADS / name).read_bytes())
    baseline = await one_pass(build, dumps(doc), cursor)
    assert baseline, f"{kind}: the recorded body must pass untouched"
    items = doc
    for step in under:
        items = items[step]
    by_item = [
        delivered(await one_pass(build, dumps(_only(doc, under, i)), cursor))
        for i in range(len(items))
    ]
    runs = 0
    for label, mutated in mutations(doc, under=under):
        runs += 1
        pages = await one_pass(build, dumps(mutated), cursor)
        for page in pages or []:
            check_page(page, html_source=html_source, key=f"{kind}/test/{label[:50]}")
        if pages is None:
            continue  # the body as a whole is unusable: one dead letter (see the runtime tests)
        index = int(label.split("/")[len(under)].split("=")[0].split(" ")[0])
        others = set().union(*(ids for i, ids in enumerate(by_item) if i != index))
        missing = others - delivered(pages)
        assert not missing, f"{kind} {label}: good items lost: {missing}"
    assert runs > 300


def _only(doc: Any, under: tuple[Any, ...], index: int) -> Any:
    """``doc`` with only item ``index`` left, to learn what that item alone delivers."""
    out = json.loads(json.dumps(doc))
    node = out
    for step in under[:-1]:
        node = node[step]
    if under:
        node[under[-1]] = [node[under[-1]][index]]
        return out
    return [out[index]]


@pytest.mark.parametrize("kind", sorted(SOURCES))
async def test_json_nested_past_the_cap_is_one_payload_error_not_a_recursion_error(
    kind: str,
) -> None:
    build, _, _, cursor, _ = SOURCES[kind]
    with pytest.raises(PayloadError, match="nested"):
        await drain(build(_serve(deep_json(5000))), cursor)


@pytest.mark.parametrize("kind", sorted(SOURCES))
@pytest.mark.parametrize(
    "body", [b"", b"\xff\xfe\x00", b"[" * 10, b'{"a": 1e999999}', b"1" * 5000, b"<html>"]
)
async def test_bodies_that_are_not_json_are_payload_errors(kind: str, body: bytes) -> None:
    build, _, _, cursor, _ = SOURCES[kind]
    with pytest.raises(PayloadError):
        await drain(build(_serve(body)), cursor)
