//! `ballot bench sim`: simulated seconds per wall-clock second for stable clusters, next to a
//! bare turmoil program of the same shape (the floor turmoil itself sets).

use crate::cores::CoreName;
use crate::world::ClusterBuilder;
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, UNIX_EPOCH};

/// One cluster size's speeds.
#[derive(Clone, Debug, Serialize)]
pub struct SimRow {
    /// Cluster size.
    pub nodes: usize,
    /// The election core the nodes ran.
    pub core: CoreName,
    /// Simulated seconds per wall-clock second, the cluster's nodes.
    pub sim_s_per_wall_s: f64,
    /// The same for the bare turmoil program.
    pub floor_sim_s_per_wall_s: f64,
    /// Ours over the floor.
    pub ratio: f64,
}

/// Simulated seconds per wall second of a stable cluster of `nodes` running `core`.
pub fn cluster_speed(core: CoreName, nodes: usize, sim_s: u64) -> f64 {
    let mut c = ClusterBuilder::new(nodes).election_core(core).seed(1).build();
    c.run_for(1_000); // elect a leader first
    let start = Instant::now();
    c.run_for(sim_s * 1_000);
    sim_s as f64 / start.elapsed().as_secs_f64()
}

const FLOOR_PORT: u16 = 9000;
/// About the size of ballot's heartbeat datagram, bytes.
const HEARTBEAT_BYTES: usize = 48;

/// Simulated seconds per wall second of a bare turmoil program of the same shape: node 0
/// sends a heartbeat datagram to every other node every 50 ms, each answers it, nothing else.
pub fn floor_speed(nodes: usize, sim_s: u64) -> f64 {
    let mut sim = turmoil::Builder::new()
        .rng_seed(1)
        .epoch(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        .simulation_duration(Duration::from_secs(u64::MAX / 4))
        .tick_duration(Duration::from_millis(1))
        .min_message_latency(Duration::from_millis(1))
        .max_message_latency(Duration::from_millis(10))
        .build();
    let names: Vec<String> = (0..nodes).map(|i| format!("f{i}")).collect();
    let addrs: Vec<SocketAddr> =
        names.iter().map(|n| SocketAddr::new(sim.lookup(n.as_str()), FLOOR_PORT)).collect();
    for (i, name) in names.iter().enumerate() {
        let peers = addrs.clone();
        sim.host(name.as_str(), move || {
            let peers = peers.clone();
            async move {
                let bind = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), FLOOR_PORT);
                let socket = turmoil::net::UdpSocket::bind(bind).await?;
                let mut buf = [0u8; 256];
                if i == 0 {
                    let beat = [7u8; HEARTBEAT_BYTES];
                    let mut ticker = tokio::time::interval(Duration::from_millis(50));
                    loop {
                        tokio::select! {
                            biased;
                            _ = ticker.tick() => {
                                for peer in &peers[1..] {
                                    socket.send_to(&beat, peer).await?;
                                }
                            }
                            r = socket.recv_from(&mut buf) => { r?; }
                        }
                    }
                } else {
                    loop {
                        let (len, from) = socket.recv_from(&mut buf).await?;
                        socket.send_to(&buf[..len.min(24)], from).await?;
                    }
                }
            }
        });
    }
    let mut step_for = |ms: u64| {
        let until = sim.elapsed() + Duration::from_millis(ms);
        while sim.elapsed() < until {
            sim.step().expect("floor hosts never fail");
        }
    };
    step_for(1_000);
    let start = Instant::now();
    step_for(sim_s * 1_000);
    sim_s as f64 / start.elapsed().as_secs_f64()
}

/// Both speeds for 3, 5 and 7 nodes running `core`.
pub fn rows(core: CoreName, sim_s: u64) -> Vec<SimRow> {
    [3, 5, 7]
        .into_iter()
        .map(|nodes| {
            let ours = cluster_speed(core, nodes, sim_s);
            let floor = floor_speed(nodes, sim_s);
            SimRow {
                core,
                nodes,
                sim_s_per_wall_s: ours.round(),
                floor_sim_s_per_wall_s: floor.round(),
                ratio: (ours / floor * 100.0).round() / 100.0,
            }
        })
        .collect()
}
