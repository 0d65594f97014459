#!/usr/bin/env bash
# Smoke test for the local stack that deploy/local/stack.sh started: exercises
# the Elasticsearch features Earshot relies on (english analyzer, custom
# analyzer, normalizer, geo_point, float, keyword sub-fields,
# composable index template, alias, _bulk, terms / date_histogram /
# geotile_grid / geo_bounds aggregations, delete by id)
# and Kafka (compacted topic, produce, consume) with nothing but curl and the
# Kafka jars. Cleans up after itself. Exit 0 when everything passed.
#
#   deploy/local/smoke.sh            (after: deploy/local/stack.sh up)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
STACK=$SCRIPT_DIR/stack.sh

eval "$("$STACK" env)"
ES=$EARSHOT_ES_URL
BOOTSTRAP=$EARSHOT_KAFKA_BOOTSTRAP
RUN_ID=$$-$RANDOM
PREFIX=earshot-smoke-$RUN_ID
INDEX=$PREFIX-2026.11
TOPIC=$PREFIX-topic

PASSED=0
FAILED=0

pass() {
    PASSED=$((PASSED + 1))
    printf 'ok   %s\n' "$1"
}
fail() {
    FAILED=$((FAILED + 1))
    printf 'FAIL %s\n     got: %s\n' "$1" "${2:0:400}"
}

# es METHOD PATH [JSON BODY] -> prints the response body
es() {
    local method=$1 path=$2 body=${3:-}
    if [[ -n $body ]]; then
        curl -sS -X "$method" "$ES$path" -H 'content-type: application/json' -d "$body"
    else
        curl -sS -X "$method" "$ES$path"
    fi
}

# expect NAME NEEDLE RESPONSE: passes when RESPONSE contains NEEDLE
expect() {
    if [[ $3 == *"$2"* ]]; then pass "$1"; else fail "$1" "$3"; fi
}

cleanup() {
    es DELETE "/_index_template/$PREFIX" >/dev/null 2>&1 || true
    es DELETE "/$PREFIX-*" >/dev/null 2>&1 || true
    "$STACK" kafka-run org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
        --delete --topic "$TOPIC" >/dev/null 2>&1 || true
}
trap cleanup EXIT

