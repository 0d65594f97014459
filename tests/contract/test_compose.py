"""docker-compose.yml cannot run here, so it is validated as a file: schema, services, health."""

from __future__ import annotations

import json
import re
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from common.yamlconfig import read_yaml
from services.ingest.registry import REGISTRY, SourcesFile

ROOT = Path(__file__).resolve().parents[2]
INFRA = {"kafka", "elasticsearch", "es-setup", "kibana", "mailpit", "earshot-init"}
_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}")


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


def _interpolate(text: str, env: dict[str, str]) -> str:
    def sub(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if op and op.endswith("?"):
            raise AssertionError(f"${{{name}}} is required: {arg}")
        return arg or ""

    return _VAR.sub(sub, text.replace("$$", "\x00")).replace("\x00", "$")


def _walk(node: Any, env: dict[str, str]) -> Any:
    # Compose interpolates after parsing YAML, so values stay strings: do the same.
    if isinstance(node, dict):
        return {k: _walk(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [_walk(v, env) for v in node]
    return _interpolate(node, env) if isinstance(node, str) else node


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = _walk(
        yaml.safe_load((ROOT / "docker-compose.yml").read_text()), _env_example()
    )
    return data


def test_compose_file_matches_the_compose_spec(compose: dict[str, Any]) -> None:
    # The compose spec schema ships inside the docker-compose 1.29 package (installed --no-deps,
    # so its code is never imported, only this file read).
    found = find_spec("compose")
    assert found is not None and found.origin, (
        "docker-compose==1.29.2 (requirements-data.txt) is not installed"
    )
    spec = json.loads((Path(found.origin).parent / "config" / "compose_spec.json").read_text())
    errors = sorted(Draft7Validator(spec).iter_errors(compose), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_every_required_service_is_present(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services.keys() >= INFRA
    assert services["kafka"]["image"] == "apache/kafka:3.9.1"
    assert services["elasticsearch"]["image"].endswith(":8.19.3")
    assert services["kibana"]["image"].endswith(":8.19.3")
    assert services["elasticsearch"]["environment"]["xpack.security.enabled"] == "true"
    expected = set()
    if (ROOT / "pipelines" / "app.py").exists():
        expected.add("worker")
    if (ROOT / "services" / "notifier").exists():
        expected.add("notifier")
    missing = expected - services.keys()
    assert not missing, f"process kinds without a compose service: {sorted(missing)}"


def _runs(service: dict[str, Any], module: str) -> bool:
    command = service.get("command") or []
    return module in (command if isinstance(command, list) else command.split())


def test_every_source_kind_runs_in_an_ingest_service_that_gets_the_tokens(
    compose: dict[str, Any],
) -> None:
    ingest = {n: s for n, s in compose["services"].items() if _runs(s, "services.ingest")}
    assert ingest, "no compose service runs python -m services.ingest"
    covered: set[str] = set()
    for name, service in ingest.items():
        kinds = service.get("environment", {}).get("EARSHOT_SOURCE_KINDS", "*").strip()
        covered |= set(REGISTRY) if kinds in ("", "*") else {k.strip() for k in kinds.split(",")}
        env_files = service.get("env_file") or []
        assert ".env" in ([env_files] if isinstance(env_files, str) else env_files), (
            f"{name} must read .env: the tokens sources.yaml names by env var live there"
        )
        assert "healthcheck" in service, name
    assert covered >= set(REGISTRY), f"source kinds no service runs: {set(REGISTRY) - covered}"


def test_every_env_var_the_example_sources_name_is_in_env_example() -> None:
    sources = read_yaml(ROOT / "deploy" / "config" / "sources.example.yaml", SourcesFile).value
    named = {
        value
        for instance in sources.sources
        for field, value in instance.model_dump().items()
        if field.endswith("_env") and value
    }
    commented = set(
        re.findall(
            r"_env: ([A-Z][A-Z0-9_]+)",
            (ROOT / "deploy" / "config" / "sources.example.yaml").read_text(),
        )
    )
    missing = (named | commented) - _env_example().keys()
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_long_running_services_have_health_restart_and_named_volumes(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name in ("kafka", "elasticsearch", "kibana", "mailpit"):
        assert "healthcheck" in services[name], name
        assert services[name]["restart"] == "unless-stopped", name
    for name, service in services.items():
        assert "restart" in service, name
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source == "./deploy/config":
                assert volume.endswith(":ro"), f"{name} must mount council config read-only"
                continue
            assert source in compose["volumes"], f"{name} mounts {source}, not a named volume"
    assert services["earshot-init"]["build"]["dockerfile"] == "deploy/Dockerfile"


def test_no_secret_is_committed() -> None:
    env = _env_example()
    for key in ("ELASTIC_PASSWORD", "KIBANA_PASSWORD", "EARSHOT_PSEUDONYM_SECRET"):
        assert env[key].startswith("change-me"), key
    assert not (ROOT / ".env").exists() or ".env" in (ROOT / ".gitignore").read_text()
