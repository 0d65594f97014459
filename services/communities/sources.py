"""Communities and ``sources.yaml``: is a space already listened to, and how to start listening.

``accept`` adds one item to one list of one source instance — a Mastodon hashtag,
a Bluesky search for ``#tag``, an X query, a subreddit, a website's feed — by an
edit to the file's text that keeps every comment, validated against the ingestion
services' own schema (:class:`services.ingest.registry.SourcesFile`) before
the file is replaced. The ingestion services pick the change up (reload on change
or SIGHUP, or a restart).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from common.communities import Space
from common.yamlconfig import Lines, read_yaml, validate_data
from common.yamledit import append_item, edit_file
from services.ingest.registry import SourcesFile


@dataclass(frozen=True)
class Addition:
    """One item for one list of one source instance."""

    kind: str
    field: str
    item: Any

    def describe(self, instance: str) -> str:
        return f"{instance}.{self.field} += {self.item!r}"


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower().removeprefix("www.")


def addition_for(space: Space, feed_url: str | None = None) -> Addition:
    """What following ``space`` adds; ValueError when Earshot cannot follow it (or needs a feed)."""
    if space.kind == "hashtag" and space.network == "mastodon":
        return Addition("mastodon", "hashtags", space.name)
    if space.kind == "hashtag" and space.network == "bluesky":
        return Addition("bluesky", "search", f"#{space.name}")
    if space.kind == "hashtag" and space.network == "x":
        return Addition("x", "queries", f"#{space.name} -is:retweet")
    if space.kind == "subreddit":
        return Addition("reddit", "subreddits", space.name)
    if space.kind == "site":
        if not feed_url:
            raise ValueError(
                f"{space.label} is a website: give its RSS/Atom feed with --feed URL "
                "(a site is followed through its feed)"
            )
        if not re.match(r"^https?://\S+$", feed_url):
            raise ValueError(f"--feed must be an http(s) URL, not {feed_url!r}")
        name = re.sub(r"[^a-z0-9._-]+", "-", space.name.lower()).strip("-")[:100]
        return Addition("rss", "feeds", {"url": feed_url, "name": name})
    raise ValueError(f"Earshot has no source that can listen to {space.label} ({space.key})")


def _listened(space: Space, raw: dict[str, Any]) -> bool:
    kind = raw["kind"]
    if space.kind == "hashtag" and kind == space.network:
        words = [*raw.get("hashtags", ()), *raw.get("search", ()), *raw.get("queries", ())]
        return space.name in {w.lstrip("#").lower() for q in words for w in q.split()}
    if space.kind == "subreddit" and kind == "reddit":
        return space.name in {n.lower() for n in raw["subreddits"]}
    if space.kind == "site" and kind == "rss":
        return any(_host(f["url"]) == space.name for f in raw["feeds"])
    if space.kind == "feed" and space.network == "rss" and kind == "rss":
        names = {f"{raw['name']}/{f['name'] or f['url']}" for f in raw["feeds"]}
        return space.name in names or space.name.startswith(f"{raw['name']}/feed-")
    return space.kind == "form" and kind == "webhook" and raw["name"] == space.name


def followed(space: Space, sources: SourcesFile) -> bool:
    """True when some instance in ``sources`` already listens to ``space``."""
    return any(_listened(space, s.model_dump()) for s in sources.sources)


def load_sources_file(path: Path) -> SourcesFile:
    """The validated sources file (ConfigError naming file:line:field on a mistake)."""
    return read_yaml(path, SourcesFile).value


def accept(path: Path, space: Space, instance: str | None, feed_url: str | None) -> str:
    """Add ``space`` to the sources file; returns what was added (``instance.field += item``)."""
    addition = addition_for(space, feed_url)
    sources = load_sources_file(path)
    if followed(space, sources):
        raise ValueError(f"{space.label} is already listened to in {path}")
    index, name = _instance(sources, addition.kind, instance, path)

    def check(data: Any, lines: Lines) -> None:
        validate_data(data, lines, SourcesFile, path)

    edit_file(
        path,
        lambda text: append_item(text, ("sources", index), addition.field, addition.item),
        check,
    )
    return addition.describe(name)


def _instance(sources: SourcesFile, kind: str, wanted: str | None, path: Path) -> tuple[int, str]:
    matching = [
        (i, s.name)
        for i, s in enumerate(sources.sources)
        if getattr(s, "kind", None) == kind and (wanted is None or s.name == wanted)
    ]
    if not matching:
        which = f"named {wanted!r} " if wanted else ""
        raise ValueError(f"no {kind} instance {which}in {path}: add one first")
    enabled = [m for m in matching if sources.sources[m[0]].enabled]
    return (enabled or matching)[0]
