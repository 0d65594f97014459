"""A Reddit thing (t3 post, t1 comment) from any listing → Mention.

Contract: the native id is the fullname (``t3_abc``, ``t1_def``), global and stable; an
edit (``edited`` set) maps to the same mention_id with ``edited_at``; the subreddit is
the first ``matched_by`` entry, which the locality step reads as context.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from common.privacy import Pseudonymiser
from schemas.models import Match, Mention, Thread
from services.ingest.runtime.mapping import as_id, make_mention

WEB: Final = "https://www.reddit.com"
GONE: Final = frozenset({"[deleted]", "[removed]"})


def map_thing(
    thing: Any,
    *,
    instance: str,
    query: Match | None,
    fetched_at: datetime,
    pseudonymiser: Pseudonymiser,
) -> Mention | None:
    """A t3 post or t1 comment as a Mention; None for other kinds or when nothing is left to read.

    Raises KeyError / TypeError / ValueError when the thing is broken (the caller rejects it).
    """
    kind, data = thing["kind"], thing["data"]
    if kind == "t3":
        title: str | None = str(data["title"]).strip()
        body = str(data.get("selftext") or "").strip()
        text = f"{title}\n\n{body}" if body and body not in GONE else title or ""
        thread = None
    elif kind == "t1":
        title, text = data.get("link_title"), str(data["body"]).strip()
        text = "" if text in GONE else text
        thread = Thread(parent_id=data.get("parent_id"), root_id=data.get("link_id"))
    else:
        return None
    if not text:
        return None
    author = data.get("author")
    edited = data.get("edited")  # false, or when it was edited (epoch seconds)
    edited = edited if isinstance(edited, int | float) and not isinstance(edited, bool) else None
    # Subreddit first: the locality step reads it as context ("r/haringey" → Haringey).
    matched = (Match(kind="subreddit", value=str(data["subreddit"])), *([query] if query else []))
    return make_mention(
        kind="reddit",
        instance=instance,
        native_id=as_id(data["name"], "name"),
        url=WEB + str(data["permalink"]),
        text=text,
        title=title,
        created_at=datetime.fromtimestamp(float(data["created_utc"]), UTC),
        edited_at=datetime.fromtimestamp(edited, UTC) if edited else None,
        fetched_at=fetched_at,
        author=(
            pseudonymiser.author("reddit", str(data.get("author_fullname") or author), author)
            if author and author not in GONE
            else None
        ),
        thread=thread,
        matched_by=matched,
    )
