"""Read ``departments.yaml``: schema validation, then the checks that span entries.

Both kinds of error are :class:`common.yamlconfig.ConfigError` naming file,
line and field, e.g. ``departments.yaml:88: rules.3.department: unknown
department 'haringey-highway'``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from pathlib import Path

from common.routing.config import RoutingConfig
from common.taxonomy import Taxonomy
from common.yamlconfig import read_yaml


def load_routing(path: Path, known_topics: Collection[str] | None = None) -> RoutingConfig:
    """Read and check a routing file; ``known_topics`` (taxonomy ids) catches topic typos."""
    loaded = read_yaml(path, RoutingConfig)
    for loc, message in _problems(loaded.value, known_topics):
        raise loaded.error(loc, message)
    return loaded.value


def taxonomy_topics(config_dir: Path) -> frozenset[str] | None:
    """Topic ids of ``<config_dir>/topics.yaml``, or None when the deployment has none."""
    path = config_dir / "topics.yaml"
    if not path.exists():
        return None
    return frozenset(t.id for t in Taxonomy.load(path).topics)


def _problems(
    config: RoutingConfig, known_topics: Collection[str] | None
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    seen: dict[str, int] = {}
    for i, dept in enumerate(config.departments):
        if dept.id in seen:
            yield ("departments", i, "id"), f"department {dept.id!r} is defined twice"
        seen[dept.id] = i
        if known_topics is not None:
            for j, topic in enumerate(dept.owns_topics):
                if topic not in known_topics:
                    yield ("departments", i, "owns_topics", j), f"unknown topic {topic!r}"
    rule_ids: set[str] = set()
    for i, rule in enumerate(config.rules):
        if rule.id in rule_ids:
            yield ("rules", i, "id"), f"rule {rule.id!r} is defined twice"
        rule_ids.add(rule.id)
        owner = config.department(rule.department)
        if owner is None:
            yield ("rules", i, "department"), f"unknown department {rule.department!r}"
            continue
        if owner.council is not None:
            for j, council in enumerate(rule.councils):
                if council != owner.council:
                    yield (
                        ("rules", i, "councils", j),
                        f"{council} is not the council of department {owner.id!r} ({owner.council})",
                    )
        if known_topics is None:
            continue
        clauses = {
            "topics.any": rule.topics.any if rule.topics else (),
            "topics.all": rule.topics.all if rule.topics else (),
            "exclude.topics": rule.exclude.topics,
        }
        for name, topics in clauses.items():
            for j, topic in enumerate(topics):
                if topic not in known_topics:
                    yield ("rules", i, *name.split("."), j), f"unknown topic {topic!r}"
