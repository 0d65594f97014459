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
    ingest_kinds = (
        sorted(p.parent.name for p in (ROOT / "services" / "ingest").glob("*/source.py"))
        if (ROOT / "services" / "ingest").exists()
        else []
    )
    expected = {f"ingest-{kind}" for kind in ingest_kinds}
    if (ROOT / "pipelines" / "app.py").exists():
        expected.add("worker")
    if (ROOT / "services" / "notifier").exists():
        expected.add("notifier")
    missing = expected - services.keys()
    assert not missing, f"process kinds without a compose service: {sorted(missing)}"


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
