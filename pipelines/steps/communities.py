"""Which shared spaces a mention belongs to, and the compact record it adds to each of them.

Spaces come from what a mention already carries (no contract change was needed):

* ``matched_by`` — the subreddit (``subreddit:reddit:haringey``), the followed
  hashtag (``hashtag:mastodon:haringey``), the feed (``feed:rss:<instance>/<feed>``),
  the webhook form (``form:webhook:<instance>``), a Bluesky feed or list;
* ``source`` — a Mastodon status's server (its URL's host, the author's home
  server: ``instance:mastodon:social.example``), an RSS entry's website
  (``site:web:<domain>``);
* the text — hashtags on the networks that have them (Mastodon, Bluesky, X),
  links to websites, to subreddits (``r/name`` too), to Bluesky feeds and lists
  and to Facebook groups.

Queries, accounts and the firehose are never spaces: a query is the council's own
search, an account is a person. The record a mention adds holds only what the
community record needs: when, a 64-bit hash of the author's pseudonym (counted,
never written anywhere but the worker's own changelog), place, topics, sentiment,
the phrases that matched its topics, and the followed spaces it was heard through.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

from common.communities import Space
from common.privacy import Pseudonymiser
from pipelines.steps.erasure import author_pseudonym
from schemas.models import Author

HASHTAG_NETWORKS: Final = frozenset({"mastodon", "bluesky", "x"})
_HASHTAG: Final = re.compile(r"(?<![\w#&/])#([^\W\d_][\w]{0,99})")
_URL: Final = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)
_SUBREDDIT: Final = re.compile(
    r"(?:reddit\.com|(?<![\w/]))/?r/([A-Za-z0-9][A-Za-z0-9_]{1,20})\b", re.IGNORECASE
)
_DOMAIN: Final = re.compile(r"^[a-z0-9-]+(\.[a-z0-9-]+)+$")
NOT_SPACES: Final = frozenset(
    {
        # Link shorteners and the networks' own hosts: a link there names no website community.
        "t.co", "bit.ly", "tinyurl.com", "goo.gl", "ow.ly", "buff.ly", "is.gd", "lnkd.in",
        "x.com", "twitter.com", "bsky.app", "reddit.com", "redd.it", "google.com", "google.co.uk",
        "youtu.be", "instagram.com",
    }
)  # fmt: skip
MAX_PHRASES: Final = 5


@dataclass(frozen=True, slots=True)
class Record:
    """What one mention adds to each of its spaces (the element of a delta)."""

    mention_id: str
    at: int
    """Event time (created_at), epoch seconds."""
    author: int | None
    """64-bit hash of the author's pseudonym; None when the source gave no author."""
    council: tuple[str, str] | None
    ward: tuple[str, str] | None
    topics: tuple[str, ...]
    sentiment: str | None
    phrases: tuple[str, ...]
    via: tuple[str, ...]
    """Keys of the followed spaces the mention was heard through (its ``matched_by``)."""

    def encode(self) -> list[Any]:
        """The JSON-ready list form carried in deltas and the changelog."""
        council = self.council or (None, None)
        ward = self.ward or (None, None)
        return [
            self.mention_id,
            self.at,
            self.author,
            *council,
            *ward,
            list(self.topics),
            self.sentiment,
            list(self.phrases),
            list(self.via),
        ]

    @classmethod
    def decode(cls, item: list[Any]) -> Record:
        """Inverse of :meth:`encode`; raises on a malformed item."""
        mid, at, author, c_code, c_name, w_code, w_name, topics, sentiment, phrases, via = item
        return cls(
            str(mid),
            int(at),
            None if author is None else int(author),
            (str(c_code), str(c_name)) if c_code else None,
            (str(w_code), str(w_name)) if w_code else None,
            tuple(topics),
            sentiment,
            tuple(phrases),
            tuple(via),
        )


def author_hash(pseudonym: str) -> int:
    """The 64-bit number a pseudonym is counted by (also how tombstones are matched)."""
    return int.from_bytes(hashlib.blake2b(pseudonym.encode(), digest_size=8).digest(), "big") >> 1


def _domain(url: str) -> str | None:
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return None
    host = host.removeprefix("www.").removeprefix("m.")
    return host if _DOMAIN.match(host) and len(host) <= 253 else None


def link_spaces(url: str) -> list[Space]:
    """The spaces a link names: a subreddit, a Bluesky feed or list, a Facebook group, a website."""
    host = _domain(url)
    if host is None:
        return []
    path = [p for p in urlsplit(url).path.split("/") if p]
    if host.endswith("reddit.com"):
        if len(path) >= 2 and path[0].lower() == "r":
            return [Space("subreddit", "reddit", path[1].lower())]
        return []
    if host == "bsky.app" and len(path) >= 4 and path[0] == "profile":
        if path[2] in ("feed", "lists"):
            kind = "feed" if path[2] == "feed" else "list"
            return [Space(kind, "bluesky", f"{path[1].lower()}/{path[3]}")]  # type: ignore[arg-type]
        return []
    if host == "facebook.com" and len(path) >= 2 and path[0] == "groups":
        return [Space("site", "web", f"facebook.com/groups/{path[1].lower()}")]
    if host in NOT_SPACES or host.endswith(".google.com") or host == "facebook.com":
        return []
    return [Space("site", "web", host)]


