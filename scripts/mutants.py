#!/usr/bin/env python3
"""The mutation score of ballot-core: how many small code changes the project notices.

Every mutant that cargo-mutants makes of crates/core goes through two stages:

1. the core's own tests (`cargo mutants -p ballot-core`): unit tests, rule tables and the
   core's randomized tests;
2. a mutant the tests missed is put into a scratch copy of the workspace, `ballot` is built
   with it, and a fixed chaos budget hunts it (`ballot chaos --runs RUNS --seed 1`).

Classes: caught by tests, timeout (the tests hung: the mutant made the core loop), caught by
chaos (a property was violated, or the mutated core panicked inside the simulation), missed,
unviable (does not compile; not counted in the score).

    scripts/mutants.py run [--shard K/N] [--runs N] [--re REGEX] [--out DIR]
    scripts/mutants.py report [--json] [DIR...]

`run` writes DIR/shard-K-of-N/result.json (with --re, DIR/only-<hash>/result.json: a rerun
of some mutants after a hole was closed); `report` reads every result.json under the
directories given (default target/mutants), the latest outcome of each mutant winning (a
--re rerun replaces every earlier outcome its regex matches, so a mutant whose line moved or
that went with the code is not counted twice), so shards run on different machines are merged
by copying their directories side by side. Exit status of `report`: 0, or 1 when a mutant that
docs/mutants.md does not diagnose was missed.
"""

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIAGNOSES = ROOT / "docs" / "mutants.md"
CHAOS_SEED = 1
CHAOS_TIMEOUT_S = 600
CLASSES = ["caught by tests", "timeout", "caught by chaos", "missed", "unviable"]


def cargo_mutants(shard, only, out):
    """Stage 1: cargo-mutants over ballot-core with the core's tests; returns its outcomes."""
    # testnet.rs is the tests' own simulated network (public for users' tests), not the core.
    cmd = ["cargo", "mutants", "-p", "ballot-core", "--no-shuffle", "-o", str(out),
           "--exclude", "crates/core/src/testnet.rs"]
    if only:
        cmd += ["--re", only]
    if shard:
        k, n = map(int, shard.split("/"))
        cmd += ["--shard", f"{k - 1}/{n}"]  # cargo-mutants counts shards from 0

    status = subprocess.run(cmd, cwd=ROOT).returncode
    # 0: all caught, 2: some missed, 3: some timed out. Anything else is a broken run.
    if status not in (0, 2, 3):
        sys.exit(f"cargo mutants failed with exit status {status}")
    outcomes = json.loads((out / "mutants.out" / "outcomes.json").read_text())["outcomes"]
    return [o for o in outcomes if "Mutant" in o["scenario"]]


