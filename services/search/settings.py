"""Settings shared by ``earshot search`` and ``earshot kibana``: the cluster and the departments file."""

from __future__ import annotations

from pathlib import Path

from common.routing.config import RoutingConfig
from common.routing.load import load_routing
from common.settings import ElasticsearchSettings
from common.taxonomy import Taxonomy

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"


class ViewsSettings(ElasticsearchSettings):
    """Where Elasticsearch is, and the council-edited files the views are derived from."""

    departments_file: Path = CONFIG_DIR / "departments.yaml"
    topics_file: Path = CONFIG_DIR / "topics.yaml"


def load_departments(settings: ViewsSettings) -> RoutingConfig:
    """The departments config, checked against the topic taxonomy when there is one."""
    known = None
    if settings.topics_file.exists():
        known = frozenset(t.id for t in Taxonomy.load(settings.topics_file).topics)
    return load_routing(settings.departments_file, known)