def matched_space(kind: str, match_kind: str, value: str, instance: str) -> Space | None:
    """The followed space a ``matched_by`` entry names (None for queries, accounts, firehose)."""
    value = value.strip()
    if not value:
        return None
    if match_kind == "subreddit":
        return Space("subreddit", "reddit", value.lower())
    if match_kind == "hashtag" and kind in HASHTAG_NETWORKS:
        return Space("hashtag", kind, value.lstrip("#").lower())
    if match_kind == "webhook":
        return Space("form", "webhook", instance)
    if match_kind == "feed":
        if kind == "bluesky":
            found = link_spaces(value) if value.startswith("http") else []
            return found[0] if found else Space("feed", "bluesky", value.lower())
        return Space("feed", "rss", f"{instance}/{value}")
    return None


def text_spaces(kind: str, text: str) -> Iterable[Space]:
    """Hashtags (on networks that have them), links and ``r/name`` mentions in ``text``."""
    if kind in HASHTAG_NETWORKS and "#" in text:
        for tag in _HASHTAG.findall(text):
            yield Space("hashtag", kind, tag.casefold())
    if "http" in text:
        for url in _URL.findall(text):
            yield from link_spaces(url.rstrip(".,;:!?"))
    if "r/" in text:
        for name in _SUBREDDIT.findall(text):
            yield Space("subreddit", "reddit", name.lower())


def spaces_of(data: Mapping[str, Any]) -> tuple[list[Space], list[Space]]:
    """(every space of the mention, the followed ones it was heard through), each once."""
    source = data["source"]
    kind, instance = source["kind"], source["instance"]
    via = [
        s
        for m in data.get("matched_by") or ()
        if (s := matched_space(kind, m["kind"], m["value"], instance)) is not None
    ]
    found = list(via)
    url = source.get("url")
    if url and kind == "mastodon":
        host = _domain(url)
        if host:
            found.append(Space("instance", "mastodon", host))
    elif url and kind == "rss":
        found += link_spaces(url)
    found += text_spaces(kind, data.get("text") or "")
    if data.get("title"):
        found += text_spaces(kind, data["title"])
    return list(dict.fromkeys(found)), list(dict.fromkeys(via))


def _area(value: Any) -> tuple[str, str] | None:
    if not value:
        return None
    return str(value["code"]), str(value.get("name") or value["code"])


def record_of(
    data: Mapping[str, Any], via: Iterable[Space], pseudonymiser: Pseudonymiser | None = None
) -> Record:
    """The record ``data`` (an enriched mention as parsed JSON) adds to each of its spaces."""
    author = data.get("author")
    pseudonym = (
        author_pseudonym(Author.model_construct(**author), pseudonymiser) if author else None
    )
    loc = data.get("locality") or {}
    topics = data.get("topics") or ()
    phrases = dict.fromkeys(
        span["text"].casefold() for t in topics for span in t.get("spans") or ()
    )
    sentiment = data.get("sentiment")
    return Record(
        mention_id=data["mention_id"],
        at=int(datetime.fromisoformat(data["created_at"]).timestamp()),
        author=author_hash(pseudonym) if pseudonym else None,
        council=_area(loc.get("council")),
        ward=_area(loc.get("ward")),
        topics=tuple(dict.fromkeys(t["id"] for t in topics)),
        sentiment=sentiment["label"] if sentiment else None,
        phrases=tuple(list(phrases)[:MAX_PHRASES]),
        via=tuple(s.key for s in via),
    )


def partition_of(space: str, partitions: int) -> int:
    """The partition a space's state lives in: the same on every worker, whatever the key."""
    digest = hashlib.blake2b(space.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big") % partitions


@dataclass
class Deltas:
    """One batch of mentions grouped by space: what the aggregating agent is sent."""

    by_space: dict[str, list[list[Any]]]
    failed: list[tuple[int, Exception]]
    skipped: int = 0

    def messages(self, partitions: int) -> dict[int, bytes]:
        """One delta message per partition, holding every space of that partition."""
        grouped: dict[int, dict[str, list[list[Any]]]] = {}
        for space, items in self.by_space.items():
            grouped.setdefault(partition_of(space, partitions), {})[space] = items
        return {p: encode_delta(spaces) for p, spaces in grouped.items()}


def encode_delta(spaces: Mapping[str, list[list[Any]]]) -> bytes:
    """A delta message: per space, the records (in list form) it gains."""
    return json.dumps({"spaces": spaces}, separators=(",", ":")).encode()


def deltas_of(
    values: Iterable[bytes],
    *,
    now: float,
    horizon_s: float,
    erased: Container[int],
    pseudonymiser: Pseudonymiser | None = None,
) -> Deltas:
    """Group a batch of enriched mentions (JSON bytes) by space.

    Mentions with no space, older than the horizon, or by an erased author (``erased``
    holds author hashes) are skipped; one that cannot be read is returned in ``failed``
    with its position, for the dead-letter topic.
    """
    out = Deltas({}, [])
    for i, value in enumerate(values):
        try:
            data = json.loads(value)
            spaces, via = spaces_of(data)
            record = record_of(data, via, pseudonymiser) if spaces else None
        except Exception as exc:  # one unreadable mention must not stop the batch
            out.failed.append((i, exc))
            continue
        if (
            record is None
            or record.at < now - horizon_s
            or (record.author is not None and record.author in erased)
        ):
            out.skipped += 1
            continue
        item = record.encode()
        for space in spaces:
            out.by_space.setdefault(space.key, []).append(item)
    return out


def read_delta(value: bytes) -> dict[str, list[Record]]:
    """The records per space of one delta message; raises on a malformed one."""
    data = json.loads(value)
    return {
        Space.parse(space).key: [Record.decode(item) for item in items]
        for space, items in data["spaces"].items()
    }
