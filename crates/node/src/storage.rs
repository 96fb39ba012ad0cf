//! Durable storage of term, vote and log: a small state file replaced atomically, and a log
//! file that grows by appends.
//!
//! ```text
//! state file:  | "BALLOTS2" | length (LE u32) | crc32 (LE u32) | postcard-encoded hard state |
//! log file:    | "BALLOTL1" | record | record | ...
//! record:      | length (LE u32) | crc32 of the entry (LE u32) | postcard-encoded entry |
//! ```
//!
//! The state file (term and vote) is written to a temporary file, synced, renamed over the old
//! one and the directory synced, so a crash leaves the old state or the new one. The log file
//! (next to it, its name plus `.log`) takes each new run of entries as an append and a sync;
//! a write that replaces entries (a conflicting suffix, rare) rewrites the whole log file the
//! same atomic way. A save writes the state before the log, so the stored term is never below
//! the log's last. An append a crash tore is a partial or mismatched last record: it was never
//! acknowledged, so it is dropped at start-up (and the log rewritten at the next save). Anything
//! else that is torn or corrupt (a bad disk, a copy gone wrong, a state file without its log) is
//! refused with [`StorageError::Corrupt`], never read as empty: a node that forgets its vote
//! can help elect two leaders in one term. A state file of the first format (`BALLOTS1`: term,
//! vote and log in one file, rewritten whole on every save) loads, and the next save moves it
//! to this layout.

use ballot_core::{Entry, HardState, LogWrite, PersistedState};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The first format's state file: term, vote and log in one file.
const MAGIC_V1: &[u8; 8] = b"BALLOTS1";
/// The state file: term and vote.
const MAGIC: &[u8; 8] = b"BALLOTS2";
const HEADER_LEN: usize = 16;
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
    /// The state file exists but is not a valid state: refuse to start from it.
    #[error("state file {path} is corrupt ({reason}); refusing to start from it")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// Where a node keeps what must survive a crash.
pub trait Storage: Send + 'static {
    /// Reads what was saved (empty state for a new node).
    fn load(&mut self) -> Result<PersistedState, StorageError>;
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

    /// Keeps the first `len` entries.
    fn truncate(&mut self, len: usize) {
        if len < self.ends.len() {
            self.ends.truncate(len);
            self.records.truncate(self.ends.last().copied().unwrap_or(0));
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

/// [`Storage`] in a state file and its log file on a [`FileSystem`].
#[derive(Debug)]
pub struct FileStorage<F> {
    fs: F,
    path: PathBuf,
    log_path: PathBuf,
    hard_state: HardState,
    log: EncodedLog,
    /// The state file and the log file both exist in this layout (not a new node's, nor the
    /// first format's): a save may append.
    laid_out: bool,
    /// The log file holds a torn append (or is otherwise not `log`): rewrite it whole.
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
            hard_state: HardState::default(),
            log: EncodedLog::default(),
            laid_out: false,
            rewrite_log: false,
        }
    }

    fn io(&self, path: &Path, source: io::Error) -> StorageError {
        StorageError::Io { path: path.to_path_buf(), source }
    }

    fn corrupt(&self, path: &Path, reason: impl Into<String>) -> StorageError {
        StorageError::Corrupt { path: path.to_path_buf(), reason: reason.into() }
    }

    async fn write_log(&mut self) -> Result<(), StorageError> {
        let file = self.log.file();
        write_atomic(&self.fs, &self.log_path, file)
            .await
            .map_err(|e| self.io(&self.log_path, e))?;
        self.rewrite_log = false;
        Ok(())
    }

    async fn write_state(&self) -> Result<(), StorageError> {
        let bytes = encode_hard_state(&self.hard_state);
        write_atomic(&self.fs, &self.path, bytes).await.map_err(|e| self.io(&self.path, e))
    }
}

