#!/usr/bin/env python3
"""What a real node's history costs: bytes a second that each `ballot node` of a three-node
cluster on loopback writes to its history file, idle (heartbeats only) and under load (the
leader taking proposals at a steady rate), and which kinds of line make it up.

    python3 scripts/history-cost.py [SECONDS] [PROPOSALS_PER_SECOND]   # 10 and 100

Runs target/release/ballot (make build first). Prints one table; docs/diagnose.md quotes it.
"""

import collections
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

BALLOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "target/release/ballot")


def free_ports(n):
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def sizes(dirs):
    return [os.path.getsize(os.path.join(d, "history.jsonl")) for d in dirs]


def kinds(path, after):
    """Bytes by line kind in `path` from byte `after` on."""
    count = collections.Counter()
    with open(path, "rb") as f:
        f.seek(after)
        for line in f:
            try:
                kind = json.loads(line).get("kind", "?")
            except ValueError:
                kind = "?"
            count[kind] += len(line)
    return count


def main():
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 100.0
    ports = free_ports(3)
    members = sum((["--member", f"{i}=127.0.0.1:{p}"] for i, p in enumerate(ports)), [])
    root = tempfile.mkdtemp(prefix="ballot-history-cost-")
    dirs = [os.path.join(root, f"n{i}") for i in range(3)]
    nodes = [
        subprocess.Popen(
            [BALLOT, "node", "--id", str(i), *members, "--dir", dirs[i]],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        for i in range(3)
    ]
    try:
        time.sleep(2.0)  # an election, and the first summaries
        leader = None
        for line in open(os.path.join(dirs[0], "history.jsonl")):
            event = json.loads(line)
            if event.get("kind") == "role" and event.get("leader") is not None:
                leader = event["leader"]
        rows = []
        for phase in ("idle", "load"):
            before = sizes(dirs)
            start = time.monotonic()
            sent = 0
            while time.monotonic() - start < seconds:
                if phase == "load" and leader is not None:
                    nodes[leader].stdin.write(json.dumps({"propose": f"value {sent}"}) + "\n")
                    nodes[leader].stdin.flush()
                    sent += 1
                    time.sleep(1.0 / rate)
                else:
                    time.sleep(0.05)
            elapsed = time.monotonic() - start
            after = sizes(dirs)
            per_node = [(a - b) / elapsed for a, b in zip(after, before)]
            by_kind = collections.Counter()
            for d, b in zip(dirs, before):
                by_kind.update(kinds(os.path.join(d, "history.jsonl"), b))
            rows.append((phase, sent / elapsed, per_node, by_kind, elapsed))
    finally:
        for n in nodes:
            n.terminate()
        for n in nodes:
            n.wait(timeout=10)
    print(f"history bytes a second per node, 3 nodes on loopback, {seconds:.0f} s a phase "
          f"(leader: node {leader})")
    print("| phase | proposals/s | leader | followers | largest kinds (bytes/s, all nodes) |")
    print("| --- | --- | --- | --- | --- |")
    for phase, proposals, per_node, by_kind, elapsed in rows:
        followers = [r for i, r in enumerate(per_node) if i != leader]
        top = ", ".join(f"{k} {v / elapsed:.0f}" for k, v in by_kind.most_common(4))
        print(f"| {phase} | {proposals:.0f} | {per_node[leader]:.0f} | "
              f"{min(followers):.0f}–{max(followers):.0f} | {top} |")


if __name__ == "__main__":
    main()
