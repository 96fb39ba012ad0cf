//! raft-rs's messages and entries in ballot's terms: bytes on the wire, the envelope the
//! driver records, log entries on ballot's disk.

use super::ballot_id;
use ballot_core::{Entry, NodeId, Payload, Term};
use ballot_node::{Envelope, MessageKind};
use protobuf::Message as _;
use raft::eraftpb::{Entry as RsEntry, EntryType, Message, MessageType};

/// Appends a message's protobuf bytes to `out`.
pub fn encode(msg: &Message, out: &mut Vec<u8>) -> Result<(), String> {
    msg.write_to_vec(out).map_err(|e| e.to_string())
}

/// A message from its protobuf bytes; never panics on garbage.
pub fn decode(bytes: &[u8]) -> Result<Message, String> {
    Message::parse_from_bytes(bytes).map_err(|e| e.to_string())
}

/// Sender, addressee and kind of a raft-rs message. Heartbeats, appends and snapshots are
/// what a follower hears from its leader; vote answers carry the term raft-rs puts in them.
pub fn envelope(msg: &Message) -> Envelope {
    let kind = match msg.get_msg_type() {
        MessageType::MsgAppend | MessageType::MsgHeartbeat | MessageType::MsgSnapshot => {
            MessageKind::AppendEntries
        }
        MessageType::MsgRequestVote => {
            MessageKind::VoteRequest { term: Term(msg.term), pre_vote: false }
        }
        MessageType::MsgRequestPreVote => {
            MessageKind::VoteRequest { term: Term(msg.term), pre_vote: true }
        }
        MessageType::MsgRequestVoteResponse => {
            MessageKind::VoteAnswer { term: Term(msg.term), granted: !msg.reject, pre_vote: false }
        }
        MessageType::MsgRequestPreVoteResponse => {
            MessageKind::VoteAnswer { term: Term(msg.term), granted: !msg.reject, pre_vote: true }
        }
        MessageType::MsgAppendResponse => MessageKind::AppendAnswer {
            term: Term(msg.term),
            success: !msg.reject,
            index: msg.index,
        },
        _ => MessageKind::Other,
    };
    // Id 0 is raft-rs's "none"; it maps to a node no cluster has.
    let id = |id: u64| ballot_id(id).unwrap_or(NodeId(u64::MAX));
    Envelope { from: id(msg.from), to: id(msg.to), kind }
}

/// Refuses what no peer sends in this setup, before raft-rs (which trusts its peers and
/// panics on some of these) sees it: local messages, term 0, messages for another node,
/// and the proposals, reads and transfer requests a follower forwards (the adapter only
/// proposes, reads and transfers on the leader).
pub(crate) fn check_from_peer(msg: &Message, me: u64) -> Result<(), String> {
    let kind = msg.get_msg_type();
    if raft::raw_node::is_local_msg(kind) {
        return Err(format!("local message {kind:?} from the network"));
    }
    if matches!(
        kind,
        MessageType::MsgPropose | MessageType::MsgReadIndex | MessageType::MsgTransferLeader
    ) {
        return Err(format!("{kind:?} is never forwarded in this setup"));
    }
    if msg.term == 0 {
        return Err(format!("{kind:?} without a term"));
    }
    if msg.to != me {
        return Err(format!("message for raft-rs id {} delivered to {me}", msg.to));
    }
    if msg.from == 0 || msg.from == me {
        return Err(format!("message from raft-rs id {}", msg.from));
    }
    Ok(())
}

/// A raft-rs log entry as ballot stores it: an empty normal entry is a new leader's no-op.
pub(crate) fn to_ballot_entry(e: &RsEntry) -> Entry {
    let payload = if e.data.is_empty() { Payload::Noop } else { Payload::Data(e.data.to_vec()) };
    Entry { index: e.index, term: Term(e.term), payload }
}

/// A stored entry back in raft-rs's form.
pub(crate) fn to_rs_entry(e: &Entry) -> RsEntry {
    let mut rs = RsEntry::default();
    rs.set_entry_type(EntryType::EntryNormal);
    rs.index = e.index;
    rs.term = e.term.0;
    if let Payload::Data(data) = &e.payload {
        rs.data = data.clone().into();
    }
    rs
}
