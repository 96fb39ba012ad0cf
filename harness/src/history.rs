//! The history of a run: every role change, vote, persist, commit, proposal and fault, in
//! simulated time, recorded from the drivers (never parsed from logs).

use crate::schedule::Step;
use ballot_core::Role;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
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
    /// A vote request was answered.
    Vote {
        /// Election term.
        term: u64,
        /// Who asked.
        candidate: usize,
        /// The answer.
        granted: bool,
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
    },
    /// A leader appended a client proposal.
    Propose {
        /// Its index.
        index: u64,
        /// Its term.
        term: u64,
        /// Its value.
        value: String,
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
    /// Whether, after a step, the cluster is healthy: every node up and unpaused, every link
    /// working, no loss, latency well inside the election timeout, clocks within the bound.
    Health {
        /// Healthy or not.
        healthy: bool,
    },
    /// From the last step on, these nodes are up, connected and lossless and form a majority:
    /// one of them must lead by `deadline_ms` and keep leading to `until_ms`.
    LivenessWindow {
        /// The nodes that must elect a leader.
        nodes: Vec<usize>,
        /// When the window opens (the last step), simulated milliseconds.
        from_ms: f64,
        /// By when a leader must be elected.
        deadline_ms: f64,
        /// Until when it must stay leader (the end of the run).
        until_ms: f64,
    },
    /// The node crashed: its memory and unsynced writes are gone.
    Crash,
    /// The node was started again.
    Restart,
    /// The node stopped on its own (a disk error).
    Stopped {
        /// Why.
        error: String,
    },
}

/// One node's state as the history has it so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeView {
    /// Running (not crashed).
    pub up: bool,
    /// Last role reported.
    pub role: Role,
    /// Last term reported.
    pub term: u64,
    /// Leader it knows of.
    pub leader: Option<usize>,
}

/// An append-only history, with running views for quick queries.
#[derive(Clone, Debug)]
pub struct History {
    events: Vec<Event>,
    views: Vec<NodeView>,
    /// Messages sent so far, by every node.
    pub messages: u64,
    /// When each node last heard a heartbeat (AppendEntries) from its leader, milliseconds.
    pub last_heartbeat_ms: Vec<Option<f64>>,
}

impl History {
    /// An empty history of `nodes` nodes.
    pub fn new(nodes: usize) -> History {
        let view = NodeView { up: true, role: Role::Follower, term: 0, leader: None };
        History {
            events: Vec::new(),
            views: vec![view; nodes],
            messages: 0,
            last_heartbeat_ms: vec![None; nodes],
        }
    }

    /// Appends an event.
    pub fn record(&mut self, t_ms: f64, node: Option<usize>, kind: EventKind) {
        if let Some(n) = node {
            let view = &mut self.views[n];
            match &kind {
                EventKind::Role { role, term, leader } => {
                    *view = NodeView { up: true, role: *role, term: *term, leader: *leader };
                }
                EventKind::Start { term, .. } => {
                    *view = NodeView { up: true, role: Role::Follower, term: *term, leader: None };
                }
                EventKind::Crash | EventKind::Stopped { .. } => {
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

    /// Every node that was ever leader in each term.
    pub fn leaders_per_term(&self) -> BTreeMap<u64, BTreeSet<usize>> {
        let mut out: BTreeMap<u64, BTreeSet<usize>> = BTreeMap::new();
        for e in &self.events {
            if let (Some(n), EventKind::Role { role: Role::Leader, term, .. }) = (e.node, &e.kind) {
                out.entry(*term).or_default().insert(n);
            }
        }
        out
    }

    /// Times any node became candidate (pre-votes excluded).
    pub fn elections(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Role { role: Role::Candidate, .. }))
            .count()
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
