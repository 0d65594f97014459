"""Outages in a few lines, not thousands: for every long-running process.

Two pieces, for two sources of noise. :class:`Outage` is for a process's own retry loops:
one line when a dependency starts failing and one when it works again (how long, how
many failures, of which kinds), failures in between counted, not logged.

The client libraries' own chatter is the other: Kafka and Elasticsearch clients log every
reconnect attempt, and ten seconds of a broker being down wrote thousands of lines.
:func:`summarise_outages` puts a folding handler on each client family's top logger (``kafka``, ``aiokafka``,
``elastic_transport``...): the first connection error of an outage passes, the
repeats are counted instead of written, a progress line comes every
``report_every_s`` while it lasts, and one summary line (count, duration, first
and last error) ends it once the family has been quiet for ``quiet_s``. Every
other record of those loggers passes unchanged, to the root logger's handlers,
whatever configures them later (Faust's worker replaces them at start).
"""

from __future__ import annotations

import atexit
import logging
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

FAMILIES: Mapping[str, Sequence[str]] = {
    "kafka": ("kafka", "aiokafka", "faust.transport"),
    "elasticsearch": ("elasticsearch", "elastic_transport"),
}
"""Outage family → the loggers whose connection errors are folded together."""

# What a connection problem says in these libraries' messages (and exception texts).
CONNECTION_ERROR = re.compile(
    r"connect|refused|unreachable|timed? ?out|no ?brokers|broker.*not available"
    r"|no node available|node.*(?:not ready|failed|unavailable)|unable (?:to )?(?:connect|update)"
    r"|coordinator.*(?:dead|not available|unknown)|reset by peer|broken pipe|errno|eof|closed"
    r"|retrying request",
    re.IGNORECASE,
)
# Said with connection words but about something else (kafka-python's slow-task warning).
NOT_CONNECTION = re.compile(r"ran for [\d.]+s \(>", re.IGNORECASE)


def is_connection_error(record: logging.LogRecord, any_level: bool = False) -> bool:
    """True for a record that reports a broken or refused connection; WARNING or worse
    unless ``any_level`` (during an outage, the INFO reconnect chatter folds too)."""
    if record.levelno < logging.WARNING and not any_level:
        return False
    text = record.getMessage()
    if record.exc_info and record.exc_info[1] is not None:
        exc = record.exc_info[1]
        text += f" {type(exc).__name__} {exc}"
    return CONNECTION_ERROR.search(text) is not None and NOT_CONNECTION.search(text) is None


