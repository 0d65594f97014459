"""Online communities: what a space is, and the council's register of them (``communities.yaml``).

A community is a shared space, never a person: a subreddit, a hashtag on one
network, a website, a feed, a Mastodon server's local timeline, a Bluesky feed or
list, a webhook form. Every space has one key ``<kind>:<network>:<name>``
(``hashtag:mastodon:tottenham``), which is also the Elasticsearch ``_id`` of its
community record, so the worker, the CLI and the digest name it the same way.

The register is what a council records by hand: per community, the department
that owns the relationship, its stage and a note; the suggestions it rejected;
and ``k``, the distinct authors a space needs in the week before it is listed.
The worker and the CLI both read it, so it lives here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from common.yamlconfig import ConfigError, Loaded, read_yaml

SpaceKind = Literal["subreddit", "hashtag", "site", "feed", "instance", "list", "form"]
Stage = Literal["identified", "participating", "engaged", "nurtured"]
KEY = re.compile(r"^(subreddit|hashtag|site|feed|instance|list|form):([a-z0-9]+):(\S{1,300})$")
DEFAULT_K = 5


@dataclass(frozen=True, slots=True)
class Space:
    """One shared space: ``kind`` on ``network`` called ``name`` (lower case where case never matters)."""

    kind: SpaceKind
    network: str
    name: str

    @property
    def key(self) -> str:
        """The one stable name of the space (also its community record's ``_id``)."""
        return f"{self.kind}:{self.network}:{self.name}"

    @classmethod
    def parse(cls, key: str) -> Space:
        """The space a key names; ValueError for anything that is not a key."""
        found = KEY.match(key.strip())
        if found is None:
            raise ValueError(
                f"not a community key: {key!r} (expected kind:network:name, "
                "e.g. hashtag:mastodon:tottenham or subreddit:reddit:haringey)"
            )
        kind, network, name = found.groups()
        return cls(kind, network, name)  # type: ignore[arg-type]  # the pattern admits only kinds

    @property
    def label(self) -> str:
        """How people write it: r/haringey, #tottenham (Mastodon), example.org."""
        network = self.network.capitalize() if self.network != "x" else "X"
        if self.kind == "subreddit":
            return f"r/{self.name}"
        if self.kind == "hashtag":
            return f"#{self.name} ({network})"
        if self.kind == "instance":
            return f"{self.name} (local timeline)"
        if self.kind in ("feed", "list") and self.network != "rss":
            return f"{network} {self.kind} {self.name}"
        if self.kind == "form":
            return f"form {self.name}"
        return self.name


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _valid_key(value: str) -> str:
    return Space.parse(value).key


CommunityKey = Annotated[str, AfterValidator(_valid_key)]
"""A community key as ``earshot communities list`` shows it (``subreddit:reddit:haringey``)."""


class Entry(_Model):
    """One community in the register: who in the council owns the relationship, and how far it is."""

    community: CommunityKey
    department: str = Field(pattern=r"^[a-z0-9_-]+$", max_length=64)
    stage: Stage = "identified"
    note: str = Field(default="", max_length=2000)


class Rejection(_Model):
    """A suggestion the council decided not to follow; it is never suggested again."""

    community: CommunityKey
    on: date | None = None
    note: str = Field(default="", max_length=2000)


class CommunitiesFile(_Model):
    """Schema of ``deploy/config/communities.yaml``."""

    version: Literal[1] = 1
    k: int = Field(default=DEFAULT_K, ge=2, le=1000)
    """Distinct authors a space needs in the week window to be listed (never fewer than 2)."""
    entries: tuple[Entry, ...] = Field(default=(), alias="register")
    """The ``register:`` list (the name ``register`` is taken on pydantic models)."""
    rejected: tuple[Rejection, ...] = ()

    def entry(self, key: str) -> Entry | None:
        """The register entry of ``key``, if the council recorded one."""
        return next((e for e in self.entries if e.community == key), None)

    def is_rejected(self, key: str) -> bool:
        """True when the council rejected ``key`` as a suggestion."""
        return any(r.community == key for r in self.rejected)


def load_communities(
    path: Path | str, departments: frozenset[str] | None = None
) -> Loaded[CommunitiesFile]:
    """Read and validate the register; ``departments`` (known ids) are checked when given.

    A missing file is an empty register with the default ``k``. Errors name file, line
    and field (:class:`common.yamlconfig.ConfigError`).
    """
    p = Path(path)
    if not p.exists():
        return Loaded(CommunitiesFile(), p, {})
    return checked(read_yaml(p, CommunitiesFile), departments)


def checked(
    loaded: Loaded[CommunitiesFile], departments: frozenset[str] | None = None
) -> Loaded[CommunitiesFile]:
    """The checks that span entries: each community once per list, known departments."""
    lists: dict[str, list[str]] = {
        "register": [e.community for e in loaded.value.entries],
        "rejected": [r.community for r in loaded.value.rejected],
    }
    for name, keys in lists.items():
        for i, key in enumerate(keys):
            if key in keys[:i]:
                raise loaded.error((name, i, "community"), f"{key} is listed twice")
    if departments is not None:
        for i, entry in enumerate(loaded.value.entries):
            if entry.department not in departments:
                raise loaded.error(
                    ("register", i, "department"),
                    f"unknown department {entry.department!r} (known: {', '.join(sorted(departments))})",
                )
    return loaded


__all__ = [
    "DEFAULT_K",
    "CommunitiesFile",
    "ConfigError",
    "Entry",
    "Rejection",
    "Space",
    "SpaceKind",
    "Stage",
    "checked",
    "load_communities",
]
