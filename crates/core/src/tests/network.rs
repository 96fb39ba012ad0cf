//! Whole clusters on the in-memory network: elections, safety under loss and crashes, and
//! the features that only show between several nodes.

use crate::testnet::TestNet;
use crate::{Config, NodeId, Role, Term};

fn without_pre_vote() -> Config {
    Config { pre_vote: false, ..Config::default() }
}

/// §5.2: clusters of 3, 5 and 7 elect exactly one leader that everyone follows.
#[test]
fn one_leader_in_3_5_and_7_nodes() {
    for n in [3, 5, 7] {
        for seed in 0..10 {
            let mut net = TestNet::new(n, Config::default(), seed);
            let took = net.run_until(3_000, |net| net.stable_leader().is_some());
            assert!(took.is_some(), "{n} nodes, seed {seed}: no stable leader in 3 s");
            net.run_for(2_000);
            assert_eq!(net.leaders().len(), 1, "{n} nodes, seed {seed}");
            net.assert_election_safety();
        }
    }
}

/// §5.2 Election Safety, and §5.4 Leader Completeness, over 1,000 seeds: messages dropped at
/// random or duplicated, nodes crashing and restarting from their disks, entries proposed throughout. The
/// network also checks, on every send, that votes and terms were persisted first.
#[test]
fn never_two_leaders_in_a_term_over_1000_seeds() {
    let mut elections = 0;
    for seed in 0..1_000 {
        let config =
            Config { pre_vote: seed % 2 == 0, check_quorum: seed % 3 != 0, ..Config::default() };
        let mut net = TestNet::new(5, config, seed);
        net.drop_rate = 0.2;
        net.duplicate_rate = 0.05;
        net.max_latency_ms = 20;
        for round in 0..16u64 {
            net.run_for(250);
            let victim = (seed + round * 7) % 5;
            match round % 4 {
                0 => net.crash(net.leaders().first().copied().unwrap_or(victim)),
                1 => net.isolate(victim),
                2 => (0..5).for_each(|id| net.restart(id)),
                _ => net.heal(),
            }
            for leader in net.leaders() {
                net.propose(leader, &round.to_le_bytes());
            }
        }
        net.assert_election_safety();
        elections += net.elections;
    }
    assert!(elections > 10_000, "the faults must force many elections, got {elections}");
}

/// Thesis §9.6: with pre-vote, a node cut off from the cluster never raises its term, so
/// when it comes back the cluster keeps its leader and term.
#[test]
fn a_rejoining_node_does_not_disrupt_with_pre_vote() {
    for seed in 0..5 {
        let mut net = TestNet::new(3, Config::default(), seed);
        let leader = net.wait_for_leader(3_000);
        let term = net.node(leader).term();
        let outsider = (leader + 1) % 3;
        net.isolate(outsider);
        net.run_for(3_000);
        assert_eq!(net.node(outsider).term(), term, "seed {seed}: pre-votes never win");
        net.heal();
        net.run_for(2_000);
        assert_eq!(net.stable_leader(), Some(leader), "seed {seed}");
        assert_eq!(net.max_term(), term, "seed {seed}: the cluster's term is unchanged");
    }
}

/// Without pre-vote the same node raises its term while cut off, and its return forces the
/// cluster into a higher term.
#[test]
fn a_rejoining_node_raises_the_term_without_pre_vote() {
    for seed in 0..5 {
        let mut net = TestNet::new(3, without_pre_vote(), seed);
        let leader = net.wait_for_leader(3_000);
        let term = net.node(leader).term();
        let outsider = (leader + 1) % 3;
        net.isolate(outsider);
        net.run_for(3_000);
        assert!(net.node(outsider).term().0 > term.0 + 5, "seed {seed}: it campaigned alone");
        net.heal();
        net.run_until(3_000, |net| net.stable_leader().is_some()).expect("a leader again");
        let after = net.node(net.stable_leader().unwrap()).term();
        assert!(after > term, "seed {seed}: the cluster moved from {term} to {after}");
    }
}

/// Check-quorum: a leader cut off from the majority steps down within one maximum election
/// timeout, while the majority elects another; without check-quorum it stays leader.
#[test]
fn an_isolated_leader_steps_down_with_check_quorum_only() {
    for seed in 0..5 {
        for check_quorum in [true, false] {
            let config = Config { check_quorum, ..Config::default() };
            let mut net = TestNet::new(5, config, seed);
            let old = net.wait_for_leader(3_000);
            net.isolate(old);
            net.run_for(300);
            let still = net.node(old).role() == Role::Leader;
            assert_eq!(still, !check_quorum, "seed {seed}, check_quorum {check_quorum}");
            let others_elect = net.run_until(2_000, |net| net.leaders().iter().any(|&l| l != old));
            assert!(others_elect.is_some(), "seed {seed}: the majority elects a new leader");
            net.assert_election_safety();
        }
    }
}

