//! A UDP proxy between real node processes on loopback: the network of the processes world.
//! Each node reaches every other at that node's proxy socket, and the proxy does to each
//! datagram what the links say: drop it (a cut link, loss), hold it until the link is
//! released, delay it by the latency, deliver it twice. A datagram from node `i` to node `j`
//! arrives at `j`'s proxy socket from `i`'s real address and leaves from `i`'s proxy socket,
//! so `j` sees it come from the address it knows `i` by.
//!
//! Every datagram's fate goes to the proxy's log (JSON lines), so that a run on processes can
//! be looked at again: not deterministic, but recorded.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::io::{self, BufWriter, Write};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Largest datagram forwarded, bytes (a ballot datagram is at most 60 KiB).
const MAX_DATAGRAM: usize = 64 * 1024;

/// What the links do now: the network part of the fault conditions.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Links {
    /// Directed links (from, to) whose datagrams are dropped.
    pub blocked: BTreeSet<(usize, usize)>,
    /// Directed links whose datagrams wait in the proxy until released.
    pub held: BTreeSet<(usize, usize)>,
    /// Share of datagrams lost, 0..1.
    pub loss: f64,
    /// Share of datagrams delivered twice, 0..1.
    pub duplicate: f64,
    /// One-way latency `[min, max]`, milliseconds.
    pub latency_ms: [u64; 2],
}

/// One line of the proxy's log: what became of a datagram.
#[derive(Serialize)]
struct Record {
    /// When, milliseconds since the proxy started.
    t_ms: f64,
    from: usize,
    to: usize,
    bytes: usize,
    /// `delayed`, `held`, `released`, `duplicated`, `dropped`.
    fate: &'static str,
    /// Why a datagram was dropped: `cut`, `loss`, `cut in flight`, `unknown address`.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    /// How long it waits before it leaves, milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    delay_ms: Option<f64>,
}

