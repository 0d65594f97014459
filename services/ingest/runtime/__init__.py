"""The shared ingestion runtime: settings, config, HTTP, retry, producer, cursors, loop."""
