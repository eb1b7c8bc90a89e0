#!/usr/bin/env bash
# The collector under the simulator's full load, with a CPU profile (docs/performance.md, Collector).
#
#   services/collector/bench/under-load.sh <out-dir> [window-seconds=60]
#
# Starts services/collector/main.ts (node --cpu-prof, own topic prefix, COLLECTOR_HTTP_PORT or
# 18180) against the local broker (KAFKA_BROKERS, default 127.0.0.1:19092), drives it with
# SIMULATOR_MODE=max, and after 10 s of warm-up measures for the window: events accepted per second
# (collector_events_accepted_total) and the collector process's CPU (utime + stime from /proc) per
# accepted event, with the load average at both ends. The profile is written to <out-dir> when the
# collector stops; summarize it with services/collector/bench/profile-summary.ts.
# Run from the checkout to measure (a git worktree of an older commit measures "before").
set -euo pipefail
out=$1
window=${2:-60}
port=${COLLECTOR_HTTP_PORT:-18180}
mkdir -p "$out"
prefix="collector-load-$RANDOM."
started=$(date +%s.%N)
KAFKA_TOPIC_PREFIX=$prefix COLLECTOR_HTTP_PORT=$port LOG_LEVEL=${LOG_LEVEL:-warn} \
  node --cpu-prof --cpu-prof-dir="$out" --import tsx services/collector/main.ts >"$out/collector.log" 2>&1 &
collector=$!
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 1; done
SIMULATOR_MODE=max COLLECTOR_URL="http://127.0.0.1:$port" LOG_LEVEL=warn \
  node --import tsx services/simulator/main.ts >"$out/simulator.log" 2>&1 &
simulator=$!
sleep 10

accepted() { curl -s "http://127.0.0.1:$port/metrics" | awk '/^collector_events_accepted_total/ { s += $2 } END { print s + 0 }'; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$collector/stat"; }
a0=$(accepted); c0=$(cpu_ticks); t0=$(date +%s.%N); load0=$(cut -d' ' -f1-3 /proc/loadavg)
sleep "$window"
a1=$(accepted); c1=$(cpu_ticks); t1=$(date +%s.%N); load1=$(cut -d' ' -f1-3 /proc/loadavg)
batching=$(curl -s "http://127.0.0.1:$port/healthz" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.stringify(JSON.parse(s).details.produceBatching ?? null)))')

kill "$simulator" 2>/dev/null || true; wait "$simulator" 2>/dev/null || true
kill -TERM "$collector"; wait "$collector" 2>/dev/null || true
node -e '
const [a0, a1, c0, c1, t0, t1, started, hz] = process.argv.slice(1).map(Number);
const events = a1 - a0, seconds = t1 - t0, cpu = (c1 - c0) / hz;
console.log(`accepted ${events} events in ${seconds.toFixed(1)} s: ${Math.round(events / seconds)} events/s; collector CPU ${cpu.toFixed(1)} s = ${((cpu * 1e6) / events).toFixed(1)} µs/event (${(cpu / seconds).toFixed(2)} cores)`);
console.log(`profile window: ${(t0 - started).toFixed(0)}-${(t1 - started).toFixed(0)} s after launch`);
' "$a0" "$a1" "$c0" "$c1" "$t0" "$t1" "$started" "$(getconf CLK_TCK)"
echo "load average at start: $load0; at end: $load1"
echo "produce batching (sends = HTTP requests, flushes = produces): $batching"
