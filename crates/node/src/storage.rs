//! Durable storage of term, vote and log: a small state file updated in place, and a log file
//! that grows by appends.
//!
//! ```text
//! state file (64 bytes): | "BALLOTS3" | crc32 of bytes 12..64 (LE u32) | flags (LE u32: bit 0, a vote) |
//!                        | cluster id | node id | term | voted for | log entries | log bytes |  (LE u64 each)
//! log file:              | "BALLOTL1" | record | record | ...
//! record:                | length (LE u32) | crc32 of the entry (LE u32) | postcard-encoded entry |
//! ```
//!
//! The state file names its owner (cluster and node: a directory of another node is refused)
//! and says how far the log is durable: its first *log entries* records, *log bytes* after the
//! magic. A save appends the new records to the log and syncs them, then writes the state file
//! in place (one sector: all or nothing) and syncs it; a save of term and vote alone is the
//! second half. So every acknowledged entry lies below the state file's mark, and the stored
//! term is never below the log's last. What lies past the mark is a save a crash cut short
//! (a torn append, or the zeros a power loss leaves): never acknowledged, so it is ignored,
//! and the log rewritten at the next save. Everything below the mark must read back exactly:
//! a bad checksum, a length that runs past the mark, a log shorter than the mark, a missing
//! log or a missing state file beside a log that holds entries is [`StorageError::Corrupt`],
//! never read as empty (a node that forgets its vote can help elect two leaders in one term).
//! A write that replaces entries (a conflicting suffix, rare) lowers the mark to what it
//! keeps, rewrites the whole log file atomically (temporary file, sync, rename, directory
//! sync) and raises the mark again. A new node's first save creates the state file first
//! (atomically), so a log never stands without one.
//!
//! State files of the earlier formats load, and the next save moves them to this one:
//! `BALLOTS2` (term and vote; the log file as above, its torn last record dropped) and
//! `BALLOTS1` (term, vote and log in one file).

use ballot_core::{Entry, HardState, LogWrite, NodeId, PersistedState, Term};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The first format's state file: term, vote and log in one file.
const MAGIC_V1: &[u8; 8] = b"BALLOTS1";
/// The second format's state file: term and vote.
const MAGIC_V2: &[u8; 8] = b"BALLOTS2";
/// The state file: owner, term, vote and the log's durable mark.
const MAGIC: &[u8; 8] = b"BALLOTS3";
/// The state file's size, bytes: well inside one sector, so an update in place is atomic.
const STATE_LEN: usize = 64;
/// The earlier formats' header: magic, length, checksum.
const HEADER_LEN_V2: usize = 16;
/// The log file.
const LOG_MAGIC: &[u8; 8] = b"BALLOTL1";
/// A log record's length and checksum.
const RECORD_HEADER_LEN: usize = 8;

/// Why state could not be loaded or saved.
#[derive(Debug, Error)]
pub enum StorageError {
    /// Reading or writing failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file involved.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// A file exists but is not what was saved: refuse to start from it.
    #[error(
        "{path} is corrupt ({reason}); refusing to start from it. This node's copy cannot be \
         trusted: move the directory aside and start the node on an empty one to rejoin as a \
         new member's disk would (its term, vote and log come back from the others), or restore \
         the directory from a backup taken while the node was stopped"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The state belongs to another node or cluster (a directory given to the wrong node).
    #[error(
        "{path} belongs to node {found_node} of cluster {found_cluster}, not to node \
         {node} of cluster {cluster}; refusing to take over its term, vote and log (give each \
         node its own directory)"
    )]
    Foreign {
        /// The state file.
        path: PathBuf,
        /// The cluster that saved it.
        found_cluster: u64,
        /// The node that saved it.
        found_node: u64,
        /// The cluster starting on it.
        cluster: u64,
        /// The node starting on it.
        node: u64,
    },
}

/// Which node of which cluster a storage belongs to: written with the first save and
/// checked at every load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The cluster's id.
    pub cluster_id: u64,
    /// The node's id.
    pub node: NodeId,
}

/// Where a node keeps what must survive a crash.
pub trait Storage: Send + 'static {
    /// Reads what `owner` saved (empty state for a new node); state saved by another owner is
    /// refused.
    fn load(&mut self, owner: Owner) -> Result<PersistedState, StorageError>;
    /// Makes `hard_state` and `log` durable before completing (a real disk takes time: the
    /// node waits, and nothing that depends on the write leaves before it completes).
    fn save(
        &mut self,
        hard_state: Option<HardState>,
        log: Option<&LogWrite>,
    ) -> impl Future<Output = Result<(), StorageError>> + Send;
}

