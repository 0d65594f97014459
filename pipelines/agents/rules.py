"""The worker's routing rules: loaded at start, reloaded when the file changes or on SIGHUP.

A broken file keeps the previous rules and logs why; the enrichment processes
follow each successful reload (they get the rules generation with every batch).
"""

from __future__ import annotations

import asyncio

import faust

from common.routing.reload import Reloading
from pipelines.routing import load_rules
from pipelines.settings import PipelineSettings
from pipelines.steps.rules import RuleEngine


def watch_rules(app: faust.App, settings: PipelineSettings) -> Reloading[RuleEngine]:
    """Load the rules now (raising on a broken file) and keep them current on ``app``."""
    rules = load_rules(settings)

    async def poll() -> None:
        rules.poll()

    async def on_sighup() -> None:
        rules.reload_on_sighup(asyncio.get_running_loop())

    app.timer(interval=settings.rules_poll_seconds)(poll)
    app.task(on_sighup)
    return rules
