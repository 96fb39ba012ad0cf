//! `ballot bench failover`: the experiment of the Raft paper's Figure 16 (extended paper,
//! §9.3). Five nodes, a broadcast time of about 15 ms, the leader crashed at a random point of
//! its heartbeat interval right after a client write (so the followers' logs differ in
//! length); measured: time from the crash until a new leader is elected.

use super::{quantile, round_ms};
use ballot_judge::history::{Setup, Views};
use ballot_schedule::faults::{Crash, Propose, Restart};
use ballot_schedule::NodeRef;
use ballot_schedule::{ClusterSpec, NetworkSpec};
use ballot_worlds::cores::CoreName;
use ballot_worlds::derive_seed;
use ballot_worlds::world::{AnyWorld, World, WorldName, WorldSpec};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use std::fmt::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// One configuration of the experiment.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Row {
    /// The election core the nodes run.
    pub core: CoreName,
    /// Election timeout range, milliseconds.
    pub election_timeout_ms: [u64; 2],
    /// Heartbeat interval, milliseconds.
    pub heartbeat_ms: u64,
    /// Pre-vote on.
    pub pre_vote: bool,
    /// Check-quorum on.
    pub check_quorum: bool,
    /// ballot's split-vote backoff on (other cores have none and ignore it).
    pub split_vote_backoff: bool,
    /// ballot's staggered election timeouts on (other cores have none and ignore it).
    pub staggered_timeouts: bool,
    /// One-way latency range of the simulated network, milliseconds.
    pub latency_ms: [u64; 2],
    /// Servers crashed at once: the leader, and then the lowest-numbered followers.
    pub crashed: usize,
}

impl Row {
    /// The cluster of this row: five nodes, its timeouts and options.
    pub fn cluster(&self) -> ClusterSpec {
        ClusterSpec {
            nodes: 5,
            election_timeout_ms: self.election_timeout_ms,
            heartbeat_ms: self.heartbeat_ms,
            pre_vote: self.pre_vote,
            check_quorum: self.check_quorum,
            adaptive_timeout: false,
            split_vote_backoff: self.split_vote_backoff,
            staggered_timeouts: self.staggered_timeouts,
            core: self.core,
            ..ClusterSpec::default()
        }
    }

    /// The network of this row.
    pub fn network(&self) -> NetworkSpec {
        NetworkSpec { latency_ms: self.latency_ms, loss: 0.0 }
    }

    /// Short label: timeouts, and what sets the row apart.
    pub fn label(&self) -> String {
        let mut label =
            format!("{}–{} ms", self.election_timeout_ms[0], self.election_timeout_ms[1]);
        if self.latency_ms != LATENCY_MS {
            label += &format!(", WAN, {} down", self.crashed);
        } else if self.check_quorum {
            label += if self.pre_vote { ", defaults" } else { ", defaults, no pre-vote" };
        }
        if !self.split_vote_backoff {
            label += ", no backoff";
        }
        if !self.staggered_timeouts {
            label += ", no turns";
        }
        label
    }

    /// Every change of the core that this benchmark measures is on.
    pub fn all_on(&self) -> bool {
        self.split_vote_backoff && self.staggered_timeouts
    }
}

/// The rows of Figure 16 (heartbeat half the minimum timeout, no pre-vote, as in the paper),
/// ballot's defaults with pre-vote on and off, the thesis's WAN rows (§9.4: 30–40 ms latency,
/// 300–600 ms timeouts, one and two servers failed), and then, for ballot's core, the rows
/// compared with the paper again with its staggered timeouts off, its split-vote backoff
/// off, and both off (the core as it was before either).
pub fn rows(core: CoreName) -> Vec<Row> {
    let paper = |min, max| Row {
        core,
        election_timeout_ms: [min, max],
        heartbeat_ms: min / 2,
        pre_vote: false,
        check_quorum: false,
        split_vote_backoff: true,
        staggered_timeouts: true,
        latency_ms: LATENCY_MS,
        crashed: 1,
    };
    let defaults = [true, false].map(|pre_vote| Row {
        heartbeat_ms: 50,
        pre_vote,
        check_quorum: true,
        ..paper(150, 300)
    });
    let wan = [1, 2].map(|crashed| Row { latency_ms: WAN_LATENCY_MS, crashed, ..paper(300, 600) });
    let mut rows: Vec<Row> =
        [(150, 150), (150, 151), (150, 155), (150, 175), (150, 200), (150, 300)]
            .into_iter()
            .chain([(12, 24), (25, 50), (50, 100), (100, 200)])
            .map(|(a, b)| paper(a, b))
            .chain(defaults.clone())
            .chain(wan.clone())
            .collect();
    if core == CoreName::Ballot {
        let compared = [(150, 150), (150, 155), (150, 200), (12, 24)].map(|(a, b)| paper(a, b));
        let compared: Vec<Row> = compared.into_iter().chain(defaults).chain(wan).collect();
        for (backoff, turns) in [(true, false), (false, true), (false, false)] {
            rows.extend(compared.iter().map(|r| Row {
                split_vote_backoff: backoff,
                staggered_timeouts: turns,
                ..r.clone()
            }));
        }
    }
    rows
}

