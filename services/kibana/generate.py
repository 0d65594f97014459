"""Render the Kibana views and roles to the files committed under ``deploy/kibana/``.

Layout: ``objects/<space>.ndjson`` (one saved object per line, importable as
is), ``spaces.json`` (Spaces API bodies), ``roles/<role>.json`` (role API
bodies) and ``links.json`` (paths of each space's views, for link templates).
Rendering is deterministic (sorted keys, fixed ids), so regenerating from the
same config gives the same bytes and ``--check`` can catch stale files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.routing.config import RoutingConfig
from services.kibana.roles import Role, all_roles
from services.kibana.views import SpaceViews, all_views, links

GENERATED_DIRS = ("objects", "roles")


def pretty(value: Any) -> bytes:
    """Indented, key-sorted JSON for the files people read (spaces, roles, links)."""
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def ndjson(objects: list[dict[str, Any]]) -> bytes:
    """Saved objects as Kibana's export format: one compact JSON object per line."""
    lines = [
        json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        for obj in objects
    ]
    return ("\n".join(lines) + "\n").encode()


@dataclass(frozen=True)
class Bundle:
    """Everything ``kibana import`` sends and ``kibana generate`` writes."""

    spaces: list[SpaceViews]
    roles: dict[str, Role]

    def files(self) -> dict[str, bytes]:
        """Relative path → content of every generated file."""
        out = {f"objects/{view.space_id}.ndjson": ndjson(view.objects) for view in self.spaces}
        out["spaces.json"] = pretty([view.body for view in self.spaces if view.body is not None])
        out.update({f"roles/{name}.json": pretty(body) for name, body in self.roles.items()})
        out["links.json"] = pretty(links(self.spaces))
        return dict(sorted(out.items()))


def build(config: RoutingConfig, index_prefix: str, dls: bool = False) -> Bundle:
    """The bundle for a departments config and index prefix."""
    spaces = all_views(config, index_prefix)
    return Bundle(spaces, all_roles(spaces, index_prefix, dls))


def stale_files(out_dir: Path, files: dict[str, bytes]) -> list[str]:
    """Files that differ from ``files``, are missing, or are generated leftovers (a removed department)."""
    problems = [
        p
        for p, data in files.items()
        if not (out_dir / p).is_file() or (out_dir / p).read_bytes() != data
    ]
    for folder in GENERATED_DIRS:
        for path in sorted((out_dir / folder).glob("*")) if (out_dir / folder).is_dir() else []:
            rel = f"{folder}/{path.name}"
            if rel not in files:
                problems.append(rel)
    return problems


def write(out_dir: Path, files: dict[str, bytes]) -> list[str]:
    """Write ``files`` under ``out_dir`` and remove generated leftovers; return what changed."""
    changed = stale_files(out_dir, files)
    for rel in changed:
        path = out_dir / rel
        if rel in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(files[rel])
        else:
            path.unlink()
    return changed
