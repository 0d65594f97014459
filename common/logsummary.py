"""Log lines that summarise an outage instead of repeating it: for every long-running process.

Contract: :class:`Outage` writes one line when a dependency starts failing and one when it
works again (how long, how many failures, of which kinds); failures in between are counted,
not logged. :class:`RepeatFilter`, added to a handler, lets through the first record of each
(logger, level, message template) per window for the loggers it watches (e.g. a Kafka
client's reconnect chatter) and notes how many were held back on the next one it lets
through; other loggers pass untouched.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable


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


class RepeatFilter(logging.Filter):
    """Holds back repeats of the same message template per window (see module doc)."""

    def __init__(
        self,
        prefixes: Iterable[str],
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._prefixes = tuple(prefixes)
        self._window = window_s
        self._clock = clock
        self._last: dict[tuple[str, int, str], float] = {}
        self._held: Counter[tuple[str, int, str]] = Counter()

    def _watched(self, name: str) -> bool:
        return any(name == p or name.startswith(p + ".") for p in self._prefixes)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._watched(record.name):
            return True
        key = (record.name, record.levelno, str(record.msg))
        now = self._clock()
        last = self._last.get(key)
        if last is not None and now - last < self._window:
            self._held[key] += 1
            return False
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            record.msg = f"{record.msg} [{held} more like this in the last {self._window:.0f}s]"
        return True


def summarise_repeats(
    prefixes: Iterable[str], window_s: float = 60.0, logger: logging.Logger | None = None
) -> RepeatFilter:
    """Add one :class:`RepeatFilter` to every handler of ``logger`` (the root by default)."""
    target = logger or logging.getLogger()
    flt = RepeatFilter(prefixes, window_s)
    for handler in target.handlers:
        handler.addFilter(flt)
    return flt
