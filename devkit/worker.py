"""Run the real pipelines worker as a subprocess against the local stack."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import BinaryIO

from kafka.admin import KafkaAdminClient

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Worker:
    """``faust -A <app> worker`` with a per-test prefix, datadir and log file.

    ``app`` is the module holding the Faust app: the whole pipeline by default. Each
    Worker is a static group member named after its prefix and work dir
    (:attr:`instance_id`), so a restart takes its partitions straight back.
    """

    def __init__(
        self,
        kafka: str,
        es_url: str,
        prefix: str,
        workdir: Path,
        *,
        app: str = "pipelines.app",
        **env: str,
    ) -> None:
        self.app = app
        self.instance_id = env.get("EARSHOT_WORKER_INSTANCE_ID", f"{prefix}{workdir.name}")
        self.log_path = workdir / "worker.log"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "EARSHOT_TOPIC_PREFIX": prefix,
            "EARSHOT_KAFKA_BOOTSTRAP": kafka,
            "EARSHOT_ES_URL": es_url,
            "EARSHOT_INDEX_PREFIX": f"{prefix}earshot",
            "EARSHOT_DATADIR": str(workdir / "faust"),
            "EARSHOT_WEB_PORT": str(free_port()),
            "EARSHOT_WORKER_INSTANCE_ID": self.instance_id,
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            **env,
        }
        self.process: subprocess.Popen[bytes] | None = None
        self._log: BinaryIO | None = None

    def start(self) -> None:
        self._close_log()
        log = self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "faust", "-A", self.app, "worker", "-l", "info"],
            env=self.env,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("the worker has not been started")
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, no final commit — a crash."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> int | None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_log()
        return self.process.returncode if self.process else None

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""


def group_assignment(bootstrap: str, group: str, topic: str) -> dict[str, set[int]]:
    """Partitions of ``topic`` each member of consumer group ``group`` holds now, by the
    member's static instance id (its member id when it has none)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="earshot-devkit")
    try:
        described = admin.describe_groups([group]).get(group) or {}
    finally:
        admin.close()
    held: dict[str, set[int]] = {}
    for member in described.get("members", []):
        name = member.get("group_instance_id") or member["member_id"]
        assigned = (member.get("member_assignment") or {}).get("assigned_partitions", [])
        held[name] = {p for t in assigned if t["topic"] == topic for p in t["partitions"]}
    return held
