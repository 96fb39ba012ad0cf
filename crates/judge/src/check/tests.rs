//! Every checker on hand-written histories: one where its property holds, and one or more
//! where it breaks, which must be reported with the property's name, the time and the nodes.

use super::*;
use crate::history::EventKind as K;
use crate::history::{test_setup, History};
use ballot_core::Role;
use ballot_schedule::faults::{Clock, Cut, Heal, Hold, Isolate, Loss, Pause, Resume, Transfer};
use ballot_schedule::{NodeRef, Op, Step};

/// When every hand-written history ends, simulated milliseconds.
const END: f64 = 10_000.0;

fn fault(at_ms: u64, op: impl Into<Op>) -> K {
    K::Fault { step: Step::at(at_ms, op), skipped: false }
}

fn history(events: &[(f64, Option<usize>, K)]) -> History {
    let mut h = History::new(3);
    for (t, n, k) in events {
        h.record(*t, *n, k.clone());
    }
    h
}

fn role(role: Role, term: u64) -> K {
    K::Role { role, term, leader: None }
}

fn persist_log(first: u64, terms: &[u64]) -> K {
    K::Persist {
        term: None,
        voted_for: None,
        first_index: Some(first),
        terms: Some(terms.to_vec()),
        save_ms: None,
    }
}

/// A vote answered.
fn answer(term: u64, candidate: usize, granted: bool) -> K {
    K::Vote {
        term,
        candidate,
        granted,
        pre_vote: false,
        heard_from: None,
        since_heard_ms: None,
        reason: None,
    }
}

/// A pre-vote answered, `since_heard_ms` after the voter last heard leader 0 (own clock).
fn pre_vote(term: u64, candidate: usize, granted: bool, since_heard_ms: Option<f64>) -> K {
    let heard_from = since_heard_ms.map(|_| 0);
    K::Vote { term, candidate, granted, pre_vote: true, heard_from, since_heard_ms, reason: None }
}

fn commit(index: u64, term: u64, in_term: u64) -> K {
    K::Commit { index, term, in_term }
}

/// Runs the checker of `property`; asserts the single kind of result expected.
fn check(property: &str, h: &History) -> Vec<Violation> {
    let p = PROPERTIES.iter().find(|p| p.name == property).expect("known property");
    let found = (p.check)(&Views::new(h, test_setup(END)));
    assert!(found.iter().all(|v| v.property == property));
    found
}

fn assert_broken(property: &str, h: &History, t_ms: f64, nodes: &[usize]) {
    let found = check(property, h);
    let first = found.first().unwrap_or_else(|| panic!("{property} not detected"));
    assert_eq!((first.t_ms, first.nodes.as_slice()), (t_ms, nodes), "{first:?}");
    assert!(!first.message.is_empty());
}

#[test]
fn election_safety() {
    let good = history(&[
        (1.0, Some(0), role(Role::Leader, 1)),
        (5.0, Some(1), role(Role::Leader, 2)),
        (6.0, Some(0), role(Role::Leader, 1)), // overlap of terms is allowed
    ]);
    assert!(check("election-safety", &good).is_empty());
    let bad =
        history(&[(1.0, Some(0), role(Role::Leader, 1)), (7.0, Some(2), role(Role::Leader, 1))]);
    assert_broken("election-safety", &bad, 7.0, &[0, 2]);
}

#[test]
fn vote_once() {
    let vote = |term, candidate| answer(term, candidate, true);
    let good = history(&[
        (1.0, Some(0), vote(1, 1)),
        (2.0, Some(0), vote(1, 1)),
        (3.0, Some(0), answer(1, 2, false)),
        (3.5, Some(0), pre_vote(1, 2, true, None)), // a pre-vote is not a vote
        (4.0, Some(0), vote(2, 2)),
    ]);
    assert!(check("vote-once", &good).is_empty());
    let across_restart = history(&[
        (1.0, Some(0), vote(1, 1)),
        (2.0, Some(0), K::Crash),
        (3.0, Some(0), K::Start { term: 1, voted_for: None, log_len: 0, log_terms: None }),
        (4.0, Some(0), vote(1, 2)),
    ]);
    assert_broken("vote-once", &across_restart, 4.0, &[0]);
    let self_and_other =
        history(&[(1.0, Some(1), role(Role::Candidate, 3)), (2.0, Some(1), vote(3, 2))]);
    assert_broken("vote-once", &self_and_other, 2.0, &[1]);
    // A candidacy lost in a crash before its vote reached the disk was never announced
    // (persist before send): voting for another candidate of that term after the restart is
    // allowed. One that reached the disk is not forgotten.
    let persisted_self = K::Persist {
        term: Some(3),
        voted_for: Some(1),
        first_index: None,
        terms: None,
        save_ms: None,
    };
    let restart = K::Start { term: 2, voted_for: None, log_len: 0, log_terms: None };
    let forgotten = history(&[
        (1.0, Some(1), role(Role::Candidate, 3)),
        (2.0, Some(1), K::Crash),
        (3.0, Some(1), restart.clone()),
        (4.0, Some(1), vote(3, 2)),
    ]);
    assert!(check("vote-once", &forgotten).is_empty());
    let durable_self = history(&[
        (1.0, Some(1), role(Role::Candidate, 3)),
        (1.5, Some(1), persisted_self),
        (2.0, Some(1), K::Crash),
        (3.0, Some(1), restart),
        (4.0, Some(1), vote(3, 2)),
    ]);
    assert_broken("vote-once", &durable_self, 4.0, &[1]);
}

