#!/usr/bin/env python3
"""Writes the history files of a three-node cluster that ran for a long time under load, as
real nodes write them (SPEC.md, "History"): node 0 leads term 1 and commits one entry every
millisecond; each follower persists, acknowledges and commits it; the leader renews its lease
every 50 ms. For measuring `ballot check` and `ballot diagnose` on large inputs
(docs/benchmarks.md):

    scripts/big-history.py DIR MEGABYTES     (writes DIR/node-0.jsonl .. DIR/node-2.jsonl)
"""
import json
import os
import sys

out, megabytes = sys.argv[1], float(sys.argv[2])
os.makedirs(out, exist_ok=True)
members = [{"id": i, "addr": f"127.0.0.1:{7000 + i}"} for i in range(3)]
start_wall = 1_800_000_000_000.0
files = [open(os.path.join(out, f"node-{i}.jsonl"), "w") for i in range(3)]


def line(node, t, **event):
    event.update(node=node, t_ms=float(t), wall_ms=start_wall + t)
    files[node].write(json.dumps(event, separators=(",", ":")) + "\n")


for node in range(3):
    meta = {"kind": "meta", "format": 1, "source": "node", "cluster_id": 1, "node": node,
            "members": members, "config": {}, "wall_ms": start_wall}
    files[node].write(json.dumps(meta) + "\n")
    line(node, 0, kind="start", term=0, voted_for=None, log_len=0)
line(0, 200, kind="role", role="candidate", term=1, leader=None)
line(0, 201, kind="persist", term=1, voted_for=0)
for node in (1, 2):
    line(node, 202, kind="persist", term=1, voted_for=0)
    line(node, 202, kind="vote", term=1, candidate=0, granted=True)
    line(node, 203, kind="role", role="follower", term=1, leader=0)
line(0, 203, kind="role", role="leader", term=1, leader=0)
target = megabytes * 1e6
t, index = 210, 0
while sum(f.tell() for f in files) < target:
    t += 1
    index += 1
    line(0, t, kind="propose", index=index, term=1, value=f"v{index}")
    line(0, t, kind="persist", first_index=index, terms=[1])
    for node in (1, 2):
        line(node, t, kind="persist", first_index=index, terms=[1])
        line(node, t, kind="append_ack", leader=0, term=1, index=index)
    line(0, t, kind="commit", index=index, term=1, in_term=1)
    for node in (1, 2):
        line(node, t + 1, kind="commit", index=index, term=1, in_term=1)
    if t % 50 == 0:
        line(0, t, kind="lease", until_ms=float(t + 142))
for f in files:
    f.close()
print(f"{index} entries over {t} ms in {out}")
