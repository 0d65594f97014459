"""Making untrusted text safe for email: headers, HTML, links, length.

Residents write the mention text, titles and source URLs; none of it is
trusted. These helpers are the only way rendering code turns values into
header text, HTML or hrefs.
"""

from __future__ import annotations

import html
import re
from datetime import datetime
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

# C0/C1 controls and the Unicode line/paragraph separators: anything that could end a header line.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_LINK_SCHEMES = ("http", "https")


def header_text(value: str, limit: int = 150) -> str:
    """One line fit for a header: control characters (CR, LF…) become spaces, then shortened."""
    cleaned = " ".join(_CONTROL.sub(" ", value).split())
    if len(cleaned) <= limit:
        return cleaned
    return cleaned[: limit - 1].rstrip() + "…"


def esc(value: object) -> str:
    """HTML-escape any value for element text or a quoted attribute."""
    return html.escape(str(value), quote=True)


def esc_multiline(value: str) -> str:
    """HTML-escape text and keep its line breaks visible."""
    return "<br>\n".join(esc(line) for line in plain(value).split("\n"))


def plain(value: str) -> str:
    """Text for the plain-text part: controls other than newlines removed."""
    unified = value.replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(_CONTROL.sub(" ", line) for line in unified.split("\n"))


def truncate(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to at most ``limit`` characters at a word boundary, and whether it was cut."""
    if len(text) <= limit:
        return text, False
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…", True


def safe_url(url: str | None) -> str | None:
    """``url`` when it is a plain http(s) link, else None (no javascript:, data:, or whitespace)."""
    if not url or _CONTROL.search(url) or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in _LINK_SCHEMES or not parts.netloc:
        return None
    return url


def kibana_link(template: str, base_url: str, kql: str) -> str:
    """Fill a department's link template with a KQL query (rison-escaped, then URL-encoded)."""
    rison = kql.replace("!", "!!").replace("'", "!'")
    return template.format(kibana=base_url.rstrip("/"), query=quote(rison, safe=""))


def kql_value(value: str) -> str:
    """A quoted KQL string value."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """E.g. ``Fri 20 Nov 2026, 08:14 GMT`` in the deployment's time zone."""
    return moment.astimezone(zone).strftime("%a %d %b %Y, %H:%M %Z")
