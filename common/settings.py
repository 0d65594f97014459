"""The one settings style: frozen pydantic-settings classes read from ``EARSHOT_*`` env vars.

Each process declares one class that mixes in the parts it needs and loads it
with :func:`load_settings`, which turns a validation failure into one clear
message naming the environment variable.
"""

from __future__ import annotations

import sys
from typing import TypeVar

from pydantic import SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

S = TypeVar("S", bound=BaseSettings)


class EarshotSettings(BaseSettings):
    """Base for every process's settings."""

    model_config = SettingsConfigDict(env_prefix="EARSHOT_", frozen=True, extra="ignore")

    log_level: str = "INFO"


class KafkaSettings(EarshotSettings):
    kafka_bootstrap: str = "127.0.0.1:19092"
    topic_prefix: str = ""
    """Prepended to every declared topic name: lets tests and shared clusters keep apart."""

    def topic(self, name: str) -> str:
        """The physical topic name for a declared topic."""
        return f"{self.topic_prefix}{name}"


class ElasticsearchSettings(EarshotSettings):
    es_url: str = "http://127.0.0.1:19200"
    es_username: str | None = None
    es_password: SecretStr | None = None
    es_ca_certs: str | None = None
    index_prefix: str = "earshot"


def settings_error_message(cls: type[BaseSettings], exc: ValidationError) -> str:
    """One line per bad field, each naming the environment variable to fix."""
    prefix = str(cls.model_config.get("env_prefix", ""))
    lines = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"])
        lines.append(f"{prefix}{field.upper()}: {err['msg']}")
    return f"invalid settings for {cls.__name__}:\n  " + "\n  ".join(lines)


def load_settings(cls: type[S]) -> S:
    """Build settings from the environment or exit with a message naming the bad variable."""
    try:
        return cls()
    except ValidationError as exc:
        sys.stderr.write(settings_error_message(cls, exc) + "\n")
        raise SystemExit(2) from exc
