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
    shutdown_grace_s: float = Field(default=8.0, gt=0, le=60)
    """SIGTERM to exit: in-flight commits get this long (default keeps well inside 10 s)."""
    reconnect_pause_s: float = Field(default=1.0, ge=0, le=60)
    """Pause before re-entering a long-lived stream the server closed normally."""
    sources_poll_s: float = Field(default=5.0, ge=0, le=3600)
    """How often the sources file is checked for changes (0: only on SIGHUP)."""
    max_response_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    """Cap on a response's bytes on the wire (before decompression)."""
    max_decoded_bytes: int = Field(default=32 * 1024 * 1024, ge=1024)
    """Cap on a response's bytes once decompressed (a gzip bomb stops here)."""
    max_json_depth: int = Field(default=128, ge=8, le=900)
    max_response_s: float = Field(default=120.0, gt=0)
    """A response must arrive whole within this long, however slowly it trickles."""

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
