#!/bin/sh
# Issue 27's speed figures for the stateless endpoint, per server core: `gaform serve` pinned
# to one core (taskset), the load tool (`hey`) to another, so that neither takes the other's
# time. Prints, for a 300-bar POST (GOOG_wiki's first 300 rows, dates as strings) at 32
# connections and at 1, and for GET /healthz (the load tool's own ceiling on this machine):
# requests/s, p50, p99 and the server's CPU per request (its /proc/PID/stat user + system
# ticks over the run). Needs `hey` (the tests install Debian's into target/hey) and two
# cores. Not part of the build or the tests.
#   sh benches/serve_per_core.sh [SECONDS] [ROUNDS]
set -e
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-8}
ROUNDS=${2:-2}
HEY=${HEY:-target/hey/root/usr/bin/hey}
[ -x "$HEY" ] || HEY=$(command -v hey) || { echo "no hey: run the serve tests once, or install hey" >&2; exit 1; }
case $HEY in /*) ;; *) HEY="$PWD/$HEY" ;; esac
PORT=${PORT:-18090}
. benches/serve_server.sh
run() {
  what=$1; connections=$2; shift 2
  before=$(ticks)
  taskset -c "$LOAD_CORE" "$HEY" -z "${SECONDS_EACH}s" -c "$connections" "$@" > hey.txt
  after=$(ticks)
  answered=$(grep '\[200\]' hey.txt | awk '{print $2}')
  hz=$(getconf CLK_TCK)
  printf '%-22s c=%-3s %8.0f req/s  p50 %s s  p99 %s s  server CPU %s us/request  (%s answered 200)\n' \
    "$what" "$connections" "$(grep -m1 'Requests/sec' hey.txt | awk '{print $2}')" \
    "$(grep '50% in' hey.txt | awk '{print $3}')" "$(grep '99% in' hey.txt | awk '{print $3}')" \
    "$(python3 -c "print(round(($after - $before) * 1e6 / $hz / $answered, 1))")" "$answered"
}
URL=http://127.0.0.1:$PORT
for round in $(seq "$ROUNDS"); do
  run "POST 300 bars" 32 -m POST -T application/json -D body300.json "$URL/signal"
  run "POST 300 bars" 1 -m POST -T application/json -D body300.json "$URL/signal"
  run "GET /healthz (ceiling)" 32 "$URL/healthz"
done
