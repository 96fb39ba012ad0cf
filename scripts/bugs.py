#!/usr/bin/env python3
"""Known election bugs, as patches to a scratch copy of ballot-core.

Usage: bugs.py NAME DIR   applies bug NAME to the workspace copy in DIR.
       bugs.py --list     prints the bug names.

The shipped core has no bug switches: each bug exists only in a copy made by
scripts/prove-bugs.sh. A patch whose text no longer matches the core fails loudly,
so the proof cannot silently test nothing.
"""
import sys
from pathlib import Path

BUGS = {
    # A granted vote goes out without reaching the disk: after a crash the node has forgotten
    # it and can vote again in the same term.
    "vote-before-persist": (
        "crates/core/src/election.rs",
        """            if self.voted_for != Some(msg.from) {
                self.voted_for = Some(msg.from);
                self.mark_hard_state_dirty();
            }""",
        """            self.voted_for = Some(msg.from);""",
    ),
    # The up-to-date rule (section 5.4.1) compares log length before the last term.
    "index-before-term": (
        "crates/core/src/log.rs",
        "(last_term, last_index) >= (self.last_term(), self.last_index())",
        "(last_index, last_term) >= (self.last_index(), self.last_term())",
    ),
    # A vote response that arrives twice is counted twice.
    "count-duplicate-votes": (
        "crates/core/src/election.rs",
        "self.votes.entry(msg.from).or_insert(granted);",
        "self.votes.insert(NodeId(msg.from.0 + 1_000 * self.votes.len() as u64), granted);",
    ),
    # A leader ignores a higher term in an AppendEntries response and stays leader.
    "ignore-higher-term": (
        "crates/core/src/raft.rs",
        "                _ => self.become_follower(msg.term, None),",
        """                Body::AppendEntriesResponse { .. } if self.role == Role::Leader => {}
                _ => self.become_follower(msg.term, None),""",
    ),
}


def main() -> None:
    if sys.argv[1:] == ["--list"]:
        print("\n".join(BUGS))
        return
    name, root = sys.argv[1], Path(sys.argv[2])
    path, old, new = BUGS[name]
    target = root / path
    text = target.read_text()
    if text.count(old) != 1:
        sys.exit(f"bug {name}: the patched text is not in {path} exactly once; update scripts/bugs.py")
    target.write_text(text.replace(old, new))


if __name__ == "__main__":
    main()
