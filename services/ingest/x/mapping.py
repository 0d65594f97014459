"""An X API v2 tweet (with the search's ``includes``) → Mention, and its geo fields.

Contract: the native id is the tweet id; ``geo.coordinates`` (GeoJSON, [lon, lat])
becomes ``geo``; the tweet's place from ``includes.places`` becomes ``place_hint``
(full name, country, bbox [west, south, east, north]); a retweet maps to None (it
repeats another tweet); the URL carries no handle, which is pseudonymised.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from typing import Any, Final

from pydantic import ValidationError

from common.privacy import Pseudonymiser
from schemas.models import Match, Mention, PlaceHint, Point, Thread
from services.ingest.runtime.mapping import as_id, make_mention
from services.ingest.x.client import Obj

# X's own codes for "no language" (undetermined, media only, hashtags only...).
NO_LANGUAGE: Final = re.compile(r"^(und|zxx|q[a-z]{2})$")
COUNTRY: Final = re.compile(r"^[A-Z]{2}$")
TWEET_ID: Final = re.compile(r"^[0-9]{1,19}$")


def point(geo: Any) -> Point | None:
    """The tweet's exact location (GeoJSON Point, [lon, lat]); None if absent or unusable."""
    try:
        coords = geo["coordinates"]
        if coords.get("type") != "Point":
            return None
        lon, lat = coords["coordinates"][:2]
        return Point(lat=float(lat), lon=float(lon))
    except (KeyError, TypeError, ValueError, AttributeError, ValidationError):
        return None


def place_hint(place: Obj | None) -> PlaceHint | None:
    """An ``includes.places`` entry as a hint: full name, country code, bbox [w, s, e, n]."""
    name = str((place or {}).get("full_name") or (place or {}).get("name") or "").strip()
    if not place or not name:
        return None
    bbox = (place.get("geo") or {}).get("bbox")
    try:
        west, south, east, north = (float(v) for v in bbox or ())
        box: tuple[float, float, float, float] | None = (west, south, east, north)
    except (TypeError, ValueError):
        box = None
    country = place.get("country_code")
    return PlaceHint(
        name=name[:300],
        country_code=country if isinstance(country, str) and COUNTRY.match(country) else None,
        bbox=box,
    )


def map_tweet(
    tweet: Any,
    *,
    places: dict[str, Obj],
    users: dict[str, Obj],
    instance: str,
    match: Match,
    fetched_at: datetime,
    pseudonymiser: Pseudonymiser,
) -> Mention | None:
    """One tweet as a Mention; None for a retweet; KeyError/TypeError/ValueError when broken."""
    refs = tweet.get("referenced_tweets") or []
    if any(r.get("type") == "retweeted" for r in refs):
        return None
    tweet_id = as_id(tweet["id"], "id")
    if not TWEET_ID.match(tweet_id):  # the id is also the URL's last segment
        raise ValueError(f"tweet id {tweet_id[:40]!r} is not a tweet id")
    # v2 sends text HTML-escaped (&amp; &lt; &gt;); a long post's full text is in note_tweet.
    text = html.unescape(str((tweet.get("note_tweet") or {}).get("text") or tweet["text"]))
    parent = next((str(r["id"]) for r in refs if r.get("type") == "replied_to"), None)
    conversation = str(tweet.get("conversation_id") or "")
    root = conversation if conversation and conversation != tweet_id else None
    geo = tweet.get("geo") or {}
    author_id = tweet.get("author_id")
    username = users.get(str(author_id), {}).get("username")
    lang = tweet.get("lang")
    return make_mention(
        kind="x",
        instance=instance,
        native_id=tweet_id,
        url=f"https://x.com/i/web/status/{tweet_id}",  # no handle in the URL: it is pseudonymised
        text=text,
        lang=None if not lang or NO_LANGUAGE.match(lang) else lang,
        created_at=datetime.fromisoformat(str(tweet["created_at"])),
        fetched_at=fetched_at,
        author=pseudonymiser.author("x", str(author_id), username) if author_id else None,
        geo=point(geo),
        place_hint=place_hint(places.get(str(geo.get("place_id")))),
        thread=Thread(parent_id=parent, root_id=root) if parent or root else None,
        matched_by=(match,),
    )
