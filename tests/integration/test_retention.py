"""``earshot retention apply`` on the real stack: only expired monthly indices go, and it is audited."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from elasticsearch import Elasticsearch

from common.elastic import install_templates
from common.topics import ensure_topics
from services.privacy.audit import audit_index
from services.privacy.cli import DLQ_MISMATCH, retention_main

TODAY = "2026-05-15"  # keep 12 months of mentions (delete before 2025-05), 24 of alerts (before 2024-05)
MENTIONS = {"2024.01": False, "2025.04": False, "2025.05": True, "2026.05": True}
ALERTS = {"2024.04": False, "2024.05": True}


@pytest.fixture
def es(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=60)
    yield client
    client.close()


@pytest.fixture
def deployment(
    es: Elasticsearch,
    es_url: str,
    kafka_bootstrap: str,
    unique_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    prefix = f"{unique_prefix}earshot"
    monkeypatch.setenv("EARSHOT_ES_URL", es_url)
    monkeypatch.setenv("EARSHOT_INDEX_PREFIX", prefix)
    monkeypatch.setenv("EARSHOT_KAFKA_BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("EARSHOT_TOPIC_PREFIX", unique_prefix)
    monkeypatch.setenv("EARSHOT_OPERATOR", "retention-test")
    install_templates(es, prefix)
    yield prefix
    es.indices.delete(index=f"{prefix}-*,other-{prefix}-*", ignore_unavailable=True)
    for kind in ("mentions", "alerts"):
        es.indices.delete_index_template(name=f"{prefix}-{kind}")


def names(es: Elasticsearch, pattern: str) -> set[str]:
    return set(es.indices.get(index=pattern))


def test_only_expired_monthly_indices_are_deleted(
    es: Elasticsearch,
    deployment: str,
    kafka_bootstrap: str,
    unique_prefix: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prefix = deployment
    for kind, months in (("mentions", MENTIONS), ("alerts", ALERTS)):
        for month in months:
            es.index(
                index=f"{prefix}-{kind}-{month}",
                document={"mention_id": "x"} if kind == "mentions" else {"message_id": "m"},
            )
    keep_anyway = [f"{prefix}-mentions-restored", f"other-{prefix}-mentions-2020.01"]
    for name in keep_anyway:
        es.indices.create(index=name)
    es.indices.refresh(index=f"{prefix}-*")
    before = names(es, f"{prefix}-*,other-{prefix}-*")

    assert retention_main(["apply", "--dry-run", "--today", TODAY, "--skip-kafka"]) == 0
    out = capsys.readouterr().out
    assert f"would delete {prefix}-mentions-2024.01 (1 docs)" in out
    assert "3 indices would delete" in out
    assert names(es, f"{prefix}-*,other-{prefix}-*") == before

    ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    assert retention_main(["apply", "--today", TODAY]) == 0
    out = capsys.readouterr().out
    expired = {
        f"{prefix}-mentions-2024.01",
        f"{prefix}-mentions-2025.04",
        f"{prefix}-alerts-2024.04",
    }
    for name in expired:
        assert f"deleted {name} (1 docs)" in out
    assert "every topic keeps 90 days" in out
    assert names(es, f"{prefix}-*,other-{prefix}-*") == before - expired | {audit_index(prefix)}

    es.indices.refresh(index=audit_index(prefix))
    (hit,) = es.search(index=audit_index(prefix), query={"term": {"action": "retention.apply"}})[
        "hits"
    ]["hits"]
    assert set(hit["_source"]["indices"]) == expired
    # No community records in this test: the run audits that it deleted none.
    assert hit["_source"]["counts"] == {
        "indices_deleted": 3,
        "docs_deleted": 3,
        "communities_deleted": 0,
    }
    assert hit["_source"]["operator"] == "retention-test"

    assert retention_main(["apply", "--today", TODAY]) == 0  # nothing left to delete
    assert "0 indices deleted" in capsys.readouterr().out


def test_dead_letter_topics_that_differ_are_reported(
    deployment: str,
    unique_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("EARSHOT_TOPIC_PREFIX", f"{unique_prefix}absent-")
    assert retention_main(["apply", "--dry-run"]) == DLQ_MISMATCH
    captured = capsys.readouterr()
    assert "MISSING" in captured.out and "earshot topics" in captured.err
