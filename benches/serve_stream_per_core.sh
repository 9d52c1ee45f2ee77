#!/bin/sh
# Issue 27's streaming figure, per server core: `gaform serve` pinned to one core (taskset),
# `wrk` to another. Each wrk connection (one thread each) follows a stream of its own,
# seeded with GOOG_wiki's first 300 rows (PUT), then sends one new bar a request (POST
# ROUTE/streams/ID/bars, benches/stream_bars.lua), each after the last. Prints requests/s,
# p50, p99, the answers that were not 200 (there must be none: a bar out of order would be a
# 422) and the server's CPU per request; then GET /healthz at the same connections, the load
# tool's own ceiling on this machine. Needs `wrk` (Debian's: `apt-get download wrk
# libluajit-5.1-2`, unpacked with `dpkg-deb -x` under target/wrk/root; or one on PATH) and
# two cores. Not part of the build or the tests.
#   sh benches/serve_stream_per_core.sh [SECONDS] [ROUNDS]
set -e
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-8}
ROUNDS=${2:-2}
WRK_ROOT=${WRK_ROOT:-target/wrk/root}
if [ -x "$WRK_ROOT/usr/bin/wrk" ]; then
  WRK="$PWD/$WRK_ROOT/usr/bin/wrk"
  export LD_LIBRARY_PATH="$PWD/$WRK_ROOT/usr/lib/x86_64-linux-gnu"
else
  WRK=$(command -v wrk) || { echo "no wrk: unpack Debian's wrk and libluajit-5.1-2 under $WRK_ROOT" >&2; exit 1; }
fi
PORT=${PORT:-18091}
. benches/serve_server.sh
cp "$OLDPWD/benches/stream_bars.lua" .
URL=http://127.0.0.1:$PORT
seed() {
  # Every connection's stream, seeded afresh (a PUT replaces a stream of the same id).
  i=1
  while [ "$i" -le "$1" ]; do
    curl -sf -X PUT -H 'Content-Type: application/json' --data-binary @body300.json \
      "$URL/signal/streams/s$i" > /dev/null
    i=$((i + 1))
  done
}
run() {
  what=$1; connections=$2; shift 2
  before=$(ticks)
  taskset -c "$LOAD_CORE" "$WRK" -d "${SECONDS_EACH}s" -t "$connections" -c "$connections" --latency "$@" > wrk.txt
  after=$(ticks)
  total=$(grep 'requests in' wrk.txt | awk '{print $1}')
  refused=$(grep 'Non-2xx' wrk.txt | awk '{print $NF}')
  hz=$(getconf CLK_TCK)
  printf '%-26s c=%-3s %8.0f req/s  p50 %s  p99 %s  not 200: %s  server CPU %s us/request\n' \
    "$what" "$connections" "$(grep 'Requests/sec' wrk.txt | awk '{print $2}')" \
    "$(grep ' 50%' wrk.txt | awk '{print $2}')" "$(grep ' 99%' wrk.txt | awk '{print $2}')" \
    "${refused:-0}" "$(python3 -c "print(round(($after - $before) * 1e6 / $hz / $total, 1))")"
}
for round in $(seq "$ROUNDS"); do
  for connections in 1 2 4 8 32; do
    seed "$connections"
    run "POST one bar to a stream" "$connections" -s stream_bars.lua "$URL"
  done
  run "GET /healthz (ceiling)" 32 "$URL/healthz"
done
