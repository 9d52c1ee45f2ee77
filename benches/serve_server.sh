# Sourced by benches/serve_per_core.sh and benches/serve_stream_per_core.sh: builds the
# release binary, runs the quickstart job in a temporary directory, writes GOOG_wiki's first
# 300 rows as a request body (body300.json), and starts `gaform serve` for it pinned to
# $SERVER_CORE on $PORT, route /signal. Leaves the shell in that directory with $SERVER (the
# server's pid), $BIN (the binary) and `ticks` (the server's CPU ticks so far); the
# directory and the server go when the script exits.
SERVER_CORE=${SERVER_CORE:-0}
LOAD_CORE=${LOAD_CORE:-1}
cargo build -q --release --no-default-features
BIN="$PWD/target/release/gaform"
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null; rm -rf "$WORK"' EXIT
mkdir "$WORK/data"
cp examples/data/GOOG_wiki.csv "$WORK/data/"
cp examples/quickstart.gaf "$WORK/"
cat >> "$WORK/quickstart.gaf" <<EOF

service signal {
  job   = quickstart
  route = "/signal"
  port  = $PORT
}
EOF
python3 - "$WORK" <<'EOF'
import csv, sys
rows = list(csv.reader(open(sys.argv[1] + "/data/GOOG_wiki.csv")))
bars = ['["%s",%s,%s,%s,%s,%s]' % (r[1], r[2], r[3], r[4], r[5], r[6]) for r in rows[1:301]]
open(sys.argv[1] + "/body300.json", "w").write("[" + ",".join(bars) + "]")
EOF
cd "$WORK"
"$BIN" run quickstart.gaf --out results/quickstart > /dev/null 2>&1
taskset -c "$SERVER_CORE" "$BIN" serve quickstart.gaf --service signal > serve.log 2>&1 &
SERVER=$!
sleep 1
ticks() { awk '{print $14 + $15}' /proc/$SERVER/stat; }
