"""The generated Kibana saved objects, checked as files (Kibana cannot run here)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from common.routing.config import Department, RoutingConfig
from services.kibana.generate import Bundle, build, stale_files
from services.kibana.ids import DEFAULT_SPACE, OPS_ROLE, object_id, reader_role
from services.search.filters import SearchFilters, build_query
from services.search.settings import ViewsSettings, load_departments

ROOT = Path(__file__).resolve().parents[2]
KIBANA_DIR = ROOT / "deploy" / "kibana"
REQUIRED = (
    "id",
    "type",
    "attributes",
    "references",
    "coreMigrationVersion",
    "typeMigrationVersion",
)
JSON_STRINGS = {
    "index-pattern": (
        "fieldFormatMap",
        "fieldAttrs",
        "fields",
        "runtimeFieldMap",
        "sourceFilters",
        "typeMeta",
    ),
    "map": ("layerListJSON", "mapStateJSON", "uiStateJSON"),
    "dashboard": ("panelsJSON", "optionsJSON"),
}


@pytest.fixture(scope="module")
def config() -> RoutingConfig:
    return load_departments(ViewsSettings())


@pytest.fixture(scope="module")
def bundle(config: RoutingConfig) -> Bundle:
    return build(config, "earshot")


def committed() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    for path in sorted((KIBANA_DIR / "objects").glob("*.ndjson")):
        lines = path.read_text(encoding="utf-8").splitlines()
        yield path.stem, [json.loads(line) for line in lines]


def test_committed_files_are_what_the_config_generates(bundle: Bundle) -> None:
    assert stale_files(KIBANA_DIR, bundle.files()) == [], "run: earshot kibana generate"


def test_regeneration_is_byte_identical(config: RoutingConfig, bundle: Bundle) -> None:
    assert build(config, "earshot").files() == bundle.files()


def test_every_line_parses_and_has_the_required_keys() -> None:
    spaces = dict(committed())
    assert DEFAULT_SPACE in spaces and len(spaces) > 1
    for space, objects in spaces.items():
        for obj in objects:
            missing = [k for k in REQUIRED if k not in obj]
            assert not missing, f"{space} {obj.get('type')} {obj.get('id')} lacks {missing}"
            assert obj["attributes"].get("title"), f"{space} {obj['id']} has no title"


def _json_strings(obj: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    attrs = obj["attributes"]
    for key in JSON_STRINGS.get(obj["type"], ()):
        yield key, json.loads(attrs[key])
    meta = attrs.get("kibanaSavedObjectMeta")
    if meta is not None:
        yield "searchSourceJSON", json.loads(meta["searchSourceJSON"])


def test_json_strings_inside_parse() -> None:
    for _, objects in committed():
        for obj in objects:
            parsed = dict(_json_strings(obj))
            if obj["type"] in ("search", "dashboard"):
                assert "searchSourceJSON" in parsed
            if obj["type"] == "lens":
                assert obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]


def _ref_names(obj: dict[str, Any]) -> Iterator[str]:
    """Every reference name the object's own attributes point at."""
    parsed = dict(_json_strings(obj))
    source = parsed.get("searchSourceJSON", {})
    if "indexRefName" in source:
        yield source["indexRefName"]
    for f in source.get("filter", []):
        yield f["meta"]["indexRefName"]
    for panel in parsed.get("panelsJSON", []):
        yield f"{panel['panelIndex']}:{panel['panelRefName']}"
    for layer in parsed.get("layerListJSON", []):
        ref_name = layer.get("sourceDescriptor", {}).get("indexPatternRefName")
        if ref_name:
            yield ref_name
    if obj["type"] == "lens":
        for layer in obj["attributes"]["state"]["datasourceStates"]["formBased"]["layers"]:
            yield f"indexpattern-datasource-layer-{layer}"


def test_every_reference_resolves_in_its_own_space() -> None:
    for space, objects in committed():
        present = {(o["type"], o["id"]) for o in objects}
        for obj in objects:
            names = {r["name"] for r in obj["references"]}
            for r in obj["references"]:
                assert (r["type"], r["id"]) in present, (
                    f"{space}: {obj['id']} → {r} is not in the file"
                )
            for wanted in _ref_names(obj):
                assert wanted in names, (
                    f"{space}: {obj['type']} {obj['id']} uses {wanted!r}, no such reference"
                )


def test_ids_are_unique_across_all_spaces() -> None:
    seen: dict[str, str] = {}
    for space, objects in committed():
        for obj in objects:
            assert obj["id"] not in seen, f"{obj['id']} in {seen.get(obj['id'])} and {space}"
            seen[obj["id"]] = space


