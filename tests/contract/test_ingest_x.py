"""X API v2 recent-search responses in the recorded shape → Mentions with geo and place hints."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from devkit.replay.kit import context, drain
from schemas.codec import decode, encode
from schemas.models import Mention
from services.ingest.x.source import RecentSearchStream, XConfig, XSource

PAYLOADS = Path(__file__).parent / "payloads" / "x"
ENV = {"X_TOKEN": "bearer-123"}


def roundtrip(m: Mention) -> Mention:
    return decode(encode(m), Mention)


def stream_for(handler: httpx.MockTransport) -> RecentSearchStream:
    config = XConfig(name="x", kind="x", queries=["haringey OR monmouthshire"], token_env="X_TOKEN")
    (stream,) = XSource(config, context(handler, environ=ENV)).streams()
    assert isinstance(stream, RecentSearchStream)
    return stream


async def test_recent_search_maps_text_geo_places_threads_and_skips_retweets() -> None:
    asked: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        if request.url.params.get("next_token"):
            return httpx.Response(200, content=(PAYLOADS / "search_empty.json").read_bytes())
        return httpx.Response(200, content=(PAYLOADS / "search_recent.json").read_bytes())

    (page,) = await drain(stream_for(httpx.MockTransport(handler)))
    first = asked[0]
    assert first.headers["authorization"] == "Bearer bearer-123"
    assert first.url.path == "/2/tweets/search/recent"
    params = first.url.params
    assert params["expansions"] == "geo.place_id,author_id"
    assert set(params["tweet.fields"].split(",")) >= {
        "created_at",
        "lang",
        "geo",
        "conversation_id",
        "referenced_tweets",
    }
    assert params["place.fields"] == "full_name,country_code,geo,place_type"
    assert "since_id" not in params and asked[1].url.params["next_token"].startswith("b26")
    chepstow, hornsey, bins = (roundtrip(m) for m in page.mentions)  # oldest first
    assert bins.source.native_id == "1991100000000000004"
    assert bins.source.url == "https://x.com/i/web/status/1991100000000000004"
    assert (
        bins.text == "Bins not collected on Lordship Lane & Bruce Grove for 2 weeks >:( #Haringey"
    )
    assert bins.geo is not None and (bins.geo.lat, bins.geo.lon) == (51.5936, -0.0697)
    assert bins.place_hint is not None and bins.place_hint.name == "Tottenham, London"
    assert bins.place_hint.country_code == "GB"
    assert bins.place_hint.bbox == (-0.0917, 51.5807, -0.0425, 51.6131)
    assert bins.thread is None and bins.author is not None and bins.lang == "en"
    assert hornsey.geo is None and hornsey.place_hint is not None
    assert hornsey.place_hint.name == "Hornsey, London"
    assert hornsey.thread is not None and hornsey.thread.parent_id == "1991099999999999000"
    assert hornsey.thread.root_id == "1991099999999999000"
    # note_tweet holds the full text; "und" is no language; an impossible point is dropped.
    assert chepstow.text.endswith("Diversions add 40 minutes.") and chepstow.lang is None
    assert chepstow.geo is None and chepstow.place_hint is None
    (reject,) = page.rejects
    assert json.loads(reject.raw)["id"] == "1991100000000000000"
    assert page.cursor == {"since_id": "1991100000000000004"}  # meta.newest_id


async def test_next_pass_sends_since_id_and_an_empty_answer_changes_nothing() -> None:
    asked: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request)
        return httpx.Response(200, content=(PAYLOADS / "search_empty.json").read_bytes())

    assert await drain(stream_for(httpx.MockTransport(handler)), {"since_id": "42"}) == []
    assert asked[0].url.params["since_id"] == "42"
