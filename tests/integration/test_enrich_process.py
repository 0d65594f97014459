"""Enrichment processes with the real model: load errors surface, dead children are replaced,
and children do not outlive the worker that started them."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devkit.events import numbered_mentions
from devkit.waiting import wait_for
from pipelines.enrich_process import EnrichmentProcesses
from pipelines.settings import PipelineSettings
from pipelines.steps.prepare import Enriched, Outcome
from schemas.codec import decode, encode
from schemas.deadletter import Failure
from schemas.models import Alert, EnrichedMention

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_a_missing_model_stops_start_up_with_the_reason(tmp_path: Path) -> None:
    settings = PipelineSettings(sentiment_model_dir=tmp_path, enrich_processes=1)
    with pytest.raises(RuntimeError) as failed:
        EnrichmentProcesses.start(settings)
    assert str(tmp_path) in str(failed.value)


async def test_a_child_killed_mid_run_is_replaced_and_the_batch_still_enriched() -> None:
    processes = EnrichmentProcesses.start(PipelineSettings(enrich_processes=1))
    try:
        mentions = numbered_mentions(8)
        payloads = [encode(m) for m in mentions]
        first = await processes.enrich(payloads, NOW, 1)
        assert not [o for o in first if isinstance(o, Failure)]

        children = multiprocessing.active_children()
        assert children, "no enrichment process to kill"
        for child in children:
            os.kill(child.pid or 0, signal.SIGKILL)
        wait_for(
            lambda: [c for c in children if alive(c.pid or 0)], lambda left: not left, 30, "kill"
        )

        again = await processes.enrich(payloads, NOW, 1)
        ids = [
            decode(o.value, EnrichedMention).mention_id for o in again if not isinstance(o, Failure)
        ]
        assert ids == [m.mention_id for m in mentions]
        assert {c.pid for c in multiprocessing.active_children()}.isdisjoint(
            {c.pid for c in children}
        )
    finally:
        processes.close()


def test_children_leave_when_the_worker_is_killed() -> None:
    script = (
        "import multiprocessing, time\n"
        "from pipelines.enrich_process import EnrichmentProcesses\n"
        "from pipelines.settings import PipelineSettings\n"
        "EnrichmentProcesses.start(PipelineSettings(enrich_processes=2))\n"
        "print(' '.join(str(c.pid) for c in multiprocessing.active_children()), flush=True)\n"
        "time.sleep(600)\n"
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None
        children = [int(pid) for pid in worker.stdout.readline().split()]
        assert len(children) == 2 and all(alive(pid) for pid in children)
        worker.kill()
        worker.wait(timeout=30)
        wait_for(
            lambda: [pid for pid in children if alive(pid)],
            lambda left: not left,
            30,
            "enrichment processes to exit after their worker was killed",
        )
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait(timeout=30)
        if worker.stdout is not None:
            worker.stdout.close()


async def test_children_follow_the_workers_rules_reload(tmp_path: Path) -> None:
    rules = tmp_path / "departments.yaml"
    shipped = (ROOT / "deploy" / "config" / "departments.yaml").read_text()
    rules.write_text(shipped)
    processes = EnrichmentProcesses.start(
        PipelineSettings(enrich_processes=1, departments_file=rules)
    )
    try:
        payloads = [encode(m) for m in numbered_mentions(2)]
        before = _rule_ids(await processes.enrich(payloads, NOW, 1))
        assert any(r.startswith("haringey.highways.") for r in before), before
        rules.write_text(shipped.replace("id: haringey.highways.", "id: renamed.highways."))
        # Same generation: the worker has not reloaded, so neither does the child.
        assert _rule_ids(await processes.enrich(payloads, NOW, 1)) == before
        after = _rule_ids(await processes.enrich(payloads, NOW, 2))
        assert any(r.startswith("renamed.highways.") for r in after), after
        assert not any(r.startswith("haringey.highways.") for r in after), after
    finally:
        processes.close()


def _rule_ids(outcomes: list[Outcome]) -> set[str]:
    return {
        decode(a.value, Alert).rule_id
        for o in outcomes
        if isinstance(o, Enriched)
        for a in o.alerts
    }
