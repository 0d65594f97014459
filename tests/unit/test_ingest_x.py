"""X: config errors, geo and place mapping, tweet details, next_token/since_id paging, 429 waits."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from common.yamlconfig import ConfigError
from devkit.replay.kit import FETCHED_AT, context, drain
from schemas.models import Match
from services.ingest.registry import load_sources
from services.ingest.runtime.errors import HttpPermanent, HttpRetryable, PayloadError
from services.ingest.x.mapping import map_tweet, place_hint, point
from services.ingest.x.source import XConfig, XSource

ENV = {"X_TOKEN": "t0k"}


def test_token_env_is_required(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="needs token_env"):
        XConfig(name="x", kind="x", queries=["bins"])
    with pytest.raises(ValidationError, match="at least 1 item"):
        XConfig(name="x", kind="x", queries=[], token_env="X_TOKEN")
    with pytest.raises(ValidationError, match="greater than or equal to 10"):
        XConfig(name="x", kind="x", queries=["a"], token_env="X_TOKEN", max_results=5)
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  - name: x\n    kind: x\n    queries: [bins]\n    token_env: X_TOKEN\n"
    )
    with pytest.raises(ConfigError, match=r":5: sources\.0\.token_env: env var X_TOKEN"):
        load_sources(path, {})
    config = XConfig(name="x", kind="x", queries=["a"], token_env="X_TOKEN")
    with pytest.raises(ValueError, match="X_TOKEN is not set"):
        XSource(config, context())


def test_geojson_points_are_lon_lat_and_bad_ones_dropped() -> None:
    geo = {"coordinates": {"type": "Point", "coordinates": [-3.018, 51.824]}}
    found = point(geo)
    assert found is not None and (found.lat, found.lon) == (51.824, -3.018)
    assert point({"coordinates": {"type": "Point", "coordinates": [51.8, 200.0]}}) is None
    assert point({"coordinates": {"type": "Polygon", "coordinates": [[0, 0]]}}) is None
    assert point({"place_id": "abc"}) is None and point(None) is None


def test_places_become_hints_with_bbox_and_country() -> None:
    place = {
        "full_name": "Abergavenny, Wales",
        "country_code": "GB",
        "geo": {"type": "Feature", "bbox": [-3.05, 51.81, -2.99, 51.84], "properties": {}},
    }
    hint = place_hint(place)
    assert hint is not None and hint.name == "Abergavenny, Wales" and hint.country_code == "GB"
    assert hint.bbox == (-3.05, 51.81, -2.99, 51.84)
    bare = place_hint({"name": "Usk", "country_code": "gb", "geo": {"bbox": [1, 2]}})
    assert bare is not None and bare.country_code is None and bare.bbox is None
    assert place_hint({"full_name": ""}) is None and place_hint(None) is None


def tweet(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": str(1000 + n),
        "text": f"pothole {n} &amp; bins",
        "created_at": "2026-11-20T08:00:00.000Z",
        "author_id": "77",
        "lang": "en",
        "conversation_id": str(1000 + n),
        **extra,
    }


def map_one(data: dict[str, Any], **kwargs: Any) -> Any:
    return map_tweet(
        data,
        places=kwargs.get("places", {}),
        users={"77": {"id": "77", "username": "resident"}},
        instance="x",
        match=Match(kind="query", value="bins"),
        fetched_at=FETCHED_AT,
        pseudonymiser=context(keep_raw=kwargs.get("keep_raw", False)).pseudonymiser,
    )


def test_tweet_text_language_author_and_retweets() -> None:
    m = map_one(tweet(1, lang="qme"))
    assert m.text == "pothole 1 & bins" and m.lang is None and m.thread is None
    assert m.author.scheme == "hmac-sha256" and m.author.handle is None
    raw = map_one(tweet(1), keep_raw=True)
    assert raw.author.id == "x:77" and raw.author.handle == "resident"
    assert "resident" not in (raw.source.url or "")
    retweet = tweet(2, referenced_tweets=[{"type": "retweeted", "id": "5"}])
    assert map_one(retweet) is None
    with pytest.raises(KeyError):
        map_one({"id": "9", "text": "no date"})


def page(tweets: list[dict[str, Any]], newest: str | None, token: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"result_count": len(tweets)}
    if newest:
        meta["newest_id"] = newest
    if token:
        meta["next_token"] = token
    return {"data": tweets, "meta": meta} if tweets else {"meta": meta}


async def test_next_token_walk_oldest_first_pages_and_restart_from_a_page() -> None:
    asked: list[dict[str, str]] = []
    answers = {
        None: page([tweet(n) for n in range(25, 14, -1)], "1025", "p2"),
        "p2": page([tweet(n) for n in range(15, 4, -1)], "1015", "p3"),  # repeats 15
        "p3": page([tweet(4)], "1004", None),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(dict(request.url.params))
        return httpx.Response(200, json=answers[request.url.params.get("next_token")])

    config = XConfig(name="x", kind="x", queries=["bins"], token_env="X_TOKEN", max_results=10)
    (stream,) = XSource(config, context(httpx.MockTransport(handler), environ=ENV)).streams()
    pages = await drain(stream, {"since_id": "1004"})
    assert [len(p.mentions) for p in pages] == [10, 10, 1]
    assert [p.cursor for p in pages] == [
        {"since_id": "1014"},
        {"since_id": "1024"},
        {"since_id": "1025"},
    ]
    native = [m.source.native_id for p in pages for m in p.mentions]
    assert native == [str(1000 + n) for n in range(5, 26)]  # since_id's own tweet is excluded
    assert all(a["since_id"] == "1004" for a in asked)
    assert [a.get("next_token") for a in asked] == [None, "p2", "p3"]


@pytest.mark.parametrize(
    ("status", "error"), [(401, HttpPermanent), (400, HttpPermanent), (503, HttpRetryable)]
)
async def test_http_errors_are_classified(status: int, error: type[Exception]) -> None:
    config = XConfig(name="x", kind="x", queries=["bins"], token_env="X_TOKEN")
    transport = httpx.MockTransport(lambda r: httpx.Response(status, json={"title": "nope"}))
    (stream,) = XSource(config, context(transport, environ=ENV)).streams()
    with pytest.raises(error):
        await drain(stream)


async def test_429_waits_until_x_rate_limit_reset_and_bad_bodies_are_payload_errors() -> None:
    reset = str(int(time.time()) + 40)
    config = XConfig(name="x", kind="x", queries=["bins"], token_env="X_TOKEN")
    headers = {"x-rate-limit-remaining": "0", "x-rate-limit-reset": reset}
    transport = httpx.MockTransport(lambda r: httpx.Response(429, headers=headers))
    (stream,) = XSource(config, context(transport, environ=ENV)).streams()
    with pytest.raises(HttpRetryable) as info:
        await drain(stream)
    assert info.value.retry_after is not None and 35 <= info.value.retry_after <= 41
    for body in (b"<html>", b'{"data": "x", "meta": {}}', b'{"errors": []}'):
        bad = httpx.MockTransport(lambda r, b=body: httpx.Response(200, content=b))
        (stream,) = XSource(config, context(bad, environ=ENV)).streams()
        with pytest.raises(PayloadError):
            await drain(stream)


async def test_a_since_id_too_old_for_x_is_dropped_but_still_filters() -> None:
    asked: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(dict(request.url.params))
        if "since_id" in request.url.params:
            return httpx.Response(400, json={"title": "Invalid Request", "status": 400})
        return httpx.Response(200, json=page([tweet(n) for n in (12, 11, 10)], "1012", None))

    config = XConfig(name="x", kind="x", queries=["bins"], token_env="X_TOKEN")
    (stream,) = XSource(config, context(httpx.MockTransport(handler), environ=ENV)).streams()
    (only,) = await drain(stream, {"since_id": "1010"})
    assert [m.source.native_id for m in only.mentions] == ["1011", "1012"]
    assert "since_id" in asked[0] and "since_id" not in asked[1]


async def test_a_walk_interrupted_by_a_transient_error_goes_on_from_the_failed_page() -> None:
    asked: list[str | None] = []
    failed: list[bool] = []

    def handler(request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("next_token")
        asked.append(token)
        if token == "p2" and not failed:
            failed.append(True)
            return httpx.Response(503)
        if token == "p2":
            return httpx.Response(
                200, json=page([tweet(n) for n in range(15, 5, -1)], "1015", None)
            )
        return httpx.Response(200, json=page([tweet(n) for n in range(25, 15, -1)], "1025", "p2"))

    config = XConfig(name="x", kind="x", queries=["bins"], token_env="X_TOKEN", max_results=10)
    (stream,) = XSource(config, context(httpx.MockTransport(handler), environ=ENV)).streams()
    with pytest.raises(HttpRetryable):
        await drain(stream, {"since_id": "1005"})
    pages = await drain(stream, {"since_id": "1005"})
    assert asked == [None, "p2", "p2"]  # the first page was not fetched (nor paid for) twice
    assert [m.source.native_id for p in pages for m in p.mentions] == [
        str(1000 + n) for n in range(6, 26)
    ]
