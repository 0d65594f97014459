"""Reddit: config errors, app-only OAuth (renewal on 401 and expiry), before-paging, rate limits."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from common.yamlconfig import ConfigError
from devkit.replay.kit import context, drain
from services.ingest.reddit.client import Credentials, RedditClient
from services.ingest.reddit.source import ListingStream, RedditConfig, RedditSource
from services.ingest.registry import load_sources
from services.ingest.runtime.errors import HttpPermanent, HttpRetryable


def test_subreddit_names_are_normalised_and_checked() -> None:
    config = RedditConfig.model_validate(
        {"name": "r", "kind": "reddit", "subreddits": ["r/haringey", "/r/Monmouthshire"]}
    )
    assert config.subreddits == ("haringey", "Monmouthshire")
    with pytest.raises(ValidationError, match=r"subreddits\.0"):
        RedditConfig.model_validate({"name": "r", "kind": "reddit", "subreddits": ["no spaces"]})


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "at least one of subreddits or search"),
        ({"subreddits": ["a1"], "client_id_env": "ID"}, "both client_id_env and client_secret_env"),
        ({"subreddits": ["a1"], "page_limit": 0}, "greater than or equal to 1"),
        ({"search": [{"q": ""}]}, "at least 1 character"),
    ],
)
def test_config_errors(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        RedditConfig.model_validate({"name": "r", "kind": "reddit", **fields})


def test_oauth_env_vars_must_be_set(tmp_path: Path) -> None:
    path = tmp_path / "sources.yaml"
    path.write_text(
        "sources:\n  - name: r\n    kind: reddit\n    subreddits: [haringey]\n"
        "    client_id_env: R_ID\n    client_secret_env: R_SECRET\n"
    )
    with pytest.raises(ConfigError, match=r":5: sources\.0\.client_id_env: env var R_ID"):
        load_sources(path, {})
    with pytest.raises(ConfigError, match=r":6: sources\.0\.client_secret_env: env var R_SECRET"):
        load_sources(path, {"R_ID": "id"})
    assert load_sources(path, {"R_ID": "id", "R_SECRET": "s"})[0].name == "r"


def thing(n: int) -> dict[str, Any]:
    return {
        "kind": "t3",
        "data": {
            "name": f"t3_{n}",
            "title": f"Pothole number {n}",
            "selftext": "",
            "subreddit": "haringey",
            "created_utc": 1_795_160_000 + n,
            "permalink": f"/r/haringey/comments/{n}/p/",
            "author": "someone",
        },
    }


def listing(*things: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "Listing", "data": {"children": list(things), "after": None, "before": None}}


class FakeReddit:
    """Newest-first listing with before-paging; ``gone`` are deleted (before=gone → empty)."""

    def __init__(self, newest: int) -> None:
        self.items = list(range(newest, 0, -1))
        self.gone: set[int] = set()
        self.asked: list[str | None] = []
        self.fail_once: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        before, after = request.url.params.get("before"), request.url.params.get("after")
        limit = int(request.url.params["limit"])
        assert request.url.params["raw_json"] == "1"
        self.asked.append(before or (after and f"after:{after}"))
        if after and after in self.fail_once:
            self.fail_once.discard(after)
            return httpx.Response(503)
        alive = [i for i in self.items if i not in self.gone]
        if before is None:
            older = [i for i in alive if not after or i < int(after.removeprefix("t3_"))]
            return httpx.Response(200, json=listing(*map(thing, older[:limit])))
        anchor = int(before.removeprefix("t3_"))
        if anchor in self.gone:
            return httpx.Response(200, json=listing())
        newer = [i for i in alive if i > anchor][-limit:]
        return httpx.Response(200, json=listing(*map(thing, [*newer, anchor])))  # repeats anchor


def stream_over(fake: FakeReddit) -> ListingStream:
    config = RedditConfig(name="r", kind="reddit", subreddits=["haringey"], page_limit=3)
    (stream,) = RedditSource(config, context(httpx.MockTransport(fake))).streams()
    assert isinstance(stream, ListingStream)
    return stream


def ids(pages: list[Any]) -> list[str]:
    return [m.source.native_id for p in pages for m in p.mentions]


async def test_walks_forward_with_before_and_survives_a_deleted_anchor() -> None:
    fake = FakeReddit(newest=2)
    stream = stream_over(fake)
    first = await drain(stream)
    assert ids(first) == ["t3_1", "t3_2"] and first[-1].cursor is not None
    assert first[-1].cursor["before"] == "t3_2"
    fake.items = list(range(9, 0, -1))
    later = await drain(stream, first[-1].cursor)
    assert ids(later) == [f"t3_{n}" for n in range(3, 10)]  # oldest first, each once
    assert fake.asked[-3:] == ["t3_2", "t3_5", "t3_8"]
    # The anchor gets deleted: Reddit answers empty for ever; reading back from the newest
    # page to the first thing seen before fills the gap, however many pages it spans.
    cursor = later[-1].cursor
    assert cursor is not None
    fake.gone.add(9)
    fake.items = list(range(15, 0, -1))
    after_delete = await drain(stream, cursor)
    assert ids(after_delete) == [f"t3_{n}" for n in range(10, 16)]
    assert fake.asked[-4:] == ["t3_9", None, "after:t3_13", "after:t3_10"]
    assert after_delete[-1].cursor is not None and after_delete[-1].cursor["before"] == "t3_15"
    assert await drain(stream, after_delete[-1].cursor) == []  # caught up: nothing yielded


async def test_a_walk_back_interrupted_by_a_transient_error_goes_on_where_it_stopped() -> None:
    fake = FakeReddit(newest=12)
    fake.fail_once.add("t3_7")
    stream = stream_over(fake)
    with pytest.raises(HttpRetryable):
        await drain(stream)  # first run: backfill 12, 11, 10 | 9, 8, 7 | 503
    (page,) = await drain(stream)  # the runtime re-enters: the walk resumes at after=t3_7
    assert ids([page]) == [f"t3_{n}" for n in range(1, 13)]
    assert fake.asked == [
        None,
        "after:t3_10",
        "after:t3_7",
        "after:t3_7",
        "after:t3_4",
        "after:t3_1",
    ]


def oauth_client(handler: Any, clock: list[float]) -> RedditClient:
    api = context(httpx.MockTransport(handler)).http
    creds = Credentials(
        "app-id", SecretStr("app-secret"), "https://www.reddit.test/api/v1/access_token"
    )
    return RedditClient(
        api,
        base_url="https://www.reddit.test",
        oauth_url="https://oauth.reddit.test",
        credentials=creds,
        clock=lambda: clock[0],
    )


async def test_app_only_oauth_renews_on_401_once_and_before_expiry() -> None:
    issued: list[str] = []
    expired: set[str] = set()
    basic = "Basic " + base64.b64encode(b"app-id:app-secret").decode()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/access_token":
            assert request.method == "POST" and request.headers["authorization"] == basic
            assert request.content == b"grant_type=client_credentials"
            issued.append(f"tok{len(issued)}")
            return httpx.Response(200, json={"access_token": issued[-1], "expires_in": 3600})
        assert request.url.host == "oauth.reddit.test"
        token = request.headers["authorization"].removeprefix("bearer ")
        if token in expired:
            return httpx.Response(401, json={"message": "Unauthorized"})
        return httpx.Response(200, json=listing(thing(1)))

    clock = [0.0]
    client = oauth_client(handler, clock)
    assert len((await client.listing("/r/haringey/new.json", {})).children) == 1
    await client.listing("/r/haringey/new.json", {})
    assert issued == ["tok0"]  # reused
    expired.add("tok0")
    await client.listing("/r/haringey/new.json", {})
    assert issued == ["tok0", "tok1"]  # 401 → renewed once
    clock[0] = 3600 - 59  # within a minute of expiry: renewed before use
    await client.listing("/r/haringey/new.json", {})
    assert issued[-1] == "tok2"
    expired.update({"tok2", "tok3"})
    with pytest.raises(HttpPermanent) as info:  # still 401 after renewing: it is the config
        await client.listing("/r/haringey/new.json", {})
    assert info.value.status == 401


async def test_a_refused_token_request_is_permanent() -> None:
    client = oauth_client(lambda r: httpx.Response(401, json={"error": "invalid_grant"}), [0.0])
    with pytest.raises(HttpPermanent):
        await client.listing("/r/haringey/new.json", {})


async def test_rate_limit_headers_pace_and_a_429_waits_for_the_reset() -> None:
    headers = {"X-Ratelimit-Used": "98", "X-Ratelimit-Remaining": "2.0", "X-Ratelimit-Reset": "30"}
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=listing(), headers=headers))
    ctx = context(transport)
    client = RedditClient(ctx.http, base_url="https://www.reddit.test", oauth_url="-")
    await client.listing("/r/haringey/new.json", {"limit": 5})
    assert 9 <= ctx.http.pacer.wait_for("www.reddit.test") <= 10  # 30 s over 2 calls left (+1)
    config = RedditConfig(name="r", kind="reddit", subreddits=["haringey"])
    limited = context(httpx.MockTransport(lambda r: httpx.Response(429, headers=headers)))
    (stream,) = RedditSource(config, limited).streams()
    with pytest.raises(HttpRetryable) as info:
        await drain(stream)
    assert info.value.retry_after == 30.0
