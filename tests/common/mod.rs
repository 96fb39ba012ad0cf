//! Helpers shared by the scenario tests.

#![allow(dead_code)]

use ballot_core::Role;
use ballot_harness::{Cluster, ClusterBuilder, EventKind, History, PROPERTIES};

/// The seeds every scenario runs with.
pub const SEEDS: [u64; 5] = [1, 2, 3, 4, 5];

/// A cluster of `n` nodes with defaults and the given seed.
pub fn cluster(n: usize, seed: u64) -> Cluster {
    ClusterBuilder::new(n).seed(seed).build()
}

/// All nodes `0..n`.
pub fn all(n: usize) -> Vec<usize> {
    (0..n).collect()
}

/// Runs until `group` agrees on a leader (at most `max_ms`) and returns it.
pub fn wait_for_leader(c: &mut Cluster, group: &[usize], max_ms: u64) -> usize {
    c.run_until(max_ms, |h| h.agreed_leader(group).is_some())
        .unwrap_or_else(|| panic!("no agreed leader among {group:?} within {max_ms} ms"));
    c.history().agreed_leader(group).expect("just agreed")
}

/// Ends the scenario as every run ends (the liveness phase: faults healed, crashed nodes
/// left down while a majority runs) and asserts that every property holds, and that each
/// one every run can judge was judged (with the default configuration, pre-vote and
/// check-quorum on, that includes `lease-vote` and `no-disruption`; not `quorum-step-down`
/// nor `recovers`, which need a leader cut off and a restart).
pub fn assert_every_property(c: &mut Cluster) {
    let judged = c.finish(3_000);
    assert!(judged.violations.is_empty(), "violations: {:#?}", judged.violations);
    for p in PROPERTIES.iter().filter(|p| !["quorum-step-down", "recovers"].contains(&p.name)) {
        assert!(judged.checked[p.name] > 0.0, "{} was not checked", p.name);
    }
}

/// The first role change after `after_ms` that `wanted` accepts: (node, time).
pub fn first_role_change(
    h: &History,
    after_ms: f64,
    wanted: impl Fn(usize, Role) -> bool,
) -> Option<(usize, f64)> {
    h.events().iter().find_map(|e| match (e.node, &e.kind) {
        (Some(n), EventKind::Role { role, .. }) if e.t_ms > after_ms && wanted(n, *role) => {
            Some((n, e.t_ms))
        }
        _ => None,
    })
}
