"""One scenario's world: its own topics and indices on a stack, an SMTP inbox, processes and traffic.

Every measurement of the fault suite is made here, the same way for every scenario:
documents (produced = acknowledged by the broker; indexed, missing and duplicate
documents read back from Elasticsearch), emails (alert ids that arrived, twice, or
never), and time to resume (see :meth:`Rig.resume`).
"""

from __future__ import annotations

import os
import re
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.dedupe import partition_key
from common.topics import declarations, ensure_topics
from devkit.chaos.inbox import Inbox
from devkit.chaos.observe import IndexWatch
from devkit.chaos.traffic import Item, Traffic
from devkit.events import numbered_mentions
from devkit.process import Service
from devkit.stack import run_stack, stack_pids
from devkit.waiting import read_topic, wait_for, wait_for_topics
from devkit.worker import Worker, free_port
from schemas.codec import encode

DEPARTMENTS = Path(__file__).resolve().parent / "departments.yaml"


@dataclass(frozen=True)
class Load:
    """How much traffic a scenario sends, how fast, and when it strikes."""

    mentions: int = 900
    rate: float = 30.0
    kill_at: float = 0.3
    """Strike once this share of the traffic is indexed (or emailed)."""
    settle_s: float = 420.0
    """Longest wait for everything to arrive after the fault."""
    enrich_processes: int = 1


class StackControl:
    """Kills and restarts the servers of one stack, through stack.sh (never the shared stack)."""

    def __init__(self, environ: dict[str, str]) -> None:
        self.environ = environ

    def kill(self, server: str) -> None:
        """SIGKILL Kafka or Elasticsearch: a crash, no clean shutdown."""
        os.kill(stack_pids(self.environ)[server], signal.SIGKILL)

    def up(self) -> float:
        """``stack.sh up``: start what is not running, on its data; seconds it took."""
        started = time.monotonic()
        done = run_stack("up", environ=self.environ)
        if done.returncode != 0:
            raise RuntimeError(f"stack.sh up failed:\n{done.stderr[-3000:]}")
        return time.monotonic() - started


def lines(path: Path) -> int:
    """Lines in a log file so far."""
    if not path.exists():
        return 0
    with path.open("rb") as f:
        return sum(1 for _ in f)


_SEVERE = re.compile(rb"\b(?:WARNING|ERROR|CRITICAL)\b")


def severe_lines(path: Path, start: int, end: int) -> int:
    """WARNING-or-worse lines among lines ``start``..``end`` of a log (either log format)."""
    if not path.exists():
        return 0
    with path.open("rb") as f:
        window = [line for n, line in enumerate(f) if start <= n < end]
    return sum(1 for line in window if _SEVERE.search(line[:80]))