def scratch_copy(work):
    """A copy of the tracked and untracked (not ignored) files of the workspace."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        src = ROOT / name.decode()
        if src.is_file():
            dst = work / name.decode()
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def patch(work, mutant, diff, reverse=False):
    """Applies (or takes back) one cargo-mutants diff in the scratch copy."""
    cmd = ["patch", "-s", "-p0", mutant["file"]] + (["-R"] if reverse else [])
    subprocess.run(cmd, cwd=work, input=diff, text=True, check=True)


def hunt(work, target, runs, out):
    """Stage 2: build `ballot` with the mutant in and run the chaos budget; returns the verdict."""
    env = dict(os.environ, CARGO_TARGET_DIR=str(target))
    build = subprocess.run(["cargo", "build", "-q", "--release", "-p", "ballot-harness"],
                           cwd=work, env=env, capture_output=True, text=True)
    if build.returncode != 0:
        return {"class": "unviable", "detail": "does not build in release"}
    cmd = [str(target / "release" / "ballot"), "chaos", "--runs", str(runs), "--seed",
           str(CHAOS_SEED), "--stop-on-violation", "--shrink-budget", "100", "--world", "turmoil", "--json",
           "--out", str(out)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=CHAOS_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"class": "caught by chaos", "detail": f"chaos hung for {CHAOS_TIMEOUT_S} s"}
    if done.returncode in (0, 1, 3, 4):
        summary = json.loads(done.stdout)
        if not summary["violations"]:
            return {"class": "missed", "detail": f"{summary['runs']} chaos runs clean"}
        found = ", ".join(sorted(summary["violations"]))
        artifacts = summary.get("artifacts") or []
        return {"class": "caught by chaos", "detail": found,
                "artifact": artifacts[0] if artifacts else None}
    last = (done.stderr.strip().splitlines() or ["no output"])[-1]
    return {"class": "caught by chaos", "detail": f"ballot exited {done.returncode}: {last}"}


def describe(outcome):
    """The fields of one mutant that a reader needs: where, what, and its stage-1 outcome."""
    m = outcome["scenario"]["Mutant"]
    return {
        "name": m["name"],
        "file": m["file"],
        "line": m["span"]["start"]["line"],
        "function": (m.get("function") or {}).get("function_name"),
        "replacement": m["replacement"],
    }


def run(args):
    shard = args.shard
    label = "shard-" + (shard.replace("/", "-of-") if shard else "1-of-1")
    if args.re:
        # A rerun of some mutants (after a hole was closed) lands beside the full run.
        label = "only-" + hashlib.sha1(args.re.encode()).hexdigest()[:8]
    out = Path(args.out).resolve() / label
    out.mkdir(parents=True, exist_ok=True)
    outcomes = cargo_mutants(shard, args.re, out)
    work, target = out / "work", Path(args.out).resolve() / "target"
    results = []
    missed = [o for o in outcomes if o["summary"] == "MissedMutant"]
    if missed:
        scratch_copy(work)
    for i, outcome in enumerate(outcomes):
        result = describe(outcome)
        summary = outcome["summary"]
        if summary == "CaughtMutant":
            result["class"] = "caught by tests"
        elif summary == "Timeout":
            result["class"] = "timeout"
        elif summary == "Unviable":
            result["class"] = "unviable"
        elif summary == "MissedMutant":
            diff = (out / "mutants.out" / outcome["diff_path"]).read_text()
            mutant = outcome["scenario"]["Mutant"]
            patch(work, mutant, diff)
            try:
                chaos_out = out / "chaos" / f"{len(results):03}"
                result.update(hunt(work, target, args.runs, chaos_out))
            finally:
                patch(work, mutant, diff, reverse=True)
            print(f"[{missed.index(outcome) + 1}/{len(missed)}] {result['class']}: "
                  f"{result['name']} ({result['detail']})", flush=True)
        else:
            sys.exit(f"unexpected cargo-mutants outcome {summary} for {result['name']}")
        results.append(result)
    doc = {"shard": shard or "1/1", "only": args.re, "chaos_runs": args.runs,
           "chaos_seed": CHAOS_SEED, "finished": time.time(), "mutants": results}
    (out / "result.json").write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out / 'result.json'}")


def diagnosed():
    """Mutant names that docs/mutants.md diagnoses (each appears in backticks there)."""
    if not DIAGNOSES.exists():
        return set()
    # A name may wrap across lines in the Markdown: compare with whitespace collapsed.
    spans = {" ".join(span.split()) for span in re.findall(r"`([^`]+)`", DIAGNOSES.read_text())}
    return {span for span in spans if re.search(r": (replace|delete) ", span)}


def report(args):
    dirs = [Path(d) for d in (args.dirs or [ROOT / "target" / "mutants"])]
    docs = [json.loads(p.read_text()) for d in dirs for p in sorted(d.glob("**/result.json"))]
    mutants, runs = {}, set()
    # Oldest first, so that a rerun replaces what an earlier run said of the mutants its regex
    # selects: their outcomes, and names that moved or went with the code since.
    for doc in sorted(docs, key=lambda doc: doc.get("finished", 0)):
        runs.add(doc["chaos_runs"])
        if doc.get("only"):
            mutants = {name: m for name, m in mutants.items() if not re.search(doc["only"], name)}
        for m in doc["mutants"]:
            mutants[m["name"]] = m
    if not mutants:
        sys.exit(f"no result.json under {', '.join(map(str, dirs))}: run `scripts/mutants.py run`")
    counts = {c: sum(1 for m in mutants.values() if m["class"] == c) for c in CLASSES}
    viable = len(mutants) - counts["unviable"]
    caught = counts["caught by tests"] + counts["timeout"] + counts["caught by chaos"]
    missed = sorted((m for m in mutants.values() if m["class"] == "missed"),
                    key=lambda m: (m["file"], m["line"], m["name"]))
    explained = diagnosed()
    undiagnosed = [m["name"] for m in missed if m["name"] not in explained]
    if args.json:
        print(json.dumps({"mutants": len(mutants), "viable": viable, "caught": caught,
                          "chaos_runs": sorted(runs), "classes": counts,
                          "missed": [m["name"] for m in missed],
                          "undiagnosed": undiagnosed}, indent=2))
    else:
        print(f"{len(mutants)} mutants of ballot-core, {viable} viable; chaos budget "
              f"{'/'.join(map(str, sorted(runs)))} runs, seed {CHAOS_SEED}")
        for c in CLASSES:
            print(f"  {c:16} {counts[c]:4}")
        print(f"  score            {caught}/{viable} = {100 * caught / max(viable, 1):.1f} %")
        for m in missed:
            mark = "  " if m["name"] in explained else "! "
            print(f"{mark}{m['name']}")
        if undiagnosed:
            print(f"{len(undiagnosed)} missed mutants are not diagnosed in docs/mutants.md (!)")
    return 1 if undiagnosed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="test every mutant (of one shard): tests, then chaos")
    r.add_argument("--shard", help="K/N, K in 1..=N: this machine's share of the mutants")
    r.add_argument("--runs", type=int, default=500, help="chaos runs per test-missed mutant")
    r.add_argument("--re", help="only the mutants whose name matches this regex")
    r.add_argument("--out", default=str(ROOT / "target" / "mutants"))
    p = sub.add_parser("report", help="merge shards' results and print the score")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument("dirs", nargs="*")
    args = parser.parse_args()
    if args.command == "run":
        shard = re.fullmatch(r"(\d+)/(\d+)", args.shard or "1/1")
        if not shard or not 1 <= int(shard[1]) <= int(shard[2]):
            parser.error("--shard takes K/N with K in 1..=N, like 2/4")
        run(args)
        return 0
    return report(args)


if __name__ == "__main__":
    sys.exit(main())
