"""Replay server for RSS/Atom: a growing council news feed, Google Alerts, GeoRSS, RSS 1.0,
a malformed feed and a gone (410) feed, with conditional GET and a fault plan.

Feeds (``GET /feeds/<name>``):
  council-news.xml   RSS 2.0, grows by ``per_request`` items per fetch; messy on purpose:
                     CDATA, entities, relative links, items without guid or date, a duplicate.
  google-alerts.atom Google Alerts Atom: HTML titles, links wrapped in google.com/url?...&url=.
  georss.xml         RSS 2.0 with <georss:point>.
  rdf.xml            RSS 1.0 (RDF).
  forum.xml          a neighbourhood forum's threads (RSS 2.0, dc:creator): a community of residents.
  malformed.xml      not XML; gone.xml answers 410.
Every feed honours If-None-Match / If-Modified-Since with 304.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from email.utils import format_datetime
from html import escape
from urllib.parse import quote

from aiohttp import web

from devkit.replay.content import Post, Timeline, posts
from devkit.replay.faults import FaultPlan

GROWING = ("council-news.xml", "google-alerts.atom", "georss.xml", "rdf.xml", "forum.xml")


@dataclass
class RssReplay:
    seed: int = 1
    total: int = 60
    initial: int = 5
    per_request: int = 3
    window: int = 200
    faults: FaultPlan = field(default_factory=FaultPlan)
    timeline: Timeline = field(default_factory=Timeline)
    released: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.items = {
            name: posts(self.seed + i, self.total, self.timeline) for i, name in enumerate(GROWING)
        }

    def visible(self, name: str) -> list[Post]:
        count = min(self.total, self.released.get(name, self.initial))
        return self.items[name][max(0, count - self.window) : count]

    def all_items(self, name: str) -> list[Post]:
        return self.items[name]


def _article(p: Post) -> str:
    return f"https://www.example-news.co.uk/{p.council}/{p.topic}/{p.index}-{quote(p.place.lower().replace(' ', '-'))}"


def council_news(items: list[Post]) -> str:
    out = []
    for p in reversed(items):
        guid = (
            "" if p.index % 7 == 3 else f"<guid isPermaLink='false'>council-news-{p.index}</guid>"
        )
        date = "" if p.index % 5 == 4 else f"<pubDate>{format_datetime(p.created_at)}</pubDate>"
        link = f"/news/{p.index}" if p.index % 4 == 1 else _article(p)
        body = f"<![CDATA[<p>{escape(p.text)} &ndash; <b>{p.place}</b>, {p.council.title()}</p>]]>"
        item = (
            f"<item><title>{escape(p.headline)} &amp; more</title><link>{escape(link)}</link>"
            f"{guid}{date}<description>{body}</description></item>"
        )
        out.append(item)
        if p.index % 11 == 5:
            out.append(item)  # real feeds repeat items
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        "<title>Council News</title><link>https://news.example.org/</link><language>en-gb</language>"
        + "".join(out)
        + "</channel></rss>"
    )


def google_alerts(items: list[Post]) -> str:
    entries = []
    for p in reversed(items):
        target = _article(p)
        wrapped = f"https://www.google.com/url?rct=j&amp;sa=t&amp;url={quote(target, safe='')}&amp;ct=ga&amp;cd=CAIyGg&amp;usg=AOvVaw{p.index}"
        title = escape(f"<b>{p.place}</b> {p.headline}")
        content = escape(f"{p.text} &nbsp;<b>{p.council.title()}</b> Council said&#39;s ...")
        entries.append(
            f"<entry><id>tag:google.com,2013:googlealerts/feed:{900000 + p.index}</id>"
            f"<title type='html'>{title}</title><link href='{wrapped}'/>"
            f"<published>{p.created_at.isoformat()}</published><updated>{p.created_at.isoformat()}</updated>"
            f"<content type='html'>{content}</content><author><name/></author></entry>"
        )
    return (
        "<?xml version='1.0' encoding='utf-8'?><feed xmlns='http://www.w3.org/2005/Atom' "
        "xmlns:idx='urn:atom-extension:indexing'><id>tag:google.com,2013:googlealerts/feed:1</id>"
        "<title>Google Alert - haringey</title><link href='https://www.google.com/alerts/feeds/1/2' rel='self'/>"
        "<updated>2026-11-20T09:00:00Z</updated>" + "".join(entries) + "</feed>"
    )


def georss(items: list[Post]) -> str:
    out = [
        f"<item><title>{escape(p.headline)}</title><link>{_article(p)}</link>"
        f"<guid>geo-{p.index}</guid><pubDate>{format_datetime(p.created_at)}</pubDate>"
        f"<description>{escape(p.text)}</description><georss:point>{p.lat} {p.lon}</georss:point></item>"
        for p in reversed(items)
    ]
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0' xmlns:georss='http://www.georss.org/georss'>"
        "<channel><title>Report-it map</title><link>https://map.example.org/</link>"
        + "".join(out)
        + "</channel></rss>"
    )


def rdf(items: list[Post]) -> str:
    out = [
        f"<item rdf:about='{_article(p)}'><title>{escape(p.headline)}</title><link>{_article(p)}</link>"
        f"<description>{escape(p.text)}</description><dc:date>{p.created_at.isoformat()}</dc:date></item>"
        for p in reversed(items)
    ]
    return (
        "<?xml version='1.0'?><rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#' "
        "xmlns='http://purl.org/rss/1.0/' xmlns:dc='http://purl.org/dc/elements/1.1/'>"
        "<channel rdf:about='https://old.example.org/'><title>Old CMS</title><link>https://old.example.org/</link>"
        "<description>x</description></channel>" + "".join(out) + "</rdf:RDF>"
    )


def forum(items: list[Post]) -> str:
    """A neighbourhood forum's latest threads (RSS 2.0 with dc:creator): residents, not the council."""
    out = [
        f"<item><title>{escape(p.text[:80])}</title>"
        f"<link>https://forum.haringey-neighbours.example/topic/{p.index}</link>"
        f"<guid>forum-{p.index}</guid><pubDate>{format_datetime(p.created_at)}</pubDate>"
        f"<dc:creator>{p.author}</dc:creator><description>{escape(p.text)}</description></item>"
        for p in reversed(items)
        if p.council == "haringey"
    ]
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0' "
        "xmlns:dc='http://purl.org/dc/elements/1.1/'><channel><title>Haringey Neighbours forum</title>"
        "<link>https://forum.haringey-neighbours.example/</link>"
        + "".join(out)
        + "</channel></rss>"
    )


