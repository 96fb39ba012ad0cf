#!/usr/bin/env python3
"""How often `ballot diagnose` names the right cause from a cluster's own files: each
scenario below, whose cause is known because the schedule causes it, runs in two places,
in the simulator (`ballot run --world turmoil --record`: real nodes on turmoil, each writing
its own file as `ballot node` does) and on real `ballot node` processes (`ballot run --world
processes --record`), and `ballot diagnose` reads only the nodes' history files (no fault
record). A scenario is right when the expected symptom is found and every finding names the
expected cause; missed when the symptom is not found; wrong otherwise. Healthy scenarios are
right when nothing is found.

    python3 scripts/diagnose-matrix.py [--quick] [--world turmoil|processes] [--json]
    # make diagnose-matrix

--quick runs the three-node scenarios only (what make readme runs); --world one place only.
Exit 1 when fewer than 9 in 10 are right in either place. Runs target/release/ballot (make
build first).
"""

import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BALLOT = os.path.join(ROOT, "target/release/ballot")


def schedule(seed, cluster, duration, steps):
    return {"format": 1, "seed": seed, "cluster": cluster, "duration_ms": duration, "steps": steps}


def at(t, op, **fields):
    return {"at_ms": t, "op": op, **fields}


# (nodes, name, cause, symptom, schedule): cause None is a healthy run (nothing to find).
SCENARIOS = []
for n, seed in [(3, 1), (5, 2)]:
    SCENARIOS += [
        (n, f"cut off without check-quorum, {n} nodes", "partition_without_check_quorum", "two_leaders",
         schedule(seed, {"nodes": n, "check_quorum": False}, 7000,
                  [at(2000, "isolate", node="leader"), at(4500, "heal")])),
        (n, f"rejoins without pre-vote, {n} nodes", "cut_off_from_leader", "frequent_elections",
         schedule(seed, {"nodes": n, "pre_vote": False, "check_quorum": False}, 7000,
                  [at(2000, "isolate", node="follower"), at(4000, "heal")])),
        (n, f"paused leader, {n} nodes", "paused_leader", "two_leaders",
         schedule(seed, {"nodes": n}, 7000,
                  [at(2000, "pause", node="leader"), at(3500, "heal")])),
        (n, f"slow leader clock, {n} nodes", "clock_drift", "frequent_elections",
         schedule(seed, {"nodes": n}, 8000,
                  [at(1000, "clock", node="leader", rate=0.3), at(6000, "latency", ms=[1, 5])])),
        (n, f"long timeouts, leader killed, {n} nodes", "timeouts_too_long", "slow_failover",
         schedule(seed, {"nodes": n, "election_timeout_ms": [1500, 3000], "heartbeat_ms": 150}, 12000,
                  [at(3000, "crash", node="leader")])),
        (n, f"loss, {n} nodes", "message_loss", ("frequent_elections", "slow_failover"),
         schedule(seed, {"nodes": n}, 9000,
                  [at(1000, "loss", rate=0.35), at(7000, "loss", rate=0.0)])),
        (n, f"slow disk, {n} nodes", "slow_disk", "slow_failover",
         schedule(seed, {"nodes": n}, 10000,
                  [at(1000, "disk", write_ms=[1, 5], sync_ms=[150, 250]), at(3000, "crash", node="leader"),
                   at(6000, "disk", write_ms=[0, 0], sync_ms=[0, 0])])),
        (n, f"heartbeat too long, {n} nodes", "heartbeat_too_long", "frequent_elections",
         schedule(seed, {"nodes": n, "election_timeout_ms": [150, 160], "heartbeat_ms": 75,
                         "pre_vote": False, "check_quorum": False}, 8000,
                  [at(1000, "latency", ms=[1, 200]), at(6000, "latency", ms=[1, 5])])),
        (n, f"timeouts too short for the round trip, {n} nodes", "timeouts_too_short",
         ("frequent_elections", "slow_failover"),
         schedule(seed, {"nodes": n, "election_timeout_ms": [100, 200], "heartbeat_ms": 20}, 8000,
                  [at(1000, "latency", ms=[40, 80]), at(6000, "latency", ms=[1, 5])])),
        (n, f"fast follower clock, {n} nodes", "clock_drift", "frequent_elections",
         schedule(seed, {"nodes": n, "pre_vote": False}, 8000,
                  [at(1000, "clock", node="follower", rate=8.0), at(6000, "latency", ms=[1, 5])])),
        (n, f"split votes, {n} nodes", "split_votes", "slow_failover",
         schedule(seed, {"nodes": n, "election_timeout_ms": [150, 151], "pre_vote": False,
                         "split_vote_backoff": False, "staggered_timeouts": False}, 9000,
                  [at(1500, "latency", ms=[10, 20]), at(2000, "crash", node="leader"),
                   at(5000, "latency", ms=[1, 5])])),
        (n, f"healthy, {n} nodes", None, None, schedule(seed, {"nodes": n}, 5000, [])),
        (n, f"leader killed and left down, {n} nodes", None, None,
         schedule(seed, {"nodes": n}, 6000, [at(2000, "crash", node="leader")])),
        (n, f"leader killed and restarted, {n} nodes", None, None,
         schedule(seed, {"nodes": n}, 7000,
                  [at(2000, "crash", node=0), at(3500, "restart", node=0)])),
    ]


