"""The filters shared by ``earshot search`` and the Kibana views, and the CLI's text output."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import pytest

from common.routing.config import RoutingConfig
from services.search.cli import _parser, filters_from, parse_time
from services.search.filters import (
    SearchFilters,
    build_query,
    department_scope,
    query_fields,
    scope_query,
    sentiment_query,
)
from services.search.questions import histogram_interval
from services.search.render import render_stats, render_table
from services.search.settings import ViewsSettings, load_departments


@pytest.fixture(scope="module")
def config() -> RoutingConfig:
    return load_departments(ViewsSettings())


def test_scope_comes_from_owned_topics_and_rules(config: RoutingConfig) -> None:
    waste = department_scope(config, "haringey-waste")
    assert waste.topics == ("waste",)
    assert "fly-tipping" in waste.phrases  # a phrase-only rule routes posts without a topic
    assert waste.councils == ("E09000014",)
    housing = department_scope(config, "haringey-housing")
    assert housing.topics == ("housing", "planning")
    assert housing.wards == ("E05013596", "E05013601")
    parks = department_scope(config, "monmouthshire-parks")
    assert parks.community_areas == ("Castle Meadows", "Bailey Park", "Chippenham Mead")
    with pytest.raises(KeyError, match="unknown department"):
        department_scope(config, "nope")


def test_scope_query_is_topics_or_phrases_and_places(config: RoutingConfig) -> None:
    query = scope_query(department_scope(config, "haringey-highways"))
    assert query == {
        "bool": {
            "filter": [
                {"terms": {"topics.id": ["highways", "transport"]}},
                {"term": {"locality.council.code": "E09000014"}},
            ]
        }
    }


def test_build_query_combines_every_filter(config: RoutingConfig) -> None:
    since = datetime(2026, 11, 1, tzinfo=UTC)
    query = build_query(
        SearchFilters(
            department="haringey-waste",
            councils=("Haringey",),
            wards=("E05013602",),
            topics=("waste",),
            sentiments=("negative", "unscored"),
            sources=("mastodon",),
            since=since,
            text='"fly tipping" -fined',
        ),
        config,
    )
    assert query["bool"]["must"][0]["simple_query_string"]["query"] == '"fly tipping" -fined'
    filters = query["bool"]["filter"][0]["bool"]["filter"]
    assert len(filters) == 7
    assert {"range": {"created_at": {"gte": since.isoformat()}}} in filters
    assert set(query_fields(query)) >= {
        "topics.id",
        "text",
        "title",
        "locality.council.code",
        "locality.council.name",
        "locality.ward.code",
        "sentiment.label",
        "source.kind",
        "source.instance",
        "created_at",
    }


def test_no_filter_matches_everything() -> None:
    assert build_query(SearchFilters()) == {"match_all": {}}
    with pytest.raises(ValueError, match="departments config"):
        build_query(SearchFilters(department="haringey-waste"))


def test_unscored_means_no_sentiment() -> None:
    assert sentiment_query(["unscored"]) == {
        "bool": {"must_not": [{"exists": {"field": "sentiment.label"}}]}
    }


def test_times_are_iso_or_spans_back_from_now() -> None:
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert parse_time("7d", now) == now - timedelta(days=7)
    assert parse_time("24h", now) == now - timedelta(hours=24)
    assert parse_time("30m", now) == now - timedelta(minutes=30)
    assert parse_time("2026-11-01", now) == datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_time("2026-11-01T08:00+01:00", now).utcoffset() == timedelta(hours=1)
    with pytest.raises(argparse.ArgumentTypeError):
        parse_time("last tuesday", now)
    assert histogram_interval(now - timedelta(hours=30), now) == "hour"
    assert histogram_interval(now - timedelta(days=30), now) == "day"


def test_cli_arguments_become_filters() -> None:
    args = _parser().parse_args(
        ["--ward", "A", "--ward", "B", "--sentiment", "negative", "pot", "holes"]
    )
    filters = filters_from(args)
    assert filters.wards == ("A", "B") and filters.sentiments == ("negative",)
    assert filters.text == "pot holes"


def test_table_fits_the_width_and_says_how_many() -> None:
    doc = {
        "created_at": "2026-11-20T08:14:03Z",
        "sentiment": {"label": "negative", "score": 0.91},
        "locality": {"ward": {"name": "Tottenham Hale"}},
        "topics": [{"id": "highways"}],
        "source": {"kind": "mastodon"},
        "text": "Massive pothole on Philip Lane " * 10,
    }
    out = render_table({"total": 3, "mentions": [doc]}, 100)
    lines = out.splitlines()
    assert lines[0].startswith("posted (UTC)")
    assert "2026-11-20 08:14" in lines[1] and "negative 0.91" in lines[1] and lines[1].endswith("…")
    assert all(len(line) <= 100 for line in lines)
    assert lines[-1] == "1 of 3 mentions, newest first"
    mixed = {**doc, "sentiment": {"label": "positive", "score": 0.55, "mixed": True}}
    assert "positive 0.55 mixed" in render_table({"total": 1, "mentions": [mixed]}, 100)
    stats = render_stats(
        {
            "total": 2,
            "interval": "day",
            "volume": [{"from": "2026-11-20T00:00:00.000Z", "counts": {"negative": 2}}],
            "wards": [{"key": "Tottenham Hale", "count": 2}],
            "topics": [{"key": "highways", "count": 2}],
        }
    )
    assert "top wards" in stats and "Tottenham Hale" in stats
