//! The node's I/O in the simulator: turmoil's UDP and disk, and a local clock that can drift
//! and freeze. Every node runs the production driver on top of these.

use super::local_clock::{LocalClock, NodeTime};
use ballot_core::Millis;
use ballot_node::{Clock, FileSystem, Sleep, Transport};
use ballot_schedule::DiskSpec;
use rand::rngs::StdRng;
use rand::Rng;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::{watch, Notify};
use turmoil::fs::shim::std::fs as simfs;

/// Simulated time since the start of the run, milliseconds (inside a host).
pub(crate) fn sim_now_ms() -> f64 {
    turmoil::sim_elapsed().unwrap_or_default().as_secs_f64() * 1e3
}

/// The knobs the harness turns on one node from outside the simulation: its clock rate, its
/// pause switch, and the seeded RNG that decides which of its datagrams the network loses.
#[derive(Debug)]
pub(crate) struct NodeControl {
    clock: Mutex<LocalClock>,
    paused: watch::Sender<bool>,
    loss_rng: Mutex<StdRng>,
    /// The node's disk latencies, and the RNG that draws each one.
    disk: Mutex<DiskSpec>,
    disk_rng: Mutex<StdRng>,
    /// Wakes the node's delivery of released messages.
    pub(crate) released: Notify,
    /// The host's file system, taken when the node first started: the harness reaches it
    /// while the node is down, to keep part of what a power loss leaves, or to damage files.
    fs: Mutex<HostFs>,
}

/// A host's file system handle, once its node has started.
#[derive(Default)]
struct HostFs(Option<turmoil::fs::FsHandle>);

impl std::fmt::Debug for HostFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() { "HostFs(taken)" } else { "HostFs(none)" })
    }
}

impl NodeControl {
    pub(crate) fn new(loss_rng: StdRng, disk: DiskSpec, disk_rng: StdRng) -> NodeControl {
        NodeControl {
            clock: Mutex::new(LocalClock::default()),
            paused: watch::channel(false).0,
            loss_rng: Mutex::new(loss_rng),
            disk: Mutex::new(disk),
            disk_rng: Mutex::new(disk_rng),
            released: Notify::new(),
            fs: Mutex::default(),
        }
    }

    /// Keeps a handle on the host's file system (called inside the host, at every start).
    pub(crate) fn take_fs(&self) {
        self.fs.lock().expect("fs lock").0.get_or_insert_with(turmoil::fs::FsHandle::current);
    }

    /// Runs `f` on the node's files in `dir` (those that exist, in name order), from outside
    /// the host; nothing if the node never started.
    fn with_files(&self, dir: &str, f: impl FnOnce(&mut StdRng, Vec<std::path::PathBuf>)) {
        let handle = self.fs.lock().expect("fs lock");
        let Some(handle) = handle.0.as_ref() else { return };
        let _entered = handle.enter();
        let names = ["state", "state.log", "state.tmp", "state.log.tmp"];
        let files = names
            .iter()
            .map(|name| Path::new(dir).join(name))
            .filter(|path| simfs::metadata(path).is_ok())
            .collect();
        f(&mut self.disk_rng.lock().expect("disk rng lock"), files);
    }

    /// Before the host loses power: its disk's cache wrote back any part of what the node had
    /// not synced (each file's writes, and the directory's new names, kept or not on their
    /// own); the crash that follows loses the rest.
    pub(crate) fn write_back_at_random(&self, dir: &str) {
        self.with_files(dir, |rng, files| {
            for path in files {
                if rng.random_bool(0.5) {
                    let _ = simfs::File::open(&path).and_then(|file| file.sync_all());
                }
            }
            if rng.random_bool(0.5) {
                let _ = simfs::sync_dir(dir);
            }
        });
    }

    /// Damages the stopped node's files at rest (see [`ballot_schedule::faults::Corrupt`]): one bit
    /// flipped, or one file cut at a byte inside it, durably.
    pub(crate) fn damage(&self, dir: &str, what: ballot_schedule::faults::Damage) {
        self.with_files(dir, |rng, files| {
            let files =
                files.into_iter().filter_map(|path| simfs::read(&path).ok().map(|b| (path, b)));
            let Some((path, bytes)) = what.apply_to_one(files.collect(), rng) else { return };
            let _ = simfs::write(&path, bytes).and_then(|()| simfs::File::open(&path)?.sync_all());
        });
    }

    /// Makes the node's clock run at `rate` × real time from simulated time `sim_ms` on.
    pub(crate) fn set_clock_rate(&self, sim_ms: f64, rate: f64) {
        self.clock.lock().expect("clock lock").set_rate(sim_ms, rate);
    }

    pub(crate) fn clock_rate(&self) -> f64 {
        self.clock.lock().expect("clock lock").rate()
    }

    /// How long one disk operation of `range` (milliseconds) takes this time.
    fn disk_delay_ms(&self, [min, max]: [u64; 2]) -> u64 {
        if max == 0 {
            return 0;
        }
        self.disk_rng.lock().expect("disk rng lock").random_range(min..=max)
    }

