//! Durable storage of term, vote and log: one checksummed state file, replaced atomically.
//!
//! ```text
//! 0          8              12             16
//! | "BALLOTS1" | length (LE u32) | crc32 (LE u32) | postcard-encoded state ...
//! ```
//!
//! Every save writes the whole state to a temporary file, syncs it, renames it over the state
//! file and syncs the directory, so a crash leaves either the old state or the new one. A
//! file that is torn or corrupt anyway (a bad disk, a copy gone wrong) is refused at start-up
//! with [`StorageError::Corrupt`], never read as empty: a node that forgets its vote can
//! help elect two leaders in one term. The whole file is rewritten each time, which suits the
//! small logs of an election service; it is not a storage engine. The log is kept encoded
//! between saves, so a save encodes and checksums only the entries it adds: the rest of its
//! cost is copying the file's bytes once and the disk's.

use ballot_core::{Entry, HardState, LogWrite, PersistedState};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use thiserror::Error;

const MAGIC: &[u8; 8] = b"BALLOTS1";
const HEADER_LEN: usize = 16;

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
    /// Makes the file's contents durable (fsync).
    fn sync_file(&self, path: &Path) -> impl Future<Output = io::Result<()>> + Send;
    /// Renames `from` to `to`, replacing `to`; not durable until the directory is synced.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes the directory's entries (a rename into it) durable.
    fn sync_dir(&self, dir: &Path) -> impl Future<Output = io::Result<()>> + Send;
}

/// Replaces the file at `path` with `bytes` atomically and durably: write a temporary file,
/// sync it, rename it over `path`, sync the directory. A crash at any point leaves the old
/// contents or the new ones, never a mix.
pub async fn write_atomic<F: FileSystem>(fs: &F, path: &Path, bytes: Vec<u8>) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
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

/// The state file's body, as it is decoded.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct StoredState {
    hard_state: HardState,
    entries: Vec<Entry>,
}

/// The log as the state file holds it: each entry's encoding, back to back, with where each
/// one ends and the running checksum, so that an append encodes and checksums only the new
/// entries. The bytes are exactly postcard's encoding of the entries, behind their count.
#[derive(Clone, Debug, Default)]
struct EncodedLog {
    bytes: Vec<u8>,
    /// Where each entry's encoding ends in `bytes`.
    ends: Vec<usize>,
    /// The CRC-32 of `bytes`, so far.
    crc: crc32fast::Hasher,
}

impl EncodedLog {
    fn new(entries: &[Entry]) -> EncodedLog {
        let mut log = EncodedLog::default();
        log.extend(entries);
        log
    }

    /// Keeps the first `len` entries (a rare rewrite of a conflicting suffix: re-checksums
    /// what stays).
    fn truncate(&mut self, len: usize) {
        if len >= self.ends.len() {
            return;
        }
        self.ends.truncate(len);
        self.bytes.truncate(self.ends.last().copied().unwrap_or(0));
        self.crc = crc32fast::Hasher::new();
        self.crc.update(&self.bytes);
    }

    fn extend(&mut self, entries: &[Entry]) {
        let start = self.bytes.len();
        for entry in entries {
            self.bytes = postcard::to_extend(entry, std::mem::take(&mut self.bytes))
                .expect("entries serialize");
            self.ends.push(self.bytes.len());
        }
        self.crc.update(&self.bytes[start..]);
    }
}

/// [`Storage`] in one state file on a [`FileSystem`].
#[derive(Debug)]
pub struct FileStorage<F> {
    fs: F,
    path: PathBuf,
    hard_state: HardState,
    log: EncodedLog,
}

impl<F: FileSystem> FileStorage<F> {
    /// Storage in the file at `path` (created on the first save).
    pub fn new(fs: F, path: impl Into<PathBuf>) -> Self {
        FileStorage {
            fs,
            path: path.into(),
            hard_state: HardState::default(),
            log: EncodedLog::default(),
        }
    }

    fn io(&self, source: io::Error) -> StorageError {
        StorageError::Io { path: self.path.clone(), source }
    }

    fn corrupt(&self, reason: impl Into<String>) -> StorageError {
        StorageError::Corrupt { path: self.path.clone(), reason: reason.into() }
    }
}

impl<F: FileSystem> Storage for FileStorage<F> {
    fn load(&mut self) -> Result<PersistedState, StorageError> {
        let Some(bytes) = self.fs.read(&self.path).map_err(|e| self.io(e))? else {
            (self.hard_state, self.log) = Default::default();
            return Ok(PersistedState::default());
        };
        let state = decode_state(&bytes).map_err(|reason| self.corrupt(reason))?;
        self.hard_state = state.hard_state;
        self.log = EncodedLog::new(&state.entries);
        Ok(PersistedState { hard_state: state.hard_state, entries: state.entries })
    }

