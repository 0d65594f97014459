"""Erasure time: one author's mentions among 100k documents, on the real local stack.

    python -m bench.bench_erasure --out bench/results/erasure.json [--documents 100000]

Indexes ``--documents`` enriched mentions (three monthly indices) by many authors,
of which each of ``--runs`` target authors wrote ``--author-docs``, plus alert
audit records that point at some of them; then erases the targets one at a time
with the real ``Eraser`` (point-in-time scan, ``_bulk`` deletes, tombstone to real
Kafka, alert scrub, audit). The settle wait before the second sweep is a fixed
sleep (5 s by default in production) and is excluded; everything else is timed.
Addresses come from EARSHOT_ES_URL / EARSHOT_KAFKA_BOOTSTRAP, else ``stack.sh env``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from pydantic import SecretStr

from common.elastic import alias, install_templates, monthly_index
from common.privacy import Pseudonymiser
from devkit.events import example_enriched
from devkit.stack import stack_env
from schemas.codec import to_json
from services.privacy.audit import AuditLog
from services.privacy.erasure import Eraser, ErasureRequest
from services.privacy.tombstones import TombstoneWriter

ROOT = Path(__file__).resolve().parents[1]

P = Pseudonymiser(SecretStr("bench-erasure-pseudonym-secret"))
START = datetime(2026, 9, 1, tzinfo=UTC)


def load(
    es: Elasticsearch, prefix: str, documents: int, targets: list[str], per_target: int
) -> dict[str, list[str]]:
    """Bulk-index the corpus; returns each target author's mention ids."""
    base = to_json(example_enriched())
    target_every = max(1, documents // (len(targets) * per_target))
    written: dict[str, list[str]] = {t: [] for t in targets}
    batch: list[dict[str, Any]] = []
    for n in range(documents):
        slot = n // target_every if n % target_every == 0 else -1
        target = targets[slot % len(targets)] if 0 <= slot < len(targets) * per_target else None
        author = target or f"user{n % 20011}"
        when = START + timedelta(minutes=(n * 131) % (90 * 24 * 60))
        doc = {
            **base,
            "mention_id": f"{n:032x}",
            "author": {
                "id": P.pseudonym("mastodon", author),
                "scheme": "hmac-sha256",
                "handle": None,
            },
            "created_at": when.isoformat(),
            "text": f"Pothole report {n} on Philip Lane",
        }
        if target:
            written[target].append(doc["mention_id"])
        batch += [
            {
                "index": {
                    "_index": monthly_index(prefix, "mentions", when),
                    "_id": doc["mention_id"],
                }
            },
            doc,
        ]
        if len(batch) >= 10_000 or n + 1 == documents:
            result = es.options(request_timeout=300).bulk(operations=batch)
            assert not result["errors"], "bulk indexing failed"
            batch = []
    return written


def alerts(es: Elasticsearch, prefix: str, written: dict[str, list[str]]) -> None:
    """Email audit records: each target's first 20 mentions, shared with other mentions."""
    ops: list[dict[str, Any]] = []
    for t, ids in written.items():
        for i, mention_id in enumerate(ids[:20]):
            message_id = f"{t}-{i}"
            doc = {
                "message_id": message_id,
                "mention_ids": [mention_id, f"{i:032x}"],
                "sent_at": "2026-11-20T09:00:00Z",
            }
            ops += [{"index": {"_index": f"{prefix}-alerts-2026.11", "_id": message_id}}, doc]
    es.bulk(operations=ops, refresh=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--author-docs", type=int, default=200)
    parser.add_argument(
        "--runs", type=int, default=3, help="target authors, erased one after another"
    )
    args = parser.parse_args()
    env = stack_env()
    es_url, kafka = env["EARSHOT_ES_URL"], env["EARSHOT_KAFKA_BOOTSTRAP"]
    prefix_topics = f"b{uuid.uuid4().hex[:8]}-"
    prefix = f"{prefix_topics}earshot"
    es = Elasticsearch(es_url, request_timeout=120)
    install_templates(es, prefix)
    targets = [f"target{i}" for i in range(args.runs)]
    try:
        t0 = time.perf_counter()
        written = load(es, prefix, args.documents, targets, args.author_docs)
        es.indices.refresh(index=alias(prefix, "mentions"))
        alerts(es, prefix, written)
        load_s = time.perf_counter() - t0
        total = int(es.count(index=alias(prefix, "mentions"))["count"])
        writer = TombstoneWriter(kafka, prefix_topics)
        eraser = Eraser(es, prefix, P, writer, AuditLog(es, prefix), settle_s=0.0)
        runs = []
        try:
            for target in targets:
                started = time.perf_counter()
                report = eraser.erase(ErasureRequest("mastodon", target, reason="bench"))
                seconds = time.perf_counter() - started
                runs.append(
                    {
                        "seconds": round(seconds, 3),
                        "mentions_deleted": report.mentions_deleted + report.late_deleted,
                        "alerts_scrubbed": report.alerts_scrubbed,
                    }
                )
                print(f"erased {target}: {runs[-1]}", flush=True)
        finally:
            writer.close()
        left = int(es.count(index=alias(prefix, "mentions"))["count"])
    finally:
        es.indices.delete(index=f"{prefix}-*", ignore_unavailable=True)
        for kind in ("mentions", "alerts"):
            es.indices.delete_index_template(name=f"{prefix}-{kind}")
        es.close()
    result = {
        "when": datetime.now(UTC).isoformat(),
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "elasticsearch": es_url,
        "kafka": kafka,
        "documents": total,
        "author_docs": args.author_docs,
        "load_seconds": round(load_s, 1),
        "runs": runs,
        "median_seconds": round(statistics.median(r["seconds"] for r in runs), 3),
        "documents_left": left,
        "excluded": "settle wait before the second sweep (EARSHOT_ERASE_SETTLE_SECONDS, default 5 s)",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
