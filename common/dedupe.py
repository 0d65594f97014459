"""Fingerprints for cross-source duplicates: the same link, or the same words.

A mention's dedupe key is its canonical external link when it has one (news
shared on several platforms), otherwise a hash of its normalised text when
the text is long enough that two people are unlikely to write it alike.

Ingestion keys ``mentions.raw.v1`` by :func:`partition_key`, so copies of one link
or text land in one partition and meet in the worker that owns it; the worker
checks :func:`partition_of` to notice records some other producer keyed otherwise.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from kafka.partitioner.default import murmur2

from schemas.models import Mention

MIN_WORDS_FOR_TEXT_MATCH = 6
DEDUPE_PREFIXES = ("link:", "text:")
_URL = re.compile(r"https?://[^\s<>\"')\]]+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<!\w)[@#][\w.]+")
_NON_WORD = re.compile(r"[^\w]+")
_TRACKING = re.compile(
    r"^(utm_\w+|fbclid|gclid|mc_cid|mc_eid|ref|ref_src|igshid|si)$", re.IGNORECASE
)
# Links to the platforms themselves are not "the thing shared".
_PLATFORM_HOSTS = ("x.com", "twitter.com", "t.co", "bsky.app", "reddit.com", "redd.it")


def canonical_link(url: str) -> str | None:
    """A URL reduced to what identifies the page: no scheme, www, tracking params or fragment."""
    try:
        parts = urlsplit(url.strip().rstrip(".,;:!?"))
    except ValueError:
        return None
    host = (parts.hostname or "").lower().removeprefix("www.")
    if not host or "." not in host:
        return None
    query = urlencode(sorted((k, v) for k, v in parse_qsl(parts.query) if not _TRACKING.match(k)))
    path = parts.path.rstrip("/") or ""
    return urlunsplit(("", host, path, query, "")).lstrip("/")


def shared_link(mention: Mention) -> str | None:
    """The external page a mention shares: a news item's own URL, or the first outside link in a post."""
    if mention.source.kind in ("rss", "webhook") and mention.source.url:
        return canonical_link(mention.source.url)
    for found in _URL.findall(mention.text):
        link = canonical_link(found)
        if link and not link.split("/", 1)[0].endswith(_PLATFORM_HOSTS):
            return link
    return None


def normalised_words(text: str) -> list[str]:
    """Words of a post without links, handles, hashtags, punctuation or case."""
    bare = _HANDLE.sub(" ", _URL.sub(" ", text))
    return [w for w in _NON_WORD.sub(" ", bare.lower()).split() if w != "rt"]


def dedupe_key(mention: Mention) -> str | None:
    """The key under which duplicates of ``mention`` meet, or None when it has no reliable one."""
    link = shared_link(mention)
    if link:
        return "link:" + hashlib.sha256(link.encode()).hexdigest()[:24]
    words = normalised_words(mention.text)
    if len(words) < MIN_WORDS_FOR_TEXT_MATCH:
        return None
    return "text:" + hashlib.sha256(" ".join(words).encode()).hexdigest()[:24]


def partition_key(mention: Mention) -> bytes:
    """The Kafka key of a raw mention: its dedupe key, or its id when it has none."""
    return (dedupe_key(mention) or mention.mention_id).encode()


def is_dedupe_key(key: bytes | str) -> bool:
    """True when ``key`` is a dedupe key (copies must meet under it), not a plain mention id."""
    text = key.decode("utf-8", "replace") if isinstance(key, bytes) else key
    return text.startswith(DEDUPE_PREFIXES)


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (murmur2, as Java, aiokafka and kafka-python
    use it) gives ``key`` among ``partitions``."""
    return int(murmur2(key) & 0x7FFFFFFF) % partitions
