"""Every ``earshot`` command the README prints works as printed, on the real stack.

The fixture stands in for ``make run``'s demo: the declared topics and templates under a
unique prefix, and demo-shaped mentions about Haringey's and Monmouthshire's services dated
in the last few days (as the demo's are). Each command in a README code span is run as
written, with ``.venv/bin`` first on PATH (as ``source .venv/bin/activate`` leaves it).
Two kinds are run in their checking form, and the test says so: ``earshot kibana import``
needs a Kibana server, which only the compose stack runs, so its ``--help`` is run; a
command that would rewrite files in the checkout (``earshot kibana generate``) is run
with ``--check`` (and the deployment's own prefixes), which also proves the committed views
are current.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from pydantic import SecretStr

from common.elastic import alias, install_templates, monthly_index
from common.privacy import Pseudonymiser
from common.topics import ensure_topics
from devkit.events import example_enriched
from schemas.codec import to_json
from schemas.models import CodedArea, EnrichedMention, Source, Topic

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
SECRET = "readme-test-pseudonym-secret"
ERASED_AUTHOR = "https://social.example/@resident12"
NEEDS_KIBANA = ("earshot kibana import",)
WRITES_CHECKOUT = ("earshot kibana generate",)


def readme_commands() -> list[str]:
    """Every inline code span of the README that is an ``earshot`` command."""
    spans = re.findall(r"`([^`\n]+)`", README.read_text(encoding="utf-8"))
    return sorted({s.strip() for s in spans if re.match(r"^earshot [a-z]", s.strip())})


def demo_mentions(now: datetime, pseudonyms: Pseudonymiser) -> list[EnrichedMention]:
    base = example_enriched()
    haringey = CodedArea(code="E09000014", name="Haringey")
    tottenham_hale = CodedArea(code="E05013602", name="Tottenham Hale")
    erased = pseudonyms.author("mastodon", ERASED_AUTHOR)
    rows = [
        ("Massive pothole on Philip Lane again, nearly lost a wheel", "highways", 2, None),
        ("Potholes on Park Lane filled overnight. Thank you!", "highways", 20, None),
        ("Bins not collected on West Green Road for two weeks", "waste", 30, erased),
        ("Fly-tipping behind the shops on the High Road", "waste", 50, None),
    ]
    out = []
    for n, (text, topic, hours, author) in enumerate(rows):
        out.append(
            base.model_copy(
                update={
                    "mention_id": f"{n + 1:032x}",
                    "source": Source(kind="mastodon", instance="demo", native_id=f"readme-{n}"),
                    "text": text,
                    "created_at": now - timedelta(hours=hours),
                    "fetched_at": now - timedelta(hours=hours),
                    "author": author or base.author,
                    "topics": (Topic(id=topic),),
                    "locality": base.locality.model_copy(
                        update={"council": haringey, "ward": tottenham_hale}
                    ),
                }
            )
        )
    return out


@pytest.fixture
def demo(
    kafka_bootstrap: str, es_url: str, unique_prefix: str
) -> Iterator[tuple[dict[str, str], Elasticsearch]]:
    es = Elasticsearch(es_url, request_timeout=60)
    index_prefix = f"{unique_prefix}earshot"
    ensure_topics(kafka_bootstrap, prefix=unique_prefix)
    install_templates(es, index_prefix)
    now = datetime.now(UTC)
    for mention in demo_mentions(now, Pseudonymiser(SecretStr(SECRET))):
        es.index(
            index=monthly_index(index_prefix, "mentions", mention.created_at),
            id=mention.mention_id,
            document=to_json(mention),
        )
    es.indices.refresh(index=alias(index_prefix, "mentions"))
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "EARSHOT_KAFKA_BOOTSTRAP": kafka_bootstrap,
        "EARSHOT_ES_URL": es_url,
        "EARSHOT_TOPIC_PREFIX": unique_prefix,
        "EARSHOT_INDEX_PREFIX": index_prefix,
        "EARSHOT_PSEUDONYM_SECRET": SECRET,
    }
    yield env, es
    es.indices.delete(index=f"{index_prefix}-*", ignore_unavailable=True)
    es.close()


def expectation(command: str) -> Callable[[str], bool]:
    """What the output of ``command`` must show on the fixture."""
    if command.startswith("earshot search") and "--stats" in command:
        return lambda out: "Tottenham Hale" in out and "highways" in out
    if command.startswith("earshot search --department haringey-highways"):
        return lambda out: "Philip Lane" in out and "West Green Road" not in out
    if command.startswith("earshot deadletters"):
        return lambda out: "mentions.raw.v1.dlq: 0 letters" in out
    if command.startswith("earshot privacy erase"):
        return lambda out: "erased mastodon author: 1 mentions deleted" in out
    return lambda out: bool(out.strip())


def test_the_readme_prints_earshot_commands() -> None:
    commands = readme_commands()
    assert any(c.startswith("earshot search") for c in commands), commands
    assert any(c.startswith("earshot deadletters") for c in commands), commands


def test_every_readme_command_works_as_printed(
    demo: tuple[dict[str, str], Elasticsearch],
) -> None:
    env, es = demo
    failures = []
    for command in readme_commands():
        argv, run_env = shlex.split(command), env
        if command.startswith(NEEDS_KIBANA):
            argv = [*argv[:3], "--help"]
        elif command.startswith(WRITES_CHECKOUT):
            # The checked-in files describe the deployment, not the fixture's prefixes.
            argv = [*argv, "--check"]
            run_env = {k: v for k, v in env.items() if not k.endswith("_PREFIX")}
        done = subprocess.run(
            argv, env=run_env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False
        )
        out = done.stdout + done.stderr
        if done.returncode != 0 or not expectation(command)(out):
            failures.append(f"$ {' '.join(argv)}\n  exit {done.returncode}\n{out[-1500:]}")
    assert not failures, "\n\n".join(failures)
    # The erase command really removed the demo resident's mention.
    es.indices.refresh(index=alias(env["EARSHOT_INDEX_PREFIX"], "mentions"))
    left = es.count(index=alias(env["EARSHOT_INDEX_PREFIX"], "mentions"))["count"]
    erasing = any(c.startswith("earshot privacy erase") for c in readme_commands())
    assert left == (3 if erasing else 4)