#[test]
fn term_monotonic() {
    let good = history(&[
        (1.0, Some(0), role(Role::Follower, 2)),
        (2.0, Some(0), K::Crash),
        (3.0, Some(0), K::Start { term: 2, voted_for: None, log_len: 0, log_terms: None }),
        (4.0, Some(0), role(Role::Candidate, 3)),
    ]);
    assert!(check("term-monotonic", &good).is_empty());
    let persist_term = |term| K::Persist {
        term: Some(term),
        voted_for: None,
        first_index: None,
        terms: None,
        save_ms: None,
    };
    // A term raised in memory and lost in a crash before its write completed was never
    // announced (persist before send): forgetting it is allowed.
    let forgotten_before_durable = history(&[
        (1.0, Some(2), persist_term(4)),
        (2.0, Some(2), role(Role::Candidate, 5)),
        (3.0, Some(2), K::Crash),
        (4.0, Some(2), K::Start { term: 4, voted_for: None, log_len: 0, log_terms: None }),
        (5.0, Some(2), role(Role::Follower, 5)),
    ]);
    assert!(check("term-monotonic", &forgotten_before_durable).is_empty());
    let lost_on_restart = history(&[
        (1.0, Some(2), role(Role::Candidate, 5)),
        (1.0, Some(2), persist_term(5)),
        (2.0, Some(2), K::Crash),
        (3.0, Some(2), K::Start { term: 4, voted_for: None, log_len: 0, log_terms: None }),
    ]);
    assert_broken("term-monotonic", &lost_on_restart, 3.0, &[2]);
    let announced_then_lost = history(&[
        (1.0, Some(2), role(Role::Follower, 5)),
        (1.0, Some(2), answer(5, 1, false)), // told a candidate of term 5, never persisted
        (2.0, Some(2), K::Crash),
        (3.0, Some(2), K::Start { term: 4, voted_for: None, log_len: 0, log_terms: None }),
    ]);
    assert_broken("term-monotonic", &announced_then_lost, 3.0, &[2]);
    let acked_then_lost = history(&[
        (1.0, Some(2), K::AppendAck { leader: 0, term: 6, index: 0 }),
        (2.0, Some(2), K::Start { term: 4, voted_for: None, log_len: 0, log_terms: None }),
    ]);
    assert_broken("term-monotonic", &acked_then_lost, 2.0, &[2]);
    let back_while_running = history(&[
        (1.0, Some(1), K::Start { term: 3, voted_for: None, log_len: 0, log_terms: None }),
        (2.0, Some(1), role(Role::Follower, 2)), // below the term it started in
    ]);
    assert_broken("term-monotonic", &back_while_running, 2.0, &[1]);
}

/// A node started again after a crash or a power loss must start from its disk and keep
/// running; one whose disk the schedule damaged may refuse.
#[test]
fn recovers() {
    let start = K::Start { term: 2, voted_for: None, log_len: 1, log_terms: None };
    let stopped = || K::Stopped { error: "state file is corrupt".into() };
    let damage = || {
        let what = ballot_schedule::faults::Damage::Bitflip;
        fault(3, ballot_schedule::faults::Corrupt { node: NodeRef::Index(1), what })
    };
    let good = history(&[
        (1.0, Some(1), K::Crash),
        (2.0, Some(1), K::Restart),
        (2.0, Some(1), start.clone()),
        (4.0, Some(2), K::Crash),
        (
            5.0,
            None,
            fault(
                5,
                ballot_schedule::faults::Corrupt {
                    node: NodeRef::Index(2),
                    what: ballot_schedule::faults::Damage::Truncate,
                },
            ),
        ),
        (6.0, Some(2), K::Restart),
        (6.0, Some(2), stopped()), // its disk was damaged: refusing is right
    ]);
    assert!(check("recovers", &good).is_empty());
    let views = Views::new(&good, test_setup(END));
    assert_eq!(super::recovers::judged_ms(&views), END - 2.0, "from the first good restart");
    let refused =
        history(&[(1.0, Some(1), K::Crash), (2.0, Some(1), K::Restart), (2.0, Some(1), stopped())]);
    assert_broken("recovers", &refused, 2.0, &[1]);
    assert!(check("recovers", &refused)[0].message.contains("refused to start"));
    let later = history(&[(1.0, Some(1), start), (9.0, Some(1), stopped())]);
    assert_broken("recovers", &later, 9.0, &[1]);
    assert!(check("recovers", &later)[0].message.contains("stopped on its own"));
    // Damage done to another node excuses nothing.
    let other = history(&[
        (1.0, Some(0), K::Crash),
        (3.0, None, damage()),
        (4.0, Some(0), K::Restart),
        (4.0, Some(0), stopped()),
    ]);
    assert_broken("recovers", &other, 4.0, &[0]);
    let none = history(&[(1.0, Some(0), role(Role::Leader, 1))]);
    let views = Views::new(&none, test_setup(END));
    assert_eq!(super::recovers::judged_ms(&views), 0.0, "nothing restarted: not judged");
}

#[test]
fn log_matching() {
    let good = history(&[
        (1.0, Some(0), persist_log(1, &[1, 1, 2])),
        (2.0, Some(1), persist_log(1, &[1, 1, 3])),
        (3.0, Some(1), persist_log(3, &[2, 2])),
    ]);
    assert!(check("log-matching", &good).is_empty());
    // Same entry 3 (term 2), different entry 2 before it.
    let bad = history(&[
        (1.0, Some(0), persist_log(1, &[1, 1, 2])),
        (2.0, Some(1), persist_log(1, &[1, 2, 2])),
    ]);
    assert_broken("log-matching", &bad, 2.0, &[1, 0]);
}

#[test]
fn leader_completeness() {
    let good = history(&[
        (1.0, Some(0), persist_log(1, &[1, 1])),
        (2.0, Some(0), commit(2, 1, 1)),
        (3.0, Some(1), persist_log(1, &[1, 1])),
        (4.0, Some(1), role(Role::Leader, 2)),
        // a stale leader of an earlier term need not hold later commits
        (5.0, Some(2), role(Role::Leader, 1)),
    ]);
    assert!(check("leader-completeness", &good).is_empty());
    let bad = history(&[
        (1.0, Some(0), persist_log(1, &[1, 1])),
        (2.0, Some(0), commit(2, 1, 1)),
        (3.0, Some(2), persist_log(1, &[1])),
        (4.0, Some(2), role(Role::Leader, 2)),
    ]);
    assert_broken("leader-completeness", &bad, 4.0, &[2]);
}

#[test]
fn committed_durable() {
    let good = history(&[
        (1.0, Some(0), persist_log(1, &[1, 1])),
        (2.0, Some(0), commit(1, 1, 1)),
        (3.0, Some(0), persist_log(2, &[2])), // replacing an uncommitted entry is fine
        (4.0, Some(0), K::Crash),
        (5.0, Some(0), K::Start { term: 2, voted_for: None, log_len: 2, log_terms: None }),
    ]);
    assert!(check("committed-durable", &good).is_empty());
    let overwritten = history(&[
        (1.0, Some(0), persist_log(1, &[1, 1])),
        (2.0, Some(0), commit(2, 1, 1)),
        (3.0, Some(0), persist_log(2, &[2])),
    ]);
    assert_broken("committed-durable", &overwritten, 3.0, &[0]);
    let lost_in_crash = history(&[
        (1.0, Some(1), persist_log(1, &[1, 1])),
        (2.0, Some(1), commit(2, 1, 1)),
        (3.0, Some(1), K::Crash),
        (4.0, Some(1), K::Start { term: 1, voted_for: None, log_len: 1, log_terms: None }),
    ]);
    assert_broken("committed-durable", &lost_in_crash, 4.0, &[1]);
    let conflicting = history(&[(1.0, Some(0), commit(3, 1, 1)), (2.0, Some(2), commit(3, 2, 2))]);
    assert_broken("committed-durable", &conflicting, 2.0, &[0, 2]);
    // A start that says what the log holds: a power loss may keep more than was persisted
    // (entry 2 here, its save never completed), and the writes after follow it...
    let start = |runs: Vec<[u64; 2]>| K::Start {
        term: 2,
        voted_for: None,
        log_len: runs.iter().map(|r| r[1]).sum(),
        log_terms: Some(runs),
    };
    let kept_more = history(&[
        (1.0, Some(1), persist_log(1, &[2])),
        (2.0, Some(1), commit(1, 2, 2)),
        (3.0, Some(1), K::Crash),
        (4.0, Some(1), start(vec![[2, 2]])),
        (5.0, Some(1), commit(2, 2, 2)),
        (6.0, Some(1), persist_log(3, &[3])),
    ]);
    assert!(check("committed-durable", &kept_more).is_empty());
    assert!(check("log-matching", &kept_more).is_empty());
    // ...but a committed entry of another term at restart is lost.
    let replaced = history(&[
        (1.0, Some(1), persist_log(1, &[1, 1])),
        (2.0, Some(1), commit(2, 1, 1)),
        (3.0, Some(1), K::Crash),
        (4.0, Some(1), start(vec![[1, 1], [2, 1]])),
    ]);
    assert_broken("committed-durable", &replaced, 4.0, &[1]);
}

