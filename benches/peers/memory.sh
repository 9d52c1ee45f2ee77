#!/bin/sh
# Peak memory of `gaform run` against the population: the memory job (a written strategy
# with many distinct indicator series) at 20,000 genomes, and the same job at 1,000, so
# that what grows with the population shows. Release build; GNU time's peak RSS.
# Not part of the build or the tests.
set -e
cd "$(dirname "$0")/../.."
cargo build -q --release --no-default-features
dir=$(mktemp -d)
for population in 1000 20000; do
  sed "s/population  = 20000/population  = $population/" benches/peers/memory.gaf > "$dir/memory.gaf"
  sed -i "s#../../examples/data#$PWD/examples/data#" "$dir/memory.gaf"
  /usr/bin/time -v target/release/gaform run "$dir/memory.gaf" --out "$dir/results-$population" \
    > "$dir/out-$population.txt" 2> "$dir/time-$population.txt"
  rss=$(grep 'Maximum resident set size' "$dir/time-$population.txt" | awk '{print $6}')
  wall=$(grep 'Elapsed (wall clock)' "$dir/time-$population.txt" | awk '{print $8}')
  backtests=$(grep -o '[0-9]* backtests on' "$dir/out-$population.txt" | awk '{print $1}')
  echo "population $population: peak RSS $((rss / 1024)) MiB, $backtests backtests, wall $wall"
done
rm -rf "$dir"
