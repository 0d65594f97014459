"""The demo's replay timeline: every ``make run`` plays traffic newer than the last run's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from devkit.replay import bluesky, mastodon, reddit, x
from devkit.replay.content import fresh_timeline, posts


def test_fresh_timeline_ends_about_now_and_is_recent() -> None:
    now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    items = posts(7, 60, fresh_timeline(60, now))
    assert items[0].created_at > now - timedelta(minutes=15)
    assert items[-1].created_at <= now + timedelta(minutes=5)
    assert [p.created_at for p in items] == sorted(p.created_at for p in items)


def test_a_later_run_is_newer_in_ids_and_times() -> None:
    first_at = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
    second_at = first_at + timedelta(minutes=20)
    first = posts(1, 60, fresh_timeline(60, first_at))
    second = posts(2, 60, fresh_timeline(60, second_at))
    assert second[0].created_at > first[-1].created_at
    assert second[0].index > first[-1].index
    # The ids every replay server derives from a post grow too, so id cursors move on.
    assert int(mastodon.status_id(second[0])) > int(mastodon.status_id(first[-1]))
    assert x.tweet_id(second[0]) > x.tweet_id(first[-1])
    assert reddit.b36(second[0].index) != reddit.b36(first[-1].index)
    assert bluesky.uri_of(second[0]) != bluesky.uri_of(first[-1])


def test_the_fixed_timeline_is_unchanged_for_tests() -> None:
    assert posts(1, 3)[0].index == 0
    assert posts(1, 3) == posts(1, 3)
