"""Replay server for Reddit: subreddit ``new``/``comments`` listings, search, app-only OAuth.

Posts (t3, in r/haringey or r/Monmouthshire) and comments (t1, on every third post)
appear over time: ``initial`` at start, ``per_request`` more per answered listing.
Listings are newest first; ``before=<fullname>`` answers the ``limit`` things just
newer than it, ``after`` the ones just older, and a ``before`` naming a thing in
``deleted`` answers an empty listing, as Reddit does. ``duplicate_edges`` repeats the
anchor on every ``before`` page. With ``client_id`` set, listings need a bearer token
from ``POST /api/v1/access_token`` (HTTP Basic, ``client_credentials``); a token stops
working after ``token_uses`` requests (401 → the client renews). Faults: the fault plan
(429 with ``X-Ratelimit-Reset`` seconds, 5xx bursts, Reddit's HTML error page in place
of JSON) and a quota per window announced in ``X-Ratelimit-Used/Remaining/Reset``.
"""

from __future__ import annotations

import asyncio
import base64
import math
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from devkit.replay.content import Post, Timeline, posts
from devkit.replay.faults import FaultPlan

SUBREDDITS = {"haringey": "haringey", "monmouthshire": "Monmouthshire"}
POST_BASE = int("1h2k000", 36)
COMMENT_BASE = int("m0a0000", 36)
HTML_ERROR = b"<!doctype html><html><head><title>Reddit - Dive into anything</title></head><body>Our CDN was unable to reach our servers</body></html>"


def b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out or "0"


def post_thing(p: Post) -> dict[str, Any]:
    pid, sub = b36(POST_BASE + p.index), SUBREDDITS[p.council]
    slug = "_".join(p.text.lower().split()[:6]).replace(",", "")
    selftext = (
        ""
        if p.index % 3 == 0
        else "[removed]"
        if p.index % 11 == 5
        else f"It's near {p.street} in {p.place}. Anyone know who to contact at the council?"
    )
    deleted = p.index % 13 == 0
    return {
        "kind": "t3",
        "data": {
            "id": pid,
            "name": f"t3_{pid}",
            "title": p.text,
            "selftext": selftext,
            "author": "[deleted]" if deleted else p.author,
            **({} if deleted else {"author_fullname": "t2_" + b36(9000 + len(p.author) * 97)}),
            "subreddit": sub,
            "subreddit_name_prefixed": f"r/{sub}",
            "created_utc": p.created_at.timestamp(),
            "permalink": f"/r/{sub}/comments/{pid}/{slug}/",
            "url": f"https://www.reddit.com/r/{sub}/comments/{pid}/{slug}/",
            "is_self": True,
            "over_18": False,
            "stickied": False,
            "num_comments": 1 if p.index % 3 == 0 else 0,
            "score": p.index % 17,
            "edited": False,
        },
    }


def comment_thing(p: Post) -> dict[str, Any]:
    cid, pid, sub = b36(COMMENT_BASE + p.index), b36(POST_BASE + p.index), SUBREDDITS[p.council]
    return {
        "kind": "t1",
        "data": {
            "id": cid,
            "name": f"t1_{cid}",
            "body": f"Same problem on {p.street} last month, reported it twice.",
            "author": f"neighbour{p.index}",
            "author_fullname": "t2_" + b36(5000 + p.index),
            "subreddit": sub,
            "link_id": f"t3_{pid}",
            "parent_id": f"t3_{pid}",
            "link_title": p.text,
            "created_utc": p.created_at.timestamp() + 60,
            "permalink": f"/r/{sub}/comments/{pid}/c/{cid}/",
            "edited": False,
        },
    }


@dataclass
class RedditReplay:
    seed: int = 4
    total: int = 60
    initial: int = 5
    per_request: int = 3
    duplicate_edges: bool = True
    client_id: str | None = None
    client_secret: str = "replay-secret"
    token_uses: int = 8
    quota: int = 600
    quota_window_s: float = 600.0
    faults: FaultPlan = field(default_factory=FaultPlan)
    timeline: Timeline = field(default_factory=Timeline)
    deleted: set[str] = field(default_factory=set)
    delete_anchor_at: int = 0
    """The Nth request with a ``before`` finds that thing deleted (0: never)."""
    anchored: int = 0
    dead_anchors: int = 0
    """Requests whose ``before`` named a deleted thing (answered empty)."""
    released: int = 0
    tokens: dict[str, int] = field(default_factory=dict)
    issued: int = 0
    used: int = 0
    window_start: float = 0.0

    def __post_init__(self) -> None:
        self.items = posts(self.seed, self.total, self.timeline)
        self.released = self.initial

    def expected(self, council: str) -> list[Post]:
        return [p for p in self.items if p.council == council]

    def things(self, sub: str | None, comments: bool = False) -> list[dict[str, Any]]:
        """Released things of ``sub`` (all subreddits when None), newest first."""
        chosen = [
            p
            for p in self.items[: self.released]
            if sub is None or SUBREDDITS[p.council].lower() == sub.lower()
        ]
        built = (
            [comment_thing(p) for p in chosen if p.index % 3 == 0]
            if comments
            else [post_thing(p) for p in chosen]
        )
        return sorted(built, key=lambda t: t["data"]["created_utc"], reverse=True)


