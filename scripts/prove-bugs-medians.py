#!/usr/bin/env python3
"""Runs (and wall seconds) to find every prove-bugs bug over several base seeds, random
against guided, in either world.

Uses the builds `scripts/prove-bugs.sh` leaves in target/bugs/<bug>-ballot (run it first).
For each bug, each seed and each mode it runs

    ballot chaos --runs RUNS --seed S --stop-on-violation --shrink-budget 0 --json \
        --world WORLD [--guided]

and takes the earliest run that found a violation (`first_runs`) and the wall seconds to the
first finding (`first_found_s`, with chaos's default workers: one per core). A bug not found
counts as RUNS + 1 in its median and shows as ">RUNS". Prints one line per bug and the sum of
the medians per mode; --json prints one JSON document instead.

    scripts/prove-bugs-medians.py [--runs 3000] [--seeds 1-5] [--world turmoil|events]
                                  [--modes random,guided] [--json] [BUG...]
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


def runs_to_find(binary, seed, runs, world, extra):
    """The earliest run of one campaign that found a violation and the wall seconds to it, or
    (None, None)."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [str(binary), "chaos", "--runs", str(runs), "--seed", str(seed),
               "--stop-on-violation", "--shrink-budget", "0", "--world", world, "--json",
               "--out", out, *extra]
        done = subprocess.run(cmd, capture_output=True, text=True)
        try:
            summary = json.loads(done.stdout)
        except json.JSONDecodeError:
            sys.exit(f"{binary} exited {done.returncode} without a JSON summary: "
                     f"{done.stderr.strip()[-400:]}")
    first, seconds = summary.get("first_runs") or {}, summary.get("first_found_s") or {}
    if not first:
        return None, None
    return min(first.values()), min(seconds.values())


def median(found, runs):
    return statistics.median_low([runs + 1 if f is None else f for f in found])


def show(value, runs):
    return f">{runs:,}" if value > runs else f"{value:,}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--seeds", default="1-5", help="first-last base seeds")
    parser.add_argument("--world", default="turmoil", choices=["turmoil", "events"])
    parser.add_argument("--modes", default="random,guided", help="comma-separated: random, guided")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("bugs", nargs="*")
    args = parser.parse_args()
    first, last = map(int, args.seeds.split("-"))
    seeds = range(first, last + 1)
    bugs = args.bugs or subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bugs.py"), "--list"],
        check=True, capture_output=True, text=True).stdout.split()
    modes = {mode: MODES[mode] for mode in args.modes.split(",")}
    results, sums = {}, {mode: 0 for mode in modes}
    for bug in bugs:
        binary = BUGS / f"{bug}-ballot"
        if not binary.exists():
            sys.exit(f"{binary} is missing: run scripts/prove-bugs.sh {args.runs} {bug} first")
        results[bug] = {}
        line = f"{bug:28}"
        for mode, extra in modes.items():
            hunts = [runs_to_find(binary, seed, args.runs, args.world, extra) for seed in seeds]
            found = [run for run, _ in hunts]
            took = [t for _, t in hunts]
            m = median(found, args.runs)
            sums[mode] += m
            # Seconds are only a median when every seed found the bug.
            m_s = statistics.median_low(took) if None not in took else None
            results[bug][mode] = {"runs_to_find": found, "median": m, "seconds_to_find": took,
                                  "median_s": m_s}
            secs = "" if m_s is None else f" ({m_s:.2f} s)"
            line += f" {mode} {show(m, args.runs):>7}{secs} {found} "
        if not args.json:
            print(line.rstrip(), flush=True)
    if args.json:
        print(json.dumps({"runs": args.runs, "seeds": list(seeds), "world": args.world,
                          "bugs": results, "sum_of_medians": sums}, indent=2))
    else:
        ratio = (f" (guided {sums['guided'] / max(sums['random'], 1):.2f} of random)"
                 if {"random", "guided"} <= modes.keys() else "")
        print("sum of medians: " + ", ".join(f"{mode} {sums[mode]:,}" for mode in modes) + ratio)


if __name__ == "__main__":
    main()
