"""RSS/Atom feeds, Google Alerts included."""
