"""Replay server for X API v2 recent search (``GET /2/tweets/search/recent``).

Tweets appear over time (``initial`` at start, ``per_request`` more per answered
request), newest first; ``since_id`` is exclusive, ``next_token`` pages to older ones
and, with ``duplicate_edges``, every next page repeats the last tweet of the one
before. Every fourth tweet has exact coordinates (GeoJSON [lon, lat]) and a place,
the next one only a place; ``includes.places`` carries full_name, country_code and a
bbox, ``includes.users`` the usernames. Text is HTML-escaped as v2 sends it; one tweet
in ten is a retweet (the source skips it). Needs ``Authorization: Bearer <token>``
(401 otherwise) and ``max_results`` in 10..100 (400 otherwise). Faults: the fault plan
(429 with ``x-rate-limit-reset`` epoch seconds, 5xx bursts, malformed bodies) and a
quota per window in ``x-rate-limit-limit/remaining/reset``.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from html import escape
from typing import Any

from aiohttp import web

from devkit.replay.content import Post, Timeline, posts
from devkit.replay.faults import FaultPlan

BASE_ID = 1_990_000_000_000_000_000
REGION = {"haringey": "London, England", "monmouthshire": "Wales, United Kingdom"}


def tweet_id(p: Post) -> int:
    return BASE_ID + p.index * 4_194_304  # snowflake ids grow with time


def is_retweet(p: Post) -> bool:
    return p.index % 10 == 7


def place_id(p: Post) -> str:
    return hashlib.sha256(p.place.encode()).hexdigest()[:16]


def place_of(p: Post) -> dict[str, Any]:
    return {
        "id": place_id(p),
        "full_name": f"{p.place}, {REGION[p.council].split(',')[0]}",
        "name": p.place,
        "country_code": "GB",
        "place_type": "neighborhood" if p.council == "haringey" else "city",
        "geo": {
            "type": "Feature",
            "bbox": [
                round(p.lon - 0.02, 4),
                round(p.lat - 0.01, 4),
                round(p.lon + 0.02, 4),
                round(p.lat + 0.01, 4),
            ],
            "properties": {},
        },
    }


def user_id(p: Post) -> str:
    return str(700_000 + int(hashlib.sha256(p.author.encode()).hexdigest()[:6], 16))


def tweet(p: Post, items: list[Post]) -> dict[str, Any]:
    tid = str(tweet_id(p))
    text = (
        f"{p.text} & more #{p.council.capitalize()}"
        if p.index % 5 == 0
        else f"{p.text} #{p.council.capitalize()}"
    )
    out: dict[str, Any] = {
        "id": tid,
        "text": escape(text, quote=False),  # v2 escapes &, < and >
        "created_at": p.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "author_id": user_id(p),
        "lang": p.lang,
        "conversation_id": tid,
        "edit_history_tweet_ids": [tid],
    }
    position = p.index - items[0].index
    earlier = items[position - 1] if position else None
    if earlier is not None and is_retweet(p):
        out["text"] = f"RT @{earlier.author}: {escape(earlier.text, quote=False)}"
        out["referenced_tweets"] = [{"type": "retweeted", "id": str(tweet_id(earlier))}]
    elif earlier is not None and p.index % 6 == 5:
        out["referenced_tweets"] = [{"type": "replied_to", "id": str(tweet_id(earlier))}]
        out["conversation_id"] = str(tweet_id(earlier))
    if p.index % 4 == 0:
        out["geo"] = {
            "place_id": place_id(p),
            "coordinates": {"type": "Point", "coordinates": [p.lon, p.lat]},
        }
    elif p.index % 4 == 1:
        out["geo"] = {"place_id": place_id(p)}
    return out


@dataclass
class XReplay:
    seed: int = 5
    total: int = 60
    initial: int = 5
    per_request: int = 3
    duplicate_edges: bool = True
    token: str = "replay-bearer"
    quota: int = 450
    quota_window_s: float = 900.0
    faults: FaultPlan = field(default_factory=FaultPlan)
    timeline: Timeline = field(default_factory=Timeline)
    released: int = 0
    used: int = 0
    window_start: float = 0.0

    def __post_init__(self) -> None:
        self.items = posts(self.seed, self.total, self.timeline)
        self.released = self.initial

    def expected(self, council: str | None = None) -> list[Post]:
        """The tweets the source produces (retweets are skipped)."""
        return [p for p in self.items if council in (None, p.council) and not is_retweet(p)]


def make_app(state: XReplay) -> web.Application:
    """The aiohttp app serving ``state`` as the X API."""

    def quota() -> tuple[dict[str, str], bool]:
        now = time.time()
        if now - state.window_start >= state.quota_window_s:
            state.window_start, state.used = now, 0
        state.used += 1
        return {
            "x-rate-limit-limit": str(state.quota),
            "x-rate-limit-remaining": str(max(0, state.quota - state.used)),
            "x-rate-limit-reset": str(math.ceil(state.window_start + state.quota_window_s)),
        }, state.used > state.quota

    async def search(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {state.token}":
            problem = {
                "title": "Unauthorized",
                "type": "about:blank",
                "status": 401,
                "detail": "Unauthorized",
            }
            return web.json_response(problem, status=401)
        headers, exhausted = quota()
        fault = state.faults.next("search")
        if exhausted or fault == "rate_limited":
            headers["x-rate-limit-remaining"] = "0"
            headers["x-rate-limit-reset"] = str(math.ceil(time.time() + state.faults.retry_after_s))
            problem = {
                "title": "Too Many Requests",
                "detail": "Too Many Requests",
                "type": "about:blank",
                "status": 429,
            }
            return web.json_response(problem, status=429, headers=headers)
        if fault == "unavailable":
            return web.json_response(
                {"title": "Service Unavailable", "status": 503}, status=503, headers=headers
            )
        if fault == "malformed":
            return web.Response(
                body=b'{"data": [{"id": "19', content_type="application/json", headers=headers
            )
        q = request.query
        size = int(q.get("max_results", "10"))
        if not 10 <= size <= 100:
            problem = {
                "title": "Invalid Request",
                "detail": "max_results must be between 10 and 100",
                "status": 400,
            }
            return web.json_response(
                {"errors": [{"message": problem["detail"]}], **problem}, status=400
            )
        words = [w for w in q.get("query", "").lower().split() if not w.startswith("-")]
        since = int(q.get("since_id") or 0)
        hits = [
            p
            for p in reversed(state.items[: state.released])
            if tweet_id(p) > since and all(w in p.text.lower() + " #" + p.council for w in words)
        ]
        token = q.get("next_token")
        if token:
            until = int(token.removeprefix("b26"))
            hits = [
                p
                for p in hits
                if tweet_id(p) < until or (state.duplicate_edges and tweet_id(p) == until)
            ]
        chosen = hits[:size]
        state.released = min(state.total, state.released + state.per_request)
        if not chosen:
            return web.json_response({"meta": {"result_count": 0}}, headers=headers)
        meta: dict[str, Any] = {
            "newest_id": str(tweet_id(chosen[0])),
            "oldest_id": str(tweet_id(chosen[-1])),
            "result_count": len(chosen),
        }
        if len(hits) > size:
            meta["next_token"] = f"b26{tweet_id(chosen[-1])}"
        placed = {place_id(p): place_of(p) for p in chosen if p.index % 4 in (0, 1)}
        users = {
            user_id(p): {"id": user_id(p), "name": p.author.title(), "username": p.author}
            for p in chosen
        }
        body = {
            "data": [tweet(p, state.items) for p in chosen],
            "includes": {"places": list(placed.values()), "users": list(users.values())},
            "meta": meta,
        }
        return web.json_response(body, headers=headers)

    app = web.Application()
    app.add_routes([web.get("/2/tweets/search/recent", search)])
    return app
