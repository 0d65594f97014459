"""Immediate alert emails: subject, plain text and accessible HTML, built from an Alert.

Contract: no resident-written text (mention text, title, URL) ever reaches a
header. The subject is built from the department name, the topic label and the
ward/council name (configuration and gazetteer), and still goes through
:func:`header_text`. Every value in HTML is escaped; links are only plain
http(s) URLs; long posts are cut with a link to the original.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Literal

from common.routing.config import Department, RoutingConfig
from schemas.models import Alert, MentionSnapshot
from services.notifier.text import (
    esc,
    esc_multiline,
    header_text,
    kibana_link,
    kql_value,
    local_time,
    plain,
    safe_url,
    truncate,
)

EmailKind = Literal["immediate", "digest"]
MAIL_POLICY = SMTP.clone(max_line_length=998)
"""Headers stay on one line (subjects are capped at 200 characters): folding right after
``Subject:`` is legal but shows as a leading space in some clients. Bodies are
quoted-printable, so no line is long and no server needs 8BITMIME."""
SEVERITY_TAG = {"critical": "CRITICAL ", "high": "HIGH ", "medium": "", "low": ""}
FOOTER = (
    "Earshot listens to public posts about the council's area and services. "
    "Handle them under the council's public task; do not profile individuals."
)


@dataclass(frozen=True)
class Style:
    """Rendering settings that do not change with the departments file."""

    mail_from: str
    message_id_domain: str
    max_text_chars: int = 800
    top_items: int = 5
    kibana_url: str | None = None


@dataclass(frozen=True)
class Email:
    """A rendered email and the facts the ledger and the audit need about it."""

    message: EmailMessage
    message_id: str
    kind: EmailKind
    department: str
    recipients: tuple[str, ...]
    subject: str
    alert_ids: tuple[str, ...]


def page(title: str, body: str) -> str:
    """A whole, accessible HTML document (language, title, no styling that carries meaning)."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{esc(title)}</title>\n</head>\n<body>\n{body}\n"
        f"<footer><p>{esc(FOOTER)}</p></footer>\n</body>\n</html>\n"
    )