def test_default_space_views(bundle: Bundle) -> None:
    default = bundle.spaces[0]
    mentions = next(o for o in default.objects if o["id"] == "earshot-mentions")
    assert mentions["attributes"]["title"] == "earshot-mentions*"
    assert mentions["attributes"]["timeFieldName"] == "created_at"
    formats = json.loads(mentions["attributes"]["fieldFormatMap"])
    assert formats["sentiment.score"]["id"] == "number"
    assert formats["source.url"]["id"] == "url"
    alerts = next(o for o in default.objects if o["id"] == "earshot-alerts")
    assert alerts["attributes"]["timeFieldName"] == "sent_at"
    board = default.find("dashboard", "dashboard/overview")
    kinds = [p["type"] for p in json.loads(board["attributes"]["panelsJSON"])]
    assert kinds == ["lens", "map", "lens", "lens", "search", "search"]


def test_department_views_apply_the_same_filter_as_earshot_search(
    config: RoutingConfig, bundle: Bundle
) -> None:
    for view in bundle.spaces[1:]:
        search = view.find("search", "search/mentions")
        source = json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        cli = build_query(SearchFilters(department=view.space_id), config)
        assert [f["query"] for f in source["filter"]] == [cli]
        board = view.find("dashboard", "dashboard/overview")
        board_source = json.loads(board["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
        assert [f["query"] for f in board_source["filter"]] == [cli]


def test_adding_a_department_adds_its_space_and_views(config: RoutingConfig) -> None:
    extra = Department.model_validate(
        {
            "id": "haringey-parking",
            "name": "Parking (Haringey)",
            "council": "E09000014",
            "addresses": ["parking@haringey.example"],
            "owns_topics": ["parking"],
            "digest": {"every": "daily"},
            "kibana_link": "{kibana}/app/discover",
        }
    )
    grown = build(
        config.model_copy(update={"departments": (*config.departments, extra)}), "earshot"
    )
    files = grown.files()
    assert "objects/haringey-parking.ndjson" in files
    assert f"roles/{reader_role('haringey-parking')}.json" in files
    assert any(v.body and v.body["id"] == "haringey-parking" for v in grown.spaces)
    before = build(config, "earshot").files()
    assert all(files[k] == v for k, v in before.items() if k not in ("spaces.json", "links.json"))


def test_roles_give_each_reader_their_space_only(bundle: Bundle) -> None:
    departments = [v.space_id for v in bundle.spaces[1:]]
    assert set(bundle.roles) == {OPS_ROLE, *(reader_role(d) for d in departments)}
    for dept in departments:
        role = bundle.roles[reader_role(dept)]
        assert role["kibana"] == [{"base": ["read"], "feature": {}, "spaces": [dept]}]
        for index in role["elasticsearch"]["indices"]:
            assert set(index["privileges"]) == {"read", "view_index_metadata"}
            assert "query" not in index  # basic licence: no document-level security by default
    assert bundle.roles[OPS_ROLE]["kibana"][0]["spaces"] == ["*"]


def test_document_level_security_is_opt_in_and_uses_the_scope(config: RoutingConfig) -> None:
    role = build(config, "earshot", dls=True).roles[reader_role("haringey-waste")]
    mentions, alerts, communities = role["elasticsearch"]["indices"]
    assert json.loads(mentions["query"]) == build_query(
        SearchFilters(department="haringey-waste"), config
    )
    assert json.loads(alerts["query"]) == {"term": {"department": "haringey-waste"}}
    assert communities["names"] == ["earshot-communities", "earshot-communities-*"]
    assert "query" not in communities  # counts only, nothing to hide between departments


def test_every_space_has_a_communities_dashboard_scoped_like_its_digest(bundle: Bundle) -> None:
    waste = next(v for v in bundle.spaces if v.space_id == "haringey-waste")
    board = waste.find("dashboard", "dashboard/communities")
    search = waste.find("search", "search/communities")
    (pill,) = json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])[
        "filter"
    ]
    assert pill["query"]["bool"]["filter"] == [{"term": {"council_codes": "E09000014"}}]
    assert {"term": {"register.department": "haringey-waste"}} in pill["query"]["bool"]["should"]
    assert any("topic_ids" in json.dumps(q) for q in pill["query"]["bool"]["should"])
    panels = {r["id"] for r in board["references"] if r["type"] != "index-pattern"}
    assert search["id"] in panels and len(panels) == 3
    default = next(v for v in bundle.spaces if v.space_id == DEFAULT_SPACE)
    overall = default.find("search", "search/communities")
    assert (
        json.loads(overall["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["filter"]
        == []
    )


def test_link_templates_fit_the_departments_file(bundle: Bundle) -> None:
    links = json.loads((KIBANA_DIR / "links.json").read_text())
    for space, paths in links.items():
        if space == DEFAULT_SPACE:
            continue
        assert paths["discover"].endswith(object_id(space, "search/mentions"))
        Department.model_validate(
            {
                "id": space,
                "name": space,
                "addresses": ["a@b.example"],
                "digest": {"every": "daily"},
                "kibana_link": paths["kibana_link"],
            }
        )
