"""The notifier: consumes ``alerts.v1`` and emails department teams, reliably.

Immediate alerts go out one email each (throttled per department, held in
quiet hours), digests per department on its schedule. An alert's offset is
committed only after the SMTP server accepted its email and the ledger of sent
``alert_id``s recorded it, so a redelivery sends nothing twice and an SMTP
outage loses nothing. Every email is audited in Elasticsearch ``earshot-alerts``.
Copies of one incident (cross-posts, reposts, re-worded posts) fold into the
email of the first (:mod:`services.notifier.incidents`), recorded in the ledger
and the audit, so a department gets one email per incident. Static group
membership lets a restarted notifier take its partitions back at once;
``/healthz`` says ok only after Kafka and SMTP answered, degraded while either fails.
Run it with ``python -m services.notifier``; ``services.notifier.devmail`` is a
local SMTP server that keeps each message as an ``.eml`` file for development.
"""
