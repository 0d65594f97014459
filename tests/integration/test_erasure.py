"""``earshot privacy erase`` on the real stack: every copy goes, others stay, a tombstone and an audit remain."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
from elasticsearch import Elasticsearch
from pydantic import SecretStr

from common.elastic import alias, install_templates, monthly_index
from common.privacy import Pseudonymiser
from devkit.events import example_enriched
from pipelines.steps.erasure import TombstoneReader, Tombstones
from schemas.codec import to_json
from schemas.models import Author, EnrichedMention, Source
from services.privacy.audit import AuditLog, audit_index
from services.privacy.cli import privacy_main
from services.privacy.erasure import Eraser, ErasureRequest
from services.privacy.tombstones import TombstoneWriter

SECRET = "integration-test-pseudonym-secret"
P = Pseudonymiser(SecretStr(SECRET))


def by(
    n: int, author: Author, kind: str = "mastodon", when: str = "2026-11-20T08:00:00+00:00"
) -> EnrichedMention:
    return example_enriched().model_copy(
        update={
            "mention_id": f"{n:032x}",
            "author": author,
            "source": Source(kind=kind, instance="test", native_id=f"n{n}"),
            "created_at": datetime.fromisoformat(when),
            "text": f"Pothole report number {n}",
        }
    )


ALICE = Author(id=P.pseudonym("mastodon", "1001"), scheme="hmac-sha256")
ALICE_RAW = Author(id="mastodon:1001", scheme="raw", handle="alice@example.social")
BOB = Author(id=P.pseudonym("mastodon", "2002"), scheme="hmac-sha256")
CAROL_RAW = Author(id="mastodon:3003", scheme="raw", handle="carol@example.social")
ALICE_ON_RSS = Author(id=P.pseudonym("rss", "1001"), scheme="hmac-sha256")  # same id, other source


@pytest.fixture
def es(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=60)
    yield client
    client.close()


@pytest.fixture
def stored(
    es: Elasticsearch, unique_prefix: str
) -> Iterator[tuple[str, dict[str, EnrichedMention]]]:
    prefix = f"{unique_prefix}earshot"
    install_templates(es, prefix)
    docs = {
        "a1": by(1, ALICE, when="2026-10-03T08:00:00+00:00"),
        "a2": by(2, ALICE),
        "a3": by(3, ALICE_RAW),
        "b1": by(4, BOB),
        "b2": by(5, BOB, when="2026-10-04T08:00:00+00:00"),
        "c1": by(6, CAROL_RAW),
        "r1": by(7, ALICE_ON_RSS, kind="rss"),
    }
    for m in docs.values():
        es.index(
            index=monthly_index(prefix, "mentions", m.created_at),
            id=m.mention_id,
            document=to_json(m),
        )
    audits = {"e1": [docs["a1"], docs["b1"]], "e2": [docs["a2"]], "e3": [docs["b2"]]}
    for message_id, mentions in audits.items():
        es.index(
            index=f"{prefix}-alerts-2026.11",
            id=message_id,
            document={
                "message_id": message_id,
                "department": "haringey-highways",
                "mention_ids": [m.mention_id for m in mentions],
                "alert_count": len(mentions),
                "sent_at": "2026-11-20T09:00:00Z",
            },
        )
    es.indices.refresh(index=f"{prefix}-*")
    yield prefix, docs
    es.indices.delete(index=f"{prefix}-*", ignore_unavailable=True)
    for kind in ("mentions", "alerts"):
        es.indices.delete_index_template(name=f"{prefix}-{kind}")


def remaining(es: Elasticsearch, prefix: str) -> set[str]:
    es.indices.refresh(index=alias(prefix, "mentions"))
    hits = es.search(index=alias(prefix, "mentions"), size=100)["hits"]["hits"]
    return {h["_id"] for h in hits}


def test_erasure_removes_every_copy_tombstones_and_audits(
    es: Elasticsearch,
    stored: tuple[str, dict[str, EnrichedMention]],
    kafka_bootstrap: str,
    unique_prefix: str,
) -> None:
    prefix, docs = stored
    writer = TombstoneWriter(kafka_bootstrap, unique_prefix)
    eraser = Eraser(es, prefix, P, writer, AuditLog(es, prefix), settle_s=0.2)
    try:
        report = eraser.erase(ErasureRequest("mastodon", "1001", reason="SAR-42"))
    finally:
        writer.close()

    ids = {k: m.mention_id for k, m in docs.items()}
    assert remaining(es, prefix) == {ids["b1"], ids["b2"], ids["c1"], ids["r1"]}
    assert report.mentions_deleted == 3 and report.late_deleted == 0
    assert report.subjects == [ALICE.id]
    assert report.alerts_scrubbed == 2
    alerts = {
        h["_id"]: h["_source"] for h in es.search(index=alias(prefix, "alerts"))["hits"]["hits"]
    }
    assert alerts["e1"]["mention_ids"] == [ids["b1"]]
    assert alerts["e2"]["mention_ids"] == []
    assert alerts["e3"]["mention_ids"] == [ids["b2"]]  # untouched
    assert alerts["e1"]["alert_count"] == 2  # the record of what was sent stays

    reader = TombstoneReader(kafka_bootstrap, f"{unique_prefix}privacy.tombstones.v1", Tombstones())
    try:
        assert reader.catch_up() == 1
    finally:
        reader.close()
    assert ALICE.id in reader.tombstones

    audit = es.get(index=audit_index(prefix), id=report.audit_id)["_source"]
    assert audit["status"] == "done" and audit["reason"] == "SAR-42"
    assert audit["subjects"] == [ALICE.id]
    assert audit["counts"] == {
        "mentions_deleted": 3,
        "mentions_deleted_late": 0,
        "alerts_scrubbed": 2,
    }
    assert audit["tombstones"][0].startswith(f"{ALICE.id}={unique_prefix}privacy.tombstones.v1/0@")


def test_erase_by_handle_from_the_command_line(
    es: Elasticsearch,
    stored: tuple[str, dict[str, EnrichedMention]],
    es_url: str,
    kafka_bootstrap: str,
    unique_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prefix, docs = stored
    for name, value in {
        "EARSHOT_ES_URL": es_url,
        "EARSHOT_INDEX_PREFIX": prefix,
        "EARSHOT_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "EARSHOT_TOPIC_PREFIX": unique_prefix,
        "EARSHOT_PSEUDONYM_SECRET": SECRET,
    }.items():
        monkeypatch.setenv(name, value)
    # A deployment that keeps raw handles: ops give the handle, the stored raw id is found from it.
    assert (
        privacy_main(
            [
                "erase",
                "--source",
                "mastodon",
                "--author",
                "@carol@example.social",
                "--settle-seconds",
                "0",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "1 mentions deleted" in out
    assert f"tombstone {P.pseudonym('mastodon', '3003')}=" in out
    assert docs["c1"].mention_id not in remaining(es, prefix)

    monkeypatch.delenv("EARSHOT_PSEUDONYM_SECRET")
    assert privacy_main(["erase", "--source", "mastodon", "--author", "2002"]) == 2
    assert "EARSHOT_PSEUDONYM_SECRET" in capsys.readouterr().err
