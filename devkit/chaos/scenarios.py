"""The fault scenarios: each strikes once traffic is flowing, recovers, and reports what it measured.

Worker scenarios run a worker (or two) and the notifier on numbered Haringey
reports; time to resume is counted from the replacement's start (from the kill
when a second worker is left to take over). Server scenarios kill Kafka or
Elasticsearch with SIGKILL and bring them back with ``stack.sh up`` on their
data — only on a stack of the suite's own. The notifier scenario sends alerts
straight to ``alerts.v1``; the ingestion scenario runs a Mastodon ingestion
service against the replay server (documents there are the committed mentions).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from devkit.chaos.rig import Rig, StackControl, lines, severe_lines
from devkit.chaos.traffic import Item, Traffic
from devkit.process import Service
from devkit.replay import mastodon
from devkit.replay.kit import SECRET, mention_ids, read_committed
from devkit.replay.server import ReplayServer
from devkit.worker import free_port
from schemas.codec import encode
from schemas.ids import alert_id
from schemas.models import Alert, CodedArea, MentionSnapshot, Reason

Scenario = Callable[[Rig, StackControl | None], dict[str, Any]]


def _strike_when_indexed(rig: Rig, traffic: Traffic) -> None:
    share = int(rig.load.kill_at * len(traffic.items))
    rig.wait(
        lambda: sum(1 for i in traffic.acked if i in rig.watch.seen()) >= share,
        rig.load.settle_s,
        f"{share} mentions indexed before striking",
    )


def _pipeline(rig: Rig, workers: int = 1) -> Traffic:
    for n in range(workers):
        rig.worker(n).start()
    rig.notifier().start()
    rig.warm_up()
    traffic = rig.mentions(rig.load.mentions, rig.load.rate)
    _strike_when_indexed(rig, traffic)
    return traffic


def _report(rig: Rig, kill: float, t0: float, resume_from: str) -> dict[str, Any]:
    rig.settle()
    return {
        **rig.documents(),
        **rig.emails(),
        **rig.resume(kill, t0),
        "resume_from": resume_from,
    }


def worker_killed(rig: Rig, _: StackControl | None) -> dict[str, Any]:
    """The only worker SIGKILLed mid-stream and started again at once."""
    _pipeline(rig)
    worker = rig.services[0]
    kill = rig.mark("worker killed")
    worker.kill()
    t0 = rig.mark("worker started again")
    worker.start()
    return _report(rig, kill, t0, "replacement start")


def worker_killed_twice(rig: Rig, _: StackControl | None) -> dict[str, Any]:
    """The worker SIGKILLed, started, SIGKILLed again 3 s later (mid-join), started again."""
    _pipeline(rig)
    worker = rig.services[0]
    kill = rig.mark("worker killed")
    worker.kill()
    worker.start()
    time.sleep(3)
    rig.mark("worker killed again")
    worker.kill()
    t0 = rig.mark("worker started again")
    worker.start()
    return _report(rig, kill, t0, "second replacement start")


def one_of_two_workers_killed(rig: Rig, _: StackControl | None) -> dict[str, Any]:
    """Two workers share the partitions; one is SIGKILLed and not replaced."""
    _pipeline(rig, workers=2)
    kill = rig.mark("second worker killed")
    rig.services[1].kill()
    return _report(rig, kill, kill, "kill (the survivor takes over)")


def elasticsearch_killed(rig: Rig, stack: StackControl | None) -> dict[str, Any]:
    """Elasticsearch SIGKILLed, down 5 s, started again on its data by ``stack.sh up``."""
    assert stack is not None, "needs a stack of its own"
    _pipeline(rig)
    before = len(rig.watch.final())
    kill = rig.mark("elasticsearch killed")
    stack.kill("elasticsearch")
    time.sleep(5)
    t0 = rig.mark("stack.sh up")
    up_s = stack.up()
    after = len(rig.watch.final())
    report = _report(rig, kill, t0, "stack.sh up")
    return {
        **report,
        "stack_up_s": round(up_s, 1),
        "time_to_resume_after_stack_up_returned_s": _after(report, up_s),
        "data_kept": {"documents_before_kill": before, "documents_after_restart": after},
    }


def _after(report: dict[str, Any], up_s: float) -> float | None:
    """Resume time counted from when stack.sh up returned (both servers healthy; negative:
    the worker was already indexing again before the Kafka check of stack.sh finished)."""
    resume = report.get("time_to_resume_s")
    return round(resume - up_s, 1) if resume is not None else None


def _end_offsets(bootstrap: str, topic: str) -> int:
    reader = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        parts = [TopicPartition(topic, p) for p in reader.partitions_for_topic(topic) or ()]
        return sum(reader.end_offsets(parts).values())
    finally:
        reader.close()


def kafka_killed(rig: Rig, stack: StackControl | None) -> dict[str, Any]:
    """Kafka SIGKILLed, down 10 s, started again on its data; log lines of each process counted."""
    assert stack is not None, "needs a stack of its own"
    _pipeline(rig)
    topics = [f"{rig.prefix}mentions.raw.v1", f"{rig.prefix}notifier.sent.v1"]
    before = {t: _end_offsets(rig.kafka, t) for t in topics}
    logs = {s.log_path.name: s.log_path for s in rig.services}
    at_kill = {name: lines(path) for name, path in logs.items()}
    kill = rig.mark("kafka killed")
    stack.kill("kafka")
    time.sleep(10)
    t0 = rig.mark("stack.sh up")
    up_s = stack.up()
    back = rig.mark("kafka healthy")
    at_back = {name: lines(path) for name, path in logs.items()}
    after = {t: _end_offsets(rig.kafka, t) for t in topics}
    counted: dict[str, dict[str, int]] = {}

    def count_later() -> None:  # the outage summaries close 15 s after the last error
        time.sleep(max(0.0, back + 30 - time.monotonic()))
        for name, path in logs.items():
            end = lines(path)
            counted[name] = {
                "lines_while_down": at_back[name] - at_kill[name],
                "warning_or_error_lines_until_30s_after": severe_lines(path, at_kill[name], end),
                "all_lines_until_30s_after": end - at_kill[name],
            }

    counter = threading.Thread(target=count_later)
    counter.start()
    report = _report(rig, kill, t0, "stack.sh up")
    counter.join()
    return {
        **report,
        "stack_up_s": round(up_s, 1),
        "time_to_resume_after_stack_up_returned_s": _after(report, up_s),
        "outage_s": round(back - kill, 1),
        "log_lines": counted,
        "data_kept": {"end_offsets_before_kill": before, "end_offsets_after_restart": after},
    }


def numbered_alerts(count: int) -> list[Alert]:
    """Distinct immediate alerts for the suite's inbox (numbered: never folded together)."""
    now = datetime.now(UTC)
    out = []
    for n in range(count):
        mention_id = f"{n:032x}"
        out.append(
            Alert(
                alert_id=alert_id(mention_id, "chaos.every-report"),
                kind="rule",
                rule_id="chaos.every-report",
                department="chaos-inbox",
                severity="medium",
                delivery="immediate",
                reasons=(Reason(clause="phrases", detail="report"),),
                created_at=now,
                mention=MentionSnapshot(
                    mention_id=mention_id,
                    source_kind="mastodon",
                    text=f"Pothole on Philip Lane, report number {n}",
                    created_at=now,
                    ward=CodedArea(code="E05013602", name="Tottenham Hale"),
                ),
            )
        )
    return out


