"""Deterministic, real-shaped demo content about Haringey and Monmouthshire.

``posts(seed, n)`` always returns the same n posts for the same seed: resident
posts and local-news items about potholes, bins, fly-tipping, libraries, parks,
housing and more, each tied to a real place and street of the two councils.
:func:`fresh_timeline` gives ``make run`` a timeline that starts where the last run
stopped, so a second demo run brings new posts, newer than anything already heard.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
GAPS_S = (20, 900)
"""Seconds between consecutive posts of the fixed test timeline."""

PLACES: dict[str, list[tuple[str, str, float, float]]] = {
    "haringey": [
        ("Tottenham Hale", "Philip Lane", 51.5882, -0.0601),
        ("Wood Green", "High Road", 51.5975, -0.1097),
        ("Crouch End", "Park Road", 51.5798, -0.1236),
        ("Muswell Hill", "Fortis Green Road", 51.5907, -0.1437),
        ("Bruce Grove", "Lordship Lane", 51.5936, -0.0697),
        ("Seven Sisters", "West Green Road", 51.5822, -0.0749),
        ("Harringay Ladder", "Green Lanes", 51.5774, -0.0985),
        ("Northumberland Park", "Park Lane", 51.6020, -0.0555),
        ("Hornsey", "Tottenham Lane", 51.5856, -0.1164),
        ("Highgate", "North Hill", 51.5713, -0.1465),
    ],
    "monmouthshire": [
        ("Abergavenny", "Cross Street", 51.8240, -3.0180),
        ("Monmouth", "Monnow Street", 51.8110, -2.7160),
        ("Chepstow", "Bridge Street", 51.6420, -2.6740),
        ("Caldicot", "Newport Road", 51.5910, -2.7500),
        ("Usk", "Bridge Street", 51.7030, -2.9030),
        ("Raglan", "High Street", 51.7650, -2.8510),
        ("Magor", "The Square", 51.5800, -2.8310),
        ("Gilwern", "Main Road", 51.8220, -3.0960),
    ],
}

AREA_TAGS: dict[str, str] = {
    "Tottenham Hale": "#N17",
    "Bruce Grove": "#N17",
    "Northumberland Park": "#N17",
}
"""Hyper-local hashtags residents add to posts about these places. #N17 spans three
Haringey wards and the demo does not follow it, so Earshot finds it as a community
that crosses ward lines and suggests it: a new hashtag used alongside the followed #haringey."""

TOPICS: list[tuple[str, list[str], list[str]]] = [
    (
        "potholes",
        [
            "Massive pothole on {street}, {place} again – nearly lost a wheel this morning",
            "Reported the pothole outside the shops on {street} three weeks ago and still nothing",
            "Credit where due: the potholes on {street} in {place} were filled overnight. Thank you!",
        ],
        ["Potholes on {street} to be repaired next week", "Road resurfacing starts in {place}"],
    ),
    (
        "bins",
        [
            "Bins not collected on {street} for two weeks now. Anyone else in {place}?",
            "Recycling lorry skipped our side of {street} again #{council}",
            "New food waste caddies arrived in {place} today, collection seems much better",
        ],
        [
            "Bin collection changes for {place} residents",
            "Missed collections in {place} after crew shortage",
        ],
    ),
    (
        "fly-tipping",
        [
            "Fly-tipping behind the shops on {street}, {place}. Mattresses and bags everywhere",
            "Someone dumped a sofa and fridge on {street} overnight – reported it on the app",
            "Great to see the fly-tipping on {street} cleared within a day #{council}",
        ],
        [
            "Fly-tippers fined after {place} clean-up",
            "CCTV to target fly-tipping hotspot in {place}",
        ],
    ),
    (
        "libraries",
        [
            "{place} library open on Saturdays from January – brilliant news for the kids",
            "Why is {place} library closed again on a weekday? Second time this month",
            "Lovely story time session at {place} library this morning, staff were fantastic",
        ],
        ["{place} library to open on Saturdays", "Consultation on {place} library hours"],
    ),
    (
        "parks",
        [
            "The play area in the park near {street}, {place} has been fenced off for months",
            "Park café by {street} reopened, and the new benches look great",
            "Broken glass all over the basketball court off {street} in {place}",
        ],
        ["New trees planted in {place} parks", "{place} park improvements approved"],
    ),
    (
        "housing",
        [
            "Damp and mould in our council flat on {street} and repairs keep cancelling",
            "Waited 40 minutes on the housing repairs line about the boiler, {place}",
            "New council homes on {street} in {place} look really well built",
        ],
        ["Council homes plan for {street}, {place}", "Housing repairs backlog in {place} falls"],
    ),
    (
        "streetlights",
        [
            "Streetlights out all along {street}, {place} – feels unsafe walking home",
            "Streetlight on the corner of {street} flickering for a week",
        ],
        ["LED streetlight upgrade reaches {place}"],
    ),
]


@dataclass(frozen=True)
class Post:
    """One demo item; ``index`` is its number: the timeline's start plus its position."""

    index: int
    council: str
    place: str
    street: str
    lat: float
    lon: float
    topic: str
    text: str
    headline: str
    created_at: datetime
    author: str
    lang: str


@dataclass(frozen=True)
class Timeline:
    """Where a sequence of posts sits: the first post's number (native ids derive from it),
    the time before the first post, and the range of seconds between posts."""

    start: int = 0
    epoch: datetime = EPOCH
    gaps_s: tuple[int, int] = GAPS_S


def fresh_timeline(n: int, now: datetime | None = None) -> Timeline:
    """A timeline of ``n`` posts ending about now, numbered from the current second.

    Numbers and times both grow with the wall clock, so every run's posts are newer
    (ids, times, cursors) than any earlier run's, and the demo is dated days not weeks back.
    """
    now = now or datetime.now(UTC)
    gaps = (2, 18)
    return Timeline(
        start=int(now.timestamp()),
        epoch=now - timedelta(seconds=n * sum(gaps) // 2),
        gaps_s=gaps,
    )


def _tagged(text: str, place: str) -> str:
    # No random draw here: adding tags leaves every other post of a sequence as it was.
    tag = AREA_TAGS.get(place)
    return f"{text} {tag}" if tag else text


def tags_of(p: Post) -> set[str]:
    """The hashtags a post carries: its council's and any area tag in its text (lower case)."""
    return {p.council, *(w[1:].lower() for w in p.text.split() if w.startswith("#"))}


def posts(seed: int, n: int, timeline: Timeline | None = None) -> list[Post]:
    """The first ``n`` posts of the sequence for ``seed`` (same seed and timeline, same posts)."""
    timeline = timeline or Timeline()
    rng = random.Random(seed)
    out: list[Post] = []
    when = timeline.epoch
    for i in range(n):
        council = rng.choice(sorted(PLACES))
        place, street, lat, lon = rng.choice(PLACES[council])
        topic, resident, news = rng.choice(TOPICS)
        fields = {"place": place, "street": street, "council": council.capitalize()}
        when += timedelta(seconds=rng.randint(*timeline.gaps_s))
        welsh = council == "monmouthshire" and rng.random() < 0.05
        out.append(
            Post(
                index=timeline.start + i,
                council=council,
                place=place,
                street=street,
                lat=round(lat + rng.uniform(-0.004, 0.004), 5),
                lon=round(lon + rng.uniform(-0.004, 0.004), 5),
                topic=topic,
                text=_tagged(rng.choice(resident).format(**fields), place),
                headline=rng.choice(news).format(**fields),
                created_at=when,
                author=f"resident{rng.randint(1, 400)}",
                lang="cy" if welsh else "en",
            )
        )
    return out
