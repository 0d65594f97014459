"""``earshot kibana generate|import``: Kibana views from the departments config.

``generate`` writes ``deploy/kibana/`` (``--check`` only reports stale files, for
CI). ``import`` builds the same views from the running deployment's config and
index prefix, then creates the spaces, imports each space's objects and puts
the roles; re-running it changes nothing.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import Field, SecretStr

from common.retry import RetriesExhausted
from common.settings import load_settings
from common.yamlconfig import ConfigError
from services.kibana.client import KibanaClient, KibanaError, import_bundle
from services.kibana.generate import build, stale_files, write
from services.search.settings import ViewsSettings, load_departments

OUT_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kibana"


class KibanaSettings(ViewsSettings):
    """``EARSHOT_KIBANA_*``: where Kibana is; credentials default to the Elasticsearch ones."""

    kibana_url: str = Field(default="http://127.0.0.1:5601", pattern=r"^https?://")
    kibana_username: str | None = None
    kibana_password: SecretStr | None = None
    kibana_document_level_security: bool = False
    """Limit department readers to their scope with a role query (needs a Platinum licence)."""

    def auth(self) -> tuple[str, str] | None:
        user = self.kibana_username or self.es_username
        password = self.kibana_password or self.es_password
        if user and password:
            return user, password.get_secret_value()
        return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="earshot kibana", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    gen = sub.add_parser("generate", help="write the saved objects, spaces and roles as files")
    gen.add_argument("--out", type=Path, default=OUT_DIR, help=f"folder (default {OUT_DIR})")
    gen.add_argument("--check", action="store_true", help="only report stale files (exit 1)")
    imp = sub.add_parser("import", help="create spaces, import saved objects, put roles")
    imp.add_argument("--skip-roles", action="store_true", help="do not touch roles")
    for p in (gen, imp):
        p.add_argument(
            "--document-level-security",
            action="store_true",
            help="limit readers to their department's scope (Platinum licence)",
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``earshot kibana``."""
    args = _parser().parse_args(argv)
    settings = load_settings(KibanaSettings)
    try:
        config = load_departments(settings)
    except ConfigError as exc:
        print(f"earshot kibana: {exc}", file=sys.stderr)
        return 2
    dls = args.document_level_security or settings.kibana_document_level_security
    bundle = build(config, settings.index_prefix, dls)
    if args.action == "generate":
        files = bundle.files()
        if args.check:
            stale = stale_files(args.out, files)
            for rel in stale:
                print(f"stale: {args.out / rel}")
            print("kibana files up to date" if not stale else "run: earshot kibana generate")
            return 1 if stale else 0
        changed = write(args.out, files)
        for rel in changed:
            print(f"wrote {args.out / rel}")
        print(f"{len(files)} files in {args.out}, {len(changed)} changed")
        return 0
    client = KibanaClient(settings.kibana_url, settings.auth())
    try:
        for line in import_bundle(client, bundle, roles=not args.skip_roles):
            print(line)
    except (KibanaError, RetriesExhausted) as exc:
        print(f"earshot kibana import: {exc}", file=sys.stderr)
        return 1
    finally:
        client.close()
    return 0
