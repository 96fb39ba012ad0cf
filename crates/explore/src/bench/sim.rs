//! `ballot bench sim`: simulated seconds per wall-clock second for stable clusters, next to a
//! bare turmoil program of the same shape (the floor turmoil itself sets), and, for the event
//! world, next to the same cluster in turmoil.

use ballot_worlds::cores::CoreName;
use ballot_worlds::world::{AnyWorld, World, WorldName, WorldSpec};
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
    /// The world the cluster ran in.
    pub world: WorldName,
    /// Simulated seconds per wall-clock second, the cluster's nodes.
    pub sim_s_per_wall_s: f64,
    /// The same for the bare turmoil program.
    pub floor_sim_s_per_wall_s: f64,
    /// Ours over the floor.
    pub ratio: f64,
    /// The event world: the same cluster's speed in turmoil.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub turmoil_sim_s_per_wall_s: Option<f64>,
    /// The event world: its speed over turmoil's for the same cluster (medians of `PAIRS`
    /// pairs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub over_turmoil: Option<f64>,
}

/// Simulated seconds per wall second of a stable cluster of `nodes` running `core` in
/// `world` (its defaults: 150-300 ms timeouts, 50 ms heartbeats, seed 1), over at least `sim_s`
/// simulated seconds and `MIN_WALL`; `None` if this build cannot run the core there.
pub fn cluster_speed(core: CoreName, nodes: usize, sim_s: u64, world: WorldName) -> Option<f64> {
    let spec = WorldSpec {
        nodes,
        core,
        config: Default::default(),
        network: Default::default(),
        disk: Default::default(),
        seed: 1,
    };
    let mut c = AnyWorld::build(world, spec)?;
    c.run_for(1_000); // elect a leader first
    Some(speed(sim_s, |ms| c.run_for(ms)))
}

/// The shortest wall-clock window a speed is measured over: a fast world's `sim_s` can pass in
/// a few milliseconds, where the machine's noise is most of the figure.
const MIN_WALL: Duration = Duration::from_millis(500);

/// Simulated seconds per wall second of `run_ms`, run `sim_s` simulated seconds at a time until
/// at least `MIN_WALL` has passed, after a fifth of that unmeasured (the first run of a
/// process measured a third slower at times: caches and the processor's clock warming up).
fn speed(sim_s: u64, mut run_ms: impl FnMut(u64)) -> f64 {
    let warm = Instant::now();
    while warm.elapsed() < MIN_WALL / 5 {
        run_ms(sim_s * 1_000);
    }
    let start = Instant::now();
    let mut simulated = 0;
    while simulated == 0 || start.elapsed() < MIN_WALL {
        run_ms(sim_s * 1_000);
        simulated += sim_s;
    }
    simulated as f64 / start.elapsed().as_secs_f64()
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
    speed(sim_s, step_for)
}

/// Pairs of measurements an event-world row takes the median of: the machine's noise moves
/// one measurement by a third at times, the median of pairs taken back to back far less.
const PAIRS: usize = 3;

/// The medians of `PAIRS` speeds of the cluster in `world` and in turmoil, each pair taken
/// back to back.
fn paired_speeds(core: CoreName, nodes: usize, sim_s: u64, world: WorldName) -> Option<(f64, f64)> {
    let mut pairs = Vec::with_capacity(PAIRS);
    for _ in 0..PAIRS {
        let ours = cluster_speed(core, nodes, sim_s, world)?;
        pairs.push((ours, cluster_speed(core, nodes, sim_s, WorldName::Turmoil)?));
    }
    let median = |f: fn(&(f64, f64)) -> f64| {
        let mut v: Vec<f64> = pairs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Some((median(|p| p.0), median(|p| p.1)))
}

/// The speeds for 3, 5 and 7 nodes running `core` in `world`. The event world measures the
/// same cluster in turmoil too, `PAIRS` times each back to back, and reports the medians.
pub fn rows(core: CoreName, sim_s: u64, world: WorldName) -> Option<Vec<SimRow>> {
    let ratio = |a: f64, b: f64| (a / b * 100.0).round() / 100.0;
    [3, 5, 7]
        .into_iter()
        .map(|nodes| {
            let (ours, turmoil) = match world {
                WorldName::Turmoil => (cluster_speed(core, nodes, sim_s, world)?, None),
                _ => {
                    let (ours, turmoil) = paired_speeds(core, nodes, sim_s, world)?;
                    (ours, Some(turmoil))
                }
            };
            let floor = floor_speed(nodes, sim_s);
            Some(SimRow {
                core,
                world,
                nodes,
                sim_s_per_wall_s: ours.round(),
                floor_sim_s_per_wall_s: floor.round(),
                ratio: ratio(ours, floor),
                turmoil_sim_s_per_wall_s: turmoil.map(f64::round),
                over_turmoil: turmoil.map(|t| ratio(ours, t)),
            })
        })
        .collect()
}
