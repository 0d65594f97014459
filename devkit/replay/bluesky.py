"""Replay server for Bluesky: ``app.bsky.feed.searchPosts`` and Jetstream's ``/subscribe`` (WebSocket).

searchPosts: posts become visible over time (``initial`` at start, ``per_request`` more
per answered request), newest first by sortAt, ``since`` inclusive, ``lang``, and an
OFFSET cursor — as on a live index, a post released between two page requests shifts
the next page, so pages repeat posts. Faults: the fault plan (429 with the AT Protocol
``RateLimit-*`` headers, 5xx bursts, malformed bodies) and a 400 for ``limit`` > 100.

Jetstream: a fixed event log — the demo posts (all tagged #Haringey / #Monmouthshire)
among network chatter that must NOT match (near misses such as "dusk" for Usk), likes
(dropped by ``wantedCollections``), deletes, identity events, edits (``update``) and
malformed frames — replayed from ``cursor`` (time_us, inclusive, like Jetstream) or from
the live tip without one. Each connection sends ``per_connection`` events, then closes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from devkit.replay.content import Post, Timeline, posts
from devkit.replay.faults import FaultPlan

TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
CHATTER = [
    "Gorgeous dusk over the harbour tonight",
    "My husky refuses to walk in the rain again",
    "Anyone else watching the match? What a goal",
    "New sourdough recipe turned out great, thread below",
    "Greenwich market is heaving this afternoon",
    "Conference talk slides are up on my blog",
]


def did_of(author: str) -> str:
    return "did:plc:" + hashlib.sha256(author.encode()).hexdigest()[:24]


def tid(when: datetime, salt: int) -> str:
    """A record key in the TID shape (13 base32-sortable characters)."""
    n = (int(when.timestamp() * 1_000_000) << 10) | (salt & 1023)
    return "".join(TID_ALPHABET[(n >> (5 * i)) & 31] for i in reversed(range(13)))


def stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record(p: Post, edited: bool = False) -> dict[str, Any]:
    tag = "#" + p.council.capitalize()
    text = f"{p.text} {tag}" + (" (edit: reported on the council app)" if edited else "")
    start = len(p.text.encode()) + 1
    facets: list[dict[str, Any]] = [
        {
            "index": {"byteStart": start, "byteEnd": start + len(tag.encode())},
            "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": tag[1:]}],
        }
    ]
    out: dict[str, Any] = {
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": stamp(p.created_at),
        "langs": [p.lang],
        "facets": facets,
    }
    if p.index % 6 == 5:
        parent = {
            "uri": f"at://{did_of('council')}/app.bsky.feed.post/3kparent{p.index}",
            "cid": "bafyreiparent",
        }
        out["reply"] = {"root": parent, "parent": parent}
    return out


def uri_of(p: Post) -> str:
    return f"at://{did_of(p.author)}/app.bsky.feed.post/{tid(p.created_at, p.index)}"


def post_view(p: Post) -> dict[str, Any]:
    return {
        "uri": uri_of(p),
        "cid": "bafyrei" + hashlib.sha256(uri_of(p).encode()).hexdigest()[:40],
        "author": {"did": did_of(p.author), "handle": f"{p.author}.bsky.social", "labels": []},
        "record": record(p),
        "replyCount": 0,
        "repostCount": 0,
        "likeCount": p.index % 5,
        "quoteCount": 0,
        "indexedAt": stamp(p.created_at + timedelta(seconds=2)),
        "labels": [],
    }


@dataclass
class BlueskyReplay:
    seed: int = 3
    total: int = 60
    initial: int = 5
    per_request: int = 4
    faults: FaultPlan = field(default_factory=FaultPlan)
    timeline: Timeline = field(default_factory=Timeline)
    quota: int = 3000
    per_connection: int = 40
    event_delay_s: float = 0.002
    edit_every: int = 7
    malformed_every: int = 11
    released: int = 0
    live: int = 0
    used: int = 0

    def __post_init__(self) -> None:
        self.items = posts(self.seed, self.total, self.timeline)
        self.released = self.initial
        self.log = self._event_log()

    def expected(self, council: str | None = None) -> list[Post]:
        return [p for p in self.items if council in (None, p.council)]

    def _event_log(self) -> list[str]:
        out: list[str] = []
        # Event times start just before the first post's, like a live Jetstream.
        t = int(self.items[0].created_at.timestamp() * 1_000_000) - 1000 if self.items else 0

        def add(event: dict[str, Any]) -> None:
            nonlocal t
            t += 1000
            out.append(json.dumps({**event, "time_us": t}))

        for p in self.items:
            chatter = CHATTER[p.index % len(CHATTER)]
            other = did_of(f"chatter{p.index}")
            rkey = tid(p.created_at, 500 + p.index)
            add(
                {
                    "did": other,
                    "kind": "commit",
                    "commit": {
                        "rev": "r",
                        "operation": "create",
                        "collection": "app.bsky.feed.post",
                        "rkey": rkey,
                        "cid": "bafyc",
                        "record": {
                            "$type": "app.bsky.feed.post",
                            "text": chatter,
                            "createdAt": stamp(p.created_at),
                            "langs": ["en"],
                        },
                    },
                }
            )
            add(
                {
                    "did": other,
                    "kind": "commit",
                    "commit": {
                        "rev": "r",
                        "operation": "create",
                        "collection": "app.bsky.feed.like",
                        "rkey": rkey + "l",
                        "record": {"subject": {"uri": uri_of(p)}},
                    },
                }
            )
            commit = {
                "rev": "r",
                "operation": "create",
                "collection": "app.bsky.feed.post",
                "rkey": tid(p.created_at, p.index),
                "cid": "bafyp",
                "record": record(p),
            }
            add({"did": did_of(p.author), "kind": "commit", "commit": commit})
            if p.index % 9 == 4:
                add(
                    {
                        "did": other,
                        "kind": "commit",
                        "commit": {
                            "rev": "r",
                            "operation": "delete",
                            "collection": "app.bsky.feed.post",
                            "rkey": rkey,
                        },
                    }
                )
                add(
                    {
                        "did": other,
                        "kind": "identity",
                        "identity": {
                            "did": other,
                            "handle": "someone.bsky.social",
                            "seq": 1,
                            "time": stamp(p.created_at),
                        },
                    }
                )
            if self.edit_every and p.index % self.edit_every == 2:
                edited = {**commit, "operation": "update", "record": record(p, edited=True)}
                add({"did": did_of(p.author), "kind": "commit", "commit": edited})
            if self.malformed_every and p.index % self.malformed_every == 10:
                out.append('{"did": "did:plc:broken", "time_us": ')
        return out


def _wanted(frame: str, wanted: list[str]) -> bool:
    try:
        event = json.loads(frame)
    except ValueError:
        return True  # a broken frame goes out as it is: that is the fault
    collection = (event.get("commit") or {}).get("collection")
    return not wanted or collection is None or collection in wanted


def _time_us(frame: str) -> int:
    try:
        return int(json.loads(frame)["time_us"])
    except (ValueError, KeyError):
        return -1


def make_app(state: BlueskyReplay) -> web.Application:
    """The aiohttp app serving ``state`` as an AppView (searchPosts) and a Jetstream instance."""

    async def search(request: web.Request) -> web.Response:
        state.used += 1
        reset = str(math.ceil(time.time() + state.faults.retry_after_s))
        headers = {
            "RateLimit-Limit": str(state.quota),
            "RateLimit-Remaining": str(max(0, state.quota - state.used)),
            "RateLimit-Reset": reset,
            "RateLimit-Policy": f"{state.quota};w=300",
        }
        fault = state.faults.next("search")
        if fault == "rate_limited" or state.used > state.quota:
            return web.json_response(
                {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                status=429,
                headers=headers,
            )
        if fault == "unavailable":
            return web.json_response({"error": "InternalServerError"}, status=502, headers=headers)
        if fault == "malformed":
            return web.Response(
                body=b'{"posts": [{"uri": "at://', content_type="application/json", headers=headers
            )
        q = request.query
        limit = int(q.get("limit", "25"))
        if not 1 <= limit <= 100:
            return web.json_response(
                {"error": "InvalidRequest", "message": "limit must be <= 100"}, status=400
            )
        words = q.get("q", "").lower().split()
        since = datetime.fromisoformat(q["since"]) if q.get("since") else None
        hits = [
            p
            for p in state.items[: state.released]
            if all(w in record(p)["text"].lower() for w in words)
            and (since is None or p.created_at >= since)
            and q.get("lang") in (None, p.lang)
        ]
        hits.sort(key=lambda p: p.created_at, reverse=True)
        offset = int(q.get("cursor") or 0)
        body: dict[str, Any] = {
            "posts": [post_view(p) for p in hits[offset : offset + limit]],
            "hitsTotal": len(hits),
        }
        if offset + limit < len(hits):
            body["cursor"] = str(offset + limit)
        state.released = min(state.total, state.released + state.per_request)
        return web.json_response(body, headers=headers)

    async def subscribe(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        wanted = request.query.getall("wantedCollections", [])
        cursor = int(request.query.get("cursor") or 0)
        i = (
            next((n for n, f in enumerate(state.log) if _time_us(f) >= cursor), len(state.log))
            if cursor
            else state.live
        )
        sent = 0
        while sent < state.per_connection and i < len(state.log) and not ws.closed:
            frame, i = state.log[i], i + 1
            state.live = max(state.live, i)
            if _wanted(frame, wanted):
                await ws.send_str(frame)
                sent += 1
                await asyncio.sleep(state.event_delay_s)
        await ws.close()
        return ws

    app = web.Application()
    app.add_routes(
        [web.get("/xrpc/app.bsky.feed.searchPosts", search), web.get("/subscribe", subscribe)]
    )
    return app
