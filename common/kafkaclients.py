"""Settings every long-lived kafka-python client of Earshot shares.

kafka-python backs off reconnecting exponentially up to ``reconnect_backoff_max_ms``,
30 s by default: a producer or consumer that lived through a broker restart could
sit out most of that after the broker was back (the fault suite saw ~20 s of nothing
after a Kafka restart). Capped at 2 s, a client is back within about two seconds of
the broker, at the cost of one connection attempt every 2 s while it is away.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

RECONNECT: Final[Mapping[str, Any]] = {
    "reconnect_backoff_ms": 50,
    "reconnect_backoff_max_ms": 2_000,
}
"""Keyword arguments for ``KafkaProducer``/``KafkaConsumer``/``KafkaAdminClient``."""