def notifier_killed(rig: Rig, _: StackControl | None) -> dict[str, Any]:
    """The notifier SIGKILLed while alerts flow (no worker: alerts go straight to alerts.v1)."""
    notifier = rig.notifier()
    notifier.start()
    alerts = numbered_alerts(rig.load.mentions)
    items = [Item(a.alert_id, a.alert_id.encode(), encode(a)) for a in alerts]
    traffic = Traffic(rig.kafka, f"{rig.prefix}alerts.v1", items, rig.load.rate)
    rig.traffic.append(traffic)
    traffic.start()
    share = int(rig.load.kill_at * len(items))
    rig.wait(lambda: len(rig.inbox.snapshot()) >= share, rig.load.settle_s, f"{share} emails")
    kill = rig.mark("notifier killed")
    notifier.kill()
    time.sleep(1)
    t0 = rig.mark("notifier started again")
    notifier.start()
    rig.until(lambda: traffic.done() and len(rig.inbox.alert_ids()) >= len(items))
    time.sleep(5)  # room for a late duplicate to show up
    received = rig.inbox.snapshot()
    after = [r.at for r in received if r.at >= t0]
    got = rig.inbox.alert_ids()
    return {
        "produced": len(traffic.acked),
        "alerts": len(items),
        "emails": sum(got.values()),
        "duplicate_emails": sum(n - 1 for n in got.values() if n > 1),
        "missing_emails": len({a.alert_id for a in alerts} - got.keys()),
        "time_to_resume_s": round(min(after) - t0, 1) if after else None,
        "time_to_finish_s": round(max(after) - t0, 1) if after else None,
        "resume_from": "replacement start (first email after it)",
        "killed_after_emails": sum(1 for r in received if r.at < kill),
    }


