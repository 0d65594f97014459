"""Community records from records: k threshold, windows, footprint and crossing, purpose, scores."""

from __future__ import annotations

from collections import Counter

import pytest

from common.communities import Entry, Space
from pipelines.steps.communities import Record
from pipelines.steps.communities_book import DAY, CommunityBook
from pipelines.steps.communities_doc import community_doc, footprint
from pipelines.steps.communities_purpose import purpose, suggestion_score

NOW = 1_800_000_000.0
HARINGEY = ("E09000014", "Haringey")
ENFIELD = ("E09000010", "Enfield")
TAG = Space("hashtag", "mastodon", "tottenham")


def rec(
    n: int,
    author: int | None,
    *,
    ago: float = 3600,
    ward: str | None = "E05013602",
    council: tuple[str, str] | None = HARINGEY,
    topics: tuple[str, ...] = ("waste",),
    sentiment: str | None = "negative",
    via: tuple[str, ...] = ("hashtag:mastodon:haringey",),
) -> Record:
    return Record(
        f"{n:032x}",
        int(NOW - ago),
        author,
        council,
        (ward, ward) if ward else None,
        topics,
        sentiment,
        ("fly-tipping",),
        via,
    )


def doc(records: list[Record], k: int = 5, entry: Entry | None = None) -> dict | None:  # type: ignore[type-arg]
    return community_doc(
        TAG, records, now=NOW, k=k, horizon_days=28, labels={"waste": "Waste"}, entry=entry
    )


def test_below_k_distinct_authors_there_is_no_record_at_all() -> None:
    four = [rec(i, i % 4) for i in range(40)]
    assert doc(four) is None  # 40 posts, 4 people: not a community
    assert doc([rec(i, None) for i in range(40)]) is None  # no author known: never counted
    five = [*four, rec(99, 4)]
    made = doc(five)
    assert made is not None and made["week"] == {"mentions": 41, "authors": 5}
    assert doc(five, k=6) is None
    # Authors from weeks ago do not count towards this week's k.
    assert doc([*four, rec(100, 5, ago=10 * DAY)]) is None


def test_windows_baseline_growth_and_new() -> None:
    base = [rec(i, i % 6, ago=8 * DAY + i * 3600) for i in range(6)]  # 6 over the 3 earlier weeks
    week = [rec(100 + i, i % 6, ago=2 * DAY) for i in range(12)]
    today = [rec(200 + i, i % 6, ago=600) for i in range(3)]
    made = doc([*base, *week, *today])
    assert made is not None
    assert made["day"] == {"mentions": 3, "authors": 3}
    assert made["week"]["mentions"] == 15
    assert made["baseline_week_mentions"] == 2.0
    assert made["growth"] == 7.5 and made["growing"] is True
    assert made["new_this_week"] is False
    fresh = doc([*week, *today])
    assert fresh is not None and fresh["new_this_week"] is True and fresh["growing"] is False


def test_footprint_shares_and_crossing_ward_and_council_lines() -> None:
    one_ward = [rec(i, i) for i in range(10)]
    assert footprint(one_ward)["crosses_wards"] is False
    two = [*one_ward, *(rec(10 + i, i, ward="E05013587") for i in range(4))]
    foot = footprint(two)
    assert foot["crosses_wards"] is True and foot["crosses_councils"] is False
    assert [(w["code"], w["share"]) for w in foot["wards"]] == [
        ("E05013602", 0.714),
        ("E05013587", 0.286),
    ]
    stray = [*one_ward, rec(50, 1, ward="E05013587")]  # one stray post is no crossing
    assert footprint(stray)["ward_count"] == 1
    across = [*one_ward, *(rec(20 + i, i, ward="E05000200", council=ENFIELD) for i in range(5))]
    foot = footprint(across)
    assert foot["crosses_councils"] is True and foot["council_count"] == 2
    unlocated = [*one_ward, *(rec(30 + i, i, ward=None, council=None) for i in range(10))]
    assert footprint(unlocated)["located_share"] == 0.5


