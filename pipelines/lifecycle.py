"""How a worker stops and recovers: promptly on SIGTERM in every state, closing the clients
it opened; a table recovery that stops moving is restarted (:class:`RecoveryStall`).

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
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

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
        self._stall = RecoveryStall()
        self.timer(interval=RecoveryStall.check_every_s)(self._watch_recovery)

    async def _watch_recovery(self) -> None:
        """Restart a table recovery that has stopped moving (see :class:`RecoveryStall`)."""
        recovery = cast(Any, self.tables).recovery  # TableManagerT does not declare it
        remaining = recovery.active_remaining_total() if recovery.in_recovery else 0
        if self._stall.stuck(remaining, time.monotonic()):
            log.warning(
                "table recovery made no progress for %.0fs with %d changelog records to "
                "read: restarting it",
                RecoveryStall.patience_s,
                remaining,
            )
            recovery.signal_recovery_start.set()

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


class RecoveryStall:
    """Tells when a table recovery has stopped moving.

    Faust 0.15.3 can leave a recovery waiting for changelog events that never come (seen
    when a worker took over a killed peer's partitions mid-stream: every changelog
    partition "no event received" for minutes). Restarting the recovery, as a rebalance
    would, seeks and resumes those partitions again.
    """

    check_every_s: float = 5.0
    patience_s: float = 30.0

    def __init__(self) -> None:
        self._last: tuple[int, float] | None = None

    def stuck(self, remaining: int, now: float) -> bool:
        """True when ``remaining`` (records left to read) stayed the same, above zero, for
        ``patience_s``; the clock then starts again."""
        if remaining <= 0:
            self._last = None
            return False
        if self._last is None or self._last[0] != remaining:
            self._last = (remaining, now)
            return False
        if now - self._last[1] >= self.patience_s:
            self._last = (remaining, now)
            return True
        return False


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
