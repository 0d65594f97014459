"""Settings of the Faust worker (``EARSHOT_*`` environment variables)."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field

from common.settings import ElasticsearchSettings, KafkaSettings

ROOT = Path(__file__).resolve().parents[1]


class PipelineSettings(KafkaSettings, ElasticsearchSettings):
    """Everything a pipelines worker needs; validated once at start-up."""

    app_id: str = "earshot-pipelines"
    partitions: int = 4
    datadir: Path = ROOT / "var" / "faust"
    web_port: int = 6066
    config_dir: Path = ROOT / "deploy" / "config"
    """Council-edited config: ``topics.yaml``, ``councils/*.yaml`` (the councils listened for)."""

    enrich_batch_max: int = 256
    enrich_batch_seconds: float = 0.2
    enrich_processes: int = Field(default=0, ge=0)
    """Child processes that enrich batches, each with the model and tables (0: one per core)."""
    sentiment_threads: int = Field(default=0, ge=0)
    """onnxruntime threads in each enrichment process (0: the cores shared between them)."""
    index_batch_max: int = 500
    index_batch_seconds: float = 1.0
    dedupe_window_hours: float = 72.0
    dead_letter_limit: int = 100
    """Consecutive dead letters after which the worker stops instead of draining a topic."""
    sentiment_model_dir: Path | None = None
    """Defaults to the model ``make model`` built for the current training config."""
    departments_file: Path | None = None
    """Departments, routing rules and spike thresholds; defaults to ``<config_dir>/departments.yaml``."""
    rules_poll_seconds: float = 5.0
    """How often the route agent checks the departments file for changes (SIGHUP reloads at once)."""
    route_batch_max: int = 200
    route_batch_seconds: float = 0.5

    def enrichment_processes(self) -> int:
        """How many enrichment processes the worker starts."""
        return self.enrich_processes or max(1, os.cpu_count() or 1)

    def threads_per_enrichment_process(self) -> int:
        """onnxruntime threads for each enrichment process."""
        cores = os.cpu_count() or 1
        return self.sentiment_threads or max(1, cores // self.enrichment_processes())