/// The primitive file operations [`FileStorage`] needs, so that a simulator can supply its
/// own disk (with its own latencies, and losing what was not synced when it crashes). The
/// one protocol that makes a write atomic and durable over them is [`write_atomic`].
pub trait FileSystem: Send + Sync + 'static {
    /// The file's contents, or `None` if it does not exist.
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>>;
    /// Creates (or truncates) the file and writes `bytes` (given, so a disk in memory keeps
    /// them without a copy); not durable until synced.
    fn write(&self, path: &Path, bytes: Vec<u8>) -> impl Future<Output = io::Result<()>> + Send;
    /// Adds `bytes` to the end of an existing file; not durable until synced.
    fn append(&self, path: &Path, bytes: &[u8]) -> impl Future<Output = io::Result<()>> + Send;
    /// Writes `bytes` over the start of an existing file, in place (no new file, no rename);
    /// not durable until synced. A write inside one 512-byte sector is all or nothing when
    /// power fails, as disks promise; a longer one may tear at a sector boundary.
    fn overwrite(&self, path: &Path, bytes: &[u8]) -> impl Future<Output = io::Result<()>> + Send;
    /// Makes the file's contents durable (fsync).
    fn sync_file(&self, path: &Path) -> impl Future<Output = io::Result<()>> + Send;
    /// Renames `from` to `to`, replacing `to`; not durable until the directory is synced.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes the directory's entries (a rename into it) durable.
    fn sync_dir(&self, dir: &Path) -> impl Future<Output = io::Result<()>> + Send;
}

/// `path` with `suffix` added to its file name (`state` -> `state.log`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Replaces the file at `path` with `bytes` atomically and durably: write a temporary file
/// (its name plus `.tmp`), sync it, rename it over `path`, sync the directory. A crash at any
/// point leaves the old contents or the new ones, never a mix.
pub async fn write_atomic<F: FileSystem>(fs: &F, path: &Path, bytes: Vec<u8>) -> io::Result<()> {
    let tmp = with_suffix(path, ".tmp");
    fs.write(&tmp, bytes).await?;
    fs.sync_file(&tmp).await?;
    fs.rename(&tmp, path)?;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs.sync_dir(dir).await
}

/// The operating system's file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct StdFileSystem;

impl StdFileSystem {
    /// [`write_atomic`] for code outside an async runtime: the operating system's calls
    /// block instead of waiting, so the protocol completes in one poll.
    pub fn write_atomic_blocking(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        complete_now(write_atomic(self, path, bytes.to_vec())).expect("StdFileSystem never waits")
    }
}

/// Runs a future that never waits (one of [`StdFileSystem`]'s, or of a simulator's disk that
/// keeps its own time) to completion in one poll; `None` if it waited after all.
pub fn complete_now<F: Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(output) => Some(output),
        std::task::Poll::Pending => None,
    }
}

impl FileSystem for StdFileSystem {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        match std::fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn write(&self, path: &Path, bytes: Vec<u8>) -> io::Result<()> {
        std::fs::write(path, bytes)
    }

    async fn append(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write;
        std::fs::OpenOptions::new().append(true).open(path)?.write_all(bytes)
    }

    async fn overwrite(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        std::fs::OpenOptions::new().write(true).open(path)?.write_all_at(bytes, 0)
    }

    async fn sync_file(&self, path: &Path) -> io::Result<()> {
        std::fs::File::open(path)?.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    async fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        std::fs::File::open(dir)?.sync_all()
    }
}

/// A node's directory held for one process: an exclusive lock (`flock`) on its `lock` file,
/// released when this is dropped or the process ends, however it ends. A second process on
/// the same directory would write the same state under the first one's feet.
#[derive(Debug)]
pub struct DirLock {
    _file: std::fs::File,
}

