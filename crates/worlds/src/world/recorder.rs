//! Turns the events of every node's driver into the run's history.

use super::local_clock::NodeTime;
use ballot_core::NodeId;
use ballot_judge::history::{EventKind, Heard, History};
use ballot_node::VALUE_SHOWN_BYTES;
use ballot_node::{HistoryWriter, MessageKind, NodeEvent, Observer};
use std::sync::{Arc, Mutex};

/// The observer a simulated node reports to.
pub(crate) struct Recorder {
    pub(crate) history: Arc<Mutex<History>>,
    /// Dates the node's events: simulated time and the node's own clock.
    pub(crate) time: Arc<dyn NodeTime>,
    /// The last AppendEntries success this incarnation recorded: (term, index).
    pub(crate) last_ack: Mutex<Option<(u64, u64)>>,
    /// The node's own file, as `ballot node` writes it, when the run keeps one.
    pub(crate) node_file: Option<HistoryWriter>,
}

fn index(id: NodeId) -> usize {
    id.0 as usize
}

impl Observer for Recorder {
    fn event(&self, node: NodeId, event: &NodeEvent) {
        if let Some(file) = &self.node_file {
            file.event(node, event);
        }
        let t = self.time.sim_ms();
        let n = index(node);
        let mut history = self.history.lock().expect("history lock");
        let kind = match event {
            NodeEvent::Started { hard_state, log_len, log_terms } => EventKind::Start {
                term: hard_state.term.0,
                voted_for: hard_state.voted_for.map(index),
                log_len: *log_len,
                log_terms: Some(log_terms.iter().map(|(t, k)| [t.0, *k]).collect()),
            },
            NodeEvent::Role { role, term, leader } => {
                EventKind::Role { role: *role, term: term.0, leader: leader.map(index) }
            }
            NodeEvent::Persisted { hard_state, entries, .. } => EventKind::Persist {
                term: hard_state.map(|h| h.term.0),
                voted_for: hard_state.and_then(|h| h.voted_for).map(index),
                first_index: entries.as_ref().map(|e| e.0),
                terms: entries.as_ref().map(|e| e.1.iter().map(|t| t.0).collect()),
                save_ms: None,
            },
            NodeEvent::Vote { term, candidate, granted, pre_vote } => {
                let heard = history.views()[n].last_heartbeat;
                EventKind::Vote {
                    term: term.0,
                    candidate: index(*candidate),
                    granted: *granted,
                    pre_vote: *pre_vote,
                    heard_from: heard.map(|h| h.from),
                    since_heard_ms: heard.map(|h| self.time.local_ms() - h.local_ms),
                    reason: None,
                }
            }
            NodeEvent::Proposed { index, term, data } => {
                let shown = &data[..data.len().min(VALUE_SHOWN_BYTES)];
                EventKind::Propose {
                    index: *index,
                    term: term.0,
                    value: String::from_utf8_lossy(shown).into_owned(),
                    bytes: (shown.len() < data.len()).then_some(data.len() as u64),
                }
            }
            NodeEvent::ProposeRefused { bytes, error } => {
                EventKind::ProposeRefused { bytes: *bytes as u64, error: error.to_string() }
            }
            NodeEvent::Committed { index, term } => {
                EventKind::Commit { index: *index, term: term.0, in_term: history.views()[n].term }
            }
            NodeEvent::Lease { until } => {
                EventKind::Lease { until_ms: until.map(|local| self.time.sim_ms_at(local)) }
            }
            NodeEvent::AppendAnswered { leader, term, success: true, index } => {
                let ack = (term.0, *index);
                let mut last = self.last_ack.lock().expect("ack lock");
                if *last == Some(ack) {
                    return;
                }
                *last = Some(ack);
                EventKind::AppendAck { leader: self::index(*leader), term: term.0, index: *index }
            }
            NodeEvent::AppendAnswered { success: false, .. } => return,
            NodeEvent::Shutdown => EventKind::Stop,
            NodeEvent::Stopped { error } => EventKind::Stopped { error: error.clone() },
            NodeEvent::Mark(mark) => EventKind::Mark { mark: mark.name().to_string() },
            NodeEvent::Sent { .. } => {
                history.messages += 1;
                return;
            }
            // The core's own view, not the history's: within one turn's backlog the role
            // events of the batch are not recorded yet.
            NodeEvent::Received { from, kind: MessageKind::AppendEntries, from_leader: true } => {
                let heard = Heard { from: index(*from), t_ms: t, local_ms: self.time.local_ms() };
                history.heard_leader(n, heard);
                return;
            }
            // What only a real node's own file keeps (a simulated run has the fault record).
            NodeEvent::Received { .. } | NodeEvent::Dropped { .. } | NodeEvent::Stalled { .. } => {
                return
            }
        };
        history.record(t, Some(n), kind);
    }
}
