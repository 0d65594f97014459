"""The notifier: consumes ``alerts.v1`` and emails department teams, reliably.

Immediate alerts go out one email each (throttled per department, held in
quiet hours), digests per department on its schedule. An alert's offset is
committed only after the SMTP server accepted its email and the ledger of sent
``alert_id``s recorded it, so a redelivery sends nothing twice and an SMTP
outage loses nothing. Every email is audited in Elasticsearch ``earshot-alerts``.
Run it with ``python -m services.notifier``; ``services.notifier.devmail`` is a
local SMTP server that keeps each message as an ``.eml`` file for development.
"""
