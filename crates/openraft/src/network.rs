//! openraft's RPCs as datagrams on ballot's [`Transport`]: each request carries an id, its
//! answer the same id; a caller waits for the answer until the RPC's deadline, so a datagram
//! lost, held or cut off by the schedule is an RPC that failed, as on a real network. Every
//! message is reported as ballot's node reports its own (sent, received, the answers it
//! gave), for the history and the nodes' `peers` summaries.

use crate::store::Reporter;
use crate::TypeConfig;
use ballot_core::{NodeId, Term};
use ballot_node::{MessageKind, NodeEvent, Transport};
use openraft::error::{InstallSnapshotError, NetworkError, PayloadTooLarge, RPCError, RaftError};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::{AnyError, Raft};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// A request openraft sends.
#[derive(Serialize, Deserialize)]
enum Rpc {
    Append(AppendEntriesRequest<TypeConfig>),
    Vote(VoteRequest<u64>),
}

/// Its answer; `None` when the node refused it with an error (it is shutting down, say).
#[derive(Serialize, Deserialize)]
enum Reply {
    Append(Option<AppendEntriesResponse<u64>>),
    Vote(Option<VoteResponse<u64>>),
}

/// One datagram.
#[derive(Serialize, Deserialize)]
enum Wire {
    Request { cluster: u64, id: u64, from: u64, rpc: Rpc },
    Response { cluster: u64, id: u64, from: u64, reply: Reply },
}

/// A failed RPC, as openraft takes a network failure: it backs off and tries again.
fn network_error(why: impl ToString) -> NetworkError {
    NetworkError::new(&AnyError::error(why))
}

/// The largest datagram taken, bytes.
const MAX_DATAGRAM: usize = 65_507;

/// One node's end of the network: its socket, the members' addresses, the calls waiting
/// for an answer.
pub(crate) struct Net<T> {
    transport: T,
    cluster: u64,
    me: u64,
    members: BTreeMap<u64, SocketAddr>,
    pending: Mutex<BTreeMap<u64, oneshot::Sender<Reply>>>,
    next_id: AtomicU64,
    report: Reporter,
}

impl<T: Transport> Net<T> {
    fn kind_of(&self, rpc: &Rpc) -> MessageKind {
        match rpc {
            Rpc::Append(_) => MessageKind::AppendEntries,
            Rpc::Vote(v) => {
                MessageKind::VoteRequest { term: self.report.vote_epoch(&v.vote), pre_vote: false }
            }
        }
    }

    pub(crate) fn new(
        transport: T,
        cluster: u64,
        me: u64,
        members: BTreeMap<u64, SocketAddr>,
        report: Reporter,
    ) -> Arc<Net<T>> {
        Arc::new(Net {
            transport,
            cluster,
            me,
            members,
            pending: Mutex::default(),
            next_id: AtomicU64::new(0),
            report,
        })
    }

    async fn send(&self, to: u64, wire: &Wire, kind: MessageKind) {
        let Some(&addr) = self.members.get(&to) else { return };
        let bytes = postcard::to_allocvec(wire).expect("a message encodes");
        if bytes.len() > MAX_DATAGRAM {
            tracing::warn!(bytes = bytes.len(), "message larger than a datagram, not sent");
            return;
        }
        self.report.event(NodeEvent::Sent { to: NodeId(to), kind });
        let _ = self.transport.send_to(&bytes, addr).await;
    }

    /// Sends `rpc` to `target` and waits for its answer until `option`'s deadline.
    async fn call(&self, target: u64, rpc: Rpc, option: &RPCOption) -> Result<Reply, NetworkError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().expect("pending").insert(id, tx);
        let kind = self.kind_of(&rpc);
        let request = Wire::Request { cluster: self.cluster, id, from: self.me, rpc };
        self.send(target, &request, kind).await;
        let answer = tokio::time::timeout(option.hard_ttl(), rx).await;
        self.pending.lock().expect("pending").remove(&id);
        match answer {
            Ok(Ok(reply)) => Ok(reply),
            _ => Err(network_error(format!("no answer from {target} in time"))),
        }
    }

    /// Receives datagrams until the socket fails: requests are handed to `raft` (each
    /// answered from a task of its own), answers to the calls waiting for them.
    pub(crate) async fn serve(self: Arc<Self>, raft: Raft<TypeConfig>) {
        let mut buf = vec![0u8; MAX_DATAGRAM + 1];
        loop {
            let Ok((len, _)) = self.transport.recv_from(&mut buf).await else { return };
            let Ok(wire) = postcard::from_bytes::<Wire>(&buf[..len]) else { continue };
            match wire {
                Wire::Request { cluster, id, from, rpc } if cluster == self.cluster => {
                    self.report.event(NodeEvent::Received {
                        from: NodeId(from),
                        kind: self.kind_of(&rpc),
                        from_leader: matches!(rpc, Rpc::Append(_)),
                    });
                    let (net, raft) = (self.clone(), raft.clone());
                    tokio::spawn(async move { net.answer(raft, id, from, rpc).await });
                }
                Wire::Response { cluster, id, from, reply } if cluster == self.cluster => {
                    let kind = match &reply {
                        Reply::Append(r) => MessageKind::AppendAnswer {
                            term: Term(0),
                            success: matches!(r, Some(AppendEntriesResponse::Success)),
                            index: 0,
                        },
                        Reply::Vote(r) => MessageKind::VoteAnswer {
                            term: r.as_ref().map_or(Term(0), |v| self.report.vote_epoch(&v.vote)),
                            granted: r.as_ref().is_some_and(|v| v.vote_granted),
                            pre_vote: false,
                        },
                    };
                    self.report.event(NodeEvent::Received {
                        from: NodeId(from),
                        kind,
                        from_leader: false,
                    });
                    if let Some(tx) = self.pending.lock().expect("pending").remove(&id) {
                        let _ = tx.send(reply);
                    }
                }
                _ => {}
            }
        }
    }

    /// Hands request `rpc` of `from` to `raft` and sends the answer back, reporting it as
    /// ballot's node reports the answers it gives.
    async fn answer(&self, raft: Raft<TypeConfig>, id: u64, from: u64, rpc: Rpc) {
        let (reply, kind) = match rpc {
            Rpc::Append(request) => {
                let term = self.report.vote_epoch(&request.vote);
                let last = request.entries.last().map(|e| e.log_id).or(request.prev_log_id);
                let index = last.map_or(0, |l| l.index + 1);
                let response = raft.append_entries(request).await.ok();
                let success = matches!(response, Some(AppendEntriesResponse::Success));
                self.report.event(NodeEvent::AppendAnswered {
                    leader: NodeId(from),
                    term,
                    success,
                    index,
                });
                (Reply::Append(response), MessageKind::AppendAnswer { term, success, index })
            }
            Rpc::Vote(request) => match raft.vote(request).await {
                Ok(response) => {
                    let (term, granted) =
                        (self.report.vote_epoch(&response.vote), response.vote_granted);
                    self.report.event(NodeEvent::Vote {
                        term,
                        candidate: NodeId(from),
                        granted,
                        pre_vote: false,
                    });
                    let kind = MessageKind::VoteAnswer { term, granted, pre_vote: false };
                    (Reply::Vote(Some(response)), kind)
                }
                // Refused with an error (shutting down): answered as refused, no vote.
                Err(_) => (Reply::Vote(None), MessageKind::Other),
            },
        };
        let response = Wire::Response { cluster: self.cluster, id, from: self.me, reply };
        self.send(from, &response, kind).await;
    }
}

