//! A UDP proxy between real node processes on loopback: each node reaches every other at
//! that node's proxy socket, and the proxy forwards what the links let through (cut links
//! drop). A datagram from node `i` to node `j` arrives at `j`'s proxy socket from `i`'s real
//! address and leaves from `i`'s proxy socket, so `j` sees it come from the address it knows
//! `i` by.

use std::collections::BTreeSet;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Largest datagram forwarded, bytes (a ballot datagram is at most 60 KiB).
const MAX_DATAGRAM: usize = 64 * 1024;

/// The proxy: one socket per node, a thread per socket.
pub struct Proxy {
    /// Where each node is reached through the proxy, by index.
    pub addrs: Vec<SocketAddr>,
    /// Directed links (from, to) whose datagrams are dropped.
    blocked: Arc<Mutex<BTreeSet<(usize, usize)>>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Proxy {
    /// A proxy for nodes listening at `real` (by index), on 127.0.0.1.
    pub fn start(real: Vec<SocketAddr>) -> io::Result<Proxy> {
        let sockets: Vec<UdpSocket> =
            (0..real.len()).map(|_| UdpSocket::bind("127.0.0.1:0")).collect::<io::Result<_>>()?;
        let addrs = sockets.iter().map(UdpSocket::local_addr).collect::<io::Result<Vec<_>>>()?;
        for socket in &sockets {
            socket.set_read_timeout(Some(Duration::from_millis(20)))?;
        }
        let sockets = Arc::new(sockets);
        let real = Arc::new(real);
        let blocked = Arc::new(Mutex::new(BTreeSet::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for to in 0..real.len() {
            let (sockets, real, blocked, stop) =
                (sockets.clone(), real.clone(), blocked.clone(), stop.clone());
            threads.push(std::thread::spawn(move || {
                let mut buf = vec![0; MAX_DATAGRAM];
                while !stop.load(Ordering::Relaxed) {
                    let Ok((len, source)) = sockets[to].recv_from(&mut buf) else { continue };
                    let Some(from) = real.iter().position(|a| *a == source) else { continue };
                    if blocked.lock().expect("links lock").contains(&(from, to)) {
                        continue;
                    }
                    let _ = sockets[from].send_to(&buf[..len], real[to]);
                }
            }));
        }
        Ok(Proxy { addrs, blocked, stop, threads })
    }

    /// Cuts node `n` off from every other node, both ways.
    pub fn isolate(&self, n: usize) {
        let mut blocked = self.blocked.lock().expect("links lock");
        for m in (0..self.addrs.len()).filter(|&m| m != n) {
            blocked.extend([(n, m), (m, n)]);
        }
    }

    /// Every link works again.
    pub fn heal(&self) {
        self.blocked.lock().expect("links lock").clear();
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A datagram from node 0 reaches node 1 from node 0's proxy address, and an isolated
    /// node's do not, until the links heal.
    #[test]
    fn forwards_as_the_sender_and_drops_across_a_cut() {
        let nodes: Vec<UdpSocket> =
            (0..2).map(|_| UdpSocket::bind("127.0.0.1:0").unwrap()).collect();
        for n in &nodes {
            n.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
        }
        let proxy = Proxy::start(nodes.iter().map(|n| n.local_addr().unwrap()).collect()).unwrap();
        let mut buf = [0; 16];
        nodes[0].send_to(b"hello", proxy.addrs[1]).unwrap();
        let (len, from) = nodes[1].recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..len], from), (&b"hello"[..], proxy.addrs[0]));
        proxy.isolate(0);
        nodes[0].send_to(b"lost", proxy.addrs[1]).unwrap();
        assert!(nodes[1].recv_from(&mut buf).is_err(), "a cut link drops");
        proxy.heal();
        nodes[1].send_to(b"back", proxy.addrs[0]).unwrap();
        let (len, from) = nodes[0].recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..len], from), (&b"back"[..], proxy.addrs[1]));
    }
}
