#!/usr/bin/env bash
# A single-node Apache Kafka (KRaft, combined broker+controller) on loopback, without Docker.
#
#   broker.sh fetch    resolve the pinned broker jars from Maven Central with mvn (cached)
#   broker.sh format   format KRaft storage once (skipped when already formatted)
#   broker.sh start    start the broker in the background (no-op when it already runs)
#   broker.sh wait     block until the broker accepts clients (or fail after KAFKA_WAIT_SECONDS)
#   broker.sh stop     SIGTERM, then SIGKILL after 30 s; removes the pid file
#   broker.sh kill     SIGKILL now (fault injection: a hard broker crash)
#   broker.sh up       fetch + format + start + wait, then print KAFKA_BROKERS=...
#   broker.sh down     stop
#   broker.sh status   exit 0 when running
#
# Environment: KAFKA_PORT (19092), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1), DATA_DIR (<repo>/.data),
# KAFKA_CACHE_DIR (<repo>/.cache/kafka), KAFKA_HEAP (-Xms256m -Xmx1g), KAFKA_WAIT_SECONDS (90).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/pom.xml")"
KAFKA_PORT="${KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
DATA_DIR="${DATA_DIR:-$repo/.data}"
KAFKA_CACHE_DIR="${KAFKA_CACHE_DIR:-$repo/.cache/kafka}"
KAFKA_HEAP="${KAFKA_HEAP:--Xms256m -Xmx1g}"
KAFKA_WAIT_SECONDS="${KAFKA_WAIT_SECONDS:-90}"
# A fixed cluster id: the local broker is disposable and a fixed id saves a JVM start per format.
CLUSTER_ID="${KAFKA_CLUSTER_ID:-jOuRnEyPiPeLiNeLoCaL0A}"

libs="$KAFKA_CACHE_DIR/$KAFKA_VERSION/libs"
home="$DATA_DIR/kafka-$KAFKA_PORT"
props="$home/server.properties"
pidfile="$home/broker.pid"
logfile="$home/broker.log"

say() { printf '[kafka] %s\n' "$*" >&2; }

fetch() {
  if [ -f "$libs/.complete" ]; then return 0; fi
  say "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central (cached in $libs)"
  rm -rf "$libs" && mkdir -p "$libs"
  mvn -q -B -f "$here/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs" >&2
  touch "$libs/.complete"
}

write_props() {
  mkdir -p "$home/logs"
  cat >"$props" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$home/logs
num.partitions=4
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
group.consumer.min.session.timeout.ms=6000
group.classic.min.session.timeout.ms=6000
log.retention.hours=168
log.cleaner.backoff.ms=5000
# After a hard kill the broker re-reads every log from its last recovery point. Kafka moves that
# point only when it flushes, by default only when a segment rolls (1 GiB or 7 days): a kill then
# costs a scan of every active segment (18-30 s in the fault run). Flushing every second keeps the
# scan to about a second of writes; the flush runs on the broker's scheduler, not in requests.
log.flush.scheduler.interval.ms=1000
log.flush.interval.ms=1000
log.flush.offset.checkpoint.interval.ms=2000
num.recovery.threads.per.data.dir=2
# A broker restarted after a hard kill cannot register again until the controller has expired its
# old registration (DUPLICATE_BROKER_REGISTRATION until broker.session.timeout.ms, 9 s by default,
# measured as 7 s of a 15 s restart). Broker and controller share this one JVM, so a short session
# costs nothing in stability that a GC pause of the same JVM would not cost anyway.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
EOF
}

format() {
  fetch
  write_props
  if [ -f "$home/logs/meta.properties" ]; then return 0; fi
  say "formatting KRaft storage in $home/logs"
  # The services' local state copies (DATA_DIR/state) mirror this broker's changelogs by offset:
  # a new broker's topics start again at 0, so copies of the old ones must not outlive them.
  rm -rf "$DATA_DIR/state"
  java -cp "$libs/*" -Dkafka.logfile="$home/format.log" -Dlog4j2.configurationFile="$here/log4j2.yaml" \
    kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$props" --ignore-formatted >&2
}

running_pid() {
  [ -f "$pidfile" ] || return 1
  local pid
  pid="$(cat "$pidfile")"
  if kill -0 "$pid" 2>/dev/null && grep -q kafka.Kafka "/proc/$pid/cmdline" 2>/dev/null; then
    echo "$pid"
    return 0
  fi
  return 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  if pid="$(running_pid)"; then say "already running (pid $pid)"; return 0; fi
  rm -f "$pidfile" # stale after a crash
  if port_open "$KAFKA_PORT"; then
    # A local broker of another DATA_DIR on the same port is still a broker we can use.
    if pgrep -f "kafka.Kafka .*kafka-$KAFKA_PORT/server.properties" >/dev/null 2>&1; then
      say "a local broker from another DATA_DIR already serves port $KAFKA_PORT; using it"
      return 0
    fi
    say "port $KAFKA_PORT is taken by another process; set KAFKA_PORT"
    exit 1
  fi
  format
  : >"$logfile"
  # shellcheck disable=SC2086
  nohup java $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dkafka.logfile="$logfile" -Dlog4j2.configurationFile="$here/log4j2.yaml" \
    -cp "$libs/*" kafka.Kafka "$props" >"$home/broker.out" 2>&1 </dev/null &
  echo $! >"$pidfile"
  say "started pid $(cat "$pidfile"), logs in $logfile"
}

wait_ready() {
  local deadline=$((SECONDS + KAFKA_WAIT_SECONDS))
  if ! [ -f "$pidfile" ] && port_open "$KAFKA_PORT"; then return 0; fi # another DATA_DIR's broker
  local pid
  pid="$(cat "$pidfile" 2>/dev/null || echo 0)"
  while [ $SECONDS -lt $deadline ]; do
    # Liveness by pid alone: just after the fork, the child's cmdline is still this shell's (not yet
    # java's), so running_pid's cmdline check would report a starting broker as exited.
    if ! kill -0 "$pid" 2>/dev/null; then
      say "broker exited; last lines of $home/broker.out and $logfile:"
      tail -n 20 "$home/broker.out" "$logfile" >&2 || true
      exit 1
    fi
    if port_open "$KAFKA_PORT" && grep -q "Kafka Server started" "$logfile" 2>/dev/null; then
      return 0
    fi
    sleep 0.3
  done
  say "broker not ready after ${KAFKA_WAIT_SECONDS}s; see $logfile"
  exit 1
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then rm -f "$pidfile"; say "not running"; return 0; fi
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then say "no exit after 30 s, killing"; kill -KILL "$pid" || true; fi
  rm -f "$pidfile"
  say "stopped"
}

hard_kill() {
  local pid
  if pid="$(running_pid)"; then kill -KILL "$pid"; while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done; fi
  rm -f "$pidfile"
}

case "${1:-up}" in
  fetch) fetch ;;
  format) format ;;
  start) start ;;
  wait) wait_ready ;;
  stop | down) stop ;;
  kill) hard_kill ;;
  status) running_pid >/dev/null ;;
  up)
    start
    wait_ready
    echo "KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
    ;;
  *)
    echo "usage: $0 {fetch|format|start|wait|stop|kill|up|down|status}" >&2
    exit 2
    ;;
esac