impl<F: FileSystem> Storage for FileStorage<F> {
    fn load(&mut self) -> Result<PersistedState, StorageError> {
        (self.hard_state, self.log, self.laid_out, self.rewrite_log) = Default::default();
        // No state file: a new node (a log file without one is a first save that did not
        // finish, so nothing in it was acknowledged).
        let Some(bytes) = self.fs.read(&self.path).map_err(|e| self.io(&self.path, e))? else {
            return Ok(PersistedState::default());
        };
        let body = checked_body(&bytes).map_err(|reason| self.corrupt(&self.path, reason))?;
        let undecodable = |e: postcard::Error| format!("undecodable: {e}");
        if &bytes[..8] == MAGIC_V1 {
            let state: StoredStateV1 =
                postcard::from_bytes(body).map_err(|e| self.corrupt(&self.path, undecodable(e)))?;
            self.hard_state = state.hard_state;
            self.log = EncodedLog::new(&state.entries);
            return Ok(PersistedState { hard_state: state.hard_state, entries: state.entries });
        }
        self.hard_state =
            postcard::from_bytes(body).map_err(|e| self.corrupt(&self.path, undecodable(e)))?;
        let log_file = self.fs.read(&self.log_path).map_err(|e| self.io(&self.log_path, e))?;
        let log_file = log_file.ok_or_else(|| {
            self.corrupt(&self.path, format!("its log file {} is missing", self.log_path.display()))
        })?;
        let DecodedLog { entries, encoded, torn } =
            decode_log(&log_file).map_err(|reason| self.corrupt(&self.log_path, reason))?;
        (self.log, self.laid_out, self.rewrite_log) = (encoded, true, torn);
        Ok(PersistedState { hard_state: self.hard_state, entries })
    }

    async fn save(
        &mut self,
        hard_state: Option<HardState>,
        log: Option<&LogWrite>,
    ) -> Result<(), StorageError> {
        let state_changed = hard_state.is_some_and(|hs| hs != self.hard_state);
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
            appended = Some(self.log.records.len());
            self.log.extend(&write.entries);
        }
        if !self.laid_out {
            // A new node's first save, or the first format's: the log file first, so that a
            // state file never stands without its log.
            self.write_log().await?;
            self.write_state().await?;
            self.laid_out = true;
            return Ok(());
        }
        if state_changed {
            self.write_state().await?;
        }
        if self.rewrite_log {
            return self.write_log().await;
        }
        match appended {
            Some(start) if start < self.log.records.len() => {
                let path = &self.log_path;
                self.fs
                    .append(path, &self.log.records[start..])
                    .await
                    .map_err(|e| self.io(path, e))?;
                self.fs.sync_file(path).await.map_err(|e| self.io(path, e))
            }
            _ => Ok(()),
        }
    }
}

/// The state file's bytes: the header, then the hard state.
fn encode_hard_state(hard_state: &HardState) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.resize(HEADER_LEN, 0);
    let mut out = postcard::to_extend(hard_state, out).expect("state serializes");
    let body_len = (out.len() - HEADER_LEN) as u32;
    let crc = crc32fast::hash(&out[HEADER_LEN..]);
    out[8..12].copy_from_slice(&body_len.to_le_bytes());
    out[12..16].copy_from_slice(&crc.to_le_bytes());
    out
}

/// A state file's body (either format), its header checked.
fn checked_body(bytes: &[u8]) -> Result<&[u8], String> {
    if bytes.len() < HEADER_LEN {
        return Err(format!("{} bytes, shorter than the header", bytes.len()));
    }
    if &bytes[..8] != MAGIC && &bytes[..8] != MAGIC_V1 {
        return Err("not a ballot state file (bad magic)".into());
    }
    let len = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(bytes[12..16].try_into().expect("4 bytes"));
    let body = &bytes[HEADER_LEN..];
    if body.len() != len {
        return Err(format!("torn: header says {len} bytes, file holds {}", body.len()));
    }
    if crc32fast::hash(body) != crc {
        return Err("checksum mismatch".into());
    }
    Ok(body)
}