#[test]
fn lease_safety() {
    let lease = |until| K::Lease { until_ms: Some(until) };
    let good = history(&[
        (1.0, Some(0), role(Role::Leader, 1)),
        (10.0, Some(0), lease(150.0)),
        (150.0, Some(1), role(Role::Leader, 2)),
        (160.0, Some(1), lease(300.0)),
    ]);
    assert!(check("lease-safety", &good).is_empty());
    let overlapping = history(&[(10.0, Some(0), lease(150.0)), (100.0, Some(1), lease(250.0))]);
    assert_broken("lease-safety", &overlapping, 100.0, &[0, 1]);
    let stepped_down = history(&[
        (10.0, Some(0), lease(150.0)),
        (50.0, Some(0), role(Role::Follower, 2)),
        (100.0, Some(1), lease(250.0)),
    ]);
    assert!(check("lease-safety", &stepped_down).is_empty(), "a lease ends with leadership");
    // Clocks drifting beyond the bound void the assumption: not reported there...
    let mut drifting = overlapping.clone();
    drifting.record(0.0, None, fault(0, Clock { node: NodeRef::Index(1), rate: 1.5 }));
    assert!(check("lease-safety", &drifting).is_empty());
    // ...but judged again once the clocks are back in bound and the grace (two maximum
    // election timeouts) has passed.
    let mut back = drifting.clone();
    back.record(1_000.0, None, fault(1_000, Clock { node: NodeRef::Index(1), rate: 1.0 }));
    back.record(1_100.0, Some(0), lease(1_300.0));
    back.record(1_200.0, Some(2), lease(1_400.0)); // overlaps inside the grace: not judged
    back.record(1_620.0, Some(2), lease(1_800.0));
    back.record(1_650.0, Some(1), lease(1_900.0)); // judged: reported
    let found = check("lease-safety", &back);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!((found[0].t_ms, found[0].nodes.as_slice()), (1_650.0, &[2, 1][..]));
    let judged = (property("lease-safety").unwrap().judged_ms)(&Views::new(&back, test_setup(END)));
    assert_eq!(judged, END - 1_000.0 - 600.0, "judged from the clock's return plus the grace");
}

/// A liveness phase at 100 ms in which every node runs: one of them must lead from the
/// deadline (3,100 ms) to the end.
fn phase(extra: &[(f64, Option<usize>, K)]) -> History {
    let mut events = vec![(100.0, None, K::LivenessPhase)];
    events.extend(extra.iter().cloned());
    history(&events)
}

