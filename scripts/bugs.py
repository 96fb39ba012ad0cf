#!/usr/bin/env python3
"""Known election bugs, as patches to a scratch copy of ballot-core.

Usage: bugs.py NAME DIR             applies bug NAME to the workspace copy in DIR.
       bugs.py --list               prints the bugs the harness must find (make prove-bugs).
       bugs.py --list-held-back     prints the bugs it does not find yet (generator holes).

The shipped core has no bug switches: each bug exists only in a copy made by
scripts/prove-bugs.sh. A patch whose text no longer matches the core fails loudly,
so the proof cannot silently test nothing.
"""
import sys
from pathlib import Path

# The taxonomy: votes, terms, log and commit, lease, timers, quorum, persistence, messages.
# Each bug is one realistic mistake of the kind that reaches production.
BUGS = {
    # persistence, votes: a granted vote goes out without reaching the disk: after a crash the node has forgotten
    # it and can vote again in the same term.
    "vote-before-persist": (
        "crates/core/src/election.rs",
        """            if self.voted_for != Some(msg.from) {
                self.voted_for = Some(msg.from);
                self.mark_hard_state_dirty();
            }""",
        """            self.voted_for = Some(msg.from);""",
    ),
    # log and commit: the up-to-date rule (section 5.4.1) compares log length before the last term.
    "index-before-term": (
        "crates/core/src/log.rs",
        "(last_term, last_index) >= (self.last_term(), self.last_index())",
        "(last_index, last_term) >= (self.last_index(), self.last_term())",
    ),
    # messages, votes: a vote response that arrives twice is counted twice.
    "count-duplicate-votes": (
        "crates/core/src/election.rs",
        "self.votes.entry(msg.from).or_insert(granted);",
        "self.votes.insert(crate::NodeId(msg.from.0 + 1_000 * self.votes.len() as u64), granted);",
    ),
    # terms: a leader ignores a higher term in an AppendEntries response and stays leader.
    "ignore-higher-term": (
        "crates/core/src/raft.rs",
        "                _ => self.become_follower(msg.term, None),",
        """                Body::AppendEntriesResponse { .. } if self.role == Role::Leader => {}
                _ => self.become_follower(msg.term, None),""",
    ),
    # votes: a vote is granted without the up-to-date check (section 5.4.1).
    "vote-without-log-check": (
        "crates/core/src/election.rs",
        "let granted = may_vote && up_to_date && !lease_holds;",
        "let granted = may_vote && !lease_holds;",
    ),
    # votes: a candidate keeps the grants of its pre-vote and counts them as votes.
    "stale-votes-counted": (
        "crates/core/src/election.rs",
        """    fn start_poll(&mut self) {
        self.votes.clear();""",
        """    fn start_poll(&mut self) {""",
    ),
    # terms, persistence: a higher term adopted on stepping down is not made durable.
    "forget-term-on-step-down": (
        "crates/core/src/raft.rs",
        """            self.term = term;
            self.voted_for = None;
            self.mark_hard_state_dirty();""",
        """            self.term = term;
            self.voted_for = None;""",
    ),
    # lease: a node that heard from its leader recently still answers vote requests: its
    # lease check counts only the start-up lease, not the leader it heard. (Until issue 39
    # this bug skipped the check of higher-term requests alone; since same-term requests are
    # checked too, that one raises the term but grants nothing, and is no bug any more.)
    "vote-ignores-lease": (
        "crates/core/src/election.rs",
        """        let heard_recently =
            self.last_leader_contact.is_some_and(|t| self.now.saturating_sub(t) < min);""",
        """        let heard_recently = false;""",
    ),
    # lease: the leader lease is twice as long as the followers' promise not to vote.
    "lease-too-long": (
        "crates/core/src/config.rs",
        "(self.election_timeout_min_ms as f64 * (1.0 - self.clock_drift_bound)).floor() as u64",
        "(self.election_timeout_min_ms as f64 * (2.0 - self.clock_drift_bound)).floor() as u64",
    ),
    # timers: a follower does not reset its election timer on the leader's heartbeat.
    "no-timer-reset-on-heartbeat": (
        "crates/core/src/replication.rs",
        """        self.adaptive.adopt_rtt(rtt_ms);
        self.reset_election_timer();""",
        """        self.adaptive.adopt_rtt(rtt_ms);""",
    ),
    # quorum: a majority computed one short (n / 2 instead of n / 2 + 1).
    "quorum-off-by-one": (
        "crates/core/src/raft.rs",
        "self.members.len() / 2 + 1",
        "self.members.len() / 2",
    ),
    # log and commit: AppendEntries batches are cut by a count of entries only, never by
    # bytes (ballot before issue 21): a follower far behind a log of large entries is sent
    # more than one datagram carries, the send fails, and it never catches up.
    "batch-cut-by-count-only": (
        "crates/core/src/log.rs",
        "bytes == e.size_bytes() || bytes <= max_bytes",
        "bytes == e.size_bytes() || max_bytes > 0",
    ),
    # persistence, log: a follower acknowledges entries before they are durable; a crash
    # before the sync loses entries the leader counted towards a commit.
    "ack-before-durable": (
        "crates/core/src/raft.rs",
        """        if self.has_unpersisted() {
            self.persisted_messages.push(msg);""",
        """        if self.has_unpersisted() && !matches!(msg.body, Body::AppendEntriesResponse { .. }) {
            self.persisted_messages.push(msg);""",
    ),
    # quorum: check-quorum never deposes a leader cut off from the majority.
    "no-check-quorum-step-down": (
        "crates/core/src/leader.rs",
        "if self.config.check_quorum && !leading.quorum_active(now, window) {",
        "if self.config.check_quorum && !leading.quorum_active(now, window) && false {",
    ),
    # timers: the election timeout is not randomized: every node draws the lower end of its
    # range, so followers of a dead leader time out together and split the vote again and
    # again (found once the swarm switches the staggered timeouts and the backoff off).
    "no-randomized-timeouts": (
        "crates/core/src/timeout.rs",
        "rng.random_range(range.0..=range.1)",
        "{ let _ = rng; range.0 }",
    ),
    # terms: a pre-candidate raises its own term as a candidate would (and keeps it when the
    # pre-vote fails), so a node cut off from the cluster comes back with a higher term and
    # deposes a healthy leader with its first answer.
    "pre-vote-raises-term": (
        "crates/core/src/election.rs",
        """    fn become_pre_candidate(&mut self) {
        self.role = Role::PreCandidate;""",
        """    fn become_pre_candidate(&mut self) {
        self.term = self.term.next();
        self.voted_for = None;
        self.mark_hard_state_dirty();
        self.role = Role::PreCandidate;""",
    ),
    # log and commit: a leader commits an entry of an earlier term by counting replicas
    # (the Figure 8 mistake). Found by the Figure 8 shape (explore/shapes/partition_oneway.rs): an
    # intermediate leader whose no-op nobody else holds, and a catch-up in several batches
    # cut short by a crash.
    "commit-old-term-directly": (
        "crates/core/src/replication.rs",
        "let own_term = self.log.term_at(candidate) == Some(self.term);",
        "let own_term = self.log.term_at(candidate).is_some();",
    ),
    # log and commit: a follower commits up to the leader's commit index even beyond what
    # it knows matches the leader's log. Found by the stale-suffix shape (explore/shapes/isolate.rs):
    # a leader backing off over a stale suffix, with heartbeats and refusals crossing, sends
    # an AppendEntries from below where the logs part before the one that truncates.
    "commit-beyond-match": (
        "crates/core/src/replication.rs",
        "self.log.commit_to(leader_commit.min(last_new));",
        "self.log.commit_to(leader_commit);",
    ),
    # messages: an AppendEntries of an older term is accepted instead of refused (an
    # isolated old leader's entries overwrite what a newer leader committed).
    "stale-append-accepted": (
        "crates/core/src/replication.rs",
        """        if msg.term < self.term {
            self.mark(Mark::StaleAppendEntries);""",
        """        if msg.term < self.term && false {
            self.mark(Mark::StaleAppendEntries);""",
    ),
    # lease: a leader takes its lease back when its transfer expires after TimeoutNow left,
    # while the target it told to campaign may already lead. Found by the transfer shape that
    # holds TimeoutNow back until late in the transfer and cuts the old leader off right after.
    "transfer-keeps-lease": (
        "crates/core/src/leader.rs",
        "leading.transfer.is_some() || leading.lease_revoked {",
        "leading.transfer.is_some() {",
    ),
    # lease: the promise a follower made by acknowledging a leader ends when a message of a
    # higher term makes it forget that leader (a response of another term, say), so it votes
    # while the leader still holds its lease (issue 39: two leaders with a lease at once).
    # Found by the transfer shape amid asymmetric links (explore/shapes/transfer.rs).
    "lease-forgotten-on-term-raise": (
        "crates/core/src/election.rs",
        """        let heard_recently =
            self.last_leader_contact.is_some_and(|t| self.now.saturating_sub(t) < min);""",
        """        let heard_recently = self.leader.is_some()
            && self.last_leader_contact.is_some_and(|t| self.now.saturating_sub(t) < min);""",
    ),
    # persistence, the node's storage: the state file (term, vote and the log's mark) is
    # updated in place and never synced, the classic forgotten fsync. A crash loses what the
    # node announced; a killed process alone would not (the kernel keeps its writes), so real
    # processes expose it only with `ballot node --volatile-writes`, which the processes world
    # uses.
    "state-not-synced": (
        "crates/node/src/storage.rs",
        """            self.fs.overwrite(path, &bytes).await.map_err(|e| self.io(path, e))?;
            self.fs.sync_file(path).await.map_err(|e| self.io(path, e))?;""",
        """            self.fs.overwrite(path, &bytes).await.map_err(|e| self.io(path, e))?;""",
    ),
    # persistence, the save order: the state file's mark is raised before the appended
    # records are synced, so a crash between the two leaves a state file that promises
    # entries its log does not hold, and the node refuses to start (`recovers`).
    "mark-before-append": (
        "crates/node/src/storage.rs",
        """            let path = &self.log_path;
            let fs = &self.fs;
            fs.append(path, &self.log.records[start..]).await.map_err(|e| self.io(path, e))?;
            fs.sync_file(path).await.map_err(|e| self.io(path, e))?;
            self.put_state(whole).await?;""",
        """            self.put_state(whole).await?;
            let (path, fs) = (&self.log_path, &self.fs);
            fs.append(path, &self.log.records[start..]).await.map_err(|e| self.io(path, e))?;
            fs.sync_file(path).await.map_err(|e| self.io(path, e))?;""",
    ),
    # persistence, the atomic write: the directory is not synced after the rename, so a
    # power loss can take the new name back (a first save's state file, a rewritten log)
    # while what was written after it stays.
    "rename-not-synced": (
        "crates/node/src/storage.rs",
        """    fs.rename(&tmp, path)?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs.sync_dir(dir).await""",
        """    fs.rename(&tmp, path)""",
    ),
}


# Bugs the generated schedules do not find within 3,000 runs yet: holes in the generator (or
# guards that mask them), kept to measure its progress. None today.
HELD_BACK: dict[str, tuple[str, str, str]] = {}


def main() -> None:
    if sys.argv[1:] == ["--list"]:
        print("\n".join(BUGS))
        return
    if sys.argv[1:] == ["--list-held-back"]:
        print("\n".join(HELD_BACK))
        return
    name, root = sys.argv[1], Path(sys.argv[2])
    path, old, new = {**BUGS, **HELD_BACK}[name]
    target = root / path
    text = target.read_text()
    if text.count(old) != 1:
        sys.exit(f"bug {name}: the patched text is not in {path} exactly once; update scripts/bugs.py")
    target.write_text(text.replace(old, new))


if __name__ == "__main__":
    main()
