"""``earshot retention apply`` and ``earshot privacy erase``: the council's data duties, audited.

``retention apply`` deletes the monthly indices past ``deploy/config/retention.yaml``,
prints each one it deleted (``--dry-run``: would delete) and checks the
dead-letter topics' retention against the policy (exit 3 when one differs).

``privacy erase --source <kind> --author <id or handle>`` removes that person's
mentions from every index, tombstones them so a replay cannot bring them back,
and prints what it did. Both write an audit record to ``<prefix>-audit``.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import get_args

from kafka.errors import KafkaError
from pydantic import SecretStr

from common.elastic import es_client
from common.privacy import Pseudonymiser
from common.settings import ElasticsearchSettings, KafkaSettings, load_settings
from common.yamlconfig import ConfigError
from schemas.models import SourceKind
from services.privacy import retention
from services.privacy.audit import AuditLog, now_iso, operator_name
from services.privacy.erasure import Eraser, ErasureRequest
from services.privacy.tombstones import TombstoneWriter

CONFIG_DIR = Path(__file__).resolve().parents[2] / "deploy" / "config"
DLQ_MISMATCH = 3


class PrivacySettings(KafkaSettings, ElasticsearchSettings):
    retention_file: Path = CONFIG_DIR / "retention.yaml"
    pseudonym_secret: SecretStr | None = None
    """The deployment's pseudonym key: erasure recomputes authors' pseudonyms with it."""
    erase_settle_seconds: float = 5.0
    """Wait before the second sweep: longer than the workers' tombstone refresh interval."""


def _retention_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="earshot retention", description=__doc__)
    sub = p.add_subparsers(dest="action", required=True)
    apply = sub.add_parser("apply", help="delete monthly indices past the retention policy")
    apply.add_argument("--dry-run", action="store_true", help="only print what would be deleted")
    apply.add_argument(
        "--today", type=date.fromisoformat, help="pretend it is this date (YYYY-MM-DD)"
    )
    apply.add_argument("--skip-kafka", action="store_true", help="do not check dead-letter topics")
    return p


def retention_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``earshot retention``."""
    args = _retention_parser().parse_args(argv)
    settings = load_settings(PrivacySettings)
    try:
        policy = retention.load_policy(settings.retention_file)
    except ConfigError as exc:
        print(f"earshot retention: {exc}", file=sys.stderr)
        return 2
    today = args.today or datetime.now(UTC).date()
    verb = "would delete" if args.dry_run else "deleted"
    es = es_client(settings)
    try:
        for kind in retention.MONTHLY_KINDS:
            print(f"{kind}: keep {policy.months(kind)} months")
        started = now_iso()
        planned = retention.plan(es, settings.index_prefix, policy, today)
        done = planned if args.dry_run else retention.apply(es, planned)
        for d in done:
            print(f"{verb} {d.index} ({d.docs} docs)")
        print(f"{len(done)} indices {verb}, {sum(max(d.docs, 0) for d in done)} documents")
        stale = retention.stale_communities(
            es, settings.index_prefix, policy.keep_months.communities, today
        )
        if not args.dry_run:
            retention.delete_communities(es, settings.index_prefix, stale)
        print(f"communities: {verb} {len(stale)} records not updated for the retention period")
        if not args.dry_run:
            audit_id = uuid.uuid4().hex
            AuditLog(es, settings.index_prefix).record(
                {
                    "audit_id": audit_id,
                    "action": "retention.apply",
                    "status": "done",
                    "started_at": started,
                    "finished_at": now_iso(),
                    "operator": operator_name(),
                    "dry_run": False,
                    "indices": [d.index for d in done],
                    "counts": {
                        "indices_deleted": len(done),
                        "docs_deleted": sum(max(d.docs, 0) for d in done),
                        "communities_deleted": len(stale),
                    },
                    "details": {"policy": policy.model_dump(), "today": today.isoformat()},
                }
            )
            print(f"audit {audit_id}")
    finally:
        es.close()
    return 0 if args.skip_kafka else _check_dead_letters(settings, policy)


def _check_dead_letters(settings: PrivacySettings, policy: retention.RetentionPolicy) -> int:
    try:
        checks = retention.check_dead_letters(
            settings.kafka_bootstrap, settings.topic_prefix, policy
        )
    except KafkaError as exc:
        print(f"dead letters: Kafka not reachable, topics not checked: {exc}", file=sys.stderr)
        return DLQ_MISMATCH
    days = policy.dead_letter_ms // retention.DAY_MS
    bad = [c for c in checks if not c.ok]
    for c in checks:
        state = (
            "ok"
            if c.ok
            else ("MISSING" if c.retention_ms is None else f"MISMATCH (wants {c.wanted_ms})")
        )
        print(f"dead letters: {c.topic} retention.ms={c.retention_ms} {state}")
    if bad:
        print(
            f"dead-letter topics do not keep {days} days; fix schemas/topics/*.dlq.yaml and run: earshot topics",
            file=sys.stderr,
        )
        return DLQ_MISMATCH
    print(f"dead letters: every topic keeps {days} days, as the policy says")
    return 0


def _privacy_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="earshot privacy", description=__doc__)
    sub = p.add_subparsers(dest="action", required=True)
    erase = sub.add_parser("erase", help="erase a person's mentions by author")
    erase.add_argument("--author", required=True, help="the author's id (or handle) at the source")
    erase.add_argument("--source", required=True, choices=get_args(SourceKind), help="source kind")
    erase.add_argument("--reason", help="request reference for the audit, e.g. a ticket number")
    erase.add_argument("--settle-seconds", type=float, help="wait before the second sweep")
    return p


def privacy_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``earshot privacy``."""
    args = _privacy_parser().parse_args(argv)
    settings = load_settings(PrivacySettings)
    if settings.pseudonym_secret is None:
        print(
            "earshot privacy: EARSHOT_PSEUDONYM_SECRET is required to find an author",
            file=sys.stderr,
        )
        return 2
    es = es_client(settings)
    writer = TombstoneWriter(settings.kafka_bootstrap, settings.topic_prefix)
    settle = settings.erase_settle_seconds if args.settle_seconds is None else args.settle_seconds
    eraser = Eraser(
        es,
        settings.index_prefix,
        Pseudonymiser(settings.pseudonym_secret),
        writer,
        AuditLog(es, settings.index_prefix),
        settle_s=settle,
    )
    try:
        report = eraser.erase(ErasureRequest(args.source, args.author, args.reason))
    finally:
        writer.close()
        es.close()
    print(
        f"erased {args.source} author: {report.mentions_deleted + report.late_deleted} mentions deleted"
    )
    print(f"  found again after {settle:.0f}s and deleted: {report.late_deleted}")
    print(f"  alert audit records unlinked from the mentions: {report.alerts_scrubbed}")
    for tombstone in report.tombstones:
        print(f"  tombstone {tombstone}")
    print(f"  audit {report.audit_id} ({report.seconds:.1f}s)")
    print(
        "  Kafka topics keep earlier copies until their retention ends; the tombstone stops re-indexing."
    )
    return 0
