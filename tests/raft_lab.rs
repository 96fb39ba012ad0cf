//! The well-known Raft lab election suite (initial election, re-election, many elections,
//! persistence, message economy, churn), on real nodes in simulated time, five seeds each.

mod common;

use ballot_core::Role;
use ballot_harness::{EventKind, History};
use common::*;
use rand::seq::IteratorRandom;
use rand::SeedableRng;
use std::collections::{BTreeMap, BTreeSet};

/// Initial election: 3 nodes elect a leader, and without faults the term does not change
/// for two maximum election timeouts.
#[test]
fn initial_election() {
    for seed in SEEDS {
        let mut c = cluster(3, seed);
        let leader = wait_for_leader(&mut c, &all(3), 3_000);
        let term = c.history().views()[leader].term;
        assert!(term >= 1);
        c.run_for(2 * 300);
        let h = c.history();
        assert_eq!(h.agreed_leader(&all(3)), Some(leader), "seed {seed}");
        assert!(h.views().iter().all(|v| v.term == term), "seed {seed}: term moved");
        assert_every_property(&mut c);
    }
}

/// Re-election: disconnect the leader, a new one is elected; rejoin the old one, the leader
/// holds; lose the quorum, no leader exists; restore it, one is elected.
#[test]
fn re_election() {
    for seed in SEEDS {
        let mut c = cluster(3, seed);
        let first = wait_for_leader(&mut c, &all(3), 3_000);
        c.isolate(first);
        let others: Vec<usize> = (0..3).filter(|&n| n != first).collect();
        let second = wait_for_leader(&mut c, &others, 2_000);
        c.heal();
        wait_for_leader(&mut c, &all(3), 2_000);

        let lost = (second + 1) % 3;
        c.isolate(second);
        c.isolate(lost);
        c.run_for(2_000);
        assert!(c.history().leaders_now().is_empty(), "seed {seed}: a leader without a quorum");

        c.heal();
        c.isolate(second);
        let rest: Vec<usize> = (0..3).filter(|&n| n != second).collect();
        wait_for_leader(&mut c, &rest, 3_000);
        c.heal();
        wait_for_leader(&mut c, &all(3), 3_000);
        assert_every_property(&mut c);
    }
}

/// Many elections: 7 nodes, 10 rounds of disconnecting 3 random nodes; the other 4 agree on
/// exactly one leader every round.
#[test]
fn many_elections() {
    for seed in SEEDS {
        let mut c = cluster(7, seed);
        let mut rng =
            rand::rngs::StdRng::seed_from_u64(ballot_harness::derive_seed(seed, "cut nodes"));
        wait_for_leader(&mut c, &all(7), 3_000);
        for round in 0..10 {
            let cut: Vec<usize> = (0..7).choose_multiple(&mut rng, 3);
            for &n in &cut {
                c.isolate(n);
            }
            let connected: Vec<usize> = (0..7).filter(|n| !cut.contains(n)).collect();
            c.run_until(3_000, |h| h.agreed_leader(&connected).is_some())
                .unwrap_or_else(|| panic!("seed {seed} round {round}: no leader of {connected:?}"));
            c.heal();
        }
        wait_for_leader(&mut c, &all(7), 3_000);
        assert_every_property(&mut c);
    }
}

/// The last hard state each node persisted: (term, vote).
fn persisted(h: &History, n: usize) -> (u64, Option<usize>) {
    let mut state = (0, None);
    for e in h.events().iter().filter(|e| e.node == Some(n)) {
        if let EventKind::Persist { term: Some(t), voted_for, .. } = e.kind {
            state = (t, voted_for);
        }
    }
    state
}

/// Committed entries per node in its latest incarnation: index → term.
fn committed_since_start(h: &History, n: usize) -> BTreeMap<u64, u64> {
    let mut out = BTreeMap::new();
    for e in h.events().iter().filter(|e| e.node == Some(n)) {
        match e.kind {
            EventKind::Start { .. } => out.clear(),
            EventKind::Commit { index, term, .. } => {
                out.insert(index, term);
            }
            _ => {}
        }
    }
    out
}

