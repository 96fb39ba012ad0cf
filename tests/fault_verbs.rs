//! Each fault verb of the cluster does what it says, shown on real nodes in simulated time.

mod common;

use ballot_core::Role;
use ballot_harness::{ClusterBuilder, History};
use common::*;

fn first_pre_candidate_after(h: &History, t: f64) -> Option<usize> {
    first_role_change(h, t, |_, role| role == Role::PreCandidate).map(|(n, _)| n)
}

/// Pause: a paused leader is replaced; when it resumes, it finds a higher term and follows.
#[test]
fn a_paused_leader_is_replaced_and_follows_when_it_resumes() {
    for seed in SEEDS {
        let mut c = cluster(3, seed);
        let old = wait_for_leader(&mut c, &all(3), 3_000);
        c.pause(old);
        let others: Vec<usize> = (0..3).filter(|&n| n != old).collect();
        let new = wait_for_leader(&mut c, &others, 2_000);
        assert_eq!(c.history().views()[old].role, Role::Leader, "frozen, it still thinks it leads");
        c.resume(old);
        assert_eq!(wait_for_leader(&mut c, &all(3), 2_000), new, "seed {seed}");
        assert_every_property(&mut c);
    }
}

/// Clock drift: a follower whose clock runs four times fast times out first when the leader
/// dies (its 150–300 ms timeout passes in 37–75 ms of real time).
#[test]
fn a_fast_clock_times_out_first() {
    for seed in SEEDS {
        let mut c = cluster(3, seed);
        let leader = wait_for_leader(&mut c, &all(3), 3_000);
        let fast = (leader + 1) % 3;
        c.set_clock_rate(fast, 4.0);
        c.run_for(400);
        let t = c.now_ms();
        c.crash(leader);
        c.run_until(1_000, |h| first_pre_candidate_after(h, t).is_some()).expect("a campaign");
        assert_eq!(first_pre_candidate_after(&c.history(), t), Some(fast), "seed {seed}");
        assert_every_property(&mut c);
    }
}

/// One-way partition: a follower that stops hearing the leader (its own messages still get
/// through) cannot disrupt the cluster: its pre-votes meet nodes in lease, and the term stays.
#[test]
fn a_one_way_link_does_not_disrupt_the_cluster() {
    for seed in SEEDS {
        let mut c = cluster(5, seed);
        let leader = wait_for_leader(&mut c, &all(5), 3_000);
        let term = c.history().views()[leader].term;
        let deaf = (leader + 1) % 5;
        c.partition_oneway(leader, deaf);
        c.run_for(3_000);
        let h = c.history();
        assert!(first_pre_candidate_after(&h, 0.0).is_some(), "seed {seed}: it did try");
        assert_eq!(h.leader_now(), Some(leader), "seed {seed}");
        assert_eq!(h.views()[leader].term, term, "seed {seed}: the term moved");
        assert_every_property(&mut c);
    }
}

/// Cut: a link cut between two followers only (a non-transitive partition) changes nothing.
#[test]
fn cutting_one_link_between_followers_changes_nothing() {
    for seed in SEEDS {
        let mut c = cluster(3, seed);
        let leader = wait_for_leader(&mut c, &all(3), 3_000);
        let (a, b) = ((leader + 1) % 3, (leader + 2) % 3);
        c.cut(a, b);
        c.run_for(3_000);
        assert_eq!(c.history().agreed_leader(&all(3)), Some(leader), "seed {seed}");
        assert_every_property(&mut c);
    }
}

/// Loss and latency: under 20 % loss, and then 40–80 ms latency, a leader is still elected
/// after the old one dies, and a heal restores the baseline.
#[test]
fn loss_and_latency_slow_elections_down_but_do_not_stop_them() {
    for seed in SEEDS {
        let mut c = ClusterBuilder::new(5).seed(seed).loss(0.2).build();
        let first = wait_for_leader(&mut c, &all(5), 5_000);
        c.set_latency(40, 80);
        c.crash(first);
        let rest: Vec<usize> = (0..5).filter(|&n| n != first).collect();
        wait_for_leader(&mut c, &rest, 5_000);
        c.heal();
        c.restart(first);
        wait_for_leader(&mut c, &all(5), 5_000);
        assert_every_property(&mut c);
    }
}

