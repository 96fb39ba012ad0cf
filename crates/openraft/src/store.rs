//! openraft's log store and state machine on ballot's [`FileSystem`]: the vote in a file
//! replaced atomically, the log in a file of checksummed records appended and synced before
//! openraft hears it is flushed (`LogFlushed` is called after the sync), so a crash loses
//! exactly what a real disk would. Each save is reported as ballot's node reports its own
//! (`persist`, with how long it took), each entry this node proposed as a `propose`, each
//! entry applied as a `commit`: openraft's history in ballot's format.
//!
//! Log indices: openraft counts from 0 (the membership entry `initialize` writes), ballot's
//! history from 1; every index reported is openraft's plus one. Terms: openraft (by default)
//! elects by leader id, a term and a node, ordered term first, and one node may vote for two
//! candidates of one term in turn, the higher id second; every term reported is the leader
//! id flattened in that order ([`Reporter::epoch`]), so that ballot's properties, stated per
//! term, judge openraft's own promises per leader id.

use crate::{TypeConfig, Value};
use ballot_core::{HardState, NodeId, Role, Term};
use ballot_node::{write_atomic, Clock, FileSystem, Leadership, NodeEvent, Observer};
use openraft::storage::{LogFlushed, RaftLogStorage, RaftStateMachine};
use openraft::{
    Entry, EntryPayload, LogId, LogState, RaftLogReader, RaftSnapshotBuilder, Snapshot,
    SnapshotMeta, StorageError, StorageIOError, StoredMembership, Vote,
};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::{self, Cursor};
use std::ops::RangeBounds;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::Mutex;

type E = Entry<TypeConfig>;

/// What the node's events need: who it is, its clock (for how long a save took), where
/// they go.
#[derive(Clone)]
pub(crate) struct Reporter {
    pub(crate) id: u64,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) observer: Arc<dyn Observer>,
    /// One more than the highest member id: how many leader ids each term holds.
    pub(crate) width: u64,
    /// The role last reported: what a report must change, in a term not below its own
    /// (openraft's metrics lag behind its store).
    pub(crate) role: Arc<std::sync::Mutex<Option<(Role, Term, Option<NodeId>)>>>,
    /// Where the node's handle reads its leadership.
    pub(crate) leadership: Arc<tokio::sync::watch::Sender<Leadership>>,
}

impl Reporter {
    pub(crate) fn event(&self, event: NodeEvent) {
        self.observer.event(NodeId(self.id), &event);
    }

    /// The term the history gives openraft's leader id (`term`, `node`): 0 for term 0 (no
    /// election yet), else `term × width + node + 1`, which keeps openraft's order.
    pub(crate) fn epoch(&self, term: u64, node: u64) -> Term {
        Term(if term == 0 { 0 } else { term * self.width + node + 1 })
    }

    /// The history's term of a vote (whom this node voted for, or follows, and in which term).
    pub(crate) fn vote_epoch(&self, vote: &Vote<u64>) -> Term {
        self.epoch(vote.leader_id.term, vote.leader_id.node_id)
    }

    /// The history's term of an entry.
    pub(crate) fn entry_epoch(&self, log_id: &LogId<u64>) -> Term {
        self.epoch(log_id.leader_id.term, log_id.leader_id.node_id)
    }

    /// Reports `role` in `term` under `leader` if it changes what was reported last, in a
    /// term not below it, and publishes it to the node's handle.
    pub(crate) fn role(&self, role: Role, term: Term, leader: Option<NodeId>) {
        let mut last = self.role.lock().expect("role lock");
        if last.is_some_and(|(r, t, l)| t > term || (r, t, l) == (role, term, leader)) {
            return;
        }
        *last = Some((role, term, leader));
        self.event(NodeEvent::Role { role, term, leader });
        self.leadership.send_modify(|l| {
            l.role = role;
            l.term = term;
            l.leader = leader;
        });
    }

    /// The role a vote just saved gives: a committed vote for this node is its leadership,
    /// for another its leader's; an uncommitted one for itself a campaign.
    fn role_of(&self, vote: &Vote<u64>) {
        let (node, term) = (vote.leader_id.node_id, self.vote_epoch(vote));
        match (vote.committed, node == self.id) {
            (true, true) => self.role(Role::Leader, term, Some(NodeId(node))),
            (true, false) => self.role(Role::Follower, term, Some(NodeId(node))),
            (false, true) => self.role(Role::Candidate, term, None),
            (false, false) => self.role(Role::Follower, term, None),
        }
    }

    /// A vote as ballot's hard state: the term, and whom this node voted for (or follows).
    pub(crate) fn hard_state(&self, vote: &Vote<u64>) -> HardState {
        HardState { term: self.vote_epoch(vote), voted_for: Some(NodeId(vote.leader_id.node_id)) }
    }
}

/// The log and the vote, on disk and in memory.
struct Disk<F> {
    fs: F,
    dir: PathBuf,
    vote: Option<Vote<u64>>,
    log: BTreeMap<u64, E>,
    report: Reporter,
}

