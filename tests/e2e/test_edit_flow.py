"""Edits end to end: the newest text wins in Elasticsearch, a replay never brings the old text
back, and the department is emailed once for the mention — original, edit and replay alike —
while the alert audit records the edit once, against the original's email.

The real worker and notifier run as processes against the real stack and an SMTP
server on loopback (the helpers of test_alert_flow). The original is emailed first;
then its edit and a replay of the original race through the worker. The edit
changes the text, so its dedupe key, and so its partition, may differ from the
original's: nothing orders the two but their versions (the edit time).
"""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from common.dedupe import partition_key
from common.topics import ensure_topics
from devkit.waiting import wait_for
from devkit.worker import Worker
from schemas.codec import encode
from schemas.ids import alert_id
from schemas.models import Mention
from services.notifier.devmail import MailFolder
from tests.e2e.test_alert_flow import (
    inbox,  # noqa: F401  (the fixture)
    messages,
    pothole_text,
    replayed,
    wait_for_mail,
    worker_and_notifier,
)


def produce(bootstrap: str, prefix: str, *mentions: Mention) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for m in mentions:
        producer.send(f"{prefix}mentions.raw.v1", key=partition_key(m), value=encode(m))
    producer.flush()
    producer.close()


def stored(es: Elasticsearch, alias: str, mention_id: str) -> dict[str, Any] | None:
    if not es.indices.exists_alias(name=alias):
        return None
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, query={"ids": {"values": [mention_id]}})["hits"]["hits"]
    return hits[0]["_source"] if hits else None


def edited_audits(es: Elasticsearch, alias: str) -> list[dict[str, Any]]:
    if not es.indices.exists_alias(name=alias):
        return []
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, query={"term": {"kind": "edited"}}, size=10)["hits"]["hits"]
    return [h["_source"] | {"_id": h["_id"]} for h in hits]


def test_an_edit_wins_survives_a_replay_and_is_emailed_once(
    kafka_bootstrap: str,
    es_url: str,
    unique_prefix: str,
    tmp_path: Path,
    inbox: tuple[MailFolder, int],  # noqa: F811
) -> None:
    folder, smtp_port = inbox
    ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    original = replayed(1, pothole_text(), "Tottenham Hale", "Philip Lane", "potholes")
    edit = original.model_copy(
        update={
            "text": f"{original.text} EDIT: there are two of them now, one a foot wide",
            "edited_at": original.created_at + timedelta(minutes=3),
        }
    )
    # A copy of the original's text from elsewhere: it lands behind the replayed
    # original in their partition, so once it is indexed the replay has been through.
    marker = original.model_copy(update={"mention_id": "f" * 32})
    alias = f"{unique_prefix}earshot-mentions"
    audit_alias = f"{unique_prefix}earshot-alerts"
    es = Elasticsearch(es_url, request_timeout=60)
    worker = Worker(kafka_bootstrap, es_url, unique_prefix, tmp_path)
    logs = [worker.log_path, tmp_path / "notifier.log"]
    try:
        produce(kafka_bootstrap, unique_prefix, original)
        with worker_and_notifier(worker, smtp_port, tmp_path) as processes:
            wait_for_mail(folder, 1, processes, logs)
            # The edit and a replay of the original race; the marker lands behind the replay.
            produce(kafka_bootstrap, unique_prefix, original, edit, marker)
            wait_for(
                lambda: (stored(es, alias, original.mention_id) or {}).get("text"),
                lambda text: text == edit.text,
                120,
                "the edit's text in Elasticsearch",
            )
            wait_for(
                lambda: edited_audits(es, audit_alias),
                lambda docs: len(docs) >= 1,
                120,
                "the edit's audit document",
            )
            wait_for(
                lambda: stored(es, alias, marker.mention_id),
                lambda doc: doc is not None,
                120,
                "the marker behind the replay",
            )
            time.sleep(8)  # room for a repeated email (or a second audit) to arrive
            got = messages(folder)
        doc = stored(es, alias, original.mention_id)
        marked = stored(es, alias, marker.mention_id)
        audits = edited_audits(es, audit_alias)
    finally:
        es.close()

    assert doc is not None and doc["text"] == edit.text, "a replay brought the old text back"
    assert doc["edited_at"] is not None
    assert marked is not None and marked["duplicate_of"] == original.mention_id
    assert [entry["rcpt_tos"] for entry, _ in got] == [["highways.alerts@haringey.example"]]
    ((_, mail),) = got
    assert edit.edited_at is not None
    (audit,) = audits  # one audit of the edit; the replay and the marker added none
    assert audit["edit_of"] == str(mail["Message-ID"]).strip("<>")
    assert audit["_id"] == audit["message_id"]
    alert = alert_id(original.mention_id, "haringey.highways.defects")
    assert audit["message_id"] == f"edited.{alert}.{int(edit.edited_at.timestamp())}"
    assert audit["alert_ids"] == [alert]
    assert audit["edited_at"] == edit.edited_at.isoformat()
    assert audit["mention_ids"] == [original.mention_id]
    assert audit["department"] == "haringey-highways" and audit["recipients"] == []
