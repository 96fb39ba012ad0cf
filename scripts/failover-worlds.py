#!/usr/bin/env python3
"""`ballot bench failover` in turmoil and in the event world, side by side.

Runs

    ballot bench failover --trials N --json --world turmoil
    ballot bench failover --trials N --json --world events

(the same rows, the same trial seeds) and prints one table: each row's median, p99 and
mean in both worlds, the wall time of each, and how far the event world's median is from
turmoil's. Exits 1 if some row's medians differ by more than --tolerance (default 5 %);
--json prints one JSON document instead of the table.

    scripts/failover-worlds.py [--trials 1000] [--tolerance 0.05] [--ballot PATH] [--json]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench(ballot, world, trials):
    """The rows of one `bench failover` and its wall seconds."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [ballot, "bench", "failover", "--trials", str(trials), "--json",
               "--world", world, "--svg", str(Path(out) / "failover.svg")]
        start = time.monotonic()
        done = subprocess.run(cmd, capture_output=True, text=True)
        took = time.monotonic() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} exited {done.returncode}: {done.stderr.strip()[-400:]}")
    return json.loads(done.stdout)["rows"], took


def label(row):
    """The row's configuration, as docs/benchmarks.md's tables name it."""
    lo, hi = row["election_timeout_ms"]
    lat = "-".join(map(str, row["latency_ms"]))
    options = [f"hb {row['heartbeat_ms']}", "pre-vote" if row["pre_vote"] else "no pre-vote",
               f"latency {lat}", f"{row['crashed']} down"]
    if not row["split_vote_backoff"]:
        options.append("backoff off")
    if not row["staggered_timeouts"]:
        options.append("turns off")
    return f"{lo}-{hi} ({', '.join(options)})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--tolerance", type=float, default=0.05)
    parser.add_argument("--ballot", default=str(ROOT / "target" / "release" / "ballot"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    turmoil, turmoil_s = bench(args.ballot, "turmoil", args.trials)
    events, events_s = bench(args.ballot, "events", args.trials)
    rows = []
    for t, e in zip(turmoil, events, strict=True):
        if label(t) != label(e):
            sys.exit(f"the worlds ran different rows: {label(t)} and {label(e)}")
        off = e["p50_ms"] / t["p50_ms"] - 1 if t["p50_ms"] else 0.0
        rows.append({"row": label(t), "turmoil": t, "events": e, "p50_off": round(off, 4)})
    outside = [r["row"] for r in rows if abs(r["p50_off"]) > args.tolerance]
    if args.json:
        print(json.dumps({"trials": args.trials, "turmoil_wall_s": round(turmoil_s, 1),
                          "events_wall_s": round(events_s, 1), "tolerance": args.tolerance,
                          "outside": outside, "rows": rows}))
    else:
        print(f"trials per row: {args.trials}; wall: turmoil {turmoil_s:.1f} s, "
              f"events {events_s:.1f} s ({turmoil_s / max(events_s, 1e-9):.1f}x)")
        print("| row | p50 turmoil / events | off | p99 turmoil / events | mean turmoil / events |")
        print("| --- | --- | --- | --- | --- |")
        for r in rows:
            t, e = r["turmoil"], r["events"]
            print(f"| {r['row']} | {t['p50_ms']:.0f} / {e['p50_ms']:.0f} | "
                  f"{r['p50_off'] * 100:+.1f} % | {t['p99_ms']:.0f} / {e['p99_ms']:.0f} | "
                  f"{t['mean_ms']:.0f} / {e['mean_ms']:.0f} |")
        verdict = "every" if not outside else f"{len(outside)} of {len(rows)}"
        print(f"{verdict} row{'s' if outside else ''} "
              f"{'outside' if outside else 'within'} {args.tolerance * 100:.0f} %")
    return 1 if outside else 0


if __name__ == "__main__":
    sys.exit(main())