def _listing(things: list[dict[str, Any]], q: Any, state: RedditReplay) -> dict[str, Any]:
    limit = min(int(q.get("limit", "25")), 100)
    names = [t["data"]["name"] for t in things]
    before, after = q.get("before"), q.get("after")
    more_newer = False
    if before:
        if before in state.deleted or before not in names:
            state.dead_anchors += before in state.deleted
            chosen: list[dict[str, Any]] = []
        else:
            pos = names.index(before)
            chosen, more_newer = things[max(0, pos - limit) : pos], pos - limit > 0
            if state.duplicate_edges and chosen:
                chosen = [*chosen, things[pos]]
    elif after and after in names:
        pos = names.index(after)
        chosen = things[pos + 1 : pos + 1 + limit]
    else:
        chosen = things[:limit]
    chosen = [
        t for t in chosen if t["data"]["name"] not in state.deleted or t["data"]["name"] == before
    ]
    last = chosen[-1]["data"]["name"] if chosen else None
    return {
        "kind": "Listing",
        "data": {
            "after": last if last and names.index(last) + 1 < len(names) else None,
            "before": chosen[0]["data"]["name"] if chosen and more_newer else None,
            "dist": len(chosen),
            "modhash": "",
            "geo_filter": "",
            "children": chosen,
        },
    }


def make_app(state: RedditReplay) -> web.Application:
    """The aiohttp app serving ``state`` as www.reddit.com + oauth.reddit.com in one."""

    def quota_headers() -> tuple[dict[str, str], bool]:
        now = asyncio.get_running_loop().time()
        if now - state.window_start >= state.quota_window_s:
            state.window_start, state.used = now, 0
        state.used += 1
        reset = math.ceil(state.quota_window_s - (now - state.window_start))
        return {
            "X-Ratelimit-Used": str(state.used),
            "X-Ratelimit-Remaining": f"{max(0, state.quota - state.used):.1f}",
            "X-Ratelimit-Reset": str(reset),
        }, state.used > state.quota

    def authorised(request: web.Request) -> web.Response | None:
        if state.client_id is None:
            return None
        token = request.headers.get("Authorization", "").removeprefix("bearer ")
        if token not in state.tokens:
            return web.json_response({"message": "Forbidden", "error": 403}, status=403)
        state.tokens[token] += 1
        if state.tokens[token] > state.token_uses:
            return web.json_response({"message": "Unauthorized", "error": 401}, status=401)
        return None

    async def listing(request: web.Request) -> web.Response:
        refused = authorised(request)
        if refused is not None:
            return refused
        headers, exhausted = quota_headers()
        path = request.path
        fault = state.faults.next(path)
        if exhausted or fault == "rate_limited":
            headers["X-Ratelimit-Reset"] = str(math.ceil(state.faults.retry_after_s))
            return web.json_response(
                {"message": "Too Many Requests", "error": 429}, status=429, headers=headers
            )
        if fault == "unavailable":
            return web.json_response(
                {"message": "Service Unavailable", "error": 503}, status=503, headers=headers
            )
        if fault == "malformed":
            return web.Response(body=HTML_ERROR, content_type="text/html", headers=headers)
        sub = request.match_info.get("sub")
        q = request.query
        anchor = q.get("before")
        state.anchored += bool(anchor)
        if anchor and state.anchored == state.delete_anchor_at:
            state.deleted.add(anchor)  # its author deleted it just now
        if path.endswith("/search.json"):
            words = q.get("q", "").lower().split()
            scope = sub if q.get("restrict_sr") in ("on", "1", "true") else None
            things = [
                t
                for t in state.things(scope)
                if all(
                    w in (t["data"]["title"] + " " + t["data"]["selftext"]).lower() for w in words
                )
            ]
        else:
            things = state.things(sub, comments=path.endswith("/comments.json"))
        body = _listing(things, q, state)
        state.released = min(state.total, state.released + state.per_request)
        return web.json_response(body, headers=headers)

    async def access_token(request: web.Request) -> web.Response:
        expected = base64.b64encode(f"{state.client_id}:{state.client_secret}".encode()).decode()
        form = await request.post()
        if (
            request.headers.get("Authorization") != f"Basic {expected}"
            or form.get("grant_type") != "client_credentials"
        ):
            return web.json_response({"message": "Unauthorized", "error": 401}, status=401)
        state.issued += 1
        token = f"replay-token-{state.issued}"
        state.tokens[token] = 0
        return web.json_response(
            {"access_token": token, "token_type": "bearer", "expires_in": 86400, "scope": "*"}
        )

    app = web.Application()
    app.add_routes(
        [
            web.get("/r/{sub}/new.json", listing),
            web.get("/r/{sub}/comments.json", listing),
            web.get("/r/{sub}/search.json", listing),
            web.get("/search.json", listing),
            web.post("/api/v1/access_token", access_token),
        ]
    )
    return app
