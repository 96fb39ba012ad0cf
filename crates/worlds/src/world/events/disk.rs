//! The event world's disk: files in memory, with what was synced kept apart from what was
//! only written, so that a crash loses what a real one would (file contents not synced, names
//! whose directory was not synced). Every operation completes at once and adds the time it
//! takes, drawn from the node's seeded disk RNG, to a bill that the node pays by waiting.
//! The production write path ([`ballot_node::write_atomic`] in [`ballot_node::FileStorage`])
//! runs on it unchanged: drop its `sync_file` and a crash loses the vote.
//!
//! A save's operations complete at once, but each takes its time: the disk keeps a journal of
//! how it stood after each one, so that a node stopped in the middle of a save stops between
//! two of its operations, with the one in flight perhaps torn (`disk.torn_writes`). A crash
//! then keeps only what was durable; a power loss keeps any part of what was not.

use ballot_node::FileSystem;
use ballot_schedule::DiskSpec;
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

/// The disk as it stood after an operation: its files as written, and what was durable.
#[derive(Clone, Debug, Default)]
pub(crate) struct Image {
    inodes: BTreeMap<u64, Inode>,
    names: BTreeMap<PathBuf, u64>,
    durable_names: BTreeMap<PathBuf, u64>,
}

/// How the disk stood before a save and after each of its operations, with when (ms into
/// the save) each operation completed.
pub(crate) type Journal = Vec<(u64, Image)>;

/// How a node stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Everything not durable is lost.
    Crash,
    /// Anything not durable may be lost or kept, each write, rename and new file on its own.
    PowerLoss,
}

#[derive(Debug)]
struct DiskState {
    image: Image,
    next_inode: u64,
    spec: DiskSpec,
    rng: StdRng,
    bill_ms: u64,
    /// The save in progress, when its operations take time.
    journal: Journal,
}

/// A node's in-memory disk (cloning shares it).
#[derive(Clone, Debug)]
pub(crate) struct EventFs(Arc<Mutex<DiskState>>);

/// The size of a sector, bytes: a write tears only at a multiple of it.
const SECTOR: usize = 512;

impl EventFs {
    /// An empty disk whose operations take the times `spec` gives, drawn from `rng`.
    pub(crate) fn new(spec: DiskSpec, rng: StdRng) -> EventFs {
        EventFs(Arc::new(Mutex::new(DiskState {
            image: Image::default(),
            next_inode: 0,
            spec,
            rng,
            bill_ms: 0,
            journal: Vec::new(),
        })))
    }

    /// Operations from now on take the times `spec` gives (torn writes as before).
    pub(crate) fn set_spec(&self, spec: DiskSpec) {
        let mut s = self.state();
        s.spec = DiskSpec { torn_writes: s.spec.torn_writes, ..spec };
    }

    fn state(&self) -> std::sync::MutexGuard<'_, DiskState> {
        self.0.lock().expect("disk lock")
    }

    /// Begins a save: its operations are journalled (when they take time) until
    /// [`EventFs::take_bill`].
    pub(crate) fn begin(&self) {
        let mut s = self.state();
        s.journal.clear();
        s.bill_ms = 0;
        if s.spec.write_ms[1] > 0 || s.spec.sync_ms[1] > 0 {
            let start = (0, s.image.clone());
            s.journal.push(start);
        }
    }

    /// The time the operations since [`EventFs::begin`] took, milliseconds, and their journal.
    pub(crate) fn take_bill(&self) -> (u64, Journal) {
        let mut s = self.state();
        (std::mem::take(&mut s.bill_ms), std::mem::take(&mut s.journal))
    }

    /// The node stops `how`: while nothing was in flight, or `elapsed_ms` into a save whose
    /// operations `journal` records (between two of them, the one in flight perhaps torn).
    pub(crate) fn stop(&self, how: Stop, in_save: Option<(u64, Journal)>) {
        let mut s = self.state();
        let (at, in_flight) = match in_save {
            Some((elapsed, journal)) if !journal.is_empty() => {
                let done = journal.iter().rposition(|(end, _)| *end <= elapsed).unwrap_or(0);
                let next = journal.get(done + 1).map(|(_, image)| image.clone());
                (journal[done].1.clone(), next)
            }
            _ => (s.image.clone(), None),
        };
        let torn = s.spec.torn_writes;
        let rng = &mut s.rng;
        let mut kept = Image::default();
        // Names: what was durable, or after a power loss any one of the two.
        let paths: std::collections::BTreeSet<&PathBuf> =
            at.names.keys().chain(at.durable_names.keys()).collect();
        for path in paths {
            let (written, durable) = (at.names.get(path), at.durable_names.get(path));
            let name = match how {
                Stop::PowerLoss if written != durable && rng.random_bool(0.5) => written,
                _ => durable,
            };
            if let Some(&i) = name {
                kept.names.insert(path.clone(), i);
            }
        }
        // Contents: what was synced, or after a power loss perhaps what was written; the
        // write in flight perhaps in part.
        for &i in kept.names.values() {
            let Some(inode) = at.inodes.get(&i) else { continue };
            let written = inode.data.to_vec() != inode.synced.to_vec();
            let mut data = match how {
                Stop::PowerLoss if written && rng.random_bool(0.5) => inode.data.clone(),
                _ => inode.synced.clone(),
            };
            let flying = in_flight.as_ref().and_then(|next| next.inodes.get(&i));
            if let Some(next) = flying.filter(|_| torn > 0.0 && rng.random_bool(torn)) {
                data = Contents::new(tear(&data.to_vec(), &next.data.to_vec(), rng));
            }
            kept.inodes.insert(i, Inode { data: data.clone(), synced: data });
        }
        kept.durable_names = kept.names.clone();
        s.image = kept;
        s.bill_ms = 0;
        s.journal.clear();
    }

    /// Damages the (stopped) node's files at rest: one bit flipped, or one file cut at a
    /// byte inside it, in a file drawn from the disk's generator.
    pub(crate) fn damage(&self, what: ballot_schedule::faults::Damage) {
        let mut s = self.state();
        let files =
            s.image.names.values().filter_map(|i| Some((*i, s.image.inodes.get(i)?.data.to_vec())));
        let files = files.collect();
        let Some((i, bytes)) = what.apply_to_one(files, &mut s.rng) else { return };
        let data = Contents::new(bytes);
        s.image.inodes.insert(i, Inode { data: data.clone(), synced: data });
    }
}

