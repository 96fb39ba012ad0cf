#!/usr/bin/env python3
"""Checks that every command the README and the guide (docs/*.md) show in a code block runs
somewhere: in scripts/readme-commands.sh (what `make readme` runs) or another script it calls,
in the Makefile, or in a test named below. Exit 1, listing them, when one does not.

A command is a line of a `sh` block, or a `$ ` line of a `console` or `text` block. It is
found when a line of those files holds its words in order, after the binary is named alike
(`target/release/ballot`, `$B`, `"$ballot"` are all `ballot`), quotes and scratch directories
(`$work/`) dropped; `make X ...` is found by `make X` (or `make -s X`).

    scripts/doc-commands.py
"""
import glob
import re
import sys

ROOT = __file__.rsplit("/scripts/", 1)[0]
# Where the commands are run: what make readme runs, and the scripts and Makefile it calls.
RUNNERS = ["scripts/readme-commands.sh", "scripts/processes.sh", "scripts/prove-bugs.sh",
           "scripts/hunt-raft-rs.sh", "Makefile"]
# Shown commands that a test runs rather than a script, and the test: each must name a file
# that holds the given words.
IN_TESTS = {
    "ballot node --id 0 $M --dir n0": ("harness/tests/real_histories.rs", '"node"'),
    "ballot check n0/history.jsonl n1/history.jsonl n2/history.jsonl":
        ("harness/tests/real_histories.rs", '"check"'),
    "ballot diagnose n0/history.jsonl n1/history.jsonl n2/history.jsonl":
        ("harness/tests/real_histories.rs", '"diagnose"'),
}
# Lines that are set-up, not commands to check.
SKIP = [re.compile(r"^git clone "), re.compile(r"^[A-Z_]+=")]


def shown():
    """(file, line, command) for every command in a code block of the README and the guide."""
    for path in ["README.md"] + sorted(glob.glob("docs/*.md")):
        fence = None
        for n, line in enumerate(open(f"{ROOT}/{path}").read().split("\n"), 1):
            if line.startswith("```"):
                fence = None if fence is not None else line[3:].strip()
                continue
            if fence is None:
                continue
            cmd = None
            if fence in ("sh", "console", "text") and line.startswith("$ "):
                cmd = line[2:]
            elif fence == "sh" and line.strip() and not line.startswith("#"):
                cmd = line
            if cmd:
                cmd = re.sub(r"\s+#.*$", "", cmd).strip()
                if not any(s.search(cmd) for s in SKIP):
                    yield path, n, cmd


def words(text):
    """The words of a command line, the binary named alike, quotes and scratch dirs dropped."""
    text = re.sub(r"[\"'()]", "", text)
    text = re.sub(r"\$(work|tmp|root)/", "", text)
    text = re.sub(r"(?:target/release/|\$)?(?:ballot|B)(?=\s)", "ballot", text)
    text = re.sub(r"^\s*\$ballot(?=\s)", "ballot", text)
    return text.split()


def in_order(needle, hay):
    it = iter(hay)
    return all(w in it for w in needle)


def main():
    lines = []
    for path in RUNNERS:
        lines += [words(l) for l in open(f"{ROOT}/{path}").read().split("\n")]
    missing = []
    for path, n, cmd in shown():
        if cmd in IN_TESTS:
            test, token = IN_TESTS[cmd]
            if token in open(f"{ROOT}/{test}").read():
                continue
        w = words(cmd)
        if w[0] == "make":
            target = w[1] if len(w) > 1 else ""
            if any(l[:2] == ["make", target] or l[:3] == ["make", "-s", target] for l in lines):
                continue
            if any(l and l[0] == f"{target}:" for l in lines):  # a Makefile target
                continue
        elif any(in_order(w, l) for l in lines):
            continue
        missing.append(f"{path}:{n}: {cmd}")
    if missing:
        print("shown but not run by make readme, a script it calls, or a named test:")
        print("\n".join(missing))
        sys.exit(1)
    print("every command the README and the guide show is run")


main()