/// As [`phase`], with every new leader followed by the other two nodes 1 and 2 ms after its
/// election.
fn followed(extra: &[(f64, Option<usize>, K)]) -> History {
    let mut events = Vec::new();
    for (t, n, k) in extra {
        events.push((*t, *n, k.clone()));
        if let (K::Role { role: Role::Leader, term, .. }, Some(leader)) = (k, n) {
            for d in 1..=2 {
                let follows = K::Role { role: Role::Follower, term: *term, leader: Some(*leader) };
                events.push((t + d as f64, Some((leader + d) % 3), follows));
            }
        }
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    phase(&events)
}

#[test]
fn liveness() {
    let good = phase(&[(400.0, Some(1), role(Role::Leader, 3))]);
    assert!(check("liveness", &good).is_empty());
    assert_broken("liveness", &phase(&[]), 3_100.0, &[0, 1, 2]);
    let lost = phase(&[
        (400.0, Some(1), role(Role::Leader, 3)),
        (5_000.0, Some(1), role(Role::Follower, 4)),
    ]);
    assert_broken("liveness", &lost, 3_100.0, &[0, 1, 2]);
    // Only nodes running in the phase count: node 2 crashed before it.
    let crashed = history(&[
        (50.0, Some(2), K::Crash),
        (60.0, Some(2), role(Role::Leader, 3)),
        (100.0, None, K::LivenessPhase),
    ]);
    assert_broken("liveness", &crashed, 3_100.0, &[0, 1]);
    let stale =
        phase(&[(50.0, Some(0), role(Role::Leader, 2)), (400.0, Some(1), role(Role::Leader, 3))]);
    assert_broken("liveness", &stale, 3_100.0, &[1, 0]);
    // Without a liveness phase nothing is judged, and the summary says so.
    let none = history(&[]);
    assert!(check("liveness", &none).is_empty());
    assert_eq!((property("liveness").unwrap().judged_ms)(&Views::new(&none, test_setup(END))), 0.0);
}

/// Replication: node 1 leads term 3 from 400 ms with a log [1, 1, 3], committed at 450 ms;
/// node 0 already holds it. With 1–10 ms latency and an instant disk a round trip is allowed
/// 22 ms, and each catch-up two heartbeats plus a round trip per batch, per divergent entry
/// and two more.
#[test]
fn replication() {
    let base = |node_2: &[(f64, Option<usize>, K)]| {
        let mut events = vec![
            (0.0, Some(2), persist_log(1, &[1])),
            (400.0, Some(1), role(Role::Leader, 3)),
            (400.0, Some(1), persist_log(1, &[1, 1, 3])),
            (420.0, Some(0), persist_log(1, &[1, 1, 3])),
            (450.0, Some(1), commit(3, 3, 3)),
        ];
        events.extend(node_2.iter().cloned());
        events.sort_by(|a, b| a.0.total_cmp(&b.0));
        phase(&events)
    };
    // Two entries missing, one batch: 100 + 22 × 3 = 166 ms from 400.
    let good = base(&[(560.0, Some(2), persist_log(2, &[1, 3]))]);
    assert!(check("replication", &good).is_empty());
    assert_eq!(judged("replication", &good), END - 100.0);
    assert_broken("replication", &base(&[]), 566.0, &[2, 1]);
    let late = base(&[(580.0, Some(2), persist_log(2, &[1, 3]))]);
    assert_broken("replication", &late, 566.0, &[2, 1]);
    let wrong_terms = base(&[(500.0, Some(2), persist_log(2, &[2, 2]))]);
    assert_broken("replication", &wrong_terms, 566.0, &[2, 1]);
    // A divergent suffix of two entries is walked back a round trip each: 210 ms.
    let divergent = |at| {
        base(&[(10.0, Some(2), persist_log(2, &[2, 2])), (at, Some(2), persist_log(2, &[1, 3]))])
    };
    let found = check("replication", &divergent(605.0));
    assert!(found.is_empty(), "{found:?}");
    assert_broken("replication", &divergent(620.0), 610.0, &[2, 1]);
    // A node restarted later is allowed its catch-up from its start.
    let restarted = base(&[
        (3_000.0, Some(2), K::Start { term: 3, voted_for: None, log_len: 1, log_terms: None }),
        (3_150.0, Some(2), persist_log(2, &[1, 3])),
    ]);
    assert!(check("replication", &restarted).is_empty());
    // A hundred 1 KB writes take five batches at half the 48 KiB budget: 100 + 22 × 7 ms.
    let large = |at| {
        let mut h = base(&[]);
        let mut terms = vec![1, 1, 3];
        for i in 4..=103 {
            let propose = K::Propose { index: i, term: 3, value: "x".into(), bytes: Some(1024) };
            h.record(401.0, Some(1), propose);
            terms.push(3);
        }
        h.record(402.0, Some(1), persist_log(1, &terms));
        h.record(430.0, Some(0), persist_log(1, &terms));
        h.record(440.0, Some(1), commit(103, 3, 3));
        h.record(at, Some(2), persist_log(2, &terms[1..]));
        h
    };
    assert!(check("replication", &large(650.0)).is_empty());
    assert_broken("replication", &large(700.0), 654.0, &[2, 1]);
    // Small writes a stale leader proposed at the same indexes in an older term change
    // nothing: the allowance is sized by the phase leader's own entries.
    let replaced = |at: f64| {
        let mut h = large(at);
        for i in 4..=103 {
            let stale = K::Propose { index: i, term: 2, value: "y".into(), bytes: None };
            h.record(at + 1.0, Some(0), stale);
        }
        h
    };
    assert!(check("replication", &replaced(650.0)).is_empty());
    assert_broken("replication", &replaced(700.0), 654.0, &[2, 1]);
    // No phase leader, or a catch-up that would end after the run: nothing judged.
    assert!(check("replication", &phase(&[])).is_empty());
    let short = history(&[
        (100.0, None, K::LivenessPhase),
        (9_990.0, Some(1), role(Role::Leader, 3)),
        (9_990.0, Some(1), persist_log(1, &[3])),
        (9_995.0, Some(1), commit(1, 3, 3)),
    ]);
    assert_eq!(judged("replication", &short), 0.0);
    assert!(check("replication", &short).is_empty());
}

#[test]
fn stability() {
    let good = followed(&[
        (100.0, Some(0), role(Role::Candidate, 1)), // the first election, while settling
        (120.0, Some(0), role(Role::Leader, 1)),
        (2_000.0, None, fault(2_000, Isolate { node: NodeRef::Index(2) })),
        (3_000.0, None, fault(3_000, Heal {})),
        (3_400.0, Some(1), role(Role::Candidate, 2)), // settling after the fault
    ]);
    assert!(check("stability", &good).is_empty());
    let judged = (property("stability").unwrap().judged_ms)(&Views::new(&good, test_setup(END)));
    assert_eq!(judged, (2_000.0 - 900.0) + (END - 3_000.0 - 900.0));
    let bad = followed(&[
        (100.0, Some(0), role(Role::Candidate, 1)),
        (120.0, Some(0), role(Role::Leader, 1)),
        (5_000.0, Some(2), role(Role::Candidate, 2)),
    ]);
    assert_broken("stability", &bad, 5_000.0, &[2]);
    // Crashing a node is a change: the cluster settles again before it is judged.
    let crash = followed(&[
        (120.0, Some(0), role(Role::Leader, 1)),
        (5_000.0, Some(1), K::Crash),
        (5_300.0, Some(2), role(Role::Candidate, 2)),
    ]);
    assert!(check("stability", &crash).is_empty());
    // Still electing the first leader after the settling time: liveness's business.
    let electing = followed(&[
        (1_500.0, Some(1), role(Role::Candidate, 4)),
        (1_600.0, Some(1), role(Role::Leader, 4)),
    ]);
    assert!(check("stability", &electing).is_empty());
    // A disk whose saves take longer than the timeouts leave room for makes no stretch
    // healthy: 2 × 10 ms latency, a 50 ms heartbeat and two 45 ms saves exceed 150 ms.
    let bad_at_5000 = followed(&[
        (100.0, Some(0), role(Role::Candidate, 1)),
        (120.0, Some(0), role(Role::Leader, 1)),
        (5_000.0, Some(2), role(Role::Candidate, 2)),
    ]);
    let slow = ballot_schedule::DiskSpec { write_ms: [1, 5], sync_ms: [5, 20], torn_writes: 0.0 };
    let mut setup = test_setup(END);
    setup.timing = setup.timing.with_disk(&slow);
    let on_slow_disks = Views::new(&bad_at_5000, setup.clone());
    assert!((property("stability").unwrap().check)(&on_slow_disks).is_empty());
    assert_eq!((property("stability").unwrap().judged_ms)(&on_slow_disks), 0.0);
    assert!(!check("stability", &bad_at_5000).is_empty(), "the same history on instant disks");
    // A paused leader leads no one: the majority electing its successor is still electing
    // the stretch's first leader, however long its split votes last.
    let paused_leader = |later: &[(f64, Option<usize>, K)]| {
        let mut events = vec![
            (120.0, Some(0), role(Role::Leader, 1)),
            (5_000.0, None, fault(5_000, Pause { node: NodeRef::Index(0) })),
            (5_900.0, Some(1), role(Role::Candidate, 2)),
            (6_100.0, Some(2), role(Role::Candidate, 3)),
            (6_110.0, Some(2), role(Role::Leader, 3)),
        ];
        events.extend(later.iter().cloned());
        followed(&events)
    };
    assert!(check("stability", &paused_leader(&[])).is_empty());
    let again = [(7_000.0, Some(1), role(Role::Candidate, 4))];
    assert_broken("stability", &paused_leader(&again), 7_000.0, &[1]);
    // A stale leader deposed as the stretch begins did not settle it: the campaigns after
    // the settling time elect the stretch's first leader.
    let stale_leader = followed(&[
        (120.0, Some(0), role(Role::Leader, 1)),
        (4_000.0, None, fault(4_000, Isolate { node: NodeRef::Index(0) })),
        (4_200.0, Some(1), role(Role::Leader, 2)),
        (4_300.0, Some(1), K::Crash),
        (5_000.0, None, fault(5_000, Heal {})),
        (5_010.0, Some(0), role(Role::Follower, 2)),
        (6_000.0, Some(2), role(Role::Candidate, 3)),
        (6_010.0, Some(2), role(Role::Leader, 3)),
    ]);
    assert!(check("stability", &stale_leader).is_empty());
    // A leader elected while a stale candidate's higher term is on its way is deposed by
    // it: the stretch was not settled, and the campaign that elects the next leader is no
    // disruption.
    let surpassed = followed(&[
        (950.0, Some(0), role(Role::Candidate, 4)),
        (960.0, Some(1), role(Role::Leader, 3)),
        (965.0, Some(1), role(Role::Follower, 4)),
        (1_100.0, Some(2), role(Role::Candidate, 5)),
        (1_110.0, Some(2), role(Role::Leader, 5)),
    ]);
    assert!(check("stability", &surpassed).is_empty());
    // A straggler of the election that settled the stretch runs in the winner's term.
    let straggler = |term| {
        followed(&[
            (120.0, Some(0), role(Role::Leader, 1)),
            (5_000.0, Some(1), role(Role::Candidate, term)),
        ])
    };
    assert!(check("stability", &straggler(1)).is_empty());
    assert_broken("stability", &straggler(2), 5_000.0, &[1]);
    // A transfer's target campaigns at the leader's request while the transfer lives.
    let transfer = |candidate_at: f64| {
        followed(&[
            (120.0, Some(0), role(Role::Leader, 1)),
            (
                5_000.0,
                None,
                fault(5_000, Transfer { node: NodeRef::Index(0), to: NodeRef::Index(2) }),
            ),
            (candidate_at, Some(2), role(Role::Candidate, 2)),
        ])
    };
    assert!(check("stability", &transfer(5_010.0)).is_empty());
    assert_broken("stability", &transfer(5_400.0), 5_400.0, &[2]);
    // A leader leads once a majority follows it, and a node whose timer fires before the
    // leader's first heartbeat reached it (it follows no one) is part of the same election
    // (narrow timeouts make both common); a node that follows the leader and times out is not.
    let follows =
        |node, at| (at, Some(node), K::Role { role: Role::Follower, term: 4, leader: Some(1) });
    let race = |campaign_at: f64| {
        let mut events = vec![
            (1_600.0, Some(1), role(Role::Leader, 4)),
            follows(2, 1_603.0),
            follows(0, 1_650.0),
            (campaign_at, Some(0), role(Role::Candidate, 5)),
        ];
        events.sort_by(|a, b| a.0.total_cmp(&b.0));
        phase(&events)
    };
    assert!(check("stability", &race(1_601.0)).is_empty(), "before a majority follows");
    assert!(check("stability", &race(1_620.0)).is_empty(), "before the node follows");
    assert_broken("stability", &race(1_700.0), 1_700.0, &[0]);
    // A node the leader never reaches (it follows no one long after the election) and that
    // campaigns is unstable.
    let unreached = phase(&[
        (1_000.0, Some(0), role(Role::Leader, 1)),
        (1_001.0, Some(1), K::Role { role: Role::Follower, term: 1, leader: Some(0) }),
        (2_000.0, Some(2), role(Role::Candidate, 2)),
    ]);
    assert_broken("stability", &unreached, 2_000.0, &[2]);
    // A racer that followed no one deposed the leader: the campaigns that elect the next
    // one are no disruption, since nobody leads.
    let after_racer = followed(&[
        (1_000.0, Some(0), role(Role::Leader, 1)),
        (5_000.0, Some(0), role(Role::Follower, 2)),
        (5_100.0, Some(1), role(Role::Candidate, 2)),
    ]);
    assert!(check("stability", &after_racer).is_empty());
    // A leader that steps down in its own term in a healthy cluster is unstable.
    let step_down = followed(&[
        (1_000.0, Some(0), role(Role::Leader, 1)),
        (5_000.0, Some(0), role(Role::Follower, 1)),
    ]);
    assert_broken("stability", &step_down, 5_000.0, &[0]);
}

#[test]
fn check_all_orders_by_time_and_classes_are_right() {
    let h =
        history(&[(7.0, Some(2), role(Role::Leader, 1)), (1.0, Some(0), role(Role::Leader, 1))]);
    let found = check_all(&Views::new(&h, test_setup(END)));
    assert_eq!(found.violations.len(), 1);
    assert_eq!(found.checked.len(), PROPERTIES.len());
    assert_eq!(found.checked["election-safety"], END);
    assert_eq!(class_of("election-safety"), Some(Class::Safety));
    assert_eq!(class_of("stability"), Some(Class::Liveness));
    assert_eq!(PROPERTIES.len(), 16);
}

#[test]
fn vote_durable() {
    let persist = |term, voted_for| K::Persist {
        term: Some(term),
        voted_for,
        first_index: None,
        terms: None,
        save_ms: None,
    };
    let vote = |term, candidate| answer(term, candidate, true);
    let good = history(&[
        (1.0, Some(0), persist(2, Some(1))),
        (1.0, Some(0), vote(2, 1)),
        (2.0, Some(0), persist(4, Some(0))),
        (2.0, Some(0), vote(3, 2)), // answered in the same batch that moved on to term 4
        (3.0, Some(0), answer(4, 2, false)),
        (4.0, Some(0), pre_vote(5, 1, true, None)), // pre-votes are never persisted
    ]);
    assert!(check("vote-durable", &good).is_empty());
    let unpersisted = history(&[(1.0, Some(0), persist(2, None)), (2.0, Some(0), vote(2, 1))]);
    assert_broken("vote-durable", &unpersisted, 2.0, &[0, 1]);
    let forgotten = history(&[
        (1.0, Some(1), persist(2, Some(0))),
        (2.0, Some(1), K::Start { term: 2, voted_for: None, log_len: 0, log_terms: None }),
        (3.0, Some(1), vote(2, 0)),
    ]);
    assert_broken("vote-durable", &forgotten, 3.0, &[1, 0]);
}

#[test]
fn ack_durable() {
    let ack = |index| K::AppendAck { leader: 0, term: 2, index };
    let start = |log_len| K::Start { term: 2, voted_for: None, log_len, log_terms: None };
    let good = history(&[
        (1.0, Some(1), persist_log(1, &[1, 1, 2])),
        (1.0, Some(1), ack(3)),
        (2.0, Some(1), persist_log(2, &[2])), // truncated to two entries
        (2.0, Some(1), ack(2)),
        (3.0, Some(2), start(4)), // a node's disk held four entries at its start
        (4.0, Some(2), ack(4)),
    ]);
    assert!(check("ack-durable", &good).is_empty());
    let before_sync = history(&[
        (1.0, Some(1), persist_log(1, &[1])),
        (2.0, Some(1), ack(3)), // entries 2 and 3 still in flight to the disk
        (3.0, Some(1), persist_log(2, &[2, 2])),
    ]);
    assert_broken("ack-durable", &before_sync, 2.0, &[1, 0]);
    let after_truncation = history(&[
        (1.0, Some(1), persist_log(1, &[1, 1, 1])),
        (2.0, Some(1), persist_log(2, &[])), // a pure truncation, made durable
        (3.0, Some(1), ack(2)),
    ]);
    assert_broken("ack-durable", &after_truncation, 3.0, &[1, 0]);
    let lost_in_crash = history(&[
        (1.0, Some(1), persist_log(1, &[1, 1])),
        (2.0, Some(1), start(1)), // the disk gave back less than was persisted
        (3.0, Some(1), ack(2)),
    ]);
    assert_broken("ack-durable", &lost_in_crash, 3.0, &[1, 0]);
}

/// The simulated milliseconds `property` judged of `h`, with the default setup.
fn judged(property: &str, h: &History) -> f64 {
    (self::property(property).unwrap().judged_ms)(&Views::new(h, test_setup(END)))
}

#[test]
fn quorum_step_down() {
    let cut = |t: u64| (t as f64, None, fault(t, Isolate { node: NodeRef::Index(0) }));
    let good = history(&[
        (100.0, Some(0), role(Role::Leader, 1)),
        cut(1_000),
        (1_200.0, Some(0), role(Role::Follower, 1)),
    ]);
    assert!(check("quorum-step-down", &good).is_empty());
    assert_eq!(judged("quorum-step-down", &good), 200.0);
    // Still leading 600 ms (two maximum election timeouts of its clock) after the cut.
    let stale = history(&[(100.0, Some(0), role(Role::Leader, 1)), cut(1_000)]);
    assert_broken("quorum-step-down", &stale, 1_600.0, &[0]);
    assert_eq!(judged("quorum-step-down", &stale), END - 1_000.0);
    // A clock at half speed gets twice the simulated time.
    let slow = history(&[
        (0.0, None, fault(0, Clock { node: NodeRef::Index(0), rate: 0.5 })),
        (100.0, Some(0), role(Role::Leader, 1)),
        cut(1_000),
        (2_100.0, Some(0), role(Role::Follower, 1)),
    ]);
    assert!(check("quorum-step-down", &slow).is_empty());
    let slower = history(&[
        (0.0, None, fault(0, Clock { node: NodeRef::Index(0), rate: 0.5 })),
        (100.0, Some(0), role(Role::Leader, 1)),
        cut(1_000),
        (2_300.0, Some(0), role(Role::Follower, 1)),
    ]);
    assert_broken("quorum-step-down", &slower, 2_200.0, &[0]);
    // A paused leader cannot act; the bound runs from when it resumes.
    let paused = history(&[
        (100.0, Some(0), role(Role::Leader, 1)),
        (900.0, None, fault(900, Pause { node: NodeRef::Index(0) })),
        cut(1_000),
        (5_000.0, None, fault(5_000, Resume { node: NodeRef::Index(0) })),
        (5_010.0, Some(0), role(Role::Follower, 1)),
    ]);
    assert!(check("quorum-step-down", &paused).is_empty());
    // Without check-quorum a leader is not expected to notice.
    let mut setup = test_setup(END);
    setup.timing.check_quorum = false;
    let p = property("quorum-step-down").unwrap();
    assert!((p.check)(&Views::new(&stale, setup.clone())).is_empty());
    assert_eq!((p.judged_ms)(&Views::new(&stale, setup)), 0.0);
}

#[test]
fn lease_vote() {
    // Leader 0 holds a lease from 1 to 500 ms.
    let leader =
        [(0.5, Some(0), role(Role::Leader, 1)), (1.0, Some(0), K::Lease { until_ms: Some(500.0) })];
    let with = |extra: &[(f64, Option<usize>, K)]| {
        let mut events = leader.to_vec();
        events.extend(extra.iter().cloned());
        history(&events)
    };
    let good = with(&[
        (10.0, Some(1), pre_vote(2, 2, true, Some(200.0))), // after the voter's lease
        (20.0, Some(1), pre_vote(2, 2, true, None)),        // it never heard a leader
        (30.0, Some(1), pre_vote(2, 2, false, Some(10.0))), // refused
        (600.0, Some(1), pre_vote(2, 2, true, Some(10.0))), // the leader's lease is over
    ]);
    assert!(check("lease-vote", &good).is_empty());
    let in_lease = with(&[(5.0, Some(1), pre_vote(2, 2, true, Some(100.0)))]);
    assert_broken("lease-vote", &in_lease, 5.0, &[1, 2]);
    let vote_in_lease = with(&[(
        5.0,
        Some(2),
        K::Vote {
            term: 3,
            candidate: 1,
            granted: true,
            pre_vote: false,
            heard_from: Some(0),
            since_heard_ms: Some(20.0),
            reason: None,
        },
    )]);
    assert_broken("lease-vote", &vote_in_lease, 5.0, &[2, 1]);
    assert_eq!(judged("lease-vote", &good), END);
    // A leader whose clock runs slower than the drift bound allows believes in a lease its
    // followers never promised: not judged then (a 100,000-run campaign's false alarm).
    let slow_leader = with(&[
        (2.0, None, fault(2, Clock { node: NodeRef::Index(0), rate: 0.5 })),
        (5.0, Some(1), pre_vote(2, 2, true, Some(100.0))),
    ]);
    assert!(check("lease-vote", &slow_leader).is_empty());
    assert!(judged("lease-vote", &slow_leader) < 10.0, "judged only before the drift");
    // A leadership transfer to node 2 overrides the lease while it lasts (one maximum
    // election timeout, 300 ms here), not after: a late TimeoutNow is owed nothing.
    let transfer =
        (10.0, None, fault(10, Transfer { node: NodeRef::Index(0), to: NodeRef::Index(2) }));
    let in_time = with(&[transfer.clone(), (100.0, Some(1), pre_vote(2, 2, true, Some(20.0)))]);
    assert!(check("lease-vote", &in_time).is_empty());
    let late = with(&[transfer, (320.0, Some(1), pre_vote(2, 2, true, Some(20.0)))]);
    assert_broken("lease-vote", &late, 320.0, &[1, 2]);
    // A voter that heard leader 0 of term 1 owes nothing to the lease 0 holds in term 3.
    let relead = |heard_in: u64| {
        history(&[
            (0.5, Some(0), role(Role::Leader, 3)),
            (1.0, Some(0), K::Lease { until_ms: Some(500.0) }),
            (5.0, Some(1), K::Role { role: Role::Follower, term: heard_in, leader: Some(0) }),
            (6.0, Some(1), pre_vote(4, 2, true, Some(0.0))),
        ])
    };
    assert!(check("lease-vote", &relead(1)).is_empty());
    assert_broken("lease-vote", &relead(3), 6.0, &[1, 2]);
    // A voter whose following of leader 0 went unrecorded (it came and went in one batch)
    // and votes in term 2 heard 0 in term 2 at most: 0's lease of term 3 is not the one.
    let unrecorded = history(&[
        (0.5, Some(0), role(Role::Leader, 3)),
        (1.0, Some(0), K::Lease { until_ms: Some(500.0) }),
        (6.0, Some(1), pre_vote(2, 2, true, Some(0.0))),
    ]);
    assert!(check("lease-vote", &unrecorded).is_empty());
    let same_term = history(&[
        (0.5, Some(0), role(Role::Leader, 3)),
        (1.0, Some(0), K::Lease { until_ms: Some(500.0) }),
        (6.0, Some(1), pre_vote(4, 2, true, Some(0.0))),
    ]);
    assert_broken("lease-vote", &same_term, 6.0, &[1, 2]);
}

#[test]
fn no_disruption() {
    let rejoin = |candidate_at: f64| {
        history(&[
            (100.0, Some(0), role(Role::Leader, 1)),
            (2_000.0, None, fault(2_000, Isolate { node: NodeRef::Index(2) })),
            (4_000.0, None, fault(4_000, Heal {})),
            (candidate_at, Some(2), role(Role::Candidate, 2)),
        ])
    };
    // Campaigning while the new leader settles in is allowed...
    assert!(check("no-disruption", &rejoin(500.0)).is_empty());
    // ...but not once it has had a working majority for three maximum election timeouts,
    // not even right after an isolated node rejoins.
    assert_broken("no-disruption", &rejoin(4_100.0), 4_100.0, &[2, 0]);
    // A candidacy in the leader's own term (stale pre-vote grants counted after a pause)
    // can neither win nor depose it.
    let same_term = history(&[
        (100.0, Some(0), role(Role::Leader, 2)),
        (4_100.0, Some(2), role(Role::Candidate, 2)),
    ]);
    assert!(check("no-disruption", &same_term).is_empty());
    assert_eq!(judged("no-disruption", &rejoin(12_000.0)), END - 100.0 - 900.0);
    // With loss, heartbeats may not arrive: not judged there.
    let lossy = history(&[
        (100.0, Some(0), role(Role::Leader, 1)),
        (2_000.0, None, fault(2_000, Loss { rate: 0.2 })),
        (2_500.0, Some(2), role(Role::Candidate, 2)),
    ]);
    assert!(check("no-disruption", &lossy).is_empty());
    // A leader without a majority promises nothing.
    let minority = history(&[
        (100.0, Some(0), role(Role::Leader, 1)),
        (1_500.0, None, fault(1_500, Isolate { node: NodeRef::Index(0) })),
        (2_500.0, Some(2), role(Role::Candidate, 2)),
    ]);
    assert!(check("no-disruption", &minority).is_empty());
    // Nor does one whose messages to a follower are held in the network: a held link is as
    // down as a cut one (found judging raft-rs, whose leader lost its majority this way).
    let held = history(&[
        (100.0, Some(0), role(Role::Leader, 1)),
        (1_500.0, None, fault(1_500, Hold { from: NodeRef::Index(0), to: NodeRef::Index(1) })),
        (1_500.0, None, fault(1_500, Cut { a: NodeRef::Index(0), b: NodeRef::Index(2) })),
        (2_500.0, Some(2), role(Role::Candidate, 2)),
    ]);
    assert!(check("no-disruption", &held).is_empty());
    // The target of a transfer campaigns because the leader asked it to, while the transfer
    // lives; after that, its campaign is a disruption like any other.
    let transfer = |candidate_at: f64| {
        history(&[
            (100.0, Some(0), role(Role::Leader, 1)),
            (
                4_000.0,
                None,
                fault(4_000, Transfer { node: NodeRef::Index(0), to: NodeRef::Index(2) }),
            ),
            (candidate_at, Some(2), role(Role::Candidate, 2)),
        ])
    };
    assert!(check("no-disruption", &transfer(4_050.0)).is_empty());
    assert_broken("no-disruption", &transfer(4_400.0), 4_400.0, &[2, 0]);
    assert_eq!(judged("no-disruption", &held), 1_500.0 - 100.0 - 900.0);
}

/// One majority swapped for another in an instant is not one majority kept: leader 0 reaches
/// {0, 1} (node 2 isolated), then one `partition` step cuts it from 1 and joins it to 2. Its
/// check-quorum rightly counts only the acknowledgements of the new majority from then on, so
/// its undisturbed time starts again at the swap.
#[test]
fn no_disruption_restarts_when_the_majority_is_swapped() {
    let swap = |step_down_at: f64| {
        let groups = vec![vec![NodeRef::Index(0), NodeRef::Index(2)]];
        history(&[
            (100.0, Some(0), role(Role::Leader, 1)),
            (1_000.0, None, fault(1_000, Isolate { node: NodeRef::Index(2) })),
            (3_000.0, None, fault(3_000, ballot_schedule::faults::Partition { groups })),
            (step_down_at, Some(0), role(Role::Follower, 1)),
        ])
    };
    assert!(check("no-disruption", &swap(3_030.0)).is_empty(), "right after the swap");
    // A term node 2 raised by a campaign while the leader had no majority (node 2 isolated
    // right after, its vote requests lost), carried back at the heal, deposes the leader:
    // pre-vote cannot take it back. The same term first held inside the working majority's
    // time is a disruption.
    let carried = |campaign_at: f64| {
        history(&[
            (100.0, Some(0), role(Role::Leader, 1)),
            (500.0, None, fault(500, Isolate { node: NodeRef::Index(0) })),
            (campaign_at, Some(2), role(Role::Candidate, 2)),
            (1_000.0, None, fault(1_000, Heal {})),
            (1_000.0, None, fault(1_000, Isolate { node: NodeRef::Index(2) })),
            (5_000.0, None, fault(5_000, Heal {})),
            (5_050.0, Some(0), role(Role::Follower, 2)),
        ])
    };
    assert!(check("no-disruption", &carried(990.0)).is_empty());
    let found = check("no-disruption", &carried(3_000.0));
    assert!(found.iter().any(|v| v.t_ms == 3_000.0), "the in-window campaign: {found:?}");
    // Once the new majority has been kept for three maximum election timeouts, it counts.
    assert_broken("no-disruption", &swap(4_000.0), 4_000.0, &[0]);
    // A majority that only grows (node 2 rejoins) is kept: node 1 stays throughout.
    let grows = history(&[
        (100.0, Some(0), role(Role::Leader, 1)),
        (1_000.0, None, fault(1_000, Isolate { node: NodeRef::Index(2) })),
        (3_000.0, None, fault(3_000, Heal {})),
        (3_030.0, Some(0), role(Role::Follower, 1)),
    ]);
    assert_broken("no-disruption", &grows, 3_030.0, &[0]);
}

#[test]
fn no_disruption_counts_a_healthy_leader_deposed_without_a_campaign() {
    // Node 2 raises its term while cut off (as a pre-candidate, never a candidate) and
    // deposes leader 0 on rejoining: an answer to a heartbeat carries its term.
    let deposed = |step_down_at: f64, then: &[(f64, Option<usize>, K)]| {
        let mut events = vec![
            (100.0, Some(0), role(Role::Leader, 1)),
            (2_000.0, None, fault(2_000, Isolate { node: NodeRef::Index(2) })),
            (3_000.0, Some(2), role(Role::PreCandidate, 5)),
            (4_000.0, None, fault(4_000, Heal {})),
        ];
        events.extend_from_slice(then);
        events.push((step_down_at, Some(0), role(Role::Follower, 5)));
        history(&events)
    };
    assert_broken("no-disruption", &deposed(4_100.0, &[]), 4_100.0, &[2, 0]);
    // A leader that has not settled in yet promises nothing.
    let early = history(&[
        (100.0, Some(0), role(Role::Leader, 1)),
        (500.0, Some(0), role(Role::Follower, 2)),
    ]);
    assert!(check("no-disruption", &early).is_empty());
    // Nor does one that crashes, is paused or loses its majority at that instant...
    let crashed =
        (4_100.0, None, fault(4_100, ballot_schedule::faults::Crash { node: NodeRef::Index(0) }));
    assert!(check("no-disruption", &deposed(4_100.0, &[crashed])).is_empty());
    let paused = (4_100.0, None, fault(4_100, Pause { node: NodeRef::Index(0) }));
    assert!(check("no-disruption", &deposed(4_100.0, &[paused])).is_empty());
    // ...or that was asked to hand leadership over.
    let asked =
        (4_050.0, None, fault(4_050, Transfer { node: NodeRef::Index(0), to: NodeRef::Index(1) }));
    assert!(check("no-disruption", &deposed(4_100.0, &[asked])).is_empty());
    // A transfer's target campaigning in time, whose term reaches the leader only after the
    // transfer's lifetime (its answers were held), is what the application asked for too.
    let late_news = history(&[
        (100.0, Some(0), role(Role::Leader, 1)),
        (4_000.0, None, fault(4_000, Transfer { node: NodeRef::Index(0), to: NodeRef::Index(2) })),
        (4_250.0, Some(2), role(Role::Candidate, 2)),
        (4_400.0, Some(0), role(Role::Follower, 2)),
    ]);
    assert!(check("no-disruption", &late_news).is_empty());
    // A leader stepping down in its own term under the same conditions is disrupted too.
    let own = history(&[
        (100.0, Some(0), role(Role::Leader, 1)),
        (4_100.0, Some(0), role(Role::Follower, 1)),
    ]);
    assert_broken("no-disruption", &own, 4_100.0, &[0]);
    // A candidacy and the step-down it causes are one disruption, reported once.
    let campaign = deposed(4_100.0, &[(4_050.0, Some(2), role(Role::Candidate, 6))]);
    assert_eq!(check("no-disruption", &campaign).len(), 1);
}

/// Random durable writes and commits on three nodes: (node, first index, terms) for a write,
/// or (node, index, term) of a commit when `terms` is empty.
fn writes_and_commits() -> impl proptest::strategy::Strategy<Value = Vec<(usize, u64, Vec<u64>)>> {
    proptest::collection::vec((0usize..3, 1u64..7, proptest::collection::vec(1u64..4, 0..4)), 1..40)
}

/// The events of [`writes_and_commits`], a millisecond apart.
fn written(steps: &[(usize, u64, Vec<u64>)]) -> History {
    let events: Vec<(f64, Option<usize>, K)> = steps
        .iter()
        .enumerate()
        .map(|(k, (n, first, terms))| {
            let kind = match terms.first() {
                None => commit(*first, 1 + *first % 3, 3),
                Some(_) => persist_log(*first, terms),
            };
            (k as f64 + 1.0, Some(*n), kind)
        })
        .collect();
    history(&events)
}

proptest::proptest! {
    /// The incremental Log Matching check finds exactly what comparing every pair of whole
    /// logs after every write finds.
    #[test]
    fn log_matching_agrees_with_comparing_whole_logs(steps in writes_and_commits()) {
        let h = written(&steps);
        let mut logs = crate::history::DurableLogs::default();
        let mut expected = Vec::new();
        for e in h.events() {
            let Some(n) = e.node else { continue };
            let Some(log) = logs.apply(n, &e.kind).map(<[u64]>::to_vec) else { continue };
            for (&other, other_log) in logs.nodes().filter(|(&o, _)| o != n) {
                let end = log.len().min(other_log.len());
                let Some(differ) = (0..end).find(|&i| log[i] != other_log[i]) else { continue };
                if (differ + 1..end).any(|i| log[i] == other_log[i]) {
                    expected.push((e.t_ms, vec![n, other]));
                }
            }
        }
        let found: Vec<_> =
            check("log-matching", &h).into_iter().map(|v| (v.t_ms, v.nodes)).collect();
        proptest::prop_assert_eq!(found, expected);
    }

    /// Checking only the entries a write replaced finds exactly what checking every
    /// committed entry after every write finds.
    #[test]
    fn committed_durable_agrees_with_checking_every_commit(steps in writes_and_commits()) {
        let h = written(&steps);
        let mut logs = crate::history::DurableLogs::default();
        let mut reported: std::collections::BTreeMap<usize, std::collections::BTreeMap<u64, u64>> =
            Default::default();
        let mut expected = Vec::new();
        for e in h.events() {
            let Some(n) = e.node else { continue };
            if let K::Commit { index, term, .. } = e.kind {
                reported.entry(n).or_default().insert(index, term);
                continue;
            }
            let Some(log) = logs.apply(n, &e.kind) else { continue };
            let lost = reported.get(&n).into_iter().flatten().any(|(&index, &term)| {
                log.get(index as usize - 1) != Some(&term)
            });
            if lost {
                expected.push(e.t_ms);
            }
        }
        let found: Vec<_> = check("committed-durable", &h)
            .into_iter()
            .filter(|v| v.message.contains("overwrote"))
            .map(|v| v.t_ms)
            .collect();
        proptest::prop_assert_eq!(found, expected);
    }
}
