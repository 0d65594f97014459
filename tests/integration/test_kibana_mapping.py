"""Every field a Kibana view uses exists, with a fitting type, in the real Elasticsearch mapping.

The mapping is the one the local stack's real Elasticsearch returns after our
index templates are installed and a monthly index of each kind is created.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from elasticsearch import Elasticsearch

from common.elastic import alias, install_templates, monthly_index, single_index
from services.kibana.generate import build
from services.kibana.ids import data_view_id
from services.search.filters import query_fields
from services.search.settings import ViewsSettings, load_departments

NUMERIC = {"float", "half_float", "double", "long", "integer", "scaled_float"}
AGGREGATABLE = {"keyword", "date", "boolean", *NUMERIC}


@pytest.fixture
def es(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=60)
    yield client
    client.close()


def flatten(properties: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Field path → type, including multi-fields (``text.keyword``) and object leaves."""
    out: dict[str, str] = {}
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        if "properties" in spec:
            out.update(flatten(spec["properties"], f"{path}."))
            continue
        out[path] = spec.get("type", "object")
        for sub, sub_spec in spec.get("fields", {}).items():
            out[f"{path}.{sub}"] = sub_spec["type"]
    return out


def uses(obj: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, how it is used) for every field a saved object names."""
    attrs = obj["attributes"]
    kind = obj["type"]
    if kind == "index-pattern":
        yield attrs["timeFieldName"], "time"
        for name in [*json.loads(attrs["fieldFormatMap"]), *json.loads(attrs["fieldAttrs"])]:
            yield name, "any"
    meta = attrs.get("kibanaSavedObjectMeta")
    if meta:
        source = json.loads(meta["searchSourceJSON"])
        for f in source.get("filter", []):
            for name in query_fields(f["query"]):
                yield name, "query"
    if kind == "search":
        for name in attrs["columns"]:
            yield name, "any"
        for name, _ in attrs["sort"]:
            yield name, "sort"
    if kind == "lens":
        for layer in attrs["state"]["datasourceStates"]["formBased"]["layers"].values():
            for column in layer["columns"].values():
                if column["sourceField"] != "___records___":
                    yield (
                        column["sourceField"],
                        "time" if column["operationType"] == "date_histogram" else "aggregate",
                    )
    if kind == "map":
        for layer in json.loads(attrs["layerListJSON"]):
            source = layer["sourceDescriptor"]
            if source["type"] == "ES_SEARCH":
                yield source["geoField"], "geo"
                yield source["sortField"], "sort"
                for name in source["tooltipProperties"]:
                    yield name, "any"


def fits(how: str, kind: str) -> bool:
    return {
        "time": kind == "date",
        "geo": kind == "geo_point",
        "aggregate": kind in AGGREGATABLE,
        "sort": kind in AGGREGATABLE,
        "query": kind != "object",
        "any": kind != "object",
    }[how]


def test_every_view_field_is_in_the_real_mapping(es: Elasticsearch, unique_prefix: str) -> None:
    prefix = f"{unique_prefix}earshot"
    install_templates(es, prefix)
    mappings: dict[str, dict[str, str]] = {}
    for kind in ("mentions", "alerts"):
        index = monthly_index(prefix, kind, datetime(2026, 1, 15, tzinfo=UTC))
        es.indices.create(index=index)
        mapping = es.indices.get_mapping(index=index)[index]["mappings"]["properties"]
        mappings[f"{alias(prefix, kind)}*"] = flatten(mapping)
    communities = single_index(prefix, "communities")  # one index, records updated in place
    es.indices.create(index=communities)
    mapping = es.indices.get_mapping(index=communities)[communities]["mappings"]["properties"]
    mappings[f"{alias(prefix, 'communities')}*"] = flatten(mapping)
    assert mappings[f"{alias(prefix, 'mentions')}*"]["sentiment.score"] in NUMERIC

    bundle = build(load_departments(ViewsSettings()), prefix)
    problems = []
    checked = 0
    for view in bundle.spaces:
        patterns = {
            o["id"]: o["attributes"]["title"] for o in view.objects if o["type"] == "index-pattern"
        }
        mentions_view = data_view_id(view.space_id, alias(prefix, "mentions"))
        for obj in view.objects:
            refs = [r["id"] for r in obj["references"] if r["type"] == "index-pattern"]
            # An unfiltered dashboard names no data view; its filters would be on mentions.
            target = obj["id"] if obj["type"] == "index-pattern" else (refs or [mentions_view])[0]
            fields = mappings[patterns[target]]
            for name, how in uses(obj):
                checked += 1
                if name not in fields:
                    problems.append(
                        f"{view.space_id} {obj['type']} {obj['attributes']['title']!r}: no field {name}"
                    )
                elif not fits(how, fields[name]):
                    problems.append(
                        f"{view.space_id} {obj['type']}: {name} is {fields[name]}, used as {how}"
                    )
    assert checked > 200
    assert not problems, "\n".join(problems)