/// One checksummed record of the log file: its length, the entry, a CRC-32 of the entry.
fn record(entry: &E) -> Vec<u8> {
    let body = postcard::to_allocvec(entry).expect("an entry encodes");
    let mut out = (body.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out
}

/// The entries of a log file, up to the first record that is cut off or damaged (an append
/// a crash interrupted before its sync: openraft never heard it was flushed).
fn records(bytes: &[u8]) -> Vec<E> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 4 {
        let len = u32::from_le_bytes(rest[..4].try_into().expect("4 bytes")) as usize;
        let Some(body) = rest.get(4..4 + len) else { break };
        let Some(crc) = rest.get(4 + len..8 + len) else { break };
        if crc32fast::hash(body).to_le_bytes() != crc {
            break;
        }
        let Ok(entry) = postcard::from_bytes::<E>(body) else { break };
        out.push(entry);
        rest = &rest[8 + len..];
    }
    out
}

fn io_error(e: io::Error) -> StorageError<u64> {
    StorageIOError::write_logs(&e).into()
}

impl<F: FileSystem> Disk<F> {
    fn vote_path(&self) -> PathBuf {
        self.dir.join("openraft-vote")
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("openraft-log")
    }

    /// The whole log file as the entries in memory make it.
    fn log_file(&self) -> Vec<u8> {
        self.log.values().flat_map(record).collect()
    }

    /// Reports a save that began at `began` (the node's clock).
    fn persisted(
        &self,
        hard_state: Option<HardState>,
        entries: Option<(u64, Vec<Term>)>,
        began: u64,
    ) {
        let took_ms = self.report.clock.now_ms().saturating_sub(began);
        self.report.event(NodeEvent::Persisted { hard_state, entries, took_ms });
    }
}

/// openraft's log store over a [`FileSystem`] (see the module).
pub(crate) struct LogStore<F>(Arc<Mutex<Disk<F>>>);

impl<F> Clone for LogStore<F> {
    fn clone(&self) -> Self {
        LogStore(self.0.clone())
    }
}

impl<F: FileSystem> LogStore<F> {
    /// Loads the vote and the log from `dir` on `fs` (a new node: none), and reports the
    /// start as ballot's node does.
    pub(crate) async fn open(fs: F, dir: PathBuf, report: Reporter) -> io::Result<LogStore<F>> {
        let mut disk = Disk { fs, dir, vote: None, log: BTreeMap::new(), report };
        if let Some(bytes) = disk.fs.read(&disk.vote_path())? {
            let vote = postcard::from_bytes(&bytes)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("vote: {e}")))?;
            disk.vote = Some(vote);
        }
        match disk.fs.read(&disk.log_path())? {
            Some(bytes) => {
                disk.log = records(&bytes).into_iter().map(|e| (e.log_id.index, e)).collect()
            }
            None => write_atomic(&disk.fs, &disk.log_path(), Vec::new()).await?,
        }
        let hard_state =
            disk.vote.as_ref().map_or(HardState::default(), |v| disk.report.hard_state(v));
        let mut log_terms: Vec<(Term, u64)> = Vec::new();
        for e in disk.log.values() {
            let term = disk.report.entry_epoch(&e.log_id);
            match log_terms.last_mut() {
                Some((t, n)) if *t == term => *n += 1,
                _ => log_terms.push((term, 1)),
            }
        }
        let log_len = disk.log.len() as u64;
        disk.report.event(NodeEvent::Started { hard_state, log_len, log_terms });
        Ok(LogStore(Arc::new(Mutex::new(disk))))
    }

    /// Whether nothing was ever saved: a new node, which `initialize` may start.
    pub(crate) async fn is_new(&self) -> bool {
        let disk = self.0.lock().await;
        disk.vote.is_none() && disk.log.is_empty()
    }
}

impl<F: FileSystem> RaftLogReader<TypeConfig> for LogStore<F> {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<E>, StorageError<u64>> {
        Ok(self.0.lock().await.log.range(range).map(|(_, e)| e.clone()).collect())
    }
}

