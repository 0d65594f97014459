"""Stable ids for Kibana spaces, saved objects and roles, so regeneration is byte-identical.

Kibana wants a saved object id to be unique across *all* spaces: importing an id
that already lives in another space makes Kibana invent a random one, and the
import stops being idempotent. So every id here includes its space.

Two ids are readable on purpose: the default space's data views are called
after their aliases (``earshot-mentions``, ``earshot-alerts``), because the
departments file's link templates name ``dataViewId:earshot-mentions``.
"""

from __future__ import annotations

import uuid

DEFAULT_SPACE = "default"
NAMESPACE = uuid.UUID("6f1d2c9e-6b7a-5b1e-9c1a-2e0a5d3b7c41")
"""Fixed forever: changing it changes every id and breaks links to saved views."""


def object_id(space: str, logical: str) -> str:
    """The id of the saved object called ``logical`` (e.g. ``search/mentions``) in ``space``."""
    return str(uuid.uuid5(NAMESPACE, f"{space}/{logical}"))


def data_view_id(space: str, alias_name: str) -> str:
    """Data view over ``<alias>*``: the alias name in the default space, else a uuid5."""
    if space == DEFAULT_SPACE:
        return alias_name
    return object_id(space, f"index-pattern/{alias_name}")


def reader_role(department: str) -> str:
    """The role of a department's readers (Kibana role names allow letters, digits, ``_-``)."""
    return f"earshot_reader_{department}"


OPS_ROLE = "earshot_ops"
