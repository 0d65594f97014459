"""Run the real pipelines worker as a subprocess against the local stack."""

from __future__ import annotations

import socket
from pathlib import Path

from kafka.admin import KafkaAdminClient

from devkit.process import ROOT, Service

__all__ = ["ROOT", "Worker", "free_port", "group_assignment"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Worker(Service):
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
        super().__init__(
            ["faust", "-A", app, "worker", "-l", "info"],
            {
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
            },
            workdir / "worker.log",
        )


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
