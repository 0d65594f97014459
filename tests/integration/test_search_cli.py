"""``earshot search`` on the real Elasticsearch: every filter, the output formats, and agreement with Kibana.

The Kibana views cannot run here, so their saved DSL filters and chart fields
are executed directly against the same index and compared with the CLI's answers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from common.elastic import alias, install_templates, monthly_index
from devkit.events import example_enriched
from schemas.codec import to_json
from schemas.models import CodedArea, EnrichedMention, Source, Topic
from services.kibana.generate import build
from services.search.cli import main
from services.search.settings import ViewsSettings, load_departments

HARINGEY = CodedArea(code="E09000014", name="Haringey")
MONMOUTHSHIRE = CodedArea(code="W06000021", name="Monmouthshire")


def mention(n: int, text: str, when: str, council: CodedArea, **changes: Any) -> EnrichedMention:
    base = example_enriched()
    locality = base.locality.model_copy(
        update={"council": council, "ward": changes.pop("ward", None)}
    )
    topics = tuple(Topic(id=t) for t in changes.pop("topics", ()))
    return base.model_copy(
        update={
            "mention_id": f"{n:032x}",
            "text": text,
            "created_at": datetime.fromisoformat(when),
            "locality": locality,
            "topics": topics,
            **changes,
        }
    )


def corpus() -> dict[str, EnrichedMention]:
    base = example_enriched()
    neutral = base.sentiment.model_copy(update={"label": "neutral"}) if base.sentiment else None
    positive = base.sentiment.model_copy(update={"label": "positive"}) if base.sentiment else None
    rss = Source(kind="rss", instance="haringey-news", native_id="n2")
    return {
        "h1": mention(
            1,
            "Massive pothole on Philip Lane again",
            "2026-11-20T08:14:00+00:00",
            HARINGEY,
            ward=CodedArea(code="E05013602", name="Tottenham Hale"),
            topics=["highways"],
        ),
        "h2": mention(
            2,
            "Fly-tipping behind the shops on the high road",
            "2026-11-10T10:00:00+00:00",
            HARINGEY,
            ward=CodedArea(code="E05013595", name="Noel Park"),
            topics=["waste"],
            sentiment=neutral,
            source=rss,
        ),
        "h3": mention(
            3,
            "Someone dumped a mattress on the corner",
            "2026-11-18T12:00:00+00:00",
            HARINGEY,
            ward=CodedArea(code="E05013595", name="Noel Park"),
            sentiment=neutral,
        ),
        "m1": mention(
            4,
            "Twll mawr yn y ffordd ger yr ysgol",
            "2026-11-19T09:00:00+00:00",
            MONMOUTHSHIRE,
            topics=["highways"],
            sentiment=None,
            sentiment_skipped="language cy not supported",
            lang="cy",
        ),
        "m2": mention(
            5,
            "Lovely new playground in Bailey Park",
            "2026-10-01T15:00:00+00:00",
            MONMOUTHSHIRE,
            topics=["parks"],
            sentiment=positive,
        ),
    }


@pytest.fixture(scope="module")
def indexed(es_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    prefix = f"t{uuid.uuid4().hex[:10]}-earshot"
    es = Elasticsearch(es_url, request_timeout=60)
    install_templates(es, prefix)
    docs = corpus()
    for m in docs.values():
        es.index(
            index=monthly_index(prefix, "mentions", m.created_at),
            id=m.mention_id,
            document=to_json(m),
        )
    es.indices.refresh(index=alias(prefix, "mentions"))
    yield prefix, {key: m.mention_id for key, m in docs.items()}
    es.indices.delete(index=f"{prefix}-*")
    for kind in ("mentions", "alerts"):
        es.indices.delete_index_template(name=f"{prefix}-{kind}")
    es.close()


@pytest.fixture
def search(
    indexed: tuple[str, dict[str, str]],
    es_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Any:
    prefix, ids = indexed
    monkeypatch.setenv("EARSHOT_ES_URL", es_url)
    monkeypatch.setenv("EARSHOT_INDEX_PREFIX", prefix)
    by_id = {v: k for k, v in ids.items()}

    def run(*argv: str) -> set[str]:
        assert main([*argv, "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        return {by_id[m["mention_id"]] for m in result["mentions"]}

    return run


def test_every_filter(search: Any) -> None:
    assert search() == {"h1", "h2", "h3", "m1", "m2"}
    assert search("--department", "haringey-waste") == {"h2", "h3"}  # h3: a phrase-only rule
    assert search("--department", "haringey-highways") == {"h1"}
    assert search("--department", "monmouthshire-highways") == {"m1"}
    assert search("--council", "Monmouthshire") == search("--council", "W06000021") == {"m1", "m2"}
    assert search("--ward", "Tottenham Hale") == search("--ward", "E05013602") == {"h1"}
    assert search("--ward", "Noel Park", "--ward", "Tottenham Hale") == {"h1", "h2", "h3"}
    assert search("--topic", "highways") == {"h1", "m1"}
    assert search("--sentiment", "negative") == {"h1"}
    assert search("--sentiment", "unscored") == {"m1"}
    assert search("--sentiment", "neutral", "--sentiment", "unscored") == {"h2", "h3", "m1"}
    assert search("--source", "rss") == search("--source", "haringey-news") == {"h2"}
    assert search("--since", "2026-11-15", "--until", "2026-11-20") == {"h3", "m1"}
    assert search("pothole") == {"h1"}
    assert search("fly", "tipping") == {"h2"}
    assert search("--council", "Haringey", "--sentiment", "neutral", "mattress") == {"h3"}


def test_table_and_stats_output(
    indexed: tuple[str, dict[str, str]],
    es_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prefix, _ = indexed
    monkeypatch.setenv("EARSHOT_ES_URL", es_url)
    monkeypatch.setenv("EARSHOT_INDEX_PREFIX", prefix)
    assert main(["--council", "Haringey", "--limit", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("posted (UTC)") and "2026-11-20 08:14" in lines[1]
    assert lines[-1] == "2 of 3 mentions, newest first"
    assert main(["--stats", "--since", "2026-09-01", "--until", "2026-12-01", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["total"] == 5 and stats["interval"] == "day"
    assert {"key": "Noel Park", "count": 2} in stats["wards"]
    assert {"key": "highways", "count": 2} in stats["topics"]
    assert sum(b["counts"].get("unscored", 0) for b in stats["volume"]) == 1
    assert main(["--stats", "--council", "Haringey"]) == 0
    assert "top wards" in capsys.readouterr().out


def test_kibana_views_give_the_same_answers(
    indexed: tuple[str, dict[str, str]],
    es_url: str,
    search: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Run each department space's saved filter and chart fields directly; compare with the CLI."""
    prefix, ids = indexed
    by_id = {v: k for k, v in ids.items()}
    es = Elasticsearch(es_url, request_timeout=60)
    bundle = build(load_departments(ViewsSettings()), prefix)
    try:
        for view in bundle.spaces[1:]:
            board = view.find("dashboard", "dashboard/overview")
            source = json.loads(board["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
            query = {"bool": {"filter": [f["query"] for f in source["filter"]]}}
            hits = es.search(index=f"{prefix}-mentions*", query=query, size=100)["hits"]["hits"]
            assert {by_id[h["_id"]] for h in hits} == search("--department", view.space_id), (
                view.space_id
            )
            wards_chart = view.find("lens", "lens/top-wards")
            (layer,) = wards_chart["attributes"]["state"]["datasourceStates"]["formBased"][
                "layers"
            ].values()
            terms = next(c for c in layer["columns"].values() if c["operationType"] == "terms")
            agg = es.search(
                index=f"{prefix}-mentions*",
                query=query,
                size=0,
                aggs={
                    "w": {"terms": {"field": terms["sourceField"], "size": terms["params"]["size"]}}
                },
            )["aggregations"]["w"]["buckets"]
            assert main(["--department", view.space_id, "--stats", "--json"]) == 0
            cli = json.loads(capsys.readouterr().out)["wards"]
            assert [{"key": b["key"], "count": b["doc_count"]} for b in agg] == cli
    finally:
        es.close()
