#!/usr/bin/env bash
# `make run`: Earshot end to end on this machine. Real Kafka + Elasticsearch (local stack),
# topics and templates, the Faust worker, the notifier with a local mail catcher, ingestion
# services for every source kind, and local replay servers playing a demo council's traffic.
# Runs in the foreground; Ctrl-C stops everything it started (the stack keeps running:
# `make stack-down` stops it and keeps its data; `make stack-reset` drops the data).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
py="$root/.venv/bin/python"
var="$root/var/run"
mkdir -p "$var" "$root/var/mail" "$root/var/log"
pids=()

stop_all() {
  trap - INT TERM EXIT
  echo; echo "stopping Earshot processes..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped (the local stack is still up with its data: make stack-down stops it)"
}
trap stop_all INT TERM EXIT

start() {  # start NAME CMD...: a background process with its log in var/log/NAME.log
  local name="$1"; shift
  "$@" >"$root/var/log/$name.log" 2>&1 &
  pids+=("$!")
  printf '  %-18s pid %-7s log var/log/%s.log\n' "$name" "$!" "$name"
}

echo "== local stack"
bash deploy/local/stack.sh up
eval "$(bash deploy/local/stack.sh env | sed 's/^/export /')"
export EARSHOT_TOPIC_PREFIX="" EARSHOT_INDEX_PREFIX="earshot"
# Demo-only secrets, generated per run and never written anywhere.
EARSHOT_PSEUDONYM_SECRET="demo-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
EARSHOT_WEBHOOK_SECRET="demo-webhook-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export EARSHOT_PSEUDONYM_SECRET EARSHOT_WEBHOOK_SECRET EARSHOT_X_BEARER_TOKEN=replay-bearer

echo "== topics and index templates"
"$py" -m services.cli topics
"$py" -m services.cli templates

echo "== processes"
run_started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
for kind_port in rss:8081 mastodon:8082 bluesky:8083 reddit:8084 x:8085; do
  start "replay-${kind_port%%:*}" "$py" -m devkit.replay "${kind_port%%:*}" --port "${kind_port##*:}" --total 60 --fresh
done
start smtp-catcher "$py" -m services.notifier.devmail --dir var/mail --port 2525
EARSHOT_DATADIR="$root/var/faust" start worker "$py" -m faust -A pipelines.app worker -l info
# Kibana is not part of make run (compose runs it); email links point where it would be.
export EARSHOT_KIBANA_URL="${EARSHOT_KIBANA_URL:-http://127.0.0.1:5601}"
EARSHOT_SMTP_HOST=127.0.0.1 EARSHOT_SMTP_PORT=2525 EARSHOT_SMTP_SECURITY=none \
  EARSHOT_QUIET_HOURS=false start notifier "$py" -m services.notifier
EARSHOT_SOURCES_FILE=deploy/config/sources.demo.yaml EARSHOT_HTTP_PORT=9108 \
  start ingest "$py" -m services.ingest

echo "== waiting for this run's demo traffic to become searchable (the worker loads its models first)"
# Count only what this run fetched: a second run must show its own fresh traffic arriving.
this_run="{\"query\":{\"range\":{\"fetched_at\":{\"gte\":\"$run_started\"}}}}"
count=0
for _ in $(seq 1 180); do
  count=$(curl -fsS -H 'Content-Type: application/json' -d "$this_run" \
    "$EARSHOT_ES_URL/earshot-mentions/_count" 2>/dev/null | sed -n 's/.*"count":\([0-9]*\).*/\1/p' || true)
  [[ "${count:-0}" -ge 20 ]] && break
  sleep 5
done

cat <<MSG

Earshot is running end to end ($count mentions from this run searchable so far; more arrive as the demo plays).
  Commands:               source .venv/bin/activate   (puts \`earshot\` on your PATH)
  Search from the shell:  earshot search --department haringey-highways --since 7d
                          earshot search --council Haringey --since 7d --stats
  Elasticsearch:          curl "$EARSHOT_ES_URL/earshot-mentions/_search?q=pothole&pretty"
  Department email:       open $root/var/mail/index.html  (a local mail catcher; nothing leaves this machine)
                          its Kibana links point at $EARSHOT_KIBANA_URL (Kibana runs in the compose stack)
  Ingestion health:       curl http://127.0.0.1:9108/healthz   metrics: /metrics  (notifier: port 9110)
  Dead letters:           earshot deadletters   (count per topic, latest letters with origin and reason)
  Logs:                   $root/var/log/
Ctrl-C stops Earshot's processes; make stack-down stops Kafka and Elasticsearch (data kept; make stack-reset drops it).
MSG
wait
