"""End to end: raw mention produced → searchable in Elasticsearch, on the real local stack.

    python -m bench.bench_pipeline --out bench/results/pipeline.json

In one run: the sentiment step's own throughput on the same texts, run as the worker
runs it (the ceiling the pipeline is measured against), then a warm-up, then a burst
of N mentions through the real worker (throughput, and CPU per mention of the worker,
its enrichment processes, Kafka and Elasticsearch), then a steady trickle (latency
p50/p99 from produce to searchable).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from elasticsearch import Elasticsearch
from kafka import KafkaProducer

from common.dedupe import partition_key, partition_of
from common.topics import ensure_topics
from devkit import corpus
from devkit.stack import stack_env, stack_pids
from devkit.waiting import es_count, wait_for
from devkit.worker import Worker, group_assignment
from pipelines.enrichment.sentiment import sentiment_text
from pipelines.sentiment import default_model_dir
from pipelines.sentiment.classifier import SentimentClassifier
from pipelines.settings import PipelineSettings
from schemas.codec import encode
from schemas.models import Mention

ROOT = Path(__file__).resolve().parents[1]


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """User + system CPU time a process (all its threads) has used so far, or its live
    descendants when ``children``."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        child = int(stat.parent.name)
        parents[child] = int(fields[1])
        times[child] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    tree, grew = {pid}, True
    while grew:
        more = {p for p, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(times.get(p, 0.0) for p in (tree - {pid} if children else {pid}))


_classifier: list[SentimentClassifier] = []


def _load_classifier(threads: int) -> None:
    _classifier.append(SentimentClassifier.load(default_model_dir(), threads=threads))


def _score(texts: list[str]) -> int:
    return len(_classifier[0].predict(texts))


def sentiment_ceiling(mentions: list[Mention]) -> float:
    """The sentiment step alone, run as the worker runs it: its batch size, as many
    processes as the worker's enrichment processes, each with the same model threads."""
    settings = PipelineSettings()
    processes = settings.enrichment_processes()
    texts = [sentiment_text(m) for m in mentions]
    size = settings.enrich_batch_max
    batches = [texts[i : i + size] for i in range(0, len(texts), size)]
    with ProcessPoolExecutor(
        max_workers=processes,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_load_classifier,
        initargs=(settings.threads_per_enrichment_process(),),
    ) as pool:
        list(pool.map(_score, [batches[0]] * processes * 2))  # load and warm every process
        started = time.perf_counter()
        scored = sum(pool.map(_score, batches))
        return scored / (time.perf_counter() - started)


def visible_ids(es: Elasticsearch, alias: str) -> set[str]:
    es.indices.refresh(index=alias)
    hits = es.search(index=alias, size=10000, source=False, query={"match_all": {}})["hits"]["hits"]
    return {h["_id"] for h in hits}


def run(burst: int, trickle: int, rate: float, warmup: int, processes: int) -> dict[str, Any]:
    load_at_start = os.getloadavg()
    env = stack_env()
    kafka, es_url = env["EARSHOT_KAFKA_BOOTSTRAP"], env["EARSHOT_ES_URL"]
    prefix = f"bench{uuid.uuid4().hex[:8]}-"
    ensure_topics(kafka, prefix=prefix)
    alias = f"{prefix}earshot-mentions"
    es = Elasticsearch(es_url)
    everything = corpus.mentions(warmup + burst + trickle, start=datetime(2026, 11, 1, tzinfo=UTC))
    warm, burst_set, trickle_set = (
        everything[:warmup],
        everything[warmup : warmup + burst],
        everything[warmup + burst :],
    )
    ceiling = sentiment_ceiling(burst_set)

    producer = KafkaProducer(bootstrap_servers=kafka, acks="all", linger_ms=5)
    topic = f"{prefix}mentions.raw.v1"
    with tempfile.TemporaryDirectory() as tmp:
        workers = [Worker(kafka, es_url, prefix, Path(tmp) / f"w{i}") for i in range(processes)]
        for worker in workers:
            (Path(tmp) / f"w{workers.index(worker)}").mkdir()
            worker.start()
        group = f"{prefix}{PipelineSettings().app_id}"
        try:
            # Every worker holds partitions before anything is timed: a worker that joins late
            # (its models still loading) leaves the others the whole burst.
            wait_for(
                lambda: group_assignment(kafka, group, topic),
                lambda held: len(held) == processes and all(held.values()),
                600,
                "every worker holding partitions",
            )
            # Warm-up: the model loads and the JVMs (Kafka, Elasticsearch) compile their hot
            # paths before the clock starts, as in a worker that has been running a while.
            for m in warm:
                producer.send(topic, key=partition_key(m), value=encode(m))
            producer.flush()
            wait_for(lambda: es_count(es, alias), lambda n: n >= warmup, 900, "warm-up")

            held_before = group_assignment(kafka, group, topic)
            pids = {**stack_pids(), **{f"worker{i}": w.pid for i, w in enumerate(workers)}}
            cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            enrich_before = {i: cpu_seconds(w.pid, children=True) for i, w in enumerate(workers)}
            started = time.perf_counter()
            for m in burst_set:
                producer.send(topic, key=partition_key(m), value=encode(m))
            producer.flush()
            wait_for(lambda: es_count(es, alias), lambda n: n >= warmup + burst, 900, "burst")
            burst_seconds = time.perf_counter() - started
            held_after = group_assignment(kafka, group, topic)
            load_after_burst = os.getloadavg()
            cpu_ms = {
                name: round((cpu_seconds(pid) - cpu_before[name]) * 1000 / burst, 2)
                for name, pid in pids.items()
            } | {
                f"worker{i}_enrichment_processes": round(
                    (cpu_seconds(w.pid, children=True) - enrich_before[i]) * 1000 / burst, 2
                )
                for i, w in enumerate(workers)
            }

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
                    producer.send(topic, key=partition_key(m), value=encode(m))
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
            for worker in workers:
                worker.stop()
            producer.close()
    latencies = sorted(seen_at[m] - sent_at[m] for m in seen_at)
    es.close()
    partitions = PipelineSettings().partitions
    per_partition = [0] * partitions
    for m in burst_set:
        per_partition[partition_of(partition_key(m), partitions)] += 1
    shares = {
        f"worker{i}": {
            "partitions_at_burst_start": sorted(held_before.get(w.instance_id, set())),
            "partitions_at_burst_end": sorted(held_after.get(w.instance_id, set())),
            "share_of_burst": round(
                sum(per_partition[p] for p in held_before.get(w.instance_id, set())) / burst, 3
            ),
        }
        for i, w in enumerate(workers)
    }
    return {
        "machine": {
            "arch": platform.machine(),
            "python": platform.python_version(),
            "cores": os.cpu_count(),
            "load_average_1_5_15_at_start": [round(x, 2) for x in load_at_start],
            "load_average_1_5_15_after_burst": [round(x, 2) for x in load_after_burst],
        },
        "worker": {
            "processes": processes,
            "enrichment_processes_each": PipelineSettings().enrichment_processes(),
            "model_threads_per_enrichment_process": (
                PipelineSettings().threads_per_enrichment_process()
            ),
            "enrich_batch_max": PipelineSettings().enrich_batch_max,
        },
        "sentiment_step_texts_per_s": round(ceiling, 1),
        "burst": {
            "warmup_mentions": warmup,
            "mentions": burst,
            "seconds": round(burst_seconds, 2),
            "mentions_per_s": round(burst / burst_seconds, 1),
        },
        "cpu_ms_per_mention": cpu_ms,
        "worker_cpu_ms_per_mention_outside_enrichment": round(
            sum(cpu_ms[f"worker{i}"] for i in range(len(workers))), 2
        ),
        "enrichment_cpu_ms_per_mention": round(
            sum(cpu_ms[f"worker{i}_enrichment_processes"] for i in range(len(workers))), 2
        ),
        "worker_shares": shares,
        "burst_per_partition": per_partition,
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
    parser.add_argument("--burst", type=int, default=6000)
    parser.add_argument("--trickle", type=int, default=200)
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument(
        "--warmup", type=int, default=1000, help="mentions through the worker before timing"
    )
    parser.add_argument(
        "--rate", type=float, default=20.0, help="mentions/s during the latency phase"
    )
    args = parser.parse_args()
    result = run(args.burst, args.trickle, args.rate, max(1, args.warmup), args.workers)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
