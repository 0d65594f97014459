#!/usr/bin/env bash
# Run a real Apache Kafka broker and a real Elasticsearch node as plain
# processes on 127.0.0.1, without Docker, for Earshot's development and CI.
#
#   deploy/local/stack.sh up       fetch if needed, start whichever server is not running
#                                  on the data it has, wait until both are healthy; never
#                                  stops a running server, never deletes data
#   deploy/local/stack.sh down     stop both (by pid); their data stays for the next `up`
#   deploy/local/stack.sh reset    stop both and delete their data (topics, offsets,
#                                  indices); the next `up` starts empty
#   deploy/local/stack.sh status   exit 0 only when both are running and healthy
#   deploy/local/stack.sh env      print EARSHOT_KAFKA_BOOTSTRAP=... and EARSHOT_ES_URL=...
#   deploy/local/stack.sh fetch    only fill the cache (e.g. a CI warm-up step)
#   deploy/local/stack.sh kafka-run CLASS [ARGS...]
#                                  run a Kafka command-line class with the cached
#                                  jars, e.g. org.apache.kafka.tools.TopicCommand
#
# Kafka comes from Maven Central as jars (kafka/pom.xml). Elasticsearch comes
# from Maven Central as Elastic's integ-test-zip (elasticsearch/pom.xml): the
# real server, but without analysis-common, mapper-extras, reindex and
# rest-root; elasticsearch/compat-plugin/ stands in for the parts of them
# Earshot uses. See the README section for what that plugin does not cover.
#
# Environment (all optional):
#   EARSHOT_CACHE                 cache root (default ~/.cache/earshot)
#   EARSHOT_STACK_DIR             one stack's state, data and logs (default $EARSHOT_CACHE/run)
#   EARSHOT_LOCAL_KAFKA_PORT      default 19092 (controller: EARSHOT_LOCAL_KAFKA_CONTROLLER_PORT, default port+1)
#   EARSHOT_LOCAL_ES_PORT         default 19200 (transport: EARSHOT_LOCAL_ES_TRANSPORT_PORT, default port+100)
#   EARSHOT_JAVA_HOME             JDK to use (default: JAVA_HOME, then `java` on PATH)
#   EARSHOT_STACK_TIMEOUT         seconds to wait for start-up and health (default 600)
#   EARSHOT_ES_USER               user Elasticsearch runs as when we are root (default earshot)
#   EARSHOT_ES_BASE               where root keeps Elasticsearch's install and data when the
#                                 ES user cannot read $EARSHOT_CACHE (default /var/cache/earshot)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
readonly KAFKA_VERSION=3.9.1
readonly ES_VERSION=8.19.14

