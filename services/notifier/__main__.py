"""``python -m services.notifier``: run the notifier until SIGTERM/SIGINT; SIGHUP reloads departments."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from common.logsummary import summarise_outages
from common.settings import load_settings
from common.topics import TopicsNotReady
from common.yamlconfig import ConfigError
from services.notifier.ledger import LedgerUnavailable
from services.notifier.service import NotifierService
from services.notifier.settings import NotifierSettings
from services.notifier.smtp import SmtpConfigError

log = logging.getLogger("services.notifier")


async def _run(settings: NotifierSettings) -> int:
    try:
        service = NotifierService(settings)
    except ConfigError as exc:
        log.critical("departments file is not valid: %s", exc)
        return 2
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, service.stop.set)
    service.config.reload_on_sighup(loop)
    try:
        await service.run()
    except (SmtpConfigError, LedgerUnavailable) as exc:
        log.critical("cannot send: %s", exc)
        return 2
    except TopicsNotReady as exc:
        log.critical("refusing to start: %s", exc)
        return 2
    return 0


def main() -> int:
    """Load settings (exit 2 naming a bad variable), then run until stopped."""
    settings = load_settings(NotifierSettings)
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # kafka-python logs every reconnect, the Elasticsearch client every audit bulk, at INFO.
    for noisy in ("kafka", "elastic_transport"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLogger().level))
    summarise_outages()  # one line per Kafka/Elasticsearch outage, not one per reconnect attempt
    return asyncio.run(_run(settings))


if __name__ == "__main__":
    sys.exit(main())
