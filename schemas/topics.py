"""Topic declarations (``schemas/topics/*.yaml``) and the command that creates them.

``python -m schemas.topics create`` makes every declared topic exist on a broker
with its partitions and config; running it again changes nothing except
bringing drifted configs back to the declaration.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from kafka.admin import (
    ConfigResource,
    ConfigResourceType,
    KafkaAdminClient,
    NewPartitions,
    NewTopic,
)
from kafka.errors import TopicAlreadyExistsError
from pydantic import BaseModel, ConfigDict, Field

from schemas.codec import SCHEMA_NAMES
from schemas.settings import KafkaSettings, load_settings
from schemas.yamlconfig import ConfigError, load_yaml

log = logging.getLogger(__name__)


class TopicDeclaration(BaseModel):
    """One topic as declared in YAML."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9._-]+$")
    description: str
    owner: Literal["ingest", "pipelines", "notifier", "ops"]
    schema_: str | None = Field(alias="schema")
    key: str
    partitions: int = Field(ge=1, le=64)
    config: dict[str, str | int]

    def check_schema(self) -> None:
        if self.schema_ is not None and self.schema_ not in SCHEMA_NAMES:
            raise ValueError(f"topic {self.name}: unknown schema {self.schema_!r}")


@cache
def declarations() -> dict[str, TopicDeclaration]:
    """Every declared topic by name, read from the YAML files shipped with ``schemas``."""
    folder = Path(str(resources.files("schemas").joinpath("topics")))
    found: dict[str, TopicDeclaration] = {}
    for path in sorted(folder.glob("*.yaml")):
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


class TopicsSettings(KafkaSettings):
    replication_factor: int = 1


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: ``python -m schemas.topics {list,create}``."""
    parser = argparse.ArgumentParser(prog="earshot-topics", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="print the declared topics")
    create = sub.add_parser("create", help="create every declared topic, idempotently")
    create.add_argument(
        "--bootstrap", help="Kafka bootstrap servers (default EARSHOT_KAFKA_BOOTSTRAP)"
    )
    create.add_argument("--prefix", help="topic name prefix (default EARSHOT_TOPIC_PREFIX)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.command == "list":
        for decl in declarations().values():
            print(
                f"{decl.name}\t{decl.partitions}p\t{decl.config.get('cleanup.policy')}\t{decl.owner}"
            )
        return 0
    settings = load_settings(TopicsSettings)
    bootstrap = args.bootstrap or settings.kafka_bootstrap
    prefix = settings.topic_prefix if args.prefix is None else args.prefix
    changes = ensure_topics(bootstrap, prefix, settings.replication_factor)
    for line in changes or ["all declared topics already in place"]:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