/// One-way latency range of the simulated network, milliseconds: a round trip (broadcast
/// time) of about 15 ms.
pub const LATENCY_MS: [u64; 2] = [5, 12];

/// One-way latency of the thesis's wide-area rows, milliseconds.
pub const WAN_LATENCY_MS: [u64; 2] = [30, 40];

/// Longest wait for a new leader before a trial is counted at the cap, milliseconds.
pub const CAP_MS: u64 = 20_000;

/// The outcome of one trial.
#[derive(Clone, Copy, Debug)]
pub struct Trial {
    /// Crash to new leader, milliseconds.
    pub failover_ms: f64,
    /// Candidacies between the crash and the new leader.
    pub elections: usize,
    /// No leader within the cap: counted at the cap.
    pub capped: bool,
}

/// Runs one trial with `seed` in `world`; `None` if the cluster never elected its first
/// leader (or this build cannot run the core there). A failover that takes longer than
/// `cap_ms` is counted at the cap and marked.
pub fn trial(row: &Row, seed: u64, cap_ms: u64, world: WorldName) -> Option<Trial> {
    let spec = row.cluster();
    let network = row.network();
    let mut rng = StdRng::seed_from_u64(derive_seed(seed, "failover timing"));
    let world_spec = WorldSpec {
        nodes: 5,
        core: spec.core,
        config: spec.core_config(),
        network: network.clone(),
        disk: Default::default(),
        seed,
    };
    let mut c = AnyWorld::build(world, world_spec)?;
    let crash = |c: &mut AnyWorld, n| c.apply(Crash { node: NodeRef::Index(n) }.into());
    // Servers boot at different moments, as real ones do; without that, fixed timeouts
    // (the 150–150 row) would keep every node in lockstep from the very first election.
    for n in 1..5 {
        crash(&mut c, n);
    }
    for n in 1..5 {
        c.run_for(rng.random_range(1..40));
        c.apply(Restart { node: NodeRef::Index(n) }.into());
    }
    let all: Vec<usize> = (0..5).collect();
    c.run_until(cap_ms, |h| h.agreed_leader(&all).is_some())?;
    c.run_for(rng.random_range(200..400));
    let leader = c.leader_now()?;
    c.apply(Propose::new(NodeRef::Index(leader), "x").into());
    c.run_for(rng.random_range(0..row.heartbeat_ms.max(1)));
    let crashed_at = c.now_ms();
    crash(&mut c, leader);
    for follower in (0..5).filter(|&n| n != leader).take(row.crashed.saturating_sub(1)) {
        crash(&mut c, follower);
    }
    // The crashed leader was the only one: any leader now is the new one.
    let capped = c.run_until(cap_ms, |h| h.leader_now().is_some()).is_none();
    let h = c.history();
    let views = Views::new(&h, setup(&spec, &network, c.now_ms()));
    let failover = views.failovers().first().copied();
    let elections = views.elections_between(crashed_at, crashed_at + failover.unwrap_or(f64::MAX));
    let failover_ms = if capped { cap_ms as f64 } else { failover? };
    Some(Trial { failover_ms, elections, capped })
}

/// The views' setup for a trial.
fn setup(spec: &ClusterSpec, network: &NetworkSpec, end_ms: f64) -> Setup {
    let disk = Default::default();
    Setup { timing: spec.timing(), network: network.clone(), disk, liveness_ms: 0, end_ms }
}

