"""Settings of the Faust worker (``EARSHOT_*`` environment variables)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from common.settings import ElasticsearchSettings, KafkaSettings

ROOT = Path(__file__).resolve().parents[1]


class PipelineSettings(KafkaSettings, ElasticsearchSettings):
    """Everything a pipelines worker needs; validated once at start-up."""

    app_id: str = "earshot-pipelines"
    partitions: int = 4
    """Partitions of the worker's own topics; must match mentions.raw.v1's declaration."""
    datadir: Path = ROOT / "var" / "faust"
    web_port: int = 6066
    config_dir: Path = ROOT / "deploy" / "config"
    """Council-edited config: ``topics.yaml``, ``councils/*.yaml`` (the councils listened for)."""

    enrich_batch_max: int = Field(default=256, ge=1)
    enrich_batch_seconds: float = Field(default=0.2, gt=0)
    enrich_processes: int = Field(default=0, ge=0)
    """Child processes that enrich batches, each with the model and tables (0: one per core)."""
    sentiment_threads: int = Field(default=0, ge=0)
    """onnxruntime threads in each enrichment process (0: the cores shared between them)."""
    dedupe_window_hours: float = 72.0
    dead_letter_limit: int = Field(default=100, ge=0)
    """Consecutive dead letters after which the worker stops instead of draining a topic."""
    sentiment_model_dir: Path | None = None
    """Defaults to the model ``make model`` built for the current training config."""
    departments_file: Path | None = None
    """Departments, routing rules and spike thresholds; defaults to ``<config_dir>/departments.yaml``."""
    rules_poll_seconds: float = 5.0
    """How often the worker checks the departments file for changes (SIGHUP reloads at once)."""

    worker_instance_id: str | None = Field(default_factory=lambda: f"worker@{socket.gethostname()}")
    """Static group membership (Kafka ``group.instance.id``): a restarted worker takes its
    partitions straight back. Must be unique per running worker (two workers on one host need
    their own) and stable across its restarts; "" for dynamic membership."""
    session_timeout_seconds: float = Field(default=8.0, ge=6.0)
    """How long the group waits for a silent worker before its partitions move (broker min 6 s)."""
    heartbeat_interval_seconds: float = Field(default=1.0, gt=0)
    shutdown_grace_seconds: float = Field(default=8.0, gt=0)
    """After SIGTERM, the worker exits by this time even if a dependency holds a batch."""

    @field_validator("worker_instance_id")
    @classmethod
    def _empty_is_dynamic(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _heartbeat_within_session(self) -> PipelineSettings:
        if self.heartbeat_interval_seconds * 3 > self.session_timeout_seconds:
            raise ValueError("heartbeat_interval_seconds must be at most a third of the session")
        return self

    def enrichment_processes(self) -> int:
        """How many enrichment processes the worker starts."""
        return self.enrich_processes or max(1, os.cpu_count() or 1)

    def threads_per_enrichment_process(self) -> int:
        """onnxruntime threads for each enrichment process."""
        cores = os.cpu_count() or 1
        return self.sentiment_threads or max(1, cores // self.enrichment_processes())