def run(name, sched, world, work):
    path = os.path.join(work, "schedule.json")
    with open(path, "w") as f:
        json.dump(sched, f)
    record = os.path.join(work, "record")
    ran = subprocess.run([BALLOT, "run", path, "--world", world, "--record", record],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if ran.returncode not in (0, 1, 3):
        raise SystemExit(f"{name}: ballot run failed: {ran.stderr}")
    files = sorted(os.path.join(record, f) for f in os.listdir(record) if f.endswith("-history.jsonl"))
    out = subprocess.run([BALLOT, "diagnose", "--json", *files], capture_output=True, text=True)
    if out.returncode not in (0, 1, 3):
        raise SystemExit(f"{name}: ballot diagnose failed: {out.stderr}")
    return json.loads(out.stdout)


def score(found, cause, symptoms):
    """right, wrong or missed: right when a finding of an expected symptom came, and every
    finding names the expected cause (what the scenario did is behind each)."""
    findings = found.get("findings", [])
    if cause is None:
        return ("right" if not findings else "wrong"), findings
    symptoms = (symptoms,) if isinstance(symptoms, str) else symptoms
    if not any(f["symptom"] in symptoms for f in findings):
        return "missed", findings
    every = all(any(c["name"] == cause for c in f["causes"]) for f in findings)
    return ("right" if every else "wrong"), findings


def main():
    quick = "--quick" in sys.argv
    as_json = "--json" in sys.argv
    worlds = ["turmoil", "processes"]
    if "--world" in sys.argv:
        worlds = [sys.argv[sys.argv.index("--world") + 1]]
    places = {}
    for world in worlds:
        rows = []
        for nodes, name, cause, symptom, sched in SCENARIOS:
            if quick and nodes != 3:
                continue
            with tempfile.TemporaryDirectory(prefix="ballot-matrix-") as work:
                found = run(name, sched, world, work)
            verdict, findings = score(found, cause, symptom)
            named = sorted({f"{f['symptom']}:{c['name']}" for f in findings for c in f["causes"]})
            rows.append({"scenario": name, "expected": cause or "nothing", "verdict": verdict,
                         "named": named})
            if not as_json:
                print(f"{world:9} {verdict:6}  {name}: expected {cause or 'nothing'}; named "
                      f"{', '.join(named) or 'nothing'}", flush=True)
        right = sum(r["verdict"] == "right" for r in rows)
        places[world] = {"rows": rows, "right": right, "of": len(rows)}
    if as_json:
        print(json.dumps(places))
    else:
        for world, p in places.items():
            print(f"{world}: {p['right']} of {p['of']} right, from the nodes' own files")
    return 0 if all(p["right"] * 10 >= 9 * p["of"] for p in places.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
