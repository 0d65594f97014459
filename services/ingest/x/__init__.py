"""X (Twitter) API v2: recent search with geo and place expansions."""
