//! Two leaders: spans in which two nodes both led (in different terms: the same term twice
//! is an `election-safety` violation) for longer than the new leader's first message takes to
//! reach the old one, and why the older one did not know it was deposed.

use super::evidence;
use super::{unexplained, Cause, Finding, Symptom};
use crate::history::{LeaderSpan, Views};

/// Every overlap of two nodes' leadership, with its causes.
pub(super) fn two_leaders(views: &Views) -> Vec<Finding> {
    let leaders = views.leaders();
    let mut out = Vec::new();
    for (i, old) in leaders.iter().enumerate() {
        for new in &leaders[i + 1..] {
            if new.node == old.node {
                continue;
            }
            let (from, to) = (old.from_ms.max(new.from_ms), old.to_ms.min(new.to_ms));
            if to - from > learns_within_ms(views, from, to) {
                out.push(overlap(views, old, new, from, to));
            }
        }
    }
    out
}

/// How long a deposed leader may lead on in a working network: until the new leader's
/// first message reaches it (a round trip at the highest latency, a save on each side).
fn learns_within_ms(views: &Views, from: f64, to: f64) -> f64 {
    let latency = views
        .stretches()
        .filter(|(f, e, _)| *e > from && *f < to)
        .map(|(_, _, c)| c.latency_ms[1])
        .max()
        .unwrap_or(0);
    views.setup().timing.round_trip_ms(latency) as f64
}

/// How long two nodes held leases at once within `[from, to]`, milliseconds.
fn leases_overlap(views: &Views, a: usize, b: usize, from: f64, to: f64) -> f64 {
    let of = |n: usize| views.leases().iter().filter(move |l| l.node == n);
    of(a)
        .flat_map(|x| of(b).map(move |y| (x.from.max(y.from).max(from), x.to.min(y.to).min(to))))
        .map(|(f, t)| (t - f).max(0.0))
        .sum()
}

fn overlap(views: &Views, old: &LeaderSpan, new: &LeaderSpan, from: f64, to: f64) -> Finding {
    let t = &views.setup().timing;
    let during: Vec<_> =
        views.stretches().filter(|(f, e, _)| *e > from && *f < to).map(|(_, _, c)| c).collect();
    let mut causes = Vec::new();
    let length = to - from;
    let stalled = evidence::stall(views, old.node, from, to);
    let cut_off = evidence::cut_off_from_majority(views, old.node, from, to);
    let recorded_cut = during.iter().any(|c| !c.in_majority(old.node));
    if during.iter().any(|c| c.paused[old.node]) || stalled.is_some() {
        let detail = match stalled {
            Some(s) => format!(
                "node {}'s timers fired {:.0} ms late at {:.0} ms (paused or starved of CPU): \
                 it still believed it led",
                old.node, s.late_ms, s.t_ms
            ),
            None => format!("node {} was paused: it still believed it led", old.node),
        };
        causes.push(Cause {
            name: "paused_leader",
            detail,
            fix: "fence every write with the term (the leader token): a paused leader's \
                  writes carry a term the others have passed"
                .into(),
        });
    } else if recorded_cut || cut_off.is_some() {
        let (name, fix) = if !t.check_quorum {
            ("partition_without_check_quorum", "turn check-quorum on: a leader that hears no majority within an election timeout steps down")
        } else if length > t.step_down_bound_ms() * (1.0 + t.clock_drift_bound) {
            ("partition_longer_than_check_quorum", "check-quorum should have ended this within two election timeouts: look at the leader's clock (drift) or the core")
        } else {
            (
                "partition",
                "expected until check-quorum steps the old leader down; fence writes with the term",
            )
        };
        let evidence = match cut_off {
            Some((period, end)) if !recorded_cut => format!(
                " (its peers summary at {end:.0} ms: no majority heard from in {period:.0} ms)"
            ),
            _ => String::new(),
        };
        causes.push(Cause {
            name,
            detail: format!(
                "node {} (term {}) was cut off from the majority and led on for {length:.0} ms \
                 beside node {} (term {}){evidence}",
                old.node, old.term, new.node, new.term
            ),
            fix: fix.into(),
        });
    }
    if let Some(c) = during.iter().find(|c| !c.clocks_within(t.clock_drift_bound)) {
        causes.push(Cause {
            name: "clocks_out_of_step",
            detail: format!(
                "clocks ran at {:?}x real time, beyond the {} drift bound the lease assumes",
                c.clock_rates, t.clock_drift_bound
            ),
            fix: "synchronise clocks (NTP) within the drift bound, or raise the bound".into(),
        });
    }
    if causes.is_empty() {
        causes
            .push(unexplained(views, &format!("nodes {} and {} led at once", old.node, new.node)));
    }
    let leased = leases_overlap(views, old.node, new.node, from, to);
    let leases = if leased > 0.0 {
        format!("; both held leader leases for {leased:.0} ms")
    } else {
        String::new()
    };
    Finding {
        symptom: Symptom::TwoLeaders,
        from_ms: from,
        to_ms: to,
        nodes: vec![old.node, new.node],
        summary: format!(
            "nodes {} (term {}) and {} (term {}) both led for {length:.0} ms{leases}",
            old.node, old.term, new.node, new.term
        ),
        causes,
    }
}
