#!/usr/bin/env bash
# Shows that generated schedules find known election bugs: for each bug in scripts/bugs.py,
# copy the workspace to target/bugs/workspace (the same directory for every bug, so that the
# `bugs` profile's incremental build recompiles only what the patch changed), put the bug in,
# build it as target/bugs/<bug>-ballot, and hunt with
# `ballot chaos --stop-on-violation`, which shrinks what it finds. Reports how many runs each
# bug took to find and the size of its shrunk schedule, in the turmoil world and in the event
# world (which reports, not fails: it is new). The shipped core is never touched.
#
#   scripts/prove-bugs.sh [RUNS [BUG...]]   (default 4000 runs per bug at most, every bug)
#   GUIDED=1 scripts/prove-bugs.sh ...      also hunts each bug with `chaos --guided`
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-4000}
shift || true
bugs=${*:-$(python3 "$root/scripts/bugs.py" --list)}
work=$root/target/bugs
export CARGO_TARGET_DIR=$work/target
mkdir -p "$work"
status=0
# "first found in run R after S s" from a campaign's summary (its first_runs and
# first_found_s: with several workers, the first finding printed need not be the earliest
# run), or nothing if it found nothing.
first_found() {
  python3 -c 'import json, sys
s = json.load(open(sys.argv[1])); r = s.get("first_runs", {}); t = s.get("first_found_s", {})
print(f"first found in run {min(r.values())} after {min(t.values()):.2f} s" if r and t else "")' \
    "$1/summary.json" 2>/dev/null || true
}
copy=$work/workspace
for bug in $bugs; do
  rm -rf "$copy" "$work/$bug-artifacts"
  mkdir -p "$copy"
  (cd "$root" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$copy")
  python3 "$root/scripts/bugs.py" "$bug" "$copy"
  built=$SECONDS
  (cd "$copy" && cargo build -q --profile bugs -p ballot-harness)
  cp "$CARGO_TARGET_DIR/bugs/ballot" "$work/$bug-ballot"
  echo "== $bug (built in $((SECONDS - built)) s)"
  "$work/$bug-ballot" chaos --runs "$runs" --seed 1 --stop-on-violation --world turmoil \
    --out "$work/$bug-artifacts" > "$work/$bug.log" 2>&1 || true
  first=$(first_found "$work/$bug-artifacts")
  found=$(grep -m1 ' in run ' "$work/$bug.log" || true)
  if [ -z "$found" ] || [ -z "$first" ]; then
    echo "   random: NOT FOUND in $runs runs"
    status=1
  else
    echo "   random: $first; $found"
  fi
  # The same hunt in the event world, with ten times the runs (they cost a few percent of
  # turmoil's): the runs and wall seconds it took to find the bug (summary.json's first_runs
  # and first_found_s), and the wall time of the whole campaign (shrinking and the turmoil
  # replay included).
  start=$(date +%s.%N)
  # Bounded all the same: a bug put in can make any world misbehave, and a hunt must not
  # take the machine (count-duplicate-votes once grew a message storm here, before the event
  # world bounded each socket and took a millisecond's datagrams in one turn, as turmoil does).
  rm -rf "$work/$bug-events"
  (ulimit -v 4000000; timeout 120 "$work/$bug-ballot" chaos --runs "$((runs * 10))" --seed 1 \
    --stop-on-violation --world events --out "$work/$bug-events" > "$work/$bug-events.log" 2>&1) || true
  took=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
  events=$(grep -m1 ' in run ' "$work/$bug-events.log" | sed 's/: ballot repro.*//' || true)
  events_first=$(first_found "$work/$bug-events")
  echo "   events: ${events_first:+$events_first; }${events:-NOT FOUND in $((runs * 10)) runs}; campaign ${took} s"
  if [ -n "${GUIDED:-}" ]; then
    # A guided campaign goes in generations folded in run order: the same whatever --jobs.
    "$work/$bug-ballot" chaos --runs "$runs" --seed 1 --stop-on-violation --guided --world turmoil \
      --out "$work/$bug-guided" > "$work/$bug-guided.log" 2>&1 || true
    guided=$(grep -m1 ' in run ' "$work/$bug-guided.log" || echo "NOT FOUND in $runs runs")
    echo "   guided: $guided"
  fi
done
exit $status
