"""The `make run` demo config stays valid and covers every registered source kind."""

from __future__ import annotations

from pathlib import Path

from services.ingest.registry import REGISTRY, load_sources

ROOT = Path(__file__).resolve().parents[2]


def test_demo_sources_cover_every_kind_and_validate() -> None:
    environ = {"EARSHOT_X_BEARER_TOKEN": "replay-bearer", "EARSHOT_WEBHOOK_SECRET": "demo-secret"}
    configs = load_sources(ROOT / "deploy" / "config" / "sources.demo.yaml", environ, None)
    assert {c.kind for c in configs} == set(REGISTRY)
    assert all("127.0.0.1" in c.model_dump_json() or c.kind == "webhook" for c in configs)
