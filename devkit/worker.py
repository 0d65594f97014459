"""Run the real pipelines worker as a subprocess against the local stack."""

from __future__ import annotations

import socket
from pathlib import Path

from devkit.process import ROOT, Service

__all__ = ["ROOT", "Worker", "free_port"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Worker(Service):
    """``faust -A <app> worker`` with a per-test prefix, datadir and log file.

    ``app`` is the module holding the Faust app: the whole pipeline by default.
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
        super().__init__(
            ["faust", "-A", app, "worker", "-l", "info"],
            {
                "EARSHOT_TOPIC_PREFIX": prefix,
                "EARSHOT_KAFKA_BOOTSTRAP": kafka,
                "EARSHOT_ES_URL": es_url,
                "EARSHOT_INDEX_PREFIX": f"{prefix}earshot",
                "EARSHOT_DATADIR": str(workdir / "faust"),
                "EARSHOT_WEB_PORT": str(free_port()),
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                **env,
            },
            workdir / "worker.log",
        )
