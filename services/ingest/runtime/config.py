"""What every source instance in the sources YAML has in common, and token look-up.

A council edits ``sources.yaml``; each entry is one *instance* of a source kind
(``kind: rss`` ...). Kind-specific models subclass :class:`InstanceConfig` with a
``kind: Literal[...]`` field and are joined into one discriminated union in
``services.ingest.registry``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, SecretStr

INSTANCE_NAME = r"^[a-z0-9][a-z0-9._-]{0,99}$"
ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"


class InstanceConfig(BaseModel):
    """Fields shared by every instance; secrets are named by env var, never written here."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str
    """Narrowed to a ``Literal`` by each kind's subclass (the union's discriminator)."""
    name: str = Field(
        pattern=INSTANCE_NAME, description="Unique instance name; becomes source.instance."
    )
    enabled: bool = True
    poll_interval_s: float = Field(default=300.0, ge=0.01, le=86_400)
    token_env: str | None = Field(
        default=None, pattern=ENV_NAME, description="NAME of the env var holding the token."
    )

    def token(self, environ: Mapping[str, str] | None = None) -> SecretStr | None:
        """The token from the env var named by ``token_env`` (None when no token is configured)."""
        if self.token_env is None:
            return None
        value = (os.environ if environ is None else environ).get(self.token_env)
        return SecretStr(value) if value else None

    def required_env(self) -> tuple[str, ...]:
        """Config field names whose env var must be set for this instance to start."""
        return ()
