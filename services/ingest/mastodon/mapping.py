"""A Mastodon status (REST or streaming) → Mention, pure.

Contract: the native id is the status URI, so the same post seen on two servers or under
two hashtags is one mention; an edit (``edited_at``) maps to the same mention_id; a boost
maps to the boosted status; private posts and posts without text map to None.
"""

from __future__ import annotations

from datetime import datetime

from common.privacy import Pseudonymiser
from schemas.models import Match, Mention, Thread
from services.ingest.mastodon.client import Status
from services.ingest.runtime.mapping import as_id, html_to_text, make_mention

PUBLIC = frozenset({"public", "unlisted", None})


def map_status(
    status: Status,
    *,
    instance: str,
    match: Match,
    fetched_at: datetime,
    pseudonymiser: Pseudonymiser,
) -> Mention | None:
    """One status as a Mention; None for a post to skip (private, no text); ValueError if broken."""
    status = status.get("reblog") or status
    if status.get("visibility") not in PUBLIC:
        return None
    text = html_to_text(status.get("content"))
    if not text:
        return None
    account = status.get("account") or {}
    acct = account.get("acct")
    author_id = account.get("url") or account.get("uri") or acct
    parent = status.get("in_reply_to_id")
    edited = status.get("edited_at")
    return make_mention(
        kind="mastodon",
        instance=instance,
        native_id=as_id(status["uri"], "uri"),
        url=status.get("url") or status["uri"],
        text=text,
        title=html_to_text(status.get("spoiler_text")) or None,
        lang=status.get("language"),
        created_at=datetime.fromisoformat(str(status["created_at"]).replace("Z", "+00:00")),
        edited_at=datetime.fromisoformat(edited.replace("Z", "+00:00")) if edited else None,
        fetched_at=fetched_at,
        author=pseudonymiser.author("mastodon", str(author_id), acct) if author_id else None,
        thread=Thread(parent_id=str(parent)) if parent else None,
        matched_by=(match,),
    )
