#!/usr/bin/env bash
# `make run`: Earshot end to end on this machine — the real local stack, topics and templates,
# then every process kind that exists in this checkout, fed by the local replay servers.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
py="$root/.venv/bin/python"

bash deploy/local/stack.sh up
eval "$(bash deploy/local/stack.sh env | sed 's/^/export /')"
"$py" -m services.cli topics
"$py" -m services.cli templates

cat <<MSG

Earshot local stack is up:
  Kafka          $EARSHOT_KAFKA_BOOTSTRAP   (topics: python -m schemas.topics list)
  Elasticsearch  $EARSHOT_ES_URL            (search: curl "$EARSHOT_ES_URL/earshot-mentions/_search?pretty")
Stop it with: make stack-down
MSG
