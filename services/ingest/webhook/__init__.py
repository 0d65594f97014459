"""Webhook intake: signed JSON POSTs from forms and other tools."""
