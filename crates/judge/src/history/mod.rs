//! The history of a run: every role change, vote, persist, commit, proposal and fault, in
//! simulated time, recorded from the drivers (never parsed from logs).

pub mod file;
mod views;

#[cfg(test)]
pub(crate) use views::test_setup;
pub use views::{
    DurableLogs, LeaderSpan, LeaseSpan, LivenessPhase, NodeState, RoleSpan, Setup, Views,
};

use ballot_core::Role;
use ballot_schedule::Step;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{self, Write};

/// One thing that happened, at `t_ms` of simulated time, on `node` (if it concerns one).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Simulated time, milliseconds since the start of the run.
    pub t_ms: f64,
    /// The node it happened on, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub node: Option<usize>,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// The node (re)started from its disk.
    Start {
        /// Term read from disk.
        term: u64,
        /// Vote read from disk.
        voted_for: Option<usize>,
        /// Entries read from disk.
        log_len: u64,
        /// Their terms in runs, `[term, entries]` from index 1 on (absent in histories of
        /// earlier builds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        log_terms: Option<Vec<[u64; 2]>>,
    },
    /// Role, term or known leader changed.
    Role {
        /// New role.
        role: Role,
        /// Current term.
        term: u64,
        /// Known leader.
        leader: Option<usize>,
    },
    /// A vote or pre-vote request was answered.
    Vote {
        /// Election term (for a pre-vote, the term the candidate would run in).
        term: u64,
        /// Who asked.
        candidate: usize,
        /// The answer.
        granted: bool,
        /// It answers a pre-vote (which changes neither term nor vote).
        #[serde(skip_serializing_if = "std::ops::Not::not", default)]
        pre_vote: bool,
        /// The leader this node last accepted an AppendEntries from, if it ever did.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        heard_from: Option<usize>,
        /// Milliseconds of this node's own clock since then.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        since_heard_ms: Option<f64>,
        /// Why it was refused, when the node's own file says (a simulated history does not).
        #[serde(skip_serializing_if = "Option::is_none", default)]
        reason: Option<RefusalReason>,
    },
    /// State reached the disk.
    Persist {
        /// Term written, if the hard state changed.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        term: Option<u64>,
        /// Vote written, if the hard state changed.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        voted_for: Option<usize>,
        /// First log index written, if entries were: the stored log from here on was
        /// replaced by `terms`.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        first_index: Option<u64>,
        /// Term of each entry written from `first_index` on.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        terms: Option<Vec<u64>>,
        /// How long the write took, milliseconds of the node's clock (a real node's file).
        #[serde(skip_serializing_if = "Option::is_none", default)]
        save_ms: Option<f64>,
    },
    /// A follower told a leader that its log matches the leader's through `index` (an
    /// AppendEntries success). Recorded when the (term, index) answered changes, not for
    /// every heartbeat.
    AppendAck {
        /// The leader answered.
        leader: usize,
        /// The term of the answer.
        term: u64,
        /// The last index the answer covers.
        index: u64,
    },
    /// A leader appended a client proposal.
    Propose {
        /// Its index.
        index: u64,
        /// Its term.
        term: u64,
        /// Its value (its first `ballot_node::VALUE_SHOWN_BYTES` bytes, when `bytes` says it is
        /// longer: the same for simulated and real nodes).
        value: String,
        /// Its size, bytes, when it is longer than the value shown.
        #[serde(skip_serializing_if = "Option::is_none", default)]
        bytes: Option<u64>,
    },
    /// A node refused a client proposal (not the leader, a transfer under way, larger than
    /// one message carries); nothing was appended.
    ProposeRefused {
        /// The proposal's size, bytes.
        bytes: u64,
        /// Why.
        error: String,
    },
    /// An entry is committed (and durable) on this node.
    Commit {
        /// Its index.
        index: u64,
        /// Its term.
        term: u64,
        /// The reporting node's term when it learned this.
        in_term: u64,
    },
    /// The node's leader lease now holds until `until_ms` of simulated time (converted from
    /// its local clock at its current rate), or it holds none.
    Lease {
        /// End of the lease, simulated milliseconds.
        until_ms: Option<f64>,
    },
    /// A fault or client step was applied (or skipped).
    Fault {
        /// The step, with node names resolved to indexes.
        step: Step,
        /// The step could not apply then (no such leader, node not crashed, ...).
        #[serde(skip_serializing_if = "std::ops::Not::not", default)]
        skipped: bool,
    },
    /// The runner began the liveness phase (SPEC.md, "Phases"): the `fault` events at this
    /// instant are what it healed.
    LivenessPhase,
    /// The node's core met a rare situation (a coverage mark, see `ballot_core::Mark`).
    Mark {
        /// The mark's name.
        mark: String,
    },
    /// The node crashed: its memory and unsynced writes are gone.
    Crash,
    /// The node was started again.
    Restart,
    /// The node was shut down cleanly (a real node's SIGTERM, say): it is down, and lost
    /// nothing it announced.
    Stop,
    /// A real node's timers fired `late_ms` late (more than a heartbeat): the process was
    /// paused, or starved of CPU, for about that long before this event.
    Stall {
        /// How late, milliseconds of the node's clock.
        late_ms: f64,
    },
    /// What a real node sent to and heard from each member over the last period (written
    /// by `ballot_node::HistoryWriter`, never by the simulator).
    Peers {
        /// The period, milliseconds of the node's clock.
        period_ms: f64,
        /// One member each, those it exchanged messages with in this run.
        peers: Vec<PeerTraffic>,
        /// Datagrams it dropped in the period, by reason (`bad_magic`, `wrong_cluster`, ...).
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        dropped: BTreeMap<String, u64>,
        /// The rate its clock ran at against the wall clock over the period, when off 1 by
        /// more than 1 %.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        clock_rate: Option<f64>,
    },
    /// The node stopped on its own (a disk error).
    Stopped {
        /// Why.
        error: String,
    },
}