smoke_elasticsearch() {
    local r
    r=$(es GET /)
    expect "GET / reports the server version" '"number"' "$r"

    r=$(es PUT "/_index_template/$PREFIX" '{
      "index_patterns": ["'"$PREFIX"'-*"],
      "priority": 500,
      "template": {
        "settings": {
          "number_of_shards": 1, "number_of_replicas": 0,
          "analysis": {
            "analyzer": {"en_custom": {"type": "custom", "tokenizer": "standard",
              "char_filter": ["html_strip"],
              "filter": ["lowercase", "asciifolding", "en_stop", "en_stem"]}},
            "filter": {"en_stop": {"type": "stop", "stopwords": "_english_"},
                       "en_stem": {"type": "stemmer", "language": "light_english"}},
            "normalizer": {"folded": {"type": "custom", "filter": ["lowercase", "asciifolding"]}}
          }
        },
        "mappings": {"properties": {
          "text": {"type": "text", "analyzer": "english",
                   "fields": {"raw": {"type": "keyword", "ignore_above": 256},
                              "custom": {"type": "text", "analyzer": "en_custom"}}},
          "council": {"type": "keyword", "normalizer": "folded"},
          "location": {"type": "geo_point"},
          "sentiment": {"type": "float"},
          "created_at": {"type": "date"}
        }},
        "aliases": {"'"$PREFIX"'-all": {}}
      }
    }')
    expect "composable index template with english analyzer, geo_point, float" '"acknowledged":true' "$r"

    r=$(curl -sS -X POST "$ES/_bulk?refresh=true" -H 'content-type: application/x-ndjson' --data-binary @- <<EOF
{"index":{"_index":"$INDEX","_id":"1"}}
{"text":"The <b>bins</b> were not collected","council":"Cardiff","location":{"lat":51.48,"lon":-3.18},"sentiment":-0.4567,"created_at":"2026-11-20T10:00:00Z"}
{"index":{"_index":"$INDEX","_id":"2"}}
{"text":"Potholes everywhere on the ring road","council":"Leeds","location":{"lat":53.80,"lon":-1.55},"sentiment":0.25,"created_at":"2026-11-21T11:00:00Z"}
{"index":{"_index":"$INDEX","_id":"3"}}
{"text":"Gritters out early, thank you","council":"Ynys Môn","location":"53.26,-4.31","sentiment":0.8,"created_at":"2026-11-21T07:30:00Z"}
EOF
)
    expect "_bulk indexes three documents" '"errors":false' "$r"

    r=$(es POST "/$INDEX/_analyze" '{"analyzer":"english","text":"Collecting the councils'"'"' bins"}')
    expect "english analyzer stems and drops stop words" '"token":"collect"' "$r"

    r=$(es POST "/$INDEX/_analyze" '{"field":"text.custom","text":"<p>Cafés RUNNING</p>"}')
    expect "custom analyzer (html_strip, asciifolding, stemmer)" '"token":"cafe"' "$r"

    r=$(es POST "/$PREFIX-all/_search" '{"query":{"match":{"text":"collection of bin"}}}')
    expect "match query through the alias finds the stemmed document" '"_id":"1"' "$r"

    r=$(es POST "/$PREFIX-all/_search" '{"size":0,"aggs":{"councils":{"terms":{"field":"council"}}}}')
    expect "terms aggregation on a normalized keyword" '"key":"ynys mon"' "$r"

    r=$(es POST "/$PREFIX-all/_search" '{"size":0,"aggs":{"raw":{"terms":{"field":"text.raw"}}}}')
    expect "terms aggregation on a keyword sub-field" '"doc_count":1' "$r"

    r=$(es POST "/$PREFIX-all/_search" '{"size":0,"aggs":{"per_day":{"date_histogram":{"field":"created_at","calendar_interval":"day"}}}}')
    expect "date_histogram aggregation" '"key_as_string":"2026-11-21T00:00:00.000Z"' "$r"

    r=$(es POST "/$PREFIX-all/_search" '{"size":0,"aggs":{"tiles":{"geotile_grid":{"field":"location","precision":6}},"box":{"geo_bounds":{"field":"location"}}}}')
    expect "geotile_grid aggregation" '"key":"6/' "$r"
    expect "geo_bounds aggregation" '"top_left"' "$r"

    r=$(es POST "/$PREFIX-all/_search" '{"size":0,"query":{"range":{"sentiment":{"gte":0.2}}},"aggs":{"avg":{"avg":{"field":"sentiment"}}}}')
    expect "range query and avg on the float field" '"value":0.525' "$r"

    r=$(es POST "/$PREFIX-all/_search" '{"query":{"geo_distance":{"distance":"50km","location":{"lat":51.5,"lon":-3.2}}}}')
    expect "geo_distance query" '"_id":"1"' "$r"

    r=$(es DELETE "/$PREFIX-all/_doc/3?refresh=true")
    expect "delete by id" '"result":"deleted"' "$r"

    r=$(es GET "/$PREFIX-all/_count")
    expect "count after delete" '"count":2' "$r"

    r=$(es POST /_aliases '{"actions":[{"add":{"index":"'"$INDEX"'","alias":"'"$PREFIX"'-current","is_write_index":true}}]}')
    expect "alias actions" '"acknowledged":true' "$r"
    r=$(es GET "/_alias/$PREFIX-current")
    expect "alias resolves to the index" "\"$INDEX\"" "$r"
}

smoke_kafka() {
    local out
    out=$("$STACK" kafka-run org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
        --create --topic "$TOPIC" --partitions 1 --replication-factor 1 \
        --config cleanup.policy=compact 2>&1) || true
    expect "create a compacted topic" "Created topic" "$out"

    out=$("$STACK" kafka-run org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
        --describe --topic "$TOPIC" 2>&1) || true
    expect "topic is compacted" "cleanup.policy=compact" "$out"

    if out=$(printf 'council-1:{"hello":"earshot"}\n' | "$STACK" kafka-run kafka.tools.ConsoleProducer \
        --bootstrap-server "$BOOTSTRAP" --topic "$TOPIC" \
        --property parse.key=true --property key.separator=: 2>&1); then
        pass "produce a keyed message"
    else
        fail "produce a keyed message" "$out"
    fi

    out=$("$STACK" kafka-run org.apache.kafka.tools.consumer.ConsoleConsumer \
        --bootstrap-server "$BOOTSTRAP" --topic "$TOPIC" --from-beginning \
        --max-messages 1 --timeout-ms 30000 --property print.key=true 2>&1) || true
    expect "consume it back" 'council-1	{"hello":"earshot"}' "$out"
}

smoke_elasticsearch
smoke_kafka
printf '%d passed, %d failed\n' "$PASSED" "$FAILED"
((FAILED == 0))
