//! The event world's disk: files in memory, with what was synced kept apart from what was
//! only written, so that a crash loses what a real one would (file contents not synced, names
//! whose directory was not synced). Every operation completes at once and adds the time it
//! takes, drawn from the node's seeded disk RNG, to a bill that the node pays by waiting.
//! The production write path ([`ballot_node::write_atomic`] in [`ballot_node::FileStorage`])
//! runs on it unchanged: drop its `sync_file` and a crash loses the vote.

use crate::schedule::DiskSpec;
use ballot_node::FileSystem;
use rand::rngs::StdRng;
use rand::Rng;
use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A file's contents: the first `len` bytes of a buffer that contents share. Bytes below any
/// contents' `len` never change (an append extends the buffer only when it ends where these
/// contents end, else copies), so a sync, or a snapshot of what is durable, copies no bytes,
/// and neither does an append to a synced file.
#[derive(Clone, Debug, Default)]
struct Contents {
    buffer: Arc<Mutex<Vec<u8>>>,
    len: usize,
}

impl Contents {
    fn new(bytes: Vec<u8>) -> Contents {
        Contents { len: bytes.len(), buffer: Arc::new(Mutex::new(bytes)) }
    }

    fn to_vec(&self) -> Vec<u8> {
        self.buffer.lock().expect("buffer lock")[..self.len].to_vec()
    }

    fn append(&mut self, bytes: &[u8]) {
        let mut buffer = self.buffer.lock().expect("buffer lock");
        if buffer.len() == self.len {
            buffer.extend_from_slice(bytes);
            self.len = buffer.len();
        } else {
            let mut copy = buffer[..self.len].to_vec();
            copy.extend_from_slice(bytes);
            drop(buffer);
            *self = Contents::new(copy);
        }
    }
}

/// One file's contents: as written, and as last synced.
#[derive(Clone, Debug, Default)]
struct Inode {
    data: Contents,
    synced: Contents,
}

/// What survives a crash: the synced names and contents.
#[derive(Clone, Debug, Default)]
pub(crate) struct Durable {
    names: BTreeMap<PathBuf, u64>,
    contents: BTreeMap<u64, Contents>,
}

#[derive(Debug)]
struct DiskState {
    inodes: BTreeMap<u64, Inode>,
    names: BTreeMap<PathBuf, u64>,
    durable_names: BTreeMap<PathBuf, u64>,
    next_inode: u64,
    spec: DiskSpec,
    rng: StdRng,
    bill_ms: u64,
}

/// A node's in-memory disk (cloning shares it).
#[derive(Clone, Debug)]
pub(crate) struct EventFs(Arc<Mutex<DiskState>>);

impl EventFs {
    /// An empty disk whose operations take the times `spec` gives, drawn from `rng`.
    pub(crate) fn new(spec: DiskSpec, rng: StdRng) -> EventFs {
        EventFs(Arc::new(Mutex::new(DiskState {
            inodes: BTreeMap::new(),
            names: BTreeMap::new(),
            durable_names: BTreeMap::new(),
            next_inode: 0,
            spec,
            rng,
            bill_ms: 0,
        })))
    }

    /// Operations from now on take the times `spec` gives.
    pub(crate) fn set_spec(&self, spec: DiskSpec) {
        self.state().spec = spec;
    }

    fn state(&self) -> std::sync::MutexGuard<'_, DiskState> {
        self.0.lock().expect("disk lock")
    }

    /// The time the operations since the last call took, milliseconds.
    pub(crate) fn take_bill_ms(&self) -> u64 {
        std::mem::take(&mut self.state().bill_ms)
    }

    /// What would survive a crash now.
    pub(crate) fn durable(&self) -> Durable {
        let s = self.state();
        let contents = s.inodes.iter().map(|(&i, inode)| (i, inode.synced.clone())).collect();
        Durable { names: s.durable_names.clone(), contents }
    }

    /// A crash: only what `durable` kept remains (pass [`EventFs::durable`] taken before a
    /// write whose syncs had not finished when the node crashed).
    pub(crate) fn crash(&self, durable: Durable) {
        let mut s = self.state();
        s.names = durable.names.clone();
        s.durable_names = durable.names;
        s.inodes = durable
            .contents
            .into_iter()
            .filter(|(i, _)| s.names.values().any(|n| n == i))
            .map(|(i, data)| (i, Inode { data: data.clone(), synced: data }))
            .collect();
        s.bill_ms = 0;
    }
}

impl DiskState {
    fn take(&mut self, [min, max]: [u64; 2]) {
        if max > 0 {
            let ms = self.rng.random_range(min..=max);
            self.bill_ms += ms;
        }
    }

    /// Drops the files no name (written or durable) refers to any more: what a rename
    /// replaced, once its directory is synced.
    fn forget_unnamed(&mut self) {
        let DiskState { inodes, names, durable_names, .. } = self;
        inodes.retain(|i, _| names.values().chain(durable_names.values()).any(|n| n == i));
    }

    fn inode(&self, path: &Path) -> io::Result<u64> {
        self.names.get(path).copied().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{} not found", path.display()))
        })
    }
}

