"""Settings of ``earshot communities`` (``EARSHOT_*`` environment variables)."""

from __future__ import annotations

from pathlib import Path

from common.settings import ElasticsearchSettings

ROOT = Path(__file__).resolve().parents[2]


class CommunitiesSettings(ElasticsearchSettings):
    """Where the community records, the register, the sources and the departments are."""

    sources_file: Path = ROOT / "deploy" / "config" / "sources.example.yaml"
    """The same ``EARSHOT_SOURCES_FILE`` the ingestion services read (and the same default)."""
    communities_file: Path = ROOT / "deploy" / "config" / "communities.yaml"
    departments_file: Path = ROOT / "deploy" / "config" / "departments.yaml"
