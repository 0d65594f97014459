"""The short fault scenario of ``make test``: the notifier SIGKILLed while alerts flow.

The same scenario code as ``make chaos`` (devkit.chaos), on the session's stack
(nothing here kills a server): alerts go to a real notifier process mailing a
real SMTP server on loopback; it is killed mid-stream and started again. Every
alert must arrive exactly once. How fast it resumed is reported, not asserted
(speed is measured by ``make chaos`` into bench/results/chaos.json).
"""

from __future__ import annotations

from pathlib import Path

from devkit.chaos.rig import Load
from devkit.chaos.scenarios import run


def test_a_killed_notifier_comes_back_and_sends_every_alert_once(
    kafka_bootstrap: str, es_url: str, tmp_path: Path
) -> None:
    result = run(
        "notifier_killed",
        kafka_bootstrap,
        es_url,
        tmp_path,
        Load(mentions=150, rate=15.0, kill_at=0.3, settle_s=180),
        None,
    )
    print(f"\nnotifier killed: resumed {result['time_to_resume_s']}s after its restart")
    assert result["killed_after_emails"] > 0, "killed before anything was sent: proves nothing"
    assert result["killed_after_emails"] < result["alerts"], "killed too late to prove anything"
    assert result["emails"] == result["alerts"] == 150
    assert result["duplicate_emails"] == 0 and result["missing_emails"] == 0
    assert result["time_to_resume_s"] is not None  # it did resume
