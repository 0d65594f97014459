"""The routing rules a worker runs: the departments file, loaded now and reloaded on change."""

from __future__ import annotations

import logging
from pathlib import Path

from common.routing.load import load_routing, taxonomy_topics
from common.routing.reload import Reloading
from pipelines.settings import PipelineSettings
from pipelines.steps.rules import RuleEngine

log = logging.getLogger(__name__)


def routing_file(settings: PipelineSettings) -> Path:
    """The departments file the worker reads."""
    return settings.departments_file or settings.config_dir / "departments.yaml"


def load_rules(settings: PipelineSettings) -> Reloading[RuleEngine]:
    """Load the rules now (raising on a broken file) into a reloading holder."""
    known = taxonomy_topics(settings.config_dir)
    rules = Reloading(
        routing_file(settings), lambda p: RuleEngine(load_routing(p, known)), "routing rules"
    )
    config = rules.current.config
    log.info(
        "routing: %d rules for %d departments from %s",
        len(rules.current.rules),
        len(config.departments),
        rules.path,
    )
    return rules