def ingestion_killed(rig: Rig, _: StackControl | None) -> dict[str, Any]:
    """A Mastodon ingestion service SIGKILLed mid-backfill and started again."""
    state = mastodon.MastodonReplay(seed=21, total=rig.load.mentions // 3, initial=6, per_request=2)
    expected = len(state.expected("haringey")) + len(state.expected("monmouthshire"))
    topic = f"{rig.prefix}mentions.raw.v1"
    seen: dict[bytes, float] = {}
    counts: Counter[bytes] = Counter()

    def sample() -> int:
        # By mention id: the Kafka key is the dedupe key, which copies share.
        keys = mention_ids(read_committed(rig.kafka, topic))
        now = time.monotonic()
        for k in keys:
            seen.setdefault(k, now)
        counts.clear()
        counts.update(keys)
        return len(set(keys))

    with ReplayServer(mastodon.make_app(state)) as base:
        sources = rig.workdir / "sources.yaml"
        sources.write_text(
            "sources:\n  - name: social\n    kind: mastodon\n    poll_interval_s: 0.2\n"
            f"    servers: ['{base}']\n    hashtags: [haringey, monmouthshire]\n    page_limit: 5\n"
        )
        ingest = rig.service(
            "ingest",
            ["services.ingest"],
            {
                "EARSHOT_SOURCES_FILE": str(sources),
                "EARSHOT_PSEUDONYM_SECRET": SECRET.get_secret_value(),
                "EARSHOT_HTTP_PORT": "0",
                "EARSHOT_RETRY_BASE_S": "0.05",
                "EARSHOT_RETRY_CAP_S": "1",
            },
        )
        ingest.start()
        share = int(rig.load.kill_at * expected)
        rig.wait(lambda: sample() >= share, rig.load.settle_s, f"{share} mentions ingested")
        kill = rig.mark("ingestion killed")
        ingest.kill()
        t0 = rig.mark("ingestion started again")
        ingest.start()
        rig.until(lambda: sample() >= expected)
        time.sleep(3)  # room for a late duplicate to show up
        sample()
    after = [at for at in seen.values() if at >= t0]
    return {
        "produced": expected,
        "indexed": len(seen),
        "missing": expected - len(seen),
        "duplicate_documents": sum(n - 1 for n in counts.values() if n > 1),
        "documents_are": "mentions committed to mentions.raw.v1 (read_committed)",
        "time_to_resume_s": round(min(after) - t0, 1) if after else None,
        "time_to_finish_s": round(max(after) - t0, 1) if after else None,
        "resume_from": "replacement start (first new mention committed)",
        "killed_after_mentions": sum(1 for at in seen.values() if at < kill),
    }


def _sigterm(service: Service) -> dict[str, Any]:
    """SIGTERM ``service``; how long it took to exit, and its exit code."""
    started = time.monotonic()
    code = service.stop(timeout=60)
    return {"exit_s": round(time.monotonic() - started, 1), "exit_code": code}


def notifier_sigterm(rig: Rig, stack: StackControl | None) -> dict[str, Any]:
    """SIGTERM to the notifier while working, while SMTP is down, while Kafka is down, and
    while it waits for Kafka at start; each must end the process within 10 s."""
    assert stack is not None, "needs a stack of its own"
    alerts = numbered_alerts(40)
    items = [Item(a.alert_id, a.alert_id.encode(), encode(a)) for a in alerts]
    states: dict[str, dict[str, Any]] = {}
    working = rig.notifier()
    working.start()
    traffic = Traffic(rig.kafka, f"{rig.prefix}alerts.v1", items, 5.0)
    rig.traffic.append(traffic)
    traffic.start()
    rig.wait(lambda: len(rig.inbox.snapshot()) >= 5, 120, "the notifier sending")
    states["working"] = _sigterm(working)
    no_smtp = rig.notifier()
    no_smtp.env["EARSHOT_SMTP_PORT"] = str(free_port())  # nothing listens there
    no_smtp.env["EARSHOT_GROUP_INSTANCE_ID"] = "sigterm-smtp-down"
    no_smtp.start()
    rig.wait(lambda: "SMTP not available" in no_smtp.log_tail(), 120, "SMTP retries")
    states["smtp_down"] = _sigterm(no_smtp)
    kafka_down = rig.notifier()
    kafka_down.start()
    rig.wait(lambda: "notifier consuming" in kafka_down.log_tail(20000), 120, "the notifier up")
    stack.kill("kafka")
    time.sleep(3)
    states["kafka_down"] = _sigterm(kafka_down)
    starting = rig.notifier()
    starting.start()
    time.sleep(8)  # waiting for Kafka at start
    states["starting_without_kafka"] = _sigterm(starting)
    stack.up()
    slowest = max(s["exit_s"] for s in states.values())
    return {
        "sigterm": states,
        "slowest_exit_s": slowest,
        "all_exited_cleanly": all(s["exit_code"] == 0 for s in states.values()),
        "time_to_resume_s": None,
        "resume_from": "not measured here (see notifier_killed)",
    }


SCENARIOS: dict[str, tuple[Scenario, bool]] = {
    "worker_killed": (worker_killed, False),
    "worker_killed_twice": (worker_killed_twice, False),
    "one_of_two_workers_killed": (one_of_two_workers_killed, False),
    "elasticsearch_killed": (elasticsearch_killed, True),
    "kafka_killed": (kafka_killed, True),
    "notifier_killed": (notifier_killed, False),
    "ingestion_killed": (ingestion_killed, False),
    "notifier_sigterm": (notifier_sigterm, True),
}
"""Name → (scenario, whether it kills a server and so needs a stack of its own)."""


def run(
    name: str,
    kafka: str,
    es_url: str,
    workdir: Path,
    rig_load: Any,
    stack: StackControl | None,
) -> dict[str, Any]:
    """Run one scenario in a fresh rig; always tear the rig down."""
    scenario, needs_stack = SCENARIOS[name]
    if needs_stack and stack is None:
        raise ValueError(f"{name} kills a server: it needs a stack of its own")
    rig = Rig(name, kafka, es_url, workdir, rig_load)
    started = time.monotonic()
    try:
        result = scenario(rig, stack)
    finally:
        rig.close()
    return {
        "scenario": name,
        "what": (scenario.__doc__ or "").strip(),
        **result,
        "events": [(e, round(t - started, 1)) for e, t in rig.events],
        "wall_s": round(time.monotonic() - started, 1),
        "logs": str(rig.workdir),
    }
