"""Email rendering: content, escaping, header safety, truncation, digests, ids."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from common.routing.load import load_routing, taxonomy_topics
from common.taxonomy import Taxonomy
from devkit.events import example_enriched
from pipelines.steps.rules import RuleEngine
from pipelines.steps.spikes import SpikeTick, assess, spike_alert
from schemas.models import Alert, CodedArea
from services.notifier.digest import Held, render_digest
from services.notifier.render import Email, Renderer, Style
from services.notifier.text import header_text, safe_url, truncate

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
EVIL = 'Pothole <script>alert("x")</script> <b>bold</b> & <a href="javascript:evil()">click</a>\r\nBcc: victim@example.org\r\n\r\nfake body'


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    config_dir = ROOT / "deploy" / "config"
    config = load_routing(config_dir / "departments.yaml", taxonomy_topics(config_dir))
    labels = {t.id: t.label for t in Taxonomy.load(config_dir / "topics.yaml").topics}
    return Renderer(
        config,
        labels,
        Style("Earshot <earshot@council.example>", "earshot.test", max_text_chars=300, top_items=2),
    )


@pytest.fixture(scope="module")
def engine(renderer: Renderer) -> RuleEngine:
    return RuleEngine(renderer.config)


def pothole_alert(engine: RuleEngine, **changes: object) -> Alert:
    m = example_enriched().model_copy(update=changes)
    (alert,) = engine.route(m, NOW)
    return alert


def parts(mail: Email) -> tuple[EmailMessage, str, str]:
    """The message as a receiving server sees it, and its plain and HTML bodies."""
    parsed = email.message_from_bytes(mail.message.as_bytes(), policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    plain = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert plain is not None and html is not None
    # On the wire every line ends in CRLF; compare text with plain newlines.
    return (
        parsed,
        plain.get_content().replace("\r\n", "\n"),
        html.get_content().replace("\r\n", "\n"),
    )


def render(renderer: Renderer, alert: Alert) -> Email:
    dept = renderer.config.department(alert.department)
    assert dept is not None
    return renderer.immediate(alert, dept, NOW)


def test_an_immediate_email_says_what_where_why_and_links(
    renderer: Renderer, engine: RuleEngine
) -> None:
    alert = pothole_alert(engine)
    mail = render(renderer, alert)
    msg, plain, html = parts(mail)
    assert (
        msg["Subject"]
        == "[Earshot alert] Highways and Street Lighting (Haringey): Roads, pavements and street lighting - Tottenham Hale"
    )
    assert msg["To"] == "highways.alerts@haringey.example"
    assert msg["Message-ID"] == f"<{alert.alert_id}@earshot.test>"
    raw = mail.message.as_bytes()
    assert b"\r\nSubject: [Earshot alert] Highways" in raw or raw.startswith(
        b"Subject: [Earshot alert] Highways"
    )
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert mail.recipients == ("highways.alerts@haringey.example",)
    for body in (plain, html):
        assert "Massive pothole on Philip Lane" in body
        assert "https://mastodon.social/@example/113456789012345678" in body
        assert "negative (0.91)" in body
        assert "Tottenham Hale ward (E05013602)" in body
        assert "haringey.highways.defects" in body
        assert "topics.any" in body and "pothole" in body
        assert (
            "mention_id%3A%223f1e0b3c9a0d4e6fa1b2c3d4e5f60718%22" in body
        )  # Kibana, filtered to it
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html
    assert '<th scope="row">Sentiment</th>' in html and "<caption>" in html


def test_residents_html_and_script_are_escaped(renderer: Renderer, engine: RuleEngine) -> None:
    mail = render(renderer, pothole_alert(engine, text=EVIL, title="<img src=x onerror=alert(1)>"))
    _, plain, html = parts(mail)
    assert "<script" not in html and "<b>" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert 'href="javascript' not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "\r" not in plain


def test_crlf_in_gazetteer_names_stays_out_of_the_headers(
    renderer: Renderer, engine: RuleEngine
) -> None:
    alert = pothole_alert(engine, text=EVIL)
    assert alert.mention is not None
    hostile = alert.mention.model_copy(
        update={
            "ward": CodedArea(
                code="E05013602", name="Tottenham Hale\r\nBcc: victim@example.org\r\nX-Evil: 1"
            )
        }
    )
    mail = render(renderer, alert.model_copy(update={"mention": hostile}))
    msg, _, _ = parts(mail)
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    subject = str(msg["Subject"])
    assert "\r" not in subject and "\n" not in subject
    assert subject.endswith("Tottenham Hale Bcc: victim@example.org X-Evil: 1")
    assert "victim@example.org" not in mail.recipients
    # The resident's text, CRLFs and all, appears in no header at all.
    assert all("fake body" not in str(v) and "Pothole <script" not in str(v) for v in msg.values())


def test_header_text_flattens_every_line_break() -> None:
    assert header_text("a\r\nb\nc\rd\x00e\u2028f\x85g\tz") == "a b c d e f g z"
    assert header_text("x" * 300, 20) == "x" * 19 + "…"


def test_long_posts_are_cut_with_a_link(renderer: Renderer, engine: RuleEngine) -> None:
    long_text = "Pothole on Philip Lane. " + "The road is a disgrace and nobody answers. " * 40
    _, plain, html = parts(render(renderer, pothole_alert(engine, text=long_text)))
    assert "nobody answers." in html
    assert long_text.strip() not in html and long_text.strip() not in plain
    assert "…" in html
    assert (
        'The post is longer: <a href="https://mastodon.social/@example/113456789012345678">read it in full</a>'
        in html
    )
    assert "The post is longer; read it in full at the source." in plain


def test_truncate_and_safe_url() -> None:
    assert truncate("short", 10) == ("short", False)
    cut, was_cut = truncate("one two three four five six", 15)
    assert was_cut and cut == "one two three…" and len(cut) <= 15
    assert safe_url("https://example.org/a?b=c") == "https://example.org/a?b=c"
    for bad in (
        "javascript:alert(1)",
        "data:text/html,x",
        "https://exa mple.org",
        "https://x.org/\r\nX: y",
        "//x.org",
        None,
        "",
    ):
        assert safe_url(bad) is None


def test_near_boundary_subjects_ask_to_check_ownership(
    renderer: Renderer, engine: RuleEngine
) -> None:
    m = example_enriched()
    alert = pothole_alert(engine, locality=m.locality.model_copy(update={"near_boundary": True}))
    msg, plain, html = parts(render(renderer, alert))
    assert str(msg["Subject"]).endswith("(check ownership)")
    assert "Check ownership" in plain and 'role="note"' in html


def test_a_spike_email(renderer: Renderer) -> None:
    dept = renderer.config.department("haringey-waste")
    assert dept is not None
    tick = SpikeTick(
        council="E09000014",
        ward_code="E05013602",
        ward_name="Tottenham Hale",
        topic="waste",
        at=NOW.timestamp(),
    )
    alert = spike_alert(
        tick, assess(14, [2] * 168, renderer.config.spikes), dept, renderer.config.spikes, NOW
    )
    msg, plain, html = parts(renderer.immediate(alert, dept, NOW))
    assert (
        msg["Subject"]
        == "[Earshot HIGH alert] Waste, Recycling and Street Cleansing (Haringey): Spike: Waste, recycling and street cleaning - Tottenham Hale"
    )
    assert "Mentions this hour: 14" in plain and "Usual per hour: 2.0" in plain
    assert "locality.ward.code%3A%22E05013602%22%20and%20topics.id%3A%22waste%22" in html


def test_digest_groups_by_topic_and_ward_with_counts_top_items_and_the_throttle_note(
    renderer: Renderer, engine: RuleEngine
) -> None:
    dept = renderer.config.department("haringey-highways")
    assert dept is not None
    base = example_enriched()
    held = []
    wards = [("E05013602", "Tottenham Hale")] * 3 + [("E05013605", "Woodside")]
    for i, (code, name) in enumerate(wards):
        loc = base.locality.model_copy(update={"ward": CodedArea(code=code, name=name)})
        m = base.model_copy(
            update={
                "mention_id": f"{i:032x}",
                "locality": loc,
                "text": f"Pothole number {i} <i>x</i>",
            }
        )
        (alert,) = engine.route(m, NOW + timedelta(minutes=i))
        held.append(Held(alert, "throttled" if i < 2 else "digest", 0, i))
    mail = render_digest(renderer, dept, held, NOW + timedelta(hours=1))
    msg, plain, html = parts(mail)
    assert (
        msg["Subject"]
        == "[Earshot digest] Highways and Street Lighting (Haringey): 4 alerts - Roads, pavements and street lighting"
    )
    assert mail.kind == "digest" and mail.alert_ids == tuple(h.alert.alert_id for h in held)
    assert "<td>Roads, pavements and street lighting</td><td>Tottenham Hale</td><td>3</td>" in html
    assert "<td>Roads, pavements and street lighting</td><td>Woodside</td><td>1</td>" in html
    assert (
        html.count("<h1>") == 1
        and '<th scope="col">Ward</th>' in html
        and "<caption>Alerts by topic and ward</caption>" in html
    )
    assert "2 of these were held back from immediate email: 2 by the throttle" in plain
    assert html.count("<li>\n") == 2  # top items only
    assert (
        "…and 2 more" in plain and "see all Roads, pavements and street lighting in Kibana" in html
    )
    assert "&lt;i&gt;x&lt;/i&gt;" in html and "<i>x</i>" not in html
    again = render_digest(renderer, dept, list(reversed(held)), NOW + timedelta(hours=2))
    assert again.message_id == mail.message_id  # deterministic for the same alerts
