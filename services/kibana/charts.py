"""Builders of the dashboard's charts: Lens bar charts and the map of mention points.

Column, layer and source ids inside a chart are uuid5s of the chart's space
and name, so a regenerated chart is byte-identical to the committed one.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.kibana.ids import object_id
from services.kibana.objects import EMPTY_QUERY, Obj, json_string, ref, saved_object
from services.search.questions import MAP_TOOLTIP, TIME_FIELD, Breakdown


def _count_column(label: str = "Mentions") -> Obj:
    return {
        "customLabel": True,
        "dataType": "number",
        "isBucketed": False,
        "label": label,
        "operationType": "count",
        "params": {"emptyAsNull": True},
        "scale": "ratio",
        "sourceField": "___records___",
    }


def _terms_column(b: Breakdown, order_by: str, missing: bool) -> Obj:
    return {
        "customLabel": True,
        "dataType": "string",
        "isBucketed": True,
        "label": b.label,
        "operationType": "terms",
        "params": {
            "missingBucket": missing,
            "orderBy": {"columnId": order_by, "type": "column"},
            "orderDirection": "desc",
            "otherBucket": False,
            "parentFormat": {"id": "terms"},
            "size": b.size,
        },
        "scale": "ordinal",
        "sourceField": b.field,
    }


def _xy(layer: str, series: str, x: str, y: str, split: str | None) -> Obj:
    visible = {"x": True, "yLeft": True, "yRight": True}
    layer_state: Obj = {
        "accessors": [y],
        "layerId": layer,
        "layerType": "data",
        "seriesType": series,
        "xAccessor": x,
    }
    if split is not None:
        layer_state["splitAccessor"] = split
    return {
        "axisTitlesVisibilitySettings": visible,
        "fittingFunction": "None",
        "gridlinesVisibilitySettings": visible,
        "layers": [layer_state],
        "legend": {"isVisible": split is not None, "position": "right"},
        "preferredSeriesType": series,
        "tickLabelsVisibilitySettings": visible,
        "valueLabels": "hide",
    }


def lens(
    space: str,
    logical: str,
    *,
    title: str,
    description: str,
    data_view_id: str,
    columns: Obj,
    visualization: Obj,
    layer: str,
) -> Obj:
    """A Lens object (by reference) with one form-based layer over ``data_view_id``."""
    state = {
        "adHocDataViews": {},
        "datasourceStates": {
            "formBased": {
                "layers": {
                    layer: {
                        "columnOrder": list(columns),
                        "columns": columns,
                        "incompleteColumns": {},
                    }
                }
            }
        },
        "filters": [],
        "internalReferences": [],
        "query": EMPTY_QUERY,
        "visualization": visualization,
    }
    refs = [
        ref("indexpattern-datasource-current-indexpattern", "index-pattern", data_view_id),
        ref(f"indexpattern-datasource-layer-{layer}", "index-pattern", data_view_id),
    ]
    attributes = {
        "title": title,
        "description": description,
        "visualizationType": "lnsXY",
        "state": state,
    }
    return saved_object("lens", object_id(space, logical), attributes, refs)


def volume_chart(space: str, data_view_id: str, split: Breakdown) -> Obj:
    """Stacked bars of mentions over time, split by ``split`` (sentiment), unscored included."""
    logical = f"lens/{split.key}-over-time"
    layer, x, y, s = (
        object_id(space, f"{logical}/{part}") for part in ("layer", "x", "y", "split")
    )
    columns = {
        s: _terms_column(split, y, missing=True),
        x: {
            "dataType": "date",
            "isBucketed": True,
            "label": TIME_FIELD,
            "operationType": "date_histogram",
            "params": {"dropPartials": False, "includeEmptyRows": True, "interval": "auto"},
            "scale": "interval",
            "sourceField": TIME_FIELD,
        },
        y: _count_column(),
    }
    vis = _xy(layer, "bar_stacked", x, y, s)
    return lens(
        space,
        logical,
        title=split.title,
        description="Mentions per interval; no sentiment = not scored (e.g. Welsh).",
        data_view_id=data_view_id,
        columns=columns,
        visualization=vis,
        layer=layer,
    )


def top_chart(space: str, data_view_id: str, b: Breakdown, count_label: str = "Mentions") -> Obj:
    """Horizontal bars of the top ``b.size`` values of ``b.field`` by document count."""
    logical = f"lens/top-{b.key}"
    layer, x, y = (object_id(space, f"{logical}/{part}") for part in ("layer", "x", "y"))
    columns = {x: _terms_column(b, y, missing=False), y: _count_column(count_label)}
    vis = _xy(layer, "bar_horizontal", x, y, None)
    return lens(
        space,
        logical,
        title=b.title,
        description=f"{count_label} per {b.label.lower()}, top {b.size}.",
        data_view_id=data_view_id,
        columns=columns,
        visualization=vis,
        layer=layer,
    )


def _points_layer(space: str, geo_field: str, label: str, color: str, number: int) -> Obj:
    layer_id = object_id(space, f"map/layer/{geo_field}")
    static = {"type": "STATIC"}
    return {
        "alpha": 0.8,
        "id": layer_id,
        "includeInFitToBounds": True,
        "joins": [],
        "label": label,
        "maxZoom": 24,
        "minZoom": 0,
        "sourceDescriptor": {
            "applyForceRefresh": True,
            "applyGlobalQuery": True,
            "applyGlobalTime": True,
            "filterByMapBounds": True,
            "geoField": geo_field,
            "id": object_id(space, f"map/source/{geo_field}"),
            "indexPatternRefName": f"layer_{number}_source_index_pattern",
            "scalingType": "CLUSTERS",
            "sortField": TIME_FIELD,
            "sortOrder": "desc",
            "tooltipProperties": list(MAP_TOOLTIP),
            "topHitsSize": 1,
            "topHitsSplitField": "",
            "type": "ES_SEARCH",
        },
        "style": {
            "isTimeAware": True,
            "properties": {
                "fillColor": {**static, "options": {"color": color}},
                "icon": {**static, "options": {"value": "marker"}},
                "iconSize": {**static, "options": {"size": 6}},
                "lineColor": {**static, "options": {"color": "#FFFFFF"}},
                "lineWidth": {**static, "options": {"size": 1}},
                "symbolizeAs": {"options": {"value": "circle"}},
            },
            "type": "VECTOR",
        },
        "type": "GEOJSON_VECTOR",
        "visible": True,
    }


def points_map(space: str, data_view_id: str, geo_fields: Sequence[tuple[str, str]]) -> Obj:
    """A map of mention points, one layer per (geo field, label), fitted to the data."""
    basemap = {
        "alpha": 1,
        "id": "basemap",
        "includeInFitToBounds": True,
        "label": None,
        "maxZoom": 24,
        "minZoom": 0,
        "sourceDescriptor": {
            "isAutoSelect": True,
            "lightModeDefault": "road_map_desaturated",
            "type": "EMS_TMS",
        },
        "style": {"color": "", "type": "EMS_VECTOR_TILE"},
        "type": "EMS_VECTOR_TILE",
        "visible": True,
    }
    colors = ("#D36086", "#6092C0")
    layers = [basemap] + [
        _points_layer(space, f, label, colors[i % 2], i + 1)
        for i, (f, label) in enumerate(geo_fields)
    ]
    map_state = {
        "center": {"lat": 53.5, "lon": -2.5},
        "filters": [],
        "query": EMPTY_QUERY,
        "refreshConfig": {"interval": 60000, "isPaused": True},
        "settings": {"autoFitToDataBounds": True},
        "zoom": 5.5,
    }
    attributes = {
        "title": "Where mentions are",
        "description": "Mention points: the place Earshot resolved, and coordinates a source gave.",
        "layerListJSON": json_string(layers),
        "mapStateJSON": json_string(map_state),
        "uiStateJSON": json_string({"isLayerTOCOpen": True, "openTOCDetails": []}),
    }
    refs = [
        ref(f"layer_{i + 1}_source_index_pattern", "index-pattern", data_view_id)
        for i in range(len(geo_fields))
    ]
    return saved_object("map", object_id(space, "map/points"), attributes, refs)