    /// The node's disk latencies from now on.
    pub(crate) fn set_disk(&self, disk: DiskSpec) {
        *self.disk.lock().expect("disk lock") = disk;
    }

    /// The node's disk latencies now.
    fn disk(&self) -> DiskSpec {
        self.disk.lock().expect("disk lock").clone()
    }

    pub(crate) fn set_paused(&self, paused: bool) {
        self.paused.send_replace(paused);
    }

    /// Completes when the node is not paused.
    async fn running(self: &Arc<Self>) {
        let mut rx = self.paused.subscribe();
        let _ = rx.wait_for(|paused| !paused).await;
    }
}

impl NodeTime for NodeControl {
    fn sim_ms(&self) -> f64 {
        sim_now_ms()
    }

    fn local_ms(&self) -> f64 {
        self.clock.lock().expect("clock lock").local_at(sim_now_ms())
    }

    fn sim_ms_at(&self, local: Millis) -> f64 {
        self.clock.lock().expect("clock lock").sim_at(local)
    }
}

/// The node's local clock: drifts at the configured rate and keeps running while the node is
/// paused (a paused process finds, when it wakes, that time went on without it).
pub struct SimClock(pub(crate) Arc<NodeControl>);

impl Clock for SimClock {
    fn now_ms(&self) -> Millis {
        self.0.local_ms().max(0.0) as Millis
    }

    fn sleep_until(&self, deadline: Millis) -> Sleep {
        let control = self.0.clone();
        Box::pin(async move {
            loop {
                control.running().await;
                let remaining = deadline as f64 - control.local_ms();
                if remaining <= 0.0 {
                    return;
                }
                let rate = control.clock_rate().max(1e-3);
                let real = std::time::Duration::from_secs_f64(remaining / rate / 1e3);
                tokio::time::sleep(real.max(std::time::Duration::from_micros(100))).await;
            }
        })
    }
}

/// Datagrams waiting on one link, oldest first.
pub(crate) type Queue = VecDeque<Vec<u8>>;

/// Message loss and duplication shared by every link (probabilities per datagram), and the
/// links whose messages are held.
#[derive(Debug, Default)]
pub(crate) struct NetConditions {
    pub(crate) loss: Mutex<f64>,
    pub(crate) duplicate: Mutex<f64>,
    /// Directed links (from, to) whose messages are held in the network.
    pub(crate) holding: Mutex<BTreeSet<(usize, usize)>>,
    /// What waits on each link, oldest first: held, or released and not yet delivered.
    pub(crate) waiting: Mutex<BTreeMap<(usize, usize), Queue>>,
}

impl NetConditions {
    /// The next datagram that node `from` may deliver now: the oldest one of a link that
    /// is no longer held.
    fn next_released(&self, from: usize) -> Option<(usize, Vec<u8>)> {
        let holding = self.holding.lock().expect("holding lock");
        let mut waiting = self.waiting.lock().expect("waiting lock");
        let (&(_, to), queue) = waiting
            .range_mut((from, 0)..=(from, usize::MAX))
            .find(|(link, q)| !holding.contains(link) && !q.is_empty())?;
        Some((to, queue.pop_front().expect("not empty")))
    }
}

/// turmoil's UDP socket, losing, duplicating and holding datagrams as the network conditions
/// say, and holding incoming ones while the node is paused.
pub struct SimSocket {
    pub(crate) socket: Arc<turmoil::net::UdpSocket>,
    /// This node's index.
    pub(crate) index: usize,
    /// Every node's address, by index.
    pub(crate) peers: Vec<SocketAddr>,
    pub(crate) control: Arc<NodeControl>,
    pub(crate) net: Arc<NetConditions>,
}

impl SimSocket {
    /// Delivers what waits on this node's released links, oldest first, whenever a link is
    /// released (and once at start, for what was released while the node was down).
    pub(crate) async fn deliver_released(
        socket: Arc<turmoil::net::UdpSocket>,
        index: usize,
        peers: Vec<SocketAddr>,
        control: Arc<NodeControl>,
        net: Arc<NetConditions>,
    ) {
        loop {
            while let Some((to, datagram)) = net.next_released(index) {
                let _ = socket.send_to(&datagram, peers[to]).await;
            }
            control.released.notified().await;
        }
    }
}