/// Persistence: restart every node; term, vote and committed entries survive.
#[test]
fn persistence() {
    for seed in SEEDS {
        let mut c = cluster(3, seed);
        let leader = wait_for_leader(&mut c, &all(3), 3_000);
        for i in 0..5 {
            assert!(c.propose(leader, &format!("v{i}")));
        }
        c.run_for(500);
        let before = c.history();
        let committed = committed_since_start(&before, leader);
        assert!(committed.len() >= 6, "seed {seed}: no-op and 5 entries: {committed:?}");
        for n in 0..3 {
            c.crash(n);
        }
        for n in 0..3 {
            c.restart(n);
        }
        c.run_for(1);
        let h = c.history();
        for n in 0..3 {
            let start = h
                .events()
                .iter()
                .rev()
                .find_map(|e| match e.kind {
                    EventKind::Start { term, voted_for, log_len, .. } if e.node == Some(n) => {
                        Some((term, voted_for, log_len))
                    }
                    _ => None,
                })
                .expect("restarted");
            let (term, vote) = persisted(&before, n);
            assert_eq!((start.0, start.1), (term, vote), "seed {seed}: node {n} forgot");
            assert!(start.2 >= 1, "seed {seed}: node {n} lost its log");
        }
        wait_for_leader(&mut c, &all(3), 3_000);
        c.run_for(500);
        let after = c.history();
        for n in 0..3 {
            let now = committed_since_start(&after, n);
            for (index, term) in &committed {
                assert_eq!(now.get(index), Some(term), "seed {seed}: node {n} lost {index}");
            }
        }
        assert_every_property(&mut c);
    }
}

/// Message economy: the first election takes at most 30 request/response pairs, and 3 idle
/// nodes exchange at most 60 pairs a second.
#[test]
fn message_economy() {
    for seed in SEEDS {
        let mut c = cluster(3, seed);
        wait_for_leader(&mut c, &all(3), 3_000);
        let election_pairs = c.history().messages / 2;
        assert!(election_pairs <= 30, "seed {seed}: {election_pairs} pairs to elect");
        let before = c.history().messages;
        c.run_for(1_000);
        let idle_pairs = (c.history().messages - before) / 2;
        assert!(idle_pairs <= 60, "seed {seed}: {idle_pairs} pairs in an idle second");
        assert_every_property(&mut c);
    }
}

fn restart_crashed(c: &mut ballot_harness::Cluster) {
    for n in 0..c.size() {
        if c.is_crashed(n) {
            c.restart(n);
        }
    }
}

/// Churn: random crashes, restarts and disconnects over many rounds while entries are
/// proposed; every entry reported committed anywhere is, at the end, committed at the same
/// index with the same term on every node.
#[test]
fn churn() {
    for seed in SEEDS {
        let mut c = cluster(5, seed);
        let mut rng =
            rand::rngs::StdRng::seed_from_u64(ballot_harness::derive_seed(seed, "churn victims"));
        wait_for_leader(&mut c, &all(5), 3_000);
        for round in 0..30 {
            let victim = (0..5).choose(&mut rng).expect("five nodes");
            match round % 5 {
                0 | 3 => drop(c.crash(victim)),
                1 => drop(c.isolate(victim)),
                2 => restart_crashed(&mut c),
                _ => drop(c.heal()),
            }
            for step in 0..4 {
                if let Some(leader) = c.history().leader_now() {
                    c.propose(leader, &format!("r{round}s{step}"));
                }
                c.run_for(50);
            }
        }
        c.heal();
        restart_crashed(&mut c);
        let leader = wait_for_leader(&mut c, &all(5), 5_000);
        c.propose(leader, "final");
        c.run_for(2_000);

        let h = c.history();
        let mut ever: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
        for e in h.events() {
            if let EventKind::Commit { index, term, .. } = e.kind {
                ever.entry(index).or_default().insert(term);
            }
        }
        assert!(ever.len() > 10, "seed {seed}: churn must still commit entries: {}", ever.len());
        for (index, terms) in &ever {
            assert_eq!(terms.len(), 1, "seed {seed}: index {index} committed in terms {terms:?}");
        }
        for n in 0..5 {
            let now = committed_since_start(&h, n);
            for (index, terms) in &ever {
                let term = terms.first().expect("one term");
                assert_eq!(now.get(index), Some(term), "seed {seed}: node {n} lacks {index}");
            }
        }
        assert_every_property(&mut c);
        assert!(h.views().iter().all(|v| v.up && v.role != Role::Candidate));
    }
}
