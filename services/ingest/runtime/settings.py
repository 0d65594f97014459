"""Per-process settings of an ingestion service (env ``EARSHOT_*``), frozen and validated at start."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr

from common.settings import KafkaSettings


class IngestSettings(KafkaSettings):
    """What one ingestion process needs; tokens are NOT here but in env vars the YAML names.

    ``source_instance`` picks the configured instances this process runs:
    a comma-separated list of names, or ``*`` for all of them.
    """

    sources_file: Path = Path("deploy/config/sources.example.yaml")
    source_instance: str = "*"
    source_kinds: str = "*"
    """Comma-separated source kinds this process runs (``*`` for all): one compose service per kind."""
    pseudonym_secret: SecretStr
    keep_raw_handles: bool = False
    contact: str = "ops@council.example"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=9108, ge=0, le=65535)
    """Port of /healthz, /metrics and any webhook intake (0 picks a free one)."""
    http_timeout_s: float = Field(default=20.0, gt=0)
    retry_base_s: float = Field(default=1.0, gt=0)
    retry_cap_s: float = Field(default=300.0, gt=0)
    transactional_id: str | None = None
    """Stable id for the producer's transactions; default derives from prefix + instances."""
    shutdown_grace_s: float = Field(default=20.0, gt=0)

    def instance_names(self) -> frozenset[str] | None:
        """The selected instance names, or None for every configured instance."""
        raw = self.source_instance.strip()
        if raw in ("", "*"):
            return None
        return frozenset(n.strip() for n in raw.split(",") if n.strip())

    def kind_selected(self, kind: str) -> bool:
        """Whether instances of ``kind`` run in this process."""
        raw = self.source_kinds.strip()
        return raw in ("", "*") or kind in {k.strip() for k in raw.split(",")}
