"""Author identity: a keyed pseudonym by default, the raw handle only on opt-in."""

from __future__ import annotations

import hashlib
import hmac

from pydantic import SecretStr

from schemas.models import Author

PSEUDONYM_PREFIX = "p1:"
TOMBSTONE_TOPIC = "privacy.tombstones.v1"
"""Compacted topic of erased authors (key = pseudonym): a replay never brings them back."""
MIN_SECRET_LENGTH = 16


class Pseudonymiser:
    """Turns a source's author id into an :class:`Author` under the deployment's policy.

    The pseudonym is HMAC-SHA256 over (source kind, author id) with the deployment
    secret: stable within a deployment, so erasure by author works, but not
    reversible or linkable across deployments.
    """

    def __init__(self, secret: SecretStr, keep_raw_handles: bool = False) -> None:
        key = secret.get_secret_value().encode()
        if len(key) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"EARSHOT_PSEUDONYM_SECRET must be at least {MIN_SECRET_LENGTH} characters"
            )
        self._key = key
        self._keep_raw = keep_raw_handles

    def pseudonym(self, source_kind: str, author_id: str) -> str:
        """The keyed pseudonym for one author of one source kind."""
        mac = hmac.new(self._key, f"{source_kind}\x1f{author_id}".encode(), hashlib.sha256)
        return PSEUDONYM_PREFIX + mac.hexdigest()[:32]

    def author(self, source_kind: str, author_id: str, handle: str | None = None) -> Author:
        """The author block for a Mention; raw ids and handles only if the deployment opted in."""
        if self._keep_raw:
            return Author(id=f"{source_kind}:{author_id}", scheme="raw", handle=handle)
        return Author(id=self.pseudonym(source_kind, author_id), scheme="hmac-sha256")