class Rig:
    """Topics, indices, inbox, processes and traffic of one scenario, all under one prefix."""

    def __init__(self, name: str, kafka: str, es_url: str, workdir: Path, load: Load) -> None:
        self.name = name
        self.kafka = kafka
        self.es_url = es_url
        self.load = load
        self.workdir = workdir / name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.prefix = f"chaos{uuid.uuid4().hex[:8]}-"
        ensure_topics(kafka, prefix=self.prefix)
        wait_for_topics(kafka, [self.prefix + n for n in declarations()])
        self.inbox = Inbox()
        self.inbox.start()
        self.watch = IndexWatch(es_url, f"{self.prefix}earshot-mentions")
        self.watch.start()
        self.services: list[Service] = []
        self.traffic: list[Traffic] = []
        self.events: list[tuple[str, float]] = []
        self.t_start = time.monotonic()

    # -- processes -------------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        return {
            "EARSHOT_TOPIC_PREFIX": self.prefix,
            "EARSHOT_KAFKA_BOOTSTRAP": self.kafka,
            "EARSHOT_ES_URL": self.es_url,
            "EARSHOT_INDEX_PREFIX": f"{self.prefix}earshot",
            "EARSHOT_DEPARTMENTS_FILE": str(DEPARTMENTS),
        }

    def worker(self, n: int = 0) -> Worker:
        w = Worker(
            self.kafka,
            self.es_url,
            self.prefix,
            self._dir(f"worker{n}"),
            EARSHOT_DEPARTMENTS_FILE=str(DEPARTMENTS),
            EARSHOT_ENRICH_PROCESSES=str(self.load.enrich_processes),
        )
        self.services.append(w)
        return w

    def notifier(self) -> Service:
        env = {
            **self._env(),
            "EARSHOT_SMTP_HOST": "127.0.0.1",
            "EARSHOT_SMTP_PORT": str(self.inbox.port),
            "EARSHOT_SMTP_SECURITY": "none",
            "EARSHOT_HTTP_PORT": str(free_port()),
            "EARSHOT_QUIET_HOURS": "false",
            "EARSHOT_RETRY_BASE_S": "0.2",
            "EARSHOT_RETRY_CAP_S": "2",
        }
        n = Service(["services.notifier"], env, self._dir("notifier") / "notifier.log")
        self.services.append(n)
        return n

    def service(self, name: str, argv: list[str], env: dict[str, str]) -> Service:
        s = Service(argv, {**self._env(), **env}, self._dir(name) / f"{name}.log")
        self.services.append(s)
        return s

    def _dir(self, name: str) -> Path:
        d = self.workdir / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def mark(self, event: str) -> float:
        """Note when something happened (kill, restart...); returns the time."""
        now = time.monotonic()
        self.events.append((event, now))
        return now

    # -- traffic ---------------------------------------------------------------------------------
    def mentions(self, count: int, rate: float, start: int = 0) -> Traffic:
        """Numbered Haringey pothole reports (each one alert, one email) at ``rate`` per second."""
        batch = numbered_mentions(start + count)[start:]
        # Keyed as ingestion keys them (copies share a partition), so none is re-routed.
        items = [Item(m.mention_id, partition_key(m), encode(m)) for m in batch]
        t = Traffic(self.kafka, f"{self.prefix}mentions.raw.v1", items, rate)
        self.traffic.append(t)
        t.start()
        return t

    def warm_up(self, timeout: float = 600) -> None:
        """Ten mentions through the pipeline: the workers have loaded their models and joined."""
        t = self.mentions(10, 10.0, start=1_000_000)
        self.wait(
            lambda: all(i in self.watch.seen() for i in t.acked) and t.done(),
            timeout,
            "the warm-up mentions to be indexed",
        )
        self.mark("warmed up")

    def wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        wait_for(done, bool, timeout, lambda: f"{what} ({self.progress()})\n{self._tails()}")

    def progress(self) -> str:
        acked = sum(t.acked_count() for t in self.traffic)
        return f"acked {acked}, indexed {self.watch.count()}, emails {len(self.inbox.snapshot())}"

    def _tails(self) -> str:
        return "\n".join(f"--- {s.log_path.name}\n{s.log_tail(1500)}" for s in self.services)

    # -- measurements ----------------------------------------------------------------------------
    def produced(self) -> dict[str, tuple[int, float]]:
        out: dict[str, tuple[int, float]] = {}
        for t in self.traffic:
            out.update(t.acked)
        return out

    def documents(self) -> dict[str, int]:
        """Produced, indexed, missing and duplicate documents (read back from Elasticsearch)."""
        produced = self.produced()
        final = self.watch.final()
        return {
            "produced": len(produced),
            "indexed": len(produced.keys() & final.keys()),
            "missing": len(produced.keys() - final.keys()),
            "duplicate_documents": sum(n - 1 for n in final.values() if n > 1),
            "unexpected_documents": len(final.keys() - produced.keys()),
        }

    def emails(self) -> dict[str, int]:
        """Alerts routed, emails received, alert ids emailed twice or never."""
        alerts = {k.decode() for k, _, _ in read_topic(self.kafka, f"{self.prefix}alerts.v1") if k}
        got: Counter[str] = self.inbox.alert_ids()
        return {
            "alerts": len(alerts),
            "emails": sum(got.values()),
            "duplicate_emails": sum(n - 1 for n in got.values() if n > 1),
            "missing_emails": len(alerts - got.keys()),
        }

    def resume(self, kill: float, t0: float) -> dict[str, Any]:
        """Seconds from ``t0`` until every partition had a mention produced after ``kill`` indexed.

        That is when processing has resumed everywhere (a partition a dead worker still
        holds shows as the slowest), not merely when some document moved.
        """
        seen = self.watch.seen()
        first: dict[int, float] = {}
        for ident, (partition, acked_at) in self.produced().items():
            if acked_at >= kill and ident in seen:
                first[partition] = min(first.get(partition, seen[ident]), seen[ident])
        per_partition = {p: round(at - t0, 1) for p, at in sorted(first.items())}
        done = [seen[i] for i in self.produced() if i in seen]
        return {
            "time_to_resume_s": max(per_partition.values()) if per_partition else None,
            "resume_by_partition_s": per_partition,
            "time_to_finish_s": round(max(done) - t0, 1) if done else None,
        }

    def settle(self, emails: bool = True) -> None:
        """Wait until every produced mention is indexed (and emailed), then a little more."""

        def complete() -> bool:
            produced = self.produced()
            if not all(t.done() for t in self.traffic):
                return False
            if not produced.keys() <= self.watch.seen().keys():
                return False
            return not emails or len(self.inbox.alert_ids()) >= len(produced)

        self.until(complete)
        time.sleep(5)  # room for a late duplicate to show up

    def until(self, done: Callable[[], bool]) -> bool:
        """Wait up to ``load.settle_s`` for ``done``; False if it never came (the result says
        what is missing: a scenario reports, it does not raise)."""
        deadline = time.monotonic() + self.load.settle_s
        while not done():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)
        return True

    def close(self) -> None:
        for t in self.traffic:
            t.stop()
        for s in self.services:
            s.stop(timeout=30)
        self.watch.stop()
        self.inbox.stop()