impl FileSystem for EventFs {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        let s = self.state();
        Ok(s.names.get(path).map(|i| s.inodes[i].data.to_vec()))
    }

    async fn append(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut s = self.state();
        let i = s.inode(path)?;
        s.inodes.get_mut(&i).expect("named inodes exist").data.append(bytes);
        let range = s.spec.write_ms;
        s.take(range);
        Ok(())
    }

    async fn write(&self, path: &Path, bytes: Vec<u8>) -> io::Result<()> {
        let mut s = self.state();
        let inode = match s.names.get(path) {
            Some(&i) => i,
            None => {
                let i = s.next_inode;
                s.next_inode += 1;
                s.names.insert(path.to_path_buf(), i);
                i
            }
        };
        s.inodes.entry(inode).or_default().data = Contents::new(bytes);
        let range = s.spec.write_ms;
        s.take(range);
        Ok(())
    }

    async fn overwrite(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut s = self.state();
        let i = s.inode(path)?;
        let inode = s.inodes.get_mut(&i).expect("named inodes exist");
        let mut data = inode.data.to_vec();
        if data.len() < bytes.len() {
            data.resize(bytes.len(), 0);
        }
        data[..bytes.len()].copy_from_slice(bytes);
        inode.data = Contents::new(data); // in place, but the bytes below other contents' ends never change
        let range = s.spec.write_ms;
        s.take(range);
        Ok(())
    }

    async fn sync_file(&self, path: &Path) -> io::Result<()> {
        let mut s = self.state();
        let i = s.inode(path)?;
        let inode = s.inodes.get_mut(&i).expect("named inodes exist");
        inode.synced = inode.data.clone();
        let range = s.spec.sync_ms;
        s.take(range);
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.state();
        let i = s.inode(from)?;
        s.names.remove(from);
        s.names.insert(to.to_path_buf(), i);
        s.forget_unnamed();
        Ok(())
    }

    async fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.state();
        let in_dir = |p: &Path| p.parent() == Some(dir);
        s.durable_names.retain(|p, _| !in_dir(p));
        let entries: Vec<_> =
            s.names.iter().filter(|(p, _)| in_dir(p)).map(|(p, &i)| (p.clone(), i)).collect();
        s.durable_names.extend(entries);
        s.forget_unnamed();
        let range = s.spec.sync_ms;
        s.take(range);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballot_node::{complete_now, write_atomic};
    use rand::SeedableRng;

    fn disk() -> EventFs {
        let spec = DiskSpec { write_ms: [1, 1], sync_ms: [5, 5] };
        EventFs::new(spec, StdRng::seed_from_u64(1))
    }

    fn save(fs: &EventFs, value: &str) {
        complete_now(write_atomic(fs, Path::new("/b/state"), value.as_bytes().to_vec()))
            .expect("never waits")
            .unwrap();
    }

    fn read(fs: &EventFs) -> Option<String> {
        fs.read(Path::new("/b/state")).unwrap().map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn a_completed_atomic_write_survives_a_crash_and_bills_its_time() {
        let fs = disk();
        save(&fs, "old");
        assert_eq!(fs.take_bill_ms(), 1 + 5 + 5, "write, sync the file, sync the directory");
        fs.crash(fs.durable());
        assert_eq!(read(&fs).as_deref(), Some("old"));
    }

    #[test]
    fn a_crash_before_the_syncs_finished_keeps_the_previous_save() {
        let fs = disk();
        save(&fs, "old");
        let before = fs.durable();
        save(&fs, "new");
        assert_eq!(read(&fs).as_deref(), Some("new"), "visible before the crash");
        fs.crash(before);
        assert_eq!(read(&fs).as_deref(), Some("old"));
    }

    /// An append is durable once synced; one not synced is lost in a crash, and what is
    /// appended after the crash follows what survived, not what was lost.
    #[test]
    fn appends_not_synced_are_lost_and_later_ones_follow_what_survived() {
        let fs = disk();
        let path = Path::new("/b/state");
        let append = |bytes: &[u8]| complete_now(fs.append(path, bytes)).unwrap().unwrap();
        save(&fs, "a");
        append(b"b");
        complete_now(fs.sync_file(path)).unwrap().unwrap();
        let before = fs.durable();
        append(b"c");
        assert_eq!(read(&fs).as_deref(), Some("abc"));
        fs.crash(before.clone());
        assert_eq!(read(&fs).as_deref(), Some("ab"), "the unsynced append is gone");
        append(b"d");
        assert_eq!(read(&fs).as_deref(), Some("abd"));
        fs.crash(before);
        assert_eq!(read(&fs).as_deref(), Some("ab"), "a snapshot taken before is unchanged");
    }

    /// What the disk is for: a write path that skips a sync loses the write in a crash.
    #[test]
    fn writes_and_renames_not_synced_are_lost() {
        let fs = disk();
        complete_now(fs.write(Path::new("/b/state"), b"unsynced".to_vec())).unwrap().unwrap();
        fs.crash(fs.durable());
        assert_eq!(read(&fs), None, "the name was never synced into its directory");

        save(&fs, "old");
        complete_now(fs.write(Path::new("/b/state.tmp"), b"new".to_vec())).unwrap().unwrap();
        fs.rename(Path::new("/b/state.tmp"), Path::new("/b/state")).unwrap();
        complete_now(fs.sync_dir(Path::new("/b"))).unwrap().unwrap();
        fs.crash(fs.durable());
        assert_eq!(read(&fs).as_deref(), Some(""), "renamed but its contents never synced");
    }
}
