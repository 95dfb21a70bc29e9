#!/usr/bin/env bash
# run-fuzzers.sh BIN_DIR SECONDS: runs each fuzz target for SECONDS from its seed corpus, and
# fails if any finds a crash. New inputs go to a scratch corpus, not the committed one.
set -euo pipefail
bin=${1:?BIN_DIR}; secs=${2:-30}
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d); trap 'rm -rf "$scratch"' EXIT
status=0; ran=0
for target in "$bin"/fuzz_*; do
  name=$(basename "$target")
  mkdir -p "$scratch/$name"
  echo "fuzz: $name for ${secs}s"
  if "$target" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$scratch/" \
       "$scratch/$name" "$root/tests/fuzz/corpus/$name" >"$scratch/$name.log" 2>&1; then
    grep -E "stat::number_of_executed_units" "$scratch/$name.log" | sed "s/^/fuzz: $name /"
    ran=$((ran + 1))
  else
    echo "fuzz: $name FAILED"; tail -40 "$scratch/$name.log"; status=1
  fi
done
echo "fuzz: $ran passed, $((status)) failed"
exit $status
