"""Test layers and the real local stack.

Integration and e2e tests talk to the real Kafka and Elasticsearch started by
``deploy/local/stack.sh``; the session fixture brings the stack up when it is
not already answering and takes down only what it started.
"""

from __future__ import annotations

import os
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch
from kafka.admin import KafkaAdminClient

from devkit.stack import ADDRESS_KEYS, parse_env, run_stack

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("unit", "contract", "integration", "hostile", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test sits in a layer folder and carries that layer's marker."""
    for item in items:
        layer = Path(str(item.fspath)).relative_to(ROOT / "tests").parts[0]
        if layer in LAYERS and not item.get_closest_marker(layer):
            item.add_marker(getattr(pytest.mark, layer))


@pytest.fixture(scope="session")
def local_stack() -> Iterator[dict[str, str]]:
    """Addresses of the real Kafka and Elasticsearch, starting the local stack if needed."""
    given = {k: os.environ[k] for k in ADDRESS_KEYS if k in os.environ}
    if len(given) == len(ADDRESS_KEYS):
        yield given
        return
    started = False
    if run_stack("status").returncode != 0:
        up = run_stack("up")
        if up.returncode != 0:
            pytest.fail(f"local stack did not come up:\n{up.stdout}\n{up.stderr}")
        started = True
    env = parse_env(run_stack("env").stdout)
    if set(ADDRESS_KEYS) - env.keys():
        pytest.fail(f"stack.sh env did not print both addresses: {env}")
    yield env
    if started and os.environ.get("EARSHOT_KEEP_STACK") != "1":
        run_stack("down")


@pytest.fixture(scope="session")
def kafka_bootstrap(local_stack: dict[str, str]) -> str:
    return local_stack["EARSHOT_KAFKA_BOOTSTRAP"]


@pytest.fixture(scope="session")
def es_url(local_stack: dict[str, str]) -> str:
    return local_stack["EARSHOT_ES_URL"]


@pytest.fixture
def es(es_url: str) -> Iterator[Elasticsearch]:
    """A client of the real local Elasticsearch, closed after the test."""
    client = Elasticsearch(es_url, request_timeout=60)
    yield client
    client.close()


@pytest.fixture
def unique_prefix(request: pytest.FixtureRequest) -> Iterator[str]:
    """A per-test prefix for topics, consumer groups and indices, so tests never share state.

    A test on the real stack leaves nothing behind: its prefix's topics, indices and index
    templates are deleted afterwards (the local stack keeps its data between runs, and
    thousands of leftover topics slow every client's metadata refresh).
    """
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    stack = (
        request.getfixturevalue("local_stack") if "local_stack" in request.fixturenames else None
    )
    yield prefix
    if stack is not None:
        _drop_prefix(stack, prefix)


def _drop_prefix(stack: dict[str, str], prefix: str) -> None:
    """Delete what a test created under ``prefix``; a failure here is reported, not raised."""
    try:
        admin = KafkaAdminClient(
            bootstrap_servers=stack["EARSHOT_KAFKA_BOOTSTRAP"], client_id="earshot-tests-cleanup"
        )
        try:
            mine = [t for t in admin.list_topics() if t.startswith(prefix)]
            if mine:
                admin.delete_topics(mine, timeout_ms=30_000)
        finally:
            admin.close()
        with Elasticsearch(stack["EARSHOT_ES_URL"], request_timeout=60) as client:
            client.indices.delete(
                index=f"{prefix}*", expand_wildcards="all", ignore_unavailable=True
            )
            client.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")
    except Exception as exc:
        warnings.warn(f"could not drop test prefix {prefix}: {exc}", stacklevel=1)
