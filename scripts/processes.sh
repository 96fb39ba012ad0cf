#!/usr/bin/env bash
# Jepsen mode, shown on the real thing (`ballot run --world processes`):
#  1. a planted bug that real ordering exposes (vote-before-persist from scripts/bugs.py: a
#     vote answered before it is durable) fails on processes with examples/stale-campaigns.json,
#     which the shipped core passes there; and a forgotten fsync (state-not-synced: the term
#     and vote written in place, never synced) fails on processes with examples/faults.json,
#     which crashes and restarts a node (the nodes hold unsynced writes in memory,
#     --volatile-writes, so a killed node loses them);
#  2. N generated schedules in a row on processes leave no process and no directory behind,
#     and agree with turmoil on every safety verdict (liveness verdicts are reported: real
#     time is not the simulator's).
#
#   scripts/processes.sh [N]   (default 20 generated schedules; 0 skips part 2)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-20}
cd "$root"
cargo build -q --release -p ballot-harness
ballot=$root/target/release/ballot
work=$root/target/processes
mkdir -p "$work"
status=0

# What a run of ballot with process id $1 left: its run directories and node processes.
left_behind() {
  local dirs procs
  dirs=$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name "ballot-processes-$1-*" | wc -l)
  procs=$( (pgrep -f "ballot-processes-$1-" || true) | wc -l)
  echo "$dirs directories, $procs processes"
}

# Builds the workspace with bug $1 put in (scripts/bugs.py) as $work/$1-ballot.
build_bug() {
  local copy=$work/$1
  rm -rf "$copy"
  mkdir -p "$copy"
  git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$copy"
  python3 scripts/bugs.py "$1" "$copy"
  (cd "$copy" && CARGO_TARGET_DIR=$work/target cargo build -q --release -p ballot-harness)
  cp "$work/target/release/ballot" "$work/$1-ballot"
}

# Runs schedule $2 on processes with bug $1 in, up to 20 times, until property $3 fails.
expect_found() {
  local bug=$1 schedule=$2 property=$3 rc
  set +e
  "$work/$bug-ballot" run "$schedule" --world processes --repeat 20 --stop-on-violation \
    > "$work/$bug.log" 2>&1
  rc=$?
  set -e
  if [ "$rc" = 1 ] && grep -q "$property" "$work/$bug.log"; then
    echo "   $bug: $property after $(grep -c '^run ' "$work/$bug.log") run(s)"
  else
    echo "   $bug: $property NOT FOUND in 20 runs (exit $rc): $work/$bug.log"
    status=1
  fi
}

echo "== 1. planted bugs on processes"
build_bug vote-before-persist
expect_found vote-before-persist examples/stale-campaigns.json vote-durable
build_bug state-not-synced
expect_found state-not-synced examples/faults.json term-monotonic
for schedule in examples/stale-campaigns.json examples/faults.json; do
  if "$ballot" run "$schedule" --world processes > "$work/shipped.log" 2>&1; then
    echo "   the shipped core passes $schedule on processes"
  else
    echo "   the shipped core FAILED $schedule: $work/shipped.log"
    status=1
  fi
done

[ "$n" -gt 0 ] || exit $status
echo "== 2. $n generated schedules on processes, then in turmoil"
agree=0
liveness_differs=0
for seed in $(seq 1 "$n"); do
  schedule=$work/generated-$seed.json
  "$ballot" generate --seed "$seed" > "$schedule"
  "$ballot" run "$schedule" --world processes --json > "$work/processes-$seed.json" 2> "$work/processes-$seed.log" &
  pid=$!
  wait $pid || true
  left=$(left_behind $pid)
  "$ballot" run "$schedule" --world turmoil --json > "$work/turmoil-$seed.json" 2>/dev/null || true
  line=$(python3 - "$work/processes-$seed.json" "$work/turmoil-$seed.json" <<'EOF'
import json, sys
p, t = (json.load(open(f)) for f in sys.argv[1:])
safety = lambda s: s["verdict"] == "safety"
names = lambda s: sorted({v["property"] for v in s["violations"]})
agree = "agree" if safety(p) == safety(t) else "DISAGREE"
print(f"{agree} processes {p['verdict']} {names(p)} turmoil {t['verdict']} {names(t)}")
EOF
)
  echo "   seed $seed: $line; left behind: $left"
  case $line in agree*) agree=$((agree + 1)) ;; *) status=1 ;; esac
  case $line in *"processes liveness"*|*"turmoil liveness"*) liveness_differs=$((liveness_differs + 1)) ;; esac
  [ "$left" = "0 directories, 0 processes" ] || status=1
done
echo "   $agree of $n agree on safety; $liveness_differs with a liveness verdict in either world"
exit $status
