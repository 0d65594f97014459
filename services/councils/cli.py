"""``earshot council add <name or ONS code>``: onboard any council in Great Britain.

Writes ``deploy/config/councils/<slug>.yaml`` from the open data the gazetteer is
built from (official names, wards with codes, postcode districts with shares,
places, neighbouring councils; the sections only people know come out empty with
comments), and adds starter departments and routing rules for the council to
``departments.yaml``. Re-running it keeps every edit. An unknown or ambiguous
name is an error that lists the candidates.

This module is an entry point of the ``earshot`` command, so it may use both the
locality pipeline (the gazetteer) and the services' Kibana link rule.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from common.yamlconfig import ConfigError
from pipelines.locality.councils.find import CouncilNotFoundError, find_council, slug
from pipelines.locality.councils.generate import council_data, data_version
from pipelines.locality.councils.render import merged_or_new
from pipelines.locality.profile import load_profile
from pipelines.locality.tables import GazetteerMissingError, Tables, load_tables
from services.councils.departments import add_starter_departments

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="earshot council", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    add = sub.add_parser("add", help="write (or refresh) a council's profile and starter rules")
    add.add_argument(
        "council", nargs="+", help="name (any common form) or ONS code, e.g. E08000019"
    )
    add.add_argument("--councils-dir", type=Path, default=CONFIG_DIR / "councils")
    add.add_argument("--departments", type=Path, default=CONFIG_DIR / "departments.yaml")
    add.add_argument("--no-departments", action="store_true", help="write the profile only")
    return parser


def add_council(
    tables: Tables,
    query: str,
    councils_dir: Path,
    departments: Path | None,
) -> tuple[Path, list[str]]:
    """Write or refresh the profile (and starter departments); return its path and what changed."""
    index = find_council(tables, query)
    data = council_data(tables, index)
    path = councils_dir / f"{slug(tables, index)}.yaml"
    existing = path.read_text(encoding="utf-8") if path.exists() else None
    text, changes = merged_or_new(existing, data, query, data_version())
    councils_dir.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.new")
    tmp.write_text(text, encoding="utf-8")
    ward_councils = {
        w.code: tables.councils[w.council].code for w in tables.wards if w.council >= 0
    }
    try:
        load_profile(tmp, ward_councils, [c.code for c in tables.councils])
    except ConfigError:
        tmp.unlink()  # never leave a profile that would stop the workers from starting
        raise
    tmp.replace(path)
    report = [f"{path}: {c}" for c in changes] or [f"{path}: up to date, your edits kept"]
    if departments is not None:
        added = add_starter_departments(
            departments, data.code, slug(tables, index), data.name, data.kind == "welsh"
        )
        report += [f"{departments}: department {d}" for d in added]
        if not added:
            report.append(f"{departments}: {data.name} already has departments, left as they are")
    return path, report


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``earshot council``."""
    args = _parser().parse_args(argv)
    query = " ".join(args.council)
    try:
        tables = load_tables()
        _path, report = add_council(
            tables, query, args.councils_dir, None if args.no_departments else args.departments
        )
    except (GazetteerMissingError, CouncilNotFoundError, ConfigError) as exc:
        print(f"earshot council add: {exc}", file=sys.stderr)
        return 2
    for line in report:
        print(line)
    print("next: fill in the people-only sections, then run `earshot kibana generate`")
    return 0