/// Thesis §3.10: a transfer hands leadership to the chosen node in the next term, quickly,
/// even though every follower is in lease.
#[test]
fn leadership_transfer_moves_the_leader() {
    for seed in 0..5 {
        let mut net = TestNet::new(5, Config::default(), seed);
        let old = net.wait_for_leader(3_000);
        let term = net.node(old).term();
        net.propose(old, b"before");
        net.run_for(100);
        let target = (old + 2) % 5;
        let now = net.now;
        net.node_mut(old).transfer_leadership(NodeId(target), now).unwrap();
        net.drain(old as usize);
        let took = net.run_until(300, |net| net.stable_leader() == Some(target));
        assert!(took.is_some_and(|ms| ms < 100), "seed {seed}: took {took:?}");
        assert_eq!(net.node(target).term(), term.next());
        net.assert_election_safety();
    }
}

/// §5.4.1: the up-to-date rule decides the election: a node that missed committed entries
/// cannot win; the node that has them does.
#[test]
fn the_log_up_to_date_rule_decides_who_wins() {
    for seed in 0..10 {
        let mut net = TestNet::new(3, without_pre_vote(), seed);
        let leader = net.wait_for_leader(3_000);
        let (behind, ahead) = ((leader + 1) % 3, (leader + 2) % 3);
        net.isolate(behind);
        net.run_for(50);
        for i in 0..3u8 {
            assert!(net.propose(leader, &[i]));
        }
        net.run_for(200);
        let committed = net.node(ahead).status().commit_index;
        assert!(committed >= 4, "seed {seed}: no-op and three entries committed on 2 of 3");
        assert!(net.node(behind).entries().len() < committed as usize);
        net.crash(leader);
        net.heal();
        net.run_until(5_000, |net| net.stable_leader().is_some()).expect("a new leader");
        assert_eq!(net.stable_leader(), Some(ahead), "seed {seed}: only the complete log wins");
        net.assert_election_safety();
    }
}

/// Entries committed on a majority survive the leader's crash and reach every node.
#[test]
fn committed_entries_survive_a_leader_crash() {
    for seed in 0..10 {
        let mut net = TestNet::new(5, Config::default(), seed);
        let leader = net.wait_for_leader(3_000);
        for i in 0..5u8 {
            net.propose(leader, &[i]);
        }
        net.run_for(100);
        let committed = net.node(leader).status().commit_index;
        net.crash(leader);
        net.run_until(3_000, |net| net.stable_leader().is_some()).expect("new leader");
        net.restart(leader);
        net.run_for(1_000);
        for node in net.live() {
            assert!(node.status().commit_index >= committed, "seed {seed}: {:?}", node.id());
            assert_eq!(
                node.entries()[..committed as usize],
                net.node(0).entries()[..committed as usize]
            );
        }
    }
}

/// A node that restarts keeps its term and vote, and the cluster goes on.
#[test]
fn restart_from_disk_keeps_term_and_vote() {
    let mut net = TestNet::new(3, Config::default(), 3);
    net.wait_for_leader(3_000);
    for id in 0..3 {
        let before = net.node(id).hard_state();
        net.crash(id);
        net.restart(id);
        assert_eq!(net.node(id).hard_state(), before);
        assert_eq!(net.disks[id as usize].hard_state, before);
    }
    net.run_until(3_000, |net| net.stable_leader().is_some()).expect("a leader after restarts");
    assert!(net.max_term() >= Term(1));
    net.assert_election_safety();
}

/// Idle clusters are cheap: one heartbeat round per interval and nothing else.
#[test]
fn an_idle_cluster_sends_only_heartbeats() {
    let mut net = TestNet::new(3, Config::default(), 11);
    net.wait_for_leader(3_000);
    net.run_for(100);
    let before = net.sent;
    net.run_for(1_000);
    let per_second = net.sent - before;
    assert!(
        (76..=84).contains(&per_second),
        "{per_second} messages a second; 2 followers × 20 × 2 = 80"
    );
}

/// The adaptive timeout earns its keep: on a slow, lossy network, fixed 150–300 ms timeouts
/// fire between heartbeats and cause needless elections; measured ones mostly do not.
#[test]
fn adaptive_timeouts_cut_needless_elections_on_a_slow_lossy_network() {
    let needless_elections = |adaptive_timeout| {
        let config = Config { adaptive_timeout, ..Config::default() };
        (0..5)
            .map(|seed| {
                let mut net = TestNet::new(5, config.clone(), seed);
                net.max_latency_ms = 90;
                net.drop_rate = 0.25;
                net.run_until(10_000, |net| net.stable_leader().is_some()).expect("leader");
                net.run_for(2_000);
                let before = net.elections;
                net.run_for(20_000);
                net.assert_election_safety();
                net.elections - before
            })
            .sum::<u64>()
    };
    let (fixed, adaptive) = (needless_elections(false), needless_elections(true));
    assert!(fixed >= 10, "the network must be hostile enough to matter: {fixed}");
    assert!(adaptive * 4 <= fixed, "adaptive {adaptive} vs fixed {fixed} elections");
}