    async fn save(
        &mut self,
        hard_state: Option<HardState>,
        log: Option<&LogWrite>,
    ) -> Result<(), StorageError> {
        if let Some(hs) = hard_state {
            self.hard_state = hs;
        }
        if let Some(write) = log {
            self.log.truncate((write.first_index.max(1) - 1) as usize);
            self.log.extend(&write.entries);
        }
        let bytes = encode_state(&self.hard_state, &self.log);
        write_atomic(&self.fs, &self.path, bytes).await.map_err(|e| self.io(e))
    }
}

/// The state file's bytes: the header, then the body (the hard state, the entries' count,
/// their encodings), whose checksum extends the log's own.
fn encode_state(hard_state: &HardState, log: &EncodedLog) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + 32 + log.bytes.len());
    out.extend_from_slice(MAGIC);
    out.resize(HEADER_LEN, 0);
    let mut out =
        postcard::to_extend(&(hard_state, log.ends.len()), out).expect("state serializes");
    let mut crc = crc32fast::Hasher::new();
    crc.update(&out[HEADER_LEN..]);
    crc.combine(&log.crc);
    out.extend_from_slice(&log.bytes);
    let body_len = (out.len() - HEADER_LEN) as u32;
    out[8..12].copy_from_slice(&body_len.to_le_bytes());
    out[12..16].copy_from_slice(&crc.finalize().to_le_bytes());
    out
}

fn decode_state(bytes: &[u8]) -> Result<StoredState, String> {
    if bytes.len() < HEADER_LEN {
        return Err(format!("{} bytes, shorter than the header", bytes.len()));
    }
    if &bytes[..8] != MAGIC {
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
    postcard::from_bytes(body).map_err(|e| format!("undecodable: {e}"))
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

    /// The state file's bytes, pinned: a payload is one run of bytes, encoded as postcard
    /// encodes a `Vec<u8>` (so files written before it was marked as bytes still load).
    #[test]
    fn the_state_file_format_is_pinned() {
        let hard_state = HardState { term: Term(3), voted_for: Some(NodeId(2)) };
        let entries = vec![
            Entry { index: 1, term: Term(1), payload: Payload::Noop },
            Entry { index: 2, term: Term(3), payload: Payload::Data(vec![7, 8, 9]) },
        ];
        let bytes = encode_state(&hard_state, &EncodedLog::new(&entries));
        let body = [3, 1, 2, 2, 1, 1, 0, 2, 3, 1, 3, 7, 8, 9];
        assert_eq!(&bytes[..8], MAGIC);
        assert_eq!(&bytes[8..12], &(body.len() as u32).to_le_bytes());
        assert_eq!(&bytes[12..16], &crc32fast::hash(&body).to_le_bytes());
        assert_eq!(&bytes[HEADER_LEN..], &body);
        let decoded = decode_state(&bytes).unwrap();
        assert_eq!((decoded.hard_state, decoded.entries), (hard_state, entries));
    }

    /// The file as one encoding of the whole state would write it.
    fn encoded_whole(state: &StoredState) -> Vec<u8> {
        let body = postcard::to_allocvec(state).unwrap();
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }

    proptest::proptest! {
        /// Saves that append and truncate entries of real sizes (up to 4 KB) write, each time,
        /// exactly the file that encoding the whole state would: the kept encoding and its
        /// running checksum never drift from the log.
        #[test]
        fn incremental_saves_write_the_whole_state_file(
            saves in proptest::collection::vec(
                (proptest::option::of(0u64..50), 0usize..12, proptest::collection::vec(0usize..4096, 0..4)),
                1..25,
            ),
        ) {
            let path = temp_dir("incremental").join("state");
            let mut s = FileStorage::new(StdFileSystem, &path);
            let mut expected = StoredState::default();
            for (term, back, sizes) in saves {
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
                proptest::prop_assert_eq!(std::fs::read(&path).unwrap(), encoded_whole(&expected));
            }
            let loaded = FileStorage::new(StdFileSystem, &path).load().unwrap();
            proptest::prop_assert_eq!(loaded.entries, expected.entries);
        }
    }

    #[test]
    fn torn_or_corrupt_files_are_refused_not_read_as_empty() {
        let dir = temp_dir("corrupt");
        let path = dir.join("state");
        let mut s = FileStorage::new(StdFileSystem, &path);
        s.save(Some(HardState { term: Term(5), voted_for: Some(NodeId(1)) }), None).now().unwrap();
        let good = std::fs::read(&path).unwrap();
        let mut flipped = good.clone();
        *flipped.last_mut().unwrap() ^= 0xff;
        let mut bad_magic = good.clone();
        bad_magic[0] = b'X';
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (good[..good.len() - 1].to_vec(), "torn"),
            (good[..10].to_vec(), "shorter than the header"),
            (flipped, "checksum"),
            (bad_magic, "bad magic"),
            (Vec::new(), "shorter than the header"),
        ];
        for (bytes, reason) in cases {
            std::fs::write(&path, &bytes).unwrap();
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
