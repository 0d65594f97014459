"""One incident, one email: copies of an emailed (or held) alert's post fold into it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from schemas.ids import alert_id
from schemas.models import Alert, CodedArea, MentionSnapshot, Reason
from services.notifier.incidents import Incidents
from tests.unit.test_notifier_dispatch import Clock, Rig, make_rig


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    return make_rig(tmp_path)


POTHOLE = "Huge pothole on Kirkstall Road outside the Co-op, two cars burst tyres this morning"


def post(
    n: int,
    clock: Clock,
    text: str,
    delivery: str = "immediate",
    ward: str = "E05013602",
    department: str = "roads",
) -> Alert:
    mention_id = f"{n:032x}"
    return Alert(
        alert_id=alert_id(mention_id, "r"),
        kind="rule",
        rule_id="r",
        department=department,
        severity="medium",
        delivery=delivery,  # type: ignore[arg-type]
        reasons=(Reason(clause="topics.any", detail="highways"),),
        created_at=clock.now,
        mention=MentionSnapshot(
            mention_id=mention_id,
            source_kind="mastodon",
            text=text,
            created_at=clock.now,
            ward=CodedArea(code=ward, name="Some ward"),
            topics=("highways",),
        ),
    )


async def test_a_cross_post_folds_into_the_email_already_sent(rig: Rig) -> None:
    first = post(1, rig.clock, POTHOLE + " #Leeds")
    copy = post(2, rig.clock, POTHOLE + " @LeedsCC #potholes https://bsky.app/x/1")
    assert await rig.dispatcher.handle(first, 0, 1)
    rig.clock.advance(minutes=40)
    assert await rig.dispatcher.handle(copy, 1, 7)
    (mail,) = rig.mailer.sent
    assert rig.ledger.ids[copy.alert_id] == mail.message_id
    fold = rig.audits[-1]
    assert fold["kind"] == "folded" and fold["alert_ids"] == [copy.alert_id]
    assert fold["folded_into"] == mail.message_id and fold["incident_of"] == first.alert_id
    assert fold["message_id"] == f"folded.{copy.alert_id}" and fold["recipients"] == []
    assert (
        rig.metrics.registry.get_sample_value(
            "earshot_notifier_alerts_total", {"outcome": "folded"}
        )
        == 1.0
    )
    assert "incident" in rig.ledger.notes[first.alert_id]


async def test_two_potholes_on_one_street_are_two_emails(rig: Rig) -> None:
    one = post(
        1,
        rig.clock,
        "Deep pothole outside number 14 Victoria Road, full of water so nobody sees it",
    )
    two = post(
        2,
        rig.clock,
        "Deep pothole outside number 36 Victoria Road, full of water so nobody sees it",
    )
    assert await rig.dispatcher.handle(one, 0, 1)
    assert await rig.dispatcher.handle(two, 0, 2)
    assert len(rig.mailer.sent) == 2


async def test_copies_in_another_ward_or_days_later_are_their_own_incident(rig: Rig) -> None:
    assert await rig.dispatcher.handle(post(1, rig.clock, POTHOLE), 0, 1)
    assert await rig.dispatcher.handle(post(2, rig.clock, POTHOLE + "!", ward="E05000001"), 0, 2)
    rig.clock.advance(hours=73)
    assert await rig.dispatcher.handle(post(3, rig.clock, "Still there: " + POTHOLE), 0, 3)
    assert await rig.dispatcher.handle(post(4, rig.clock, POTHOLE, department="bins"), 0, 4)
    assert len(rig.mailer.sent) == 4


async def test_a_copy_of_a_held_alert_rides_in_the_same_digest_as_one_item(rig: Rig) -> None:
    first = post(1, rig.clock, POTHOLE, delivery="digest")
    copy = post(2, rig.clock, "Still not fixed! " + POTHOLE, delivery="digest")
    assert not await rig.dispatcher.handle(first, 0, 3)
    assert not await rig.dispatcher.handle(copy, 2, 9)
    assert rig.dispatcher.held_floor() == {0: 3, 2: 9}  # both wait for the digest
    rig.clock.now = rig.clock.now.replace(hour=8, minute=30) + timedelta(days=1)
    assert await rig.dispatcher.flush_due() == 2
    (digest,) = rig.mailer.sent
    assert set(digest.alert_ids) == {first.alert_id, copy.alert_id}
    assert str(digest.message["Subject"]).startswith("[Earshot digest] Roads: 1 alert - ")
    body = digest.message.get_body(("plain",))
    assert body is not None and "1 more alert was a copy" in body.get_content()
    assert rig.audits[-1]["folded_alert_ids"] == [copy.alert_id]
    assert rig.ledger.notes[copy.alert_id] == {"incident_of": first.alert_id, "edited_at": None}
    assert rig.dispatcher.held_floor() == {}


async def test_after_a_restart_copies_still_fold_into_what_the_ledger_recorded(rig: Rig) -> None:
    first = post(1, rig.clock, POTHOLE)
    assert await rig.dispatcher.handle(first, 0, 1)
    (mail,) = rig.mailer.sent
    entry = {
        "alert_id": first.alert_id,
        "department": "roads",
        "kind": "immediate",
        "message_id": mail.message_id,
        "sent_at": rig.clock.now.isoformat(),
        **rig.ledger.notes[first.alert_id],
    }
    restarted = Incidents()
    restarted.restore(first.alert_id, json.loads(json.dumps(entry)))  # as read back from Kafka
    copy = restarted.of(post(2, rig.clock, "RT @someone: " + POTHOLE))
    assert copy is not None
    match = restarted.match(copy)
    assert match is not None and match.incident.message_id == mail.message_id
    assert "Kirkstall" not in json.dumps(entry)  # the ledger keeps no readable resident text