/// A row's results, in the shape SPEC.md gives.
#[derive(Clone, Debug, Serialize)]
pub struct RowResult {
    /// The election core the nodes ran.
    pub core: CoreName,
    /// Election timeout range, milliseconds.
    pub election_timeout_ms: [u64; 2],
    /// Heartbeat interval, milliseconds.
    pub heartbeat_ms: u64,
    /// Pre-vote on.
    pub pre_vote: bool,
    /// Check-quorum on.
    pub check_quorum: bool,
    /// ballot's split-vote backoff on.
    pub split_vote_backoff: bool,
    /// ballot's staggered election timeouts on.
    pub staggered_timeouts: bool,
    /// One-way latency, milliseconds.
    pub latency_ms: [u64; 2],
    /// Servers crashed at once.
    pub crashed: usize,
    /// Trials that elected a leader (out of those run).
    pub trials: usize,
    /// Fastest failover, ms.
    pub min_ms: f64,
    /// Mean failover, ms.
    pub mean_ms: f64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 90th percentile, ms.
    pub p90_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
    /// Trials that needed more than one election.
    pub multi_election_trials: usize,
    /// Trials with no new leader within the cap (counted at the cap), 20 s.
    pub capped_trials: usize,
    /// Lower bound: time for a follower to notice (minimum timeout minus half a heartbeat,
    /// the mean time since the last one) plus one round trip for the votes, ms.
    pub bound_ms: f64,
    /// Median over that bound.
    pub p50_over_bound: f64,
    /// Short label for tables and the figure.
    #[serde(skip)]
    pub label: String,
    /// Every trial's failover, sorted (for the CDF), ms.
    #[serde(skip)]
    pub samples: Vec<f64>,
}

/// Runs `trials` trials of `row` on `jobs` threads.
pub fn run_row(
    row: &Row,
    trials: usize,
    jobs: usize,
    base_seed: u64,
    world: WorldName,
) -> RowResult {
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(trials));
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= trials {
                    break;
                }
                let seed = derive_seed(base_seed, &format!("trial {i}"));
                if let Some(t) = trial(row, seed, CAP_MS, world) {
                    results.lock().expect("lock").push(t);
                }
            });
        }
    });
    let results = results.into_inner().expect("threads done");
    let mut samples: Vec<f64> = results.iter().map(|t| t.failover_ms).collect();
    samples.sort_by(f64::total_cmp);
    let round_trip = (row.latency_ms[0] + row.latency_ms[1]) as f64;
    let bound = row.election_timeout_ms[0] as f64 - row.heartbeat_ms as f64 / 2.0 + round_trip;
    let p50 = quantile(&samples, 0.5);
    RowResult {
        core: row.core,
        election_timeout_ms: row.election_timeout_ms,
        heartbeat_ms: row.heartbeat_ms,
        pre_vote: row.pre_vote,
        check_quorum: row.check_quorum,
        split_vote_backoff: row.split_vote_backoff,
        staggered_timeouts: row.staggered_timeouts,
        latency_ms: row.latency_ms,
        crashed: row.crashed,
        label: row.label(),
        trials: samples.len(),
        min_ms: round_ms(samples.first().copied().unwrap_or(0.0)),
        mean_ms: round_ms(samples.iter().sum::<f64>() / samples.len().max(1) as f64),
        p50_ms: round_ms(p50),
        p90_ms: round_ms(quantile(&samples, 0.9)),
        p99_ms: round_ms(quantile(&samples, 0.99)),
        max_ms: round_ms(samples.last().copied().unwrap_or(0.0)),
        multi_election_trials: results.iter().filter(|t| t.elections > 1).count(),
        capped_trials: results.iter().filter(|t| t.capped).count(),
        bound_ms: round_ms(bound),
        p50_over_bound: (p50 / bound * 100.0).round() / 100.0,
        samples,
    }
}