@pytest.mark.parametrize(
    ("topics", "sentiment", "total", "topical", "label"),
    [
        ({"waste": 9, "parks": 1}, {"negative": 5, "neutral": 5}, 10, 10, "single_issue"),
        (
            {"waste": 4, "parks": 3, "housing": 3},
            {"negative": 8, "neutral": 2},
            10,
            10,
            "service_reports",
        ),
        (
            {"parks": 4, "libraries": 3, "waste": 3},
            {"positive": 6, "neutral": 4},
            10,
            10,
            "civic_pride",
        ),
        (
            {"parks": 4, "libraries": 3, "waste": 3},
            {"neutral": 8, "negative": 2},
            10,
            10,
            "local_news",
        ),
        ({"waste": 2}, {"neutral": 20}, 20, 2, "general"),
        ({}, {}, 0, 0, "general"),
    ],
)
def test_purpose_from_the_topic_and_sentiment_mix(
    topics: dict[str, int], sentiment: dict[str, int], total: int, topical: int, label: str
) -> None:
    found = purpose(Counter(topics), Counter(sentiment), total, topical, {"waste": "Waste"})
    assert found["label"] == label
    if label == "single_issue":
        assert found["summary"] == "Mostly about waste"


def test_suggestion_scores_favour_more_people_local_talk_and_growth() -> None:
    def score(space: Space = TAG, **kw: float) -> float:
        args = {"authors": 5, "mentions": 10, "located_share": 1.0, "growth": 1.0, "new": False}
        return suggestion_score(space, **(args | kw))  # type: ignore[arg-type]

    assert score(authors=20) > score(authors=5)
    assert score(located_share=1.0) > score(located_share=0.0) > 0
    assert score(growth=3.0) > score(growth=1.0)
    assert score(new=True) > score()
    assert score(Space("instance", "mastodon", "social.example")) == 0.0  # cannot be followed
    assert score(Space("subreddit", "reddit", "n17")) == score()


def test_the_record_says_who_owns_it_and_holds_no_author() -> None:
    entry = Entry(community=TAG.key, department="haringey-waste", stage="engaged", note="ok")
    made = doc([rec(i, 1000 + i) for i in range(6)], entry=entry)
    assert made is not None
    assert made["register"] == {"department": "haringey-waste", "stage": "engaged", "note": "ok"}
    assert "1000" not in str(made)
    assert made["alongside"] == [{"key": "hashtag:mastodon:haringey", "mentions": 6}]
    assert made["heard_via"] == 0 and made["suggestion_score"] > 0


def test_the_book_counts_a_mention_once_expires_old_ones_and_forgets_erased_authors() -> None:
    book = CommunityBook(horizon_days=28)
    first = [rec(i, i) for i in range(6)]
    assert book.apply(TAG.key, 2, "2|10", first) == 6
    assert book.apply(TAG.key, 2, "2|11", first[:3]) == 0  # redelivered: no new record
    assert [k for k, _ in book.take_dirty()] == [TAG.key] and not book.dirty
    old = [rec(100, 7, ago=30 * DAY)]
    book.apply(TAG.key, 2, "2|12", old)
    book.apply("subreddit:reddit:n17", 2, "2|12", [rec(102, 8, ago=DAY)])
    book.apply("subreddit:reddit:n17", 2, "2|14", [rec(103, 8, ago=30 * DAY)])
    expired = book.expire(NOW)
    # An entry goes only when every space's records in it are old: 2|12 still holds a new one.
    assert expired.entries == [(2, "2|14")] and len(book.spaces[TAG.key].records) == 6
    assert book.entries["2|12"] == (2, int(NOW - DAY))
    changed = book.erase({3})
    assert list(changed) == [TAG.key] and len(book.spaces[TAG.key].records) == 5
    assert book.apply(TAG.key, 2, "2|13", [rec(101, 3)]) == 0  # never counted again
    assert book.erase({3}) == {}
