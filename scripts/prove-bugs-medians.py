#!/usr/bin/env python3
"""Runs-to-find for every prove-bugs bug over several base seeds, random against guided.

Uses the builds `scripts/prove-bugs.sh` leaves in target/bugs/<bug>-ballot (run it first).
For each bug, each seed and each mode it runs

    ballot chaos --runs RUNS --seed S --stop-on-violation --shrink-budget 0 --json [--guided]

and takes the earliest run that found a violation (`first_runs`). A bug not found counts as
RUNS + 1 in its median and shows as ">RUNS". Prints one line per bug and the sum of the
medians per mode; --json prints one JSON document instead.

    scripts/prove-bugs-medians.py [--runs 3000] [--seeds 1-5] [--json] [BUG...]
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUGS = ROOT / "target" / "bugs"
MODES = {"random": [], "guided": ["--guided"]}


def runs_to_find(binary, seed, runs, extra):
    """The earliest run of one campaign that found a violation, or None."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [str(binary), "chaos", "--runs", str(runs), "--seed", str(seed),
               "--stop-on-violation", "--shrink-budget", "0", "--world", "turmoil", "--json",
               "--out", out, *extra]
        done = subprocess.run(cmd, capture_output=True, text=True)
        try:
            summary = json.loads(done.stdout)
        except json.JSONDecodeError:
            sys.exit(f"{binary} exited {done.returncode} without a JSON summary: "
                     f"{done.stderr.strip()[-400:]}")
    first = summary.get("first_runs") or {}
    return min(first.values()) if first else None


def median(found, runs):
    return statistics.median_low([runs + 1 if f is None else f for f in found])


def show(value, runs):
    return f">{runs:,}" if value > runs else f"{value:,}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--seeds", default="1-5", help="first-last base seeds")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("bugs", nargs="*")
    args = parser.parse_args()
    first, last = map(int, args.seeds.split("-"))
    seeds = range(first, last + 1)
    bugs = args.bugs or subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bugs.py"), "--list"],
        check=True, capture_output=True, text=True).stdout.split()
    results, sums = {}, {mode: 0 for mode in MODES}
    for bug in bugs:
        binary = BUGS / f"{bug}-ballot"
        if not binary.exists():
            sys.exit(f"{binary} is missing: run scripts/prove-bugs.sh {args.runs} {bug} first")
        results[bug] = {}
        for mode, extra in MODES.items():
            found = [runs_to_find(binary, seed, args.runs, extra) for seed in seeds]
            m = median(found, args.runs)
            sums[mode] += m
            results[bug][mode] = {"runs_to_find": found, "median": m}
        if not args.json:
            r, g = results[bug]["random"], results[bug]["guided"]
            print(f"{bug:28} random {show(r['median'], args.runs):>7} {r['runs_to_find']}  "
                  f"guided {show(g['median'], args.runs):>7} {g['runs_to_find']}", flush=True)
    if args.json:
        print(json.dumps({"runs": args.runs, "seeds": list(seeds), "bugs": results,
                          "sum_of_medians": sums}, indent=2))
    else:
        ratio = sums["guided"] / max(sums["random"], 1)
        print(f"sum of medians: random {sums['random']:,}, guided {sums['guided']:,} "
              f"({ratio:.2f} of random)")


if __name__ == "__main__":
    main()
