"""Roles for department readers and ops, as bodies of Kibana's role API.

Kibana's ``PUT /api/security/role/<name>`` stores an ordinary Elasticsearch
role (index privileges) together with Kibana privileges per space, so one call
gives a department's readers read access to the mentions and alerts aliases and
to their own space only. Ops get full access to Earshot's indices and every space.

Document-level security (a role query limiting readers to their department's
scope) needs a Platinum or Enterprise licence: on the basic licence of the
compose stack Elasticsearch disables such a role entirely, locking readers out.
It is therefore opt-in (``--document-level-security``); without it the space
and its saved views scope what readers see, and the data are public posts with
pseudonymised authors, so that is a matter of focus rather than secrecy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from common.elastic import alias
from services.kibana.ids import OPS_ROLE, reader_role
from services.kibana.objects import json_string
from services.kibana.views import SpaceViews
from services.search.filters import one_of, scope_query

Role = dict[str, Any]
READ = ["read", "view_index_metadata"]
OPS_PRIVILEGES = [
    "read",
    "view_index_metadata",
    "write",
    "delete",
    "create_index",
    "delete_index",
    "manage",
]


def _names(index_prefix: str, kind: str) -> list[str]:
    name = alias(index_prefix, kind)
    return [name, f"{name}-*"]


def reader_roles(spaces: Sequence[SpaceViews], index_prefix: str, dls: bool) -> dict[str, Role]:
    """One read-only role per department space, keyed by role name."""
    roles: dict[str, Role] = {}
    for view in spaces:
        scope = view.scope
        if scope is None:
            continue
        mentions: dict[str, Any] = {"names": _names(index_prefix, "mentions"), "privileges": READ}
        alerts: dict[str, Any] = {"names": _names(index_prefix, "alerts"), "privileges": READ}
        # Community records hold counts only: readers see them all, their space's views scope them.
        communities = {"names": _names(index_prefix, "communities"), "privileges": READ}
        if dls:
            mentions["query"] = json_string(scope_query(scope))
            alerts["query"] = json_string(one_of("department", [scope.department]))
        roles[reader_role(scope.department)] = {
            "metadata": {"earshot": {"department": scope.department, "kind": "department-reader"}},
            "elasticsearch": {
                "cluster": [],
                "indices": [mentions, alerts, communities],
                "run_as": [],
            },
            "kibana": [{"base": ["read"], "feature": {}, "spaces": [view.space_id]}],
        }
    return roles


def ops_role(index_prefix: str) -> Role:
    """Ops: everything on Earshot's indices (retention, erasure, audit) and every Kibana space."""
    return {
        "metadata": {"earshot": {"kind": "ops"}},
        "elasticsearch": {
            "cluster": ["monitor"],
            "indices": [{"names": [f"{index_prefix}-*"], "privileges": OPS_PRIVILEGES}],
            "run_as": [],
        },
        "kibana": [{"base": ["all"], "feature": {}, "spaces": ["*"]}],
    }


def all_roles(spaces: Sequence[SpaceViews], index_prefix: str, dls: bool) -> dict[str, Role]:
    """Every role, sorted by name."""
    roles = {**reader_roles(spaces, index_prefix, dls), OPS_ROLE: ops_role(index_prefix)}
    return dict(sorted(roles.items()))


def same_role(wanted: Role, current: Role) -> bool:
    """True when Kibana's GET of a role grants exactly what ``wanted`` grants (extra keys ignored)."""

    def indices(role: Role) -> list[tuple[Any, ...]]:
        return sorted(
            (tuple(i["names"]), tuple(sorted(i["privileges"])), i.get("query"))
            for i in role.get("elasticsearch", {}).get("indices", [])
        )

    def spaces(role: Role) -> list[tuple[Any, ...]]:
        return sorted(
            (
                tuple(k.get("base", [])),
                json_string(k.get("feature", {})),
                tuple(k.get("spaces", [])),
            )
            for k in role.get("kibana", [])
        )

    es_w, es_c = wanted["elasticsearch"], current.get("elasticsearch", {})
    return (
        indices(wanted) == indices(current)
        and sorted(es_w["cluster"]) == sorted(es_c.get("cluster", []))
        and spaces(wanted) == spaces(current)
        and wanted["metadata"] == current.get("metadata")
    )