/// What a write in flight leaves when the power goes: `before` with the write's bytes up to
/// a sector boundary drawn at random past the first byte it changed, and zeros for the rest
/// of what it added (the file's new length reached the disk before its data). A write inside
/// one sector is all or nothing.
fn tear(before: &[u8], after: &[u8], rng: &mut StdRng) -> Vec<u8> {
    let first =
        before.iter().zip(after).position(|(a, b)| a != b).unwrap_or(before.len().min(after.len()));
    let boundaries: Vec<usize> =
        (first / SECTOR + 1..).map(|k| k * SECTOR).take_while(|&b| b < after.len()).collect();
    if boundaries.is_empty() {
        return if rng.random_bool(0.5) { after.to_vec() } else { before.to_vec() };
    }
    let cut = boundaries[rng.random_range(0..boundaries.len())];
    let mut kept = after[..cut].to_vec();
    if after.len() > before.len() {
        kept.resize(after.len(), 0);
    } else {
        kept.extend_from_slice(&before[cut.min(before.len())..]);
    }
    kept
}

impl DiskState {
    /// An operation took a time drawn from `range`; the journal, if kept, records how the
    /// disk stands after it.
    fn took(&mut self, [min, max]: [u64; 2]) {
        if max > 0 {
            let ms = self.rng.random_range(min..=max);
            self.bill_ms += ms;
        }
        if !self.journal.is_empty() {
            let after = (self.bill_ms, self.image.clone());
            self.journal.push(after);
        }
    }

    /// Drops the files no name (written or durable) refers to any more: what a rename
    /// replaced, once its directory is synced.
    fn forget_unnamed(&mut self) {
        let Image { inodes, names, durable_names } = &mut self.image;
        inodes.retain(|i, _| names.values().chain(durable_names.values()).any(|n| n == i));
    }

    fn inode(&self, path: &Path) -> io::Result<u64> {
        self.image.names.get(path).copied().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{} not found", path.display()))
        })
    }

    fn inode_mut(&mut self, path: &Path) -> io::Result<&mut Inode> {
        let i = self.inode(path)?;
        Ok(self.image.inodes.get_mut(&i).expect("named inodes exist"))
    }
}

