//! One openraft node: its store and state machine on the given file system, its RPCs on the
//! given transport, its role changes reported from openraft's metrics, and the commands of
//! ballot's [`NodeHandle`] served by openraft's API (`propose` is `client_write`).

use crate::network::{Factory, Net, MAX_VALUE_BYTES};
use crate::runtime::with_seed;
use crate::store::{LogStore, Machine, Reporter};
use crate::{TypeConfig, Value};
use ballot_core::{NodeId, Role, Term};
use ballot_node::{
    Clock, Command, Committed, FileSystem, Leadership, NodeConfig, NodeEvent, NodeHandle, Observer,
    RequestError, Transport,
};
use openraft::error::{ClientWriteError, RaftError};
use openraft::{Raft, ServerState, SnapshotPolicy};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

/// What one node runs on.
pub struct NodeParts<T, F> {
    /// Id, cluster id, members and their addresses, core configuration (its timeouts and
    /// heartbeat; openraft has neither pre-vote nor check-quorum), seed.
    pub config: NodeConfig,
    /// Its datagram socket.
    pub transport: T,
    /// Its disk.
    pub fs: F,
    /// The directory its files go in.
    pub dir: PathBuf,
    /// Its clock (how long a save took).
    pub clock: Arc<dyn Clock>,
    /// Where its events go.
    pub observer: Arc<dyn Observer>,
}

/// openraft's configuration from ballot's: the same timeouts and heartbeat (milliseconds),
/// entries a message, and no snapshots (the log is kept whole).
fn openraft_config(config: &NodeConfig) -> Result<openraft::Config, String> {
    let core = &config.core;
    openraft::Config {
        cluster_name: format!("ballot-{}", config.cluster_id),
        election_timeout_min: core.election_timeout_min_ms,
        election_timeout_max: core.election_timeout_max_ms,
        heartbeat_interval: core.heartbeat_ms,
        max_payload_entries: core.max_entries_per_message as u64,
        snapshot_policy: SnapshotPolicy::Never,
        ..Default::default()
    }
    .validate()
    .map_err(|e| e.to_string())
}

/// Runs one node until its task is dropped (a crash) or it is shut down through its handle,
/// which `publish` receives once the node runs. A new node (nothing on its disk) initializes
/// the cluster with every member, as each new node does; openraft takes the first.
pub async fn run<T: Transport, F: FileSystem>(
    parts: NodeParts<T, F>,
    publish: impl FnOnce(NodeHandle),
) -> Result<(), String> {
    let seed = parts.config.seed;
    with_seed(seed, run_seeded(parts, publish)).await
}

async fn run_seeded<T: Transport, F: FileSystem>(
    parts: NodeParts<T, F>,
    publish: impl FnOnce(NodeHandle),
) -> Result<(), String> {
    let NodeParts { config, transport, fs, dir, clock, observer } = parts;
    let id = config.id.0;
    let width = config.members.keys().map(|m| m.0 + 1).max().unwrap_or(1);
    let start = Leadership {
        node: config.id,
        role: Role::Follower,
        term: Term(0),
        leader: None,
        lease_until: None,
        stopped: false,
    };
    let (handle, mut commands, leadership) = NodeHandle::served(start, clock.clone());
    let report = Reporter {
        id,
        clock,
        observer,
        width,
        role: Arc::default(),
        leadership: Arc::new(leadership),
    };
    let settings = Arc::new(openraft_config(&config)?);
    let store = LogStore::open(fs, dir, report.clone()).await.map_err(|e| e.to_string())?;
    let new = store.is_new().await;
    let members = config.members.iter().map(|(id, addr)| (id.0, *addr)).collect();
    let net = Net::new(transport, config.cluster_id, id, members, report.clone());
    let machine = Machine::new(report.clone());
    let raft = Raft::new(id, settings, Factory(net.clone()), store, machine)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(net.serve(raft.clone()));
    if new {
        let all: BTreeSet<u64> = config.members.keys().map(|m| m.0).collect();
        // Refused once another member's initialization reached this node: either way the
        // cluster starts with every member.
        let _ = raft.initialize(all).await;
    }
    publish(handle);
    tokio::spawn(watch_roles(raft.clone(), report.clone()));
    while let Some(command) = commands.recv().await {
        match command {
            Command::Propose(data, reply) if data.len() > MAX_VALUE_BYTES => {
                let bytes = data.len();
                let error = RequestError::TooLarge { bytes, max: MAX_VALUE_BYTES };
                report.event(NodeEvent::ProposeRefused { bytes, error: error.clone() });
                let _ = reply.send(Err(error));
            }
            Command::Propose(data, reply) => {
                let (raft, report) = (raft.clone(), report.clone());
                tokio::spawn(async move {
                    let _ = reply.send(propose(&raft, data, &report).await);
                });
            }
            Command::Transfer(_, reply) => {
                let why = "openraft 0.9 has no leadership transfer".to_string();
                let _ = reply.send(Err(RequestError::InvalidConfig(why)));
            }
            Command::Reconfigure(_, reply) => {
                let why = "openraft's configuration is fixed while it runs".to_string();
                let _ = reply.send(Err(RequestError::InvalidConfig(why)));
            }
            Command::Shutdown => break,
        }
    }
    let _ = raft.shutdown().await;
    report.event(NodeEvent::Shutdown);
    Ok(())
}

/// A client write, as ballot's node answers a proposal.
async fn propose(
    raft: &Raft<TypeConfig>,
    data: Vec<u8>,
    report: &Reporter,
) -> Result<Committed, RequestError> {
    match raft.client_write(Value(data)).await {
        Ok(written) => Ok(Committed {
            index: written.log_id.index + 1,
            term: report.entry_epoch(&written.log_id),
        }),
        Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => {
            Err(RequestError::NotLeader { leader: f.leader_id.map(NodeId) })
        }
        Err(_) => Err(RequestError::Stopped),
    }
}

/// Reports each change of role, term or leader that openraft's metrics show and the votes
/// it saved did not (a leader's step down without a new vote, say), as ballot's node
/// reports its own.
async fn watch_roles(raft: Raft<TypeConfig>, report: Reporter) {
    let mut metrics = raft.metrics();
    loop {
        let (role, term, leader) = {
            let m = metrics.borrow_and_update();
            let role = match m.state {
                ServerState::Leader => Role::Leader,
                ServerState::Candidate => Role::Candidate,
                ServerState::Follower | ServerState::Learner | ServerState::Shutdown => {
                    Role::Follower
                }
            };
            (role, report.vote_epoch(&m.vote), m.current_leader.map(NodeId))
        };
        report.role(role, term, leader);
        if metrics.changed().await.is_err() {
            return;
        }
    }
}
