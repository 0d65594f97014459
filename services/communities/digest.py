"""``earshot communities digest``: each department's weekly communities email, sent by SMTP.

Run it once a week (cron or a scheduled job, like ``earshot retention apply``). A
department hears about the communities whose footprint is in its council and that
talk about one of its topics or whose relationship it owns, plus the suggestions
waiting in its council. SMTP settings are the notifier's (``EARSHOT_SMTP_*``); the
Message-ID is the same for the same department, week and communities, so a rerun
is recognised by mail clients as the same email.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from common.communities import CommunitiesFile
from common.elastic import es_client
from common.routing.config import Department
from common.routing.load import load_routing
from common.settings import load_settings
from common.taxonomy import Taxonomy
from services.communities.settings import CommunitiesSettings
from services.communities.sources import load_sources_file
from services.communities.store import CommunityStore, Doc, Filters
from services.notifier.communities_digest import SHIFT, CommunityWeek, render_communities_digest
from services.notifier.render import Email, Renderer, Style
from services.notifier.settings import NotifierSettings
from services.notifier.smtp import SmtpMailer


def area_query(dept: Department, owned: list[str]) -> dict[str, Any]:
    """Communities in the department's council about its topics, or whose relationship it
    owns (``owned``: keys from the register, which may be newer than the records)."""
    about: list[dict[str, Any]] = [{"term": {"register.department": dept.id}}]
    if owned:
        about.append({"ids": {"values": owned}})
    if dept.owns_topics:
        about.append({"terms": {"topic_ids": list(dept.owns_topics)}})
    must: list[dict[str, Any]] = [{"bool": {"should": about}}]
    if dept.council:
        must.append({"term": {"council_codes": dept.council}})
    return {"bool": {"filter": must}}


def week_of(
    store: CommunityStore, dept: Department, suggestions: list[Doc], register: CommunitiesFile
) -> CommunityWeek:
    """What the department's email says this week (``suggestions``: those in its council)."""
    entries = {e.community: e for e in register.entries if e.department == dept.id}
    area = [
        {**d, "register": entries[d["key"]].model_dump()} if d["key"] in entries else d
        for d in store.search(area_query(dept, sorted(entries)))
    ]
    return CommunityWeek(
        new=[d for d in area if d["new_this_week"]],
        growing=[d for d in area if d["growing"]],
        shifted=[d for d in area if abs(d["sentiment"]["shift"] or 0.0) >= SHIFT],
        owned=[d for d in area if d["key"] in entries],
        suggestions=suggestions,
    )


def build_emails(
    settings: CommunitiesSettings,
    notifier: NotifierSettings,
    register: CommunitiesFile,
    only: str | None,
    now: datetime,
) -> list[Email]:
    """The week's emails (departments with nothing to say get none)."""
    config = load_routing(settings.departments_file)
    labels = (
        {t.id: t.label for t in Taxonomy.load(notifier.topics_file).topics}
        if notifier.topics_file.exists()
        else {}
    )
    style = Style(notifier.mail_from, notifier.message_id_domain, kibana_url=notifier.kibana_url)
    renderer = Renderer(config, labels, style)
    sources = load_sources_file(settings.sources_file)
    year, week, _ = now.isocalendar()
    iso_week = f"{year}-W{week:02d}"
    departments = [d for d in config.departments if only is None or d.id == only]
    if only is not None and not departments:
        raise ValueError(f"unknown department {only!r}")
    es = es_client(settings)
    emails = []
    try:
        store = CommunityStore(es, settings.index_prefix)
        for dept in departments:
            waiting = [
                d
                for d in store.suggestions(sources, register, Filters(council=dept.council))
                if not dept.owns_topics or set(d["topic_ids"]) & set(dept.owns_topics)
            ][:10]
            content = week_of(store, dept, waiting, register)
            if not content.empty():
                emails.append(render_communities_digest(renderer, dept, content, now, iso_week))
    finally:
        es.close()
    return emails


def run_digest(
    settings: CommunitiesSettings, register: CommunitiesFile, only: str | None, dry_run: bool
) -> int:
    """Send (or with ``dry_run`` print) the week's emails; 0 when done."""
    notifier = load_settings(NotifierSettings)
    emails = build_emails(settings, notifier, register, only, datetime.now(UTC))
    if dry_run:
        for email in emails:
            print(email.message.as_string())
        print(f"{len(emails)} communities digests (dry run: nothing sent)")
        return 0
    mailer = SmtpMailer(notifier)
    try:
        for email in emails:
            refused = mailer.send(email)
            print(f"sent {email.subject!r} to {', '.join(email.recipients)}")
            for address, (code, _) in refused.items():
                print(f"  refused by the server for {address}: {code}")
    finally:
        mailer.close()
    print(f"{len(emails)} communities digests sent")
    return 0
