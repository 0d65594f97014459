"""The ``earshot`` command: setup and operations tasks for ops and developers.

Each subcommand is small and delegates to the module that owns the work, so the
same code runs from here, from the compose init job and from tests.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from schemas.elastic import es_client, install_templates
from schemas.settings import ElasticsearchSettings, KafkaSettings, load_settings
from schemas.topics import ensure_topics


class CliSettings(KafkaSettings, ElasticsearchSettings):
    """What the setup commands need: where Kafka and Elasticsearch are."""

    replication_factor: int = 1


def _topics(args: argparse.Namespace) -> int:
    settings = load_settings(CliSettings)
    changes = ensure_topics(
        settings.kafka_bootstrap, settings.topic_prefix, settings.replication_factor
    )
    for line in changes or ["all declared topics already in place"]:
        print(line)
    return 0


def _templates(args: argparse.Namespace) -> int:
    settings = load_settings(CliSettings)
    client = es_client(settings)
    try:
        for name in install_templates(client, settings.index_prefix):
            print(f"index template {name} in place")
    finally:
        client.close()
    return 0


COMMANDS: dict[str, tuple[str, Callable[[argparse.Namespace], int]]] = {
    "topics": ("create every declared Kafka topic (idempotent)", _topics),
    "templates": ("install the Elasticsearch index templates (idempotent)", _templates),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``earshot`` / ``python -m services.cli``."""
    parser = argparse.ArgumentParser(prog="earshot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, _) in COMMANDS.items():
        sub.add_parser(name, help=help_text)
    args = parser.parse_args(argv)
    return COMMANDS[args.command][1](args)


if __name__ == "__main__":
    sys.exit(main())
