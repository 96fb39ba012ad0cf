#!/usr/bin/env bash
# Runs the commands of the README and the guide (docs/) that a test does not already run, and
# checks what they must do (scripts/doc-commands.py, in make lint, checks that none is missed):
# the UDP example five times in a row (exit 0, nothing left in the temporary directory),
# `--json` of every command through a JSON parser, a short `make chaos`, the timeline
# screenshot, `make processes` (bounded), `make prove-bugs`, one shard of `make mutants`, and the worked example of a
# failure found, shrunk and replayed (on prove-bugs' copy with the bug put in), and the raft-rs
# commands of "Testing another Raft" (its hunt included). Called by .ci/run. (`make bench`
# runs here only in its short form: the full one takes many minutes.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
tmp=${TMPDIR:-/tmp}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== the UDP example, five times in a row"
cargo build -q -p ballot-node --example udp_cluster
for i in 1 2 3 4 5; do
  target/debug/examples/udp_cluster > "$work/udp.out" 2> "$work/udp.err"
  grep -q '^new leader: node' "$work/udp.out"
  if grep -q $'\e\[' "$work/udp.err"; then echo "colour codes in piped logs"; exit 1; fi
done
if ls "$tmp" | grep -q '^ballot-example-'; then echo "ballot-example-* left in $tmp"; exit 1; fi

echo "== --json of every command parses"
cargo build -q --release -p ballot-harness
ballot=target/release/ballot
$ballot run examples/spec.json --json | python3 -m json.tool > /dev/null
$ballot run examples/faults.json --json --history "$work/faults.jsonl" | python3 -m json.tool > /dev/null
$ballot check "$work/faults.jsonl" --json --timeline "$work/faults-check.html" | python3 -m json.tool > /dev/null
$ballot run examples/two-leaders.json --history "$work/two-leaders.jsonl" > /dev/null
$ballot diagnose "$work/two-leaders.jsonl" > "$work/diagnose.out"
grep -q '^    fix: turn check-quorum on' "$work/diagnose.out"
$ballot diagnose "$work/two-leaders.jsonl" --json | python3 -m json.tool > /dev/null
$ballot chaos --runs 5 --seed 1 --json --out "$work/chaos" | python3 -m json.tool > /dev/null
$ballot bench failover --trials 1 --json --svg "$work/f.svg" | python3 -m json.tool > /dev/null
$ballot bench sim --seconds 1 --chaos-runs 3 --json | python3 -m json.tool > /dev/null

echo "== the event world: a run, its determinism, a short campaign, a fixture core"
$ballot run examples/faults.json --world events --json | python3 -m json.tool > /dev/null
$ballot run examples/faults.json --world events --check-determinism > /dev/null
$ballot chaos --runs 300 --seed 7 --world events --json --out "$work/chaos-events" | python3 -m json.tool > /dev/null
$ballot run examples/spec.json --world events --core raft-rs-0.3.1 --json | python3 -m json.tool > /dev/null
$ballot bench sim --world events --seconds 1 --chaos-runs 3 --json | python3 -m json.tool > /dev/null
$ballot bench failover --world events --trials 1 --json --svg "$work/fe.svg" | python3 -m json.tool > /dev/null

echo "== make chaos, briefly"
make -s chaos DURATION=10s > "$work/chaos.log"
# For a person: no JSON on stdout, and the summary at the end.
if grep -q '^[{}]' "$work/chaos.log"; then echo "make chaos printed JSON at a person"; exit 1; fi
grep -q '^judged (runs that judged each property' "$work/chaos.log"
grep -q '^findings: none' "$work/chaos.log"

echo "== make timeline (its commands, into a scratch directory)"
$ballot run examples/faults.json --timeline "$work/timeline.html" > /dev/null
scripts/screenshot.sh "$work/timeline.html" "$work/timeline.png"

echo "== Jepsen mode: --world processes (make processes, bounded to 3 generated schedules)"
$ballot run examples/spec.json --world processes --json --history "$work/processes.jsonl" | python3 -m json.tool > /dev/null
$ballot check "$work/processes.jsonl" > "$work/processes-check.out"
grep -q 'ms of real time' "$work/processes-check.out"
make -s processes N=3 > "$work/processes.log"
grep -q '^   3 of 3 agree on safety' "$work/processes.log"

echo "== what a real node's history costs (docs/diagnose.md), short phases"
make -s history-cost PHASE_S=3 > "$work/history-cost.log"
grep -q '^| idle | 0 |' "$work/history-cost.log"
grep -q '^| load |' "$work/history-cost.log"

