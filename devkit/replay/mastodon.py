"""Replay server for Mastodon: hashtag timelines (min_id/max_id paging + Link), search, SSE streaming.

Statuses appear over time: ``initial`` are visible at start and each timeline
request releases ``per_request`` more, as on a live server. Faults: the fault plan
(429 with ``X-RateLimit-Reset``, 5xx bursts, malformed JSON bodies), a real quota
(``X-RateLimit-Limit/Remaining/Reset`` per window), and with ``duplicate_edges``
every page also repeats the status at its ``min_id`` (a page-boundary duplicate).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from aiohttp import web

from devkit.replay.content import Post, Timeline, posts, tags_of
from devkit.replay.faults import FaultPlan

BASE_ID = 113_400_000_000_000_000


def status_id(p: Post) -> str:
    return str(BASE_ID + p.index * 1000)


def status_json(p: Post, server: str, edited: bool = False) -> dict[str, Any]:
    sid = status_id(p)
    user = p.author
    tag = p.council
    text = p.text + (" (edit: reported it on the council website)" if edited else "")
    content = (
        f'<p>{escape(text)} <a href="{server}/tags/{tag}" class="mention hashtag" rel="tag">'
        f"#<span>{tag.capitalize()}</span></a></p>"
    )
    return {
        "id": sid,
        "uri": f"https://social.example/users/{user}/statuses/{sid}",
        "url": f"https://social.example/@{user}/{sid}",
        "created_at": p.created_at.isoformat().replace("+00:00", ".000Z"),
        "edited_at": (p.created_at + timedelta(minutes=5)).isoformat() if edited else None,
        "account": {
            "id": str(1000 + p.index % 400),
            "acct": f"{user}@social.example",
            "url": f"https://social.example/@{user}",
        },
        "content": content,
        "spoiler_text": "",
        "language": p.lang,
        "visibility": "public",
        "in_reply_to_id": None,
        "reblog": None,
        "tags": [{"name": tag, "url": f"{server}/tags/{tag}"}],
    }


@dataclass
class MastodonReplay:
    seed: int = 2
    total: int = 120
    initial: int = 10
    per_request: int = 7
    quota: int = 300
    quota_window_s: float = 300.0
    duplicate_edges: bool = True
    stream_events: int = 5
    """SSE: events sent per connection before the server closes it (forces reconnects)."""
    token: str = "replay-token"
    faults: FaultPlan = field(default_factory=FaultPlan)
    timeline: Timeline = field(default_factory=Timeline)
    released: int = 0
    used: int = 0
    window_start: float = 0.0

    def __post_init__(self) -> None:
        self.items = posts(self.seed, self.total, self.timeline)
        self.released = self.initial

    def visible(self, tag: str) -> list[Post]:
        return [p for p in self.items[: self.released] if tag.lower() in tags_of(p)]

    def expected(self, tag: str) -> list[Post]:
        return [p for p in self.items if tag.lower() in tags_of(p)]


def _quota(state: MastodonReplay, loop_time: float) -> tuple[dict[str, str], bool]:
    if loop_time - state.window_start >= state.quota_window_s:
        state.window_start, state.used = loop_time, 0
    state.used += 1
    reset = datetime.now(UTC) + timedelta(
        seconds=state.quota_window_s - (loop_time - state.window_start)
    )
    headers = {
        "X-RateLimit-Limit": str(state.quota),
        "X-RateLimit-Remaining": str(max(0, state.quota - state.used)),
        "X-RateLimit-Reset": reset.isoformat(),
    }
    return headers, state.used > state.quota


def make_app(state: MastodonReplay) -> web.Application:
    """The aiohttp app serving ``state`` as a Mastodon server."""

    def page(request: web.Request, items: list[Post], path: str) -> web.Response:
        loop_time = asyncio.get_running_loop().time()
        headers, exhausted = _quota(state, loop_time)
        fault = state.faults.next(path)
        if exhausted or fault == "rate_limited":
            wait = state.faults.retry_after_s
            reset = datetime.now(UTC) + timedelta(seconds=wait)
            headers["X-RateLimit-Reset"] = reset.isoformat()
            return web.json_response({"error": "Too many requests"}, status=429, headers=headers)
        if fault == "unavailable":
            return web.json_response({"error": "busy"}, status=503, headers=headers)
        if fault == "malformed":
            return web.Response(
                body=b'[{"id": "1", "content": "<p>cut', content_type="application/json"
            )
        q = request.query
        limit = min(int(q.get("limit", "20")), 40)
        by_id = sorted(items, key=lambda p: int(status_id(p)))
        if "min_id" in q:
            after = [p for p in by_id if int(status_id(p)) > int(q["min_id"])][:limit]
            if state.duplicate_edges and after:
                edge = [p for p in by_id if status_id(p) == q["min_id"]]
                after = edge + after
            chosen = after
        elif "max_id" in q:
            chosen = [p for p in by_id if int(status_id(p)) < int(q["max_id"])][-limit:]
        else:
            chosen = by_id[-limit:]
        server = f"http://{request.host}"
        body = [status_json(p, server) for p in sorted(chosen, key=lambda p: -p.index)]
        if chosen:
            base = f"{server}{request.path}?limit={limit}"
            headers["Link"] = (
                f'<{base}&max_id={status_id(chosen[0])}>; rel="next", '
                f'<{base}&min_id={status_id(chosen[-1])}>; rel="prev"'
            )
        return web.json_response(body, headers=headers)

    async def tag_timeline(request: web.Request) -> web.Response:
        tag = request.match_info["tag"].lower()
        response = page(request, state.visible(tag), f"tag/{tag}")
        if response.status == 200:
            state.released = min(state.total, state.released + state.per_request)
        return response

    async def search(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {state.token}":
            return web.json_response({"error": "The access token is invalid"}, status=401)
        words = request.query.get("q", "").lower().split()
        hits = [p for p in state.items[: state.released] if all(w in p.text.lower() for w in words)]
        inner = page(request, hits, "search")
        if inner.status != 200 or inner.body is None:
            return inner
        statuses = json.loads(bytes(inner.body))  # type: ignore[arg-type]
        return web.json_response({"accounts": [], "statuses": statuses, "hashtags": []})

    async def streaming(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != f"Bearer {state.token}":
            return web.json_response({"error": "Missing access token"}, status=401)
        tag = request.query.get("tag", "").lower()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        server = f"http://{request.host}"
        sent = 0
        await response.write(b":thump\n\n")
        while sent < state.stream_events and state.released < state.total:
            state.released += 1
            p = state.items[state.released - 1]
            if p.council != tag:
                continue
            data = json.dumps(status_json(p, server))
            await response.write(f"event: update\ndata: {data}\n\n".encode())
            sent += 1
            if sent == 2:  # the author edits the post just sent: same uri, edited_at set
                edited = json.dumps(status_json(p, server, edited=True))
                await response.write(f"event: status.update\ndata: {edited}\n\n".encode())
            await response.write(b"event: delete\ndata: 123\n\n")
            await asyncio.sleep(0.01)
        return response

    app = web.Application()
    app.add_routes(
        [
            web.get("/api/v1/timelines/tag/{tag}", tag_timeline),
            web.get("/api/v2/search", search),
            web.get("/api/v1/streaming/hashtag", streaming),
        ]
    )
    return app
