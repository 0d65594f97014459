"""What a community is for, and how strongly it deserves to be listened to — from what the pipeline computed.

Purpose uses only the topic mix and the sentiment mix of the week's mentions
(no model, nothing downloaded): the taxonomy already says what each mention is
about, and sentiment whether residents are reporting problems or praising. The
rules, in order:

1. fewer than ``TOPICAL_SHARE`` of its mentions touch a council topic → ``general``
   (neighbourhood talk where council business is rare);
2. one topic has ``SINGLE_ISSUE_SHARE`` of the topical mentions → ``single_issue``;
3. at least ``COMPLAINT_SHARE`` of the scored mentions are negative → ``service_reports``;
4. at least ``PRAISE_SHARE`` are positive → ``civic_pride``;
5. otherwise → ``local_news`` (mixed topics, mostly neutral).

A suggestion's score (higher first) grows with distinct authors (log scale: the
tenth author matters less than the second), with how much of what it says is
located in a council the deployment covers, and with growth; a space Earshot
cannot follow (a Mastodon server's timeline, a Bluesky feed) scores 0.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from typing import Any, Final

from common.communities import Space

TOPICAL_SHARE: Final = 0.3
SINGLE_ISSUE_SHARE: Final = 0.6
COMPLAINT_SHARE: Final = 0.5
PRAISE_SHARE: Final = 0.4
FOLLOWABLE: Final = frozenset(
    {("hashtag", "mastodon"), ("hashtag", "bluesky"), ("hashtag", "x"), ("subreddit", "reddit"),
     ("site", "web")}
)  # fmt: skip


def purpose(
    topics: Counter[str],
    sentiment: Counter[str],
    total: int,
    topical: int,
    labels: Mapping[str, str],
) -> dict[str, Any]:
    """``{"label", "summary", "topics"}`` for ``total`` mentions this week, ``topical`` of
    them with a council topic (``topics`` counts topics, a mention may have several)."""
    ranked = [t for t, _ in topics.most_common(3)]
    names = [labels.get(t, t.replace("_", " ")).lower() for t in ranked]
    scored = sentiment["negative"] + sentiment["neutral"] + sentiment["positive"]
    if not total or not ranked or topical / total < TOPICAL_SHARE:
        label, summary = "general", "General neighbourhood talk; council topics come up rarely"
    elif topics[ranked[0]] / sum(topics.values()) >= SINGLE_ISSUE_SHARE:
        label, summary = "single_issue", f"Mostly about {names[0]}"
    elif scored and sentiment["negative"] / scored >= COMPLAINT_SHARE:
        label, summary = "service_reports", f"Residents reporting problems: {', '.join(names)}"
    elif scored and sentiment["positive"] / scored >= PRAISE_SHARE:
        label, summary = "civic_pride", f"Mostly positive local news and events: {', '.join(names)}"
    else:
        label, summary = "local_news", f"Mixed local news and discussion: {', '.join(names)}"
    return {"label": label, "summary": summary, "topics": ranked}


def followable(space: Space) -> bool:
    """True when Earshot has a source that can listen to ``space`` (``earshot communities accept``)."""
    return (space.kind, space.network) in FOLLOWABLE


def suggestion_score(
    space: Space, *, authors: int, mentions: int, located_share: float, growth: float, new: bool
) -> float:
    """How strongly ``space`` is worth following (0 when it cannot be followed)."""
    if not followable(space) or authors <= 0:
        return 0.0
    momentum = 1.0 + 0.25 * min(max(growth - 1.0, 0.0), 4.0) if not new else 1.5
    depth = 1.0 + 0.1 * min(mentions / authors, 5.0)
    return round(math.log2(1 + authors) * (0.5 + 0.5 * located_share) * momentum * depth, 3)