impl FileSystem for EventFs {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        let s = self.state();
        Ok(s.image.names.get(path).map(|i| s.image.inodes[i].data.to_vec()))
    }

    async fn append(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut s = self.state();
        s.inode_mut(path)?.data.append(bytes);
        let range = s.spec.write_ms;
        s.took(range);
        Ok(())
    }

    async fn write(&self, path: &Path, bytes: Vec<u8>) -> io::Result<()> {
        let mut s = self.state();
        let inode = match s.image.names.get(path) {
            Some(&i) => i,
            None => {
                let i = s.next_inode;
                s.next_inode += 1;
                s.image.names.insert(path.to_path_buf(), i);
                i
            }
        };
        s.image.inodes.entry(inode).or_default().data = Contents::new(bytes);
        let range = s.spec.write_ms;
        s.took(range);
        Ok(())
    }

    async fn overwrite(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut s = self.state();
        let inode = s.inode_mut(path)?;
        let mut data = inode.data.to_vec();
        if data.len() < bytes.len() {
            data.resize(bytes.len(), 0);
        }
        data[..bytes.len()].copy_from_slice(bytes);
        // New contents: the bytes below other contents' ends never change.
        inode.data = Contents::new(data);
        let range = s.spec.write_ms;
        s.took(range);
        Ok(())
    }

    async fn sync_file(&self, path: &Path) -> io::Result<()> {
        let mut s = self.state();
        let inode = s.inode_mut(path)?;
        inode.synced = inode.data.clone();
        let range = s.spec.sync_ms;
        s.took(range);
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.state();
        let i = s.inode(from)?;
        s.image.names.remove(from);
        s.image.names.insert(to.to_path_buf(), i);
        s.forget_unnamed();
        s.took([0, 0]);
        Ok(())
    }

    async fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.state();
        let in_dir = |p: &Path| p.parent() == Some(dir);
        s.image.durable_names.retain(|p, _| !in_dir(p));
        let entries: Vec<_> =
            s.image.names.iter().filter(|(p, _)| in_dir(p)).map(|(p, &i)| (p.clone(), i)).collect();
        s.image.durable_names.extend(entries);
        s.forget_unnamed();
        let range = s.spec.sync_ms;
        s.took(range);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ballot_node::{complete_now, write_atomic};
    use rand::SeedableRng;

    fn disk_with(torn_writes: f64, seed: u64) -> EventFs {
        let spec = DiskSpec { write_ms: [1, 1], sync_ms: [5, 5], torn_writes };
        EventFs::new(spec, StdRng::seed_from_u64(seed))
    }

    fn disk() -> EventFs {
        disk_with(0.0, 1)
    }

    fn now<T>(operation: impl std::future::Future<Output = T>) -> T {
        complete_now(operation).expect("never waits")
    }

    fn save(fs: &EventFs, value: &str) {
        now(write_atomic(fs, Path::new("/b/state"), value.as_bytes().to_vec())).unwrap();
    }

    fn read(fs: &EventFs) -> Option<String> {
        fs.read(Path::new("/b/state")).unwrap().map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn a_completed_atomic_write_survives_a_crash_and_bills_its_time() {
        let fs = disk();
        fs.begin();
        save(&fs, "old");
        assert_eq!(fs.take_bill().0, 1 + 5 + 5, "write, sync the file, sync the directory");
        fs.stop(Stop::Crash, None);
        assert_eq!(read(&fs).as_deref(), Some("old"));
    }

    /// A crash stops a save between two of its operations: before the directory's sync the
    /// rename is not durable (the old contents come back), after it the new ones stay.
    #[test]
    fn a_crash_inside_a_save_stops_between_its_operations() {
        for (elapsed, expected) in [(0, "old"), (6, "old"), (10, "old"), (11, "new")] {
            let fs = disk();
            save(&fs, "old");
            fs.begin();
            save(&fs, "new");
            let (bill, journal) = fs.take_bill();
            assert_eq!((bill, journal.len()), (11, 5), "the start and four operations");
            assert_eq!(read(&fs).as_deref(), Some("new"), "visible before the crash");
            fs.stop(Stop::Crash, Some((elapsed, journal)));
            assert_eq!(read(&fs).as_deref(), Some(expected), "{elapsed} ms into the save");
        }
    }

    /// An append is durable once synced; one not synced is lost in a crash, and what is
    /// appended after the crash follows what survived, not what was lost.
    #[test]
    fn appends_not_synced_are_lost_and_later_ones_follow_what_survived() {
        let fs = disk();
        let path = Path::new("/b/state");
        let append = |bytes: &[u8]| now(fs.append(path, bytes)).unwrap();
        save(&fs, "a");
        append(b"b");
        now(fs.sync_file(path)).unwrap();
        fs.begin();
        append(b"c");
        assert_eq!(read(&fs).as_deref(), Some("abc"));
        fs.stop(Stop::Crash, Some((0, fs.take_bill().1)));
        assert_eq!(read(&fs).as_deref(), Some("ab"), "the unsynced append is gone");
        append(b"d");
        assert_eq!(read(&fs).as_deref(), Some("abd"));
    }

    /// What the disk is for: a write path that skips a sync loses the write in a crash.
    #[test]
    fn writes_and_renames_not_synced_are_lost() {
        let fs = disk();
        now(fs.write(Path::new("/b/state"), b"unsynced".to_vec())).unwrap();
        fs.stop(Stop::Crash, None);
        assert_eq!(read(&fs), None, "the name was never synced into its directory");

        save(&fs, "old");
        now(fs.write(Path::new("/b/state.tmp"), b"new".to_vec())).unwrap();
        fs.rename(Path::new("/b/state.tmp"), Path::new("/b/state")).unwrap();
        now(fs.sync_dir(Path::new("/b"))).unwrap();
        fs.stop(Stop::Crash, None);
        assert_eq!(read(&fs).as_deref(), Some(""), "renamed but its contents never synced");
    }

    /// A power loss keeps any part of what was not synced: over many disks, a write not
    /// synced is sometimes kept and sometimes lost, and so is a rename whose directory was
    /// not synced; a crash never keeps either.
    #[test]
    fn a_power_loss_keeps_any_part_of_what_was_not_synced() {
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..64 {
            for how in [Stop::Crash, Stop::PowerLoss] {
                let fs = disk_with(0.0, seed);
                save(&fs, "old");
                let path = Path::new("/b/state");
                now(fs.overwrite(path, b"OLD")).unwrap();
                now(fs.write(Path::new("/b/other.tmp"), b"new".to_vec())).unwrap();
                now(fs.sync_file(Path::new("/b/other.tmp"))).unwrap();
                fs.rename(Path::new("/b/other.tmp"), Path::new("/b/other")).unwrap();
                fs.stop(how, None);
                let other = fs.read(Path::new("/b/other")).unwrap();
                seen.insert((how == Stop::PowerLoss, read(&fs).unwrap(), other.is_some()));
            }
        }
        let crash: Vec<_> = seen.iter().filter(|s| !s.0).collect();
        assert_eq!(crash, [&(false, "old".to_string(), false)], "a crash keeps nothing unsynced");
        for state in ["old", "OLD"] {
            for other in [false, true] {
                assert!(
                    seen.contains(&(true, state.to_string(), other)),
                    "{state} {other}: {seen:?}"
                );
            }
        }
    }

    /// With torn writes, a crash in the middle of an append keeps it up to a sector
    /// boundary, zeros after; a write inside one sector is all or nothing.
    #[test]
    fn a_torn_append_keeps_whole_sectors_and_zeros() {
        let path = Path::new("/b/log");
        let (mut cuts, mut small) =
            (std::collections::BTreeSet::new(), std::collections::BTreeSet::new());
        for seed in 0..64 {
            let fs = disk_with(1.0, seed);
            now(write_atomic(&fs, path, vec![1; 100])).unwrap();
            fs.begin();
            now(fs.append(path, &[2; 2000])).unwrap();
            now(fs.sync_file(path)).unwrap();
            fs.stop(Stop::Crash, Some((0, fs.take_bill().1)));
            let after = fs.read(path).unwrap().unwrap();
            assert_eq!(after.len(), 2100, "the length reached the disk");
            let cut = after.iter().rposition(|&b| b == 2).map_or(100, |p| p + 1);
            assert!(cut % SECTOR == 0 && after[..100] == [1; 100]);
            assert!(after[cut..].iter().all(|&b| b == 0), "zeros after the cut");
            cuts.insert(cut);

            let fs = disk_with(1.0, seed);
            now(write_atomic(&fs, path, vec![1; 64])).unwrap();
            fs.begin();
            now(fs.overwrite(path, &[2; 64])).unwrap();
            fs.stop(Stop::Crash, Some((0, fs.take_bill().1)));
            small.insert(fs.read(path).unwrap().unwrap());
        }
        assert_eq!(cuts.into_iter().collect::<Vec<_>>(), [512, 1024, 1536, 2048]);
        assert_eq!(small, [vec![1; 64], vec![2; 64]].into_iter().collect(), "all or nothing");
    }

    #[test]
    fn damage_flips_one_bit_or_cuts_a_file() {
        let path = Path::new("/b/state");
        for seed in 0..16 {
            let fs = disk_with(0.0, seed);
            save(&fs, "some state");
            fs.damage(ballot_schedule::faults::Damage::Bitflip);
            let flipped = fs.read(path).unwrap().unwrap();
            let bits: u32 =
                flipped.iter().zip(b"some state").map(|(a, b)| (a ^ b).count_ones()).sum();
            assert_eq!(bits, 1);
            fs.damage(ballot_schedule::faults::Damage::Truncate);
            assert!(fs.read(path).unwrap().unwrap().len() < 10);
            fs.stop(Stop::Crash, None);
            assert!(fs.read(path).unwrap().unwrap().len() < 10, "the damage is durable");
        }
    }
}
