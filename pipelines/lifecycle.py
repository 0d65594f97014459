"""How a worker stops: promptly on SIGTERM in every state, closing the clients it opened.

Faust stops gracefully: it waits for the batches in hand to be acknowledged
and commits. A batch held by a down dependency (Elasticsearch retried forever)
would hold that wait for as long as the outage lasts, so :class:`Worker` starts
a watchdog on the first SIGTERM/SIGINT: past the app's ``shutdown_grace`` it
exits at once. Nothing is lost either way — what was not acknowledged is read
again by the next owner of the partition.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import faust

from pipelines.delivery import AtLeastOnceApp
from pipelines.logtables import OneLineTables

log = logging.getLogger(__name__)
Closer = Callable[[], Awaitable[None]]


class WorkerApp(AtLeastOnceApp):
    """The worker's app: at-least-once delivery, a shutdown deadline, clients closed on stop."""

    shutdown_grace: float = 8.0
    """Seconds after SIGTERM by which the process exits, gracefully or not."""

    def __init__(self, id: str, *, shutdown_grace: float = 8.0, **options: Any) -> None:
        super().__init__(id, **options)
        self.shutdown_grace = shutdown_grace
        self._closers: list[tuple[str, Closer]] = []

    def close_on_stop(self, name: str, closer: Closer) -> None:
        """Run ``closer`` when the app stops, after the consumer and the agents."""
        self._closers.append((name, closer))

    async def on_stop(self) -> None:
        await super().on_stop()
        for name, closer in reversed(self._closers):
            try:
                await closer()
            except Exception as exc:  # closing one client must not keep the others open
                log.warning("closing %s failed: %s", name, exc)


def _hard_exit(grace: float) -> None:
    log.warning(
        "shutdown did not finish within %.0fs; exiting now (what was not acknowledged is "
        "read again by the partition's next owner)",
        grace,
    )
    logging.shutdown()
    os._exit(0)


class Worker(faust.Worker):
    """``faust worker`` that exits within the app's ``shutdown_grace`` of a stop signal."""

    _watchdog: threading.Timer | None = None

    def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
        super().on_setup_root_logger(logger, level)
        for handler in logger.handlers:
            handler.addFilter(OneLineTables())  # rebalances log one line per table

    def _schedule_shutdown(self, signum: signal.Signals) -> None:
        if self._watchdog is None:
            grace = float(getattr(self.app, "shutdown_grace", WorkerApp.shutdown_grace))
            self._watchdog = threading.Timer(grace, _hard_exit, args=(grace,))
            self._watchdog.daemon = True
            self._watchdog.start()
        super()._schedule_shutdown(signum)
