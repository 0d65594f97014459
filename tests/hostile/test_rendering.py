"""Every place that renders resident text escapes it: email, Kibana's field formats, the CLI."""

from __future__ import annotations

import email
import json
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from common.routing.load import load_routing, taxonomy_topics
from common.taxonomy import Taxonomy
from devkit.events import example_enriched
from pipelines.steps.rules import RuleEngine
from services.notifier.render import Renderer, Style
from services.search.render import render_table, visible

ROOT = Path(__file__).resolve().parents[2]
HOSTILE_TEXTS = [
    '<img src=x onerror=alert(1)> "quoted" & <script>alert(2)</script>',
    "line one\r\nBcc: victim@example.org\r\n\r\n<b>fake body</b>",
    "\x1b]0;owned\x07\x1b[2J clear screen \u202egnp.exe",
    "{{constructor.constructor('alert(1)')()}} ${7*7} %s%n",
]


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    config_dir = ROOT / "deploy" / "config"
    config = load_routing(config_dir / "departments.yaml", taxonomy_topics(config_dir))
    labels = {t.id: t.label for t in Taxonomy.load(config_dir / "topics.yaml").topics}
    return Renderer(config, labels, Style("Earshot <e@council.example>", "earshot.test"))


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_email_escapes_resident_text_in_html_and_keeps_it_out_of_headers(
    renderer: Renderer, text: str
) -> None:
    mention = example_enriched().model_copy(update={"text": "Pothole " + text, "title": text})
    now = datetime(2026, 11, 20, 9, tzinfo=UTC)
    (alert,) = RuleEngine(renderer.config).route(mention, now)
    dept = renderer.config.department(alert.department)
    assert dept is not None
    mail = renderer.immediate(alert, dept, now)
    parsed = email.message_from_bytes(mail.message.as_bytes(), policy=default_policy)
    assert isinstance(parsed, EmailMessage)
    html = parsed.get_body(("html",))
    assert html is not None
    body = html.get_content()
    assert "<img" not in body and "<script" not in body and "<b>fake" not in body
    assert "onerror=alert(1)>" not in body.replace("&gt;", "")  # only ever as escaped text
    assert parsed["Bcc"] is None
    assert all("\n" not in str(v) and "\x1b" not in str(v) for v in parsed.values())


def test_kibana_field_formats_render_nothing_as_html() -> None:
    """Text fields use Kibana's default string format (escaped); the one URL format has a fixed
    label, and ingestion stores only http(s) URLs in ``source.url``."""
    found = 0
    for path in sorted((ROOT / "deploy" / "kibana" / "objects").glob("*.ndjson")):
        for line in path.read_text().splitlines():
            obj = json.loads(line)
            formats = json.loads(obj.get("attributes", {}).get("fieldFormatMap") or "{}")
            for field, spec in formats.items():
                found += 1
                assert spec["id"] in ("number", "url", "date", "bytes", "percent"), (field, spec)
                params = spec.get("params", {})
                if spec["id"] == "url":
                    assert params.get("type") in ("a", None)
                    assert "{{" not in params.get("labelTemplate", ""), field
                    assert params.get("urlTemplate", "") in ("", "{{value}}")
                assert field not in ("text", "title"), "resident text must stay a plain string"
    assert found


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_cli_table_never_sends_terminal_or_bidi_controls(text: str) -> None:
    doc = {"created_at": "2026-11-20T08:00", "text": text, "source": {"kind": text[:6]}}
    out = render_table({"mentions": [doc], "total": 1}, 200)
    assert "\x1b" not in out and "\x07" not in out and "\u202e" not in out and "\r" not in out
    assert visible("\x1b") == "\\x1b" and visible("\u202e") == "\\u202e"
