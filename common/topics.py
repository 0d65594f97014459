"""Reading the topic declarations (``schemas/topics/*.yaml``) and creating the topics.

``earshot topics`` makes every declared topic exist on a broker with its partitions
and config; running it again changes nothing except bringing drifted configs back to
the declaration.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from kafka.admin import (
    ConfigResource,
    ConfigResourceType,
    KafkaAdminClient,
    NewPartitions,
    NewTopic,
)
from kafka.errors import TopicAlreadyExistsError

from common.yamlconfig import ConfigError, load_yaml
from schemas.topics import TopicDeclaration, declarations_dir


@cache
def declarations() -> dict[str, TopicDeclaration]:
    """Every declared topic by name, read from the YAML files shipped with ``schemas``."""
    found: dict[str, TopicDeclaration] = {}
    for path in sorted(declarations_dir().glob("*.yaml")):
        decl = load_yaml(path, TopicDeclaration)
        if f"{decl.name}.yaml" != path.name:
            raise ConfigError(path, 1, "name", f"must match the file name ({path.stem})")
        decl.check_schema()
        found[decl.name] = decl
    return found


def ensure_topics(
    bootstrap: str,
    prefix: str = "",
    replication_factor: int = 1,
    names: Sequence[str] | None = None,
) -> list[str]:
    """Create missing topics, grow partitions, and align configs; return what changed."""
    wanted = [d for n, d in declarations().items() if names is None or n in names]
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="earshot-topics")
    changes: list[str] = []
    try:
        existing = admin.describe_topics([prefix + d.name for d in wanted])
        by_name = {t["name"]: t for t in existing if not t.get("error_code")}
        for decl in wanted:
            physical = prefix + decl.name
            configs = {k: str(v) for k, v in decl.config.items()}
            if physical not in by_name:
                try:
                    admin.create_topics(
                        [
                            NewTopic(
                                physical, decl.partitions, replication_factor, topic_configs=configs
                            )
                        ]
                    )
                    changes.append(f"created {physical} ({decl.partitions} partitions)")
                except TopicAlreadyExistsError:
                    pass
                continue
            have = len(by_name[physical]["partitions"])
            if have < decl.partitions:
                admin.create_partitions({physical: NewPartitions(decl.partitions)})
                changes.append(f"grew {physical} from {have} to {decl.partitions} partitions")
            resource = ConfigResource(ConfigResourceType.TOPIC, physical, configs=configs)
            current = _current_configs(admin, physical, configs)
            if current != configs:
                admin.alter_configs([resource])
                changes.append(f"aligned config of {physical}")
    finally:
        admin.close()
    return changes


def _current_configs(admin: KafkaAdminClient, topic: str, keys: dict[str, str]) -> dict[str, str]:
    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    entries: dict[str, dict[str, object]] = described.get("topic", {}).get(topic, {})
    return {name: str(entry["value"]) for name, entry in entries.items() if name in keys}


class TopicsNotReady(RuntimeError):
    """A process's topics are missing or not as declared; the message says which and how to fix."""


def topic_problems(
    bootstrap: str, prefix: str, names: Sequence[str], *, admin: KafkaAdminClient | None = None
) -> list[str]:
    """What is wrong with the declared topics ``names`` on the broker (empty when all is well)."""
    wanted = [declarations()[name] for name in names]
    own = admin is None
    client = admin or KafkaAdminClient(bootstrap_servers=bootstrap, client_id="earshot-topics")
    try:
        described = client.describe_topics([prefix + d.name for d in wanted])
    finally:
        if own:
            client.close()
    found = {t["name"]: t for t in described if not t.get("error_code")}
    problems = []
    for decl in wanted:
        physical = prefix + decl.name
        if physical not in found:
            problems.append(f"{physical} is missing")
            continue
        have = len(found[physical]["partitions"])
        if have != decl.partitions:
            problems.append(f"{physical} has {have} partitions, declared {decl.partitions}")
    return problems


def require_topics(
    bootstrap: str, prefix: str, names: Sequence[str], *, admin: KafkaAdminClient | None = None
) -> None:
    """Raise TopicsNotReady unless every topic in ``names`` exists with its declared partitions."""
    problems = topic_problems(bootstrap, prefix, names, admin=admin)
    if problems:
        raise TopicsNotReady(
            "topics not as declared: " + "; ".join(problems) + " (run: earshot topics)"
        )
