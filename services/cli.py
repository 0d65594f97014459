"""The ``earshot`` command: setup and operations tasks for ops and developers.

Each subcommand is small and delegates to the module that owns the work, so the
same code runs from here, from the compose init job and from tests.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from common.elastic import es_client, install_templates
from common.settings import ElasticsearchSettings, KafkaSettings, load_settings
from common.topics import ensure_topics


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


def _passthrough(module: str, function: str) -> Callable[[argparse.Namespace], int]:
    """A command with its own argument parser: it gets the words after its name in ``args.argv``."""

    def run(args: argparse.Namespace) -> int:
        entry: Callable[[list[str]], int] = getattr(importlib.import_module(module), function)
        return entry(args.argv)

    run.takes_arguments = True  # type: ignore[attr-defined]
    return run


COMMANDS: dict[str, tuple[str, Callable[[argparse.Namespace], int]]] = {
    "topics": ("create every declared Kafka topic (idempotent)", _topics),
    "templates": ("install the Elasticsearch index templates (idempotent)", _templates),
    "kibana": (
        "generate the Kibana views, or import them with spaces and roles (idempotent)",
        _passthrough("services.kibana.cli", "main"),
    ),
    "council": (
        "onboard a GB council: profile from open data + starter rules",
        _passthrough("services.councils.cli", "main"),
    ),
    "search": (
        "search mentions with the Kibana views' filters",
        _passthrough("services.search.cli", "main"),
    ),
    "retention": (
        "delete monthly indices past deploy/config/retention.yaml (audited)",
        _passthrough("services.privacy.cli", "retention_main"),
    ),
    "communities": (
        "the online communities that talk about each place; suggestions, register, digest",
        _passthrough("services.communities.cli", "main"),
    ),
    "deadletters": (
        "count each dead-letter topic and show its latest letters with origin and reason",
        _passthrough("services.deadletters.cli", "main"),
    ),
    "privacy": (
        "erase a person's mentions by author, with a tombstone (audited)",
        _passthrough("services.privacy.cli", "privacy_main"),
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``earshot`` / ``python -m services.cli``."""
    parser = argparse.ArgumentParser(prog="earshot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, run) in COMMANDS.items():
        # Commands with their own parser see --help too, so argparse must not answer it here.
        sub.add_parser(name, help=help_text, add_help=not getattr(run, "takes_arguments", False))
    args, rest = parser.parse_known_args(argv)
    command = COMMANDS[args.command][1]
    if rest and not getattr(command, "takes_arguments", False):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.argv = rest
    return command(args)


if __name__ == "__main__":
    sys.exit(main())