class Outage:
    """One dependency's failure spell, as two log lines (see module doc)."""

    def __init__(
        self,
        log: logging.Logger,
        what: str,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self.what = what
        self._clock = clock
        self._since: float | None = None
        self._kinds: Counter[str] = Counter()

    @property
    def active(self) -> bool:
        """True between the first failure and the recovery."""
        return self._since is not None

    @property
    def failures(self) -> int:
        return sum(self._kinds.values())

    def failed(self, reason: str, kind: str = "error") -> bool:
        """Count one failure; logs (and returns True) only for the first of a spell."""
        self._kinds[kind] += 1
        if self._since is not None:
            return False
        self._since = self._clock()
        self._log.warning(
            "%s unavailable: %s (retrying; one line when it is back)", self.what, reason
        )
        return True

    def recovered(self) -> bool:
        """End the spell; logs (and returns True) its summary when there was one."""
        if self._since is None:
            return False
        took = self._clock() - self._since
        kinds = ", ".join(f"{n} {k}" for k, n in self._kinds.most_common())
        self._log.warning("%s back after %.1fs (%s)", self.what, took, kinds)
        self._since = None
        self._kinds.clear()
        return True


@dataclass
class _Storm:
    """One family's ongoing run of connection errors."""

    first_at: float
    first_wall: float
    first_message: str
    last_at: float
    last_message: str
    count: int = 1
    folded: int = 0
    reported_at: float = 0.0
    loggers: set[str] = field(default_factory=set)


class OutageFolder(logging.Handler):
    """Forwards the records of its loggers to the root logger, folding connection-error storms.

    ``clock`` is injectable (monotonic seconds); :meth:`tick` ends quiet outages and
    writes progress lines — a daemon thread calls it every second once installed.
    """

    def __init__(
        self,
        family: str,
        *,
        quiet_s: float = 15.0,
        report_every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sink: logging.Logger | None = None,
        matches: Callable[[logging.LogRecord], bool] = is_connection_error,
    ) -> None:
        super().__init__(logging.NOTSET)
        self.family = family
        self.quiet_s = quiet_s
        self.report_every_s = report_every_s
        self._clock = clock
        self._wall = wall
        self._sink = sink or log
        self._matches = matches
        self._outage: _Storm | None = None
        self._mutex = threading.Lock()
        self.outages = 0

    def emit(self, record: logging.LogRecord) -> None:
        folding = self._matches(record) or (
            self._outage is not None and is_connection_error(record, any_level=True)
        )
        if folding and not self._fold(record):
            return
        logging.getLogger().handle(record)

    def _fold(self, record: logging.LogRecord) -> bool:
        """Count ``record`` in the outage; True when it is the outage's first and is written."""
        now = self._clock()
        message = record.getMessage()[:300]
        with self._mutex:
            outage = self._outage
            if outage is None:
                self._outage = _Storm(now, self._wall(), message, now, message, reported_at=now)
                self._outage.loggers.add(record.name)
                self.outages += 1
                first = True
            else:
                outage.count += 1
                outage.folded += 1
                outage.last_at = now
                outage.last_message = message
                outage.loggers.add(record.name)
                first = False
        if first:
            record.msg = f"{record.msg} [{self.family}: repeats folded until it recovers]"
        return first

    def tick(self) -> None:
        """End an outage quiet for ``quiet_s`` with its summary; report one still going."""
        now = self._clock()
        with self._mutex:
            outage = self._outage
            if outage is None:
                return
            if now - outage.last_at >= self.quiet_s:
                self._outage = None
                ended = True
            elif now - outage.reported_at >= self.report_every_s:
                outage.reported_at = now
                ended = False
            else:
                return
        self._write(outage, ended)

    def ongoing(self) -> str | None:
        """The open outage in words ("3 errors since 10:02:11: <last>"), None when there is none."""
        with self._mutex:
            outage = self._outage
            if outage is None:
                return None
            started = time.strftime("%H:%M:%S", time.localtime(outage.first_wall))
            return f"{outage.count} connection errors since {started}: {outage.last_message}"

    def flush_outage(self) -> None:
        """Write the summary of an outage still open (at exit)."""
        with self._mutex:
            outage, self._outage = self._outage, None
        if outage is not None:
            self._write(outage, ended=False, at_exit=True)

    def _write(self, outage: _Storm, ended: bool, at_exit: bool = False) -> None:
        span = outage.last_at - outage.first_at
        started = time.strftime("%H:%M:%S", time.localtime(outage.first_wall))
        what = (
            "connection errors stopped"
            if ended
            else "connection errors still going at exit"
            if at_exit
            else "connection errors still going"
        )
        self._sink.warning(
            "%s outage: %s; %d errors over %.1fs since %s (%d lines folded) from %s; last: %s",
            self.family,
            what,
            outage.count,
            span,
            started,
            outage.folded,
            ", ".join(sorted(outage.loggers)),
            outage.last_message,
        )


_installed: dict[str, OutageFolder] = {}
_install_lock = threading.Lock()


def summarise_outages(
    families: Mapping[str, Sequence[str]] = FAMILIES, *, quiet_s: float = 15.0
) -> dict[str, OutageFolder]:
    """Fold connection-error storms of ``families``' loggers (idempotent; one line to wire in)."""
    with _install_lock:
        for family, names in families.items():
            if family in _installed:
                continue
            folder = OutageFolder(family, quiet_s=quiet_s)
            for name in names:
                logger = logging.getLogger(name)
                logger.addHandler(folder)
                # The folder forwards what passes to the root handlers itself.
                logger.propagate = False
            _installed[family] = folder
        if not any(isinstance(t, _Ticker) for t in threading.enumerate()):
            _Ticker().start()
            atexit.register(_flush_all)
        return dict(_installed)


def ongoing_outage(family: str) -> str | None:
    """The open outage of ``family`` in words, or None (also when nothing was installed)."""
    folder = _installed.get(family)
    return folder.ongoing() if folder is not None else None


def _flush_all() -> None:
    for folder in _installed.values():
        folder.flush_outage()


class _Ticker(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="outage-summary", daemon=True)

    def run(self) -> None:
        while True:
            time.sleep(1.0)
            for folder in list(_installed.values()):
                folder.tick()