/// Why a node refused a vote or a pre-vote, as its own file gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalReason {
    /// The request's term was below the node's.
    StaleTerm,
    /// The node had voted for another candidate in the term.
    VotedForAnother,
    /// The node knew a leader in the term.
    LeaderKnown,
    /// The node still heard a leader (within the minimum election timeout): its lease.
    InLease,
    /// The candidate's log was behind the node's (the up-to-date rule).
    StaleLog,
}

/// One member's traffic with the node writing a `peers` summary, over the summary's period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerTraffic {
    /// The member.
    pub node: usize,
    /// Messages sent to it.
    pub sent: u64,
    /// Messages from it that the node's core accepted.
    pub heard: u64,
    /// Milliseconds since it was last heard from, at the summary (none: not in this run).
    pub last_heard_ms: Option<f64>,
    /// The longest time in the period without a message from it, milliseconds.
    pub longest_silence_ms: f64,
    /// Round trips of the AppendEntries sent to it in the period, when it answered any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub round_trip_ms: Option<RoundTrip>,
}

/// Round trips measured over a `peers` summary's period: from an AppendEntries to the first
/// answer after it (the member's save included; a lost message counts until one is answered).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoundTrip {
    /// The median, milliseconds.
    pub median: f64,
    /// The longest, milliseconds.
    pub max: f64,
}

impl EventKind {
    /// The nodes an event names besides its own: a leader, a candidate, a vote, whom a
    /// follower heard, the members a summary counts.
    pub fn nodes(&self) -> impl Iterator<Item = usize> + '_ {
        let peers = match self {
            EventKind::Peers { peers, .. } => &peers[..],
            _ => &[],
        };
        let (a, b) = match *self {
            EventKind::Start { voted_for, .. } | EventKind::Persist { voted_for, .. } => {
                (voted_for, None)
            }
            EventKind::Role { leader, .. } => (leader, None),
            EventKind::Vote { candidate, heard_from, .. } => (Some(candidate), heard_from),
            EventKind::AppendAck { leader, .. } => (Some(leader), None),
            _ => (None, None),
        };
        a.into_iter().chain(b).chain(peers.iter().map(|p| p.node))
    }
}

/// One node's state as the history has it so far.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NodeView {
    /// Running (not crashed).
    pub up: bool,
    /// Last role reported.
    pub role: Role,
    /// Last term reported.
    pub term: u64,
    /// Leader it knows of.
    pub leader: Option<usize>,
    /// The last AppendEntries it received from the leader it knew then.
    pub last_heartbeat: Option<Heard>,
}

