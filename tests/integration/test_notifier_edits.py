"""Edits on the real stack: audited once against the first email, never emailed, across restarts.

The ledger is the real compacted ``notifier.sent.v1``: the edit time it records for
an alert must survive being read back at start, or a replay of the edit would be
audited again. Helpers and fixtures are test_notifier's (real Kafka, Elasticsearch
and an aiosmtpd server on loopback).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import timedelta

from services.notifier.service import NotifierService
from tests.integration.test_notifier import (
    Mailbox,
    Stack,
    mailbox,  # noqa: F401  (the fixture)
    make_alert,
    notifier,
    stack,  # noqa: F401  (the fixture)
)


def outcome(service: NotifierService, name: str) -> float:
    value = service.metrics.registry.get_sample_value(
        "earshot_notifier_alerts_total", {"outcome": name}
    )
    return value or 0.0


async def until(check: Callable[[], bool], what: str, within: float = 60.0) -> None:
    """Wait without blocking the loop the notifier runs on (devkit's wait_for would block it)."""
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within}s: {what}")
        await asyncio.sleep(0.2)


async def test_an_edit_is_audited_once_never_emailed_even_after_a_restart_and_a_replay(
    stack: Stack,  # noqa: F811
    mailbox: Mailbox,  # noqa: F811
) -> None:
    original = make_alert(41)
    assert original.mention is not None
    edited_at = original.mention.created_at + timedelta(minutes=3)
    edit = original.model_copy(
        update={
            "mention": original.mention.model_copy(
                update={
                    "text": original.mention.text + " EDIT: a foot wide",
                    "edited_at": edited_at,
                }
            )
        }
    )
    stack.produce([original])
    async with notifier(stack.settings(mailbox.port)):
        ((_, mail),) = await mailbox.wait_for(1)
    # A new process: what it knows of the first email it read back from the ledger topic.
    stack.produce([edit])
    async with notifier(stack.settings(mailbox.port)) as service:
        await until(lambda: outcome(service, "edited") == 1, "the edit handled")
    audits = await asyncio.to_thread(stack.audits, 2)
    assert sorted(a["kind"] for a in audits) == ["edited", "immediate"]
    audit = next(a for a in audits if a["kind"] == "edited")
    assert audit["edit_of"] == str(mail["Message-ID"]).strip("<>")
    assert audit["_id"] == f"edited.{original.alert_id}.{int(edited_at.timestamp())}"
    assert audit["edited_at"] == edited_at.isoformat()
    assert audit["alert_ids"] == [original.alert_id] and audit["department"] == "roads"
    assert "EDIT" not in str(audit) and "Pothole" not in str(audit)

    # Replay both from the start in a new group: the ledger read back knows the edit.
    async with notifier(stack.settings(mailbox.port, group_id="earshot-notifier-replay")) as again:
        await until(lambda: outcome(again, "duplicate") == 2, "the replay handled")
        assert outcome(again, "edited") == 0 and outcome(again, "sent") == 0
    assert len(mailbox.messages()) == 1
    assert len(await asyncio.to_thread(stack.audits, 3, 3.0)) == 2