class Renderer:
    """Renders alerts of one config version; pure apart from reading the config."""

    def __init__(self, config: RoutingConfig, labels: Mapping[str, str], style: Style) -> None:
        self.config = config
        self.labels = labels
        self.style = style
        self.zone = config.zone

    # -- facts shared with digests -------------------------------------------------------------
    def label(self, topic: str) -> str:
        """The taxonomy's human label of ``topic``."""
        return self.labels.get(topic, topic.replace("_", " ").capitalize())

    def topic_of(self, alert: Alert, dept: Department) -> str:
        """The topic an alert is filed under: one the department owns, else the first one."""
        if alert.spike is not None:
            return alert.spike.topic
        topics = alert.mention.topics if alert.mention else ()
        owned = [t for t in topics if t in dept.owns_topics]
        return (owned or list(topics) or ["other"])[0]

    def place_of(self, alert: Alert) -> str:
        """Ward (or council) name from the gazetteer; never words a resident wrote."""
        if alert.spike is not None:
            return alert.spike.ward_name or alert.spike.ward_code
        m = alert.mention
        if m is not None and m.ward is not None:
            return m.ward.name
        if m is not None and m.council is not None:
            return m.council.name
        return "place not known"

    def link(self, dept: Department, kql: str) -> str:
        """The department's Kibana view filtered by ``kql``."""
        base = self.style.kibana_url or self.config.kibana_base_url
        return kibana_link(dept.kibana_link, base, kql)

    def alert_link(self, alert: Alert, dept: Department) -> str:
        """The department's Kibana view filtered to this mention (or this spike's ward and topic)."""
        if alert.spike is not None:
            kql = (
                f"locality.ward.code:{kql_value(alert.spike.ward_code)} "
                f"and topics.id:{kql_value(alert.spike.topic)}"
            )
        else:
            kql = f"mention_id:{kql_value(alert.mention.mention_id if alert.mention else '')}"
        return self.link(dept, kql)

    def message(
        self,
        *,
        kind: EmailKind,
        dept: Department,
        subject: str,
        message_id: str,
        text: str,
        html_doc: str,
        alert_ids: Sequence[str],
        now: datetime,
    ) -> Email:
        """Assemble the MIME message: plain text first, HTML alternative second."""
        msg = EmailMessage(policy=MAIL_POLICY)
        clean_subject = header_text(subject, 200)
        msg["Subject"] = clean_subject
        msg["From"] = self.style.mail_from
        msg["To"] = ", ".join(dept.addresses)
        msg["Message-ID"] = f"<{message_id}>"
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Earshot-Department"] = dept.id
        msg["X-Earshot-Kind"] = kind
        msg["X-Earshot-Alert-Count"] = str(len(alert_ids))
        msg["Date"] = format_datetime(now.astimezone(self.zone))
        msg.set_content(text, cte="quoted-printable")
        msg.add_alternative(html_doc, subtype="html", cte="quoted-printable")
        return Email(
            msg, message_id, kind, dept.id, dept.addresses, clean_subject, tuple(alert_ids)
        )

    # -- immediate -----------------------------------------------------------------------------
    def subject(self, alert: Alert, dept: Department) -> str:
        """Department, topic and place (never resident text); severity and ownership flags."""
        tag = SEVERITY_TAG[alert.severity]
        kind = "Spike: " if alert.spike is not None else ""
        check = " (check ownership)" if alert.mention and alert.mention.near_boundary else ""
        topic = self.label(self.topic_of(alert, dept))
        return f"[Earshot {tag}alert] {dept.name}: {kind}{topic} - {self.place_of(alert)}{check}"

    def immediate(
        self, alert: Alert, dept: Department, now: datetime, notes: Sequence[str] = ()
    ) -> Email:
        """One email for one alert; ``notes`` are extra lines such as the throttle warning."""
        subject = self.subject(alert, dept)
        link = self.alert_link(alert, dept)
        all_notes = [*alert.notes, *notes]
        text_parts = [header_text(subject, 500), ""]
        html_parts = [f"<h1>{esc(header_text(subject, 500))}</h1>"]
        for note in all_notes:
            text_parts += [f"NOTE: {plain(note)}", ""]
            html_parts.append(f'<p role="note"><strong>Note:</strong> {esc(note)}</p>')
        if alert.mention is not None:
            t, h = self.mention_block(alert.mention, level=2)
            text_parts.append(t)
            html_parts.append(h)
        if alert.spike is not None:
            s = alert.spike
            rows = [
                ("Ward", f"{s.ward_name or ''} ({s.ward_code})".strip()),
                ("Topic", self.label(s.topic)),
                ("Mentions this hour", str(s.count)),
                ("Usual per hour", f"{s.baseline:.1f}"),
                (
                    "Hour",
                    f"{local_time(s.window_start, self.zone)} to {local_time(s.window_end, self.zone)}",
                ),
            ]
            text_parts += [f"{k}: {v}" for k, v in rows] + [""]
            html_parts.append(_table("About this spike", rows))
        t, h = self.why_block(alert)
        text_parts += [t, f"Open in Kibana: {link}", "", f"alert {alert.alert_id}", "", FOOTER]
        html_parts += [h, f'<p><a href="{esc(link)}">Open in Kibana</a></p>']
        html_parts.append(f"<p>Alert id <code>{esc(alert.alert_id)}</code></p>")
        message_id = f"{alert.alert_id}@{self.style.message_id_domain}"
        return self.message(
            kind="immediate",
            dept=dept,
            subject=subject,
            message_id=message_id,
            text="\n".join(text_parts) + "\n",
            html_doc=page(subject, "\n".join(html_parts)),
            alert_ids=[alert.alert_id],
            now=now,
        )

    def mention_block(self, m: MentionSnapshot, level: int) -> tuple[str, str]:
        """The mention as plain text and HTML: quoted text (cut if long), source, facts."""
        body, cut = truncate(m.text, self.style.max_text_chars)
        url = safe_url(m.url)
        source = f"{m.source_kind} ({m.source_instance})" if m.source_instance else m.source_kind
        sentiment = (
            f"{m.sentiment_label} ({m.sentiment_score:.2f})"
            if m.sentiment_label and m.sentiment_score is not None
            else "not scored"
        )
        place = (
            ", ".join(
                x
                for x in (
                    f"{m.ward.name} ward ({m.ward.code})" if m.ward else "",
                    m.council.name if m.council else "",
                )
                if x
            )
            or "not known"
        )
        rows = [
            ("Posted", local_time(m.created_at, self.zone)),
            ("Source", source),
            ("Sentiment", sentiment),
            ("Place", place),
            ("Places named", ", ".join(m.places) or "none"),
            ("Topics", ", ".join(self.label(t) for t in m.topics) or "none"),
        ]
        more = "The post is longer; read it in full at the source." if cut else ""
        text = [f"> {line}" for line in plain(body).split("\n")]
        if m.title:
            text.insert(0, f"Title: {plain(m.title)}")
        text += ["", *(f"{k}: {v}" for k, v in rows), f"Original: {url or 'no link'}"]
        if more:
            text.append(more)
        h = f"h{level}"
        html = [f"<{h}>What was said</{h}>"]
        if m.title:
            html.append(f"<p><strong>Title:</strong> {esc(m.title)}</p>")
        cite = f' cite="{esc(url)}"' if url else ""
        html.append(f"<blockquote{cite}><p>{esc_multiline(body)}</p></blockquote>")
        if cut and url:
            html.append(f'<p>The post is longer: <a href="{esc(url)}">read it in full</a>.</p>')
        elif url:
            html.append(f'<p><a href="{esc(url)}">View the original post</a></p>')
        html.append(_table("About this mention", rows))
        return "\n".join(text) + "\n", "\n".join(html)

    def why_block(self, alert: Alert, level: int = 2) -> tuple[str, str]:
        """Why the alert fired: the rule and each matched clause with its matched words."""
        lead = (
            f"Why you are receiving this: rule {alert.rule_id} ({alert.severity}, {alert.delivery})"
        )
        text = [lead]
        items = []
        for r in alert.reasons:
            words = ", ".join(dict.fromkeys(f"“{s.text}”" for s in r.spans))
            extra = f" — matched {words}" if words else ""
            text.append(f"  - {r.clause}: {plain(r.detail)}{extra}")
            items.append(f"<li><strong>{esc(r.clause)}</strong>: {esc(r.detail)}{esc(extra)}</li>")
        html = (
            f"<h{level}>Why you are receiving this</h{level}>\n"
            f"<p>Rule <code>{esc(alert.rule_id)}</code> ({esc(alert.severity)} severity, "
            f"{esc(alert.delivery)}) matched:</p>\n<ul>\n" + "\n".join(items) + "\n</ul>"
        )
        return "\n".join(text) + "\n", html


def _table(caption: str, rows: Sequence[tuple[str, str]]) -> str:
    body = "\n".join(f'<tr><th scope="row">{esc(k)}</th><td>{esc(v)}</td></tr>' for k, v in rows)
    return f"<table>\n<caption>{esc(caption)}</caption>\n<tbody>\n{body}\n</tbody>\n</table>"


def digest_message_id(department: str, alert_ids: Sequence[str], domain: str) -> str:
    """Deterministic: a resend of the same digest carries the same Message-ID."""
    digest = hashlib.sha256("\x1f".join([department, *sorted(alert_ids)]).encode()).hexdigest()
    return f"digest.{digest[:32]}@{domain}"
