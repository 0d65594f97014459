"""Builders of Kibana 8.19 saved objects: data views, saved searches, dashboards (charts: ``charts``).

Each builder returns one object in the export format (``id``, ``type``,
``attributes``, ``references``, ``coreMigrationVersion``, ``typeMigrationVersion``).
The migration versions are the ones Kibana's own 8.x sample data carries: on
import Kibana migrates an object forward from its stated version, and refuses
one that claims a version newer than it knows, so they stay conservative.
Attributes that Kibana stores as JSON strings are serialised with sorted keys
so a regeneration is byte-identical.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from services.search.filters import Query

Obj = dict[str, Any]
CORE_MIGRATION = "8.8.0"
TYPE_MIGRATION = {
    "index-pattern": "8.0.0",
    "search": "7.9.3",
    "lens": "8.9.0",
    "map": "8.4.0",
    "dashboard": "8.7.0",
}
PANEL_VERSION = "8.8.0"
INDEX_REF = "kibanaSavedObjectMeta.searchSourceJSON.index"
EMPTY_QUERY = {"query": "", "language": "kuery"}


def json_string(value: Any) -> str:
    """The compact, key-sorted JSON Kibana keeps in string attributes."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def ref(name: str, kind: str, target: str) -> Obj:
    """One entry of an object's ``references``."""
    return {"name": name, "type": kind, "id": target}


def saved_object(kind: str, oid: str, attributes: Obj, references: Sequence[Obj] = ()) -> Obj:
    """A saved object in Kibana's export format, with this module's migration versions."""
    return {
        "id": oid,
        "type": kind,
        "attributes": attributes,
        "references": list(references),
        "coreMigrationVersion": CORE_MIGRATION,
        "typeMigrationVersion": TYPE_MIGRATION[kind],
        "managed": False,
    }


def custom_filter(query: Query, alias: str, position: int) -> Obj:
    """A Kibana filter pill holding raw query DSL (the ``meta.index`` is in the references)."""
    return {
        "$state": {"store": "appState"},
        "meta": {
            "alias": alias,
            "disabled": False,
            "indexRefName": f"kibanaSavedObjectMeta.searchSourceJSON.filter[{position}].meta.index",
            "key": "query",
            "negate": False,
            "type": "custom",
        },
        "query": query,
    }


def search_source(filters: Sequence[tuple[Query, str]], data_view_id: str) -> tuple[Obj, list[Obj]]:
    """A search source with custom DSL filters (no query), and the references it needs."""
    source: Obj = {
        "query": EMPTY_QUERY,
        "filter": [custom_filter(q, alias, i) for i, (q, alias) in enumerate(filters)],
    }
    refs = [
        ref(
            f"kibanaSavedObjectMeta.searchSourceJSON.filter[{i}].meta.index",
            "index-pattern",
            data_view_id,
        )
        for i in range(len(filters))
    ]
    return source, refs


def data_view(
    oid: str,
    pattern: str,
    *,
    name: str,
    time_field: str,
    formats: Obj | None = None,
    labels: dict[str, str] | None = None,
) -> Obj:
    """A data view over ``pattern``, with field formats and custom field labels."""
    attributes = {
        "title": pattern,
        "name": name,
        "timeFieldName": time_field,
        "allowNoIndex": True,
        "fieldFormatMap": json_string(formats or {}),
        "fieldAttrs": json_string({f: {"customLabel": lbl} for f, lbl in (labels or {}).items()}),
        "fields": "[]",
        "runtimeFieldMap": "{}",
        "sourceFilters": "[]",
        "typeMeta": "{}",
    }
    return saved_object("index-pattern", oid, attributes)


def saved_search(
    oid: str,
    title: str,
    *,
    description: str,
    data_view_id: str,
    columns: Sequence[str],
    sort_field: str,
    filters: Sequence[tuple[Query, str]] = (),
) -> Obj:
    """A Discover saved search: columns, newest first, and custom DSL filters."""
    source, filter_refs = search_source(filters, data_view_id)
    source.update({"highlightAll": True, "version": True, "indexRefName": INDEX_REF})
    refs = [ref(INDEX_REF, "index-pattern", data_view_id), *filter_refs]
    attributes = {
        "title": title,
        "description": description,
        "columns": list(columns),
        "sort": [[sort_field, "desc"]],
        "hits": 0,
        "version": 1,
        "kibanaSavedObjectMeta": {"searchSourceJSON": json_string(source)},
    }
    return saved_object("search", oid, attributes, refs)


def dashboard(
    oid: str,
    title: str,
    *,
    description: str,
    panels: Sequence[tuple[Obj, tuple[int, int, int, int]]],
    filters: Sequence[tuple[Query, str]],
    data_view_id: str,
) -> Obj:
    """A dashboard of saved objects placed at (x, y, w, h), with dashboard-wide DSL filters."""
    panel_list = []
    refs = []
    for n, (target, (x, y, w, h)) in enumerate(panels, start=1):
        index = f"p{n}"
        panel_list.append(
            {
                "embeddableConfig": {"enhancements": {}},
                "gridData": {"h": h, "i": index, "w": w, "x": x, "y": y},
                "panelIndex": index,
                "panelRefName": f"panel_{index}",
                "type": target["type"],
                "version": PANEL_VERSION,
            }
        )
        refs.append(ref(f"{index}:panel_{index}", target["type"], target["id"]))
    source, filter_refs = search_source(filters, data_view_id)
    attributes = {
        "title": title,
        "description": description,
        "panelsJSON": json_string(panel_list),
        "optionsJSON": json_string(
            {
                "hidePanelTitles": False,
                "syncColors": False,
                "syncCursor": True,
                "syncTooltips": False,
                "useMargins": True,
            }
        ),
        "kibanaSavedObjectMeta": {"searchSourceJSON": json_string(source)},
        "refreshInterval": {"pause": True, "value": 60000},
        "timeFrom": "now-30d",
        "timeRestore": True,
        "timeTo": "now",
        "version": 1,
    }
    return saved_object("dashboard", oid, attributes, [*filter_refs, *refs])
