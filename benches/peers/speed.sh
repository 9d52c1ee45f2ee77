#!/bin/sh
# Issue 15's figures side by side in one run: the GA loop against the sweep (one process),
# the whole `gaform run` of the speed job against DEAP's run of the same budget, and the
# sweep against a numba loop of the same conventions. Needs a venv with the peers:
#   python3 -m venv /tmp/peer-venv && /tmp/peer-venv/bin/pip install deap numpy numba
# Not part of the build or the tests.
set -e
cd "$(dirname "$0")/../.."
PY=${PEER_PYTHON:-/tmp/peer-venv/bin/python}
cargo build -q --release --no-default-features
cargo bench -q -p gaform-runtime --bench ga_speed 2>/dev/null | grep -v '^$'
for threads in 1 2; do
  python3 benches/peers/time_gaform_run.py target/release/gaform benches/peers/speed.gaf 21 "$threads"
done
"$PY" benches/peers/deap_sma.py examples/data/GOOG_wiki.csv 3
for round in 1 2 3; do
  cargo bench -q -p gaform-runtime --bench sma_sweep 2>/dev/null | grep 'best of 5:'
  "$PY" benches/peers/numba_sweep.py examples/data/GOOG_wiki.csv | tail -1
done
