"""The webhook's documented POST body (see ``source``'s module doc) and its mapping to a Mention.

Contract: :class:`WebhookPayload` validates the body strictly (unknown fields, naive times,
bad coordinates are 400s); :func:`map_payload` is pure: the sender's id is the native id,
text and title are HTML-stripped, the author is pseudonymised by deployment policy.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from common.privacy import Pseudonymiser
from schemas.models import Match, Mention, PlaceHint, Point, Thread
from services.ingest.runtime.mapping import html_to_text, make_mention


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WebhookAuthor(_Strict):
    id: str = Field(min_length=1, max_length=300)
    handle: str | None = Field(default=None, max_length=300)


class WebhookGeo(_Strict):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class WebhookPayload(_Strict):
    """The documented POST body (see the module docstring)."""

    id: str = Field(min_length=1, max_length=1000)
    text: str = Field(min_length=1, max_length=40_000)
    created_at: AwareDatetime
    title: str | None = Field(default=None, max_length=2000)
    url: str | None = Field(default=None, pattern=r"^https?://\S+$", max_length=4000)
    lang: str | None = Field(default=None, pattern=r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$")
    author: WebhookAuthor | None = None
    geo: WebhookGeo | None = None
    place: str | None = Field(default=None, min_length=1, max_length=300)
    in_reply_to: str | None = Field(default=None, max_length=1000)


class MarkupOnly(ValueError):
    """A field that held only markup: nothing of it is text (a 400 naming the field)."""

    def __init__(self, field: str) -> None:
        super().__init__(f"{field} holds nothing but markup")
        self.field = field


def map_payload(
    payload: WebhookPayload, *, instance: str, fetched_at: datetime, pseudonymiser: Pseudonymiser
) -> Mention:
    """The validated payload as a Mention; MarkupOnly when text is nothing but markup,
    ValueError when a field cannot be made valid."""
    author = payload.author
    text = html_to_text(payload.text)
    if not text:
        raise MarkupOnly("text")
    return make_mention(
        kind="webhook",
        instance=instance,
        native_id=payload.id,
        text=text,
        title=html_to_text(payload.title) or None,
        url=payload.url,
        lang=payload.lang,
        created_at=payload.created_at,
        fetched_at=fetched_at,
        author=pseudonymiser.author("webhook", author.id, author.handle) if author else None,
        geo=Point(lat=payload.geo.lat, lon=payload.geo.lon) if payload.geo else None,
        place_hint=PlaceHint(name=payload.place) if payload.place else None,
        thread=Thread(parent_id=payload.in_reply_to) if payload.in_reply_to else None,
        matched_by=(Match(kind="webhook", value=instance),),
    )