/// Hold and release: messages on a held link wait in the network (the receiver gets none of
/// them), and arrive, every one, when the link is released; the cluster stays safe.
#[test]
fn held_messages_wait_and_arrive_on_release() {
    for seed in SEEDS {
        let mut c = cluster(3, seed);
        let leader = wait_for_leader(&mut c, &all(3), 3_000);
        let deaf = (leader + 1) % 3;
        let received = |c: &ballot_harness::Cluster| c.handle(deaf).unwrap().stats().received;
        let sent_to_deaf = |c: &ballot_harness::Cluster| c.handle(leader).unwrap().stats().sent;
        assert!(c.hold(leader, deaf));
        let (before, leader_sent) = (received(&c), sent_to_deaf(&c));
        c.run_for(120);
        let from_others = received(&c) - before;
        let leader_sent = sent_to_deaf(&c) - leader_sent;
        assert!(leader_sent >= 4, "seed {seed}: the leader kept sending ({leader_sent})");
        assert_eq!(from_others, 0, "seed {seed}: nothing arrives while held");
        let before = received(&c);
        assert!(c.release(leader, deaf));
        c.run_for(30);
        // The leader sends to two followers; half of what it sent was held for `deaf`.
        let arrived = received(&c) - before;
        assert!(
            arrived >= leader_sent / 2,
            "seed {seed}: {arrived} of {} arrived",
            leader_sent / 2
        );
        assert_every_property(&mut c);
    }
}

/// Disk: a `disk` step makes every save slow from then on (a candidate's term and vote, and
/// each voter's, reach the disk before the requests and answers that depend on them go), so
/// the first election takes more than a second; `heal` restores the baseline (instant) disk,
/// and the failover after it takes an ordinary election timeout. In both simulated worlds.
#[test]
fn a_slow_disk_slows_elections_until_healed() {
    use ballot_harness::run::run_in;
    use ballot_harness::world::WorldName;
    let schedule = |disk_step: &str| {
        ballot_harness::Schedule::from_json(&format!(
            r#"{{"format": 1, "seed": 3, "cluster": {{"nodes": 3, "pre_vote": false}},
                "network": {{"latency_ms": [1, 2]}}, "duration_ms": 6000, "liveness": false,
                "steps": [{disk_step}
                          {{"at_ms": 3000, "op": "heal"}},
                          {{"at_ms": 4000, "op": "crash", "node": "leader"}}]}}"#
        ))
        .expect("a valid schedule")
    };
    let slow =
        schedule(r#"{"at_ms": 0, "op": "disk", "write_ms": [100, 100], "sync_ms": [200, 200]},"#);
    for world in [WorldName::Turmoil, WorldName::Events] {
        for (s, first_by) in [(schedule(""), 400.0), (slow.clone(), f64::INFINITY)] {
            let run = run_in(&s, world).expect("ballot's core runs in every world");
            let leaders = &run.summary.leaders;
            let first = leaders.first().expect("a leader").from_ms;
            if first_by.is_finite() {
                assert!(first < first_by, "{world}: instant disk, first leader at {first}");
            } else {
                assert!(first > 1_000.0, "{world}: slow disk, first leader at {first}");
            }
            let after = leaders.iter().find(|l| l.from_ms > 4_000.0).expect("a new leader");
            assert!(after.from_ms < 4_000.0 + 400.0, "{world}: healed disk, {after:?}");
            assert_eq!(run.summary.verdict, ballot_harness::Verdict::Pass, "{world}");
        }
    }
}
