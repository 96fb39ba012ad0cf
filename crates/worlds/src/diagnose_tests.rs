//! Each diagnosis of the judge's `diagnose` on a simulated run made to cause it, and nothing
//! on a healthy one.

use crate::world::WorldName;
use ballot_judge::diagnose::{diagnose, Finding, Symptom};
use ballot_schedule::Schedule;

/// The findings of a run of `schedule` (JSON) in the event world.
fn findings(schedule: &str) -> Vec<Finding> {
    let schedule = Schedule::from_json(schedule).expect("a valid schedule");
    let run = crate::run::run_in(&schedule, WorldName::Events).expect("ballot's core runs");
    diagnose(&run.views())
}

/// The causes named for `symptom`, in order.
fn causes(findings: &[Finding], symptom: Symptom) -> Vec<&'static str> {
    let of = findings.iter().filter(|f| f.symptom == symptom);
    of.flat_map(|f| f.causes.iter().map(|c| c.name)).collect()
}

#[test]
fn a_healthy_run_diagnoses_nothing() {
    for nodes in [3, 5] {
        let schedule = format!(
            r#"{{"format":1,"seed":3,"cluster":{{"nodes":{nodes}}},"duration_ms":6000,"steps":[]}}"#
        );
        assert_eq!(findings(&schedule), []);
    }
}

/// The table's first row: no new leader for a long time, because the timeouts are long.
#[test]
fn a_slow_failover_on_long_timeouts_names_them_and_the_fix() {
    let found = findings(
        r#"{"format":1,"seed":3,"cluster":{"nodes":3,"election_timeout_ms":[1500,3000]},
            "duration_ms":20000,"liveness_ms":8000,
            "steps":[{"at_ms":6000,"op":"crash","node":"leader"}]}"#,
    );
    // The first election is as slow, for the same reason.
    let named = causes(&found, Symptom::SlowFailover);
    assert_eq!(named, ["timeouts_too_long", "timeouts_too_long"], "{found:#?}");
    assert_eq!(found[0].from_ms, 0.0, "{found:#?}");
    let f = &found[1];
    assert_eq!((f.from_ms, f.nodes[0]), (6000.0, 2), "lost when the leader crashed: {f:?}");
    assert!(f.causes[0].fix.contains("150–300 ms"), "{f:?}");
}

/// Split votes under loss make a failover slow, and the loss sets off campaigns under a live
/// leader (the table's second row: an unstable network).
#[test]
fn loss_shows_as_split_votes_and_campaigns_under_a_live_leader() {
    let found = findings(
        r#"{"format":1,"seed":3,"cluster":{"nodes":3,"pre_vote":false,"check_quorum":false},
            "duration_ms":8000,
            "steps":[{"at_ms":1000,"op":"loss","rate":0.5},{"at_ms":4000,"op":"loss","rate":0.0}]}"#,
    );
    assert_eq!(causes(&found, Symptom::FrequentElections), ["message_loss"], "{found:#?}");
    let slow = causes(&found, Symptom::SlowFailover);
    assert!(slow.contains(&"split_votes") && slow.contains(&"message_loss"), "{found:#?}");
}

/// A heartbeat interval that leaves no room for one late heartbeat before the minimum
/// timeout (the table's second row: the heartbeat interval is too long): a heartbeat that
/// takes 100 ms after one that took 1 ms arrives 174 ms after it, past a 150-160 ms timeout.
/// (Until the split-vote retry waited for a winner to announce itself, a rival deposing the
/// first leader at 30-40 ms latency and 150-300 ms timeouts was taken for this cause.)
#[test]
fn a_heartbeat_close_to_the_timeout_is_named() {
    let found = findings(
        r#"{"format":1,"seed":3,"cluster":{"nodes":3,"election_timeout_ms":[150,160],"heartbeat_ms":75,"pre_vote":false,"check_quorum":false},
            "network":{"latency_ms":[1,100]},"duration_ms":8000,"steps":[]}"#,
    );
    let named = causes(&found, Symptom::FrequentElections);
    assert_eq!(named, ["heartbeat_too_long"], "{found:#?}");
}

/// A follower cut off without pre-vote raises its term until, healed, it deposes a leader
/// that was live all along.
#[test]
fn a_follower_rejoining_without_pre_vote_is_named() {
    let found = findings(
        r#"{"format":1,"seed":3,"cluster":{"nodes":3,"pre_vote":false},"duration_ms":8000,
            "steps":[{"at_ms":2000,"op":"isolate","node":"follower"},{"at_ms":4000,"op":"heal"}]}"#,
    );
    assert_eq!(causes(&found, Symptom::FrequentElections), ["cut_off_from_leader"]);
    assert!(found[0].causes[0].fix.contains("turn pre-vote on"), "{found:#?}");
}