impl DirLock {
    /// Takes the directory's lock (its `lock` file, created if missing); an error when
    /// another process holds it, naming the file, or when the file cannot be opened.
    pub fn acquire(dir: &Path) -> Result<DirLock, StorageError> {
        let path = dir.join("lock");
        let io = |source| StorageError::Io { path: path.clone(), source };
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(DirLock { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => Err(io(io::Error::new(
                io::ErrorKind::WouldBlock,
                "another process holds this directory (is a node already running on it?)",
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

/// The first format's state file body.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct StoredStateV1 {
    hard_state: HardState,
    entries: Vec<Entry>,
}

/// The log as its file holds it after the magic: each entry's record, back to back, with
/// where each one ends, so that an append encodes only the new entries and a rewrite encodes
/// nothing.
#[derive(Clone, Debug, Default)]
struct EncodedLog {
    records: Vec<u8>,
    /// Where each entry's record ends in `records`.
    ends: Vec<usize>,
}

impl EncodedLog {
    fn new(entries: &[Entry]) -> EncodedLog {
        let mut log = EncodedLog::default();
        log.extend(entries);
        log
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    /// The bytes of the first `len` entries' records.
    fn bytes_of(&self, len: usize) -> usize {
        len.checked_sub(1).map_or(0, |last| self.ends[last])
    }

    /// Keeps the first `len` entries.
    fn truncate(&mut self, len: usize) {
        if len < self.ends.len() {
            self.ends.truncate(len);
            self.records.truncate(self.bytes_of(len));
        }
    }

    fn extend(&mut self, entries: &[Entry]) {
        for entry in entries {
            let start = self.records.len();
            self.records.resize(start + RECORD_HEADER_LEN, 0);
            self.records = postcard::to_extend(entry, std::mem::take(&mut self.records))
                .expect("entries serialize");
            let body = &self.records[start + RECORD_HEADER_LEN..];
            let header = [(body.len() as u32).to_le_bytes(), crc32fast::hash(body).to_le_bytes()];
            self.records[start..start + RECORD_HEADER_LEN].copy_from_slice(&header.concat());
            self.ends.push(self.records.len());
        }
    }

    /// The whole log file's bytes.
    fn file(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(LOG_MAGIC.len() + self.records.len());
        out.extend_from_slice(LOG_MAGIC);
        out.extend_from_slice(&self.records);
        out
    }
}

/// The state file's contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StateRecord {
    owner: Owner,
    hard_state: HardState,
    /// How many of the log's records are durable.
    log_entries: u64,
    /// Their bytes, after the log file's magic.
    log_bytes: u64,
}

impl StateRecord {
    fn encode(&self) -> [u8; STATE_LEN] {
        let mut out = [0u8; STATE_LEN];
        out[..8].copy_from_slice(MAGIC);
        let voted = self.hard_state.voted_for;
        out[12..16].copy_from_slice(&u32::from(voted.is_some()).to_le_bytes());
        let fields = [
            self.owner.cluster_id,
            self.owner.node.0,
            self.hard_state.term.0,
            voted.map_or(0, |n| n.0),
            self.log_entries,
            self.log_bytes,
        ];
        for (k, field) in fields.iter().enumerate() {
            out[16 + 8 * k..24 + 8 * k].copy_from_slice(&field.to_le_bytes());
        }
        let crc = crc32fast::hash(&out[12..]);
        out[8..12].copy_from_slice(&crc.to_le_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Result<StateRecord, String> {
        if bytes.len() != STATE_LEN {
            return Err(format!("{} bytes where a state file has {STATE_LEN}", bytes.len()));
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4"));
        if crc32fast::hash(&bytes[12..]) != u32_at(8) {
            return Err("checksum mismatch".into());
        }
        let flags = u32_at(12);
        if flags > 1 {
            return Err(format!("unknown flags {flags:#x}"));
        }
        let field =
            |k: usize| u64::from_le_bytes(bytes[16 + 8 * k..24 + 8 * k].try_into().expect("8"));
        Ok(StateRecord {
            owner: Owner { cluster_id: field(0), node: NodeId(field(1)) },
            hard_state: HardState {
                term: Term(field(2)),
                voted_for: (flags == 1).then_some(NodeId(field(3))),
            },
            log_entries: field(4),
            log_bytes: field(5),
        })
    }
}

/// How the files on disk stand, for the next save.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Layout {
    /// No state file: a new node (the first save creates it before the log).
    #[default]
    New,
    /// A first-format state file (the log inside it): the next save writes the log file
    /// first, then the state file over it.
    V1,
    /// A state file of this format, or the second (replaced by one at the next save).
    Laid,
}

/// [`Storage`] in a state file and its log file on a [`FileSystem`].
#[derive(Debug)]
pub struct FileStorage<F> {
    fs: F,
    path: PathBuf,
    log_path: PathBuf,
    owner: Option<Owner>,
    hard_state: HardState,
    log: EncodedLog,
    layout: Layout,
    /// What the state file holds, when it is of this format.
    stored: Option<StateRecord>,
    /// How many of `log`'s first entries the log file holds, below the stored mark (the rest
    /// were replaced or appended since).
    on_disk: usize,
    /// The log file is not `log`'s first `on_disk` entries followed by what a save appends
    /// (bytes past the mark, a missing file, the second format's): rewrite it whole.
    rewrite_log: bool,
}

impl<F: FileSystem> FileStorage<F> {
    /// Storage in the state file at `path` and its log file (`path` plus `.log`), created on
    /// the first save.
    pub fn new(fs: F, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        FileStorage {
            fs,
            log_path: with_suffix(&path, ".log"),
            path,
            owner: None,
            hard_state: HardState::default(),
            log: EncodedLog::default(),
            layout: Layout::New,
            stored: None,
            on_disk: 0,
            rewrite_log: false,
        }
    }

    fn io(&self, path: &Path, source: io::Error) -> StorageError {
        StorageError::Io { path: path.to_path_buf(), source }
    }

    fn corrupt(&self, path: &Path, reason: impl Into<String>) -> StorageError {
        StorageError::Corrupt { path: path.to_path_buf(), reason: reason.into() }
    }

    /// The state file saying the log's first `entries` records are durable.
    fn record(&self, entries: usize) -> StateRecord {
        StateRecord {
            owner: self.owner.expect("a storage saves only after it loaded"),
            hard_state: self.hard_state,
            log_entries: entries as u64,
            log_bytes: self.log.bytes_of(entries) as u64,
        }
    }

    /// Makes the state file `record` (created atomically the first time, then updated in
    /// place), unless it already is.
    async fn put_state(&mut self, record: StateRecord) -> Result<(), StorageError> {
        if self.stored == Some(record) {
            return Ok(());
        }
        let path = &self.path;
        let bytes = record.encode();
        if self.stored.is_none() {
            write_atomic(&self.fs, path, bytes.to_vec()).await.map_err(|e| self.io(path, e))?;
        } else {
            self.fs.overwrite(path, &bytes).await.map_err(|e| self.io(path, e))?;
            self.fs.sync_file(path).await.map_err(|e| self.io(path, e))?;
        }
        self.stored = Some(record);
        Ok(())
    }

    async fn write_log(&mut self) -> Result<(), StorageError> {
        let file = self.log.file();
        write_atomic(&self.fs, &self.log_path, file)
            .await
            .map_err(|e| self.io(&self.log_path, e))?;
        self.rewrite_log = false;
        Ok(())
    }

    /// Loads a state file of the earlier formats (see the module's documentation), beside
    /// the log file `log_file` as read.
    fn load_earlier(
        &mut self,
        bytes: &[u8],
        log_file: Option<Vec<u8>>,
    ) -> Result<PersistedState, StorageError> {
        let body = checked_body_v2(bytes).map_err(|reason| self.corrupt(&self.path, reason))?;
        let undecodable = |e: postcard::Error| format!("undecodable: {e}");
        self.rewrite_log = true;
        if &bytes[..8] == MAGIC_V1 {
            let state: StoredStateV1 =
                postcard::from_bytes(body).map_err(|e| self.corrupt(&self.path, undecodable(e)))?;
            (self.hard_state, self.log, self.layout) =
                (state.hard_state, EncodedLog::new(&state.entries), Layout::V1);
            return Ok(PersistedState { hard_state: state.hard_state, entries: state.entries });
        }
        self.hard_state =
            postcard::from_bytes(body).map_err(|e| self.corrupt(&self.path, undecodable(e)))?;
        let log_file = log_file.ok_or_else(|| {
            self.corrupt(&self.path, format!("its log file {} is missing", self.log_path.display()))
        })?;
        let entries = decode_log_v2(&log_file, &mut self.log)
            .map_err(|reason| self.corrupt(&self.log_path, reason))?;
        // The log file holds these records below any torn one: the new state file may say so
        // before the log is rewritten.
        (self.layout, self.on_disk) = (Layout::Laid, entries.len());
        Ok(PersistedState { hard_state: self.hard_state, entries })
    }
}

impl<F: FileSystem> Storage for FileStorage<F> {
    fn load(&mut self, owner: Owner) -> Result<PersistedState, StorageError> {
        (self.owner, self.hard_state, self.log) =
            (Some(owner), HardState::default(), EncodedLog::default());
        (self.layout, self.stored, self.on_disk, self.rewrite_log) = Default::default();
        let state = self.fs.read(&self.path).map_err(|e| self.io(&self.path, e))?;
        let log_file = self.fs.read(&self.log_path).map_err(|e| self.io(&self.log_path, e))?;
        let Some(bytes) = state else {
            // A new node. Its first save creates the state file before the log, so a log
            // holding records without one is damage (a state file deleted, or lost).
            return match log_file {
                Some(log) if log.len() > LOG_MAGIC.len() => Err(self.corrupt(
                    &self.path,
                    format!(
                        "the state file is missing beside a log file of {} bytes ({})",
                        log.len(),
                        self.log_path.display()
                    ),
                )),
                _ => Ok(PersistedState::default()),
            };
        };
        if bytes.starts_with(MAGIC_V1) || bytes.starts_with(MAGIC_V2) {
            return self.load_earlier(&bytes, log_file);
        }
        if !bytes.starts_with(MAGIC) {
            return Err(self.corrupt(&self.path, not_ours(&bytes, MAGIC, "state")));
        }
        let record =
            StateRecord::decode(&bytes).map_err(|reason| self.corrupt(&self.path, reason))?;
        if record.owner != owner {
            return Err(StorageError::Foreign {
                path: self.path.clone(),
                found_cluster: record.owner.cluster_id,
                found_node: record.owner.node.0,
                cluster: owner.cluster_id,
                node: owner.node.0,
            });
        }
        let entries = match log_file {
            None if record.log_entries == 0 => {
                self.rewrite_log = true; // a first save cut short before the log was made
                Vec::new()
            }
            None => {
                return Err(self.corrupt(
                    &self.log_path,
                    format!("missing, where the state file says {} entries", record.log_entries),
                ))
            }
            Some(log_file) => {
                let (entries, past_mark) = decode_log(&log_file, &record, &mut self.log)
                    .map_err(|reason| self.corrupt(&self.log_path, reason))?;
                self.rewrite_log = past_mark;
                entries
            }
        };
        (self.hard_state, self.layout, self.on_disk) =
            (record.hard_state, Layout::Laid, entries.len());
        self.stored = Some(record);
        Ok(PersistedState { hard_state: self.hard_state, entries })
    }

    async fn save(
        &mut self,
        hard_state: Option<HardState>,
        log: Option<&LogWrite>,
    ) -> Result<(), StorageError> {
        if let Some(hs) = hard_state {
            self.hard_state = hs;
        }
        let mut appended = None;
        if let Some(write) = log {
            let keep = (write.first_index.max(1) - 1) as usize;
            if keep != self.log.len() {
                self.rewrite_log = true; // entries replaced (or a gap, which rewriting shows)
            }
            self.log.truncate(keep);
            self.on_disk = self.on_disk.min(keep);
            appended = Some(self.log.records.len());
            self.log.extend(&write.entries);
        }
        let whole = self.record(self.log.len());
        if self.layout == Layout::V1 {
            // The log file first: until the state file is replaced, the first format's
            // state file (which holds the log itself) is what a restart reads.
            self.write_log().await?;
            self.put_state(whole).await?;
        } else if self.rewrite_log || self.layout == Layout::New {
            // Lower the mark to what the log file and the new log share, rewrite the log,
            // raise the mark: a crash at any point leaves a state file that the log file
            // on disk holds every record of.
            self.put_state(self.record(self.on_disk)).await?;
            self.write_log().await?;
            self.put_state(whole).await?;
        } else if let Some(start) = appended.filter(|&start| start < self.log.records.len()) {
            let path = &self.log_path;
            let fs = &self.fs;
            fs.append(path, &self.log.records[start..]).await.map_err(|e| self.io(path, e))?;
            fs.sync_file(path).await.map_err(|e| self.io(path, e))?;
            self.put_state(whole).await?;
        } else {
            self.put_state(whole).await?;
        }
        (self.layout, self.on_disk) = (Layout::Laid, self.log.len());
        Ok(())
    }
}
/// Why a file that should start with `magic` does not: cut short inside it, or another file.
fn not_ours(bytes: &[u8], magic: &[u8], what: &str) -> String {
    if magic.starts_with(bytes) {
        format!("cut short: {} bytes, not even its magic", bytes.len())
    } else {
        format!("not a ballot {what} file (bad magic)")
    }
}

/// An earlier format's state file body, its header checked.
fn checked_body_v2(bytes: &[u8]) -> Result<&[u8], String> {
    if bytes.len() < HEADER_LEN_V2 {
        return Err(format!("{} bytes, shorter than the header", bytes.len()));
    }
    let len = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes"));
    let body = &bytes[HEADER_LEN_V2..];
    if body.len() != len {
        return Err(format!("torn: header says {len} bytes, file holds {}", body.len()));
    }
    if crc32fast::hash(body) != crc {
        return Err("checksum mismatch".into());
    }
    Ok(body)
}

/// One record at byte `at` of a log file, if a whole one with a matching checksum is there:
/// its entry and where it ends.
fn record_at(bytes: &[u8], at: usize) -> Result<Option<(Entry, usize)>, String> {
    let rest = &bytes[at..];
    let Some(header) = rest.get(..RECORD_HEADER_LEN) else { return Ok(None) };
    let len = u32::from_le_bytes(header[..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(header[4..].try_into().expect("4 bytes"));
    let Some(body) = rest.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + len) else { return Ok(None) };
    if crc32fast::hash(body) != crc {
        return Ok(None);
    }
    let entry: Entry =
        postcard::from_bytes(body).map_err(|e| format!("undecodable record at byte {at}: {e}"))?;
    Ok(Some((entry, at + RECORD_HEADER_LEN + len)))
}

/// Reads the records of a log file below the state file's mark into `log`, exactly: every
/// one whole, its checksum right, its index the next, ending at the mark. Returns the entries
/// and whether bytes lie past the mark (a save cut short, ignored).
fn decode_log(
    bytes: &[u8],
    mark: &StateRecord,
    log: &mut EncodedLog,
) -> Result<(Vec<Entry>, bool), String> {
    if !bytes.starts_with(LOG_MAGIC) {
        return Err(not_ours(bytes, LOG_MAGIC, "log"));
    }
    let end = LOG_MAGIC.len() as u64 + mark.log_bytes;
    let Some(below) = usize::try_from(end).ok().and_then(|end| bytes.get(..end)) else {
        return Err(format!(
            "truncated: {} bytes of records where the state file says {} entries in {} bytes",
            bytes.len() - LOG_MAGIC.len(),
            mark.log_entries,
            mark.log_bytes
        ));
    };
    let mut entries = Vec::new();
    let mut at = LOG_MAGIC.len();
    while at < below.len() {
        let Some((entry, next)) = record_at(below, at)? else {
            return Err(format!(
                "the record at byte {at} is damaged (bad length or checksum) below the durable \
                 mark of {} entries",
                mark.log_entries
            ));
        };
        if entry.index != entries.len() as u64 + 1 {
            return Err(format!("entry {} where entry {} belongs", entry.index, entries.len() + 1));
        }
        entries.push(entry);
        log.ends.push(next - LOG_MAGIC.len());
        at = next;
    }
    if entries.len() as u64 != mark.log_entries {
        return Err(format!(
            "{} entries below the mark where the state file says {}",
            entries.len(),
            mark.log_entries
        ));
    }
    log.records = below[LOG_MAGIC.len()..].to_vec();
    Ok((entries, bytes.len() > below.len()))
}

/// Reads a log file of the second format's layout into `log`: its records up to the first
/// partial or mismatched one, which must be the last (a torn append, dropped). A bad record
/// with whole records after it, or entries out of order, is corruption.
fn decode_log_v2(bytes: &[u8], log: &mut EncodedLog) -> Result<Vec<Entry>, String> {
    if !bytes.starts_with(LOG_MAGIC) {
        return Err(not_ours(bytes, LOG_MAGIC, "log"));
    }
    let mut entries = Vec::new();
    let mut at = LOG_MAGIC.len();
    while at < bytes.len() {
        let Some((entry, next)) = record_at(bytes, at)? else {
            if (at + 1..bytes.len()).any(|later| matches!(record_at(bytes, later), Ok(Some(_)))) {
                return Err(format!("the record at byte {at} is damaged, with records after it"));
            }
            break; // a torn last append
        };
        if entry.index != entries.len() as u64 + 1 {
            return Err(format!("entry {} where entry {} belongs", entry.index, entries.len() + 1));
        }
        entries.push(entry);
        log.ends.push(next - LOG_MAGIC.len());
        at = next;
    }
    log.records = bytes[LOG_MAGIC.len()..at].to_vec();
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballot_core::Payload;

    const OWNER: Owner = Owner { cluster_id: 7, node: NodeId(1) };

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ballot-storage-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// A save on [`StdFileSystem`], run to completion.
    trait Now: Future + Sized {
        fn now(self) -> Self::Output {
            complete_now(self).expect("StdFileSystem never waits")
        }
    }
    impl<F: Future> Now for F {}

    fn entry(index: u64, term: u64) -> Entry {
        Entry { index, term: Term(term), payload: Payload::Data(vec![index as u8]) }
    }

    fn load(path: &Path) -> Result<PersistedState, StorageError> {
        FileStorage::new(StdFileSystem, path).load(OWNER)
    }

    /// A storage at `path` that saved `entries` (appended one save each) in term 5, with a vote.
    fn saved(path: &Path, entries: u64) -> FileStorage<StdFileSystem> {
        let mut s = FileStorage::new(StdFileSystem, path);
        s.load(OWNER).unwrap();
        let hs = HardState { term: Term(5), voted_for: Some(NodeId(1)) };
        s.save(Some(hs), None).now().unwrap();
        for index in 1..=entries {
            let write = LogWrite { first_index: index, entries: vec![entry(index, 5)] };
            s.save(None, Some(&write)).now().unwrap();
        }
        s
    }

    #[test]
    fn saves_and_loads_term_vote_and_log() {
        let path = temp_dir("roundtrip").join("state");
        let mut s = FileStorage::new(StdFileSystem, &path);
        assert_eq!(s.load(OWNER).unwrap(), PersistedState::default(), "a new node starts empty");
        let hs = HardState { term: Term(3), voted_for: Some(NodeId(2)) };
        let write = LogWrite { first_index: 1, entries: vec![entry(1, 1), entry(2, 3)] };
        s.save(Some(hs), Some(&write)).now().unwrap();
        let truncate = LogWrite { first_index: 2, entries: vec![entry(2, 3)] };
        s.save(None, Some(&truncate)).now().unwrap();
        let loaded = load(&path).unwrap();
        assert_eq!(loaded.hard_state, hs);
        assert_eq!(loaded.entries, vec![entry(1, 1), entry(2, 3)]);
    }

    /// Both files' bytes, pinned: a payload is one run of bytes, encoded as postcard encodes a
    /// `Vec<u8>`.
    #[test]
    fn the_file_formats_are_pinned() {
        let path = temp_dir("pinned").join("state");
        let mut s = FileStorage::new(StdFileSystem, &path);
        s.load(OWNER).unwrap();
        let hard_state = HardState { term: Term(3), voted_for: Some(NodeId(2)) };
        let entries = vec![
            Entry { index: 1, term: Term(1), payload: Payload::Noop },
            Entry { index: 2, term: Term(3), payload: Payload::Data(vec![7, 8, 9]) },
        ];
        s.save(Some(hard_state), Some(&LogWrite { first_index: 1, entries })).now().unwrap();
        let mut log = b"BALLOTL1".to_vec();
        for record in [&[1, 1, 0][..], &[2, 3, 1, 3, 7, 8, 9]] {
            log.extend_from_slice(&(record.len() as u32).to_le_bytes());
            log.extend_from_slice(&crc32fast::hash(record).to_le_bytes());
            log.extend_from_slice(record);
        }
        assert_eq!(std::fs::read(with_suffix(&path, ".log")).unwrap(), log);
        let mut state = b"BALLOTS3".to_vec();
        state.extend_from_slice(&[0; 4]); // the checksum, below
        state.extend_from_slice(&1u32.to_le_bytes()); // a vote
        for field in [7u64, 1, 3, 2, 2, (log.len() - 8) as u64] {
            state.extend_from_slice(&field.to_le_bytes());
        }
        let crc = crc32fast::hash(&state[12..]);
        state[8..12].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(std::fs::read(&path).unwrap(), state);
    }

    /// The first format's bytes (term, vote and log in one file), as its pinned test had
    /// them, and what they hold.
    fn first_format() -> (Vec<u8>, HardState, Vec<Entry>) {
        let body = [3, 1, 2, 2, 1, 1, 0, 2, 3, 1, 3, 7, 8, 9];
        let mut v1 = b"BALLOTS1".to_vec();
        v1.extend_from_slice(&(body.len() as u32).to_le_bytes());
        v1.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        v1.extend_from_slice(&body);
        let entries = vec![
            Entry { index: 1, term: Term(1), payload: Payload::Noop },
            Entry { index: 2, term: Term(3), payload: Payload::Data(vec![7, 8, 9]) },
        ];
        (v1, HardState { term: Term(3), voted_for: Some(NodeId(2)) }, entries)
    }

    /// State files of the earlier formats load, and the next save moves them to this one.
    #[test]
    fn state_files_of_the_earlier_formats_load_and_move_on() {
        let (v1, hard_state, entries) = first_format();
        let next = Entry { index: 3, term: Term(3), payload: Payload::Noop };
        let append = LogWrite { first_index: 3, entries: vec![next.clone()] };
        let path = temp_dir("v1").join("state");
        std::fs::write(&path, v1).unwrap();
        let mut s = FileStorage::new(StdFileSystem, &path);
        let loaded = s.load(OWNER).unwrap();
        assert_eq!((loaded.hard_state, &loaded.entries), (hard_state, &entries));
        s.save(None, Some(&append)).now().unwrap();
        assert_eq!(&std::fs::read(&path).unwrap()[..8], b"BALLOTS3");
        let loaded = load(&path).unwrap();
        assert_eq!(loaded.hard_state, hard_state);
        assert_eq!(loaded.entries, [entries.clone(), vec![next.clone()]].concat());

        // The second format: a 16-byte header and the hard state; its log file as this one's,
        // here with a torn last append, which it drops.
        let path = temp_dir("v2").join("state");
        let body = [3, 1, 2];
        let mut v2 = b"BALLOTS2".to_vec();
        v2.extend_from_slice(&(body.len() as u32).to_le_bytes());
        v2.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        v2.extend_from_slice(&body);
        std::fs::write(&path, v2).unwrap();
        let mut log = EncodedLog::new(&entries).file();
        log.extend_from_slice(&EncodedLog::new(&[entry(3, 3)]).records[..5]);
        std::fs::write(with_suffix(&path, ".log"), log).unwrap();
        let mut s = FileStorage::new(StdFileSystem, &path);
        assert_eq!(s.load(OWNER).unwrap(), PersistedState { hard_state, entries: entries.clone() });
        s.save(None, Some(&append)).now().unwrap();
        assert_eq!(&std::fs::read(&path).unwrap()[..8], b"BALLOTS3");
        assert_eq!(load(&path).unwrap().entries, [entries, vec![next]].concat());
    }

    proptest::proptest! {
        /// Saves that append and replace entries of real sizes (up to 4 KB), with a reload
        /// now and then, load back exactly the state saved, and the log file always holds
        /// exactly the records of the log (appends never drift from a whole rewrite).
        #[test]
        fn saves_load_back_exactly(
            saves in proptest::collection::vec(
                (proptest::option::of(0u64..50), 0usize..12, proptest::collection::vec(0usize..4096, 0..4), proptest::bool::weighted(0.2)),
                1..25,
            ),
        ) {
            let path = temp_dir("incremental").join("state");
            let mut s = FileStorage::new(StdFileSystem, &path);
            s.load(OWNER).unwrap();
            let mut expected = PersistedState::default();
            for (term, back, sizes, reload) in saves {
                let hard_state = term.map(|t| HardState { term: Term(t), voted_for: Some(NodeId(1)) });
                if let Some(hs) = hard_state {
                    expected.hard_state = hs;
                }
                let first_index = expected.entries.len().saturating_sub(back) as u64 + 1;
                let entries: Vec<Entry> = sizes.iter().enumerate().map(|(k, &size)| Entry {
                    index: first_index + k as u64,
                    term: Term(first_index + size as u64),
                    payload: Payload::Data(vec![size as u8; size]),
                }).collect();
                expected.entries.truncate(first_index as usize - 1);
                expected.entries.extend(entries.iter().cloned());
                s.save(hard_state, Some(&LogWrite { first_index, entries })).now().unwrap();
                let log = std::fs::read(with_suffix(&path, ".log")).unwrap();
                proptest::prop_assert_eq!(log, EncodedLog::new(&expected.entries).file());
                if reload {
                    s = FileStorage::new(StdFileSystem, &path);
                    proptest::prop_assert_eq!(s.load(OWNER).unwrap(), expected.clone());
                }
            }
            proptest::prop_assert_eq!(load(&path).unwrap(), expected);
        }
    }

    /// What lies past the state file's mark is a save a crash cut short (a partial record, a
    /// whole one not yet marked, the zeros a power loss leaves): never acknowledged, so it is
    /// ignored, and the next save rewrites the log without it.
    #[test]
    fn a_save_cut_short_past_the_mark_is_ignored() {
        let path = temp_dir("past-mark").join("state");
        let log_path = with_suffix(&path, ".log");
        saved(&path, 1);
        let (state, one) = (std::fs::read(&path).unwrap(), std::fs::read(&log_path).unwrap());
        let record = EncodedLog::new(&[entry(2, 5)]).records;
        let tails = [
            record[..3].to_vec(),
            record.clone(),
            vec![0; 4096],
            [&record[..], &[0; 100]].concat(),
        ];
        for tail in tails {
            std::fs::write(&path, &state).unwrap();
            std::fs::write(&log_path, [&one[..], &tail].concat()).unwrap();
            let mut s = FileStorage::new(StdFileSystem, &path);
            assert_eq!(s.load(OWNER).unwrap().entries, vec![entry(1, 5)]);
            s.save(None, Some(&LogWrite { first_index: 2, entries: vec![entry(2, 6)] }))
                .now()
                .unwrap();
            assert_eq!(
                std::fs::read(&log_path).unwrap(),
                EncodedLog::new(&[entry(1, 5), entry(2, 6)]).file()
            );
            assert_eq!(load(&path).unwrap().entries, vec![entry(1, 5), entry(2, 6)]);
        }
    }

    /// One flipped bit anywhere in the state file or below the log's mark, and a log cut
    /// anywhere below it, is refused as corruption: never a shorter log, never empty.
    #[test]
    fn every_flipped_bit_and_every_truncation_below_the_mark_is_refused() {
        let path = temp_dir("flips").join("state");
        let log_path = with_suffix(&path, ".log");
        saved(&path, 4);
        let (state, log) = (std::fs::read(&path).unwrap(), std::fs::read(&log_path).unwrap());
        let refused = |what: &str| match load(&path) {
            Err(StorageError::Corrupt { .. }) => {}
            other => panic!("{what}: {other:?}"),
        };
        for (file, good) in [(&path, &state), (&log_path, &log)] {
            for byte in 0..good.len() {
                for bit in [0, 3, 7] {
                    let mut bad = good.clone();
                    bad[byte] ^= 1 << bit;
                    std::fs::write(file, &bad).unwrap();
                    refused(&format!("{} bit {bit} of byte {byte}", file.display()));
                }
            }
            for len in 0..good.len() {
                std::fs::write(file, &good[..len]).unwrap();
                refused(&format!("{} cut to {len} bytes", file.display()));
            }
            std::fs::write(file, good).unwrap();
        }
        assert_eq!(load(&path).unwrap().entries.len(), 4);
    }

    /// A missing file is damage wherever the other one says there was something to lose.
    #[test]
    fn a_missing_file_beside_one_that_needs_it_is_refused() {
        let path = temp_dir("missing").join("state");
        let log_path = with_suffix(&path, ".log");
        saved(&path, 2);
        let log = std::fs::read(&log_path).unwrap();
        std::fs::remove_file(&log_path).unwrap();
        let err = load(&path).unwrap_err();
        assert!(err.to_string().contains("missing, where the state file says 2 entries"), "{err}");
        std::fs::write(&log_path, &log).unwrap();
        std::fs::remove_file(&path).unwrap();
        let err = load(&path).unwrap_err();
        assert!(err.to_string().contains("the state file is missing beside a log file"), "{err}");
        assert!(err.to_string().contains("move the directory aside"), "says what to do: {err}");
        // A log holding nothing beside no state file loses nothing: a new node.
        std::fs::write(&log_path, LOG_MAGIC).unwrap();
        assert_eq!(load(&path).unwrap(), PersistedState::default());
        // A state file that marks no entries, beside no log: a first save cut short.
        let path = temp_dir("missing-empty").join("state");
        saved(&path, 0);
        std::fs::remove_file(with_suffix(&path, ".log")).unwrap();
        let mut s = FileStorage::new(StdFileSystem, &path);
        assert_eq!(s.load(OWNER).unwrap().hard_state.term, Term(5));
        s.save(None, Some(&LogWrite { first_index: 1, entries: vec![entry(1, 5)] })).now().unwrap();
        assert_eq!(load(&path).unwrap().entries, vec![entry(1, 5)]);
    }

    /// A directory of another node, or of another cluster, is refused.
    #[test]
    fn state_of_another_node_or_cluster_is_refused() {
        let path = temp_dir("foreign").join("state");
        saved(&path, 1);
        for owner in [Owner { node: NodeId(2), ..OWNER }, Owner { cluster_id: 8, ..OWNER }] {
            let err = FileStorage::new(StdFileSystem, &path).load(owner).unwrap_err();
            assert!(matches!(err, StorageError::Foreign { .. }), "{err}");
            assert!(err.to_string().contains("belongs to node 1 of cluster 7"), "{err}");
        }
        assert_eq!(load(&path).unwrap().entries.len(), 1);
    }

    #[test]
    fn a_directory_is_held_by_one_process_at_a_time() {
        let dir = temp_dir("lock");
        let held = DirLock::acquire(&dir).unwrap();
        // flock locks belong to the open file: a second open in this process is refused too.
        let err = DirLock::acquire(&dir).unwrap_err();
        assert!(err.to_string().contains("another process holds this directory"), "{err}");
        drop(held);
        DirLock::acquire(&dir).expect("free again once dropped");
    }

    #[test]
    fn io_errors_are_reported_with_the_path() {
        let path = temp_dir("io").join("missing-dir").join("state");
        let mut s = FileStorage::new(StdFileSystem, &path);
        s.load(OWNER).unwrap();
        let err = s.save(Some(HardState::default()), None).now().unwrap_err();
        assert!(matches!(err, StorageError::Io { .. }));
        assert!(err.to_string().contains("missing-dir"), "{err}");
    }
}
