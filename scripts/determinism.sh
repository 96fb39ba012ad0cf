#!/usr/bin/env bash
# Runs the N schedules chaos generates for CORE (`ballot generate --seed 1..N --core CORE`)
# twice each (`ballot run --check-determinism`, in the turmoil world) and counts those whose
# two histories were the same byte for byte. Exit 1 if any differed (exit 4) or could not run.
#
#   scripts/determinism.sh CORE [N=100]      # e.g. openraft-0.9.25 (after make fixtures)
set -euo pipefail
core=$1
n=${2:-100}
ballot=${BALLOT:-target/release/ballot}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
same=0
for seed in $(seq 1 "$n"); do
  "$ballot" generate --seed "$seed" --core "$core" > "$work/s.json"
  set +e
  "$ballot" run "$work/s.json" --check-determinism > "$work/out" 2>&1
  status=$?
  set -e
  if [ "$status" = 4 ] || [ "$status" = 2 ]; then
    echo "seed $seed: exit $status"; tail -1 "$work/out"
  else
    same=$((same + 1))
  fi
done
echo "$core: $same of $n generated schedules gave the same history twice"
[ "$same" = "$n" ]