/// A datagram on its way: due at `at`, in order of arrival among those due together.
struct InFlight {
    at: Instant,
    seq: u64,
    from: usize,
    to: usize,
    bytes: Vec<u8>,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for InFlight {
    /// Reversed: the earliest is the greatest, for a max-heap.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// What the proxy's threads share under one lock.
struct State {
    /// Each node's real address (a restarted node may have a new one).
    real: Vec<Option<SocketAddr>>,
    links: Links,
    held: BTreeMap<(usize, usize), VecDeque<Vec<u8>>>,
    in_flight: BinaryHeap<InFlight>,
    seq: u64,
    rng: StdRng,
    log: Option<BufWriter<std::fs::File>>,
}

impl State {
    /// Puts a datagram on its way, due at `at` (after any due at the same instant).
    fn send_at(&mut self, at: Instant, from: usize, to: usize, bytes: Vec<u8>) {
        self.seq += 1;
        self.in_flight.push(InFlight { at, seq: self.seq, from, to, bytes });
    }
}

struct Shared {
    sockets: Vec<UdpSocket>,
    state: Mutex<State>,
    due: Condvar,
    stop: AtomicBool,
    origin: Instant,
    datagrams: AtomicU64,
}

impl Shared {
    fn log(&self, state: &mut State, record: Record) {
        if let Some(log) = &mut state.log {
            let _ = serde_json::to_writer(&mut *log, &record);
            let _ = log.write_all(b"\n");
        }
    }

    fn record(&self, from: usize, to: usize, bytes: usize, fate: &'static str) -> Record {
        let t_ms = self.origin.elapsed().as_secs_f64() * 1e3;
        Record { t_ms, from, to, bytes, fate, reason: None, delay_ms: None }
    }

    /// Decides what becomes of a datagram from `from` to `to`.
    fn take(&self, from: usize, to: usize, bytes: Vec<u8>) {
        self.datagrams.fetch_add(1, Ordering::Relaxed);
        let mut state = self.state.lock().expect("proxy lock");
        let len = bytes.len();
        let (loss, duplicate) = (state.links.loss, state.links.duplicate);
        let dropped = if state.links.blocked.contains(&(from, to)) {
            Some("cut")
        } else if loss > 0.0 && state.rng.random_bool(loss.min(1.0)) {
            Some("loss")
        } else {
            None
        };
        if let Some(reason) = dropped {
            let record = Record { reason: Some(reason), ..self.record(from, to, len, "dropped") };
            return self.log(&mut state, record);
        }
        if state.links.held.contains(&(from, to)) {
            state.held.entry((from, to)).or_default().push_back(bytes);
            let record = self.record(from, to, len, "held");
            return self.log(&mut state, record);
        }
        let twice = duplicate > 0.0 && state.rng.random_bool(duplicate.min(1.0));
        if twice {
            self.send_later(&mut state, from, to, bytes.clone(), "duplicated");
        }
        self.send_later(&mut state, from, to, bytes, "delayed");
    }

    /// Queues a datagram to leave after a latency drawn now.
    fn send_later(
        &self,
        state: &mut State,
        from: usize,
        to: usize,
        bytes: Vec<u8>,
        fate: &'static str,
    ) {
        let delay_ms = super::draw_latency_ms(&mut state.rng, state.links.latency_ms);
        let record =
            Record { delay_ms: Some(delay_ms), ..self.record(from, to, bytes.len(), fate) };
        self.log(state, record);
        state.send_at(Instant::now() + Duration::from_secs_f64(delay_ms / 1e3), from, to, bytes);
        self.due.notify_one();
    }

    /// Sends each datagram when it is due, from its sender's proxy socket; one cut while it
    /// was on its way is dropped.
    fn deliver(&self) {
        let mut state = self.state.lock().expect("proxy lock");
        while !self.stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            let wait = match state.in_flight.peek() {
                Some(next) if next.at <= now => {
                    let d = state.in_flight.pop().expect("peeked");
                    let cut = state.links.blocked.contains(&(d.from, d.to));
                    match (cut, state.real[d.to]) {
                        (false, Some(addr)) => {
                            let _ = self.sockets[d.from].send_to(&d.bytes, addr);
                        }
                        (true, _) => {
                            let record = Record {
                                reason: Some("cut in flight"),
                                ..self.record(d.from, d.to, d.bytes.len(), "dropped")
                            };
                            self.log(&mut state, record);
                        }
                        (false, None) => {}
                    }
                    continue;
                }
                Some(next) => next.at - now,
                None => Duration::from_millis(50),
            };
            state = self.due.wait_timeout(state, wait).expect("proxy lock").0;
        }
    }
}

/// The proxy: one socket per node, a thread per socket, and one that delivers.
pub struct Proxy {
    /// Where each node is reached through the proxy, by index.
    pub addrs: Vec<SocketAddr>,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Proxy {
    /// A proxy for `nodes` nodes on 127.0.0.1, healthy links with no latency, drawing loss,
    /// latency and duplication from `seed`, logging each datagram's fate to `log` if given.
    /// Nodes are reachable once [`Proxy::set_address`] says where they listen.
    pub fn start(nodes: usize, seed: u64, log: Option<&std::path::Path>) -> io::Result<Proxy> {
        let sockets: Vec<UdpSocket> =
            (0..nodes).map(|_| UdpSocket::bind("127.0.0.1:0")).collect::<io::Result<_>>()?;
        let addrs = sockets.iter().map(UdpSocket::local_addr).collect::<io::Result<Vec<_>>>()?;
        for socket in &sockets {
            socket.set_read_timeout(Some(Duration::from_millis(20)))?;
        }
        let log = log.map(std::fs::File::create).transpose()?.map(BufWriter::new);
        let state = State {
            real: vec![None; nodes],
            links: Links::default(),
            held: BTreeMap::new(),
            in_flight: BinaryHeap::new(),
            seq: 0,
            rng: StdRng::seed_from_u64(seed),
            log,
        };
        let shared = Arc::new(Shared {
            sockets,
            state: Mutex::new(state),
            due: Condvar::new(),
            stop: AtomicBool::new(false),
            origin: Instant::now(),
            datagrams: AtomicU64::new(0),
        });
        let mut threads = Vec::new();
        for to in 0..nodes {
            let shared = shared.clone();
            threads.push(std::thread::spawn(move || {
                let mut buf = vec![0; MAX_DATAGRAM];
                while !shared.stop.load(Ordering::Relaxed) {
                    let Ok((len, source)) = shared.sockets[to].recv_from(&mut buf) else {
                        continue;
                    };
                    let from = {
                        let state = shared.state.lock().expect("proxy lock");
                        state.real.iter().position(|a| *a == Some(source))
                    };
                    if let Some(from) = from {
                        shared.take(from, to, buf[..len].to_vec());
                    }
                }
            }));
        }
        let deliverer = shared.clone();
        threads.push(std::thread::spawn(move || deliverer.deliver()));
        Ok(Proxy { addrs, shared, threads })
    }

    /// Node `n` listens at `addr` (again, after a restart on another port).
    pub fn set_address(&self, n: usize, addr: SocketAddr) {
        self.shared.state.lock().expect("proxy lock").real[n] = Some(addr);
    }

    /// The links from now on; datagrams held on a link no longer held leave at once, oldest
    /// first.
    pub fn set_links(&self, links: Links) {
        let mut state = self.shared.state.lock().expect("proxy lock");
        let released: Vec<(usize, usize)> =
            state.held.keys().copied().filter(|l| !links.held.contains(l)).collect();
        state.links = links;
        for (from, to) in released {
            for bytes in state.held.remove(&(from, to)).unwrap_or_default() {
                let record = self.shared.record(from, to, bytes.len(), "released");
                self.shared.log(&mut state, record);
                state.send_at(Instant::now(), from, to, bytes);
            }
        }
        self.shared.due.notify_one();
    }

    /// Cuts node `n` off from every other node, both ways.
    pub fn isolate(&self, n: usize) {
        let mut links = self.shared.state.lock().expect("proxy lock").links.clone();
        for m in (0..self.addrs.len()).filter(|&m| m != n) {
            links.blocked.extend([(n, m), (m, n)]);
        }
        self.set_links(links);
    }

    /// Every link works again.
    pub fn heal(&self) {
        self.set_links(Links::default());
    }

    /// Datagrams the nodes sent through the proxy so far.
    pub fn datagrams(&self) -> u64 {
        self.shared.datagrams.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.due.notify_all();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        if let Some(log) = &mut self.shared.state.lock().expect("proxy lock").log {
            let _ = log.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: usize) -> (Vec<UdpSocket>, Proxy, std::path::PathBuf) {
        let sockets: Vec<UdpSocket> =
            (0..n).map(|_| UdpSocket::bind("127.0.0.1:0").unwrap()).collect();
        for s in &sockets {
            s.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        }
        let log = std::env::temp_dir().join(format!(
            "ballot-proxy-{}-{:?}.jsonl",
            std::process::id(),
            std::thread::current().id()
        ));
        let proxy = Proxy::start(n, 1, Some(&log)).unwrap();
        for (i, s) in sockets.iter().enumerate() {
            proxy.set_address(i, s.local_addr().unwrap());
        }
        (sockets, proxy, log)
    }

    fn receive(socket: &UdpSocket) -> Option<(Vec<u8>, SocketAddr)> {
        let mut buf = [0; 64];
        socket.recv_from(&mut buf).ok().map(|(len, from)| (buf[..len].to_vec(), from))
    }

    /// A datagram from node 0 reaches node 1 from node 0's proxy address, and an isolated
    /// node's do not, until the links heal.
    #[test]
    fn forwards_as_the_sender_and_drops_across_a_cut() {
        let (nodes, proxy, log) = nodes(2);
        nodes[0].send_to(b"hello", proxy.addrs[1]).unwrap();
        assert_eq!(receive(&nodes[1]), Some((b"hello".to_vec(), proxy.addrs[0])));
        proxy.isolate(0);
        nodes[0].send_to(b"lost", proxy.addrs[1]).unwrap();
        assert_eq!(receive(&nodes[1]), None, "a cut link drops");
        proxy.heal();
        nodes[1].send_to(b"back", proxy.addrs[0]).unwrap();
        assert_eq!(receive(&nodes[0]), Some((b"back".to_vec(), proxy.addrs[1])));
        assert_eq!(proxy.datagrams(), 3);
        drop(proxy);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains(r#""fate":"dropped","reason":"cut""#), "{text}");
        let _ = std::fs::remove_file(log);
    }

    /// A held link keeps its datagrams until released, then delivers them oldest first; a
    /// duplicating link delivers each twice; latency delays; loss of (nearly) all drops.
    #[test]
    fn holds_releases_in_order_duplicates_delays_and_loses() {
        let (nodes, proxy, log) = nodes(2);
        let held = Links { held: [(0, 1)].into(), ..Links::default() };
        proxy.set_links(held);
        for m in [b"one", b"two"] {
            nodes[0].send_to(m, proxy.addrs[1]).unwrap();
        }
        std::thread::sleep(Duration::from_millis(50));
        nodes[1].set_nonblocking(true).unwrap();
        assert_eq!(receive(&nodes[1]), None, "held, not delivered");
        nodes[1].set_nonblocking(false).unwrap();
        proxy.set_links(Links::default());
        assert_eq!(receive(&nodes[1]).unwrap().0, b"one");
        assert_eq!(receive(&nodes[1]).unwrap().0, b"two");

        proxy.set_links(Links { duplicate: 0.999_999, ..Links::default() });
        nodes[0].send_to(b"twice", proxy.addrs[1]).unwrap();
        assert_eq!(receive(&nodes[1]).unwrap().0, b"twice");
        assert_eq!(receive(&nodes[1]).unwrap().0, b"twice");

        proxy.set_links(Links { latency_ms: [80, 80], ..Links::default() });
        let sent = Instant::now();
        nodes[0].send_to(b"late", proxy.addrs[1]).unwrap();
        assert_eq!(receive(&nodes[1]).unwrap().0, b"late");
        assert!(sent.elapsed() >= Duration::from_millis(80), "{:?}", sent.elapsed());

        proxy.set_links(Links { loss: 0.999_999, ..Links::default() });
        nodes[0].send_to(b"lost", proxy.addrs[1]).unwrap();
        assert_eq!(receive(&nodes[1]), None);
        drop(proxy);
        let text = std::fs::read_to_string(&log).unwrap();
        for fate in ["held", "released", "duplicated", "delayed", r#""reason":"loss""#] {
            assert!(text.contains(fate), "{fate} not in the log:\n{text}");
        }
        let _ = std::fs::remove_file(log);
    }
}
