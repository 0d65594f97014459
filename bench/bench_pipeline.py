"""End to end: raw mention produced → searchable in Elasticsearch, on the real local stack.

    python bench/bench_pipeline.py --out bench/results/pipeline.json

In one run: the sentiment step's own throughput on the same texts (the ceiling the
pipeline is measured against), then a burst of N mentions through the real worker
(throughput), then a steady trickle (latency p50/p99 from produce to searchable).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from elasticsearch import Elasticsearch  # noqa: E402
from kafka import KafkaProducer  # noqa: E402

from pipelines.sentiment import default_model_dir  # noqa: E402
from pipelines.sentiment.classifier import SentimentClassifier  # noqa: E402
from pipelines.settings import PipelineSettings  # noqa: E402
from pipelines.steps.enrich import sentiment_text  # noqa: E402
from schemas.codec import encode  # noqa: E402
from schemas.models import Mention  # noqa: E402
from schemas.topics import ensure_topics  # noqa: E402
from tests.support import corpus  # noqa: E402
from tests.support.waiting import es_count, wait_for  # noqa: E402
from tests.support.worker import Worker  # noqa: E402


def stack_env() -> dict[str, str]:
    out = subprocess.run(
        ["bash", str(ROOT / "deploy/local/stack.sh"), "env"],
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)


def sentiment_ceiling(mentions: list[Mention]) -> float:
    classifier = SentimentClassifier.load(default_model_dir())
    texts = [sentiment_text(m) for m in mentions]
    size = PipelineSettings().enrich_batch_max  # the worker's batch size
    classifier.predict(texts[:size])
    started = time.perf_counter()
    for i in range(0, len(texts), size):
        classifier.predict(texts[i : i + size])
    return len(texts) / (time.perf_counter() - started)


def visible_ids(es: Elasticsearch, alias: str) -> set[str]:
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, size=10000, source=False, query={"match_all": {}})["hits"]["hits"]
    return {h["_id"] for h in hits}


def run(burst: int, trickle: int, rate: float) -> dict[str, Any]:
    env = stack_env()
    kafka, es_url = env["EARSHOT_KAFKA_BOOTSTRAP"], env["EARSHOT_ES_URL"]
    prefix = f"bench{uuid.uuid4().hex[:8]}-"
    ensure_topics(kafka, prefix=prefix)
    alias = f"{prefix}earshot-mentions"
    es = Elasticsearch(es_url)
    everything = corpus.mentions(burst + trickle + 1, start=datetime(2026, 11, 1, tzinfo=UTC))
    warm, burst_set, trickle_set = (
        everything[:1],
        everything[1 : burst + 1],
        everything[burst + 1 :],
    )
    ceiling = sentiment_ceiling(burst_set)

    producer = KafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=5)
    topic = f"{prefix}mentions.raw.v1"
    with tempfile.TemporaryDirectory() as tmp:
        worker = Worker(kafka, es_url, prefix, Path(tmp))
        worker.start()
        try:
            producer.send(topic, key=warm[0].mention_id.encode(), value=encode(warm[0])).get(30)
            wait_for(lambda: es_count(es, alias), lambda n: n >= 1, 600, "warm-up doc")

            started = time.perf_counter()
            for m in burst_set:
                producer.send(topic, key=m.mention_id.encode(), value=encode(m))
            producer.flush()
            wait_for(lambda: es_count(es, alias), lambda n: n >= 1 + burst, 900, "burst")
            burst_seconds = time.perf_counter() - started

            sent_at: dict[str, float] = {}
            seen_at: dict[str, float] = {}
            interval = 1.0 / rate
            next_send = time.perf_counter()
            pending = list(trickle_set)
            deadline = time.perf_counter() + trickle / rate + 120
            while (pending or len(seen_at) < len(trickle_set)) and time.perf_counter() < deadline:
                now = time.perf_counter()
                while pending and now >= next_send:
                    m = pending.pop(0)
                    producer.send(topic, key=m.mention_id.encode(), value=encode(m))
                    producer.flush()
                    sent_at[m.mention_id] = time.perf_counter()
                    next_send += interval
                visible = visible_ids(es, alias)
                stamp = time.perf_counter()
                for mid in sent_at.keys() - seen_at.keys():
                    if mid in visible:
                        seen_at[mid] = stamp
                time.sleep(0.05)
        finally:
            worker.stop()
            producer.close()
    latencies = sorted(seen_at[m] - sent_at[m] for m in seen_at)
    es.close()
    return {
        "machine": {"arch": platform.machine(), "python": platform.python_version()},
        "sentiment_step_texts_per_s": round(ceiling, 1),
        "burst": {
            "mentions": burst,
            "seconds": round(burst_seconds, 2),
            "mentions_per_s": round(burst / burst_seconds, 1),
        },
        "ratio_end_to_end_vs_sentiment_step": round((burst / burst_seconds) / ceiling, 3),
        "latency": {
            "rate_per_s": rate,
            "mentions": len(latencies),
            "lost": len(trickle_set) - len(latencies),
            "p50_s": round(statistics.median(latencies), 3) if latencies else None,
            "p99_s": round(latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 3)
            if latencies
            else None,
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pipeline.json")
    parser.add_argument("--burst", type=int, default=2000)
    parser.add_argument("--trickle", type=int, default=200)
    parser.add_argument(
        "--rate", type=float, default=20.0, help="mentions/s during the latency phase"
    )
    args = parser.parse_args()
    result = run(args.burst, args.trickle, args.rate)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
