"""Command line: ``python -m pipelines.locality build [--force]`` and ``... where``."""

from __future__ import annotations

import argparse
import sys

from pipelines.locality.build import build
from pipelines.locality.tables import COMPLETE_MARKER, cache_dir


def main(argv: list[str] | None = None) -> int:
    """Run the command; return the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m pipelines.locality")
    sub = parser.add_subparsers(dest="command", required=True)
    build_cmd = sub.add_parser("build", help="build the gazetteer tables from packaged open data")
    build_cmd.add_argument("--force", action="store_true", help="rebuild even if up to date")
    sub.add_parser("where", help="print the cache directory and whether it is complete")
    args = parser.parse_args(argv)
    if args.command == "build":
        build(force=args.force)
        return 0
    target = cache_dir()
    state = "complete" if (target / COMPLETE_MARKER).is_file() else "missing"
    print(f"{target} ({state})")
    return 0 if state == "complete" else 1


if __name__ == "__main__":
    sys.exit(main())