/// An AppendEntries received from a leader: from whom and when.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Heard {
    /// The leader.
    pub from: usize,
    /// When, simulated milliseconds.
    pub t_ms: f64,
    /// When, on the receiving node's own clock, milliseconds.
    pub local_ms: f64,
}

/// An append-only history of facts, with each node's state now for the nemesis and tests
/// (everything else derived from it lives in [`Views`]).
#[derive(Clone, Debug)]
pub struct History {
    events: Vec<Event>,
    views: Vec<NodeView>,
    /// Messages sent so far, by every node.
    pub messages: u64,
}

impl History {
    /// An empty history of `nodes` nodes.
    pub fn new(nodes: usize) -> History {
        let view = NodeView {
            up: true,
            role: Role::Follower,
            term: 0,
            leader: None,
            last_heartbeat: None,
        };
        History { events: Vec::new(), views: vec![view; nodes], messages: 0 }
    }

    /// The history of `nodes` nodes whose events, from several sources, are `events`: put in
    /// time order (stably: events of one instant keep the order they were given in), a time
    /// before the start taken as the start.
    pub fn merged(nodes: usize, mut events: Vec<Event>) -> History {
        events.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
        let mut history = History::new(nodes);
        for e in events {
            history.record(e.t_ms.max(0.0), e.node, e.kind);
        }
        history
    }

    /// The number of nodes in the cluster.
    pub fn size(&self) -> usize {
        self.views.len()
    }

    /// Appends an event at `t_ms` on `node` (if it concerns one).
    pub fn record(&mut self, t_ms: f64, node: Option<usize>, kind: EventKind) {
        if let Some(n) = node {
            let view = &mut self.views[n];
            match &kind {
                EventKind::Role { role, term, leader } => {
                    (view.up, view.role, view.term, view.leader) = (true, *role, *term, *leader);
                }
                EventKind::Start { term, .. } => {
                    *view = NodeView {
                        up: true,
                        role: Role::Follower,
                        term: *term,
                        leader: None,
                        last_heartbeat: None,
                    };
                }
                EventKind::Crash | EventKind::Stop | EventKind::Stopped { .. } => {
                    view.up = false;
                    view.role = Role::Follower;
                    view.leader = None;
                }
                _ => {}
            }
        }
        self.events.push(Event { t_ms, node, kind });
    }

    /// Every event so far.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Notes that node `n` heard an AppendEntries from its leader (a running view,
    /// not an event: heartbeats are too many to keep).
    pub fn heard_leader(&mut self, n: usize, heard: Heard) {
        self.views[n].last_heartbeat = Some(heard);
    }

    /// The one leader that every node of `group` runs and follows in one term, if any.
    pub fn agreed_leader(&self, group: &[usize]) -> Option<usize> {
        let v = &self.views;
        let leaders: Vec<usize> =
            group.iter().copied().filter(|&n| v[n].up && v[n].role == Role::Leader).collect();
        let [leader] = leaders[..] else { return None };
        let term = v[leader].term;
        group
            .iter()
            .all(|&n| v[n].up && v[n].leader == Some(leader) && v[n].term == term)
            .then_some(leader)
    }

    /// Each node's current view.
    pub fn views(&self) -> &[NodeView] {
        &self.views
    }

    /// Running nodes that are leader now.
    pub fn leaders_now(&self) -> Vec<usize> {
        (0..self.views.len())
            .filter(|&n| self.views[n].up && self.views[n].role == Role::Leader)
            .collect()
    }

    /// The leader of the highest term among running nodes, if any node leads.
    pub fn leader_now(&self) -> Option<usize> {
        self.leaders_now().into_iter().max_by_key(|&n| self.views[n].term)
    }

    /// Current term of each running node (`None` if crashed).
    pub fn terms(&self) -> Vec<Option<u64>> {
        self.views.iter().map(|v| v.up.then_some(v.term)).collect()
    }

    /// Writes the history as JSON lines.
    pub fn write_jsonl(&self, mut out: impl Write) -> io::Result<()> {
        for e in &self.events {
            serde_json::to_writer(&mut out, e)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}
