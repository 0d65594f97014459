"""Enriched mentions in shared spaces, for the community tests and benchmark."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import SecretStr

from common.privacy import Pseudonymiser
from devkit.events import example_enriched
from schemas.models import Author, CodedArea, EnrichedMention, Match, Source, SourceKind, Topic

PSEUDONYMS = Pseudonymiser(SecretStr("communities-test-pseudonym-secret"))
HARINGEY = CodedArea(code="E09000014", name="Haringey")
WARDS = {
    "tottenham-hale": CodedArea(code="E05013602", name="Tottenham Hale"),
    "bruce-castle": CodedArea(code="E05013587", name="Bruce Castle"),
    "northumberland-park": CodedArea(code="E05013596", name="Northumberland Park"),
    "woodside": CodedArea(code="E05013605", name="Woodside"),
}


def author(n: int, kind: str = "mastodon") -> Author:
    """The pseudonymised author number ``n`` of a source kind."""
    return Author(id=PSEUDONYMS.pseudonym(kind, f"user{n}"), scheme="hmac-sha256")


def in_space(
    n: int,
    *,
    who: int,
    kind: SourceKind = "mastodon",
    matched: tuple[Match, ...] = (Match(kind="hashtag", value="haringey"),),
    text: str = "Bins not collected again #Haringey",
    ward: str | None = "tottenham-hale",
    topic: str | None = "waste",
    at: datetime | None = None,
) -> EnrichedMention:
    """Enriched mention ``n`` by author ``who``, heard through ``matched``."""
    base = example_enriched()
    when = at or datetime.now(UTC) - timedelta(minutes=5)
    locality = base.locality.model_copy(
        update={"ward": WARDS[ward] if ward else None, "council": HARINGEY if ward else None}
    )
    return base.model_copy(
        update={
            "mention_id": f"{n:032x}",
            "source": Source(
                kind=kind,
                instance="test",
                native_id=f"n{n}",
                url=f"https://social.example/@user{who}/{n}" if kind == "mastodon" else None,
            ),
            "text": text,
            "author": author(who, kind),
            "matched_by": matched,
            "created_at": when,
            "fetched_at": when,
            "enriched_at": when,
            "locality": locality,
            "topics": (Topic(id=topic, spans=()),) if topic else (),
        }
    )