/// A log file read back: its entries, their records as the file holds them (kept, not
/// encoded again), and whether its last record was a torn append (dropped).
struct DecodedLog {
    entries: Vec<Entry>,
    encoded: EncodedLog,
    torn: bool,
}

/// Reads a log file. A bad record with more after it, or entries out of order, is corruption.
fn decode_log(bytes: &[u8]) -> Result<DecodedLog, String> {
    if bytes.len() < LOG_MAGIC.len() || &bytes[..LOG_MAGIC.len()] != LOG_MAGIC {
        return Err("not a ballot log file (bad magic)".into());
    }
    let (mut entries, mut ends): (Vec<Entry>, Vec<usize>) = (Vec::new(), Vec::new());
    let mut at = LOG_MAGIC.len();
    let mut torn = false;
    while at < bytes.len() {
        let rest = &bytes[at..];
        let header = rest.get(..RECORD_HEADER_LEN);
        let len = header.map(|h| u32::from_le_bytes(h[..4].try_into().expect("4 bytes")) as usize);
        let Some(body) = len.and_then(|len| rest.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + len))
        else {
            torn = true; // a partial last record
            break;
        };
        let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
        let end = at + RECORD_HEADER_LEN + body.len();
        if crc32fast::hash(body) != crc {
            if end == bytes.len() {
                torn = true; // a last record not all written
                break;
            }
            return Err(format!("checksum mismatch in the record at byte {at}"));
        }
        let entry: Entry = postcard::from_bytes(body)
            .map_err(|e| format!("undecodable record at byte {at}: {e}"))?;
        if entry.index != entries.len() as u64 + 1 {
            return Err(format!("entry {} where entry {} belongs", entry.index, entries.len() + 1));
        }
        entries.push(entry);
        ends.push(end - LOG_MAGIC.len());
        at = end;
    }
    let encoded = EncodedLog { records: bytes[LOG_MAGIC.len()..at].to_vec(), ends };
    Ok(DecodedLog { entries, encoded, torn })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballot_core::{NodeId, Payload, Term};

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

    #[test]
    fn saves_and_loads_term_vote_and_log() {
        let path = temp_dir("roundtrip").join("state");
        let mut s = FileStorage::new(StdFileSystem, &path);
        assert_eq!(s.load().unwrap(), PersistedState::default(), "a new node starts empty");
        let hs = HardState { term: Term(3), voted_for: Some(NodeId(2)) };
        let write = LogWrite { first_index: 1, entries: vec![entry(1, 1), entry(2, 3)] };
        s.save(Some(hs), Some(&write)).now().unwrap();
        let truncate = LogWrite { first_index: 2, entries: vec![entry(2, 3)] };
        s.save(None, Some(&truncate)).now().unwrap();
        let loaded = FileStorage::new(StdFileSystem, &path).load().unwrap();
        assert_eq!(loaded.hard_state, hs);
        assert_eq!(loaded.entries, vec![entry(1, 1), entry(2, 3)]);
    }

    /// Both files' bytes, pinned: a payload is one run of bytes, encoded as postcard encodes a
    /// `Vec<u8>`.
    #[test]
    fn the_file_formats_are_pinned() {
        let path = temp_dir("pinned").join("state");
        let mut s = FileStorage::new(StdFileSystem, &path);
        let hard_state = HardState { term: Term(3), voted_for: Some(NodeId(2)) };
        let entries = vec![
            Entry { index: 1, term: Term(1), payload: Payload::Noop },
            Entry { index: 2, term: Term(3), payload: Payload::Data(vec![7, 8, 9]) },
        ];
        s.save(Some(hard_state), Some(&LogWrite { first_index: 1, entries })).now().unwrap();
        let state = std::fs::read(&path).unwrap();
        let body = [3, 1, 2];
        assert_eq!(&state[..8], b"BALLOTS2");
        assert_eq!(&state[8..12], &(body.len() as u32).to_le_bytes());
        assert_eq!(&state[12..16], &crc32fast::hash(&body).to_le_bytes());
        assert_eq!(&state[HEADER_LEN..], &body);
        let mut log = b"BALLOTL1".to_vec();
        for record in [&[1, 1, 0][..], &[2, 3, 1, 3, 7, 8, 9]] {
            log.extend_from_slice(&(record.len() as u32).to_le_bytes());
            log.extend_from_slice(&crc32fast::hash(record).to_le_bytes());
            log.extend_from_slice(record);
        }
        assert_eq!(std::fs::read(with_suffix(&path, ".log")).unwrap(), log);
    }

    /// A state file of the first format (term, vote and log in one file) loads, and the next
    /// save moves it to the state file and log file of this one.
    #[test]
    fn a_state_file_of_the_first_format_loads_and_moves_on() {
        let path = temp_dir("v1").join("state");
        let hard_state = HardState { term: Term(3), voted_for: Some(NodeId(2)) };
        let entries = vec![
            Entry { index: 1, term: Term(1), payload: Payload::Noop },
            Entry { index: 2, term: Term(3), payload: Payload::Data(vec![7, 8, 9]) },
        ];
        // The first format's bytes, as its pinned test had them.
        let body = [3, 1, 2, 2, 1, 1, 0, 2, 3, 1, 3, 7, 8, 9];
        let mut v1 = b"BALLOTS1".to_vec();
        v1.extend_from_slice(&(body.len() as u32).to_le_bytes());
        v1.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        v1.extend_from_slice(&body);
        std::fs::write(&path, v1).unwrap();
        let mut s = FileStorage::new(StdFileSystem, &path);
        let loaded = s.load().unwrap();
        assert_eq!((loaded.hard_state, &loaded.entries), (hard_state, &entries));
        let next = Entry { index: 3, term: Term(3), payload: Payload::Noop };
        s.save(None, Some(&LogWrite { first_index: 3, entries: vec![next.clone()] }))
            .now()
            .unwrap();
        assert_eq!(&std::fs::read(&path).unwrap()[..8], b"BALLOTS2");
        let loaded = FileStorage::new(StdFileSystem, &path).load().unwrap();
        assert_eq!(loaded.hard_state, hard_state);
        assert_eq!(loaded.entries, [entries, vec![next]].concat());
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
                    proptest::prop_assert_eq!(s.load().unwrap(), expected.clone());
                }
            }
            proptest::prop_assert_eq!(FileStorage::new(StdFileSystem, &path).load().unwrap(), expected);
        }
    }

    /// An append that a crash tore (a partial or mismatched last record) was never
    /// acknowledged: it is dropped, and the next save rewrites the log without it.
    #[test]
    fn a_torn_last_append_is_dropped() {
        let path = temp_dir("torn-append").join("state");
        let log_path = with_suffix(&path, ".log");
        let mut s = FileStorage::new(StdFileSystem, &path);
        let hs = HardState { term: Term(2), voted_for: None };
        s.save(Some(hs), Some(&LogWrite { first_index: 1, entries: vec![entry(1, 1)] }))
            .now()
            .unwrap();
        let one = std::fs::read(&log_path).unwrap();
        s.save(None, Some(&LogWrite { first_index: 2, entries: vec![entry(2, 2)] })).now().unwrap();
        let two = std::fs::read(&log_path).unwrap();
        let mut flipped = two.clone();
        *flipped.last_mut().unwrap() ^= 0xff;
        for torn in [two[..two.len() - 1].to_vec(), two[..one.len() + 3].to_vec(), flipped] {
            std::fs::write(&log_path, &torn).unwrap();
            let mut s = FileStorage::new(StdFileSystem, &path);
            assert_eq!(s.load().unwrap().entries, vec![entry(1, 1)]);
            s.save(None, Some(&LogWrite { first_index: 2, entries: vec![entry(2, 3)] }))
                .now()
                .unwrap();
            let loaded = FileStorage::new(StdFileSystem, &path).load().unwrap();
            assert_eq!(
                loaded.entries,
                vec![entry(1, 1), entry(2, 3)],
                "rewritten without the torn record"
            );
        }
    }

    /// A log file without a state file is a new node's first save that did not finish:
    /// nothing in it was acknowledged, so the node starts new.
    #[test]
    fn a_log_file_without_its_state_file_is_a_first_save_not_finished() {
        let path = temp_dir("first-save").join("state");
        let mut s = FileStorage::new(StdFileSystem, &path);
        let hs = HardState { term: Term(2), voted_for: Some(NodeId(1)) };
        s.save(Some(hs), Some(&LogWrite { first_index: 1, entries: vec![entry(1, 2)] }))
            .now()
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        let mut s = FileStorage::new(StdFileSystem, &path);
        assert_eq!(s.load().unwrap(), PersistedState::default());
        s.save(Some(hs), None).now().unwrap();
        assert_eq!(FileStorage::new(StdFileSystem, &path).load().unwrap().entries, vec![]);
    }

    #[test]
    fn torn_or_corrupt_files_are_refused_not_read_as_empty() {
        let dir = temp_dir("corrupt");
        let path = dir.join("state");
        let log_path = with_suffix(&path, ".log");
        let mut s = FileStorage::new(StdFileSystem, &path);
        let hs = HardState { term: Term(5), voted_for: Some(NodeId(1)) };
        let write = LogWrite { first_index: 1, entries: vec![entry(1, 1), entry(2, 5)] };
        s.save(Some(hs), Some(&write)).now().unwrap();
        let good = std::fs::read(&path).unwrap();
        let good_log = std::fs::read(&log_path).unwrap();
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 0xff;
        let mut bad_magic = good.clone();
        bad_magic[0] = b'X';
        let state_cases: Vec<(Vec<u8>, &str)> = vec![
            (good[..good.len() - 1].to_vec(), "torn"),
            (good[..10].to_vec(), "shorter than the header"),
            (flipped, "checksum"),
            (bad_magic, "bad magic"),
            (Vec::new(), "shorter than the header"),
        ];
        for (bytes, reason) in state_cases {
            std::fs::write(&path, &bytes).unwrap();
            let err = FileStorage::new(StdFileSystem, &path).load().unwrap_err();
            assert!(matches!(err, StorageError::Corrupt { .. }), "{err}");
            assert!(err.to_string().contains(reason), "{err} should say {reason}");
        }
        std::fs::write(&path, &good).unwrap();
        let first_record = LOG_MAGIC.len() + RECORD_HEADER_LEN;
        let mut early_flip = good_log.clone();
        early_flip[first_record] ^= 0xff;
        let mut swapped = good_log[..LOG_MAGIC.len()].to_vec();
        swapped.extend_from_slice(&EncodedLog::new(&[entry(2, 5), entry(1, 1)]).records);
        let log_cases: Vec<(Option<Vec<u8>>, &str)> = vec![
            (None, "log file"),
            (Some(b"BALLOTXX".to_vec()), "bad magic"),
            (Some(early_flip), "checksum mismatch in the record at byte 8"),
            (Some(swapped), "entry 2 where entry 1 belongs"),
        ];
        for (bytes, reason) in log_cases {
            match bytes {
                Some(bytes) => std::fs::write(&log_path, &bytes).unwrap(),
                None => std::fs::remove_file(&log_path).unwrap(),
            }
            let err = FileStorage::new(StdFileSystem, &path).load().unwrap_err();
            assert!(matches!(err, StorageError::Corrupt { .. }), "{err}");
            assert!(err.to_string().contains(reason), "{err} should say {reason}");
        }
    }

    #[test]
    fn io_errors_are_reported_with_the_path() {
        let path = temp_dir("io").join("missing-dir").join("state");
        let mut s = FileStorage::new(StdFileSystem, &path);
        let err = s.save(Some(HardState::default()), None).now().unwrap_err();
        assert!(matches!(err, StorageError::Io { .. }));
        assert!(err.to_string().contains("missing-dir"), "{err}");
    }
}