impl Transport for SimSocket {
    async fn send_to(&self, datagram: &[u8], to: SocketAddr) -> io::Result<()> {
        let loss = *self.net.loss.lock().expect("loss lock");
        let duplicate = *self.net.duplicate.lock().expect("duplicate lock");
        let (lost, twice) = {
            let mut rng = self.control.loss_rng.lock().expect("rng lock");
            (loss > 0.0 && rng.random_bool(loss), duplicate > 0.0 && rng.random_bool(duplicate))
        };
        if lost {
            return Ok(());
        }
        let copies = if twice { 2 } else { 1 };
        // A held link, or one whose released messages are still on their way, keeps its
        // order: the datagram waits behind them.
        if let Some(link) = self.peers.iter().position(|a| *a == to).map(|t| (self.index, t)) {
            let holding = self.net.holding.lock().expect("holding lock").contains(&link);
            let mut waiting = self.net.waiting.lock().expect("waiting lock");
            let queue = waiting.entry(link).or_default();
            if holding || !queue.is_empty() {
                queue.extend(std::iter::repeat_n(datagram.to_vec(), copies));
                if !holding {
                    self.control.released.notify_one();
                }
                return Ok(());
            }
        }
        for _ in 0..copies {
            self.socket.send_to(datagram, to).await?;
        }
        Ok(())
    }

    async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.control.running().await;
        let received = self.socket.recv_from(buf).await?;
        self.control.running().await;
        Ok(received)
    }

    fn try_recv_from(&self, buf: &mut [u8]) -> io::Result<Option<(usize, SocketAddr)>> {
        if *self.control.paused.borrow() {
            return Ok(None);
        }
        ballot_node::nothing_yet(self.socket.try_recv_from(buf))
    }
}

/// turmoil's simulated disk: writes not synced are lost when the node crashes, and every
/// write and sync takes the time the schedule's disk gives it (drawn from the node's own
/// seeded RNG), so a crash can land between a write and its sync.
#[derive(Clone)]
pub struct SimFs(pub(crate) Arc<NodeControl>);

impl SimFs {
    async fn take(&self, range: [u64; 2]) {
        let ms = self.0.disk_delay_ms(range);
        if ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        }
    }
}

impl FileSystem for SimFs {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        match simfs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn write(&self, path: &Path, bytes: Vec<u8>) -> io::Result<()> {
        simfs::write(path, bytes)?;
        self.take(self.0.disk().write_ms).await;
        Ok(())
    }

    async fn append(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        use std::io::Write;
        simfs::OpenOptions::new().append(true).open(path)?.write_all(bytes)?;
        self.take(self.0.disk().write_ms).await;
        Ok(())
    }

    async fn overwrite(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        use std::os::unix::fs::FileExt;
        simfs::OpenOptions::new().write(true).open(path)?.write_all_at(bytes, 0)?;
        self.take(self.0.disk().write_ms).await;
        Ok(())
    }

    async fn sync_file(&self, path: &Path) -> io::Result<()> {
        self.take(self.0.disk().sync_ms).await;
        simfs::File::open(path)?.sync_all()
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        simfs::rename(from, to)
    }

    async fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.take(self.0.disk().sync_ms).await;
        simfs::sync_dir(dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::time::Duration;

    /// What the host saw: the file's contents at each start, and each save that completed.
    type Seen = Arc<Mutex<Vec<String>>>;

    /// A host that saves `old`, then `new`, on a disk whose syncs take 20 ms.
    fn disk_host(sim: &mut turmoil::Sim<'_>, seen: Seen) {
        let disk = DiskSpec { write_ms: [0, 0], sync_ms: [20, 20], torn_writes: 0.0 };
        let control =
            Arc::new(NodeControl::new(StdRng::seed_from_u64(1), disk, StdRng::seed_from_u64(2)));
        sim.host("n", move || {
            let (control, seen) = (control.clone(), seen.clone());
            async move {
                let fs = SimFs(control);
                let path = Path::new("/d/state");
                simfs::create_dir_all("/d")?;
                let found = fs.read(path)?.map(|b| String::from_utf8_lossy(&b).into_owned());
                seen.lock().unwrap().push(format!("start: {found:?}"));
                for value in ["old", "new"] {
                    ballot_node::write_atomic(&fs, path, value.as_bytes().to_vec()).await?;
                    seen.lock().unwrap().push(format!("saved {value}"));
                }
                std::future::pending::<()>().await;
                Ok(())
            }
        });
    }

    /// A save takes simulated time on a slow disk, and a crash inside it loses it: the node
    /// starts again from the save before, whole.
    #[test]
    fn a_crash_inside_a_slow_sync_keeps_the_previous_save() {
        let seen: Seen = Arc::default();
        let mut sim = turmoil::Builder::new().tick_duration(Duration::from_millis(1)).build();
        disk_host(&mut sim, seen.clone());
        let step_until = |sim: &mut turmoil::Sim<'_>, n: usize| {
            while seen.lock().unwrap().len() < n {
                sim.step().unwrap();
            }
        };
        step_until(&mut sim, 2);
        let saved_old = sim.elapsed();
        assert!(saved_old >= Duration::from_millis(40), "two syncs of 20 ms: {saved_old:?}");
        for _ in 0..30 {
            sim.step().unwrap(); // inside the second save's syncs
        }
        assert_eq!(seen.lock().unwrap().len(), 2, "the second save is still syncing");
        sim.crash("n");
        sim.bounce("n");
        step_until(&mut sim, 3);
        assert_eq!(seen.lock().unwrap()[2], "start: Some(\"old\")", "{:?}", seen.lock().unwrap());
    }
}