RENDER = {
    "council-news.xml": council_news,
    "google-alerts.atom": google_alerts,
    "georss.xml": georss,
    "rdf.xml": rdf,
    "forum.xml": forum,
}
MALFORMED = b"<?xml version='1.0'?><rss version='2.0'><channel><title>Broken & <item><title>cut off"


def make_app(state: RssReplay) -> web.Application:
    """The aiohttp app serving ``state``'s feeds."""

    async def feed(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        fault = state.faults.next(name)
        if fault == "rate_limited":
            return web.Response(
                status=429, headers={"Retry-After": str(state.faults.retry_after_s)}
            )
        if fault == "unavailable":
            return web.Response(status=503, text="busy")
        if name == "gone.xml":
            return web.Response(status=410, text="this feed has been removed")
        if name == "malformed.xml" or fault == "malformed":
            return web.Response(body=MALFORMED, content_type="application/rss+xml")
        if name not in RENDER:
            return web.Response(status=404)
        items = state.visible(name)
        body = RENDER[name](items).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
        modified = format_datetime(items[-1].created_at, usegmt=True) if items else None
        state.released[name] = state.released.get(name, state.initial) + state.per_request
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        headers = {"ETag": etag, **({"Last-Modified": modified} if modified else {})}
        ctype = "application/atom+xml" if name.endswith(".atom") else "application/rss+xml"
        return web.Response(body=body, headers=headers, content_type=ctype)

    app = web.Application()
    app.add_routes([web.get("/feeds/{name}", feed)])
    return app
