"""An edit of a mention already emailed updates the audit, never the inbox (issue 14).

The dispatcher compares the alert's edit time with the one the ledger recorded for
the alert: newer → one ``edited`` audit through the ledger, no email; the same
edit again, an older version or a plain redelivery → a duplicate, nothing written.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from schemas.models import Alert
from tests.unit.test_notifier_dispatch import Rig, alert, make_rig
from tests.unit.test_notifier_incidents import POTHOLE, post


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return make_rig(tmp_path)


def edited(a: Alert, minutes: float, text: str = " EDIT: two of them now") -> Alert:
    """``a`` as the route stage sends it again after its post was edited ``minutes`` later."""
    assert a.mention is not None
    mention = a.mention.model_copy(
        update={
            "text": a.mention.text + text,
            "edited_at": a.mention.created_at + timedelta(minutes=minutes),
        }
    )
    return a.model_copy(update={"mention": mention, "created_at": mention.edited_at})


def outcomes(rig: Rig) -> dict[str, float]:
    return {
        o: rig.metrics.registry.get_sample_value("earshot_notifier_alerts_total", {"outcome": o})
        or 0.0
        for o in ("sent", "edited", "duplicate", "held")
    }


async def test_an_edit_of_an_emailed_alert_is_audited_once_and_never_emailed(rig: Rig) -> None:
    original = alert(1, rig.clock)
    assert await rig.dispatcher.handle(original, 0, 1)
    (mail,) = rig.mailer.sent
    rig.clock.advance(minutes=5)
    edit = edited(original, 3)
    assert edit.mention is not None and edit.mention.edited_at is not None

    assert await rig.dispatcher.handle(edit, 0, 2)
    assert rig.mailer.sent == [mail]
    audit = rig.audits[-1]
    assert audit["kind"] == "edited" and audit["edit_of"] == mail.message_id
    assert (
        audit["message_id"] == f"edited.{edit.alert_id}.{int(edit.mention.edited_at.timestamp())}"
    )
    assert audit["edited_at"] == edit.mention.edited_at.isoformat()
    assert audit["sent_at"] == rig.clock.now.isoformat() and audit["recipients"] == []
    assert (audit["department"], audit["alert_ids"], audit["rule_ids"], audit["mention_ids"]) == (
        "roads",
        [edit.alert_id],
        ["r"],
        [edit.mention.mention_id],
    )
    assert "Pothole" not in str(audit) and "EDIT" not in str(audit)  # no resident text
    assert rig.ledger.edited[edit.alert_id] == edit.mention.edited_at.isoformat()
    assert outcomes(rig) == {"sent": 1, "edited": 1, "duplicate": 0, "held": 0}


async def test_the_same_edit_again_an_older_version_or_a_redelivery_add_nothing(rig: Rig) -> None:
    original = alert(1, rig.clock)
    assert await rig.dispatcher.handle(original, 0, 1)
    assert await rig.dispatcher.handle(edited(original, 3), 0, 2)
    audits = len(rig.audits)
    for again in (edited(original, 3), original, edited(original, 1, " older edit")):
        assert await rig.dispatcher.handle(again, 0, 3)
    assert len(rig.audits) == audits and len(rig.mailer.sent) == 1
    assert outcomes(rig) == {"sent": 1, "edited": 1, "duplicate": 3, "held": 0}


async def test_a_plain_redelivery_is_a_duplicate_as_before(rig: Rig) -> None:
    original = alert(1, rig.clock)
    assert await rig.dispatcher.handle(original, 0, 1)
    assert await rig.dispatcher.handle(original, 0, 1)
    assert len(rig.audits) == 1 and rig.audits[0]["kind"] == "immediate"
    assert outcomes(rig) == {"sent": 1, "edited": 0, "duplicate": 1, "held": 0}


async def test_each_newer_edit_is_audited_against_the_same_email(rig: Rig) -> None:
    original = alert(1, rig.clock)
    assert await rig.dispatcher.handle(original, 0, 1)
    (mail,) = rig.mailer.sent
    first, second = edited(original, 3), edited(original, 9, " EDIT 2: fixed")
    assert await rig.dispatcher.handle(first, 0, 2)
    assert await rig.dispatcher.handle(second, 0, 3)
    kinds = [(a["kind"], a.get("edit_of")) for a in rig.audits]
    assert kinds == [("immediate", None), ("edited", mail.message_id), ("edited", mail.message_id)]
    assert rig.audits[1]["message_id"] != rig.audits[2]["message_id"]
    assert len(rig.mailer.sent) == 1


async def test_when_the_edit_is_emailed_first_the_original_adds_nothing(rig: Rig) -> None:
    original = alert(1, rig.clock)
    edit = edited(original, 3)
    assert await rig.dispatcher.handle(edit, 0, 1)  # reordered: the edit arrives first
    assert await rig.dispatcher.handle(original, 0, 2)
    assert [a["kind"] for a in rig.audits] == ["immediate"]
    assert outcomes(rig) == {"sent": 1, "edited": 0, "duplicate": 1, "held": 0}


async def test_an_edit_of_a_held_alert_rides_in_the_digest_instead(rig: Rig) -> None:
    original = alert(1, rig.clock, department="bins", delivery="digest")  # hourly at :05
    assert not await rig.dispatcher.handle(original, 2, 7)
    edit = edited(original, 1)
    assert edit.mention is not None and edit.mention.edited_at is not None
    assert await rig.dispatcher.handle(edit, 2, 8)
    assert rig.dispatcher.held_floor() == {2: 7}  # the original's offset still holds commits
    rig.clock.advance(minutes=5)
    assert await rig.dispatcher.flush_due() == 1
    (digest,) = rig.mailer.sent
    body = digest.message.get_body(("plain",))
    assert body is not None and "EDIT: two of them now" in body.get_content()
    assert rig.ledger.edited[edit.alert_id] == edit.mention.edited_at.isoformat()
    assert await rig.dispatcher.handle(edit, 2, 8)  # its replay: nothing more
    assert [a["kind"] for a in rig.audits] == ["digest"] and len(rig.mailer.sent) == 1


async def test_an_edit_of_a_folded_copy_is_audited_against_its_incidents_email(
    rig: Rig,
) -> None:
    first = post(1, rig.clock, POTHOLE + " #Leeds")
    copy = post(2, rig.clock, POTHOLE + " @LeedsCC #potholes")
    assert await rig.dispatcher.handle(first, 0, 1)
    assert await rig.dispatcher.handle(copy, 1, 7)
    (mail,) = rig.mailer.sent
    assert rig.audits[-1]["kind"] == "folded" and rig.audits[-1]["edited_at"] is None
    assert await rig.dispatcher.handle(edited(copy, 2), 1, 8)
    audit = rig.audits[-1]
    assert audit["kind"] == "edited" and audit["edit_of"] == mail.message_id
    assert len(rig.mailer.sent) == 1