/// The rows' CDFs as an SVG like the paper's figure (log-scale time axis): each row with
/// ballot's changes on, and dashed with them all off (rows with one of them off are left to
/// the tables).
pub fn cdf_svg(rows: &[RowResult]) -> String {
    let rows: Vec<&RowResult> =
        rows.iter().filter(|r| r.split_vote_backoff == r.staggered_timeouts).collect();
    let (w, h, left, bottom) = (900.0, 420.0, 60.0, 40.0);
    let (lo, hi) = (10f64.log10(), 30_000f64.log10());
    let x = |ms: f64| left + (ms.max(10.0).log10() - lo) / (hi - lo) * (w - left - 220.0);
    let y = |p: f64| 10.0 + (1.0 - p) * (h - bottom - 10.0);
    let colors = [
        "#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666",
        "#1f78b4", "#b2df8a", "#fb9a99", "#cab2d6",
    ];
    let mut svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">"#
    );
    for ms in [10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0, 30000.0] {
        let _ = write!(
            svg,
            r#"<line x1="{0:.1}" y1="10" x2="{0:.1}" y2="{1:.1}" stroke="gainsboro"/><text x="{0:.1}" y="{2:.1}" text-anchor="middle">{3}</text>"#,
            x(ms),
            h - bottom,
            h - bottom + 14.0,
            if ms >= 1000.0 { format!("{}s", ms / 1000.0) } else { format!("{ms}ms") }
        );
    }
    for p in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let _ = write!(
            svg,
            r#"<line x1="{left}" y1="{0:.1}" x2="{1:.1}" y2="{0:.1}" stroke="whitesmoke"/><text x="{2:.1}" y="{3:.1}" text-anchor="end">{4:.0}%</text>"#,
            y(p),
            w - 220.0,
            left - 4.0,
            y(p) + 4.0,
            p * 100.0
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">time without leader (log scale)</text>"#,
        (left + w - 220.0) / 2.0,
        h - 6.0
    );
    for (i, r) in rows.iter().enumerate() {
        let color = colors[i % colors.len()];
        let n = r.samples.len().max(1) as f64;
        let points: String = r
            .samples
            .iter()
            .enumerate()
            .map(|(k, &ms)| format!("{:.1},{:.1} ", x(ms), y((k + 1) as f64 / n)))
            .collect();
        let label = &r.label;
        let dash = if r.split_vote_backoff { "" } else { r#" stroke-dasharray="4 3""# };
        let _ = write!(
            svg,
            r#"<polyline fill="none" stroke="{color}" stroke-width="1.5"{dash} points="{points}"/><rect x="{:.1}" y="{:.1}" width="12" height="3" fill="{color}"/><text x="{:.1}" y="{:.1}">{label}</text>"#,
            w - 210.0,
            14.0 + i as f64 * 16.0,
            w - 194.0,
            18.0 + i as f64 * 16.0
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trial_measures_a_failover_above_the_minimum_timeout() {
        let row = Row {
            core: CoreName::Ballot,
            election_timeout_ms: [150, 300],
            heartbeat_ms: 50,
            pre_vote: true,
            check_quorum: true,
            split_vote_backoff: true,
            staggered_timeouts: true,
            latency_ms: LATENCY_MS,
            crashed: 1,
        };
        for world in [WorldName::Turmoil, WorldName::Events] {
            let t = trial(&row, 3, CAP_MS, world).expect("a first leader");
            assert!(!t.capped && t.elections >= 1, "{world}: {t:?}");
            // A follower heard a heartbeat at most one interval and a trip before the crash.
            assert!(t.failover_ms >= 150.0 - 50.0 - 12.0, "{world}: {t:?}");
            assert!(t.failover_ms < 2_000.0, "{world}: {t:?}");
        }
    }

    #[test]
    fn rows_cover_the_paper_and_the_defaults() {
        assert_eq!(rows(CoreName::RaftRs).len(), 14, "no backoff or turns to switch off");
        let rows = rows(CoreName::Ballot);
        assert_eq!(rows.len(), 14 + 3 * 8);
        assert!(rows[..14].iter().all(Row::all_on) && !rows[14..].iter().any(Row::all_on));
        assert!(rows.iter().take(10).all(|r| r.heartbeat_ms == r.election_timeout_ms[0] / 2));
        let r = run_row(&rows[5], 3, 1, 9, WorldName::Turmoil);
        assert_eq!(r.trials, 3);
        assert!(r.min_ms <= r.p50_ms && r.p50_ms <= r.max_ms && r.bound_ms > 0.0);
        let svg = cdf_svg(&[r]);
        assert!(svg.starts_with("<svg") && svg.contains("<polyline") && svg.ends_with("</svg>"));
    }
}