CACHE=${EARSHOT_CACHE:-${HOME:-/root}/.cache/earshot}
STACK_DIR=${EARSHOT_STACK_DIR:-$CACHE/run}
STATE_FILE=$STACK_DIR/stack.state
KAFKA_PORT=${EARSHOT_LOCAL_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${EARSHOT_LOCAL_KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}
ES_PORT=${EARSHOT_LOCAL_ES_PORT:-19200}
ES_TRANSPORT_PORT=${EARSHOT_LOCAL_ES_TRANSPORT_PORT:-$((ES_PORT + 100))}
ES_USER=${EARSHOT_ES_USER:-earshot}
TIMEOUT=${EARSHOT_STACK_TIMEOUT:-600}
KAFKA_HEAP=1g
ES_HEAP=1g

# Filled in by find_java.
JAVA=""
JAVA_HOME_DIR=""
# Pid of the background Elasticsearch launcher during `up`.
ES_LAUNCHER=""

log() { printf '%s\n' "$*" >&2; }
die() {
    log "stack.sh: $*"
    exit 1
}

# ------------------------------------------------------------------ prerequisites

# Finds a Java 17+ runtime: Kafka 3.9 and Elasticsearch 8 both need 17.
find_java() {
    local candidate=""
    if [[ -n ${EARSHOT_JAVA_HOME:-} ]]; then
        candidate=$EARSHOT_JAVA_HOME/bin/java
    elif [[ -n ${JAVA_HOME:-} && -x ${JAVA_HOME}/bin/java ]]; then
        candidate=$JAVA_HOME/bin/java
    elif command -v java >/dev/null 2>&1; then
        candidate=$(command -v java)
    fi
    [[ -n $candidate && -x $candidate ]] ||
        die "Java 17 or newer is needed: apt-get install openjdk-17-jdk-headless (or set EARSHOT_JAVA_HOME)."
    local spec
    spec=$("$candidate" -XshowSettings:properties -version 2>&1 |
        sed -n 's/^ *java\.specification\.version = //p')
    local major=${spec#1.}
    major=${major%%.*}
    if ! [[ $major =~ ^[0-9]+$ ]] || ((major < 17)); then
        die "Java 17 or newer is needed (found ${spec:-unknown} at $candidate): apt-get install openjdk-17-jdk-headless."
    fi
    JAVA=$(readlink -f "$candidate")
    JAVA_HOME_DIR=$(dirname "$(dirname "$JAVA")")
}

need_mvn() {
    command -v mvn >/dev/null 2>&1 ||
        die "Maven is needed to fetch Kafka and Elasticsearch the first time: apt-get install maven."
}

need_curl() {
    command -v curl >/dev/null 2>&1 ||
        die "curl is needed to check Elasticsearch's health: apt-get install curl."
}

# The compat plugin is compiled on first fetch, so a JDK (not just a JRE).
need_javac() {
    [[ -x $JAVA_HOME_DIR/bin/javac && -x $JAVA_HOME_DIR/bin/jar ]] ||
        die "A Java 17+ JDK with javac is needed to build the Elasticsearch compat plugin: apt-get install openjdk-17-jdk-headless."
}

is_root() { [[ $(id -u) -eq 0 ]]; }

# Serialises up/down/fetch on one stack dir (e.g. two make targets at once).
# fd 9 is closed again for the servers so they do not hold the lock.
take_lock() {
    mkdir -p "$STACK_DIR"
    exec 9>"$STACK_DIR/.lock"
    flock -w 900 9 || die "another stack.sh is still busy with $STACK_DIR."
}

# Elasticsearch refuses to run as root, so root runs it as an unprivileged
# system user, created on first use.
ensure_es_user() {
    is_root || return 0
    id -u "$ES_USER" >/dev/null 2>&1 && return 0
    log "Creating system user '$ES_USER' to run Elasticsearch (it refuses to run as root)."
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$ES_USER" ||
        die "could not create user '$ES_USER'; create it or set EARSHOT_ES_USER to an existing unprivileged user."
}

# Runs a command as the user Elasticsearch runs as.
as_es_user() {
    if is_root; then
        runuser -u "$ES_USER" -- "$@"
    else
        "$@"
    fi
}

# Where Elasticsearch's install and run files go. Root's ~/.cache is usually
# closed to other users, so ES's files then live under a world-readable base.
# Worked out once per invocation (it may run a command as the ES user).
ES_BASE=""
resolve_es_base() {
    [[ -n $ES_BASE ]] && return 0
    if ! is_root; then
        ES_BASE=$CACHE
    elif [[ -n ${EARSHOT_ES_BASE:-} ]]; then
        ES_BASE=$EARSHOT_ES_BASE
    else
        ensure_es_user
        mkdir -p "$CACHE"
        if as_es_user test -r "$CACHE" -a -x "$CACHE"; then
            ES_BASE=$CACHE
        else
            ES_BASE=/var/cache/earshot
        fi
    fi
    mkdir -p "$ES_BASE/stack" "$ES_BASE/run"
    if is_root; then
        chmod a+rx "$ES_BASE" "$ES_BASE/stack" "$ES_BASE/run"
    fi
}

# ------------------------------------------------------------------------ caching

kafka_home() { printf '%s\n' "$CACHE/stack/kafka-$KAFKA_VERSION"; }
es_cache_dir() { printf '%s\n' "$ES_BASE/stack/elasticsearch-$ES_VERSION"; }
es_home() { printf '%s\n' "$(es_cache_dir)/elasticsearch-$ES_VERSION"; }

# A cached component is complete when its marker names what was fetched, so
# a half-finished fetch is redone. Keyed by version (not by pom contents):
# other stacks may be running from the cache, so it is never replaced under
# them. Bump the "layout" suffix if a pom's dependency list changes.
readonly KAFKA_CACHE_ID="kafka $KAFKA_VERSION layout 1"
readonly ES_CACHE_ID="elasticsearch $ES_VERSION layout 2"

inputs_hash() {
    cat "$@" | sha256sum | cut -d' ' -f1
}

compat_sources() {
    find "$SCRIPT_DIR/elasticsearch/compat-plugin" -type f \( -name '*.java' -o -name '*.in' \) | LC_ALL=C sort
}

# Runs Maven quietly; its output goes to a log that is shown only on failure.
mvn_fetch() {
    local mvn_log=$1
    shift
    if ! mvn -B -q "$@" >"$mvn_log" 2>&1; then
        tail -n 40 "$mvn_log" >&2
        return 1
    fi
}

fetch_kafka() {
    local home marker want
    home=$(kafka_home)
    marker=$home/.complete
    want=$KAFKA_CACHE_ID
    [[ -f $marker && $(<"$marker") == "$want" ]] && return 0
    # Several stacks (other ports / stack dirs) may share this cache.
    mkdir -p "$CACHE/stack"
    exec 8>"$CACHE/stack/.fetch-kafka.lock"
    flock -w 900 8 || die "another stack.sh is still fetching Kafka into $CACHE/stack."
    if [[ -f $marker && $(<"$marker") == "$want" ]]; then
        exec 8>&-
        return 0
    fi
    need_mvn
    log "Fetching Kafka $KAFKA_VERSION jars into $home ..."
    rm -rf "$home" "$home.tmp"
    mkdir -p "$home.tmp"
    mvn_fetch "$home.tmp/mvn.log" -f "$SCRIPT_DIR/kafka/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
        org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
        -DincludeScope=runtime -DoutputDirectory="$home.tmp/libs" ||
        die "fetching Kafka with Maven failed (see the errors above)."
    rm -f "$home.tmp/mvn.log"
    mv "$home.tmp" "$home"
    printf '%s\n' "$want" >"$marker"
    exec 8>&-
}

fetch_es() {
    local dir home marker want
    resolve_es_base
    dir=$(es_cache_dir)
    home=$(es_home)
    marker=$dir/.complete
    want=$ES_CACHE_ID
    # Several stacks may share this install; the lock also covers the plugin build.
    exec 7>"$ES_BASE/stack/.fetch-es.lock"
    flock -w 900 7 || die "another stack.sh is still fetching Elasticsearch into $ES_BASE/stack."
    if ! [[ -f $marker && $(<"$marker") == "$want" ]]; then
        need_mvn
        log "Fetching Elasticsearch $ES_VERSION into $dir ..."
        rm -rf "$dir" "$dir.tmp"
        mkdir -p "$dir.tmp"
        mvn_fetch "$dir.tmp/mvn.log" -f "$SCRIPT_DIR/elasticsearch/pom.xml" -Des.version="$ES_VERSION" \
            org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
            -DincludeTypes=zip -DoutputDirectory="$dir.tmp/download" ||
            die "fetching Elasticsearch with Maven failed (see the errors above)."
        unpack_zip "$dir.tmp/download/elasticsearch-$ES_VERSION.zip" "$dir.tmp"
        rm -rf "$dir.tmp/download" "$dir.tmp/mvn.log"
        # The ES user must read the install even when it belongs to root.
        chmod -R a+rX "$dir.tmp"
        mv "$dir.tmp" "$dir"
        printf '%s\n' "$want" >"$marker"
    fi
    build_compat_plugin "$home"
    exec 7>&-
}

unpack_zip() {
    local zip=$1 dest=$2
    if command -v unzip >/dev/null 2>&1; then
        unzip -q "$zip" -d "$dest"
    else
        # `jar` comes with the JDK we need anyway, but drops the exec bits.
        (cd "$dest" && "$JAVA_HOME_DIR/bin/jar" xf "$zip")
        chmod a+x "$dest/elasticsearch-$ES_VERSION"/bin/*
    fi
}

# Compiles compat-plugin/ against the server's own jars and installs it into
# the cached distribution; rebuilt whenever its sources change.
build_compat_plugin() {
    local home=$1 src=$SCRIPT_DIR/elasticsearch/compat-plugin
    local target=$home/plugins/earshot-compat
    local want
    local -a sources
    mapfile -t sources < <(compat_sources)
    want=$(inputs_hash "${sources[@]}")
    [[ -f $target/.source-hash && $(<"$target/.source-hash") == "$want" ]] && return 0
    need_javac
    log "Building the Elasticsearch compat plugin ..."
    local work
    work=$(mktemp -d)
    local -a java_files
    mapfile -t java_files < <(find "$src/src" -name '*.java' | LC_ALL=C sort)
    "$JAVA_HOME_DIR/bin/javac" --release 17 -nowarn -encoding UTF-8 \
        -cp "$home/lib/*" -d "$work/classes" "${java_files[@]}" ||
        die "compiling the Elasticsearch compat plugin failed."
    rm -rf "$target"
    mkdir -p "$target"
    "$JAVA_HOME_DIR/bin/jar" cf "$target/earshot-compat.jar" -C "$work/classes" .
    sed -e "s/@PLUGIN_VERSION@/${want:0:12}/" -e "s/@ES_VERSION@/$ES_VERSION/" \
        "$src/plugin-descriptor.properties.in" >"$target/plugin-descriptor.properties"
    chmod -R a+rX "$target"
    rm -rf "$work"
    printf '%s\n' "$want" >"$target/.source-hash"
}

fetch_all() {
    find_java
    fetch_kafka
    fetch_es
}

# -------------------------------------------------------------------------- state

# The state file is key=value lines written by `up`; read without sourcing.
# It records ports, run dirs, pids and the Kafka cluster id. Data lives in the
# run dirs and outlives the processes: only `reset` deletes it.
declare -A STATE=()
load_state() {
    STATE=()
    [[ -f $STATE_FILE ]] || return 1
    local key value
    while IFS='=' read -r key value; do
        [[ -n $key ]] && STATE[$key]=$value
    done <"$STATE_FILE"
    return 0
}

save_state() {
    mkdir -p "$STACK_DIR"
    local key
    : >"$STATE_FILE.tmp"
    for key in "${!STATE[@]}"; do
        printf '%s=%s\n' "$key" "${STATE[$key]}" >>"$STATE_FILE.tmp"
    done
    mv "$STATE_FILE.tmp" "$STATE_FILE"
}

# True when pid is alive and its command line carries every marker given, so
# a recycled pid (or another stack's server) is never taken for, or killed
# as, ours.
pid_is() {
    local pid=$1 cmdline marker
    shift
    [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/cmdline ]] || return 1
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    for marker in "$@"; do
        [[ $cmdline == *"$marker"* ]] || return 1
    done
}

# Our Kafka: the broker class with this run's server.properties.
is_our_kafka() {
    pid_is "$1" kafka.Kafka "${STATE[kafka_run]:-?}/server.properties"
}

# Our Elasticsearch: the server JVM whose tmpdir is this run's.
is_our_es() {
    pid_is "$1" org.elasticsearch.server "-Djava.io.tmpdir=${STATE[es_run]:-?}/tmp"
}

kafka_running() { is_our_kafka "${STATE[kafka_pid]:-}"; }
es_running() { is_our_es "${STATE[es_pid]:-}"; }

# Finds our ES server when its pid file is missing (start-up cut short).
find_our_es() {
    local dir pid
    for dir in /proc/[0-9]*; do
        pid=${dir#/proc/}
        if is_our_es "$pid"; then
            printf '%s\n' "$pid"
            return 0
        fi
    done
    return 1
}

port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Fills in the run dirs of a stack that has none recorded yet. A recorded one
# wins: that is where this stack's data is, whatever the ports are now.
resolve_run_dirs() {
    resolve_es_base
    [[ -n ${STATE[kafka_run]:-} ]] || STATE[kafka_run]=$STACK_DIR/kafka
    if [[ -z ${STATE[es_run]:-} ]]; then
        if [[ $ES_BASE == "$CACHE" ]]; then
            STATE[es_run]=$STACK_DIR/elasticsearch
        else
            # Outside the stack dir (root's cache is closed to the ES user): keyed by the
            # stack dir too, so two stack dirs never share one data set.
            STATE[es_run]=$ES_BASE/run/elasticsearch-$ES_PORT-$(printf '%s' "$STACK_DIR" | sha256sum | cut -c1-8)
        fi
    fi
}

# ------------------------------------------------------------------------- kafka

kafka_java() {
    "$JAVA" -Dlog4j.configuration="file:$SCRIPT_DIR/kafka/tools-log4j.properties" \
        -cp "$(kafka_home)/libs/*" "$@"
}

# Kafka's Uuid: 16 random bytes, base64url without padding.
new_cluster_id() {
    head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

# The cluster id a data dir was formatted with; empty when it never was.
formatted_cluster_id() {
    local meta=$1/meta.properties
    [[ -f $meta ]] && sed -n 's/^cluster\.id=//p' "$meta"
    return 0
}

# Starts the broker on the data it has (log recovery after a crash is the
# broker's own job); formats the data dir only when it was never formatted.
start_kafka() {
    local run=${STATE[kafka_run]} cluster_id
    mkdir -p "$run/data" "$run/logs"
    rm -f "$run/kafka.pid"
    sed -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
        -e "s|@DATA_DIR@|$run/data|g" "$SCRIPT_DIR/kafka/server.properties.in" >"$run/server.properties"
    STATE[kafka_port]=$KAFKA_PORT
    STATE[kafka_log]=$run/logs/server.log
    cluster_id=$(formatted_cluster_id "$run/data")
    if [[ -z $cluster_id ]]; then
        cluster_id=$(new_cluster_id)
        log "Kafka: formatting an empty data dir ($run/data)."
        kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$run/server.properties" \
            >"$run/logs/format.log" 2>&1 || return 1
    else
        log "Kafka: starting on its data ($run/data)."
    fi
    STATE[kafka_cluster_id]=$cluster_id
    # setsid: the broker outlives this shell and ignores its terminal's
    # signals; the inner sh records the pid of the JVM it then becomes.
    # shellcheck disable=SC2016 # $$ and $@ are for the inner sh
    setsid sh -c 'echo $$ >"$0"; exec "$@"' "$run/kafka.pid" \
        "$JAVA" -Xms256m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
        -Djava.awt.headless=true \
        -Dlog4j.configuration="file:$SCRIPT_DIR/kafka/log4j.properties" \
        -Dkafka.logs.dir="$run/logs" \
        -cp "$(kafka_home)/libs/*" kafka.Kafka "$run/server.properties" \
        </dev/null >>"$run/logs/kafka.out" 2>&1 9>&- &
    wait_for_file "$run/kafka.pid" 10 || return 1
    STATE[kafka_pid]=$(<"$run/kafka.pid")
}

# Healthy = the broker answers a metadata request with the cluster id its data
# was formatted with (a Java-side check, so no Python venv is needed).
kafka_healthy() {
    local port=${STATE[kafka_port]:-$KAFKA_PORT} out
    kafka_running || return 1
    port_open "$port" || return 1
    out=$(timeout 30 "$JAVA" -Dlog4j.configuration="file:$SCRIPT_DIR/kafka/tools-log4j.properties" \
        -cp "$(kafka_home)/libs/*" org.apache.kafka.tools.ClusterTool cluster-id \
        --bootstrap-server "127.0.0.1:$port" 2>/dev/null) || return 1
    [[ $out == *"${STATE[kafka_cluster_id]:-?}"* ]]
}

# ------------------------------------------------------------------ elasticsearch

# Starts the node on the data it has; config and tmp are written afresh each
# time (they hold nothing of value), data and logs are kept.
start_es() {
    local home run=${STATE[es_run]}
    ensure_es_user
    home=$(es_home)
    rm -rf "$run/config" "$run/tmp" "$run/es.pid"
    mkdir -p "$run/data" "$run/logs" "$run/tmp" "$run/config/jvm.options.d"
    if [[ -n $(ls -A "$run/data") ]]; then
        log "Elasticsearch: starting on its data ($run/data)."
    fi
    cp -R "$home/config/." "$run/config/"
    sed -e "s|@DATA_DIR@|$run/data|g" -e "s|@LOGS_DIR@|$run/logs|g" \
        -e "s|@HTTP_PORT@|$ES_PORT|g" -e "s|@TRANSPORT_PORT@|$ES_TRANSPORT_PORT|g" \
        "$SCRIPT_DIR/elasticsearch/elasticsearch.yml.in" >"$run/config/elasticsearch.yml"
    sed -e "s|@HEAP@|$ES_HEAP|g" "$SCRIPT_DIR/elasticsearch/jvm.options.in" \
        >"$run/config/jvm.options.d/earshot.options"
    if is_root; then
        chown -R "$ES_USER:" "$run"
    fi
    STATE[es_port]=$ES_PORT
    STATE[es_log]=$run/logs/earshot-local.log
    # -d: the launcher returns once the node has started (or failed), and
    # ES writes the server JVM's pid to the -p file. It runs in the
    # background so that Kafka formats and boots meanwhile.
    (cd "$run" && as_es_user env ES_JAVA_HOME="$JAVA_HOME_DIR" ES_PATH_CONF="$run/config" \
        ES_TMPDIR="$run/tmp" ES_JAVA_OPTS="" \
        timeout "$TIMEOUT" "$home/bin/elasticsearch" -d -p "$run/es.pid" \
        </dev/null >>"$run/logs/launch.log" 2>&1 9>&-) &
    ES_LAUNCHER=$!
}

# Waits for the background ES launcher; false when the node did not start.
finish_es_launch() {
    local run=${STATE[es_run]} rc=0
    wait "$ES_LAUNCHER" || rc=$?
    if [[ -s $run/es.pid ]]; then
        STATE[es_pid]=$(<"$run/es.pid")
    else
        # Cut short before writing its pid file: remember it for cleanup.
        STATE[es_pid]=$(find_our_es) || true
    fi
    ((rc == 0)) && [[ -s $run/es.pid ]]
}

es_healthy() {
    local port=${STATE[es_port]:-$ES_PORT}
    es_running || return 1
    curl -fsS --max-time 10 \
        "http://127.0.0.1:$port/_cluster/health?wait_for_status=yellow&timeout=5s" 2>/dev/null |
        grep -qE '"status":"(green|yellow)"'
}

# ---------------------------------------------------------------------- lifecycle

wait_for_file() {
    local file=$1 seconds=$2 i
    for ((i = 0; i < seconds * 10; i++)); do
        [[ -s $file ]] && return 0
        sleep 0.1
    done
    return 1
}

# Polls a check function until it passes or the deadline (epoch seconds) passes.
wait_until() {
    local check=$1 deadline=$2
    until "$check"; do
        ((SECONDS < deadline)) || return 1
        sleep 1
    done
}

# stop_pid NAME CHECK PID: TERM, wait up to 30 s, then KILL; CHECK is
# is_our_kafka / is_our_es, so only our own process is ever signalled.
stop_pid() {
    local name=$1 check=$2 pid=$3 i
    "$check" "$pid" || return 0
    log "Stopping $name (pid $pid) ..."
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        "$check" "$pid" || return 0
        sleep 0.1
    done
    log "$name did not stop within 30 s; killing it."
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
}

# Stops both servers (by pid, ours only); their data stays.
stop_all() {
    stop_pid Elasticsearch is_our_es "${STATE[es_pid]:-}"
    stop_pid Kafka is_our_kafka "${STATE[kafka_pid]:-}"
    unset 'STATE[es_pid]' 'STATE[kafka_pid]'
}

print_env() {
    printf 'EARSHOT_KAFKA_BOOTSTRAP=127.0.0.1:%s\n' "${STATE[kafka_port]:-$KAFKA_PORT}"
    printf 'EARSHOT_ES_URL=http://127.0.0.1:%s\n' "${STATE[es_port]:-$ES_PORT}"
}

# Servers this `up` started; only these are stopped when it fails.
STARTED_KAFKA=""
STARTED_ES=""

fail_with_log() {
    local what=$1
    shift
    local f
    log "stack.sh: $what"
    for f in "$@"; do
        [[ -s $f ]] || continue
        log "---- last lines of $f ----"
        tail -n 40 "$f" >&2
    done
    # A server that was already running is left alone, healthy or not; what
    # this `up` started and did not come up is stopped. No data is deleted.
    [[ -n $STARTED_ES ]] && stop_pid Elasticsearch is_our_es "${STATE[es_pid]:-}"
    [[ -n $STARTED_KAFKA ]] && stop_pid Kafka is_our_kafka "${STATE[kafka_pid]:-}"
    save_state
    exit 1
}

check_port_free() {
    local port=$1 var=$2
    ! port_open "$port" ||
        die "port $port on 127.0.0.1 is already in use by something this script did not start; stop it or set $var."
}

# Starts whichever server is not running, on the data it has, and waits until
# both are healthy. A running server is never stopped and no data is deleted.
cmd_up() {
    local started=$SECONDS
    find_java
    need_curl
    load_state || true
    if { kafka_running && [[ ${STATE[kafka_port]:-} != "$KAFKA_PORT" ]]; } ||
        { es_running && [[ ${STATE[es_port]:-} != "$ES_PORT" ]]; }; then
        die "$STACK_DIR already runs a stack on other ports (Kafka ${STATE[kafka_port]:-?}, ES ${STATE[es_port]:-?}); 'down' it first, or use another EARSHOT_STACK_DIR."
    fi
    resolve_run_dirs
    if kafka_running && es_running; then
        if kafka_healthy && es_healthy; then
            log "Kafka and Elasticsearch are already running and healthy."
            print_env
            return 0
        fi
    fi
    local deadline=$((SECONDS + TIMEOUT))
    # Both boot at once: ES's launcher in the background, Kafka meanwhile.
    if es_running; then
        log "Elasticsearch is running (pid ${STATE[es_pid]}); not touching it."
    else
        check_port_free "$ES_PORT" EARSHOT_LOCAL_ES_PORT
        check_port_free "$ES_TRANSPORT_PORT" EARSHOT_LOCAL_ES_TRANSPORT_PORT
        fetch_es
        start_es
        STARTED_ES=1
    fi
    save_state
    if kafka_running; then
        log "Kafka is running (pid ${STATE[kafka_pid]}); not touching it."
    else
        check_port_free "$KAFKA_PORT" EARSHOT_LOCAL_KAFKA_PORT
        check_port_free "$KAFKA_CONTROLLER_PORT" EARSHOT_LOCAL_KAFKA_CONTROLLER_PORT
        fetch_kafka
        STARTED_KAFKA=1
        if ! start_kafka; then
            [[ -n $STARTED_ES ]] && { finish_es_launch || true; }
            fail_with_log "Kafka did not start." \
                "${STATE[kafka_run]}/logs/format.log" "${STATE[kafka_run]}/logs/kafka.out"
        fi
    fi
    save_state
    if [[ -n $STARTED_ES ]] && ! finish_es_launch; then
        fail_with_log "Elasticsearch did not start." \
            "${STATE[es_run]}/logs/launch.log" "${STATE[es_log]}"
    fi
    save_state
    wait_until es_healthy "$deadline" ||
        fail_with_log "Elasticsearch did not become healthy within ${TIMEOUT}s." "${STATE[es_log]}"
    wait_until kafka_healthy "$deadline" ||
        fail_with_log "Kafka did not become healthy within ${TIMEOUT}s." \
            "${STATE[kafka_run]}/logs/kafka.out" "${STATE[kafka_log]}"
    print_env
    log "Kafka $KAFKA_VERSION: pid ${STATE[kafka_pid]}, data ${STATE[kafka_run]}/data, log ${STATE[kafka_log]}"
    log "Elasticsearch $ES_VERSION: pid ${STATE[es_pid]}, data ${STATE[es_run]}/data, log ${STATE[es_log]}"
    log "Stack up in $((SECONDS - started))s (state: $STATE_FILE)."
}

cmd_down() {
    if ! load_state; then
        log "Nothing to stop (no state file at $STATE_FILE)."
        return 0
    fi
    stop_all
    save_state
    log "Stopped; the data stays for the next 'up' ('reset' drops it)."
}

# Stops both servers and deletes their data (topics, offsets, indices); logs stay.
cmd_reset() {
    if ! load_state; then
        log "Nothing to reset (no state file at $STATE_FILE)."
        return 0
    fi
    stop_all
    local dir
    for dir in "${STATE[kafka_run]:-}" "${STATE[es_run]:-}"; do
        [[ -n $dir && -d $dir/data ]] || continue
        log "Deleting $dir/data ..."
        rm -rf "$dir/data"
    done
    rm -f "$STATE_FILE"
    log "Reset: the next 'up' starts with empty Kafka and Elasticsearch."
}

cmd_status() {
    local rc=0
    find_java
    if ! load_state; then
        log "Not running (no state file at $STATE_FILE)."
        return 1
    fi
    if kafka_healthy; then
        log "Kafka: running and healthy (pid ${STATE[kafka_pid]}, 127.0.0.1:${STATE[kafka_port]})."
    elif kafka_running; then
        log "Kafka: running (pid ${STATE[kafka_pid]}) but not answering; see ${STATE[kafka_log]:-}."
        rc=1
    else
        log "Kafka: not running (data kept in ${STATE[kafka_run]:-?}/data; 'up' starts it on it)."
        rc=1
    fi
    if es_healthy; then
        log "Elasticsearch: running and healthy (pid ${STATE[es_pid]}, http://127.0.0.1:${STATE[es_port]})."
    elif es_running; then
        log "Elasticsearch: running (pid ${STATE[es_pid]}) but not healthy; see ${STATE[es_log]:-}."
        rc=1
    else
        log "Elasticsearch: not running (data kept in ${STATE[es_run]:-?}/data; 'up' starts it on it)."
        rc=1
    fi
    return "$rc"
}

cmd_env() {
    load_state || true
    print_env
}

cmd_kafka_run() {
    (($# >= 1)) || die "usage: stack.sh kafka-run CLASS [ARGS...]"
    find_java
    fetch_kafka
    kafka_java "$@"
}

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

main() {
    local cmd=${1:-}
    (($# > 0)) && shift
    case $cmd in
    up) take_lock && cmd_up ;;
    down) take_lock && cmd_down ;;
    reset) take_lock && cmd_reset ;;
    status) cmd_status ;;
    env) cmd_env ;;
    fetch) take_lock && fetch_all ;;
    kafka-run) cmd_kafka_run "$@" ;;
    -h | --help | help) usage ;;
    *)
        usage >&2
        exit 2
        ;;
    esac
}

main "$@"
