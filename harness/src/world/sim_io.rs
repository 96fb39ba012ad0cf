//! The node's I/O in the simulator: turmoil's UDP and disk, and a local clock that can drift
//! and freeze. Every node runs the production driver on top of these.

use ballot_core::Millis;
use ballot_node::{Clock, FileSystem, Sleep, Transport};
use rand::rngs::StdRng;
use rand::Rng;
use std::io::{self, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;
use turmoil::fs::shim::std::fs as simfs;

/// Simulated time since the start of the run, milliseconds (inside a host).
pub(crate) fn sim_now_ms() -> f64 {
    turmoil::sim_elapsed().unwrap_or_default().as_secs_f64() * 1e3
}

/// How one node's clock relates to simulated time: piecewise linear, `rate` × real time.
#[derive(Clone, Copy, Debug)]
struct ClockSegment {
    since_sim_ms: f64,
    local_at_start: f64,
    rate: f64,
}

impl ClockSegment {
    fn local_at(&self, sim_ms: f64) -> f64 {
        self.local_at_start + (sim_ms - self.since_sim_ms) * self.rate
    }

    fn sim_at(&self, local_ms: f64) -> f64 {
        self.since_sim_ms + (local_ms - self.local_at_start) / self.rate
    }
}

/// The knobs the harness turns on one node from outside the simulation: its clock rate, its
/// pause switch, and the seeded RNG that decides which of its datagrams the network loses.
#[derive(Debug)]
pub(crate) struct NodeControl {
    clock: Mutex<ClockSegment>,
    paused: watch::Sender<bool>,
    loss_rng: Mutex<StdRng>,
}

impl NodeControl {
    pub(crate) fn new(loss_rng: StdRng) -> NodeControl {
        let segment = ClockSegment { since_sim_ms: 0.0, local_at_start: 0.0, rate: 1.0 };
        NodeControl {
            clock: Mutex::new(segment),
            paused: watch::channel(false).0,
            loss_rng: Mutex::new(loss_rng),
        }
    }

    /// Makes the node's clock run at `rate` × real time from simulated time `sim_ms` on.
    pub(crate) fn set_clock_rate(&self, sim_ms: f64, rate: f64) {
        let mut seg = self.clock.lock().expect("clock lock");
        let local = seg.local_at(sim_ms);
        *seg = ClockSegment { since_sim_ms: sim_ms, local_at_start: local, rate };
    }

    /// The simulated time at which the node's clock will read `local` ms, at its current rate.
    pub(crate) fn sim_ms_at(&self, local: Millis) -> f64 {
        if local == Millis::MAX {
            return f64::INFINITY;
        }
        self.clock.lock().expect("clock lock").sim_at(local as f64)
    }

    pub(crate) fn clock_rate(&self) -> f64 {
        self.clock.lock().expect("clock lock").rate
    }

    pub(crate) fn set_paused(&self, paused: bool) {
        self.paused.send_replace(paused);
    }

    /// The node's clock now, milliseconds.
    pub(crate) fn local_ms(&self) -> f64 {
        self.clock.lock().expect("clock lock").local_at(sim_now_ms())
    }

    /// Completes when the node is not paused.
    async fn running(self: &Arc<Self>) {
        let mut rx = self.paused.subscribe();
        let _ = rx.wait_for(|paused| !paused).await;
    }
}

/// The node's local clock: drifts at the configured rate and keeps running while the node is
/// paused (a paused process finds, when it wakes, that time went on without it).
pub(crate) struct SimClock(pub(crate) Arc<NodeControl>);

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

/// Message loss and duplication shared by every link, as probabilities per datagram.
#[derive(Debug, Default)]
pub(crate) struct NetConditions {
    pub(crate) loss: Mutex<f64>,
    pub(crate) duplicate: Mutex<f64>,
}

/// turmoil's UDP socket, losing and duplicating datagrams at the configured rates and holding
/// incoming ones while the node is paused.
pub(crate) struct SimSocket {
    pub(crate) socket: turmoil::net::UdpSocket,
    pub(crate) control: Arc<NodeControl>,
    pub(crate) net: Arc<NetConditions>,
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
        if twice {
            self.socket.send_to(datagram, to).await?;
        }
        self.socket.send_to(datagram, to).await.map(|_| ())
    }

    async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.control.running().await;
        let received = self.socket.recv_from(buf).await?;
        self.control.running().await;
        Ok(received)
    }
}

/// turmoil's simulated disk: writes not synced are lost when the node crashes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SimFs;

impl FileSystem for SimFs {
    fn read(&self, path: &Path) -> io::Result<Option<Vec<u8>>> {
        match simfs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        let tmp = path.with_extension("tmp");
        let mut file = simfs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        simfs::rename(&tmp, path)?;
        simfs::sync_dir(path.parent().unwrap_or(Path::new("/")))
    }
}