echo "== diagnosis from the nodes' own files: docs/diagnose.md's three cases, and the 3-node scenarios of make diagnose-matrix"
# Each names its cause, and the docs show its output (the simulator's: the same on every machine).
shown_in_docs() {
  grep -q "^  $2: " "$1"
  python3 - "$1" <<'PY'
import sys
out = open(sys.argv[1]).read().rstrip("\n")
if out not in open("docs/diagnose.md").read():
    sys.exit(f"docs/diagnose.md does not show the output of {sys.argv[1]}:\n{out}")
PY
}
$ballot run examples/slow-disk.json --record "$work/slow-disk" > /dev/null
$ballot diagnose "$work/slow-disk/node-0-history.jsonl" "$work/slow-disk/node-1-history.jsonl" "$work/slow-disk/node-2-history.jsonl" > "$work/slow-disk.out"
shown_in_docs "$work/slow-disk.out" slow_disk
$ballot run examples/rejoin-without-pre-vote.json --record "$work/rejoin" > /dev/null
$ballot diagnose "$work/rejoin/node-0-history.jsonl" "$work/rejoin/node-1-history.jsonl" "$work/rejoin/node-2-history.jsonl" > "$work/rejoin.out"
shown_in_docs "$work/rejoin.out" cut_off_from_leader
$ballot run examples/paused-leader.json --record "$work/paused" > /dev/null
$ballot diagnose "$work/paused/node-0-history.jsonl" "$work/paused/node-1-history.jsonl" "$work/paused/node-2-history.jsonl" > "$work/paused.out"
shown_in_docs "$work/paused.out" paused_leader
make -s diagnose-matrix QUICK=1 > "$work/matrix.log" || true  # real processes: the score varies; the docs quote it
grep -q '^turmoil: 14 of 14 right, from the nodes' "$work/matrix.log"
grep -q '^processes: .* right, from the nodes' "$work/matrix.log"

echo "== judging a large history (docs/benchmarks.md measures 200 MB the same way)"
python3 scripts/big-history.py "$work/big" 20 > /dev/null
$ballot check "$work/big/node-0.jsonl" "$work/big/node-1.jsonl" "$work/big/node-2.jsonl" | grep -q '^verdict: Pass'
$ballot diagnose "$work/big/node-0.jsonl" "$work/big/node-1.jsonl" "$work/big/node-2.jsonl" > /dev/null

echo "== make prove-bugs: every known bug found and shrunk"
scripts/prove-bugs.sh 3000

echo "== make mutants, one shard of a hundred with a small chaos budget"
make -s mutants SHARD=1/100 RUNS=50 MUTANTS_OUT="$work/mutants" > "$work/mutants.log"
grep -q '^  score ' "$work/mutants.log"

echo "== Testing another Raft: raft-rs 0.7, the 0.3 fixtures, the hunt (docs/testing-another-raft.md)"
make -s fixtures > /dev/null
status() { set +e; "$@" > /dev/null; local s=$?; set -e; echo $s; }
$ballot run examples/spec.json --core raft-rs > "$work/rr.out"
grep -q '^verdict: Pass' "$work/rr.out"
$ballot chaos --core raft-rs --runs 500 --out "$work/rr-chaos" > "$work/rr-chaos.log" || true
grep -q '^summary: ' "$work/rr-chaos.log"
pr84=tests/regressions/raft-rs/pr84-pre-candidates-trust-a-dead-leader.json
[ "$(status target/release/ballot repro tests/regressions/raft-rs/pr84-pre-candidates-trust-a-dead-leader.json)" = 3 ]
[ "$(status target/fixtures/bin/raft-rs-0.3.0 repro tests/regressions/raft-rs/pr84-pre-candidates-trust-a-dead-leader.json)" = 3 ]
[ "$(status target/release/ballot repro tests/regressions/raft-rs/lease-outlives-check-quorum.json)" = 1 ]
$ballot repro $pr84 --timeline "$work/pr84.html" > /dev/null || true
scripts/screenshot.sh "$work/pr84.html" "$work/pr84.png"
$ballot bench failover --core raft-rs --svg "$work/failover-raft-rs.svg" > /dev/null
# The hunt in the event world (a minute; every shrunk finding replayed in turmoil): the
# turmoil hunt takes twelve (docs/testing-another-raft.md has both).
WORLD=events make -s hunt-raft-rs > "$work/hunt.log"
grep -q '^raft-rs-0.3.0 .*liveness: run ' "$work/hunt.log"

echo "== an async Raft: openraft 0.9's nodes on turmoil (docs/testing-another-raft.md)"
$ballot chaos --core openraft-0.9.25 --world turmoil --runs 100 --seed 1 --out "$work/openraft" > "$work/openraft.log" || true
grep -q '^100 runs in the turmoil world' "$work/openraft.log"
[ "$(status target/release/ballot chaos --core openraft-0.9.25 --runs 1 --out "$work/openraft-events")" = 2 ]
scripts/determinism.sh openraft-0.9.25 100 > /dev/null
scripts/determinism.sh openraft-0.9.24 100 > /dev/null

echo "== a failure found, shrunk and replayed (README)"
B=$root/target/bugs/index-before-term-ballot
cd "$work"
$B generate --seed 11104127249710101329 > s.json
[ "$(status $B run s.json --artifact found.json)" = 1 ]
[ "$(status $B shrink found.json --out min.json)" = 1 ]
[ "$(status $B repro min.json)" = 1 ]
[ "$(status "$root/$ballot" repro min.json)" = 0 ]
echo "README commands: ok"