/// Room a request's envelope takes beside its entries in a datagram, bytes (generously).
const ENVELOPE_BYTES: usize = 256;

/// The largest value a proposal may carry, bytes: its entry, alone in an AppendEntries,
/// fits in a datagram (a larger one is refused, as ballot's own node refuses it).
pub(crate) const MAX_VALUE_BYTES: usize = MAX_DATAGRAM - 2 * ENVELOPE_BYTES;

/// When `rpc` would not fit in one datagram: how many of its first entries would (none:
/// an entry larger than a datagram, which a proposal cannot make, see [`MAX_VALUE_BYTES`]).
fn entries_that_fit(rpc: &AppendEntriesRequest<TypeConfig>) -> Option<u64> {
    let size = |e| postcard::to_allocvec(e).map_or(usize::MAX, |b| b.len());
    let total: usize = rpc.entries.iter().map(size).sum();
    if total.saturating_add(ENVELOPE_BYTES) <= MAX_DATAGRAM {
        return None;
    }
    let mut room = MAX_DATAGRAM - ENVELOPE_BYTES;
    let mut fits = |b: usize| room.checked_sub(b).map(|r| room = r).is_some();
    Some(rpc.entries.iter().map(size).take_while(|&b| fits(b)).count() as u64)
}

/// Builds a [`Client`] per target.
pub(crate) struct Factory<T>(pub(crate) Arc<Net<T>>);

impl<T: Transport> RaftNetworkFactory<TypeConfig> for Factory<T> {
    type Network = Client<T>;

    async fn new_client(&mut self, target: u64, _: &openraft::EmptyNode) -> Client<T> {
        Client { net: self.0.clone(), target }
    }
}

/// openraft's connection to one member.
pub(crate) struct Client<T> {
    net: Arc<Net<T>>,
    target: u64,
}

type Failed<E = openraft::error::Infallible> =
    RPCError<u64, openraft::EmptyNode, RaftError<u64, E>>;

impl<T: Transport> RaftNetwork<TypeConfig> for Client<T> {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, Failed> {
        match entries_that_fit(&rpc) {
            // openraft splits the batch on this answer (its `PayloadTooLarge`).
            Some(fit) if fit > 0 => {
                return Err(RPCError::PayloadTooLarge(PayloadTooLarge::new_entries_hint(fit)))
            }
            // Not even one entry: a failure openraft backs off from (splitting further would
            // retry at once, for ever).
            Some(_) => {
                return Err(RPCError::Network(network_error("an entry larger than a datagram")))
            }
            None => {}
        }
        match self.net.call(self.target, Rpc::Append(rpc), &option).await {
            Ok(Reply::Append(Some(response))) => Ok(response),
            Ok(_) => Err(RPCError::Network(network_error("refused"))),
            Err(e) => Err(RPCError::Network(e)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        option: RPCOption,
    ) -> Result<VoteResponse<u64>, Failed> {
        match self.net.call(self.target, Rpc::Vote(rpc), &option).await {
            Ok(Reply::Vote(Some(response))) => Ok(response),
            Ok(_) => Err(RPCError::Network(network_error("refused"))),
            Err(e) => Err(RPCError::Network(e)),
        }
    }

    async fn install_snapshot(
        &mut self,
        _: InstallSnapshotRequest<TypeConfig>,
        _: RPCOption,
    ) -> Result<InstallSnapshotResponse<u64>, Failed<InstallSnapshotError>> {
        // No node builds a snapshot (the policy is `Never`), so none is ever sent.
        Err(RPCError::Network(network_error("snapshots are not carried")))
    }
}
