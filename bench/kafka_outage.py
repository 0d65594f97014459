"""A 10 s Kafka outage under a running ingestion process: how many log lines it writes, how
soon it resumes, and that nothing is lost.

A PRIVATE single-node broker is started from the local stack's cached jars on free ports with
its own data directory (the shared stack is never touched), stopped for ``outage_s`` and
started again on the same data, while ``python -m services.ingest`` polls a growing replay
feed into it.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from common.topics import ensure_topics
from devkit.replay import rss
from devkit.replay.kit import SECRET, read_committed
from devkit.replay.server import ReplayServer

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ROOT / "deploy" / "local" / "kafka"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivateKafka:
    """One KRaft broker+controller on loopback, from the cached Kafka jars."""

    def __init__(self, workdir: Path) -> None:
        cache = Path(os.environ.get("EARSHOT_CACHE", Path.home() / ".cache" / "earshot"))
        homes = sorted((cache / "stack").glob("kafka-*"))
        if not homes:
            raise SystemExit("no cached Kafka: run `make stack-up` once first")
        self.libs = homes[-1] / "libs"
        self.java = shutil.which("java") or "java"
        self.port, controller = _free_port(), _free_port()
        self.dir = workdir
        (workdir / "data").mkdir(parents=True)
        text = (LOCAL / "server.properties.in").read_text()
        text = text.replace("@KAFKA_PORT@", str(self.port)).replace(
            "@CONTROLLER_PORT@", str(controller)
        )
        text = text.replace("@DATA_DIR@", str(workdir / "data"))
        (workdir / "server.properties").write_text(text)
        self._java(
            "kafka.tools.StorageTool",
            "format",
            "-t",
            _cluster_id(),
            "-c",
            str(workdir / "server.properties"),
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _java(self, *args: str) -> None:
        log4j = f"-Dlog4j.configuration=file:{LOCAL / 'tools-log4j.properties'}"
        subprocess.run(
            [self.java, log4j, "-cp", f"{self.libs}/*", *args], check=True, capture_output=True
        )

    def start(self) -> None:
        log4j = f"-Dlog4j.configuration=file:{LOCAL / 'log4j.properties'}"
        with (self.dir / "kafka.out").open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    self.java,
                    "-Xms256m",
                    "-Xmx512m",
                    log4j,
                    f"-Dkafka.logs.dir={self.dir}",
                    "-cp",
                    f"{self.libs}/*",
                    "kafka.Kafka",
                    str(self.dir / "server.properties"),
                ],
                stdout=out,
                stderr=out,
                start_new_session=True,
            )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.3)
        raise SystemExit("private Kafka did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def _healthz(port: int) -> str:
    try:
        return str(
            json.loads(
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2).read()
            )["status"]
        )
    except OSError:
        return "down"


def bench_kafka_outage(outage_s: float = 10.0) -> dict[str, Any]:
    """Log lines, time to healthy again and committed mentions across one broker outage."""
    with tempfile.TemporaryDirectory() as tmp:
        kafka = PrivateKafka(Path(tmp) / "kafka")
        kafka.start()
        prefix = "outage-"
        try:
            ensure_topics(kafka.bootstrap, prefix=prefix)
            state = rss.RssReplay(seed=9, total=400, initial=10, per_request=2)
            with ReplayServer(rss.make_app(state)) as base:
                sources = Path(tmp) / "sources.yaml"
                sources.write_text(
                    "sources:\n  - name: news\n    kind: rss\n    poll_interval_s: 0.2\n    feeds:\n"
                    f"      - {{url: '{base}/feeds/council-news.xml', name: council}}\n"
                )
                port = _free_port()
                log_path = Path(tmp) / "ingest.log"
                env = {
                    **os.environ,
                    "PYTHONPATH": str(ROOT),
                    "EARSHOT_KAFKA_BOOTSTRAP": kafka.bootstrap,
                    "EARSHOT_TOPIC_PREFIX": prefix,
                    "EARSHOT_SOURCES_FILE": str(sources),
                    "EARSHOT_PSEUDONYM_SECRET": SECRET.get_secret_value(),
                    "EARSHOT_HTTP_PORT": str(port),
                }
                with log_path.open("wb") as out:
                    ingest = subprocess.Popen(
                        [sys.executable, "-m", "services.ingest"],
                        cwd=ROOT,
                        env=env,
                        stdout=out,
                        stderr=out,
                    )
                try:
                    deadline = time.monotonic() + 120
                    while _healthz(port) != "ok" and time.monotonic() < deadline:
                        time.sleep(0.2)
                    time.sleep(3)
                    topic = f"{prefix}mentions.raw.v1"
                    before = len(log_path.read_text(errors="replace").splitlines())
                    committed = len(read_committed(kafka.bootstrap, topic))
                    down_at = time.monotonic()
                    kafka.stop()
                    time.sleep(max(0.0, outage_s - (time.monotonic() - down_at)))
                    kafka.start()
                    up_at = time.monotonic()
                    while time.monotonic() < up_at + 120:
                        if len(read_committed(kafka.bootstrap, topic, timeout_s=60)) > committed:
                            break
                        time.sleep(0.2)
                    resumed_s = time.monotonic() - up_at
                    time.sleep(5)
                    lines = log_path.read_text(errors="replace").splitlines()[before:]
                    released = min(
                        state.total, state.released.get("council-news.xml", state.initial)
                    )
                finally:
                    ingest.send_signal(signal.SIGTERM)
                    ingest.wait(timeout=30)
                keys = [
                    k for k, _, _ in read_committed(kafka.bootstrap, f"{prefix}mentions.raw.v1")
                ]
        finally:
            kafka.stop()
    return {
        "outage_s": round(up_at - down_at, 1),
        "log_lines_from_outage_to_5s_after_recovery": len(lines),
        "lines": lines[:40],
        "first_commit_after_broker_back_s": round(resumed_s, 1),
        "mentions_committed": len(set(keys)),
        "duplicates": len(keys) - len(set(keys)),
        "released_by_replay": released,
    }