impl<F: FileSystem> RaftLogStorage<TypeConfig> for LogStore<F> {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<u64>> {
        let disk = self.0.lock().await;
        let last = disk.log.values().next_back().map(|e| e.log_id);
        Ok(LogState { last_purged_log_id: None, last_log_id: last })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<(), StorageError<u64>> {
        let mut disk = self.0.lock().await;
        let began = disk.report.clock.now_ms();
        let bytes = postcard::to_allocvec(vote).expect("a vote encodes");
        write_atomic(&disk.fs, &disk.vote_path(), bytes)
            .await
            .map_err(|e| StorageError::from(StorageIOError::write_vote(&e)))?;
        disk.vote = Some(*vote);
        let hard_state = disk.report.hard_state(vote);
        disk.persisted(Some(hard_state), None, began);
        disk.report.role_of(vote);
        Ok(())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>, StorageError<u64>> {
        Ok(self.0.lock().await.vote)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<u64>>
    where
        I: IntoIterator<Item = E> + Send,
        I::IntoIter: Send,
    {
        let mut disk = self.0.lock().await;
        let entries: Vec<E> = entries.into_iter().collect();
        let Some(first) = entries.first().map(|e| e.log_id.index) else {
            callback.log_io_completed(Ok(()));
            return Ok(());
        };
        // Entries this node created as the leader of their term: its proposals.
        let me = disk.report.id;
        let leading = disk.vote.filter(|v| v.committed && v.leader_id.node_id == me);
        for e in &entries {
            let mine = leading.is_some_and(|v| v.leader_id.term == e.log_id.leader_id.term)
                && e.log_id.leader_id.node_id == me;
            if let (true, EntryPayload::Normal(Value(data))) = (mine, &e.payload) {
                let (index, term) = (e.log_id.index + 1, disk.report.entry_epoch(&e.log_id));
                disk.report.event(NodeEvent::Proposed { index, term, data: data.clone() });
            }
        }
        let began = disk.report.clock.now_ms();
        let bytes: Vec<u8> = entries.iter().flat_map(record).collect();
        let path = disk.log_path();
        let written = async {
            disk.fs.append(&path, &bytes).await?;
            disk.fs.sync_file(&path).await
        }
        .await;
        if let Err(e) = written {
            callback.log_io_completed(Err(io::Error::new(e.kind(), e.to_string())));
            return Err(io_error(e));
        }
        let terms = entries.iter().map(|e| disk.report.entry_epoch(&e.log_id)).collect();
        disk.log.extend(entries.into_iter().map(|e| (e.log_id.index, e)));
        disk.persisted(None, Some((first + 1, terms)), began);
        callback.log_io_completed(Ok(()));
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId<u64>) -> Result<(), StorageError<u64>> {
        let mut disk = self.0.lock().await;
        let began = disk.report.clock.now_ms();
        disk.log.split_off(&log_id.index);
        let bytes = disk.log_file();
        write_atomic(&disk.fs, &disk.log_path(), bytes).await.map_err(io_error)?;
        disk.persisted(None, Some((log_id.index + 1, Vec::new())), began);
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId<u64>) -> Result<(), StorageError<u64>> {
        // The node never builds a snapshot (its policy is `Never`), so never purges.
        Err(io_error(io::Error::other(format!("purge up to {log_id}: this store keeps its log"))))
    }
}

/// The state machine: what was applied (each entry reported as committed), the membership.
/// It holds no data worth a snapshot; a restarted node applies its log again.
pub(crate) struct Machine {
    applied: Option<LogId<u64>>,
    membership: StoredMembership<u64, openraft::EmptyNode>,
    report: Reporter,
}

impl Machine {
    pub(crate) fn new(report: Reporter) -> Machine {
        Machine { applied: None, membership: StoredMembership::default(), report }
    }

    fn snapshot(&self) -> Snapshot<TypeConfig> {
        let meta = SnapshotMeta {
            last_log_id: self.applied,
            last_membership: self.membership.clone(),
            snapshot_id: format!("{:?}", self.applied),
        };
        Snapshot { meta, snapshot: Box::new(Cursor::new(Vec::new())) }
    }
}

/// Builds the (empty) snapshot of what was applied so far.
pub(crate) struct Builder(Snapshot<TypeConfig>);

impl RaftSnapshotBuilder<TypeConfig> for Builder {
    async fn build_snapshot(&mut self) -> Result<Snapshot<TypeConfig>, StorageError<u64>> {
        let Snapshot { meta, snapshot } = &self.0;
        Ok(Snapshot {
            meta: meta.clone(),
            snapshot: Box::new(Cursor::new(snapshot.get_ref().clone())),
        })
    }
}

impl RaftStateMachine<TypeConfig> for Machine {
    type SnapshotBuilder = Builder;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<u64>>, StoredMembership<u64, openraft::EmptyNode>), StorageError<u64>>
    {
        Ok((self.applied, self.membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<()>, StorageError<u64>>
    where
        I: IntoIterator<Item = E> + Send,
        I::IntoIter: Send,
    {
        let mut out = Vec::new();
        for e in entries {
            self.applied = Some(e.log_id);
            if let EntryPayload::Membership(m) = &e.payload {
                self.membership = StoredMembership::new(Some(e.log_id), m.clone());
            }
            let (index, term) = (e.log_id.index + 1, self.report.entry_epoch(&e.log_id));
            self.report.event(NodeEvent::Committed { index, term });
            out.push(());
        }
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        Builder(self.snapshot())
    }

    async fn begin_receiving_snapshot(
        &mut self,
    ) -> Result<Box<Cursor<Vec<u8>>>, StorageError<u64>> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, openraft::EmptyNode>,
        _: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError<u64>> {
        self.applied = meta.last_log_id;
        self.membership = meta.last_membership.clone();
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> Result<Option<Snapshot<TypeConfig>>, StorageError<u64>> {
        Ok(None)
    }
}
