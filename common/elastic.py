"""Elasticsearch storage contracts: client, monthly index names, aliases and templates.

Index templates live in ``deploy/elasticsearch/<kind>.template.json``; each kind
(``mentions``, ``alerts``, ...) is stored in monthly indices
``<prefix>-<kind>-YYYY.MM`` that join the alias ``<prefix>-<kind>``, so
retention is "delete old monthly indices" on any Elasticsearch.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from elasticsearch import (
    AsyncElasticsearch,
    BadRequestError,
    ConnectionError,
    ConnectionTimeout,
    Elasticsearch,
)

from common.retry import Retryable
from common.settings import ElasticsearchSettings

log = logging.getLogger(__name__)
TEMPLATES_DIR = Path(
    os.environ.get(
        "EARSHOT_ES_TEMPLATES_DIR", Path(__file__).resolve().parents[1] / "deploy" / "elasticsearch"
    )
)


def _client_options(settings: ElasticsearchSettings) -> dict[str, Any]:
    options: dict[str, Any] = {"request_timeout": 30, "max_retries": 0}
    if settings.es_username and settings.es_password:
        options["basic_auth"] = (settings.es_username, settings.es_password.get_secret_value())
    if settings.es_ca_certs:
        options["ca_certs"] = settings.es_ca_certs
    return options


def es_client(settings: ElasticsearchSettings) -> Elasticsearch:
    """A blocking client for the configured cluster (CLI, setup, tests); retries are ours."""
    return Elasticsearch(settings.es_url, **_client_options(settings))


def async_es_client(settings: ElasticsearchSettings) -> AsyncElasticsearch:
    """An asyncio client for the configured cluster (workers, notifier); retries are ours."""
    return AsyncElasticsearch(settings.es_url, **_client_options(settings))


def alias(prefix: str, kind: str) -> str:
    """The search alias over every monthly index of ``kind``."""
    return f"{prefix}-{kind}"


def monthly_index(prefix: str, kind: str, when: datetime) -> str:
    """The concrete index a document of ``kind`` dated ``when`` is written to."""
    return f"{prefix}-{kind}-{when:%Y.%m}"


def single_index(prefix: str, kind: str) -> str:
    """The one index of a kind whose documents are updated in place (``communities``).

    It matches the kind's template pattern, so it gets the mapping and joins the alias;
    the ``v1`` is the mapping's version (a breaking mapping change is a new index).
    """
    return f"{prefix}-{kind}-v1"


def template_kinds() -> list[str]:
    """Kinds that have a template file."""
    return sorted(
        p.name.removesuffix(".template.json") for p in TEMPLATES_DIR.glob("*.template.json")
    )


def template_body(prefix: str, kind: str) -> dict[str, Any]:
    """The composable index template for ``kind`` with patterns and alias for ``prefix``."""
    raw: dict[str, Any] = json.loads((TEMPLATES_DIR / f"{kind}.template.json").read_text())
    body = {k: v for k, v in raw.items() if not k.startswith("_")}
    body["index_patterns"] = [f"{prefix}-{kind}-*"]
    body.setdefault("template", {})["aliases"] = {alias(prefix, kind): {}}
    return body


def _existing_indices_mapping(prefix: str, kind: str) -> dict[str, Any]:
    """put_mapping arguments giving the monthly indices that exist the template's fields.

    A template only shapes indices created after it; fields a new version adds
    (additive, so allowed on a live index) must reach this month's index too, or
    a strict mapping rejects documents carrying them until the month turns.
    """
    properties = template_body(prefix, kind)["template"].get("mappings", {}).get("properties", {})
    return {
        "index": f"{prefix}-{kind}-*",
        "properties": properties,
        "allow_no_indices": True,
        "ignore_unavailable": True,
    }


def install_templates(client: Elasticsearch, prefix: str) -> list[str]:
    """Put every index template (idempotent), add new fields to existing indices; return names."""
    names = []
    for kind in template_kinds():
        name = f"{prefix}-{kind}"
        client.indices.put_index_template(name=name, **template_body(prefix, kind))
        try:
            client.indices.put_mapping(**_existing_indices_mapping(prefix, kind))
        except BadRequestError as exc:
            log.warning("existing %s indices keep their mapping (%s)", name, exc)
        names.append(name)
    return names


async def install_templates_async(client: AsyncElasticsearch, prefix: str) -> list[str]:
    """Async twin of :func:`install_templates`; raises Retryable while the cluster is unreachable."""
    names = []
    try:
        for kind in template_kinds():
            name = f"{prefix}-{kind}"
            await client.indices.put_index_template(name=name, **template_body(prefix, kind))
            try:
                await client.indices.put_mapping(**_existing_indices_mapping(prefix, kind))
            except BadRequestError as exc:
                log.warning("existing %s indices keep their mapping (%s)", name, exc)
            names.append(name)
    except (ConnectionError, ConnectionTimeout) as exc:
        raise Retryable(f"Elasticsearch unreachable: {exc}") from exc
    return names
