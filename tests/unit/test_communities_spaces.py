"""Which spaces a mention belongs to, from every source kind's real payloads, and its record."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from common.communities import Space
from devkit.communities import PSEUDONYMS, in_space
from pipelines.steps.communities import (
    Record,
    author_hash,
    deltas_of,
    link_spaces,
    partition_of,
    read_delta,
    record_of,
    spaces_of,
)
from schemas.codec import encode, to_json
from schemas.models import Match, Mention
from services.ingest.bluesky.mapping import map_post
from services.ingest.mastodon.mapping import map_status
from services.ingest.reddit.mapping import map_thing
from services.ingest.rss.mapping import map_entry
from services.ingest.webhook.mapping import WebhookPayload, map_payload
from services.ingest.x.mapping import map_tweet

PAYLOADS = Path(__file__).resolve().parents[1] / "contract" / "payloads"
FETCHED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def keys(mention: Mention) -> tuple[list[str], list[str]]:
    found, via = spaces_of(to_json(mention))
    return [s.key for s in found], [s.key for s in via]


def test_reddit_posts_belong_to_their_subreddit_and_subreddits_they_name() -> None:
    listing = json.loads((PAYLOADS / "reddit" / "new.json").read_text())
    thing = listing["data"]["children"][0]
    mention = map_thing(
        thing, instance="r", query=None, fetched_at=FETCHED, pseudonymiser=PSEUDONYMS
    )
    assert mention is not None
    sub = thing["data"]["subreddit"].lower()
    found, via = keys(mention)
    assert via == [f"subreddit:reddit:{sub}"] and found[0] == via[0]
    linked = mention.model_copy(update={"text": "see r/CrouchEnd and reddit.com/r/N17/ too"})
    assert keys(linked)[0][1:] == ["subreddit:reddit:crouchend", "subreddit:reddit:n17"]


def test_mastodon_statuses_belong_to_the_followed_tag_their_server_and_their_other_tags() -> None:
    statuses = json.loads((PAYLOADS / "mastodon" / "tag_timeline.json").read_text())
    match = Match(kind="hashtag", value="haringey")
    mentions = [
        m
        for s in statuses
        if (
            m := map_status(
                s, instance="m", match=match, fetched_at=FETCHED, pseudonymiser=PSEUDONYMS
            )
        )
    ]
    assert mentions
    for mention in mentions:
        found, via = keys(mention)
        host = mention.source.url.split("/")[2].removeprefix("www.")  # type: ignore[union-attr]
        assert via == ["hashtag:mastodon:haringey"]
        assert f"instance:mastodon:{host}" in found
    tagged = mentions[0].model_copy(
        update={"text": "Litter pick #Tottenham #N17 #haringey, 10am. Not a tag: &#39; #1"}
    )
    found, _ = keys(tagged)
    assert found.count("hashtag:mastodon:haringey") == 1
    assert "hashtag:mastodon:tottenham" in found and "hashtag:mastodon:n17" in found
    assert not any(k.endswith(":39") or k.endswith(":1") for k in found)


def test_bluesky_posts_give_hashtags_and_linked_feeds_lists_and_sites() -> None:
    data = json.loads((PAYLOADS / "bluesky" / "search_posts.json").read_text())
    post = data["posts"][0]
    mention = map_post(
        post["record"],
        uri=post["uri"],
        handle=post["author"]["handle"],
        instance="b",
        matched_by=(Match(kind="query", value="haringey"),),
        fetched_at=FETCHED,
        pseudonymiser=PSEUDONYMS,
    )
    assert mention is not None
    assert keys(mention)[1] == []  # a query is the council's own search, not a space
    linked = mention.model_copy(
        update={
            "text": "Join https://bsky.app/profile/n17.bsky.social/feed/aaaq4 and "
            "https://bsky.app/profile/did:plc:abc/lists/3kx, news at https://www.tottenham-news.example/a. #Tottenham"
        }
    )
    assert keys(linked)[0] == [
        "hashtag:bluesky:tottenham",
        "feed:bluesky:n17.bsky.social/aaaq4",
        "list:bluesky:did:plc:abc/3kx",
        "site:web:tottenham-news.example",
    ]


def test_x_tweets_give_hashtags_but_queries_and_shorteners_are_no_spaces() -> None:
    data = json.loads((PAYLOADS / "x" / "search_recent.json").read_text())
    tweet = data["data"][0]
    mention = map_tweet(
        tweet,
        places={},
        users={},
        instance="x",
        match=Match(kind="query", value="haringey"),
        fetched_at=FETCHED,
        pseudonymiser=PSEUDONYMS,
    )
    assert mention is not None
    tagged = mention.model_copy(update={"text": "Road closed #WoodGreen https://t.co/abc"})
    assert keys(tagged) == (["hashtag:x:woodgreen"], [])


def test_rss_entries_belong_to_their_feed_and_website() -> None:
    parsed = feedparser.parse((PAYLOADS / "rss" / "georss.xml").read_bytes())
    mention = map_entry(
        parsed.entries[0],
        instance="local",
        feed="forum",
        base_url="https://www.harringayonline.example/",
        lang=None,
        fetched_at=FETCHED,
        pseudonymiser=PSEUDONYMS,
    )
    host = mention.source.url.split("/")[2].removeprefix("www.")  # type: ignore[union-attr]
    found, via = keys(mention)
    assert via == ["feed:rss:local/forum"]
    assert found[:2] == ["feed:rss:local/forum", f"site:web:{host}"]


def test_webhook_reports_belong_to_their_form() -> None:
    body = json.loads((PAYLOADS / "webhook" / "valid.json").read_text())
    mention = map_payload(
        WebhookPayload.model_validate(body),
        instance="report-it",
        fetched_at=FETCHED,
        pseudonymiser=PSEUDONYMS,
    )
    assert keys(mention) == (["form:webhook:report-it"], ["form:webhook:report-it"])


@pytest.mark.parametrize(
    ("url", "key"),
    [
        (
            "https://www.facebook.com/groups/HarringayLadder/posts/1",
            "site:web:facebook.com/groups/harringayladder",
        ),
        ("https://facebook.com/somepage", None),
        ("https://bit.ly/3abc", None),
        ("https://news.google.com/x", None),
        ("https://m.haringey.gov.uk:443/news", "site:web:haringey.gov.uk"),
        ("http://localhost/x", None),
    ],
)
def test_links_name_websites_and_groups_but_not_shorteners(url: str, key: str | None) -> None:
    assert [s.key for s in link_spaces(url)] == ([key] if key else [])


def test_a_record_carries_counts_material_only_and_round_trips() -> None:
    mention = in_space(7, who=3, text="Pothole #Haringey")
    _, via = spaces_of(to_json(mention))
    record = record_of(to_json(mention), via)
    assert record.author == author_hash(PSEUDONYMS.pseudonym("mastodon", "user3"))
    assert record.ward == ("E05013602", "Tottenham Hale") and record.topics == ("waste",)
    assert record.via == ("hashtag:mastodon:haringey",)
    assert Record.decode(json.loads(json.dumps(record.encode()))) == record
    assert "p1:" not in json.dumps(record.encode())


def test_a_batch_is_grouped_by_space_and_skips_old_erased_and_broken_mentions() -> None:
    now = datetime.now(UTC).timestamp()
    good = [in_space(i, who=i) for i in range(3)]
    old = in_space(9, who=9, at=datetime(2020, 1, 1, tzinfo=UTC))
    erased = in_space(10, who=66)
    batch = deltas_of(
        [*(encode(m) for m in good), encode(old), encode(erased), b"{not json"],
        now=now,
        horizon_s=28 * 86_400,
        erased={author_hash(PSEUDONYMS.pseudonym("mastodon", "user66"))},
    )
    assert sorted(batch.by_space) == [
        "hashtag:mastodon:haringey",
        "instance:mastodon:social.example",
    ]
    assert len(batch.by_space["hashtag:mastodon:haringey"]) == 3
    assert batch.skipped == 2 and [i for i, _ in batch.failed] == [5]
    messages = batch.messages(4)
    assert set(messages) == {
        partition_of("hashtag:mastodon:haringey", 4),
        partition_of("instance:mastodon:social.example", 4),
    }
    spaces = {s: r for m in messages.values() for s, r in read_delta(m).items()}
    assert [r.mention_id for r in spaces["hashtag:mastodon:haringey"]] == [
        m.mention_id for m in good
    ]


def test_space_keys_parse_and_label() -> None:
    assert Space.parse("subreddit:reddit:haringey").label == "r/haringey"
    assert Space.parse("hashtag:mastodon:tottenham").label == "#tottenham (Mastodon)"
    with pytest.raises(ValueError, match="not a community key"):
        Space.parse("tottenham")
