#!/usr/bin/env bash
# The control campaign: what "the shipped core is clean" means in the docs. Runs `ballot
# chaos` on the shipped core over many random base seeds (one seed is not evidence): RUNS
# event-world runs under each of SEEDS base seeds, and TURMOIL_RUNS turmoil runs under each
# of the first TURMOIL_SEEDS of them. Prints every base seed before its campaign, a line per
# campaign and the totals; every finding is shrunk and saved under OUT/<world>-<seed>/ with
# the line that replays it. Exits 1 if any campaign found anything.
#
#   [SEEDS=20] [RUNS=50000] [TURMOIL_SEEDS=5] [TURMOIL_RUNS=10000] [OUT=target/soak] scripts/soak.sh
#   (the defaults: 1,000,000 event-world runs and 50,000 turmoil runs; make soak passes its
#   variables of the same names)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seeds=${SEEDS:-20}
runs=${RUNS:-50000}
turmoil_seeds=${TURMOIL_SEEDS:-5}
turmoil_runs=${TURMOIL_RUNS:-10000}
out=${OUT:-$root/target/soak}
ballot=$root/target/release/ballot
(cd "$root" && cargo build -q --release -p ballot-harness)
rm -rf "$out"
mkdir -p "$out"

# Random base seeds, printed first (each campaign prints its own too).
base_seeds=()
for _ in $(seq "$seeds"); do
  base_seeds+=("$(od -An -N8 -tu8 /dev/urandom | tr -d ' ')")
done
echo "base seeds: ${base_seeds[*]}"

status=0
campaign() { # world seed runs
  local dir=$out/$1-$2
  set +e
  "$ballot" chaos --world "$1" --seed "$2" --runs "$3" --json --out "$dir" > "$dir.json" 2> "$dir.log"
  local rc=$?
  set -e
  python3 - "$dir.json" "$1" "$2" "$rc" <<'EOF'
import json, sys
path, world, seed, rc = sys.argv[1:]
s = json.load(open(path))
found = sum(s["violations"].values())
print(f"{world:8} seed {seed:>20}: {s['runs']:>7} runs, {s['sim_ms'] / 3.6e6:7.1f} sim-h, "
      f"{s['wall_s']:6.0f} s, {found} found{' ' + json.dumps(s['violations']) if found else ''} (exit {rc})")
EOF
  [ "$rc" = 0 ] || status=1
}
for i in "${!base_seeds[@]}"; do
  campaign events "${base_seeds[$i]}" "$runs"
done
for i in "${!base_seeds[@]}"; do
  [ "$i" -lt "$turmoil_seeds" ] || break
  campaign turmoil "${base_seeds[$i]}" "$turmoil_runs"
done

python3 - "$out" <<'EOF'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
for world in ("events", "turmoil"):
    summaries = [json.load(open(p)) for p in sorted(out.glob(f"{world}-*.json"))]
    if not summaries:
        continue
    runs = sum(s["runs"] for s in summaries)
    found = sum(sum(s["violations"].values()) for s in summaries)
    hours = sum(s["sim_ms"] for s in summaries) / 3.6e6
    wall = sum(s["wall_s"] for s in summaries)
    print(f"{world}: {runs} runs over {len(summaries)} base seeds, {hours:.0f} simulated hours, "
          f"{wall / 60:.1f} min, {found} findings")
    for s in summaries:
        for a in s["artifacts"]:
            print(f"  ballot repro {a}")
EOF
exit $status
