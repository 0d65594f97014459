"""Scale out, end to end: two workers share the partitions; one is SIGKILLed mid-stream and
the other takes its partitions over — every mention indexed once, every alert emailed once.

Real worker processes, the real notifier and an SMTP server on loopback (the helpers of
test_alert_flow). The departments file is the shipped one with the throttle lifted, so
every immediate alert is sent at once: as its own email, or — the corpus repeats its
posts — folded by the notifier into the email of an earlier near-copy (audited as such).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from common.dedupe import partition_key
from common.topics import ensure_topics
from devkit import corpus
from devkit.waiting import es_count, read_topic, wait_for
from devkit.worker import ROOT, Worker
from schemas.codec import decode, encode
from schemas.models import Alert
from services.notifier.devmail import MailFolder
from tests.e2e.test_alert_flow import KIBANA, inbox, messages  # noqa: F401  (inbox: fixture)

MENTIONS = 800


def test_one_of_two_workers_killed_mid_stream_loses_and_repeats_nothing(
    kafka_bootstrap: str,
    es_url: str,
    unique_prefix: str,
    tmp_path: Path,
    inbox: tuple[MailFolder, int],  # noqa: F811
) -> None:
    folder, smtp_port = inbox
    ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    rules = tmp_path / "departments.yaml"
    shutil.copy(ROOT / "deploy" / "config" / "departments.yaml", rules)
    rules.write_text(re.sub(r"max_immediate: \d+", "max_immediate: 10000", rules.read_text()))
    # Small batches, so the stream is still flowing when one worker is killed.
    env = {"EARSHOT_DEPARTMENTS_FILE": str(rules), "EARSHOT_ENRICH_BATCH_MAX": "32"}
    workers = [
        Worker(kafka_bootstrap, es_url, unique_prefix, tmp_path / f"w{i}", **env) for i in (0, 1)
    ]
    mentions = corpus.mentions(MENTIONS, start=datetime.now(UTC) - timedelta(minutes=MENTIONS))
    alias = f"{unique_prefix}earshot-mentions"
    es = Elasticsearch(es_url, request_timeout=60)
    with (tmp_path / "notifier.log").open("wb") as notifier_log:
        notifier = subprocess.Popen(
            [sys.executable, "-m", "services.notifier"],
            env={
                **workers[0].env,
                **env,
                "EARSHOT_SMTP_HOST": "127.0.0.1",
                "EARSHOT_SMTP_PORT": str(smtp_port),
                "EARSHOT_SMTP_SECURITY": "none",
                "EARSHOT_HTTP_PORT": "0",
                "EARSHOT_KIBANA_URL": KIBANA,
                "EARSHOT_QUIET_HOURS": "false",
            },
            cwd=ROOT,
            stdout=notifier_log,
            stderr=subprocess.STDOUT,
        )
        try:
            for worker in workers:
                worker.log_path.parent.mkdir()
                worker.start()
            producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
            for m in mentions:
                producer.send(
                    f"{unique_prefix}mentions.raw.v1", key=partition_key(m), value=encode(m)
                )
            producer.flush()
            producer.close()
            seen = wait_for(
                lambda: es_count(es, alias),
                lambda n: n >= MENTIONS // 5,
                300,
                lambda: f"the first fifth indexed\n{workers[0].log_tail()}",
            )
            workers[0].kill()
            assert seen < MENTIONS, "the workers finished before one could be killed"
            wait_for(
                lambda: es_count(es, alias),
                lambda n: n >= MENTIONS,
                300,
                lambda: f"every mention indexed\n{workers[1].log_tail()}",
            )
            alerts = [
                decode(value, Alert)
                for _, value, _ in read_topic(kafka_bootstrap, f"{unique_prefix}alerts.v1")
            ]
            immediate = {a.alert_id for a in alerts if a.delivery == "immediate"}
            assert immediate, "the corpus raised no immediate alert"
            audits = f"{unique_prefix}earshot-alerts"
            wait_for(
                lambda: len(messages(folder)) + len(folded(es, audits)),
                lambda n: n >= len(immediate),
                300,
                lambda: (
                    f"{len(immediate)} alerts emailed or folded\n"
                    f"{(tmp_path / 'notifier.log').read_text()[-3000:]}"
                ),
            )
            time.sleep(8)  # room for a repeated email to arrive
            got = messages(folder)
            copies = folded(es, audits)
            ids = es.search(
                index=alias,
                size=0,
                aggs={"ids": {"cardinality": {"field": "mention_id", "precision_threshold": 1000}}},
            )
            count = es_count(es, alias)
        finally:
            for worker in workers:
                worker.stop()
            notifier.terminate()
            notifier.wait(timeout=60)
            es.close()

    assert count == MENTIONS
    assert ids["aggregations"]["ids"]["value"] == MENTIONS
    sent = Counter(str(msg["Message-ID"]).strip("<>").split("@")[0] for _, msg in got)
    assert [alert for alert, n in sent.items() if n > 1] == []
    assert not set(sent) & set(copies), "an alert was both emailed and folded"
    assert set(sent) | set(copies) == immediate
    assert all(into in sent for into in copies.values())  # folded into a sent email


def folded(es: Elasticsearch, alias: str) -> dict[str, str]:
    """Alert id → the email it was folded into, from the notifier's audit (one doc per fold)."""
    if not es.indices.exists_alias(name=alias):
        return {}
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, query={"term": {"kind": "folded"}}, size=10_000)["hits"]["hits"]
    return {
        hit["_source"]["alert_ids"][0]: hit["_source"]["folded_into"].strip("<>").split("@")[0]
        for hit in hits
    }
