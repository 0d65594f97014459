"""Real-shaped council posts with what a reader would say they are about, for pipeline tests.

Each line is written the way residents write: lower case, hashtags, postcodes in odd
spacing. ``expect`` holds what enrichment must find (topic, council code) — only facts
a human would agree on without hesitation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from schemas.ids import mention_id
from schemas.models import Match, Mention, Source, SourceKind


@dataclass(frozen=True)
class Post:
    text: str
    topic: str | None
    council: str | None


HARINGEY = "E09000014"
MONMOUTHSHIRE = "W06000021"

POSTS: tuple[Post, ...] = (
    Post(
        "Massive pothole on Philip Lane N15 again, nearly lost a wheel this morning",
        "highways",
        HARINGEY,
    ),
    Post(
        "bins not collected on our road in Wood Green for 2 weeks now. anyone else? #haringey",
        "waste",
        HARINGEY,
    ),
    Post(
        "Someone has dumped three mattresses by the garages, fly-tipping is out of control in N17 9LN",
        "waste",
        HARINGEY,
    ),
    Post(
        "Does anyone know if the ESOL course at Wood Green library still runs on Tuesdays?",
        "libraries",
        HARINGEY,
    ),
    Post("Lovely afternoon at Lordship Rec, the new playground is brilliant", "parks", HARINGEY),
    Post(
        "Damp and mould in our council flat in Tottenham for months and still no repairs",
        "housing",
        HARINGEY,
    ),
    Post(
        "Abergavenny library will open on Saturdays from January, great news",
        "libraries",
        MONMOUTHSHIRE,
    ),
    Post(
        "Road closed at Monnow Street Monmouth for resurfacing all week", "highways", MONMOUTHSHIRE
    ),
    Post(
        "Flooding again on the road out of Usk, cars stuck, avoid if you can",
        "emergencies",
        MONMOUTHSHIRE,
    ),
    Post(
        "Recycling not picked up in Chepstow NP16 5 this week, bags blowing everywhere",
        "waste",
        MONMOUTHSHIRE,
    ),
    Post("Just had the best coffee of my life", None, None),
    Post("Match day traffic around the stadium is always chaos", None, None),
)


_TAGS = {HARINGEY: "haringey", MONMOUTHSHIRE: "monmouthshire"}


def mentions(
    count: int, start: datetime | None = None, kind: SourceKind = "mastodon"
) -> list[Mention]:
    """``count`` distinct mentions cycling through :data:`POSTS`, one minute apart."""
    base = start or datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    out = []
    for i in range(count):
        post = POSTS[i % len(POSTS)]
        native = f"https://demo.example/statuses/{i}"
        when = base + timedelta(minutes=i)
        out.append(
            Mention(
                mention_id=mention_id(kind, native),
                source=Source(kind=kind, instance="demo.example", native_id=native, url=native),
                text=f"{post.text} [{i}]" if i >= len(POSTS) else post.text,
                lang="en",
                created_at=when,
                fetched_at=when + timedelta(seconds=30),
                matched_by=(Match(kind="hashtag", value=_TAGS.get(post.council or "", "uk")),),
            )
        )
    return out


def expected(index: int) -> Post:
    """What the post behind ``mentions(...)[index]`` is about."""
    return POSTS[index % len(POSTS)]
