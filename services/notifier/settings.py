"""Settings of the notifier process (``EARSHOT_*`` environment variables), checked at start."""

from __future__ import annotations

import socket
from email.utils import parseaddr
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from common.settings import ElasticsearchSettings, KafkaSettings

ROOT = Path(__file__).resolve().parents[2]


class NotifierSettings(KafkaSettings, ElasticsearchSettings):
    """Where alerts come from, how mail is sent, and how the notifier behaves."""

    departments_file: Path = ROOT / "deploy" / "config" / "departments.yaml"
    topics_file: Path = ROOT / "deploy" / "config" / "topics.yaml"
    """Taxonomy; only its topic labels are used, for subjects and headings."""
    group_id: str = "earshot-notifier"
    """Kafka consumer group (prefixed with the topic prefix)."""
    group_instance_id: str | None = Field(
        default_factory=lambda: f"notifier@{socket.gethostname()}", pattern=r"^[\w.@:-]*$"
    )
    """Static group membership: a restarted notifier with the same id takes its partitions
    back at once instead of waiting out its dead predecessor's session. Unique per running
    instance (two on one host: set it); empty turns static membership off."""
    session_timeout_s: float = Field(default=10.0, ge=6, le=300)
    """How long the group waits for a silent instance before giving its partitions to another."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    """``starttls`` upgrades a plain connection (port 587), ``tls`` is implicit TLS (port 465)."""
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_ca_file: Path | None = None
    """Extra CA bundle to trust (a council's internal relay with a private CA)."""
    smtp_timeout_s: float = Field(default=30.0, gt=0)
    mail_from: str = "Earshot <earshot@council.example>"
    message_id_domain: str = Field(default="earshot.local", pattern=r"^[A-Za-z0-9.-]+$")

    kibana_url: str | None = Field(default=None, pattern=r"^https?://")
    """Kibana base URL for links; overrides ``kibana_base_url`` of the departments file."""
    max_text_chars: int = Field(default=800, ge=80)
    """Longer posts are cut (with a link to the original) in emails."""
    digest_top_items: int = Field(default=5, ge=1, le=50)
    quiet_hours: bool = True
    """False ignores every department's quiet hours (``make run`` demos at night, tests)."""

    retry_base_s: float = Field(default=1.0, gt=0)
    retry_cap_s: float = Field(default=60.0, gt=0)
    poll_timeout_s: float = Field(default=1.0, ge=0.5)
    """Longest wait in one consumer poll; kafka-python 3.0 group joins stalled with 0.2 s under load."""
    config_poll_s: float = Field(default=5.0, gt=0)
    dead_letter_limit: int = Field(default=50, ge=1)
    """Consecutive dead letters after which the notifier stops instead of draining alerts.v1."""
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=9110, ge=0, le=65535)
    """Port of /healthz and /metrics (0 picks a free port)."""

    @field_validator(
        "smtp_username",
        "smtp_password",
        "smtp_ca_file",
        "kibana_url",
        "group_instance_id",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # Compose passes optional variables as empty strings (${EARSHOT_SMTP_USERNAME:-}).
        return None if value == "" else value

    @field_validator("mail_from")
    @classmethod
    def _one_address(cls, value: str) -> str:
        if any(c in value for c in "\r\n") or "@" not in parseaddr(value)[1]:
            raise ValueError("must be one address, e.g. 'Earshot <earshot@council.example>'")
        return value

    @model_validator(mode="after")
    def _no_credentials_in_clear(self) -> NotifierSettings:
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("set both EARSHOT_SMTP_USERNAME and EARSHOT_SMTP_PASSWORD, or neither")
        if self.smtp_username is not None and self.smtp_security == "none":
            raise ValueError("SMTP credentials need EARSHOT_SMTP_SECURITY=starttls or tls")
        return self

    @property
    def envelope_from(self) -> str:
        """The bare address of ``mail_from``, for SMTP MAIL FROM."""
        return parseaddr(self.mail_from)[1]