/// The table's third row: a partition without check-quorum leaves the old leader leading.
#[test]
fn two_leaders_across_a_partition_without_check_quorum() {
    let found = findings(
        r#"{"format":1,"seed":3,"cluster":{"nodes":3,"check_quorum":false},"duration_ms":8000,
            "steps":[{"at_ms":2000,"op":"isolate","node":"leader"},{"at_ms":4000,"op":"heal"}]}"#,
    );
    assert_eq!(causes(&found, Symptom::TwoLeaders), ["partition_without_check_quorum"]);
    let f = found.iter().find(|f| f.symptom == Symptom::TwoLeaders).unwrap();
    assert!(f.to_ms - f.from_ms > 1500.0, "led on until the heal: {f:?}");
}

/// The table's third row, clocks out of step: a leader whose clock runs slow keeps its lease
/// past the new leader's election.
#[test]
fn two_leaders_with_a_slow_clock_name_the_clocks() {
    let found = findings(
        r#"{"format":1,"seed":3,"cluster":{"nodes":3},"duration_ms":10000,
            "steps":[{"at_ms":1000,"op":"clock","node":"leader","rate":0.3},
                     {"at_ms":2000,"op":"isolate","node":"leader"},{"at_ms":5000,"op":"heal"}]}"#,
    );
    assert_eq!(causes(&found, Symptom::TwoLeaders), ["partition", "clocks_out_of_step"]);
    let f = found.iter().find(|f| f.symptom == Symptom::TwoLeaders).unwrap();
    assert!(f.summary.contains("both held leader leases"), "{f:?}");
}

/// A paused leader believes it leads when it wakes.
#[test]
fn a_paused_leader_is_named() {
    let found = findings(
        r#"{"format":1,"seed":3,"cluster":{"nodes":3},"duration_ms":8000,
            "steps":[{"at_ms":2000,"op":"pause","node":"leader"},
                     {"at_ms":3000,"op":"resume","node":0},{"at_ms":3000,"op":"resume","node":1},
                     {"at_ms":3000,"op":"resume","node":2}]}"#,
    );
    assert_eq!(causes(&found, Symptom::TwoLeaders), ["paused_leader"], "{found:#?}");
}

/// A leader whose clock runs slow sends its heartbeats late, and a follower's timer runs out:
/// clock drift, named on the leader (a campaigner's slow clock sets nothing off).
#[test]
fn an_election_under_a_leader_with_a_slow_clock_names_its_clock() {
    let found = findings(
        r#"{"format":1,"seed":3,"cluster":{"nodes":3},"duration_ms":10000,
            "steps":[{"at_ms":1000,"op":"clock","node":"leader","rate":0.3},
                     {"at_ms":6000,"op":"latency","ms":[1,5]}]}"#,
    );
    assert_eq!(causes(&found, Symptom::FrequentElections), ["clock_drift"], "{found:#?}");
    let f = found.iter().find(|f| f.symptom == Symptom::FrequentElections).unwrap();
    assert!(f.causes[0].detail.contains("leader 2's clock ran at 0.30x"), "{f:?}");
}

/// A cluster whose first election splits again and again (timeouts 150–151 ms, no pre-vote,
/// no backoff, 10–20 ms latency): no leader was lost, and the first election is the slow
/// failover, its split votes named.
#[test]
fn a_slow_first_election_is_a_slow_failover() {
    let found = findings(
        r#"{"format":1,"seed":1,"cluster":{"nodes":3,"election_timeout_ms":[150,151],"pre_vote":false,
            "split_vote_backoff":false,"staggered_timeouts":false},"network":{"latency_ms":[10,20]},
            "duration_ms":4000,"steps":[{"at_ms":3000,"op":"latency","ms":[10,20]}]}"#,
    );
    let slow = found.iter().find(|f| f.symptom == Symptom::SlowFailover).expect("{found:#?}");
    assert_eq!(slow.from_ms, 0.0, "{slow:?}");
    // (On the event world's timings no leader is elected before the run ends.)
    let first = slow.summary.contains("the first") || slow.summary.starts_with("no leader");
    assert!(first, "{slow:?}");
    assert!(slow.causes.iter().any(|c| c.name == "split_votes"), "{slow:?}");
}
